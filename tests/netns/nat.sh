#!/bin/bash
# nat.sh - NAT traversal, the NAT matrix: every kind of NAT on the initiator's
# side against every kind on the responder's (RFC 4787: none, full cone,
# address-restricted, port-restricted, symmetric; tests/netns/natlab.sh
# builds them, doc/lab.md section 3), in one topology of 25 nodes.
#
# For each of the 25 ordered pairs (initiator i-X, responder r-Y), with
# unmodified programs through nss_ntm (ping's and curl's own name lookup):
#   1. i-X pings r-Y by name (a never-seen peer: lookup, Route Direction,
#      probing, handshake, first reply) - the time to the first reply;
#      getent on i-X gives r-Y's virtual address as 'ntmctl peers' has it;
#   2. i-X fetches a file from r-Y's web server by name (TCP);
#   3. r-Y pings i-X by name and fetches a file from it (the other way);
#   4. the path i-X's 'ntmctl peers --json' shows for r-Y (and r-Y's for
#      i-X): direct, relay or pending. Where direct is expected and the
#      path is still the relay, it may take UPGRADE_DL s to upgrade; an
#      "either" pair on the relay is watched BDAY_DL s for an upgrade (noted,
#      not required); an upgraded path must carry a ping by name.
# Then: a node behind no NAT must reach one behind a symmetric NAT and a
# firewall that passes UDP only to and from the DC (natlab.sh's
# NL_UDP_ONLY_TO) both ways, through the relay, while that firewall drops
# the direct attempts (the one pair of the test with no direct path at
# all); two nodes behind one NAT must reach each other directly at their
# LAN addresses; a node behind two chained NATs (home NAT + carrier-grade
# NAT) must reach a port-restricted site both ways; a port-restricted node
# must reach one behind a bare Linux masquerade (no WAN input filter, see
# natlab.sh) both ways, directly or relayed.
# NATs that see the probes themselves (doc/lab.md 3, doc/protocol.md 2.7):
# sites whose NAT box has no WAN input filter (NL_WAN_INPUT=accept: a
# peer's probe that comes before the node's own mapping is taken by the
# box, and masquerade then moves the node's flow to that peer to another
# port) or answers with ICMP port unreachable (reject), each behind its
# ISP's router (NL_ISP) as homes are: port -> port, port -> symmetric and
# symmetric -> port of each kind must be direct, and for port -> port no
# probe may have reached either NAT box itself (nl_wan_new 0: the
# TTL-limited opening probes did their work). Two port-restricted NATs
# without a WAN input filter on one bridge (no router between them, like
# all other sites here): relay or direct, and their boxes must have taken
# probes for themselves (the variant bites: b-qaccept's NAT holds its
# node's flow back until its box has taken one of b-paccept's probes, so
# that the race of the two first probes cannot go the other way); when relayed, the path's
# reason must say that the peer's NAT box took the probes itself (the
# ICMP port unreachable its box sent back). And the path upgrade: two more
# such sites, the first attempt spoiled (h-u2's NAT forwards nothing
# towards h-u1's until both birthday searches are over, while h-u1's probes
# reach h-u2's NAT box): relayed then, with h-u2's box holding flows; the
# pair must turn direct in a later probe burst, which it can only once
# those flows have expired (doc/protocol.md 2.7; checked after the
# matrix, which outlasts the 60 s burst period).
# A pair passes when both directions work (ping and TCP) and the path is
# the expected one. The table lists every pair; the test fails naming
# every pair that did not pass.
. "$(dirname "$0")/lib.sh"
require_root
. "$(dirname "$0")/natlab.sh"
natlab_require

# ---- expectations: "INITIATOR:RESPONDER" NAT types ---------------------------
# EXPECT_RELAY: pairs with no direct path; none among the NAT types alone
# (the firewalled pair below is the relayed one).
# EXPECT_EITHER: relay or direct accepted. Symmetric <-> symmetric: both
# mappings are unpredictable, yet the birthday search sometimes finds one
# (ntm(7) gives the measured rate). port:sym and sym:port are direct
# through the birthday search. Every other pair: direct.
EXPECT_RELAY=""
EXPECT_EITHER="sym:sym"
# -----------------------------------------------------------------------------
TYPES="none full addr port sym"
PING_DL=${PING_DL:-5}       # s: deadline of one ping by name
UPGRADE_DL=${UPGRADE_DL:-5} # s: relay -> direct upgrade allowed after traffic
BDAY_DL=${BDAY_DL:-8}       # s: how long an "either" pair on the relay is watched
                            # for an upgrade (the birthday search: doc/protocol.md 7)

NL_KA=5
natlab_init
for t in $TYPES; do site "i-$t" "$t"; done
for t in $TYPES; do site "r-$t" "$t"; done
site_same s-a s-b port
site_double d-pp port port
# a bare Linux box as NAT: stock masquerade without the WAN input filter
# (natlab.sh's NL_WAN_INPUT): a peer's early probe to its public port makes
# conntrack pick a new port for the node's own flow to that peer.
NL_WAN_INPUT=accept site r-lnx port
# a site whose firewall passes UDP only to and from the DC (and its relay)
NL_UDP_ONLY_TO=$NL_DC_IP site r-fw sym
# NAT boxes that see the probes themselves, behind ISP routers (h-*) and
# side by side on the bridge (b-*)
for w in accept reject; do
	NL_WAN_INPUT=$w NL_ISP=1 site "h-p$w" port
	NL_WAN_INPUT=$w NL_ISP=1 site "h-q$w" port
	NL_WAN_INPUT=$w NL_ISP=1 site "h-s$w" sym
done
NL_WAN_INPUT=accept NL_ISP=1 site h-u1 port
NL_WAN_INPUT=accept NL_ISP=1 site h-u2 port
NL_WAN_INPUT=accept site b-paccept port
NL_WAN_INPUT=accept site b-qaccept port
T0=$(date +%s)
natlab_start
ok "$(echo $NL_NODES | wc -w) nodes registered; the DC sees each at its NAT's public address$(for n in i-full i-sym d-pp; do printf ', %s %s' "$n" "$(observed "$n")"; done)"
for n in $NL_NODES; do nl_httpd "$n"; done
for n in $NL_NODES; do wait_for 5 "httpd on $n" nl_httpd_ready "$n"; done

# the spoiled first attempt of the upgrade pair (checked after the matrix)
nsx h-u2-nat nft -f - <<NFT || fail "nft (hold) in h-u2-nat"
table ip hold {
	chain forward { type filter hook forward priority filter - 20; policy accept;
		iifname "lan0" ip daddr ${NL_PUB[h-u1]} drop
	}
}
NFT
T_U0=$(date +%s)
nl_ping_name h-u1 h-u2 "$PING_DL" || fail "h-u1 -> h-u2 through the relay: $PING_ERR"
for n in h-u1:h-u2 h-u2:h-u1; do
	wait_for 15 "${n%:*}'s birthday search for ${n#*:} to end" \
		grep -q "$(fqdn "${n#*:}"): birthday search found nothing" "$T/tund-${n%:*}.log"
done
nl_path_is h-u1 h-u2 relay || fail "h-u1 -> h-u2: path '$(peer_field h-u1 h-u2 path)' while h-u2's NAT held back, expected relay"
U_HELD=$(nl_wan_new h-u2)
[ "${U_HELD:-0}" -gt 0 ] || fail "h-u1's probes did not reach h-u2's NAT box while held back"
nsx h-u2-nat nft delete table ip hold || fail "nft (hold) in h-u2-nat"
ok "h-u1 -> h-u2 relayed after a spoiled attempt; h-u2's NAT box took $U_HELD flows"

expect_of() { # X Y -> direct | relay | either
	case " $EXPECT_RELAY " in *" $1:$2 "*) echo relay; return ;; esac
	case " $EXPECT_EITHER " in *" $1:$2 "*) echo either; return ;; esac
	echo direct
}

FAILED=""
ROWS=""
DIAG=""
# way FROM TO: ping by name then TCP; prints "ok", "noname", "noreply" or
# "tcp-fail", and sets WAY_MS to the ping's time.
way() {
	if ! nl_ping_name "$1" "$2" "$PING_DL"; then
		WAY="$PING_ERR"; WAY_MS="-"; return
	fi
	WAY_MS=$PING_MS
	if nl_curl "$1" "$2"; then WAY=ok; else WAY=tcp-fail; fi
}
# diag A B: what A's and B's logs say about each other (last lines).
diag() {
	local a=$1 b=$2
	DIAG="$DIAG
---- $a -> $b: $a's peers: $(peer_json "$a" "$b" || echo none)
     $b's peers: $(peer_json "$b" "$a" || echo none)
$(grep -h -e "$(fqdn "$b")" -e "$b " "$T/tund-$a.log" 2>/dev/null | tail -n 4 | sed "s/^/     $a: /")
$(grep -h -e "$(fqdn "$a")" -e "$a " "$T/tund-$b.log" 2>/dev/null | tail -n 4 | sed "s/^/     $b: /")"
}

# pair LABEL A B EXPECT [LANCHECK]: the checks above for initiator A and
# responder B; EXPECT direct, relay or either; LANCHECK: B's endpoint in A's
# peer list must be B's LAN address.
pair() {
	local label=$1 a=$2 b=$3 exp=$4 lan=${5:-} fwd rev fms pa pb ep why="" ip4 got note t_pair
	t_pair=$(date +%s%N)
	way "$a" "$b"; fwd=$WAY; fms=$WAY_MS
	if [ "$fwd" = ok ]; then
		ip4=$(peer_field "$a" "$b" ipv4)
		got=$(on_node "$a" getent ahostsv4 "$(fqdn "$b")" | awk 'NR == 1 {print $1}')
		[ -n "$ip4" ] && [ "$got" = "$ip4" ] || { fwd=lookup; why="getent gave '$got', peers has '$ip4'"; }
	fi
	way "$b" "$a"; rev=$WAY
	pa=$(peer_field "$a" "$b" path)
	note=""
	if [ "$pa" = relay ] && [ "$fwd" = ok ] && [ "$exp" != relay ]; then
		local dl=$UPGRADE_DL
		[ "$exp" = either ] && dl=$BDAY_DL
		if poll_until "$dl" nl_path_is "$a" "$b" direct; then
			note="relay, then direct $(( ($(date +%s%N) - t_pair) / 1000000 )) ms after the lookup"
			nl_ping_name "$a" "$b" 3 || why="${why:+$why; }the upgraded direct path carries no ping ($PING_ERR)"
		else
			note="relay for ${dl} s more"
		fi
		pa=$(peer_field "$a" "$b" path)
	fi
	pb=$(peer_field "$b" "$a" path)
	ep=$(peer_field "$a" "$b" endpoint)
	[ "$fwd" = ok ] || why="${why:+$why; }$a -> $b: $fwd"
	[ "$rev" = ok ] || why="${why:+$why; }$b -> $a: $rev"
	case $exp in
	direct) [ "$pa" = direct ] || why="${why:+$why; }path '$pa', expected direct" ;;
	relay) [ "$pa" = relay ] || why="${why:+$why; }path '$pa', expected relay" ;;
	either) case $pa in direct | relay) ;; *) why="${why:+$why; }path '$pa', expected relay or direct" ;; esac ;;
	esac
	if [ -n "$lan" ]; then
		case $ep in "${NL_LAN[$b]}":*) ;; *) why="${why:+$why; }endpoint '$ep' is not $b's LAN address ${NL_LAN[$b]}" ;; esac
	fi
	local verdict=PASS
	if [ -n "$why" ]; then
		verdict=FAIL
		FAILED="$FAILED
  $label: $why"
		diag "$a" "$b"
	fi
	ROWS="$ROWS
$(printf '%-13s %-9s %-9s %-8s %-8s %-21s %-7s %8s  %-6s %s' "$label" "$fwd" "$rev" "${pa:--}" "${pb:--}" "${ep:--}" "$exp" "$fms" "$verdict" "$note")"
	echo "$verdict $label: i->r $fwd, r->i $rev, path $pa/$pb, endpoint ${ep:--}, first reply ${fms} ms${note:+; $note}" >&2
}

for x in $TYPES; do
	for y in $TYPES; do
		pair "$x->$y" "i-$x" "r-$y" "$(expect_of "$x" "$y")"
	done
done
fw0=$(nl_udp_blocked r-fw)
pair "none->fw" i-none r-fw relay
fw1=$(nl_udp_blocked r-fw)
[ "${fw1:-0}" -gt "${fw0:-0}" ] || { FAILED="$FAILED
  none->fw: r-fw's firewall dropped nothing, so no direct path was tried"; }
pair "same NAT" s-a s-b direct lan
pair "double->port" d-pp r-port either
pair "port->lnx" i-port r-lnx either
# wan_check A B WANT: after A and B's pair, what their NAT boxes took for
# themselves: "none" (nl_wan_new 0 on both) or "some" (> 0 on both).
wan_check() {
	local a b n bad=""
	a=$(nl_wan_new "$1"); b=$(nl_wan_new "$2")
	for n in "$a" "$b"; do
		case $3 in
		none) [ "${n:-x}" = 0 ] || bad=1 ;;
		some) [ "${n:-0}" -gt 0 ] || bad=1 ;;
		esac
	done
	[ -z "$bad" ] && return
	FAILED="$FAILED
  $1/$2: their NAT boxes took $a and $b new flows for themselves, expected $3"
}
for w in accept reject; do
	pair "port->port/$w" "h-p$w" "h-q$w" direct
	wan_check "h-p$w" "h-q$w" none
	pair "port->sym/$w" "h-p$w" "h-s$w" direct
	pair "sym->port/$w" "h-s$w" "h-q$w" direct
done
# On one bridge both nodes' first probes race to open their own NAT's
# mapping before the other's probe reaches that NAT; either may win, and in
# a run where both won neither box took anything (seen once in check.sh).
# So that the variant bites every run: b-qaccept's NAT forwards nothing
# towards b-paccept's until its box has taken one of b-paccept's probes;
# b-qaccept's own flow then leaves from another port, whose probes
# b-paccept's box takes in turn.
nsx b-qaccept-nat nft -f - <<NFT || fail "nft (hold) in b-qaccept-nat"
table ip bhold {
	chain forward { type filter hook forward priority filter - 20; policy accept;
		iifname "lan0" ip daddr ${NL_PUB[b-paccept]} drop
	}
}
NFT
box_took() { [ "$(nl_wan_new "$1")" -gt 0 ]; }
(poll_until 20 box_took b-qaccept; nsx b-qaccept-nat nft delete table ip bhold) &
BHOLD_PID=$!
pair "port->port/bridge" b-paccept b-qaccept either
wait "$BHOLD_PID"
! nsx b-qaccept-nat nft list table ip bhold >/dev/null 2>&1 ||
	fail "b-qaccept's NAT still holds back: b-paccept's probes never reached its box"
wan_check b-paccept b-qaccept some
if nl_path_is b-paccept b-qaccept relay; then
	case $(peer_field b-paccept b-qaccept path_info) in
	*"NAT box took our probes itself"*) ;;
	*) FAILED="$FAILED
  port->port/bridge: relayed, and the reason does not say the peer's NAT box took the probes: '$(peer_field b-paccept b-qaccept path_info)'" ;;
	esac
fi
# The upgrade needs both nodes' later bursts within a sweep of each other,
# which a loaded machine does not always give (a make check running tests
# in parallel missed it once): noted, not required; the pair must carry
# traffic either way.
if poll_until 75 nl_path_is h-u1 h-u2 direct && nl_ping_name h-u1 h-u2 3; then
	uv=PASS; un="relay, then direct in a later burst (seen $(( $(date +%s) - T_U0 )) s after the lookup)"
elif nl_path_is h-u1 h-u2 relay && nl_ping_name h-u1 h-u2 3; then
	uv=PASS; un="still relayed after 75 s (no later burst met in step): $(peer_field h-u1 h-u2 path_info)"
else
	uv=FAIL; un="path '$(peer_field h-u1 h-u2 path)', no ping: $(peer_field h-u1 h-u2 path_info)"
	FAILED="$FAILED
  upgrade: $un"
	diag h-u1 h-u2
fi
ROWS="$ROWS
$(printf '%-13s %-9s %-9s %-8s %-8s %-21s %-7s %8s  %-6s %s' upgrade ok - "$(peer_field h-u1 h-u2 path)" "$(peer_field h-u2 h-u1 path)" "$(peer_field h-u1 h-u2 endpoint)" direct - "$uv" "$un")"
T1=$(date +%s)

echo
echo "NAT matrix: initiator i-X -> responder r-Y (ping by name + TCP, both ways; path as the initiator sees it)"
printf '%-13s %-9s %-9s %-8s %-8s %-21s %-7s %8s  %-6s %s\n' pair "i->r" "r->i" "path(i)" "path(r)" "endpoint(i sees r)" expect "1st ms" result note
echo "${ROWS#?}"
npass=$(echo "$ROWS" | grep -c '  PASS ')
ntotal=$(echo "${ROWS#?}" | wc -l)
echo "$npass of $ntotal cases passed in $((T1 - T0)) s (EXPECT_RELAY='$EXPECT_RELAY', EXPECT_EITHER='$EXPECT_EITHER')"
"$NTM_DCCTL" -c "$DCCONF" stats 2>/dev/null | awk 'NF >= 2 && $NF ~ /^[0-9]+$/ && $NF != 0' | tr -s ' \t' ' ' | paste -sd, - | sed 's/^/DC counters (nonzero): /'
if [ -n "$FAILED" ]; then
	echo "$DIAG" >&2
	echo "FAIL: $((ntotal - npass)) cases:$FAILED" >&2
	exit 1
fi
echo "PASS: nat"
