import ErlangTerm
import Synchronization

extension RemoteShellCommand {
    /// Runs the command in the shell's process and says what to print.
    func evaluate(in p: ErlangProcess) async -> Outcome {
        let node = p.node
        let text = TermTextOptions(localNode: node.name)
        switch self {
        case .processes:
            return .output(Self.processTable(node))
        case .registered:
            return .output(Self.registeredTable(node))
        case .nodes:
            return .output(Term.list(node.nodes(.visible).map { .atom($0) }).erlangText(text))
        case .node:
            return .output(Term.atom(node.name).erlangText(text))
        case .memory:
            return .output(Self.memory(node).erlangText(text))
        case .selfPid:
            return .output(Term.pid(p.pid).erlangText(text))
        case .help:
            return .output(Self.helpText)
        case .quit:
            return .leave
        case .send(let target, let message):
            switch target {
            case .pid(let pid):
                p.send(message, to: pid)
            case .name(let name):
                guard node.whereis(name) != nil else { return .error("** exception error: bad argument in operator !/2") }
                p.send(message, to: name)
            case .remoteName(let name, let peer):
                p.send(message, to: name, on: peer)
            }
            return .output(message.erlangText(text))
        case .call(let module, let function, let arguments):
            guard let body = node.functions.lookup(module, function, arity: arguments.count) else {
                return .error("** exception error: undefined function \(Term.atom(module).erlangText(text)):"
                    + "\(Term.atom(function).erlangText(text))/\(arguments.count)")
            }
            do {
                return .output(try await body(p, arguments).erlangText(text))
            } catch let raised as ErlangError {
                return .error("** exception error: \(raised.reason.erlangText(text))")
            } catch let thrown as ErlangThrow {
                return .error("** exception throw: \(thrown.value.erlangText(text))")
            } catch let exit as ProcessExit {
                return .error("** exception exit: \(exit.reason.erlangText(text))")
            } catch {
                return .error("** exception error: \(String(describing: error))")
            }
        case .value(let term):
            return .output(term.erlangText(text))
        case .undefinedCommand(let name, let arity):
            return .error("** exception error: undefined shell command \(name)/\(arity)")
        case .invalid(let line):
            return .error(line)
        }
    }

    static let helpText = """
        i()              -- the processes of this node
        regs()           -- the registered names
        nodes()          -- the connected nodes
        node()           -- this node's name
        memory()         -- memory use (resident bytes, where the system tells)
        self()           -- the shell's pid
        Pid ! Term       -- send a term to a pid (<0.N.0>), a name or {Name, Node}
        whereis(Name) ! Term
        Mod:Fun(Args)    -- call a function registered on this node (literal terms as arguments)
        q()              -- leave the shell (the caller's node stops; this node keeps running)
        help()           -- this text
        """

    /// `i()`: one line per process (pid, registered name, messages waiting).
    static func processTable(_ node: Node) -> String {
        let text = TermTextOptions(localNode: node.name)
        let rows = node.processSummaries()
        var lines = ["Pid                   Registered                 Msgs"]
        for row in rows {
            let pid = Term.pid(row.pid).erlangText(text)
            let name = row.name.map { Term.atom($0).erlangText(text) } ?? ""
            lines.append(pid.padded(22) + name.padded(24) + String(row.messages).leftPadded(7))
        }
        lines.append("Total: \(rows.count) processes")
        return lines.joined(separator: "\n")
    }

    /// `regs()`: the registered names, as the Erlang shell lists them.
    static func registeredTable(_ node: Node) -> String {
        let text = TermTextOptions(localNode: node.name)
        var lines = ["", "** Registered procs on node \(Term.atom(node.name).erlangText(text)) **",
                     "Name                  Pid                        Msgs"]
        for row in node.processSummaries() {
            guard let name = row.name else { continue }
            lines.append(Term.atom(name).erlangText(text).padded(22) + Term.pid(row.pid).erlangText(text).padded(24)
                + String(row.messages).leftPadded(7))
        }
        return lines.joined(separator: "\n")
    }

    /// `memory()`: `[{total, ResidentBytes}, {process_count, N}, {message_count, M}]`; `total` only where the
    /// system reports it (Linux's `/proc/self/statm`).
    static func memory(_ node: Node) -> Term {
        let rows = node.processSummaries()
        var items: [Term] = []
        if let resident = ResidentMemory.bytes() { items.append(.tuple("total", .int(resident))) }
        items.append(.tuple("process_count", .int(rows.count)))
        items.append(.tuple("message_count", .int(rows.reduce(0) { $0 + $1.messages })))
        return .list(items)
    }
}

typealias TermTextOptions = Term.TextOptions

extension Node {
    /// A snapshot of the live processes for the shell's `i()` and `regs()`, in pid order.
    func processSummaries() -> [(pid: Pid, name: Atom?, messages: Int)] {
        let handles = processes.withLock { Array($0.values) }
        return handles.filter { !$0.isClosed }.sorted { $0.id < $1.id }.map { handle in
            (pid(of: handle), handle.record.withLock { $0.registeredName }, handle.count)
        }
    }
}

extension String {
    /// The string followed by spaces up to `width` characters (and one space at least).
    func padded(_ width: Int) -> String {
        count >= width ? self + " " : self + String(repeating: " ", count: width - count)
    }

    /// The string preceded by spaces up to `width` characters.
    func leftPadded(_ width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }
}
