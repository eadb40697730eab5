#!/usr/bin/env bash
# Fault test 4: CONTRACT §17.1 (flow control) from outside.
#
#   scripts/fault/flood.sh [--count N] [--size BYTES] [--stop S] [--wait S]    (defaults 1000000, 1024, 20, 180)
#
# erl Z registers `recv` and checks that {flood, I, Bin} arrive with I = 1..N in order; erl D runs
# spawn(T, s, flood, [{recv, Z}, N, Size]) on erlang-node T; as soon as Z has the first message it is SIGSTOPped for
# S seconds. T's RSS (/proc/PID/status VmRSS, sampled every 100 ms, plus VmHWM) is compared with its value before
# the flood; during the stop a fresh erl node Q pings T (first ping = a new connection) 5 times and makes one rpc.
# After SIGCONT all N messages must arrive, in order, within --wait seconds.
# PASS iff RSS growth during the stop < 64 MB, every ping from Q during the stop is pong (and its rpc answers), and
# Z gets all N in order.
FAULT_NAME=flood
source "$(dirname "$0")/lib.sh"

COUNT=1000000; SIZE=1024; STOP_S=20; WAIT=180; LIMIT_KB=$(( 64 * 1024 ))
while [ $# -gt 0 ]; do
    case $1 in
        --count) COUNT=$2; shift 2 ;;
        --size) SIZE=$2; shift 2 ;;
        --stop) STOP_S=$2; shift 2 ;;
        --wait) WAIT=$2; shift 2 ;;
        *) echo "usage: $0 [--count N] [--size BYTES] [--stop S] [--wait S]" >&2; exit 2 ;;
    esac
done
fault_init flood

start_epmd
T=t_$TAG; TN=$T@$HOST_S; ZN=z_$TAG@$HOST_S
start_target T_PID "$FAULT_TMP/t.log" "" --sname "$T"
wait_registered "$T" "" 60 || die "erlang-node did not register in 60 s: $(tail -5 "$FAULT_TMP/t.log")"
start_erl Z_PID "$FAULT_TMP/z.log" "" -sname "z_$TAG" 60 "fault_lab:flood_recv(\"$TN\", $COUNT, $SIZE)"
wait_line "$FAULT_TMP/z.log" "READY [0-9]+ .* pong" 30 >/dev/null || die "Z could not reach T: $(tail -5 "$FAULT_TMP/z.log")"

# Baseline: T idle, connected to Z.
sleep 1
rss0=$(rss_kb "$T_PID"); hwm0=$(hwm_kb "$T_PID")
log "T=$TN pid $T_PID: RSS before ${rss0} kB (VmHWM ${hwm0} kB)"

start_erl D_PID "$FAULT_TMP/d.log" "" -sname "d_$TAG" 60 "fault_lab:flood_start(\"$TN\", \"$ZN\", $COUNT, $SIZE)"
wait_line "$FAULT_TMP/d.log" ' SPAWNED ' 30 >/dev/null || die "D could not spawn the flood: $(tail -5 "$FAULT_TMP/d.log")"
wait_line "$FAULT_TMP/z.log" ' FIRST ' 30 >/dev/null || die "Z got no flood message: $(tail -5 "$FAULT_TMP/z.log")"
kill -STOP "$Z_PID"; FAULT_STOPPED+=("$Z_PID"); t_stop=$(now_ms)
log "Z stopped $(( t_stop - $(nth_field "$FAULT_TMP/d.log" ' SPAWNED ' 1 3) )) ms after the spawn"

peak=$rss0; q_started=0; samples=0
t_end=$(( t_stop + STOP_S * 1000 ))
while [ "$(now_ms)" -lt "$t_end" ]; do
    r=$(rss_kb "$T_PID"); [ -z "$r" ] && break
    samples=$((samples + 1)); [ "$r" -gt "$peak" ] && peak=$r
    if [ "$q_started" = 0 ] && [ $(( $(now_ms) - t_stop )) -ge 2000 ]; then
        start_erl Q_PID "$FAULT_TMP/q.log" "" -sname "q_$TAG" 60 "fault_lab:ping_loop(\"$TN\", 5, 2000)"
        q_started=1
    fi
    sleep 0.1
done
hwm1=$(hwm_kb "$T_PID"); rss_at_cont=$(rss_kb "$T_PID")
kill -CONT "$Z_PID"; t_cont=$(now_ms)
[ -n "$hwm1" ] && [ "$hwm1" -gt "$hwm0" ] && [ "$hwm1" -gt "$peak" ] && peak=$hwm1
growth=$(( peak - rss0 ))
log "Z resumed after $(( t_cont - t_stop )) ms; T RSS peak ${peak} kB (growth ${growth} kB, ${samples} samples), at resume ${rss_at_cont} kB"

# Pings and rpc from Q, all answered before the resume?
pings_ok=$(grep -E ' PING [0-9]+ [0-9]+ pong ' "$FAULT_TMP/q.log" | awk -v c="$t_cont" '$3 < c' | wc -l)
pings_all=$(grep -cE ' PING ' "$FAULT_TMP/q.log")
ping_lat=$(grep -E ' PING ' "$FAULT_TMP/q.log" | awk '{ printf "%s%s", sep, $6 " ms"; sep=", " }')
rpc_line=$(grep -E ' RPC ' "$FAULT_TMP/q.log" | head -1)
rpc_ok=no; [ -n "$rpc_line" ] && echo "$rpc_line" | grep -q "$TN" && [ "$(echo "$rpc_line" | awk '{ print $3 }')" -lt "$t_cont" ] && rpc_ok=yes

# All COUNT arrive in order.
done_line=$(wait_line "$FAULT_TMP/z.log" ' DONE ' "$WAIT")
t_done=$(echo "$done_line" | awk '{ print $3 }')
bad=$(echo "$done_line" | sed -n 's/.*bad=\([0-9]*\).*/\1/p')
got=$(grep -E ' PROGRESS ' "$FAULT_TMP/z.log" | tail -1 | awk '{ print $4 }')
flood_exit=$(grep ' FLOOD_EXIT ' "$FAULT_TMP/d.log" | cut -d' ' -f4-)
peak_after=$(hwm_kb "$T_PID")

echo "flood ($COUNT x $SIZE bytes, Z stopped ${STOP_S} s):"
echo "  T RSS before ${rss0} kB, peak during the stop ${peak} kB: growth $(( growth / 1024 )) MB (${growth} kB; limit $(( LIMIT_KB / 1024 )) MB)"
echo "  T VmHWM before ${hwm0} kB, at resume ${hwm1} kB, at the end ${peak_after} kB"
echo "  Q during the stop: ${pings_ok}/${pings_all} pings pong before the resume (latencies: ${ping_lat:-none}); rpc erlang:node(): ${rpc_ok} ($(echo "$rpc_line" | cut -d' ' -f4-))"
if [ -n "$t_done" ]; then
    echo "  all $COUNT arrived $(( t_done - t_cont )) ms after the resume, out of order/wrong size: ${bad}; flood process exit: ${flood_exit:-?}"
else
    echo "  NOT all arrived within ${WAIT} s of the resume (last progress: ${got:-none}); flood process exit: ${flood_exit:-still running}"
fi
grep -E ' BAD | STALL ' "$FAULT_TMP/z.log" | head -5 | sed 's/^/  /'
ok=1
[ "$growth" -lt "$LIMIT_KB" ] || ok=0
[ "$pings_ok" -ge 5 ] && [ "$rpc_ok" = yes ] || ok=0
[ -n "$t_done" ] && [ "$bad" = 0 ] || ok=0
msg="RSS growth $(( growth / 1024 )) MB (<64), pings during stop ${pings_ok}/5 pong, rpc ${rpc_ok}, delivered in order: $([ -n "$t_done" ] && echo "all $COUNT in $(( t_done - t_cont )) ms after SIGCONT, bad=$bad" || echo "no (${got:-0})")"
if [ "$ok" = 1 ]; then echo "PASS flood: $msg"; exit 0; else echo "FAIL flood: $msg"; exit 1; fi
