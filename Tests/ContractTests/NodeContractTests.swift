import ErlangNodeTestKit
import Foundation
import Testing

/// CONTRACT.md, checked against the real `erlang-node start` with real OTP 25 (and OTP 28) nodes: the erl side
/// (contract_suite.erl) runs the checks and prints one RESULT line each; these tests start the worlds and assert.
/// Skipped when erl is missing, except with CI=true. CONTRACT_SLOW=1 adds the ≥ 80 s idle-connection case.
@Suite("CONTRACT.md against erlang-node start", .timeLimit(.minutes(10)))
struct NodeContractTests {
    // MARK: §2, §3 readiness and the EPMD registration

    @Test("§2 readiness, §3 ALIVE2 registration", .enabled(if: Tools.otp25Enabled), arguments: Tools.releases)
    func readiness(release: String) async throws {
        try await World.run(release, "readiness") { w in
            let t = w.nodeName("target")
            // The suite node polls EPMD and pings at first sight, so start it first.
            let erl = try await w.erl("suite", cases: ["readiness"], opts: ["target": ErlangSyntax.atom(t), "alive": "\"target\""])
            try await Task.sleep(for: .milliseconds(300))
            let target = try w.spawnTarget("target")
            await w.expectResults(erl, timeout: .seconds(60), expectAtLeast: 5)
            let reg = try await EPMDProbe.lookup("target", port: w.epmdPort)
            let names = try await EPMDProbe.names(port: w.epmdPort)
            #expect(reg != nil, "PORT_PLEASE2 for target failed\n\(target.logTail())")
            if let reg {
                #expect(reg.nodeType == 77, "NodeType \(reg.nodeType)")
                #expect(reg.proto == 0, "Protocol \(reg.proto)")
                #expect(reg.lowest <= 6 && 6 <= reg.highest, "versions \(reg.lowest)...\(reg.highest)")
                #expect(reg.name == "target", "NodeName \(reg.name) (must be NAME without @HOST)")
                #expect(reg.extra.isEmpty, "Extra \(reg.extra)")
                #expect(names["target"] == reg.port)
                #expect((try? await onOwnThread { _ = try RawSocket(port: reg.port) }) != nil, "registered port \(reg.port) does not accept")
            }
        }
    }

    // MARK: §3, §8 death, unregistration, restart with a new creation

    @Test("§3/§8 killed target: nodedown, noconnection, EPMD forgets within 5 s, restart gets new creation",
          .enabled(if: Tools.otp25Enabled), arguments: ["SIGTERM", "SIGKILL"])
    func restart(signal: String) async throws {
        try await World.run("OTP 25", "restart-\(signal)") { w in
            let t = w.nodeName("target")
            let target = try await w.startTarget("target")
            let erl = try await w.erl("suite", cases: ["restart"], opts: ["target": ErlangSyntax.atom(t), "alive": "\"target\""])
            guard await erl.waitForOutput(containing: "SYNC kill", timeout: .seconds(30)) else {
                await w.expectResults(erl, timeout: .seconds(1))
                return
            }
            if signal == "SIGKILL" {
                target.signalGroup(SIGKILL)
            } else {
                target.signalGroup(SIGTERM)
                if !(await target.waitForExit(timeout: .seconds(5))) {
                    w.note("target did not exit within 5 s of SIGTERM (SHOULD); sent SIGKILL")
                    target.signalGroup(SIGKILL)
                }
            }
            _ = await target.waitForExit(timeout: .seconds(5))
            guard await erl.waitForOutput(containing: "SYNC restart", timeout: .seconds(30)) else {
                await w.expectResults(erl, timeout: .seconds(1))
                return
            }
            _ = try w.spawnTarget("target")
            await w.expectResults(erl, timeout: .seconds(60), expectAtLeast: 9)
        }
    }

    // MARK: §4.1, §4.2 handshake as acceptor, with the raw client

    @Test("§4.1/§4.2 raw client: flags advertised, bad names, missing flags, wrong digest refused",
          .enabled(if: Tools.otp25Enabled), arguments: [false, true])
    func handshakeRefusals(hidden: Bool) async throws {
        try await World.run("OTP 25", "handshake\(hidden ? "-hidden" : "")") { w in
            let t = w.nodeName("target")
            let target = try await w.startTarget("target", hidden: hidden)
            guard let port = try await EPMDProbe.lookup("target", port: w.epmdPort)?.port else {
                Issue.record("no port for target")
                return
            }
            let cookie = w.cookie
            let rawName = w.nodeName("raw")

            // The valid raw client (CONTRACT §4.1): must be accepted, and the challenge must carry every flag.
            let good: (RawDistClient.Outcome, Handshake.NMessage?, Bool, String?) = try await onOwnThread {
                let c = try RawDistClient(port: port, name: rawName, cookie: cookie)
                let outcome = try c.handshake()
                let roundTrip = outcome == .acked ? try c.serverRoundTrip(token: "raw_hello_token") : false
                return (outcome, c.peerChallenge, roundTrip, c.status)
            }
            #expect(good.0 == .acked, "valid raw client not accepted: \(good.0), status \(good.3 ?? "none")\n\(target.logTail())")
            #expect(good.2, "raw client: {server, T} ! {raw_hello_token, RawPid} not answered\n\(target.logTail())")
            if let ch = good.1 {
                #expect(ch.name == t, "challenge name \(ch.name), expected \(t)")
                #expect(ch.creation != 0, "creation 0 in challenge")
                let missing = DFlag.missing(in: ch.flags, hidden: hidden)
                #expect(missing.isEmpty, "challenge flags 0x\(String(ch.flags, radix: 16)) lack \(missing)")
            }

            // Refusals: each must close within 8 s without a challenge_ack.
            var cases: [(String, String, UInt64, Bool)] = [("x", "bad name x", DFlag.rawClient, true),
                                                            ("@\(w.host)", "bad name @h", DFlag.rawClient, true),
                                                            ("x@", "bad name x@", DFlag.rawClient, true),
                                                            ("", "bad name empty", DFlag.rawClient, true),
                                                            (w.nodeName("rawbad"), "wrong digest", DFlag.rawClient, false)]
            for (flagName, bit) in DFlag.mandatory25Names where bit != DFlag.handshake23 {
                cases.append((w.nodeName("raw\(cases.count)"), "missing \(flagName)", DFlag.rawClient & ~bit, true))
            }
            let outcomes = await withTaskGroup(of: (String, String).self) { group in
                for (name, label, flags, digestOK) in cases {
                    group.addTask {
                        let r: String = (try? await onOwnThread {
                            let c = try RawDistClient(port: port, name: name, cookie: cookie)
                            let o = try c.handshake(flags: flags, replyDigestCorrect: digestOK, timeout: .seconds(8))
                            switch o {
                            case .closedBeforeAck(let status): return "refused(status \(status ?? "none"))"
                            case .acked: return "ACCEPTED"
                            case .wrongAckDigest: return "ACCEPTED (wrong ack digest)"
                            case .timedOut(let stage): return "NOT CLOSED within 8 s (waiting for \(stage))"
                            }
                        }) ?? "connect failed"
                        return (label, r)
                    }
                }
                var all: [(String, String)] = []
                for await r in group { all.append(r) }
                return all
            }
            for (label, r) in outcomes.sorted(by: { $0.0 < $1.0 }) {
                print("CONTRACT-CHECK OTP 25 handshake \(label): \(r)")
                #expect(r.hasPrefix("refused"), "\(label): \(r)\n\(target.logTail())")
                if label.hasPrefix("missing"), r.hasPrefix("refused(status ") {
                    #expect(r.contains("none") || r.contains("not_allowed"), "\(label): status should be not_allowed: \(r)")
                }
            }
            #expect(target.isRunning, "target died: \(target.exitDescription)")
            let erl = try await w.erl("suite", cases: ["basic"], opts: ["target": ErlangSyntax.atom(t), "prefix": "\"after_refusals\""])
            await w.expectResults(erl, timeout: .seconds(60), expectAtLeast: 5)
        }
    }

    // MARK: §4.3 the target initiating, against a raw fake peer

    @Test("§4.1/§4.3 target initiates: send_name flags, wrong challenge name and wrong ack digest fail",
          .enabled(if: Tools.otp25Enabled))
    func initiating() async throws {
        try await World.run("OTP 25", "initiate") { w in
            let t = w.nodeName("target")
            let target = try await w.startTarget("target")
            let listener = try RawListener()
            let (registration, _) = try EPMDProbe.register("fake", listenPort: listener.port, epmdPort: w.epmdPort)
            defer { _ = registration }
            let fake = w.nodeName("fake")
            let cookie = w.cookie
            // The fake peer: three connections, in order: wrong name in challenge, wrong ack digest, correct.
            let acceptor = Task {
                try await onOwnThread { () -> [String] in
                    var log: [String] = []
                    var keep: [RawSocket] = []
                    for attempt in 1...3 {
                        guard let s = listener.accept(timeout: .seconds(40)) else {
                            log.append("attempt \(attempt): no connection")
                            break
                        }
                        let deadline = ContinuousClock.now + .seconds(10)
                        guard let m = s.readHandshakeMessage(deadline: deadline), let sn = Handshake.parseN(m, withChallenge: false) else {
                            log.append("attempt \(attempt): no valid send_name (\(s.received.prefix(40)))")
                            continue
                        }
                        let missing = DFlag.missing(in: sn.flags, hidden: false)
                        log.append("attempt \(attempt): send_name name=\(sn.name) creation=\(sn.creation) missing=\(missing)")
                        try s.write(Handshake.framed(Array("sok".utf8)))
                        let challenge: UInt32 = 0x1357_9BDF
                        let myName = attempt == 1 ? w.nodeName("other") : fake
                        try s.write(Handshake.challenge(flags: DFlag.rawClient | DFlag.published, challenge: challenge,
                                                        creation: 0x4242, name: myName))
                        if attempt == 1 {
                            let closed = s.waitForClose(deadline: .now + .seconds(8))
                            let replied = s.received.count >= 3 && s.received[2] == UInt8(ascii: "r")
                            log.append("attempt 1: closed=\(closed) replied=\(replied)")
                            continue
                        }
                        guard let r = s.readHandshakeMessage(deadline: deadline), r.first == UInt8(ascii: "r"), r.count == 21 else {
                            log.append("attempt \(attempt): no challenge_reply")
                            continue
                        }
                        let digestOK = Array(r[5..<21]) == MD5.handshakeDigest(cookie: cookie, challenge: challenge)
                        let theirs = UInt32(Handshake.u(r[1..<5]))
                        var ack = MD5.handshakeDigest(cookie: cookie, challenge: theirs)
                        if attempt == 2 { ack[3] ^= 0x55 }
                        try s.write(Handshake.ack(digest: ack))
                        if attempt == 2 {
                            let closed = s.waitForClose(deadline: .now + .seconds(8))
                            log.append("attempt 2: reply digest ok=\(digestOK) closed=\(closed)")
                        } else {
                            log.append("attempt 3: reply digest ok=\(digestOK)")
                            keep.append(s)
                        }
                    }
                    // Keep the good connection up a little while the erl side checks nodes().
                    Thread.sleep(forTimeInterval: 3)
                    return log
                }
            }
            let erl = try await w.erl("suite", cases: ["initiate"], opts: ["target": ErlangSyntax.atom(t), "fake": ErlangSyntax.atom(fake)])
            await w.expectResults(erl, timeout: .seconds(120), expectAtLeast: 5)
            let log = try await acceptor.value
            print("CONTRACT-NOTE initiate fake peer: \(log)")
            #expect(log.count >= 5, "fake peer transcript: \(log)\n\(target.logTail())")
            if let first = log.first {
                #expect(first.contains("name=\(t)"), "send_name name: \(first)")
                #expect(first.contains("missing=[]"), "send_name flags: \(first)")
                #expect(!first.contains("creation=0 "), "send_name creation: \(first)")
            }
            #expect(log.contains { $0.hasPrefix("attempt 1: closed=true") }, "wrong challenge name not closed: \(log)")
            #expect(log.contains { $0.hasPrefix("attempt 2:") && $0.contains("closed=true") }, "wrong ack digest not closed: \(log)")
            #expect(log.contains { $0.hasPrefix("attempt 3: reply digest ok=true") }, "digest: \(log)")
        }
    }

    // MARK: §4.4 simultaneous connect

    @Test("§4.4 simultaneous connect, 8 races, both name orders", .enabled(if: Tools.otp25Enabled),
          arguments: Tools.releases.flatMap { r in ["a_suite", "z_suite"].map { (r, $0) } })
    func simultaneous(release: String, suiteName: String) async throws {
        try await World.run(release, "simultaneous-\(suiteName)") { w in
            let t = w.nodeName("m_target")
            try await w.startTarget("m_target")
            _ = try w.idleErl("helper", hidden: true)
            let erl = try await w.erl(suiteName, cases: ["simultaneous"],
                                      opts: ["target": ErlangSyntax.atom(t), "helper": ErlangSyntax.atom(w.nodeName("helper"))])
            await w.expectResults(erl, timeout: .seconds(150), expectAtLeast: 9)
        }
    }

    // MARK: §4.5 garbage and stalled handshakes

    @Test("§4.2.4/§4.5 garbage, stalled handshakes, undecodable message on an established connection",
          .enabled(if: Tools.otp25Enabled))
    func garbage() async throws {
        try await World.run("OTP 25", "garbage") { w in
            let t = w.nodeName("target")
            let target = try await w.startTarget("target")
            guard let port = try await EPMDProbe.lookup("target", port: w.epmdPort)?.port else {
                Issue.record("no port for target")
                return
            }
            let validSendName = Handshake.sendName(flags: DFlag.rawClient, creation: 7, name: w.nodeName("junk"))
            let oldName = Array(w.nodeName("old").utf8)
            let payloads: [(String, [UInt8], Bool)] = [
                ("random bytes", (0..<2000).map { _ in UInt8.random(in: 0...255) }, true),
                ("empty packet", [0, 0], false),
                ("length beyond data", [0, 200, UInt8(ascii: "N"), 1, 2, 3], false),
                ("truncated send_name", Array(validSendName.prefix(12)), true),
                ("truncated send_name held open", Array(validSendName.prefix(12)), false),
                ("old-style n send_name", Handshake.framed([UInt8(ascii: "n"), 0, 5, 0, 0, 0x7f, 0xfd] + oldName), false),
                ("HTTP request", Array("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".utf8), false),
                ("connect and close", [], true),
            ]
            // Open all of them at once; those not closed by us stay open (stalled) while erl checks service.
            let sockets: [(String, RawSocket)] = try await onOwnThread {
                try payloads.map { label, bytes, closeAfter in
                    let s = try RawSocket(port: port)
                    if !bytes.isEmpty { try? s.write(bytes) }
                    if closeAfter { s.shutdownWrite() }
                    return (label, s)
                }
            }
            let erl = try await w.erl("suite", cases: ["basic"], opts: ["target": ErlangSyntax.atom(t), "prefix": "\"while_stalled\""])
            await w.expectResults(erl, timeout: .seconds(60), expectAtLeast: 5)
            // SHOULD: stalled handshakes time out after ~7 s (OTP net_setuptime).
            let closed: [(String, Bool)] = try await onOwnThread {
                let deadline = ContinuousClock.now + .seconds(12)
                return sockets.map { ($0.0, $0.1.waitForClose(deadline: deadline)) }
            }
            for (label, c) in closed where !c { w.note("SHOULD: '\(label)' connection still open after ~12 s") }
            #expect(target.isRunning, "target died after garbage: \(target.exitDescription)\n\(target.logTail())")

            // An undecodable message on an established connection: closed within 8 s.
            let cookie = w.cookie, rawName = w.nodeName("raw")
            let established: (RawDistClient.Outcome, Bool, Bool) = try await onOwnThread {
                let c = try RawDistClient(port: port, name: rawName, cookie: cookie)
                let o = try c.handshake()
                guard o == .acked else { return (o, false, false) }
                let ok = try c.serverRoundTrip(token: "before_garbage_token")
                try c.socket.write([0, 0, 0, 5, 112, 131, 255, 255, 255])
                return (o, ok, c.socket.waitForClose(deadline: .now + .seconds(8)))
            }
            #expect(established.0 == .acked, "raw client handshake: \(established.0)")
            #expect(established.1, "raw client roundtrip before garbage failed")
            #expect(established.2, "112,131,255,255,255 on an established connection: not closed within 8 s\n\(target.logTail())")
            #expect(target.isRunning, "target died: \(target.exitDescription)")
            let after = try await w.erl("suite2", cases: ["basic"], opts: ["target": ErlangSyntax.atom(t), "prefix": "\"after_garbage\""])
            await w.expectResults(after, timeout: .seconds(60), expectAtLeast: 5)
        }
    }

    // MARK: §5 ticks (opt-in: ≥ 80 s)

    @Test("§5 ticks on an idle hidden connection ≥ 80 s (CONTRACT_SLOW=1)",
          .enabled(if: Tools.otp25Enabled && Tools.slow))
    func idleTicks() async throws {
        try await World.run("OTP 25", "ticks") { w in
            let t = w.nodeName("target")
            let target = try await w.startTarget("target")
            guard let port = try await EPMDProbe.lookup("target", port: w.epmdPort)?.port else { return }
            let erl = try await w.erl("suite", cases: ["idle"], opts: ["target": ErlangSyntax.atom(t), "seconds": "85"], hidden: true)
            // The raw client ticks every 15 s itself and measures the longest silence of the target.
            let cookie = w.cookie, rawName = w.nodeName("raw")
            let (outcome, maxGap, closed): (RawDistClient.Outcome, Duration, Bool) = try await onOwnThread {
                let c = try RawDistClient(port: port, name: rawName, cookie: cookie)
                let o = try c.handshake()
                guard o == .acked else { return (o, .zero, false) }
                let end = ContinuousClock.now + .seconds(85)
                var last = ContinuousClock.now, gap = Duration.zero, nextTick = ContinuousClock.now + .seconds(15)
                while ContinuousClock.now < end {
                    switch c.socket.readSome(until: min(end, nextTick)) {
                    case .data:
                        gap = max(gap, .now - last)
                        last = .now
                        _ = c.socket.take(c.socket.received.count, deadline: .now)
                    case .closed: return (o, max(gap, .now - last), true)
                    case .timedOut:
                        if ContinuousClock.now >= nextTick {
                            try c.socket.write([0, 0, 0, 0])
                            nextTick = .now + .seconds(15)
                        }
                    }
                }
                return (o, max(gap, .now - last), false)
            }
            #expect(outcome == .acked)
            #expect(!closed, "target closed the raw client's ticking connection")
            #expect(maxGap < .seconds(60), "target silent for \(maxGap) on an idle connection")
            if maxGap > .seconds(31) { w.note("SHOULD: longest silence \(maxGap) (> ~30 s)") }
            await w.expectResults(erl, timeout: .seconds(120), expectAtLeast: 4)
            #expect(target.isRunning)
        }
    }

    // MARK: §5 ordering

    @Test("§5 order: 100 000 via server, 20 000 via an echo pid", .enabled(if: Tools.otp25Enabled))
    func ordering() async throws {
        try await World.run("OTP 25", "ordering") { w in
            let t = w.nodeName("target")
            try await w.startTarget("target")
            let erl = try await w.erl("suite", cases: ["ordering"], opts: ["target": ErlangSyntax.atom(t)])
            await w.expectResults(erl, timeout: .seconds(200), expectAtLeast: 3)
        }
    }

    // MARK: §6 terms

    @Test("§6 terms round-trip exactly through server", .enabled(if: Tools.otp25Enabled), arguments: Tools.releases)
    func terms(release: String) async throws {
        try await World.run(release, "terms") { w in
            let t = w.nodeName("target")
            try await w.startTarget("target")
            let erl = try await w.erl("suite", cases: ["terms"], opts: ["target": ErlangSyntax.atom(t)])
            await w.expectResults(erl, timeout: .seconds(200), expectAtLeast: 15)
        }
    }

    // MARK: §7 node lists, hidden nodes, meshing

    @Test("§7 nodes/hidden lists and meshing of two visible targets", .enabled(if: Tools.otp25Enabled))
    func meshing() async throws {
        try await World.run("OTP 25", "mesh") { w in
            try await w.startTarget("t1")
            try await w.startTarget("t2")
            _ = try w.idleErl("helper", hidden: true)
            let erl = try await w.erl("suite", cases: ["mesh"], opts: ["t1": ErlangSyntax.atom(w.nodeName("t1")), "t2": ErlangSyntax.atom(w.nodeName("t2")),
                                                                         "helper": ErlangSyntax.atom(w.nodeName("helper"))])
            await w.expectResults(erl, timeout: .seconds(90), expectAtLeast: 11)
        }
    }

    @Test("§7 a hidden target sees all connections hidden and does not mesh", .enabled(if: Tools.otp25Enabled))
    func hiddenTarget() async throws {
        try await World.run("OTP 25", "hidden") { w in
            try await w.startTarget("t1", hidden: true)
            try await w.startTarget("t2")
            let erl = try await w.erl("suite", cases: ["hidden_mesh"], opts: ["t1": ErlangSyntax.atom(w.nodeName("t1")), "t2": ErlangSyntax.atom(w.nodeName("t2"))])
            await w.expectResults(erl, timeout: .seconds(90), expectAtLeast: 8)
        }
    }

    // MARK: §8 disconnect and reconnect

    @Test("§8 disconnect_node from either side, nodedown, reconnect", .enabled(if: Tools.otp25Enabled))
    func disconnect() async throws {
        try await World.run("OTP 25", "disconnect") { w in
            let t = w.nodeName("target")
            try await w.startTarget("target")
            _ = try w.idleErl("helper", hidden: true)
            let erl = try await w.erl("suite", cases: ["disconnect"], opts: ["target": ErlangSyntax.atom(t), "helper": ErlangSyntax.atom(w.nodeName("helper"))])
            await w.expectResults(erl, timeout: .seconds(90), expectAtLeast: 10)
        }
    }

    // MARK: §9 services, §13 sink

    @Test("§9 services: spawn, echo, signals, monitors, links, counter, rpc; §13 sink; §9.1 server kill",
          .enabled(if: Tools.otp25Enabled), arguments: Tools.releases)
    func services(release: String) async throws {
        try await World.run(release, "services") { w in
            let t = w.nodeName("target")
            try await w.startTarget("target")
            _ = try w.idleErl("third")
            let erl = try await w.erl("suite", cases: ["spawns", "signals", "counter", "rpc", "sink", "server"],
                                      opts: ["target": ErlangSyntax.atom(t), "third": ErlangSyntax.atom(w.nodeName("third")),
                                             "missing": ErlangSyntax.atom(w.nodeName("nosuchnode"))])
            await w.expectResults(erl, timeout: .seconds(200), expectAtLeast: 50)
        }
    }

    // MARK: §17.2 counter under demo_sup

    @Test("§17.2 counter as a gen_server under demo_sup: sys, which_children, count_children, restart after kill",
          .enabled(if: Tools.otp25Enabled), arguments: Tools.releases)
    func supervisedCounter(release: String) async throws {
        try await World.run(release, "supcounter") { w in
            let t = w.nodeName("target")
            try await w.startTarget("target")
            let erl = try await w.erl("suite", cases: ["supervised_counter"], opts: ["target": ErlangSyntax.atom(t)])
            await w.expectResults(erl, timeout: .seconds(90), expectAtLeast: 7)
        }
    }

    // MARK: §10 cookies

    @Test("§10 wrong cookie refused repeatedly, then right cookie and set_cookie accepted",
          .enabled(if: Tools.otp25Enabled), arguments: Tools.releases)
    func cookies(release: String) async throws {
        try await World.run(release, "cookies") { w in
            let t = w.nodeName("target")
            let target = try await w.startTarget("target")
            let wrong = try await w.erl("wrong", cases: ["wrong_cookie"], opts: ["target": ErlangSyntax.atom(t), "alive": "\"target\"", "cookie": ErlangSyntax.atom(w.cookie)],
                                        cookie: "wrongcookie")
            await w.expectResults(wrong, timeout: .seconds(90), expectAtLeast: 5)
            #expect(target.isRunning, "target died: \(target.exitDescription)")
            let right = try await w.erl("right", cases: ["basic"], opts: ["target": ErlangSyntax.atom(t), "prefix": "\"cookie/right_cookie\""])
            await w.expectResults(right, timeout: .seconds(60), expectAtLeast: 5)
        }
    }

    // MARK: §11 long names

    @Test("§11 long names: long-name peers work, short-name peers never connect", .enabled(if: Tools.otp25Enabled))
    func longNames() async throws {
        try await World.run("OTP 25", "longnames") { w in
            let t = "lname@127.0.0.1"
            let target = try await w.startTarget("lname", longName: t)
            let names = try await EPMDProbe.names(port: w.epmdPort)
            #expect(names.keys.contains("lname"), "EPMD names: \(names)")
            let long1 = try await w.erl("suite@127.0.0.1", cases: ["longname"], opts: ["target": ErlangSyntax.atom(t)], longNames: true)
            await w.expectResults(long1, timeout: .seconds(60), expectAtLeast: 5)
            let short = try await w.erl("shorty", cases: ["shortname_vs_long"],
                                        opts: ["names": "[\(ErlangSyntax.atom(t)), \(ErlangSyntax.atom("lname@\(w.host)"))]"])
            await w.expectResults(short, timeout: .seconds(90), expectAtLeast: 2)
            let long2 = try await w.erl("suite2@127.0.0.1", cases: ["longname"], opts: ["target": ErlangSyntax.atom(t), "prefix": "\"long_after_short\""],
                                        longNames: true)
            await w.expectResults(long2, timeout: .seconds(60), expectAtLeast: 5)
            #expect(target.isRunning)
        }
    }

    // MARK: §16 IPv6

    @Test("§16 IPv6: --name NAME@::1 --proto-dist inet6_tcp from OTP 25 inet6_tcp nodes; the target connects out",
          .enabled(if: Tools.otp25Enabled))
    func ipv6() async throws {
        try await World.run("OTP 25", "ipv6") { w in
            let inet6 = ["-proto_dist", "inet6_tcp"]
            let t = "six@::1"
            let target = try await w.startTarget("six", longName: t, extraArgs: ["--proto-dist", "inet6_tcp"])
            // Registered with the EPMD at 127.0.0.1 (EPMDProbe asks there).
            let names = try await EPMDProbe.names(port: w.epmdPort)
            #expect(names.keys.contains("six"), "EPMD names: \(names)")
            let otherAlive = "sixother"
            let other = try w.idleErl("\(otherAlive)@::1", longName: true, extraArgs: inet6)
            let up = await eventually(timeout: .seconds(30), interval: .milliseconds(100)) {
                (await w.epmd.names())?[otherAlive] != nil
            }
            #expect(up, "the other inet6 node did not register: \(other.output)")
            let suite = try await w.erl("suite6@::1", cases: ["longname", "dist_family", "connect_out"],
                                        opts: ["target": ErlangSyntax.atom(t), "family": "inet6",
                                               "other": ErlangSyntax.atom("\(otherAlive)@::1"), "prefix": "\"ipv6\""],
                                        longNames: true, extraArgs: inet6)
            await w.expectResults(suite, timeout: .seconds(90), expectAtLeast: 11)
            // The client commands take the option too.
            let ping = try PeerProcess("erlang-node ping", executable: try Tools.erlangNodePath(), arguments: [
                "ping", t, "--name", "pingsix@::1", "--cookie", w.cookie, "--proto-dist", "inet6_tcp",
            ], environment: w.epmd.environment)
            w.track(ping)
            #expect(await ping.waitForExit(timeout: .seconds(30)))
            #expect(ping.exitStatus == 0 && ping.output.contains("pong"), "\(ping.output)")
            #expect(target.isRunning)
        }
    }

    @Test("§16 --proto-dist refuses carriers this build does not speak, naming the ones it does")
    func protoDistRefusal() async throws {
        let binary = try Tools.erlangNodePath()
        let child = try PeerProcess("erlang-node", executable: binary,
                                    arguments: ["start", "--sname", "pd", "--cookie", "c", "--proto-dist", "inet_sctp"])
        let exited = await child.waitForExit(timeout: .seconds(20))
        if !exited { child.kill() }
        #expect(exited && child.exitStatus != 0, "status \(String(describing: child.exitStatus))")
        #expect(child.output.contains("--proto-dist inet_sctp is not supported: use one of inet_tcp, inet6_tcp, inet_tls, inet6_tls"), "\(child.output)")
    }

    // MARK: §12 Elixir

    @Test("§12 Elixir peer: connect, data round-trip, GenServer, rpc, spawn, monitor", .enabled(if: Tools.elixirEnabled))
    func elixir() async throws {
        guard FileManager.default.isExecutableFile(atPath: Tools.elixir) else {
            Issue.record("elixir is not installed (required with CI=true)")
            return
        }
        try await World.run("OTP 25", "elixir") { w in
            let t = w.nodeName("target")
            try await w.startTarget("target")
            let script = w.dir + "/contract.exs"
            try ElixirSuiteSource.text.write(toFile: script, atomically: true, encoding: .utf8)
            let ex = try PeerProcess("elixir", executable: Tools.elixir, arguments: ["--sname", "exsuite", "--cookie", w.cookie, script],
                                     environment: ["ERL_EPMD_PORT": "\(w.epmdPort)", "CONTRACT_TARGET": t])
            w.track(ex)
            await w.expectResults(ex, timeout: .seconds(90), expectAtLeast: 10)
        }
    }
}
