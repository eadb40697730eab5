%% Erlang side of the fault scripts (scripts/fault/*.sh). Compiled at run time into the scratch directory; every
%% node runs one of these entry points with -eval. Lines meant for the driving script start with a keyword in
%% capitals and carry os:system_time(millisecond) ("EV <ms> nodedown Node"), so that bash and Erlang read the
%% same clock.
-module(fault_lab).
-export([node_main/1, poll_nodes/2, ping_loop/3, keep_connected/2, load_loop/1, starve_probe/3,
         soak_recorder/0, soak_sender/4,
         flood_recv/3, flood_start/4]).

ms() -> os:system_time(millisecond).

out(Fmt, Args) -> io:format(Fmt ++ "~n", Args).

%% ---------------------------------------------------------------------------------------------------------------
%% node_main(Targets): prints every nodeup/nodedown with its time and keeps (re)connecting to Targets (one attempt
%% in flight per target, a new one 500 ms after the last ended) for as long as it runs.
node_main(Targets) ->
    ok = net_kernel:monitor_nodes(true, [nodedown_reason]),
    out("READY ~p ~p", [ms(), node()]),
    node_loop([list_to_atom(T) || T <- Targets], #{}).

node_loop(Targets, Pending) ->
    Now = ms(),
    Pending1 = lists:foldl(
                 fun(T, Acc) ->
                         case {lists:member(T, nodes(connected)), maps:get(T, Acc, idle)} of
                             {true, _} -> Acc;
                             {false, {running, _}} -> Acc;
                             {false, {after_ms, At}} when At > Now -> Acc;
                             {false, _} ->
                                 Self = self(),
                                 P = spawn(fun() -> Self ! {connect_result, T, net_kernel:connect_node(T)} end),
                                 Acc#{T => {running, P}}
                         end
                 end, Pending, Targets),
    receive
        {nodeup, N, _} -> out("EV ~p nodeup ~s", [ms(), N]), node_loop(Targets, Pending1);
        {nodedown, N, Info} ->
            out("EV ~p nodedown ~s ~p", [ms(), N, proplists:get_value(nodedown_reason, Info)]),
            node_loop(Targets, Pending1);
        {connect_result, T, R} ->
            out("CONNECT ~p ~s ~p", [ms(), T, R]),
            node_loop(Targets, Pending1#{T => {after_ms, ms() + 500}})
    after 100 -> node_loop(Targets, Pending1)
    end.

%% ---------------------------------------------------------------------------------------------------------------
%% poll_nodes(Target, IntervalMs): asks Target for erlang:nodes() over rpc every IntervalMs and prints each change.
poll_nodes(TargetS, Interval) ->
    T = list_to_atom(TargetS),
    out("READY ~p ~p", [ms(), node()]),
    poll_loop(T, Interval, undefined).

poll_loop(T, Interval, Last) ->
    Asked = ms(),
    R = case rpc:call(T, erlang, nodes, [], 2000) of
            L when is_list(L) -> lists:sort(L);
            Other -> {error, Other}
        end,
    case R =:= Last of
        true -> ok;
        false -> out("TNODES ~p ~p ~w", [ms(), ms() - Asked, R])
    end,
    timer:sleep(Interval),
    poll_loop(T, Interval, R).

%% keep_connected(Target, Peer): whenever Peer is missing from Target's nodes(), asks Target over rpc to connect to
%% it (net_kernel:connect_node(Peer) run on Target), so that Target initiates the connection; every 500 ms.
keep_connected(TargetS, PeerS) ->
    T = list_to_atom(TargetS), P = list_to_atom(PeerS),
    out("READY ~p ~p", [ms(), node()]),
    keep_loop(T, P).

keep_loop(T, P) ->
    case rpc:call(T, erlang, nodes, [], 2000) of
        L when is_list(L) ->
            case lists:member(P, L) of
                true -> ok;
                false -> out("TCONNECT ~p ~p", [ms(), rpc:call(T, net_kernel, connect_node, [P], 15000)])
            end;
        Other -> out("TNODES_ERROR ~p ~p", [ms(), Other])
    end,
    timer:sleep(500),
    keep_loop(T, P).

%% load_loop(Target): keeps Target busy: batches of 500 {{load, K}, self()} through its `server` (which sends each
%% {load, K} back), each batch waited for; prints the rate every 10 s.
load_loop(TargetS) ->
    T = list_to_atom(TargetS),
    pong = net_adm:ping(T),
    out("READY ~p ~p", [ms(), node()]),
    load_loop(T, 0, ms()).

load_loop(T, N, Since) ->
    [{server, T} ! {{load, K}, self()} || K <- lists:seq(1, 500)],
    load_wait(500),
    Now = ms(),
    case Now - Since >= 10000 of
        true -> out("LOAD ~p ~p msg/s", [Now, (N + 500) * 1000 div (Now - Since)]), load_loop(T, 0, Now);
        false -> load_loop(T, N + 500, Since)
    end.

load_wait(0) -> ok;
load_wait(K) -> receive {load, _} -> load_wait(K - 1) after 5000 -> ok end.

%% starve_probe(T, Count, K): on a hidden node: an rpc to T, then K x spawn(T, s, flood, [sink, Count, 1]) (local
%% floods: T's `sink` drops the messages), and while they run: three rpc:call(T, erlang, node, []) with 5 s timeouts,
%% a net_adm:ping (bounded to 5 s here; ping itself waits forever), and a `server` echo; then the floods are killed
%% and T is asked once a second (up to 15 s) until it answers again.
starve_probe(TS, Count, K) ->
    T = list_to_atom(TS),
    pong = net_adm:ping(T),
    timed("RPC_BEFORE", fun() -> rpc:call(T, erlang, node, [], 5000) end),
    Fs = [spawn(T, s, flood, [sink, Count, 1]) || _ <- lists:seq(1, K)],
    out("FLOOD ~p ~p", [ms(), Fs]),
    timer:sleep(1000),
    [timed("RPC_DURING", fun() -> rpc:call(T, erlang, node, [], 5000) end) || _ <- [1, 2, 3]],
    Self = self(),
    spawn(fun() -> Self ! {ping, net_adm:ping(T)} end),
    timed("PING_DURING", fun() -> receive {ping, P} -> P after 5000 -> timeout end end),
    {server, T} ! {echo, self()},
    timed("ECHO_DURING", fun() -> receive echo -> ok after 5000 -> timeout end end),
    [exit(F, kill) || F <- Fs],
    Killed = ms(),
    out("KILLED ~p", [Killed]),
    %% Does T come back once the floods are killed? (rpc every second, up to 15 s)
    recover(T, Killed, Killed + 15000).

recover(T, K, Deadline) ->
    case rpc:call(T, erlang, node, [], 1000) of
        T -> out("RECOVERED ~p ~p", [ms(), ms() - K]), halt(0);
        _ ->
            case ms() > Deadline of
                true -> out("NOT_RECOVERED ~p ~p", [ms(), ms() - K]), halt(0);
                false -> timer:sleep(1000), recover(T, K, Deadline)
            end
    end.

timed(Tag, Fun) ->
    T0 = ms(),
    R = Fun(),
    out("~s ~p ~p ~p", [Tag, ms(), R, ms() - T0]).

%% ping_loop(Target, Count, GapMs): Count pings (the first one sets up a connection), each printed with its latency,
%% then one rpc:call(Target, erlang, node, []); then halts.
ping_loop(TargetS, Count, Gap) ->
    T = list_to_atom(TargetS),
    lists:foreach(fun(I) ->
                          T0 = ms(),
                          R = net_adm:ping(T),
                          out("PING ~p ~p ~p ~p", [ms(), I, R, ms() - T0]),
                          timer:sleep(Gap)
                  end, lists:seq(1, Count)),
    T1 = ms(),
    R2 = rpc:call(T, erlang, node, [], 10000),
    out("RPC ~p ~p ~p", [ms(), R2, ms() - T1]),
    halt(0).

%% ---------------------------------------------------------------------------------------------------------------
%% Ordering soak. soak_recorder() runs on Y: registered `recorder`, it receives the integers that T's `server`
%% relays and checks that they only ever increase; gaps (losses) are recorded with their time, and so are the
%% nodedowns of any node (a gap is "across a disconnect" when a nodedown was seen between the two arrivals or
%% within 2 s after the later one).
-record(rec, {last = 0, count = 0, reorders = 0, first_bad = [], gaps = [], downs = [], ups = [],
              since_down = 0, epochs = []}).

soak_recorder() ->
    register(recorder, self()),
    ok = net_kernel:monitor_nodes(true, [nodedown_reason]),
    out("READY ~p ~p", [ms(), node()]),
    process_flag(message_queue_data, off_heap),
    rec_loop(#rec{}, false).

rec_loop(S, DownSinceLast) ->
    receive
        I when is_integer(I) ->
            #rec{last = Last, count = C} = S,
            S1 = if
                     I > Last + 1 ->
                         S#rec{gaps = [{Last, I, ms(), DownSinceLast} | S#rec.gaps]};
                     I =< Last ->
                         Bad = case length(S#rec.first_bad) < 10 of
                                   true -> [{Last, I} | S#rec.first_bad];
                                   false -> S#rec.first_bad
                               end,
                         S#rec{reorders = S#rec.reorders + 1, first_bad = Bad};
                     true -> S
                 end,
            S2 = S1#rec{last = max(I, Last), count = C + 1, since_down = S1#rec.since_down + 1},
            case C rem 1000000 of
                0 when C > 0 -> out("PROGRESS ~p count=~p last=~p reorders=~p", [ms(), C, I, S2#rec.reorders]);
                _ -> ok
            end,
            rec_loop(S2, false);
        {nodedown, N, Info} ->
            out("EV ~p nodedown ~s count=~p last=~p reason=~p",
                [ms(), N, S#rec.count, S#rec.last, proplists:get_value(nodedown_reason, Info)]),
            rec_loop(S#rec{downs = [ms() | S#rec.downs], epochs = [S#rec.since_down | S#rec.epochs],
                           since_down = 0}, true);
        {nodeup, N, _} ->
            out("EV ~p nodeup ~s", [ms(), N]),
            rec_loop(S#rec{ups = [ms() | S#rec.ups]}, DownSinceLast);
        {report, From} ->
            From ! {report, (report(S))#{down_since_last => DownSinceLast}},
            rec_loop(S, DownSinceLast)
    end.

report(#rec{gaps = Gaps, downs = Downs} = S) ->
    Unexplained = [G || {_, _, At, Down} = G <- Gaps,
                        not Down, not lists:any(fun(D) -> D >= At - 100 andalso D =< At + 2000 end, Downs)],
    Lost = lists:sum([Next - Prev - 1 || {Prev, Next, _, _} <- Gaps]),
    #{count => S#rec.count, last => S#rec.last, reorders => S#rec.reorders,
      first_bad => lists:reverse(S#rec.first_bad), gaps => length(Gaps), lost_in_gaps => Lost,
      unexplained_gaps => lists:reverse(Unexplained), nodedowns => length(Downs),
      epochs => lists:reverse([S#rec.since_down | S#rec.epochs]),
      gap_list => [{P, N} || {P, N, _, _} <- lists:reverse(Gaps)]}.

%% soak_sender(T, Y, Seconds, PeriodS) runs on X: sends {I, Recorder} to {server, T} (I = 1, 2, ...) in batches of
%% 200, each batch followed by a {{sync, I}, self()} round trip through `server` (so at most a batch or two is in
%% flight), for Seconds. A separate process on X drops the T<->Y connection every PeriodS while the sender keeps
%% sending, alternately from T's side (rpc:call(T, erlang, disconnect_node, [Y])) and from Y's
%% (erlang:disconnect_node(T) run on Y by rpc).
soak_sender(TS, YS, Seconds, PeriodS) ->
    T = list_to_atom(TS), Y = list_to_atom(YS),
    pong = net_adm:ping(T),
    pong = net_adm:ping(Y),
    Rec = rpc:call(Y, erlang, whereis, [recorder]),
    true = is_pid(Rec),
    out("READY ~p sender ~p recorder ~p", [ms(), node(), Rec]),
    Start = ms(),
    Self = self(),
    Disc = spawn_link(fun() -> disconnector(Self, T, Y, PeriodS * 1000, 0) end),
    St = #{t => T, y => Y, rec => Rec, i => 0, stop => Start + Seconds * 1000, disc => Disc, discs => [],
           sync_timeouts => 0},
    send_loop(St).

disconnector(Sender, T, Y, Period, K) ->
    receive stop -> Sender ! {disconnector_done, K}
    after Period ->
            {How, R} = case K rem 2 of
                           0 -> {from_t, rpc:call(T, erlang, disconnect_node, [Y], 10000)};
                           1 -> {from_y, rpc:call(Y, erlang, disconnect_node, [T], 10000)}
                       end,
            Sender ! {disc, K + 1, How, R, ms()},
            disconnector(Sender, T, Y, Period, K + 1)
    end.

send_loop(#{i := I, stop := Stop} = St0) ->
    St = note_discs(St0),
    case ms() >= Stop of
        true -> finish(St);
        false ->
            #{t := T, rec := Rec} = St,
            Last = I + 200,
            [{server, T} ! {K, Rec} || K <- lists:seq(I + 1, Last)],
            {server, T} ! {{sync, Last}, self()},
            receive
                {sync, Last} -> send_loop(St#{i := Last})
            after 5000 ->
                    out("SYNC_TIMEOUT ~p at ~p", [ms(), Last]),
                    flush_syncs(),
                    send_loop(St#{i := Last, sync_timeouts := maps:get(sync_timeouts, St) + 1})
            end
    end.

note_discs(#{i := I, discs := Ds} = St) ->
    receive
        {disc, K, How, R, At} ->
            out("DISC ~p ~p ~p ~p sent_so_far=~p", [At, K, How, R, I]),
            note_discs(St#{discs := [{K, How, R} | Ds]})
    after 0 -> St
    end.

flush_syncs() -> receive {sync, _} -> flush_syncs() after 0 -> ok end.

finish(#{rec := Rec, i := I, t := T, y := Y, disc := Disc} = St0) ->
    Disc ! stop,
    receive {disconnector_done, _} -> ok after 15000 -> ok end,
    St = note_discs(St0),
    Discs = length(maps:get(discs, St)),
    out("SENT ~p total=~p disconnects=~p sync_timeouts=~p", [ms(), I, Discs, maps:get(sync_timeouts, St)]),
    %% The last batch went through server before the last sync came back; give the relay up to 15 s to deliver.
    Deadline = ms() + 15000,
    Report = wait_drain(Rec, I, Deadline),
    out("REPORT ~p ~w", [ms(), Report]),
    #{count := C, reorders := Ro, unexplained_gaps := Un, epochs := Ep, last := L} = Report,
    Lost = I - C,
    %% Every epoch after a disconnect must have carried messages (the connection came back each time), except
    %% possibly the last one if the run ended right after a disconnect.
    EmptyEpochs = length([E || E <- lists:droplast(Ep), E =:= 0]),
    %% The last integer may be lost only to a disconnect after the last arrival.
    TailOk = (L =:= I) orelse maps:get(down_since_last, Report, false),
    Ok = (Ro =:= 0) andalso (Un =:= []) andalso (EmptyEpochs =:= 0) andalso TailOk,
    out("RESULT ~s sent=~p received=~p lost=~p last_received=~p reorders=~p gaps=~p unexplained_gaps=~p "
        "disconnects=~p nodedowns_seen_by_y=~p empty_epochs=~p sync_timeouts=~p t=~p y=~p",
        [case Ok of true -> "ok"; false -> "bad" end, I, C, Lost, L, Ro, maps:get(gaps, Report), length(Un),
         Discs, maps:get(nodedowns, Report), EmptyEpochs, maps:get(sync_timeouts, St), T, Y]),
    halt(0).

wait_drain(Rec, I, Deadline) ->
    Rec ! {report, self()},
    R = receive {report, X} -> X after 5000 -> #{count => -1, last => -1, reorders => -1, unexplained_gaps => [],
                                                 epochs => [0], gaps => -1, nodedowns => -1} end,
    case maps:get(last, R) of
        I -> R;
        _ ->
            case ms() > Deadline of
                true -> R;
                false -> timer:sleep(200), wait_drain(Rec, I, Deadline)
            end
    end.

%% ---------------------------------------------------------------------------------------------------------------
%% Flood. flood_recv(T, Count, Size) runs on Z: connects to T, registers `recv`, and checks that {flood, I, Bin}
%% arrive with I = 1..Count in order and byte_size(Bin) = Size; prints FIRST, PROGRESS, DONE.
flood_recv(TS, Count, Size) ->
    T = list_to_atom(TS),
    register(recv, self()),
    process_flag(message_queue_data, off_heap),
    R = net_adm:ping(T),
    out("READY ~p ~p ~p", [ms(), node(), R]),
    flood_loop(1, Count, Size, 0, undefined).

flood_loop(Next, Count, _Size, Bad, _) when Next > Count ->
    out("DONE ~p received=~p bad=~p", [ms(), Count, Bad]),
    receive after infinity -> ok end;
flood_loop(Next, Count, Size, Bad, FirstBad) ->
    receive
        {flood, I, Bin} ->
            case Next of 1 -> out("FIRST ~p ~p", [ms(), I]); _ -> ok end,
            case I rem 100000 of 0 -> out("PROGRESS ~p ~p", [ms(), I]); _ -> ok end,
            case I =:= Next andalso byte_size(Bin) =:= Size of
                true -> flood_loop(Next + 1, Count, Size, Bad, FirstBad);
                false ->
                    case Bad < 5 of true -> out("BAD ~p expected=~p got=~p size=~p", [ms(), Next, I, byte_size(Bin)]);
                        false -> ok end,
                    flood_loop(max(Next, I) + 1, Count, Size, Bad + 1, FirstBad)
            end
    after 60000 ->
            out("STALL ~p next=~p bad=~p", [ms(), Next, Bad]),
            flood_loop(Next, Count, Size, Bad, FirstBad)
    end.

%% flood_start(T, Z, Count, Size) runs on D: spawn(T, s, flood, [{recv, Z}, Count, Size]), monitored.
flood_start(TS, ZS, Count, Size) ->
    T = list_to_atom(TS), Z = list_to_atom(ZS),
    pong = net_adm:ping(T),
    Pid = spawn(T, s, flood, [{recv, Z}, Count, Size]),
    Ref = erlang:monitor(process, Pid),
    out("SPAWNED ~p ~p", [ms(), Pid]),
    receive {'DOWN', Ref, process, _, Reason} -> out("FLOOD_EXIT ~p ~p", [ms(), Reason]) end,
    receive after infinity -> ok end.
