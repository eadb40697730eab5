// Drives the real `epmd` and `swift-epmd` with the same client in one run and prints both figures and their ratio:
// PORT_PLEASE2 lookups per second (sequential and with 8 concurrent clients) and registration churn
// (ALIVE2 registration plus close, per second).
//
// The client is a blocking one on plain syscalls (RawClient.swift) so that it costs little next to the daemons;
// `--client nio` uses the library's EPMDClient instead (a NIO channel per request, which on a small machine makes
// the client the bottleneck).
//
// usage: epmd-bench --swift-epmd PATH [--epmd PATH] [--seconds N] [--rounds N] [--client raw|nio]
//                   [--only sequential,concurrent,churn] [--verbose]

import ErlangEPMD
import Foundation
import NIOCore
import NIOPosix

struct Options {
    var swiftEPMD: String?
    var realEPMD = "/usr/bin/epmd"
    var seconds = 3.0
    var rounds = 5
    var nioClient = false
    /// Which figures to measure (all by default): `sequential`, `concurrent`, `churn`.
    var figures: Set<String> = ["sequential", "concurrent", "churn"]
    /// Print every round's figures to standard error.
    var verbose = false

    static func parse(_ arguments: [String]) -> Options {
        var options = Options()
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            let value = index + 1 < arguments.count ? arguments[index + 1] : nil
            switch argument {
            case "--swift-epmd": options.swiftEPMD = value; index += 1
            case "--epmd": options.realEPMD = value ?? options.realEPMD; index += 1
            case "--seconds": options.seconds = value.flatMap(Double.init) ?? options.seconds; index += 1
            case "--rounds": options.rounds = value.flatMap(Int.init) ?? options.rounds; index += 1
            case "--client": options.nioClient = value == "nio"; index += 1
            case "--verbose": options.verbose = true
            case "--only": options.figures = Set((value ?? "").split(separator: ",").map(String.init)); index += 1
            default:
                FileHandle.standardError.write("unknown argument \(argument)\n".data(using: .utf8)!)
                exit(2)
            }
            index += 1
        }
        return options
    }
}

/// A daemon under test, started as a child process and stopped by pid.
final class Daemon: Sendable {
    let label: String
    let port: Int
    let process: Process

    init(label: String, executable: String, port: Int) throws {
        self.label = label
        self.port = port
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = ["-address", "127.0.0.1", "-port", "\(port)"]
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        self.process = process
    }

    func waitUntilReady() async throws {
        let client = EPMDClient(port: port, timeout: .seconds(1))
        for _ in 0..<100 {
            if (try? await client.names()) != nil { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw EPMDError(.timeout, "\(label) did not answer on port \(port)")
    }

    /// User plus system CPU time the daemon has used so far, in seconds (Linux `/proc/PID/stat`).
    func cpuSeconds() -> Double {
        guard let text = try? String(contentsOfFile: "/proc/\(process.processIdentifier)/stat", encoding: .utf8),
            let close = text.lastIndex(of: ")")
        else { return 0 }
        let fields = text[text.index(after: close)...].split(separator: " ")
        // After the command: state is field 3; utime and stime are fields 14 and 15 (1-based), in clock ticks.
        guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    func stop() {
        if process.isRunning { kill(process.processIdentifier, SIGTERM) }
        for _ in 0..<50 where process.isRunning { usleep(100_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }
}

func freePort() async throws -> Int {
    let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
        .bind(host: "127.0.0.1", port: 0).get()
    let port = channel.localAddress!.port!
    try await channel.close()
    return port
}

/// Runs `operation` in `workers` concurrent loops for `seconds` and returns completed operations per second.
func measure(
    seconds: Double,
    workers: Int,
    _ operation: @escaping @Sendable (_ worker: Int, _ iteration: Int) async throws -> Void
) async -> (rate: Double, failures: Int) {
    let clock = ContinuousClock()
    let start = clock.now
    let deadline = start + .milliseconds(Int(seconds * 1000))
    let (done, failed) = await withTaskGroup(of: (Int, Int).self) { group in
        for worker in 0..<workers {
            group.addTask {
                var count = 0
                var failures = 0
                while clock.now < deadline {
                    do {
                        try await operation(worker, count + failures)
                        count += 1
                    } catch {
                        failures += 1
                    }
                }
                return (count, failures)
            }
        }
        var total = (0, 0)
        for await (count, failures) in group { total = (total.0 + count, total.1 + failures) }
        return total
    }
    let elapsed = clock.now - start
    let elapsedSeconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    return (Double(done) / elapsedSeconds, failed)
}

struct Figure {
    var name: String
    var real: Double
    var swift: Double
    var realCPU: Double
    var swiftCPU: Double
    var clientCPU: Double
    /// The median over rounds of swift/real within a round (the two daemons' runs are adjacent in time, so load
    /// that drifts over the run cancels out better than in the ratio of the medians).
    var pairedRatio: Double
    var failures: Int
}

/// One measured round: operations per second and daemon CPU microseconds per operation.
struct Sample {
    var rate: Double
    var cpuMicros: Double
    var clientCPUMicros: Double
    var failures: Int
}

func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    guard !sorted.isEmpty else { return 0 }
    return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
}

func run(_ options: Options) async throws -> [Figure] {
    guard let swiftPath = options.swiftEPMD else {
        FileHandle.standardError.write("missing --swift-epmd PATH (see scripts/bench-epmd)\n".data(using: .utf8)!)
        exit(2)
    }
    let real = try Daemon(label: "epmd", executable: options.realEPMD, port: try await freePort())
    let ours = try Daemon(label: "swift-epmd", executable: swiftPath, port: try await freePort())
    defer {
        real.stop()
        ours.stop()
    }
    try await real.waitUntilReady()
    try await ours.waitUntilReady()

    var registrations: [EPMDRegistration] = []
    for daemon in [real, ours] {
        registrations.append(try await EPMDClient(port: daemon.port).register(name: "benchnode", port: 40000))
    }

    // Each figure alternates short rounds on the two daemons and reports medians, so that load from other
    // processes on the machine hits both alike.
    let rounds = options.rounds
    let roundSeconds = options.seconds / Double(rounds)
    var churnCounter = 0

    func sample(_ daemon: Daemon, workers: Int, churn: Bool) async -> Sample {
        let before = daemon.cpuSeconds()
        let clientBefore = ownCPUSeconds()
        let base = churnCounter
        let port = daemon.port
        let (rate, failures): (Double, Int)
        if options.nioClient {
            let client = EPMDClient(port: port)
            (rate, failures) = await measure(seconds: roundSeconds, workers: workers) { worker, iteration in
                if churn {
                    let registration = try await client.register(
                        name: "churn\(base)_\(worker)_\(iteration)", port: 40001)
                    await registration.close()
                } else {
                    guard try await client.lookup(name: "benchnode") != nil else {
                        throw EPMDError(.malformedResponse, "benchnode not found")
                    }
                }
            }
        } else {
            let lookup = RawClient.encode(.portPlease2(name: "benchnode"))
            (rate, failures) = measureThreads(seconds: roundSeconds, workers: workers) { worker, iteration, buffer in
                if churn {
                    let request = RawClient.encode(
                        .alive2(EPMDNodeInfo(name: "churn\(base)_\(worker)_\(iteration)", port: 40001)))
                    close(try RawClient.register(port: port, request: request, buffer: buffer))
                } else {
                    // PORT2_RESP for "benchnode" with empty extra: 4 + 2 + 2 + 2 + 9 + 2 + 1 = 22 bytes.
                    let count = try RawClient.exchange(port: port, request: lookup, buffer: buffer)
                    guard count > 2, buffer[0] == 119, buffer[1] == 0 else {
                        throw RawClientError(description: "bad PORT2_RESP (\(count) bytes)")
                    }
                }
            }
        }
        churnCounter += 1
        if options.verbose {
            FileHandle.standardError.write("\(daemon.label) workers=\(workers) churn=\(churn): \(Int(rate))/s\n".data(using: .utf8)!)
        }
        let operations = rate * roundSeconds
        let cpu = daemon.cpuSeconds() - before
        let clientCPU = ownCPUSeconds() - clientBefore
        return Sample(
            rate: rate,
            cpuMicros: operations > 0 ? cpu / operations * 1e6 : 0,
            clientCPUMicros: operations > 0 ? clientCPU / operations * 1e6 : 0,
            failures: failures
        )
    }

    func figure(_ name: String, workers: Int, churn: Bool) async -> Figure {
        var realSamples: [Sample] = []
        var swiftSamples: [Sample] = []
        // Which daemon goes first alternates too, so that neither always runs right after the other's round.
        for round in 0..<rounds {
            if round % 2 == 0 {
                realSamples.append(await sample(real, workers: workers, churn: churn))
                swiftSamples.append(await sample(ours, workers: workers, churn: churn))
            } else {
                swiftSamples.append(await sample(ours, workers: workers, churn: churn))
                realSamples.append(await sample(real, workers: workers, churn: churn))
            }
        }
        return Figure(
            name: name,
            real: median(realSamples.map(\.rate)),
            swift: median(swiftSamples.map(\.rate)),
            realCPU: median(realSamples.map(\.cpuMicros)),
            swiftCPU: median(swiftSamples.map(\.cpuMicros)),
            clientCPU: median((realSamples + swiftSamples).map(\.clientCPUMicros)),
            pairedRatio: median(zip(realSamples, swiftSamples).map { $0.rate > 0 ? $1.rate / $0.rate : 0 }),
            failures: (realSamples + swiftSamples).reduce(0) { $0 + $1.failures }
        )
    }

    // Warm up both daemons and the client.
    _ = await sample(real, workers: 2, churn: false)
    _ = await sample(ours, workers: 2, churn: false)

    var figures: [Figure] = []
    if options.figures.contains("sequential") {
        figures.append(await figure("PORT_PLEASE2 lookups/s, sequential", workers: 1, churn: false))
    }
    if options.figures.contains("concurrent") {
        figures.append(await figure("PORT_PLEASE2 lookups/s, 8 clients", workers: 8, churn: false))
    }
    if options.figures.contains("churn") {
        figures.append(await figure("registration churn (register+close)/s", workers: 1, churn: true))
    }

    for registration in registrations { await registration.close() }
    return figures
}

func pad(_ text: String, _ width: Int) -> String {
    text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
}

func leftPad(_ text: String, _ width: Int) -> String {
    text.count >= width ? text : String(repeating: " ", count: width - text.count) + text
}

let options = Options.parse(Array(CommandLine.arguments.dropFirst()))
let figures = try await run(options)
print(
    "medians of \(options.rounds) alternating rounds, \(options.seconds) s per figure and daemon, "
        + "\(options.nioClient ? "NIO EPMDClient" : "raw syscall client"); CPU = µs per operation "
        + "(daemon; client for both); paired = median of the per-round ratios"
)
print(
    pad("figure", 40) + leftPad("real epmd", 11) + leftPad("swift-epmd", 11) + leftPad("swift/real", 11)
        + leftPad("paired", 8) + leftPad("CPU real", 10) + leftPad("CPU swift", 10) + leftPad("CPU client", 11)
        + leftPad("errors", 8)
)
for figure in figures {
    let ratio = figure.real > 0 ? figure.swift / figure.real : 0
    print(
        pad(figure.name, 40) + leftPad(String(format: "%.0f", figure.real), 11)
            + leftPad(String(format: "%.0f", figure.swift), 11) + leftPad(String(format: "%.2fx", ratio), 11)
            + leftPad(String(format: "%.2fx", figure.pairedRatio), 8)
            + leftPad(String(format: "%.1f", figure.realCPU), 10) + leftPad(String(format: "%.1f", figure.swiftCPU), 10)
            + leftPad(String(format: "%.1f", figure.clientCPU), 11)
            + leftPad("\(figure.failures)", 8)
    )
}
