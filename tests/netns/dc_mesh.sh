#!/bin/bash
# dc_mesh.sh - two ntm-dcd instances of one zone on one PostgreSQL registry
# (doc/protocol.md section 9): both with the same key, in two namespaces on
# two addresses, Instance 1 and 2. Node a knows only DC1's endpoint, b only
# DC2's; both register with distinct addresses from the database, each
# instance records its node's presence (psql), and `ntmctl resolve b` on a
# gives b's address: DC1 directs a with b's candidates from the presence
# row and notifies DC2, which directs b. Pings go through the tunnel both
# ways, no host_index is duplicated, and a third DC claiming Instance 1
# while DC1 runs is refused. DC2 stopping cleanly takes its presence rows
# with it; notifications written with psql that DC1 must not act on
# (garbage, its own instance, a node not registered with it, a requester
# not enrolled) are dropped and counted, a well-formed one is acted on.
# The cluster is as in pg_registry.sh (initdb as nobody, Unix socket in
# the test directory, no TCP).
. "$(dirname "$0")/lib.sh"
require_root

bindir=""
if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
	bindir=$(dirname "$(command -v initdb)")
else
	for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
		[ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && { bindir=$d; break; }
	done
fi
[ -n "$bindir" ] || fail "initdb and pg_ctl not found: install the Debian package postgresql (tools/setup.sh does)"
command -v psql >/dev/null || fail "psql not found: install postgresql-client"

mkdir -p "$T/pg/data" "$T/pg/sock"
chown nobody: "$T/pg/data" "$T/pg/sock"
PG_STARTED=0
pg_stop() {
	[ "$PG_STARTED" = 1 ] && runuser -u nobody -- "$bindir/pg_ctl" stop -D "$T/pg/data" -m fast -w >/dev/null 2>&1
	PG_STARTED=0
}
trap 'pg_stop; cleanup' EXIT
runuser -u nobody -- "$bindir/initdb" -D "$T/pg/data" -A trust -U ntmtest -E UTF8 --no-locale \
	> "$T/initdb.log" 2>&1 || fail "initdb: $(tail -n 5 "$T/initdb.log")"
runuser -u nobody -- "$bindir/pg_ctl" start -D "$T/pg/data" -w -t 30 -l "$T/pg/data/server.log" \
	-o "-c listen_addresses='' -c unix_socket_directories='$T/pg/sock' -c fsync=off" >/dev/null 2>&1 ||
	fail "pg_ctl start: $(tail -n 5 "$T/pg/data/server.log")"
PG_STARTED=1
sql() { psql -X -q -t -A -v ON_ERROR_STOP=1 -h "$T/pg/sock" -U ntmtest -d "$1" -c "$2"; }
sql postgres "CREATE DATABASE ntm" || fail "CREATE DATABASE"
ok "PostgreSQL cluster on $T/pg/sock"

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
