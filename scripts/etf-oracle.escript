#!/usr/bin/env escript
%% Answers External Term Format questions with the real OTP, one line in, one line out (hex, lowercase):
%%   "enc HEX"       -> hex of term_to_binary(binary_to_term(HEX), [{minor_version, 2}])   ("error" if badarg)
%%   "cmp HEX1 HEX2" -> "LT GT EQ EXACT" as 0/1 for A < B, B < A, A == B, A =:= B
-mode(interpret).

main(_) ->
    loop().

loop() ->
    case io:get_line("") of
        eof -> ok;
        Line ->
            io:put_chars([answer(string:lexemes(string:trim(Line), " ")), $\n]),
            loop()
    end.

unhex(H) -> binary:decode_hex(list_to_binary(H)).
hex(B) -> string:lowercase(binary:encode_hex(B)).
b(true) -> "1";
b(false) -> "0".

answer(["enc", H]) ->
    try hex(term_to_binary(binary_to_term(unhex(H)), [{minor_version, 2}]))
    catch error:badarg -> "error"
    end;
answer(["cmp", H1, H2]) ->
    A = binary_to_term(unhex(H1)),
    B = binary_to_term(unhex(H2)),
    lists:join(" ", [b(A < B), b(B < A), b(A == B), b(A =:= B)]).
