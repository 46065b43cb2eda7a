#!/bin/bash
# pg_registry.sh - ntm-dcd with its registry in PostgreSQL, end to end: a
# throw-away cluster (initdb as nobody, its Unix socket in the test's
# directory, no TCP), a DC on it under its seccomp allow-list, two nodes
# enrolled by ntm-dcctl into the database; both register with distinct
# addresses that are the database's allocations (psql), and a tunnel
# between them carries a ping; the DC found b in memory (lookups_memory),
# and a name nobody enrolled through the registry. The cluster is stopped (pg_ctl stop -m fast
# on its own data directory) before the test directory goes.
# PostgreSQL's server programs are a test dependency (tools/setup.sh):
# without them this test fails.
. "$(dirname "$0")/lib.sh"
require_root

. "$(dirname "$0")/pgcluster.sh"

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

dc_stat() { "$NTM_DCCTL" -c "$DCCONF" stats --json | grep -o "\"$1\": [0-9]*" | grep -o '[0-9]*$'; }
m0=$(dc_stat lookups_memory) || fail "DC stats"
"$NTMCTL" -s "$sock_a" resolve "b.$ZONE" >/dev/null || fail "resolve b.$ZONE on a"
nsx a ping -c 3 -i 0.2 -W 2 "$VIP_B" >/dev/null || fail "ping $VIP_B from a"
ok "tunnel a -> b carries a ping through a DC on PostgreSQL"
# b is registered with this DC: its Direction Request was answered from
# memory (dc/nodeidx.c), with no query to the server
m1=$(dc_stat lookups_memory) || fail "DC stats"
[ "$m1" -gt "$m0" ] || fail "a's request for b (registered here) went to the registry: lookups_memory $m0 -> $m1"
# a name nobody registered: the registry answers it (not found), not memory
if "$NTMCTL" -s "$sock_a" resolve "nobody.$ZONE" >/dev/null 2>&1; then fail "nobody.$ZONE resolved"; fi
[ "$(dc_stat lookups_memory)" = "$m1" ] || fail "an unknown name was answered from memory"
ok "a registered node found from memory (lookups_memory $m0 -> $m1), an unknown name by the registry"
kill -0 "$DCD_PID" || fail "ntm-dcd died"
