#!/bin/bash
# stubmap.sh - ntm-resolverd answering from ntm-tund's names map
# (doc/namemap.md, resolver/mapq.c), on node a beside a's ntm-tund:
#  - a live tunnel's A, AAAA and PTR (and a's own name) come from the map:
#    the stub's overlay_map_hits rises, ntm-tund's resolve_requests (socket
#    lookups) does not move; the TTL is the entry's remaining life (0 or 1);
#    the question's case is kept;
#  - ntmctl down b: b leaves the map before the reply; a lookup through the
#    stub right after goes to the socket and sets the tunnel up again (b is
#    back in the map, pings); the same through getent (nss_ntm);
#  - the map cut short in place (while the stub has it mapped), replaced by
#    garbage, or removed: the stub falls back to the socket, still
#    answers, never dies; a good map put back is used again.
. "$(dirname "$0")/lib.sh"
require_root
for tool in dig getent ping; do
	command -v "$tool" >/dev/null || skip "needs $tool"
done
NSSLIB=$top_builddir/nss_ntm/.libs
FAKE_DNS=$top_builddir/tests/unit/fake_dns
RESOLVERD=$top_builddir/resolver/ntm-resolverd
[ -e "$NSSLIB/libnss_ntm.so.2" ] || skip "libnss_ntm.so.2 not built"
[ -x "$FAKE_DNS" ] || skip "tests/unit/fake_dns not built"
NODES="a b"
. "$(dirname "$0")/setup2.sh"

bg a up "$FAKE_DNS" -a 127.0.0.78:53 -m ok -l "$T/up.names" -t 600
wait_for 5 "upstream ready" grep -q ready "$T/up.log"
echo "nameserver 127.0.0.78" > "$T/resolv.orig"
cat > "$T/resolverd.conf" <<CONF
[Resolver]
ListenAddress = 127.0.0.77
UpstreamsFrom = $T/resolv.orig
NssFile = $T/a/run/nss
CONF
MAP=$T/a/run/names.map
wait_for 5 "a's nss file and names map" test -s "$T/a/run/nss" -a -s "$MAP"
bg a stub "$RESOLVERD" -f -c "$T/resolverd.conf"
PID_stub=$LAST_PID
wait_for 5 "stub listening" grep -q "listening on" "$T/stub.log"
seccomp_on "$PID_stub" ntm-resolverd

B=b.ntm.example.org
q() { nsx a dig @127.0.0.77 +time=5 +tries=1 "$@"; }
# counter NAME: the stub's counter NAME (SIGUSR1 logs them all)
counter() {
	local before
	before=$(grep -c "$1" "$T/stub.log")
	kill -USR1 "$PID_stub"
	wait_for 5 "stub counters" sh -c "[ \$(grep -c '$1' '$T/stub.log') -gt $before ]"
	grep "$1" "$T/stub.log" | tail -n1 | awk '{print $NF}'
}
tund_stat() { "$NTMCTL" -s "$sock_a" stats --json | grep -o "\"$1\": [0-9]*" | grep -o '[0-9]*$'; }
alive() { kill -0 "$PID_stub" 2>/dev/null || fail "ntm-resolverd died: $(tail -n 20 "$T/stub.log")"; }
# b answered by the stub from the map: overlay_map_hits rises, no socket lookup
from_map() {
	local h0 s0
	h0=$(counter overlay_map_hits); s0=$(tund_stat resolve_requests)
	q "$B" A +short | grep -qx 198.18.0.2 || return 1
	[ "$(counter overlay_map_hits)" -gt "$h0" ] && [ "$(tund_stat resolve_requests)" = "$s0" ]
}

# --- first contact goes through the socket and sets the tunnel up ---
s0=$(tund_stat resolve_requests)
[ "$(q "$B" A +short)" = 198.18.0.2 ] || fail "first lookup of $B through the stub"
[ "$(tund_stat resolve_requests)" -gt "$s0" ] || fail "the first lookup did not reach ntm-tund"
wait_for 10 "b answered from the map" from_map
ok "first contact through the socket; the stub answers b from the map $WAITED_MS ms later"

# --- live names from the map ---
h0=$(counter overlay_map_hits); s0=$(tund_stat resolve_requests)
for i in 1 2 3 4 5; do
	out=$(q B.Ntm.EXAMPLE.org A)
	echo "$out" | grep -Eq '^B\.Ntm\.EXAMPLE\.org\.[[:space:]]+[01][[:space:]]+IN[[:space:]]+A[[:space:]]+198\.18\.0\.2$' \
		|| fail "A in mixed case from the map (case kept, TTL 0 or 1): $out"
	echo "$out" | grep -Eq 'flags: qr aa rd ra' || fail "map answer without AA: $out"
	aaaa=$(q "$B" AAAA +short)
	case $aaaa in fd*::2) ;; *) fail "AAAA b from the map: '$aaaa'" ;; esac
	[ "$(q -x 198.18.0.2 +short)" = "$B." ] || fail "PTR 198.18.0.2 from the map"
	[ "$(q -x "$aaaa" +short)" = "$B." ] || fail "PTR $aaaa from the map"
	[ "$(q a.ntm.example.org A +short)" = 198.18.0.1 ] || fail "a's own name from the map"
done
h1=$(counter overlay_map_hits); s1=$(tund_stat resolve_requests)
[ $((h1 - h0)) -ge 25 ] || fail "only $((h1 - h0)) of 25 live-name questions came from the map"
[ "$s1" = "$s0" ] || fail "live-name questions went to ntm-tund ($s0 -> $s1)"
# what the map does not answer still comes from ntm-tund: NXDOMAIN, NODATA
[ "$(q nobody.ntm.example.org A | grep -o 'status: [A-Z]*')" = "status: NXDOMAIN" ] || fail "NXDOMAIN"
q "$B" MX | grep -q 'ANSWER: 0' || fail "MX b not NODATA"
[ "$(tund_stat resolve_requests)" -gt "$s1" ] || fail "NXDOMAIN/NODATA did not come from ntm-tund"
ok "25 questions (A in mixed case, AAAA, PTR v4/v6, own name): $((h1 - h0)) map hits, 0 socket lookups; TTL 0-1, case kept; NXDOMAIN/NODATA from ntm-tund"

# --- ntmctl down: out of the map at once; a lookup sets the tunnel up again ---
tunnel_back() { nsx a ping -c 1 -W 1 198.18.0.2 >/dev/null && from_map; }
for via in stub getent; do
	d0=$(tund_stat peers_downed)
	"$NTMCTL" -s "$sock_a" down "$B" || fail "ntmctl down $B"
	[ "$(tund_stat peers_downed)" = $((d0 + 1)) ] || fail "peers_downed did not count the down"
	"$NTMCTL" -s "$sock_a" peers | grep -q "$B" && fail "b still a peer after ntmctl down"
	s0=$(tund_stat resolve_requests)
	if [ $via = stub ]; then
		out=$(q "$B" A +short)
	else
		out=$(nsx a env LD_LIBRARY_PATH="$NSSLIB" NTM_NSS_FILE="$T/a/run/nss" getent -s hosts:ntm ahostsv4 "$B" | awk '{print $1}' | sort -u)
	fi
	[ "$out" = 198.18.0.2 ] || fail "lookup of $B through $via after ntmctl down: '$out'"
	[ "$(tund_stat resolve_requests)" -gt "$s0" ] || fail "the lookup through $via after down did not reach ntm-tund (answered from a stale map or cache)"
	wait_for 10 "tunnel to b up again after a lookup through $via" tunnel_back
	ok "ntmctl down $B, then a lookup through $via: socket lookup, tunnel up again and b back in the map ($WAITED_MS ms)"
done
"$NTMCTL" -s "$sock_a" down nobody.ntm.example.org 2>/dev/null && fail "ntmctl down of an unknown peer succeeded"
nsx a su nobody -s /bin/sh -c "'$NTMCTL' -s '$sock_a' down $B" 2>/dev/null && fail "ntmctl down as nobody succeeded"
ok "ntmctl down: an unknown peer is an error; nobody may not"

# --- a broken map: the stub falls back, keeps answering, never dies ---
# ntm-tund keeps writing the file it made even once another takes its name
# (the stub, like nss_ntm, keeps answering from that one, rightly, until a
# lookup misses); so each broken file is put in place and then a miss
# (nobody.ntm.example.org) makes the stub look at the path again.
# "cut short in place": a copy of the map, mapped by the stub only (ntm-tund
# would fault on its own file), then truncated under the stub's mapping. To
# nothing: the page holding the new end stays readable, and a miss reads 8
# slots from a seeded hash, so a cut at 4096 bytes left the first 13 slots
# readable, and a seed putting all 8 of nobody's there (6 in 4096) made the
# miss fault-free: the stub then dropped the map on its size, unlogged
# (seen once, 2026-12-06).
miss() { q nobody.ntm.example.org A >/dev/null; sleep 0.1; }
for kind in truncated-in-place garbage empty removed; do
	case $kind in
	truncated-in-place)
		cp "$MAP" "$T/map.copy"; chmod 644 "$T/map.copy"; mv "$T/map.copy" "$MAP"
		miss
		truncate -s 0 "$MAP" ;;
	garbage) head -c "$(stat -c %s "$MAP")" /dev/urandom > "$T/map.bad"; chmod 644 "$T/map.bad"; mv "$T/map.bad" "$MAP" ;;
	empty) : > "$T/map.bad"; chmod 644 "$T/map.bad"; mv "$T/map.bad" "$MAP" ;;
	removed) rm -f "$MAP" ;;
	esac
	miss
	s0=$(tund_stat resolve_requests); h0=$(counter overlay_map_hits)
	for i in 1 2 3; do
		[ "$(q "$B" A +short)" = 198.18.0.2 ] || fail "with a $kind map, A $B"
		[ "$(q -x 198.18.0.2 +short)" = "$B." ] || fail "with a $kind map, PTR"
		alive
		sleep 0.1
	done
	# the first broken map sends b to ntm-tund; with no live map the stub
	# caches ntm-tund's answers again, so later ones may come from there
	[ $kind != truncated-in-place ] || [ "$(tund_stat resolve_requests)" -gt "$s0" ] ||
		fail "with a $kind map, no question reached ntm-tund"
	[ "$(counter overlay_map_hits)" = "$h0" ] || fail "a $kind map answered"
	alive
	ok "map $kind: the stub falls back to ntm-tund and answers"
done
grep -q "cut short while mapped" "$T/stub.log" || fail "the stub did not notice the map cut short under it"
# a restart of ntm-tund makes a new map
kill -TERM "$TUND_PID_a"
wait_for 5 "a's daemon gone" sh -c "! kill -0 $TUND_PID_a 2>/dev/null"
bg a tund-a2 "$NTM_TUND" -f -c "$T/a/tund.conf"
TUND_PID_a=$LAST_PID
wait_for 10 "a registered again" registered "$sock_a"
out=$(q "$B" A +short)
[ "$out" = 198.18.0.2 ] || fail "after the restart: '$out'"
wait_for 10 "b answered from the new map" tunnel_back
alive
ok "ntm-tund restarted: the stub maps the new file and answers from it again"
