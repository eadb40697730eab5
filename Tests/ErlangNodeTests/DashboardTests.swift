import ErlangNode
import ErlangNodeTestKit
import ErlangTerm
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The built `erlang-node` executable (next to the test bundle), or `nil`.
private let erlangNodeBinary: String? = TestEnvironment.builtExecutable("erlang-node")

/// `Node.snapshot()` on two Swift nodes in this process, over loopback: peers with traffic, process states, links,
/// monitors, names and nodeup/nodedown events.
@Suite(.serialized)
struct NodeSnapshotTests {
    private func start(_ alive: String, epmdPort: Int) async throws -> Node {
        var config = NodeConfiguration(name: Atom("\(alive)@\(TestEnvironment.shortHost)"), nameKind: .short,
                                       cookie: "snapshotcookie")
        config.discovery = .epmd(port: epmdPort, startEmbedded: true)
        config.bindAddress = "127.0.0.1"
        return try await Node.start(config)
    }

    @Test func snapshotShowsPeersProcessesAndEvents() async throws {
        let epmdPort = try TestEnvironment.freePort()
        let a = try await start(TestEnvironment.uniqueName("snapa"), epmdPort: epmdPort)
        let b = try await start(TestEnvironment.uniqueName("snapb"), epmdPort: epmdPort)
        defer { Task { await a.shutdown(); await b.shutdown() } }

        let waiter = a.spawn { p in while await p.receive() != nil {} }
        let sleeper = a.spawnHibernating { p in _ = await p.receive() }
        try a.register("snap_waiter", waiter)
        a.link(waiter, sleeper)
        let reference = a.monitor(waiter, target: .pid(sleeper))
        #expect(await a.ping(b.name))
        for i in 0..<5 { b.send(.int(i), to: "snap_waiter", on: a.name) }

        var snapshot = a.snapshot()
        #expect(await eventually { snapshot = a.snapshot(); return snapshot.peers.first?.traffic.messagesIn ?? 0 >= 5 })
        #expect(snapshot.node == a.name)
        #expect(snapshot.peers.map(\.name) == [b.name])
        #expect(snapshot.peers[0].isHidden == false)
        #expect(snapshot.peers[0].connectedSince != nil)
        #expect(snapshot.peers[0].traffic.bytesIn > 0 && snapshot.peers[0].traffic.messagesOut > 0)
        #expect(snapshot.registeredNames.contains { $0.name == "snap_waiter" && $0.pid == waiter })
        let w = try #require(snapshot.processes.first { $0.pid == waiter })
        let s = try #require(snapshot.processes.first { $0.pid == sleeper })
        #expect(w.registeredName == "snap_waiter")
        #expect(w.links == [sleeper])
        #expect(w.monitoring == [.pid(sleeper)])
        #expect(s.monitoredBy == [waiter])
        #expect(s.state == .hibernating)
        #expect(await eventually { a.snapshot().processes.first { $0.pid == waiter }?.state == .waiting })
        #expect(snapshot.events.map(\.kind) == [.up] && snapshot.events.first?.peer == b.name)
        _ = reference

        #expect(a.disconnect(b.name))
        #expect(await eventually { a.snapshot().peers.isEmpty })
        snapshot = a.snapshot()
        #expect(snapshot.disconnected == [b.name])
        #expect(snapshot.events.map(\.kind) == [.up, .down])
    }
}

/// CONTRACT.md §17.4's dashboard item with the real binary: `erlang-node start --dashboard-port P`, a real OTP 25
/// node connecting and going away; the page fetched over loopback, and watched in a real headless Chromium.
@Suite(.enabled(if: OTPInstallation.enabled(.otp25) && (erlangNodeBinary != nil || TestEnvironment.isCI),
                "OTP 25 or the erlang-node binary is missing"), .serialized)
struct DashboardTests {
    /// Where the screenshots go: `.build/test-artifacts/` of this package.
    static let artifacts = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent(".build/test-artifacts")

    /// Starts `erlang-node start --dashboard-port` in `world`; returns it, its name and the page's address.
    private func startNode(_ world: InteropWorld, _ prefix: String) async throws -> (PeerProcess, String, String)? {
        guard let binary = erlangNodeBinary else {
            Issue.record("the erlang-node binary is not built")
            return nil
        }
        let alive = TestEnvironment.uniqueName(prefix)
        let port = try TestEnvironment.freePort()
        let node = try PeerProcess("erlang-node start \(alive)", executable: binary,
                                   arguments: ["start", "--sname", alive, "--cookie", world.cookie, "--dashboard-port", "\(port)"],
                                   environment: world.epmd.environment)
        world.track(node)
        #expect(await eventually(timeout: .seconds(30)) { await world.epmd.names()?[alive] != nil }, "\(node.output)")
        #expect(await node.waitForOutput(containing: "dashboard at http://127.0.0.1:\(port)/"), "\(node.output)")
        return (node, world.nodeName(alive), "http://127.0.0.1:\(port)")
    }

    /// An erl node that connects to `swift` and sends `sink` a message every 50 ms until killed.
    private func chattyErl(_ world: InteropWorld, _ alive: String, to swift: String) throws -> PeerProcess {
        try world.erl(alive, script: """
            pong = net_adm:ping('\(swift)'), io:format("CONNECTED~n"),
            Loop = fun L(N) -> {sink, '\(swift)'} ! {m, N}, timer:sleep(50), L(N + 1) end, Loop(1).
            """)
    }

    @Test func rootListsConnectedPeersAndOtherPathsAre404() async throws {
        let release = try requireOTP(.otp25, "OTP 25")
        try await InteropWorld.run(release, cookie: "dashcookie") { world in
            guard let (node, swift, url) = try await startNode(world, "dash") else { return }
            let before = try #require(await MetricsEndpointTests.get("\(url)/"), "\(node.output)")
            #expect(before.status == 200)
            #expect(before.contentType == "text/html; charset=utf-8")
            #expect(before.body.contains("no connected peers"))
            #expect(before.body.contains(DashboardPageText.escape(swift)))

            let erlAlive = TestEnvironment.uniqueName("dashpeer")
            let erl = try chattyErl(world, erlAlive, to: swift)
            #expect(await erl.waitForOutput(containing: "CONNECTED"), "\(erl.output)")
            let peer = world.nodeName(erlAlive)
            // Server-rendered: the raw HTML lists the peer, before any script runs.
            var page = before
            #expect(await eventually(timeout: .seconds(10)) {
                guard let got = await MetricsEndpointTests.get("\(url)/") else { return false }
                page = got
                return got.body.contains("<tr data-peer=\"\(peer)\">")
            }, "\(page.body.prefix(2000))")
            #expect(page.status == 200)

            // A hidden erl shows as a hidden connection.
            let hiddenAlive = TestEnvironment.uniqueName("dashhidden")
            let hidden = try world.erl(hiddenAlive, script: "pong = net_adm:ping('\(swift)'), io:format(\"CONNECTED~n\"), timer:sleep(60000).",
                                       extraArgs: ["-hidden"])
            #expect(await hidden.waitForOutput(containing: "CONNECTED"), "\(hidden.output)")
            let hiddenRow = "<tr data-peer=\"\(world.nodeName(hiddenAlive))\"><td class=\"name\">\(world.nodeName(hiddenAlive))</td><td>hidden</td>"
            #expect(await eventually(timeout: .seconds(10)) {
                await MetricsEndpointTests.get("\(url)/")?.body.contains(hiddenRow) ?? false
            })
            await hidden.terminate()

            // The JSON state counts the peer's messages.
            #expect(await eventually(timeout: .seconds(10)) {
                guard let state = await MetricsEndpointTests.get("\(url)/state.json"),
                      let object = try? JSONSerialization.jsonObject(with: Data(state.body.utf8)) as? [String: Any],
                      let peers = object["peers"] as? [[String: Any]] else { return false }
                return peers.contains { $0["name"] as? String == peer && ($0["messagesIn"] as? Int ?? 0) > 5 }
            })

            // Unknown paths are 404; garbage closes that connection only; the node keeps serving.
            #expect(await MetricsEndpointTests.get("\(url)/nope")?.status == 404)
            #expect(await MetricsEndpointTests.get("\(url)/../../etc/passwd")?.status == 404)
            let port = Int(url.split(separator: ":").last!)!
            for garbage in [Array("GARBAGE\r\n\r\n".utf8), (0..<512).map { _ in UInt8.random(in: 0...255) },
                            Array("GET / HTTP/1.1\r\nContent-Length: nope\r\n\r\n".utf8), []] {
                MetricsEndpointTests.sendRaw(garbage, port: port)
            }
            #expect(node.isRunning, "\(node.output)")
            #expect(await MetricsEndpointTests.get("\(url)/")?.status == 200)

            // The peer killed (by pid): the page no longer lists it as connected, and says it went down.
            await erl.terminate()
            #expect(await eventually(timeout: .seconds(15)) {
                guard let got = await MetricsEndpointTests.get("\(url)/") else { return false }
                page = got
                return !got.body.contains("<tr data-peer=\"\(peer)\">") && got.body.contains("data-known=\"\(peer)\"")
            }, "\(page.body.prefix(2000))")
            #expect(page.body.contains("<b>nodedown</b> \(peer)"))

            // With a page's event stream open, SIGTERM still stops the node promptly, with status 0.
            let stream = Self.openEventStream(port: port)
            defer { if stream >= 0 { close(stream) } }
            #expect(stream >= 0, "no event stream")
            node.signal(SIGTERM)
            #expect(await node.waitForExit(timeout: .seconds(8)), "\(node.output)")
            #expect(node.exitStatus == 0, "\(node.output)")
        }
    }

    @Test func aDashboardPortInUseStopsTheNodeWithAClearError() async throws {
        let release = try requireOTP(.otp25, "OTP 25")
        guard let binary = erlangNodeBinary else {
            Issue.record("the erlang-node binary is not built")
            return
        }
        try await InteropWorld.run(release, cookie: "dashcookie") { world in
            // The port is taken by a listener of this test (a bad --dashboard-bind takes the same path).
            let taken = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            defer { close(taken) }
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            let bound = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(taken, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            #expect(bound == 0 && listen(taken, 1) == 0)
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            _ = withUnsafeMutablePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(taken, $0, &length) }
            }
            let port = Int(UInt16(bigEndian: address.sin_port))
            let outcome = try await PeerProcess.run(binary, ["start", "--sname", TestEnvironment.uniqueName("dashbusy"),
                                                             "--cookie", world.cookie, "--dashboard-port", "\(port)"],
                                                    environment: world.epmd.environment, timeout: .seconds(30))
            #expect(!outcome.timedOut)
            #expect(outcome.status == 1, "\(outcome.stderrText)")
            #expect(outcome.stderrText.contains("cannot serve the dashboard on 127.0.0.1:\(port)"), "\(outcome.stderrText)")
        }
    }

    @Test(.enabled(if: HeadlessChromium.executable != nil || TestEnvironment.isCI, "chromium is not installed"))
    func chromiumSeesPeerAppearAndDisappear() async throws {
        let release = try requireOTP(.otp25, "OTP 25")
        guard let executable = HeadlessChromium.executable else {
            Issue.record("chromium is not installed, and the dashboard test is mandatory with CI=true")
            return
        }
        try FileManager.default.createDirectory(at: Self.artifacts, withIntermediateDirectories: true)
        try await InteropWorld.run(release, cookie: "dashcookie") { world in
            guard let (node, swift, url) = try await startNode(world, "dashui") else { return }
            let browser = try HeadlessChromium(executable: executable, width: 1400, height: 1100,
                                               log: Self.artifacts.appendingPathComponent("chromium.log").path)
            do {
                let page = try await browser.open("\(url)/")
                let peersShown = "[...document.querySelectorAll('#peers tbody tr[data-peer]')].map(e => e.dataset.peer)"
                let graphShown = "[...document.querySelectorAll('#graph g.peer')].map(e => e.dataset.peer)"
                var shown = ""
                #expect(await eventually(timeout: .seconds(20)) {
                    shown = (try? await browser.evaluate("document.getElementById('live')?.textContent", in: page)) ?? ""
                    return shown == "\"live\""
                }, "live badge: \(shown); \(node.output)")
                #expect(try await browser.evaluate(peersShown, in: page) == "[]")

                // A real erl node connects: the open page shows it (no reload), in the table and the graph.
                let erlAlive = TestEnvironment.uniqueName("dashuipeer")
                let erl = try chattyErl(world, erlAlive, to: swift)
                #expect(await erl.waitForOutput(containing: "CONNECTED"), "\(erl.output)")
                let peer = world.nodeName(erlAlive)
                let expected = "[\"\(peer)\"]"
                #expect(await eventually(timeout: .seconds(15)) {
                    shown = (try? await browser.evaluate(peersShown, in: page)) ?? ""
                    return shown == expected
                }, "peers shown: \(shown)")
                #expect(try await browser.evaluate(graphShown, in: page) == expected)
                // A few seconds of traffic for the rate columns and the chart, then the screenshot.
                #expect(await eventually(timeout: .seconds(15)) {
                    let rate = (try? await browser.evaluate(
                        "document.querySelector('#peers tbody tr[data-peer] td:nth-child(4)').textContent", in: page)) ?? ""
                    return Double(rate.trimmingCharacters(in: CharacterSet(charactersIn: "\""))) ?? 0 > 1
                })
                try await Task.sleep(for: .seconds(3))
                let png = try await browser.screenshot(of: page)
                #expect(png.starts(with: [0x89, 0x50, 0x4E, 0x47]))
                try png.write(to: Self.artifacts.appendingPathComponent("dashboard.png"))

                // The erl node killed by pid: the open page drops it and logs the nodedown.
                await erl.terminate()
                #expect(await eventually(timeout: .seconds(15)) {
                    shown = (try? await browser.evaluate(peersShown, in: page)) ?? ""
                    return shown == "[]"
                }, "peers shown: \(shown)")
                #expect(try await browser.evaluate(graphShown, in: page) == "[]")
                let known = try await browser.evaluate("[...document.querySelectorAll('#graph g.gone')].map(e => e.dataset.known)", in: page)
                #expect(known == expected)
                let events = try await browser.evaluate("document.getElementById('events').textContent", in: page)
                #expect(events.contains("nodedown \(peer)") && events.contains("nodeup \(peer)"), "\(events)")
                try await browser.screenshot(of: page).write(to: Self.artifacts.appendingPathComponent("dashboard-after-nodedown.png"))
            } catch {
                await browser.close()
                throw error
            }
            await browser.close()
        }
    }
}

extension DashboardTests {
    /// Connects to `/events` and reads until the first state arrives (at most 5 s); returns the open socket, or -1.
    static func openEventStream(port: Int) -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return -1 }
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        let request = Array("GET /events HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n".utf8)
        guard connected == 0, request.withUnsafeBytes({ send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }) == request.count else {
            close(fd)
            return -1
        }
        var received = ""
        var buffer = [UInt8](repeating: 0, count: 65536)
        while !received.contains("event: state") {
            let n = recv(fd, &buffer, buffer.count, 0)
            guard n > 0 else {
                close(fd)
                return -1
            }
            received += String(decoding: buffer[..<n], as: UTF8.self)
        }
        return fd
    }
}

/// The page's HTML escaping, for expectations on raw HTML (node names are plain here, so escaping is identity).
enum DashboardPageText {
    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
    }
}
