@testable import ErlangNode
import ErlangNodeTestKit
import ErlangTerm
import Testing

/// Phoenix.PubSub on one node (no distribution): subscriptions counted as Phoenix counts them, local delivery,
/// `broadcast_from`, subscribers' exits, what a peer's worker sends (`forward_to_local`), malformed input, names.
@Suite struct PubSubTests {
    private static let name = PubSub.elixirName("MyApp.PubSub")

    @Test func namesAreTheAdaptersNames() {
        #expect(PubSub.elixirName("MyApp.PubSub") == "Elixir.MyApp.PubSub")
        #expect(PubSub.elixirName("Elixir.MyApp.PubSub") == "Elixir.MyApp.PubSub")
        #expect(PubSub.groupNames(for: "Elixir.MyApp.PubSub", poolSize: 1) == ["Elixir.MyApp.PubSub.Adapter"])
        #expect(PubSub.groupNames(for: "Elixir.MyApp.PubSub", poolSize: 3)
                == ["Elixir.MyApp.PubSub.Adapter", "Elixir.MyApp.PubSub.Adapter_2", "Elixir.MyApp.PubSub.Adapter_3"])
        // Module.concat(:my_pubsub, "Adapter") is :"Elixir.my_pubsub.Adapter".
        #expect(PubSub.groupNames(for: "my_pubsub", poolSize: 1) == ["Elixir.my_pubsub.Adapter"])
    }

    @Test func subscriptionsAreCountedAndCleanedAsPhoenixDoes() {
        var s = PubSubSubscriptions()
        let a = Pid(node: "n@h", id: 1, serial: 0, creation: 1), b = Pid(node: "n@h", id: 2, serial: 0, creation: 1)
        let t = Array("t".utf8), u = Array("u".utf8)
        let r1 = s.subscribe(a, to: t)
        #expect(r1, "first subscription: monitor it")
        let r2 = s.subscribe(a, to: t)
        #expect(!r2, "already monitored")
        let r3 = s.subscribe(a, to: u)
        #expect(!r3)
        let r4 = s.subscribe(b, to: t)
        #expect(r4)
        #expect(s.receivers(of: t) == [a, a, b], "subscribed twice, delivered twice")
        #expect(s.receivers(of: t, except: a) == [b])
        let ref = Reference(node: "n@h", creation: 1, ids: [1, 2, 3])
        let r5 = s.setMonitor(ref, for: a)
        #expect(r5)
        let r6 = s.unsubscribe(a, from: t)
        #expect(r6 == nil, "still on u")
        #expect(s.receivers(of: t) == [b], "unsubscribe removes both")
        let r7 = s.unsubscribe(a, from: u)
        #expect(r7 == ref, "no topic left: drop the monitor")
        #expect(s.subscribers[a] == nil && s.receivers(of: u).isEmpty && s.topics[u] == nil)
        let r8 = s.setMonitor(ref, for: a)
        #expect(!r8, "a monitor made after the last unsubscribe is dropped")
        let r9 = s.down(b)
        #expect(r9 == 1)
        #expect(s.topics.isEmpty && s.subscribers.isEmpty)
        let r10 = s.down(b)
        #expect(r10 == 0, "a second DOWN changes nothing")
    }

    @Test func messagesFromPeersAreCheckedBeforeUse() {
        let topic = Term.binary(Array("room".utf8))
        #expect(PubSubMessage(.tuple("forward_to_local", topic, .atom("hi"), .atom("Elixir.Phoenix.PubSub")))
                == .forwardToLocal(topic: Array("room".utf8), message: .atom("hi"), dispatcher: "Elixir.Phoenix.PubSub"))
        for bad: Term in [.tuple("forward_to_local", .atom("room"), .atom("hi"), .atom("d")),
                          .tuple("forward_to_local", topic, .atom("hi"), .int(1)),
                          .tuple("forward_to_local", topic, .atom("hi"))] {
            guard case .malformed = PubSubMessage(bad) else {
                Issue.record("accepted \(bad)")
                continue
            }
        }
        #expect(PubSubMessage(.atom("hello")) == .other)
        #expect(PubSubMessage(.list([])) == .other)
        #expect(PubSubMessage(.tuple("DOWN", .atom("x"), .atom("port"), .atom("p"), .atom("r"))) == .other)
    }

    @Test func localBroadcastsReachSubscribers() async throws {
        let node = Node(name: "a@h")
        let pubsub = try node.startPubSub(Self.name)
        #expect(try node.startPubSub(Self.name) === pubsub, "started once")
        #expect(node.pubSub(Self.name) === pubsub)
        #expect(node.whereis("Elixir.MyApp.PubSub.Adapter") == pubsub.workers[0])
        #expect(node.processGroups.getMembers(.atom("Elixir.MyApp.PubSub.Adapter"), scope: PubSub.scope) == pubsub.workers)

        let one = Probe(node), two = Probe(node)
        try pubsub.subscribe(one.pid, to: "room:lobby")
        try pubsub.subscribe(one.pid, to: "room:lobby")
        try pubsub.subscribe(two.pid, to: "room:lobby")
        try pubsub.subscribe(two.pid, to: "room:other")
        #expect(pubsub.topics(of: two.pid) == ["room:lobby", "room:other"])
        pubsub.broadcast(.atom("m1"), on: "room:lobby")
        #expect(await one.next { $0 == .atom("m1") } != nil)
        #expect(await one.next { $0 == .atom("m1") } != nil, "subscribed twice")
        #expect(await two.next { $0 == .atom("m1") } != nil)
        pubsub.broadcast(.atom("m2"), on: "room:lobby", from: one.pid)
        #expect(await two.next { $0 == .atom("m2") } != nil)
        #expect(await one.next(timeout: .milliseconds(200)) { $0 == .atom("m2") } == nil, "broadcast_from skips the sender")

        // What a peer's adapter sends to a worker is delivered to the local subscribers.
        node.send(.tuple("forward_to_local", .binary(Array("room:other".utf8)), .atom("m3"), .atom("Elixir.Phoenix.PubSub")),
                  to: pubsub.workers[0])
        #expect(await two.next { $0 == .atom("m3") } != nil)
        #expect(await one.next(timeout: .milliseconds(200)) { $0 == .atom("m3") } == nil)

        // Junk sent to the worker is dropped; the worker keeps serving.
        for junk: Term in [.atom("junk"), .tuple("forward_to_local", .int(1), .atom("x"), .atom("y")),
                           .tuple("forward_to_local"), .binary([0xff])] {
            node.send(junk, to: pubsub.workers[0])
        }
        node.send(.tuple("forward_to_local", .binary(Array("room:other".utf8)), .atom("m4"), .atom("Elixir.Custom.Dispatcher")),
                  to: pubsub.workers[0])
        #expect(await two.next { $0 == .atom("m4") } != nil, "other dispatchers: delivered as the default one")
        #expect(pubsub.isRunning)

        // Unsubscribe, and a subscriber's exit removes it everywhere.
        pubsub.unsubscribe(one.pid, from: "room:lobby")
        #expect(pubsub.subscribers(of: "room:lobby") == [two.pid])
        node.exit(two.pid, reason: .atom("kill"), from: two.pid)
        #expect(await eventually { pubsub.subscribers(of: "room:lobby").isEmpty && pubsub.topics(of: two.pid).isEmpty })

        // Only local processes subscribe.
        let foreign = Pid(node: "b@h", id: 5, serial: 0, creation: 1)
        #expect(throws: PubSubError.notLocal(foreign)) { try pubsub.subscribe(foreign, to: "t") }
        // A dead process's subscription goes away by its DOWN.
        let dead = node.spawn { _ in }
        #expect(await eventually { !node.isAlive(dead) })
        try pubsub.subscribe(dead, to: "t")
        #expect(await eventually { pubsub.subscribers(of: "t").isEmpty })
    }

    @Test func startAndStop() async throws {
        let node = Node(name: "a@h")
        #expect(throws: PubSubError.invalidPoolSize(0)) { try node.startPubSub(Self.name, poolSize: 0) }
        let squatter = node.spawn { p in _ = await p.receive() }
        try node.register("Elixir.MyApp.PubSub.Adapter_2", squatter)
        #expect(throws: PubSubError.nameTaken("Elixir.MyApp.PubSub.Adapter_2", by: squatter)) {
            try node.startPubSub(Self.name, poolSize: 2)
        }
        #expect(await eventually { node.whereis("Elixir.MyApp.PubSub.Adapter") == nil }, "undone entirely")
        node.exit(squatter, reason: .atom("kill"), from: squatter)
        #expect(await eventually { node.whereis("Elixir.MyApp.PubSub.Adapter_2") == nil })
        let pubsub = try node.startPubSub(Self.name, poolSize: 3)
        #expect(pubsub.workers.count == 3)
        #expect(pubsub.description == "PubSub(Elixir.MyApp.PubSub, 3 workers)")
        let probe = Probe(node)
        try pubsub.subscribe(probe.pid, to: "t")
        pubsub.stop()
        #expect(await eventually { !pubsub.isRunning && node.pubSub(Self.name) == nil })
        #expect(await eventually {
            node.processGroups.getMembers(.atom("Elixir.MyApp.PubSub.Adapter"), scope: PubSub.scope).isEmpty
        })
        #expect(pubsub.subscribers(of: "t").isEmpty)
        #expect(throws: PubSubError.stopped(Self.name)) { try pubsub.subscribe(probe.pid, to: "t") }
        #expect(try node.startPubSub(Self.name) !== pubsub, "a new server starts under the name")
    }
}
