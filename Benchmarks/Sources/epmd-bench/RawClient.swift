// A minimal blocking EPMD client on plain syscalls, so that the benchmark measures the daemons and not the client:
// one request per connection costs the client socket, connect, write, read until EOF and close, nothing else.

import ErlangEPMD
import Foundation
import NIOCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

struct RawClientError: Error, CustomStringConvertible {
    var description: String
}

enum RawClient {
    /// The wire bytes of `request`, built once per worker.
    static func encode(_ request: EPMDRequest) -> [UInt8] {
        var buffer = ByteBuffer()
        try! request.encode(into: &buffer)
        return buffer.readBytes(length: buffer.readableBytes)!
    }

    static func connect(port: Int) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw RawClientError(description: "socket: errno \(errno)") }
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = in_addr_t(UInt32(0x7F00_0001).bigEndian)
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard result == 0 else {
            let error = errno
            close(fd)
            throw RawClientError(description: "connect: errno \(error)")
        }
        return fd
    }

    static func writeAll(_ fd: Int32, _ bytes: [UInt8]) throws {
        let written = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        guard written == bytes.count else { throw RawClientError(description: "send: errno \(errno)") }
    }

    /// One request on a fresh connection; returns the number of answer bytes read until the daemon closed.
    static func exchange(port: Int, request: [UInt8], buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let fd = try connect(port: port)
        defer { close(fd) }
        try writeAll(fd, request)
        var total = 0
        while true {
            let count = read(fd, buffer.baseAddress! + total, buffer.count - total)
            if count == 0 { return total }
            guard count > 0 else { throw RawClientError(description: "read: errno \(errno)") }
            total += count
            if total == buffer.count { total = 0 }
        }
    }

    /// Registers a node and reads the `ALIVE2_X_RESP`; the caller closes the returned socket to unregister.
    static func register(port: Int, request: [UInt8], buffer: UnsafeMutableRawBufferPointer) throws -> Int32 {
        let fd = try connect(port: port)
        do {
            try writeAll(fd, request)
            var total = 0
            while total < 6 {
                let count = read(fd, buffer.baseAddress! + total, buffer.count - total)
                guard count > 0 else { throw RawClientError(description: "register: read returned \(count)") }
                total += count
            }
            guard buffer[0] == 118, buffer[1] == 0 else {
                throw RawClientError(description: "register: refused (\(buffer[0]), \(buffer[1]))")
            }
            return fd
        } catch {
            close(fd)
            throw error
        }
    }
}

/// Runs `operation` on `workers` threads for `seconds`; returns operations per second and failures.
func measureThreads(
    seconds: Double,
    workers: Int,
    _ operation: @escaping @Sendable (_ worker: Int, _ iteration: Int, UnsafeMutableRawBufferPointer) throws -> Void
) -> (rate: Double, failures: Int) {
    final class Result: @unchecked Sendable {  // each slot written by its own thread, read after all are joined
        var counts: [(Int, Int)]
        init(_ workers: Int) { counts = Array(repeating: (0, 0), count: workers) }
    }
    let result = Result(workers)
    let start = DispatchTime.now().uptimeNanoseconds
    let deadline = start + UInt64(seconds * 1e9)
    let done = DispatchGroup()
    var threads: [Thread] = []
    for worker in 0..<workers {
        done.enter()
        let thread = Thread {
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 4096, alignment: 8)
            defer { buffer.deallocate() }
            var count = 0
            var failures = 0
            while DispatchTime.now().uptimeNanoseconds < deadline {
                do {
                    try operation(worker, count + failures, buffer)
                    count += 1
                } catch {
                    failures += 1
                }
            }
            result.counts[worker] = (count, failures)
            done.leave()
        }
        threads.append(thread)
    }
    for thread in threads { thread.start() }
    done.wait()
    let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    let total = result.counts.reduce((0, 0)) { ($0.0 + $1.0, $0.1 + $1.1) }
    return (Double(total.0) / elapsed, total.1)
}

/// User plus system CPU time of this process so far, in seconds.
func ownCPUSeconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    let user = Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6
    let system = Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
    return user + system
}
