public import Distributed
public import ErlangTerm

/// Records a remote call's arguments as terms: the request becomes `{Method, Arg...}` (`Method` alone without
/// arguments), what an Erlang `gen_server` expects in `handle_call`.
public struct ErlangInvocationEncoder: DistributedTargetInvocationEncoder {
    public typealias SerializationRequirement = any Codable

    let encoder: TermEncoder
    var arguments: [Term] = []
    var failure: String?

    init(encoder: TermEncoder) { self.encoder = encoder }

    public mutating func recordGenericSubstitution<T>(_ type: T.Type) throws {}

    public mutating func recordArgument<Value: Codable>(_ argument: RemoteCallArgument<Value>) throws {
        do {
            arguments.append(try encoder.encode(argument.value))
        } catch {
            failure = failure ?? "\(argument.label ?? argument.name): \(error)"
        }
    }

    public mutating func recordReturnType<R: Codable>(_ type: R.Type) throws {}
    public mutating func recordErrorType<E: Error>(_ type: E.Type) throws {}
    public mutating func doneRecording() throws {}

    /// The request term for `method`.
    func request(_ method: Atom) throws(ErlangActorError) -> Term {
        if let failure { throw .badArgument(method: method, why: failure) }
        return arguments.isEmpty ? .atom(method) : .tuple([.atom(method)] + arguments)
    }
}

/// Decodes the arguments of a request (the terms after the method name) for `executeDistributedTarget`.
public struct ErlangInvocationDecoder: DistributedTargetInvocationDecoder {
    public typealias SerializationRequirement = any Codable

    var reader: ArgumentReader

    init(arguments: [Term], decoder: TermDecoder) { reader = ArgumentReader(arguments: arguments, decoder: decoder) }

    public mutating func decodeGenericSubstitutions() throws -> [any Any.Type] { [] }
    public mutating func decodeNextArgument<Argument: Codable>() throws -> Argument { try reader.next(Argument.self) }
    public mutating func decodeErrorType() throws -> (any Any.Type)? { nil }
    public mutating func decodeReturnType() throws -> (any Any.Type)? { nil }
}

/// Receives the outcome of a locally executed distributed target as a reply term.
public struct ErlangResultHandler: DistributedTargetInvocationResultHandler {
    public typealias SerializationRequirement = any Codable

    let encoder: TermEncoder
    let deliver: @Sendable (Term) -> Void

    public func onReturn<Success: Codable>(value: Success) async throws { deliver(try encoder.encode(value)) }
    public func onReturnVoid() async throws { deliver(.atom("ok")) }
    public func onThrow<Err: Error>(error: Err) async throws {
        if let failure = error as? ErlangActorFailure { return deliver(.tuple("error", failure.reason)) }
        deliver(.tuple("error", .tuple("swift_error", .string(String(describing: error)))))
    }
}
