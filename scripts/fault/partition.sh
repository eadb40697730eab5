#!/usr/bin/env bash
# Fault test 2: a real network partition (packets vanish, no resets) between two network namespaces.
#
#   scripts/fault/partition.sh [--reps N] [--ticktime S] [--settle MIN,MAX] [--cut pfifo|linkdown] [--initiator p|t] [--load]
#
# Namespace A (10.77.0.1/24) holds T = erlang-node --name t_…@10.77.0.1 and R = an OTP node -name r_…@10.77.0.1
# (the same measurement with OTP in T's place); namespace B (10.77.0.2/24) holds P = erl -name p_…@10.77.0.2, which
# connects to both over a veth pair. Each namespace has its own epmd on the same private port. net_ticktime 8.
# Each repetition waits until all connections are up, waits a random 0.3-2.3 s (--settle), cuts the link and measures how long
# each side takes to declare the other down: T (its "nodedown" log line, timestamped as written), R and P
# (net_kernel:monitor_nodes, printing os:system_time(millisecond)). Then the link is restored and P reconnects.
# Cut methods: pfifo (default; a `pfifo limit 0` root qdisc on both veth ends: every packet is dropped, links stay
# up) or linkdown (`ip link set … down` on A's end). --initiator t: T sets up (and re-establishes) its connection to P
# itself (net_kernel:connect_node(P) run on T by rpc from a hidden helper erl node H in namespace A), instead of P
# connecting to T (the default), so both of T's connection paths can be measured. --load: an erl node L in namespace A
# keeps T busy the whole time (echoes through T's `server` over loopback), to see whether a busy T detects late. PASS iff every T detection is within [0.75, 1.25] x net_ticktime
# (OTP's bounds, tick intensity 4); a repetition where T is late and R is late too (the host stalled every node) is
# skipped, and at least half of them must count.
FAULT_NAME=partition
source "$(dirname "$0")/lib.sh"

SETTLE=0.3,2.3; REPS=3; TICK=8; CUT=pfifo; INIT=p; LOAD=0
while [ $# -gt 0 ]; do
    case $1 in
        --reps) REPS=$2; shift 2 ;;
        --ticktime) TICK=$2; shift 2 ;;
        --settle) SETTLE=$2; shift 2 ;;
        --cut) CUT=$2; shift 2 ;;
        --initiator) INIT=$2; shift 2 ;;
        --load) LOAD=1; shift ;;
        *) echo "usage: $0 [--reps N] [--ticktime S] [--settle MIN,MAX] [--cut pfifo|linkdown] [--initiator p|t] [--load]" >&2; exit 2 ;;
    esac
done
case $CUT in pfifo|linkdown) ;; *) echo "--cut pfifo|linkdown" >&2; exit 2 ;; esac
case $INIT in p|t) ;; *) echo "--initiator p|t" >&2; exit 2 ;; esac
[ "$(id -u)" = 0 ] || { echo "FAIL partition: needs root (network namespaces)"; exit 2; }
fault_init partition
TICK_MS=$(( TICK * 1000 ))
WAIT_S=$(( TICK * 3 + 10 ))

NA=fa_$TAG; NB=fb_$TAG; VA=va$TAG; VB=vb$TAG
ip netns add "$NA" || die "ip netns add"; FAULT_NETNS+=("$NA")
ip netns add "$NB" || die "ip netns add"; FAULT_NETNS+=("$NB")
ip link add "$VA" netns "$NA" type veth peer name "$VB" netns "$NB" || die "veth"
ip -n "$NA" addr add 10.77.0.1/24 dev "$VA"; ip -n "$NB" addr add 10.77.0.2/24 dev "$VB"
for x in "$NA $VA" "$NB $VB"; do set -- $x; ip -n "$1" link set lo up; ip -n "$1" link set "$2" up; done

start_epmd "$NA"; start_epmd "$NB"
TN=t_$TAG@10.77.0.1; RN=r_$TAG@10.77.0.1; PN=p_$TAG@10.77.0.2
start_target T_PID "$FAULT_TMP/t.log" "$NA" --name "$TN" --net-ticktime "$TICK"
wait_registered "t_$TAG" "$NA" 60 || die "erlang-node did not register in 60 s: $(tail -5 "$FAULT_TMP/t.log")"
start_erl R_PID "$FAULT_TMP/r.log" "$NA" -name "$RN" "$TICK" 'fault_lab:node_main([])'
wait_line "$FAULT_TMP/r.log" '^[0-9]+ READY' 30 >/dev/null || die "R did not start: $(tail -5 "$FAULT_TMP/r.log")"
if [ "$INIT" = p ]; then
    start_erl P_PID "$FAULT_TMP/p.log" "$NB" -name "$PN" "$TICK" "fault_lab:node_main([\"$TN\", \"$RN\"])"
else
    start_erl P_PID "$FAULT_TMP/p.log" "$NB" -name "$PN" "$TICK" "fault_lab:node_main([\"$RN\"])"
    wait_line "$FAULT_TMP/p.log" '^[0-9]+ READY' 30 >/dev/null || die "P did not start: $(tail -5 "$FAULT_TMP/p.log")"
    start_erl H_PID "$FAULT_TMP/h.log" "$NA" -name "h_$TAG@10.77.0.1" "$TICK" "fault_lab:keep_connected(\"$TN\", \"$PN\")" -hidden
fi
if [ "$LOAD" = 1 ]; then
    start_erl L_PID "$FAULT_TMP/l.log" "$NA" -name "l_$TAG@10.77.0.1" "$TICK" "fault_lab:load_loop(\"$TN\")" -hidden
    wait_line "$FAULT_TMP/l.log" '^[0-9]+ READY' 30 >/dev/null || die "load node did not start: $(tail -5 "$FAULT_TMP/l.log")"
fi
log "T=$TN (pid $T_PID) R=$RN P=$PN, cut=$CUT, connection T-P set up by $([ "$INIT" = p ] && echo P || echo T)"

cut() {
    if [ "$CUT" = pfifo ]; then
        tc -n "$NA" qdisc add dev "$VA" root pfifo limit 0 && tc -n "$NB" qdisc add dev "$VB" root pfifo limit 0
    else
        ip -n "$NA" link set "$VA" down
    fi
}
restore() {
    if [ "$CUT" = pfifo ]; then
        tc -n "$NA" qdisc del dev "$VA" root; tc -n "$NB" qdisc del dev "$VB" root
    else
        ip -n "$NA" link set "$VA" up
    fi
}

wait_all_up() {
    local n=$1
    wait_line "$FAULT_TMP/t.log" "nodeup p_$TAG@" 40 "$n" >/dev/null || return 1
    wait_line "$FAULT_TMP/r.log" "EV [0-9]+ nodeup p_$TAG@" 40 "$n" >/dev/null || return 1
    wait_line "$FAULT_TMP/p.log" "EV [0-9]+ nodeup t_$TAG@" 40 "$n" >/dev/null || return 1
    wait_line "$FAULT_TMP/p.log" "EV [0-9]+ nodeup r_$TAG@" 40 "$n" >/dev/null || return 1
}

# ms from T0 to the N-th match of REGEX (time in FIELD), waiting up to S seconds; empty if never
since() {
    local f=$1 re=$2 n=$3 field=$4 t0=$5 s=$6 v
    wait_line "$f" "$re" "$s" "$n" >/dev/null || return 0
    v=$(nth_field "$f" "$re" "$n" "$field"); echo $(( v - t0 ))
}
rat() { [ -n "$1" ] && ratio "$1" "$TICK_MS" || echo inf; }

fails=0; skips=0; declare -a ROWS; max_t=0; max_r=0; max_pt=0; max_pr=0; tl=""; rl=""; ptl=""; prl=""
for (( n=1; n<=REPS; n++ )); do
    wait_all_up "$n" || die "connections not (re)established for repetition $n: $(tail -3 "$FAULT_TMP/p.log")"
    sleep "$(settle_time)"
    t0=$(now_ms); cut || die "cut failed"
    T_MS=$(since "$FAULT_TMP/t.log" "nodedown p_$TAG@" "$n" 1 "$t0" "$WAIT_S")
    P_T=$(since "$FAULT_TMP/p.log" "EV [0-9]+ nodedown t_$TAG@" "$n" 3 "$t0" 15)
    R_MS=$(since "$FAULT_TMP/r.log" "EV [0-9]+ nodedown p_$TAG@" "$n" 3 "$t0" 15)
    P_R=$(since "$FAULT_TMP/p.log" "EV [0-9]+ nodedown r_$TAG@" "$n" 3 "$t0" 15)
    TO=$(grep 'timed out: nothing received' "$FAULT_TMP/t.log" | sed -n "${n}p" | sed 's/.*nothing received for \([^ ]*\).*/\1/')
    restore || die "restore failed"
    tr=$(rat "$T_MS"); rr=$(rat "$R_MS"); ptr=$(rat "$P_T"); prr=$(rat "$P_R")
    ok=$(judge_ratio "$tr" "$rr")
    case $ok in FAIL) fails=$((fails + 1)) ;; SKIP) skips=$((skips + 1)); ok="SKIP (OTP R late too: host stall)" ;; esac
    ROWS+=("cut $n: T declares P down ${T_MS:-never} ms (${tr}x; T says silent for ${TO:-?}), P declares T down ${P_T:-never} ms (${ptr}x); OTP R declares P down ${R_MS:-never} ms (${rr}x), P declares R down ${P_R:-never} ms (${prr}x) -> $ok")
    log "${ROWS[-1]}"
    tl+="$tr "; rl+="$rr "; ptl+="$ptr "; prl+="$prr "
    [ "$tr" = inf ] && max_t=inf || { [ "$max_t" != inf ] && max_t=$(fmax "$max_t" "$tr"); }
    [ "$rr" != inf ] && max_r=$(fmax "$max_r" "$rr")
    [ "$ptr" != inf ] && max_pt=$(fmax "$max_pt" "$ptr")
    [ "$prr" != inf ] && max_pr=$(fmax "$max_pr" "$prr")
done

[ "$LOAD" = 1 ] && echo "load on T: $(grep ' LOAD ' "$FAULT_TMP/l.log" | awk '{ print $4 }' | tr '\n' ' ')msg/s (echo through server)"
echo "partition (net_ticktime $TICK s, cut=$CUT, T-P connection initiated by $INIT, load=$LOAD, OTP bound 1.25x = $(( TICK_MS * 5 / 4 )) ms):"
for row in "${ROWS[@]}"; do echo "  $row"; done
summary="T->P: ${tl}(max ${max_t}x); P->T: ${ptl}(max ${max_pt}x); OTP R->P: ${rl}(max ${max_r}x); P->R: ${prl}(max ${max_pr}x)"
[ "$skips" -gt 0 ] && echo "  $skips repetition(s) skipped: the OTP node R was over the bound in the same repetition"
if [ "$fails" -eq 0 ] && [ $(( REPS - skips )) -ge $(( (REPS + 1) / 2 )) ]; then echo "PASS partition: $summary"; exit 0
else echo "FAIL partition: $fails repetition(s) outside [0.75, 1.25]x, $skips of $REPS skipped (host stalls); $summary"; exit 1; fi
