#!/bin/bash
# bench/tunnel.sh - the data plane side by side in one run: the raw underlay,
# ntm per-packet (Offload = off), ntm offload (Offload = auto), wireguard-go,
# and ntm through the DC's embedded relay in both modes; BENCH_RUNS rounds,
# the paths interleaved in each, median and spread of each figure.
#
# Usage (root):  bench/tunnel.sh       [BENCH_TIME=5 s per iperf3 run, BENCH_RUNS=3]
#                BENCH_PERF=1 bench/tunnel.sh   (then a perf profile of ntm-tund)
#                top_builddir=DIR top_srcdir=DIR bench/tunnel.sh  (out-of-tree build)
#
# Topology is tests/netns/setup2.sh's, with six pairs of nodes on one router
# r (veth, 1500-byte MTU, no NAT) and one DC (with its embedded relay):
#   a -> b  raw veth (b's underlay address), ntm per-packet, wireguard-go
#   c -> d  ntm offload
#   i -> j  ntm offload with Workers = 2 (TCP only), receive lanes on
#   k -> l  the same with Lanes = no (one peer's packets on one thread each
#           way, as before receive lanes): their before/after in one run
#   e -> f  ntm per-packet through the relay (r drops e <-> f: no direct path)
#   g -> h  ntm offload through the relay (likewise)
# The DC runs with its relay's per-pair caps at their maxima (so the relay
# rows measure forwarding, not the caps; BENCH_RELAY_CAPS=default keeps the
# defaults, 20000 packets/s and 200 Mbit/s a pair), and its [Relay]
# Offload as BENCH_RELAY_OFFLOAD says (auto, the default, or off: the
# relay's per-datagram path, for a before/after in one build).
# When ntm-tund refuses the Offload key (a build without offload) the c/d,
# g/h, i/j and k/l pairs are not made, their rows say n/a, and a, b, e, f run the
# build's default (per-packet) with the configuration setup2.sh writes.
# Each path, each round: ping 20 x 0.1 s (idle), iperf3 TCP 1 stream and 4
# streams, iperf3 UDP of BENCH_UDP_LEN-byte datagrams at BENCH_UDP_RATE (0:
# as fast as iperf3 can send); the relay paths ping and TCP only. Around each
# iperf3 run: the sender's retransmits, TX dropped of the tunnel interface
# at both ends, ntm-tund's drop counters at both ends, the namespaces' UDP
# socket buffer errors, and the daemons' CPU.
#
# Needs root, /dev/net/tun, nft (for the relay pairs) and the Debian
# packages iperf3, wireguard-go, wireguard-tools and iproute2 (installs
# nothing). Traffic stays inside the namespaces it creates; everything it
# starts is killed by PID on exit. Not part of 'make check'.

set -u

BENCH_TIME=${BENCH_TIME:-5}
BENCH_RUNS=${BENCH_RUNS:-3}
BENCH_UDP_LEN=${BENCH_UDP_LEN:-64}
BENCH_UDP_RATE=${BENCH_UDP_RATE:-0}
BENCH_PERF=${BENCH_PERF:-0}
for v in BENCH_TIME BENCH_RUNS BENCH_UDP_LEN; do
	case ${!v} in '' | *[!0-9]* | 0) echo "$v must be a positive integer" >&2; exit 2 ;; esac
done
case $BENCH_UDP_RATE in '' | *[!0-9KMGkmg]*) echo "BENCH_UDP_RATE: an iperf3 -b rate (0, 500M, 2G)" >&2; exit 2 ;; esac

repo=$(cd "$(dirname "$0")/.." && pwd)
: "${top_builddir:=$repo}"
: "${top_srcdir:=$repo}"
export top_builddir top_srcdir

# Check before sourcing lib.sh (which makes a temp dir and an EXIT trap).
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root (network namespaces)"; exit 77; }
[ -c /dev/net/tun ] || { echo "SKIP: needs /dev/net/tun"; exit 77; }
missing=""
for pair in iperf3:iperf3 wireguard-go:wireguard-go wg:wireguard-tools ip:iproute2 \
	ping:iputils-ping unshare:util-linux nsenter:util-linux; do
	command -v "${pair%%:*}" >/dev/null 2>&1 || case " $missing " in
		*" ${pair#*:} "*) ;;
		*) missing="$missing ${pair#*:}" ;;
	esac
done
if [ -n "$missing" ]; then
	echo "missing Debian packages:$missing" >&2
	echo "install with: apt-get install$missing" >&2
	exit 77
fi
for f in dc/ntm-dcd dc/ntm-dcctl tund/ntm-tund tund/ntmctl; do
	[ -x "$top_builddir/$f" ] || { echo "$top_builddir/$f not built: run make first" >&2; exit 1; }
done
HAVE_PERF=0
if [ "$BENCH_PERF" = 1 ]; then
	command -v perf >/dev/null 2>&1 && HAVE_PERF=1 || echo "BENCH_PERF=1: no perf here, no profile" >&2
fi
HAVE_NFT=1
command -v nft >/dev/null 2>&1 || HAVE_NFT=0

. "$top_srcdir/tests/netns/lib.sh"
BENCH_START=$(date +%s)

# --- does this build take Offload? -------------------------------------------
# A throwaway configuration with the key, checked by ntm-tund -n: a build
# without the offload work refuses the [Interface] section.
mkdir -p "$T/probe"
(umask 077; "$NTMCTL" genkey >"$T/probe/node.key")
cat >"$T/probe/tund.conf" <<CONF
[Node]
Name = probe
PrivateKeyFile = $T/probe/node.key
ControlSocket = $T/probe/tund.sock
[DC]
Endpoint = 198.51.100.2:7540
PublicKey = $("$NTMCTL" pubkey <"$T/probe/node.key")
[Interface]
Offload = auto
CONF
if OFFLOAD_WHY=$("$NTM_TUND" -n -c "$T/probe/tund.conf" 2>&1); then
	OFFLOAD=1
	OFFLOAD_MODE="Offload = off and Offload = auto"
else
	OFFLOAD=0
	OFFLOAD_MODE="n/a (ntm-tund -n: $(printf '%s' "$OFFLOAD_WHY" | head -n 1))"
fi
echo "offload mode: $OFFLOAD_MODE" >&2

# --- topology ---------------------------------------------------------------
NODES="a b e f"
[ "$OFFLOAD" = 1 ] && NODES="a b e f c d g h i j k l"
. "$top_srcdir/tests/netns/setup2.sh"

# subnet NODE [6]: NODE's underlay /28 (or IPv6 /64); setup2.sh numbers
# the nodes by position.
subnet() {
	local i=1 n
	for n in $NODES; do
		if [ "$n" = "$1" ]; then
			if [ "${2:-}" = 6 ]; then echo "2001:db8:$i::/64"; else echo "203.0.113.$((16 * i))/28"; fi
			return
		fi
		i=$((i + 1))
	done
}
addr_of() { local s; s=$(subnet "$1"); s=${s%/28}; echo "${s%.*}.$(( ${s##*.} + 2 ))"; }

# The relay pairs cannot reach each other directly: r drops what goes
# between their subnets, so the DC routes them through its embedded relay
# (tests/netns/relay.sh forces the relay the same way).
RELAY_PAIRS=""
if [ "$HAVE_NFT" = 1 ]; then
	RELAY_PAIRS="e:f"
	[ "$OFFLOAD" = 1 ] && RELAY_PAIRS="e:f g:h"
	{
		echo "table inet ntmbench {"
		echo " chain nodirect {"
		echo "  type filter hook forward priority filter; policy accept;"
		for pr in $RELAY_PAIRS; do
			for fam in ip ip6; do
				echo "  $fam saddr $(subnet "${pr%:*}" "${fam#ip}") $fam daddr $(subnet "${pr#*:}" "${fam#ip}") drop"
				echo "  $fam saddr $(subnet "${pr#*:}" "${fam#ip}") $fam daddr $(subnet "${pr%:*}" "${fam#ip}") drop"
			done
		done
		echo " }"
		echo "}"
	} | nsx r nft -f - || fail "nft on r"
else
	echo "no nft: the relay paths are not measured" >&2
fi

# restart_pid OLD NODE LOG CMD...: stop the daemon OLD (ours), wait for it
# to go, start CMD in its place; the new PID is in LAST_PID.
restart_pid() {
	local old=$1 n=$2 log=$3
	shift 3
	kill "$old"
	wait_for 10 "$log (pid $old) to exit" sh -c "! kill -0 $old 2>/dev/null"
	PIDS=${PIDS/ $old/}
	bg "$n" "$log" "$@"
}

# The embedded relay caps each pair (PairPacketRate 20000 packets/s,
# PairMbitRate 200 by default): with them the relay rows would measure the
# policy, not the forwarding path. Unless BENCH_RELAY_CAPS=default, the DC
# is restarted with both at their maximum before the nodes (re)start.
RELAY_OFFLOAD=${BENCH_RELAY_OFFLOAD:-auto}
case $RELAY_OFFLOAD in auto | off) ;; *) fail "BENCH_RELAY_OFFLOAD=$RELAY_OFFLOAD: auto or off" ;; esac
# BENCH_RELAY_WORKERS=N: the relayed pairs' nodes (e, f, g, h) with
# Workers = N (default 1), so the relay rows show a relayed peer's packets
# going through the workers' hand-off to the main thread.
RELAY_WORKERS=${BENCH_RELAY_WORKERS:-1}
case $RELAY_WORKERS in [1-9] | 1[0-6]) ;; *) fail "BENCH_RELAY_WORKERS=$RELAY_WORKERS: 1 to 16" ;; esac
# BENCH_WORKERS=N: the threads of the workers pairs (i/j with lanes, k/l
# without), default 2; on a machine with more cores, its number of cores.
WK=${BENCH_WORKERS:-2}
case $WK in [2-9] | 1[0-6]) ;; *) fail "BENCH_WORKERS=$WK: 2 to 16" ;; esac
if [ -n "$RELAY_PAIRS" ] && [ "${BENCH_RELAY_CAPS:-max}" != default ]; then
	printf '[Relay]\nPairPacketRate = 10000000\nPairMbitRate = 100000\nOffload = %s\n' "$RELAY_OFFLOAD" >>"$DCCONF"
	restart_pid "$DCD_PID" dc dcd "$NTM_DCD" -f -c "$DCCONF"
	DCD_PID=$LAST_PID
	RELAY_CAPS="PairPacketRate 10000000, PairMbitRate 100000 (the maxima)"
else
	if [ -n "$RELAY_PAIRS" ]; then
		printf '[Relay]\nOffload = %s\n' "$RELAY_OFFLOAD" >>"$DCCONF"
		restart_pid "$DCD_PID" dc dcd "$NTM_DCD" -f -c "$DCCONF"
		DCD_PID=$LAST_PID
	fi
	RELAY_CAPS="the defaults (PairPacketRate 20000, PairMbitRate 200)"
fi

# Every node's ntm-tund restarts (it registers with the restarted DC at
# once instead of after its missed acknowledgements), with its offload
# mode spelled out where the build takes the key (the default may change;
# the table must say what it ran).
for n in $NODES; do
	if [ "$OFFLOAD" = 1 ]; then
		case $n in a | b | e | f) mode=off ;; *) mode=auto ;; esac
		printf '[Interface]\nOffload = %s\n' "$mode" >>"$T/$n/tund.conf"
		# i and j: offload with two workers (ntm-tund.conf(5) Workers);
		# k and l: the same without receive lanes (Lanes)
		case $n in i | j) printf 'Workers = %s\n' "$WK" >>"$T/$n/tund.conf" ;; esac
		case $n in k | l) printf 'Workers = %s\nLanes = no\n' "$WK" >>"$T/$n/tund.conf" ;; esac
		case $n in e | f | g | h) [ "$RELAY_WORKERS" = 1 ] ||
			printf 'Workers = %s\n' "$RELAY_WORKERS" >>"$T/$n/tund.conf" ;; esac
	fi
	eval "LOG0_$n=\$(wc -l <\"\$T/tund-\$n.log\")"
	restart_pid "$(eval echo "\$TUND_PID_$n")" "$n" "tund-$n" "$NTM_TUND" -f -c "$T/$n/tund.conf"
	eval "TUND_PID_$n=\$LAST_PID"
done
for n in $NODES; do wait_for 15 "$n registered again" registered "$T/$n/run/tund.sock"; done

# --- measurement helpers ------------------------------------------------------

# jnum FILE OBJECT KEY: KEY's number in the flat JSON object OBJECT of an
# iperf3 -J report (cJSON prints one key a line); "-" if absent.
jnum() {
	awk -v o="\"$2\":" -v k="\"$3\":" '
		!f && index($0, o) { f = 1; next }
		f && index($0, k) { v = $0; sub(/.*:[[:space:]]*/, "", v); sub(/[,[:space:]].*$/, "", v)
			print v; found = 1; exit }
		f && /}/ { exit }
		END { if (!found) print "-" }' "$1"
}

# cpu_ticks PID...: user+system clock ticks used so far by these processes.
cpu_ticks() {
	local pid sum=0 t
	for pid in "$@"; do
		t=$(sed 's/^.*) //' "/proc/$pid/stat" 2>/dev/null | awk '{ print $12 + $13 }')
		sum=$((sum + ${t:-0}))
	done
	echo $sum
}

# sys_ticks: "busy total" clock ticks of the whole machine so far (/proc/stat:
# busy is everything but idle and iowait, guests being counted in user).
sys_ticks() {
	awk '$1 == "cpu" { t = 0; for (i = 2; i <= 9; i++) t += $i; print t - $5 - $6, t; exit }' /proc/stat
}

# tund_drops SOCK: the sum of ntm-tund's drop counters (every counter of
# `ntmctl stats` named *drop*, tun_queue_*, *fail*, *overrun*, *_bad*, *ring_full).
tund_drops() {
	"$NTMCTL" -s "$1" stats 2>/dev/null | awk '
		NF >= 2 && $NF ~ /^[0-9]+$/ && $1 ~ /drop|^tun_queue|fail|overrun|_bad|ring_full/ { s += $NF }
		END { print s + 0 }'
}

# tund_counters SOCK: every counter of `ntmctl stats` as "name value" lines.
tund_counters() {
	"$NTMCTL" -s "$1" stats 2>/dev/null | awk 'NF >= 2 && $NF ~ /^[0-9]+$/ { print $1, $NF }'
}

# node_snap NODE IFACE SOCK: "txdropped sockbuf tunddrops" of NODE now:
# IFACE's TX dropped (as `ip -s link` shows it; on a TUN device TX is kernel
# -> daemon, so a drop is the device queue overflowing because the daemon
# did not read fast enough), the namespace's UDP RcvbufErrors+SndbufErrors,
# and ntm-tund's drop counters (0 without SOCK).
node_snap() {
	local txd sb td=0
	txd=$(nsx "$1" cat "/sys/class/net/$2/statistics/tx_dropped" 2>/dev/null || echo 0)
	sb=$(nsx "$1" awk '/^Udp:/ { if (!h) { for (i = 1; i <= NF; i++) n[$i] = i; h = 1; next }
		print $n["RcvbufErrors"] + $n["SndbufErrors"] }' /proc/net/snmp)
	[ -n "$3" ] && td=$(tund_drops "$3")
	echo "$txd ${sb:-0} $td"
}

# Paths: label, source and destination node, destination address, the
# tunnel interface, the daemons to time, ntm-tund's control sockets.
declare -A P_LABEL P_SRC P_DST P_ADDR P_IF P_PIDS P_SOCKS P_TESTS V DROPS
PATHS="raw pp off wk wkn wg rpp roff"
P_LABEL=([raw]="raw veth" [pp]="ntm per-packet" [off]="ntm offload" [wk]="ntm $WK workers"
	[wkn]="$WK workers 1 lane" [wg]="wireguard-go" [rpp]="relay per-packet" [roff]="relay offload")
ACTIVE=""

# add_ntm_path KEY SRC DST TESTS: an ntm path from SRC to DST's virtual IPv4.
add_ntm_path() {
	local k=$1 s=$2 d=$3 ss ds
	ss=$T/$s/run/tund.sock ds=$T/$d/run/tund.sock
	"$NTMCTL" -s "$ss" resolve -4 "$d.$ZONE" >"$T/resolve-$k.txt" 2>&1 ||
		fail "ntmctl resolve $d.$ZONE: $(cat "$T/resolve-$k.txt")"
	P_ADDR[$k]=$(grep -Eo '198\.18\.[0-9]+\.[0-9]+' "$T/resolve-$k.txt" | head -n 1)
	[ -n "${P_ADDR[$k]}" ] || fail "no virtual IPv4 for $d in: $(cat "$T/resolve-$k.txt")"
	P_SRC[$k]=$s P_DST[$k]=$d P_IF[$k]=ntm0 P_SOCKS[$k]="$ss $ds" P_TESTS[$k]=$4
	P_PIDS[$k]="$(eval echo "\$TUND_PID_$s \$TUND_PID_$d")"
	ACTIVE="$ACTIVE $k"
}

# path_is KEY WANT: the source's ntm-tund shows the peer on path WANT.
path_is() {
	"$NTMCTL" -s "$T/${P_SRC[$1]}/run/tund.sock" peers --json 2>/dev/null |
		grep "\"name\": \"${P_DST[$1]}.$ZONE\"" | grep -q "\"path\": \"$2\""
}

# one_run KEY TEST ROUND: one iperf3 run (tcp1, tcp4 or udp) over a path;
# its figures go to V[KEY,metric,ROUND], its drops add up in DROPS.
one_run() {
	local k=$1 t=$2 r=$3 f args c0 c1 t0 t1 b0 b1 dc0=0 dc1=0 dsb0 dsb1 sock_s sock_d s0 s1
	f=$T/iperf-$k-$t-$r.json
	case $t in
	tcp1) args="-P 1" ;;
	tcp4) args="-P 4" ;;
	udp) args="-u -l $BENCH_UDP_LEN -b $BENCH_UDP_RATE" ;;
	esac
	read -r sock_s sock_d <<<"${P_SOCKS[$k]:-}"
	b0="$(node_snap "${P_SRC[$k]}" "${P_IF[$k]}" "${sock_s:-}") $(node_snap "${P_DST[$k]}" "${P_IF[$k]}" "${sock_d:-}")"
	c0=$(cpu_ticks ${P_PIDS[$k]:-})
	case $k in rpp | roff) dc0=$(cpu_ticks "$DCD_PID") dsb0=$(node_snap dc eth0 "") ;; esac
	s0=$(sys_ticks)
	t0=$(date +%s%N)
	# shellcheck disable=SC2086
	nsx "${P_SRC[$k]}" timeout $((BENCH_TIME + 30)) iperf3 -c "${P_ADDR[$k]}" -t "$BENCH_TIME" \
		$args -J >"$f" 2>"$f.err"
	t1=$(date +%s%N)
	s1=$(sys_ticks)
	# the whole machine's CPU busy during the run, % of all its CPUs
	V[$k,busy_$t,$r]=$(awk -v a="$s0" -v b="$s1" 'BEGIN { split(a, x); split(b, y)
		if (y[2] > x[2]) printf "%.1f", 100 * (y[1] - x[1]) / (y[2] - x[2]); else print "-" }')
	c1=$(cpu_ticks ${P_PIDS[$k]:-})
	case $k in rpp | roff)
		dc1=$(cpu_ticks "$DCD_PID") dsb1=$(node_snap dc eth0 "")
		DROPS[$k,$t,dc]=$(( ${DROPS[$k,$t,dc]:-0} + $(echo "$dsb1" | awk '{ print $2 }') - $(echo "$dsb0" | awk '{ print $2 }') ))
		;;
	esac
	b1="$(node_snap "${P_SRC[$k]}" "${P_IF[$k]}" "${sock_s:-}") $(node_snap "${P_DST[$k]}" "${P_IF[$k]}" "${sock_d:-}")"
	local hz ns
	hz=$(getconf CLK_TCK) ns=$((t1 - t0))
	if [ -n "${P_PIDS[$k]:-}" ]; then
		V[$k,cpu_$t,$r]=$(awk -v c=$((c1 - c0)) -v hz="$hz" -v ns=$ns -v n="$(echo ${P_PIDS[$k]} | wc -w)" \
			'BEGIN { printf "%.0f", 100 * c / hz / (ns / 1e9) / n }')
	fi
	case $k in rpp | roff) V[$k,dccpu_$t,$r]=$(awk -v c=$((dc1 - dc0)) -v hz="$hz" -v ns=$ns \
		'BEGIN { printf "%.0f", 100 * c / hz / (ns / 1e9) }') ;; esac
	# drops: src txdropped sockbuf tund, dst txdropped sockbuf tund
	local d i
	read -r -a d < <(awk -v a="$b0" -v b="$b1" 'BEGIN { n = split(a, x); split(b, y)
		for (i = 1; i <= n; i++) printf "%.0f ", y[i] - x[i]; print "" }')
	for i in 0 1 2 3 4 5; do DROPS[$k,$t,$i]=$(( ${DROPS[$k,$t,$i]:-0} + ${d[$i]:-0} )); done
	case $t in
	tcp*)
		V[$k,$t,$r]=$(awk -v b="$(jnum "$f" sum_received bits_per_second)" \
			'BEGIN { if (b == "-") print "-"; else printf "%.3f\n", b / 1e9 }')
		V[$k,retr_$t,$r]=$(jnum "$f" sum_sent retransmits)
		# Gbit/s per busy CPU of the machine: the cost per byte of the
		# whole pipeline (senders, daemons, kernel), whatever the CPU count
		V[$k,perbusy_$t,$r]=$(awk -v g="${V[$k,$t,$r]}" -v u="${V[$k,busy_$t,$r]}" -v n="$(nproc)" \
			'BEGIN { if (g == "-" || u == "-" || u + 0 == 0) print "-"; else printf "%.3f", g / (u / 100 * n) }')
		;;
	udp)
		local pk lost sec spk ssec
		pk=$(jnum "$f" sum_received packets) lost=$(jnum "$f" sum_received lost_packets)
		sec=$(jnum "$f" sum_received seconds)
		spk=$(jnum "$f" sum_sent packets) ssec=$(jnum "$f" sum_sent seconds)
		V[$k,udp,$r]=$(awk -v p="$pk" -v l="$lost" -v s="$sec" \
			'BEGIN { if (p == "-" || l == "-" || s + 0 == 0) print "-"; else printf "%.1f\n", (p - l) / s / 1e3 }')
		V[$k,loss,$r]=$(awk -v p="$pk" -v l="$lost" \
			'BEGIN { if (p == "-" || l == "-" || p + 0 == 0) print "-"; else printf "%.1f\n", 100 * l / p }')
		V[$k,offered,$r]=$(awk -v p="$spk" -v s="$ssec" \
			'BEGIN { if (p == "-" || s + 0 == 0) print "-"; else printf "%.1f\n", p / s / 1e3 }')
		;;
	esac
	if [ "${V[$k,$t,$r]}" = - ]; then
		echo "  iperf3 $t to ${P_ADDR[$k]} (${P_LABEL[$k]}) failed:" >&2
		grep -m1 '"error"' "$f" >&2
		head -n 5 "$f.err" >&2
	fi
}

# one_ping KEY ROUND: ping 20 x 0.1 s over an idle path (the first thing
# each path does in a round, a second after the earlier run: no queue of it
# left): the median and the average RTT in ms. The median is the table's
# figure: on a shared machine one scheduling hiccup moves the average.
one_ping() {
	sleep 1
	nsx "${P_SRC[$1]}" timeout 30 ping -n -c 20 -i 0.1 "${P_ADDR[$1]}" >"$T/ping-$1-$2.txt" 2>&1
	V[$1,rtt,$2]=$(sed -n 's/.* time=\([0-9.]*\) ms.*/\1/p' "$T/ping-$1-$2.txt" | sort -g |
		awk '{ a[n++] = $1 } END { if (!n) { print "-"; exit }
			printf "%.3f\n", n % 2 ? a[(n - 1) / 2] : (a[n / 2 - 1] + a[n / 2]) / 2 }')
	V[$1,rttavg,$2]=$(awk -F'/' '/^(rtt|round-trip)/ { printf "%.3f\n", $5; found = 1 }
		END { if (!found) print "-" }' "$T/ping-$1-$2.txt")
}

# stat3 KEY METRIC: "median min max" of V[KEY,METRIC,1..BENCH_RUNS] (runs
# that failed left out), "- - -" without any.
stat3() {
	local r
	for r in $(seq 1 "$BENCH_RUNS"); do echo "${V[$1,$2,$r]:--}"; done | grep -v '^-$' | sort -g |
		awk '{ a[n++] = $1 } END { if (!n) { print "- - -"; exit }
			m = n % 2 ? a[(n - 1) / 2] : (a[n / 2 - 1] + a[n / 2]) / 2; print m, a[0], a[n - 1] }'
}

# cell KEY METRIC DECIMALS: "median (min-max)", or "n/a" for a path not run.
cell() {
	case " $ACTIVE " in *" $1 "*) ;; *) echo n/a; return ;; esac
	stat3 "$1" "$2" | awk -v d="$3" '$1 == "-" { print "-"; exit }
		{ f = "%." d "f"; printf f " (" f "-" f ")\n", $1, $2, $3 }'
}

# med KEY METRIC: the median alone.
med() { case " $ACTIVE " in *" $1 "*) stat3 "$1" "$2" | awk '{ print $1 }' ;; *) echo n/a ;; esac; }

# ratio_cell KEY1 METRIC1 KEY2 METRIC2: KEY1's figure over KEY2's, round by
# round (the same minute), as "median (min-max)" of the per-round ratios.
ratio_cell() {
	local r x y
	case " $ACTIVE " in *" $1 "*) ;; *) echo n/a; return ;; esac
	case " $ACTIVE " in *" $3 "*) ;; *) echo n/a; return ;; esac
	for r in $(seq 1 "$BENCH_RUNS"); do
		x=${V[$1,$2,$r]:--} y=${V[$3,$4,$r]:--}
		awk -v x="$x" -v y="$y" 'BEGIN { if (x != "-" && y != "-" && y + 0 != 0) printf "%.4f\n", x / y }'
	done | sort -g | awk '{ a[n++] = $1 } END { if (!n) { print "-"; exit }
		m = n % 2 ? a[(n - 1) / 2] : (a[n / 2 - 1] + a[n / 2]) / 2
		printf "%.2f (%.2f-%.2f)\n", m, a[0], a[n - 1] }'
}

# drops KEY TEST FIELD: "src/dst" totals over the runs (FIELD 0 TX dropped,
# 1 UDP socket buffer errors, 2 ntm-tund drops).
drops() {
	case " $ACTIVE " in *" $1 "*) ;; *) echo n/a; return ;; esac
	echo "${DROPS[$1,$2,$3]:-0}/${DROPS[$1,$2,$(($3 + 3))]:-0}"
}

# --- servers and tunnels --------------------------------------------------------

RAW_B=$(addr_of b)
WG_A=10.99.0.1 WG_B=10.99.0.2 WG_PORT=51820
iperf_listening() { nsx "$1" ss -Hltn 'sport = :5201' | grep -q .; }
for n in b d f h j l; do
	case " $NODES " in *" $n "*) ;; *) continue ;; esac
	bg "$n" "iperf3-$n" iperf3 -s
	wait_for 5 "iperf3 server in $n" iperf_listening "$n"
done

P_SRC[raw]=a P_DST[raw]=b P_ADDR[raw]=$RAW_B P_IF[raw]=eth0 P_TESTS[raw]="tcp1 tcp4 udp"
ACTIVE="raw"
add_ntm_path pp a b "tcp1 tcp4 udp"
[ "$OFFLOAD" = 1 ] && add_ntm_path off c d "tcp1 tcp4 udp"
[ "$OFFLOAD" = 1 ] && add_ntm_path wk i j "tcp1 tcp4"
[ "$OFFLOAD" = 1 ] && add_ntm_path wkn k l "tcp1 tcp4"
for pr in $RELAY_PAIRS; do
	case $pr in e:f) k=rpp ;; *) k=roff ;; esac
	add_ntm_path $k "${pr%:*}" "${pr#*:}" "tcp1 tcp4"
done
for k in $ACTIVE; do
	[ "$k" = raw ] && continue
	wait_for 15 "ping ${P_DST[$k]} over ntm (${P_LABEL[$k]})" nsx "${P_SRC[$k]}" ping -n -q -c 1 -W 1 "${P_ADDR[$k]}"
	case $k in
	rpp | roff) wait_for 10 "${P_LABEL[$k]}: ${P_DST[$k]} on the relay path" path_is "$k" relay ;;
	*) wait_for 10 "${P_LABEL[$k]}: ${P_DST[$k]} on the direct path" path_is "$k" direct ;;
	esac
done
NTM_MTU=$(nsx a cat /sys/class/net/ntm0/mtu 2>/dev/null || echo '?')
NTM_QLEN=$(nsx a cat /sys/class/net/ntm0/tx_queue_len 2>/dev/null || echo '?')
[ "$OFFLOAD" = 1 ] && NTM_QLEN_OFF=$(nsx c cat /sys/class/net/ntm0/tx_queue_len 2>/dev/null || echo '?')

# wireguard-go and wg meet at /run/wireguard/wg0.sock, a path shared by every
# namespace; so each wireguard-go gets a private mount namespace with its own
# /run (tmpfs) and wg is run inside it with nsenter. Nothing outside changes.
for n in a b; do
	(umask 077; wg genkey >"$T/wg-$n.key")
	wg pubkey <"$T/wg-$n.key" >"$T/wg-$n.pub"
	bg "$n" "wg-$n" unshare -m sh -c 'mount -t tmpfs -o mode=755 tmpfs /run &&
		exec env WG_PROCESS_FOREGROUND=1 wireguard-go wg0'
	eval "WG_PID_$n=\$LAST_PID"
done
wg_up() { nsenter -t "$1" -m -n sh -c 'test -S /run/wireguard/wg0.sock && ip link show wg0'; }
wait_for 10 "wireguard-go wg0 in a" wg_up "$WG_PID_a"
wait_for 10 "wireguard-go wg0 in b" wg_up "$WG_PID_b"
wgx() { local pid=$1; shift; nsenter -t "$pid" -m -n "$@"; }
wgx "$WG_PID_a" wg set wg0 private-key "$T/wg-a.key" listen-port $WG_PORT \
	peer "$(cat "$T/wg-b.pub")" allowed-ips $WG_B/32 endpoint "$RAW_B:$WG_PORT" || fail "wg set in a"
wgx "$WG_PID_b" wg set wg0 private-key "$T/wg-b.key" listen-port $WG_PORT \
	peer "$(cat "$T/wg-a.pub")" allowed-ips $WG_A/32 endpoint "$(addr_of a):$WG_PORT" || fail "wg set in b"
nsx a ip addr add $WG_A/24 dev wg0
nsx b ip addr add $WG_B/24 dev wg0
nsx a ip link set wg0 mtu 1420 up
nsx b ip link set wg0 mtu 1420 up
wait_for 10 "ping b over wireguard-go" nsx a ping -n -q -c 1 -W 1 $WG_B
P_SRC[wg]=a P_DST[wg]=b P_ADDR[wg]=$WG_B P_IF[wg]=wg0 P_PIDS[wg]="$WG_PID_a $WG_PID_b"
P_TESTS[wg]="tcp1 tcp4 udp"
ACTIVE="$ACTIVE wg"
# Table order, whatever was set up first.
ORDER=""
for k in $PATHS; do case " $ACTIVE " in *" $k "*) ORDER="$ORDER $k" ;; esac; done
ACTIVE=$ORDER

# dc_counters: ntm-dcd's `ntm-dcctl stats` (its embedded relay's counters
# among them) as "name value" lines.
dc_counters() {
	"$NTM_DCCTL" -c "$DCCONF" stats 2>/dev/null | awk 'NF >= 2 && $NF ~ /^[0-9]+$/ { print $1, $NF }'
}
for n in $NODES; do tund_counters "$T/$n/run/tund.sock" >"$T/stats0-$n.txt"; done
dc_counters >"$T/stats0-dc.txt"

# --- runs: BENCH_RUNS rounds, every path in each --------------------------------

for r in $(seq 1 "$BENCH_RUNS"); do
	for k in $ACTIVE; do
		echo "round $r/$BENCH_RUNS: ${P_LABEL[$k]} (${P_ADDR[$k]}) ..." >&2
		one_ping "$k" "$r"
		for t in ${P_TESTS[$k]}; do one_run "$k" "$t" "$r"; done
	done
done
for n in $NODES; do tund_counters "$T/$n/run/tund.sock" >"$T/stats1-$n.txt"; done
dc_counters >"$T/stats1-dc.txt"

# --- optional profile: perf record of both ntm-tunds during one TCP stream ------

PERF_OUT=""
if [ "$HAVE_PERF" = 1 ]; then
	for k in pp off; do
		case " $ACTIVE " in *" $k "*) ;; *) continue ;; esac
		echo "profiling ${P_LABEL[$k]} ..." >&2
		pd=$T/perf-$k.data
		perf record -q -F 999 -o "$pd" -p "$(echo ${P_PIDS[$k]} | tr ' ' ,)" -- sleep "$BENCH_TIME" \
			>"$T/perf-$k.log" 2>&1 &
		perf_pid=$!
		PIDS="$PIDS $perf_pid"
		sleep 0.2
		nsx "${P_SRC[$k]}" timeout $((BENCH_TIME + 30)) iperf3 -c "${P_ADDR[$k]}" -t "$BENCH_TIME" \
			>/dev/null 2>&1
		wait "$perf_pid"
		{
			echo "profile, ${P_LABEL[$k]}: ntm-tund of ${P_SRC[$k]} and ${P_DST[$k]} during one TCP stream (perf record -F 999 -p)"
			echo "  by object:"
			perf report -i "$pd" --stdio --sort dso --percent-limit 1 2>/dev/null |
				awk '/^ *[0-9.]+%/ { printf "    %s\n", $0 }' | head -n 8
			echo "  by symbol (at least 1.5 %):"
			perf report -i "$pd" --stdio --sort dso,sym --percent-limit 1.5 2>/dev/null |
				awk '/^ *[0-9.]+%/ { printf "    %s\n", $0 }' | head -n 20
		} >"$T/perf-$k.txt"
		PERF_OUT="$PERF_OUT $T/perf-$k.txt"
	done
fi

# --- report ---------------------------------------------------------------------

cpu=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo)
echo
echo "ntm tunnel benchmark, $(date -u '+%Y-%m-%d %H:%M UTC'), $(git -C "$top_srcdir" describe --always --dirty 2>/dev/null || echo '?')"
echo "host: $(nproc) CPUs, ${cpu:-unknown CPU}, kernel $(uname -r)"
echo "iperf3 $(iperf3 -v 2>/dev/null | awk 'NR == 1 { print $2 }'), wireguard-go $(wireguard-go --version 2>/dev/null | awk 'NR == 1 { print $2 }'); MTU ntm0 $NTM_MTU wg0 1420 underlay 1500; ntm0 txqueuelen $NTM_QLEN${NTM_QLEN_OFF:+ (offload: $NTM_QLEN_OFF)}"
echo "offload mode: $OFFLOAD_MODE"
[ -n "$RELAY_PAIRS" ] && echo "relay: the DC's embedded relay, per-pair caps: $RELAY_CAPS; Offload = $RELAY_OFFLOAD; the relayed nodes' Workers = $RELAY_WORKERS"
# what each mode's ntm-tund said about ntm0's offloads when it restarted
if [ "$OFFLOAD" = 1 ]; then
	for n in a c; do
		l=$(tail -n +"$(( $(eval echo "\$LOG0_$n") + 1 ))" "$T/tund-$n.log" | grep -i 'offload' | tail -n 1)
		echo "  ntm-tund in $n: ${l:-no line about offload (per-packet)}"
	done
fi
echo "$BENCH_RUNS rounds, each path once a round: iperf3 TCP ${BENCH_TIME}s 1 and 4 streams, UDP ${BENCH_UDP_LEN}-byte datagrams at -b $BENCH_UDP_RATE for ${BENCH_TIME}s, ping 20 x 0.1s (median RTT)"
echo "figures: median (min-max) of the rounds"
echo
fmt='%-17s %-20s %-20s %-20s %-20s %-16s\n'
printf "$fmt" path "1 stream Gbit/s" "4 streams Gbit/s" "ping med ms" "UDP rx kpps" "UDP loss %"
for k in $PATHS; do
	case $k in rpp | roff | wk | wkn) u=- l=- ;; *) u=$(cell "$k" udp 0) l=$(cell "$k" loss 0) ;; esac
	case " $ACTIVE " in *" $k "*) ;; *) u=n/a l=n/a ;; esac
	printf "$fmt" "${P_LABEL[$k]}" "$(cell "$k" tcp1 2)" "$(cell "$k" tcp4 2)" "$(cell "$k" rtt 3)" "$u" "$l"
done
echo
echo "ratios, round by round, median (min-max):"
fmt='  %-34s %-20s %-20s %-20s %-20s\n'
printf "$fmt" "" "1 stream" "4 streams" "ping rtt" "UDP rx pps"
for pr in "pp raw" "off raw" "pp wg" "off wg" "off pp" "wk off" "wk wkn" "rpp pp" "roff off"; do
	set -- $pr
	printf "$fmt" "${P_LABEL[$1]} / ${P_LABEL[$2]}" "$(ratio_cell "$1" tcp1 "$2" tcp1)" \
		"$(ratio_cell "$1" tcp4 "$2" tcp4)" "$(ratio_cell "$1" rtt "$2" rtt)" \
		"$(case $1 in rpp | roff | wk | wkn) echo - ;; *) ratio_cell "$1" udp "$2" udp ;; esac)"
done
echo "  4 streams / 1 stream:"
for k in $PATHS; do printf '    %-32s %s\n' "${P_LABEL[$k]}" "$(ratio_cell "$k" tcp4 "$k" tcp1)"; done
echo
echo "diagnostics (1 stream / 4 streams / UDP; sender/receiver):"
fmt='%-17s %-22s %-24s %-24s %-24s\n'
printf "$fmt" path "retransmits (median)" "TX dropped (sum)" "ntm-tund drops (sum)" "UDP sockbuf errs (sum)"
for k in $PATHS; do
	case " $ACTIVE " in *" $k "*) ;; *) printf "$fmt" "${P_LABEL[$k]}" n/a n/a n/a n/a; continue ;; esac
	rt="$(med "$k" retr_tcp1) / $(med "$k" retr_tcp4)"
	tx="$(drops "$k" tcp1 0) $(drops "$k" tcp4 0)"
	td="$(drops "$k" tcp1 2) $(drops "$k" tcp4 2)"
	sb="$(drops "$k" tcp1 1) $(drops "$k" tcp4 1)"
	case " ${P_TESTS[$k]} " in *" udp "*)
		tx="$tx $(drops "$k" udp 0)" td="$td $(drops "$k" udp 2)" sb="$sb $(drops "$k" udp 1)" ;; esac
	case $k in raw | wg) td=- ;; esac
	printf "$fmt" "${P_LABEL[$k]}" "$rt" "$tx" "$td" "$sb"
done
echo "  TX dropped: of eth0 (raw), ntm0, wg0 at each end, as ip -s link shows it (on a TUN"
echo "  device TX is kernel -> daemon: a drop is the queue overflowing before the daemon read)"
echo
echo "daemon CPU, % of one CPU per daemon, median (1 stream / 4 streams / UDP):"
for k in $PATHS; do
	case " $ACTIVE " in *" $k "*) ;; *) continue ;; esac
	[ "$k" = raw ] && continue
	line="$(med "$k" cpu_tcp1) / $(med "$k" cpu_tcp4)"
	case " ${P_TESTS[$k]} " in *" udp "*) line="$line / $(med "$k" cpu_udp)" ;; esac
	case $k in rpp | roff) line="$line; the DC (embedded relay) $(med "$k" dccpu_tcp1) / $(med "$k" dccpu_tcp4), its UDP sockbuf errs (sum) ${DROPS[$k,tcp1,dc]:-0} / ${DROPS[$k,tcp4,dc]:-0}" ;; esac
	printf '  %-17s %s\n' "${P_LABEL[$k]}" "$line"
done
echo
echo "the machine's CPU busy during the run, % of all $(nproc) CPUs, and Gbit/s per busy CPU, median"
echo "(1 stream / 4 streams): 4 streams cannot beat 1 stream by more than the idle CPU 1 stream leaves"
for k in $PATHS; do
	case " $ACTIVE " in *" $k "*) ;; *) continue ;; esac
	u=""
	case " ${P_TESTS[$k]} " in *" udp "*) u="   UDP run: busy $(med "$k" busy_udp) %" ;; esac
	printf '  %-17s busy %s / %s %%   Gbit/s per busy CPU %s / %s%s\n' "${P_LABEL[$k]}" \
		"$(med "$k" busy_tcp1)" "$(med "$k" busy_tcp4)" "$(med "$k" perbusy_tcp1)" "$(med "$k" perbusy_tcp4)" "$u"
done
echo
echo "ping avg ms, median of the rounds: $(for k in $PATHS; do
	case " $ACTIVE " in *" $k "*) printf '%s %s  ' "${P_LABEL[$k]}" "$(med "$k" rttavg)" ;; esac; done)"
echo "UDP offered rate (sender), kpps, median: $(for k in raw pp off wg; do
	case " $ACTIVE " in *" $k "*) printf '%s %s  ' "${P_LABEL[$k]}" "$(med "$k" offered)" ;; esac; done)"
echo
echo "ntm-tund counters that moved during the runs: drops, offload, workers and lanes, relay and path (node: name +delta):"
for n in $NODES; do
	line=$(awk 'NR == FNR { a[$1] = $2; next }
		{ d = $2 - a[$1] } d != 0 && $1 ~ /drop|^tun_queue|fail|overrun|_bad|gso|gro|train|relay|upgrade|handshake|^worker_rx|ring_full|lane/ {
		printf "%s%s +%.0f", sep, $1, d; sep = ", " }' "$T/stats0-$n.txt" "$T/stats1-$n.txt")
	echo "  $n: ${line:-none}"
done
line=$(awk 'NR == FNR { a[$1] = $2; next }
	{ d = $2 - a[$1] } d != 0 && $1 ~ /relay|drop|fail|overrun|_bad/ {
	printf "%s%s +%.0f", sep, $1, d; sep = ", " }' "$T/stats0-dc.txt" "$T/stats1-dc.txt")
echo "  the DC (its embedded relay carries the relay rows): ${line:-none}"
for f in $PERF_OUT; do echo; cat "$f"; done
echo
echo "elapsed: $(( $(date +%s) - BENCH_START )) s"
