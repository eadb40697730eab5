%% Erlang side of scripts/ssh-tunnel-test. Runs in the erl node of "host B" and checks, through the SSH tunnel, that
%% the Swift node of "host A" talks distribution with it. Every check prints one line for the driving script,
%% "CHECK <name> ok ..." or "CHECK <name> FAIL ...", and the run ends with "DONE <checks> <failed>" and halt/1
%% (0 iff every check passed). After each round of traffic checks the node prints "HOLD" and keeps the connection
%% 2 s longer, so that the script can see with `ss` where the connection runs. Every wait is bounded.
-module(ssh_tunnel_lab).
-export([run/2]).

out(Fmt, Args) -> io:format(Fmt ++ "~n", Args).

%% run(Mode, SwiftNode): Mode epmdless = this node connects to the Swift node (the only direction EPMD-less mode
%% allows through a tunnel with the Swift CLI, see the README) and checks traffic both ways over that connection;
%% Mode epmd = the same, then this node drops the connection, prints "AWAIT", and waits for the Swift node to connect
%% back (the driving script asks it to over rpc), and checks traffic over the connection the Swift node set up.
run(Mode, SwiftS) ->
    S = list_to_atom(SwiftS),
    ok = net_kernel:monitor_nodes(true),
    out("READY ~s ~s", [node(), Mode]),
    First = traffic(S, "erl-initiated"),
    hold(),
    Second = case Mode of
                 epmdless -> [];
                 epmd -> swift_initiated(S)
             end,
    All = First ++ Second,
    Failed = [C || {C, fail} <- All],
    out("DONE ~p ~p", [length(All), length(Failed)]),
    erlang:halt(case Failed of [] -> 0; _ -> 1 end).

%% The traffic checks over whatever connection there is (or this node sets one up: erlang's auto-connect).
traffic(S, Tag) ->
    Self = self(),
    [check(Tag ++ " erl pings swift", fun() ->
               case net_adm:ping(S) of pong -> ok; pang -> {fail, pang} end
           end),
     check(Tag ++ " erl->swift->erl echo", fun() ->
               Ref = make_ref(),
               {server, S} ! {{echo, Ref}, Self},
               receive {echo, Ref} -> ok after 5000 -> {fail, no_echo_in_5s} end
           end),
     check(Tag ++ " swift process sends to erl pid", fun() ->
               case rpc:call(S, s, send_node, [Self], 5000) of
                   ok -> receive S -> ok after 5000 -> {fail, nothing_from_swift_in_5s} end;
                   Other -> {fail, Other}
               end
           end),
     check(Tag ++ " swift spawns on erl", fun() ->
               Ref = make_ref(),
               case rpc:call(S, erlang, spawn, [node(), erlang, send, [Self, {spawned, Ref}]], 5000) of
                   Pid when is_pid(Pid), node(Pid) =:= node() ->
                       receive {spawned, Ref} -> ok after 5000 -> {fail, spawned_process_silent} end;
                   Other -> {fail, Other}
               end
           end),
     check(Tag ++ " 1 MiB both ways", fun() ->
               Bin = rand:bytes(1 bsl 20),
               {server, S} ! {{big, Bin}, Self},
               receive {big, Bin} -> ok; {big, _} -> {fail, corrupted} after 10000 -> {fail, no_echo_in_10s} end
           end),
     check(Tag ++ " swift lists erl in nodes()", fun() ->
               Ns = rpc:call(S, erlang, nodes, [], 5000),
               case is_list(Ns) andalso lists:member(node(), Ns) of true -> ok; false -> {fail, Ns} end
           end)].

%% Drops the connection, then waits (60 s at most) for the Swift node to set up a new one.
swift_initiated(S) ->
    flush_node_events(S),
    Down = check("disconnect", fun() ->
                     true = erlang:disconnect_node(S),
                     receive {nodedown, S} -> ok after 10000 -> {fail, no_nodedown_in_10s} end
                 end),
    out("AWAIT ~s", [S]),
    Up = check("swift-initiated connection", fun() ->
                   receive {nodeup, S} -> ok after 60000 -> {fail, no_nodeup_in_60s} end
               end),
    case Up of
        {_, ok} -> Checks = traffic(S, "swift-initiated"), hold(), [Down, Up | Checks];
        _ -> [Down, Up]
    end.

%% Drops the nodeup/nodedown messages of S received so far (the first connection's nodeup is still queued).
flush_node_events(S) ->
    receive {nodeup, S} -> flush_node_events(S); {nodedown, S} -> flush_node_events(S) after 0 -> ok end.

hold() ->
    out("HOLD", []),
    timer:sleep(2000).

check(Name, Fun) ->
    T0 = erlang:monotonic_time(millisecond),
    Result = try Fun() catch C:E -> {fail, {C, E}} end,
    Ms = erlang:monotonic_time(millisecond) - T0,
    case Result of
        ok -> out("CHECK ~s ok (~p ms)", [Name, Ms]), {Name, ok};
        {fail, Why} -> out("CHECK ~s FAIL: ~0p (~p ms)", [Name, Why, Ms]), {Name, fail}
    end.
