import Foundation
import ErlangNode
import ErlangTerm
import Testing

/// A program that imports Foundation and the node's modules names every public type unqualified: none of them
/// clashes with a Foundation type (`Process` and `Port` did). This file is the test: it does not compile if one does.
@Suite struct FoundationNamesTests {
    @Test func publicTypesNeedNoQualificationNextToFoundation() {
        let types: [Any.Type] = [
            ErlangProcess.self, ErlangPort.self, Pid.self, Reference.self, Term.self, Atom.self, Node.self,
            NodeConfiguration.self, Cookie.self, ExitReason.self, Fun.self, MonitorTarget.self, CallError.self,
            RegistrationError.self, TermMap.self, TermEncoder.self, TermDecoder.self, TermParser.self,
            BigInteger.self, BitBinary.self, LocalFun.self, ProcessExit.self, NodeService.self, TCPTransport.self,
            TLSTransport.self, TLSDistributionConfiguration.self, GenServerCaller.self, ErlangError.self,
            ErlangThrow.self, NodeStartError.self, ExternalTermFormat.self, ConnectError.self, RPCError.self,
            SpawnError.self, SystemRequest.self, (any TermTupleCodable).self, (any TermRecordCodable).self,
            (any TermKeywordCodable).self, (any ElixirStruct).self, Term.ErrorReason.self, (any TermAtomRepresentable).self,
            GenServerContext.self, GenServerNext.self,
            GenServerInit<Int>.self, GenServerCallResult.self, GenServerResult.self, GenServerStartError.self,
            GenServerStateError.self, Supervisor.self, Supervisor.Strategy.self, SupervisorChild.self, SupervisorError.self,
            ChildSpec.self, ChildSpec.Restart.self, ChildSpec.Shutdown.self, ChildSpec.Kind.self,
            ProcessGroups.self, ProcessGroups.Subscription<[Pid]>.self, ProcessGroupsError.self, ProcessGroupEvent.self,
            ProcessGroupEvent.Change.self, GlobalNames.self, GlobalError.self, PubSub.self, PubSubError.self,
            NodeSnapshot.self, PeerSnapshot.self, PeerSnapshot.Traffic.self,
            ProcessSnapshot.self, ProcessSnapshot.State.self, NodeEvent.self, NodeEvent.Kind.self,
        ]
        // Foundation's own `Process` stays usable next to ours.
        #expect(ObjectIdentifier(Foundation.Process.self) != ObjectIdentifier(ErlangProcess.self))
        #expect(types.count == Set(types.map { ObjectIdentifier($0) }).count)
    }
}
