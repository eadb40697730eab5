import ErlangNodeTestKit
import Foundation

/// A blocking TCP socket on 127.0.0.1 for raw protocol tests; use it only inside `onOwnThread`.
final class RawSocket: @unchecked Sendable {
    // @unchecked: used by one thread at a time.
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    let fd: Int32
    private(set) var received: [UInt8] = []

    init(port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket() failed") }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = UInt16(port).bigEndian
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0 else {
            close(fd)
            throw Failure(description: "connect to 127.0.0.1:\(port) failed: errno \(errno)")
        }
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
    }

    init(acceptedFD: Int32) { fd = acceptedFD }

    deinit { close(fd) }

    func write(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { throw Failure(description: "send failed: errno \(errno)") }
            offset += n
        }
    }

    /// Closes the writing side only.
    func shutdownWrite() { shutdown(fd, Int32(SHUT_WR)) }

    enum ReadResult { case data, closed, timedOut }

    /// Reads whatever arrives (appended to `received`) until `deadline`.
    func readSome(until deadline: ContinuousClock.Instant) -> ReadResult {
        let remaining = deadline - .now
        if remaining <= .zero { return .timedOut }
        let ms = Int32(min(remaining.components.seconds * 1000 + remaining.components.attoseconds / 1_000_000_000_000_000, 60_000))
        var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        let r = poll(&pfd, 1, max(ms, 1))
        if r == 0 { return .timedOut }
        if r < 0 { return errno == EINTR ? .data : .closed }
        var buffer = [UInt8](repeating: 0, count: 65536)
        let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if n <= 0 { return .closed }
        received += buffer[0..<n]
        return .data
    }

    /// Reads exactly `count` bytes beyond what was consumed; nil on close or timeout.
    func take(_ count: Int, deadline: ContinuousClock.Instant) -> [UInt8]? {
        while received.count < count {
            if readSome(until: deadline) != .data { return nil }
        }
        let out = Array(received.prefix(count))
        received.removeFirst(count)
        return out
    }

    /// A handshake message (2-byte length prefix), or nil on close/timeout.
    func readHandshakeMessage(deadline: ContinuousClock.Instant) -> [UInt8]? {
        guard let len = take(2, deadline: deadline) else { return nil }
        return take(Int(len[0]) << 8 | Int(len[1]), deadline: deadline)
    }

    /// A connected-state frame (4-byte length prefix; empty for a tick), or nil on close/timeout.
    func readFrame(deadline: ContinuousClock.Instant) -> [UInt8]? {
        guard let len = take(4, deadline: deadline) else { return nil }
        let n = len.reduce(0) { $0 << 8 | Int($1) }
        return take(n, deadline: deadline)
    }

    /// Waits until the peer closes: true if it closed before `deadline`. Data is collected in `received`.
    func waitForClose(deadline: ContinuousClock.Instant) -> Bool {
        while true {
            switch readSome(until: deadline) {
            case .closed: return true
            case .timedOut: return false
            case .data: continue
            }
        }
    }
}

/// A listening socket on 127.0.0.1 (a fake peer the target connects to).
final class RawListener: @unchecked Sendable {
    let fd: Int32
    let port: Int

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        _ = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        listen(fd, 16)
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
        }
        self.fd = fd
        port = Int(UInt16(bigEndian: addr.sin_port))
    }

    deinit { close(fd) }

    func accept(timeout: Duration) -> RawSocket? {
        var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        let ms = Int32(timeout.components.seconds * 1000)
        guard poll(&pfd, 1, ms) == 1 else { return nil }
        let client = Glibc.accept(fd, nil, nil)
        return client >= 0 ? RawSocket(acceptedFD: client) : nil
    }
}

/// EPMD requests, as the suite makes them.
enum EPMDProbe {
    /// `NAMES_REQ`: the registered names with their ports.
    static func names(port: Int) async throws -> [String: Int] {
        try await onOwnThread {
            let s = try RawSocket(port: port)
            try s.write([0, 1, 110])
            _ = s.waitForClose(deadline: .now + .seconds(5))
            let bytes = s.received
            guard bytes.count >= 4 else { return [:] }
            let text = String(decoding: bytes[4...], as: UTF8.self)
            var result: [String: Int] = [:]
            for line in text.split(separator: "\n") {
                let parts = line.split(separator: " ")
                if parts.count == 5, parts[0] == "name", let p = Int(parts[4]) { result[String(parts[1])] = p }
            }
            return result
        }
    }

    struct Registration: Sendable {
        let port: Int
        let nodeType: UInt8
        let proto: UInt8
        let highest: Int
        let lowest: Int
        let name: String
        let extra: [UInt8]
    }

    /// `PORT_PLEASE2_REQ`: the registration of `name`, or nil.
    static func lookup(_ name: String, port: Int) async throws -> Registration? {
        try await onOwnThread {
            let s = try RawSocket(port: port)
            let n = Array(name.utf8)
            try s.write([UInt8((n.count + 1) >> 8), UInt8((n.count + 1) & 0xff), 122] + n)
            _ = s.waitForClose(deadline: .now + .seconds(5))
            let b = s.received
            guard b.count >= 12, b[0] == 119, b[1] == 0 else { return nil }
            func u16(_ i: Int) -> Int { Int(b[i]) << 8 | Int(b[i + 1]) }
            let nlen = u16(10)
            guard b.count >= 12 + nlen + 2 else { return nil }
            let elen = u16(12 + nlen)
            return Registration(
                port: u16(2), nodeType: b[4], proto: b[5], highest: u16(6), lowest: u16(8),
                name: String(decoding: b[12..<(12 + nlen)], as: UTF8.self),
                extra: Array(b[(14 + nlen)..<min(b.count, 14 + nlen + elen)]))
        }
    }

    /// Registers `name` with `ALIVE2_REQ`; the returned socket keeps the registration alive.
    static func register(_ name: String, listenPort: Int, epmdPort: Int) throws -> (RawSocket, UInt32) {
        let s = try RawSocket(port: epmdPort)
        let n = Array(name.utf8)
        var body: [UInt8] = [120, UInt8(listenPort >> 8), UInt8(listenPort & 0xff), 72, 0, 0, 6, 0, 5]
        body += [UInt8(n.count >> 8), UInt8(n.count & 0xff)] + n + [0, 0]
        try s.write([UInt8(body.count >> 8), UInt8(body.count & 0xff)] + body)
        guard let head = s.take(2, deadline: .now + .seconds(5)) else { throw RawSocket.Failure(description: "no ALIVE2 reply") }
        if head[0] == 118, let c = s.take(4, deadline: .now + .seconds(5)), head[1] == 0 {
            return (s, c.reduce(0) { $0 << 8 | UInt32($1) })
        }
        if head[0] == 121, let c = s.take(2, deadline: .now + .seconds(5)), head[1] == 0 {
            return (s, UInt32(c[0]) << 8 | UInt32(c[1]))
        }
        throw RawSocket.Failure(description: "ALIVE2 refused: \(head)")
    }
}
