import ErlangNode
import ErlangNodeTestKit
import ErlangTerm
import Foundation
import MetricsTestKit
import Testing
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The built `erlang-node` executable (next to the test bundle), or `nil`.
private let erlangNodeBinary: String? = TestEnvironment.builtExecutable("erlang-node")

/// The node's metrics recorded into swift-metrics' test backend (given through `NodeConfiguration.metricsFactory`,
/// so the process-wide metrics system stays untouched): two Swift nodes in this process, talking over loopback.
@Suite(.serialized)
struct NodeMetricsTests {
    private func start(_ alive: String, epmdPort: Int, metrics: TestMetrics) async throws -> Node {
        var config = NodeConfiguration(name: Atom("\(alive)@\(TestEnvironment.shortHost)"), nameKind: .short,
                                       cookie: "metricscookie")
        config.discovery = .epmd(port: epmdPort, startEmbedded: true)
        config.bindAddress = "127.0.0.1"
        config.metricsFactory = metrics
        return try await Node.start(config)
    }

    @Test func messagesInAndOutAreCountedPerPeer() async throws {
        let epmdPort = try TestEnvironment.freePort()
        let aMetrics = TestMetrics(), bMetrics = TestMetrics()
        let a = try await start(TestEnvironment.uniqueName("ma"), epmdPort: epmdPort, metrics: aMetrics)
        let b = try await start(TestEnvironment.uniqueName("mb"), epmdPort: epmdPort, metrics: bMetrics)
        defer { Task { await b.shutdown(); await a.shutdown() } }
        let received = Probe(b)
        try b.register("metrics_sink", received.pid)
        try await a.connect(b.name)
        let count = 25
        let sender = a.spawn { _ in }
        for i in 0..<count { a.send(.tuple("m", .int(i)), to: "metrics_sink", on: b.name, from: sender) }
        for _ in 0..<count { #expect(await received.next() != nil) }

        let toB = [("peer", b.name.name)], toA = [("peer", a.name.name)]
        #expect(try aMetrics.expectCounter("erlang_node_messages_sent_total", toB).totalValue >= Int64(count))
        #expect(await eventually {
            ((try? bMetrics.expectCounter("erlang_node_messages_received_total", toA).totalValue) ?? 0) >= Int64(count)
        })
        #expect(try aMetrics.expectCounter("erlang_node_bytes_sent_total", toB).totalValue > Int64(count * 10))
        #expect(try bMetrics.expectCounter("erlang_node_bytes_received_total", toA).totalValue > Int64(count * 10))
        #expect(try aMetrics.expectGauge("erlang_node_peer_connected", toB).lastValue == 1)
        #expect(try aMetrics.expectCounter("erlang_node_nodeup_total").totalValue == 1)
        #expect(try aMetrics.expectGauge("erlang_node_connections").lastValue == 1)
        #expect(try aMetrics.expectCounter("erlang_node_epmd_requests_total", [("kind", "port_please2")]).totalValue >= 1)
        #expect(try aMetrics.expectCounter("erlang_node_epmd_requests_total", [("kind", "alive2")]).totalValue == 1)

        // A message above the fragment size (64 KiB) goes as fragments, counted on both sides.
        a.send(.binary(Array(repeating: 7, count: 300_000)), to: "metrics_sink", on: b.name, from: sender)
        #expect(await received.next() != nil)
        #expect(try aMetrics.expectCounter("erlang_node_fragments_sent_total", toB).totalValue == 5)
        #expect(await eventually {
            ((try? bMetrics.expectCounter("erlang_node_fragments_received_total", toA).totalValue) ?? 0) == 5
        })

        a.sampleMetrics()
        #expect(try aMetrics.expectGauge("erlang_node_processes").lastValue ?? 0 >= 1)
        #expect(try aMetrics.expectGauge("erlang_node_largest_mailbox").lastValue != nil)

        // A failed connect counts by reason; a disconnect is a nodedown, and the peer's metrics go with it.
        do { try await a.connect(Atom("nobody@\(TestEnvironment.shortHost)")) } catch {}
        #expect(try aMetrics.expectCounter("erlang_node_handshake_failures_total", [("reason", "not_registered")]).totalValue == 1)
        // Garbage on the distribution port is a failed handshake of the acceptor.
        RawBytes.send(Array("not a handshake".utf8), port: b.listenPort)
        #expect(await eventually {
            bMetrics.counters(label: "erlang_node_handshake_failures_total").map(\.totalValue).reduce(0, +) >= 1
        })
        #expect(a.disconnect(b.name))
        #expect(try aMetrics.expectCounter("erlang_node_nodedown_total").totalValue == 1)
        #expect(try aMetrics.expectGauge("erlang_node_connections").lastValue == 0)
        #expect(await eventually { aMetrics.counters(label: "erlang_node_messages_sent_total").isEmpty })
    }
}

/// Raw bytes to a loopback port.
enum RawBytes {
    static func send(_ bytes: [UInt8], port: Int) { MetricsEndpointTests.sendRaw(bytes, port: port) }
}

/// CONTRACT.md §17.4's metrics item with the real binary: `erlang-node start --metrics-port P` and a real OTP 25
/// node sending to the demo `sink`; the endpoint scraped over loopback.
@Suite(.enabled(if: OTPInstallation.enabled(.otp25) && (erlangNodeBinary != nil || TestEnvironment.isCI),
                "OTP 25 or the erlang-node binary is missing"), .serialized)
struct MetricsEndpointTests {
    @Test func prometheusEndpointCountsConnectionsAndMessages() async throws {
        let release = try requireOTP(.otp25, "OTP 25")
        guard let binary = erlangNodeBinary else {
            Issue.record("the erlang-node binary is not built")
            return
        }
        try await InteropWorld.run(release, cookie: "metricscookie") { world in
            let alive = TestEnvironment.uniqueName("metrics")
            let port = try TestEnvironment.freePort()
            let node = try PeerProcess("erlang-node start \(alive)", executable: binary,
                                       arguments: ["start", "--sname", alive, "--cookie", world.cookie, "--metrics-port", "\(port)"],
                                       environment: world.epmd.environment)
            world.track(node)
            #expect(await eventually(timeout: .seconds(30)) { await world.epmd.names()?[alive] != nil }, "\(node.output)")
            let url = "http://127.0.0.1:\(port)"

            let before = try #require(await Self.get("\(url)/metrics"), "\(node.output)")
            #expect(before.status == 200)
            #expect(before.contentType == "text/plain; version=0.0.4")

            // erl connects and sends 10 messages to `sink`, then 10 more when told to.
            let swift = world.nodeName(alive)
            let erlAlive = TestEnvironment.uniqueName("metricspeer")
            let erl = try world.erl(erlAlive, script: """
                register(ctl, self()), pong = net_adm:ping('\(swift)'),
                [{sink, '\(swift)'} ! {m, N} || N <- lists:seq(1, 10)], io:format("SENT1~n"),
                receive go -> ok after 30000 -> ok end,
                [{sink, '\(swift)'} ! {m, N} || N <- lists:seq(11, 20)], io:format("SENT2~n"),
                receive stop -> ok after 60000 -> ok end.
                """)
            #expect(await erl.waitForOutput(containing: "SENT1"), "\(erl.output)")
            var first: Double = 0
            #expect(await eventually(timeout: .seconds(10)) {
                guard let scrape = await Self.get("\(url)/metrics") else { return false }
                first = Self.sum(scrape.body, "erlang_node_messages_received_total")
                return Self.lines(scrape.body).contains { $0.name.contains("connections") && $0.value >= 1 } && first >= 10
            }, "\(node.output)")

            let send = try await PeerProcess.run(binary, ["send", world.nodeName(erlAlive), "ctl", "go", "--cookie", world.cookie],
                                                 environment: world.epmd.environment, timeout: .seconds(30))
            #expect(send.status == 0, "\(send.stderrText)")
            #expect(await erl.waitForOutput(containing: "SENT2"), "\(erl.output)")
            #expect(await eventually(timeout: .seconds(10)) {
                guard let scrape = await Self.get("\(url)/metrics") else { return false }
                return Self.sum(scrape.body, "erlang_node_messages_received_total") >= first + 10
            })

            // Another path is 404; garbage on the port closes that connection only.
            #expect(await Self.get("\(url)/other")?.status == 404)
            for garbage in [Array("GARBAGE\r\n\r\n".utf8), (0..<512).map { _ in UInt8.random(in: 0...255) },
                            Array("GET /metrics HTTP/1.1\r\nContent-Length: nope\r\n\r\n".utf8), []] {
                Self.sendRaw(garbage, port: port)
            }
            #expect(node.isRunning, "\(node.output)")
            #expect(await Self.get("\(url)/metrics")?.status == 200)
        }
    }

    struct Response: Sendable {
        var status: Int
        var contentType: String?
        var body: String
    }

    /// One GET, `nil` if nothing answers within 5 seconds.
    static func get(_ address: String) async -> Response? {
        var request = URLRequest(url: URL(string: address)!)
        request.timeoutInterval = 5
        guard let (data, response) = try? await URLSession.shared.data(for: request),
              let http = response as? HTTPURLResponse else { return nil }
        return Response(status: http.statusCode, contentType: http.value(forHTTPHeaderField: "Content-Type"),
                        body: String(decoding: data, as: UTF8.self))
    }

    /// The samples of a Prometheus text body: metric name (without labels) and value.
    static func lines(_ body: String) -> [(name: String, value: Double)] {
        body.split(separator: "\n").compactMap { line in
            guard !line.hasPrefix("#"), let space = line.lastIndex(of: " ") else { return nil }
            let series = line[..<space]
            let name = series.split(separator: "{", maxSplits: 1).first.map(String.init) ?? String(series)
            return Double(line[line.index(after: space)...]).map { (name, $0) }
        }
    }

    static func sum(_ body: String, _ name: String) -> Double {
        lines(body).filter { $0.name == name }.map(\.value).reduce(0, +)
    }

    /// Writes `bytes` to the port on a fresh TCP connection, then reads until the peer closes (at most 3 s).
    static func sendRaw(_ bytes: [UInt8], port: Int) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return }
        defer { close(fd) }
        var timeout = timeval(tv_sec: 3, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { return }
        _ = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        if bytes.isEmpty { shutdown(fd, Int32(SHUT_WR)) }
        var buffer = [UInt8](repeating: 0, count: 4096)
        while recv(fd, &buffer, buffer.count, 0) > 0 {}
    }
}
