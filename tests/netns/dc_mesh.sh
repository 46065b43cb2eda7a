#!/bin/bash
# dc_mesh.sh - two ntm-dcd instances of one zone on one PostgreSQL registry
# (doc/protocol.md section 9): both with the same key, in two namespaces on
# two addresses, Instance 1 and 2. Node a knows only DC1's endpoint, b only
# DC2's; both register with distinct addresses from the database, each
# instance records its node's presence (psql), and `ntmctl resolve b` on a
# gives b's address: DC1 directs a with b's candidates from the presence
# row and notifies DC2, which directs b. Pings go through the tunnel both
# ways; then a and b both move to new addresses at once and each instance
# tells the other (a Mesh Move), which directs its node again, so the
# tunnel goes on directly at the new addresses. No host_index is duplicated, and a third DC claiming Instance 1
# while DC1 runs is refused. DC2 stopping cleanly takes its presence rows
# with it; notifications written with psql that DC1 must not act on
# (garbage, its own instance, a node not registered with it, a requester
# not enrolled) are dropped and counted, a well-formed one is acted on.
# The cluster is as in pg_registry.sh (initdb as nobody, Unix socket in
# the test directory, no TCP).
. "$(dirname "$0")/lib.sh"
require_root

. "$(dirname "$0")/pgcluster.sh"

ZONE=ntm.example.org
ns_add r
nsx r sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
ns_add dc1
link dc1 eth0 "198.51.100.2/24" r dc10 "198.51.100.1/24"
nsx dc1 ip route add default via 198.51.100.1
ns_add dc2
link dc2 eth0 "192.0.2.2/24" r dc20 "192.0.2.1/24"
nsx dc2 ip route add default via 192.0.2.1
i=1
for n in a b; do
	ns_add "$n"
	link "$n" eth0 "203.0.113.$((16 * i + 2))/28" r "$n"0 "203.0.113.$((16 * i + 1))/28"
	nsx "$n" ip route add default via "203.0.113.$((16 * i + 1))"
	i=$((i + 1))
done

# dc_conf NUM INSTANCE: a DC's configuration on the shared registry and key
dc_conf() {
	mkdir -p "$T/dc$1"
	cat > "$T/dc$1/dcd.conf" <<CONF
[DC]
Zone = $ZONE
PrivateKeyFile = $T/dc.key
ControlSocket = $T/dc$1/run/dcd.sock
[Registry]
Backend = postgresql
Conninfo = host=$T/pg/sock user=ntmtest dbname=ntm
Instance = $2
CONF
}
dc_conf 1 1
dc_conf 2 2
bg dc1 dcd1 "$NTM_DCD" -f -c "$T/dc1/dcd.conf"
DCD1_PID=$LAST_PID
wait_for 5 "DC key file" test -s "$T/dc.key"
wait_for 10 "DC1 on PostgreSQL" grep -q "instance 1, listening on channel ntm_dc_1" "$T/dcd1.log"
bg dc2 dcd2 "$NTM_DCD" -f -c "$T/dc2/dcd.conf"
DCD2_PID=$LAST_PID
wait_for 10 "DC2 on PostgreSQL" grep -q "instance 2, listening on channel ntm_dc_2" "$T/dcd2.log"
DCPUB=$("$NTM_DCCTL" -c "$T/dc1/dcd.conf" show-key)
[ "$DCPUB" = "$("$NTM_DCCTL" -c "$T/dc2/dcd.conf" show-key)" ] || fail "the DCs do not share the key"
[ "$(sql ntm "SELECT value FROM ntm_meta WHERE key = 'schema_version'")" = 2 ] ||
	fail "the registry's schema version is not 2"
ok "DC1 (198.51.100.2, instance 1) and DC2 (192.0.2.2, instance 2) share the key and the registry"

# node NAME DC_ADDRESS: enrolled through DC1's ntm-dcctl, started against DC_ADDRESS only
node() {
	mkdir -p "$T/$1"
	cat > "$T/$1/tund.conf" <<CONF
[Node]
Name = $1
PrivateKeyFile = $T/$1/node.key
ControlSocket = $T/$1/run/tund.sock
[DC]
Endpoint = $2:7540
PublicKey = $DCPUB
CONF
	(umask 077; "$NTMCTL" genkey > "$T/$1/node.key")
	"$NTM_DCCTL" -c "$T/dc1/dcd.conf" node add "$1" "$("$NTMCTL" pubkey < "$T/$1/node.key")" >/dev/null ||
		fail "node add $1"
	bg "$1" "tund-$1" "$NTM_TUND" -f -c "$T/$1/tund.conf"
}
node a 198.51.100.2
node b 192.0.2.2
registered() { "$NTMCTL" -s "$1" status --json 2>/dev/null | grep -q '"state": "registered"'; }
sock_a=$T/a/run/tund.sock
sock_b=$T/b/run/tund.sock
wait_for 10 "a registered with DC1" registered "$sock_a"
wait_for 10 "b registered with DC2" registered "$sock_b"
grep -q "a.$ZONE registered" "$T/dcd1.log" || fail "a did not register with DC1"
grep -q "b.$ZONE registered" "$T/dcd2.log" || fail "b did not register with DC2"
seccomp_on "$DCD1_PID" "ntm-dcd 1"
seccomp_on "$DCD2_PID" "ntm-dcd 2"
ok "a registered with DC1, b with DC2 (both under seccomp)"

vip4() { nsx "$1" ip -4 -o addr show dev ntm0 | awk '{ sub("/.*", "", $4); print $4 }'; }
have_vips() { [ -n "$(vip4 a)" ] && [ -n "$(vip4 b)" ]; }
wait_for 5 "virtual addresses on ntm0" have_vips
VIP_A=$(vip4 a)
VIP_B=$(vip4 b)
[ "$VIP_A" != "$VIP_B" ] || fail "a and b share $VIP_A"
rows=$(sql ntm "SELECT string_agg(name || '=' || host_index, ' ' ORDER BY name) FROM ntm_allocations")
ia=$(( ${VIP_A##*.} )); ib=$(( ${VIP_B##*.} ))
[ "$rows" = "a.ntm.example.org=$ia b.ntm.example.org=$ib" ] ||
	fail "the database's allocations ($rows) are not the nodes' addresses ($VIP_A, $VIP_B)"
ok "addresses $VIP_A and $VIP_B are the database's allocations ($rows)"

presence() {
	sql ntm "SELECT string_agg(a.name || '@' || p.instance, ' ' ORDER BY a.name) FROM ntm_presence p
		 JOIN ntm_allocations a ON a.pubkey = p.pubkey"
}
pres=$(presence)
[ "$pres" = "a.ntm.example.org@1 b.ntm.example.org@2" ] || fail "presence rows: '$pres'"
inst=$(sql ntm "SELECT string_agg(instance::text, ' ' ORDER BY instance) FROM ntm_instances")
[ "$inst" = "1 2" ] || fail "instances beating: '$inst'"
ok "presence: $pres; instances $inst"

t0=$(date +%s%N)
out=$("$NTMCTL" -s "$sock_a" resolve "b.$ZONE" 2>&1) || fail "resolve b.$ZONE on a: $out"
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
echo "$out" | grep -qF "$VIP_B" || fail "resolve b.$ZONE on a gave '$out', not $VIP_B"
ok "resolve b.$ZONE on a (DC1) gives $VIP_B (b is at DC2) in $ms ms"
rtt=$(nsx a ping -c 3 -i 0.2 -W 2 "$VIP_B" | awk -F/ '/^rtt/ { print $5 }')
[ -n "$rtt" ] || fail "ping $VIP_B from a"
ok "tunnel a -> b carries a ping (avg $rtt ms)"
rtt=$(nsx b ping -c 3 -i 0.2 -W 2 "$VIP_A" | awk -F/ '/^rtt/ { print $5 }')
[ -n "$rtt" ] || fail "ping $VIP_A from b"
ok "tunnel b -> a carries a ping (avg $rtt ms)"
grep -q "a.$ZONE -> b.$ZONE at instance 2" "$T/dcd1.log" || fail "DC1 did not direct a to b at instance 2"
grep -q "a.$ZONE -> b.$ZONE, directed for instance 1" "$T/dcd2.log" ||
	fail "DC2 did not direct b on DC1's notification"
ok "DC1 directed a and notified DC2, which directed b"

# --- both ends move at once (each to another address of its network):
# each sends to the other's old address, so the tunnel goes on only if
# each instance tells the other end's instance (a Mesh Move) and that
# instance directs its node again with the mover's new candidates.
peer_field() { # NODE PEER FIELD of NODE's 'ntmctl peers --json'
	"$NTMCTL" -s "$T/$1/run/tund.sock" peers --json 2>/dev/null | grep "\"name\": \"$2.$ZONE\"" |
		grep -o "\"$3\": [^,}]*" | head -n 1 | sed 's/^[^:]*: //; s/^"//; s/"$//'
}
dcstat_of() { "$NTM_DCCTL" -c "$T/dc$1/dcd.conf" stats --json | grep -o "\"$2\": [0-9]*" | grep -o '[0-9]*$'; }
renumber() { # NODE OLD NEW GATEWAY
	nsx "$1" sysctl -qw net.ipv4.conf.eth0.promote_secondaries=1
	nsx "$1" ip addr add "$3/28" dev eth0 || fail "adding $3 to $1"
	nsx "$1" ip addr del "$2/28" dev eth0 || fail "removing $2 from $1"
	nsx "$1" ip route replace default via "$4" || fail "$1's default route"
}
A_NEW=203.0.113.19 B_NEW=203.0.113.35
MS1=$(dcstat_of 1 mesh_moved_sent) MS2=$(dcstat_of 2 mesh_moved_sent)
renumber a 203.0.113.18 "$A_NEW" 203.0.113.17 &
mv_pid=$!
renumber b 203.0.113.34 "$B_NEW" 203.0.113.33
wait "$mv_pid" || fail "renumbering a"
wait_for 20 "DC2 to direct b again on a's move" \
	grep -q "a.$ZONE moved (instance 1); directing b.$ZONE again" "$T/dcd2.log"
wait_for 20 "DC1 to direct a again on b's move" \
	grep -q "b.$ZONE moved (instance 2); directing a.$ZONE again" "$T/dcd1.log"
grep -q "a.$ZONE moved to $A_NEW:.*directing 1 route(s) again, 1 at other instances" "$T/dcd1.log" ||
	fail "DC1 did not log a's move with its route at the other instance"
[ "$(dcstat_of 1 mesh_moved_sent)" -gt "$MS1" ] && [ "$(dcstat_of 2 mesh_moved_sent)" -gt "$MS2" ] ||
	fail "mesh_moved_sent: DC1 $MS1 -> $(dcstat_of 1 mesh_moved_sent), DC2 $MS2 -> $(dcstat_of 2 mesh_moved_sent)"
[ "$(dcstat_of 1 mesh_moved_directed)" -ge 1 ] && [ "$(dcstat_of 2 mesh_moved_directed)" -ge 1 ] ||
	fail "mesh_moved_directed: DC1 $(dcstat_of 1 mesh_moved_directed), DC2 $(dcstat_of 2 mesh_moved_directed)"
moved_on() { # each sees the other at its new address, directly
	case $(peer_field a b endpoint) in "$B_NEW":*) ;; *) return 1 ;; esac
	case $(peer_field b a endpoint) in "$A_NEW":*) ;; *) return 1 ;; esac
	[ "$(peer_field a b path)" = direct ] && [ "$(peer_field b a path)" = direct ]
}
deadline=$((SECONDS + 15))
until moved_on; do
	[ "$SECONDS" -lt "$deadline" ] ||
		fail "after both moved: a sees b at '$(peer_field a b endpoint)' ($(peer_field a b path)), b sees a at '$(peer_field b a endpoint)' ($(peer_field b a path)); want $B_NEW and $A_NEW, direct"
	sleep 0.2
done
nsx a ping -c 2 -i 0.2 -W 2 "$VIP_B" >/dev/null || fail "ping $VIP_B from a after both moved"
nsx b ping -c 2 -i 0.2 -W 2 "$VIP_A" >/dev/null || fail "ping $VIP_A from b after both moved"
ok "a ($A_NEW) and b ($B_NEW) moved at once: each instance told the other, both were directed again, the tunnel is direct at the new addresses"

dups=$(sql ntm "SELECT count(*) - count(DISTINCT host_index) FROM ntm_allocations")
[ "$dups" = 0 ] || fail "$dups host_index value(s) duplicated in ntm_allocations"
ok "no host_index duplicated"

# a third DC claiming Instance 1 while DC1 runs is refused at start
dc_conf 3 1
ns_add dc3
if ip netns exec "$P-dc3" timeout 20 "$NTM_DCD" -f -c "$T/dc3/dcd.conf" > "$T/dcd3.log" 2>&1; then
	fail "a second DC with Instance 1 started"
fi
grep -q "instance 1 is taken by another connection" "$T/dcd3.log" ||
	fail "the second Instance 1 was not refused for the right reason: $(tail -n 3 "$T/dcd3.log")"
ok "a second DC with Instance 1 is refused"

kill -0 "$DCD1_PID" || fail "ntm-dcd 1 died"
kill -0 "$DCD2_PID" || fail "ntm-dcd 2 died"

# a clean stop takes the instance's presence rows and beat with it
kill -TERM "$DCD2_PID"
wait_for 10 "DC2 stopped" sh -c "! kill -0 $DCD2_PID"
pres=$(presence)
inst=$(sql ntm "SELECT string_agg(instance::text, ' ' ORDER BY instance) FROM ntm_instances")
[ "$pres" = "a.ntm.example.org@1" ] && [ "$inst" = 1 ] ||
	fail "after DC2 stopped: presence '$pres', instances '$inst'"
ok "DC2 stopped cleanly: presence $pres, instances $inst"

# notifications straight from the database (psql): DC1 acts only on a
# well-formed Mesh Direction for a node registered with it now from an
# enrolled requester. Mesh Direction in hex: type 01, version 01, from
# instance, route ID (top byte the instance), suite 01, target key,
# requester key, no candidates (00), no relay (00).
dcstat() {
	"$NTM_DCCTL" -c "$T/dc1/dcd.conf" stats --json | grep -o "\"$1\": [0-9]*" | grep -o '[0-9]*$'
}
hexkey() { sql ntm "SELECT encode(pubkey, 'hex') FROM ntm_allocations WHERE name = '$1.$ZONE'"; }
# c: enrolled, never running; the requester of the well-formed one (a pair
# DC1 made no route for, which a crossing route could lose against)
"$NTM_DCCTL" -c "$T/dc1/dcd.conf" node add c "$("$NTMCTL" genkey | "$NTMCTL" pubkey)" >/dev/null ||
	fail "node add c"
KEY_A=$(hexkey a)
KEY_B=$(hexkey b)
KEY_C=$(hexkey c)
NOBODY=$(printf 'ee%.0s' $(seq 32))
mesh() { echo "0101$1${1}a1b2c3d4e5f60701$2$30000"; }
r0=$(dcstat mesh_received); d0=$(dcstat mesh_dropped); x0=$(dcstat mesh_directed)
for payload in zz "$(mesh 02 "$KEY_B" "$KEY_A")" "$(mesh 02 "$KEY_A" "$NOBODY")" \
	"$(mesh 01 "$KEY_A" "$KEY_C")" "$(mesh 02 "$KEY_A" "$KEY_C")"; do
	sql ntm "NOTIFY ntm_dc_1, '$payload'" || fail "NOTIFY ntm_dc_1"
done
all_read() { [ "$(dcstat mesh_received)" = $((r0 + 5)) ]; }
wait_for 5 "DC1 read 5 notifications" all_read
d=$(( $(dcstat mesh_dropped) - d0 )); x=$(( $(dcstat mesh_directed) - x0 ))
[ "$d" = 4 ] && [ "$x" = 1 ] ||
	fail "of 5 notifications DC1 dropped $d (want 4: garbage, b not registered here, requester not enrolled, its own instance) and directed $x (want 1)"
grep -q "c.$ZONE -> a.$ZONE, directed for instance 2" "$T/dcd1.log" ||
	fail "DC1 did not direct a on the well-formed notification"
kill -0 "$DCD1_PID" || fail "ntm-dcd 1 died on notifications"
ok "DC1 dropped 4 notifications it must not act on and directed a on the well-formed one"
