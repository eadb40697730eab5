import ErlangNodeTestKit
import Foundation
import Testing

/// The programs of Examples/ run as built (next to the test bundle) against Elixir 1.14 on a private epmd: each is
/// started as its own process, an Elixir script calls it, and the script's `R_...` lines are checked.
@Suite(.serialized) struct ExamplesTests {
    static var enabled: Bool { BehaviourInteropTests.elixirEnabled }

    @Test(.enabled(if: Self.enabled))
    func inventoryServiceReservesRestocksReleasesAndRestarts() async throws {
        try await Self.withElixir { world in
            let service = try await Self.startExample("inventory-service", alive: TestEnvironment.uniqueName("inv"), in: world)
            let ex = try Self.elixir(in: world, script: """
                n = :"\(service.node)"
                i = {:inventory, n}
                IO.puts("R_RESERVE #{inspect(GenServer.call(i, {:reserve, "sku-1", 3}))}")
                IO.puts("R_OUT #{inspect(GenServer.call(i, {:reserve, "sku-1", 30}))}")
                IO.puts("R_UNKNOWN #{inspect(GenServer.call(i, {:reserve, "nope", 1}))}")
                IO.puts("R_BAD #{inspect(GenServer.call(i, {:reserve, :oops}))}")
                GenServer.cast(i, {:restock, "sku-1", 5})
                GenServer.cast(i, :not_a_cast)
                send(i, {:not, :a, :call})
                IO.puts("R_STOCK #{inspect(GenServer.call(i, {:stock, "sku-1"}))}")
                IO.puts("R_CHECKOUT #{inspect(GenServer.call(i, :checkout))}")
                IO.puts("R_LABEL #{inspect(GenServer.call(i, {:label, "sku-1"}))}")
                me = self()
                holder = spawn(fn ->
                  send(me, {:held, GenServer.call(i, {:reserve, "sku-2", 5})})
                  Process.sleep(:infinity)
                end)
                receive do
                  {:held, r} -> IO.puts("R_HELD #{inspect(r)}")
                after 10_000 -> IO.puts("R_HELD timeout")
                end
                IO.puts("R_EMPTY #{inspect(GenServer.call(i, {:stock, "sku-2"}))}")
                Process.exit(holder, :kill)
                released = Enum.find_value(1..200, fn _ ->
                  case GenServer.call(i, {:stock, "sku-2"}) do
                    {:ok, 5} -> true
                    _ -> Process.sleep(25); nil
                  end
                end)
                IO.puts("R_RELEASED #{inspect(released)}")
                IO.puts("R_STATE #{inspect(:sys.get_state(i))}")
                old = :rpc.call(n, :erlang, :whereis, [:inventory])
                Process.exit(old, :kill)
                back = Enum.find_value(1..200, fn _ ->
                  case :rpc.call(n, :erlang, :whereis, [:inventory]) do
                    p when is_pid(p) and p != old -> p
                    _ -> Process.sleep(25); nil
                  end
                end)
                IO.puts("R_RESTARTED #{is_pid(back)}")
                IO.puts("R_FRESH #{inspect(GenServer.call(i, {:stock, "sku-1"}))}")
                IO.puts("R_WHICH #{match?([{:inventory, ^back, :worker, [:inventory]}], Supervisor.which_children({:inventory_sup, n}))}")
                """)
            try await Self.expect(ex, [
                ("R_RESERVE", "{:ok, 7}"), ("R_OUT", "{:error, :out_of_stock}"), ("R_UNKNOWN", "{:error, :unknown_sku}"),
                ("R_BAD", "{:error, {:bad_request, {:reserve, :oops}}}"), ("R_STOCK", "{:ok, 12}"),
                ("R_CHECKOUT", "{:ok, %{\"sku-1\" => 3}}"), ("R_LABEL", "{:ok, \"SKU-1\"}"), ("R_HELD", "{:ok, 0}"),
                ("R_EMPTY", "{:ok, 0}"), ("R_RELEASED", "true"),
                ("R_STATE", "%{holds: %{}, stock: %{\"sku-1\" => 12, \"sku-2\" => 5}}"),
                ("R_RESTARTED", "true"), ("R_FRESH", "{:ok, 10}"), ("R_WHICH", "true"),
            ], service: service.process)
            // The DOWN of the dead holder was handled by the server itself (logged), not by a restart.
            #expect(service.process.output.contains("died (killed); released [\"sku-2\": 5]"), "\(service.process.output)")
            try await Self.expectStopsOnSignal(service.process, "inventory-service")
        }
    }

    @Test(.enabled(if: Self.enabled))
    func actorServiceAnswersCallsCastsSysAndIsRestarted() async throws {
        try await Self.withElixir { world in
            let service = try await Self.startExample("actor-service", alive: TestEnvironment.uniqueName("act"), in: world)
            let ex = try Self.elixir(in: world, script: """
                n = :"\(service.node)"
                l = {:ledger, n}
                IO.puts("R_DEPOSIT #{inspect(GenServer.call(l, {:deposit, "alice", 50}))}")
                IO.puts("R_WITHDRAW #{inspect(GenServer.call(l, {:withdraw, "alice", 20}))}")
                IO.puts("R_INSUFFICIENT #{inspect(GenServer.call(l, {:withdraw, "alice", 100}))}")
                IO.puts("R_BALANCE #{inspect(GenServer.call(l, {:balance, "alice"}))}")
                GenServer.call(l, {:deposit, "bob", 5})
                IO.puts("R_ACCOUNTS #{inspect(GenServer.call(l, :accounts))}")
                GenServer.cast(l, {:close, "bob"})
                IO.puts("R_STATE #{inspect(:sys.get_state(l))}")
                IO.puts("R_BADARITY #{inspect(elem(GenServer.call(l, {:deposit, "alice"}), 0))}")
                IO.puts("R_AFTER_BAD #{inspect(GenServer.call(l, {:balance, "alice"}))}")
                old = :rpc.call(n, :erlang, :whereis, [:ledger])
                Process.exit(old, :kill)
                back = Enum.find_value(1..200, fn _ ->
                  case :rpc.call(n, :erlang, :whereis, [:ledger]) do
                    p when is_pid(p) and p != old -> p
                    _ -> Process.sleep(25); nil
                  end
                end)
                IO.puts("R_RESTARTED #{is_pid(back)}")
                IO.puts("R_FRESH #{inspect(GenServer.call(l, {:balance, "alice"}))}")
                """)
            try await Self.expect(ex, [
                ("R_DEPOSIT", "50"), ("R_WITHDRAW", "30"), ("R_INSUFFICIENT", "{:error, :insufficient_funds}"),
                ("R_BALANCE", "30"), ("R_ACCOUNTS", "[\"alice\", \"bob\"]"), ("R_STATE", "%{\"alice\" => 30}"),
                ("R_BADARITY", ":error"), ("R_AFTER_BAD", "30"), ("R_RESTARTED", "true"), ("R_FRESH", "0"),
            ], service: service.process)
            try await Self.expectStopsOnSignal(service.process, "actor-service", signal: SIGINT)
        }
    }

    @Test(.enabled(if: Self.enabled))
    func echoNodeRepliesSurvivesGarbageAndStops() async throws {
        try await Self.withElixir { world in
            let echo = try await Self.startExample("echo-node", alive: TestEnvironment.uniqueName("echo"), in: world)
            let ex = try Self.elixir(in: world, script: """
                n = :"\(echo.node)"
                e = {:echo, n}
                next = fn -> receive do m -> m after 10_000 -> :timeout end end
                send(e, {self(), :hello})
                IO.puts("R_ECHO #{inspect(next.())}")
                IO.puts("R_ADD #{inspect(:rpc.call(n, :calc, :add, [1, 2]))}")
                IO.puts("R_ADD_BAD #{inspect(elem(:rpc.call(n, :calc, :add, [1, :two]), 0))}")
                IO.puts("R_ADD_OVERFLOW #{inspect(elem(:rpc.call(n, :calc, :add, [9_223_372_036_854_775_807, 1]), 0))}")
                send(e, :garbage)
                send(e, {1, 2, 3})
                send(e, {self()})
                send(e, [self(), :x])
                send(e, :binary.copy("x", 20_000_000))
                send(e, {self(), {:still, :here}})
                IO.puts("R_AFTER #{inspect(next.())}")
                """)
            try await Self.expect(ex, [
                ("R_ECHO", ":hello"), ("R_ADD", "3"), ("R_ADD_BAD", ":badrpc"), ("R_ADD_OVERFLOW", ":badrpc"),
                ("R_AFTER", "{:still, :here}"),
            ], service: echo.process)
            #expect(echo.process.output.contains("ignoring a binary of 20000000 bytes"), "\(echo.process.output)")
            try await Self.expectStopsOnSignal(echo.process, "echo-node")

            // A second one, stopped by the `stop` message: it exits by itself, status 0.
            let again = try await Self.startExample("echo-node", alive: TestEnvironment.uniqueName("echo"), in: world)
            let stopper = try Self.elixir(in: world, script: """
                send({:echo, :"\(again.node)"}, :stop)
                IO.puts("R_SENT ok")
                Process.sleep(500)
                """)
            #expect(await stopper.value(after: "R_SENT", timeout: .seconds(40)) == "ok", "\(stopper.output)")
            let exited = await again.process.waitForExit(timeout: .seconds(10))
            #expect(exited, "echo-node did not stop on `stop`:\n\(again.process.output)")
            #expect(again.process.exitStatus == 0, "\(again.process.output)")
            #expect(again.process.output.contains("echo-node stopped"), "\(again.process.output)")
        }
    }

    /// README.md's embedding example is echo-node's `run()`: every line of it appears there, in order.
    @Test func readmeShowsEchoNodeAsItIs() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let readme = try String(contentsOf: root.appendingPathComponent("README.md"), encoding: .utf8)
        let source = try String(contentsOf: root.appendingPathComponent("Examples/echo-node/EchoNode.swift"), encoding: .utf8)
        let lines = source.split(separator: "\n", omittingEmptySubsequences: false)
        guard let first = lines.firstIndex(where: { $0.contains("let config = try options.configuration()") }),
              let last = lines.firstIndex(where: { $0.contains("say(\"echo-node stopped\")") }) else {
            Issue.record("EchoNode.swift has no run() body as expected")
            return
        }
        var searchFrom = readme.startIndex
        for line in lines[(first + 1)...last] where !line.isEmpty {
            let shown = String(line.dropFirst(8))
            guard let found = readme.range(of: shown + "\n", range: searchFrom..<readme.endIndex) else {
                Issue.record("README.md lacks (or reorders) this line of Examples/echo-node/EchoNode.swift: \(shown)")
                return
            }
            searchFrom = found.upperBound
        }
    }

    // MARK: Support

    struct Started {
        let process: PeerProcess
        let node: String
    }

    static let elixir = "/usr/bin/elixir"

    /// Runs `body` in a world of OTP 25's epmd; a missing elixir fails with CI=true (the test is not enabled
    /// otherwise, so it is recorded as skipped).
    static func withElixir(_ body: (InteropWorld) async throws -> Void) async throws {
        guard enabled else { return }
        guard FileManager.default.isExecutableFile(atPath: elixir) else {
            Issue.record("elixir is not installed (required with CI=true)")
            return
        }
        try await InteropWorld.run(try requireOTP(.otp25, "OTP 25"), body)
    }

    /// Starts an example program built next to the test bundle, on the world's epmd, listening on 127.0.0.1, and
    /// waits for its readiness line. The world kills it by pid at the end.
    static func startExample(_ program: String, alive: String, in world: InteropWorld) async throws -> Started {
        guard let path = TestEnvironment.builtExecutable(program) else {
            Issue.record("\(program) is not built next to the test bundle (swift build --build-tests builds it)")
            throw CancellationError()
        }
        let node = world.nodeName(alive)
        let process = try PeerProcess(program, executable: path,
                                      arguments: ["--sname", node, "--cookie", world.cookie, "--bind", "127.0.0.1"],
                                      environment: world.epmd.environment)
        world.track(process)
        guard await process.waitForOutput(containing: "\(program) ready: \(node)", timeout: .seconds(30)) else {
            Issue.record("\(program) did not get ready:\n\(process.output)")
            throw CancellationError()
        }
        return Started(process: process, node: node)
    }

    /// Runs an Elixir script as a short-named node of the world (stopped by the world at the end).
    static func elixir(in world: InteropWorld, script: String) throws -> PeerProcess {
        let path = try TestEnvironment.makeTemporaryDirectory("examples-elixir") + "/check.exs"
        try script.write(toFile: path, atomically: true, encoding: .utf8)
        let ex = try PeerProcess("elixir", executable: elixir,
                                 arguments: ["--sname", TestEnvironment.uniqueName("ex"), "--cookie", world.cookie, path],
                                 environment: world.epmd.environment)
        world.track(ex)
        return ex
    }

    static func expect(_ ex: PeerProcess, _ expected: [(String, String)], service: PeerProcess,
                       sourceLocation: SourceLocation = #_sourceLocation) async throws {
        for (marker, value) in expected {
            let got = await ex.value(after: marker + " ", timeout: .seconds(40))
            #expect(got == value, "\(marker): got \(got ?? "nothing")\n\(ex.output)\n--- \(service.label):\n\(service.output)",
                    sourceLocation: sourceLocation)
        }
    }

    /// SIGTERM (or SIGINT, as Ctrl-C sends it): the program closes its node and exits with status 0 within 5 s
    /// (else it is killed by pid).
    static func expectStopsOnSignal(_ process: PeerProcess, _ program: String, signal: Int32 = SIGTERM,
                                     sourceLocation: SourceLocation = #_sourceLocation) async throws {
        process.signal(signal)
        let stopped = await process.waitForExit(timeout: .seconds(5))
        if !stopped { await process.terminate() }
        #expect(stopped, "\(program) did not exit within 5 s of signal \(signal):\n\(process.output)", sourceLocation: sourceLocation)
        #expect(process.exitStatus == 0, "\(program) exit status \(process.exitStatus.map(String.init) ?? "none")",
                sourceLocation: sourceLocation)
        #expect(process.output.contains("\(program) stopped"), "\(process.output)", sourceLocation: sourceLocation)
    }
}
