#if os(Linux) && canImport(Glibc)
import Glibc

/// The Linux calls the daemon's socket loop needs that the Swift `Glibc` module does not import (`epoll`,
/// `eventfd`, `accept4` live in headers outside its module map). Each is looked up once by symbol and called
/// through its C signature, which avoids a C target for five functions; the constants are the Linux ABI values.
enum EPMDLinuxSystem {
    static let EPOLLIN: UInt32 = 0x001
    static let EPOLLOUT: UInt32 = 0x004
    static let EPOLLERR: UInt32 = 0x008
    static let EPOLLHUP: UInt32 = 0x010
    static let EPOLL_CTL_ADD: Int32 = 1
    static let EPOLL_CTL_DEL: Int32 = 2
    static let EPOLL_CTL_MOD: Int32 = 3
    static let EPOLL_CLOEXEC: Int32 = 0o2000000
    static let EFD_CLOEXEC: Int32 = 0o2000000
    static let EFD_NONBLOCK: Int32 = 0o4000

    /// `struct epoll_event` is packed on x86-64 (12 bytes, `data` at offset 4) and naturally aligned elsewhere.
    #if arch(x86_64)
    static let epollEventSize = 12
    static let epollDataOffset = 4
    #else
    static let epollEventSize = 16
    static let epollDataOffset = 8
    #endif

    typealias EpollCreate1 = @convention(c) (Int32) -> Int32
    typealias EpollCtl = @convention(c) (Int32, Int32, Int32, UnsafeMutableRawPointer?) -> Int32
    typealias EpollWait = @convention(c) (Int32, UnsafeMutableRawPointer?, Int32, Int32) -> Int32
    typealias EventFD = @convention(c) (UInt32, Int32) -> Int32
    typealias Accept4 =
        @convention(c) (Int32, UnsafeMutablePointer<sockaddr>?, UnsafeMutablePointer<socklen_t>?, Int32) -> Int32

    /// The looked-up functions, held by value: the socket loop keeps one copy so that a call costs an indirect
    /// call and nothing else (a `static let` would go through a lazy-initialisation check on every use).
    struct Functions: @unchecked Sendable {  // immutable C function pointers
        let epollCreate1Function: EpollCreate1
        let epollCtlFunction: EpollCtl
        let epollWaitFunction: EpollWait
        let eventFDFunction: EventFD
        let accept4Function: Accept4

        init() {
            epollCreate1Function = EPMDLinuxSystem.symbol("epoll_create1")
            epollCtlFunction = EPMDLinuxSystem.symbol("epoll_ctl")
            epollWaitFunction = EPMDLinuxSystem.symbol("epoll_wait")
            eventFDFunction = EPMDLinuxSystem.symbol("eventfd")
            accept4Function = EPMDLinuxSystem.symbol("accept4")
        }

        func epollCreate() -> Int32 { epollCreate1Function(EPOLL_CLOEXEC) }

        /// `epoll_ctl` with the event's data set to `fd`.
        func epollControl(_ epoll: Int32, _ operation: Int32, _ fd: Int32, events: UInt32) -> Int32 {
            withUnsafeTemporaryAllocation(byteCount: 16, alignment: 8) { event in
                event.initializeMemory(as: UInt8.self, repeating: 0)
                event.storeBytes(of: events, toByteOffset: 0, as: UInt32.self)
                event.storeBytes(of: UInt64(UInt32(bitPattern: fd)), toByteOffset: epollDataOffset, as: UInt64.self)
                return epollCtlFunction(epoll, operation, fd, event.baseAddress)
            }
        }

        /// `epoll_wait` into `events`, a buffer of `capacity` events of ``epollEventSize`` bytes.
        func epollWait(
            _ epoll: Int32,
            _ events: UnsafeMutableRawPointer,
            capacity: Int32,
            timeout: Int32
        ) -> Int32 {
            epollWaitFunction(epoll, events, capacity, timeout)
        }

        func eventFD() -> Int32 { eventFDFunction(0, EFD_CLOEXEC | EFD_NONBLOCK) }

        /// `accept4` making the new socket non-blocking and close-on-exec (no `fcntl` calls afterwards), storing
        /// the peer's address into `peer` (which saves a `getpeername` when the address is needed).
        func accept(_ listener: Int32, peer: inout sockaddr_storage) -> Int32 {
            var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
            return withUnsafeMutablePointer(to: &peer) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    accept4Function(listener, $0, &length, Int32(SOCK_NONBLOCK.rawValue | SOCK_CLOEXEC.rawValue))
                }
            }
        }
    }

    private static func symbol<Function>(_ name: String) -> Function {
        // RTLD_DEFAULT (a null handle): these are all in the C library every Swift program links.
        guard let address = dlsym(nil, name) else { fatalError("swift-epmd: \(name) not found in the C library") }
        return unsafeBitCast(address, to: Function.self)
    }

    /// The events and fd of the `index`th entry filled by ``Functions/epollWait(_:_:capacity:timeout:)``.
    static func event(_ events: UnsafeMutableRawPointer, at index: Int) -> (events: UInt32, fd: Int32) {
        let offset = index * epollEventSize
        let flags = events.loadUnaligned(fromByteOffset: offset, as: UInt32.self)
        let data = events.loadUnaligned(fromByteOffset: offset + epollDataOffset, as: UInt64.self)
        return (flags, Int32(bitPattern: UInt32(truncatingIfNeeded: data)))
    }
}
#endif
