import ArgumentParser
import ErlangEPMD
import Foundation

struct Names: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the names registered in EPMD, like `epmd -names`.",
        discussion: "Exit codes: 0 listed; 2 usage error; 3 EPMD does not answer.")

    @Argument(help: "Host (default 127.0.0.1).") var host: String = "127.0.0.1"
    @Option(help: "EPMD port (default: $ERL_EPMD_PORT or 4369).") var epmdPort: Int?

    func run() async throws {
        let client = EPMDClient(host: host, port: epmdPort ?? EPMDClient.environmentPort())
        do {
            let names = try await client.names()
            print("epmd: up and running on port \(names.epmdPort) with data:")
            for entry in names.entries { print("name \(entry.name) at port \(entry.port)") }
        } catch {
            throw ClientSession.fail("cannot reach EPMD at \(host): \(error)", CLIExit.unreachable)
        }
    }
}
