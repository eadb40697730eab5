// Drives the real `epmd` and `swift-epmd` with the same client in one run and prints both figures and their ratio:
// PORT_PLEASE2 lookups per second (sequential and with 8 concurrent clients) and registration churn
// (ALIVE2 registration plus close, per second).
//
// usage: epmd-bench --swift-epmd PATH [--epmd PATH] [--seconds N]

import ErlangEPMD
import Foundation
import NIOCore
import NIOPosix

struct Options {
    var swiftEPMD: String?
    var realEPMD = "/usr/bin/epmd"
    var seconds = 3.0

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
    var failures: Int
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

    func lookups(_ daemon: Daemon, workers: Int) async -> (Double, Int) {
        let client = EPMDClient(port: daemon.port)
        return await measure(seconds: options.seconds, workers: workers) { _, _ in
            guard try await client.lookup(name: "benchnode") != nil else {
                throw EPMDError(.malformedResponse, "benchnode not found")
            }
        }
    }

    func churn(_ daemon: Daemon) async -> (Double, Int) {
        let client = EPMDClient(port: daemon.port)
        return await measure(seconds: options.seconds, workers: 1) { _, iteration in
            let registration = try await client.register(name: "churn\(iteration)", port: 40001)
            await registration.close()
        }
    }

    var figures: [Figure] = []
    // Warm up both daemons (and the client) briefly, then measure each figure on both, one after the other.
    _ = await measure(seconds: 0.5, workers: 2) { _, _ in _ = try await EPMDClient(port: real.port).lookup(name: "benchnode") }
    _ = await measure(seconds: 0.5, workers: 2) { _, _ in _ = try await EPMDClient(port: ours.port).lookup(name: "benchnode") }

    let realSequential = await lookups(real, workers: 1)
    let swiftSequential = await lookups(ours, workers: 1)
    figures.append(Figure(name: "PORT_PLEASE2 lookups/s, sequential", real: realSequential.0, swift: swiftSequential.0, failures: realSequential.1 + swiftSequential.1))
    let realConcurrent = await lookups(real, workers: 8)
    let swiftConcurrent = await lookups(ours, workers: 8)
    figures.append(Figure(name: "PORT_PLEASE2 lookups/s, 8 clients", real: realConcurrent.0, swift: swiftConcurrent.0, failures: realConcurrent.1 + swiftConcurrent.1))
    let realChurn = await churn(real)
    let swiftChurn = await churn(ours)
    figures.append(Figure(name: "registration churn (register+close)/s", real: realChurn.0, swift: swiftChurn.0, failures: realChurn.1 + swiftChurn.1))

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
print(pad("figure", 40) + leftPad("real epmd", 12) + leftPad("swift-epmd", 12) + leftPad("swift/real", 12) + leftPad("errors", 8))
for figure in figures {
    let ratio = figure.real > 0 ? figure.swift / figure.real : 0
    print(
        pad(figure.name, 40) + leftPad(String(format: "%.0f", figure.real), 12)
            + leftPad(String(format: "%.0f", figure.swift), 12) + leftPad(String(format: "%.2fx", ratio), 12)
            + leftPad("\(figure.failures)", 8)
    )
}
