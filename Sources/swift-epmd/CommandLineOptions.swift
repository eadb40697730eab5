/// The command line of `epmd`, parsed by hand because epmd's flags are single-dash words (`-port`, `-names`).
struct CommandLineOptions: Equatable {
    enum Command: Equatable {
        /// Run the daemon (in the foreground, or detached with `-daemon`).
        case serve
        /// `-names`: list the names of a running daemon.
        case names
        /// `-started`: like `-names` but silent; the exit status tells whether a daemon runs.
        case started
        /// `-dump`: print everything a running daemon knows.
        case dump
        /// `-kill`: stop a running daemon.
        case kill
        /// `-stop NAME`: forcibly unregister a name.
        case stop(String)
    }

    var command: Command = .serve
    var port: Int?
    var addresses: [String]?
    var daemonize = false
    var relaxedCommandCheck = false
    var debugLevel = 0
    var packetTimeoutSeconds: Int64?

    struct UsageError: Error, Equatable {
        var message: String
    }

    /// Parses `arguments` (without the program name) as epmd does: flags in any order; `-names`, `-kill`, `-dump`
    /// and `-started` must be last, `-stop` must be followed by exactly its name.
    static func parse(_ arguments: [String]) throws(UsageError) -> CommandLineOptions {
        var options = CommandLineOptions()
        var index = 0
        func value(for flag: String) throws(UsageError) -> String {
            guard index + 1 < arguments.count else { throw UsageError(message: "\(flag) needs a value") }
            index += 1
            return arguments[index]
        }
        func positiveInteger(for flag: String) throws(UsageError) -> Int {
            let text = try value(for: flag)
            guard let number = Int(text), number > 0 else {
                throw UsageError(message: "\(flag) needs a positive number, got \(text.debugDescription)")
            }
            return number
        }
        while index < arguments.count {
            let argument = arguments[index]
            let isLast = index == arguments.count - 1
            switch argument {
            case "-d", "-debug":
                options.debugLevel += 1
            case "-daemon":
                options.daemonize = true
            case "-relaxed_command_check":
                options.relaxedCommandCheck = true
            case "-port":
                let port = try positiveInteger(for: argument)
                guard port <= 65535 else { throw UsageError(message: "-port \(port) is not a TCP port") }
                options.port = port
            case "-address":
                options.addresses = EPMDAddressList.parse(try value(for: argument))
            case "-packet_timeout":
                options.packetTimeoutSeconds = Int64(try positiveInteger(for: argument))
            case "-delay_accept", "-delay_write":
                // Test knobs of epmd that simulate a busy server; accepted for compatibility, not simulated.
                _ = try positiveInteger(for: argument)
            case "-systemd":
                break
            case "-names", "-started", "-dump", "-kill":
                guard isLast else { throw UsageError(message: "\(argument) must be the last argument") }
                switch argument {
                case "-names": options.command = .names
                case "-started": options.command = .started
                case "-dump": options.command = .dump
                default: options.command = .kill
                }
            case "-stop":
                guard index + 2 == arguments.count else {
                    throw UsageError(message: "-stop takes exactly one name, as the last arguments")
                }
                options.command = .stop(try value(for: argument))
            default:
                throw UsageError(message: "unknown argument \(argument.debugDescription)")
            }
            index += 1
        }
        return options
    }

    static let usage = """
        usage: swift-epmd [-d|-debug] [DbgExtra...] [-address Addresses] [-port No] [-daemon]
                          [-relaxed_command_check]
               swift-epmd [-d|-debug] [-port No] [-names|-kill|-stop name]

        A drop-in replacement for the Erlang port mapper daemon `epmd`.

        Regular options
            -address List   Listen on these comma-separated addresses (and loopback); default all interfaces.
                            Also taken from ERL_EPMD_ADDRESS.
            -port No        Listen on / talk to port No instead of 4369 (or ERL_EPMD_PORT).
            -d, -debug      More logging on standard error (repeat for more); remembers only 5 old names.
            -daemon         Detach and run in the background.
            -relaxed_command_check
                            Allow -kill with registered nodes, and -stop (also ERL_EPMD_RELAXED_COMMAND_CHECK).

        DbgExtra options
            -packet_timeout Seconds   Close connections silent this long (default 60).

        Interactive options
            -names          List the names registered with the running daemon.
            -kill           Stop the running daemon (refused while nodes are registered, unless relaxed).
            -stop Name      Forcibly unregister a name (requires -relaxed_command_check on the daemon).
        """
}

/// epmd's address list syntax: addresses separated by commas and/or spaces.
enum EPMDAddressList {
    static func parse(_ text: String) -> [String] {
        text.split(whereSeparator: { $0 == "," || $0 == " " }).map(String.init)
    }
}
