#!/bin/bash
# relay_failover.sh - relay failover: a relayed tunnel survives the loss of its
# relay. Two standalone ntm-relayd (rs1, rs2) and no embedded relay; two
# sites c and d behind symmetric NATs, and c's site also behind a strict
# firewall that passes UDP only to and from the DC and the relays
# (natlab.sh's NL_UDP_ONLY_TO), so their tunnel can only be relayed: two
# symmetric NATs alone sometimes meet directly through the birthday search.
# The test first checks that premise (relayed both ways, and the firewall
# dropped the direct attempts), then:
# kill -9 of the relay the tunnel uses: the DC notices (its keepalives go
# unanswered), the nodes notice (nothing through the relay for
# 2 x NatKeepalive + 5 s) and ask the DC again, which gives them a new route
# on the other relay; pings by name work again, through the other relay,
# without restarting anything.
. "$(dirname "$0")/lib.sh"
require_root
. "$(dirname "$0")/natlab.sh"
natlab_require
NTM_RELAYD=$top_builddir/relay/ntm-relayd
NTM_RELAYCTL=$top_builddir/relay/ntm-relayctl
[ -x "$NTM_RELAYD" ] || fail "$NTM_RELAYD not built"

NL_KA=2
NL_LIFE=6
NL_NODE_EXTRA="NatKeepalive = 2"
mkdir -p "$T/dc"
chmod 700 "$T/dc"
(umask 077; "$NTMCTL" genkey > "$T/dc/dc.key")
NL_DC_EXTRA="[Relay]
EmbeddedRelay = no"
for r in 1 2; do
	mkdir -p "$T/rs$r"
	chmod 700 "$T/rs$r"
	(umask 077; "$NTMCTL" genkey > "$T/rs$r/relay.key")
	cat > "$T/rs$r/relayd.conf" <<CONF
[Relay]
ListenAddressIPv4 = 203.0.113.$((1 + r))
PrivateKeyFile = $T/rs$r/relay.key
DCPublicKey = $("$NTMCTL" pubkey < "$T/dc/dc.key")
ControlSocket = $T/rs$r/run/relayd.sock
CONF
	NL_DC_EXTRA="$NL_DC_EXTRA
[Relay.rs$r]
EndpointIPv4 = 203.0.113.$((1 + r)):7542
PublicKey = $("$NTMCTL" pubkey < "$T/rs$r/relay.key")"
done
ctr() { "$NTM_DCCTL" -c "$DCCONF" stats --json | grep -o "\"$1\": [0-9]*" | awk '{print $2}'; }
at_least() { local v; v=$(ctr "$1") && [ "${v:-0}" -ge "$2" ]; }

natlab_init
declare -A RPID
for r in 1 2; do
	ns_add "rs$r"
	NL_SITES=$((NL_SITES + 1))
	_nl_inet_port "rs$r" eth0 "203.0.113.$((1 + r))/24"
	bg "rs$r" "relayd-rs$r" "$NTM_RELAYD" -f -c "$T/rs$r/relayd.conf"
	RPID[rs$r]=$LAST_PID
done
wait_for 10 "the DC's sessions with both relays" at_least standalone_handshakes 2
ok "two standalone relays, the DC's sessions with both are up"
NL_UDP_ONLY_TO="$NL_DC_IP 203.0.113.2 203.0.113.3" site c sym
site d sym
natlab_start
nl_ping_name c d 5 || fail "c could not ping d by name ($PING_ERR)"
# The premise: no direct path. A direct one is a broken lab, not a flake.
settled() { case $(peer_field "$1" "$2" path) in direct | relay) return 0 ;; esac; return 1; }
both_settled() { settled c d && settled d c; }
wait_for 5 "c's and d's paths to each other (direct or relay)" both_settled
for s in "c d" "d c"; do
	set -- $s
	nl_path_is "$1" "$2" relay ||
		fail "premise broken: $1's path to $2 is '$(peer_field "$1" "$2" path)' ($(peer_field "$1" "$2" path_info)), but c's firewall passes UDP only to the DC and the relays"
done
blocked=$(nl_udp_blocked c)
[ "${blocked:-0}" -gt 0 ] || fail "premise not shown: c's firewall dropped no datagram, so nothing tried a direct path"
info=$(peer_field c d path_info)
case $info in
*203.0.113.2:7542*) dead=rs1 alive=203.0.113.3 ;;
*203.0.113.3:7542*) dead=rs2 alive=203.0.113.2 ;;
*) fail "c's path to d does not name a relay: '$info'" ;;
esac
ok "c <-> d relayed (symmetric NATs, c's firewall dropped $blocked direct datagrams): $info"

kill -9 "${RPID[$dead]}"
wait "${RPID[$dead]}" 2>/dev/null
t0=$(date +%s%N)
nl_path_is c d relay || fail "c's path to d turned '$(peer_field c d path)' before the relay was killed"
moved() {
	peer_field c d path_info | grep -q "$alive:7542" &&
		peer_field d c path_info | grep -q "$alive:7542" &&
		nl_ping_name c d 1
}
poll_until 60 moved || fail "60 s after $dead died: c's path '$(peer_field c d path_info)', d's '$(peer_field d c path_info)'"
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
at_least standalone_down 1 || fail "the DC did not mark $dead down"
ok "$dead killed: the tunnel moved to the relay at $alive by itself, pings by name answered again after $ms ms"
D4=$(peer_field c d ipv4)
nsx d ping -c 3 -i 0.2 -W 2 "$(peer_field d c ipv4)" >/dev/null || fail "d -> c by address after the move"
nl_ping_name c d 2 || fail "c -> d by name after the move ($PING_ERR)"
ok "both ways work through $alive (d -> c by address, c -> d ($D4) by name)"
