# Shared helpers for the fault scripts (sourced, not run). Every process started through these helpers is
# recorded by pid and killed at exit; every namespace and veth created is deleted at exit; every wait is bounded.
#
# Environment:
#   ERLANG_NODE   the erlang-node binary (default: .build/debug/erlang-node, else .build/release/erlang-node)
#   ERL           erl to run the OTP nodes with (default: erl on PATH, OTP 25)
#   FAULT_KEEP    set to 1 to keep the scratch directory (logs) after the run
set -uo pipefail

FAULT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$FAULT_DIR/../.." && pwd)
ERL=${ERL:-$(command -v erl)}
# The helper module is compiled with ERLC: erlc next to ERL if that one works (the OTP 28 from PyPI has no compiler;
# then the erlc on PATH, whose OTP 25 .beam OTP 28 loads).
if [ -z "${ERLC:-}" ]; then
    ERLC=$(dirname "$ERL")/erlc
    [ -x "$ERLC" ] && "$(dirname "$ERL")/erl" -noshell -eval 'halt(case code:which(compile) of non_existing -> 1; _ -> 0 end).' 2>/dev/null \
        || ERLC=$(command -v erlc)
fi
HOST_S=$(hostname -s)

if [ -z "${ERLANG_NODE:-}" ]; then
    for c in "$REPO/.build/debug/erlang-node" "$REPO/.build/release/erlang-node"; do
        [ -x "$c" ] && { ERLANG_NODE=$c; break; }
    done
fi

FAULT_PIDS=()        # processes to kill at exit (most recent last)
FAULT_NETNS=()       # namespaces to delete at exit
FAULT_STOPPED=()     # processes we SIGSTOPped (SIGCONT before the kill so they die cleanly)
FAULT_TMP=""
FAULT_NAME=${FAULT_NAME:-fault}

log() { printf '[%s %s] %s\n' "$FAULT_NAME" "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; echo "FAIL $FAULT_NAME: $*"; exit 2; }

# Milliseconds since the epoch (the same clock Erlang's os:system_time(millisecond) reads).
now_ms() { local t=$EPOCHREALTIME; echo $(( ${t%.*} * 1000 + 10#${t#*.} / 1000 )); }

fault_cleanup() {
    local rc=$? p i ns
    trap - EXIT INT TERM
    for p in "${FAULT_STOPPED[@]}"; do kill -CONT "$p" 2>/dev/null; done
    for (( i=${#FAULT_PIDS[@]}-1; i>=0; i-- )); do
        p=${FAULT_PIDS[i]}; kill -TERM "$p" 2>/dev/null
    done
    local deadline=$(( $(now_ms) + 3000 ))
    for p in "${FAULT_PIDS[@]}"; do
        while kill -0 "$p" 2>/dev/null && [ "$(now_ms)" -lt "$deadline" ]; do sleep 0.05; done
        kill -KILL "$p" 2>/dev/null
    done
    for ns in "${FAULT_NETNS[@]}"; do ip netns del "$ns" 2>/dev/null; done
    if [ -n "$FAULT_TMP" ] && [ -d "$FAULT_TMP" ]; then
        if [ "${FAULT_KEEP:-0}" = 1 ] || [ "$rc" -ne 0 ]; then log "logs kept in $FAULT_TMP"; else rm -rf "$FAULT_TMP"; fi
    fi
    exit "$rc"
}

# fault_init NAME: scratch directory, traps, a unique tag for node names, a random private EPMD port, the
# compiled Erlang helper module.
fault_init() {
    FAULT_NAME=$1
    FAULT_TMP=$(mktemp -d "/tmp/fault-$1.XXXXXX")
    trap fault_cleanup EXIT
    trap 'exit 130' INT TERM
    TAG="f$$"
    EPMD_PORT=$(( 20000 + (RANDOM % 20000) ))
    export ERL_EPMD_PORT=$EPMD_PORT
    COOKIE="fc$$x$RANDOM"
    [ -n "${ERLANG_NODE:-}" ] && [ -x "$ERLANG_NODE" ] || die "no erlang-node binary (build with 'swift build --product erlang-node' or set ERLANG_NODE)"
    [ -x "$ERL" ] || die "no erl"
    "$ERLC" -o "$FAULT_TMP" "$FAULT_DIR"/*_lab.erl || die "erlc failed"
    log "scratch $FAULT_TMP, epmd port $EPMD_PORT, erlang-node $ERLANG_NODE, erl $ERL"
}

fault_track() { FAULT_PIDS+=("$1"); }

# Timestamps every line read from stdin with the wall clock in ms ("<ms> <line>").
stamp_lines() {
    local l t
    while IFS= read -r l; do t=$EPOCHREALTIME; printf '%s %s\n' "$(( ${t%.*} * 1000 + 10#${t#*.} / 1000 ))" "$l"; done
}

# spawn_logged VAR LOGFILE [NETNS] -- CMD...: starts CMD (stdout+stderr timestamped into LOGFILE), in NETNS if not
# empty; sets VAR to the pid of CMD itself (the one to signal); both CMD and the timestamper are tracked.
spawn_logged() {
    local __var=$1 logf=$2 ns=$3; shift 4
    local pidf="$FAULT_TMP/.pid.$RANDOM$RANDOM"
    if [ -n "$ns" ]; then
        ( echo "$BASHPID" > "$pidf"; exec ip netns exec "$ns" "$@" ) </dev/null 2>&1 | stamp_lines > "$logf" &
    else
        ( echo "$BASHPID" > "$pidf"; exec "$@" ) </dev/null 2>&1 | stamp_lines > "$logf" &
    fi
    local stamper=$!
    disown "$stamper" 2>/dev/null   # no job-status noise when cleanup kills it
    local d=$(( $(now_ms) + 5000 ))
    while [ ! -s "$pidf" ] && [ "$(now_ms)" -lt "$d" ]; do sleep 0.01; done
    local p; p=$(cat "$pidf" 2>/dev/null); rm -f "$pidf"
    [ -n "$p" ] || die "could not start $*"
    fault_track "$stamper"; fault_track "$p"
    printf -v "$__var" '%s' "$p"
}

# start_epmd [NETNS]: a private epmd on $EPMD_PORT (in NETNS if given).
start_epmd() {
    local ns=${1:-} pid
    [ -x "$(dirname "$ERL")/epmd" ] || die "no epmd next to $ERL"
    spawn_logged pid "$FAULT_TMP/epmd${ns:+-$ns}.log" "$ns" -- "$(dirname "$ERL")/epmd" -port "$EPMD_PORT"
    local d=$(( $(now_ms) + 10000 ))
    while [ "$(now_ms)" -lt "$d" ]; do
        if [ -n "$ns" ]; then ip netns exec "$ns" "$(dirname "$ERL")/epmd" -port "$EPMD_PORT" -names >/dev/null 2>&1 && return 0
        else "$(dirname "$ERL")/epmd" -port "$EPMD_PORT" -names >/dev/null 2>&1 && return 0; fi
        sleep 0.1
    done
    die "epmd did not come up on port $EPMD_PORT"
}

# start_erl VAR LOGFILE NETNS NAMEFLAG NAME TICKTIME EVAL [extra erl args...]: an OTP node running EVAL.
start_erl() {
    local __v=$1 logf=$2 ns=$3 nflag=$4 name=$5 tick=$6 ev=$7; shift 7
    local args=(-noshell -noinput "$nflag" "$name" -setcookie "$COOKIE" -start_epmd false -connect_all "${FAULT_CONNECT_ALL:-false}"
                -kernel net_ticktime "$tick" -pa "$FAULT_TMP" "$@" -eval "$ev")
    if [ -n "$ns" ]; then spawn_logged "$__v" "$logf" "$ns" -- env ERL_EPMD_PORT="$EPMD_PORT" "$ERL" "${args[@]}"
    else spawn_logged "$__v" "$logf" "" -- "$ERL" "${args[@]}"; fi
}

# start_target VAR LOGFILE NETNS ARGS...: erlang-node start ARGS (cookie added).
start_target() {
    local __v=$1 logf=$2 ns=$3; shift 3
    if [ -n "$ns" ]; then spawn_logged "$__v" "$logf" "$ns" -- env ERL_EPMD_PORT="$EPMD_PORT" "$ERLANG_NODE" start --cookie "$COOKIE" "$@"
    else spawn_logged "$__v" "$logf" "" -- "$ERLANG_NODE" start --cookie "$COOKIE" "$@"; fi
}

# wait_line FILE REGEX TIMEOUT_S [MIN_COUNT]: waits until FILE has at least MIN_COUNT (default 1) lines matching
# REGEX; prints the last match. Returns 1 on timeout.
wait_line() {
    local f=$1 re=$2 to=$3 n=${4:-1}
    local d=$(( $(now_ms) + to * 1000 ))
    while [ "$(now_ms)" -lt "$d" ]; do
        if [ -f "$f" ] && [ "$(grep -cE -- "$re" "$f")" -ge "$n" ]; then grep -E -- "$re" "$f" | sed -n "${n}p"; return 0; fi
        sleep 0.02
    done
    return 1
}

# count_lines FILE REGEX
count_lines() { [ -f "$1" ] && grep -cE -- "$2" "$1" || echo 0; }

# wait_registered NAME [NETNS] TIMEOUT_S: polls the private epmd's NAMES for NAME.
wait_registered() {
    local name=$1 ns=$2 to=$3 d
    d=$(( $(now_ms) + to * 1000 ))
    while [ "$(now_ms)" -lt "$d" ]; do
        if [ -n "$ns" ]; then ip netns exec "$ns" "$(dirname "$ERL")/epmd" -port "$EPMD_PORT" -names 2>/dev/null | grep -q "^name $name at" && return 0
        else "$(dirname "$ERL")/epmd" -port "$EPMD_PORT" -names 2>/dev/null | grep -q "^name $name at" && return 0; fi
        sleep 0.1
    done
    return 1
}

# ratio A B: A/B with 3 decimals (integers in).
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / b }'; }
# fmax A B (decimals)
fmax() { awk -v a="$1" -v b="$2" 'BEGIN { print (a > b ? a : b) }'; }
fgt() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a > b) }'; }

rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null; }
hwm_kb() { awk '/^VmHWM:/ { print $2 }' "/proc/$1/status" 2>/dev/null; }

# nth_field FILE REGEX N FIELD: FIELD (awk numbering) of the N-th line of FILE matching REGEX (empty if none).
nth_field() { [ -f "$1" ] && grep -E -- "$2" "$1" | sed -n "${3}p" | awk -v f="$4" '{ print $f }'; }

# first_after FILE REGEX MS FIELD: FIELD of the first line matching REGEX whose FIELD (a time in ms) is >= MS.
first_after() { [ -f "$1" ] && grep -E -- "$2" "$1" | awk -v t="$3" -v f="$4" '$f >= t { print $f; exit }'; }

# settle_time: a random delay in seconds between the two numbers of $SETTLE ("MIN,MAX"), two decimals.
settle_time() { awk -v s="$SETTLE" -v r="$RANDOM" 'BEGIN { split(s, a, ","); printf "%.2f", a[1] + r / 32768 * (a[2] - a[1]) }'; }

# judge_ratio TR RR: T's detection ratio TR against OTP's bounds [0.75, 1.25], with RR the ratio of the OTP node that
# stands in T's place in the same repetition. PASS inside the bounds; FAIL outside; SKIP when T is late but the OTP
# node was late too (beyond 1.25, or never): then the host stalled every node (seen here: 1.3-2.5x for all nodes at
# once under outside load), and the repetition says nothing about T. ("inf" = never detected.)
judge_ratio() {
    local tr=$1 rr=$2
    if [ "$tr" != inf ] && ! fgt "$tr" 1.25 && ! fgt 0.75 "$tr"; then echo PASS; return; fi
    if [ "$tr" != inf ] && fgt 0.75 "$tr"; then echo FAIL; return; fi
    if [ "$rr" = inf ] || fgt "$rr" 1.25; then echo SKIP; else echo FAIL; fi
}
