public import ErlangTerm
import Synchronization

/// OTP's `pg` process groups on this node: join local processes to groups of a scope, and see the members of a
/// group across the cluster, BEAM nodes included (they speak the same protocol with our scope processes).
///
/// A scope is a process registered under the scope's name. The default scope `pg` runs on every visible node from
/// the start (as OTP's kernel starts it); any other scope starts the first time it is used here (or with
/// ``startScope(_:)``) and exchanges members only with the scopes of the same name on other nodes. Membership is
/// counted as `pg` counts it: a process joined twice is listed twice and must leave twice; a member that exits
/// leaves all its groups. Reads are answered from this node's view, which peers keep up to date with their joins
/// and leaves; a peer's members go when its scope or its node goes down.
///
/// ```swift
/// let groups = node.processGroups
/// try groups.join(worker, group: .atom("workers"))
/// let everyone = groups.getMembers(.atom("workers"))   // local and remote members
/// ```
public struct ProcessGroups: Sendable {
    /// The node whose scopes these are.
    public let node: Node

    /// The default scope, `pg`.
    public static let defaultScope: Atom = "pg"

    init(node: Node) { self.node = node }

    // MARK: scopes

    /// Starts a scope (like `pg:start/1`) if it is not running; returns its process either way.
    ///
    /// - Throws: ``ProcessGroupsError/scopeNameTaken(_:by:)`` when another process holds the name.
    @discardableResult
    public func startScope(_ scope: Atom) throws(ProcessGroupsError) -> Pid {
        try self.scope(scope).pid
    }

    /// The scopes running on this node.
    public var scopes: [Atom] { node.processGroupScopes.withLock { Array($0.keys) }.sorted() }

    // MARK: joining and leaving

    /// A local process joins a group (like `pg:join/3`); joining again adds it again.
    ///
    /// - Throws: ``ProcessGroupsError/notLocal(_:)`` for a process of another node, or
    ///   ``ProcessGroupsError/scopeNameTaken(_:by:)`` when the scope cannot start.
    public func join(_ pid: Pid, group: Term, scope: Atom = ProcessGroups.defaultScope) throws(ProcessGroupsError) {
        try join([pid], group: group, scope: scope, single: true)
    }

    /// Local processes join a group at once, each once per time it is listed (like `pg:join/3` with a list).
    ///
    /// - Throws: ``ProcessGroupsError/notLocal(_:)`` (and nobody joins) when one of them belongs to another node.
    public func join(_ pids: [Pid], group: Term, scope: Atom = ProcessGroups.defaultScope) throws(ProcessGroupsError) {
        try join(pids, group: group, scope: scope, single: false)
    }

    func join(_ pids: [Pid], group: Term, scope name: Atom, single: Bool) throws(ProcessGroupsError) {
        try checkLocal(pids)
        let scope = try self.scope(name)
        scope.change(on: node) { s, monitor in ((), s.joinLocal(group, pids, single: single, monitor: monitor)) }
    }

    /// A local process leaves a group once (like `pg:leave/3`); `false` when it was not a member (`not_joined`).
    @discardableResult
    public func leave(_ pid: Pid, group: Term, scope: Atom = ProcessGroups.defaultScope) throws(ProcessGroupsError) -> Bool {
        try leave([pid], group: group, scope: scope, single: true)
    }

    /// Local processes leave a group, each once per time it is listed; `false` when none of them was a member.
    @discardableResult
    public func leave(_ pids: [Pid], group: Term, scope: Atom = ProcessGroups.defaultScope) throws(ProcessGroupsError) -> Bool {
        try leave(pids, group: group, scope: scope, single: false)
    }

    func leave(_ pids: [Pid], group: Term, scope name: Atom, single: Bool) throws(ProcessGroupsError) -> Bool {
        try checkLocal(pids)
        guard let scope = node.processGroupScope(name) else { return false }
        return scope.change(on: node) { s, _ in
            guard let actions = s.leaveLocal(group, pids, single: single) else { return (false, []) }
            return (true, actions)
        }
    }

    // MARK: reading

    /// Every member of a group, on any node, with repetitions (like `pg:get_members/2`); empty for an unknown group
    /// or a scope that is not running.
    public func getMembers(_ group: Term, scope: Atom = ProcessGroups.defaultScope) -> [Pid] {
        node.processGroupScope(scope)?.read { $0.members(group) } ?? []
    }

    /// The members of a group on this node (like `pg:get_local_members/2`).
    public func getLocalMembers(_ group: Term, scope: Atom = ProcessGroups.defaultScope) -> [Pid] {
        node.processGroupScope(scope)?.read { $0.localMembers(group) } ?? []
    }

    /// Every group with at least one member, on any node (like `pg:which_groups/1`).
    public func whichGroups(scope: Atom = ProcessGroups.defaultScope) -> [Term] {
        node.processGroupScope(scope)?.read { $0.groupNames } ?? []
    }

    /// Every group with at least one member on this node (like `pg:which_local_groups/1`).
    public func whichLocalGroups(scope: Atom = ProcessGroups.defaultScope) -> [Term] {
        node.processGroupScope(scope)?.read { $0.localGroupNames } ?? []
    }

    // MARK: subscriptions

    /// What a subscription starts with: its reference (it tags every event) and the members at that moment.
    public struct Subscription<Snapshot: Sendable>: Sendable {
        /// Tags the subscriber's ``ProcessGroupEvent`` messages; ends the subscription with ``demonitor(_:scope:)``.
        public var reference: Reference
        /// The members when the subscription began: by group for a scope, a list for a group.
        public var members: Snapshot
    }

    /// `subscriber` (a process of this node or another) receives `{Ref, join, Group, Pids}` and
    /// `{Ref, leave, Group, Pids}` for every change of the scope from now on (like `pg:monitor_scope/1`); the
    /// subscription ends when the subscriber exits or ``demonitor(_:scope:)`` is called.
    public func monitorScope(_ scope: Atom = ProcessGroups.defaultScope, subscriber: Pid)
        throws(ProcessGroupsError) -> Subscription<[Term: [Pid]]> {
        let (reference, contents) = try self.scope(scope).change(on: node) { s, monitor in
            (s.monitorScope(subscriber, monitor: monitor), [])
        }
        return Subscription(reference: reference, members: contents)
    }

    /// `subscriber` receives the joins and leaves of one group (like `pg:monitor/2`), as ``monitorScope(_:subscriber:)``.
    public func monitor(_ group: Term, scope: Atom = ProcessGroups.defaultScope, subscriber: Pid)
        throws(ProcessGroupsError) -> Subscription<[Pid]> {
        let (reference, members) = try self.scope(scope).change(on: node) { s, monitor in
            (s.monitorGroup(group, subscriber, monitor: monitor), [])
        }
        return Subscription(reference: reference, members: members)
    }

    /// Ends a subscription; `false` when the scope has none with this reference. Events already in the subscriber's
    /// mailbox stay there (``demonitor(_:scope:flushing:)`` removes them, as `pg:demonitor/2` does).
    @discardableResult
    public func demonitor(_ reference: Reference, scope: Atom = ProcessGroups.defaultScope) -> Bool {
        guard let scope = node.processGroupScope(scope) else { return false }
        return scope.change(on: node) { s, _ in
            guard let actions = s.demonitor(reference) else { return (false, []) }
            return (true, actions)
        }
    }

    /// Ends a subscription of `process` and removes the subscription's events from its mailbox, like
    /// `pg:demonitor/2`; `false` when the scope has no subscription with this reference.
    @discardableResult
    public func demonitor(_ reference: Reference, scope: Atom = ProcessGroups.defaultScope,
                          flushing process: ErlangProcess) async -> Bool {
        guard demonitor(reference, scope: scope) else { return false }
        while await process.receive(timeout: .zero, where: { ProcessGroupEvent($0)?.reference == reference }) != nil {}
        return true
    }

    // MARK: helpers

    private func scope(_ name: Atom) throws(ProcessGroupsError) -> ProcessGroupScope {
        do {
            return try node.ensureProcessGroupScope(name)
        } catch {
            switch error {
            case .nameTaken(_, let holder): throw .scopeNameTaken(name, by: holder)
            case .notAlive, .alreadyRegistered: throw .scopeNameTaken(name, by: nil)
            }
        }
    }

    private func checkLocal(_ pids: [Pid]) throws(ProcessGroupsError) {
        if let foreign = pids.first(where: { !node.isLocal($0) }) { throw .notLocal(foreign) }
    }
}

extension ProcessGroups {
    /// Sizes of a scope's bookkeeping (tests: memory for a peer's groups is freed at its nodedown).
    func counts(scope: Atom = ProcessGroups.defaultScope) -> ProcessGroupsState.Counts? {
        node.processGroupScope(scope)?.read { $0.counts }
    }
}

extension Node {
    /// This node's `pg` process groups: ``ProcessGroups``.
    public var processGroups: ProcessGroups { ProcessGroups(node: self) }
}
