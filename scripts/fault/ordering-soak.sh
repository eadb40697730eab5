#!/usr/bin/env bash
# Fault test 3: message order across repeated disconnects.
#
#   scripts/fault/ordering-soak.sh [--minutes M] [--period S] [--fail-on-drops]
#                                  (defaults: 5 minutes, a disconnect every 30 s)
#
# erl X sends {I, Rec} (I = 1, 2, 3, ...) to {server, T} without pause (batches of 200, each followed by a sync
# round trip through `server`, so the relay is always busy but bounded), where T is erlang-node and Rec is the
# registered `recorder` process on erl Y; T's server relays I to Rec. Every S seconds a second process on X drops
# the T<->Y connection while the sender keeps going, alternately from T (rpc:call(T, erlang, disconnect_node, [Y]))
# and from Y (erlang:disconnect_node(T) run on Y by rpc); T reconnects on its next send. Rec checks that the
# integers only ever increase; losses are allowed only across a disconnect (a gap in the sequence with a nodedown
# between the two arrivals, or within 2 s after the later one). PASS iff no integer ever arrived after a larger one,
# every gap is across a disconnect, traffic resumed after every disconnect, and T is still running. Connection drops
# that no disconnect caused are listed (with T's log around them) but do not fail the test unless --fail-on-drops is
# given. (scripts/fault-tests --only reconnect-race runs `--minutes 1.5 --period 2 --fail-on-drops`: T reconnects
# ~45 times while busy, which is where it has been seen closing a connection it had just set up itself.)
FAULT_NAME=ordering-soak
source "$(dirname "$0")/lib.sh"

MINUTES=5; PERIOD=30; FAIL_ON_DROPS=0
while [ $# -gt 0 ]; do
    case $1 in
        --minutes) MINUTES=$2; shift 2 ;;
        --period) PERIOD=$2; shift 2 ;;
        --fail-on-drops) FAIL_ON_DROPS=1; shift ;;
        *) echo "usage: $0 [--minutes M] [--period S] [--fail-on-drops]" >&2; exit 2 ;;
    esac
done
fault_init ordering-soak
SECONDS_RUN=$(awk -v m="$MINUTES" 'BEGIN { printf "%d", m * 60 }')

start_epmd
T=t_$TAG; TN=$T@$HOST_S; YN=y_$TAG@$HOST_S
start_target T_PID "$FAULT_TMP/t.log" "" --sname "$T" --log-level debug
wait_registered "$T" "" 60 || die "erlang-node did not register in 60 s: $(tail -5 "$FAULT_TMP/t.log")"
start_erl Y_PID "$FAULT_TMP/y.log" "" -sname "y_$TAG" 60 'fault_lab:soak_recorder()'
wait_line "$FAULT_TMP/y.log" '^[0-9]+ READY' 30 >/dev/null || die "Y did not start: $(tail -5 "$FAULT_TMP/y.log")"
rss0=$(rss_kb "$T_PID")
start_erl X_PID "$FAULT_TMP/x.log" "" -sname "x_$TAG" 60 "fault_lab:soak_sender(\"$TN\", \"$YN\", $SECONDS_RUN, $PERIOD)"
wait_line "$FAULT_TMP/x.log" '^[0-9]+ READY' 30 >/dev/null || die "X did not start: $(tail -5 "$FAULT_TMP/x.log")"
log "soak running for $SECONDS_RUN s (disconnect every $PERIOD s): T=$TN (pid $T_PID, RSS ${rss0} kB), Y=$YN"

# Progress while it runs; bounded by the run time plus the drain and report.
deadline=$(( $(now_ms) + (SECONDS_RUN + 90) * 1000 )); last_log=0; rss_max=$rss0
while [ "$(now_ms)" -lt "$deadline" ]; do
    grep -q ' RESULT ' "$FAULT_TMP/x.log" && break
    kill -0 "$T_PID" 2>/dev/null || break
    kill -0 "$X_PID" 2>/dev/null || break
    r=$(rss_kb "$T_PID"); [ -n "$r" ] && [ "$r" -gt "$rss_max" ] && rss_max=$r
    if [ $(( $(now_ms) - last_log )) -ge 30000 ]; then
        last_log=$(now_ms)
        log "$(grep -c ' DISC ' "$FAULT_TMP/x.log") disconnects so far; Y: $(grep -E 'PROGRESS|nodedown' "$FAULT_TMP/y.log" | tail -1 | cut -d' ' -f2-); T RSS ${r:-?} kB"
    fi
    sleep 1
done

echo "ordering-soak ($MINUTES min, disconnect every $PERIOD s):"
grep ' DISC ' "$FAULT_TMP/x.log" | cut -d' ' -f2- | sed 's/^/  /'
grep -E ' SYNC_TIMEOUT ' "$FAULT_TMP/x.log" | head -5 | cut -d' ' -f2- | sed 's/^/  /'
alive=yes; kill -0 "$T_PID" 2>/dev/null || alive=no
result=$(grep ' RESULT ' "$FAULT_TMP/x.log" | cut -d' ' -f2-)
report=$(grep ' REPORT ' "$FAULT_TMP/x.log" | cut -d' ' -f4-)
echo "  Y's report: ${report:-none}"
echo "  Y's nodedowns of T (reason as Y's net_kernel reports it):"
grep -E "EV [0-9]+ nodedown $T@" "$FAULT_TMP/y.log" | cut -d' ' -f3- | sed 's/^/    /'
# Each disconnect (its rpc returned at DISC time) explains the one nodedown nearest to it, from 2 s before to 1 s
# after; the nodedowns left over are connection drops nobody asked for.
spurious=$( { grep ' DISC ' "$FAULT_TMP/x.log" | awk '{ print "D", $3 }'; grep -E "EV [0-9]+ nodedown $T@" "$FAULT_TMP/y.log" | awk '{ print "N", $3 }'; } |
    awk '$1 == "D" { d[++nd] = $2 } $1 == "N" { n[++nn] = $2 }
         END { for (j = 1; j <= nd; j++) { best = 0; bd = 1e18
                   for (i = 1; i <= nn; i++) { x = n[i] - d[j]; ax = x < 0 ? -x : x
                       if (!used[i] && x >= -2000 && x <= 1000 && ax < bd) { bd = ax; best = i } }
                   if (best) used[best] = 1 }
               for (i = 1; i <= nn; i++) if (!used[i]) printf "%s ", n[i] }')
n_spurious=$(wc -w <<<"$spurious")
echo "  connection drops T<->Y not caused by a disconnect: $n_spurious${spurious:+ (nodedown at Y at $spurious)}"
for t in $spurious; do
    echo "    T's log around $t:"
    awk -v t="$t" '$1 >= t - 1000 && $1 <= t + 300' "$FAULT_TMP/t.log" | cut -c1-220 | sed 's/^/      /'
done
echo "  T's connections to Y: $(grep -c "nodeup $YN" "$FAULT_TMP/t.log") nodeups, $(grep -c "nodedown $YN" "$FAULT_TMP/t.log") nodedowns; handshakes with Y by role: $(grep 'handshake complete' "$FAULT_TMP/t.log" | grep "$YN" | grep -o 'role=[a-z]*' | sort | uniq -c | tr -s ' ' | tr '\n' ' ')"
echo "  T: running=$alive, RSS ${rss0} kB at start, max ${rss_max} kB"
errs=$(grep -ciE ' error | warning ' "$FAULT_TMP/t.log")
echo "  T log: $errs warning/error line(s)"; grep -iE ' error | warning ' "$FAULT_TMP/t.log" | head -5 | cut -d' ' -f2- | sed 's/^/    /'
drops_ok=yes; [ "$FAIL_ON_DROPS" = 1 ] && [ "$n_spurious" -gt 0 ] && drops_ok=no
if [ -n "$result" ] && [ "${result#RESULT ok}" != "$result" ] && [ "$alive" = yes ] && [ "$drops_ok" = yes ]; then
    echo "PASS ordering-soak: ${result#RESULT ok } unrequested_drops=$n_spurious"; exit 0
else
    echo "FAIL ordering-soak: ${result:-no result (X log: $(tail -2 "$FAULT_TMP/x.log" | tr '\n' ' '))} T running=$alive unrequested_drops=$n_spurious"; exit 1
fi
