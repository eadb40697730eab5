#!/usr/bin/env escript
%% Writes the control-message fixtures used by ErlangDistributionTests, produced by the real OTP running this script.
%% Usage: escript scripts/dist-control-fixtures.escript OUTPUT_FILE
%% One line per fixture: NAME HEX, HEX = term_to_binary(ControlTuple, [{minor_version, 2}]) in lowercase hex (UTF-8
%% atoms, as OTP 25 encodes terms for a peer with DFLAG_UTF8_ATOMS). The tuples have the shapes
%% OTP's dist.c builds (operation code first as a small integer, '' in the Unused fields), with pids and references
%% of fixed node names, ids and creations (as a node with V4_NC sends them: NEW_PID_EXT, NEWER_REFERENCE_EXT with 3
%% words as OTP 25 makes them and 5 words as OTP 26+ aliases have), so the output is the same on every run.
-mode(interpret).

main([Out]) ->
    Lines = [[Name, " ", hex(term_to_binary(Tuple, [{minor_version, 2}]))] || {Name, Tuple} <- fixtures()],
    ok = file:write_file(Out, [[L, $\n] || L <- Lines]),
    io:format("wrote ~b fixtures to ~s~n", [length(Lines), Out]).

hex(B) -> string:lowercase(binary:encode_hex(B)).

pid(Node, Id, Serial, Creation) ->
    N = atom_to_binary(Node, utf8),
    binary_to_term(<<131, 88, 119, (byte_size(N)), N/binary, Id:32, Serial:32, Creation:32>>).
ref(Node, Creation, Ids) ->
    N = atom_to_binary(Node, utf8),
    binary_to_term(<<131, 90, (length(Ids)):16, 119, (byte_size(N)), N/binary, Creation:32,
                     (<< <<I:32>> || I <- Ids >>)/binary>>).

fixtures() ->
    %% Peer: an OTP node; Local: the Swift node.
    Peer = pid('otp@localhost', 85, 0, 1690000000),
    PeerGL = pid('otp@localhost', 66, 0, 1690000000),
    Local = pid('swift@localhost', 1, 0, 1700000001),
    Wide = pid('swift@localhost', 4000000000, 4294967295, 1700000001),
    Ref3 = ref('otp@localhost', 1690000000, [178642, 2816474129, 1045677231]),
    Ref5 = ref('otp@localhost', 1690000000, [9, 3915837953, 2361065991, 1418326535, 4083249285]),
    Token = {8, label, 3, Peer, 2},
    Reason = {badarg, [{lists, nth, 2, [{file, "lists.erl"}, {line, 170}]}]},
    [{"link", {1, Peer, Local}},
     {"send", {2, '', Local}},
     {"exit", {3, Peer, Local, Reason}},
     {"unlink", {4, Peer, Local}},
     {"node_link", {5}},
     {"reg_send", {6, Peer, '', rex}},
     {"group_leader", {7, PeerGL, Local}},
     {"exit2", {8, Peer, Wide, kill}},
     {"send_tt", {12, '', Local, Token}},
     {"exit_tt", {13, Peer, Local, Token, normal}},
     {"reg_send_tt", {16, Peer, '', server, Token}},
     {"exit2_tt", {18, Peer, Local, Token, shutdown}},
     {"monitor_p", {19, Peer, Local, Ref3}},
     {"monitor_p_name", {19, Peer, counter, Ref3}},
     {"demonitor_p", {20, Peer, Local, Ref3}},
     {"demonitor_p_name", {20, Peer, counter, Ref5}},
     {"monitor_p_exit", {21, Local, Peer, Ref3, noproc}},
     {"monitor_p_exit_name", {21, counter, Peer, Ref3, Reason}},
     {"send_sender", {22, Peer, Local}},
     {"send_sender_tt", {23, Peer, Local, Token}},
     {"payload_exit", {24, Peer, Local}},
     {"payload_exit_tt", {25, Peer, Local, Token}},
     {"payload_exit2", {26, Peer, Local}},
     {"payload_exit2_tt", {27, Peer, Local, Token}},
     {"payload_monitor_p_exit", {28, Local, Peer, Ref3}},
     {"payload_monitor_p_exit_name", {28, counter, Peer, Ref5}},
     {"spawn_request", {29, Ref3, Peer, PeerGL, {erpc, execute_call, 4}, [monitor]}},
     {"spawn_request_tt", {30, Ref3, Peer, PeerGL, {s, echo, 0}, [link, {reply, error_only}], Token}},
     {"spawn_reply", {31, Ref3, Peer, 2, Local}},
     {"spawn_reply_error", {31, Ref3, Peer, 0, badopt}},
     {"spawn_reply_tt", {32, Ref3, Peer, 3, Local, Token}},
     {"alias_send", {33, Peer, Ref5}},
     {"alias_send_tt", {34, Peer, Ref3, Token}},
     {"unlink_id", {35, 1, Peer, Local}},
     {"unlink_id_ack", {36, 1, Local, Peer}},
     {"unlink_id_max", {35, 18446744073709551615, Peer, Local}}].
