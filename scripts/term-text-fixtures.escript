#!/usr/bin/env escript
%% -*- coding: utf-8 -*-
%% Writes the term-text fixtures of Tests/ErlangTermTests/Fixtures/term-text-otp25.txt: one line per term,
%%   NAME ETF_HEX P_HEX P0_HEX TP0_HEX
%% with the term's term_to_binary and the UTF-8 of io_lib:format("~p"), ("~0p") and ("~0tp"), in hex.
%% Deterministic: random terms come from a fixed seed. Usage: term-text-fixtures.escript OUT
-mode(compile).

main([Out]) ->
    rand:seed(exsss, {2026, 7, 2}),
    Terms = edge_terms() ++ [{"random" ++ integer_to_list(I), random_term(4)} || I <- lists:seq(1, 1500)]
        ++ [{"randfloat" ++ integer_to_list(I), random_float()} || I <- lists:seq(1, 1000)],
    Lines = [line(Name, T) || {Name, T} <- Terms],
    ok = file:write_file(Out, Lines).

hex(B) -> string:lowercase(binary:encode_hex(B)).
text(Format, T) -> hex(unicode:characters_to_binary(io_lib:format(Format, [T]))).

line(Name, T) ->
    [Name, " ", hex(term_to_binary(T, [{minor_version, 2}])), " ", text("~p", T), " ", text("~0p", T), " ",
     text("~0tp", T), "\n"].

edge_terms() ->
    Ints = [0, 1, -1, 255, 256, -256, 1 bsl 27, -(1 bsl 27), 1 bsl 31, -(1 bsl 31) - 1, (1 bsl 63) - 1, -(1 bsl 63),
            1 bsl 63, -(1 bsl 63) - 1, 1 bsl 64, 1 bsl 200, -(1 bsl 200) + 7, 1 bsl 2040],
    Floats = [0.0, -0.0, 1.0, -1.0, 0.1, 0.5, 1.5, 100.0, 1000.0, 1.0e10, 1.0e15, 1.0e16, 1.0e20, 1.0e21, 1.0e22,
              123456789012345680.0, 9007199254740992.0, 9007199254740991.0, 4503599627370496.5, 1.0e-4, 1.0e-5,
              0.001, 5.0e-324, 2.2250738585072014e-308, 1.7976931348623157e308, 12345.678, 1.0e-10, 2.5e-7,
              3.141592653589793, -2.718281828459045, 1.0e100, 123.456e30, 0.000123, 1.0e-3, 9.999999999999999e22],
    Atoms = [a, ok, 'Hello', 'a b', 'it\'s', '', 'a\nb', 'back\\slash', 'fun', 'when', 'maybe', 'else', 'cond', 'let',
             aB@1_, 'Éa', 'éa', 'ßx', 'a÷', 'a×', 'ünïcödé', 'a☃b', '😀', 'node@host', 'node@127.0.0.1', '_x', '9',
             list_to_atom([1, 7, 8, 9, 10, 11, 12, 13, 26, 27, 31, 127, 128, 159, 160, 173, 255, 256]),
             list_to_atom(lists:duplicate(255, $x)), list_to_atom(lists:duplicate(255, 16#1F600)), 'true', 'false',
             '"quoted"', 'a.b', 'a-b', 'ok@', '@'],
    Strings = ["abc", "a\nb\"c\\", [8, 9, 10, 11, 12, 13, 27], [7], [127], [160, 255], [256], [$a, 200],
               [0], " ", "\x{1F600}", "héllo", "'single'", lists:seq(32, 126), lists:seq(160, 255),
               lists:duplicate(300, $x), [$a | b], "abc" ++ [a], ["abc" | "def"]],
    Bins = [<<>>, <<"abc">>, <<"üx"/utf8>>, <<"ä">>, <<1, 2, 3>>, <<0>>, <<255>>, <<"\e\v\b\f\r\t\n\"\\">>,
            <<"\d">>, <<"\x{1F600}"/utf8>>, <<"a", 200>>, <<16#C4, 16#A0, 16#E4>>, <<"é"/utf8, 228>>,
            <<"héllo wörld"/utf8>>, <<"日本"/utf8>>, <<"a", 1>>, list_to_binary(lists:seq(0, 255)),
            <<5:3>>, <<"abc", 5:3>>, <<"abc", 1:1>>, <<255, 127:7>>, <<0:1>>, binary:copy(<<"0123456789">>, 30)],
    Containers = [{}, [], #{}, {a}, {a, b, c}, [[]], [[], []], {[], {}}, [a | b], [1, 2 | 3], [a, "b" | c],
                  [$a | <<"b">>], #{a => 1}, #{1 => 2, 1.0 => 3}, #{[] => {}}, #{<<"k">> => #{nested => [1, 2]}},
                  maps:from_list([{I, I * I} || I <- lists:seq(1, 40)]),
                  maps:from_list([{integer_to_binary(I), [I]} || I <- lists:seq(1, 33)]),
                  {'$gen_call', {self(), make_ref()}, {call, erlang, node, []}},
                  {ok, lists:seq(1, 60), #{a => "hello", <<"x">> => [a | b]}},
                  lists:foldl(fun(_, Acc) -> [Acc] end, [], lists:seq(1, 50)),
                  lists:foldl(fun(_, Acc) -> {Acc} end, x, lists:seq(1, 50))],
    Ids = [self(), list_to_pid("<0.0.0>"), list_to_pid("<0.85.7>"), make_ref(), make_ref(),
           fun lists:map/2, fun erlang:'+'/2, erlang:make_fun('Mod', 'Fun', 255), fun() -> ok end,
           fun(X) -> X end] ++ case erlang:ports() of [P | _] -> [P]; [] -> [] end,
    Named = fun(Prefix, L) -> [{Prefix ++ integer_to_list(I), T} || {I, T} <- lists:zip(lists:seq(1, length(L)), L)] end,
    Named("int", Ints) ++ Named("float", Floats) ++ Named("atom", Atoms) ++ Named("string", Strings)
        ++ Named("binary", Bins) ++ Named("container", Containers) ++ Named("id", Ids).

random_float() ->
    <<F/float>> = <<(rand:uniform(1 bsl 64) - 1):64>>,
    case F of
        _ when is_float(F) -> F
    end.

random_float_safe() ->
    try random_float() catch _:_ -> random_float_safe() end.

random_atom() ->
    element(rand:uniform(12), {ok, error, 'Quoted', 'a b', '', 'ünï', 'a☃', node@host, 'with\'quote', true, undefined, x}).

random_leaf() ->
    case rand:uniform(14) of
        1 -> rand:uniform(1000) - 500;
        2 -> rand:uniform(1 bsl 62) * (rand:uniform(2) * 2 - 3);
        3 -> rand:uniform(1 bsl 62) * (1 bsl rand:uniform(200));
        4 -> random_float_safe();
        5 -> element(rand:uniform(6), {0.0, 1.0, 0.1, 1.0e300, 2.5e-7, -1.5});
        6 -> random_atom();
        7 -> list_to_binary([rand:uniform(256) - 1 || _ <- lists:seq(1, rand:uniform(8) - 1)]);
        8 -> list_to_binary([31 + rand:uniform(95) || _ <- lists:seq(1, rand:uniform(12))]);
        9 -> [31 + rand:uniform(95) || _ <- lists:seq(1, rand:uniform(12))];
        10 -> [rand:uniform(300) - 1 || _ <- lists:seq(1, rand:uniform(5))];
        11 -> N = rand:uniform(20), <<(rand:uniform(1 bsl N) - 1):N>>;
        12 -> unicode:characters_to_binary([rand:uniform(400) + 31 || _ <- lists:seq(1, rand:uniform(6))]);
        13 -> [];
        _ -> self()
    end.

random_term(0) -> random_leaf();
random_term(D) ->
    case rand:uniform(8) of
        1 -> list_to_tuple([random_term(D - 1) || _ <- lists:seq(1, rand:uniform(4) - 1)]);
        2 -> [random_term(D - 1) || _ <- lists:seq(1, rand:uniform(4) - 1)];
        3 -> [random_term(D - 1) || _ <- lists:seq(1, rand:uniform(3))] ++ random_leaf_not_list();
        4 -> maps:from_list([{random_term(D - 1), random_term(D - 1)} || _ <- lists:seq(1, rand:uniform(4) - 1)]);
        _ -> random_leaf()
    end.

random_leaf_not_list() ->
    case random_leaf() of
        L when is_list(L) -> tail;
        T -> T
    end.
