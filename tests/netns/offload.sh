#!/bin/bash
# offload.sh - the data plane's offload path and its fallbacks carry every
# byte intact. Two nodes (setup2.sh), and for each pair of
# `Offload` modes (auto/auto, auto/off, off/auto, off/off): TCP streams with
# writes of mixed sizes, and UDP datagrams of mixed sizes (any size one
# inner packet holds, sizes that need IP fragmentation inside, UDP_SEGMENT
# trains), IPv4 and IPv6 inside, both directions at once; every byte is
# checked by the receiver (ntm_xfer), and no checksum error may be counted
# in either node's namespace; ntm-tund's counters show which path carried
# it. Then the fallbacks of a node in auto mode: on a kernel without USO,
# UDP_GRO and UDP_SEGMENT, then without TUN offloads (refuse.c), and with
# ntm0's segmentation, then checksum offloads switched off under it.
# doc/lab.md section 8.
. "$(dirname "$0")/lib.sh"
require_root
XFER=$top_builddir/tests/netns/ntm_xfer
[ -x "$XFER" ] || skip "tests/netns/ntm_xfer not built (make check builds it)"
[ -f "$top_builddir/tests/netns/.libs/librefuse.so" ] || skip "tests/netns/librefuse.so not built (make check builds it)"
command -v nstat >/dev/null || skip "needs nstat (iproute2)"
# sizes: TCP bytes per stream, UDP datagrams per flow (smaller in the
# feature cases, which repeat the same paths with less traffic)
: "${OFFLOAD_TCP_BYTES:=$((32 << 20))}" "${OFFLOAD_UDP_COUNT:=6000}"
NODES="a b"
. "$(dirname "$0")/setup2.sh"

forget() {
	local p rest=""
	for p in $PIDS; do [ "$p" = "$1" ] || rest="$rest $p"; done
	PIDS=$rest
}

# set_mode NODE MODE [REFUSE]: NODE's daemon restarted with `Offload = MODE`
# in [Interface] (nothing when it already runs so), registered again. With
# REFUSE, it runs with the refuse.c shim: the kernel's offloads listed
# (NTM_TEST_REFUSE) fail as on a kernel without them.
REFUSE_LIB=$top_builddir/tests/netns/.libs/librefuse.so
set_mode() {
	local n=$1 m=$2 r=${3:-} pid cur pre=""
	cur=$(eval "echo \${MODE_$n:-}")
	[ "$cur" = "$m/$r" ] && return 0
	pid=$(eval "echo \$TUND_PID_$n")
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	forget "$pid"
	sed -i '/^\[Interface\]$/,$d' "$T/$n/tund.conf"
	printf '[Interface]\nOffload = %s\n' "$m" >> "$T/$n/tund.conf"
	"$NTM_TUND" -n -c "$T/$n/tund.conf" > "$T/check-$n.out" 2>&1 ||
		fail "ntm-tund -n refuses Offload = $m: $(cat "$T/check-$n.out")"
	# (an ASan build's runtime need not come first for this shim)
	[ -z "$r" ] || pre="env LD_PRELOAD=$REFUSE_LIB NTM_TEST_REFUSE=$r ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"
	bg "$n" "tund-$n" $pre "$NTM_TUND" -f -c "$T/$n/tund.conf"
	eval "TUND_PID_$n=\$LAST_PID MODE_$n=\$m/\$r"
	wait_for 10 "$n registered (Offload = $m${r:+, refused: $r})" registered "$T/$n/run/tund.sock"
}

# vaddr NODE FAMILY: the node's virtual address of that family on ntm0
# (the DC gives a node the same ones each time it registers).
ntm0_addr() {
	nsx "$1" ip -o "-$2" addr show dev ntm0 scope global | awk '{ sub(/\/.*/, "", $4); print $4; exit }'
}
vaddr() { eval "echo \$VADDR_$1_$2"; }

# counters NODE: the node namespace's checksum-error counters (all must
# stay 0), then the ones printed for information.
CSUM_COUNTERS="TcpInCsumErrors UdpInCsumErrors Udp6InCsumErrors IpExtInCsumErrors"
INFO_COUNTERS="TcpRetransSegs UdpRcvbufErrors Udp6RcvbufErrors IpReasmFails Ip6ReasmFails"
counters() {
	nsx "$1" env NSTAT_HISTORY="$T/nstat-$1" nstat -a -s -z $CSUM_COUNTERS $INFO_COUNTERS |
		awk '!/^#/ { printf "%s=%s ", $1, $2 }'
}
# counter LINE NAME: NAME's value in a line of counters
counter() { echo "$1" | tr ' ' '\n' | awk -F= -v c="$2" '$1 == c { print $2 }'; }
check_csum() {
	local n c v line prev info
	for n in a b; do
		line=$(counters "$n")
		for c in $CSUM_COUNTERS; do
			v=$(counter "$line" "$c")
			[ "${v:-0}" = 0 ] || fail "$1: $n counted $c=$v ($line)"
		done
		prev=$(eval "echo \${COUNTERS_$n:-}") info=""
		for c in $INFO_COUNTERS; do
			v=$(counter "$line" "$c") p=$(counter "$prev" "$c")
			info="$info $c +$(( ${v:-0} - ${p:-0} ))"
		done
		eval "COUNTERS_$n=\$line"
		echo "   $n: no checksum errors;$info"
	done
}

# run_flows WHAT PROTO SIZE: one flow each way for IPv4 and IPv6 at once
# (4 flows), receivers first; every receiver and sender must succeed. A
# flow's seed names its family and sender, so a datagram or byte that
# strays into another flow fails too.
XPIDS=""
RUN=0
start() { # NODE LOG CMD...: a transfer process, waited for by wait_all
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
seed() { echo $(( $1 * 16 + $([ "$2" = a ] && echo 1 || echo 2) )); } # FAMILY SENDER
run_flows() {
	local what=$1 proto=$2 size=$3 port=$((5000 + RANDOM % 1000)) n f t0 l
	RUN=$((RUN + 1))
	for n in a b; do
		for f in 4 6; do
			start "$n" "$RUN-$proto-recv-$n-$f" "$XFER" "$proto-recv" "$((port + f))" "$size" \
				"$(seed "$f" "$(other "$n")")"
		done
	done
	l=$([ "$proto" = tcp ] && echo t || echo u)
	for n in a b; do
		wait_for 5 "$proto receivers on $n" nsx "$n" sh -c \
			"[ \$(ss -Hln$l | grep -c ':$((port + 4)) \|:$((port + 6)) ') = 2 ]"
	done
	t0=$(date +%s%N)
	for n in a b; do
		for f in 4 6; do
			start "$n" "$RUN-$proto-send-$n-$f" "$XFER" "$proto-send" "$(vaddr "$(other "$n")" "$f")" \
				"$((port + f))" "$size" "$(seed "$f" "$n")" $([ "$proto" = udp ] && echo "$MTU")
		done
	done
	wait_all "$what, $proto"
	ok "$what: $proto, 4 flows (IPv4 and IPv6 inside, both ways at once) verified in $(( ($(date +%s%N) - t0) / 1000000 )) ms"
	cat "$T/$RUN-$proto"-*.log | sed 's/^ntm_xfer: /   /'
}

# up: the tunnel is up both ways (the first packets of a new tunnel wait
# in a short queue; the transfers should not start there).
up() {
	local f
	for f in 4 6; do
		wait_for 10 "a pings b over IPv$f" nsx a ping "-$f" -c 1 -W 1 "$(vaddr b "$f")"
		wait_for 10 "b pings a over IPv$f" nsx b ping "-$f" -c 1 -W 1 "$(vaddr a "$f")"
	done
}


# stats NODE FILE: the node's counters (ntmctl stats --json) into FILE.
stats() { "$NTMCTL" -s "$T/$1/run/tund.sock" stats --json > "$2" || fail "ntmctl stats on $1"; }
# stat FILE NAME: one counter from such a file.
stat() { grep -o "\"$2\": [0-9]*" "$1" | grep -o '[0-9]*$'; }

# expect WHAT NODE:COUNTER>0|=0...: how each counter moved during the
# case (from the snapshot run_case took), so the test knows which path
# carried the traffic: the offload path where it should, none of it where
# the mode or the kernel refuses it.
snapshot() { stats a "$T/before-a.json"; stats b "$T/before-b.json"; }
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
		">0") [ "$d" -gt 0 ] || fail "$what: $n's $c did not move (the path under test was not taken)" ;;
		"=0") [ "$d" = 0 ] || fail "$what: $n's $c moved by $d" ;;
		*) fail "expect: bad '$e'" ;;
		esac
	done
	echo "   counters as expected: moved:$(printf ' %s' "$@" | grep -o ' [ab]:[a-z_]*>0' | tr -d '>0' | tr '\n' ' ');" \
		"$(printf '%s\n' "$@" | grep -c '=0$') others did not"
}
# what a node in each mode must show: auto with every offload reads TSO
# super-packets and sends trains; the receiving side's UDP_GRO trains and
# coalesced writes to ntm0 appear where the peer sends trains; off shows
# none of it. Nobody cuts a bad super-packet, fails a write to ntm0 or
# drops a packet for its tag, the replay window or its inner source (the
# last session's packets, in flight when a daemon restarts, come before
# the snapshot).
SOUND=""
for n in a b; do
	for c in tun_gso_bad tun_write_failed drop_auth drop_replay drop_inner_src drop_bad_inner; do
		SOUND="$SOUND $n:$c=0"
	done
done
OFF_a="a:tun_gso_packets=0 a:tx_trains=0 a:rx_gro_trains=0 a:tun_gro_packets=0"
OFF_b="b:tun_gso_packets=0 b:tx_trains=0 b:rx_gro_trains=0 b:tun_gro_packets=0"
AUTO_a="a:tun_gso_packets>0 a:tx_trains>0"
AUTO_b="b:tun_gso_packets>0 b:tx_trains>0"

# run_case WHAT EXPECT...: TCP, then UDP (separately: a TCP stream fills
# ntm0's queue, where UDP would be dropped without anyone's fault), then
# the checksum counters, the drops and the path counters.
run_case() {
	local what=$1
	shift
	up
	snapshot
	run_flows "$what" tcp "$OFFLOAD_TCP_BYTES"
	run_flows "$what" udp "$OFFLOAD_UDP_COUNT"
	check_csum "$what"
	expect "$what" $SOUND "$@"
}

MTU=$(nsx a cat /sys/class/net/ntm0/mtu) || fail "no ntm0 on a"
[ "$(nsx b cat /sys/class/net/ntm0/mtu)" = "$MTU" ] || fail "ntm0's MTU differs between a and b"
for n in a b; do
	for f in 4 6; do
		v=$(ntm0_addr "$n" "$f")
		[ -n "$v" ] || fail "$n has no IPv$f address on ntm0"
		eval "VADDR_${n}_$f=\$v"
	done
done
echo "   virtual addresses: a $(vaddr a 4) $(vaddr a 6), b $(vaddr b 4) $(vaddr b 6); MTU $MTU"

# --- the four mode pairs ---
for pair in auto:auto auto:off off:auto off:off; do
	set_mode a "${pair%:*}"
	set_mode b "${pair#*:}"
	ea=$([ "${pair%:*}" = auto ] && echo "$AUTO_a" || echo "$OFF_a")
	eb=$([ "${pair#*:}" = auto ] && echo "$AUTO_b" || echo "$OFF_b")
	# both in auto: each receives the other's trains and coalesces
	[ "$pair" = auto:auto ] && ea="$ea a:rx_gro_trains>0 a:tun_gro_packets>0" &&
		eb="$eb b:rx_gro_trains>0 b:tun_gro_packets>0"
	run_case "a Offload=${pair%:*}, b Offload=${pair#*:}" $ea $eb
done

# --- fallbacks on a node in auto mode (b keeps every offload) ---
# A kernel without some offloads, as ntm-tund sees it through refuse.c:
# no USO on the TUN device, no UDP_GRO and UDP_SEGMENT refused (EIO, as
# before 6.11 on a device without checksum offload); then no TUN offload at
# all (each TUNSETOFFLOAD with a flag refused).
set_mode b auto
set_mode a auto uso,gro,gso
OFFLOAD_TCP_BYTES=$((16 << 20)) OFFLOAD_UDP_COUNT=3000 \
	run_case "a auto on a kernel without USO, UDP_GRO or UDP_SEGMENT" \
	a:tun_gso_packets\>0 a:tx_gso_fallback\>0 a:rx_gro_trains=0 b:tx_trains\>0
set_mode a auto csum
OFFLOAD_TCP_BYTES=$((16 << 20)) OFFLOAD_UDP_COUNT=3000 run_case "a auto on a kernel without TUN offloads" \
	a:tun_gso_packets=0 a:tx_trains=0 $AUTO_b
# The real kernel's own switches on a running node, as `ethtool -K` sets
# them: ntm0's segmentation offloads off (the kernel then segments before
# the device, so ntm-tund reads no GSO packet, while checksums stay
# partial); then ntm0's and the underlay eth0's checksum offload off too
# (every packet complete; UDP_SEGMENT on a device without checksum offload).
set_mode a auto
nsx a "$XFER" features ntm0 tx-tcp-segmentation=off tx-tcp6-segmentation=off \
	tx-udp-segmentation=off > "$T/features.out" 2>&1 || fail "features: $(cat "$T/features.out")"
OFFLOAD_TCP_BYTES=$((16 << 20)) OFFLOAD_UDP_COUNT=3000 run_case "a auto, ntm0's TSO and USO off on a" \
	a:tun_gso_packets=0 a:tx_trains=0 $AUTO_b
nsx a "$XFER" features ntm0 tx-checksum-ip-generic=off > "$T/features.out" 2>&1 &&
	nsx a "$XFER" features eth0 tx-checksum-ip-generic=off >> "$T/features.out" 2>&1 ||
	fail "features: $(cat "$T/features.out")"
OFFLOAD_TCP_BYTES=$((16 << 20)) OFFLOAD_UDP_COUNT=3000 run_case "a auto, checksum offload off on a's ntm0 and eth0" \
	a:tun_gso_packets=0 a:tx_trains=0 $AUTO_b
echo "PASS: offload"
