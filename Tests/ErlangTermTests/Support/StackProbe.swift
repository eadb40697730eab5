#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Runs code on a thread of its own with a chosen stack, as small as the 512 KiB threads of NIO's event loops and
/// of the concurrency pool on macOS, and measures how much of a stack code uses.
enum StackProbe {
    /// The stack of NIO's event-loop threads and of Swift concurrency's pool threads on macOS.
    static let smallStack = 512 * 1024

    /// The body, handed to the thread (@unchecked: only the new thread runs it, while its creator waits in
    /// `pthread_join`).
    private final class Job: @unchecked Sendable {
        let body: () -> Void
        init(_ body: @escaping () -> Void) { self.body = body }
    }

    /// Runs `body` to completion on a new thread whose stack is `stackSize` bytes (`pthread_attr_setstacksize`).
    /// A stack overflow crashes the test process, which is the failure this guards against.
    static func run(stackSize: Int = smallStack, _ body: @escaping () -> Void) {
        // Allocated, not `pthread_attr_t()`: with MemberImportVisibility that initializer is attributed to
        // whichever C module first imported the header.
        let attributes = UnsafeMutablePointer<pthread_attr_t>.allocate(capacity: 1)
        defer { attributes.deallocate() }
        pthread_attr_init(attributes)
        defer { pthread_attr_destroy(attributes) }
        precondition(pthread_attr_setstacksize(attributes, stackSize) == 0)
        start(Job(body), attributes: attributes)
    }

    /// The most bytes of stack `body` used, found by running it on a stack painted with a pattern and finding the
    /// deepest byte that changed. Includes what the thread itself needs before `body` starts. The stack is
    /// `capacity` bytes above a guard region, so an overflow crashes rather than corrupting memory.
    static func peakUse(capacity: Int = 8 << 20, _ body: @escaping () -> Void) -> Int {
        let guardSize = 64 * 1024
        let size = capacity + guardSize
        let pattern: UInt8 = 0xA5
        guard let memory = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
              memory != MAP_FAILED
        else { preconditionFailure("mmap failed") }
        defer { munmap(memory, size) }
        precondition(mprotect(memory, guardSize, PROT_NONE) == 0)
        let stack = memory + guardSize
        stack.initializeMemory(as: UInt8.self, repeating: pattern, count: capacity)
        let attributes = UnsafeMutablePointer<pthread_attr_t>.allocate(capacity: 1)
        defer { attributes.deallocate() }
        pthread_attr_init(attributes)
        defer { pthread_attr_destroy(attributes) }
        precondition(pthread_attr_setstack(attributes, stack, capacity) == 0)
        start(Job(body), attributes: attributes)
        // The stack grows down from the top: the lowest changed byte marks the deepest use.
        let bytes = stack.assumingMemoryBound(to: UInt8.self)
        var low = 0
        while low < capacity && bytes[low] == pattern { low += 1 }
        return capacity - low
    }

    private static func start(_ job: Job, attributes: UnsafeMutablePointer<pthread_attr_t>) {
        let context = Unmanaged.passRetained(job).toOpaque()
        #if canImport(Glibc)
        var thread = pthread_t()
        #else
        var thread: pthread_t? = nil
        #endif
        let created = pthread_create(&thread, attributes, { context in
            #if canImport(Glibc)
            let job = Unmanaged<Job>.fromOpaque(context!).takeRetainedValue()
            #else
            let job = Unmanaged<Job>.fromOpaque(context).takeRetainedValue()
            #endif
            job.body()
            return nil
        }, context)
        precondition(created == 0, "pthread_create failed: \(created)")
        #if canImport(Glibc)
        pthread_join(thread, nil)
        #else
        pthread_join(thread!, nil)
        #endif
    }
}

/// A value handed into and out of a ``StackProbe`` thread (@unchecked: the probe joins the thread before the
/// creator reads it again, so the two never touch it at the same time).
final class Handoff<Value>: @unchecked Sendable {
    var value: Value
    init(_ value: Value) { self.value = value }
}
