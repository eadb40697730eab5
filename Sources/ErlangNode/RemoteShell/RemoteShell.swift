import ErlangTerm

/// The shell `erl -remsh Node` (and `iex --remsh`) attaches to: `shell:start/0` on this node starts it, with its
/// I/O going to the caller's group leader (the caller's terminal) over the Erlang I/O protocol.
///
/// The caller's `group` process calls `shell:start()` here (over erpc, with itself as the group leader of the
/// call), links to the pid it gets back and then serves the shell's `io_request`s. The shell asks for one line at a
/// time (`{get_line, unicode, Prompt}`), gathers lines until an expression ends with `.`, evaluates it
/// (``RemoteShellCommand``) and prints the result with `{put_chars, unicode, Text}`.
///
/// It ends when its group goes (the caller quit, the connection was lost), on `eof`, or on `q()`: OTP's `q()`
/// would stop the node it runs on; here it stops the caller's node instead (`init:stop()` there), so `erl -remsh`
/// exits and this node keeps running.
enum RemoteShell {
    /// The longest expression gathered (over several lines) before it is dropped with an error.
    static let maximumExpressionLength = 64 * 1024
    /// How long the shell waits for its group to go after asking the caller's node to stop.
    static let leaveTimeout: Duration = .seconds(5)

    /// Starts a shell on `node` whose I/O goes to `groupLeader`; returns its pid.
    static func start(on node: Node, groupLeader: Pid) -> Pid {
        node.spawn { p in
            var session = Session(process: p, groupLeader: groupLeader)
            await session.run()
        }
    }

    /// One shell: its process, its group leader and the expression counter of its prompt.
    struct Session {
        let process: ErlangProcess
        let groupLeader: Pid
        var counter = 1
        let monitor: Reference

        init(process: ErlangProcess, groupLeader: Pid) {
            self.process = process
            self.groupLeader = groupLeader
            // The group links to the shell and passes on `interrupt` exits (^G i): trapped, they become messages.
            process.trapExit(true)
            monitor = process.monitor(.pid(groupLeader))
        }

        var prompt: String { "(\(process.node.name.description))\(counter)> " }

        mutating func run() async {
            guard await put("Shell on \(process.node.name.description) (q(). leaves, help(). lists commands)\n") else {
                return
            }
            var pending = ""
            while true {
                let line: String
                switch await getLine(prompt) {
                case .line(let text): line = text
                case .interrupted:
                    // ^G i (or an interrupt from the group): what was typed so far is dropped, as Erlang's shell does.
                    pending = ""
                    continue
                case .end: return
                }
                pending += line
                let trimmed = pending.trimmingWhitespace
                if trimmed.isEmpty {
                    pending = ""
                    continue
                }
                if pending.utf8.count > RemoteShell.maximumExpressionLength {
                    pending = ""
                    guard await put("* 1:1: expression too long (more than \(RemoteShell.maximumExpressionLength) bytes)\n")
                    else { return }
                    continue
                }
                guard RemoteShellCommand.isComplete(trimmed) else { continue }
                pending = ""
                let outcome = await RemoteShellCommand(parsing: trimmed, node: process.node).evaluate(in: process)
                switch outcome {
                case .output(let text):
                    counter += 1
                    guard await put(text + "\n") else { return }
                case .error(let text):
                    guard await put(text + "\n") else { return }
                case .leave:
                    await leave()
                    return
                }
            }
        }

        /// `q()`: ask the caller's node to stop (`init:stop()`, through its `rex`), then wait for the group to go.
        func leave() async {
            _ = await put("ok\n")
            let stop: Term = .tuple("$gen_cast", .tuple("cast", .atom("erlang"), .atom("halt"), .nil, .pid(groupLeader)))
            process.send(stop, to: "rex", on: groupLeader.node)
            let deadline = ContinuousClock.now + RemoteShell.leaveTimeout
            while ContinuousClock.now < deadline {
                guard let message = await process.receive(timeout: deadline - ContinuousClock.now) else { return }
                if groupWent(message) != nil { return }
            }
        }

        /// Sends one I/O request and waits for its reply; `nil` when the group went first.
        func request(_ body: Term) async -> Term? {
            let tag = process.makeReference()
            process.send(.tuple("io_request", .pid(process.pid), .reference(tag), body), to: groupLeader)
            while let message = await process.receive() {
                if let reply = message.tagged("io_reply"), reply.count == 2, reply[0] == .reference(tag) { return reply[1] }
                if groupWent(message) == true { return nil }
            }
            return nil
        }

        /// `true` when `message` says the group is gone (its DOWN, or its exit signal other than `interrupt`),
        /// `false` for its trapped `interrupt`, `nil` for anything else (dropped: nobody else talks to a shell).
        func groupWent(_ message: Term) -> Bool? {
            if let down = message.tagged("DOWN"), down.count == 4, down[0] == .reference(monitor) { return true }
            // Exit signals of other linked processes are trapped and ignored, as a trapping Erlang process would.
            if let exit = message.tagged("EXIT"), exit.count == 2, exit[0] == .pid(groupLeader) {
                return exit[1] != "interrupt"
            }
            return nil
        }

        func put(_ text: String) async -> Bool {
            let reply = await request(.tuple("put_chars", .atom("unicode"), .binary(Array(text.utf8))))
            return reply == .ok
        }

        /// What a `get_line` gave.
        enum Input {
            /// A line, with its newline.
            case line(String)
            /// `{error, interrupted}`: the user interrupted the job (OTP 25's group answers a pending read so).
            case interrupted
            /// `eof`, another error, or the group went.
            case end
        }

        /// The next line typed.
        func getLine(_ prompt: String) async -> Input {
            guard let reply = await request(.tuple("get_line", .atom("unicode"), .binary(Array(prompt.utf8)))) else {
                return .end
            }
            if reply == .tuple("error", .atom("interrupted")) { return .interrupted }
            if reply == "eof" || reply.tagged("error") != nil { return .end }
            return GroupLeader.characters(reply, encoding: .atom("unicode")).map(Input.line) ?? .end
        }
    }
}

extension String {
    /// The string without leading and trailing spaces, tabs, carriage returns and newlines.
    var trimmingWhitespace: String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }
        guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else { return "" }
        return String(self[first...last])
    }
}
