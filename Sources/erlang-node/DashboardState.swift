import ErlangNode
import ErlangTerm
import Foundation

/// What the dashboard sends the page: a ``NodeSnapshot`` as JSON, with pids and atoms as text. Traffic goes as
/// running totals with the snapshot's time; the page turns consecutive samples into rates.
struct DashboardState: Codable, Sendable {
    struct Peer: Codable, Sendable {
        var name: String
        var hidden: Bool
        var since: Double?
        var messagesIn: Int
        var messagesOut: Int
        var bytesIn: Int
        var bytesOut: Int
    }

    struct Process: Codable, Sendable {
        var pid: String
        var name: String?
        var state: String
        var mailbox: Int
        var trapExit: Bool
        var links: [String]
        var monitoredBy: [String]
        var monitoring: [String]
    }

    struct Name: Codable, Sendable {
        var name: String
        var pid: String
    }

    struct Event: Codable, Sendable {
        var kind: String
        var peer: String
        var hidden: Bool
        var time: Double
    }

    var node: String
    var creation: UInt32
    var hidden: Bool
    var time: Double
    var peers: [Peer]
    var disconnected: [String]
    var processes: [Process]
    var names: [Name]
    var events: [Event]

    /// At most this many processes go to the page (the busiest mailboxes first, then by pid), so that a node
    /// with a million processes still sends a small update.
    static let processLimit = 500

    init(_ snapshot: NodeSnapshot) {
        let local = snapshot.node
        func text(_ pid: Pid) -> String { pid.node == local ? "<0.\(pid.id).\(pid.serial)>" : "<\(pid.node.name).\(pid.id).\(pid.serial)>" }
        node = snapshot.node.name
        creation = snapshot.creation
        hidden = snapshot.isHidden
        time = Self.seconds(snapshot.time)
        peers = snapshot.peers.map {
            Peer(name: $0.name.name, hidden: $0.isHidden, since: $0.connectedSince.map(Self.seconds),
                 messagesIn: $0.traffic.messagesIn, messagesOut: $0.traffic.messagesOut,
                 bytesIn: $0.traffic.bytesIn, bytesOut: $0.traffic.bytesOut)
        }
        disconnected = snapshot.disconnected.map(\.name)
        var shown = snapshot.processes
        if shown.count > Self.processLimit {
            shown = Array(shown.sorted { ($0.mailboxLength, $1.pid) > ($1.mailboxLength, $0.pid) }.prefix(Self.processLimit))
                .sorted { $0.pid < $1.pid }
        }
        processes = shown.map {
            Process(pid: text($0.pid), name: $0.registeredName?.name, state: $0.state.rawValue, mailbox: $0.mailboxLength,
                    trapExit: $0.trapsExits, links: $0.links.map(text), monitoredBy: $0.monitoredBy.map(text),
                    monitoring: $0.monitoring.map { term in
                        if case .pid(let pid) = term { return text(pid) }
                        return term.erlangText(.tp)
                    })
        }
        names = snapshot.registeredNames.map { Name(name: $0.name.name, pid: text($0.pid)) }
        events = snapshot.events.map {
            Event(kind: $0.kind.rawValue, peer: $0.peer.name, hidden: $0.isHidden, time: Self.seconds($0.time))
        }
        totalProcesses = snapshot.processes.count
    }

    /// How many processes the node has (``processes`` may hold fewer).
    var totalProcesses: Int

    static func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }

    /// The state as JSON, safe inside a `<script>` element (no `</`).
    func json() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let data = (try? encoder.encode(self)) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self).replacingOccurrences(of: "</", with: "<\\/")
    }
}
