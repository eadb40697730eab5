#!/usr/bin/env bash
# Extra fault test: does T keep serving its peers while one of its own processes sends without pause?
#
#   scripts/fault/local-flood.sh [--count N] [--floods K]
#                                (defaults 10^9, so the floods outlast the test and are killed; K = number of CPUs)
#
# A hidden erl node H makes T run K x spawn(T, s, flood, [sink, N, 1]) (s:flood to a local registered name; T's
# `sink` drops what it gets while idle), then asks T, while the floods run: rpc:call(T, erlang, node, []) three
# times (5 s timeout each), net_adm:ping (bounded to 5 s), and an echo through `server`. BEAM would preempt the
# flooding processes and answer at once. A local send never makes s:flood wait, so each flood runs without ever
# suspending; with K >= the width of Swift's cooperative pool (the number of CPUs) no other process gets a thread.
# With K = 1 it depends on timing whether `sink` falls behind and stops suspending as well (on this 2-CPU machine:
# mostly when it was loaded by other work). Afterwards the floods are killed and H reports when T answers again.
# T's RSS is sampled throughout, and T is killed if it passes RSS_CAP_MB (default 1024; with K = 2 it grew by 1 GB
# in about 7 s). PASS iff every rpc, the ping and the echo are answered within their 5 s.
FAULT_NAME=local-flood
source "$(dirname "$0")/lib.sh"

COUNT=1000000000; FLOODS=$(nproc)
while [ $# -gt 0 ]; do
    case $1 in
        --count) COUNT=$2; shift 2 ;;
        --floods) FLOODS=$2; shift 2 ;;
        *) echo "usage: $0 [--count N] [--floods K]" >&2; exit 2 ;;
    esac
done
fault_init local-flood

start_epmd
T=t_$TAG; TN=$T@$HOST_S
start_target T_PID "$FAULT_TMP/t.log" "" --sname "$T"
wait_registered "$T" "" 60 || die "erlang-node did not register in 60 s: $(tail -5 "$FAULT_TMP/t.log")"
rss0=$(rss_kb "$T_PID")
start_erl H_PID "$FAULT_TMP/h.log" "" -sname "h_$TAG" 60 "fault_lab:starve_probe(\"$TN\", $COUNT, $FLOODS)" -hidden
# T's memory can run away (sink's mailbox): T is killed once its RSS passes RSS_CAP_MB (default 1024).
cap_kb=$(( ${RSS_CAP_MB:-1024} * 1024 )); capped=no
peak=$rss0; d=$(( $(now_ms) + 60000 ))
while [ "$(now_ms)" -lt "$d" ] && ! grep -qE ' (NOT_)?RECOVERED ' "$FAULT_TMP/h.log"; do
    r=$(rss_kb "$T_PID"); [ -n "$r" ] && [ "$r" -gt "$peak" ] && peak=$r
    if [ "$peak" -gt "$cap_kb" ]; then capped=yes; log "T's RSS passed ${RSS_CAP_MB:-1024} MB: killing it"; kill -KILL "$T_PID"; break; fi
    kill -0 "$H_PID" 2>/dev/null || break
    sleep 0.2
done
field() {
    local v; v=$(grep -E " $1 " "$FAULT_TMP/h.log" | awk '{ printf "%s%s in %s ms", sep, $4, $5; sep = "; " }')
    echo "${v:-(not reached)}"
}
echo "local-flood ($FLOODS x s:flood(sink, $COUNT, 1) running on T, $(nproc) CPUs):"
echo "  rpc before the flood: $(field RPC_BEFORE)"
echo "  during the flood: rpc erlang:node(): $(field RPC_DURING)"
echo "                    net_adm:ping: $(field PING_DURING); server echo: $(field ECHO_DURING)"
recovered=$(grep -E ' (NOT_)?RECOVERED ' "$FAULT_TMP/h.log" | awk '{ print ($2 == "RECOVERED" ? "T answered again after " $4 " ms" : "T still did not answer " $4 " ms later") }')
echo "  after the floods were killed: ${recovered:-(not reached)}"
echo "  T RSS ${rss0} kB before, ${peak} kB peak during the probe (+$(( (peak - rss0) / 1024 )) MB)$([ "$capped" = yes ] && echo "; T was killed at the ${RSS_CAP_MB:-1024} MB cap")"
ok_rpc=$(grep -E ' RPC_DURING ' "$FAULT_TMP/h.log" | grep -c "$TN")
ok_ping=$(grep -cE ' PING_DURING [0-9]+ pong ' "$FAULT_TMP/h.log")
ok_echo=$(grep -cE ' ECHO_DURING [0-9]+ ok ' "$FAULT_TMP/h.log")
msg="during a local flood: rpc answered $ok_rpc/3, ping $([ "$ok_ping" = 1 ] && echo pong || echo 'no answer in 5 s'), echo $([ "$ok_echo" = 1 ] && echo ok || echo 'no answer in 5 s'); RSS +$(( (peak - rss0) / 1024 )) MB"
if [ "$ok_rpc" = 3 ] && [ "$ok_ping" = 1 ] && [ "$ok_echo" = 1 ]; then echo "PASS local-flood: $msg"; exit 0
else echo "FAIL local-flood: $msg"; exit 1; fi
