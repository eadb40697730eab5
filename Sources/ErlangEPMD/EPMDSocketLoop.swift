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
/// `send`, `close` (plus the `epoll_wait` that woke the loop); otherwise the socket is added to the epoll set and
/// served when readable. Registrations stay in the set (their close or any byte ends them); connections awaiting
/// a request are swept for the idle timeout.
final class EPMDSocketLoop: Sendable {
    private typealias System = EPMDLinuxSystem

    let core: EPMDServerCore
    private let epollFD: Int32
    private let wakeFD: Int32
    private let listeners: [Int32]
    private let system: System.Functions

    /// How many bytes one `read` asks for: any valid request fits (epmd's input buffer).
    static let readSize = EPMDLimits.inputBufferSize
    /// How many connections one wake-up accepts from a listener at most before serving other sockets again.
    static let maxAcceptsPerWakeup = 32
    /// While wake-ups find one connection each, the loop accepts one per wake-up (a second `accept4` would only
    /// report `EAGAIN`); every this many wake-ups it accepts until `EAGAIN` to notice a backlog.
    static let acceptProbeInterval = 8
    /// How many epoll events one wait returns.
    static let maxEvents: Int32 = 64

    /// Takes ownership of the bound, listening, non-blocking `listeners`.
    init(core: EPMDServerCore, listeners: [Int32]) throws(IOError) {
        let system = System.Functions()
        self.core = core
        self.listeners = listeners
        self.system = system
        let epollFD = system.epollCreate()
        guard epollFD >= 0 else { throw IOError(errnoCode: errno, reason: "epoll_create1") }
        let wakeFD = system.eventFD()
        guard wakeFD >= 0 else {
            let error = errno
            close(epollFD)
            throw IOError(errnoCode: error, reason: "eventfd")
        }
        self.epollFD = epollFD
        self.wakeFD = wakeFD
        for fd in listeners + [wakeFD] where system.epollControl(epollFD, System.EPOLL_CTL_ADD, fd, events: System.EPOLLIN) != 0 {
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
            var engine = Engine(
                core: loop.core,
                epollFD: loop.epollFD,
                wakeFD: loop.wakeFD,
                listeners: loop.listeners,
                system: loop.system
            )
            engine.run()
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

    /// One accepted connection that outlives the wake-up that accepted it: it awaits (the rest of) its request,
    /// holds a registration, or has part of an answer left to write.
    private struct Connection {
        let id: EPMDRegistry.ConnectionID
        /// The peer's address as `accept4` reported it.
        let peer: PeerAddress
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

    /// A peer's IP address, as much of it as the access rules need.
    struct PeerAddress: Equatable {
        /// `AF_INET` or `AF_INET6` (0 for anything else).
        var family: Int32
        /// The address bytes in network order (an IPv4 address in the first four).
        var high: UInt64
        var low: UInt64

        init(_ storage: sockaddr_storage) {
            var storage = storage
            switch Int32(storage.ss_family) {
            case AF_INET:
                family = AF_INET
                high = withUnsafeBytes(of: &storage) { UInt64($0.load(fromByteOffset: 4, as: UInt32.self)) }
                low = 0
            case AF_INET6:
                family = AF_INET6
                (high, low) = withUnsafeBytes(of: &storage) {
                    ($0.loadUnaligned(fromByteOffset: 8, as: UInt64.self), $0.loadUnaligned(fromByteOffset: 16, as: UInt64.self))
                }
            default:
                (family, high, low) = (0, 0, 0)
            }
        }

        /// What ``EPMDServer/isLoopback(_:)`` accepts: 127.0.0.0/8, `::1`, and `::ffff:127.0.0.0/104`.
        var isLoopback: Bool {
            switch family {
            case AF_INET:
                return UInt32(bigEndian: UInt32(truncatingIfNeeded: high)) >> 24 == 127
            case AF_INET6:
                let (first, last) = (UInt64(bigEndian: high), UInt64(bigEndian: low))
                return first == 0 && (last == 1 || last >> 24 == 0x0000_FFFF_7F)
            default:
                return false
            }
        }
    }

    /// The open connections, indexed by file descriptor (the kernel hands out the lowest free numbers, so the
    /// table stays as small as the number of open sockets).
    private struct ConnectionTable {
        private var slots: [Connection?] = []
        private(set) var count = 0

        var isEmpty: Bool { count == 0 }

        func contains(_ fd: Int32) -> Bool {
            Int(fd) < slots.count && slots[Int(fd)] != nil
        }

        subscript(fd: Int32) -> Connection? {
            get { Int(fd) < slots.count ? slots[Int(fd)] : nil }
            _modify {
                let index = Int(fd)
                if index >= slots.count {
                    slots.append(contentsOf: repeatElement(nil, count: max(index + 1, 2 * slots.count, 64) - slots.count))
                }
                let had = slots[index] != nil
                yield &slots[index]
                count += (slots[index] != nil ? 1 : 0) - (had ? 1 : 0)
            }
        }

        mutating func remove(_ fd: Int32) -> Connection? {
            guard contains(fd) else { return nil }
            count -= 1
            defer { slots[Int(fd)] = nil }
            return slots[Int(fd)]
        }

        /// The descriptors of the open connections.
        var descriptors: [Int32] {
            slots.indices.compactMap { slots[$0] == nil ? nil : Int32($0) }
        }
    }

    /// The loop's state and logic; a value owned by the loop thread, so that its accesses are checked for
    /// exclusivity at compile time rather than on every access to a class property.
    private struct Engine {
        let core: EPMDServerCore
        let epollFD: Int32
        let wakeFD: Int32
        let listeners: [Int32]
        let system: System.Functions
        var listenersPaused = false
        var connections = ConnectionTable()
        var nextConnectionID: UInt64 = 0
        var readBuffer = ByteBufferAllocator().buffer(capacity: EPMDSocketLoop.readSize)
        var writeBuffer = ByteBufferAllocator().buffer(capacity: 256)
        var acceptedPeer = sockaddr_storage()
        var nextSweep: NIODeadline
        /// Whether the per-request trace line is wanted, read once: asking the log handler costs more than serving
        /// a lookup's user-space part.
        let tracesRequests: Bool
        let idleTimeout: TimeAmount
        /// Whether recent wake-ups found several connections waiting (then accept until `EAGAIN`).
        var acceptsInBatches = false
        var wakeupsSinceProbe = 0

        init(core: EPMDServerCore, epollFD: Int32, wakeFD: Int32, listeners: [Int32], system: System.Functions) {
            self.core = core
            self.epollFD = epollFD
            self.wakeFD = wakeFD
            self.listeners = listeners
            self.system = system
            self.nextSweep = .now() + core.sweepInterval
            self.tracesRequests = core.logger.logLevel <= .trace
            self.idleTimeout = core.configuration.packetTimeout
        }

        mutating func run() {
            let events = UnsafeMutableRawPointer.allocate(
                byteCount: System.epollEventSize * Int(EPMDSocketLoop.maxEvents),
                alignment: 8
            )
            defer { events.deallocate() }
            while !core.isTerminating.load(ordering: .acquiring) {
                let count = system.epollWait(epollFD, events, capacity: EPMDSocketLoop.maxEvents, timeout: waitTimeout())
                if count < 0 {
                    if errno == EINTR { continue }
                    core.logger.critical("epmd: epoll_wait failed, stopping", metadata: ["errno": "\(errno)"])
                    break
                }
                // One reading of the clock per wake-up stamps every connection it accepts or reads.
                let now = NIODeadline.now()
                for index in 0..<Int(count) {
                    let (flags, fd) = System.event(events, at: index)
                    if fd == wakeFD {
                        var value: UInt64 = 0
                        _ = read(wakeFD, &value, MemoryLayout<UInt64>.size)
                    } else if listeners.contains(fd) {
                        acceptConnections(from: fd, now: now)
                    } else if connections.contains(fd) {
                        // Whatever the flags say, the read or write result decides (an event may be stale when its
                        // fd was closed and reused earlier in this batch).
                        if flags & System.EPOLLOUT != 0 { flush(fd) }
                        if flags & ~System.EPOLLOUT != 0, connections.contains(fd) { readable(fd, now: now) }
                    }
                }
                if !connections.isEmpty || listenersPaused, now >= nextSweep {
                    sweep(now: now)
                    nextSweep = now + core.sweepInterval
                }
            }
            shutDown()
        }

        /// Block until something happens, or until the next sweep while connections are open.
        func waitTimeout() -> Int32 {
            guard !connections.isEmpty || listenersPaused else { return -1 }
            let remaining = (nextSweep - .now()).nanoseconds
            return Int32(clamping: max(0, (remaining + 999_999) / 1_000_000))
        }

        mutating func acceptConnections(from listener: Int32, now: NIODeadline) {
            // A level-triggered listener is reported again while connections wait, so accepting one per wake-up
            // loses nothing; accepting until EAGAIN pays off only when several are waiting.
            let batch = acceptsInBatches || wakeupsSinceProbe >= EPMDSocketLoop.acceptProbeInterval
            wakeupsSinceProbe = batch ? 0 : wakeupsSinceProbe + 1
            var accepted = 0
            while accepted < EPMDSocketLoop.maxAcceptsPerWakeup {
                let fd = system.accept(listener, peer: &acceptedPeer)
                guard fd >= 0 else {
                    let error = errno
                    switch error {
                    case EAGAIN, EWOULDBLOCK:
                        acceptsInBatches = accepted > 1
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
                accepted += 1
                nextConnectionID &+= 1
                connections[fd] = Connection(
                    id: EPMDRegistry.ConnectionID(nextConnectionID),
                    peer: PeerAddress(acceptedPeer),
                    machine: EPMDServerConnectionStateMachine(now: now, idleTimeout: idleTimeout)
                )
                // Clients send their request right after connecting, so it has often arrived by now: reading at
                // once saves adding the socket to the epoll set and a wait (otherwise the read finds nothing and
                // the socket waits in the epoll set like any other).
                readable(fd, now: now)
                if !batch { return }
            }
        }

        mutating func pauseListeners(_ pause: Bool) {
            guard pause != listenersPaused else { return }
            listenersPaused = pause
            for listener in listeners {
                _ = system.epollControl(epollFD, System.EPOLL_CTL_MOD, listener, events: pause ? 0 : System.EPOLLIN)
            }
        }

        /// Reads what `fd` has and runs the connection's state machine on it.
        mutating func readable(_ fd: Int32, now: NIODeadline) {
            readBuffer.clear(minimumCapacity: EPMDSocketLoop.readSize)
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
            switch connections[fd]!.machine.bytesReceived(&readBuffer, now: now) {
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
            case .refuseRegistration(let error, let highestVersion):
                guard let peerAddress = connections[fd]?.peer else { return }
                let isLocalPeer = EPMDSocketLoop.isLocal(peerAddress, fd: fd)
                let action = core.state.withLock {
                    $0.refuseRegistration(highestVersion: highestVersion, isLocalPeer: isLocalPeer)
                }
                if case .replyAndClose = action {
                    core.logger.notice("epmd: refused registration", metadata: ["peer": "\(peer(fd))", "error": "\(error)"])
                }
                perform(action, for: nil, fd: fd)
            }
        }

        mutating func serve(_ request: EPMDRequest, fd: Int32) {
            guard let id = connections[fd]?.id, let peerAddress = connections[fd]?.peer else { return }
            let isLocalPeer: Bool
            let nowSeconds: UInt64
            switch request {
            case .alive2:
                isLocalPeer = EPMDSocketLoop.isLocal(peerAddress, fd: fd)
                nowSeconds = core.clock()
            case .dump, .kill, .stop:
                isLocalPeer = EPMDSocketLoop.isLocal(peerAddress, fd: fd)
                nowSeconds = 0
            case .portPlease2, .names:
                isLocalPeer = false
                nowSeconds = 0
            }
            let action = core.state.withLock {
                $0.handle(request, from: id, isLocalPeer: isLocalPeer, nowSeconds: nowSeconds)
            }
            perform(action, for: request, fd: fd)
        }

        /// Carries out the state machine's answer to `request` (`nil` for a registration refused before it became
        /// a request).
        mutating func perform(_ action: EPMDServerStateMachine.Action, for request: EPMDRequest?, fd: Int32) {
            switch action {
            case .replyAndKeep(let response):
                connections[fd]!.machine.requestHandled(keepOpen: true)
                if case .alive2(_, let creation, _) = response, case .alive2(let info)? = request, let id = connections[fd]?.id {
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
                if case .alive2 = response, case .alive2(let info)? = request {
                    core.logger.notice("epmd: refused registration", metadata: ["name": "\(info.name)"])
                }
                if tracesRequests {
                    core.logger.trace(
                        "epmd: served",
                        metadata: ["request": "\(request?.operationName ?? "ALIVE2_REQ")", "peer": "\(peer(fd))"]
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
                    if let other = connections.descriptors.first(where: { connections[$0]?.id == stopped.id }) {
                        closeConnection(other)
                    }
                }
                write(response, fd: fd, then: .close)
            case .replyAndTerminate(let response):
                connections[fd]!.machine.requestHandled(keepOpen: false)
                core.logger.notice("epmd: killed", metadata: ["peer": "\(peer(fd))"])
                write(response, fd: fd, then: .terminate)
            }
        }

        mutating func write(_ response: EPMDResponse, fd: Int32, then next: AfterWrite) {
            writeBuffer.clear()
            response.encode(into: &writeBuffer)
            // An answer followed by the close goes out with MSG_MORE: the kernel holds it until `close` appends
            // the FIN, so answer and FIN travel in one segment instead of two (one packet less for both ends to
            // process). A registration's answer is sent at once.
            let flags = Int32(MSG_NOSIGNAL) | (next == .keepOpen ? 0 : Int32(MSG_MORE))
            let sent = writeBuffer.withUnsafeReadableBytes { send(fd, $0.baseAddress, $0.count, flags) }
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
            // (Data held back by MSG_MORE goes out with the next send, which has no MSG_MORE, or with the close.)
            writeBuffer.moveReaderIndex(forwardBy: max(0, sent))
            connections[fd]!.unwritten = writeBuffer
            connections[fd]!.afterWrite = next
            watch(fd, events: System.EPOLLOUT | (next == .keepOpen ? System.EPOLLIN : 0))
        }

        /// Writes more of a pending answer.
        mutating func flush(_ fd: Int32) {
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
        mutating func finished(_ fd: Int32, then next: AfterWrite) {
            switch next {
            case .close:
                // The answer is queued before the FIN, and the state machine made sure nothing unread is left
                // (which would turn the close into a reset).
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
        mutating func watchIfUnwatched(_ fd: Int32) {
            if connections[fd]?.watched == 0 { watch(fd, events: System.EPOLLIN) }
        }

        /// Makes the epoll set watch `fd` for exactly `events`.
        mutating func watch(_ fd: Int32, events: UInt32) {
            guard let current = connections[fd]?.watched, current != events else { return }
            let operation = current == 0 ? System.EPOLL_CTL_ADD : System.EPOLL_CTL_MOD
            if system.epollControl(epollFD, operation, fd, events: events) != 0 {
                core.logger.error("epmd: epoll_ctl failed", metadata: ["peer": "\(peer(fd))", "errno": "\(errno)"])
                closeConnection(fd)
                return
            }
            connections[fd]!.watched = events
        }

        /// Closes `fd` (which also takes it out of the epoll set) and ends its registration, if any.
        mutating func closeConnection(_ fd: Int32) {
            guard var connection = connections.remove(fd) else { return }
            if connection.machine.channelClosed() { core.unregister(connection.id) }
            close(fd)
        }

        /// Closes connections that have been waiting for their request for the whole packet timeout.
        mutating func sweep(now: NIODeadline) {
            pauseListeners(false)
            var expired: [Int32] = []
            for fd in connections.descriptors {
                var machine = connections[fd]!.machine
                if case .close = machine.idleTimerFired(now: now) { expired.append(fd) }
            }
            for fd in expired {
                core.logger.notice("epmd: closing because timed out on receive", metadata: ["peer": "\(peer(fd))"])
                closeConnection(fd)
            }
        }

        mutating func shutDown() {
            // Also when the loop stops on an error: a later `terminate()` must then find nothing left to do.
            core.isTerminating.store(true, ordering: .releasing)
            for fd in connections.descriptors { closeConnection(fd) }
            for listener in listeners { close(listener) }
            close(epollFD)
            close(wakeFD)
            core.socketLoop.withLock { $0 = nil }
            core.logger.info("epmd: stopped")
            core.terminated.succeed(())
        }

        /// The peer, for log lines (computed only when a line is logged).
        func peer(_ fd: Int32) -> String {
            EPMDSocketLoop.address(of: fd, peer: true).map { "\($0)" } ?? "?"
        }
    }

    /// Whether `peer`, the peer of `fd`, is local as ``EPMDServerHandler/isLocal(peer:local:)`` decides (a
    /// loopback address, or the same address as the socket's own), on the raw addresses: a `getsockname` only
    /// when the peer is not loopback.
    static func isLocal(_ peer: PeerAddress, fd: Int32) -> Bool {
        guard peer.family != 0 else { return false }
        if peer.isLoopback { return true }
        var local = sockaddr_storage()
        guard name(of: fd, peer: false, into: &local) else { return false }
        return PeerAddress(local) == peer
    }

    private static func name(of fd: Int32, peer: Bool, into storage: inout sockaddr_storage) -> Bool {
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        return withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                peer ? getpeername(fd, $0, &length) : getsockname(fd, $0, &length)
            }
        } == 0
    }

    static func address(of fd: Int32, peer: Bool) -> SocketAddress? {
        var storage = sockaddr_storage()
        guard name(of: fd, peer: peer, into: &storage) else { return nil }
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
    /// No `TCP_DEFER_ACCEPT` (tried, and measured against epmd in alternating runs on a quiet machine): deferring
    /// the accept until the request's bytes arrive saves a wake-up, but the daemon then wakes only when the client
    /// already waits for the answer, from a halted vCPU; accepting at the handshake, as epmd does, overlaps that
    /// wake-up with the client's send. Sequential lookups went 0.92x -> 1.05x of epmd, registration churn 0.96x ->
    /// 1.16x, 8 concurrent clients unchanged (1.1x-1.2x).

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
        guard address.withSockAddr({ bind(fd, $0, socklen_t($1)) }) == 0 else { throw fail("bind") }
        guard Glibc.listen(fd, backlog) == 0 else { throw fail("listen") }
        guard let bound = Self.address(of: fd, peer: false) else { throw fail("getsockname") }
        return (fd, bound)
    }
}
#endif
