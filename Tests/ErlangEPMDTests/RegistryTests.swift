import Testing

@testable import ErlangEPMD

@Suite("EPMD registry")
struct RegistryTests {
    typealias ID = EPMDRegistry.ConnectionID

    func info(_ name: String, port: UInt16 = 1000, highest: UInt16 = 6) -> EPMDNodeInfo {
        EPMDNodeInfo(name: name, port: port, highestVersion: highest, lowestVersion: 5)
    }

    @Test func namesAreUnique() {
        var registry = EPMDRegistry()
        #expect(registry.register(info("a"), connection: ID(1), nowSeconds: 100) == .registered(creation: 101))
        #expect(registry.register(info("a"), connection: ID(2), nowSeconds: 100) == .nameInUse(by: ID(1)))
        #expect(registry.register(info("b"), connection: ID(1), nowSeconds: 100) == .connectionAlreadyRegistered(name: "a"))
        #expect(registry.count == 1)
    }

    @Test func registrationLivesAsLongAsItsConnection() {
        var registry = EPMDRegistry()
        _ = registry.register(info("a", port: 7), connection: ID(1), nowSeconds: 100)
        #expect(registry.lookup(name: "a")?.port == 7)
        #expect(registry.connectionClosed(ID(2)) == nil)
        #expect(registry.connectionClosed(ID(1))?.info.name == "a")
        #expect(registry.lookup(name: "a") == nil)
        #expect(registry.register(info("a"), connection: ID(3), nowSeconds: 100) != .nameInUse(by: ID(1)))
    }

    @Test func creationLikeEpmd() {
        var registry = EPMDRegistry()
        // A new name starts at the time in seconds, bumped once.
        #expect(registry.register(info("a"), connection: ID(1), nowSeconds: 1_700_000_000) == .registered(creation: 1_700_000_001))
        registry.connectionClosed(ID(1))
        // A remembered name returning gets the next value, whatever the time.
        #expect(registry.register(info("a"), connection: ID(2), nowSeconds: 5) == .registered(creation: 1_700_000_002))
        registry.connectionClosed(ID(2))
        // Distribution version 5 nodes get counter % 3 + 1.
        #expect(registry.register(info("a", highest: 5), connection: ID(3), nowSeconds: 5) == .registered(creation: 1_700_000_003 % 3 + 1))
    }

    @Test func creationNeverBelowFour() {
        #expect(EPMDRegistry.bumped(0) == 4)
        #expect(EPMDRegistry.bumped(UInt32.max) == 4)
        #expect(EPMDRegistry.bumped(4) == 5)
        var registry = EPMDRegistry()
        #expect(registry.register(info("a"), connection: ID(1), nowSeconds: 0) == .registered(creation: 4))
    }

    @Test func rememberedNamesAreBounded() {
        var registry = EPMDRegistry(maxRememberedNames: 3)
        for index in 0..<10 {
            _ = registry.register(info("n\(index)"), connection: ID(UInt64(index)), nowSeconds: 1000)
            registry.connectionClosed(ID(UInt64(index)))
        }
        #expect(registry.rememberedNames.map(\.name) == ["n7", "n8", "n9"])
        // A forgotten name starts again from the clock.
        #expect(registry.register(info("n0"), connection: ID(100), nowSeconds: 2000) == .registered(creation: 2001))
        // A remembered one continues its counter.
        #expect(registry.register(info("n9"), connection: ID(101), nowSeconds: 2000) == .registered(creation: 1002))
    }

    @Test func churnOfOneNameKeepsMemoryBounded() {
        var registry = EPMDRegistry(maxRememberedNames: 2)
        var last: UInt32 = 0
        for index in 0..<10_000 {
            guard case .registered(let creation) = registry.register(info("x"), connection: ID(UInt64(index)), nowSeconds: 50)
            else {
                Issue.record("registration \(index) refused")
                return
            }
            #expect(creation != last)
            last = creation
            registry.connectionClosed(ID(UInt64(index)))
        }
        #expect(registry.rememberedNames.count == 1)
    }

    @Test func namesOrderIsMostRecentFirst() {
        var registry = EPMDRegistry()
        for (index, name) in ["a", "b", "c"].enumerated() {
            _ = registry.register(info(name), connection: ID(UInt64(index)), nowSeconds: 1)
        }
        #expect(registry.registrations.map(\.info.name) == ["c", "b", "a"])
    }

    @Test func stopUnregistersByName() {
        var registry = EPMDRegistry()
        _ = registry.register(info("a"), connection: ID(9), nowSeconds: 1)
        #expect(registry.unregister(name: "a")?.connection == ID(9))
        #expect(registry.connectionClosed(ID(9)) == nil)
        #expect(registry.unregister(name: "a") == nil)
    }
}
