@testable import ErlangNode
import ErlangDistribution
import ErlangTerm
import Testing

/// The processes of SPAWN_REQUESTs without a peer: what an entry point asks for, the gate that holds a process
/// until its SPAWN_REPLY is out, and the exit reasons `erpc` callers read (interop: ``RuntimeInteropTests``).
@Suite struct RemoteSpawnRunnerTests {
    let ref: Term = .reference(Reference(node: "otp@h", creation: 3, ids: [4, 5, 6]))

    private func entry(_ m: Atom, _ f: Atom, _ n: Int) -> ModuleFunctionArity { ModuleFunctionArity(module: m, function: f, arity: n) }

    @Test func entryPointsAreRead() {
        #expect(RemoteSpawnTask(entry: entry("erpc", "execute_call", 4), arguments: [ref, .atom("m"), .atom("f"), .list([1])])
                == .erpcCall(reference: ref, module: "m", function: "f", arguments: [1]))
        #expect(RemoteSpawnTask(entry: entry("erpc", "execute_call", 4), arguments: [ref, .int(1), .atom("f"), .nil])
                == .malformedErpcCall(reference: ref))
        #expect(RemoteSpawnTask(entry: entry("erpc", "execute_call", 4), arguments: [ref, .atom("m"), .atom("f"), .atom("notalist")])
                == .malformedErpcCall(reference: ref))
        #expect(RemoteSpawnTask(entry: entry("erpc", "execute_cast", 3), arguments: [.atom("m"), .atom("f"), .nil])
                == .erpcCast(module: "m", function: "f", arguments: []))
        #expect(RemoteSpawnTask(entry: entry("erpc", "execute_cast", 3), arguments: [.atom("m"), .binary([]), .nil]) == .malformedErpcCast)
        // Another arity of erpc's functions is an ordinary (here undefined) function.
        #expect(RemoteSpawnTask(entry: entry("erpc", "execute_call", 3), arguments: [.atom("m"), .atom("f"), .nil])
                == .function(module: "erpc", function: "execute_call", arguments: [.atom("m"), .atom("f"), .nil]))
        #expect(RemoteSpawnTask(entry: entry("erlang", "send", 2), arguments: [1, 2]) == .function(module: "erlang", function: "send", arguments: [1, 2]))
    }

    @Test func thePolicyAlsoSeesTheFunctionAnErpcCallApplies() {
        #expect(RemoteSpawnTask.erpcCall(reference: ref, module: "os", function: "cmd", arguments: [1]).appliedFunction == entry("os", "cmd", 1))
        #expect(RemoteSpawnTask.erpcCast(module: "os", function: "cmd", arguments: [1]).appliedFunction == entry("os", "cmd", 1),
                "a cast runs a function as much as a call does")
        #expect(RemoteSpawnTask.malformedErpcCall(reference: ref).appliedFunction == nil)
        #expect(RemoteSpawnTask.malformedErpcCast.appliedFunction == nil)
        #expect(RemoteSpawnTask.function(module: "m", function: "f", arguments: []).appliedFunction == nil)
    }

    /// Runs `task` through a runner on a node with a few functions, monitored; returns the exit reason.
    private func exitReason(of task: RemoteSpawnTask, node: Node, groupLeader: Pid? = nil,
                            beforeRelease: (@Sendable () async -> Void)? = nil) async -> Term? {
        let runner = RemoteSpawnRunner()
        let done = Mailbox()
        let watcher = node.spawn { p in
            guard let target = await p.receive()?.pidValue else { return }
            let monitor = p.monitor(.pid(target))
            _ = done.deliver(.atom("monitoring"))
            let down = await p.receive(timeout: .seconds(5)) { $0.tagged("DOWN")?.first == .reference(monitor) }
            _ = done.deliver(down?[4] ?? .atom("no_down"))
        }
        let pid = runner.spawn(task, on: node, groupLeader: groupLeader)
        #expect(runner.held == 1)
        node.send(.pid(pid), to: watcher)
        _ = await done.receive(timeout: .seconds(5)) { $0 == .atom("monitoring") }
        await beforeRelease?()
        runner.release(pid, on: node)
        runner.release(pid, on: node)  // a second release does nothing
        #expect(runner.held == 0)
        return await done.receive(timeout: .seconds(10)) { _ in true }
    }

    private func node() -> Node {
        let node = Node(name: "spawn@h")
        node.register(module: "demo", function: "leader", arity: 0) { _, _ in CallerGroupLeader.current.map(Term.pid) ?? .undefined }
        node.register(module: "demo", function: "add", arity: 2) { _, args in .int((args[0].intValue ?? 0) + (args[1].intValue ?? 0)) }
        node.register(module: "demo", function: "throw", arity: 0) { _, _ in throw ErlangThrow(.atom("thrown")) }
        node.register(module: "demo", function: "quit", arity: 0) { _, _ in throw ProcessExit("shutdown") }
        return node
    }

    @Test func erpcCallsExitWithTheirOutcome() async {
        let node = node()
        #expect(await exitReason(of: .erpcCall(reference: ref, module: "demo", function: "add", arguments: [2, 3]), node: node)
                == .tuple(ref, .atom("return"), .int(5)))
        #expect(await exitReason(of: .erpcCall(reference: ref, module: "demo", function: "throw", arguments: []), node: node)
                == .tuple(ref, .atom("throw"), .atom("thrown")))
        #expect(await exitReason(of: .erpcCall(reference: ref, module: "demo", function: "quit", arguments: []), node: node)
                == .tuple(ref, .atom("exit"), .atom("shutdown")))
        #expect(await exitReason(of: .erpcCall(reference: ref, module: "nosuch", function: "f", arguments: [1]), node: node)
                == .tuple(ref, .atom("error"), .atom("undef"), .list([.tuple(.atom("nosuch"), .atom("f"), .list([1]), .nil)])))
        #expect(await exitReason(of: .malformedErpcCall(reference: ref), node: node) == .tuple(ref, .atom("error"), .atom("badarg"), .nil))
    }

    @Test func otherEntryPointsExitAsTheFunctionDoes() async {
        let node = node()
        #expect(await exitReason(of: .function(module: "demo", function: "add", arguments: [1, 1]), node: node) == .atom("normal"))
        #expect(await exitReason(of: .function(module: "demo", function: "quit", arguments: []), node: node) == .atom("shutdown"))
        #expect(await exitReason(of: .function(module: "nosuch", function: "f", arguments: []), node: node)
                == .tuple("undef", .list([.tuple(.atom("nosuch"), .atom("f"), .nil, .nil)])))
        #expect(await exitReason(of: .erpcCast(module: "nosuch", function: "f", arguments: []), node: node) == .atom("normal"),
                "a cast's failure is nobody's business")
        #expect(await exitReason(of: .malformedErpcCast, node: node) == .atom("normal"))
    }

    @Test func theProcessWaitsForItsReleaseAndSeesTheRequestsGroupLeader() async {
        let node = node()
        let ran = Mailbox()
        node.register(module: "demo", function: "note", arity: 0) { _, _ in
            _ = ran.deliver(CallerGroupLeader.current.map(Term.pid) ?? .undefined)
            return .ok
        }
        let leader = Pid(node: "otp@h", id: 9, serial: 0, creation: 3)
        let reason = await exitReason(of: .function(module: "demo", function: "note", arguments: []), node: node, groupLeader: leader) {
            #expect(await ran.receive(timeout: .milliseconds(300)) { _ in true } == nil, "the function ran before its release")
        }
        #expect(reason == .atom("normal"))
        #expect(await ran.receive(timeout: .seconds(5)) { _ in true } == .pid(leader))
    }
}
