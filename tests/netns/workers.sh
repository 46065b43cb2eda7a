#!/bin/bash
# workers.sh - ntm-tund with `Workers = 2` on both nodes (setup2.sh): ntm0
# with two queues and two sockets on the port, one worker thread beside the
# main thread. TCP both ways with several flows at once and UDP, IPv4 and
# IPv6 inside, every byte checked by the receiver (ntm_xfer); the counters
# show that the worker thread opened DATA and read ntm0 on each node and
# that nothing was dropped for its tag, the replay window or its inner
# source. Every thread runs under the seccomp filter. Then b restarts (new
# sessions, the next worker in turn on a) and the transfers are verified
# again; then b alone runs with one worker against a with two; then b asks
# for two on a kernel that refuses a multi-queue TUN device, then the
# steering program (refuse.c), and runs with one.
# Receive lanes: with two workers on both nodes each takes the other's
# LANES before any transfer, and with many flows both nodes open DATA that
# came under a lane other than the session's own index (one peer's flows
# spread over both threads); with one worker b takes a's lanes but keeps
# the session's index, so a sees no lane traffic.
. "$(dirname "$0")/lib.sh"
require_root
XFER=$top_builddir/tests/netns/ntm_xfer
[ -x "$XFER" ] || skip "tests/netns/ntm_xfer not built (make check builds it)"
[ -f "$top_builddir/tests/netns/.libs/librefuse.so" ] || skip "tests/netns/librefuse.so not built (make check builds it)"
: "${WORKERS_TCP_BYTES:=$((8 << 20))}" "${WORKERS_UDP_COUNT:=3000}" "${WORKERS_FLOWS:=3}"
NODES="a b"
. "$(dirname "$0")/setup2.sh"

forget() {
	local p rest=""
	for p in $PIDS; do [ "$p" = "$1" ] || rest="$rest $p"; done
	PIDS=$rest
}

# set_workers NODE N [REFUSE]: NODE's daemon restarted with `Workers = N`
# (and `Lanes = $LANES` when LANES is set), registered again; with REFUSE
# under the refuse.c shim (NTM_TEST_REFUSE).
REFUSE_LIB=$top_builddir/tests/netns/.libs/librefuse.so
set_workers() {
	local n=$1 w=$2 r=${3:-} pid pre=""
	pid=$(eval "echo \$TUND_PID_$n")
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	forget "$pid"
	sed -i '/^\[Interface\]$/,$d' "$T/$n/tund.conf"
	printf '[Interface]\nWorkers = %s\n' "$w" >> "$T/$n/tund.conf"
	[ -z "${LANES:-}" ] || printf 'Lanes = %s\n' "$LANES" >> "$T/$n/tund.conf"
	"$NTM_TUND" -n -c "$T/$n/tund.conf" > "$T/check-$n.out" 2>&1 ||
		fail "ntm-tund -n refuses Workers = $w: $(cat "$T/check-$n.out")"
	[ -z "$r" ] || pre="env LD_PRELOAD=$REFUSE_LIB NTM_TEST_REFUSE=$r ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"
	bg "$n" "tund-$n" $pre "$NTM_TUND" -f -c "$T/$n/tund.conf"
	eval "TUND_PID_$n=\$LAST_PID"
	wait_for 10 "$n registered (Workers = $w${r:+, refused: $r})" registered "$T/$n/run/tund.sock"
}

# threads_filtered NODE N: the daemon has N threads, each under the filter.
threads_filtered() {
	local pid task s count=0
	pid=$(eval "echo \$TUND_PID_$1")
	for task in /proc/"$pid"/task/*; do
		s=$(awk '$1 == "Seccomp:" { print $2 }' "$task/status" 2>/dev/null)
		[ "$s" = 2 ] || fail "$1: thread ${task##*/} has 'Seccomp: ${s:-?}', want 2"
		count=$((count + 1))
	done
	[ "$count" = "$2" ] || fail "$1: $count threads, want $2"
}

ntm0_addr() {
	nsx "$1" ip -o "-$2" addr show dev ntm0 scope global | awk '{ sub(/\/.*/, "", $4); print $4; exit }'
}
vaddr() { eval "echo \$VADDR_$1_$2"; }

XPIDS=""
RUN=0
start() {
	bg "$@"
	XPIDS="$XPIDS $LAST_PID:$2"
}
wait_all() {
	local e pid log bad=""
	for e in $XPIDS; do
		pid=${e%%:*} log=${e#*:}
		wait "$pid" || bad="$bad $log"
		forget "$pid"
	done
	XPIDS=""
	for log in $bad; do echo "---- $log" >&2; cat "$T/$log.log" >&2; done
	[ -z "$bad" ] || fail "$1: failed:$bad"
}
other() { [ "$1" = a ] && echo b || echo a; }
# seed FAMILY SENDER K: distinct per flow, so a byte that strays fails
seed() { echo $(( ($1 * 16 + $([ "$2" = a ] && echo 1 || echo 2)) * 16 + $3 )); }

# run_flows WHAT PROTO SIZE K: K flows each way for IPv4 and IPv6 at once.
run_flows() {
	local what=$1 proto=$2 size=$3 k=$4 port=$((5000 + RANDOM % 1000)) n f i l
	RUN=$((RUN + 1))
	for n in a b; do
		for f in 4 6; do
			for i in $(seq 1 "$k"); do
				start "$n" "$RUN-$proto-recv-$n-$f-$i" "$XFER" "$proto-recv" \
					"$((port + 10 * f + i))" "$size" "$(seed "$f" "$(other "$n")" "$i")"
			done
		done
	done
	l=$([ "$proto" = tcp ] && echo t || echo u)
	for n in a b; do
		wait_for 5 "$proto receivers on $n" listening "$n" "$l" "$port" $((2 * k))
	done
	for n in a b; do
		for f in 4 6; do
			for i in $(seq 1 "$k"); do
				start "$n" "$RUN-$proto-send-$n-$f-$i" "$XFER" "$proto-send" \
					"$(vaddr "$(other "$n")" "$f")" "$((port + 10 * f + i))" "$size" \
					"$(seed "$f" "$n" "$i")" $([ "$proto" = udp ] && echo "$MTU")
			done
		done
	done
	wait_all "$what, $proto"
	ok "$what: $proto, $((4 * k)) flows (IPv4 and IPv6 inside, both ways at once) verified"
}

# listening NODE t|u PORT N: N sockets listen on ports PORT+1..PORT+69
listening() {
	nsx "$1" ss -Hln"$2" | awk -v lo="$3" -v want="$4" \
		'{ n = split($4, a, ":"); p = a[n] + 0; if (p > lo && p < lo + 70) c++ }
		 END { exit !(c >= want) }'
}

up() {
	local f
	for f in 4 6; do
		wait_for 10 "a pings b over IPv$f" nsx a ping "-$f" -c 1 -W 1 "$(vaddr b "$f")"
		wait_for 10 "b pings a over IPv$f" nsx b ping "-$f" -c 1 -W 1 "$(vaddr a "$f")"
	done
}

stats() { "$NTMCTL" -s "$T/$1/run/tund.sock" stats --json > "$2" || fail "ntmctl stats on $1"; }
stat() { grep -o "\"$2\": [0-9]*" "$1" | grep -o '[0-9]*$'; }
snapshot() { stats a "$T/before-a.json"; stats b "$T/before-b.json"; }
# expect WHAT NODE:COUNTER>0|=0...: how each counter moved since the snapshot
expect() {
	local what=$1 e n c op d v w
	shift
	stats a "$T/after-a.json"
	stats b "$T/after-b.json"
	for e in "$@"; do
		n=${e%%:*} c=${e#*:} op=${c: -2} c=${c%??}
		v=$(stat "$T/after-$n.json" "$c") && w=$(stat "$T/before-$n.json" "$c") ||
			fail "$n has no counter $c"
		d=$((v - w))
		case $op in
		">0") [ "$d" -gt 0 ] || fail "$what: $n's $c did not move" ;;
		"=0") [ "$d" = 0 ] || fail "$what: $n's $c moved by $d" ;;
		*) fail "expect: bad '$e'" ;;
		esac
	done
	for n in a b; do
		echo "   $n: worker_rx +$(( $(stat "$T/after-$n.json" worker_rx) - $(stat "$T/before-$n.json" worker_rx) ))," \
			"worker_tun_rx +$(( $(stat "$T/after-$n.json" worker_tun_rx) - $(stat "$T/before-$n.json" worker_tun_rx) ))," \
			"rx_packets +$(( $(stat "$T/after-$n.json" rx_packets) - $(stat "$T/before-$n.json" rx_packets) ))," \
			"worker_to_main +$(( $(stat "$T/after-$n.json" worker_to_main) - $(stat "$T/before-$n.json" worker_to_main) )),"\
			"rx_lane_data +$(( $(stat "$T/after-$n.json" rx_lane_data) - $(stat "$T/before-$n.json" rx_lane_data) ))"
	done
}
# at_least NODE COUNTER MIN: NODE's COUNTER is MIN or more now
at_least() {
	local v
	v=$("$NTMCTL" -s "$T/$1/run/tund.sock" stats --json | grep -o "\"$2\": [0-9]*" |
		grep -o '[0-9]*$')
	[ "${v:-0}" -ge "$3" ]
}
SOUND=""
for n in a b; do
	for c in drop_auth drop_replay drop_inner_src drop_bad_inner tun_gso_bad; do
		SOUND="$SOUND $n:$c=0"
	done
done

run_case() {
	local what=$1
	shift
	up
	snapshot
	run_flows "$what" tcp "$WORKERS_TCP_BYTES" "$WORKERS_FLOWS"
	run_flows "$what" udp "$WORKERS_UDP_COUNT" 1
	expect "$what" $SOUND "$@"
}

set_workers a 2
set_workers b 2
for n in a b; do
	threads_filtered "$n" 2
	v=$(stats "$n" "$T/w-$n.json"; stat "$T/w-$n.json" workers)
	[ "$v" = 2 ] || fail "$n: counter workers is '$v', want 2"
	grep -q "ntm0: 2 queues" "$T/tund-$n.log" || fail "$n: no line about ntm0's 2 queues in its log"
done
ok "both nodes run 2 workers (2 queues, 2 threads, every thread under the seccomp filter)"
MTU=$(nsx a cat /sys/class/net/ntm0/mtu) || fail "no ntm0 on a"
for n in a b; do
	for f in 4 6; do
		v=$(ntm0_addr "$n" "$f")
		[ -n "$v" ] || fail "$n has no IPv$f address on ntm0"
		eval "VADDR_${n}_$f=\$v"
	done
done

# Each node told the other its receive lanes (LANES, sent from the sweep
# once the session is shared) before any transfer.
up
for n in a b; do
	wait_for 5 "$n took the other's receive lanes" at_least "$n" lanes_received 1
done
# lanes_shown NODE OURS PEER: ntmctl peers shows them for the other node
lanes_shown() {
	"$NTMCTL" -s "$T/$1/run/tund.sock" peers --json |
		grep -q "\"lanes\": $2, \"peer_lanes\": $3,"
}
for n in a b; do
	wait_for 5 "ntmctl peers on $n shows 2 lanes here and 2 at the peer" lanes_shown "$n" 2 2
done
# The first session of each node steers its DATA to the worker thread
# (receiver index 1 mod 2); ntm0 hands that thread the flows it writes.
# With 8 flows per family and direction, a node's flows fall on both of
# the other's queues (all on one: 2^-15, computed for a flow hash that spreads them evenly, not measured), so both nodes open DATA that
# came under a lane other than the session's own index.
WORKERS_FLOWS=8 WORKERS_TCP_BYTES=$((3 << 20)) \
	run_case "Workers = 2 on a and b" a:worker_rx\>0 b:worker_rx\>0 a:worker_tun_rx\>0 \
	b:worker_tun_rx\>0 a:rx_lane_data\>0 b:rx_lane_data\>0 a:lanes_refused=0 b:lanes_refused=0

# b restarts: new sessions on both sides (a's next session index goes to
# its main thread's socket), the tunnel works again with the same checks.
set_workers b 2
up
wait_for 5 "b took a's lanes for the new session" at_least b lanes_received 1
run_case "after b restarted (new sessions)" b:worker_rx\>0

# b with two workers and `Lanes = no`, as a node that does not know LANES:
# it refuses a's lanes and offers none, so neither node sees lane traffic
# and the tunnel works as before.
LANES=no set_workers b 2
up
wait_for 5 "b (Lanes = no) refused a's lanes" at_least b lanes_refused 1
v=$(stats b "$T/w-b.json"; stat "$T/w-b.json" lanes_sent)
[ "$v" = 0 ] || fail "b (Lanes = no) sent $v LANES"
wait_for 5 "ntmctl peers on a shows 2 lanes here, none at b" lanes_shown a 2 0
lanes_shown b 0 0 || fail "b (Lanes = no) shows lanes: $("$NTMCTL" -s "$T/b/run/tund.sock" peers --json)"
WORKERS_FLOWS=8 WORKERS_TCP_BYTES=$((3 << 20)) \
	run_case "a Workers = 2, b Workers = 2 with Lanes = no" a:rx_lane_data=0 b:rx_lane_data=0 \
	b:lanes_received=0

# b with one worker against a with two: the wire is the same. b takes a's
# lanes but, with one thread, keeps the session's index; it has no lanes
# of its own to send.
set_workers b 1
threads_filtered b 1
up
wait_for 5 "b (one worker) took a's lanes" at_least b lanes_received 1
WORKERS_FLOWS=8 WORKERS_TCP_BYTES=$((3 << 20)) \
	run_case "a Workers = 2, b Workers = 1" b:worker_rx=0 b:worker_tun_rx=0 a:rx_lane_data=0 \
	b:lanes_sent=0

# A kernel that refuses a multi-queue TUN device, then the steering
# program (refuse.c): one line in the log, one worker, the tunnel works.
for r in mq bpf; do
	: > "$T/tund-b.log"
	set_workers b 2 "$r"
	threads_filtered b 1
	grep -q "Workers = 2: .* refused .*: running with one worker" "$T/tund-b.log" ||
		fail "b: no line about the refusal ($r) in its log"
	v=$(stats b "$T/w-b.json"; stat "$T/w-b.json" workers)
	[ "$v" = 1 ] || fail "b ($r refused): counter workers is '$v', want 1"
	WORKERS_TCP_BYTES=$((2 << 20)) WORKERS_UDP_COUNT=1000 WORKERS_FLOWS=1 \
		run_case "b Workers = 2 on a kernel refusing $r (one worker)" b:worker_rx=0
done
echo "PASS: workers"
