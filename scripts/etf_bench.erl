%% OTP's side of the ETF benchmark: times binary_to_term/1 and term_to_binary/1 on the corpus files the Swift side
%% wrote, with the same method (batches calibrated to ~0.2 s, median of 5 batches), and prints one line per item:
%%   NAME DECODE_OPS_PER_S ENCODE_OPS_PER_S
-module(etf_bench).
-export([main/1]).

main([Dir]) ->
    {ok, Files} = file:list_dir(Dir),
    lists:foreach(
      fun(F) ->
              {ok, B} = file:read_file(filename:join(Dir, F)),
              T = binary_to_term(B),
              Dec = rate(fun(N) -> dec(B, N) end),
              Enc = rate(fun(N) -> enc(T, N) end),
              io:format("~s ~.1f ~.1f~n", [filename:rootname(F), Dec, Enc])
      end, lists:sort([F || F <- Files, filename:extension(F) =:= ".etf"])),
    halt(0).

dec(_, 0) -> ok;
dec(B, N) -> _ = binary_to_term(B), dec(B, N - 1).
enc(_, 0) -> ok;
enc(T, N) -> _ = term_to_binary(T, [{minor_version, 2}]), enc(T, N - 1).

rate(F) ->
    N = calibrate(F, 1),
    Rates = [begin
                 {Us, ok} = timer:tc(fun() -> F(N) end),
                 N / (max(Us, 1) / 1.0e6)
             end || _ <- lists:seq(1, 5)],
    lists:nth(3, lists:sort(Rates)).

calibrate(F, N) ->
    {Us, ok} = timer:tc(fun() -> F(N) end),
    case Us >= 200000 orelse N >= 1 bsl 30 of
        true -> N;
        false -> calibrate(F, N * 2)
    end.
