import ErlangEPMD
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

let environment = ProcessEnvironment.current()
let options: CommandLineOptions
do {
    options = try CommandLineOptions.parse(Array(CommandLine.arguments.dropFirst()))
} catch {
    writeStandardError("swift-epmd: \(error.message)\n\n\(CommandLineOptions.usage)\n")
    exit(1)
}

let port = options.port ?? environment.port

switch options.command {
case .serve:
    if options.daemonize {
        exit(Daemonizer.respawnDetached(arguments: CommandLine.arguments))
    }
    exit(await Serve.run(options: options, port: port, environment: environment))
case .names, .started, .dump:
    exit(await Interactive.list(options.command, port: port))
case .kill:
    exit(await Interactive.kill(port: port))
case .stop(let name):
    exit(await Interactive.stop(name: name, port: port))
}
