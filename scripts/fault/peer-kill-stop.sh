#!/usr/bin/env bash
# Fault test 1: a peer that dies (SIGKILL) or freezes (SIGSTOP), with net_ticktime 8 everywhere.
#
#   scripts/fault/peer-kill-stop.sh [--reps N] [--kill-reps N] [--ticktime S] [--settle MIN,MAX]
#
# Nodes (one private epmd, loopback): T = erlang-node (the node under test), R = an OTP node in T's place (same
# measurement, same run), P = an erl peer connected to both T and R, O = a hidden erl node polling T's
# erlang:nodes() over rpc every 50 ms (a second view of T, besides T's own "nodedown" log line).
#   (a) SIGKILL P: time from the kill to T's "nodedown P" (log line, timestamped as it is written), to P leaving
#       T's nodes() (seen by O), and to R's nodedown. PASS needs T < 2 s.
#   (b) SIGSTOP P (N repetitions, a random 0.3-2.3 s (--settle) after the connections came up): time from the
#       stop to T's and R's nodedown; P is resumed after both saw it and reconnects for the next repetition. OTP's bound: a peer
#       silent for net_ticktime T is declared down between 0.75 T and 1.25 T after it went silent
#       (MinT = T - T/4, MaxT = T + T/4 with tick intensity 4). PASS needs every T ratio in [0.75, 1.25]; a
#       repetition where T is late and R is late too (the host stalled every node) is skipped, and at least half
#       of them must count.
FAULT_NAME=peer-kill-stop
source "$(dirname "$0")/lib.sh"

SETTLE=0.3,2.3; REPS=5; KILL_REPS=1; TICK=8
while [ $# -gt 0 ]; do
    case $1 in
        --reps) REPS=$2; shift 2 ;;
        --kill-reps) KILL_REPS=$2; shift 2 ;;
        --ticktime) TICK=$2; shift 2 ;;
        --settle) SETTLE=$2; shift 2 ;;
        *) echo "usage: $0 [--reps N] [--kill-reps N] [--ticktime S] [--settle MIN,MAX]" >&2; exit 2 ;;
    esac
done
fault_init peer-kill-stop
TICK_MS=$(( TICK * 1000 ))
BOUND_MS=$(( TICK_MS * 5 / 4 ))
WAIT_S=$(( TICK * 3 + 10 ))

start_epmd
T=t_$TAG; TN=$T@$HOST_S
R=r_$TAG; RN=$R@$HOST_S
start_target T_PID "$FAULT_TMP/t.log" "" --sname "$T" --net-ticktime "$TICK"
wait_registered "$T" "" 60 || die "erlang-node did not register in 60 s: $(tail -5 "$FAULT_TMP/t.log")"
start_erl R_PID "$FAULT_TMP/r.log" "" -sname "$R" "$TICK" 'fault_lab:node_main([])'
wait_line "$FAULT_TMP/r.log" '^[0-9]+ READY' 30 >/dev/null || die "R did not start: $(tail -5 "$FAULT_TMP/r.log")"
start_erl O_PID "$FAULT_TMP/o.log" "" -sname "o_$TAG" "$TICK" "fault_lab:poll_nodes(\"$TN\", 50)" -hidden
wait_line "$FAULT_TMP/o.log" "TNODES [0-9]+ [0-9]+ \[" 30 >/dev/null || die "O cannot reach T: $(tail -5 "$FAULT_TMP/o.log")"
log "T=$TN (pid $T_PID) R=$RN (pid $R_PID) O polling T"

fails=0
declare -a ROWS
kill_summary=""

# wait_both_up PEER N: T and R have each logged the N-th nodeup of PEER.
wait_both_up() {
    wait_line "$FAULT_TMP/t.log" "nodeup $1@" 30 "$2" >/dev/null || return 1
    wait_line "$FAULT_TMP/r.log" "EV [0-9]+ nodeup $1@" 30 "$2" >/dev/null || return 1
    # ... and T's nodes() (polled by O) lists it.
    local d=$(( $(now_ms) + 10000 ))
    while [ "$(now_ms)" -lt "$d" ]; do tail -1 "$FAULT_TMP/o.log" | grep -q "$1@" && return 0; sleep 0.05; done
    return 1
}

# measure PEER N T0: sets T_MS, R_MS, O_MS (ms from T0 to the N-th nodedown of PEER in T's log, in R, and to
# P's disappearance from T's nodes() as O saw it); empty when not seen within WAIT_S.
measure() {
    local peer=$1 n=$2 t0=$3 t r o
    T_MS=""; R_MS=""; O_MS=""
    if wait_line "$FAULT_TMP/t.log" "nodedown $peer@" "$WAIT_S" "$n" >/dev/null; then
        t=$(nth_field "$FAULT_TMP/t.log" "nodedown $peer@" "$n" 1); T_MS=$(( t - t0 ))
    fi
    if wait_line "$FAULT_TMP/r.log" "EV [0-9]+ nodedown $peer@" 10 "$n" >/dev/null; then
        r=$(nth_field "$FAULT_TMP/r.log" "EV [0-9]+ nodedown $peer@" "$n" 3); R_MS=$(( r - t0 ))
    fi
    local d=$(( $(now_ms) + 5000 ))
    while [ "$(now_ms)" -lt "$d" ]; do
        o=$(grep -E "TNODES [0-9]+ " "$FAULT_TMP/o.log" | grep -v "$peer@" | awk -v t="$t0" '$3 >= t { print $3; exit }')
        [ -n "$o" ] && { O_MS=$(( o - t0 )); break; }
        sleep 0.05
    done
}

# ---- (a) SIGKILL ----
for (( k=1; k<=KILL_REPS; k++ )); do
    PA=pa${k}_$TAG
    start_erl PA_PID "$FAULT_TMP/pa$k.log" "" -sname "$PA" "$TICK" "fault_lab:node_main([\"$TN\", \"$RN\"])"
    wait_both_up "$PA" 1 || die "P ($PA) did not connect to T and R: $(tail -3 "$FAULT_TMP/pa$k.log")"
    sleep "$(awk -v r=$RANDOM 'BEGIN { printf "%.2f", 0.5 + r / 32768 * 2 }')"
    t0=$(now_ms); kill -KILL "$PA_PID"
    measure "$PA" 1 "$t0"
    ok=PASS
    if [ -z "$T_MS" ] || [ "$T_MS" -ge 2000 ]; then ok=FAIL; fails=$((fails + 1)); fi
    kill_summary+="${kill_summary:+, }T ${T_MS:-never} ms (OTP ${R_MS:-never} ms)"
    ROWS+=("kill $k: T log nodedown ${T_MS:-never} ms, T nodes() (via O) ${O_MS:-never} ms, OTP R ${R_MS:-never} ms -> $ok")
    log "${ROWS[-1]}"
done

# ---- (b) SIGSTOP ----
PB=pb_$TAG
start_erl PB_PID "$FAULT_TMP/pb.log" "" -sname "$PB" "$TICK" "fault_lab:node_main([\"$TN\", \"$RN\"])"
max_t=0; max_r=0; t_list=""; r_list=""; skips=0
for (( n=1; n<=REPS; n++ )); do
    wait_both_up "$PB" "$n" || die "P ($PB) did not (re)connect to T and R for repetition $n: $(tail -3 "$FAULT_TMP/pb.log")"
    sleep "$(settle_time)"
    t0=$(now_ms); kill -STOP "$PB_PID"; FAULT_STOPPED+=("$PB_PID")
    measure "$PB" "$n" "$t0"
    kill -CONT "$PB_PID"
    tr=$( [ -n "$T_MS" ] && ratio "$T_MS" "$TICK_MS" || echo inf )
    rr=$( [ -n "$R_MS" ] && ratio "$R_MS" "$TICK_MS" || echo inf )
    ok=$(judge_ratio "$tr" "$rr")
    case $ok in FAIL) fails=$((fails + 1)) ;; SKIP) skips=$((skips + 1)); ok="SKIP (OTP R late too: host stall)" ;; esac
    # T's nodes() must agree with its log (P gone from nodes() within 1 s of the nodedown line).
    if [ -n "$T_MS" ] && { [ -z "$O_MS" ] || [ $(( O_MS - T_MS )) -gt 1000 ]; }; then ok="FAIL(nodes() still lists P)"; fails=$((fails + 1)); fi
    ROWS+=("stop $n: T ${T_MS:-never} ms (${tr}x), T nodes() via O ${O_MS:-never} ms, OTP R ${R_MS:-never} ms (${rr}x) -> $ok")
    log "${ROWS[-1]}"
    t_list+="${tr} "; r_list+="${rr} "
    if [ "$tr" = inf ]; then max_t=inf; elif [ "$max_t" != inf ]; then max_t=$(fmax "$max_t" "$tr"); fi
    [ "$rr" != inf ] && max_r=$(fmax "$max_r" "$rr")
done

echo "peer-kill-stop (net_ticktime $TICK s, OTP bound 1.25x = $BOUND_MS ms):"
for row in "${ROWS[@]}"; do echo "  $row"; done
echo "  T timeout log lines: $(grep -c 'timed out: nothing received' "$FAULT_TMP/t.log")"
[ "$skips" -gt 0 ] && echo "  $skips repetition(s) skipped: the OTP node was over the bound in the same repetition"
if [ "$fails" -eq 0 ] && [ $(( REPS - skips )) -ge $(( (REPS + 1) / 2 )) ]; then
    echo "PASS peer-kill-stop: SIGKILL seen by ${kill_summary}; SIGSTOP ratios T: ${t_list}(max ${max_t}x) OTP: ${r_list}(max ${max_r}x)"
    exit 0
else
    echo "FAIL peer-kill-stop: $fails check(s) failed, $skips of $REPS repetitions skipped (host stalls); SIGKILL seen by ${kill_summary}; SIGSTOP ratios T: ${t_list}(max ${max_t}x) OTP: ${r_list}(max ${max_r}x)"
    exit 1
fi
