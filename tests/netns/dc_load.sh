#!/bin/bash
# dc_load.sh - the load generator of bench/dc_scale.sh kept working: 200
# simulated nodes (bench/dc_load, each its own key, real Noise IK
# handshakes from 16 source addresses on loopback) are enrolled straight
# into an SQLite registry, all register with one ntm-dcd, then each asks
# for a route to another; the DC's own counters must show every
# registration and every direction, and dc_load must have received every
# REGISTER_ACK and every requester's ROUTE_DIRECTION, plus the peer's copy.
. "$(dirname "$0")/lib.sh"
require_root
LOAD=$top_builddir/bench/dc_load
[ -x "$LOAD" ] || fail "$LOAD not built (make)"
N=200
ZONE=load.test

ns_add b
mkdir -p "$T/dc"
cat >"$T/dc/dcd.conf" <<CONF
[DC]
Zone = $ZONE
PrivateKeyFile = $T/dc/dc.key
Database = $T/dc/dc.db
ControlSocket = $T/dc/run/dcd.sock
ListenAddressIPv4 = 127.0.0.1
CONF
"$LOAD" enrol sqlite "$T/dc/dc.db" "$ZONE" 7 0 "$N" >"$T/enrol.log" 2>&1 ||
	fail "dc_load enrol: $(cat "$T/enrol.log")"
n=$("$NTM_DCCTL" -c "$T/dc/dcd.conf" node list | grep -c "\.$ZONE")
[ "$n" = "$N" ] || fail "ntm-dcctl node list shows $n nodes of $ZONE, want $N"
ok "$N nodes enrolled by dc_load enrol"

bg b dcd "$NTM_DCD" -f -c "$T/dc/dcd.conf"
wait_for 10 "ntm-dcd answering" "$NTM_DCCTL" -c "$T/dc/dcd.conf" stats
DCPUB=$("$NTM_DCCTL" -c "$T/dc/dcd.conf" show-key)

nsx b "$LOAD" run -d 127.0.0.1:7540 -k "$DCPUB" -z "$ZONE" -s 7 -f 0 -n "$N" -S 16 -w 64 -r 1 \
	-t 20 -p "$LAST_PID" >"$T/load.log" 2>&1
rc=$?
cat "$T/load.log"
[ "$rc" = 0 ] || fail "dc_load run exited $rc"
kv() { grep "^$1:" "$T/load.log" | tr ' ' '\n' | sed -n "s/^$2=//p"; }
[ "$(kv register registered)" = "$N" ] || fail "dc_load: $(kv register registered) registered, want $N"
[ "$(kv direct routes)" = "$N" ] || fail "dc_load: $(kv direct routes) routes, want $N"
[ "$(kv direct peer_copies)" = "$N" ] || fail "dc_load: $(kv direct peer_copies) peer copies, want $N"
ok "dc_load: $N registered, $N routes, $N peer copies"

stat_of() {
	"$NTM_DCCTL" -c "$T/dc/dcd.conf" stats --json | sed -n "s/.*\"$1\": *\([0-9]*\).*/\1/p" | head -n 1
}
reg=$(stat_of registrations)
dirs=$(stat_of directions)
[ -n "$reg" ] && [ "$reg" -ge "$N" ] || fail "the DC counted $reg registrations, want >= $N"
[ -n "$dirs" ] && [ "$dirs" -ge "$N" ] || fail "the DC counted $dirs directions, want >= $N"
ok "the DC counted $reg registrations and $dirs directions"
