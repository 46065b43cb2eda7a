#!/bin/bash
# resolver_leak.sh - malformed queries cost ntm-resolverd no memory. The
# query fuzz_dnsq found (tests/fuzz/corpus/dnsq/leak_*: ARCOUNT 5 over
# type-0 records, two TSIGs and a record cut short) once made libldns leak
# about 126 bytes per query, so any local process could grow the stub
# without bound. ntm-resolverd runs alone in a namespace of its own;
# tests/netns/dns_flood sends the query and waits for each answer (FORMERR):
# 1,000 to warm up, then 20,000 more, and VmRSS may grow by at most 1 MiB.
. "$(dirname "$0")/lib.sh"
require_root
RESOLVERD=$top_builddir/resolver/ntm-resolverd
FLOOD=$top_builddir/tests/netns/dns_flood
QUERY=$(ls "$top_srcdir"/tests/fuzz/corpus/dnsq/leak_* | head -n1)
[ -f "$QUERY" ] || fail "no leak_* query in tests/fuzz/corpus/dnsq"
WARMUP=1000
QUERIES=20000
MAX_GROWTH_KB=1024

ns_add a
# no upstream listens on 127.0.0.78: the malformed queries never get that far
echo "nameserver 127.0.0.78" > "$T/resolv.orig"
cat > "$T/resolverd.conf" <<CONF
[Resolver]
ListenAddress = 127.0.0.77
UpstreamsFrom = $T/resolv.orig
NssFile = $T/nss
CONF
bg a stub "$RESOLVERD" -f -c "$T/resolverd.conf"
STUB=$LAST_PID
wait_for 5 "stub listening" grep -q "listening on" "$T/stub.log"

rss_kb() { awk '$1 == "VmRSS:" {print $2}' "/proc/$STUB/status"; }
flood() { # COUNT: every query answered with FORMERR
	local out
	out=$(nsx a "$FLOOD" 127.0.0.77 53 "$QUERY" "$1") || fail "dns_flood $1: $out"
	[ "$out" = "sent $1 replies $1 formerr $1" ] || fail "dns_flood $1: $out"
}

flood $WARMUP
before=$(rss_kb)
[ -n "$before" ] || fail "no VmRSS for ntm-resolverd (PID $STUB)"
flood $QUERIES
after=$(rss_kb)
kill -0 "$STUB" || fail "ntm-resolverd died"
growth=$((after - before))
[ "$growth" -le $MAX_GROWTH_KB ] \
	|| fail "VmRSS grew by $growth kB ($before -> $after kB) over $QUERIES malformed queries"
ok "$QUERIES malformed queries, each answered FORMERR: VmRSS $before -> $after kB (at most $MAX_GROWTH_KB kB growth)"
