#!/bin/bash
# dc_push.sh - the DC directs a node's live routes again, unasked, when the
# node moves or restarts (doc/protocol.md 5.1, 5.3, 5.6). Two nodes alice
# and bob straight on the lab's internet (natlab.sh sites of type none)
# with a tunnel between them; then:
#  (a) alice's address changes (ip addr in her namespace): the DC sees her
#      at the new address on her next KEEPALIVE or REGISTER (moves_seen),
#      logs "alice... moved to <new address>" and directs the route again
#      with the same route ID: bob receives a ROUTE_DIRECTION (an nftables
#      counter in bob's namespace of datagrams from the DC of a
#      ROUTE_DIRECTION's size) without asking for anything;
#  (b) kill -9 of alice's ntm-tund and a new one: the DC sees the new
#      incarnation in her REGISTER (restarts_seen), replaces the route by
#      one with a new ID (routes_renewed, logged with both IDs) and bob
#      receives that ROUTE_DIRECTION too.
# What the nodes then do with the directions is tested elsewhere; this
# test only proves that the DC directs.
. "$(dirname "$0")/lib.sh"
require_root
. "$(dirname "$0")/natlab.sh"
natlab_require

NL_KA=2
NL_LIFE=6

ctr() { "$NTM_DCCTL" -c "$DCCONF" stats --json | grep -o "\"$1\": [0-9]*" | awk '{print $2}'; }
at_least() { local v; v=$(ctr "$1") && [ "${v:-0}" -ge "$2" ]; }

natlab_init
site alice none
site bob none
natlab_start

# Datagrams from the DC to bob of a ROUTE_DIRECTION's size. The largest
# other message the DC sends a node is a REGISTER_ACK: here 32 + 78 bytes
# of UDP payload (bob's 19-byte name, one 15-byte zone, an IPv4 observed
# endpoint); a ROUTE_DIRECTION describing alice with a relay is 32 + 147
# (UDP length 187). The line drawn: UDP length 150.
nsx bob nft -f - <<NFT || fail "nft in bob's namespace"
table inet push {
	counter rd { }
	chain input {
		type filter hook input priority 0; policy accept;
		ip saddr $NL_DC_IP udp sport 7540 udp length >= 150 counter name rd
	}
}
NFT
rd_count() { nsx bob nft list counter inet push rd | awk '/packets/ { print $2 }'; }
rd_above() { [ "$(rd_count)" -gt "$1" ]; }

nl_ping_name alice bob 10 || fail "alice could not ping bob by name ($PING_ERR)"
wait_for 5 "bob's ROUTE_DIRECTION for alice's request" rd_above 0
[ "$(rd_count)" -eq 1 ] || fail "premise: bob received $(rd_count) datagrams of a ROUTE_DIRECTION's size after one request"
route=$(grep -o "route [0-9a-f]\{16\}: alice.$ZONE -> bob.$ZONE" "$T/dcd.log" | tail -n 1 | awk '{print $2}')
route=${route%:}
[ -n "$route" ] || fail "the DC logged no route from alice to bob"
ok "alice -> bob on route $route; bob received its one ROUTE_DIRECTION (the size filter sees it)"

# The route is live: both list it in every KEEPALIVE. Nothing is pushed
# while nobody moves: 3 keepalive intervals later bob got nothing more.
before=$(rd_count)
sleep $((3 * NL_KA))
[ "$(rd_count)" -eq "$before" ] || fail "bob received $(( $(rd_count) - before )) unasked ROUTE_DIRECTIONs while nobody moved"
[ "$(ctr routes_pushed)" -eq 0 ] || fail "the DC pushed $(ctr routes_pushed) routes while nobody moved"
ok "no push while nobody moves"

# --- (a) alice moves to 203.0.113.31 ---
NEW=203.0.113.31
before=$(rd_count) # before the move: the push may reach bob within milliseconds
nsx alice sysctl -qw net.ipv4.conf.eth0.promote_secondaries=1
nsx alice ip addr add "$NEW/24" dev eth0 || fail "adding $NEW to alice"
nsx alice ip addr del "${NL_PUB[alice]}/24" dev eth0 || fail "removing ${NL_PUB[alice]} from alice"
nsx alice ip route replace default via "$NL_DC_IP" || fail "alice's default route"
wait_for 15 "the DC to see alice move" at_least moves_seen 1
wait_for 5 "the DC to push alice's route" at_least routes_pushed 1
wait_for 5 "bob's new ROUTE_DIRECTION" rd_above "$before"
grep -q "alice.$ZONE moved to $NEW:$NL_PORT: directing 1 route(s) again" "$T/dcd.log" ||
	fail "the DC did not log alice's move to $NEW:$NL_PORT"
[ "$(ctr routes_renewed)" -eq 0 ] || fail "a move renewed $(ctr routes_renewed) routes (it keeps the route ID)"
! grep -q "new route" "$T/dcd.log" || fail "a move made a new route: $(grep "new route" "$T/dcd.log")"
[ "$(ctr restarts_seen)" -eq 0 ] || fail "a move counted as a restart"
ok "alice moved to $NEW: the DC directed route $route again (same ID) and bob received it"

# --- (b) alice's ntm-tund restarts (kill -9) ---
kill -9 "${NL_PID[alice]}"
wait "${NL_PID[alice]}" 2>/dev/null
rm -f "$T/alice/run/nss" "$T/alice/run/tund.sock"
before=$(rd_count)
pushed=$(ctr routes_pushed)
nl_start_tund alice
nl_wait_registered alice
wait_for 10 "the DC to see alice's restart" at_least restarts_seen 1
wait_for 5 "the DC to renew the route" at_least routes_renewed 1
wait_for 5 "bob's ROUTE_DIRECTION for the new route" rd_above "$before"
[ "$(ctr routes_pushed)" -gt "$pushed" ] || fail "routes_pushed did not move on the restart"
line=$(grep "route $route (.*): a node restarted; new route" "$T/dcd.log") ||
	fail "the DC did not log a new route for $route"
new=${line##* }
[ -n "$new" ] && [ "$new" != "$route" ] || fail "the new route ID '$new' is not new"
ok "alice restarted: the DC replaced route $route by $new and bob received it"
