#!/usr/bin/env bash
# Extra fault test: does T keep serving its peers while one of its own processes sends without pause?
#
#   scripts/fault/local-flood.sh [--count N]        (default 10^9: the flood outlasts the test; it is killed)
#
# A hidden erl node H makes T run spawn(T, s, flood, [sink, N, 1]) (s:flood to a local registered name; T's
# `sink` drops what it gets while idle), then asks T, while the flood runs: rpc:call(T, erlang, node, []) three
# times (5 s timeout each), net_adm:ping (bounded to 5 s), and an echo through `server`. BEAM would preempt the
# flooding process and answer at once. T's RSS is sampled throughout. PASS iff every rpc, the ping and the
# echo are answered within their 5 s. Afterwards the flood is killed and the time until T answers again is reported.
FAULT_NAME=local-flood
source "$(dirname "$0")/lib.sh"

COUNT=1000000000
while [ $# -gt 0 ]; do
    case $1 in
        --count) COUNT=$2; shift 2 ;;
        *) echo "usage: $0 [--count N]" >&2; exit 2 ;;
    esac
done
fault_init local-flood

start_epmd
T=t_$TAG; TN=$T@$HOST_S
start_target T_PID "$FAULT_TMP/t.log" "" --sname "$T"
wait_registered "$T" "" 60 || die "erlang-node did not register in 60 s: $(tail -5 "$FAULT_TMP/t.log")"
rss0=$(rss_kb "$T_PID")
start_erl H_PID "$FAULT_TMP/h.log" "" -sname "h_$TAG" 60 "fault_lab:starve_probe(\"$TN\", $COUNT)" -hidden
peak=$rss0; d=$(( $(now_ms) + 90000 ))
while [ "$(now_ms)" -lt "$d" ] && ! grep -qE ' (NOT_)?RECOVERED ' "$FAULT_TMP/h.log"; do
    r=$(rss_kb "$T_PID"); [ -n "$r" ] && [ "$r" -gt "$peak" ] && peak=$r
    kill -0 "$H_PID" 2>/dev/null || break
    sleep 0.2
done
field() { grep -E " $1 " "$FAULT_TMP/h.log" | awk '{ printf "%s%s in %s ms", sep, $4, $5; sep = "; " }'; }
echo "local-flood (s:flood(sink, $COUNT, 1) running on T):"
echo "  rpc before the flood: $(field RPC_BEFORE)"
echo "  during the flood: rpc erlang:node(): $(field RPC_DURING)"
echo "                    net_adm:ping: $(field PING_DURING); server echo: $(field ECHO_DURING)"
echo "  after the flood was killed: $(grep -E ' (NOT_)?RECOVERED ' "$FAULT_TMP/h.log" | awk '{ print ($2 == "RECOVERED" ? "T answered again after " $4 " ms" : "T still did not answer " $4 " ms later") }')"
echo "  T RSS ${rss0} kB before, ${peak} kB peak during the probe (+$(( (peak - rss0) / 1024 )) MB)"
ok_rpc=$(grep -E ' RPC_DURING ' "$FAULT_TMP/h.log" | grep -c "$TN")
ok_ping=$(grep -cE ' PING_DURING [0-9]+ pong ' "$FAULT_TMP/h.log")
ok_echo=$(grep -cE ' ECHO_DURING [0-9]+ ok ' "$FAULT_TMP/h.log")
msg="during a local flood: rpc answered $ok_rpc/3, ping $([ "$ok_ping" = 1 ] && echo pong || echo 'no answer in 5 s'), echo $([ "$ok_echo" = 1 ] && echo ok || echo 'no answer in 5 s'); RSS +$(( (peak - rss0) / 1024 )) MB"
if [ "$ok_rpc" = 3 ] && [ "$ok_ping" = 1 ] && [ "$ok_echo" = 1 ]; then echo "PASS local-flood: $msg"; exit 0
else echo "FAIL local-flood: $msg"; exit 1; fi
