#!/bin/bash
# namemap.sh - the names map (doc/namemap.md) end to end on node a, with the
# recommended line "hosts: files ntm [!UNAVAIL=return] dns" and an upstream
# DNS server (tests/unit/fake_dns) that logs every name it is asked:
#  - a live tunnel's name (forward, AF_UNSPEC/INET/INET6, and reverse) and
#    a's own name are answered from the map: ntm-tund's resolve_requests
#    counter (socket lookups) does not move;
#  - a map replaced by garbage or cut short: lookups fall back to the
#    socket and still resolve, nothing crashes;
#  - ntm-tund SIGSTOPped (after the map's TTL), stopped (SIGTERM) and
#    killed (SIGKILL): overlay lookups fail at ntm, 0 queries reach the
#    upstream server (a name outside the overlay does reach it: the
#    control); the hung case's time is printed, not asserted;
#  - after a restart the map is replaced and right again, also in a process
#    that mapped the old one.
. "$(dirname "$0")/lib.sh"
require_root
for tool in getent python3 ping; do
	command -v "$tool" >/dev/null || skip "needs $tool"
done
NSSLIB=$top_builddir/nss_ntm/.libs
FAKE_DNS=$top_builddir/tests/unit/fake_dns
[ -e "$NSSLIB/libnss_ntm.so.2" ] || skip "libnss_ntm.so.2 not built"
[ -x "$FAKE_DNS" ] || skip "tests/unit/fake_dns not built"
NODES="a b"
. "$(dirname "$0")/setup2.sh"

cat > "$T/nsswitch.conf" <<CONF
hosts: files ntm [!UNAVAIL=return] dns
CONF
echo "127.0.0.1 localhost" > "$T/hosts"
echo "nameserver 127.0.0.53" > "$T/resolv.conf"
nsx a ip addr add 127.0.0.53/8 dev lo 2>/dev/null || true
bg a upstream "$FAKE_DNS" -a 127.0.0.53:53 -m ok -l "$T/upstream.names" -t 600
on_a() {
	nsx a env LD_LIBRARY_PATH="$NSSLIB" NTM_NSS_FILE="$T/a/run/nss" \
		"$ETC_EXEC" "$T/.etc" "$T/nsswitch.conf" "$T/hosts" "$T/resolv.conf" "$@"
}
MAP=$T/a/run/names.map
B=b.ntm.example.org
wait_for 5 "a's nss file and names map" test -s "$T/a/run/nss" -a -s "$MAP"
wait_for 5 "the upstream server" nsx a sh -c "ss -lun | grep -q '127.0.0.53:53 '"
socket_lookups() { "$NTMCTL" -s "$sock_a" stats --json | grep -o '"resolve_requests": [0-9]*' | grep -o '[0-9]*$'; }
upstream_queries() { [ -e "$T/upstream.names" ] && wc -l < "$T/upstream.names" || echo 0; }

# --- first contact through the socket sets the tunnel up ---
out=$(on_a getent ahosts "$B") || fail "first lookup of $B: $out"
echo "$out" | grep -q '^198\.18\.0\.2 ' || fail "first lookup gave: $out"
nsx a ping -c 1 -W 3 198.18.0.2 >/dev/null || fail "no tunnel to b"
# the map is written on the next peer sweep (250 ms)
in_map() { local s0; s0=$(socket_lookups); on_a getent ahostsv4 "$B" >/dev/null && [ "$(socket_lookups)" = "$s0" ]; }
wait_for 5 "b answered from a's map" in_map
ok "first contact went through the socket; b is in the map $WAITED_MS ms later"

# --- answered from the map: the socket counter does not move ---
s0=$(socket_lookups)
for i in 1 2 3 4 5; do
	out=$(on_a getent ahosts "$B") || fail "ahosts: $out"
	echo "$out" | grep -q '^198\.18\.0\.2 ' || fail "ahosts without IPv4: $out"
	echo "$out" | grep -Eq '^fd[0-9a-f:]+::2 ' || fail "ahosts without IPv6: $out"
	out=$(on_a getent ahostsv4 B.NTM.example.org.) || fail "ahostsv4 in capitals: $out"
	echo "$out" | grep -q "^198\.18\.0\.2 .*$B" || fail "ahostsv4 gave: $out"
	out=$(on_a getent hosts "$B") || fail "hosts: $out"
	rev=$(on_a getent hosts 198.18.0.2) || fail "reverse: $rev"
	echo "$rev" | grep -q "$B" || fail "reverse lookup of 198.18.0.2 gave '$rev'"
	self=$(on_a getent ahostsv4 a.ntm.example.org) || fail "a's own name: $self"
	echo "$self" | grep -q '^198\.18\.0\.1 ' || fail "a's own name gave: $self"
done
s1=$(socket_lookups)
[ "$s1" = "$s0" ] || fail "lookups of a live name went to the socket ($s0 -> $s1)"
ok "25 lookups (AF_UNSPEC, AF_INET in other case, hosts, reverse, own name): 0 socket lookups"

# --- a map that is garbage or cut short: the socket answers, no crash ---
cp "$MAP" "$T/map.good"
for kind in garbage truncated empty; do
	case $kind in
	garbage) head -c "$(stat -c %s "$T/map.good")" /dev/urandom > "$T/map.bad" ;;
	truncated) head -c $(( $(stat -c %s "$T/map.good") / 2 )) "$T/map.good" > "$T/map.bad" ;;
	empty) : > "$T/map.bad" ;;
	esac
	chmod 644 "$T/map.bad"
	mv "$T/map.bad" "$MAP"
	s0=$(socket_lookups)
	out=$(on_a getent ahosts "$B"); rc=$?
	[ $rc = 0 ] || fail "with a $kind map the lookup failed (exit $rc): $out"
	echo "$out" | grep -q '^198\.18\.0\.2 ' || fail "with a $kind map: $out"
	[ "$(socket_lookups)" -gt "$s0" ] || fail "a $kind map answered a lookup"
done
ok "garbage, truncated and empty maps: lookups fall back to the socket and resolve"

# --- a long-lived process across a restart of ntm-tund: it maps the new file ---
cat > "$T/longlived.py" <<'PY'
import os, socket, sys, time
name, phase_dir = sys.argv[1], sys.argv[2]
def look(tag):
    try:
        a = sorted({ai[4][0] for ai in socket.getaddrinfo(name, None, socket.AF_INET)})
        print(tag, "ok", " ".join(a), flush=True)
    except socket.gaierror as e:
        print(tag, "fail", e.errno, flush=True)
for phase in ("1", "2", "3"):
    while not os.path.exists(os.path.join(phase_dir, "go" + phase)):
        time.sleep(0.05)
    look("phase" + phase)
    open(os.path.join(phase_dir, "done" + phase), "w").close()
PY
mkdir -p "$T/ll"
on_a python3 "$T/longlived.py" "$B" "$T/ll" > "$T/ll.out" 2>&1 &
LL_PID=$!
PIDS="$PIDS $LL_PID"
touch "$T/ll/go1"
wait_for 10 "long-lived lookup 1" test -e "$T/ll/done1"
grep -q "^phase1 ok 198.18.0.2" "$T/ll.out" || fail "long-lived process, phase 1: $(cat "$T/ll.out")"

# --- ntm-tund hung (SIGSTOP): past the map's TTL, lookups end at ntm ---
q0=$(upstream_queries)
kill -STOP "$TUND_PID_a"
sleep 1.5 # > NTM_NAMEMAP_TTL_MS: the map has gone stale by itself
for name in "$B" nobody.ntm.example.org; do
	t0=$(date +%s%N)
	if out=$(on_a getent ahosts "$name"); then
		kill -CONT "$TUND_PID_a"
		fail "$name resolved with ntm-tund stopped: $out"
	fi
	echo "  hung ntm-tund: getent ahosts $name failed after $(( ($(date +%s%N) - t0) / 1000000 )) ms"
done
kill -CONT "$TUND_PID_a"
q1=$(upstream_queries)
[ "$q1" = "$q0" ] || fail "with ntm-tund hung, overlay names reached the upstream: $(tail -n +$((q0 + 1)) "$T/upstream.names")"
ok "ntm-tund SIGSTOPped: overlay lookups fail at ntm, 0 upstream queries"

# --- killed (SIGKILL): the map stays behind, stale; lookups end at ntm ---
kill -KILL "$TUND_PID_a"
wait_for 5 "a's daemon gone" sh -c "! kill -0 $TUND_PID_a 2>/dev/null"
sleep 1.1 # > NTM_NAMEMAP_TTL_MS since the last renewal
for name in "$B" nobody.ntm.example.org; do
	out=$(on_a getent ahosts "$name") && fail "$name resolved with ntm-tund killed: $out"
done
touch "$T/ll/go2"
wait_for 10 "long-lived lookup 2" test -e "$T/ll/done2"
grep -q "^phase2 fail" "$T/ll.out" || fail "long-lived process answered from a dead daemon's map: $(cat "$T/ll.out")"
[ "$(upstream_queries)" = "$q0" ] || fail "with ntm-tund killed, overlay names reached the upstream"
ok "ntm-tund killed: its map goes stale, overlay lookups fail at ntm (also in a process that mapped it), 0 upstream queries"

# --- restarted: a new map, right again ---
bg a tund-a2 "$NTM_TUND" -f -c "$T/a/tund.conf"
TUND_PID_a=$LAST_PID
wait_for 10 "a registered again" registered "$sock_a"
wait_for 10 "b reachable again" on_a getent ahosts "$B"
nsx a ping -c 1 -W 3 198.18.0.2 >/dev/null || fail "no tunnel to b after the restart"
wait_for 5 "b answered from the new map" in_map
touch "$T/ll/go3"
wait_for 10 "long-lived lookup 3" test -e "$T/ll/done3"
grep -q "^phase3 ok 198.18.0.2" "$T/ll.out" || fail "long-lived process after the restart: $(cat "$T/ll.out")"
ok "ntm-tund restarted: the map is replaced and answers again (a long-lived process too)"

# --- stopped (SIGTERM): map closed and removed, nss file kept ---
kill -TERM "$TUND_PID_a"
wait_for 5 "a's daemon gone" sh -c "! kill -0 $TUND_PID_a 2>/dev/null"
[ -e "$MAP" ] && fail "the map is still there after a clean stop"
[ -s "$T/a/run/nss" ] || fail "the nss file went with the daemon (overlay names would go to DNS)"
for name in "$B" nobody.ntm.example.org; do
	out=$(on_a getent ahosts "$name") && fail "$name resolved with ntm-tund stopped: $out"
	out=$(on_a getent hosts "$name") && fail "$name resolved with ntm-tund stopped: $out"
done
[ "$(upstream_queries)" = "$q0" ] || fail "with ntm-tund stopped, overlay names reached the upstream: $(cat "$T/upstream.names")"
# the control: a name outside the overlay does reach the upstream
on_a getent ahosts www.example.net >/dev/null || true
[ "$(upstream_queries)" -gt "$q0" ] || fail "the upstream server logged nothing for www.example.net: is it reached at all?"
ok "ntm-tund stopped: map removed, nss file kept, overlay lookups fail at ntm, 0 upstream queries (www.example.net: $(( $(upstream_queries) - q0 )))"
