#!/bin/bash
# dc_failover.sh - two instances of one DC (same key file, one PostgreSQL
# registry: a throw-away cluster as in pg_registry.sh) at two addresses;
# nodes a and b list both in [DC] Endpoint, the first one first, and
# register with it; node c lists the second first and registers there, and
# a reaches c by name across the two instances. A TCP stream a -> b
# (tests/netns/ntm_stream, after b was resolved by name) flows through
# their tunnel. The first instance is
# killed with -9: both nodes must register with the second (ntmctl status
# and the second DC's stats say so) with the same virtual addresses, the
# database must hold one allocation per node with distinct host indexes,
# and the stream must go on on the same connection with no new handshake
# between a and b; c stays with the second instance and its tunnel to a
# carries pings with no new handshake. The time from the kill to the re-registration is
# printed (a figure, not asserted). Then b starts again with the first
# instance still down and registers with the second, same address.
. "$(dirname "$0")/lib.sh"
require_root
NTM_STREAM=$top_builddir/tests/netns/ntm_stream
[ -x "$NTM_STREAM" ] || fail "$NTM_STREAM not built: run make check (or make tests/netns/ntm_stream)"

. "$(dirname "$0")/pgcluster.sh"

# A short keepalive interval (3 s) keeps the test short: the nodes leave a
# silent instance within one interval of their first unanswered keepalive.
# Node c lists the second instance first: it is registered there all along,
# and a's tunnel to it is directed across the two instances.
DC2=1
NODES="a b c"
DC_ENDPOINT_c="192.0.2.2:7540; 198.51.100.2:7540"
DC_EXTRA_CONF="KeepaliveInterval = 3
[Registry]
Backend = postgresql
Conninfo = host=$T/pg/sock user=ntmtest dbname=ntm"
. "$(dirname "$0")/setup2.sh"

dc_addr() { "$NTMCTL" -s "$1" status --json 2>/dev/null | grep -o '"address": "[^"]*"' | head -n 1 | cut -d'"' -f4; }
for n in a b; do
	eval "s=\$sock_$n"
	[ "$(dc_addr "$s")" = 198.51.100.2:7540 ] || fail "$n: DC in use is '$(dc_addr "$s")', want the first instance 198.51.100.2:7540"
done
[ "$(dc_addr "$sock_c")" = 192.0.2.2:7540 ] || fail "c: DC in use is '$(dc_addr "$sock_c")', want the second instance"
ok "a and b registered with the first DC instance, c with the second"

vip4() { nsx "$1" ip -4 -o addr show dev ntm0 | awk '{ sub("/.*", "", $4); print $4 }'; }
have_vips() { [ -n "$(vip4 a)" ] && [ -n "$(vip4 b)" ] && [ -n "$(vip4 c)" ]; }
wait_for 5 "virtual addresses on ntm0" have_vips
VIP_A=$(vip4 a)
VIP_B=$(vip4 b)
VIP_C=$(vip4 c)
allocs() { sql ntm "SELECT string_agg(name || '=' || host_index, ' ' ORDER BY name) FROM ntm_allocations"; }
ROWS=$(allocs)

"$NTMCTL" -s "$sock_a" resolve "b.$ZONE" >/dev/null || fail "resolve b.$ZONE on a"
nsx a ping -c 2 -i 0.2 -W 2 "$VIP_B" >/dev/null || fail "ping $VIP_B from a"
bg b stream-b "$NTM_STREAM" server 5001 "$T/stream-b.json"
wait_for 5 "ntm_stream server on b" grep -q '"state": "listening"' "$T/stream-b.json"
bg a stream-a "$NTM_STREAM" client "$VIP_B" 5001 "$T/stream-a.json"
sj() { grep -o "\"$2\": [^,}]*" "$T/stream-$1.json" 2>/dev/null | sed 's/^[^:]*: //; s/"//g'; }
streaming() { [ "$(sj a state)" = streaming ] && [ "$(sj b state)" = streaming ]; }
grown() { [ "$(sj a rx)" -ge "$1" ] && [ "$(sj b rx)" -ge "$2" ]; }
wait_for 10 "a stream a <-> b" streaming
wait_for 10 "the stream flowing" grown 262144 262144
ok "tunnel a -> b.$ZONE carries a stream both ways"

# a (first instance) and c (second): the route is directed across them
"$NTMCTL" -s "$sock_a" resolve "c.$ZONE" >/dev/null || fail "resolve c.$ZONE on a (c is at the other instance)"
nsx a ping -c 2 -i 0.2 -W 2 "$VIP_C" >/dev/null || fail "ping $VIP_C (c) from a"
ok "a (first instance) reaches c (second instance) by name"

counter() { "$NTMCTL" -s "$1" stats 2>/dev/null | awk -v k="$2" '$1 == k { print $2 }'; }
HS_C=$(counter "$sock_c" peer_handshakes)
HS_A=$(counter "$sock_a" peer_handshakes)
HS_B=$(counter "$sock_b" peer_handshakes)
[ -n "$HS_A" ] && [ -n "$HS_B" ] || fail "no peer_handshakes counter in ntmctl stats"

bg a watch-a "$NTMCTL" -s "$sock_a" watch
wait_for 5 "a's watcher" grep -q ' watching: dc registered$' "$T/watch-a.log"
on_dc2() { [ "$(dc_addr "$1")" = 192.0.2.2:7540 ] && registered "$1"; }
both_on_dc2() { on_dc2 "$sock_a" && on_dc2 "$sock_b"; }
kill -9 "$DCD_PID"
wait "$DCD_PID" 2>/dev/null
wait_for 20 "a and b registered with the second DC instance" both_on_dc2
echo "# from kill -9 of the first DC to both nodes registered with the second: ${WAITED_MS} ms (keepalive interval 3 s)"
ok "a and b moved to the second DC instance (ntmctl status)"

"$NTMCTL" -s "$sock_a" status | grep -q "^dc list:  1. 198.51.100.2:7540 2. 192.0.2.2:7540 (in use)$" ||
	fail "ntmctl status on a does not list the instances: $("$NTMCTL" -s "$sock_a" status)"
"$NTMCTL" -s "$sock_a" status --json | grep -q '"instances": \["198.51.100.2:7540", "192.0.2.2:7540"\], "instance": 2' ||
	fail "ntmctl status --json on a does not list both instances: $("$NTMCTL" -s "$sock_a" status --json)"
regs=$("$NTM_DCCTL" -c "$DCCONF2" stats 2>/dev/null | awk '$1 == "registrations" { print $2 }')
[ "${regs:-0}" -ge 2 ] || fail "the second DC counts ${regs:-no} registrations, want 2 at least"
for n in a b; do
	grep -q "moving from DC instance 1 (198.51.100.2:7540) to 2 (192.0.2.2:7540)" "$T/tund-$n.log" ||
		fail "$n's log does not say it moved to the second instance"
done
ok "the second DC registered them ($regs registrations); their logs say why"
wait_for 5 "the watch event of the move" grep -q "registration acknowledged by DC instance 2 (192.0.2.2:7540)" "$T/watch-a.log"
grep -q "keepalive answered by ICMP (port unreachable): DC instance down; moving to DC instance 2 (192.0.2.2:7540)" "$T/watch-a.log" ||
	fail "a's watcher was not told why it moved: $(cat "$T/watch-a.log")"
ok "a watcher on a saw the move: $(grep -c 'DC instance 2' "$T/watch-a.log") events"
# the first instance's host is up, its port closed: the keepalive's ICMP
# port unreachable moved each node at once (no ack waited out)
for n in a b; do
	v=$(counter "$T/$n/run/tund.sock" dc_icmp_moves)
	[ "${v:-0}" -ge 1 ] || fail "$n's dc_icmp_moves is '${v:-none}' after the first instance's port closed"
done
ok "a and b moved on the keepalive's ICMP port unreachable (dc_icmp_moves)"

[ "$(vip4 a)" = "$VIP_A" ] && [ "$(vip4 b)" = "$VIP_B" ] ||
	fail "virtual addresses changed: a $VIP_A -> $(vip4 a), b $VIP_B -> $(vip4 b)"
[ "$(allocs)" = "$ROWS" ] || fail "allocations changed: '$ROWS' -> '$(allocs)'"
dup=$(sql ntm "SELECT count(*) - count(DISTINCT host_index) FROM ntm_allocations")
[ "$dup" = 0 ] || fail "$dup host_index duplicated in ntm_allocations: $(allocs)"
n=$(sql ntm "SELECT count(*) FROM ntm_allocations")
[ "$n" = 3 ] || fail "$n allocations for three nodes: $(allocs)"
ok "same addresses $VIP_A and $VIP_B, one allocation each, no host_index twice ($ROWS)"

RX_A=$(sj a rx) RX_B=$(sj b rx)
wait_for 10 "the stream flowing on" grown $((RX_A + 262144)) $((RX_B + 262144))
streaming || fail "the stream stopped: a '$(sj a state)' $(sj a error), b '$(sj b state)' $(sj b error)"
[ "$(counter "$sock_a" peer_handshakes)" = "$HS_A" ] && [ "$(counter "$sock_b" peer_handshakes)" = "$HS_B" ] ||
	fail "a new handshake between a and b: a $HS_A -> $(counter "$sock_a" peer_handshakes), b $HS_B -> $(counter "$sock_b" peer_handshakes)"
ok "the stream a <-> b went on on the same connection, no new handshake between a and b"
[ "$(dc_addr "$sock_c")" = 192.0.2.2:7540 ] && registered "$sock_c" || fail "c left the second instance"
nsx c ping -c 2 -i 0.2 -W 2 "$VIP_A" >/dev/null || fail "ping $VIP_A (a) from c after a moved"
[ "$(counter "$sock_c" peer_handshakes)" = "$HS_C" ] ||
	fail "c made a new handshake: $HS_C -> $(counter "$sock_c" peer_handshakes)"
ok "c stayed with the second instance; its tunnel to a carries pings with no new handshake"
kill -0 "$DCD2_PID" || fail "the second ntm-dcd died"

# b starts again while the first instance is still down: its handshake
# there goes unanswered, and the second registers it, same address.
kill "$TUND_PID_b"
wait "$TUND_PID_b" 2>/dev/null
bg b tund-b2 "$NTM_TUND" -f -c "$T/b/tund.conf"
TUND_PID_b=$LAST_PID
wait_for 10 "b registered again, with the second DC instance" on_dc2 "$sock_b"
echo "# b started with the first DC instance down: registered with the second after ${WAITED_MS} ms"
grep -q "moving from DC instance 1 (198.51.100.2:7540) to 2 (192.0.2.2:7540)" "$T/tund-b2.log" ||
	fail "b did not say it moved on from the first instance: $(tail -n 5 "$T/tund-b2.log")"
wait_for 5 "b's address on ntm0" sh -c "[ \"\$(ip netns exec $P-b ip -4 -o addr show dev ntm0 | awk '{ sub(\"/.*\", \"\", \$4); print \$4 }')\" = $VIP_B ]"
ok "b, started with the first instance down, registered with the second as $VIP_B"

# The hostile variant: an instance that goes silent (a firewall drops its
# traffic, no ICMP). The first instance runs again; c's datagrams to the
# second are dropped in c's namespace: c waits out two keepalives' acks
# (the round trip says how long) and moves to the first.
bg dc dcd-again "$NTM_DCD" -f -c "$DCCONF"
DCD_PID=$LAST_PID
wait_for 10 "the first DC instance running again" grep -q "instance 1, listening on channel ntm_dc_1" "$T/dcd-again.log"
ICMP_C=$(counter "$sock_c" dc_icmp_moves)
nsx c nft -f - <<NFT || fail "nft in c"
table inet silent {
	chain output {
		type filter hook output priority 0; policy accept;
		ip daddr 192.0.2.2 udp dport 7540 drop
		ip6 daddr 2001:db8:dc2::2 udp dport 7540 drop
	}
}
NFT
on_dc1() { [ "$(dc_addr "$1")" = 198.51.100.2:7540 ] && registered "$1"; }
wait_for 20 "c registered with the first instance after the second went silent" on_dc1 "$sock_c"
echo "# c's instance went silent (dropped, no ICMP): registered with the other after ${WAITED_MS} ms (keepalive interval 3 s)"
grep -q "keepalives unanswered (DC instance down or unreachable); moving to DC instance 2 (198.51.100.2:7540)" "$T/tund-c.log" ||
	fail "c's log does not say its keepalives went unanswered: $(tail -n 5 "$T/tund-c.log")"
[ "$(counter "$sock_c" dc_icmp_moves)" = "$ICMP_C" ] || fail "c counted an ICMP move where nothing answered"
nsx c ping -c 2 -i 0.2 -W 2 "$VIP_A" >/dev/null || fail "ping $VIP_A (a) from c after c moved"
ok "c left the silent instance after two unanswered keepalives and reaches a still"
