#!/bin/bash
# bench/handover.sh - how long a running TCP connection stalls when an
# underlay address changes, for each change tests/netns/mobility.sh makes.
#
# Usage (root):  bench/handover.sh          [BENCH_RUNS=10 per change]
#                BENCH_KEYS="a c" bench/handover.sh   (only these changes)
#                top_builddir=DIR top_srcdir=DIR bench/handover.sh
#
# The lab and the changes are mobility.sh's (sourced with MOB_SOURCED=1):
# a behind a port-restricted NAT, b public and dual-stack, the stream of
# tests/netns/ntm_stream from a to b's name (4 KB every 2 ms both ways,
# every byte checked). The changes, BENCH_RUNS times each:
#   a  NAT rebinding (a's NAT forgets its mappings, maps from new ports)
#   b  a's NAT's public address renumbered
#   c  a moved behind the other NAT (alternating between the two)
#   d  IPv4 <-> IPv6-only (alternating: half the runs go to IPv6-only)
#   e  both nodes moved at once
#   f  b's ntm-tund killed -9 and restarted
# Per run: the stall, the longest gap between received bytes in either
# direction from just before the change until the stream has carried 1 MB
# more each way; and "endpoint", the
# time from the start of the change until both nodes' 'ntmctl peers
# --json' show the other at its new endpoint (polled, so only as fine as
# one sample, 50-150 ms; 0 when the change keeps the endpoints, as a
# restart does). A
# run whose stream does not flow within MOB_RESUME s (120) is counted as
# failed, and the next run uses a new connection. "direct": the runs after
# which both nodes showed each other at the new endpoint over a direct path
# within BENCH_DIRECT s (5) of the flow (mobility.sh's mechanism check);
# the others flowed through the relay or over a stale endpoint.
#
# Needs what the NAT tests need (root, /dev/net/tun, nft, a built tree with
# tests/netns/ntm_stream: make check or make tests/netns/ntm_stream). Not
# part of 'make check'. KEEP=1 keeps the temp dir and namespaces.

set -u

BENCH_RUNS=${BENCH_RUNS:-10}
case $BENCH_RUNS in '' | *[!0-9]* | 0) echo "BENCH_RUNS must be a positive integer" >&2; exit 2 ;; esac
BENCH_KEYS=${BENCH_KEYS:-a b c d e f}
BENCH_DIRECT=${BENCH_DIRECT:-5}

repo=$(cd "$(dirname "$0")/.." && pwd)
: "${top_builddir:=$repo}"
: "${top_srcdir:=$repo}"
export top_builddir top_srcdir
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root (network namespaces)"; exit 77; }

MOB_SOURCED=1
MOB_ONLY=$BENCH_KEYS
. "$top_srcdir/tests/netns/mobility.sh"

# stats FILE: "median max" of the numbers in FILE, "- -" when none.
stats() {
	sort -n "$1" | awk '{ v[NR] = $1 } END {
		if (NR == 0) { print "- -"; exit }
		m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		printf "%.0f %.0f\n", m, v[NR] }'
}

# endpoints_poll FILE: every ~50 ms, both views and the wall clock ms
# after reading them (so a sample's time is never before what it shows).
endpoints_poll() {
	local ea eb
	while :; do
		ea=$(peer_field b a endpoint) eb=$(peer_field a b endpoint)
		echo "$(date +%s%3N) $ea $eb"
		sleep 0.05
	done > "$1"
}

# endpoint_ms FILE: ms from the change to the first sample showing both
# expected endpoints (EXP_A, EXP_B are shell patterns), "" when none did.
# shellcheck disable=SC2254
endpoint_ms() {
	local t ea eb
	while read -r t ea eb; do
		case $ea in $EXP_A) ;; *) continue ;; esac
		case $eb in $EXP_B) ;; *) continue ;; esac
		[ "$t" -ge "$CHANGE_T0_MS" ] || t=$CHANGE_T0_MS
		echo $((t - CHANGE_T0_MS))
		return
	done < "$1"
}

# table: the figures so far, one row per change.
table() {
	local key sm sx em ex f d cpu
	cpu=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo)
	echo
	echo "ntm handover benchmark: a TCP stream a <-> b (4 KB / 2 ms each way), $BENCH_RUNS runs per change"
	echo "host: $(nproc) CPUs, ${cpu:-unknown CPU}, kernel $(uname -r)"
	echo
	printf '%-40s %7s %7s %18s %18s\n' change flowed direct "stall med/max ms" "endpoint med/max"
	for key in $BENCH_KEYS; do
		read -r sm sx < <(stats "$T/stall-$key")
		read -r em ex < <(stats "$T/endpoint-$key")
		eval "f=\$FAILS_$key d=\$DIRECT_$key"
		printf '%-40s %7s %7s %18s %18s\n' "($key) ${LABEL[$key]}" "$((BENCH_RUNS - f))/$BENCH_RUNS" "$d" \
			"$sm / $sx" "$em / $ex"
	done
}
# (mobility.sh's summary, called when a new connection cannot be made:
# the figures so far instead; "flowed" then counts the runs made)
summary() { table; }

for key in $BENCH_KEYS; do
	[ -n "${LABEL[$key]:-}" ] || fail "BENCH_KEYS: no change '$key'"
	: > "$T/stall-$key"
	: > "$T/endpoint-$key"
	eval "FAILS_$key=0 DIRECT_$key=0"
done
stream_start
for key in $BENCH_KEYS; do
	for run in $(seq "$BENCH_RUNS"); do
		endpoints_poll "$T/ep.log" &
		poller=$!
		run_change "$key"
		kill "$poller" 2>/dev/null
		wait "$poller" 2>/dev/null
		if [ "$RESUMED" = 0 ]; then
			eval "FAILS_$key=\$((FAILS_$key + 1))"
			echo "($key) run $run: no flow within ${MOB_RESUME}s" >&2
			stream_abandon
			[ "$A_IF" != eth2 ] || a_to a-nat
			stream_start >&2
			continue
		fi
		stall=$STALL_AB
		[ "$STALL_BA" -le "$stall" ] || stall=$STALL_BA
		echo "$stall" >> "$T/stall-$key"
		ep=$(endpoint_ms "$T/ep.log")
		[ -n "$ep" ] && echo "$ep" >> "$T/endpoint-$key"
		if poll_until "$BENCH_DIRECT" mechanism; then
			eval "DIRECT_$key=\$((DIRECT_$key + 1))"
			where=direct
		else
			where="not direct within ${BENCH_DIRECT}s: $MOB_WHY"
		fi
		echo "($key) run $run: stall $stall ms, endpoint ${ep:--} ms after the change; $where" >&2
	done
done
stream_stop >&2

table
