#!/bin/bash
# shellcheck disable=SC2034,SC2154  # variables set and read through eval
# bench/dns.sh - ntm-resolverd beside dnsmasq and unbound under load, on
# loopback in node a's namespace, with the same upstream and query mixes,
# in one run.
#
# Usage (root):  bench/dns.sh                       [BENCH_TIME=10 s per run]
#                BENCH_LOAD=dnsperf bench/dns.sh     (dnsperf instead of bench/dnsblast:
#                                                     slower, but with latencies)
#                BENCH_QPS=20000 bench/dns.sh        (cap every run at 20000 queries/s)
#                BENCH_PERF=1 bench/dns.sh           (perf profile of ntm-resolverd)
#                top_builddir=DIR top_srcdir=DIR bench/dns.sh  (out-of-tree build)
#                BENCH_PIN=1 bench/dns.sh            (every resolver on the last CPU, the
#                                                     load generator on the first: each
#                                                     resolver's own limit, not the share
#                                                     of two CPUs it wins; needs 2 CPUs)
#                BENCH_BASELINE=/path/to/old/ntm-resolverd bench/dns.sh
#                    (also measure that build, e.g. the one before a change)
#
# Topology is tests/netns/setup2.sh's (a DC and nodes a and b, each in its
# own namespace), so a has a live ntm-tund with a tunnel to b. In a:
#   127.0.0.78  the upstream: tests/unit/fake_dns -m ok (A 192.0.2.1 TTL 300)
#   127.0.0.77  ntm-resolverd (NssFile = a's nss file), forwarding to .78
#   127.0.0.90  dnsmasq --no-resolv --server=127.0.0.78 --cache-size=10000
#   127.0.0.91  unbound, forward-zone "." to 127.0.0.78, cache on, 1 thread
#   127.0.0.74  ntm-resolverd with OverlayMap = no (overlay mix only: live
#               names from its overlay cache or ntm-tund, not the names map)
#   127.0.0.76  ntm-resolverd with OverlayMap = no and OverlayCache = no
#               (overlay mix only: every overlay query goes to ntm-tund over
#               the persistent control connections)
#   127.0.0.75  with BENCH_BASELINE, that ntm-resolverd binary (same config)
# Mixes (dnsperf -d files), each BENCH_TIME s against each resolver:
#   cached    100 forwarded names, A, after a warm-up pass (cache hits)
#   uncached  unique names, A, never asked before (every query is forwarded;
#             fake_dns, one thread, carries the load too)
#   overlay   b.ntm.example.org A and AAAA (ntm-resolverd answers from
#             ntm-tund's names map; the OverlayMap = no instance from its
#             overlay cache or ntm-tund; the one without cache always asks
#             ntm-tund; dnsmasq and unbound cannot answer them: n/a)
# The load: bench/dnsblast (the default: sendmmsg/recvmmsg from 4 sockets
# per thread, 64 queries outstanding on each, BENCH_BLAST_THREADS threads,
# default 1; QPS only) or dnsperf (BENCH_LOAD=dnsperf: at most
# BENCH_OUTSTANDING outstanding; one thread of it cannot saturate the
# faster resolvers on loopback, but it reports latencies).
# Reports QPS, with dnsperf average and 99th percentile latency (from
# dnsperf -v's per-query latencies), and the ratios ntm/dnsmasq and
# ntm/unbound.
#
# Needs root, /dev/net/tun, a built tree and the Debian packages dnsperf,
# dnsmasq and unbound (installs nothing; never reads or writes their files
# in /etc: every configuration lives in the run's temp dir). Traffic stays
# on loopback in the namespaces it creates; everything it starts is killed
# by PID on exit. Not part of 'make check'.

set -u

BENCH_TIME=${BENCH_TIME:-10}
BENCH_QPS=${BENCH_QPS:-}
BENCH_OUTSTANDING=${BENCH_OUTSTANDING:-100}
BENCH_PERF=${BENCH_PERF:-}
BENCH_BASELINE=${BENCH_BASELINE:-}
BENCH_LOAD=${BENCH_LOAD:-dnsblast}
BENCH_BLAST_THREADS=${BENCH_BLAST_THREADS:-1}
BENCH_PIN=${BENCH_PIN:-}
case $BENCH_LOAD in dnsblast | dnsperf) ;; *) echo "BENCH_LOAD is dnsblast or dnsperf" >&2; exit 2 ;; esac
case $BENCH_BLAST_THREADS in '' | *[!0-9]* | 0) echo "BENCH_BLAST_THREADS must be a positive integer" >&2; exit 2 ;; esac
case $BENCH_TIME in '' | *[!0-9]* | 0) echo "BENCH_TIME must be a positive integer" >&2; exit 2 ;; esac
case $BENCH_QPS in *[!0-9]* | 0) echo "BENCH_QPS must be a positive integer" >&2; exit 2 ;; esac
case $BENCH_OUTSTANDING in '' | *[!0-9]* | 0) echo "BENCH_OUTSTANDING must be a positive integer" >&2; exit 2 ;; esac
[ "$BENCH_TIME" -le 300 ] || { echo "BENCH_TIME is at most 300" >&2; exit 2; }

repo=$(cd "$(dirname "$0")/.." && pwd)
: "${top_builddir:=$repo}"
: "${top_srcdir:=$repo}"
export top_builddir top_srcdir

# Check before sourcing lib.sh (which makes a temp dir and an EXIT trap).
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root (network namespaces)"; exit 77; }
[ -c /dev/net/tun ] || { echo "SKIP: needs /dev/net/tun"; exit 77; }
PATH=$PATH:/usr/sbin:/sbin
for t in dnsperf dnsmasq unbound; do
	command -v "$t" >/dev/null 2>&1 || {
		echo "missing $t; install with: apt-get install dnsperf dnsmasq unbound" >&2
		exit 77
	}
done
for t in ip ss awk sort; do
	command -v "$t" >/dev/null 2>&1 || { echo "SKIP: needs $t"; exit 77; }
done
if [ -n "$BENCH_PERF" ] && ! command -v perf >/dev/null 2>&1; then
	echo "BENCH_PERF=1 needs perf (apt-get install linux-perf)" >&2
	exit 77
fi
for f in dc/ntm-dcd dc/ntm-dcctl tund/ntm-tund tund/ntmctl resolver/ntm-resolverd tests/unit/fake_dns \
	$([ "$BENCH_LOAD" = dnsblast ] && echo bench/dnsblast); do
	[ -x "$top_builddir/$f" ] || { echo "$top_builddir/$f not built: run make first" >&2; exit 1; }
done
FAKE_DNS=$top_builddir/tests/unit/fake_dns
RESOLVERD=$top_builddir/resolver/ntm-resolverd
DNSBLAST=$top_builddir/bench/dnsblast
if [ -n "$BENCH_BASELINE" ] && [ ! -x "$BENCH_BASELINE" ]; then
	echo "BENCH_BASELINE=$BENCH_BASELINE is not an executable" >&2
	exit 2
fi

. "$top_srcdir/tests/netns/lib.sh"
. "$top_srcdir/tests/netns/setup2.sh"

UP=127.0.0.78
ADDR_ntm=127.0.0.77 ADDR_dnsmasq=127.0.0.90 ADDR_unbound=127.0.0.91
ADDR_ntmnc=127.0.0.76 ADDR_base=127.0.0.75 ADDR_ntmnm=127.0.0.74
RESOLVERS="ntm ntmnm ntmnc dnsmasq unbound"
[ -n "$BENCH_BASELINE" ] && RESOLVERS="ntm ntmnm ntmnc base dnsmasq unbound"
MIXES="cached uncached overlay"
NAME_ntm=ntm-resolverd NAME_dnsmasq=dnsmasq NAME_unbound=unbound
NAME_ntmnc=ntm-socket-only NAME_base=ntm-baseline NAME_ntmnm=ntm-no-map

# --- helpers -----------------------------------------------------------------

# cpu_ticks PID...: user+system clock ticks used so far by these processes.
cpu_ticks() {
	local pid sum=0 t
	for pid in "$@"; do
		t=$(sed 's/^.*) //' "/proc/$pid/stat" 2>/dev/null | awk '{ print $12 + $13 }')
		sum=$((sum + ${t:-0}))
	done
	echo $sum
}

# pct TICKS NS: CPU ticks over NS nanoseconds as % of one CPU.
pct() {
	awk -v c="$1" -v hz="$(getconf CLK_TCK)" -v ns="$2" 'BEGIN { printf "%.0f", 100 * c / hz / (ns / 1e9) }'
}

# ratio X Y: X/Y with two decimals, "-" if either is missing or Y is 0.
ratio() {
	awk -v x="$1" -v y="$2" 'BEGIN { if (x == "-" || x == "n/a" || y == "-" || y == "n/a" || y + 0 == 0) print "-";
	                                 else printf "%.2f\n", x / y }'
}

# udp_listening ADDR: something listens on ADDR:53 over UDP in a.
udp_listening() { nsx a ss -Hlun "src $1 and sport = :53" | grep -q .; }

# dp_stat FILE KEY: a figure from dnsperf's summary.
dp_stat() {
	case $2 in
	qps) awk '/Queries per second:/ { printf "%.0f\n", $4; f = 1 } END { if (!f) print "-" }' "$1" ;;
	avg) awk '/Average Latency \(s\):/ { printf "%.3f\n", $4 * 1000; f = 1 } END { if (!f) print "-" }' "$1" ;;
	lost) awk '/Queries lost:/ { print $3; f = 1 } END { if (!f) print "-" }' "$1" ;;
	sent) awk '/Queries sent:/ { print $3; f = 1 } END { if (!f) print "-" }' "$1" ;;
	runtime) awk '/Run time \(s\):/ { printf "%.1f\n", $4; f = 1 } END { if (!f) print "-" }' "$1" ;;
	rcodes) awk '/Response codes:/ { sub(/.*Response codes:[[:space:]]*/, ""); gsub(/ \([0-9.]+%\)/, ""); gsub(/,/, ""); print; f = 1 }
	             END { if (!f) print "-" }' "$1" ;;
	esac
}

# p99 FILE: the 99th percentile of dnsperf -v's per-query latencies, in ms.
# Verbose lines are "> RCODE NAME TYPE LATENCY"; timeouts ("> T ...")
# count as the longest.
p99() {
	awk '$1 == ">" && $NF ~ /^[0-9.]+$/ && $2 != "T" { print $NF * 1000 }
	     $1 == ">" && $2 == "T" { print 1e9 }' "$1" | sort -g | awk '
		{ v[NR] = $1 } END { if (!NR) { print "-"; exit }
		  i = int(NR * 0.99); if (i < NR * 0.99) i++; if (i < 1) i = 1
		  if (v[i] >= 1e9) print "timeout"; else printf "%.3f\n", v[i] }'
}

# ntm_counters R: an ntm-resolverd's counters (SIGUSR1 -> its log), one line.
ntm_counters() {
	local r=$1 before pid
	eval "pid=\$PID_$r"
	before=$(grep -c 'busy ' "$T/$r.log" 2>/dev/null)
	kill -USR1 "$pid" 2>/dev/null || return
	for _ in $(seq 50); do
		[ "$(grep -c 'busy ' "$T/$r.log" 2>/dev/null)" -gt "${before:-0}" ] && break
		sleep 0.1
	done
	awk '{ for (i = 1; i < NF; i++) if ($i ~ /^[a-z_]+$/ && $(i + 1) ~ /^[0-9]+$/) v[$i] = $(i + 1) }
	     END { n = split("queries_udp answered_overlay overlay_map_hits overlay_cache_hits tund_connects tund_lost tund_timeouts forwarded cache_hits servfail dropped busy udp_trains udp_train_replies", k, " ")
		   for (j = 1; j <= n; j++) if (k[j] in v) printf "%s%s %s", (o++ ? ", " : ""), k[j], v[k[j]]; print "" }' "$T/$r.log"
}

# --- query files -------------------------------------------------------------

TOKEN=$(od -An -N4 -tx4 /dev/urandom | tr -d ' \n')
awk 'BEGIN { for (i = 0; i < 100; i++) printf "c%d.bench.example.com A\n", i }' >"$T/cached.txt"
# unique names: enough for 100000 queries/s over the whole run (dnsperf -n 1
# stops at the end of the file rather than repeating a name)
awk -v n=$((100000 * BENCH_TIME)) -v t="$TOKEN" \
	'BEGIN { for (i = 0; i < n; i++) printf "u%d-%s.bench.example.com A\n", i, t }' >"$T/uncached.txt"
printf 'b.%s A\nb.%s AAAA\n' "$ZONE" "$ZONE" >"$T/overlay.txt"

# --- live tunnel a -> b --------------------------------------------------------

"$NTMCTL" -s "$sock_a" resolve -4 "b.$ZONE" >"$T/resolve.txt" 2>&1 || fail "ntmctl resolve b.$ZONE: $(cat "$T/resolve.txt")"
NTM_B=$(grep -Eo '198\.18\.[0-9]+\.[0-9]+' "$T/resolve.txt" | head -n 1)
[ -n "$NTM_B" ] || fail "no virtual IPv4 for b in: $(cat "$T/resolve.txt")"
wait_for 10 "ping b over ntm" nsx a ping -n -q -c 1 -W 1 "$NTM_B"
wait_for 5 "a's nss file" test -s "$T/a/run/nss"

# --- upstream and resolvers ---------------------------------------------------

# fake_dns exits by itself after the whole run could have taken (bounded).
runs=$((3 * 3 * (BENCH_TIME + 10) + 120))
[ $runs -le 3600 ] || runs=3600
bg a up "$FAKE_DNS" -a $UP:53 -m ok -t $runs
PID_up=$LAST_PID
wait_for 5 "upstream ready" grep -q ready "$T/up.log"

mkdir -p "$T/ntm" "$T/dnsmasq" "$T/unbound"
echo "nameserver $UP" >"$T/ntm/resolv.orig"
cat >"$T/ntm/resolverd.conf" <<CONF
[Resolver]
ListenAddress = $ADDR_ntm
UpstreamsFrom = $T/ntm/resolv.orig
NssFile = $T/a/run/nss
CacheEntries = 10000
CONF
bg a ntm "$RESOLVERD" -f -c "$T/ntm/resolverd.conf"
PID_ntm=$LAST_PID
wait_for 5 "ntm-resolverd listening" grep -q "listening on" "$T/ntm.log"
sed -e "s/^ListenAddress = .*/ListenAddress = $ADDR_ntmnc/" "$T/ntm/resolverd.conf" >"$T/ntm/ntmnc.conf"
printf 'OverlayCache = no\nOverlayMap = no\n' >>"$T/ntm/ntmnc.conf"
bg a ntmnc "$RESOLVERD" -f -c "$T/ntm/ntmnc.conf"
PID_ntmnc=$LAST_PID
wait_for 5 "ntm-resolverd (socket only) listening" grep -q "listening on" "$T/ntmnc.log"
sed -e "s/^ListenAddress = .*/ListenAddress = $ADDR_ntmnm/" "$T/ntm/resolverd.conf" >"$T/ntm/ntmnm.conf"
echo "OverlayMap = no" >>"$T/ntm/ntmnm.conf"
bg a ntmnm "$RESOLVERD" -f -c "$T/ntm/ntmnm.conf"
PID_ntmnm=$LAST_PID
wait_for 5 "ntm-resolverd (no map) listening" grep -q "listening on" "$T/ntmnm.log"
if [ -n "$BENCH_BASELINE" ]; then
	sed -e "s/^ListenAddress = .*/ListenAddress = $ADDR_base/" "$T/ntm/resolverd.conf" >"$T/ntm/base.conf"
	bg a base "$BENCH_BASELINE" -f -c "$T/ntm/base.conf"
	PID_base=$LAST_PID
	wait_for 5 "baseline ntm-resolverd listening" grep -q "listening on" "$T/base.log"
fi

# dnsmasq: an empty conf file of its own (so /etc/dnsmasq.conf and
# /etc/dnsmasq.d are never read), no /etc/hosts, pid file in the temp dir.
: >"$T/dnsmasq/dnsmasq.conf"
bg a dnsmasq dnsmasq --no-resolv --server=$UP --cache-size=10000 --no-daemon \
	--conf-file="$T/dnsmasq/dnsmasq.conf" --pid-file="$T/dnsmasq/dnsmasq.pid" --no-hosts \
	--listen-address=$ADDR_dnsmasq --bind-interfaces --port=53 --log-facility=-
PID_dnsmasq=$LAST_PID
wait_for 5 "dnsmasq listening" udp_listening $ADDR_dnsmasq

cat >"$T/unbound/unbound.conf" <<CONF
server:
	interface: $ADDR_unbound
	port: 53
	do-ip6: no
	access-control: 127.0.0.0/8 allow
	do-not-query-localhost: no
	chroot: ""
	username: ""
	directory: "$T/unbound"
	pidfile: "$T/unbound/unbound.pid"
	use-syslog: no
	logfile: ""
	verbosity: 0
	num-threads: 1
	module-config: "iterator"
	qname-minimisation: no
	msg-cache-size: 16m
	rrset-cache-size: 32m
remote-control:
	control-enable: no
forward-zone:
	name: "."
	forward-addr: $UP
CONF
unbound-checkconf "$T/unbound/unbound.conf" >"$T/unbound-check.log" 2>&1 || fail "unbound-checkconf: $(cat "$T/unbound-check.log")"
bg a unbound unbound -d -c "$T/unbound/unbound.conf"
PID_unbound=$LAST_PID
wait_for 5 "unbound listening" udp_listening $ADDR_unbound

# BENCH_PIN: every resolver (all its threads) on the last CPU, the load on
# the first; the upstream and ntm-tund stay where the scheduler puts them.
LOAD_PIN=""
if [ -n "$BENCH_PIN" ]; then
	ncpu=$(nproc)
	[ "$ncpu" -ge 2 ] || fail "BENCH_PIN=1 needs 2 CPUs or more (this host has $ncpu)"
	SRV_CPU=$((ncpu - 1))
	for pid in $PID_ntm $PID_ntmnc $PID_ntmnm ${PID_base:-} $PID_dnsmasq $PID_unbound; do
		taskset -a -p -c "$SRV_CPU" "$pid" >/dev/null || fail "taskset of $pid"
	done
	LOAD_PIN="taskset -c 0"
fi

# --- runs --------------------------------------------------------------------

# blast_results RESOLVER MIX FILE: R_* from dnsblast's one line
# ("sent N received N lost N time S qps Q noerror N nxdomain N servfail N other N").
blast_results() {
	local r=$1 mix=$2 f=$3 k v line
	line=$(cat "$f")
	for k in qps avg p99 lost sent time rc; do eval "R_${r}_${mix}_$k=-"; done
	[ -n "$line" ] || { echo "  dnsblast against $r failed: $(head -n 3 "$T/dp-$r-$mix.err")" >&2; return; }
	set -- $line
	while [ $# -ge 2 ]; do
		k=$1 v=$2; shift 2
		case $k in qps | lost | sent | time) eval "R_${r}_${mix}_$k=\$v" ;; esac
	done
	eval "R_${r}_${mix}_rc=\"$(echo "$line" | awk '{ for (i = 11; i < NF; i += 2) if ($(i + 1) > 0) printf "%s%s %s", (o++ ? " " : ""), toupper($i), $(i + 1) }')\""
}

# dnsperf_run RESOLVER MIX: one bounded run from a (dnsblast or dnsperf); fills R_*.
dnsperf_run() {
	local r=$1 mix=$2 addr out t0 t1 c0 c1 u0 u1 perfpid="" qopt="" nopt="" d0 d1
	eval "addr=\$ADDR_$r"
	out=$T/dp-$r-$mix.txt
	[ -n "$BENCH_QPS" ] && qopt="-Q $BENCH_QPS"
	[ "$mix" = uncached ] && nopt="-n 1"
	echo "measuring $mix against $r ($addr) ..." >&2
	if [ -n "$BENCH_PERF" ] && [ "$r" = ntm ]; then
		local ppids=$PID_ntm
		[ "$mix" = overlay ] && ppids="$PID_ntm,$TUND_PID_a"
		perf record -q -F 499 -g -p "$ppids" -o "$T/perf-$mix.data" -- sleep "$BENCH_TIME" \
			>"$T/perf-$mix.log" 2>&1 &
		perfpid=$!
		PIDS="$PIDS $perfpid"
	fi
	t0=$(date +%s%N)
	eval "c0=\$(cpu_ticks \$PID_$r)"
	u0=$(cpu_ticks "$PID_up")
	d0=$(cpu_ticks "$TUND_PID_a")
	if [ "$BENCH_LOAD" = dnsblast ]; then
		[ "$mix" = uncached ] && nopt="-1"
		# shellcheck disable=SC2086
		nsx a $LOAD_PIN timeout $((BENCH_TIME + 30)) "$DNSBLAST" -s "$addr" -d "$T/$mix.txt" -l "$BENCH_TIME" \
			-T "$BENCH_BLAST_THREADS" -c 4 -w 64 $nopt >"$out" 2>"$T/dp-$r-$mix.err"
		blast_results "$r" "$mix" "$out"
	else
	# shellcheck disable=SC2086
	nsx a $LOAD_PIN timeout $((BENCH_TIME + 30)) dnsperf -s "$addr" -d "$T/$mix.txt" -l "$BENCH_TIME" \
		-q "$BENCH_OUTSTANDING" -t 2 -v $qopt $nopt >"$out" 2>"$T/dp-$r-$mix.err"
	fi
	eval "c1=\$(cpu_ticks \$PID_$r)"
	u1=$(cpu_ticks "$PID_up")
	d1=$(cpu_ticks "$TUND_PID_a")
	t1=$(date +%s%N)
	[ -n "$perfpid" ] && wait "$perfpid"
	eval "R_${r}_${mix}_cpu=\$(pct \$((c1 - c0)) \$((t1 - t0)))"
	eval "R_${r}_${mix}_upcpu=\$(pct \$((u1 - u0)) \$((t1 - t0)))"
	eval "R_${r}_${mix}_tundcpu=\$(pct \$((d1 - d0)) \$((t1 - t0)))"
	[ "$BENCH_LOAD" = dnsblast ] && return
	eval "R_${r}_${mix}_qps=\$(dp_stat \"\$out\" qps)"
	eval "R_${r}_${mix}_avg=\$(dp_stat \"\$out\" avg)"
	eval "R_${r}_${mix}_p99=\$(p99 \"\$out\")"
	eval "R_${r}_${mix}_lost=\$(dp_stat \"\$out\" lost)"
	eval "R_${r}_${mix}_sent=\$(dp_stat \"\$out\" sent)"
	eval "R_${r}_${mix}_time=\$(dp_stat \"\$out\" runtime)"
	eval "R_${r}_${mix}_rc=\"\$(dp_stat \"\$out\" rcodes)\""
	if [ "$(eval echo "\$R_${r}_${mix}_qps")" = - ]; then
		echo "  dnsperf against $r failed:" >&2
		head -n 5 "$T/dp-$r-$mix.err" >&2
	fi
	# -v output can be large (one line a query): keep only the summary
	grep -v '^>' "$out" >"$out.summary" && mv "$out.summary" "$out"
}

na() { local r=$1 mix=$2 k; for k in qps avg p99 lost sent time rc cpu upcpu tundcpu; do eval "R_${r}_${mix}_$k=n/a"; done; }

for mix in $MIXES; do
	for r in $RESOLVERS; do
		case $mix/$r in
		overlay/dnsmasq | overlay/unbound | cached/ntmnc | uncached/ntmnc | cached/ntmnm | uncached/ntmnm)
			na "$r" "$mix"
			continue ;;
		esac
		if [ "$mix" = cached ]; then
			eval "addr=\$ADDR_$r"
			if [ "$BENCH_LOAD" = dnsblast ]; then
				nsx a timeout 30 "$DNSBLAST" -s "$addr" -d "$T/cached.txt" -l 1 -c 1 -w 8 \
					>"$T/warmup-$r.txt" 2>&1 || fail "warm-up of $r: $(tail -n 5 "$T/warmup-$r.txt")"
			else
			nsx a timeout 30 dnsperf -s "$addr" -d "$T/cached.txt" -n 3 -t 2 \
				>"$T/warmup-$r.txt" 2>&1 || fail "warm-up of $r: $(tail -n 5 "$T/warmup-$r.txt")"
			fi
		fi
		dnsperf_run "$r" "$mix"
	done
	for r in $RESOLVERS; do
		case $mix/$r in cached/ntmnc | uncached/ntmnc | cached/ntmnm | uncached/ntmnm) ;;
		*/ntm | */ntmnc | */ntmnm | */base) eval "STATS_${r}_$mix=\$(ntm_counters $r)" ;; esac
	done
done

# --- report ------------------------------------------------------------------

cpu=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo)
echo
if [ "$BENCH_LOAD" = dnsblast ]; then
	echo "ntm DNS benchmark: bench/dnsblast in a ($BENCH_BLAST_THREADS thread(s) x 4 sockets x 64 outstanding), ${BENCH_TIME}s per run; upstream fake_dns -m ok"
else
	echo "ntm DNS benchmark: dnsperf in a, ${BENCH_TIME}s per run, at most $BENCH_OUTSTANDING queries outstanding${BENCH_QPS:+, capped at $BENCH_QPS qps}; upstream fake_dns -m ok"
fi
echo "host: $(nproc) CPUs, ${cpu:-unknown CPU}, kernel $(uname -r)"
[ -n "$BENCH_PIN" ] && echo "pinned: every resolver on CPU $SRV_CPU, the load generator on CPU 0 (BENCH_PIN=1)"
echo "dnsperf $(dnsperf -h 2>&1 | awk '/^Version/ { print $2 }'), dnsmasq $(dnsmasq --version | awk 'NR == 1 { print $3 }'), unbound $(unbound -V 2>/dev/null | awk 'NR == 1 { print $2 }')"
echo
printf '%-9s %-16s %9s %9s %9s %7s %6s %6s %6s  %s\n' mix resolver QPS "avg ms" "p99 ms" lost "cpu%" "up%" "tund%" "rcodes"
for mix in $MIXES; do
	for r in $RESOLVERS; do
		case $mix/$r in cached/ntmnc | uncached/ntmnc | cached/ntmnm | uncached/ntmnm) continue ;; esac
		eval "printf '%-9s %-16s %9s %9s %9s %7s %6s %6s %6s  %s\n' \"\$mix\" \"\$NAME_$r\" \
			\"\$R_${r}_${mix}_qps\" \"\$R_${r}_${mix}_avg\" \"\$R_${r}_${mix}_p99\" \"\$R_${r}_${mix}_lost\" \
			\"\$R_${r}_${mix}_cpu\" \"\$R_${r}_${mix}_upcpu\" \"\$R_${r}_${mix}_tundcpu\" \"\$R_${r}_${mix}_rc\""
	done
done
echo
for o in dnsmasq unbound; do
	line=""
	for mix in cached uncached; do
		eval "q=\$(ratio \"\$R_ntm_${mix}_qps\" \"\$R_${o}_${mix}_qps\")"
		eval "a=\$(ratio \"\$R_ntm_${mix}_avg\" \"\$R_${o}_${mix}_avg\")"
		eval "p=\$(ratio \"\$R_ntm_${mix}_p99\" \"\$R_${o}_${mix}_p99\")"
		line="$line${line:+; }$mix qps $q, avg $a, p99 $p"
	done
	printf 'ntm / %-8s %s; overlay n/a\n' "$o:" "$line"
done
if [ -n "$BENCH_BASELINE" ]; then
	line=""
	for mix in $MIXES; do
		q=$(ratio "$(eval echo "\$R_ntm_${mix}_qps")" "$(eval echo "\$R_base_${mix}_qps")")
		a=$(ratio "$(eval echo "\$R_ntm_${mix}_avg")" "$(eval echo "\$R_base_${mix}_avg")")
		line="$line${line:+; }$mix qps $q, avg $a"
	done
	printf 'ntm / %-8s %s\n' "baseline:" "$line"
	q=$(ratio "$R_ntmnc_overlay_qps" "$R_base_overlay_qps")
	a=$(ratio "$R_ntmnc_overlay_avg" "$R_base_overlay_avg")
	echo "ntm without overlay cache / baseline: overlay qps $q, avg $a"
fi
echo
echo "details:"
echo "  cpu% = the resolver's CPU, up% = fake_dns's (the upstream's), tund% = a's ntm-tund's; % of one CPU over the run"
for r in ntm ntmnm ntmnc base; do
	case " $RESOLVERS " in *" $r "*) ;; *) continue ;; esac
	for mix in $MIXES; do
		eval "st=\${STATS_${r}_$mix:-}"
		[ -n "$st" ] && eval "echo \"  \$NAME_$r counters after $mix (cumulative): \$st\""
	done
done
[ -n "$BENCH_BASELINE" ] && echo "  ntm-baseline = $BENCH_BASELINE"
for mix in $MIXES; do
	for r in $RESOLVERS; do
		eval "s=\$R_${r}_${mix}_sent t=\$R_${r}_${mix}_time"
		[ "$s" = n/a ] && continue
		printf '  %-8s %-16s sent %s in %s s\n' "$mix" "$(eval echo "\$NAME_$r")" "$s" "$t"
	done
done
if [ -n "$BENCH_PERF" ]; then
	for mix in $MIXES; do
		[ -s "$T/perf-$mix.data" ] || continue
		echo
		echo "perf: ntm-resolverd${mix:+ during $mix}$([ "$mix" = overlay ] && echo " (and a's ntm-tund)"), top symbols (self)"
		perf report -i "$T/perf-$mix.data" --stdio --no-children -g none --sort comm,dso,sym 2>/dev/null |
			grep -E '^ +[0-9]' | head -n 15
	done
fi
