#!/bin/bash
# resolver.sh - the stub resolver end to end: ntm-resolverd on node a, beside a's
# ntm-tund, in front of test upstream servers (tests/unit/fake_dns) that
# log every name they are asked. dig, kdig and drill over UDP and TCP with
# several EDNS settings; overlay answers from ntm-tund (A, AAAA, PTR,
# NXDOMAIN, NODATA) that never reach an upstream; forwarding, caching,
# failover and truncation; overlay questions pipelined on one persistent
# connection to ntm-tund, answers cached for their TTL (counted down); with
# ntm-tund stopped, SERVFAIL for overlay names (at once for questions in
# flight) while other names still resolve; and after ntm-tund starts again
# the stub reconnects by itself. The stubs here do not read ntm-tund's
# names map (OverlayMap = no), so every overlay question takes the socket
# path; answers from the map are stubmap.sh's.
. "$(dirname "$0")/lib.sh"
require_root
for tool in dig kdig drill; do
	command -v "$tool" >/dev/null || skip "needs $tool"
done
FAKE_DNS=$top_builddir/tests/unit/fake_dns
RESOLVERD=$top_builddir/resolver/ntm-resolverd
BURST=$top_builddir/tests/netns/dns_burst
. "$(dirname "$0")/setup2.sh"

# Upstreams in a's namespace: .78 answers, .79 never answers, .82 truncates.
bg a up-ok "$FAKE_DNS" -a 127.0.0.78:53 -m ok -l "$T/up-ok.names" -t 300
bg a up-stall "$FAKE_DNS" -a 127.0.0.79:53 -m stall -l "$T/up-stall.names" -t 300
bg a up-tc "$FAKE_DNS" -a 127.0.0.82:53 -m truncate -l "$T/up-tc.names" -t 300
wait_for 5 "upstreams ready" sh -c "grep -q ready '$T/up-ok.log' && grep -q ready '$T/up-stall.log' && grep -q ready '$T/up-tc.log'"

stub() { # NAME ADDR UPSTREAMS...
	local name=$1 addr=$2; shift 2
	mkdir -p "$T/$name"
	: > "$T/$name/resolv.orig"
	for u in "$@"; do echo "nameserver $u" >> "$T/$name/resolv.orig"; done
	cat > "$T/$name/resolverd.conf" <<CONF
[Resolver]
ListenAddress = $addr
UpstreamsFrom = $T/$name/resolv.orig
NssFile = $T/a/run/nss
OverlayMap = no
CONF
	bg a "$name" "$RESOLVERD" -f -c "$T/$name/resolverd.conf"
	eval "PID_$name=\$LAST_PID"
	wait_for 5 "$name listening" grep -q "listening on" "$T/$name.log"
}
# the main stub: the stalling server first, so every forward fails over
stub stub 127.0.0.77 127.0.0.79 127.0.0.78
stub stubtc 127.0.0.80 127.0.0.82

q() { nsx a dig @127.0.0.77 +time=5 +tries=1 "$@"; }
status_of() { grep -o 'status: [A-Z]*' | head -n1 | cut -d' ' -f2; }

# --- overlay answers come from ntm-tund ---
out=$(q b.ntm.example.org A)
echo "$out" | grep -q 'status: NOERROR' || fail "A b: $out"
echo "$out" | grep -Eq 'flags: qr aa rd ra' || fail "overlay answer without AA: $out"
echo "$out" | grep -Eq '^b\.ntm\.example\.org\.[[:space:]]+5[[:space:]]+IN[[:space:]]+A[[:space:]]+198\.18\.0\.2' \
	|| fail "no A 198.18.0.2 TTL 5: $out"
ok "A b.ntm.example.org: 198.18.0.2, AA, TTL 5"
seccomp_on "$PID_stub" ntm-resolverd
ok "ntm-resolverd runs under its seccomp filter (Seccomp: 2)"
aaaa=$(q b.ntm.example.org AAAA +short)
case $aaaa in fd*::2) ;; *) fail "AAAA b: '$aaaa'" ;; esac
ok "AAAA b.ntm.example.org: $aaaa"
ptr=$(q -x 198.18.0.2 +short)
[ "$ptr" = "b.ntm.example.org." ] || fail "PTR 198.18.0.2: '$ptr'"
ok "PTR 2.0.18.198.in-addr.arpa: $ptr"
[ "$(q nobody.ntm.example.org A | status_of)" = NXDOMAIN ] || fail "unknown overlay name not NXDOMAIN"
q nobody.ntm.example.org A | grep -q 'SOA' || fail "NXDOMAIN without SOA"
[ "$(q b.ntm.example.org HTTPS | status_of)" = NOERROR ] || fail "HTTPS not NOERROR"
q b.ntm.example.org HTTPS | grep -q 'ANSWER: 0' || fail "HTTPS not NODATA"
q b.ntm.example.org ANY | grep -q '198\.18\.0\.2' || fail "ANY lacks the address"
ok "unknown overlay name NXDOMAIN + SOA; HTTPS NODATA; ANY answered"

# --- one persistent connection to ntm-tund, a cache counting TTLs down ---
# stat NAME: ntm-resolverd's counter NAME (SIGUSR1 logs them all)
stat() {
	local before
	before=$(grep -c "$1" "$T/stub.log")
	kill -USR1 "$PID_stub"
	wait_for 5 "stub counters" sh -c "[ \$(grep -c '$1' '$T/stub.log') -gt $before ]"
	grep "$1" "$T/stub.log" | tail -n1 | awk '{print $NF}'
}
c0=$(stat tund_connects)
h0=$(stat overlay_cache_hits)
ttl1=$(q a.ntm.example.org A | awk '$1 == "a.ntm.example.org." && $4 == "A" {print $2}')
[ "$ttl1" = 5 ] || fail "first answer for a.ntm.example.org: TTL '$ttl1'"
sleep 1.2
ttl2=$(q a.ntm.example.org A | awk '$1 == "a.ntm.example.org." && $4 == "A" {print $2}')
[ -n "$ttl2" ] && [ "$ttl2" -lt 5 ] || fail "cached answer for a.ntm.example.org: TTL '$ttl2', want below 5"
# 40 questions in one dig run (A, AAAA and PTR of both nodes), then the counters
args=""
for i in $(seq 10); do args="$args b.ntm.example.org A b.ntm.example.org AAAA a.ntm.example.org AAAA -x 198.18.0.2"; done
# shellcheck disable=SC2086
nsx a dig @127.0.0.77 +time=5 +tries=1 +short $args | sort | uniq -c > "$T/burst.out"
grep -q '10 198.18.0.2$' "$T/burst.out" && grep -q '10 b.ntm.example.org.$' "$T/burst.out" \
	|| fail "burst of 40 overlay questions: $(cat "$T/burst.out")"
c1=$(stat tund_connects)
h1=$(stat overlay_cache_hits)
[ $((c1 - c0)) -le 1 ] || fail "$((c1 - c0)) new connections to ntm-tund for 42 questions"
[ $((h1 - h0)) -ge 38 ] || fail "only $((h1 - h0)) of 42 overlay questions came from the cache"
ok "overlay answers cached with the TTL counted down ($ttl1 s, then $ttl2 s); 42 questions: $((c1 - c0)) new connection(s) to ntm-tund, $((h1 - h0)) from the cache"

# --- every client, transport and EDNS setting ---
for opts in "" "+tcp" "+bufsize=512" "+bufsize=1232" "+bufsize=4096" "+noedns" "+dnssec" "+tcp +dnssec"; do
	# shellcheck disable=SC2086
	r=$(q b.ntm.example.org A $opts +short)
	[ "$r" = "198.18.0.2" ] || fail "dig $opts: '$r'"
	# shellcheck disable=SC2086
	r=$(q www.example.com A $opts +short)
	[ "$r" = "192.0.2.1" ] || fail "dig $opts www.example.com: '$r'"
done
ok "dig over UDP/TCP, bufsize 512/1232/4096, noedns, dnssec: overlay and forwarded names"
nsx a kdig @127.0.0.77 b.ntm.example.org A +tcp | grep -q '198.18.0.2' || fail "kdig +tcp"
nsx a kdig @127.0.0.77 www.example.com A | grep -q '192.0.2.1' || fail "kdig"
nsx a drill @127.0.0.77 b.ntm.example.org AAAA | grep -q 'fd' || fail "drill AAAA"
nsx a drill -t @127.0.0.77 www.example.com A | grep -q '192.0.2.1' || fail "drill -t"
ok "kdig and drill, UDP and TCP"
[ "$(q www.example.com A +norec | status_of)" = REFUSED ] || fail "+norec not REFUSED"
[ "$(q www.example.com A +edns=1 +noednsneg | status_of)" = BADVERS ] || fail "+edns=1 not BADVERS"
ok "+norec REFUSED, +edns=1 BADVERS"

# --- forwarding: failover, cache, truncation ---
n0=$(grep -c 'www.example.com' "$T/up-ok.names")
q cached.example.com A +short >/dev/null
q cached.example.com A +short >/dev/null
[ "$(grep -ci 'cached.example.com' "$T/up-ok.names")" = 1 ] || fail "second query was not answered from the cache"
grep -qi 'cached.example.com' "$T/up-stall.names" || fail "no failover: the stalling server was not asked first"
ok "failover from a silent server; the second query came from the cache"
tc=$(nsx a dig @127.0.0.80 +time=5 +tries=1 +ignore big.example.com A)
echo "$tc" | grep -q 'flags: qr tc' || fail "UDP client did not get TC=1: $tc"
full=$(nsx a dig @127.0.0.80 +time=5 +tries=1 +tcp big.example.com A +short)
[ "$full" = "192.0.2.1" ] || fail "TCP client did not get the full answer: '$full'"
ok "truncated upstream reply: TC=1 to a UDP client, full answer over TCP"

# --- many questions in flight from one socket: replies as UDP_SEGMENT trains ---
# 32 cached names of one length (so of one reply length), asked at once
# from one socket, 50 times: the replies of a batch to that client leave
# as trains; dns_burst checks every datagram whole, with its question.
stub stubburst 127.0.0.81 127.0.0.78
names=$(for i in $(seq -w 0 31); do echo "t$i.burst.example"; done)
# shellcheck disable=SC2086
nsx a "$BURST" 127.0.0.81 53 1 $names >/dev/null || fail "dns_burst warm-up"
stat_of() { # NAME: stubburst's counter NAME
	local before
	before=$(grep -c "notice: $1 " "$T/stubburst.log")
	kill -USR1 "$PID_stubburst"
	wait_for 5 "stubburst counters" sh -c "[ \$(grep -c 'notice: $1 ' '$T/stubburst.log') -gt $before ]"
	grep "notice: $1 " "$T/stubburst.log" | tail -n1 | awk '{print $NF}'
}
t0=$(stat_of udp_trains); r0=$(stat_of udp_train_replies); h0=$(stat_of cache_hits)
# shellcheck disable=SC2086
out=$(nsx a "$BURST" 127.0.0.81 53 50 $names) || fail "dns_burst: $out"
t1=$(stat_of udp_trains); r1=$(stat_of udp_train_replies); h1=$(stat_of cache_hits)
[ $((h1 - h0)) = 1600 ] || fail "$((h1 - h0)) of 1600 burst questions from the cache"
[ $((t1 - t0)) -gt 0 ] || fail "no UDP_SEGMENT train for 1600 replies to one socket"
ok "32 questions in flight from one socket, 50 rounds: $out; $((r1 - r0)) replies left in $((t1 - t0)) UDP_SEGMENT trains, every datagram whole"

# --- ntm-tund gone with a question in flight: SERVFAIL at once ---
q a.ntm.example.org AAAA +short >/dev/null  # the connection is open
kill -STOP "$TUND_PID_a"
nsx a dig @127.0.0.77 +time=5 +tries=1 pending.ntm.example.org A > "$T/pending.out" &
dig_pid=$!
sleep 0.3
kill -KILL "$TUND_PID_a"
wait "$dig_pid"
st=$(status_of < "$T/pending.out")
ms=$(sed -n 's/^;; Query time: \([0-9]*\) msec.*/\1/p' "$T/pending.out")
[ "$st" = SERVFAIL ] || fail "question in flight when ntm-tund died: '$st'"
[ -n "$ms" ] && [ "$ms" -lt 1500 ] || fail "question in flight answered after ${ms} ms, not at once"
wait_for 5 "a's daemon gone" sh -c "! kill -0 $TUND_PID_a 2>/dev/null"
ok "ntm-tund killed with a question in flight: SERVFAIL after $ms ms"

# --- ntm-tund down: SERVFAIL for overlay names, others unaffected ---
[ "$(q b.ntm.example.org A | status_of)" = SERVFAIL ] || fail "overlay name with ntm-tund down not SERVFAIL"
[ "$(q -x 198.18.0.2 | status_of)" = SERVFAIL ] || fail "overlay PTR with ntm-tund down not SERVFAIL"
[ "$(q other.example.org A +short)" = "192.0.2.1" ] || fail "ordinary names broke with ntm-tund down"
ok "ntm-tund down: SERVFAIL for overlay names and addresses, other names resolve"

# --- ntm-tund back: the stub reconnects by itself ---
bg a tund-a "$NTM_TUND" -f -c "$T/a/tund.conf"
TUND_PID_a=$LAST_PID
wait_for 10 "a registered again" registered "$T/a/run/tund.sock"
wait_for 5 "overlay answers again" sh -c "[ \"\$(ip netns exec $P-a dig @127.0.0.77 +time=2 +tries=1 +short b.ntm.example.org A)\" = 198.18.0.2 ]"
ok "ntm-tund restarted: overlay answers again after ${WAITED_MS} ms"

# --- no overlay name or overlay reverse name ever reached an upstream ---
if grep -Eih 'ntm\.example\.org|18\.198\.in-addr\.arpa|ip6\.arpa' "$T"/up-*.names; then
	fail "an overlay name was sent upstream"
fi
ok "the upstreams' logs hold no overlay name ($(cat "$T"/up-*.names | wc -l) names logged)"
echo "PASS: resolver"
