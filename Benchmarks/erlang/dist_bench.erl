%% OTP's side of the side-by-side distribution benchmark (issue 6), driven by Benchmarks/Sources/dist-bench.
%% Compiled with erlc at run time into a temp dir. Three entry points (erl -run dist_bench F [Args]):
%%
%%   serve            the receiver: registers `sink` (CONTRACT.md §13), `server` (§9.1) and the gen_server
%%                    `counter` (incr answers the new value), prints READY,
%%                    halts at stdin EOF.
%%   driver           the sender: reads one command term per line from stdin (io:read), runs it, prints one
%%                    `RESULT ...` line (or `RESULT error ...`). Every wait is bounded by the command's timeout.
%%   procs N          spawns N idle processes in this fresh VM, prints `RESULT Micros BytesPerProcess ...`, halts.
%%
%% Commands (timeouts in ms):
%%   {send, Node, N, Senders, Size, Timeout}   {count, N, self()} to {sink, Node}, then N messages split over
%%                                              Senders processes: {hi, 123} when Size = 0, else a Size-byte
%%                                              binary. RESULT Micros (until {done, N} arrived).
%%   {pingpong, Node, N, Timeout}              N sequential {{hi, 123}, self()} round trips via {server, Node}.
%%                                              RESULT P50us P99us MeanUs
%%   {gencall, Node, Name, N, Timeout}         N sequential gen_server:call({Name, Node}, incr). RESULT Micros
%%   {connect, Node, K, Timeout}               K fresh connects (disconnect, wait until gone, connect_node).
%%                                              RESULT MedianUs
%%   {local, N, Timeout}                       N {hi, 123} from one local process to another. RESULT Micros
%%   {pgfan_local, N, K, Timeout}              N local processes in pg group pgfan_local (scope pg); K rounds of
%%                                              pg:get_members + `tick` to each; each counts K. RESULT Micros (until all
%%                                              N are done)
%%   {pgfan_remote, Node, Mod, N, K, Timeout}  N Mod:echo() processes spawned on Node and joined there (rpc pg:join)
%%                                              to group pgfan_remote; once this node's view has them, K rounds of
%%                                              pg:get_members + {tick, self()} to each; each echoes tick back.
%%                                              RESULT Micros (until N*K ticks came back); the echoes are stopped
%%   {gencall_par, Node, Mod, C, Kind, Millis, Timeout}
%%                                              rpc Mod:echo_servers(C) on Node (C gen_servers answering
%%                                              {echo, X} with X), then C client processes, one per server, each
%%                                              calling it with {echo, Payload} back to back for Millis ms (Kind: int,
%%                                              tuple10, map10, pids200). RESULT Calls Micros; the servers are stopped
%%   {fanout, Node, Mod, N, K, Timeout}         N Mod:echo() processes spawned on Node; K rounds of {hi, 123} to each
%%                                              (dropped there), then {done, self()} to each. RESULT Micros (until N
%%                                              `done` came back); the echoes are stopped
%%   {manyconn, Node, P, N, Timeout}            P peer nodes (OTP's peer module, hidden, each its own connection to
%%                                              Node) send N messages {hi, 123} in all to {sink, Node}, at once.
%%                                              RESULT Micros (from the start signal until {done, N}); peers stopped
%%   quit
-module(dist_bench).
-export([serve/0, driver/0, procs/1, idle/0, echo/0, echo_servers/1, peer_burst/4]).
-behaviour(gen_server).
-export([init/1, handle_call/3, handle_cast/2]).

%% ---------------------------------------------------------------- receiver

serve() ->
    register(sink, spawn(fun sink/0)),
    register(server, spawn(fun server/0)),
    {ok, _} = gen_server:start({local, counter}, ?MODULE, 0, []),
    io:format("READY~n"),
    %% Halt when the runner goes away (stdin closes), so that no receiver outlives it.
    _ = io:get_line(''),
    halt(0).

sink() ->
    receive
        {count, N, Pid} when is_integer(N), N >= 0, is_pid(Pid) -> count(N, N, Pid);
        _ -> sink()
    end.

count(0, N, Pid) -> Pid ! {done, N}, sink();
count(K, N, Pid) -> receive _ -> count(K - 1, N, Pid) end.

server() ->
    receive
        {M, Pid} when is_pid(Pid) -> Pid ! M;
        _ -> ok
    end,
    server().

%% `counter`, the gen_server of the gen_server-call figure: `incr` answers the new value.
init(N) -> {ok, N}.
handle_call(incr, _From, N) -> {reply, N + 1, N + 1};
handle_call({echo, X}, _From, N) -> {reply, X, N};
handle_call(_, _From, N) -> {reply, N, N}.
handle_cast(stop, N) -> {stop, normal, N};
handle_cast(_, N) -> {noreply, N}.

%% The servers of the parallel gen_server-call figure (rpc from a driver): C unlinked gen_servers of this module.
echo_servers(C) ->
    [begin {ok, P} = gen_server:start(?MODULE, 0, []), P end || _ <- lists:seq(1, C)].

%% ---------------------------------------------------------------- driver

driver() ->
    case io:read('') of
        {ok, quit} -> halt(0);
        {ok, Cmd} ->
            Result = try run(Cmd) catch C:R -> {error, {C, R}} end,
            case Result of
                {error, E} -> io:format("RESULT error ~0p~n", [E]);
                L when is_list(L) -> io:format("RESULT~s~n", [[[" ", fmt(X)] || X <- L]])
            end,
            driver();
        _ -> halt(0)
    end.

fmt(X) when is_integer(X) -> integer_to_list(X);
fmt(X) when is_float(X) -> float_to_list(X, [{decimals, 3}]).

now_us() -> erlang:monotonic_time(microsecond).

call_loop(Server, Request, Deadline, Timeout, K) ->
    case now_us() < Deadline of
        true ->
            _ = gen_server:call(Server, Request, Timeout),
            call_loop(Server, Request, Deadline, Timeout, K + 1);
        false -> K
    end.

%% The payloads of the parallel gen_server-call figure (the Swift driver builds the same terms).
call_payload(int) -> 12345;
call_payload(tuple10) -> list_to_tuple(lists:seq(1, 10));
call_payload(map10) -> maps:from_list([{list_to_atom("k" ++ integer_to_list(I)), I} || I <- lists:seq(1, 10)]);
call_payload(pids200) -> lists:duplicate(200, self()).

run({send, Node, N, Senders, Size, Timeout}) ->
    true = net_kernel:connect_node(Node),
    Msg = case Size of 0 -> {hi, 123}; _ -> binary:copy(<<"x">>, Size) end,
    Self = self(),
    T0 = now_us(),
    {sink, Node} ! {count, N, Self},
    Per = N div Senders,
    Counts = [Per + (case I of 1 -> N rem Senders; _ -> 0 end) || I <- lists:seq(1, Senders)],
    Pids = [spawn_link(fun() -> burst({sink, Node}, Msg, C) end) || C <- Counts],
    receive
        {done, N} -> [now_us() - T0]
    after Timeout ->
        [unlink(P) || P <- Pids], [exit(P, kill) || P <- Pids],
        {error, timeout}
    end;
run({pingpong, Node, N, Timeout}) ->
    true = net_kernel:connect_node(Node),
    Deadline = now_us() + Timeout * 1000,
    case pingpong({server, Node}, N, Deadline, []) of
        timeout -> {error, timeout};
        Ts ->
            S = list_to_tuple(lists:sort(Ts)),
            Len = tuple_size(S),
            P50 = element(max(1, (Len + 1) div 2), S),
            P99 = element(min(Len, max(1, ceil(Len * 0.99))), S),
            [P50 / 1000, P99 / 1000, lists:sum(Ts) / Len / 1000]
    end;
run({gencall, Node, Name, N, Timeout}) ->
    true = net_kernel:connect_node(Node),
    T0 = now_us(),
    [gen_server:call({Name, Node}, incr, Timeout) || _ <- lists:seq(1, N)],
    [now_us() - T0];
run({gencall_par, Node, Mod, C, Kind, Millis, Timeout}) ->
    true = net_kernel:connect_node(Node),
    Servers = rpc:call(Node, Mod, echo_servers, [C], Timeout),
    true = is_list(Servers) andalso length(Servers) =:= C,
    Self = self(),
    Go = make_ref(),
    Clients = [spawn_link(fun() ->
                              Request = {echo, call_payload(Kind)},
                              receive Go -> ok end,
                              Self ! {calls, Go, call_loop(S, Request, now_us() + Millis * 1000, Timeout, 0)}
                          end) || S <- Servers],
    T0 = now_us(),
    [P ! Go || P <- Clients],
    Calls = lists:sum([receive {calls, Go, K} -> K after Millis + Timeout -> error(timeout) end || _ <- Clients]),
    Micros = now_us() - T0,
    [gen_server:cast(S, stop) || S <- Servers],
    [Calls, Micros];
run({fanout, Node, Mod, N, K, Timeout}) ->
    true = net_kernel:connect_node(Node),
    Echoes = [spawn(Node, Mod, echo, []) || _ <- lists:seq(1, N)],
    T0 = now_us(),
    fan_rounds(Echoes, {hi, 123}, K),
    Self = self(),
    [P ! {done, Self} || P <- Echoes],
    R = collect(done, N, now_us() + Timeout * 1000),
    T1 = now_us(),
    [P ! stop || P <- Echoes],
    case R of ok -> [T1 - T0]; timeout -> {error, timeout} end;
run({manyconn, Node, P, N, Timeout}) ->
    true = net_kernel:connect_node(Node),
    Args = ["-setcookie", atom_to_list(erlang:get_cookie()), "-hidden", "-connect_all", "false",
            "-pa", filename:dirname(code:which(?MODULE))],
    Peers = [begin
                 {ok, Pid, _} = peer:start_link(#{name => peer:random_name(), args => Args, connection => standard_io}),
                 Pid
             end || _ <- lists:seq(1, P)],
    Self = self(),
    Go = make_ref(),
    Per = N div P,
    Counts = [Per + (case I of 1 -> N rem P; _ -> 0 end) || I <- lists:seq(1, P)],
    %% Each peer connects to Node before the start signal, so that only the sending is timed.
    [ok = peer:call(Pid, ?MODULE, peer_burst, [Node, C, Self, Go]) || {Pid, C} <- lists:zip(Peers, Counts)],
    {sink, Node} ! {count, N, Self},
    %% `server` answering after `count` went out on the same connection: `count` is in sink's mailbox before any
    %% message from the peers' connections.
    {server, Node} ! {synced, Self},
    receive synced -> ok after Timeout -> error(timeout) end,
    T0 = now_us(),
    [peer:cast(Pid, erlang, send, [peer_burst, go]) || Pid <- Peers],
    R = receive {done, N} -> [now_us() - T0] after Timeout -> {error, timeout} end,
    [peer:stop(Pid) || Pid <- Peers],
    R;
run({connect, Node, K, Timeout}) ->
    Deadline = now_us() + Timeout * 1000,
    Ts = [connect_once(Node, Deadline) || _ <- lists:seq(1, K)],
    S = lists:sort(Ts),
    [lists:nth(max(1, (K + 1) div 2), S)];
run({local, N, Timeout}) ->
    Self = self(),
    B = spawn(fun() -> local_count(N, Self) end),
    T0 = now_us(),
    burst(B, {hi, 123}, N),
    receive
        {done, N} -> [now_us() - T0]
    after Timeout -> exit(B, kill), {error, timeout}
    end;
run({pgfan_local, N, K, Timeout}) ->
    ensure_pg(),
    Self = self(),
    Subs = [spawn(fun() -> local_count(K, Self) end) || _ <- lists:seq(1, N)],
    ok = pg:join(pg, pgfan_local, Subs),
    T0 = now_us(),
    fan(pgfan_local, tick, K),
    R = collect(done, N, now_us() + Timeout * 1000),
    T1 = now_us(),
    [exit(P, kill) || P <- Subs],
    _ = wait_members(pgfan_local, 0, now_us() + 10000000),
    case R of ok -> [T1 - T0]; timeout -> {error, timeout} end;
run({pgfan_remote, Node, Mod, N, K, Timeout}) ->
    ensure_pg(),
    true = net_kernel:connect_node(Node),
    _ = rpc:call(Node, pg, start, [pg]),
    Echoes = [spawn(Node, Mod, echo, []) || _ <- lists:seq(1, N)],
    ok = rpc:call(Node, pg, join, [pg, pgfan_remote, Echoes]),
    Deadline = now_us() + Timeout * 1000,
    Seen = wait_members(pgfan_remote, N, Deadline),
    T0 = now_us(),
    R = case Seen of
            ok -> fan(pgfan_remote, {tick, self()}, K), collect(tick, N * K, Deadline);
            timeout -> timeout
        end,
    T1 = now_us(),
    [P ! stop || P <- Echoes],
    _ = wait_members(pgfan_remote, 0, now_us() + 10000000),
    case R of ok -> [T1 - T0]; timeout -> {error, timeout} end.

ensure_pg() -> case pg:start(pg) of {ok, _} -> ok; {error, {already_started, _}} -> ok end.

fan(_, _, 0) -> ok;
fan(Group, Msg, K) -> [P ! Msg || P <- pg:get_members(pg, Group)], fan(Group, Msg, K - 1).

collect(_, 0, _) -> ok;
collect(Tag, Left, Deadline) ->
    receive
        Tag -> collect(Tag, Left - 1, Deadline);
        {Tag, _} -> collect(Tag, Left - 1, Deadline)
    after max(0, (Deadline - now_us()) div 1000) -> timeout
    end.

wait_members(Group, N, Deadline) ->
    case length(pg:get_members(pg, Group)) =:= N of
        true -> ok;
        false -> case now_us() > Deadline of true -> timeout; false -> timer:sleep(5), wait_members(Group, N, Deadline) end
    end.

%% CONTRACT.md 9.2's s:echo(), for OTP receivers: {M, Pid} -> Pid ! M; stop ends it.
echo() ->
    receive
        stop -> ok;
        {M, Pid} when is_pid(Pid) -> Pid ! M, echo();
        _ -> echo()
    end.

fan_rounds(_, _, 0) -> ok;
fan_rounds(Ps, Msg, K) -> [P ! Msg || P <- Ps], fan_rounds(Ps, Msg, K - 1).

%% Runs on a peer of `manyconn`: connects to Node, registers a sender that waits for `go`, then sends C messages.
peer_burst(Node, C, _Driver, _Go) ->
    true = net_kernel:connect_node(Node),
    Pid = spawn(fun() -> receive go -> burst({sink, Node}, {hi, 123}, C) end end),
    register(peer_burst, Pid),
    ok.

burst(_, _, 0) -> ok;
burst(To, Msg, K) -> To ! Msg, burst(To, Msg, K - 1).

pingpong(_, 0, _, Acc) -> Acc;
pingpong(To, K, Deadline, Acc) ->
    T0 = erlang:monotonic_time(nanosecond),
    To ! {{hi, 123}, self()},
    receive
        {hi, 123} ->
            T1 = erlang:monotonic_time(nanosecond),
            pingpong(To, K - 1, Deadline, [T1 - T0 | Acc])
    after max(0, (Deadline - now_us()) div 1000) -> timeout
    end.

connect_once(Node, Deadline) ->
    erlang:disconnect_node(Node),
    wait_gone(Node, Deadline),
    timer:sleep(5),
    T0 = now_us(),
    true = net_kernel:connect_node(Node),
    now_us() - T0.

wait_gone(Node, Deadline) ->
    case lists:member(Node, nodes(connected)) of
        false -> ok;
        true ->
            now_us() < Deadline orelse error(timeout),
            timer:sleep(1),
            wait_gone(Node, Deadline)
    end.

local_count(N, To) -> local_count(N, N, To).
local_count(0, N, To) -> To ! {done, N};
local_count(K, N, To) -> receive _ -> local_count(K - 1, N, To) end.

%% ---------------------------------------------------------------- processes

procs([NText | Mode]) ->
    N = list_to_integer(NText),
    Hibernate = Mode =:= ["hibernate"],
    erlang:garbage_collect(),
    Rss0 = rss(),
    Mem0 = erlang:memory(processes),
    Ref = atomics:new(1, []),
    T0 = now_us(),
    Pids = spawn_many(N, Ref, Hibernate, []),
    wait_started(Ref, N),
    T1 = now_us(),
    Rss1 = rss(),
    Mem1 = erlang:memory(processes),
    io:format("RESULT ~b ~.1f ~.1f~n", [T1 - T0, (Rss1 - Rss0) / N, (Mem1 - Mem0) / N]),
    [P ! stop || P <- Pids],
    halt(0).

spawn_many(0, _, _, Acc) -> Acc;
spawn_many(K, Ref, false, Acc) ->
    P = spawn(fun() -> atomics:add(Ref, 1, 1), receive stop -> ok end end),
    spawn_many(K - 1, Ref, false, [P | Acc]);
spawn_many(K, Ref, true, Acc) ->
    P = spawn(fun() -> atomics:add(Ref, 1, 1), erlang:hibernate(?MODULE, idle, []) end),
    spawn_many(K - 1, Ref, true, [P | Acc]).

%% A hibernated process wakes here on its first message.
idle() -> receive stop -> ok end.

wait_started(Ref, N) ->
    case atomics:get(Ref, 1) >= N of
        true -> ok;
        false -> timer:sleep(1), wait_started(Ref, N)
    end.

%% Resident set size in bytes, from /proc/self/statm (pages).
rss() ->
    {ok, B} = file:read_file("/proc/" ++ os:getpid() ++ "/statm"),
    [_, Pages | _] = string:split(binary_to_list(B), " ", all),
    list_to_integer(Pages) * 4096.
