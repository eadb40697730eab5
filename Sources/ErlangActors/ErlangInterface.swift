public import Distributed
public import ErlangTerm

/// A distributed actor that Erlang and Elixir processes can call: it names, for each method it serves, the atom
/// callers use on the wire.
///
/// ```swift
/// distributed actor Inventory: ErlangServable {
///     typealias ActorSystem = ErlangActorSystem
///     static let erlangInterface = ErlangInterface<Inventory> {
///         $0.call("reserve") { (inventory, sku: String, count: Int) in try await inventory.reserve(sku: sku, count: count) }
///         $0.call("stock") { (inventory, sku: String) in try await inventory.stock(sku: sku) }
///         $0.cast("restock") { (inventory, sku: String, count: Int) in try await inventory.restock(sku: sku, count: count) }
///     }
///     distributed func reserve(sku: String, count: Int) -> Bool { ... }
///     ...
/// }
/// ```
///
/// From Elixir, `GenServer.call(pid, {:reserve, "sku-1", 3})` runs `reserve(sku: "sku-1", count: 3)` and gets its
/// result; a method without arguments is called with the bare atom (`GenServer.call(pid, :stock_count)`);
/// `GenServer.cast(pid, {:restock, "sku-1", 10})` runs a cast entry. Swift callers holding a remote reference call
/// the method as usual: the system sends `{BaseName, Args...}` where `BaseName` is the method's Swift base name
/// (`reserve` for `reserve(sku:count:)`), so an entry must use that name for Swift callers to reach it (other
/// names can be added as aliases for Erlang callers).
public protocol ErlangServable: DistributedActor where ActorSystem == ErlangActorSystem {
    /// The methods Erlang callers reach, by wire name.
    static var erlangInterface: ErlangInterface<Self> { get }
}

/// The wire names of a distributed actor's methods and how to run them: see ``ErlangServable``.
public struct ErlangInterface<Actor: DistributedActor>: Sendable {
    /// Runs one entry: the actor, the request's arguments, the system (for its decoder and encoder); the reply, or
    /// `nil` for a cast.
    typealias Handler = @Sendable (Actor, [Term], ErlangActorSystem) async throws -> Term?

    struct Entry: Sendable {
        let arity: Int
        let isCast: Bool
        let run: Handler
    }

    private(set) var entries: [Atom: [Entry]] = [:]
    var state: (@Sendable (Actor, ErlangActorSystem) async throws -> Term)?

    /// An interface built by `build`.
    public init(_ build: (inout ErlangInterface) -> Void) { build(&self) }

    /// A method answered to `gen_server:call(Actor, {Name, Args...})` (or `Name` alone without arguments): the
    /// arguments decode as the closure's parameter types (wrong arity or types answer `{error, {badarg, ...}}`),
    /// the result encodes as the reply.
    public mutating func call<each Argument: Decodable, Result: Encodable>(
        _ name: Atom, _ body: @escaping @Sendable (Actor, repeat each Argument) async throws -> Result
    ) {
        add(name, isCast: false, arity: Self.count(repeat (each Argument).self)) { actor, args, system in
            var reader = ArgumentReader(arguments: args, decoder: system.decoder)
            let values = (repeat try reader.next((each Argument).self))
            let result = try await body(actor, repeat each values)
            return try system.encoder.encode(result)
        }
    }

    /// A method that returns nothing, answered to a call with `ok`.
    public mutating func call<each Argument: Decodable>(
        _ name: Atom, _ body: @escaping @Sendable (Actor, repeat each Argument) async throws -> Void
    ) {
        add(name, isCast: false, arity: Self.count(repeat (each Argument).self)) { actor, args, system in
            var reader = ArgumentReader(arguments: args, decoder: system.decoder)
            let values = (repeat try reader.next((each Argument).self))
            try await body(actor, repeat each values)
            return .atom("ok")
        }
    }

    /// A method run for `gen_server:cast(Actor, {Name, Args...})`: no reply; failures are logged.
    public mutating func cast<each Argument: Decodable>(
        _ name: Atom, _ body: @escaping @Sendable (Actor, repeat each Argument) async throws -> Void
    ) {
        add(name, isCast: true, arity: Self.count(repeat (each Argument).self)) { actor, args, system in
            var reader = ArgumentReader(arguments: args, decoder: system.decoder)
            let values = (repeat try reader.next((each Argument).self))
            try await body(actor, repeat each values)
            return nil
        }
    }

    /// What `sys:get_state/1` shows for the actor (by default its type name and pid).
    public mutating func state<State: Encodable>(_ body: @escaping @Sendable (Actor) async throws -> State) {
        state = { actor, system in try system.encoder.encode(try await body(actor)) }
    }

    private mutating func add(_ name: Atom, isCast: Bool, arity: Int, _ run: @escaping Handler) {
        entries[name, default: []].removeAll { $0.arity == arity && $0.isCast == isCast }
        entries[name, default: []].append(Entry(arity: arity, isCast: isCast, run: run))
    }

    /// The entry for a request of this name and arity, if any.
    func entry(_ name: Atom, arity: Int, cast: Bool) -> Entry? {
        entries[name]?.first { $0.arity == arity && $0.isCast == cast }
    }

    /// Whether any entry has this name (to tell "wrong arity" from "no such method").
    func knows(_ name: Atom) -> Bool { entries[name] != nil }

    private static func count<each T>(_ types: repeat (each T).Type) -> Int {
        var n = 0
        for _ in repeat each types { n += 1 }
        return n
    }
}

/// Decodes a request's arguments one by one, in order.
struct ArgumentReader {
    let arguments: [Term]
    let decoder: TermDecoder
    var index = 0

    mutating func next<T: Decodable>(_ type: T.Type) throws -> T {
        defer { index += 1 }
        guard index < arguments.count else { throw ArgumentError(index: index, why: "missing") }
        do {
            return try decoder.decode(T.self, from: arguments[index])
        } catch {
            throw ArgumentError(index: index, why: "\(error)")
        }
    }
}

/// An argument of a request that does not decode as the method's parameter.
struct ArgumentError: Error, CustomStringConvertible {
    let index: Int
    let why: String
    var description: String { "argument \(index + 1): \(why)" }
}
