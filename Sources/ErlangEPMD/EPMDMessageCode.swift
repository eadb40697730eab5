/// The message codes of the EPMD protocol (`erl_dist_protocol`, "EPMD Protocol").
public enum EPMDMessageCode: UInt8, Sendable, Hashable, CaseIterable {
    /// `ALIVE2_REQ` ('x'): register a node.
    case alive2Request = 120
    /// `ALIVE2_RESP` ('y'): registration result with a 16-bit creation (distribution version 5).
    case alive2Response = 121
    /// `ALIVE2_X_RESP` ('v'): registration result with a 32-bit creation (highest version >= 6, OTP 23+).
    case alive2ExtendedResponse = 118
    /// `PORT_PLEASE2_REQ` ('z'): look a node up.
    case portPlease2Request = 122
    /// `PORT2_RESP` ('w'): the answer to `PORT_PLEASE2_REQ`.
    case port2Response = 119
    /// `NAMES_REQ` ('n'): list the registered names.
    case namesRequest = 110
    /// `DUMP_REQ` ('d'): list everything epmd knows (debugging).
    case dumpRequest = 100
    /// `KILL_REQ` ('k'): stop the daemon.
    case killRequest = 107
    /// `STOP_REQ` ('s'): forcibly unregister a name.
    case stopRequest = 115
}
