#!/bin/bash
# pg_registry.sh - ntm-dcd with its registry in PostgreSQL, end to end: a
# throw-away cluster (initdb as nobody, its Unix socket in the test's
# directory, no TCP), a DC on it under its seccomp allow-list, two nodes
# enrolled by ntm-dcctl into the database; both register with distinct
# addresses that are the database's allocations (psql), and a tunnel
# between them carries a ping. The cluster is stopped (pg_ctl stop -m fast
# on its own data directory) before the test directory goes.
# PostgreSQL's server programs are a test dependency (tools/setup.sh):
# without them this test fails.
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

# a Unix socket path reaches the server from the DC's namespace too
DC_EXTRA_CONF="[Registry]
Backend = postgresql
Conninfo = host=$T/pg/sock user=ntmtest dbname=ntm"
. "$(dirname "$0")/setup2.sh"
ok "a and b enrolled in PostgreSQL and registered"
seccomp_on "$DCD_PID" ntm-dcd
grep -q "registry PostgreSQL: 0 enrolled" "$T/dcd.log" || fail "the DC did not open the PostgreSQL registry"

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

"$NTMCTL" -s "$sock_a" resolve "b.$ZONE" >/dev/null || fail "resolve b.$ZONE on a"
nsx a ping -c 3 -i 0.2 -W 2 "$VIP_B" >/dev/null || fail "ping $VIP_B from a"
ok "tunnel a -> b carries a ping through a DC on PostgreSQL"
kill -0 "$DCD_PID" || fail "ntm-dcd died"
