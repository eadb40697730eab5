#!/usr/bin/env bash
# Issue 14, clusters across hosts: BEAM and Swift nodes on three hosts (network namespaces behind one switch),
# meshing transitively, pg and global across them, a partition that cuts host 3 off, and the heal.
#
#   scripts/fault/cluster-hosts.sh [--ticktime S] [--erl3 ERL] [--no-global]
#
# Hosts (namespaces h1, h2, h3, each with its own epmd on the same private port, long names NAME@ADDR), joined by a
# bridge in a fourth namespace:
#   h1 10.78.0.1: S1 = erlang-node (the demo node: `server` in pg group demo and in global as s1_…)
#   h2 10.78.0.2: E2 = erl (OTP 25), the observer: it connects to S1 only and runs the checks (cluster_lab:observer)
#   h3 10.78.0.3: S3 = erlang-node, E3 = erl (--erl3, default OTP 25), E3 connects to S3 and E2 only
# So S1-S3, S1-E3 and S3-E2 exist only by meshing. Every node has one member in pg group demo and one global name.
# After the checks, host 3's link goes down: E2 and S1 must see S3 and E3 down within 1.25 x net_ticktime and their
# members and names gone; then the link comes back, E2 reconnects to E3, and the mesh, groups and names must be whole
# again on every node (the nodes run with connect_all, erl's default). --no-global leaves the Swift nodes' global names out of the checks.
# Exit 0 iff every check passed; 2 on a failure; 77 (skipped) without root or `ip netns` unless CI=true.
FAULT_NAME=cluster-hosts
source "$(dirname "$0")/lib.sh"

TICK=8; ERL3=""; MODE=global
while [ $# -gt 0 ]; do
    case $1 in
        --ticktime) TICK=$2; shift 2 ;;
        --erl3) ERL3=$2; shift 2 ;;
        --no-global) MODE=noglobal; shift ;;
        *) echo "usage: $0 [--ticktime S] [--erl3 ERL] [--no-global]" >&2; exit 2 ;;
    esac
done
skip() { if [ "${CI:-}" = true ]; then echo "FAIL cluster-hosts: $1 (required with CI=true)"; exit 2; fi; echo "SKIPPED: $1"; exit 77; }
[ "$(id -u)" = 0 ] || skip "needs root (network namespaces)"
command -v ip >/dev/null 2>&1 || skip "no ip command"
ip netns add "probe$$" 2>/dev/null || skip "ip netns does not work here"; ip netns del "probe$$"
fault_init cluster-hosts
# This test is about meshing and global: the BEAM nodes run with connect_all (erl's default), unlike the other fault tests.
FAULT_CONNECT_ALL=true

SW=csw_$TAG; BR=br$TAG
ip netns add "$SW" || die "ip netns add"; FAULT_NETNS+=("$SW")
ip -n "$SW" link add "$BR" type bridge || die "bridge"
ip -n "$SW" link set "$BR" up
declare -a HOSTS
for i in 1 2 3; do
    ns=ch${i}_$TAG; HOSTS[$i]=$ns
    ip netns add "$ns" || die "ip netns add"; FAULT_NETNS+=("$ns")
    ip link add "h$i$TAG" netns "$ns" type veth peer name "s$i$TAG" netns "$SW" || die "veth"
    ip -n "$ns" addr add "10.78.0.$i/24" dev "h$i$TAG"
    ip -n "$ns" link set lo up; ip -n "$ns" link set "h$i$TAG" up
    ip -n "$SW" link set "s$i$TAG" master "$BR"; ip -n "$SW" link set "s$i$TAG" up
done
for i in 1 2 3; do start_epmd "${HOSTS[$i]}"; done

S1=s1_$TAG@10.78.0.1; E2=e2_$TAG@10.78.0.2; S3=s3_$TAG@10.78.0.3; E3=e3_$TAG@10.78.0.3
start_target S1_PID "$FAULT_TMP/s1.log" "${HOSTS[1]}" --name "$S1" --net-ticktime "$TICK"
start_target S3_PID "$FAULT_TMP/s3.log" "${HOSTS[3]}" --name "$S3" --net-ticktime "$TICK"
wait_registered "s1_$TAG" "${HOSTS[1]}" 60 || die "S1 did not register: $(tail -5 "$FAULT_TMP/s1.log")"
wait_registered "s3_$TAG" "${HOSTS[3]}" 60 || die "S3 did not register: $(tail -5 "$FAULT_TMP/s3.log")"
ERL_MAIN=$ERL
[ -n "$ERL3" ] && ERL=$ERL3
start_erl E3_PID "$FAULT_TMP/e3.log" "${HOSTS[3]}" -name "$E3" "$TICK" "cluster_lab:member([\"$S3\", \"$E2\"])"
ERL=$ERL_MAIN
wait_line "$FAULT_TMP/e3.log" '^[0-9]+ READY' 30 >/dev/null || die "E3 did not start: $(tail -5 "$FAULT_TMP/e3.log")"
start_erl E2_PID "$FAULT_TMP/e2.log" "${HOSTS[2]}" -name "$E2" "$TICK" "cluster_lab:observer([\"$S1\", \"$S3\", \"$E3\", \"$MODE\"])"
log "S1=$S1 E2=$E2 S3=$S3 E3=$E3 (E3: ${ERL3:-$ERL}), net_ticktime $TICK, $MODE"

cut_line=$(wait_line "$FAULT_TMP/e2.log" '^[0-9]+ CUT_NOW' 240) || die "the checks before the cut did not finish: $(tail -5 "$FAULT_TMP/e2.log")"
t_cut=$(now_ms)
ip -n "${HOSTS[3]}" link set "h3$TAG" down || die "cut failed"
log "host 3 cut off"
wait_line "$FAULT_TMP/e2.log" '^[0-9]+ HEAL_NOW' $(( TICK * 4 + 60 )) >/dev/null || die "no HEAL_NOW: $(tail -5 "$FAULT_TMP/e2.log")"
ip -n "${HOSTS[3]}" link set "h3$TAG" up || die "restore failed"
log "host 3 back"
wait_line "$FAULT_TMP/e2.log" '^[0-9]+ DONE' 240 >/dev/null || log "no DONE from the observer: $(tail -3 "$FAULT_TMP/e2.log")"

fails=0
while read -r _ _ name ok detail; do
    log "check $name: $ok"
    [ "$ok" = true ] || { fails=$((fails + 1)); log "  detail: $detail"; }
done < <(grep -E '^[0-9]+ CHECK ' "$FAULT_TMP/e2.log")
checks=$(count_lines "$FAULT_TMP/e2.log" '^[0-9]+ CHECK ')
grep -qE '^[0-9]+ DONE' "$FAULT_TMP/e2.log" || fails=$((fails + 1))

# Nodedown within 1.25 x net_ticktime of the cut (OTP's bound), on E2 (its EV lines) and on S1 (its log lines), plus
# 1 s for the time stamping here (lines are read by a pipe and a shell loop; OTP nodes were seen at 9.7 s of 10).
limit=$(( TICK * 1250 + 1000 ))
for who in "e2 s3_$TAG@" "e2 e3_$TAG@" "s1 s3_$TAG@" "s1 e3_$TAG@"; do
    set -- $who
    if [ "$1" = e2 ]; then t=$(grep -E "^[0-9]+ EV [0-9]+ nodedown $2" "$FAULT_TMP/e2.log" | awk -v c="$t_cut" '$3 >= c { print $3; exit }')
    else t=$(grep -E "nodedown.*$2" "$FAULT_TMP/s1.log" | awk -v c="$t_cut" '$1 >= c { print $1; exit }'); fi
    if [ -z "$t" ]; then log "$1 never declared ${2%@} down"; fails=$((fails + 1)); continue; fi
    d=$(( t - t_cut ))
    if [ "$d" -le "$limit" ]; then log "$1 declared ${2%@} down after $d ms (limit $limit)"; else log "$1 declared ${2%@} down after $d ms: later than $limit"; fails=$((fails + 1)); fi
done
# No node crashed.
for p in "$S1_PID" "$S3_PID" "$E3_PID" "$E2_PID"; do kill -0 "$p" 2>/dev/null || { log "process $p died"; fails=$((fails + 1)); }; done

if [ "$fails" = 0 ] && [ "$checks" -gt 0 ]; then echo "PASS cluster-hosts: $checks checks, nodedowns within 1.25 x $TICK s"; exit 0; fi
echo "FAIL cluster-hosts: $fails failure(s) of $checks checks (logs in $FAULT_TMP)"
FAULT_KEEP=1
exit 2
