#!/bin/bash
# pg_registry.sh - ntm-dcd with its registry in PostgreSQL, end to end: a
# throw-away cluster (initdb as nobody, its Unix socket in the test's
# directory, no TCP), a DC on it under its seccomp allow-list, two nodes
# enrolled by ntm-dcctl into the database; both register with distinct
# addresses that are the database's allocations (psql), and a tunnel
# between them carries a ping; the DC found b in memory (lookups_memory),
# and a name nobody enrolled through the registry; once b is deleted, a
# third node c finds it neither by name nor by address (the DC's memory
# of b is not taken). The cluster is stopped (pg_ctl stop -m fast
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
NODES="a b c"
. "$(dirname "$0")/setup2.sh"
ok "a, b and c enrolled in PostgreSQL and registered"
seccomp_on "$DCD_PID" ntm-dcd
grep -q "registry PostgreSQL: 0 enrolled" "$T/dcd.log" || fail "the DC did not open the PostgreSQL registry"

vip4() { nsx "$1" ip -4 -o addr show dev ntm0 | awk '{ sub("/.*", "", $4); print $4 }'; }
have_vips() { [ -n "$(vip4 a)" ] && [ -n "$(vip4 b)" ] && [ -n "$(vip4 c)" ]; }
wait_for 5 "virtual addresses on ntm0" have_vips
VIP_A=$(vip4 a)
VIP_B=$(vip4 b)
VIP_C=$(vip4 c)
[ "$VIP_A" != "$VIP_B" ] && [ "$VIP_B" != "$VIP_C" ] && [ "$VIP_A" != "$VIP_C" ] ||
	fail "two nodes share an address: $VIP_A $VIP_B $VIP_C"
rows=$(sql ntm "SELECT string_agg(name || '=' || host_index, ' ' ORDER BY name) FROM ntm_allocations")
ia=$(( ${VIP_A##*.} )); ib=$(( ${VIP_B##*.} )); ic=$(( ${VIP_C##*.} ))
[ "$rows" = "a.ntm.example.org=$ia b.ntm.example.org=$ib c.ntm.example.org=$ic" ] ||
	fail "the database's allocations ($rows) are not the nodes' addresses ($VIP_A, $VIP_B, $VIP_C)"
ok "addresses $VIP_A, $VIP_B and $VIP_C are the database's allocations ($rows)"

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
# b deleted: the DC forgets it, and its entry left in memory must not be
# taken (dc_node_live): c, which never asked for b, gets no tunnel to it by
# name or by address, and the registry, not memory, says so
"$NTM_DCCTL" -c "$DCCONF" node del b >/dev/null || fail "ntm-dcctl node del b"
wait_for 5 "the DC forgetting b" grep -q "b.$ZONE is no longer enrolled" "$T/dcd.log"
if "$NTMCTL" -s "$sock_c" resolve "b.$ZONE" >/dev/null 2>&1; then fail "c resolved b.$ZONE after b was deleted"; fi
if "$NTMCTL" -s "$sock_c" resolve "$VIP_B" >/dev/null 2>&1; then fail "c resolved $VIP_B after b was deleted"; fi
[ "$(dc_stat lookups_memory)" = "$m1" ] || fail "a deleted node was answered from memory: lookups_memory $m1 -> $(dc_stat lookups_memory)"
ok "b deleted: c's look-ups of its name and address fail, answered by the registry"
kill -0 "$DCD_PID" || fail "ntm-dcd died"
