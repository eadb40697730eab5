/// The Erlang side of the contract checks (module `contract_suite`), compiled at test time by `ErlSuite`.
/// Edit here; every case function prints `RESULT <name> ok|FAIL ...` lines and the driver ends with `DONE`.
enum ErlangSuiteSource {
    static let text = #"""
%% The Erlang side of the ContractTests: each case function drives `erlang-node start` (the target) and prints
%% one line per check: `RESULT <name> ok|FAIL <detail>|should_fail <detail>|info <detail>`, then `DONE`.
-module(contract_suite).
-compile([export_all, nowarn_export_all]).

%% ---------------------------------------------------------------------------------------------------------------
%% Harness

main(Cases, Opts) when is_list(Cases) ->
    [run_case(Case, Opts) || Case <- Cases],
    out("DONE", []),
    erlang:halt(0);
main(Case, Opts) -> main([Case], Opts).

run_case(Case, Opts) ->
    try ?MODULE:Case(Opts)
    catch C:E:St -> out("RESULT ~s/crash FAIL ~s", [Case, fmt({C, E, St})])
    end.

out(Fmt, Args) -> io:format(Fmt ++ "~n", Args).

fmt(T) ->
    S = lists:flatten(io_lib:format("~P", [T, 30])),
    S1 = [case C of $\n -> $\s; $\r -> $\s; _ -> C end || C <- S],
    lists:sublist(S1, 1500).

fail(D) -> throw({contract_fail, D}).

now_ms() -> erlang:monotonic_time(millisecond).

%% Runs Fun in a fresh process, bounded by Timeout ms; reports ok / FAIL. Returns {ok, Value} or failed.
check(Name, Fun) -> check(Name, Fun, 60000).
check(Name, Fun, Timeout) -> report(Name, run_iso(Fun, Timeout), "FAIL").

%% Like check, for SHOULD items: failures are reported as should_fail (not judged).
should(Name, Fun) -> report(Name, run_iso(Fun, 30000), "should_fail").

%% Runs Fun inline (the caller's mailbox), for checks that need the case's own messages.
check_here(Name, Fun) -> report(Name, run_here(Fun), "FAIL").

run_here(Fun) ->
    T0 = now_ms(),
    R = try Fun() of V -> {value, V}
        catch throw:{contract_fail, D} -> {fail, D};
              C:E:St -> {fail, {C, E, St}}
        end,
    {R, now_ms() - T0}.

run_iso(Fun, Timeout) ->
    T0 = now_ms(),
    {Pid, Ref} = spawn_monitor(fun() -> {R, _} = run_here(Fun), exit({check_result, R}) end),
    R = receive
            {'DOWN', Ref, process, Pid, {check_result, X}} -> X;
            {'DOWN', Ref, process, Pid, Other} -> {fail, {check_process_died, Other}}
        after Timeout ->
            exit(Pid, kill),
            {fail, {check_timeout_ms, Timeout}}
        end,
    {R, now_ms() - T0}.

report(Name, {{value, V}, Ms}, _) ->
    out("RESULT ~s ok ~bms", [Name, Ms]),
    {ok, V};
report(Name, {{fail, D}, Ms}, Kind) ->
    out("RESULT ~s ~s ~s (after ~bms)", [Name, Kind, fmt(D), Ms]),
    failed.

info(Name, Fmt, Args) -> out("RESULT ~s info " ++ Fmt, [Name | Args]).

eq(Expected, Actual) -> eq(value, Expected, Actual).
eq(What, Expected, Actual) ->
    case Expected =:= Actual of
        true -> ok;
        false -> fail({What, {expected, Expected}, {got, Actual}})
    end.

true_or_fail(true, _) -> ok;
true_or_fail(_, D) -> fail(D).

wait_until(Fun, Ms) -> wait_until(Fun, Ms, 50).
wait_until(Fun, Ms, Step) -> wait_loop(Fun, now_ms() + Ms, Step).
wait_loop(Fun, Deadline, Step) ->
    case catch Fun() of
        true -> ok;
        Other ->
            case now_ms() > Deadline of
                true -> fail({condition_not_met, Other});
                false -> timer:sleep(Step), wait_loop(Fun, Deadline, Step)
            end
    end.

wait_pong(T) -> wait_pong(T, 10000).
wait_pong(T, Ms) ->
    wait_until(fun() -> net_adm:ping(T) =:= pong end, Ms, 200).

epmd_names() ->
    case erl_epmd:names({127,0,0,1}) of
        {ok, L} -> L;
        Other -> Other
    end.

registered(Alive) ->
    case epmd_names() of
        L when is_list(L) -> lists:keymember(Alive, 1, L);
        _ -> false
    end.

sync(Word) -> out("SYNC ~s", [Word]).

flush() -> receive _ -> flush() after 0 -> ok end.

recv_nothing(Ms, What) ->
    receive M -> fail({What, unexpected_message, M}) after Ms -> ok end.

%% Round trip through `server`: Back =:= Sent and identical deterministic encodings.
rt(T, Term) -> rt(T, Term, 15000).
rt(T, Term, Timeout) ->
    Ref = make_ref(),
    {server, T} ! {{rt, Ref, Term}, self()},
    receive {rt, Ref, Back} -> same(Term, Back)
    after Timeout -> fail({no_reply_from_server, Term})
    end.

same(Sent, Back) ->
    case Back =:= Sent andalso
         term_to_binary(Back, [deterministic]) =:= term_to_binary(Sent, [deterministic]) of
        true -> ok;
        false -> fail({changed, {sent, Sent}, {back, Back},
                       {sent_etf, first_diff(term_to_binary(Sent, [deterministic]),
                                             term_to_binary(Back, [deterministic]))}})
    end.

first_diff(A, B) -> first_diff(A, B, 0).
first_diff(<<X, A/binary>>, <<X, B/binary>>, N) -> first_diff(A, B, N + 1);
first_diff(A, B, N) -> {at_byte, N, binary:part(A, 0, min(16, byte_size(A))), binary:part(B, 0, min(16, byte_size(B)))}.

%% Round trips a list of {Label, Term}: sends all, then checks each reply (in order).
rt_all(T, Cases) ->
    Self = self(),
    Tagged = [{make_ref(), L, Term} || {L, Term} <- Cases],
    [{server, T} ! {{rt, Ref, Term}, Self} || {Ref, _, Term} <- Tagged],
    Bad = lists:filtermap(
            fun({Ref, L, Term}) ->
                    receive {rt, Ref, Back} ->
                            case catch same(Term, Back) of
                                ok -> false;
                                {contract_fail, D} -> {true, {L, D}}
                            end
                    after 15000 -> {true, {L, no_reply}}
                    end
            end, Tagged),
    case Bad of [] -> ok; _ -> fail({failed_terms, length(Bad), Bad}) end.

creation(Pid) ->
    B = term_to_binary(Pid),
    <<C:32>> = binary:part(B, byte_size(B) - 4, 4),
    C.

down(Ref, Ms) ->
    receive {'DOWN', Ref, process, Obj, Reason} -> {Obj, Reason}
    after Ms -> fail({no_down_within_ms, Ms})
    end.

echo(T) -> spawn(T, s, echo, []).

%% Checks that an echo process relays (so it is alive).
alive_echo(E) ->
    Ref = make_ref(),
    E ! {{alive, Ref}, self()},
    receive {alive, Ref} -> ok after 5000 -> fail({echo_not_relaying, E}) end.

%% ---------------------------------------------------------------------------------------------------------------
%% Cases

basic(#{target := T} = O) ->
    P = maps:get(prefix, O, "basic"),
    check(P ++ "/ping", fun() -> wait_pong(T) end),
    check(P ++ "/server_roundtrip", fun() -> rt(T, {hello, [1, 2.5, <<"x">>]}) end),
    check(P ++ "/rpc_node", fun() -> eq(T, rpc:call(T, erlang, node, [], 5000)) end),
    check(P ++ "/counter_get", fun() -> true_or_fail(is_integer(gen_server:call({counter, T}, get, 5000)), no_int) end),
    check(P ++ "/spawn_send_node", fun() ->
        spawn(T, s, send_node, [self()]),
        receive T -> ok after 5000 -> fail(no_node_name) end end).

%% §2, §3: the suite node polls EPMD and pings at first sight.
readiness(#{target := T, alive := Alive}) ->
    check("readiness/registered_within_30s", fun() -> wait_until(fun() -> registered(Alive) end, 30000, 5) end, 35000),
    check("readiness/first_ping_after_registration_is_pong", fun() -> eq(pong, net_adm:ping(T)) end),
    check("readiness/server_sink_counter_registered", fun() ->
        Ps = [rpc:call(T, erlang, whereis, [N], 5000) || N <- [server, sink, counter]],
        true_or_fail(lists:all(fun(P) -> is_pid(P) andalso node(P) =:= T end, Ps)
                     andalso length(lists:usort(Ps)) =:= 3, {whereis, Ps}) end),
    check("readiness/server_answers", fun() -> rt(T, ready) end),
    check("readiness/creation_nonzero", fun() ->
        P = rpc:call(T, erlang, whereis, [server], 5000),
        true_or_fail(creation(P) =/= 0, {creation, P}) end).

%% §3, §8: death by signal, EPMD forgets, restart with a new creation, old pids dead.
restart(#{target := T, alive := Alive}) ->
    {ok, {Echo, OldServer}} = check("restart/before", fun() ->
        wait_pong(T),
        E = echo(T), alive_echo(E),
        {E, rpc:call(T, erlang, whereis, [server], 5000)} end),
    net_kernel:monitor_nodes(true),
    MRef = erlang:monitor(process, Echo),
    flush_nodeups(),
    sync(kill),
    T0 = now_ms(),
    check_here("restart/nodedown_within_10s", fun() ->
        receive {nodedown, T} -> ok after 10000 -> fail(no_nodedown) end end),
    check_here("restart/monitor_noconnection", fun() ->
        receive {'DOWN', MRef, process, Echo, R} -> eq(noconnection, R) after 10000 -> fail(no_down) end end),
    check_here("restart/epmd_forgets_within_5s", fun() ->
        wait_until(fun() -> not registered(Alive) end, max(0, 5500 - (now_ms() - T0))) end),
    sync(restart),
    check_here("restart/registered_again", fun() -> wait_until(fun() -> registered(Alive) end, 30000) end),
    check_here("restart/ping", fun() -> wait_pong(T) end),
    check_here("restart/new_creation", fun() ->
        New = rpc:call(T, erlang, whereis, [server], 5000),
        true_or_fail(is_pid(New) andalso creation(New) =/= 0 andalso creation(New) =/= creation(OldServer),
                     {old, OldServer, creation(OldServer), new, New}) end),
    check("restart/old_echo_send_dropped", fun() ->
        Echo ! {old_hello, self()}, OldServer ! {old_hello2, self()},
        recv_nothing(1000, old_pid_answered), rt(T, after_restart) end),
    check("restart/old_pid_monitor_noproc", fun() ->
        R = erlang:monitor(process, Echo),
        eq({Echo, noproc}, down(R, 5000)) end),
    check("restart/services", fun() ->
        E = echo(T), alive_echo(E),
        true_or_fail(is_integer(gen_server:call({counter, T}, get, 5000)), counter) end).

flush_nodeups() -> receive {nodeup, _} -> flush_nodeups() after 0 -> ok end.

%% §10: this node has the wrong cookie.
wrong_cookie(#{target := T, alive := Alive, cookie := C}) ->
    check("cookie/wrong_cookie_pang_3_times", fun() ->
        Rs = [net_adm:ping(T) || _ <- [1, 2, 3]], eq([pang, pang, pang], Rs) end),
    check("cookie/not_connected", fun() -> eq(false, lists:member(T, nodes(connected))) end),
    check("cookie/still_registered", fun() -> true_or_fail(registered(Alive), epmd_names()) end),
    check("cookie/set_cookie_then_pong", fun() -> erlang:set_cookie(T, C), wait_pong(T) end),
    check("cookie/server_after_set_cookie", fun() -> rt(T, cookie_ok) end).

%% §4.4: 8 races of connect_node from both sides.
simultaneous(#{target := T, helper := H}) ->
    ok = element(1, check("simul/setup", fun() ->
        wait_pong(H), wait_pong(T),
        eq(true, rpc:call(H, net_kernel, connect_node, [T], 15000)) end)),
    net_kernel:monitor_nodes(true),
    [simul_round(T, H, I) || I <- lists:seq(1, 8)],
    ok.

simul_round(T, H, I) ->
    check_here("simul/round" ++ integer_to_list(I), fun() ->
        erlang:disconnect_node(T),
        Me = node(),
        wait_until(fun() -> not lists:member(Me, rpc:call(H, rpc, call, [T, erlang, nodes, [connected], 5000], 6000)) end, 5000),
        receive {nodedown, T} -> ok after 2000 -> ok end,
        flush(),
        Self = self(),
        spawn(fun() -> Self ! {hres, rpc:call(H, rpc, call, [T, net_kernel, connect_node, [Me], 15000], 16000)} end),
        timer:sleep(I rem 3),
        Mine = net_kernel:connect_node(T),
        Theirs = receive {hres, R} -> R after 17000 -> timeout end,
        eq(both_connect_node_results, {true, true}, {Mine, Theirs}),
        eq(target_in_nodes, true, lists:member(T, nodes())),
        eq(suite_in_target_nodes, true, lists:member(Me, rpc:call(T, erlang, nodes, [], 5000))),
        receive {nodedown, T} -> fail(nodedown_after_connect) after 300 -> ok end,
        rt(T, {round, I})
    end).

%% §5 order.
ordering(#{target := T}) ->
    check("order/ping", fun() -> wait_pong(T) end),
    check("order/100000_via_server", fun() ->
        N = 100000, Self = self(),
        spawn_link(fun() -> [{server, T} ! {I, Self} || I <- lists:seq(1, N)] end),
        recv_seq(1, N) end, 120000),
    check("order/20000_via_echo", fun() ->
        N = 20000, Self = self(), E = echo(T),
        spawn_link(fun() -> [E ! {I, Self} || I <- lists:seq(1, N)] end),
        recv_seq(1, N), E ! stop, ok end, 60000).

recv_seq(I, N) when I > N -> ok;
recv_seq(I, N) ->
    receive
        I -> recv_seq(I + 1, N);
        Other -> fail({out_of_order, {expected, I}, {got, Other}})
    after 20000 -> fail({stalled_at, I})
    end.

%% §6 terms.
neg_zero() -> <<F/float>> = <<1:1, 0:63>>, F.
float_bits(B) -> <<F/float>> = <<B:64>>, F.

nc(Bin) -> try binary_to_term(Bin) catch _:_ -> undefined end.

atom_ext(Name) -> B = unicode:characters_to_binary(Name), <<119, (byte_size(B)), B/binary>>.

foreign_ncs() ->
    N = atom_ext("nobody@nowhere"),
    Cands =
        [{"pid_small", nc(<<131, 88, N/binary, 1:32, 0:32, 1:32>>)},
         {"pid_v4_full_id_serial", nc(<<131, 88, N/binary, 16#FFFFFFFF:32, 16#FFFFFFFF:32, 16#FFFFFFFF:32>>)},
         {"pid_v4_big_id", nc(<<131, 88, N/binary, 16#87654321:32, 16#12345678:32, 7:32>>)},
         {"ref_1_word", nc(<<131, 90, 1:16, N/binary, 5:32, 42:32>>)},
         {"ref_3_words", nc(<<131, 90, 3:16, N/binary, 5:32, 1:32, 2:32, 3:32>>)},
         {"ref_5_words_v4", nc(<<131, 90, 5:16, N/binary, 16#FFFFFFFF:32, 1:32, 2:32, 3:32, 4:32, 16#FFFFFFFF:32>>)},
         {"port_new", nc(<<131, 89, N/binary, 77:32, 9:32>>)},
         {"port_v4_64bit", nc(<<131, 120, N/binary, 16#123456789ABCDEF:64, 9:32>>)},
         {"port_v4_small", nc(<<131, 120, N/binary, 5:64, 9:32>>)}],
    [{L, V} || {L, V} <- Cands, V =/= undefined].

unicode_atom(N, Ch) -> list_to_atom(lists:duplicate(N, Ch)).

deep(0, Acc, _) -> Acc;
deep(N, Acc, K) ->
    Next = case K of
               tuple -> {Acc};
               list -> [Acc];
               map -> #{k => Acc};
               mixed -> case N rem 4 of 0 -> {N, Acc}; 1 -> [Acc, N]; 2 -> #{N => Acc}; 3 -> [N | Acc] end
           end,
    deep(N - 1, Next, K).

big_map(N) -> maps:from_list([{K, {v, K}} || K <- lists:seq(1, N)]).

term_groups(T) ->
    TargetServer = rpc:call(T, erlang, whereis, [server], 5000),
    MyPort = hd(erlang:ports()),
    [{"atoms", [{"empty", ''}, {"a", a}, {"true", true}, {"ascii255", unicode_atom(255, $a)},
                {"utf8_255_chars", unicode_atom(255, 16#1F600)}, {"utf8_2byte_255", unicode_atom(255, 16#E9)},
                {"latin1_chars", 'caf\x{e9}'}]},
     {"integers", [{integer_to_list(I), I} || I <-
                   [0, 1, -1, 255, 256, -256, 2147483647, -2147483648, 2147483648, -2147483649,
                    (1 bsl 59) - 1, -(1 bsl 59), (1 bsl 63) - 1, -(1 bsl 63), 1 bsl 63, 1 bsl 64, -(1 bsl 64),
                    (1 bsl 2040) - 1, -((1 bsl 2040) - 1), 1 bsl 2040, -(1 bsl 2040), (1 bsl 4000) + 12345,
                    -(1 bsl 9999) - 7, 1 bsl 20000]]},
     {"floats", [{io_lib:format("bits_~.16b", [B]), float_bits(B)} || B <-
                 [0, 16#8000000000000000, 16#3FF0000000000000, 16#BFF8000000000000, 16#7FEFFFFFFFFFFFFF,
                  16#FFEFFFFFFFFFFFFF, 1, 16#8000000000000001, 16#000FFFFFFFFFFFFF, 16#0010000000000000,
                  16#400921FB54442D18, 16#3E7AD7F29ABCAF48]] ++ [{"neg_zero", neg_zero()}, {"pos_zero", 0.0}]},
     {"tuples", [{"empty", {}}, {"one", {a}}, {"255", list_to_tuple(lists:seq(1, 255))},
                 {"256", list_to_tuple(lists:seq(1, 256))}, {"70000", list_to_tuple(lists:seq(1, 70000))}]},
     {"lists", [{"nil", []}, {"one", [1]}, {"string", "abc"}, {"string_65535", lists:duplicate(65535, $x)},
                {"string_65536", lists:duplicate(65536, $y)}, {"big_ints", [1000, 2000, -1]},
                {"improper", [a | b]}, {"improper2", [1, 2 | 3]}, {"improper_bin_tail", [a | <<1>>]},
                {"improper_nil_elem", [[] | 1]}, {"long_100000", lists:seq(1, 100000)},
                {"unicode_charlist", [16#1F600, 16#E9, $a]}]},
     {"binaries", [{"empty", <<>>}, {"small", <<1, 2, 3>>}, {"256", binary:copy(<<7>>, 256)},
                   {"bits1", <<1:1>>}, {"bits_3_5", <<1, 2, 3:5>>}, {"bits7", <<255:7>>},
                   {"bits_0_of_byte", <<>>}, {"sub_binary", binary:part(list_to_binary(lists:seq(0, 255)), 3, 100)},
                   {"bitstring_long", <<(binary:copy(<<"ab">>, 1000))/binary, 5:3>>}]},
     {"maps", [{"empty", #{}}, {"one", #{a => 1}}, {"int_float_keys", #{1 => a, 1.0 => b}},
               {"32_keys_flat", big_map(32)}, {"33_keys_hash", big_map(33)}, {"1000_keys", big_map(1000)},
               {"mixed_keys", #{<<"b">> => 1, [1] => 2, {t} => 3, a => 4, 1.5 => 5, self() => 6, #{x => y} => 7}},
               {"nested", #{a => #{b => #{c => [#{}]}}}},
               {"neg_zero_value", #{k => neg_zero()}}]},
     {"node_containers", [{"self", self()}, {"make_ref", make_ref()}, {"alias", alias()}, {"port", MyPort},
                          {"target_server", TargetServer}] ++ foreign_ncs()},
     {"deep", [{"tuple_500", deep(500, x, tuple)}, {"list_500", deep(500, x, list)},
               {"map_300", deep(300, x, map)}, {"mixed_600", deep(600, <<"leaf">>, mixed)}]},
     {"mixture", [{"all", {a, 1, -0.5, neg_zero(), [1 | 2], <<1:3>>, #{1 => 1.0, 1.0 => 1}, self(), make_ref(),
                           big_map(40), 1 bsl 300, "str", {}, [], <<>>, unicode_atom(10, 16#1F600),
                           foreign_ncs(), [{k, v} || _ <- lists:seq(1, 50)]}}]}].

terms(#{target := T}) ->
    check("terms/ping", fun() -> wait_pong(T) end),
    [check("terms/" ++ G, fun() -> rt_all(T, Cs) end) || {G, Cs} <- term_groups(T)],
    check("terms/foreign_node_containers_constructible", fun() ->
        eq(9, length(foreign_ncs())) end),
    check("terms/10MiB_binary", fun() -> rt(T, rand:bytes(10 * 1024 * 1024), 60000) end, 90000),
    check("terms/10MiB_mixed", fun() ->
        Term = [{I, rand:bytes(1000), I * 1.5, [I | I], #{I => <<"v">>}} || I <- lists:seq(1, 10000)],
        rt(T, Term, 60000) end, 90000),
    check("terms/still_connected_after", fun() -> rt(T, after_terms) end),
    %% Funs are optional (not judged).
    F = fun(X) -> {X, T} end,
    Funs = [{"export", fun erlang:node/0}, {"local", F}],
    [case run_iso(fun() -> rt(T, Fun, 5000) end, 10000) of
         {{value, _}, _} -> info("terms/fun_" ++ L, "roundtrips", []);
         {{fail, D}, _} -> info("terms/fun_" ++ L, "optional, does not roundtrip: ~s", [fmt(D)])
     end || {L, Fun} <- Funs],
    ok.

%% §7 node lists and meshing; H is a hidden erl node, T1 and T2 visible targets.
mesh(#{t1 := T1, t2 := T2, helper := H}) ->
    Me = node(),
    check("mesh/setup", fun() -> wait_pong(T1), wait_pong(H),
        eq(true, rpc:call(H, net_kernel, connect_node, [T1], 15000)) end),
    check("mesh/suite_sees_t1_visible", fun() ->
        eq(true, lists:member(T1, nodes())), eq(false, lists:member(T1, nodes(hidden))) end),
    check("mesh/t1_nodes_visible", fun() ->
        V = rpc:call(T1, erlang, nodes, [], 5000),
        eq(V, rpc:call(T1, erlang, nodes, [visible], 5000)),
        true_or_fail(lists:member(Me, V) andalso not lists:member(H, V) andalso not lists:member(T1, V), V) end),
    check("mesh/t1_nodes_hidden", fun() ->
        Hd = rpc:call(T1, erlang, nodes, [hidden], 5000),
        true_or_fail(lists:member(H, Hd) andalso not lists:member(Me, Hd) andalso not lists:member(T1, Hd), Hd) end),
    check("mesh/t1_nodes_connected", fun() ->
        C = rpc:call(T1, erlang, nodes, [connected], 5000),
        true_or_fail(lists:member(H, C) andalso lists:member(Me, C) andalso not lists:member(T1, C), C) end),
    check("mesh/t1_is_alive", fun() -> eq(true, rpc:call(T1, erlang, is_alive, [], 5000)) end),
    check("mesh/suite_not_yet_connected_to_t2", fun() -> eq(false, lists:member(T2, nodes(connected))) end),
    check("mesh/t1_connect_t2", fun() -> eq(true, rpc:call(T1, net_kernel, connect_node, [T2], 15000)) end),
    check("mesh/suite_connected_to_t2_within_10s", fun() ->
        wait_until(fun() -> lists:member(T2, nodes()) end, 10000) end),
    check("mesh/t2_nodes_has_suite_and_t1", fun() ->
        wait_until(fun() -> V = rpc:call(T2, erlang, nodes, [], 5000),
                            lists:member(Me, V) andalso lists:member(T1, V) end, 5000) end),
    check("mesh/hidden_helper_not_meshed_with_t2", fun() ->
        timer:sleep(2000),
        eq(false, lists:member(T2, rpc:call(H, erlang, nodes, [connected], 5000))) end).

%% §7 with a hidden target T1 and a visible target T2.
hidden_mesh(#{t1 := T1, t2 := T2}) ->
    Me = node(),
    check("hidden/ping", fun() -> wait_pong(T1) end),
    check("hidden/suite_sees_t1_hidden", fun() ->
        eq(false, lists:member(T1, nodes())), eq(true, lists:member(T1, nodes(hidden))) end),
    check("hidden/t1_nodes_empty", fun() -> eq([], rpc:call(T1, erlang, nodes, [], 5000)) end),
    check("hidden/t1_nodes_hidden_has_suite", fun() ->
        eq([Me], rpc:call(T1, erlang, nodes, [hidden], 5000) -- [T2]),
        eq([Me], rpc:call(T1, erlang, nodes, [connected], 5000) -- [T2]) end),
    check("hidden/t1_connect_t2", fun() -> eq(true, rpc:call(T1, net_kernel, connect_node, [T2], 15000)) end),
    check("hidden/t1_sees_t2_hidden", fun() ->
        eq([], rpc:call(T1, erlang, nodes, [], 5000)),
        eq(true, lists:member(T2, rpc:call(T1, erlang, nodes, [hidden], 5000))) end),
    check("hidden/no_meshing_after_2s", fun() ->
        timer:sleep(2000), eq(false, lists:member(T2, nodes(connected))) end),
    check("hidden/t2_sees_t1_hidden", fun() ->
        %% asking T2 connects the suite to T2 (visible); T1 must be in T2's hidden list only.
        V = rpc:call(T2, erlang, nodes, [], 5000), Hd = rpc:call(T2, erlang, nodes, [hidden], 5000),
        true_or_fail(not lists:member(T1, V) andalso lists:member(T1, Hd), {V, Hd}) end).

%% §8 disconnect and reconnect; H is a hidden helper.
disconnect(#{target := T, helper := H}) ->
    Me = node(),
    check_here("disc/setup", fun() -> wait_pong(T), wait_pong(H),
        eq(true, rpc:call(H, net_kernel, connect_node, [T], 15000)) end),
    net_kernel:monitor_nodes(true),
    E1 = echo(T), M1 = erlang:monitor(process, E1),
    check_here("disc/echo_alive", fun() -> alive_echo(E1) end),
    flush_nodeups(),
    check_here("disc/suite_disconnect_true", fun() -> eq(true, erlang:disconnect_node(T)) end),
    check_here("disc/suite_sees_nodedown", fun() -> receive {nodedown, T} -> ok after 5000 -> fail(no_nodedown) end end),
    check_here("disc/monitor_noconnection", fun() -> eq({E1, noconnection}, down(M1, 5000)) end),
    check_here("disc/target_forgets_suite_within_5s", fun() ->
        wait_until(fun() -> not lists:member(Me, rpc:call(H, rpc, call, [T, erlang, nodes, [connected], 4000], 5000)) end, 5000) end),
    check_here("disc/reping_and_services", fun() -> wait_pong(T), rt(T, again), alive_echo(echo(T)),
        true_or_fail(is_integer(gen_server:call({counter, T}, get, 5000)), counter) end),
    flush_nodeups(),
    check_here("disc/target_disconnects_suite", fun() ->
        R = rpc:call(T, erlang, disconnect_node, [Me], 5000),
        true_or_fail(R =:= true orelse R =:= {badrpc, nodedown}, R) end),
    check_here("disc/suite_sees_nodedown_from_target_side", fun() ->
        receive {nodedown, T} -> ok after 5000 -> fail(no_nodedown) end end),
    check_here("disc/reping_and_services_again", fun() -> wait_pong(T), rt(T, again2), alive_echo(echo(T)),
        spawn(T, s, send_node, [self()]), receive T -> ok after 5000 -> fail(spawn) end end).

%% §9.1 server, including kill and re-registration through s:s/0.
server(#{target := T}) ->
    check("server/ping", fun() -> wait_pong(T) end),
    check("server/relays", fun() -> rt(T, {any, "term"}) end),
    check("server/discards_others", fun() ->
        [{server, T} ! M || M <- [foo, {a, b, c}, {x, notapid}, {self()}, [x, self()], {self(), self(), x}]],
        {server, T} ! {last, self()},
        receive last -> ok; Other -> fail({unexpected, Other}) after 5000 -> fail(no_reply) end,
        recv_nothing(300, extra) end),
    check("server/kill_by_name_monitor", fun() ->
        S = rpc:call(T, erlang, whereis, [server], 5000),
        NameRef = erlang:monitor(process, {server, T}),
        PidRef = erlang:monitor(process, S),
        exit(S, kill),
        eq(name_down, {{server, T}, killed}, down(NameRef, 5000)),
        eq(pid_down, {S, killed}, down(PidRef, 5000)) end),
    check("server/name_freed", fun() ->
        wait_until(fun() -> rpc:call(T, erlang, whereis, [server], 5000) =:= undefined end, 3000) end),
    check("server/respawn_with_s_s", fun() ->
        spawn(T, s, s, []),
        wait_until(fun() -> is_pid(rpc:call(T, erlang, whereis, [server], 5000)) end, 5000),
        rt(T, respawned) end),
    check("server/custom_exit_reason_name_monitor", fun() ->
        S = rpc:call(T, erlang, whereis, [server], 5000),
        R = erlang:monitor(process, {server, T}),
        exit(S, {custom, [reason, 1]}),
        eq({{server, T}, {custom, [reason, 1]}}, down(R, 5000)) end),
    check("server/exit_normal_ignored", fun() ->
        spawn(T, s, s, []),
        wait_until(fun() -> is_pid(rpc:call(T, erlang, whereis, [server], 5000)) end, 5000),
        S = rpc:call(T, erlang, whereis, [server], 5000),
        exit(S, normal), timer:sleep(200), rt(T, still_there) end).

%% §9.2 module s: spawn variants.
spawns(#{target := T}) ->
    check("spawn/ping", fun() -> wait_pong(T) end),
    check("spawn/spawn4_send_node", fun() ->
        P = spawn(T, s, send_node, [self()]), eq(T, node(P)),
        receive T -> ok after 5000 -> fail(no_node) end end),
    check("spawn/spawn_link_exit_normal", fun() ->
        process_flag(trap_exit, true),
        P = spawn_link(T, s, send_node, [self()]),
        receive T -> ok after 5000 -> fail(no_node) end,
        receive {'EXIT', P, R} -> eq(normal, R) after 5000 -> fail(no_exit) end end),
    check("spawn/spawn_monitor_down_normal", fun() ->
        {P, R} = spawn_monitor(T, s, send_node, [self()]),
        receive T -> ok after 5000 -> fail(no_node) end,
        eq({P, normal}, down(R, 5000)) end),
    check("spawn/spawn_request_monitor", fun() ->
        R = erlang:spawn_request(T, s, send_node, [self()], [monitor]),
        P = receive {spawn_reply, R, ok, Pid} -> Pid; {spawn_reply, R, error, E} -> fail({error, E})
            after 5000 -> fail(no_spawn_reply) end,
        receive T -> ok after 5000 -> fail(no_node) end,
        eq({P, normal}, down(R, 5000)) end),
    check("spawn/spawn_request_link", fun() ->
        process_flag(trap_exit, true),
        R = erlang:spawn_request(T, s, echo, [], [link]),
        P = receive {spawn_reply, R, ok, Pid} -> Pid after 5000 -> fail(no_spawn_reply) end,
        alive_echo(P),
        P ! {exit, bye},
        receive {'EXIT', P, Why} -> eq(bye, Why) after 5000 -> fail(no_exit) end end),
    check("spawn/spawn_request_link_monitor", fun() ->
        process_flag(trap_exit, true),
        R = erlang:spawn_request(T, s, echo, [], [link, monitor]),
        P = receive {spawn_reply, R, ok, Pid} -> Pid after 5000 -> fail(no_spawn_reply) end,
        P ! {exit, {two, ways}},
        receive {'EXIT', P, W1} -> eq({two, ways}, W1) after 5000 -> fail(no_exit) end,
        eq({P, {two, ways}}, down(R, 5000)) end),
    check("spawn/spawn_request_unknown_function", fun() ->
        R = erlang:spawn_request(T, s, no_such_function, [1], [monitor]),
        receive
            {spawn_reply, R, error, _} -> ok;
            {spawn_reply, R, ok, P} ->
                {P, Why} = down(R, 5000),
                true_or_fail(Why =/= normal, {exit_reason, Why})
        after 5000 -> fail(no_spawn_reply) end end),
    check("spawn/spawn_monitor_unknown_module", fun() ->
        {P, R} = spawn_monitor(T, no_such_module, f, []),
        {P, Why} = down(R, 5000),
        true_or_fail(Why =/= normal, {exit_reason, Why}) end),
    check("spawn/still_serving", fun() -> rt(T, after_spawns) end).

%% §9.2 echo semantics and §9.3 signals, monitors, links.
signals(#{target := T}) ->
    check("sig/ping", fun() -> wait_pong(T) end),
    check("echo/relays_and_discards", fun() ->
        E = echo(T),
        [E ! M || M <- [foo, {a, b, c}, {x, notapid}, [1, self()]]],
        E ! {{complex, [1.5, <<"b">>, #{k => v}]}, self()},
        receive M -> eq({complex, [1.5, <<"b">>, #{k => v}]}, M) after 5000 -> fail(no_relay) end,
        recv_nothing(300, extra), E ! stop end),
    check("echo/exit_tuple_reason", fun() ->
        E = echo(T), R = erlang:monitor(process, E),
        E ! {exit, {my, reason, [1, 2]}}, eq({E, {my, reason, [1, 2]}}, down(R, 5000)) end),
    check("echo/exit_checked_before_relay", fun() ->
        E = echo(T), R = erlang:monitor(process, E), Me = self(),
        E ! {exit, Me},
        eq({E, Me}, down(R, 5000)), recv_nothing(200, relayed_instead) end),
    check("echo/stop_normal", fun() ->
        E = echo(T), R = erlang:monitor(process, E), E ! stop, eq({E, normal}, down(R, 5000)) end),
    check("sig/exit2_normal_ignored", fun() ->
        E = echo(T), exit(E, normal), timer:sleep(300), alive_echo(E), E ! stop end),
    check("sig/exit2_kill_killed", fun() ->
        E = echo(T), R = erlang:monitor(process, E), exit(E, kill), eq({E, killed}, down(R, 5000)) end),
    check("sig/exit2_custom_reason", fun() ->
        E = echo(T), R = erlang:monitor(process, E), exit(E, {custom, 1}), eq({E, {custom, 1}}, down(R, 5000)) end),
    check("mon/dead_pid_noproc", fun() ->
        E = echo(T), R0 = erlang:monitor(process, E), E ! stop, down(R0, 5000),
        R = erlang:monitor(process, E), eq({E, noproc}, down(R, 3000)) end),
    check("mon/unregistered_name_noproc", fun() ->
        R = erlang:monitor(process, {no_such_name, T}), eq({{no_such_name, T}, noproc}, down(R, 3000)) end),
    check("mon/demonitor_removes", fun() ->
        E = echo(T), R = erlang:monitor(process, E), true = erlang:demonitor(R),
        R2 = erlang:monitor(process, E), E ! stop, down(R2, 5000),
        recv_nothing(500, down_after_demonitor) end),
    check("mon/name_monitor_counter_demonitor", fun() ->
        R = erlang:monitor(process, {counter, T}), timer:sleep(100), true = erlang:demonitor(R, [flush]),
        recv_nothing(300, unexpected) end),
    check("link/exit_propagates_to_suite", fun() ->
        process_flag(trap_exit, true), E = echo(T), link(E), E ! {exit, bye},
        receive {'EXIT', E, W} -> eq(bye, W) after 5000 -> fail(no_exit) end end),
    check("link/remote_bye_kills_echo", fun() ->
        E = echo(T), R = erlang:monitor(process, E), Self = self(),
        spawn(fun() -> link(E), Self ! linked, receive go -> exit(bye) end end) ! go,
        receive linked -> ok after 1000 -> ok end,
        eq({E, bye}, down(R, 5000)) end),
    check("link/remote_normal_does_not_kill", fun() ->
        E = echo(T), Self = self(),
        P = spawn(fun() -> link(E), Self ! linked, receive go -> exit(normal) end end),
        receive linked -> ok after 1000 -> ok end,
        timer:sleep(200), P ! go, timer:sleep(500), alive_echo(E), E ! stop end),
    check("link/dead_pid_noproc", fun() ->
        process_flag(trap_exit, true),
        E = echo(T), R = erlang:monitor(process, E), E ! stop, down(R, 5000),
        link(E), receive {'EXIT', E, W} -> eq(noproc, W) after 5000 -> fail(no_exit) end end),
    check("link/unlink_no_exit", fun() ->
        process_flag(trap_exit, true),
        E = echo(T), link(E), timer:sleep(100), unlink(E), timer:sleep(200),
        R = erlang:monitor(process, E), E ! {exit, bye},
        eq({E, bye}, down(R, 5000)), recv_nothing(500, exit_after_unlink) end),
    check("link/unlink_connection_carries_on", fun() -> alive_echo(echo(T)), rt(T, after_unlink) end).

%% §9.4 counter.
counter(#{target := T}) ->
    C = {counter, T},
    check("counter/ping", fun() -> wait_pong(T) end),
    check("counter/reset_get_zero", fun() -> gen_server:cast(C, reset), eq(0, gen_server:call(C, get, 5000)) end),
    check("counter/incr", fun() -> eq(1, gen_server:call(C, incr, 5000)), eq(1, gen_server:call(C, get, 5000)) end),
    check("counter/20x25_concurrent_incr", fun() ->
        gen_server:cast(C, reset), eq(0, gen_server:call(C, get, 5000)),
        Self = self(),
        Ps = [spawn_link(fun() -> Self ! {vals, self(), [gen_server:call(C, incr, 10000) || _ <- lists:seq(1, 25)]} end)
              || _ <- lists:seq(1, 20)],
        Vals = lists:append([receive {vals, P, V} -> V after 30000 -> fail(timeout) end || P <- Ps]),
        eq(lists:seq(1, 500), lists:sort(Vals)) end),
    check("counter/pid_call", fun() ->
        P = rpc:call(T, erlang, whereis, [counter], 5000), eq(501, gen_server:call(P, incr, 5000)) end),
    should("counter/unknown_call_gets_reply", fun() -> gen_server:call(C, what_is_this, 5000), ok end),
    check("counter/no_monitor_leak_down", fun() -> recv_nothing(300, stray) end).

%% §17.2 counter as a full gen_server under demo_sup.
supervised_counter(#{target := T}) ->
    C = {counter, T}, S = {demo_sup, T},
    check("sup_counter/ping", fun() -> wait_pong(T) end),
    check("sup_counter/sys_get_state_integer", fun() ->
        gen_server:cast(C, reset), eq(0, gen_server:call(C, get, 5000)),
        eq(1, gen_server:call(C, incr, 5000)), eq(1, sys:get_state(C)), eq(1, sys:get_state(C, 5000)) end),
    check("sup_counter/sys_get_status", fun() ->
        P = rpc:call(T, erlang, whereis, [counter], 5000),
        case sys:get_status(C) of
            {status, P, {module, gen_server}, [PDict, running, Parent, _Debug, Misc]} when is_list(PDict), is_pid(Parent), is_list(Misc) ->
                eq(Parent, rpc:call(T, erlang, whereis, [demo_sup], 5000));
            Other -> fail({status, Other})
        end end),
    check("sup_counter/which_children", fun() ->
        P = rpc:call(T, erlang, whereis, [counter], 5000),
        case supervisor:which_children(S) of
            [{counter, P, worker, Mods}] when is_list(Mods) -> ok;
            Other -> fail({which_children, Other, P})
        end end),
    check("sup_counter/count_children", fun() ->
        eq([{specs, 1}, {active, 1}, {supervisors, 0}, {workers, 1}], supervisor:count_children(S)) end),
    check("sup_counter/kill_comes_back_within_1s", fun() ->
        eq(2, gen_server:call(C, incr, 5000)),
        Old = rpc:call(T, erlang, whereis, [counter], 5000),
        true = is_pid(Old),
        T0 = now_ms(),
        exit(Old, kill),
        wait_until(fun() -> case rpc:call(T, erlang, whereis, [counter], 5000) of
                                New when is_pid(New), New =/= Old -> true;
                                Other -> Other
                            end end, 1000, 20),
        Ms = now_ms() - T0,
        true_or_fail(Ms =< 1000, {slow_restart_ms, Ms}),
        eq(0, gen_server:call(C, get, 5000)),
        New = rpc:call(T, erlang, whereis, [counter], 5000),
        case supervisor:which_children(S) of
            [{counter, New, worker, _}] -> ok;
            Other -> fail({which_children_after_restart, Other, New})
        end end),
    check("sup_counter/five_kills_survive", fun() ->
        [begin
             Old = rpc:call(T, erlang, whereis, [counter], 5000),
             exit(Old, kill),
             wait_until(fun() -> case rpc:call(T, erlang, whereis, [counter], 5000) of
                                     New when is_pid(New), New =/= Old -> true;
                                     Other -> Other
                                 end end, 1000, 20)
         end || _ <- lists:seq(1, 4)],
        true_or_fail(is_pid(rpc:call(T, erlang, whereis, [demo_sup], 5000)), demo_sup_gone),
        eq(1, gen_server:call(C, incr, 5000)) end).

%% §9.5 rpc table. N3 is a third erl node not connected to T.
rpc(#{target := T, third := N3, missing := Missing}) ->
    Me = node(),
    check("rpc/ping", fun() -> wait_pong(T) end),
    check("rpc/node", fun() -> eq(T, rpc:call(T, erlang, node, [], 5000)) end),
    check("rpc/is_alive", fun() -> eq(true, rpc:call(T, erlang, is_alive, [], 5000)) end),
    check("rpc/nodes", fun() ->
        true_or_fail(lists:member(Me, rpc:call(T, erlang, nodes, [], 5000)), nodes),
        [true_or_fail(is_list(rpc:call(T, erlang, nodes, [K], 5000)), K) || K <- [visible, hidden, connected]], ok end),
    check("rpc/whereis", fun() ->
        S = rpc:call(T, erlang, whereis, [server], 5000), C = rpc:call(T, erlang, whereis, [counter], 5000),
        true_or_fail(is_pid(S) andalso is_pid(C) andalso S =/= C andalso node(S) =:= T, {S, C}),
        eq(undefined, rpc:call(T, erlang, whereis, [no_such_name], 5000)) end),
    check("rpc/connect_node_self_caller_true", fun() -> eq(true, rpc:call(T, net_kernel, connect_node, [Me], 12000)) end),
    check("rpc/connect_node_missing_false_within_12s", fun() ->
        eq(false, rpc:call(T, net_kernel, connect_node, [Missing], 13000)) end, 14000),
    check("rpc/spawn_local", fun() ->
        P = rpc:call(T, erlang, spawn, [T, s, send_node, [self()]], 5000),
        true_or_fail(is_pid(P) andalso node(P) =:= T, P),
        receive T -> ok after 5000 -> fail(no_node) end end),
    check("rpc/spawn_on_caller", fun() ->
        P = rpc:call(T, erlang, spawn, [Me, erlang, send, [self(), hello]], 5000),
        true_or_fail(is_pid(P) andalso node(P) =:= Me, P),
        receive hello -> ok after 5000 -> fail(no_hello) end end),
    check("rpc/spawn_on_third_node", fun() ->
        eq(false, lists:member(N3, rpc:call(T, erlang, nodes, [connected], 5000))),
        P = rpc:call(T, erlang, spawn, [N3, erlang, send, [self(), hello3]], 15000),
        true_or_fail(is_pid(P) andalso node(P) =:= N3, P),
        receive hello3 -> ok after 10000 -> fail(no_hello3) end end),
    [check("rpc/badrpc_" ++ L, fun() ->
        T0 = now_ms(),
        R = rpc:call(T, M, F, A, 10000),
        true_or_fail(element(1, R) =:= badrpc andalso now_ms() - T0 < 5000, {R, now_ms() - T0, ms}) end)
     || {L, M, F, A} <- [{"unknown_module", no_such_module, f, []}, {"unknown_function", erlang, no_such_fun, [1]},
                          {"unknown_s_function", s, nope, []}, {"badarg", erlang, whereis, ["not an atom"]}]],
    check("rpc/still_serving", fun() -> eq(T, rpc:call(T, erlang, node, [], 5000)), rt(T, after_rpc) end).

%% §13 sink.
sink(#{target := T}) ->
    S = {sink, T},
    check("sink/ping", fun() -> wait_pong(T) end),
    check("sink/idle_drops_garbage", fun() ->
        [S ! M || M <- [foo, {count, -1, self()}, {count, x, self()}, {count, 1, notapid}]],
        S ! {count, 0, self()},
        receive M -> eq({done, 0}, M) after 5000 -> fail(no_done) end end),
    check("sink/count_1000_any_form", fun() ->
        S ! {count, 1000, self()},
        [S ! case I of 500 -> {count, 5, self()}; _ -> {msg, I} end || I <- lists:seq(1, 1000)],
        receive M -> eq({done, 1000}, M) after 10000 -> fail(no_done) end,
        recv_nothing(300, extra) end),
    check("sink/count_100000", fun() ->
        S ! {count, 100000, self()}, [S ! I || I <- lists:seq(1, 100000)],
        receive M -> eq({done, 100000}, M) after 60000 -> fail(no_done) end end, 90000),
    check("sink/idle_again", fun() -> S ! {count, 0, self()},
        receive M -> eq({done, 0}, M) after 5000 -> fail(no_done) end end).

%% §11 long names, from a long-name suite node.
longname(#{target := T} = O) ->
    P = maps:get(prefix, O, "long"),
    check(P ++ "/ping", fun() -> wait_pong(T) end),
    check(P ++ "/server_hi", fun() -> {server, T} ! {hi, self()}, receive hi -> ok after 5000 -> fail(no_hi) end end),
    check(P ++ "/rpc_node", fun() -> eq(T, rpc:call(T, erlang, node, [], 5000)) end),
    check(P ++ "/pid_node_is_long_name", fun() -> eq(T, node(rpc:call(T, erlang, whereis, [server], 5000))) end),
    check(P ++ "/spawn_send_node", fun() -> spawn(T, s, send_node, [self()]),
        receive T -> ok after 5000 -> fail(no_node) end end).

%% §16: the target connects out to a node it has not met (Other), when asked through rpc.
connect_out(#{target := T, other := Other}) ->
    P = "connect_out",
    check(P ++ "/ping", fun() -> wait_pong(T) end),
    check(P ++ "/not_yet_connected", fun() ->
        eq(false, lists:member(Other, rpc:call(T, erlang, nodes, [], 5000))) end),
    check(P ++ "/connect_node_true", fun() -> eq(true, rpc:call(T, net_kernel, connect_node, [Other], 20000)) end, 25000),
    check(P ++ "/target_lists_other", fun() -> eq(true, lists:member(Other, rpc:call(T, erlang, nodes, [], 5000))) end),
    check(P ++ "/other_lists_target", fun() -> eq(true, lists:member(T, rpc:call(Other, erlang, nodes, [], 5000))) end).

%% §16: the distribution connection to the target runs over IPv6 (net_kernel's address record, family inet6).
dist_family(#{target := T, family := F}) ->
    check("dist_family/" ++ atom_to_list(F), fun() ->
        {ok, Info} = net_kernel:node_info(T),
        eq(F, element(5, proplists:get_value(address, Info))) end).

%% §11 from a short-name node: must not end up connected however it spells the name.
shortname_vs_long(#{names := Names}) ->
    [check("short_vs_long/pang_" ++ atom_to_list(N), fun() ->
        eq(pang, net_adm:ping(N)),
        eq(false, net_kernel:connect_node(N)),
        eq([], [X || X <- nodes(connected), lists:prefix(hd(string:split(atom_to_list(N), "@")), atom_to_list(X))])
     end, 30000) || N <- Names].

%% §4.3: the target connects to a raw fake node (driven by the Swift side): three attempts.
initiate(#{target := T, fake := F}) ->
    check("initiate/ping", fun() -> wait_pong(T) end),
    check("initiate/wrong_name_in_challenge_false", fun() ->
        eq(false, rpc:call(T, net_kernel, connect_node, [F], 20000)),
        eq(false, lists:member(F, rpc:call(T, erlang, nodes, [connected], 5000))) end, 25000),
    sync(attempt2),
    check("initiate/wrong_ack_digest_false", fun() ->
        eq(false, rpc:call(T, net_kernel, connect_node, [F], 20000)),
        eq(false, lists:member(F, rpc:call(T, erlang, nodes, [connected], 5000))) end, 25000),
    sync(attempt3),
    check("initiate/correct_handshake_true", fun() ->
        eq(true, rpc:call(T, net_kernel, connect_node, [F], 20000)),
        eq(true, lists:member(F, rpc:call(T, erlang, nodes, [connected], 5000))) end, 25000),
    check("initiate/still_serving", fun() -> rt(T, after_initiate) end).

%% §5 ticks: an idle hidden connection for 85 s.
idle(#{target := T, seconds := S}) ->
    check_here("idle/ping", fun() -> wait_pong(T) end),
    net_kernel:monitor_nodes(true, [{node_type, all}]),
    flush(),
    check_here("idle/no_nodedown_while_idle", fun() ->
        receive {nodedown, T, _} = M -> fail(M) after S * 1000 -> ok end end),
    check_here("idle/still_connected", fun() -> eq(true, lists:member(T, nodes(connected))) end),
    check_here("idle/server_answers", fun() -> rt(T, after_idle) end).
"""#
}
