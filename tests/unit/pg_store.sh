#!/bin/bash
# pg_store.sh - the DC's registry on PostgreSQL (dc/store_pg.c), against a
# throw-away server this script starts:
#  - the registry contract (tests/unit/store_check run) on PostgreSQL, and
#    the same checks on SQLite for comparison;
#  - a database with other tables, and a registry of a newer schema
#    version, are refused with a clear message;
#  - a registry of schema version 1 (no presence tables) is upgraded to
#    version 2 on open, its rows kept;
#  - two processes enrolling 200 nodes each into one new database at once
#    never get the same address: 400 allocations, 400 distinct host
#    indices 1..400 (checked with psql);
#  - ntm-dcctl migrate --to copies an SQLite registry (nodes, deleted
#    nodes' allocations, mark) into an empty database, the same addresses
#    come out; a second migrate into the now non-empty database is
#    refused; ntm-dcctl node list works on the PostgreSQL registry;
#  - ntm-dcd on PostgreSQL survives a server restart, listening on its
#    instance's channel again, and removes its instance row at a clean
#    stop.
# The cluster lives in a temporary directory (initdb, a Unix socket there,
# listen_addresses=''), run as user nobody when started as root (the
# server refuses root); it is stopped (pg_ctl stop -m fast on its own
# data directory) and removed on exit.
#
# PostgreSQL's server programs are a test dependency (tools/setup.sh
# installs postgresql): without initdb this test FAILS, it does not skip.
#
# Environment: top_builddir, top_srcdir (the Makefile sets them). Exit 0
# pass, 1 fail.
set -u

: "${top_builddir:=.}" "${top_srcdir:=.}"
b=$top_builddir
check=$b/tests/unit/store_check
dcctl=$b/dc/ntm-dcctl

bindir=""
if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
	bindir=$(dirname "$(command -v initdb)")
else
	for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
		[ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && { bindir=$d; break; }
	done
fi
if [ -z "$bindir" ]; then
	echo "FAIL: initdb and pg_ctl not found (PATH, /usr/lib/postgresql/*/bin): install the" \
	     "Debian package postgresql (tools/setup.sh does)"
	exit 1
fi
command -v psql >/dev/null 2>&1 || { echo "FAIL: psql not found: install postgresql-client"; exit 1; }

dir=$(mktemp -d /tmp/ntm-pgstore-XXXXXX)
chmod 755 "$dir"
mkdir "$dir/data" "$dir/sock" "$dir/sqlite"
as_pg=()
if [ "$(id -u)" = 0 ]; then
	chown nobody: "$dir/data" "$dir/sock"
	as_pg=(runuser -u nobody --)
fi
started=0
cleanup() {
	if [ "$started" = 1 ]; then
		"${as_pg[@]}" "$bindir/pg_ctl" stop -D "$dir/data" -m fast -w >/dev/null 2>&1
	fi
	rm -rf "$dir"
}
trap cleanup EXIT

failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
pass() { echo "ok: $*"; }

if ! "${as_pg[@]}" "$bindir/initdb" -D "$dir/data" -A trust -U ntmtest -E UTF8 \
	--no-locale >"$dir/initdb.log" 2>&1; then
	echo "FAIL: initdb:"; cat "$dir/initdb.log"; exit 1
fi
if ! "${as_pg[@]}" "$bindir/pg_ctl" start -D "$dir/data" -w -t 30 -l "$dir/data/server.log" \
	-o "-c listen_addresses='' -c unix_socket_directories='$dir/sock' -c fsync=off" \
	>/dev/null 2>&1; then
	echo "FAIL: pg_ctl start:"; cat "$dir/data/server.log"; exit 1
fi
started=1
sock=$dir/sock
ci() { echo "host=$sock user=ntmtest dbname=$1"; }
sql() { psql -X -q -t -A -v ON_ERROR_STOP=1 -h "$sock" -U ntmtest -d "$1" -c "$2"; }
for db in t_run t_foreign t_conc t_mig t_dc t_v1; do
	sql postgres "CREATE DATABASE $db" || { echo "FAIL: CREATE DATABASE $db"; exit 1; }
done

# --- the contract, on both backends
if out=$("$check" run postgresql "$(ci t_run)" 2>&1); then pass "$out"; else fail "$out"; fi
if out=$("$check" run sqlite "$dir/sqlite/run.db" 2>&1); then pass "$out"; else fail "$out"; fi

# --- refusals
sql t_foreign "CREATE TABLE accounts (id int)"
out=$("$check" open postgresql "$(ci t_foreign)" 2>&1)
case "$out" in
*"not ntm's registry"*) pass "a database with other tables is refused: $out" ;;
*) fail "foreign database: $out" ;;
esac
[ "$(sql t_foreign "SELECT count(*) FROM information_schema.tables WHERE table_name LIKE 'ntm_%'")" = 0 ] ||
	fail "the foreign database got ntm's tables"
sql t_run "UPDATE ntm_meta SET value = '99' WHERE key = 'schema_version'"
out=$("$check" open postgresql "$(ci t_run)" 2>&1)
case "$out" in
*"newer than this program"*) pass "a newer schema version is refused: $out" ;;
*) fail "schema version 99: $out" ;;
esac
# --- version 1 (before ntm_instances and ntm_presence) is upgraded
sql t_v1 "CREATE TABLE ntm_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
	CREATE TABLE ntm_allocations (pubkey BYTEA PRIMARY KEY CHECK (octet_length(pubkey) = 32),
		host_index BIGINT NOT NULL UNIQUE CHECK (host_index >= 1), name TEXT NOT NULL);
	CREATE TABLE ntm_nodes (name TEXT PRIMARY KEY CHECK (name = lower(name)),
		pubkey BYTEA NOT NULL UNIQUE REFERENCES ntm_allocations (pubkey), created BIGINT NOT NULL);
	INSERT INTO ntm_meta VALUES ('schema_version', '1'), ('index_mark', '1'), ('generation', '1'),
		('prefix4', '10.64.0.0/16'), ('prefix6', 'fd00:1:2::/48');
	INSERT INTO ntm_allocations VALUES (decode(repeat('ab', 32), 'hex'), 1, 'old.ntm.test');
	INSERT INTO ntm_nodes VALUES ('old.ntm.test', decode(repeat('ab', 32), 'hex'), 1)"
out=$("$check" open postgresql "$(ci t_v1)" 2>&1)
v=$(sql t_v1 "SELECT value FROM ntm_meta WHERE key = 'schema_version'")
tables=$(sql t_v1 "SELECT count(*) FROM information_schema.tables WHERE table_name IN ('ntm_instances', 'ntm_presence')")
kept=$(sql t_v1 "SELECT n.name || '=' || a.host_index FROM ntm_nodes n JOIN ntm_allocations a ON a.pubkey = n.pubkey")
if [ "$out" = opened ] && [ "$v" = 2 ] && [ "$tables" = 2 ] && [ "$kept" = "old.ntm.test=1" ]; then
	pass "a version 1 registry is upgraded to 2 on open, its node kept ($kept)"
else
	fail "version 1 upgrade: open '$out', version '$v', new tables $tables, node '$kept'"
fi
out=$("$check" open postgresql "host=$sock user=ntmtest dbname=nonexistent" 2>&1)
case "$out" in
*"cannot connect"*) pass "an unreachable database: $out" ;;
*) fail "missing database: $out" ;;
esac

# --- two allocators at once on one new database
"$check" enrol postgresql "$(ci t_conc)" a 200 >"$dir/a.log" 2>&1 &
pa=$!
"$check" enrol postgresql "$(ci t_conc)" b 200 >"$dir/b.log" 2>&1 &
pb=$!
wait "$pa"; ra=$?
wait "$pb"; rb=$?
[ "$ra" = 0 ] || fail "allocator a: $(cat "$dir/a.log")"
[ "$rb" = 0 ] || fail "allocator b: $(cat "$dir/b.log")"
got=$(sql t_conc "SELECT count(*), count(DISTINCT host_index), min(host_index), max(host_index) FROM ntm_allocations")
dups=$(sql t_conc "SELECT count(*) FROM (SELECT host_index FROM ntm_allocations GROUP BY host_index HAVING count(*) > 1) d")
nodes=$(sql t_conc "SELECT count(*) FROM ntm_nodes")
mark=$(sql t_conc "SELECT value FROM ntm_meta WHERE key = 'index_mark'")
if [ "$got" = "400|400|1|400" ] && [ "$dups" = 0 ] && [ "$nodes" = 400 ] && [ "$mark" = 400 ]; then
	pass "two allocators, 200 nodes each: 400 addresses, none twice (count|distinct|min|max $got, mark $mark)"
else
	fail "two allocators: count|distinct|min|max $got, duplicated $dups, nodes $nodes, mark $mark"
fi

# --- migrate an SQLite registry with ntm-dcctl
cat >"$dir/dcd.conf" <<EOC
[DC]
Zone = ntm.test
Database = $dir/sqlite/mig.db
ControlSocket = $dir/dcd.sock
IPv4Prefix = 10.64.0.0/16
IPv6Prefix = fd00:1:2::/48
EOC
"$check" fill sqlite "$dir/sqlite/mig.db" 50 || fail "filling the SQLite registry"
if out=$("$dcctl" -c "$dir/dcd.conf" migrate --to "$(ci t_mig)" 2>&1); then
	pass "migrate: $out"
else
	fail "migrate: $out"
fi
"$check" dump sqlite "$dir/sqlite/mig.db" | sort >"$dir/from.txt"
"$check" dump postgresql "$(ci t_mig)" | sort >"$dir/to.txt"
if [ "$(grep -c '^node ' "$dir/from.txt")" = 40 ] && [ "$(grep -c '^alloc ' "$dir/from.txt")" = 50 ] &&
   cmp -s "$dir/from.txt" "$dir/to.txt"; then
	pass "migrated registry: 40 nodes, 50 allocations, mark, addresses identical"
else
	fail "migrated registry differs: $(diff "$dir/from.txt" "$dir/to.txt" | head -5)"
fi
if out=$("$dcctl" -c "$dir/dcd.conf" migrate --to "$(ci t_mig)" 2>&1); then
	fail "a second migrate into a non-empty database succeeded: $out"
else
	case "$out" in
	*"empty one only"*) pass "a non-empty target is refused: $out" ;;
	*) fail "second migrate: $out" ;;
	esac
fi
[ "$(sql t_mig "SELECT count(*) FROM ntm_nodes")" = 40 ] || fail "the refused migrate changed the target"

# --- ntm-dcctl on the PostgreSQL registry
cat >>"$dir/dcd.conf" <<EOC
[Registry]
Backend = postgresql
Conninfo = $(ci t_mig)
EOC
out=$("$dcctl" -c "$dir/dcd.conf" node list 2>&1)
if [ "$(printf '%s\n' "$out" | grep -c 'ntm.test')" = 40 ] && printf '%s\n' "$out" | grep -q '10.64.0.1\b'; then
	pass "ntm-dcctl node list on PostgreSQL: 40 nodes"
else
	fail "ntm-dcctl node list: $out"
fi
key=$(head -c 32 /dev/urandom | base64)
if out=$("$dcctl" -c "$dir/dcd.conf" node add newnode "$key" 2>&1) && [[ "$out" == *10.64.0.51* ]]; then
	pass "ntm-dcctl node add on PostgreSQL continues above the mark: $out"
else
	fail "ntm-dcctl node add: $out"
fi

# --- [Registry] errors name the file and line
conf_err() { # TEXT EXPECTED
	printf '[DC]\nZone = ntm.test\n[Registry]\n%s\n' "$1" >"$dir/bad.conf"
	out=$("$b/dc/ntm-dcd" -n -c "$dir/bad.conf" 2>&1)
	case "$out" in
	*"$dir/bad.conf:"[0-9]*"$2"*) pass "config refused: $out" ;;
	*) fail "config '$1': $out" ;;
	esac
}
conf_err "Backend = mysql" "Backend: 'mysql' is not sqlite or postgresql"
conf_err "Backend = postgresql" "needs Conninfo"
conf_err "Conninfo = host=/x password=sekrit" "Conninfo is for Backend = postgresql"
[[ "$out" != *sekrit* ]] || fail "a Conninfo value was quoted in a message: $out"

# --- ntm-dcd on PostgreSQL under its seccomp allow-list (enforce): sees
# ntm-dcctl's enrolments, and survives the server's restart (libpq's
# reset makes a new connection after the filter is in place)
port=$((20000 + $$ % 20000))
mkdir "$dir/run"
cat >"$dir/dc.conf" <<EOC
[DC]
Zone = ntm.test
ListenPort = $port
PrivateKeyFile = $dir/dc.key
ControlSocket = $dir/run/dcd.sock
Seccomp = enforce
[Relay]
EmbeddedRelay = no
[Registry]
Backend = postgresql
Conninfo = $(ci t_dc)
EOC
"$b/dc/ntm-dcd" -f -d -c "$dir/dc.conf" >"$dir/dc.log" 2>&1 &
dcpid=$!
for _ in $(seq 100); do [ -S "$dir/run/dcd.sock" ] && break; sleep 0.1; done
k1=$(head -c 32 /dev/urandom | base64)
k2=$(head -c 32 /dev/urandom | base64)
"$dcctl" -c "$dir/dc.conf" node add one "$k1" >/dev/null 2>&1 || fail "node add one: $("$dcctl" -c "$dir/dc.conf" node list 2>&1)"
for _ in $(seq 50); do grep -q "1 enrolled node(s), were 0" "$dir/dc.log" && break; sleep 0.1; done
"${as_pg[@]}" "$bindir/pg_ctl" restart -D "$dir/data" -m fast -w -t 30 \
	-o "-c listen_addresses='' -c unix_socket_directories='$dir/sock' -c fsync=off" >/dev/null 2>&1 ||
	fail "pg_ctl restart"
"$dcctl" -c "$dir/dc.conf" node add two "$k2" >/dev/null 2>&1 || fail "node add two after the restart"
for _ in $(seq 50); do grep -q "2 enrolled node(s), were 1" "$dir/dc.log" && break; sleep 0.1; done
if kill -0 "$dcpid" 2>/dev/null && grep -q "1 enrolled node(s), were 0" "$dir/dc.log" &&
   grep -q "2 enrolled node(s), were 1" "$dir/dc.log"; then
	pass "ntm-dcd on PostgreSQL (seccomp enforce) follows enrolments across a server restart"
else
	fail "ntm-dcd on PostgreSQL: $(tail -n 8 "$dir/dc.log")"
fi
# the instance's LISTEN was taken again on the new connection: a
# notification written after the restart is read (and dropped: garbage)
mesh_received() {
	"$dcctl" -c "$dir/dc.conf" stats --json 2>/dev/null | grep -o '"mesh_received": [0-9]*' |
		grep -o '[0-9]*$'
}
sql t_dc "NOTIFY ntm_dc_1, 'not a mesh direction'" || fail "NOTIFY ntm_dc_1"
for _ in $(seq 50); do [ "$(mesh_received)" = 1 ] && break; sleep 0.1; done
inst=$(sql t_dc "SELECT string_agg(instance::text, ' ') FROM ntm_instances")
if [ "$(mesh_received)" = 1 ] && [ "$inst" = 1 ]; then
	pass "after the restart ntm-dcd listens on its channel again (a notification read), instance $inst"
else
	fail "after the restart: mesh_received '$(mesh_received)', instances '$inst': $(tail -n 5 "$dir/dc.log")"
fi
kill -TERM "$dcpid" 2>/dev/null
wait "$dcpid"
rc=$?
[ -z "$(sql t_dc "SELECT instance FROM ntm_instances")" ] ||
	fail "ntm-dcd's clean stop left its ntm_instances row"
[ "$rc" = 0 ] || fail "ntm-dcd exit status $rc (159: killed by its seccomp filter): $(tail -n 5 "$dir/dc.log")"

[ "$failures" = 0 ] || { echo "pg_store.sh: $failures failure(s)"; exit 1; }
echo "pg_store.sh: all passed"
