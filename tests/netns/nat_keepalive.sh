#!/bin/bash
# nat_keepalive.sh - issue 6: NAT keepalives hold an idle tunnel's NAT
# mappings open. Two port-restricted sites a and b (natlab.sh), conntrack
# UDP timeouts of 2 s in both NAT namespaces (nf_conntrack_udp_timeout and
# _stream), the nodes' NatKeepalive 1 s, the DC's KeepaliveInterval 1 s.
#
#  0. control: the lab's 2 s mapping lifetime really bites - a plain UDP
#     flow a -> b's public address (nc, no ntm) lets b's answer in after
#     0.5 s, and no longer after 3.5 s of silence;
#  1. a (the initiator) pings b by name: a direct tunnel;
#  2. idle for IDLE s (6): no program traffic at all;
#  3. then b, the RESPONDER, pings a by name. That is the direction that
#     fails when a's NAT forgot a's mapping: a's NAT filters by address and
#     port, so b's packets get in only while a's mapping towards b lives.
# Asserted:
#  - b's ping gets its first reply within 2 s;
#  - no new handshake was needed: peer_handshakes and peer_handshakes_sent
#    of both nodes are unchanged since step 1, and b's last_handshake_s for
#    a is at least IDLE;
#  - no new DC round trip: the DC's 'directions' counter is unchanged;
#  - the path stayed direct on both sides, at the same endpoints;
#  - the mappings never expired: nftables counters in each NAT namespace
#    saw at least IDLE/2 datagrams from its node to the other site during
#    the idle time (the keepalives), and no conntrack entry was created
#    anew for that flow ("ct state new" counter 0 from step 1 on).
. "$(dirname "$0")/lib.sh"
require_root
. "$(dirname "$0")/natlab.sh"
natlab_require
IDLE=${IDLE:-6}

NL_KA=1
NL_LIFE=5
NL_CT_UDP=2
NL_SEEN_TIMEOUT=2s
NL_NODE_EXTRA="NatKeepalive = ${NAT_KA:-1}" # NAT_KA=25: see it fail
printf '[Node]\nName = x\n%s\n[DC]\nEndpoint = 192.0.2.1:7540\nPublicKey = %s\n' "$NL_NODE_EXTRA" \
	"DXdV+ugaJM+qa6epGBckEeeIszkf8EXzFxqu93tAdtI=" > "$T/ka-check.conf"
if ! "$NTM_TUND" -n -c "$T/ka-check.conf" > "$T/ka-check.out" 2>&1; then
	echo "NOTE: ntm-tund does not accept 'NatKeepalive': $(cat "$T/ka-check.out"); running with its default"
	NL_NODE_EXTRA=""
fi
natlab_init
site a port
site b port
for s in a b; do
	[ "$(nsx "$s-nat" sysctl -n net.netfilter.nf_conntrack_udp_timeout)" = 2 ] || fail "udp timeout in $s-nat"
	[ "$(nsx "$s-nat" sysctl -n net.netfilter.nf_conntrack_udp_timeout_stream)" = 2 ] || fail "udp stream timeout in $s-nat"
done
A_PUB=${NL_PUB[a]} B_PUB=${NL_PUB[b]}

# --- 0. control: a mapping without traffic dies after 2 s ---
bg a nc-ctl sh -c "(echo from-a; sleep 5) | timeout 6 nc -u -p 5555 $B_PUB 5555 > '$T/ctl.out'"
CTL_PID=$LAST_PID
sleep 0.5
nsx b sh -c "echo early | timeout 2 nc -u -w1 -p 5555 $A_PUB 5555" 2>/dev/null
sleep 3.5 # the point of the control: 3.5 s of silence on that flow
nsx b sh -c "echo late | timeout 2 nc -u -w1 -p 5555 $A_PUB 5555" 2>/dev/null
wait_for 5 "the control's nc ended" sh -c "! kill -0 $CTL_PID 2>/dev/null"
grep -q early "$T/ctl.out" || fail "control: b's answer did not get through a's NAT at once: $(cat "$T/ctl.out")"
grep -q late "$T/ctl.out" && fail "control: b's answer still got in after 3.5 s idle (conntrack timeout not in effect)"
ok "control: a plain UDP mapping lets the answer in after 0.5 s, not after 3.5 s idle"

# --- counters in the NAT namespaces: node -> other site, and new flows ---
for s in a b; do
	[ "$s" = a ] && other=$B_PUB || other=$A_PUB
	nsx "$s-nat" nft -f - <<NFT || fail "nft counters in $s-nat"
table ip ka {
	counter out { }
	counter out_new { }
	chain count_fwd { type filter hook forward priority -10; policy accept;
		iifname "lan0" ip saddr ${NL_LAN[$s]} ip daddr $other udp sport $NL_PORT counter name "out"
		iifname "lan0" ip saddr ${NL_LAN[$s]} ip daddr $other udp sport $NL_PORT ct state new counter name "out_new"
	}
}
NFT
done
cnt() { nsx "$1-nat" nft list counter ip ka "$2" | awk '/packets/ {print $2}'; }
tstat() { "$NTMCTL" -s "${NL_SOCK[$1]}" stats --json | grep -o "\"$2\": [0-9]*" | awk '{print $2}'; }
dcstat() { "$NTM_DCCTL" -c "$DCCONF" stats --json | grep -o "\"$1\": [0-9]*" | awk '{print $2}'; }

natlab_start
ok "a and b registered behind port-restricted NATs with 2 s UDP timeouts (DC keepalive 1 s, ${NL_NODE_EXTRA:-NatKeepalive default})"

# --- 1. the tunnel ---
nl_ping_name a b 5 || fail "a could not ping b by name ($PING_ERR)"
ok "a pinged b by name: first reply after $PING_MS ms"
wait_for 5 "b's path to a direct" nl_path_is b a direct
nl_path_is a b direct || fail "a's path to b is '$(peer_field a b path)'"
EP_AB=$(peer_field a b endpoint) EP_BA=$(peer_field b a endpoint)
for n in a b; do
	eval "HS_$n=\$(tstat $n peer_handshakes) HSS_$n=\$(tstat $n peer_handshakes_sent)"
done
DIRS=$(dcstat directions)
N0_a=$(cnt a out) N0_b=$(cnt b out) NEW0_a=$(cnt a out_new) NEW0_b=$(cnt b out_new)
ok "direct tunnel a <-> b (a sees b at $EP_AB, b sees a at $EP_BA)"

# --- 2. idle ---
t_idle=$(date +%s%N)
sleep "$IDLE" # the point of the test: no program traffic for IDLE s

# --- 3. the responder speaks first ---
N1_a=$(cnt a out) N1_b=$(cnt b out)
nl_ping_name b a 2 || fail "after ${IDLE}s idle, b (the responder) could not ping a by name ($PING_ERR); \
a sent $((N1_a - N0_a)), b sent $((N1_b - N0_b)) datagrams to the other site while idle"
ok "after ${IDLE} s idle, b pinged a by name: first reply after $PING_MS ms"
fails=""
for n in a b; do
	[ "$(tstat $n peer_handshakes)" = "$(eval echo \$HS_$n)" ] || fails="$fails; $n completed a new handshake ($(eval echo \$HS_$n) -> $(tstat $n peer_handshakes))"
	[ "$(tstat $n peer_handshakes_sent)" = "$(eval echo \$HSS_$n)" ] || fails="$fails; $n sent a new handshake ($(eval echo \$HSS_$n) -> $(tstat $n peer_handshakes_sent))"
done
[ "$(dcstat directions)" = "$DIRS" ] || fails="$fails; the DC handled a new Direction Request ($DIRS -> $(dcstat directions))"
lh=$(peer_field b a last_handshake_s)
case $lh in '' | null | *[!0-9]*) fails="$fails; b's last_handshake_s for a is '$lh'" ;;
*) [ "$lh" -ge "$IDLE" ] || fails="$fails; b's last handshake with a was $lh s ago (< ${IDLE})" ;;
esac
for pr in "a b $EP_AB" "b a $EP_BA"; do
	set -- $pr
	[ "$(peer_field "$1" "$2" path)" = direct ] || fails="$fails; $1's path to $2 is '$(peer_field "$1" "$2" path)'"
	[ "$(peer_field "$1" "$2" endpoint)" = "$3" ] || fails="$fails; $1's endpoint for $2 moved $3 -> $(peer_field "$1" "$2" endpoint)"
done
for n in a b; do
	sent=$(( $(eval echo \$N1_$n) - $(eval echo \$N0_$n) ))
	new=$(( $(cnt "$n" out_new) - $(eval echo \$NEW0_$n) ))
	[ "$sent" -ge $((IDLE / 2)) ] || fails="$fails; $n sent only $sent datagrams to the other site in ${IDLE}s idle"
	[ "$new" = 0 ] || fails="$fails; $n's NAT made $new new mappings towards the other site (the old one expired)"
	echo "  $n: $sent datagrams to the other site while idle, $new new mappings since the tunnel came up"
done
[ -z "$fails" ] || fail "${fails#; }"
ok "no new handshake, no new DC round trip, same direct path and endpoints; keepalives held both mappings"
echo "PASS: nat_keepalive"
