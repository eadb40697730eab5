#!/usr/bin/env escript
%% Writes the External Term Format fixtures used by ErlangTermTests, produced by the real OTP running this script.
%% Usage: escript scripts/etf-fixtures.escript OUTPUT_FILE
%% Lines (fields separated by one space, binaries in lowercase hex):
%%   roundtrip NAME HEX              HEX = term_to_binary(T, [{minor_version, 2}]); decode + encode must give HEX
%%   canonical NAME INPUT CANONICAL  legacy or unusual INPUT; binary_to_term then term_to_binary(.., mv 2) = CANONICAL
%%   compressed NAME INPUT CANONICAL INPUT = term_to_binary(T, [compressed]); decoding it gives T (CANONICAL)
%%   reject NAME INPUT               binary_to_term(INPUT) raises badarg
%%   compare NAME A B LT GT EQ EXACT erlang:'<'(A,B), erlang:'<'(B,A), A == B, A =:= B (as 0/1)
-mode(interpret).

main([Out]) ->
    rand:seed(exsss, {20261124, 42, 7}),
    Lines = lists:append([roundtrips(), canonicals(), compressed(), rejects(), compares()]),
    ok = file:write_file(Out, [[L, $\n] || L <- Lines]),
    io:format("wrote ~b fixtures to ~s~n", [length(Lines), Out]).

hex(B) -> string:lowercase(binary:encode_hex(B)).
enc(T) -> term_to_binary(T, [{minor_version, 2}]).

pid(Node, Id, Serial, Creation) ->
    N = atom_to_binary(Node, utf8),
    binary_to_term(<<131, 88, 119, (byte_size(N)), N/binary, Id:32, Serial:32, Creation:32>>).
port(Node, Id, Creation) ->
    N = atom_to_binary(Node, utf8),
    binary_to_term(<<131, 89, 119, (byte_size(N)), N/binary, Id:32, Creation:32>>).
v4port(Node, Id, Creation) ->
    N = atom_to_binary(Node, utf8),
    binary_to_term(<<131, 120, 119, (byte_size(N)), N/binary, Id:64, Creation:32>>).
ref(Node, Creation, Ids) ->
    N = atom_to_binary(Node, utf8),
    binary_to_term(<<131, 90, (length(Ids)):16, 119, (byte_size(N)), N/binary, Creation:32,
                     (<< <<I:32>> || I <- Ids >>)/binary>>).

float_ext(F) ->
    S = list_to_binary(float_to_list(F, [{scientific, 20}])),
    <<131, 99, S/binary, (binary:copy(<<0>>, 31 - byte_size(S)))/binary>>.

nest(0, Acc) -> Acc;
nest(N, Acc) when N rem 2 == 0 -> nest(N - 1, [Acc]);
nest(N, Acc) -> nest(N - 1, {N, Acc}).

named_terms() ->
    Y = 42,
    [{"small_int_0", 0}, {"small_int_255", 255}, {"int_256", 256}, {"int_minus_1", -1},
     {"int32_max", 2147483647}, {"int32_min", -2147483648},
     {"big_2_31", 2147483648}, {"big_minus_2_31_minus_1", -2147483649},
     {"big_int64_max", 9223372036854775807}, {"big_int64_min", -9223372036854775808},
     {"big_2_63", 9223372036854775808}, {"big_2_64", 18446744073709551616},
     {"big_minus_2_64", -18446744073709551616},
     {"big_255_bytes", (1 bsl 2040) - 1}, {"large_big_256_bytes", 1 bsl 2040},
     {"large_big_neg", -(1 bsl 5000) + 12345},
     {"big_100_digits", list_to_integer(lists:duplicate(100, $7))},
     {"big_10000_bits", (1 bsl 10000) + 987654321},
     {"float_zero", 0.0}, {"float_neg_zero", -0.0}, {"float_one", 1.0}, {"float_pi", 3.141592653589793},
     {"float_neg", -2.5e-10}, {"float_max", 1.7976931348623157e308}, {"float_min_normal", 2.2250738585072014e-308},
     {"float_subnormal", 5.0e-324}, {"float_subnormal_2", 1.0e-310},
     {"atom_empty", ''}, {"atom_a", a}, {"atom_true", true}, {"atom_quoted", 'hello world'},
     {"atom_255_ascii", list_to_atom(lists:duplicate(255, $x))},
     {"atom_255_latin1", list_to_atom(lists:duplicate(255, 16#E4))},
     {"atom_255_emoji", list_to_atom(lists:duplicate(255, 16#1F600))},
     {"atom_unicode_mix", list_to_atom([$a, 16#3B1, 16#4E2D, 16#1F600])},
     {"tuple_empty", {}}, {"tuple_1", {1}}, {"tuple_ok", {ok, <<"x">>}},
     {"tuple_255", list_to_tuple(lists:seq(1, 255))}, {"tuple_256", list_to_tuple(lists:seq(1, 256))},
     {"nil", []}, {"string_abc", "abc"}, {"list_256", [256]}, {"list_mixed", [1, a, <<"b">>, 2.0]},
     {"string_65535", lists:duplicate(65535, $z)}, {"list_65536", lists:duplicate(65536, 1)},
     {"improper_1", [1 | 2]}, {"improper_2", [a, b | c]}, {"improper_nil_tail_binary", [1 | <<>>]},
     {"list_of_lists", [[], [[]], "", [[1]]]}, {"unicode_charlist", [16#3B1, 16#1F600]},
     {"list_1000_ints", lists:seq(1, 1000)},
     {"binary_empty", <<>>}, {"binary_3", <<1, 2, 3>>}, {"binary_1000", list_to_binary([X rem 256 || X <- lists:seq(1, 1000)])},
     {"bits_1", <<1:1>>}, {"bits_255_3_2", <<255, 3:2>>}, {"bits_zero_7", <<0:7>>}, {"bits_long", <<(binary:copy(<<"ab">>, 300))/binary, 5:3>>},
     {"map_empty", #{}}, {"map_one", #{a => 1}}, {"map_int_float_keys", #{1 => a, 1.0 => b}},
     {"map_mixed_keys", #{<<"b">> => 1, a => 2, 3 => 3, {x} => 4, [1] => 5, -0.0 => 6}},
     {"map_32", maps:from_list([{K, K * 2} || K <- lists:seq(1, 32)])},
     {"map_33_hash", maps:from_list([{K, K * 2} || K <- lists:seq(1, 33)])},
     {"map_100_binary_keys", maps:from_list([{integer_to_binary(K), K} || K <- lists:seq(1, 100)])},
     {"map_nested", #{a => #{b => #{c => [1, 2, #{}]}}}},
     {"elixir_struct", #{'__struct__' => 'Elixir.MapSet', map => #{1 => [], 2 => []}, version => 2}},
     {"pid_v4", pid('a@host', 16#FFFFFFFF, 16#FFFFFFFF, 16#FFFFFFFF)},
     {"pid_small", pid('nonode@nohost', 1, 0, 0)}, {"pid_other", pid('b@h', 123, 4, 7)},
     {"port_small", port('a@host', 5, 2)}, {"port_v4", v4port('a@host', 16#123456789A, 3)},
     {"ref_3", ref('a@host', 9, [1, 2, 3])}, {"ref_5", ref('a@host', 16#FFFFFFFF, [1, 2, 3, 4, 5])},
     {"ref_1", ref('x@y', 1, [77])},
     {"export_fun", fun lists:map/2}, {"export_fun_unicode", fun 'mødule':'fün'/0},
     {"local_fun", fun(X) -> X + Y end},
     {"deep_500", nest(500, leaf)}, {"deep_list_300", lists:foldl(fun(_, A) -> [A] end, [], lists:seq(1, 300))},
     {"mixture", {[1, 2.5, -0.0, "str", <<"bin">>, <<3:2>>], #{k => {pid('a@h', 1, 2, 3), ref('a@h', 1, [1, 2, 3])}},
                  [a | b], (1 bsl 100), -(1 bsl 64), 'ünïcödé', {}}},
     {"list_200_pids", [pid('bench@host', N, 0, 1) || N <- lists:seq(1, 200)]},
     {"small_tuple_bench", {hi, 123}}].

roundtrips() ->
    [["roundtrip ", N, " ", hex(enc(T))] || {N, T} <- named_terms()].

canonicals() ->
    Inputs =
        [{"atom_ext_latin1", <<131, 100, 0, 3, "abc">>},
         {"small_atom_ext_latin1", <<131, 115, 2, 16#E4, 16#F6>>},
         {"atom_utf8_long_form_short", <<131, 118, 0, 2, "ok">>},
         {"float_ext_text", float_ext(3.14159)},
         {"float_ext_negative", float_ext(-1.5e-300)},
         {"pid_ext_old", <<131, 103, 100, 0, 3, "a@h", 0, 0, 0, 5, 0, 0, 0, 1, 3>>},
         {"port_ext_old", <<131, 102, 100, 0, 3, "a@h", 0, 0, 0, 9, 2>>},
         {"reference_ext_old", <<131, 101, 100, 0, 3, "a@h", 0, 0, 0, 9, 2>>},
         {"new_reference_ext", <<131, 114, 0, 3, 100, 0, 3, "a@h", 1, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3>>},
         {"new_port_ext", <<131, 89, 100, 0, 3, "a@h", 0, 0, 0, 9, 0, 0, 0, 2>>},
         {"v4_port_small_id", <<131, 120, 119, 3, "a@h", 0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0, 2>>},
         {"small_big_fits_small", <<131, 110, 1, 0, 5>>},
         {"small_big_fits_int32", <<131, 110, 4, 1, 0, 0, 0, 1>>},
         {"small_big_neg_zero", <<131, 110, 1, 1, 0>>},
         {"small_big_zero_bytes", <<131, 110, 0, 0>>},
         {"small_big_leading_zero_bytes", <<131, 110, 10, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0>>},
         {"integer_ext_small", <<131, 98, 0, 0, 0, 7>>},
         {"bit_binary_8_bits", <<131, 77, 0, 0, 0, 1, 8, 7>>},
         {"bit_binary_unmasked", <<131, 77, 0, 0, 0, 1, 1, 255>>},
         {"bit_binary_empty", <<131, 77, 0, 0, 0, 0, 0>>},
         {"list_ext_nested_tail", <<131, 108, 0, 0, 0, 1, 97, 1, 108, 0, 0, 0, 1, 97, 2, 106>>},
         {"list_ext_empty_with_tail", <<131, 108, 0, 0, 0, 0, 97, 5>>},
         {"list_ext_ints", <<131, 108, 0, 0, 0, 2, 97, 1, 97, 2, 106>>},
         {"string_empty", <<131, 107, 0, 0>>},
         {"large_tuple_small", <<131, 105, 0, 0, 0, 1, 97, 1>>},
         {"map_unsorted", <<131, 116, 0, 0, 0, 2, 119, 1, "b", 97, 1, 119, 1, "a", 97, 2>>},
         {"large_big_small", <<131, 111, 0, 0, 0, 1, 0, 200>>}],
    [begin
         Canon = enc(binary_to_term(B)),
         ["canonical ", N, " ", hex(B), " ", hex(Canon)]
     end || {N, B} <- Inputs].

compressed() ->
    Terms = [{"compressed_list", lists:duplicate(1000, hello)},
             {"compressed_binary", binary:copy(<<"abcdefgh">>, 500)},
             {"compressed_small", {a}}],
    [["compressed ", N, " ", hex(term_to_binary(T, [compressed, {minor_version, 2}])), " ", hex(enc(T))]
     || {N, T} <- Terms].

rejects() ->
    Inputs =
        [{"empty", <<>>}, {"version_only", <<131>>}, {"bad_version", <<130, 97, 1>>},
         {"unknown_tag", <<131, 255>>}, {"truncated_int", <<131, 98, 0, 0>>},
         {"truncated_binary", <<131, 109, 0, 0, 0, 10, 1, 2>>}, {"huge_list_count", <<131, 108, 255, 255, 255, 255, 106>>},
         {"huge_tuple_count", <<131, 105, 255, 255, 255, 255>>}, {"duplicate_map_key", <<131, 116, 0, 0, 0, 2, 97, 1, 97, 1, 97, 1, 97, 2>>},
         {"nan_float", <<131, 70, 127, 248, 0, 0, 0, 0, 0, 0>>}, {"inf_float", <<131, 70, 127, 240, 0, 0, 0, 0, 0, 0>>},
         {"invalid_utf8_atom", <<131, 119, 2, 16#C3, 16#28>>}, {"atom_256_chars", <<131, 118, 1, 0, (binary:copy(<<"a">>, 256))/binary>>},
         {"bit_binary_zero_bits", <<131, 77, 0, 0, 0, 1, 0, 1>>}, {"bit_binary_9_bits", <<131, 77, 0, 0, 0, 1, 9, 1>>},
         {"truncated_tuple", <<131, 104, 3, 97, 1>>},

         {"pid_node_not_atom", <<131, 88, 97, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0>>},
         {"atom_cache_ref_outside_dist", <<131, 82, 0>>},
         {"compressed_bad_size", <<131, 80, 0, 0, 0, 9, (zlib:compress(<<97, 1>>))/binary>>},
         {"compressed_garbage", <<131, 80, 0, 0, 0, 2, 1, 2, 3, 4>>}],
    [begin
         badarg = try binary_to_term(B) of
                      T -> io:format(standard_error, "~s was accepted: ~p~n", [N, T]), accepted
                  catch error:badarg -> badarg
                  end,
         ["reject ", N, " ", hex(B)]
     end || {N, B} <- Inputs].

%% Random terms for the order and equality pairs.
rnd_atom() -> element(rand:uniform(6), {a, b, aa, 'B', 'ä', ''}).
rnd_node() -> element(rand:uniform(3), {'a@h', 'b@h', 'a@i'}).
rnd_leaf() ->
    case rand:uniform(16) of
        1 -> rand:uniform(5) - 3;
        2 -> (rand:uniform(5) - 3) * 1.0;
        3 -> element(rand:uniform(4), {-0.0, 0.0, 0.5, -0.5});
        4 -> (1 bsl (60 + rand:uniform(8))) * (rand:uniform(3) - 2);
        5 -> float(1 bsl (60 + rand:uniform(8))) * (rand:uniform(3) - 2);
        6 -> rnd_atom();
        7 -> ref(rnd_node(), rand:uniform(2), [rand:uniform(2) - 1 || _ <- lists:seq(1, rand:uniform(5))]);
        8 -> pid(rnd_node(), rand:uniform(3), rand:uniform(2) - 1, rand:uniform(2));
        9 -> port(rnd_node(), rand:uniform(3), rand:uniform(2));
        10 -> list_to_binary([rand:uniform(3) - 1 || _ <- lists:seq(1, rand:uniform(3) - 1)]);
        11 -> <<(rand:uniform(4) - 1):(rand:uniform(10))>>;
        12 -> [];
        13 -> element(rand:uniform(2), {fun lists:map/2, fun lists:foldl/3});
        14 -> rand:uniform(1 bsl 40);
        15 -> "ab";
        16 -> rand:uniform(3) * 1.0
    end.
rnd_term(0) -> rnd_leaf();
rnd_term(D) ->
    case rand:uniform(6) of
        1 -> list_to_tuple([rnd_term(D - 1) || _ <- lists:seq(1, rand:uniform(3) - 1)]);
        2 -> [rnd_term(D - 1) || _ <- lists:seq(1, rand:uniform(3) - 1)];
        3 -> [rnd_term(D - 1) | rnd_leaf()];
        4 -> maps:from_list([{rnd_term(D - 1), rnd_term(D - 1)} || _ <- lists:seq(1, rand:uniform(3) - 1)]);
        _ -> rnd_leaf()
    end.

b(true) -> "1";
b(false) -> "0".

compares() ->
    Pairs = [begin
                 A = rnd_term(rand:uniform(3) - 1),
                 B = case rand:uniform(4) of 1 -> A; _ -> rnd_term(rand:uniform(3) - 1) end,
                 {A, B}
             end || _ <- lists:seq(1, 3000)],
    [["compare p", integer_to_list(I), " ", hex(enc(A)), " ", hex(enc(B)), " ",
      b(A < B), " ", b(B < A), " ", b(A == B), " ", b(A =:= B)]
     || {I, {A, B}} <- lists:zip(lists:seq(1, length(Pairs)), Pairs)].
