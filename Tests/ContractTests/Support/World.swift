import ErlangNodeTestKit
import Foundation
import Testing

/// The Erlang side of the checks (`contract_suite.erl`, embedded in ErlangSuiteSource.swift), compiled once per
/// test run with OTP 25's `erlc`; OTP 28 loads the same beam.
actor ErlSuite {
    static let shared = ErlSuite()
    private var directory: String?

    func beamDirectory() async throws -> String {
        if let directory { return directory }
        let dir = try Tools.makeTempDirectory("erl")
        let source = dir + "/contract_suite.erl"
        try ErlangSuiteSource.text.write(toFile: source, atomically: true, encoding: .utf8)
        let erlc = try PeerProcess("erlc", executable: Tools.erlc, arguments: ["-o", dir, source])
        guard await erlc.waitForExit(timeout: .seconds(60)) else {
            erlc.kill()
            throw Tools.Missing(description: "erlc timed out")
        }
        guard FileManager.default.fileExists(atPath: dir + "/contract_suite.beam") else {
            throw Tools.Missing(description: "erlc failed: \(erlc.output)")
        }
        directory = dir
        return dir
    }
}

/// One parsed `RESULT` line of the Erlang (or Elixir) side.
struct CheckResult: Sendable {
    let name: String
    let status: String  // ok, FAIL, should_fail, info, skip
    let detail: String
}

/// One case's world: a private `epmd -port P`, demo targets, erl nodes; `World.run` always kills everything.
final class World: @unchecked Sendable {
    // @unchecked: used by the one test that owns it; children lists are behind `lock`.
    let release: OTPInstallation
    let label: String
    let dir: String
    /// The private `epmd -port P`.
    let epmd: PrivateEPMD
    var epmdPort: Int { epmd.port }
    let cookie: String
    let host = TestEnvironment.shortHost
    private let lock = NSLock()
    private var children: [PeerProcess] = []
    private var targets: [DemoNode] = []
    private(set) var notes: [String] = []

    private init(release: OTPInstallation, label: String, cookie: String, epmd: PrivateEPMD) throws {
        self.release = release
        self.label = label
        self.cookie = cookie
        dir = try Tools.makeTempDirectory(label.replacingOccurrences(of: " ", with: "_"))
        self.epmd = epmd
    }

    /// Runs `body` in a fresh world for `releaseName`; skips (returns) when the release is missing, except with
    /// CI=true. Everything started is killed afterwards, also on failure.
    static func run(_ releaseName: String, _ label: String, cookie: String = "contractcookie",
                    _ body: (World) async throws -> Void) async throws {
        let release: OTPInstallation
        do {
            release = try Tools.release(releaseName)
        } catch {
            if Tools.isCI { Issue.record("\(error)") }
            return
        }
        await WorldLimiter.shared.acquire()
        let world: World
        do {
            let epmd = try await PrivateEPMD.start(Tools.epmd)
            do {
                world = try World(release: release, label: label, cookie: cookie, epmd: epmd)
            } catch {
                await epmd.stop()
                throw error
            }
        } catch {
            await WorldLimiter.shared.release()
            throw error
        }
        let started = ContinuousClock.now
        do {
            try await body(world)
        } catch {
            Issue.record("[\(releaseName)] \(label): \(error)\n\(world.diagnostics())")
        }
        await world.close()
        await WorldLimiter.shared.release()
        print("CONTRACT-TIME \(releaseName) \(label) \(ContinuousClock.now - started)")
        for note in world.notes { print("CONTRACT-NOTE \(releaseName) \(label): \(note)") }
    }

    func note(_ text: String) {
        lock.withLock { notes.append(text) }
    }

    func nodeName(_ alive: String) -> String { "\(alive)@\(host)" }

    /// Starts `erlang-node start --sname ALIVE --cookie C [--hidden] EXTRA` without waiting.
    func spawnTarget(_ alive: String, hidden: Bool = false, cookie: String? = nil, longName: String? = nil,
                     extraArgs: [String] = []) throws -> DemoNode {
        var args = ["start"]
        if let longName { args += ["--name", longName] } else { args += ["--sname", alive] }
        args += ["--cookie", cookie ?? self.cookie]
        if hidden { args.append("--hidden") }
        args += extraArgs
        let target = try DemoNode(executable: try Tools.erlangNodePath(), arguments: args, epmdPort: epmdPort,
                                  logPath: dir + "/\(alive)-\(lock.withLock { targets.count }).log")
        lock.withLock { targets.append(target) }
        return target
    }

    /// Starts a target and waits (≤ 30 s) until its name is in EPMD `NAMES` (CONTRACT §2).
    @discardableResult
    func startTarget(_ alive: String, hidden: Bool = false, cookie: String? = nil, longName: String? = nil,
                     extraArgs: [String] = []) async throws -> DemoNode {
        let target = try spawnTarget(alive, hidden: hidden, cookie: cookie, longName: longName, extraArgs: extraArgs)
        try await waitRegistered(alive, target)
        return target
    }

    func waitRegistered(_ alive: String, _ target: DemoNode) async throws {
        let registered = await eventually(timeout: .seconds(30), interval: .milliseconds(50)) {
            if !target.isRunning { return true }
            return (await self.epmd.names())?[alive] != nil
        }
        guard registered, target.isRunning else {
            throw Tools.Missing(description: "target \(alive) \(target.isRunning ? "did not register within 30 s" : target.exitDescription); log:\n\(target.logTail())")
        }
    }

    /// Starts an erl node running `contract_suite:main(Cases, Opts)`.
    func erl(_ name: String, cases: [String], opts: [String: String], release: OTPInstallation? = nil,
             cookie: String? = nil, longNames: Bool = false, hidden: Bool = false,
             extraArgs: [String] = []) async throws -> PeerProcess {
        let beams = try await ErlSuite.shared.beamDirectory()
        let optText = "#{" + opts.map { "\($0.key) => \($0.value)" }.joined(separator: ", ") + "}"
        let script = "contract_suite:main([\(cases.joined(separator: ", "))], \(optText))."
        var args = [longNames ? "-name" : "-sname", name, "-setcookie", cookie ?? self.cookie, "-noshell", "-pa", beams]
        if hidden { args.append("-hidden") }
        args += extraArgs
        args += ["-eval", script]
        let child = try PeerProcess("erl \(name)", executable: (release ?? self.release).erl, arguments: args,
                                    environment: epmd.environment)
        lock.withLock { children.append(child) }
        return child
    }

    /// An idle erl node (helper or third node), up once it answers ping from a suite node; `longName` starts it
    /// with `-name` (then `name` is the full name), `extraArgs` go before nothing else (e.g. `-proto_dist`).
    func idleErl(_ name: String, hidden: Bool = false, release: OTPInstallation? = nil, longName: Bool = false,
                 extraArgs: [String] = []) throws -> PeerProcess {
        var args = [longName ? "-name" : "-sname", name, "-setcookie", cookie, "-noshell"] + extraArgs
        if hidden { args.append("-hidden") }
        let child = try PeerProcess("erl \(name)", executable: (release ?? self.release).erl, arguments: args,
                                    environment: epmd.environment)
        lock.withLock { children.append(child) }
        return child
    }

    func track(_ child: PeerProcess) { lock.withLock { children.append(child) } }

    /// Waits for `DONE` from an Erlang/Elixir driver, records every failed check as an issue, returns all results.
    @discardableResult
    func expectResults(_ driver: PeerProcess, timeout: Duration = .seconds(120), expectAtLeast: Int = 1,
                       sourceLocation: SourceLocation = #_sourceLocation) async -> [CheckResult] {
        let done = await driver.waitForOutput(containing: "\nDONE", timeout: timeout)
        let results = World.parse(driver.output)
        for r in results {
            print("CONTRACT-CHECK \(release.name) \(label) \(r.name) \(r.status)\(r.status == "ok" ? "" : " " + r.detail)")
            if r.status == "FAIL" {
                Issue.record("[\(release.name)] \(r.name): \(r.detail)\n\(diagnostics())", sourceLocation: sourceLocation)
            }
        }
        if !done {
            Issue.record("[\(release.name)] \(label): \(driver.label) did not finish within \(timeout); output tail:\n\(driver.output.suffix(3000))\n\(diagnostics())", sourceLocation: sourceLocation)
        } else if results.count < expectAtLeast {
            Issue.record("[\(release.name)] \(label): only \(results.count) results from \(driver.label):\n\(driver.output.suffix(3000))", sourceLocation: sourceLocation)
        }
        driver.kill()
        return results
    }

    static func parse(_ text: String) -> [CheckResult] {
        text.split(separator: "\n").compactMap { line in
            guard line.hasPrefix("RESULT ") else { return nil }
            let parts = line.dropFirst(7).split(separator: " ", maxSplits: 2)
            guard parts.count >= 2 else { return nil }
            return CheckResult(name: String(parts[0]), status: String(parts[1]), detail: parts.count > 2 ? String(parts[2]) : "")
        }
    }

    /// Every target's log tail, for failure messages.
    func diagnostics() -> String {
        lock.withLock { targets }.map { t in
            "--- target \(t.arguments.joined(separator: " ")) (\(t.exitDescription)) log tail:\n\(t.logTail())"
        }.joined(separator: "\n")
    }

    func close() async {
        let (ts, cs) = lock.withLock { (targets, children) }
        for t in ts {
            if t.isRunning {
                let clean = await t.stop(grace: .seconds(5))
                if !clean { note("target did not exit within 5 s of SIGTERM (SHOULD)") }
            } else {
                t.killGroup()
            }
        }
        for c in cs.reversed() {
            c.kill()
            _ = await c.waitForExit(timeout: .seconds(5))
        }
        await epmd.stop()
        if !Tools.environment.keys.contains("CONTRACT_KEEP_LOGS") {
            try? FileManager.default.removeItem(atPath: dir)
        }
    }
}
