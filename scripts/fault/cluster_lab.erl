%% Erlang side of scripts/fault/cluster-hosts.sh: a cluster of BEAM and Swift nodes on several hosts (network
%% namespaces). Lines for the driving script start with a keyword in capitals; EV lines carry
%% os:system_time(millisecond), the clock bash reads too.
-module(cluster_lab).
-export([member/1, observer/1]).

ms() -> os:system_time(millisecond).
out(Fmt, Args) -> io:format(Fmt ++ "~n", Args).

%% Until(F, TimeoutMs): polls F every 50 ms until it returns true; true, or false at the deadline.
until(F, Timeout) -> until_(F, ms() + Timeout).
until_(F, Deadline) ->
    case catch F() of
        true -> true;
        _ -> case ms() > Deadline of true -> false; false -> timer:sleep(50), until_(F, Deadline) end
    end.

start_pg_member(Group) ->
    case pg:start(pg) of {ok, _} -> ok; {error, {already_started, _}} -> ok end,
    M = spawn(fun() -> receive stop -> ok end end),
    ok = pg:join(pg, Group, M),
    M.

%% member([Target...]): a BEAM node of the cluster: one process in pg group demo, registered in global as its
%% node's alive part with a 'b_' prefix, and (re)connecting to Targets for as long as it runs.
member(Targets) ->
    ok = net_kernel:monitor_nodes(true),
    M = start_pg_member(demo),
    yes = global:register_name(global_name(node()), M),
    out("READY ~p ~p", [ms(), node()]),
    member_loop([list_to_atom(T) || T <- Targets]).

member_loop(Targets) ->
    [spawn(fun() -> net_kernel:connect_node(T) end) || T <- Targets, not lists:member(T, nodes())],
    receive
        {nodeup, N} -> out("EV ~p nodeup ~s", [ms(), N]);
        {nodedown, N} -> out("EV ~p nodedown ~s", [ms(), N])
    after 1000 -> ok
    end,
    member_loop(Targets).

global_name(Node) ->
    [Alive | _] = string:split(atom_to_list(Node), "@"),
    list_to_atom("b_" ++ Alive).

alive(Node) -> [A | _] = string:split(atom_to_list(Node), "@"), list_to_atom(A).

%% observer([S1, S3, E3]): runs the scenario from a BEAM node on host 2 (see cluster-hosts.sh): mesh, pg and global
%% everywhere, a partition cutting host 3 off, and the heal. Prints CHECK lines ("CHECK name true|false detail").
observer([S1s, S3s, E3s, Mode]) ->
    G = Mode =:= "global",
    [S1, S3, E3] = [list_to_atom(X) || X <- [S1s, S3s, E3s]],
    E2 = node(),
    ok = net_kernel:monitor_nodes(true),
    M = start_pg_member(demo),
    yes = global:register_name(global_name(E2), M),
    out("READY ~p ~p", [ms(), E2]),
    check(connect_s1, until(fun() -> net_kernel:connect_node(S1) end, 30000), S1),
    All = [E2, S1, S3, E3],
    Others = fun(N) -> lists:sort(All -- [N]) end,
    Mesh = fun(Tag) ->
                   [check(list_to_atom(Tag ++ "_" ++ atom_to_list(alive(N))),
                          until(fun() -> Others(N) -- lists:sort(view(N, erlang, nodes, [])) =:= [] end, 30000),
                          {N, view(N, erlang, nodes, [])}) || N <- All]
           end,
    Mesh("mesh"),
    Members = fun(N) -> case view(N, pg, get_members, [pg, demo]) of L when is_list(L) -> lists:sort([node(P) || P <- L]); E -> E end end,
    Names = fun(N) -> case view(N, global, registered_names, []) of L when is_list(L) -> lists:sort(L); E -> E end end,
    IsSwift = fun(N) -> lists:member(N, [S1, S3]) end,
    %% The Swift nodes' `server` is registered in global under their alive part (CONTRACT.md 17.3); the BEAM
    %% members under b_<alive>.
    SwiftNames = fun(L) -> case G of true -> L; false -> [] end end,
    WantNames = lists:sort(SwiftNames([alive(S1), alive(S3)]) ++ [global_name(E2), global_name(E3)]),
    PgAndGlobal = fun(Tag, Nodes, WantMembers, WantG) ->
                          [begin
                               check(list_to_atom(Tag ++ "_pg_" ++ atom_to_list(alive(N))),
                                     until(fun() -> Members(N) =:= lists:sort(WantMembers) end, 10000),
                                     {N, Members(N)}),
                               (G orelse not IsSwift(N)) andalso
                               check(list_to_atom(Tag ++ "_global_" ++ atom_to_list(alive(N))),
                                     until(fun() -> [X || X <- Names(N), lists:member(X, WantNames)] =:= lists:sort(WantG) end, 10000),
                                     {N, Names(N)})
                           end || N <- Nodes]
                  end,
    PgAndGlobal("before", All, All, WantNames),
    G andalso check(whereis_s1, until(fun() -> node(global:whereis_name(alive(S1))) =:= S1 end, 5000), global:whereis_name(alive(S1))),
    G andalso check(global_send_s3, global_send(alive(S3)), alive(S3)),
    %% The partition: host 3 (S3, E3) is cut off.
    flush_events(),
    out("CUT_NOW ~p", [ms()]),
    Down = wait_down([S3, E3], ms() + 60000, #{}),
    [out("EV ~p nodedown ~s", [T, N]) || {N, T} <- maps:to_list(Down)],
    check(down_seen, maps:size(Down) =:= 2, Down),
    check(s1_sees_down, until(fun() -> lists:sort(view(S1, erlang, nodes, [])) =:= [E2] end, 30000), view(S1, erlang, nodes, [])),
    PgAndGlobal("partition", [E2, S1], [E2, S1], lists:sort(SwiftNames([alive(S1)]) ++ [global_name(E2)])),
    out("HEAL_NOW ~p", [ms()]),
    check(heal_connect, until(fun() -> net_kernel:connect_node(E3) end, 60000), E3),
    Mesh("healed_mesh"),
    PgAndGlobal("healed", All, All, WantNames),
    G andalso check(healed_whereis_s3, until(fun() -> node(global:whereis_name(alive(S3))) =:= S3 end, 5000), global:whereis_name(alive(S3))),
    out("DONE ~p", [ms()]),
    receive stop -> ok after 600000 -> ok end.

%% What node N answers (local calls on this node).
view(N, M, F, A) when N =:= node() -> apply(M, F, A);
view(N, M, F, A) -> case rpc:call(N, M, F, A, 5000) of {badrpc, _} = E -> E; R -> R end.

global_send(Name) ->
    Ref = make_ref(),
    catch global:send(Name, {{ping, Ref}, self()}),
    %% The Swift `server` echoes {M, Pid} -> Pid ! M.
    receive {ping, Ref} -> true after 5000 -> false end.

flush_events() -> receive {nodeup, _} -> flush_events(); {nodedown, _} -> flush_events() after 0 -> ok end.

wait_down(Nodes, Deadline, Acc) ->
    case maps:size(Acc) =:= length(Nodes) of
        true -> Acc;
        false ->
            receive
                {nodedown, N} -> case lists:member(N, Nodes) of true -> wait_down(Nodes, Deadline, Acc#{N => ms()}); false -> wait_down(Nodes, Deadline, Acc) end;
                {nodeup, _} -> wait_down(Nodes, Deadline, Acc)
            after max(0, Deadline - ms()) -> Acc
            end
    end.

check(Name, Ok, Detail) -> out("CHECK ~s ~p ~0p", [Name, Ok =:= true, Detail]).
