#!/bin/bash
# relay.sh - the standalone relay: ntm-relayd standalone in its own namespace
# and a DC configured to use it ([Relay.r1], no embedded relay).
#
#  1. the DC's Noise session with the relay comes up (both sides count it);
#  2. a route between nodes a and b, whose direct path is blocked on the
#     router, gets an allocation on the relay (RELAY_ALLOC acknowledged) and
#     a ping from a to b goes through it (relay_forwarded rises);
#  3. an attacker sends the relay capsules for an unknown allocation, for
#     the live allocation with a bad tag, in direction 1, and malformed, plus
#     junk handshakes and DATA: each is dropped and counted in its counter,
#     and the relay sends nothing at all to the attacker (nftables counters
#     in the relay's namespace);
#  4. a node that takes the relay for its DC gets no answer either: the
#     relay answers only the DC's key.
. "$(dirname "$0")/lib.sh"
require_root
command -v nft >/dev/null || skip "needs nftables"
NTM_RELAYD=$top_builddir/relay/ntm-relayd
NTM_RELAYCTL=$top_builddir/relay/ntm-relayctl
ATTACK=$top_builddir/tests/netns/ntm_attack
[ -x "$ATTACK" ] || fail "$ATTACK is missing (make check builds it)"
ZONE=ntm.example.org
RELAY_IP=192.0.2.10
ATK_IP=10.66.0.2

# ---- the network: router r; dc, relay (rl), attacker (x), nodes a and b ----
ns_add r
nsx r sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
ns_add dc
link dc eth0 "198.51.100.2/24" r dc0 "198.51.100.1/24"
nsx dc ip route add default via 198.51.100.1
ns_add rl
link rl eth0 "$RELAY_IP/24" r rl0 "192.0.2.1/24"
nsx rl ip route add default via 192.0.2.1
ns_add x
link x eth0 "$ATK_IP/24" r x0 "10.66.0.1/24"
nsx x ip route add default via 10.66.0.1
i=1
for n in a b; do
	ns_add "$n"
	link "$n" eth0 "203.0.113.$((16 * i + 2))/28" r "$n"0 "203.0.113.$((16 * i + 1))/28"
	nsx "$n" ip route add default via "203.0.113.$((16 * i + 1))"
	i=$((i + 1))
done
# a and b cannot reach each other directly: only through the relay
nsx r nft -f - <<NFT || fail "nft on r"
table ip ntmnodirect {
	chain nodirect {
		type filter hook forward priority filter; policy accept;
		ip saddr 203.0.113.16/28 ip daddr 203.0.113.32/28 drop
		ip saddr 203.0.113.32/28 ip daddr 203.0.113.16/28 drop
	}
}
NFT

# ---- keys first: each side's configuration names the other's key ----
mkdir -p "$T/dc" "$T/rl" "$T/x"
chmod 700 "$T/dc" "$T/rl"
(umask 077; "$NTMCTL" genkey > "$T/dc/dc.key"; "$NTMCTL" genkey > "$T/rl/relay.key")
DCPUB=$("$NTMCTL" pubkey < "$T/dc/dc.key")
RLPUB=$("$NTMCTL" pubkey < "$T/rl/relay.key")
cat > "$T/rl/relayd.conf" <<CONF
[Relay]
PrivateKeyFile = $T/rl/relay.key
DCPublicKey = $DCPUB
ControlSocket = $T/rl/run/relayd.sock
CONF
"$NTM_RELAYD" -n -c "$T/rl/relayd.conf" >/dev/null || fail "ntm-relayd -n"
[ "$("$NTM_RELAYCTL" -c "$T/rl/relayd.conf" show-key)" = "$RLPUB" ] || fail "ntm-relayctl show-key"
DCCONF=$T/dc/dcd.conf
cat > "$DCCONF" <<CONF
[DC]
Zone = $ZONE
PrivateKeyFile = $T/dc/dc.key
Database = $T/dc/dc.db
ControlSocket = $T/dc/run/dcd.sock
[Relay]
EmbeddedRelay = no
[Relay.r1]
EndpointIPv4 = $RELAY_IP:7542
PublicKey = $RLPUB
CONF
"$NTM_DCD" -n -c "$DCCONF" >/dev/null || fail "ntm-dcd -n"

bg rl relayd "$NTM_RELAYD" -f -d -c "$T/rl/relayd.conf"
RELAYD_PID=$LAST_PID
wait_for 5 "relay control socket" test -S "$T/rl/run/relayd.sock"
bg dc dcd "$NTM_DCD" -f -d -c "$DCCONF"

# ---- counters ----
# ctr JSON NAME: one counter from a stats --json line
ctr() {
	local v
	v=$(printf '%s' "$1" | grep -o "\"$2\": [0-9]*") || return 1
	echo "${v##* }"
}
rstats() { "$NTM_RELAYCTL" -c "$T/rl/relayd.conf" stats --json; }
dstats() { "$NTM_DCCTL" -c "$DCCONF" stats --json; }
# at_least WHO NAME N: WHO's (rstats/dstats) counter NAME is >= N
at_least() { local v; v=$(ctr "$($1)" "$2") && [ "$v" -ge "$3" ]; }

# ---- 1. the DC-relay session ----
wait_for 10 "the DC's session with the relay" at_least dstats standalone_handshakes 1
at_least rstats handshakes 1 || fail "the relay counted no handshake"
grep -q "relay r1 up" "$T/dcd.log" || fail "the DC did not log the relay up"
ok "DC-relay session up (relay handshakes $(ctr "$(rstats)" handshakes))"

# ---- 2. a route between a and b gets an allocation on the relay ----
for n in a b; do
	mkdir -p "$T/$n"
	cat > "$T/$n/tund.conf" <<CONF
[Node]
Name = $n
PrivateKeyFile = $T/$n/node.key
ControlSocket = $T/$n/run/tund.sock
[DC]
Endpoint = 198.51.100.2:7540
PublicKey = $DCPUB
CONF
	(umask 077; "$NTMCTL" genkey > "$T/$n/node.key")
	"$NTM_DCCTL" -c "$DCCONF" node add "$n" "$("$NTMCTL" pubkey < "$T/$n/node.key")" >/dev/null
	bg "$n" "tund-$n" "$NTM_TUND" -f -c "$T/$n/tund.conf"
done
registered() { "$NTMCTL" -s "$1" status --json 2>/dev/null | grep -q '"state": "registered"'; }
for n in a b; do wait_for 10 "$n registered" registered "$T/$n/run/tund.sock"; done
"$NTMCTL" -s "$T/a/run/tund.sock" resolve "b.$ZONE" >/dev/null || fail "resolve b.$ZONE on a"
wait_for 5 "an allocation on the relay" at_least rstats relay_allocs 1
wait_for 5 "RELAY_ALLOC_ACK at the DC" at_least dstats standalone_alloc_acks 1
ALLOC=$(sed -n 's/.*relay r1 allocation \([0-9a-f]\{8\}\).*/\1/p' "$T/dcd.log" | head -n 1)
[ -n "$ALLOC" ] || fail "no allocation in the DC's log"
ok "route a -> b: allocation $ALLOC on the relay, acknowledged"
VIP_B=$(nsx b ip -4 -o addr show dev ntm0 | awk '{ sub("/.*", "", $4); print $4 }')
wait_for 15 "a ping from a to b through the relay" nsx a ping -c 1 -W 1 "$VIP_B"
at_least rstats relay_forwarded 2 || fail "the ping did not go through the relay"
ok "ping a -> b ($VIP_B) through the relay (relay_forwarded $(ctr "$(rstats)" relay_forwarded))"
"$NTMCTL" -s "$T/a/run/tund.sock" ping -c 2 "b.$ZONE" > "$T/ntmping" || fail "ntmctl ping b: $(cat "$T/ntmping")"
grep -q "^reply from b.$ZONE: seq=[01] time=[0-9.]* ms via relay $RELAY_IP:7542\$" "$T/ntmping" \
	|| fail "ntmctl ping does not say the replies came via the relay: $(cat "$T/ntmping")"
grep -q "direct to" "$T/ntmping" && fail "a reply came directly while direct UDP is blocked: $(cat "$T/ntmping")"
ok "ntmctl ping: $(head -n 1 "$T/ntmping")"
seccomp_on "$RELAYD_PID" ntm-relayd
ok "ntm-relayd runs under its seccomp filter (Seccomp: 2)"

# ---- 3. the attacker ----
nsx rl nft -f - <<NFT || fail "nft on rl"
table ip ntmrelay {
	counter udp_to_x { }
	counter any_to_x { }
	chain out {
		type filter hook output priority filter; policy accept;
		ip daddr $ATK_IP meta l4proto udp counter name "udp_to_x"
		ip daddr $ATK_IP counter name "any_to_x"
	}
}
NFT
nft_count() { nsx rl nft list counter ip ntmrelay "$1" | awk '/packets/ { print $2 }'; }
# send HEX...: datagrams from the attacker to the relay's port, one per HEX.
# (Not bash's printf to /dev/udp: its stdout is line-buffered and splits a
# datagram at every 0x0a byte, e.g. in an allocation ID.)
send() { nsx x "$ATTACK" udp "$RELAY_IP" 7542 "$@" >/dev/null || fail "ntm_attack udp $*"; }
zeros() { printf '%0*d' $(($1 * 2)) 0; }
WATCH="relay_drop_unknown_alloc relay_drop_auth relay_drop_bad_direction relay_drop_malformed
	drop_malformed drop_bad_mac drop_unauth drop_unknown_index drop_not_dc relay_forwarded relay_allocs_made"
declare -A BASE
now=$(rstats) || fail "relay stats"
for n in $WATCH; do BASE[$n]=$(ctr "$now" "$n") || fail "the relay has no counter $n"; done
UDP0=$(nft_count udp_to_x)
ANY0=$(nft_count any_to_x)

N=5
for k in $(seq 1 $N); do
	# unknown allocation (a keepalive-sized capsule, tag of zeros)
	send "05010000$(printf '%08x' $((0x10000000 + k)))$(printf '%016x' "$k")$(zeros 16)"
	# the live allocation, side A and B, with an inner datagram and a forged tag
	send "05010000${ALLOC}$(printf '%016x' $((1000 + k)))04010000$(zeros 28)$(zeros 16)"
	send "05010100${ALLOC}$(printf '%016x' $((1000 + k)))$(zeros 16)"
	# direction 1 sent to the relay
	send "05010001${ALLOC}$(printf '%016x' "$k")$(zeros 16)"
	# malformed: too short, and an inner datagram under 32 bytes
	send "05010000${ALLOC}00"
	send "05010000${ALLOC}$(zeros 8)$(zeros 4)$(zeros 16)"
	# not a relay message at all, a junk handshake and DATA for no session
	send "0901000000"
	send "01010103$(zeros 152)"
	send "04010000$(printf '%08x' $((0x20000000 + k)))$(zeros 8)$(zeros 32)"
done
# expect NAME DELTA: the relay's counter rose by exactly DELTA
expect_delta() {
	local got
	got=$(ctr "$(rstats)" "$1") || fail "relay stats"
	[ "$got" = $((BASE[$1] + $2)) ] || fail "$1 is $got, expected ${BASE[$1]} + $2"
}
wait_for 5 "the relay's drop counters" at_least rstats relay_drop_malformed $((BASE[relay_drop_malformed] + 2 * N))
sleep 1 # the window's tail: anything the relay would send in answer
expect_delta relay_drop_unknown_alloc "$N"
expect_delta relay_drop_auth $((2 * N))
expect_delta relay_drop_bad_direction "$N"
expect_delta relay_drop_malformed $((2 * N))
expect_delta drop_malformed "$N"
expect_delta drop_bad_mac "$N"
expect_delta drop_unauth 0
expect_delta drop_unknown_index "$N"
expect_delta relay_allocs_made 0
udp=$(( $(nft_count udp_to_x) - UDP0 ))
any=$(( $(nft_count any_to_x) - ANY0 ))
[ "$udp" = 0 ] || fail "the relay sent $udp UDP datagrams to the attacker"
[ "$any" = 0 ] || fail "the relay sent $any packets to the attacker"
ok "$((9 * N)) bad datagrams: each dropped in its counter, 0 packets to the attacker"

# ---- 4. a node that takes the relay for its DC ----
cat > "$T/x/tund.conf" <<CONF
[Node]
Name = x
PrivateKeyFile = $T/x/node.key
ControlSocket = $T/x/run/tund.sock
[DC]
Endpoint = $RELAY_IP:7542
PublicKey = $RLPUB
CONF
(umask 077; "$NTMCTL" genkey > "$T/x/node.key")
bg x tund-x "$NTM_TUND" -f -c "$T/x/tund.conf"
wait_for 10 "the relay refusing x's handshake" at_least rstats drop_not_dc $((BASE[drop_not_dc] + 1))
sleep 1
udp=$(( $(nft_count udp_to_x) - UDP0 ))
[ "$udp" = 0 ] || fail "the relay answered x's handshake ($udp datagrams)"
ok "a handshake from another key than the DC's: drop_not_dc, no answer"

# ---- the path still works ----
wait_for 5 "a ping from a to b after the attack" nsx a ping -c 1 -W 1 "$VIP_B"
ok "ping a -> b through the relay after the attack"
echo "PASS: relay"
