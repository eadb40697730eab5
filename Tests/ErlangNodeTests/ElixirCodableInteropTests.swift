@testable import ErlangNode
import ErlangNodeTestKit
import ErlangTerm
import Foundation
import Synchronization
import Testing

// The Swift side of an inventory service, as it would declare its types for Elixir callers.

/// `{:reserve, "sku-1", 3}`, `:ping`, `{:cancel, 9, nil}`.
private enum InventoryRequest: Codable, Equatable, Sendable {
    case reserve(sku: String, count: Int)
    case cancel(id: Int, reason: String?)
    case ping
}

/// `{:ok, 42}`, `{:error, "bad"}`.
private enum InventoryReply: Codable, Equatable, Sendable {
    case ok(Int)
    case error(String)
}

/// `%Inventory.Item{sku: "a", count: 2, note: nil}`.
private struct InventoryItem: Codable, Equatable, Sendable, ElixirStruct {
    static let elixirStruct: Atom = "Inventory.Item"
    var sku: String
    var count: Int
    var note: String?
}

/// `:pending`, `:shipped`: atoms.
private enum OrderStatus: String, Sendable, TermAtomRepresentable {
    case pending, shipped
}

/// `%Inventory.Order{id: 7, items: [%Inventory.Item{...}], status: :shipped}`.
private struct InventoryOrder: Codable, Equatable, Sendable, ElixirStruct {
    static let elixirStruct: Atom = "Elixir.Inventory.Order"
    var id: Int
    var items: [InventoryItem]
    var status: OrderStatus
}

/// `[timeout: 5000, retries: 3]`.
private struct CallOptions: Codable, Equatable, Sendable, TermKeywordCodable {
    var timeout: Int
    var retries: Int
}

/// `{:point, -1, 2}`, as `Record.defrecord(:point, x: 0, y: 0)` makes it.
private struct PointRecord: Codable, Equatable, Sendable, TermRecordCodable {
    static let recordTag: Atom = "point"
    var x: Int
    var y: Int
}

/// `%{enabled: true, ratio: 0.5, tags: ["a"], stock: %{"a" => 1}, bytes: <<1, 2, 255>>, pair: {1, "one"}}`: a plain map
/// with atom keys, a string-keyed map, a binary that is not text and a bare tuple.
private struct Settings: Codable, Equatable, Sendable {
    struct Pair: Codable, Equatable, Sendable, TermTupleCodable {
        var number: Int
        var name: String
    }
    var enabled: Bool
    var ratio: Double
    var tags: [String]
    var stock: [String: Int]
    var bytes: [UInt8]
    var pair: Pair
}

/// Codable values against a real Elixir 1.14 node (OTP 25): Elixir sends its data to a registered Swift process,
/// which decodes it into Swift types, re-encodes it and sends it back for Elixir to compare with `==`; Swift sends
/// values it made and Elixir pattern-matches them; strict decoding refuses a charlist and an atom for a string.
@Suite(.serialized) struct ElixirCodableInteropTests {
    static var elixir: String? { TestEnvironment.which("elixir") }

    /// What the Swift process learned: decoded values by label, and the strict decoder's errors.
    final class Findings: Sendable {
        let decoded = Mutex<[String: any Sendable]>([:])
        let refusals = Mutex<[String: DecodingError]>([:])
        let verdict = Mailbox()
    }

    /// Decodes a term as `T`, re-encodes the value: the round trip one label asks for.
    private static func through<T: Codable & Sendable>(_ type: T.Type) -> @Sendable (Term) throws -> (any Sendable, Term) {
        { term in
            let value = try TermDecoder().decode(T.self, from: term)
            return (value, try TermEncoder().encode(value))
        }
    }

    /// The Swift type each label's value decodes into.
    private static let roundTrips: [String: @Sendable (Term) throws -> (any Sendable, Term)] = [
        "reserve": through(InventoryRequest.self),
        "ping": through(InventoryRequest.self),
        "cancel": through(InventoryRequest.self),
        "ok": through(InventoryReply.self),
        "error": through(InventoryReply.self),
        "item": through(InventoryItem.self),
        "items": through([InventoryItem].self),
        "order": through(InventoryOrder.self),
        "options": through(CallOptions.self),
        "point": through(PointRecord.self),
        "replies": through([InventoryReply].self),
        "settings": through(Settings.self),
        "stock": through([String: Int].self),
    ]

    /// Strict decodes: each label's value must be refused.
    private static let strictDecodes: [String: @Sendable (Term) throws -> any Sendable] = [
        "charlist_sku": { try TermDecoder.strict.decode(InventoryRequest.self, from: $0) },
        "atom_sku": { try TermDecoder.strict.decode(InventoryItem.self, from: $0) },
        "atom_in_list": { try TermDecoder.strict.decode([InventoryItem].self, from: $0) },
    ]

    /// Values Swift makes itself, for Elixir to match.
    private static func made() throws -> Term {
        let encoder = TermEncoder()
        return .map(TermMap([
            (.atom("item"), try encoder.encode(InventoryItem(sku: "x", count: 5, note: nil))),
            (.atom("request"), try encoder.encode(InventoryRequest.reserve(sku: "y", count: 1))),
            (.atom("ping"), try encoder.encode(InventoryRequest.ping)),
            (.atom("options"), try encoder.encode(CallOptions(timeout: 250, retries: 1))),
            (.atom("reply"), try encoder.encode(InventoryReply.error("bad"))),
            (.atom("order"), try encoder.encode(InventoryOrder(
                id: 8, items: [InventoryItem(sku: "x", count: 1, note: nil), InventoryItem(sku: "Zoë", count: 2, note: "é")],
                status: .pending))),
            (.atom("point"), try encoder.encode(PointRecord(x: 3, y: 4))),
        ]))
    }

    /// The registered Swift process: serves `{:decode, From, Label, Value}`, `{:strict, From, Label, Value}` and
    /// `{:make, From}` until `{:verdict, V}` (handed to the test) or a minute of silence.
    private static func serve(_ p: ErlangProcess, _ findings: Findings) async throws {
        while let message = await p.receive(timeout: .seconds(60)) {
            if let verdict = message.tagged("verdict", arity: 2) {
                _ = findings.verdict.deliver(verdict[0])
                return
            }
            if let request = message.tagged("decode", arity: 4), let from = request[0].pidValue,
               let label = request[1].atomValue?.name {
                guard let codec = roundTrips[label] else {
                    p.send(.tuple("failed", .atom(Atom(label)), .string("no Swift type for \(label)")), to: from)
                    continue
                }
                do {
                    let (value, back) = try codec(request[2])
                    findings.decoded.withLock { $0[label] = value }
                    p.send(.tuple("encoded", .atom(Atom(label)), back), to: from)
                } catch {
                    p.send(.tuple("failed", .atom(Atom(label)), .string("\(error)")), to: from)
                }
            } else if let request = message.tagged("strict", arity: 4), let from = request[0].pidValue,
                      let label = request[1].atomValue?.name, let decode = strictDecodes[label] {
                do {
                    let value = try decode(request[2])
                    p.send(.tuple("accepted", .atom(Atom(label)), .string("\(value)")), to: from)
                } catch let error as DecodingError {
                    findings.refusals.withLock { $0[label] = error }
                    p.send(.tuple("refused", .atom(Atom(label)), .string(Self.text(error))), to: from)
                }
            } else if let request = message.tagged("make", arity: 2), let from = request[0].pidValue {
                p.send(.tuple("made", try made()), to: from)
            } else {
                _ = findings.verdict.deliver(.tuple("unexpected", message))
                return
            }
        }
        _ = findings.verdict.deliver(.atom("swift_timeout"))
    }

    private static func text(_ error: DecodingError) -> String {
        switch error {
        case .typeMismatch(_, let c), .valueNotFound(_, let c), .keyNotFound(_, let c), .dataCorrupted(let c):
            return c.debugDescription
        @unknown default:
            return "\(error)"
        }
    }

    private static func path(_ error: DecodingError?) -> [String]? {
        switch error {
        case .typeMismatch(_, let c)?, .valueNotFound(_, let c)?, .keyNotFound(_, let c)?, .dataCorrupted(let c)?:
            return c.codingPath.map(\.stringValue)
        default:
            return nil
        }
    }

    /// The struct modules, required (`-r`) before the script so that the script can use them.
    static let structs = """
        defmodule Inventory.Item do
          defstruct [:sku, :count, :note]
        end

        defmodule Inventory.Order do
          defstruct id: nil, items: [], status: :pending
        end
        """

    /// The Elixir side: the values, the comparisons; sends `{:verdict, %{...}}` to Swift.
    private static func script(swiftNode: String) -> String {
        """
        defmodule Probe do
          def ask(codec, kind, label, value) do
            send(codec, {kind, self(), label, value})
            receive do
              {:encoded, ^label, back} when back === value -> {label, :same}
              {:encoded, ^label, back} -> {label, {:differs, value, back}}
              {:failed, ^label, why} -> {label, {:failed, why}}
              {:refused, ^label, why} -> {label, {:refused, why}}
              {:accepted, ^label, what} -> {label, {:accepted, what}}
            after
              15_000 -> {label, :timeout}
            end
          end
        end

        swift = :"\(swiftNode)"
        codec = {:codec, swift}
        true = Node.connect(swift)
        IO.puts("CONNECTED")

        item = %Inventory.Item{sku: "a", count: 2, note: nil}
        round_trips = [
          reserve: {:reserve, "sku-1", 3},
          ping: :ping,
          cancel: {:cancel, 9, nil},
          ok: {:ok, 42},
          error: {:error, "bad"},
          item: item,
          items: [item, %Inventory.Item{sku: "Zoë", count: 0, note: "fragile"}],
          order: %Inventory.Order{id: 7, items: [%Inventory.Item{sku: "b", count: 1, note: nil}], status: :shipped},
          options: [timeout: 5000, retries: 3],
          point: {:point, -1, 2},
          replies: [{:ok, 1}, {:error, "no stock"}, {:ok, 1_000_000_000_000}],
          settings: %{enabled: true, ratio: 0.5, tags: ["a", "Zoë"], stock: %{"a" => 1, "b" => 0},
                      bytes: <<1, 2, 255>>, pair: {1, "one"}},
          stock: %{"sku-1" => 3}
        ]
        strict = [
          charlist_sku: {:reserve, 'sku-1', 3},
          atom_sku: %Inventory.Item{sku: :a, count: 1, note: nil},
          atom_in_list: [item, %Inventory.Item{sku: "ok", count: 1, note: :oops}]
        ]

        # Strict refusals first: the Swift process must keep serving after them.
        refused = for {label, value} <- strict, do: Probe.ask(codec, :strict, label, value)
        same = for {label, value} <- round_trips, do: Probe.ask(codec, :decode, label, value)

        send(codec, {:make, self()})
        made = receive do
          {:made, m} -> m
        after
          15_000 -> %{}
        end
        check = fn label, ok? ->
          v = Map.get(made, label)
          if ok?.(v), do: {label, :matched}, else: {label, {:no_match, v}}
        end
        matched = [
          check.(:item, fn v ->
            match?(%Inventory.Item{sku: "x", count: 5, note: nil}, v) and
              Enum.sort(Map.keys(v)) == Enum.sort(Map.keys(%Inventory.Item{})) and
              %{v | count: 6}.count == 6 and
              inspect(v) == ~s(%Inventory.Item{sku: "x", count: 5, note: nil})
          end),
          check.(:request, fn v -> match?({:reserve, "y", 1}, v) end),
          check.(:ping, fn v -> v === :ping end),
          check.(:options, fn v ->
            match?([timeout: 250, retries: 1], v) and Keyword.keyword?(v) and Keyword.get(v, :retries) == 1
          end),
          check.(:reply, fn v ->
            case v do
              {:error, reason} when is_binary(reason) -> reason == "bad"
              _ -> false
            end
          end),
          check.(:order, fn v ->
            match?(%Inventory.Order{id: 8, status: :pending,
                                    items: [%Inventory.Item{sku: "x", note: nil}, %Inventory.Item{sku: "Zoë", note: "é"}]}, v)
          end),
          check.(:point, fn v -> match?({:point, 3, 4}, v) end)
        ]

        verdict = %{refused: refused, same: same, matched: matched}
        IO.puts("VERDICT #{inspect(verdict, limit: :infinity)}")
        send(codec, {:verdict, verdict})
        receive do
          :stop -> :ok
        after
          60_000 -> :ok
        end
        """
    }

    @Test(.enabled(if: (elixir != nil && OTPInstallation.otp25 != nil) || TestEnvironment.isCI))
    func elixirDataRoundTripsThroughCodable() async throws {
        let release = try requireOTP(.otp25, "OTP 25 (for Elixir 1.14)")
        guard let elixir = Self.elixir else {
            Issue.record("elixir is not installed (required with CI=true)")
            return
        }
        try await InteropWorld.run(release) { world in
            let swift = try await world.swiftNode(TestEnvironment.uniqueName("codable"))
            let findings = Findings()
            let server = swift.spawn { p in try await Self.serve(p, findings) }
            try swift.register("codec", server)

            let dir = try TestEnvironment.makeTemporaryDirectory("codable")
            try Self.structs.write(toFile: "\(dir)/inventory.exs", atomically: true, encoding: .utf8)
            try Self.script(swiftNode: swift.name.name).write(toFile: "\(dir)/codable.exs", atomically: true, encoding: .utf8)
            let alive = TestEnvironment.uniqueName("exc")
            let ex = try PeerProcess("elixir \(alive)", executable: elixir,
                                     arguments: ["--sname", alive, "--cookie", world.cookie,
                                                 "-r", "\(dir)/inventory.exs", "\(dir)/codable.exs"],
                                     environment: world.epmd.environment)
            world.track(ex)
            // An Elixir that fails (a compile error, a crash) ends the wait at once.
            let watcher = Task {
                if await ex.waitForExit(timeout: .seconds(120)) { _ = findings.verdict.deliver(.atom("elixir_exited")) }
            }
            defer { watcher.cancel() }

            guard let verdict = await findings.verdict.receive(timeout: .seconds(120), matching: { _ in true }),
                  verdict.mapValue != nil else {
                Issue.record("no verdict from Elixir; output: \(ex.output.suffix(2000))")
                return
            }

            // Elixir's view: every value came back `===` to what it sent, every Swift-made value matched.
            let same = verdict.keyword("same")?.keywordPairs ?? []
            #expect(same.count == Self.roundTrips.count, "\(verdict)")
            for (label, outcome) in same {
                #expect(outcome == "same", "\(label): \(outcome)")
            }
            let matched = verdict.keyword("matched")?.keywordPairs ?? []
            #expect(matched.count == 7, "\(verdict)")
            for (label, outcome) in matched {
                #expect(outcome == "matched", "\(label): \(outcome)")
            }

            // Swift's view: the decoded values.
            let decoded = findings.decoded.withLock { $0 }
            #expect(decoded["reserve"] as? InventoryRequest == .reserve(sku: "sku-1", count: 3))
            #expect(decoded["ping"] as? InventoryRequest == .ping)
            #expect(decoded["cancel"] as? InventoryRequest == .cancel(id: 9, reason: nil))
            #expect(decoded["ok"] as? InventoryReply == .ok(42))
            #expect(decoded["error"] as? InventoryReply == .error("bad"))
            let item = InventoryItem(sku: "a", count: 2, note: nil)
            #expect(decoded["item"] as? InventoryItem == item)
            #expect(decoded["items"] as? [InventoryItem] == [item, InventoryItem(sku: "Zoë", count: 0, note: "fragile")])
            #expect(decoded["order"] as? InventoryOrder
                    == InventoryOrder(id: 7, items: [InventoryItem(sku: "b", count: 1, note: nil)], status: .shipped))
            #expect(decoded["options"] as? CallOptions == CallOptions(timeout: 5000, retries: 3))
            #expect(decoded["point"] as? PointRecord == PointRecord(x: -1, y: 2))
            #expect(decoded["replies"] as? [InventoryReply] == [.ok(1), .error("no stock"), .ok(1_000_000_000_000)])
            #expect(decoded["settings"] as? Settings == Settings(enabled: true, ratio: 0.5, tags: ["a", "Zoë"], stock: ["a": 1, "b": 0],
                                                                 bytes: [1, 2, 255], pair: .init(number: 1, name: "one")))
            #expect(decoded["stock"] as? [String: Int] == ["sku-1": 3])

            // Strict mode: refused with the path of the offending field, and the server went on serving.
            let refused = verdict.keyword("refused")?.keywordPairs ?? []
            #expect(refused.count == Self.strictDecodes.count, "\(verdict)")
            for (label, outcome) in refused {
                #expect(outcome.tagged("refused", arity: 2) != nil, "\(label): \(outcome)")
            }
            let refusals = findings.refusals.withLock { $0 }
            #expect(Self.path(refusals["charlist_sku"]) == ["reserve", "sku"], "\(String(describing: refusals["charlist_sku"]))")
            #expect(refusals["charlist_sku"].map(Self.text)?.contains("at reserve.sku, found the charlist \"sku-1\"") == true,
                    "\(String(describing: refusals["charlist_sku"]))")
            #expect(Self.path(refusals["atom_sku"]) == ["sku"], "\(String(describing: refusals["atom_sku"]))")
            #expect(Self.path(refusals["atom_in_list"]) == ["1", "note"], "\(String(describing: refusals["atom_in_list"]))")
            #expect(refusals["atom_in_list"].map(Self.text)?.contains("[1].note") == true)
            #expect(ex.output.contains("CONNECTED"), "\(ex.output)")
        }
    }
}
