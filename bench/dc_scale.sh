#!/bin/bash
# dc_scale.sh - how far one Direction Coordinator scales: DC_SCALE_N
# simulated nodes (bench/dc_load, default 100000) register against ntm-dcd
# and then ask for routes to each other, in three set-ups:
#   sqlite      one ntm-dcd, its registry in SQLite (the default backend)
#   postgresql  one ntm-dcd, its registry in PostgreSQL
#   pg2         two ntm-dcds on one PostgreSQL database, sharing the DC key
#               file, the nodes split between them (half each)
# and prints a table: registrations/s, Route Directions/s, the DC's CPU per
# registration (handshake + REGISTER) and per direction (each also net of
# the keepalives sent meanwhile, at the hold phase's cost), its RSS at start
# (every node enrolled, none registered) and once all registered, the RSS
# growth per registered node, and the steady state: DC_SCALE_HOLD seconds
# (default 30) of nothing but the nodes' KEEPALIVEs (every
# KeepaliveInterval, 20 s by default), with the DC's CPU per keepalive and
# its share of one CPU. No target is asserted.
#
#   sudo bench/dc_scale.sh
#   sudo DC_SCALE_N=500 bench/dc_scale.sh                 # a smoke run, seconds
#   sudo DC_SCALE_CASES="sqlite" DC_SCALE_N=20000 bench/dc_scale.sh
#
# Knobs: DC_SCALE_N (nodes), DC_SCALE_CASES (default "sqlite postgresql
# pg2"), DC_SCALE_DIRS (DIRECTION_REQs per node, default 1),
# DC_SCALE_SOURCES (source addresses per load generator, default 256),
# DC_SCALE_WINDOW (registrations and requests in flight per load
# generator, default 64), DC_SCALE_HOLD (seconds, default 30),
# DC_SCALE_TIMEOUT (seconds per phase, default 900: a phase not done by
# then is reported as it stands), KEEP=1 (keep the temp dirs and processes).
#
# Everything runs in one network namespace of its own, on loopback: the DCs
# on 127.0.0.1, the nodes' sockets bound to 127.1.x.y (127.2.x.y for the
# second DC's half). The DC configuration is the default but for the
# ports (the second DC's) and the files; nothing about the handshake gate
# can be configured (its limits are compiled in, dc/dc.h DC_HSGATE_CONF),
# so the rates are at the defaults. The SQLite registries live in
# /dev/shm (enrolling 100000 nodes one committed and fsynced transaction
# at a time is minutes on a disk, seconds on tmpfs); the PostgreSQL
# cluster is a throw-away one (initdb in the temp dir, Unix socket only,
# fsync=off), filled by `ntm-dcctl migrate` from an SQLite registry
# enrolled the same way. Needs root and PostgreSQL's server programs for
# the postgresql and pg2 cases.
set -u
: "${top_builddir:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${top_srcdir:=$(cd "$(dirname "$0")/.." && pwd)}"
N=${DC_SCALE_N:-100000}
CASES=${DC_SCALE_CASES:-sqlite postgresql pg2}
DIRS=${DC_SCALE_DIRS:-1}
SOURCES=${DC_SCALE_SOURCES:-256}
WINDOW=${DC_SCALE_WINDOW:-64}
SEED=${DC_SCALE_SEED:-1}
HOLD=${DC_SCALE_HOLD:-30}
TIMEOUT=${DC_SCALE_TIMEOUT:-900}
ZONE=scale.test
LOAD=$top_builddir/bench/dc_load

for f in dc/ntm-dcd dc/ntm-dcctl bench/dc_load; do
	[ -x "$top_builddir/$f" ] || { echo "$top_builddir/$f not built: run make first" >&2; exit 1; }
done
. "$top_srcdir/tests/netns/lib.sh"
require_root
[ "$N" -ge 2 ] 2>/dev/null || fail "DC_SCALE_N=$N: want a number >= 2"

SHM=$(mktemp -d /dev/shm/ntm-dcscale.XXXXXX)
chmod 755 "$SHM"
PG_STARTED=0
pg_stop() {
	[ "$PG_STARTED" = 1 ] && runuser -u nobody -- "$PGBIN/pg_ctl" stop -D "$T/pg/data" -m fast -w >/dev/null 2>&1
	PG_STARTED=0
}
trap '[ -n "${KEEP:-}" ] || { pg_stop; rm -rf "$SHM"; }; cleanup' EXIT

ns_add b
say() { echo "$*" >&2; }

# --- PostgreSQL (only when a case needs it) ---------------------------------
pg_start() {
	PGBIN=""
	if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
		PGBIN=$(dirname "$(command -v initdb)")
	else
		for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
			[ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && { PGBIN=$d; break; }
		done
	fi
	[ -n "$PGBIN" ] || fail "initdb and pg_ctl not found: install the Debian package postgresql"
	command -v psql >/dev/null || fail "psql not found: install postgresql-client"
	mkdir -p "$T/pg/data" "$T/pg/sock"
	chown nobody: "$T/pg/data" "$T/pg/sock"
	runuser -u nobody -- "$PGBIN/initdb" -D "$T/pg/data" -A trust -U ntmtest -E UTF8 --no-locale \
		>"$T/initdb.log" 2>&1 || fail "initdb: $(tail -n 5 "$T/initdb.log")"
	runuser -u nobody -- "$PGBIN/pg_ctl" start -D "$T/pg/data" -w -t 30 -l "$T/pg/data/server.log" \
		-o "-c listen_addresses='' -c unix_socket_directories='$T/pg/sock' -c fsync=off" \
		>/dev/null 2>&1 || fail "pg_ctl start: $(tail -n 5 "$T/pg/data/server.log")"
	PG_STARTED=1
	PGVER=$("$PGBIN/postgres" --version 2>/dev/null)
}
sql() { psql -X -q -t -A -v ON_ERROR_STOP=1 -h "$T/pg/sock" -U ntmtest -d "$1" -c "$2"; }
case " $CASES " in *" postgresql "* | *" pg2 "*) pg_start ;; esac

# --- helpers ----------------------------------------------------------------
# dc_conf CASE I [EXTRA]: the configuration of DC number I (0, 1) of CASE.
dc_conf() {
	local c=$1 i=$2
	mkdir -p "$SHM/$c" "$T/$c-$i"
	cat >"$T/$c-$i/dcd.conf" <<CONF
[DC]
Zone = $ZONE
PrivateKeyFile = $T/dc.key
Database = $SHM/$c/dc.db
ControlSocket = $T/$c-$i/dcd.sock
ListenAddressIPv4 = 127.0.0.1
ListenPort = $((7540 + 10 * i))
[Relay]
ListenPort = $((7542 + 10 * i))
${3:-}
CONF
}

# stat_of CONF NAME: a counter of ntm-dcctl stats --json.
stat_of() {
	"$NTM_DCCTL" -c "$1" stats --json 2>/dev/null |
		sed -n "s/.*\"$2\": *\([0-9]*\).*/\1/p" | head -n 1
}

# start_dc CASE I: ntm-dcd in b, waits until its control socket answers.
start_dc() {
	local conf=$T/$1-$2/dcd.conf
	bg b "dcd-$1-$2" "$NTM_DCD" -f -c "$conf"
	eval "DCPID_$2=\$LAST_PID"
	wait_for 120 "ntm-dcd $1-$2 answering" "$NTM_DCCTL" -c "$conf" stats
}

stop_dc() {
	kill "$1" 2>/dev/null
	for _ in $(seq 50); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done
	kill -9 "$1" 2>/dev/null
}

# kv LINE KEY: the value of KEY=... in a dc_load output line.
kv() { printf '%s\n' "$1" | tr ' ' '\n' | sed -n "s/^$2=//p" | head -n 1; }

# load CASE I FIRST COUNT BASE PORT: one dc_load run against DC I in the
# background; output in $T/load-CASE-I.out
load() {
	local c=$1 i=$2 first=$3 count=$4 base=$5 port=$6 pid
	eval "pid=\$DCPID_$i"
	ip netns exec "$P-b" "$LOAD" run -d "127.0.0.1:$port" -k "$DCPUB" -z "$ZONE" -s "$SEED" \
		-f "$first" -n "$count" -S "$SOURCES" -B "$base" -w "$WINDOW" -r "$DIRS" \
		-t "$TIMEOUT" -H "$HOLD" -p "$pid" >"$T/load-$c-$i.out" 2>&1 &
	eval "LOADPID_$i=\$!"
	PIDS="$PIDS $!"
}

ROWS=""
NOTES=""
row() { ROWS="$ROWS$1"$'\n'; }

# run_case CASE: enrol, start, load, read, stop.
run_case() {
	local c=$1 ndc=1 t0 t1 enrol_s ci=""
	case $c in
	sqlite) dc_conf "$c" 0 ;;
	postgresql | pg2)
		sql postgres "DROP DATABASE IF EXISTS ntm_$c" >/dev/null
		sql postgres "CREATE DATABASE ntm_$c" || fail "CREATE DATABASE ntm_$c"
		local ci="host=$T/pg/sock user=ntmtest dbname=ntm_$c"
		dc_conf "$c" 0 "[Registry]
Backend = postgresql
Conninfo = $ci"
		# the second instance its own number: instances of one zone
		# sharing a registry claim distinct [Registry] Instance values
		[ "$c" = pg2 ] && { ndc=2; dc_conf "$c" 1 "[Registry]
Backend = postgresql
Conninfo = $ci
Instance = 2"; }
		;;
	esac
	say "== $c: enrolling $N nodes"
	t0=$(date +%s%N)
	"$LOAD" enrol sqlite "$SHM/$c/dc.db" "$ZONE" "$SEED" 0 "$N" >"$T/enrol-$c.out" 2>&1 ||
		fail "enrol $c: $(cat "$T/enrol-$c.out")"
	if [ "$c" != sqlite ]; then
		# the SQLite registry just made, copied into the database in one
		# transaction (dcctl reads [DC] Database as the source)
		"$NTM_DCCTL" -c "$T/$c-0/dcd.conf" migrate --to "$ci" >"$T/migrate-$c.out" 2>&1 ||
			fail "migrate $c: $(cat "$T/migrate-$c.out")"
	fi
	t1=$(date +%s%N)
	enrol_s=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", (b - a) / 1e9 }')
	say "   enrolled in $enrol_s s; starting $ndc DC(s)"
	start_dc "$c" 0
	[ "$ndc" = 2 ] && start_dc "$c" 1
	DCPUB=$("$NTM_DCCTL" -c "$T/$c-0/dcd.conf" show-key)
	say "   $N nodes register, then $DIRS Direction Request(s) each"
	if [ "$ndc" = 1 ]; then
		load "$c" 0 0 "$N" 127.1.0.0 7540
		wait "$LOADPID_0"
	else
		load "$c" 0 0 $((N / 2)) 127.1.0.0 7540
		load "$c" 1 $((N / 2)) $((N - N / 2)) 127.2.0.0 7550
		wait "$LOADPID_0"
		wait "$LOADPID_1"
	fi
	# the figures: rates over the slowest load generator's phase, CPU and
	# RSS summed over the DCs
	local reg=0 regms=0 routes=0 req=0 dirms=0 cpur=0 cpud=0 rss0=0 rss1=0 extra="" i
	local cookies=0 retries=0 lost=0 naks=0 ka=0 holdms=0 holdka=0 holdcpu=0 selfr=0 kar=0 kad=0
	for i in $(seq 0 $((ndc - 1))); do
		local out l
		out=$T/load-$c-$i.out
		cat "$out" >&2
		l=$(grep '^register:' "$out") || fail "$c-$i: no register line: $(cat "$out")"
		reg=$((reg + $(kv "$l" registered)))
		regms=$(( $(kv "$l" ms) > regms ? $(kv "$l" ms) : regms ))
		retries=$((retries + $(kv "$l" retries)))
		cookies=$((cookies + $(kv "$l" cookies)))
		kar=$((kar + $(kv "$l" keepalives)))
		l=$(grep '^direct:' "$out")
		routes=$((routes + $(kv "$l" routes)))
		req=$((req + $(kv "$l" requests)))
		lost=$((lost + $(kv "$l" lost)))
		naks=$((naks + $(kv "$l" naks)))
		kad=$((kad + $(kv "$l" keepalives)))
		dirms=$(( $(kv "$l" ms) > dirms ? $(kv "$l" ms) : dirms ))
		l=$(grep "^load:" "$out")
		ka=$((ka + $(kv "$l" keepalives)))
		selfr=$((selfr + $(kv "$l" cpu_ms_register)))
		if l=$(grep '^hold:' "$out"); then
			holdms=$(( $(kv "$l" ms) > holdms ? $(kv "$l" ms) : holdms ))
			holdka=$((holdka + $(kv "$l" keepalives)))
			holdcpu=$((holdcpu + $(kv "$l" dc_cpu_ms)))
		fi
		l=$(grep '^dc:' "$out")
		cpur=$((cpur + $(kv "$l" cpu_ms_register)))
		cpud=$((cpud + $(kv "$l" cpu_ms_direct)))
		rss0=$((rss0 + $(kv "$l" rss_kb_start)))
		rss1=$((rss1 + $(kv "$l" rss_kb_registered)))
		local conf=$T/$c-$i/dcd.conf
		extra="$extra dc$i: handshakes=$(stat_of "$conf" handshakes) registrations=$(stat_of "$conf" registrations) directions=$(stat_of "$conf" directions) keepalives=$(stat_of "$conf" keepalives) expired=$(stat_of "$conf" expired) cookies_sent=$(stat_of "$conf" cookies_sent) drop_ratelimit=$(stat_of "$conf" drop_ratelimit) drop_overload=$(stat_of "$conf" drop_overload);"
	done
	for i in $(seq 0 $((ndc - 1))); do eval "stop_dc \$DCPID_$i"; done
	row "$(awk -v c="$c" -v n="$N" -v e="$enrol_s" -v reg="$reg" -v regms="$regms" \
		-v routes="$routes" -v req="$req" -v dirms="$dirms" -v cpur="$cpur" -v cpud="$cpud" \
		-v rss0="$rss0" -v rss1="$rss1" -v hms="$holdms" -v hka="$holdka" -v hcpu="$holdcpu" -v kar="$kar" -v kad="$kad" 'BEGIN {
		ka = hka ? hcpu * 1000 / hka : 0
		printf "| %s | %d | %s | %d | %.0f | %.0f (%.0f) | %d/%d | %.0f | %.0f (%.0f) | %.1f | %.1f | %.2f | %.0f | %.0f | %.1f |",
			c, n, e, reg, regms ? reg * 1000 / regms : 0, reg ? cpur * 1000 / reg : 0,
			reg ? (cpur * 1000 - kar * ka) / reg : 0,
			routes, req, dirms ? routes * 1000 / dirms : 0, routes ? cpud * 1000 / routes : 0,
			routes ? (cpud * 1000 - kad * ka) / routes : 0,
			rss0 / 1024, rss1 / 1024, reg ? (rss1 - rss0) / reg : 0,
			hms ? hka * 1000 / hms : 0, hka ? hcpu * 1000 / hka : 0, hms ? hcpu * 100 / hms : 0 }')"
	say "$(printf '%s' "$ROWS" | tail -n 1)"
	NOTES="$NOTES$c: retries=$retries cookies=$cookies naks=$naks lost=$lost keepalives sent before the hold=$ka load generator CPU ms while registering=$selfr;$extra"$'\n'
}

for c in $CASES; do
	case $c in sqlite | postgresql | pg2) run_case "$c" ;; *) fail "DC_SCALE_CASES: unknown case $c" ;; esac
done

echo
echo "ntm DC scale benchmark, $(date -u '+%Y-%m-%d %H:%M UTC'), $(git -C "$top_srcdir" rev-parse --short HEAD 2>/dev/null || echo '?')"
echo "host: $(nproc) CPUs, $(uname -r), load average at the end $(cut -d' ' -f1-3 /proc/loadavg)"
echo "N=$N, $DIRS Direction Request(s) per node, $SOURCES source addresses and $WINDOW in flight per load generator, hold ${HOLD} s${PGVER:+; $PGVER}"
echo
echo "| setup | nodes | enrol s | registered | reg/s | DC CPU µs/reg (net) | routes/requests | routes/s | DC CPU µs/route (net) | RSS start MB | RSS registered MB | KB/node | hold KA/s | DC CPU µs/KA | hold DC CPU % |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
printf '%s' "$ROWS"
echo
printf '%s' "$NOTES"
