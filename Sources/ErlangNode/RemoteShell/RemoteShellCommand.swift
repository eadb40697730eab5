import ErlangTerm

/// One expression typed at the ``RemoteShell``, parsed: the shell commands an Erlang user knows, a send, a call
/// of a function registered on the node, or a term (which evaluates to itself).
///
/// The language is deliberately tiny; there are no variables, no funs and no pattern matching. Terms are read by
/// ``TermParser``, so pids are written as this node prints them (`<0.85.0>`).
enum RemoteShellCommand: Sendable {
    /// `i()`: the processes of the node.
    case processes
    /// `regs()`: the registered names.
    case registered
    /// `nodes()`: the connected visible nodes.
    case nodes
    /// `node()`: this node's name.
    case node
    /// `memory()`: what the node can tell of its memory.
    case memory
    /// `self()`: the shell's own pid.
    case selfPid
    /// `help()`: the commands.
    case help
    /// `q()`: leave the shell.
    case quit
    /// `Target ! Message`.
    case send(to: Target, message: Term)
    /// `Module:Function(Arguments)`: a function registered with ``Node/register(module:function:arity:_:)``.
    case call(module: Atom, function: Atom, arguments: [Term])
    /// A term, which evaluates to itself.
    case value(Term)
    /// A call of a shell command that does not exist.
    case undefinedCommand(name: String, arity: Int)
    /// Input that is none of the above, with the error line to print.
    case invalid(String)

    /// Where a `!` sends.
    enum Target: Sendable {
        case pid(Pid)
        case name(Atom)
        case remoteName(Atom, node: Atom)
    }

    /// What evaluating a command gives the shell.
    enum Outcome: Sendable, Equatable {
        /// A result to print (the prompt's counter advances).
        case output(String)
        /// An error line to print (the counter stays).
        case error(String)
        /// Leave the shell.
        case leave
    }

    /// Whether `text` (trimmed) is a whole expression: it ends with `.` outside quotes.
    static func isComplete(_ text: String) -> Bool {
        guard text.hasSuffix(".") else { return false }
        return Scanner.topLevelIndices(of: ".", in: text).last == text.index(before: text.endIndex)
    }

    /// Parses one complete expression (with its final `.`).
    init(parsing text: String, node: Node) {
        var body = text.trimmingWhitespace
        if body.hasSuffix(".") { body.removeLast() }
        body = body.trimmingWhitespace
        let options = TermParser.Options(localNode: node.name, localCreation: node.creation)
        if let bang = Scanner.topLevelIndices(of: "!", in: body).first {
            let lhs = String(body[..<bang]).trimmingWhitespace
            let rhs = String(body[body.index(after: bang)...]).trimmingWhitespace
            self = Self.parseSend(lhs: lhs, rhs: rhs, options: options)
            return
        }
        if let call = Scanner.call(body) {
            let arguments: [Term]
            do {
                arguments = try TermParser.parse("[" + call.arguments + "]", options: options).listElements ?? []
            } catch {
                self = .invalid(Self.syntaxError(error, offset: 0))
                return
            }
            if let module = call.module {
                self = .call(module: Atom(module), function: Atom(call.function), arguments: arguments)
            } else {
                self = Self.command(call.function, arguments: arguments)
            }
            return
        }
        do {
            self = .value(try TermParser.parse(body, options: options))
        } catch {
            self = .invalid(Self.syntaxError(error, offset: 0))
        }
    }

    private static func command(_ name: String, arguments: [Term]) -> RemoteShellCommand {
        switch (name, arguments.count) {
        case ("i", 0): return .processes
        case ("regs", 0): return .registered
        case ("nodes", 0): return .nodes
        case ("node", 0): return .node
        case ("memory", 0): return .memory
        case ("self", 0): return .selfPid
        case ("help", 0): return .help
        case ("q", 0): return .quit
        case ("whereis", 1):
            guard let name = arguments[0].atomValue else { return .invalid("** exception error: bad argument") }
            return .call(module: "erlang", function: "whereis", arguments: [.atom(name)])
        default: return .undefinedCommand(name: name, arity: arguments.count)
        }
    }

    private static func parseSend(lhs: String, rhs: String, options: TermParser.Options) -> RemoteShellCommand {
        let message: Term
        do {
            message = try TermParser.parse(rhs, options: options)
        } catch {
            return .invalid(syntaxError(error, offset: lhs.count + 2))
        }
        if let call = Scanner.call(lhs), call.module == nil, call.function == "whereis" {
            guard let name = try? TermParser.parse(call.arguments, options: options).atomValue else {
                return .invalid("** exception error: bad argument")
            }
            return .send(to: .name(name), message: message)
        }
        let target: Term
        do {
            target = try TermParser.parse(lhs, options: options)
        } catch {
            return .invalid(syntaxError(error, offset: 0))
        }
        switch target {
        case .pid(let pid): return .send(to: .pid(pid), message: message)
        case .atom(let name): return .send(to: .name(name), message: message)
        case .tuple(let e) where e.count == 2 && e[0].atomValue != nil && e[1].atomValue != nil:
            return .send(to: .remoteName(e[0].atomValue!, node: e[1].atomValue!), message: message)
        default:
            return .invalid("** exception error: bad argument in operator !/2")
        }
    }

    /// An error line in the shape of the Erlang shell's: `* Line:Column: syntax error: ...`.
    private static func syntaxError(_ error: TermParseError, offset: Int) -> String {
        "* \(error.line):\(error.column + (error.line == 1 ? offset : 0)): syntax error: \(error.kind.summary)"
    }
}

extension TermParseError.Kind {
    /// The problem in words, without its position.
    var summary: String {
        let full = TermParseError(self, line: 0, column: 0).description
        // The description starts with the position; the shell line prints its own.
        guard let colon = full.firstRange(of: ": ") else { return full }
        return String(full[colon.upperBound...])
    }
}
