#if os(Linux) && canImport(Glibc)
import Glibc
import Logging
import NIOCore
import Synchronization

/// The daemon's I/O on Linux: one thread running an epoll loop over non-blocking sockets, driving the same state
/// machines as ``EPMDServerHandler`` (the per-connection ``EPMDServerConnectionStateMachine`` and the shared
/// ``EPMDServerStateMachine``).
///
/// EPMD traffic is one tiny request per fresh connection, so what counts is the cost per connection. A NIO channel
/// costs ~13 syscalls (accept, getsockname, getpeername, a second accept, three `epoll_ctl`, wait, read, write,
/// `epoll_ctl` delete, close) and tens of microseconds of allocation and pipeline set-up; epmd's select loop costs
/// 7 syscalls. Here a request that has arrived by the time its connection is accepted costs `accept4`, `read`,
/// `write`, `close`; otherwise the socket is added to the epoll set and served when readable. Registrations stay
/// in the set (their close or any byte ends them); connections awaiting a request are swept for the idle timeout.
final class EPMDSocketLoop: @unchecked Sendable {
    // @unchecked: every stored property but `core`, `wakeFD` and `epollFD` is touched only by the loop thread
    // (`run()`); other threads only call `wake()`, a write to the eventfd.
    private typealias System = EPMDLinuxSystem

    /// One accepted connection.
    private struct Connection {
        let id: EPMDRegistry.ConnectionID
        var machine: EPMDServerConnectionStateMachine
        /// The epoll events the socket is registered for; 0 while it is not in the epoll set.
        var watched: UInt32 = 0
        /// The part of the answer the socket did not take yet.
        var unwritten: ByteBuffer?
        var afterWrite: AfterWrite = .close
    }

    private enum AfterWrite {
        case close
        case keepOpen
        case terminate
    }

    let core: EPMDServerCore
    private let epollFD: Int32
    private let wakeFD: Int32
    private let listeners: [Int32]
    private var listenersPaused = false
    private var connections: [Int32: Connection] = [:]
    private var nextConnectionID: UInt64 = 0
    private var readBuffer = ByteBufferAllocator().buffer(capacity: readSize)
    private var writeBuffer = ByteBufferAllocator().buffer(capacity: 256)
    private var nextSweep: NIODeadline
    /// Whether the per-request trace line is wanted, read once: asking the log handler costs more than serving a
    /// lookup's user-space part.
    private let tracesRequests: Bool

    /// How many bytes one `read` asks for: any valid request fits (epmd's input buffer).
    static let readSize = EPMDLimits.inputBufferSize
    /// How many connections one wake-up accepts from a listener before serving other sockets again.
    static let maxAcceptsPerWakeup = 32
    /// How many epoll events one wait returns.
    static let maxEvents: Int32 = 64

    /// Takes ownership of the bound, listening, non-blocking `listeners`.
    init(core: EPMDServerCore, listeners: [Int32]) throws(IOError) {
        self.core = core
        self.listeners = listeners
        self.nextSweep = .now() + core.sweepInterval
        self.tracesRequests = core.logger.logLevel <= .trace
        let epollFD = System.epollCreate()
        guard epollFD >= 0 else { throw IOError(errnoCode: errno, reason: "epoll_create1") }
        let wakeFD = System.eventFD()
        guard wakeFD >= 0 else {
            let error = errno
            close(epollFD)
            throw IOError(errnoCode: error, reason: "eventfd")
        }
        self.epollFD = epollFD
        self.wakeFD = wakeFD
        for fd in listeners + [wakeFD] where System.epollControl(epollFD, System.EPOLL_CTL_ADD, fd, events: System.EPOLLIN) != 0 {
            let error = errno
            close(epollFD)
            close(wakeFD)
            throw IOError(errnoCode: error, reason: "epoll_ctl")
        }
    }

    /// Starts the loop on a thread of its own.
    func start() {
        let box = Unmanaged.passRetained(self)
        var thread = pthread_t()
        let result = pthread_create(&thread, nil, { argument in
            let loop = Unmanaged<EPMDSocketLoop>.fromOpaque(argument!).takeRetainedValue()
            loop.run()
            return nil
        }, box.toOpaque())
        precondition(result == 0, "swift-epmd: cannot start the socket loop thread (error \(result))")
        pthread_detach(thread)
    }

    /// Wakes the loop so that it notices ``EPMDServerCore/isTerminating``; callable from any thread.
    func wake() {
        var one: UInt64 = 1
        _ = Glibc.write(wakeFD, &one, MemoryLayout<UInt64>.size)
    }

    private func run() {
        let events = UnsafeMutableRawPointer.allocate(
            byteCount: System.epollEventSize * Int(Self.maxEvents),
            alignment: 8
        )
        defer { events.deallocate() }
        while !core.isTerminating.load(ordering: .acquiring) {
            let count = System.epollWait(epollFD, events, capacity: Self.maxEvents, timeout: waitTimeout())
            if count < 0 {
                if errno == EINTR { continue }
                core.logger.critical("epmd: epoll_wait failed, stopping", metadata: ["errno": "\(errno)"])
                break
            }
            for index in 0..<Int(count) {
                let (flags, fd) = System.event(events, at: index)
                if fd == wakeFD {
                    var value: UInt64 = 0
                    _ = read(wakeFD, &value, MemoryLayout<UInt64>.size)
                } else if listeners.contains(fd) {
                    acceptConnections(from: fd)
                } else if connections[fd] != nil {
                    // Whatever the flags say, the read or write result decides (an event may be stale when its
                    // fd was closed and reused earlier in this batch).
                    if flags & System.EPOLLOUT != 0 { flush(fd) }
                    if flags & ~System.EPOLLOUT != 0, connections[fd] != nil { readable(fd) }
                }
            }
            if !connections.isEmpty || listenersPaused {
                let now = NIODeadline.now()
                if now >= nextSweep {
                    sweep(now: now)
                    nextSweep = now + core.sweepInterval
                }
            }
        }
        shutDown()
    }

    /// Block until something happens, or until the next sweep while connections are open.
    private func waitTimeout() -> Int32 {
        guard !connections.isEmpty || listenersPaused else { return -1 }
        let remaining = (nextSweep - .now()).nanoseconds
        return Int32(clamping: max(0, (remaining + 999_999) / 1_000_000))
    }

    private func acceptConnections(from listener: Int32) {
        for _ in 0..<Self.maxAcceptsPerWakeup {
            let fd = System.accept(listener)
            guard fd >= 0 else {
                let error = errno
                switch error {
                case EAGAIN, EWOULDBLOCK:
                    return
                case EINTR, ECONNABORTED, EPROTO:
                    continue
                default:
                    // Out of descriptors or memory: stop accepting until the next sweep rather than spin on a
                    // listener that stays readable.
                    core.logger.error("epmd: accept failed, pausing", metadata: ["errno": "\(error)"])
                    pauseListeners(true)
                    return
                }
            }
            nextConnectionID &+= 1
            connections[fd] = Connection(
                id: EPMDRegistry.ConnectionID(nextConnectionID),
                machine: EPMDServerConnectionStateMachine(now: .now(), idleTimeout: core.configuration.packetTimeout)
            )
            // Clients send their request right after connecting, so it has usually arrived by now: reading at
            // once saves adding the socket to the epoll set and a wait.
            readable(fd)
        }
    }

    private func pauseListeners(_ pause: Bool) {
        guard pause != listenersPaused else { return }
        listenersPaused = pause
        for listener in listeners {
            _ = System.epollControl(epollFD, System.EPOLL_CTL_MOD, listener, events: pause ? 0 : System.EPOLLIN)
        }
    }

    /// Reads what `fd` has and runs the connection's state machine on it.
    private func readable(_ fd: Int32) {
        readBuffer.clear(minimumCapacity: Self.readSize)
        let count = readBuffer.withUnsafeMutableWritableBytes { read(fd, $0.baseAddress, $0.count) }
        guard count > 0 else {
            let error = errno
            if count < 0 && (error == EAGAIN || error == EWOULDBLOCK || error == EINTR) {
                watchIfUnwatched(fd)
            } else {
                if count < 0 {
                    core.logger.debug("epmd: connection error", metadata: ["peer": "\(peer(fd))", "errno": "\(error)"])
                }
                closeConnection(fd)
            }
            return
        }
        readBuffer.moveWriterIndex(forwardBy: count)
        switch connections[fd]!.machine.bytesReceived(&readBuffer, now: .now()) {
        case .none:
            watchIfUnwatched(fd)
        case .handle(let request):
            serve(request, fd: fd)
        case .close(let error, let unregister):
            core.logger.notice(
                "epmd: closing connection on bad input",
                metadata: ["peer": "\(peer(fd))", "error": "\(error)", "registered": "\(unregister)"]
            )
            if unregister, let id = connections[fd]?.id { core.unregister(id) }
            closeConnection(fd)
        }
    }

    private func serve(_ request: EPMDRequest, fd: Int32) {
        guard let id = connections[fd]?.id else { return }
        let isLocalPeer: Bool
        switch request {
        case .alive2, .dump, .kill, .stop: isLocalPeer = EPMDServerHandler.isLocal(
                peer: Self.address(of: fd, peer: true),
                local: Self.address(of: fd, peer: false)
            )
        case .portPlease2, .names: isLocalPeer = false
        }
        let action = core.state.withLock {
            $0.handle(request, from: id, isLocalPeer: isLocalPeer, nowSeconds: core.clock())
        }
        switch action {
        case .replyAndKeep(let response):
            connections[fd]!.machine.requestHandled(keepOpen: true)
            if case .alive2(_, let creation, _) = response, case .alive2(let info) = request {
                core.logger.info(
                    "epmd: registering",
                    metadata: [
                        "name": "\(info.name)", "creation": "\(creation)", "port": "\(info.port)",
                        "type": "\(info.nodeType.rawValue)", "highvsn": "\(info.highestVersion)",
                        "lowvsn": "\(info.lowestVersion)", "connection": "\(id)",
                    ]
                )
            }
            write(response, fd: fd, then: .keepOpen)
        case .replyAndClose(let response):
            connections[fd]!.machine.requestHandled(keepOpen: false)
            if case .alive2 = response, case .alive2(let info) = request {
                core.logger.notice("epmd: refused registration, name in use", metadata: ["name": "\(info.name)"])
            }
            if tracesRequests {
                core.logger.trace(
                    "epmd: served",
                    metadata: ["request": "\(request.operationName)", "peer": "\(peer(fd))"]
                )
            }
            write(response, fd: fd, then: .close)
        case .close(let reason):
            connections[fd]!.machine.requestHandled(keepOpen: false)
            core.logger.notice("epmd: closing connection", metadata: ["peer": "\(peer(fd))", "reason": "\(reason)"])
            closeConnection(fd)
        case .replyAndCloseRegistration(let response, let stopped):
            connections[fd]!.machine.requestHandled(keepOpen: false)
            if let stopped {
                core.logger.info("epmd: connection stopped", metadata: ["connection": "\(stopped.id)"])
                if let other = connections.first(where: { $0.value.id == stopped.id })?.key { closeConnection(other) }
            }
            write(response, fd: fd, then: .close)
        case .replyAndTerminate(let response):
            connections[fd]!.machine.requestHandled(keepOpen: false)
            core.logger.notice("epmd: killed", metadata: ["peer": "\(peer(fd))"])
            write(response, fd: fd, then: .terminate)
        }
    }

    private func write(_ response: EPMDResponse, fd: Int32, then next: AfterWrite) {
        writeBuffer.clear()
        response.encode(into: &writeBuffer)
        let sent = writeBuffer.withUnsafeReadableBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        if sent == writeBuffer.readableBytes {
            finished(fd, then: next)
            return
        }
        let error = errno
        guard sent >= 0 || error == EAGAIN || error == EWOULDBLOCK || error == EINTR else {
            core.logger.debug("epmd: write failed", metadata: ["peer": "\(peer(fd))", "errno": "\(error)"])
            closeConnection(fd)
            if case .terminate = next { core.terminate() }
            return
        }
        // The socket's send buffer is full (a long NAMES or DUMP answer): keep the rest for when it drains.
        writeBuffer.moveReaderIndex(forwardBy: max(0, sent))
        connections[fd]!.unwritten = writeBuffer
        connections[fd]!.afterWrite = next
        watch(fd, events: System.EPOLLOUT | (next == .keepOpen ? System.EPOLLIN : 0))
    }

    /// Writes more of a pending answer.
    private func flush(_ fd: Int32) {
        guard var pending = connections[fd]?.unwritten else { return }
        let sent = pending.withUnsafeReadableBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        if sent < 0 {
            let error = errno
            if error == EAGAIN || error == EWOULDBLOCK || error == EINTR { return }
            core.logger.debug("epmd: write failed", metadata: ["peer": "\(peer(fd))", "errno": "\(error)"])
            let next = connections[fd]!.afterWrite
            closeConnection(fd)
            if case .terminate = next { core.terminate() }
            return
        }
        pending.moveReaderIndex(forwardBy: sent)
        if pending.readableBytes > 0 {
            connections[fd]!.unwritten = pending
            return
        }
        connections[fd]!.unwritten = nil
        finished(fd, then: connections[fd]!.afterWrite)
    }

    /// The whole answer is in the kernel's hands.
    private func finished(_ fd: Int32, then next: AfterWrite) {
        switch next {
        case .close:
            // The answer is queued before the FIN, and the state machine made sure nothing unread is left (which
            // would turn the close into a reset).
            closeConnection(fd)
        case .keepOpen:
            watch(fd, events: System.EPOLLIN)
        case .terminate:
            closeConnection(fd)
            core.terminate()
        }
    }

    /// Adds `fd` to the epoll set for reading unless it is already there (then it waits for reading, or for
    /// writing the rest of an answer after which it closes).
    private func watchIfUnwatched(_ fd: Int32) {
        if connections[fd]?.watched == 0 { watch(fd, events: System.EPOLLIN) }
    }

    /// Makes the epoll set watch `fd` for exactly `events`.
    private func watch(_ fd: Int32, events: UInt32) {
        guard let current = connections[fd]?.watched, current != events else { return }
        let operation = current == 0 ? System.EPOLL_CTL_ADD : System.EPOLL_CTL_MOD
        if System.epollControl(epollFD, operation, fd, events: events) != 0 {
            core.logger.error("epmd: epoll_ctl failed", metadata: ["peer": "\(peer(fd))", "errno": "\(errno)"])
            closeConnection(fd)
            return
        }
        connections[fd]!.watched = events
    }

    /// Closes `fd` (which also takes it out of the epoll set) and ends its registration, if any.
    private func closeConnection(_ fd: Int32) {
        guard var connection = connections.removeValue(forKey: fd) else { return }
        if connection.machine.channelClosed() { core.unregister(connection.id) }
        close(fd)
    }

    /// Closes connections that have been waiting for their request for the whole packet timeout.
    private func sweep(now: NIODeadline) {
        pauseListeners(false)
        var expired: [Int32] = []
        for (fd, connection) in connections {
            var machine = connection.machine
            if case .close = machine.idleTimerFired(now: now) { expired.append(fd) }
        }
        for fd in expired {
            core.logger.notice("epmd: closing because timed out on receive", metadata: ["peer": "\(peer(fd))"])
            closeConnection(fd)
        }
    }

    private func shutDown() {
        // Also when the loop stops on an error: a later `terminate()` must then find nothing left to do.
        core.isTerminating.store(true, ordering: .releasing)
        for fd in Array(connections.keys) { closeConnection(fd) }
        for listener in listeners { close(listener) }
        close(epollFD)
        close(wakeFD)
        core.socketLoop.withLock { $0 = nil }
        core.logger.info("epmd: stopped")
        core.terminated.succeed(())
    }

    /// The peer, for log lines (computed only when a line is logged).
    private func peer(_ fd: Int32) -> String {
        Self.address(of: fd, peer: true).map { "\($0)" } ?? "?"
    }

    static func address(of fd: Int32, peer: Bool) -> SocketAddress? {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let result = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                peer ? getpeername(fd, $0, &length) : getsockname(fd, $0, &length)
            }
        }
        guard result == 0 else { return nil }
        switch Int32(storage.ss_family) {
        case AF_INET:
            return withUnsafePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { SocketAddress($0.pointee) }
            }
        case AF_INET6:
            return withUnsafePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { SocketAddress($0.pointee) }
            }
        default:
            return nil
        }
    }

    /// Opens a non-blocking listening socket on `address` (IPv6 sockets only for IPv6, as epmd binds both
    /// families separately); returns it and the address it is bound to.
    /// `TCP_DEFER_ACCEPT`: the kernel hands a connection to `accept` only once its first bytes have arrived, so
    /// the loop wakes once per request and the read right after `accept4` always finds it (measured: 6 syscalls
    /// per lookup instead of 6 to 9, ~20% less daemon CPU). A client that connects and stays silent is accepted
    /// after this many seconds (rounded up to the SYN-ACK retransmission schedule) and then falls under the
    /// packet timeout like any other.
    static let deferAcceptSeconds: Int32 = 1

    static func listen(on address: SocketAddress, backlog: Int32) throws(IOError) -> (Int32, SocketAddress) {
        let family: Int32
        switch address {
        case .v4: family = AF_INET
        case .v6: family = AF_INET6
        case .unixDomainSocket: throw IOError(errnoCode: EAFNOSUPPORT, reason: "socket")
        }
        let fd = socket(family, Int32(SOCK_STREAM.rawValue | SOCK_NONBLOCK.rawValue | SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw IOError(errnoCode: errno, reason: "socket") }
        func fail(_ call: String) -> IOError {
            let error = IOError(errnoCode: errno, reason: call)
            close(fd)
            return error
        }
        var one: Int32 = 1
        guard setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size)) == 0 else {
            throw fail("setsockopt(SO_REUSEADDR)")
        }
        if family == AF_INET6,
            setsockopt(fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY, &one, socklen_t(MemoryLayout<Int32>.size)) != 0
        {
            throw fail("setsockopt(IPV6_V6ONLY)")
        }
        // Best effort: without it the loop still works, with a wake-up more per connection.
        var deferSeconds = deferAcceptSeconds
        _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_DEFER_ACCEPT, &deferSeconds, socklen_t(MemoryLayout<Int32>.size))
        guard address.withSockAddr({ bind(fd, $0, socklen_t($1)) }) == 0 else { throw fail("bind") }
        guard Glibc.listen(fd, backlog) == 0 else { throw fail("listen") }
        guard let bound = Self.address(of: fd, peer: false) else { throw fail("getsockname") }
        return (fd, bound)
    }
}
#endif
