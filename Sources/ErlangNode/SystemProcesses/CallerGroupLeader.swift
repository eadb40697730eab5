import ErlangTerm

/// The group leader of the Erlang caller whose request a Swift function is serving: the `GroupLeader` field of a
/// SPAWN_REQUEST (`erpc:call`, `spawn/4`) or the last element of a `rex` call `{call, M, F, A, GL}`.
///
/// Erlang gives every process a group leader that its I/O goes to; here only the functions that need one read it
/// (``RemoteShell`` talks to the caller's terminal through it).
enum CallerGroupLeader {
    /// The caller's group leader while a remote request runs; `nil` elsewhere.
    @TaskLocal static var current: Pid?
}
