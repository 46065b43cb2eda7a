#!/bin/bash
# relay_offload.sh - the relay's offload path (Offload = auto in [Relay]:
# UDP_GRO receives split per capsule, forwarded capsules to one destination
# sent as UDP_SEGMENT trains) and its fallbacks carry every byte intact.
# Two nodes (setup2.sh) whose direct path the router drops (nftables, IPv4
# and IPv6), so the DC's embedded relay carries everything; its per-pair
# caps lifted. For each case: TCP streams both ways at once, IPv4 and IPv6
# inside, every byte checked by the receiver (ntm_xfer), no checksum error
# counted in either node's namespace, and the DC's relay counters show
# which path forwarded it:
#   1. relay auto, nodes auto: the nodes send their capsules to the relay
#      as trains (tx_relay_trains), the relay receives them coalesced
#      (relay_rx_gro_trains), trains leave the relay (relay_tx_trains) and
#      arrive at the nodes coalesced (their rx_gro_trains);
#   2. relay auto, nodes off: the trains reach sockets without UDP_GRO (the
#      kernel cuts them on delivery), and the nodes send none;
#   3. relay off: the nodes' trains reach a relay socket without UDP_GRO
#      (cut on delivery); no train leaves it, no coalesced receive;
#   4. relay auto on a kernel that refuses UDP_GRO and UDP_SEGMENT
#      (refuse.c): every train falls back to sendmmsg (relay_tx_gso_fallback)
#      and none leaves as one.
. "$(dirname "$0")/lib.sh"
require_root
command -v nft >/dev/null || skip "needs nftables"
command -v nstat >/dev/null || skip "needs nstat (iproute2)"
XFER=$top_builddir/tests/netns/ntm_xfer
[ -x "$XFER" ] || skip "tests/netns/ntm_xfer not built (make check builds it)"
REFUSE_LIB=$top_builddir/tests/netns/.libs/librefuse.so
[ -f "$REFUSE_LIB" ] || skip "tests/netns/librefuse.so not built (make check builds it)"
: "${RELAY_OFFLOAD_TCP_BYTES:=$((16 << 20))}"
NODES="a b"
. "$(dirname "$0")/setup2.sh"

# a and b only through the relay
nsx r nft -f - <<NFT || fail "nft on r"
table inet ntmnodirect {
	chain nodirect {
		type filter hook forward priority filter; policy accept;
		ip saddr 203.0.113.16/28 ip daddr 203.0.113.32/28 drop
		ip saddr 203.0.113.32/28 ip daddr 203.0.113.16/28 drop
		ip6 saddr 2001:db8:1::/64 ip6 daddr 2001:db8:2::/64 drop
		ip6 saddr 2001:db8:2::/64 ip6 daddr 2001:db8:1::/64 drop
	}
}
NFT
cp "$DCCONF" "$T/dc/dcd.conf.base"

forget() {
	local p rest=""
	for p in $PIDS; do [ "$p" = "$1" ] || rest="$rest $p"; done
	PIDS=$rest
}
stop() { kill "$1" 2>/dev/null; wait "$1" 2>/dev/null; forget "$1"; }

# setup RELAY_MODE NODE_MODE [REFUSE]: the DC restarted with its relay's
# `Offload = RELAY_MODE` (with REFUSE: under refuse.c, those offloads
# failing as on an older kernel), then both nodes with `Offload =
# NODE_MODE`, registered again, and the tunnel up both ways on the relay.
setup() {
	local rm=$1 nm=$2 r=${3:-} pre="" n f
	stop "$DCD_PID"
	cp "$T/dc/dcd.conf.base" "$DCCONF"
	printf '[Relay]\nPairPacketRate = 10000000\nPairMbitRate = 100000\nOffload = %s\n' "$rm" >> "$DCCONF"
	"$NTM_DCD" -n -c "$DCCONF" > "$T/check-dc.out" 2>&1 ||
		fail "ntm-dcd -n refuses Offload = $rm: $(cat "$T/check-dc.out")"
	[ -z "$r" ] || pre="env LD_PRELOAD=$REFUSE_LIB NTM_TEST_REFUSE=$r ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"
	bg dc dcd $pre "$NTM_DCD" -f -d -c "$DCCONF"
	DCD_PID=$LAST_PID
	for n in a b; do
		stop "$(eval "echo \$TUND_PID_$n")"
		sed -i '/^\[Interface\]$/,$d' "$T/$n/tund.conf"
		printf '[Interface]\nOffload = %s\n' "$nm" >> "$T/$n/tund.conf"
		bg "$n" "tund-$n" "$NTM_TUND" -f -c "$T/$n/tund.conf"
		eval "TUND_PID_$n=\$LAST_PID"
	done
	for n in a b; do wait_for 15 "$n registered" registered "$T/$n/run/tund.sock"; done
	for f in 4 6; do
		wait_for 15 "a pings b over IPv$f" nsx a ping "-$f" -c 1 -W 1 "$(vaddr b "$f")"
		wait_for 15 "b pings a over IPv$f" nsx b ping "-$f" -c 1 -W 1 "$(vaddr a "$f")"
	done
	"$NTMCTL" -s "$T/a/run/tund.sock" peers --json | grep "\"name\": \"b.$ZONE\"" |
		grep -q '"path": "relay"' || fail "a's path to b is not the relay: $("$NTMCTL" -s "$T/a/run/tund.sock" peers)"
}

# ntm0's addresses, once (a node gets the same ones each time it registers)
vaddr() { eval "echo \$VADDR_$1_$2"; }
for n in a b; do
	for f in 4 6; do
		v=$(nsx "$n" ip -o "-$f" addr show dev ntm0 scope global | awk '{ sub(/\/.*/, "", $4); print $4; exit }')
		[ -n "$v" ] || fail "$n has no IPv$f address on ntm0"
		eval "VADDR_${n}_$f=\$v"
	done
done

# checksum errors in the nodes' namespaces: none, ever
CSUM_COUNTERS="TcpInCsumErrors UdpInCsumErrors Udp6InCsumErrors IpExtInCsumErrors"
check_csum() {
	local n line
	for n in a b; do
		line=$(nsx "$n" nstat -a -s -z $CSUM_COUNTERS | awk '!/^#/ && $2 != 0 { printf "%s=%s ", $1, $2 }')
		[ -z "$line" ] || fail "$1: $n counted $line"
	done
}

# flows WHAT: TCP both ways at once, IPv4 and IPv6 inside (4 streams of
# RELAY_OFFLOAD_TCP_BYTES); a stream's seed names its family and sender.
XPIDS=""
other() { [ "$1" = a ] && echo b || echo a; }
seed() { echo $(( $1 * 16 + $([ "$2" = a ] && echo 1 || echo 2) )); }
flows() {
	local what=$1 port=$((5000 + RANDOM % 1000)) n f e pid log bad="" t0
	for n in a b; do
		for f in 4 6; do
			bg "$n" "recv-$n-$f" "$XFER" tcp-recv "$((port + f))" "$RELAY_OFFLOAD_TCP_BYTES" \
				"$(seed "$f" "$(other "$n")")"
			XPIDS="$XPIDS $LAST_PID:recv-$n-$f"
		done
		wait_for 5 "tcp receivers on $n" nsx "$n" sh -c \
			"[ \$(ss -Hlnt | grep -c ':$((port + 4)) \|:$((port + 6)) ') = 2 ]"
	done
	t0=$(date +%s%N)
	for n in a b; do
		for f in 4 6; do
			bg "$n" "send-$n-$f" "$XFER" tcp-send "$(vaddr "$(other "$n")" "$f")" "$((port + f))" \
				"$RELAY_OFFLOAD_TCP_BYTES" "$(seed "$f" "$n")"
			XPIDS="$XPIDS $LAST_PID:send-$n-$f"
		done
	done
	for e in $XPIDS; do
		pid=${e%%:*} log=${e#*:}
		wait "$pid" || bad="$bad $log"
		forget "$pid"
	done
	XPIDS=""
	for log in $bad; do echo "---- $log" >&2; cat "$T/$log.log" >&2; done
	[ -z "$bad" ] || fail "$what: failed:$bad"
	check_csum "$what"
	ok "$what: 4 TCP streams of $RELAY_OFFLOAD_TCP_BYTES bytes (IPv4 and IPv6, both ways) verified through the relay in $(( ($(date +%s%N) - t0) / 1000000 )) ms"
}

# expect WHAT COUNTER>0|=0...: the DC's counters (since its restart) or a
# node's (a:NAME, since its restart).
ctr() { grep -o "\"$2\": [0-9]*" <<<"$1" | grep -o '[0-9]*$'; }
expect() {
	local what=$1 e c op v json dc nodes
	shift
	dc=$("$NTM_DCCTL" -c "$DCCONF" stats --json) || fail "ntm-dcctl stats"
	for e in "$@"; do
		op=${e: -2} c=${e%??}
		case $c in
		a:* | b:*) json=$("$NTMCTL" -s "$T/${c%%:*}/run/tund.sock" stats --json) c=${c#*:} ;;
		*) json=$dc ;;
		esac
		v=$(ctr "$json" "$c") || fail "no counter $c"
		case $op in
		">0") [ "$v" -gt 0 ] || fail "$what: $e: $c did not move (the path under test was not taken)" ;;
		"=0") [ "$v" = 0 ] || fail "$what: $e: $c is $v" ;;
		*) fail "expect: bad '$e'" ;;
		esac
	done
	echo "   the DC: $(for c in relay_forwarded relay_rx_gro_trains relay_tx_trains relay_tx_train_capsules \
		relay_tx_gso_fallback relay_drop_send_error relay_drop_auth relay_drop_replay; do
		printf '%s=%s ' "$c" "$(ctr "$dc" "$c")"; done)"
}
# nothing the relay checks may fail on the way
SOUND="relay_drop_auth=0 relay_drop_replay=0 relay_drop_malformed=0 relay_drop_rate=0"
for n in a b; do SOUND="$SOUND $n:drop_auth=0 $n:drop_replay=0 $n:drop_inner_src=0"; done

setup auto auto
flows "relay auto, nodes auto"
expect "relay auto, nodes auto" $SOUND relay_tx_trains\>0 relay_tx_gso_fallback=0 \
	a:rx_gro_trains\>0 b:rx_gro_trains\>0 a:tx_relay_trains\>0 b:tx_relay_trains\>0 \
	relay_rx_gro_trains\>0

setup auto off
flows "relay auto, nodes off"
expect "relay auto, nodes off" $SOUND relay_tx_trains\>0 relay_tx_gso_fallback=0 \
	a:rx_gro_trains=0 b:rx_gro_trains=0 a:tx_relay_trains=0 b:tx_relay_trains=0

setup off auto
flows "relay off, nodes auto"
expect "relay off, nodes auto" $SOUND relay_tx_trains=0 relay_rx_gro_trains=0 \
	a:rx_gro_trains=0 b:rx_gro_trains=0 a:tx_relay_trains\>0 b:tx_relay_trains\>0

setup auto auto gro,gso
grep -q "UDP_GRO refused" "$T/dcd.log" || fail "the DC did not log UDP_GRO refused"
flows "relay auto on a kernel without UDP_GRO and UDP_SEGMENT"
expect "relay auto on a kernel without UDP_GRO and UDP_SEGMENT" $SOUND relay_tx_trains=0 \
	relay_tx_gso_fallback\>0 relay_rx_gro_trains=0
echo "PASS: relay_offload"
