#!/usr/bin/env bash
# dataplane.sh - `npm run bench`: the DiVS data plane side by side with its peers, in one run, on each
# underlay profile (clean, IPv4 fragments dropped, random loss).
#
#     pb-dv-a [ul0 198.19.0.1/24] <==== veth, MTU 1500 ====> [ul0 198.19.0.2/24] pb-dv-b
#     pb-dv-a [dv0 198.18.0.1/24] ..... two `divs up` ..... [dv0 198.18.0.2/24] pb-dv-b
#
# DiVS: node A creates a switch with a network key, node B joins with A's token; encryption on, as users
# run it (checked on the wire: every underlay datagram must be a sealed envelope). The peers come from
# ../shared/bench/peers.sh, run by this script in the same run, one call per system, measured with the
# same commands: ping (avg, p50, p99), iperf3 TCP 1 stream, iperf3 UDP 64-byte flooded (-b 0) and paced
# (the highest rate tried with loss < LOSS_OK_PCT + the profile's loss), daemon CPU during TCP, peak RSS
# (DiVS), IPv4 fragments on the underlay. A profile impairs the ingress of both underlay ends, for DiVS
# with nb_impair (../shared/bench/netns.sh), for the peers with peers.sh's UNDERLAY_IMPAIR: the same rules.
# Targets (divs/tinc per profile) are printed with pass/fail. Method and columns: docs/benchmarks.md.
#
# Usage : npm run bench, npm run -s bench -- --json (-s: no npm banner on stdout)           (root; exit 77 = skipped: not root, no /dev/net/tun, ...)
# Knobs : PROFILES ("clean nofrag loss=1"; a profile is clean or an nb_impair spec such as nofrag,loss=0.5)
#         RUNS (1) TCP_SECS (8) UDP_SECS (5) PACED_SECS (3) IDLE_SECS (3) PING_N (200) PING_I (0.02) LOSS_OK_PCT (0.5)
#         PACED_TRIES (5) PEERS ("underlay vxlan tinc") PACED_PEERS ("vxlan tinc")
#         IMPAIRED_PEERS ("tinc": on profiles other than clean, only these of PEERS and PACED_PEERS run)
#         DEADLINE_S (whole run) PEERS_SH (path of peers.sh) LOCK_WAIT_S (900) NB_KEEP_TMP=1 (keep logs)
#         DIVS_RUNTIMES ("node node": the runtimes of DiVS nodes A and B, node or deno; docs/deno.md)
#         DIVS_UP_ARGS (more `divs up` options for both nodes, e.g. "--latency-wake 0")
# Output: stdout = the tables (or JSON); progress and diagnostics on stderr.

set -u -o pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
PEERS_SH=${PEERS_SH:-$ROOT/../shared/bench/peers.sh}
DIVS_CLI=${DIVS_CLI:-$ROOT/build/divs.cjs}

RUNS=${RUNS:-1}
TCP_SECS=${TCP_SECS:-8}
UDP_SECS=${UDP_SECS:-5}
PACED_SECS=${PACED_SECS:-3}
IDLE_SECS=${IDLE_SECS:-3}
PING_N=${PING_N:-200}
PING_I=${PING_I:-0.02}
LOSS_OK_PCT=${LOSS_OK_PCT:-0.5}
PACED_TRIES=${PACED_TRIES:-5}
PEERS=${PEERS-"underlay vxlan tinc"}          # empty: DiVS alone
PACED_PEERS=${PACED_PEERS-"vxlan tinc"}
PROFILES=${PROFILES:-"clean nofrag loss=1"}
IMPAIRED_PEERS=${IMPAIRED_PEERS-"tinc"}
read -r RUNTIME_A RUNTIME_B <<<"${DIVS_RUNTIMES:-node node}"
DIVS_UP_ARGS=${DIVS_UP_ARGS:-}
N_PROFILES=$(wc -w <<<"$PROFILES")
# Rough cost of one profile: peers ~70 s, DiVS ~35 s, paced peers ~25 s a try; twice that as the bound.
DEADLINE_S=${DEADLINE_S:-$((120 + RUNS * N_PROFILES * (2 * (90 + 6 * TCP_SECS + 4 * UDP_SECS + PACED_TRIES * 3 * (PACED_SECS + 25)))))}

JSON=0
for arg in "$@"; do
    case "$arg" in
        --json) JSON=1 ;;
        -h|--help) sed -n '2,/^$/p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "dataplane.sh: unknown argument $arg (use --json or --help)" >&2; exit 2 ;;
    esac
done

skip() { echo "SKIPPED: npm run bench: $*" >&2; exit 77; }
[ "$(id -u)" = 0 ] || skip "needs root (network namespaces, TAP devices)"
[ -c /dev/net/tun ] || skip "no /dev/net/tun"
[ -r "$PEERS_SH" ] || skip "peers.sh not found at $PEERS_SH (set PEERS_SH)"
for bin in ip iperf3 jq ping tcpdump nft node awk; do
    command -v "$bin" >/dev/null || skip "$bin is not installed"
done
[ -r "$DIVS_CLI" ] || { echo "npm run bench: $DIVS_CLI is missing: run npm run build first" >&2; exit 1; }
for n in RUNS TCP_SECS UDP_SECS PACED_SECS IDLE_SECS PING_N PACED_TRIES DEADLINE_S; do
    [[ "${!n}" =~ ^[1-9][0-9]*$ ]] || { echo "dataplane.sh: $n must be a positive integer" >&2; exit 2; }
done
IMPAIRMENT='(nofrag|loss=[0-9]+(\.[0-9]+)?)'
for profile in $PROFILES; do
    [[ "$profile" =~ ^(clean|$IMPAIRMENT(,$IMPAIRMENT)*)$ ]] ||
        { echo "dataplane.sh: PROFILES: '$profile' is not clean nor a list of nofrag, loss=PCT" >&2; exit 2; }
done
# a profile is a key of the report: listed twice, its two measurements would merge (use RUNS to repeat)
[ "$(tr ' ' '\n' <<<"$PROFILES" | grep -c .)" = "$(tr ' ' '\n' <<<"$PROFILES" | grep . | sort -u | wc -l)" ] ||
    { echo "dataplane.sh: PROFILES lists a profile twice (RUNS repeats them)" >&2; exit 2; }

# One bench at a time on this machine: a second one would take the first one's namespaces for stale
# leftovers and delete them (both use fixed names, as peers.sh does), and would share its 2 cores.
LOCK=/run/lock/divs-bench.lock LOCK_WAIT_S=${LOCK_WAIT_S:-900}
exec 9>>"$LOCK"
if ! flock -n 9; then
    echo "dataplane.sh: another bench holds $LOCK; waiting up to ${LOCK_WAIT_S}s" >&2
    flock -w "$LOCK_WAIT_S" 9 || { echo "dataplane.sh: $LOCK still held after ${LOCK_WAIT_S}s, giving up" >&2; exit 1; }
fi

# shellcheck source=/dev/null
. "$(dirname "$PEERS_SH")/netns.sh"

NSA=pb-dv-a NSB=pb-dv-b                 # not pb-a/pb-b: those are peers.sh's
UL_A=198.19.0.1 UL_B=198.19.0.2
OV_A=198.18.0.1 OV_B=198.18.0.2
DIVS_PORT=4790 IPERF_PORT=5201 TAP=dv0
PEERS_PID=""                            # a running peers.sh, killed (and its namespaces removed) on abort

# The namespaces a killed peers.sh leaves behind are ours to remove: we started it.
bench_cleanup() {
    local rc=$?
    if [ -n "$PEERS_PID" ] && kill -0 "$PEERS_PID" 2>/dev/null; then
        nb_kill "$PEERS_PID"
        nb_ns_del pb-b; nb_ns_del pb-a
    fi
    (exit "$rc"); nb_cleanup
}

nb_init pb-dataplane || exit 1
trap bench_cleanup EXIT
RESULTS=$NB_TMP/results.txt             # "run=N system=S key=value ..." lines, merged per run and system
: >"$RESULTS"

# Whole-run watchdog (as in peers.sh): TERM ourselves, the cleanup trap runs; every foreground command
# below is bounded by `timeout`, so the trap runs within seconds.
MAIN_PID=$$
( trap 'kill "$sp" 2>/dev/null; exit 0' TERM
  for ((i = 0; i < DEADLINE_S; i++)); do
      sleep 1 & sp=$!; wait "$sp"
      kill -0 "$MAIN_PID" 2>/dev/null || exit 0
  done
  echo "dataplane.sh: deadline of ${DEADLINE_S}s reached, stopping" >&2; kill -TERM "$MAIN_PID" ) &
NB_PIDS+=("$!")

# ------------------------------------------------------------------ peers --
# peers_run OUT VAR=VALUE... : peers.sh with these settings, in the background so a TERM reaches our
# trap at once; its `system=` lines go to OUT, its progress to our stderr.
peers_run() {
    local out=$1 rc; shift
    env "$@" TCP_SECS="${PEER_TCP_SECS:-$TCP_SECS}" PING_N="${PEER_PING_N:-$PING_N}" PING_I="$PING_I" \
        bash "$PEERS_SH" >"$out" &
    PEERS_PID=$!
    wait "$PEERS_PID"; rc=$?
    PEERS_PID=""
    return $rc
}

# --------------------------------------------------------------- profiles --
# impair_spec PROFILE -> the nb_impair / UNDERLAY_IMPAIR spec ("none" for clean)
impair_spec() { if [ "$1" = clean ]; then echo none; else echo "$1"; fi; }

# loss_ok PROFILE -> the loss a paced try may show and still pass: LOSS_OK_PCT plus the loss the profile
# adds on purpose (a datagram crosses one impaired ingress, the receiver's)
loss_ok() {
    awk -v ok="$LOSS_OK_PCT" -v p="$1" 'BEGIN { n = split(p, a, ",")
        for (i = 1; i <= n; i++) if (a[i] ~ /^loss=/) ok += substr(a[i], 6)
        print ok }'
}

# profile_peers PROFILE SYSTEMS... -> the systems measured on PROFILE: all on clean, else those in IMPAIRED_PEERS
profile_peers() {
    local profile=$1 s; shift
    for s in "$@"; do
        [ "$profile" = clean ] || [[ " $IMPAIRED_PEERS " == *" $s "* ]] && echo "$s"
    done
}

# -------------------------------------------------------------- fragments --
# Every underlay end counts the IPv4 fragments reaching its ingress in a table of its own (dvfrag, priority
# -10: before nb_impair's nbimp at 0 drops them), on every profile; nbimp's own counter says how many
# of them a nofrag profile dropped.

# frag_count_add NS : the dvfrag counter on NS's ul0
frag_count_add() {
    ip netns exec "$1" nft -f - 2>/dev/null <<'EOF'
table netdev dvfrag {
    chain ingress { type filter hook ingress device "ul0" priority -10; ip frag-off & 0x3fff != 0 counter; }
}
EOF
}

# frag_counts NS -> "SEEN DROPPED": dvfrag's count and nbimp's fragment drops (NA without a nofrag rule);
# nothing when NS has no dvfrag table (yet, or any more)
frag_counts() {
    ip netns exec "$1" nft list ruleset 2>/dev/null | awk '
        $1 == "table" { t = $3 }
        /frag-off/ { for (i = 1; i < NF; i++) if ($i == "packets") { if (t == "dvfrag") s = $(i + 1); else if (t == "nbimp") d = $(i + 1) } }
        END { if (s != "") print s, (d == "" ? "NA" : d) }'
}

# frags_sum "SEEN DROPPED" "SEEN DROPPED" -> FRAGS_SEEN FRAGS_DROPPED, both ends together (NA when an end is)
frags_sum() {
    read -r FRAGS_SEEN FRAGS_DROPPED < <(awk -v a="$1" -v b="$2" 'BEGIN { split(a, x, " "); split(b, y, " ")
        print (x[1] ~ /^[0-9]+$/ && y[1] ~ /^[0-9]+$/ ? x[1] + y[1] : "NA"),
              (x[2] ~ /^[0-9]+$/ && y[2] ~ /^[0-9]+$/ ? x[2] + y[2] : "NA") }')
}

# frag_sampler NS... (run in the background while peers.sh measures one system in NS): adds the dvfrag
# counter as soon as NS has its ul0 and keeps the latest "SEEN DROPPED" in $NB_TMP/frags-NS.txt. peers.sh
# deletes NS, counters and all, when the system is done: the last sample (at most 0.5 s before, after
# the last test) stands for the run.
frag_sampler() {
    local ns c
    while :; do
        for ns in "$@"; do
            [ -e "/run/netns/$ns" ] || continue
            c=$(frag_counts "$ns")
            if [ -n "$c" ]; then echo "$c" >"$NB_TMP/frags-$ns.txt"; else frag_count_add "$ns"; fi
        done
        sleep 0.5
    done
}

# peer_bench SYSTEM OUT : peers.sh for SYSTEM on the current profile, its lines into OUT with the fragment
# counts of its underlay appended
peer_bench() {
    local s=$1 out=$2 one=$NB_TMP/peers-one.txt sampler
    rm -f "$NB_TMP/frags-pb-a.txt" "$NB_TMP/frags-pb-b.txt"
    frag_sampler pb-a pb-b &
    sampler=$!
    NB_PIDS+=("$sampler")
    peers_run "$one" SYSTEMS="$s" UNDERLAY_IMPAIR="$SPEC" UDP_SECS="$UDP_SECS" UDP_RATE=0 \
        DEADLINE_S=$((60 + TCP_SECS + UDP_SECS + PING_N / 10 + 50))
    nb_stop "$sampler"
    frags_sum "$(cat "$NB_TMP/frags-pb-a.txt" 2>/dev/null)" "$(cat "$NB_TMP/frags-pb-b.txt" 2>/dev/null)"
    sed "/^system=/s/\$/ frags_seen=$FRAGS_SEEN frags_dropped=$FRAGS_DROPPED/" "$one" >>"$out"
}

# ----------------------------------------------------------- measurements --
# cpu_ticks PID : utime+stime (clock ticks) of a process, all its threads
cpu_ticks() { awk '{sub(/.*\) /, ""); print $12 + $13}' "/proc/$1/stat" 2>/dev/null || echo NA; }
# peak_rss_kib PID : VmHWM
peak_rss_kib() { awk '/^VmHWM:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo NA; }

# iperf_client OUT DST ARGS... : as peers.sh: one-off server in pb-dv-b, client in pb-dv-a.
iperf_client() {
    local out=$1 dst=$2 srv rc; shift 2
    nb_bg "$NSB" "$NB_TMP/iperf-srv.log" iperf3 -s -1 -B "$dst" -p "$IPERF_PORT"
    srv=$NB_LASTPID
    if ! nb_wait_listen "$NSB" "$IPERF_PORT" 5; then nb_stop "$srv"; return 1; fi
    timeout -k 3 $((TCP_SECS + UDP_SECS + 20)) ip netns exec "$NSA" \
        iperf3 -c "$dst" -p "$IPERF_PORT" --connect-timeout 3000 -J "$@" >"$out" 2>&1
    rc=$?
    nb_stop "$srv"
    return $rc
}

# Functions that start processes return through globals, never through $(...) or <(...): a subshell
# would keep the pids it started from the cleanup trap.

# udp64 SECS RATE_BPS -> UDP_RX (received pps) UDP_LOSS (%) UDP_TX (sent pps), NA on failure
udp64() {
    local j=$NB_TMP/udp.json
    UDP_RX=NA UDP_LOSS=NA UDP_TX=NA
    if iperf_client "$j" "$OV_B" -u -b "$2" -l 64 -t "$1"; then
        # iperf3 can exit 0 without the receiver's figures (its end-of-test exchange lost on a lossy path)
        read -r UDP_RX UDP_LOSS UDP_TX < <(jq -r '.end | [(.sum_received | (.packets - .lost_packets) / .seconds | floor),
            (.sum_received.lost_percent * 100 | round / 100), (.sum_sent | .packets / .seconds | floor)] |
            map(tostring) | join(" ")' "$j" 2>/dev/null || echo NA NA NA)
        [ "$UDP_RX" = NA ] && nb_log "udp test: no receiver figures in iperf3's report"
    else
        nb_log "udp test failed: $(jq -r '.error // empty' "$j" 2>/dev/null || tail -c 200 "$j")"
    fi
}

# lossfree TRY_CMD FLOOD_PPS -> LF_PPS (received) LF_RATE (offered), NA when no try passed, and LF_FAIL
# (the lowest offered rate that lost more, NA when none did: then LF_PPS is only a lower bound). Paced tries
# start at the flooded receive rate; a try passes when it loses < LOSS_OK (the profile's loss_ok). Until
# one passes the rate halves; until one fails it doubles (flooding starves a userspace daemon of CPU, so
# its loss-free rate can be well above its flooded receive rate); then bisection between the two. At most
# PACED_TRIES tries, fewer once the gap is under 5%; a try without figures is repeated once. TRY_CMD
# RATE_PPS sets UDP_RX and UDP_LOSS.
lossfree() {
    local try=$1 rate=$2 i=0 best_rate=NA fail= repeated=
    LF_PPS=NA LF_RATE=NA LF_FAIL=NA
    [[ "$rate" =~ ^[0-9]+$ ]] && [ "$rate" -gt 0 ] || return 0
    while [ $i -lt "$PACED_TRIES" ] && [ "$rate" -gt 0 ]; do
        i=$((i + 1))
        "$try" "$rate"
        nb_log "  paced $rate pps: received $UDP_RX pps, loss $UDP_LOSS %"
        # No figures (iperf3 lost its end-of-test exchange, as on a lossy path) is no measured loss:
        # the same rate once more, as a try of its own.
        if ! [[ "$UDP_LOSS" =~ ^[0-9.]+$ ]] && [ "$repeated" != "$rate" ]; then repeated=$rate; continue; fi
        if [[ "$UDP_LOSS" =~ ^[0-9.]+$ ]] && awk -v l="$UDP_LOSS" -v ok="$LOSS_OK" 'BEGIN {exit !(l < ok)}'; then
            LF_PPS=$UDP_RX LF_RATE=$rate best_rate=$rate
        else
            fail=$rate LF_FAIL=$rate
        fi
        if [ "$best_rate" = NA ]; then rate=$((rate / 2))
        elif [ -z "$fail" ]; then rate=$((rate * 2))
        else
            [ "$fail" -le $((best_rate * 105 / 100)) ] && break
            rate=$(((best_rate + fail) / 2))
        fi
    done
}

# ping_stats DST -> "avg p50 p99 loss_pct"
ping_stats() {
    local out
    out=$(timeout $((PING_N / 10 + 30)) ip netns exec "$NSA" ping -n -c "$PING_N" -i "$PING_I" -W 1 "$1" 2>&1)
    {
        awk -F/ '/^rtt/ {print "avg", $5}' <<<"$out"
        sed -n 's/.* \([0-9.]*\)% packet loss.*/loss \1/p' <<<"$out"
        sed -n 's/.* time=\([0-9.]*\) ms.*/\1/p' <<<"$out" | sort -g | awk '{a[NR] = $1} END {
            if (!NR) exit
            printf "p50 %.3f\n", (NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2)
            r = int(0.99 * NR); if (r < 0.99 * NR) r++          # nearest rank
            printf "p99 %.3f\n", a[r] }'
    } | awk '{v[$1] = $2} END {printf "%s %s %s %s\n", ("avg" in v ? v["avg"] : "NA"),
        ("p50" in v ? v["p50"] : "NA"), ("p99" in v ? v["p99"] : "NA"), ("loss" in v ? v["loss"] : "NA")}'
}

# sealed_check -> WIRE: "sealed" when every DiVS underlay datagram seen during a few pings is a transport
# envelope (byte 1 = 0x81..0x84, docs/wire.md), "plaintext" when any is a bare DiVS datagram.
sealed_check() {
    local cap=$NB_TMP/wire.txt
    timeout 8 ip netns exec "$NSB" tcpdump -i ul0 -c 8 -nn -x -l "udp port $DIVS_PORT" >"$cap" 2>/dev/null &
    local td=$!
    NB_PIDS+=("$td")
    nb_wait_ping "$NSB" "$UL_A" 2 >/dev/null   # let tcpdump open its socket
    timeout 6 ip netns exec "$NSA" ping -n -q -c 10 -i 0.1 -W 1 "$OV_B" >/dev/null 2>&1
    wait "$td"; nb_stop "$td"
    awk 'function done() { if (hex != "") { ihl = index("0123456789abcdef", substr(hex, 2, 1)) * 4 - 4
                                             t = substr(hex, 2 * (ihl + 8 + 1) + 1, 2); n++
                                             if (t !~ /^8[1-4]$/) plain++ }; hex = "" }
         /^[0-9]/ { done(); next }
         /^[ \t]+0x[0-9a-f]+:/ { for (i = 2; i <= NF; i++) hex = hex $i }
         END { done(); print (n == 0 ? "unknown" : (plain ? "plaintext" : "sealed")) }' "$cap" >"$cap.verdict"
    WIRE=$(cat "$cap.verdict")
}

# --------------------------------------------------------------- DiVS ------
DIVS_A="" DIVS_B=""

# divs_up NS LOG NAME UL OV [ARGS...] ; pid -> NB_LASTPID. Without a DIVS_KEY or DIVS_TOKEN from our environment:
# the key goes only where the harness puts it.
divs_up() {
    local ns=$1 log=$2 name=$3 ul=$4 ov=$5 runtime=$6 state=(); shift 6
    # One state directory (identity key) per node: both use the same TAP name, the default's key.
    timeout 10 node "$DIVS_CLI" up --help 2>&1 | grep -q -- --state-dir && state=(--state-dir "$NB_TMP/$name.state")
    nb_bg "$ns" "$log" env -u DIVS_KEY -u DIVS_TOKEN node "$DIVS_CLI" up --runtime "$runtime" --name "$name" \
        --listen "$ul:$DIVS_PORT" --tap "$TAP" --address "$ov/24" --control "$NB_TMP/$name.sock" "${state[@]}" "$@" $DIVS_UP_ARGS
    # Under Deno too the node is this process: `divs up --runtime deno` becomes deno (execve).
}

# divs_setup -> 0 ready; else REASON set
divs_setup() {
    local t0 token keyargs=() joinargs=()
    nb_ns_add "$NSA" && nb_ns_add "$NSB" && nb_veth "$NSA" ul0 "$UL_A/24" "$NSB" ul0 "$UL_B/24" 1500 &&
        nb_impair "$NSA" ul0 "$SPEC" && nb_impair "$NSB" ul0 "$SPEC" &&
        frag_count_add "$NSA" && frag_count_add "$NSB" &&
        nb_wait_ping "$NSA" "$UL_B" 5 || { REASON=underlay_setup_failed; return 1; }
    # A network key when this build has the security layer (divs keygen, docs/security.md);
    # node B gets it only through A's join token, as a user would.
    if timeout 10 node "$DIVS_CLI" up --help 2>&1 | grep -q -- --key-file &&
       (umask 077; timeout 10 node "$DIVS_CLI" keygen >"$NB_TMP/network.key" 2>/dev/null) &&
       [ -s "$NB_TMP/network.key" ]; then
        keyargs=(--key-file "$NB_TMP/network.key")
    fi
    divs_up "$NSA" "$NB_TMP/divs-a.log" bench-a "$UL_A" "$OV_A" "$RUNTIME_A" "${keyargs[@]}"; DIVS_A=$NB_LASTPID
    t0=$SECONDS
    # `divs token` asks the node (builds before it printed "join token: ..." at start).
    until token=$(sed -n 's/^join token: *//p' "$NB_TMP/divs-a.log" | head -1
                  timeout 5 node "$DIVS_CLI" token --control "$NB_TMP/bench-a.sock" 2>/dev/null) && [ -n "$token" ]; do
        kill -0 "$DIVS_A" 2>/dev/null || { REASON=node_a_exited; return 1; }
        [ $((SECONDS - t0)) -ge 15 ] && { REASON=no_join_token; return 1; }
        sleep 0.1
    done
    # A token carrying the key goes in a file where the build takes one (--join-file), never on a command line.
    if timeout 10 node "$DIVS_CLI" up --help 2>&1 | grep -q -- --join-file; then
        (umask 077; printf '%s\n' "$token" >"$NB_TMP/join.token")
        joinargs=(--join-file "$NB_TMP/join.token")
    else
        joinargs=(--join "$token")
    fi
    divs_up "$NSB" "$NB_TMP/divs-b.log" bench-b "$UL_B" "$OV_B" "$RUNTIME_B" "${joinargs[@]}"; DIVS_B=$NB_LASTPID
    nb_wait_ping "$NSA" "$OV_B" 20 || { REASON=no_overlay_ping; return 1; }
    kill -0 "$DIVS_B" 2>/dev/null || { REASON=node_b_exited; return 1; }
    return 0
}

# node_errors NAME RUN -> the node's error and drop counters (core, host and secure transport) that are
# not 0, as "name:count,..." ("none" when all are 0; NA when the node did not answer). Saved in full too.
node_errors() {
    local f=$NB_TMP/status-$1-run$2-$PROFILE.json
    timeout 5 node "$DIVS_CLI" status --json --control "$NB_TMP/$1.sock" >"$f" 2>/dev/null || { echo NA; return; }
    jq -r '[(.counters // {}), (.security.counters // {}) | to_entries[] | select(.value > 0) |
        select(.key | test("malformed|overflow|truncated|bad_|unknown|too_big|misdirected|errors|replayed|too_old|decrypt_failed|queue_dropped|no_session|rate_limited|wrong_source|timeouts")) |
        "\(.key):\(.value)"] | if length == 0 then "none" else join(",") end' "$f" 2>/dev/null || echo NA
}

divs_try_paced() { udp64 "$PACED_SECS" $(($1 * 512)); }

# divs_bench RUN : one `system=divs ...` line into RESULTS
divs_bench() {
    local run=$1 tcpj c0a c0b c1a c1b t0 t1 hz tcp=NA retr=NA cpua=NA cpub=NA crypto
    local ping_avg ping_p50 ping_p99 ping_loss flood flood_loss flood_tx warm_avg warm_p50 warm_p99 warm_loss
    REASON=""
    if ! divs_setup; then
        echo "run=$run profile=$PROFILE system=divs status=failed reason=$REASON" >>"$RESULTS"
        nb_log "divs: $REASON; node logs:"; tail -n 8 "$NB_TMP"/divs-*.log >&2
        divs_down; return
    fi
    sealed_check
    [ "$WIRE" = sealed ] && crypto=chacha20poly1305 || crypto="none($WIRE)"
    nb_log "divs: overlay up, wire: $crypto"
    read -r ping_avg ping_p50 ping_p99 ping_loss < <(ping_stats "$OV_B")

    tcpj=$NB_TMP/tcp.json hz=$(getconf CLK_TCK)
    c0a=$(cpu_ticks "$DIVS_A") c0b=$(cpu_ticks "$DIVS_B") t0=$(date +%s.%N)
    if iperf_client "$tcpj" "$OV_B" -t "$TCP_SECS"; then
        c1a=$(cpu_ticks "$DIVS_A") c1b=$(cpu_ticks "$DIVS_B") t1=$(date +%s.%N)
        tcp=$(jq -r '.end.sum_received.bits_per_second / 1e6 | floor' "$tcpj" 2>/dev/null) || tcp=NA
        retr=$(jq -r '.end.sum_sent.retransmits // "NA"' "$tcpj")
        cpua=$(awk -v c=$((c1a - c0a)) -v hz="$hz" -v t0="$t0" -v t1="$t1" 'BEGIN {printf "%.0f", 100 * c / hz / (t1 - t0)}')
        cpub=$(awk -v c=$((c1b - c0b)) -v hz="$hz" -v t0="$t0" -v t1="$t1" 'BEGIN {printf "%.0f", 100 * c / hz / (t1 - t0)}')
    else
        nb_log "divs: tcp test failed: $(jq -r '.error // empty' "$tcpj" 2>/dev/null || tail -c 200 "$tcpj")"
    fi

    udp64 "$UDP_SECS" 0; flood=$UDP_RX flood_loss=$UDP_LOSS flood_tx=$UDP_TX
    nb_log "divs: flooded 64-byte UDP: received $flood pps, loss $flood_loss %; finding the loss-free rate"
    lossfree divs_try_paced "$flood"
    # The same pings once the loads have run: V8 has optimized the per-packet path by then, which a
    # fresh node's first pings run before (docs/performance.md "A ping, system call by system call").
    read -r warm_avg warm_p50 warm_p99 warm_loss < <(ping_stats "$OV_B")

    # idle: both nodes, no traffic but membership, after the load
    local alive=ok rssa rssb idle=NA
    c0a=$(cpu_ticks "$DIVS_A") c0b=$(cpu_ticks "$DIVS_B") t0=$(date +%s.%N)
    sleep "$IDLE_SECS"
    c1a=$(cpu_ticks "$DIVS_A") c1b=$(cpu_ticks "$DIVS_B") t1=$(date +%s.%N)
    [[ "$c0a$c0b$c1a$c1b" =~ ^[0-9]+$ ]] && idle=$(awk -v c=$((c1a - c0a + c1b - c0b)) -v hz="$hz" -v t0="$t0" -v t1="$t1" \
        'BEGIN {printf "%.1f", 100 * c / hz / (t1 - t0)}')
    local p; for p in "$DIVS_A" "$DIVS_B"; do kill -0 "$p" 2>/dev/null || alive=node_died; done
    rssa=$(peak_rss_kib "$DIVS_A") rssb=$(peak_rss_kib "$DIVS_B")
    # where it goes (docs/performance.md "Memory"), on stderr with the progress
    [ "$alive" = ok ] && node "$HERE/rss-parts.mjs" "$DIVS_A" "$DIVS_B" >&2
    local errs_a errs_b
    errs_a=$(node_errors bench-a "$run") errs_b=$(node_errors bench-b "$run")
    frags_sum "$(frag_counts "$NSA")" "$(frag_counts "$NSB")"
    echo "run=$run profile=$PROFILE system=divs tcp_mbps=$tcp rtt_avg_ms=$ping_avg rtt_p50_ms=$ping_p50 rtt_p99_ms=$ping_p99" \
         "ping_loss_pct=$ping_loss udp64_pps=$flood udp64_loss_pct=$flood_loss udp64_tx_pps=$flood_tx" \
         "udp64_lossfree_pps=$LF_PPS udp64_lossfree_rate_pps=$LF_RATE udp64_lossfree_fail_pps=$LF_FAIL" \
         "rtt_warm_avg_ms=$warm_avg rtt_warm_p50_ms=$warm_p50 tcp_retr=$retr" \
         "tcp_daemon_cpu_pct=$([ "$cpua" = NA ] && echo NA || echo $((cpua + cpub)))" \
         "cpu_a_pct=$cpua cpu_b_pct=$cpub idle_cpu_pct=$idle rss_a_kib=$rssa rss_b_kib=$rssb" \
         "errors_a=$errs_a errors_b=$errs_b frags_seen=$FRAGS_SEEN frags_dropped=$FRAGS_DROPPED" \
         "mtu=$(ip -n "$NSA" -o link show "$TAP" | sed -n 's/.* mtu \([0-9]*\).*/\1/p') layer=L2" \
         "crypto=$crypto note=userspace_node status=$alive" >>"$RESULTS"
    [ "$alive" = ok ] || { nb_log "divs: a node died during the run; logs:"; tail -n 8 "$NB_TMP"/divs-*.log >&2; }
    local n; for n in a b; do cp "$NB_TMP/divs-$n.log" "$NB_TMP/divs-$n-run$run-$PROFILE.log" 2>/dev/null; done
    divs_down
}

divs_down() {
    local p
    for p in $DIVS_B $DIVS_A; do nb_stop "$p"; done
    DIVS_A="" DIVS_B=""
    nb_ns_del "$NSB"; nb_ns_del "$NSA"
}

# ------------------------------------------------------------------ runs ----
# peer_try_paced RATE_PPS -> UDP_RX UDP_LOSS: peers.sh for PACED_SYSTEM at a paced rate
# (its TCP and ping parts cut to the minimum; only the UDP figures are used).
PACED_SYSTEM=""
peer_try_paced() {
    local out=$NB_TMP/peers-paced.txt
    PEER_TCP_SECS=1 PEER_PING_N=5 peers_run "$out" SYSTEMS="$PACED_SYSTEM" UNDERLAY_IMPAIR="$SPEC" UDP_SECS="$PACED_SECS" \
        UDP_RATE=$(($1 * 512)) DEADLINE_S=120 2>>"$NB_TMP/peers-paced.log"
    UDP_RX=$(sed -n "s/^system=$PACED_SYSTEM .* udp64_pps=\([^ ]*\) .*/\1/p" "$out")
    UDP_LOSS=$(sed -n "s/^system=$PACED_SYSTEM .* udp64_loss_pct=\([^ ]*\) .*/\1/p" "$out")
    : "${UDP_RX:=NA}" "${UDP_LOSS:=NA}"
}

VERSIONS=""
SPEC=none LOSS_OK=$LOSS_OK_PCT PROFILE=clean
for ((run = 1; run <= RUNS; run++)); do
    for PROFILE in $PROFILES; do
        SPEC=$(impair_spec "$PROFILE") LOSS_OK=$(loss_ok "$PROFILE")
        tag="run $run of $RUNS, profile $PROFILE"
        out=$NB_TMP/peers-run$run-$PROFILE.txt
        : >"$out"
        # shellcheck disable=SC2086
        for s in $(profile_peers "$PROFILE" $PEERS); do
            nb_log "##### $tag: $s"
            peer_bench "$s" "$out"
        done
        [ -n "$VERSIONS" ] || VERSIONS=$(sed -n 's/^versions //p' "$out" | head -1)
        sed -n "s/^system=/run=$run profile=$PROFILE system=/p" "$out" >>"$RESULTS"

        nb_log "##### $tag: divs"
        divs_bench "$run"

        # shellcheck disable=SC2086
        for PACED_SYSTEM in $(profile_peers "$PROFILE" $PACED_PEERS); do
            flood=$(sed -n "s/^system=$PACED_SYSTEM .* udp64_pps=\([^ ]*\) .*/\1/p" "$out")
            [ -n "$flood" ] || continue     # not measured in this run (not in PEERS, or it failed)
            nb_log "##### $tag: $PACED_SYSTEM loss-free 64-byte UDP rate (flooded: ${flood:-NA} pps, loss ok < $LOSS_OK %)"
            lossfree peer_try_paced "${flood:-NA}"
            echo "run=$run profile=$PROFILE system=$PACED_SYSTEM udp64_lossfree_pps=$LF_PPS udp64_lossfree_rate_pps=$LF_RATE" \
                 "udp64_lossfree_fail_pps=$LF_FAIL" >>"$RESULTS"
        done
    done
done

# ----------------------------------------------------------------- report ---
# Every line -> an object; one object per run, profile and system; medians over runs; ratios per run, then
# their medians. Lower is better for RTT, CPU and RSS, so a ratio < 1 there means DiVS is better. The
# targets (issue 13) are checked on the medians (with RUNS=1, the run).
REPORT=$NB_TMP/report.json
jq -R -s --arg versions "$VERSIONS" --arg profiles "$PROFILES" \
   --argjson cfg "$(jq -n --argjson runs "$RUNS" --argjson tcp "$TCP_SECS" --argjson udp "$UDP_SECS" \
       --argjson paced "$PACED_SECS" --argjson ping_n "$PING_N" --arg ping_i "$PING_I" \
       --arg loss_ok "$LOSS_OK_PCT" --argjson tries "$PACED_TRIES" --arg impaired_peers "$IMPAIRED_PEERS" \
       '{runs: $runs, tcp_secs: $tcp, udp_secs: $udp, paced_secs: $paced, ping_n: $ping_n,
         ping_i: ($ping_i | tonumber), loss_ok_pct: ($loss_ok | tonumber), paced_tries: $tries,
         impaired_peers: $impaired_peers}')" '
  def val: if . == "NA" or . == "" then null else (tonumber? // .) end;
  def median: map(select(type == "number")) | sort |
    if length == 0 then null elif length % 2 == 1 then .[length / 2 | floor]
    else (.[length / 2 - 1] + .[length / 2]) / 2 end;
  def metrics: ["tcp_mbps", "rtt_avg_ms", "rtt_p50_ms", "rtt_p99_ms", "udp64_pps", "udp64_lossfree_pps",
                "tcp_daemon_cpu_pct", "idle_cpu_pct", "rss_kib"];
  def round3: if type == "number" then (. * 1000 | round / 1000) else . end;
  def ratio($a; $b): if ($a | type) == "number" and ($b | type) == "number" and $b != 0
                     then ($a / $b * 1000 | round / 1000) else null end;
  def ratios($sys): ($sys.divs // {}) as $d |
    reduce (("tinc", "vxlan") | select($sys[.] != null)) as $p ({}; .["divs/" + $p] =
      (reduce metrics[] as $m ({}; .[$m] = ratio($d[$m]; $sys[$p][$m]))));
  def tcp_target($p): if $p == "clean" then 2 elif ($p | test("nofrag")) then 1.5 else 1 end;
  # issue 13: ratios to tinc in the same run, and no IPv4 fragment from DiVS on the underlay
  def targets($p; $r; $frags): [
      {metric: "tcp_mbps", of: "divs/tinc", value: $r["divs/tinc"].tcp_mbps, op: ">=", target: tcp_target($p)},
      {metric: "rtt_avg_ms", of: "divs/tinc", value: $r["divs/tinc"].rtt_avg_ms, op: "<=", target: 1},
      {metric: "udp64_lossfree_pps", of: "divs/tinc", value: $r["divs/tinc"].udp64_lossfree_pps, op: ">=", target: 1.5},
      {metric: "frags_seen", of: "divs", value: $frags, op: "==", target: 0}] |
    map(.pass = (if .value == null then null elif .op == ">=" then .value >= .target
                 elif .op == "<=" then .value <= .target else .value == .target end));
  [$profiles | splits(" +") | select(length > 0)] as $pnames |
  [split("\n")[] | select(startswith("run=")) | [splits(" +") | select(length > 0) |
     capture("^(?<key>[^=]+)=(?<value>.*)$") | .value = (.value | val)] | from_entries |
     .profile |= tostring] as $lines |
  [$lines[] | .run] | unique | map(. as $r |
    {run: $r, profiles: (reduce $pnames[] as $p ({}; .[$p] =
      (reduce ($lines[] | select(.run == $r and .profile == $p)) as $l ({}; .[$l.system] += ($l | del(.run, .profile))) |
       with_entries(.value = (.value + {rss_kib: (if .value.rss_a_kib then ([.value.rss_a_kib, .value.rss_b_kib] | max) else null end)})) |
       {systems: ., ratios: ratios(.)} | .targets = targets($p; .ratios; .systems.divs.frags_seen))))}) as $runs |
  (reduce $pnames[] as $p ({}; .[$p] =
    ((reduce ($lines[] | select(.profile == $p) | .system) as $s ([]; if index([$s]) then . else . + [$s] end)) as $names |
     (reduce $names[] as $s ({}; .[$s] = ($runs[-1].profiles[$p].systems[$s] // {} | {mtu, crypto, status: "median"}) +
        (reduce (metrics[], "rtt_warm_avg_ms", "rtt_warm_p50_ms", "frags_seen", "frags_dropped", "udp64_loss_pct", "cpu_a_pct", "cpu_b_pct", "rss_a_kib", "rss_b_kib") as $m
          ({}; .[$m] = ([$runs[].profiles[$p].systems[$s][$m]] | median | round3))))) as $sys |
     (reduce ([$runs[].profiles[$p].ratios | keys[]] | unique)[] as $k ({}; .[$k] =
        (reduce metrics[] as $m ({}; .[$m] = ([$runs[].profiles[$p].ratios[$k][$m]] | median | round3))))) as $rat |
     {systems: $sys, ratios: $rat,
      targets: targets($p; $rat; ([$runs[].profiles[$p].systems.divs.frags_seen | numbers] | max))}))) as $med |
  {config: $cfg, versions: $versions, profiles: $pnames, runs: $runs, median: {profiles: $med}}
' "$RESULTS" >"$REPORT" || { echo "dataplane.sh: could not build the report from $RESULTS" >&2; cat "$RESULTS" >&2; exit 1; }

if [ "$JSON" = 1 ]; then
    cat "$REPORT"
else
    # per run and profile a table and its ratios, then the medians when RUNS > 1, then the targets
    jq -r '
      def cell: if . == null then "NA" elif type == "number" then (. * 1000 | round / 1000 | tostring) else tostring end;
      def table($title; $systems):
        "\n== \($title)",
        (["system", "tcp_mbps", "rtt_avg_ms", "rtt_p50_ms", "rtt_p99_ms", "udp64_pps", "loss_pct",
          "lossfree_pps", "cpu_pct", "idle_cpu", "rss_mib", "frags_seen", "frags_drop", "mtu", "crypto", "status"] | join("\t")),
        ($systems | to_entries[] | .key as $k | .value |
          [$k, .tcp_mbps, .rtt_avg_ms, .rtt_p50_ms, .rtt_p99_ms, .udp64_pps, .udp64_loss_pct,
           .udp64_lossfree_pps, .tcp_daemon_cpu_pct, .idle_cpu_pct,
           (if .rss_kib then (.rss_kib / 1024 | round) else null end), .frags_seen, .frags_dropped, .mtu, .crypto,
           .status,
           (if .reason then "reason=" + .reason else empty end)] | map(cell) | join("\t")),
        ($systems | to_entries[] | select(.value.rss_a_kib) |
          "\(.key): peak RSS per node, MiB: A \(.value.rss_a_kib | tonumber / 1024 | round), B \(.value.rss_b_kib | tonumber / 1024 | round)"),
        ($systems | select(.divs.rtt_warm_avg_ms != null) |
          "divs: RTT after the loads, ms: avg \(.divs.rtt_warm_avg_ms | cell), p50 \(.divs.rtt_warm_p50_ms | cell)" +
          (if .tinc.rtt_avg_ms then ", \(.divs.rtt_warm_avg_ms / .tinc.rtt_avg_ms | cell)x tinc avg" else "" end));
      def ratiotable($title; $r):
        "\n== \($title) (>1 is better for tcp/pps; <1 is better for rtt/cpu/rss)",
        (["ratio", "tcp_mbps", "rtt_avg_ms", "rtt_p50_ms", "rtt_p99_ms", "udp64_pps", "lossfree_pps",
          "cpu_pct", "rss"] | join("\t")),
        ($r | to_entries[] | [.key, .value.tcp_mbps, .value.rtt_avg_ms, .value.rtt_p50_ms, .value.rtt_p99_ms,
          .value.udp64_pps, .value.udp64_lossfree_pps, .value.tcp_daemon_cpu_pct, .value.rss_kib] |
          map(cell) | join("\t"));
      "versions: \(.versions)",
      "config: \(.config | to_entries | map("\(.key)=\(.value)") | join(" ")) profiles=\(.profiles | join(","))",
      (.runs[] | .run as $n | .profiles | to_entries[] |
        table("run \($n), profile \(.key)"; .value.systems), ratiotable("run \($n), profile \(.key): ratios"; .value.ratios)),
      (if (.runs | length) > 1 then (.median.profiles | to_entries[] |
         table("median of runs, profile \(.key)"; .value.systems),
         ratiotable("median of the per-run ratios, profile \(.key)"; .value.ratios)) else empty end),
      "\n== targets (issue 13\(if (.runs | length) > 1 then ", on the medians" else "" end))",
      (["profile", "metric", "of", "value", "target", "result"] | join("\t")),
      (.median.profiles | to_entries[] | .key as $p | .value.targets[] |
        [$p, (.metric | sub("^udp64_"; "")), .of, .value, "\(.op) \(.target)", (if .pass == null then "NA" elif .pass then "pass" else "FAIL" end)] |
        map(cell) | join("\t"))
    ' "$REPORT" | awk -F'\t' '/^==|^versions|^config|^$/ {print; next} {
        out = ""; for (i = 1; i <= NF; i++) out = out sprintf(i == 1 ? "%-10s" : (i >= 15 ? " %s" : " %11s"), $i); print out }'
fi
nb_log "total ${SECONDS} s"
