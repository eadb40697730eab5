/// The request semantics of the daemon: a value-type state machine over an ``EPMDRegistry`` that turns each
/// decoded request into an action for the connection handler (`do_request` in `epmd_srv.c`).
///
/// Access rules follow epmd: `ALIVE2_REQ`, `DUMP_REQ`, `KILL_REQ` and `STOP_REQ` are served only to local
/// peers (loopback, or the peer address equals the local address); `KILL_REQ` is refused with `NO` while nodes
/// are registered unless the check is relaxed; `STOP_REQ` is served only with `-relaxed_command_check`.
struct EPMDServerStateMachine: Sendable {
    /// What the connection handler must do after a request.
    enum Action: Sendable, Equatable {
        /// Write the response, then close the connection.
        case replyAndClose(EPMDResponse)
        /// Write the response and keep the connection open: it now holds a registration.
        case replyAndKeep(EPMDResponse)
        /// Close the connection without answering, logging why.
        case close(reason: String)
        /// Write the response, close the connection that held a stopped registration, then close this one.
        case replyAndCloseRegistration(EPMDResponse, ConnectionIDBox?)
        /// Write the response, close the connection, then shut the daemon down (`KILL_REQ` accepted).
        case replyAndTerminate(EPMDResponse)
    }

    /// Wraps a connection identifier so that `Action` stays `Equatable` without exposing registry internals.
    struct ConnectionIDBox: Sendable, Equatable {
        var id: EPMDRegistry.ConnectionID
    }

    var registry: EPMDRegistry
    /// The port reported in `NAMES` and `DUMP` answers.
    var epmdPort: UInt32
    /// `-relaxed_command_check`: allow `KILL_REQ` with live nodes and `STOP_REQ`.
    var relaxedCommandCheck: Bool

    init(registry: EPMDRegistry, epmdPort: UInt32, relaxedCommandCheck: Bool) {
        self.registry = registry
        self.epmdPort = epmdPort
        self.relaxedCommandCheck = relaxedCommandCheck
    }

    mutating func handle(
        _ request: EPMDRequest,
        from connection: EPMDRegistry.ConnectionID,
        isLocalPeer: Bool,
        nowSeconds: UInt64
    ) -> Action {
        switch request {
        case .alive2(let info):
            guard isLocalPeer else { return .close(reason: "ALIVE2_REQ from non local address") }
            switch registry.register(info, connection: connection, nowSeconds: nowSeconds) {
            case .registered(let creation):
                return .replyAndKeep(.alive2(result: 0, creation: creation, extended: info.highestVersion >= 6))
            case .nameInUse, .connectionAlreadyRegistered, .invalidName:
                return .replyAndClose(Self.refusal(highestVersion: info.highestVersion))
            }
        case .portPlease2(let name):
            if let info = registry.lookup(name: name) {
                return .replyAndClose(.port2(info))
            }
            return .replyAndClose(.port2Failure(result: 1))
        case .names:
            let entries = registry.registrations.map { EPMDNames.Entry(name: $0.info.name, port: $0.info.port) }
            return .replyAndClose(.names(EPMDNames(epmdPort: epmdPort, entries: entries)))
        case .dump:
            guard isLocalPeer else { return .close(reason: "DUMP_REQ from non local address") }
            let active = registry.registrations.map {
                EPMDDumpEntry(name: $0.info.name, port: $0.info.port, fd: $0.connection.rawValue)
            }
            let remembered = registry.rememberedNames.map {
                EPMDDumpEntry(name: $0.name, port: $0.port, fd: $0.connection.rawValue)
            }
            return .replyAndClose(.dump(epmdPort: epmdPort, active: active, remembered: remembered))
        case .kill:
            guard isLocalPeer else { return .close(reason: "KILL_REQ from non local address") }
            if !relaxedCommandCheck && registry.count > 0 {
                return .replyAndClose(.kill(accepted: false))
            }
            return .replyAndTerminate(.kill(accepted: true))
        case .stop(let name):
            guard isLocalPeer else { return .close(reason: "STOP_REQ from non local address") }
            guard relaxedCommandCheck else { return .close(reason: "STOP_REQ refused without -relaxed_command_check") }
            if let registration = registry.unregister(name: name) {
                return .replyAndCloseRegistration(.stop(existed: true), ConnectionIDBox(id: registration.connection))
            }
            return .replyAndCloseRegistration(.stop(existed: false), nil)
        }
    }

    /// A well-framed `ALIVE2_REQ` whose name or extra cannot be registered (see
    /// `EPMDError.refusedRegistrationHighestVersion`): refused with a result, like a taken name.
    func refuseRegistration(highestVersion: UInt16, isLocalPeer: Bool) -> Action {
        guard isLocalPeer else { return .close(reason: "ALIVE2_REQ from non local address") }
        return .replyAndClose(Self.refusal(highestVersion: highestVersion))
    }

    /// epmd answers result 1 with creation 99 for a refused registration, extended for version 6 nodes.
    static func refusal(highestVersion: UInt16) -> EPMDResponse {
        .alive2(result: 1, creation: 99, extended: highestVersion >= 6)
    }

    /// A registration's connection closed: forget the registration.
    mutating func connectionClosed(_ connection: EPMDRegistry.ConnectionID) -> EPMDRegistry.Registration? {
        registry.connectionClosed(connection)
    }
}
