// Issue 6: Swift and Erlang/OTP side by side on the same work, in one run, on loopback.
//
// Starts a private epmd, an OTP receiver (`erl ... -run dist_bench serve`: `sink` and `server`), a Swift receiver
// (`erlang-node start`, the demo node with `sink` and `server`), an OTP driver (`erl ... -run dist_bench driver`,
// commanded over stdin) and a Swift driver (a hidden ErlangNode in this process), then measures every pairing
// (sender->receiver: OTP->OTP, Swift->Swift, OTP->Swift, Swift->OTP), local process figures, EPMD (epmd-bench) and
// ETF (etf-compare), the cost of metrics (a second Swift receiver with --metrics-port) and pg fan-out (visible nodes of
// their own). Each figure is the median of --reps repetitions (pairings interleaved within a repetition),
// shown with min and max. Prints one table and writes it to BENCHMARKS.md (between GENERATED markers; the
// hand-written text after the markers is kept).
//
// usage: dist-bench --erlang-node PATH --swift-epmd PATH --epmd-bench PATH --etf-compare PATH [--repo PATH]
//                   [--smoke] [--reps N] [--only LIST] [--out FILE | --no-write] [--swift-version TEXT]
//                   [--time-limit SECONDS] [--erl PATH] [--erlc PATH] [--epmd PATH]
//        dist-bench --procs-child N [hibernate]   (internal: the Swift side of the process-spawn figures)
//
// With --tls every node speaks OTP's TLS distribution (`-proto_dist inet_tls`, certificates made with openssl for
// the run), only the distribution sections run (throughput, ping-pong, bulk), and the table goes between the TLS
// markers of BENCHMARKS.md.
import ErlangActors
import ErlangNode
import ErlangTerm
import Prometheus
import Foundation
import Logging

struct Options {
    var erlangNode = ""
    var swiftEPMD = ""
    var epmdBench = ""
    var etfCompare = ""
    var repo = FileManager.default.currentDirectoryPath
    var smoke = false
    var reps: Int?
    var only: Set<String>?
    var out: String?
    var write = true
    var swiftVersion = ""
    var timeLimit: Double?
    var erl = "/usr/bin/erl"
    var erlc = "/usr/bin/erlc"
    var epmd = "/usr/bin/epmd"
    var tls = false
}

// Like `erlang-node start`: ERLANG_NODE_EXECUTOR=eventloop runs processes on the event loops (the environment is
// inherited by the erlang-node receiver, so both Swift sides change together).
if ProcessInfo.processInfo.environment["ERLANG_NODE_EXECUTOR"] == "eventloop" {
    NodeExecutor.installEventLoopsAsGlobalExecutor()
}

let arguments = Array(CommandLine.arguments.dropFirst())
if arguments.first == "--local-child", arguments.count >= 2, let n = Int(arguments[1]) {
    // Local messaging alone in a fresh process (for profiling): prints messages/s.
    let node = Node(name: "local@localhost")
    let us = try await SwiftSide.local(node, count: n, timeout: .seconds(60))
    print(String(format: "%.0f msg/s", Double(n) / (us / 1e6)))
    exit(0)
}
if arguments.first == "--procs-child", arguments.count >= 2, let n = Int(arguments[1]) {
    await SwiftSide.procsChild(n, hibernate: arguments.dropFirst(2).first == "hibernate")
}

var options = Options()
do {
    var i = 0
    func value() -> String {
        i += 1
        guard i < arguments.count else { FileHandle.standardError.write(Data("missing value\n".utf8)); exit(2) }
        return arguments[i]
    }
    while i < arguments.count {
        switch arguments[i] {
        case "--erlang-node": options.erlangNode = value()
        case "--swift-epmd": options.swiftEPMD = value()
        case "--epmd-bench": options.epmdBench = value()
        case "--etf-compare": options.etfCompare = value()
        case "--repo": options.repo = value()
        case "--smoke": options.smoke = true
        case "--reps": options.reps = Int(value())
        case "--only": options.only = Set(value().split(separator: ",").map(String.init))
        case "--out": options.out = value()
        case "--no-write": options.write = false
        case "--swift-version": options.swiftVersion = value()
        case "--time-limit": options.timeLimit = Double(value())
        case "--erl": options.erl = value()
        case "--erlc": options.erlc = value()
        case "--epmd": options.epmd = value()
        case "--tls": options.tls = true
        default:
            FileHandle.standardError.write(Data("unknown argument \(arguments[i])\n".utf8))
            exit(2)
        }
        i += 1
    }
}

/// Sizes of the workloads: the issue's in full mode, small ones for the smoke run.
struct Sizes {
    var reps: Int
    var messages: Int
    var roundTrips: Int
    var bulk: [(label: String, size: Int, total: Int)]
    var connects: Int
    var processes: Int
    var localMessages: Int
    var timeout: Duration
    var timeLimit: Double
}

let sizes: Sizes = options.smoke
    ? Sizes(reps: options.reps ?? 1, messages: 20_000, roundTrips: 2_000,
            bulk: [("64 KiB", 64 << 10, 16 << 20), ("1 MiB", 1 << 20, 32 << 20)],
            connects: 5, processes: 20_000, localMessages: 100_000, timeout: .seconds(20), timeLimit: options.timeLimit ?? 90)
    : Sizes(reps: options.reps ?? 3, messages: 1_000_000, roundTrips: 100_000,
            bulk: [("64 KiB", 64 << 10, 512 << 20), ("1 MiB", 1 << 20, 1 << 30)],
            connects: 50, processes: 1_000_000, localMessages: 1_000_000, timeout: .seconds(120),
            timeLimit: options.timeLimit ?? 1080)

@MainActor func wanted(_ section: String) -> Bool {
    options.only?.contains(section) ?? (!options.tls || ["throughput", "pingpong", "bulk"].contains(section))
}

@MainActor func say(_ text: String) {
    FileHandle.standardOutput.write(Data((text + "\n").utf8))
}

let runStart = ContinuousClock.now
@MainActor func elapsedSeconds() -> Double { SwiftSide.micros(ContinuousClock.now - runStart) / 1e6 }
@MainActor func loadAverage() -> String {
    ((try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8)) ?? "?").split(separator: " ").prefix(3).joined(separator: " ")
}

// The global time limit: every child is stopped and the run fails rather than hang.
let globalLimit = sizes.timeLimit
Thread.detachNewThread {
    Thread.sleep(forTimeInterval: globalLimit)
    FileHandle.standardError.write(Data("dist-bench: global time limit of \(Int(globalLimit)) s reached, stopping\n".utf8))
    Children.shared.stopAll()
    exit(3)
}
// On SIGINT/SIGTERM just exit: every child dies when its stdin closes (guard shells, erl drivers and receivers).
signal(SIGINT) { _ in _exit(130) }
signal(SIGTERM) { _ in _exit(143) }

let loadAtStart = loadAverage()
let host: String = {
    var buffer = [CChar](repeating: 0, count: 256)
    gethostname(&buffer, buffer.count)
    let full = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    return String(full.split(separator: ".").first ?? "localhost")
}()
let tag = "\(getpid())"
let cookie = "distbench\(tag)"
let work = FileManager.default.temporaryDirectory.appendingPathComponent("dist-bench-\(tag)")
try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
let results = Results()
let pairings = ["OTP->OTP", "Swift->Swift", "OTP->Swift", "Swift->OTP"]

say("dist-bench: \(options.smoke ? "smoke" : "full") run, \(sizes.reps) repetition(s), load average \(loadAtStart), logs in \(work.path)")

// MARK: nodes

@MainActor func freePort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    var len = socklen_t(MemoryLayout<sockaddr_in>.size)
    try withUnsafeMutablePointer(to: &addr) { ptr in
        try ptr.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
            guard bind(fd, sa, len) == 0, getsockname(fd, sa, &len) == 0 else { throw BenchError.failed("free port") }
        }
    }
    return Int(UInt16(bigEndian: addr.sin_port))
}

let ebin = work.appendingPathComponent("ebin")
try FileManager.default.createDirectory(at: ebin, withIntermediateDirectories: true)
_ = try await runTool("erlc", options.erlc, ["-o", ebin.path, options.repo + "/Benchmarks/erlang/dist_bench.erl"],
                      timeout: .seconds(60))
let otpRelease = try await runTool("erl", options.erl, ["-noshell", "-eval",
    "io:format(\"~s (erts ~s)\", [erlang:system_info(otp_release), erlang:system_info(version)]), halt()."],
    timeout: .seconds(30)).trimmingCharacters(in: .whitespacesAndNewlines)

let epmdPort = try freePort()
let epmdEnv = ["ERL_EPMD_PORT": "\(epmdPort)"]
let epmdChild = try Child("epmd", options.epmd, ["-port", "\(epmdPort)", "-address", "127.0.0.1"], guarded: true,
                          log: work.appendingPathComponent("epmd.log"))
_ = await epmdChild.workerPid()
try await Task.sleep(for: .milliseconds(300))

let tlsOptionFile: String? = options.tls ? try await TLSMaterial.make(in: work, host: host) : nil
let erlFlags = ["-setcookie", cookie, "-noshell", "-hidden", "-connect_all", "false", "-pa", ebin.path]
    + (tlsOptionFile.map { ["-proto_dist", "inet_tls", "-ssl_dist_optfile", $0] } ?? [])
let otpRecvName = Atom("otprecv\(tag)@\(host)")
let swiftRecvName = Atom("swrecv\(tag)@\(host)")

@MainActor func startOTPReceiver() async throws -> Child {
    let c = try Child("OTP receiver", options.erl, ["-sname", "otprecv\(tag)"] + erlFlags + ["-run", "dist_bench", "serve"],
                      environment: epmdEnv, log: work.appendingPathComponent("otprecv.log"))
    guard await c.line(startingWith: "READY", after: 0, timeout: .seconds(30)) != nil else {
        throw BenchError.failed("OTP receiver did not start: \(c.text.suffix(500))")
    }
    return c
}

@MainActor func startSwiftReceiver() throws -> Child {
    try Child("Swift receiver", options.erlangNode,
              ["start", "--sname", "swrecv\(tag)", "--cookie", cookie, "--epmd-port", "\(epmdPort)", "--log-level", "warning"]
                + (tlsOptionFile.map { ["--proto-dist", "inet_tls", "--ssl-dist-optfile", $0] } ?? []),
              environment: epmdEnv, guarded: true, log: work.appendingPathComponent("swrecv.log"))
}

var otpReceiver = try await startOTPReceiver()
var swiftReceiver = try startSwiftReceiver()
let otpDriver = try Child("OTP driver", options.erl, ["-sname", "otpdrv\(tag)"] + erlFlags + ["-run", "dist_bench", "driver"],
                          environment: epmdEnv, log: work.appendingPathComponent("otpdrv.log"))

var driverConfig = NodeConfiguration(name: Atom("swdrv\(tag)@\(host)"), nameKind: .short, cookie: cookie)
driverConfig.hidden = true
driverConfig.bindAddress = "127.0.0.1"
driverConfig.discovery = .epmd(port: epmdPort, startEmbedded: false)
if let tlsOptionFile { driverConfig.transport = try TLSTransport(optionFile: tlsOptionFile, logger: Logger(label: "dist-bench")) }
var driverLogger = Logger(label: "dist-bench")
driverLogger.logLevel = .warning
let swiftDriver = try await Node.start(driverConfig, logger: driverLogger)

// Readiness: the Swift receiver is ready once it answers a ping; the OTP driver once it answers a command.
do {
    let deadline = ContinuousClock.now + .seconds(30)
    while !(await swiftDriver.ping(swiftRecvName, timeout: .seconds(2))) {
        guard ContinuousClock.now < deadline else {
            throw BenchError.failed("Swift receiver did not come up: \(swiftReceiver.text.suffix(500))")
        }
        try await Task.sleep(for: .milliseconds(100))
    }
    _ = try await otpDriver.command("{local, 10, 5000}.", timeout: .seconds(30))
}
let otpReceiverPid = await otpReceiver.workerPid()
var swiftReceiverPid = await swiftReceiver.workerPid()
let otpDriverPid = await otpDriver.workerPid()

@MainActor func receiverName(_ pairing: String) -> Atom { pairing.hasSuffix("->OTP") ? otpRecvName : swiftRecvName }
@MainActor func senderIsOTP(_ pairing: String) -> Bool { pairing.hasPrefix("OTP->") }
@MainActor func erlTimeout() -> Int { Int(sizes.timeout.components.seconds) * 1000 }

/// CPU seconds of the sender and receiver OS processes of a pairing (this process stands for the Swift driver).
@MainActor func pairCPU(_ pairing: String) -> Double {
    let sender = senderIsOTP(pairing) ? otpDriverPid : getpid()
    let receiver = pairing.hasSuffix("->OTP") ? otpReceiverPid : swiftReceiverPid
    return cpuSeconds(pid: sender) + cpuSeconds(pid: receiver)
}

/// After a failed run a receiver's `sink` may still be counting: restart the receivers so later runs start clean.
@MainActor func recoverAfterFailure(_ pairing: String) async {
    say("  restarting the receiver after a failure")
    if pairing.hasSuffix("->OTP") {
        otpReceiver.stop()
        if let c = try? await startOTPReceiver() { otpReceiver = c }
    } else {
        swiftReceiver.stop()
        if let c = try? startSwiftReceiver() {
            swiftReceiver = c
            swiftReceiverPid = await c.workerPid()
            let deadline = ContinuousClock.now + .seconds(30)
            while !(await swiftDriver.ping(swiftRecvName, timeout: .seconds(2))), ContinuousClock.now < deadline {
                try? await Task.sleep(for: .milliseconds(100))
            }
        }
    }
}

/// Runs `body` for every repetition and pairing (interleaved), recording into the rows the body returns.
@MainActor func eachPairing(_ ids: [String], reps: Int = sizes.reps, _ body: (String) async throws -> [Double]) async {
    var failed: Set<String> = []
    for rep in 1...max(1, reps) {
        for pairing in pairings where !failed.contains(pairing) {
            if elapsedSeconds() > sizes.timeLimit - 30 { return }
            do {
                let values = try await body(pairing)
                for (id, v) in zip(ids, values) { results.add(id, pairing, v) }
            } catch {
                say("  \(ids[0]) \(pairing) rep \(rep): \(error)")
                for id in ids { results.fail(id, pairing, error is CancellationError ? "cancelled" : "failed") }
                failed.insert(pairing)
                await recoverAfterFailure(pairing)
            }
        }
    }
}

// MARK: (1) small-message throughput and (3) bulk

@MainActor func oneWay(_ pairing: String, count: Int, senders: Int, size: Int) async throws -> (micros: Double, cpu: Double) {
    let peer = receiverName(pairing)
    let cpu0 = pairCPU(pairing)
    let micros: Double
    if senderIsOTP(pairing) {
        let w = try await otpDriver.command("{send, '\(peer)', \(count), \(senders), \(size), \(erlTimeout())}.",
                                            timeout: sizes.timeout + .seconds(5))
        micros = Double(w.first ?? "") ?? .nan
    } else {
        micros = try await SwiftSide.send(swiftDriver, to: peer, count: count, senders: senders, size: size,
                                          timeout: sizes.timeout)
    }
    return (micros, pairCPU(pairing) - cpu0)
}

if wanted("throughput") {
    for senders in [1, 4] {
        let id = "tp\(senders)", cpuID = "tpcpu\(senders)"
        results.define(id, "1. small messages `{hi, 123}`", "\(senders) sender\(senders > 1 ? "s" : ""), \(sizes.messages) msgs",
                       "msg/s", lowerIsBetter: false)
        results.define(cpuID, "1. small messages `{hi, 123}`", "\(senders) sender\(senders > 1 ? "s" : ""): CPU both sides",
                       "µs/msg", lowerIsBetter: true)
        say("throughput, \(senders) sender(s)")
        await eachPairing([id, cpuID]) { pairing in
            let r = try await oneWay(pairing, count: sizes.messages, senders: senders, size: 0)
            return [Double(sizes.messages) / (r.micros / 1e6), r.cpu * 1e6 / Double(sizes.messages)]
        }
    }
}

// MARK: (2) ping-pong

if wanted("pingpong") {
    let ids = ["pp50", "pp99", "ppmean"]
    for (id, m) in zip(ids, ["p50", "p99", "mean"]) {
        results.define(id, "2. ping-pong via `server`", "\(m) of \(sizes.roundTrips) round trips", "µs", lowerIsBetter: true)
    }
    say("ping-pong")
    await eachPairing(ids) { pairing in
        let peer = receiverName(pairing)
        if senderIsOTP(pairing) {
            let w = try await otpDriver.command("{pingpong, '\(peer)', \(sizes.roundTrips), \(erlTimeout())}.",
                                                timeout: sizes.timeout + .seconds(5))
            return w.compactMap(Double.init)
        }
        return try await SwiftSide.pingPong(swiftDriver, to: peer, count: sizes.roundTrips, timeout: sizes.timeout)
    }
}

// MARK: (2b) gen_server calls

if wanted("gencall") {
    // Sequential gen_server calls `incr` from one process: OTP's `counter` (dist_bench.erl) called with
    // gen_server:call/3, the Swift receiver's `counter` (the demo node's GenServer under demo_sup) called with the
    // library's ErlangProcess.call; and the same through distributed actors: the Swift driver's typed client
    // ($BenchCounter) of the demo node's `counter_actor` (a distributed actor under actor_sup) or of OTP's
    // `counter`, and OTP's gen_server:call into `counter_actor`. In the actor row OTP->OTP is gen_server:call
    // again, measured in the same run, so that both rows have their baseline.
    results.define("gencall", "2b. gen_server calls, GenServer `counter`", "\(sizes.roundTrips) sequential calls", "calls/s",
                   lowerIsBetter: false)
    results.define("gencall_actor", "2c. gen_server calls, distributed actor `counter_actor`", "\(sizes.roundTrips) sequential calls", "calls/s",
                   lowerIsBetter: false)
    say("gen_server calls")
    let actorSystem = ErlangActorSystem(node: swiftDriver, callTimeout: sizes.timeout)
    await eachPairing(["gencall", "gencall_actor"]) { pairing in
        let peer = receiverName(pairing)
        let actorName: Atom = pairing.hasSuffix("->Swift") ? "counter_actor" : "counter"
        func otp(_ name: Atom) async throws -> Double {
            let w = try await otpDriver.command("{gencall, '\(peer)', '\(name)', \(sizes.roundTrips), \(erlTimeout())}.",
                                                timeout: sizes.timeout + .seconds(5))
            return Double(w.first ?? "") ?? .nan
        }
        let server, actor: Double
        if senderIsOTP(pairing) {
            server = try await otp("counter")
            actor = try await otp(actorName)
        } else {
            server = try await SwiftSide.genCalls(swiftDriver, to: "counter", on: peer, count: sizes.roundTrips, timeout: sizes.timeout)
            actor = try await SwiftSide.actorCalls(actorSystem, to: actorName, on: peer, count: sizes.roundTrips)
        }
        return [Double(sizes.roundTrips) / (server / 1e6), Double(sizes.roundTrips) / (actor / 1e6)]
    }
}

// MARK: (2d) parallel gen_server calls

if wanted("gencallpar") {
    // As Ergo measured itself against OTP: 120 client processes on the driver node, each calling its own gen_server
    // on the receiver node (`{echo, Payload}` answered with Payload) back to back for the window; the servers are
    // started by rpc (dist_bench:echo_servers/1 on OTP, s:echo_servers/1 on the Swift demo node) and stopped after.
    // A 10 s window is long enough to be steady, so one repetition unless --reps says otherwise.
    let clients = 120
    let window: Duration = options.smoke ? .seconds(1) : .seconds(10)
    let kinds = [("int", "an integer"), ("tuple10", "a 10-tuple"), ("map10", "a 10-key map"), ("pids200", "a list of 200 pids")]
    var ids: [String] = []
    for (kind, label) in kinds {
        results.define("gcp-\(kind)", "2d. gen_server calls, \(clients) clients -> \(clients) servers", "\(label), \(window.components.seconds) s", "calls/s",
                       lowerIsBetter: false)
        results.define("gcpcpu-\(kind)", "2d. gen_server calls, \(clients) clients -> \(clients) servers", "\(label): CPU both sides", "µs/msg",
                       lowerIsBetter: true)
        ids += ["gcp-\(kind)", "gcpcpu-\(kind)"]
    }
    say("parallel gen_server calls")
    await eachPairing(ids, reps: options.reps ?? 1) { pairing in
        let peer = receiverName(pairing)
        let module: Atom = pairing.hasSuffix("->OTP") ? "dist_bench" : "s"
        var values: [Double] = []
        for (kind, _) in kinds {
            let cpu0 = pairCPU(pairing)
            let calls: Double, us: Double
            if senderIsOTP(pairing) {
                let w = try await otpDriver.command(
                    "{gencall_par, '\(peer)', '\(module)', \(clients), \(kind), \(window.components.seconds * 1000), \(erlTimeout())}.",
                    timeout: window + sizes.timeout + .seconds(5))
                guard w.count == 2, let c = Double(w[0]), let u = Double(w[1]) else { throw BenchError.failed("gencall_par: \(w)") }
                (calls, us) = (c, u)
            } else {
                let r = try await SwiftSide.parallelCalls(swiftDriver, on: peer, module: module, clients: clients, kind: kind,
                                                          duration: window, timeout: sizes.timeout)
                (calls, us) = (Double(r.calls), r.micros)
            }
            let cpu = pairCPU(pairing) - cpu0
            values += [calls / (us / 1e6), cpu * 1e6 / calls]
        }
        return values
    }
}

// MARK: (2e) fan-out and many connections

if wanted("fanout") {
    // One sender to 1,000 processes on another node (module echo: s:echo/0 on Swift, dist_bench:echo/0 on OTP).
    let n = options.smoke ? 100 : 1000, k = options.smoke ? 10 : 100
    results.define("fanout", "2e. fan-out", "1 sender -> \(n) processes on another node x \(k) rounds", "msg/s", lowerIsBetter: false)
    results.define("fanoutcpu", "2e. fan-out", "\(n) x \(k): CPU both sides", "µs/msg", lowerIsBetter: true)
    say("fan-out")
    await eachPairing(["fanout", "fanoutcpu"]) { pairing in
        let peer = receiverName(pairing)
        let module: Atom = pairing.hasSuffix("->OTP") ? "dist_bench" : "s"
        let cpu0 = pairCPU(pairing)
        let us: Double
        if senderIsOTP(pairing) {
            let w = try await otpDriver.command("{fanout, '\(peer)', \(module), \(n), \(k), \(erlTimeout())}.",
                                                timeout: sizes.timeout + .seconds(15))
            us = Double(w.first ?? "") ?? .nan
        } else {
            us = try await SwiftSide.fanOut(swiftDriver, to: peer, module: module, processes: n, rounds: k, timeout: sizes.timeout)
        }
        let count = Double(n * k)
        return [count / (us / 1e6), (pairCPU(pairing) - cpu0) * 1e6 / count]
    }
}

if wanted("manyconn") {
    // 16 peer nodes sending to one node at once, each over its own connection: OTP's are peer nodes of the OTP
    // driver (OTP's `peer` module, started per run, outside the timing), Swift's are 16 hidden nodes in this process.
    let peers = options.smoke ? 4 : 16, n = sizes.messages
    results.define("manyconn", "2f. many connections", "\(peers) nodes -> 1 node at once, \(n) msgs in all", "msg/s", lowerIsBetter: false)
    say("many connections")
    var senders: [Node] = []
    do {
        for i in 0..<peers {
            var config = driverConfig
            config.name = Atom("swmc\(i)x\(tag)@\(host)")
            senders.append(try await Node.start(config, logger: driverLogger))
        }
        await eachPairing(["manyconn"]) { pairing in
            let peer = receiverName(pairing)
            let us: Double
            if senderIsOTP(pairing) {
                let w = try await otpDriver.command("{manyconn, '\(peer)', \(peers), \(n), \(erlTimeout())}.",
                                                    timeout: sizes.timeout + .seconds(60))
                us = Double(w.first ?? "") ?? .nan
            } else {
                us = try await SwiftSide.manyConnections(swiftDriver, senders: senders, to: peer, count: n, timeout: sizes.timeout)
            }
            return [Double(n) / (us / 1e6)]
        }
    } catch {
        say("  many connections: \(error)")
        results.fail("manyconn", "Swift->Swift", "failed")
    }
    for node in senders { await node.shutdown() }
}

// MARK: (3) bulk

if wanted("bulk") {
    for bulk in sizes.bulk {
        let id = "bulk\(bulk.size)", cpuID = "bulkcpu\(bulk.size)"
        let mib = bulk.total >> 20
        results.define(id, "3. bulk binaries", "\(bulk.label) one-way, \(mib) MiB total", "MB/s", lowerIsBetter: false)
        results.define(cpuID, "3. bulk binaries", "\(bulk.label): CPU both sides", "µs/msg", lowerIsBetter: true)
        say("bulk \(bulk.label)")
        let count = bulk.total / bulk.size
        for _ in 1...sizes.reps {
            // Raw loopback TCP in the same run, once per repetition, next to the distribution figures.
            if let raw = try? rawLoopbackTCP(chunk: bulk.size, total: bulk.total) { results.add(id, "raw TCP", raw) }
        }
        await eachPairing([id, cpuID]) { pairing in
            let r = try await oneWay(pairing, count: count, senders: 1, size: bulk.size)
            return [Double(bulk.total) / (r.micros / 1e6) / 1e6, r.cpu * 1e6 / Double(count)]
        }
    }
}

// MARK: (4) connection setup

if wanted("connect") {
    results.define("conn", "4. connection setup", "EPMD lookup + handshake, median of \(sizes.connects)", "µs",
                   lowerIsBetter: true)
    say("connection setup")
    await eachPairing(["conn"]) { pairing in
        let peer = receiverName(pairing)
        if senderIsOTP(pairing) {
            let w = try await otpDriver.command("{connect, '\(peer)', \(sizes.connects), \(erlTimeout())}.",
                                                timeout: sizes.timeout + .seconds(5))
            return w.compactMap(Double.init)
        }
        return [try await SwiftSide.connect(swiftDriver, to: peer, times: sizes.connects, timeout: sizes.timeout)]
    }
}

// MARK: (7) processes

if wanted("processes") {
    results.define("local", "7. processes (one node)", "local messages, \(sizes.localMessages) between two processes",
                   "msg/s", lowerIsBetter: false)
    results.define("spawn", "7. processes (one node)", "spawn \(sizes.processes) idle processes", "s", lowerIsBetter: true)
    results.define("procmem", "7. processes (one node)", "memory per idle process (RSS delta)", "bytes", lowerIsBetter: true)
    results.define("spawnh", "7. processes (one node)", "spawn \(sizes.processes) hibernating processes", "s", lowerIsBetter: true)
    results.define("procmemh", "7. processes (one node)", "memory per hibernating process (RSS delta)", "bytes", lowerIsBetter: true)
    say("processes")
    for _ in 1...sizes.reps {
        do {
            let us = try await SwiftSide.local(swiftDriver, count: sizes.localMessages, timeout: sizes.timeout)
            results.add("local", "Swift", Double(sizes.localMessages) / (us / 1e6))
        } catch { results.fail("local", "Swift", "failed"); say("  local Swift: \(error)") }
        do {
            let w = try await otpDriver.command("{local, \(sizes.localMessages), \(erlTimeout())}.", timeout: sizes.timeout + .seconds(5))
            results.add("local", "OTP", Double(sizes.localMessages) / ((Double(w.first ?? "") ?? .nan) / 1e6))
        } catch { results.fail("local", "OTP", "failed"); say("  local OTP: \(error)") }
        // Processes blocked in receive, then processes that hibernate (erlang:hibernate/3 on both sides).
        for (mode, spawnKey, memKey) in [("wait", "spawn", "procmem"), ("hibernate", "spawnh", "procmemh")] {
            do {
                let out = try await runTool("procs Swift", CommandLine.arguments[0], ["--procs-child", "\(sizes.processes)", mode],
                                            timeout: sizes.timeout)
                let w = out.split(separator: "\n").first { $0.hasPrefix("RESULT") }?.split(separator: " ") ?? []
                if w.count >= 3, let us = Double(w[1]), let bytes = Double(w[2]) {
                    results.add(spawnKey, "Swift", us / 1e6)
                    results.add(memKey, "Swift", bytes)
                }
            } catch { results.fail(spawnKey, "Swift", "failed"); say("  spawn Swift (\(mode)): \(error)") }
            do {
                let out = try await runTool("procs OTP", options.erl,
                                            ["-noshell", "+P", "\(max(2 * sizes.processes, 1 << 18))", "-pa", ebin.path,
                                             "-run", "dist_bench", "procs", "\(sizes.processes)", mode], timeout: sizes.timeout)
                let w = out.split(separator: "\n").first { $0.hasPrefix("RESULT") }?.split(separator: " ") ?? []
                if w.count >= 3, let us = Double(w[1]), let bytes = Double(w[2]) {
                    results.add(spawnKey, "OTP", us / 1e6)
                    results.add(memKey, "OTP", bytes)
                }
            } catch { results.fail(spawnKey, "OTP", "failed"); say("  spawn OTP (\(mode)): \(error)") }
        }
    }
}

// MARK: (8) pg fan-out

// Issue 14: one process sends to every member of a pg group (pg:get_members, then a message to each), K rounds:
// to N subscribers on its own node ("local": Swift vs OTP), and to N subscribers on another node, which echo every
// message back (each pairing; sender and receiver nodes are visible, since pg ignores hidden ones: an OTP receiver
// and an OTP driver started for this section, the usual Swift receiver, and a visible in-process Swift node).
if wanted("pgfan") {
    let n = options.smoke ? 50 : 1000
    let kLocal = options.smoke ? 10 : 100, kRemote = options.smoke ? 5 : 20
    results.define("pgfanlocal", "8. pg fan-out", "\(n) local subscribers x \(kLocal) rounds", "ms", lowerIsBetter: true)
    results.define("pgfanremote", "8. pg fan-out", "\(n) subscribers on the receiver x \(kRemote) rounds, echoed back", "ms",
                   lowerIsBetter: true)
    say("pg fan-out")
    do {
        let visibleFlags = erlFlags.filter { $0 != "-hidden" }
        let pgRecvName = Atom("otppgrecv\(tag)@\(host)")
        let pgRecv = try Child("OTP pg receiver", options.erl, ["-sname", "otppgrecv\(tag)"] + visibleFlags + ["-run", "dist_bench", "serve"],
                               environment: epmdEnv, log: work.appendingPathComponent("otppgrecv.log"))
        defer { pgRecv.stop() }
        guard await pgRecv.line(startingWith: "READY", after: 0, timeout: .seconds(30)) != nil else {
            throw BenchError.failed("OTP pg receiver did not start")
        }
        let pgDriver = try Child("OTP pg driver", options.erl, ["-sname", "otppgdrv\(tag)"] + visibleFlags + ["-run", "dist_bench", "driver"],
                                 environment: epmdEnv, log: work.appendingPathComponent("otppgdrv.log"))
        defer { pgDriver.stop() }
        var pgConfig = driverConfig
        pgConfig.name = Atom("swpgdrv\(tag)@\(host)")
        pgConfig.hidden = false
        let swiftPG = try await Node.start(pgConfig, logger: driverLogger)
        let timeoutMs = erlTimeout()
        for _ in 1...sizes.reps {
            if elapsedSeconds() > sizes.timeLimit - 30 { break }
            do {
                let w = try await pgDriver.command("{pgfan_local, \(n), \(kLocal), \(timeoutMs)}.", timeout: sizes.timeout + .seconds(5))
                results.add("pgfanlocal", "OTP", (Double(w.first ?? "") ?? .nan) / 1000)
            } catch { results.fail("pgfanlocal", "OTP", "failed"); say("  pg fan-out local OTP: \(error)") }
            do {
                let us = try await SwiftSide.pgFanLocal(swiftPG, subscribers: n, rounds: kLocal, timeout: sizes.timeout)
                results.add("pgfanlocal", "Swift", us / 1000)
            } catch { results.fail("pgfanlocal", "Swift", "failed"); say("  pg fan-out local Swift: \(error)") }
            for pairing in pairings {
                let toOTP = pairing.hasSuffix("->OTP")
                let peer = toOTP ? pgRecvName : swiftRecvName
                let module = toOTP ? "dist_bench" : "s"
                do {
                    let us: Double
                    if senderIsOTP(pairing) {
                        let w = try await pgDriver.command("{pgfan_remote, '\(peer)', \(module), \(n), \(kRemote), \(timeoutMs)}.",
                                                           timeout: sizes.timeout + .seconds(15))
                        us = Double(w.first ?? "") ?? .nan
                    } else {
                        us = try await SwiftSide.pgFanRemote(swiftPG, to: peer, module: Atom(module), subscribers: n,
                                                             rounds: kRemote, timeout: sizes.timeout)
                    }
                    results.add("pgfanremote", pairing, us / 1000)
                } catch { results.fail("pgfanremote", pairing, "failed"); say("  pg fan-out \(pairing): \(error)") }
            }
        }
        await swiftPG.shutdown()
    } catch {
        say("  pg fan-out: \(error)")
        results.fail("pgfanlocal", "Swift", "failed")
    }
}

// MARK: (7) the cost of metrics

// Issue 16: Swift->Swift small messages with metrics on (the receiver started with --metrics-port, which bootstraps
// swift-prometheus for the whole process; the sender a node with its own Prometheus factory) against the same with
// metrics off (the usual receiver and driver), interleaved, in which order alternating by repetition.
if wanted("metrics") {
    for senders in [1, 4] {
        results.define("mcost\(senders)", "7. metrics cost, Swift->Swift small messages",
                       "\(senders) sender\(senders > 1 ? "s" : ""), \(sizes.messages) msgs", "msg/s", lowerIsBetter: false)
        results.define("mcostcpu\(senders)", "7. metrics cost, Swift->Swift small messages",
                       "\(senders) sender\(senders > 1 ? "s" : ""): CPU both sides", "µs/msg", lowerIsBetter: true)
    }
    say("metrics cost")
    do {
        let metricsPort = try freePort()
        let meteredName = Atom("swrecvm\(tag)@\(host)")
        let metered = try Child("Swift receiver with metrics", options.erlangNode,
                                ["start", "--sname", "swrecvm\(tag)", "--cookie", cookie, "--epmd-port", "\(epmdPort)",
                                 "--log-level", "warning", "--metrics-port", "\(metricsPort)"],
                                environment: epmdEnv, guarded: true, log: work.appendingPathComponent("swrecvm.log"))
        defer { metered.stop() }
        let meteredPid = await metered.workerPid()
        var meteredConfig = driverConfig
        meteredConfig.name = Atom("swdrvm\(tag)@\(host)")
        meteredConfig.metricsFactory = PrometheusMetricsFactory(registry: PrometheusCollectorRegistry())
        let meteredDriver = try await Node.start(meteredConfig, logger: driverLogger)
        let deadline = ContinuousClock.now + .seconds(30)
        while !(await meteredDriver.ping(meteredName, timeout: .seconds(2))) {
            guard ContinuousClock.now < deadline else { throw BenchError.failed("metered receiver: \(metered.text.suffix(300))") }
            try await Task.sleep(for: .milliseconds(100))
        }
        for rep in 1...sizes.reps {
            for senders in [1, 4] {
                if elapsedSeconds() > sizes.timeLimit - 30 { break }
                for on in rep % 2 == 0 ? [true, false] : [false, true] {
                    let receiverPid = on ? meteredPid : swiftReceiverPid
                    let cpu0 = cpuSeconds(pid: getpid()) + cpuSeconds(pid: receiverPid)
                    let micros = try await SwiftSide.send(on ? meteredDriver : swiftDriver, to: on ? meteredName : swiftRecvName,
                                                          count: sizes.messages, senders: senders, size: 0, timeout: sizes.timeout)
                    let cpu = cpuSeconds(pid: getpid()) + cpuSeconds(pid: receiverPid) - cpu0
                    let column = on ? "metrics on" : "metrics off"
                    results.add("mcost\(senders)", column, Double(sizes.messages) / (micros / 1e6))
                    results.add("mcostcpu\(senders)", column, cpu * 1e6 / Double(sizes.messages))
                }
            }
        }
        // The metrics were really on: the receiver's endpoint counts what it received.
        let scrape = try await runTool("curl", "/usr/bin/curl", ["-sf", "http://127.0.0.1:\(metricsPort)/metrics"], timeout: .seconds(10))
        let received = scrape.split(separator: "\n").filter { $0.hasPrefix("erlang_node_messages_received_total") }
            .compactMap { $0.split(separator: " ").last.flatMap { Double($0) } }.reduce(0, +)
        say("  metered receiver counted \(Int(received)) messages received")
        if received < Double(sizes.messages) { results.fail("mcost1", "metrics on", "metrics not counting") }
        await meteredDriver.shutdown()
    } catch {
        say("  metrics cost: \(error)")
        results.fail("mcost1", "metrics on", "failed")
    }
}

// The distribution nodes are no longer needed: stop them before the EPMD and ETF runs.
await swiftDriver.shutdown()
otpDriver.stop()
otpReceiver.stop()
swiftReceiver.stop()
epmdChild.stop()

// MARK: (5) EPMD, through epmd-bench (the real epmd vs swift-epmd, same raw client)

var epmdOutput = ""
if wanted("epmd") {
    say("EPMD (epmd-bench)")
    let figures = [("PORT_PLEASE2 lookups/s, sequential", "epmd1", "PORT_PLEASE2 lookups, 1 client"),
                   ("PORT_PLEASE2 lookups/s, 8 clients", "epmd8", "PORT_PLEASE2 lookups, 8 clients"),
                   ("registration churn (register+close)/s", "epmdchurn", "ALIVE2 register + close")]
    for (_, id, metric) in figures { results.define(id, "5. EPMD", metric, "lookups/s", lowerIsBetter: false) }
    // Several rounds per repetition: epmd-bench alternates which daemon goes first in each round.
    let args = options.smoke ? ["--seconds", "0.2", "--rounds", "1"] : ["--seconds", "1", "--rounds", "4"]
    for _ in 1...sizes.reps {
        do {
            let out = try await runTool("epmd-bench", options.epmdBench,
                                        ["--swift-epmd", options.swiftEPMD, "--epmd", options.epmd] + args,
                                        timeout: .seconds(120))
            epmdOutput = out
            for line in out.split(separator: "\n") {
                for (name, id, _) in figures where line.hasPrefix(name) {
                    let w = line.dropFirst(name.count).split(separator: " ")
                    if w.count >= 2, let real = Double(w[0]), let ours = Double(w[1]) {
                        results.add(id, "OTP", real)
                        results.add(id, "Swift", ours)
                    }
                }
            }
        } catch { say("  epmd-bench: \(error)"); results.fail("epmd1", "Swift", "failed") }
    }
}

// MARK: (6) ETF, through etf-compare

var etfItems: [String] = []
if wanted("etf") {
    say("ETF (etf-compare)")
    func parseRate(_ s: Substring) -> Double? {
        let t = s.trimmingCharacters(in: .whitespaces)
        if t.hasSuffix("M") { return Double(t.dropLast()).map { $0 * 1e6 } }
        if t.hasSuffix("k") { return Double(t.dropLast()).map { $0 * 1e3 } }
        return Double(t)
    }
    for _ in 1...sizes.reps {
        do {
            let out = try await runTool("etf-compare", options.etfCompare,
                                        ["--repo", options.repo, "--erl", options.erl, "--erlc", options.erlc]
                                            + (options.smoke ? ["--quick"] : []),
                                        timeout: .seconds(300))
            for line in out.split(separator: "\n") where line.hasPrefix("| ") && !line.hasPrefix("| item") {
                let f = line.split(separator: "|", omittingEmptySubsequences: false).dropFirst().map { $0 }
                guard f.count >= 7, let ds = parseRate(f[1]), let d = parseRate(f[2]), let es = parseRate(f[4]),
                      let e = parseRate(f[5]) else { continue }
                let item = f[0].trimmingCharacters(in: .whitespaces)
                if !etfItems.contains(item) { etfItems.append(item) }
                results.define("etfd-\(item)", "6. ETF decode", item, "ops/s", lowerIsBetter: false)
                results.define("etfe-\(item)", "6. ETF encode", item, "ops/s", lowerIsBetter: false)
                results.add("etfd-\(item)", "Swift", ds)
                results.add("etfd-\(item)", "OTP", d)
                results.add("etfe-\(item)", "Swift", es)
                results.add("etfe-\(item)", "OTP", e)
            }
        } catch { say("  etf-compare: \(error)") }
    }
}

// MARK: report

let loadAtEnd = loadAverage()
let runSeconds = elapsedSeconds()

@MainActor func distTable() -> String {
    let header = ["workload", "metric", "unit"] + pairings + ["S->S / O->O", "O->S / O->O", "S->O / O->O", "raw TCP"]
    var rows: [[String]] = []
    for r in results.rows where r.cells.keys.contains(where: pairings.contains) || r.notes.keys.contains(where: pairings.contains) {
        rows.append([r.workload, r.metric, r.unit] + pairings.map { Format.cell(r, $0) }
                    + ["Swift->Swift", "OTP->Swift", "Swift->OTP"].map { Format.ratio(r, $0, "OTP->OTP") }
                    + [r.cells["raw TCP"] == nil ? "" : Format.cell(r, "raw TCP")])
    }
    return Format.table(header, rows, rightAlignFrom: 3)
}

@MainActor func localTable() -> String {
    var rows: [[String]] = []
    for r in results.rows where r.cells["Swift"] != nil || r.cells["OTP"] != nil || r.notes["Swift"] != nil {
        rows.append([r.workload, r.metric, r.unit, Format.cell(r, "Swift"), Format.cell(r, "OTP"), Format.ratio(r, "Swift", "OTP")])
    }
    return Format.table(["workload", "metric", "unit", "Swift", "OTP", "Swift/OTP"], rows, rightAlignFrom: 3)
}

@MainActor func metricsTable() -> String {
    var rows: [[String]] = []
    for r in results.rows where r.cells["metrics on"] != nil || r.cells["metrics off"] != nil || r.notes["metrics on"] != nil {
        rows.append([r.workload, r.metric, r.unit, Format.cell(r, "metrics off"), Format.cell(r, "metrics on"),
                     Format.ratio(r, "metrics on", "metrics off")])
    }
    return Format.table(["workload", "metric", "unit", "metrics off", "metrics on", "on/off"], rows, rightAlignFrom: 3)
}

/// Ratio of medians, or nil.
@MainActor func ratio(_ id: String, _ a: String, _ b: String) -> Double? {
    guard let x = results.median(id, a), let y = results.median(id, b), y > 0 else { return nil }
    return x / y
}
@MainActor func fx(_ v: Double?) -> String { v.map { String(format: "%.2fx", $0) } ?? "n/a" }
@MainActor func pct(_ v: Double?) -> String { v.map { String(format: "%.0f%%", $0 * 100) } ?? "n/a" }
@MainActor func verdict(_ ok: Bool?) -> String { ok == nil ? "**not measured**" : ok! ? "**met**" : "**not met**" }

@MainActor func goals() -> String {
    var out = ""
    // Throughput.
    let tp = [1, 4].map { ratio("tp\($0)", "Swift->Swift", "OTP->OTP") }
    let mixed = [1, 4].flatMap { s in ["OTP->Swift", "Swift->OTP"].map { ratio("tp\(s)", $0, "OTP->OTP") } }
    let tpOK: Bool? = tp.contains(where: { $0 == nil }) ? nil : tp.allSatisfy { $0! >= 3.0 }
    let mixedOK: Bool? = mixed.contains(where: { $0 == nil }) ? nil : mixed.allSatisfy { $0! >= 1.0 }
    out += "- Small-message throughput, Swift->Swift >= 3.0x OTP->OTP: \(verdict(tpOK)) (1 sender \(fx(tp[0])), 4 senders \(fx(tp[1]))).\n"
    out += "- OTP->Swift and Swift->OTP >= 1.0x OTP->OTP: \(verdict(mixedOK)) (1 sender: \(fx(mixed[0])) / \(fx(mixed[1])); 4 senders: \(fx(mixed[2])) / \(fx(mixed[3]))).\n"
    let pp = ratio("pp50", "Swift->Swift", "OTP->OTP")
    out += "- Ping-pong p50 <= 0.8x OTP: \(verdict(pp.map { $0 <= 0.8 })) (Swift->Swift p50 \(fx(pp)) of OTP->OTP).\n"
    let gc = ratio("gencall", "Swift->Swift", "OTP->OTP"), ga = ratio("gencall_actor", "Swift->Swift", "OTP->OTP")
    out += "- gen_server calls/s Swift->Swift vs OTP->OTP gen_server:call: GenServer \(fx(gc)), distributed actors \(fx(ga)) (OTP->Swift: GenServer \(fx(ratio("gencall", "OTP->Swift", "OTP->OTP"))), actor \(fx(ratio("gencall_actor", "OTP->Swift", "OTP->OTP"))); Swift->OTP: call \(fx(ratio("gencall", "Swift->OTP", "OTP->OTP"))), actor client \(fx(ratio("gencall_actor", "Swift->OTP", "OTP->OTP")))).\n"
    let gcpKinds = ["int", "tuple10", "map10", "pids200"]
    let gcpSS = gcpKinds.map { ratio("gcp-\($0)", "Swift->Swift", "OTP->OTP") }
    let gcpOS = gcpKinds.map { ratio("gcp-\($0)", "OTP->Swift", "OTP->OTP") }
    let gcpOK: Bool? = (gcpSS + gcpOS).contains(where: { $0 == nil }) ? nil
        : gcpSS.allSatisfy { $0! >= 2.0 } && gcpOS.allSatisfy { $0! >= 1.2 }
    out += "- gen_server calls, 120 clients -> 120 servers: Swift->Swift >= 2x OTP->OTP and OTP->Swift >= 1.2x for every payload: \(verdict(gcpOK)) (Swift->Swift \(zip(gcpKinds, gcpSS).map { "\($0) \(fx($1))" }.joined(separator: ", ")); OTP->Swift \(zip(gcpKinds, gcpOS).map { "\($0) \(fx($1))" }.joined(separator: ", ")); Swift->OTP \(gcpKinds.map { "\($0) \(fx(ratio("gcp-\($0)", "Swift->OTP", "OTP->OTP")))" }.joined(separator: ", "))).\n"
    let fanRatios = ["fanout", "manyconn"].map { id in ["Swift->Swift", "OTP->Swift", "Swift->OTP"].map { fx(ratio(id, $0, "OTP->OTP")) }.joined(separator: " / ") }
    out += "- Fan-out to 1,000 processes on another node and 16 connections at once (no goal; Swift->Swift / OTP->Swift / Swift->OTP vs OTP->OTP): fan-out \(fanRatios[0]); many connections \(fanRatios[1]).\n"
    if let big = sizes.bulk.last {
        let id = "bulk\(big.size)"
        let s = ratio(id, "Swift->Swift", "raw TCP"), o = ratio(id, "OTP->OTP", "raw TCP")
        out += "- Bulk \(big.label) >= 90% of raw loopback TCP: \(verdict(s.map { $0 >= 0.9 })) (Swift->Swift \(pct(s)), OTP->OTP \(pct(o)), OTP->Swift \(pct(ratio(id, "OTP->Swift", "raw TCP"))), Swift->OTP \(pct(ratio(id, "Swift->OTP", "raw TCP"))) of raw TCP).\n"
    }
    let etf = etfItems.flatMap { item in ["etfd-\(item)", "etfe-\(item)"].compactMap { ratio($0, "Swift", "OTP") } }
    if !etf.isEmpty {
        let below = etfItems.flatMap { item in
            [("decode", "etfd-\(item)"), ("encode", "etfe-\(item)")].compactMap { op, id -> String? in
                guard let r = ratio(id, "Swift", "OTP"), r < 1.5 else { return nil }
                return "\(item) \(op) \(fx(r))"
            }
        }
        out += "- ETF >= 1.5x OTP per item: \(verdict(below.isEmpty)) (\(etf.count - below.count) of \(etf.count) item/operation pairs at >= 1.5x\(below.isEmpty ? "" : "; below: " + below.joined(separator: ", "))).\n"
    } else {
        out += "- ETF >= 1.5x OTP per item: **not measured**.\n"
    }
    let e1 = ratio("epmd1", "Swift", "OTP"), e8 = ratio("epmd8", "Swift", "OTP")
    out += "- EPMD lookups >= 1.5x: \(verdict(e1.flatMap { a in e8.map { a >= 1.5 && $0 >= 1.5 } })) (1 client \(fx(e1)), 8 clients \(fx(e8))).\n"
    let mem = results.median("procmem", "Swift"), spawn = ratio("spawn", "Swift", "OTP")
    let memH = results.median("procmemh", "Swift"), spawnH = ratio("spawnh", "Swift", "OTP")
    func bytes(_ key: String, _ side: String) -> String { results.median(key, side).map { String(format: "%.0f", $0) } ?? "n/a" }
    out += "- A million idle processes at <= 1 KB each: waiting in receive \(verdict(mem.map { $0 <= 1024 })) (Swift \(bytes("procmem", "Swift")) B, OTP \(bytes("procmem", "OTP")) B per process); hibernating \(verdict(memH.map { $0 <= 1024 })) (Swift \(bytes("procmemh", "Swift")) B, OTP \(bytes("procmemh", "OTP")) B).\n"
    let m1 = ratio("mcost1", "metrics on", "metrics off"), m4 = ratio("mcost4", "metrics on", "metrics off")
    let c1 = ratio("mcostcpu1", "metrics on", "metrics off"), c4 = ratio("mcostcpu4", "metrics on", "metrics off")
    out += "- Metrics cost (issue 16), Swift->Swift small messages with metrics on within 5% of off: \(verdict(m1.flatMap { a in m4.map { a >= 0.95 && $0 >= 0.95 } })) (throughput with metrics on: 1 sender \(fx(m1)), 4 senders \(fx(m4)) of off; CPU per message on/off: \(fx(c1)), \(fx(c4))).\n"
    out += "- pg fan-out (issue 14; no goal, time, lower is better): local Swift/OTP \(fx(ratio("pgfanlocal", "Swift", "OTP"))); to another node Swift->Swift \(fx(ratio("pgfanremote", "Swift->Swift", "OTP->OTP"))), OTP->Swift \(fx(ratio("pgfanremote", "OTP->Swift", "OTP->OTP"))), Swift->OTP \(fx(ratio("pgfanremote", "Swift->OTP", "OTP->OTP"))) of OTP->OTP's time.\n"
    out += "- Spawned in half OTP's time: waiting in receive \(verdict(spawn.map { $0 <= 0.5 })) (Swift/OTP time \(fx(spawn))); hibernating \(verdict(spawnH.map { $0 <= 0.5 })) (\(fx(spawnH))).\n"
    return out
}

/// Issue 12's goals over TLS: Swift->Swift small messages >= 1.5x OTP->OTP, the mixed pairings >= 1.0x, and 1 MiB
/// bulk Swift->Swift at least OTP->OTP's.
@MainActor func tlsGoals() -> String {
    var out = ""
    let tp = [1, 4].map { ratio("tp\($0)", "Swift->Swift", "OTP->OTP") }
    let mixed = [1, 4].flatMap { s in ["OTP->Swift", "Swift->OTP"].map { ratio("tp\(s)", $0, "OTP->OTP") } }
    let tpOK: Bool? = tp.contains(where: { $0 == nil }) ? nil : tp.allSatisfy { $0! >= 1.5 }
    let mixedOK: Bool? = mixed.contains(where: { $0 == nil }) ? nil : mixed.allSatisfy { $0! >= 1.0 }
    out += "- TLS small-message throughput, Swift->Swift >= 1.5x OTP->OTP: \(verdict(tpOK)) (1 sender \(fx(tp[0])), 4 senders \(fx(tp[1]))).\n"
    out += "- TLS OTP->Swift and Swift->OTP >= 1.0x OTP->OTP: \(verdict(mixedOK)) (1 sender: \(fx(mixed[0])) / \(fx(mixed[1])); 4 senders: \(fx(mixed[2])) / \(fx(mixed[3]))).\n"
    if let big = sizes.bulk.last {
        let b = ratio("bulk\(big.size)", "Swift->Swift", "OTP->OTP")
        out += "- TLS bulk \(big.label), Swift->Swift >= OTP->OTP: \(verdict(b.map { $0 >= 1.0 })) (\(fx(b)); OTP->Swift \(fx(ratio("bulk\(big.size)", "OTP->Swift", "OTP->OTP"))), Swift->OTP \(fx(ratio("bulk\(big.size)", "Swift->OTP", "OTP->OTP")))).\n"
    }
    let pp = ratio("pp50", "Swift->Swift", "OTP->OTP")
    out += "- TLS ping-pong p50, Swift->Swift / OTP->OTP: \(fx(pp)) (no goal; lower is better).\n"
    return out
}

@MainActor func machine() -> String {
    let cpuinfo = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
    let model = cpuinfo.split(separator: "\n").first { $0.hasPrefix("model name") }?.split(separator: ":", maxSplits: 1).last?
        .trimmingCharacters(in: .whitespaces) ?? "unknown"
    let mem = ((try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8)) ?? "").split(separator: "\n").first?
        .split(separator: " ").dropFirst().first.flatMap { Int($0) }.map { "\($0 / 1024 / 1024) GiB RAM" } ?? ""
    let kernel = (try? String(contentsOfFile: "/proc/sys/kernel/osrelease", encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
    return """
        - CPU: \(model), \(ProcessInfo.processInfo.activeProcessorCount) cores available; \(mem); Linux \(kernel)
        - OTP: \(otpRelease); Swift: \(options.swiftVersion.isEmpty ? "unknown" : options.swiftVersion)
        - Load average (1/5/15 min): \(loadAtStart) at start, \(loadAtEnd) at end (the machine is shared; figures are noisy)
        """
}

let dateFormatter = ISO8601DateFormatter()
let report = options.tls ? """
    TLS run (`-proto_dist inet_tls` on every node: TLS 1.3 as negotiated, ECDSA P-256 certificates, verify_peer both \
    ways) of \(dateFormatter.string(from: Date())), \(options.smoke ? "smoke" : "full") mode, \(sizes.reps) repetition(s) \
    per figure (cells: median (min–max)), \(String(format: "%.0f", runSeconds)) s.

    \(machine())

    ### Distribution over TLS (sender->receiver, one node each, loopback)

    Timed as in the TCP table; "raw TCP" is plain loopback TCP without TLS, for scale.

    \(distTable())
    ### Goals of issue 12 (TLS)

    \(tlsGoals())
    """ : """
    Run of \(dateFormatter.string(from: Date())), \(options.smoke ? "smoke" : "full") mode, \(sizes.reps) repetition(s) per figure \
    (cells: median (min–max)), \(String(format: "%.0f", runSeconds)) s.

    \(machine())

    ### Distribution (sender->receiver, one node each, loopback)

    Throughput and bulk are timed from `{count, N, self()}` to the `{done, N}` reply of `sink`; "CPU both sides" is
    the user+system CPU of the sender and receiver OS processes per message (less sensitive to the machine's load
    than wall time). MB/s = 10^6 bytes/s. Ratios are of medians; for µs rows lower is better.

    \(distTable())
    ### One node: processes, ETF, EPMD

    \(localTable())
    ### Metrics on and off (Swift->Swift, same run, interleaved)

    \(metricsTable())
    ### Goals of issue 6

    \(goals())
    """
say("")
say(report)

if options.write && (!options.smoke || options.out != nil) {
    let path = options.out ?? options.repo + "/BENCHMARKS.md"
    let begin = options.tls ? "<!-- BEGIN GENERATED TLS by scripts/bench --tls: do not edit between these markers -->"
        : "<!-- BEGIN GENERATED by scripts/bench: do not edit between these markers -->"
    let end = options.tls ? "<!-- END GENERATED TLS -->" : "<!-- END GENERATED -->"
    let existing = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
    let generated = begin + "\n" + report + "\n" + end
    let text: String
    if let b = existing.range(of: begin), let e = existing.range(of: end) {
        text = String(existing[..<b.lowerBound]) + generated + String(existing[e.upperBound...])
    } else if options.tls && !existing.isEmpty {
        text = existing + "\n## Over TLS (`scripts/bench --tls`)\n\n" + generated + "\n"
    } else {
        text = "# Benchmarks: Swift vs Erlang/OTP\n\nProduced by `scripts/bench` (issue 6); `scripts/bench --smoke` checks the runner in ~10 s.\n\n"
            + generated + "\n"
    }
    try text.write(toFile: path, atomically: true, encoding: .utf8)
    say("written to \(path)")
}
Children.shared.stopAll()
try? FileManager.default.removeItem(at: ebin)
exit(0)
