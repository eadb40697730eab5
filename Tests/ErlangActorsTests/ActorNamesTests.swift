import Foundation
import ErlangActors
import Testing

/// The actor module's public types need no qualification next to Foundation (the test is that this compiles).
@Suite struct ActorNamesTests {
    @Test func publicTypesNeedNoQualificationNextToFoundation() {
        let types: [Any.Type] = [
            ErlangActorSystem.self, ErlangActorID.self, ErlangActorError.self, ErlangActorFailure.self,
            ErlangInterface<Greeter>.self, ErlangInvocationEncoder.self, ErlangInvocationDecoder.self,
            ErlangResultHandler.self, (any ErlangServable).self,
        ]
        #expect(types.count == Set(types.map { ObjectIdentifier($0) }).count)
    }
}
