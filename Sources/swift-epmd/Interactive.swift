import ErlangEPMD
import NIOCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The client side of the `epmd` command (`-names`, `-dump`, `-kill`, `-stop`), with epmd's output and exit codes.
enum Interactive {
    static func client(port: Int) -> EPMDClient {
        EPMDClient(host: "127.0.0.1", port: port, timeout: .seconds(10))
    }

    static func list(_ command: CommandLineOptions.Command, port: Int) async -> Int32 {
        let silent = command == .started
        let request: EPMDRequest = command == .dump ? .dump : .names
        let answer: ByteBuffer
        do {
            answer = try await client(port: port).rawAnswer(request)
        } catch {
            if !silent {
                if error.code == .connectionFailed {
                    writeStandardError("epmd: Cannot connect to local epmd\n")
                } else {
                    writeStandardOutput("epmd: no response from local epmd\n")
                }
            }
            return 1
        }
        guard let epmdPort = answer.getInteger(at: answer.readerIndex, as: UInt32.self) else {
            if !silent { writeStandardOutput("epmd: no response from local epmd\n") }
            return 1
        }
        if !silent {
            writeStandardOutput("epmd: up and running on port \(epmdPort) with data:\n")
            writeStandardOutput(Array(answer.readableBytesView.dropFirst(4)))
        }
        return 0
    }

    static func kill(port: Int) async -> Int32 {
        do {
            let answer = try await client(port: port).rawAnswer(.kill)
            let text = String(decoding: answer.readableBytesView, as: UTF8.self)
            switch text {
            case "OK":
                writeStandardOutput("Killed\n")
                return 0
            case "NO":
                writeStandardOutput("Killing not allowed - living nodes in database.\n")
                return 1
            default:
                writeStandardOutput("epmd: local epmd responded with <\(text)>\n")
                return 1
            }
        } catch {
            return failure(error)
        }
    }

    static func stop(name: String, port: Int) async -> Int32 {
        do {
            let answer = try await client(port: port).rawAnswer(.stop(name: name))
            let bytes = Array(answer.readableBytesView.prefix(7))
            if bytes.count == 7 {
                writeStandardOutput(bytes + [UInt8(ascii: "\n")])
                return 0
            }
            writeStandardOutput("epmd: local epmd responded with <\(String(decoding: bytes, as: UTF8.self))>\n")
            return 1
        } catch {
            return failure(error)
        }
    }

    private static func failure(_ error: EPMDError) -> Int32 {
        if error.code == .connectionFailed {
            writeStandardError("epmd: Cannot connect to local epmd\n")
        } else if error.code == .invalidNodeName {
            writeStandardOutput("epmd: \(error.detail)\n")
        } else {
            writeStandardOutput("epmd: failed to read answer from local epmd\n")
        }
        return 1
    }
}
