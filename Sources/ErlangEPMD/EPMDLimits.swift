/// Named limits of the EPMD protocol, taken from Erlang/OTP's `erts/epmd/src/epmd_int.h` and `epmd_srv.c`.
///
/// Every size read from the wire is checked against one of these before it is used.
public enum EPMDLimits {
    /// The well-known EPMD port (`EPMD_PORT_NO`).
    public static let defaultPort: Int = 4369

    /// The longest node name in characters: a node name is an atom, at most 255 characters.
    public static let maxNodeNameCharacters = 255

    /// The longest node name in bytes (`MAXSYMLEN`, 255 UTF-8 characters of up to 4 bytes each).
    public static let maxNodeNameBytes = 255 * 4

    /// The longest `Extra` field of an `ALIVE2_REQ` in bytes (epmd applies `MAXSYMLEN` to it as well).
    public static let maxExtraBytes = 255 * 4

    /// epmd's input buffer (`INBUF_SIZE = 3 * MAXSYMLEN`): a request whose 2-byte length header plus body does not
    /// fit strictly below it is refused.
    static let inputBufferSize = 3 * maxNodeNameBytes

    /// The longest request body (the value of the 2-byte length prefix) that epmd accepts.
    public static let maxRequestLength = inputBufferSize - 3

    /// The shortest `ALIVE2_REQ` body: code, port, type, protocol, two versions, name length, one name byte,
    /// extra length (epmd refuses `bsize <= 13`).
    public static let minAlive2RequestLength = 14

    /// How long a connection that is not an ALIVE registration may stay silent before it is closed
    /// (`CLOSE_TIMEOUT`, epmd's default `-packet_timeout`).
    public static let defaultPacketTimeoutSeconds: Int64 = 60

    /// How many unregistered names epmd remembers so that a returning node gets a new creation
    /// (`MAX_UNREG_COUNT`).
    public static let maxRememberedNames = 1000

    /// The same bound when epmd runs with `-d` (`DEBUG_MAX_UNREG_COUNT`).
    public static let debugMaxRememberedNames = 5

    /// The largest response the client accepts to `NAMES_REQ` or `DUMP_REQ`, in bytes.
    public static let maxClientResponseBytes = 16 * 1024 * 1024
}
