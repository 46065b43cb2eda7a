# pgcluster.sh - sourced by the netns tests of a DC on PostgreSQL, after
# lib.sh: a throw-away cluster (initdb as nobody, its Unix socket in the
# test's directory, no TCP, fsync off) with a database "ntm", stopped
# (pg_ctl stop -m fast on its own data directory) before lib.sh's cleanup
# removes the directory. Defines sql DB STATEMENT (psql, one value per
# line) and pg_stop. PostgreSQL's server programs are a test dependency
# (tools/setup.sh installs them): without them the test fails.
pg_bindir=""
if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
	pg_bindir=$(dirname "$(command -v initdb)")
else
	for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
		[ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && { pg_bindir=$d; break; }
	done
fi
[ -n "$pg_bindir" ] || fail "initdb and pg_ctl not found: install the Debian package postgresql (tools/setup.sh does)"
command -v psql >/dev/null || fail "psql not found: install postgresql-client"

mkdir -p "$T/pg/data" "$T/pg/sock"
chown nobody: "$T/pg/data" "$T/pg/sock"
PG_STARTED=0
pg_stop() {
	[ "$PG_STARTED" = 1 ] && runuser -u nobody -- "$pg_bindir/pg_ctl" stop -D "$T/pg/data" -m fast -w >/dev/null 2>&1
	PG_STARTED=0
}
trap 'pg_stop; cleanup' EXIT
runuser -u nobody -- "$pg_bindir/initdb" -D "$T/pg/data" -A trust -U ntmtest -E UTF8 --no-locale \
	> "$T/initdb.log" 2>&1 || fail "initdb: $(tail -n 5 "$T/initdb.log")"
runuser -u nobody -- "$pg_bindir/pg_ctl" start -D "$T/pg/data" -w -t 30 -l "$T/pg/data/server.log" \
	-o "-c listen_addresses='' -c unix_socket_directories='$T/pg/sock' -c fsync=off" >/dev/null 2>&1 ||
	fail "pg_ctl start: $(tail -n 5 "$T/pg/data/server.log")"
PG_STARTED=1
sql() { psql -X -q -t -A -v ON_ERROR_STOP=1 -h "$T/pg/sock" -U ntmtest -d "$1" -c "$2"; }
sql postgres "CREATE DATABASE ntm" || fail "CREATE DATABASE"
ok "PostgreSQL cluster on $T/pg/sock"
