import ArgumentParser
import ErlangEPMD
import ErlangNode
import ErlangTerm
import Foundation
import Logging
import NIOCore

/// Options of the client subcommands (`rpc`, `send`): the client's own node and the time limit.
struct ClientOptions: ParsableArguments {
    @OptionGroup var node: NodeOptions

    @Option(help: "Seconds to wait for the connection and the answer.")
    var timeout: Double = 10
}

/// The exit codes scripts can rely on.
enum ClientExit {
    /// The remote side answered with an error: `{badrpc, _}`, an unregistered name.
    static let remoteError: Int32 = 1
    /// Bad arguments or unparseable term text.
    static let usage: Int32 = 2
    /// The node could not be reached: not registered, no EPMD, refused (a wrong cookie), or no answer in time.
    static let unreachable: Int32 = 3
}

/// A short-lived hidden node that talks to one target node, for the client subcommands.
struct ClientSession {
    let node: Node
    let target: Atom
    let options: ClientOptions

    /// Writes a one-line message on stderr.
    static func fail(_ message: String, _ code: Int32) -> ExitCode {
        FileHandle.standardError.write(Data("erlang-node: \(message)\n".utf8))
        return ExitCode(code)
    }

    /// Parses term text given on the command line; the target's own identifiers may be written `<0.B.C>`.
    static func parse(_ text: String, what: String, target: Atom, creation: UInt32 = 0) throws(ExitCode) -> Term {
        do {
            return try TermParser.parse(text, options: .init(localNode: target, localCreation: creation))
        } catch {
            throw fail("cannot parse \(what): \(error)", ClientExit.usage)
        }
    }

    /// Starts the client node and connects to `target`, explaining a failure (exit code 3).
    static func connect(_ targetText: String, options: ClientOptions, kind: String) async throws(ExitCode) -> ClientSession {
        let target = Atom(targetText)
        guard let host = NodeConfiguration.host(of: target), NodeConfiguration.alive(of: target) != nil else {
            throw fail("bad node name \(targetText): expected NAME@HOST", ClientExit.usage)
        }
        guard options.timeout > 0 else { throw fail("--timeout must be positive", ClientExit.usage) }
        armWatchdog(seconds: options.timeout)
        var config: NodeConfiguration
        do {
            config = try options.node.configuration(defaultShortName: "\(kind)\(getpid())x\(UInt32.random(in: 0...999_999))")
        } catch {
            throw fail("\(error)", ClientExit.usage)
        }
        config.hidden = true
        var logger = options.node.logger("erlang-node")
        if options.node.logLevel == "info" { logger.logLevel = .critical }  // a client prints results, not logs
        let node: Node
        do {
            node = try await Node.start(config, logger: logger)
        } catch {
            throw fail("cannot start the client node \(config.name): \(error)", ClientExit.unreachable)
        }
        if await node.connect(target) {
            return ClientSession(node: node, target: target, options: options)
        }
        // Say why: EPMD on the target's host knows the name (then the peer refused us: the cookie), or not.
        let reason: String
        let client = EPMDClient(host: String(host), port: options.node.epmdPort ?? EPMDClient.environmentPort(), timeout: .seconds(3))
        do {
            if try await client.lookup(name: String(NodeConfiguration.alive(of: target)!)) != nil {
                reason = "the node refused the connection (wrong cookie?)"
            } else {
                reason = "no node of that name is registered in EPMD on \(host)"
            }
        } catch {
            reason = "cannot reach EPMD on \(host): \(error)"
        }
        await node.shutdown()
        throw fail("cannot connect to \(target): \(reason)", ClientExit.unreachable)
    }

    /// Calls `Module:Function(Arguments)` through the target's `rex` server, as `rpc:call/5` does; a timeout is
    /// `{badrpc, timeout}` and a node going down `{badrpc, nodedown}`, as there.
    func rpc(_ module: Atom, _ function: Atom, _ arguments: [Term]) async -> Term {
        let groupLeader = GroupLeader.start(on: node) { [node, target, timeout = options.timeout] m, f, a in
            // Formatting requests (`io:format` sends `{put_chars, unicode, io_lib, format, [F, A]}`) are evaluated
            // on the target, which has io_lib; that call's own group leader never sees such requests.
            let request: Term = .tuple("call", .atom(m), .atom(f), .list(a), .pid(GroupLeader.start(on: node) { _, _, _ in .nil }))
            return (try? await node.call(.name("rex", node: target), request, timeout: .milliseconds(Int(timeout * 1000)))) ?? .nil
        }
        let request: Term = .tuple("call", .atom(module), .atom(function), .list(arguments), .pid(groupLeader))
        do {
            return try await node.call(.name("rex", node: target), request, timeout: .milliseconds(Int(options.timeout * 1000)))
        } catch {
            switch error {
            case .timeout: return .tuple("badrpc", "timeout")
            case .down: return .tuple("badrpc", "nodedown")
            }
        }
    }

    /// The target's creation, read from a pid it makes, so that `<0.B.C>` in arguments names its processes.
    func targetCreation() async -> UInt32? {
        if case .pid(let p) = await rpc("erlang", "self", []), p.node == target { return p.creation }
        return nil
    }

    func close() async { await node.shutdown() }

    /// The last resort against a hang: a little after the timeout, exit with code 3 whatever is still running.
    private static func armWatchdog(seconds: Double) {
        DispatchQueue.global().asyncAfter(deadline: .now() + seconds + 3) {
            FileHandle.standardError.write(Data("erlang-node: no answer within \(seconds) s\n".utf8))
            Foundation.exit(ClientExit.unreachable)
        }
    }
}

/// The group leader given to remote calls: output the call prints (`io:format`) appears on our stdout, and input
/// requests are refused, so that a remote function never waits on us.
enum GroupLeader {
    /// Starts the group leader; `evaluate` runs `{put_chars, Encoding, M, F, A}` requests' `M:F(A...)`.
    static func start(on node: Node, evaluate: @escaping @Sendable (Atom, Atom, [Term]) async -> Term) -> Pid {
        node.spawn { p in
            while let message = await p.receive() {
                guard let body = message.tagged("io_request"), body.count == 3, case .pid(let from) = body[0] else { continue }
                let reply: Term
                if let fields = body[2].tagged("put_chars"), fields.count == 4, case .atom(let m) = fields[1],
                   case .atom(let f) = fields[2], let a = fields[3].listElements {
                    let chars = await evaluate(m, f, a)
                    if let text = putChars(.tuple("put_chars", chars)) {
                        FileHandle.standardOutput.write(Data(text.utf8))
                        reply = .ok
                    } else {
                        reply = .tuple("error", "format")
                    }
                } else if let chars = putChars(body[2]) {
                    FileHandle.standardOutput.write(Data(chars.utf8))
                    reply = .ok
                } else if let requests = body[2].tagged("requests")?.first?.listElements {
                    for r in requests { if let chars = putChars(r) { FileHandle.standardOutput.write(Data(chars.utf8)) } }
                    reply = .ok
                } else {
                    reply = .tuple("error", "enotsup")
                }
                p.send(.tuple("io_reply", body[1], reply), to: from)
            }
        }
    }

    /// The text of `{put_chars, Encoding, Chars}` or `{put_chars, Chars}`.
    static func putChars(_ request: Term) -> String? {
        guard let fields = request.tagged("put_chars") else { return nil }
        let chars: Term
        switch fields.count {
        case 1: chars = fields[0]
        case 2: chars = fields[1]
        default: return nil
        }
        var out = String.UnicodeScalarView()
        var stack: [Term] = [chars]
        while let t = stack.popLast() {
            switch t {
            case .integer(let c):
                if let u = UInt32(exactly: c), let s = Unicode.Scalar(u) { out.append(s) }
            case .binary(let bytes):
                out.append(contentsOf: String(decoding: bytes, as: UTF8.self).unicodeScalars)
            case .list(let elements):
                stack.append(contentsOf: elements.reversed())
            case .improperList(let elements, let tail):
                stack.append(tail)
                stack.append(contentsOf: elements.reversed())
            default:
                return nil
            }
        }
        return String(out)
    }
}
