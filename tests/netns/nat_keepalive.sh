#!/bin/bash
# nat_keepalive.sh - NAT traversal: NAT keepalives hold an idle tunnel's NAT
# mappings open. Two port-restricted sites a and b (a direct tunnel) and two
# symmetric sites c and d, c's also behind a firewall that passes UDP only
# to and from the DC (a relayed tunnel: two symmetric NATs alone sometimes
# meet directly through the birthday search) (natlab.sh), conntrack UDP
# timeouts of 2 s in every NAT namespace (nf_conntrack_udp_timeout and
# _stream), the nodes' NatKeepalive 1 s, the DC's KeepaliveInterval 1 s.
#
#  0. control: the lab's 2 s mapping lifetime really bites - a plain UDP
#     flow a -> b's public address (nc, no ntm) lets b's answer in after
#     0.5 s, and no longer after 3.5 s of silence;
#  1. a (the initiator) pings b by name: a direct tunnel; c pings d: a
#     tunnel through the DC's embedded relay;
#  2. idle for IDLE s (6): no program traffic at all;
#  3. then b and d, the RESPONDERS, ping a and c by name. That is the
#     direction that fails when the initiator's NAT forgot its mapping:
#     the NATs filter by address and port, so the responder's packets get
#     in only while the initiator's mapping towards b's site (direct) or
#     towards the relay (relayed) lives.
# Asserted, for both pairs:
#  - the responder's ping gets its first reply within 2 s;
#  - no new handshake was needed: peer_handshakes and peer_handshakes_sent
#    of all four nodes are unchanged since step 1, and the responder's
#    last_handshake_s for the initiator is at least IDLE;
#  - no new DC round trip: the DC's 'directions' counter is unchanged;
#  - the paths stayed as they were (direct; relay), at the same endpoints;
#  - the mappings never expired: nftables counters in each NAT namespace
#    saw at least IDLE/2 datagrams from its node towards the path (the
#    other site, or the relay's port 7542) during the idle time (the
#    keepalives), and no conntrack entry was created anew for that flow
#    ("ct state new" counter 0 from step 1 on).
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

NL_UDP_ONLY_TO=$NL_DC_IP site c sym
site d sym

# PAIRS: initiator, responder, the path expected between them.
PAIRS="a:b:direct c:d:relay"
# target NODE PEER PATH: the address (and port) NODE's NAT mapping must be
# kept open towards: the peer's site when direct, the relay when relayed.
target() { if [ "$3" = direct ]; then echo "ip daddr ${NL_PUB[$2]}"; else echo "ip daddr $NL_DC_IP udp dport 7542"; fi; }

# --- counters in the NAT namespaces: node -> that target, and new flows ---
for pr in $PAIRS; do
	IFS=: read -r x y path <<< "$pr"
	for s in "$x:$y" "$y:$x"; do
		n=${s%%:*} m=${s#*:}
		nsx "$n-nat" nft -f - <<NFT || fail "nft counters in $n-nat"
table ip ka {
	counter out { }
	counter out_new { }
	chain count_fwd { type filter hook forward priority -10; policy accept;
		iifname "lan0" ip saddr ${NL_LAN[$n]} udp sport $NL_PORT $(target "$n" "$m" "$path") counter name "out"
		iifname "lan0" ip saddr ${NL_LAN[$n]} udp sport $NL_PORT $(target "$n" "$m" "$path") ct state new counter name "out_new"
	}
}
NFT
	done
done
cnt() { nsx "$1-nat" nft list counter ip ka "$2" | awk '/packets/ {print $2}'; }
tstat() { "$NTMCTL" -s "${NL_SOCK[$1]}" stats --json | grep -o "\"$2\": [0-9]*" | awk '{print $2}'; }
dcstat() { "$NTM_DCCTL" -c "$DCCONF" stats --json | grep -o "\"$1\": [0-9]*" | awk '{print $2}'; }
declare -A HS HSS N0 N1 NEW0 EP

natlab_start
ok "a, b (port-restricted) and c, d (symmetric) registered behind NATs with 2 s UDP timeouts (DC keepalive 1 s, ${NL_NODE_EXTRA:-NatKeepalive default})"

# --- 1. the tunnels ---
for pr in $PAIRS; do
	IFS=: read -r x y path <<< "$pr"
	nl_ping_name "$x" "$y" 5 || fail "$x could not ping $y by name ($PING_ERR)"
	wait_for 5 "$x's path to $y $path" nl_path_is "$x" "$y" "$path"
	wait_for 5 "$y's path to $x $path" nl_path_is "$y" "$x" "$path"
	EP[$x]=$(peer_field "$x" "$y" endpoint) EP[$y]=$(peer_field "$y" "$x" endpoint)
	ok "$x pinged $y by name (first reply after $PING_MS ms): $path tunnel ($x sees $y at ${EP[$x]}, $y sees $x at ${EP[$y]})"
done
for n in a b c d; do
	HS[$n]=$(tstat "$n" peer_handshakes) HSS[$n]=$(tstat "$n" peer_handshakes_sent)
	N0[$n]=$(cnt "$n" out) NEW0[$n]=$(cnt "$n" out_new)
done
DIRS=$(dcstat directions)

# --- 2. idle ---
sleep "$IDLE" # the point of the test: no program traffic for IDLE s

# --- 3. the responders speak first ---
for n in a b c d; do N1[$n]=$(cnt "$n" out); done
fails=""
for pr in $PAIRS; do
	IFS=: read -r x y path <<< "$pr"
	if nl_ping_name "$y" "$x" 2; then
		ok "after ${IDLE} s idle, $y (the responder) pinged $x by name: first reply after $PING_MS ms"
	else
		fails="$fails; after ${IDLE}s idle, $y (the responder) could not ping $x by name ($PING_ERR)"
	fi
done
for n in a b c d; do
	[ "$(tstat $n peer_handshakes)" = "${HS[$n]}" ] || fails="$fails; $n completed a new handshake (${HS[$n]} -> $(tstat $n peer_handshakes))"
	[ "$(tstat $n peer_handshakes_sent)" = "${HSS[$n]}" ] || fails="$fails; $n sent a new handshake (${HSS[$n]} -> $(tstat $n peer_handshakes_sent))"
done
[ "$(dcstat directions)" = "$DIRS" ] || fails="$fails; the DC handled a new Direction Request ($DIRS -> $(dcstat directions))"
for pr in $PAIRS; do
	IFS=: read -r x y path <<< "$pr"
	lh=$(peer_field "$y" "$x" last_handshake_s)
	case $lh in '' | null | *[!0-9]*) fails="$fails; $y's last_handshake_s for $x is '$lh'" ;;
	*) [ "$lh" -ge "$IDLE" ] || fails="$fails; $y's last handshake with $x was $lh s ago (< ${IDLE})" ;;
	esac
	for s in "$x:$y" "$y:$x"; do
		n=${s%%:*} m=${s#*:}
		[ "$(peer_field "$n" "$m" path)" = "$path" ] || fails="$fails; $n's path to $m is '$(peer_field "$n" "$m" path)', was $path"
		[ "$(peer_field "$n" "$m" endpoint)" = "${EP[$n]}" ] || fails="$fails; $n's endpoint for $m moved ${EP[$n]} -> $(peer_field "$n" "$m" endpoint)"
		sent=$(( N1[$n] - N0[$n] ))
		new=$(( $(cnt "$n" out_new) - NEW0[$n] ))
		[ "$sent" -ge $((IDLE / 2)) ] || fails="$fails; $n sent only $sent datagrams towards $m's $path path in ${IDLE}s idle"
		[ "$new" = 0 ] || fails="$fails; $n's NAT made $new new mappings towards $m's $path path (the old one expired)"
		echo "  $n: $sent datagrams towards $m's $path path ($(target "$n" "$m" "$path" | sed 's/ip daddr //; s/ udp dport /:/')) while idle, $new new mappings since the tunnel came up"
	done
done
[ -z "$fails" ] || fail "${fails#; }"
ok "no new handshake, no new DC round trip, same paths and endpoints; keepalives held every mapping"
echo "PASS: nat_keepalive"
