import ErlangNode
import ErlangNodeTestKit
import ErlangTerm
import Testing

/// Dynamic node names (`NAME_ME`): a nameless `erl` that starts distribution with `net_kernel:start([undefined,
/// shortnames])` asks the Swift node it first connects to (`net_kernel:connect_node/1`; `net_adm:ping/1` answers
/// `pang` while a node has no name, against a BEAM too) for a name, and gets `dyn_...@its host` (OTP 25 and 28).
@Suite(.serialized)
struct DynamicNameInteropTests {
    @Test(.enabled(if: OTPInstallation.enabled(.otp25), "OTP 25 is missing"))
    func otp25() async throws { try await namedByTheSwiftNode(try requireOTP(.otp25, "OTP 25")) }

    @Test(.enabled(if: OTPInstallation.enabled(.otp28), "OTP 28 is missing"))
    func otp28() async throws { try await namedByTheSwiftNode(try requireOTP(.otp28, "OTP 28")) }

    private func namedByTheSwiftNode(_ release: OTPInstallation) async throws {
        try await InteropWorld.run(release) { world in
            let swift = try await world.swiftNode(TestEnvironment.uniqueName("namer"))
            let script = """
                {ok, _} = net_kernel:start([undefined, shortnames]),
                Pong = net_kernel:connect_node('\(swift.name)'),
                io:format("NAMED ~s ~p~n", [node(), Pong]).
                """
            var names: [String] = []
            for i in 1...2 {
                let erl = try world.erl("nameless\(i)", arguments: ["-setcookie", world.cookie, "-noshell", "-eval", script])
                guard let line = await erl.value(after: "NAMED") else {
                    Issue.record("the nameless node printed nothing: \(erl.output)")
                    return
                }
                let fields = line.split(separator: " ").map(String.init)
                #expect(fields.count == 2 && fields.last == "true", "\(line)")
                let name = fields.first ?? ""
                #expect(name.hasPrefix("dyn_") && name.hasSuffix("@\(world.host)"), "assigned: \(name)")
                let connected = await eventually { swift.nodes(.connected).contains(Atom(name)) }
                #expect(connected, "the Swift node knows the peer under the name it assigned: \(swift.nodes(.connected))")
                names.append(name)
            }
            #expect(Set(names).count == 2, "every peer gets a name of its own: \(names)")
        }
    }
}
