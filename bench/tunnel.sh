#!/bin/bash
# bench/tunnel.sh - throughput and RTT through the ntm tunnel, beside the raw
# underlay and wireguard-go, on the same two-namespace topology in one run.
#
# Usage (root):  bench/tunnel.sh            [BENCH_TIME=10 per iperf3 run]
#                top_builddir=DIR top_srcdir=DIR bench/tunnel.sh  (out-of-tree build)
#
# Topology is tests/netns/setup2.sh's: a DC and nodes a and b, each in its own
# namespace, routed through a router namespace r (veth a<->r<->b, no NAT).
# Measured from a to b, one path after another:
#   raw veth      b's underlay address 203.0.113.34 (no tunnel)
#   ntm           b's virtual address 198.18.0.x through ntm0
#   wireguard-go  10.99.0.2 through wg0, a userspace WireGuard (Debian's
#                 wireguard-go) over the same underlay, MTU 1420
# Each: iperf3 TCP, 1 stream and 4 streams (-P 4), BENCH_TIME s each; the
# receiver's rate from iperf3 -J; ping 20 x 0.2 s, avg RTT.
#
# Needs root, /dev/net/tun and the Debian packages iperf3, wireguard-go,
# wireguard-tools and iproute2 (installs nothing). Traffic stays inside the
# namespaces it creates; everything it starts is killed by PID on exit.
# Not part of 'make check'.

set -u

BENCH_TIME=${BENCH_TIME:-10}
case $BENCH_TIME in '' | *[!0-9]* | 0) echo "BENCH_TIME must be a positive integer" >&2; exit 2 ;; esac

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

. "$top_srcdir/tests/netns/lib.sh"
. "$top_srcdir/tests/netns/setup2.sh"

RAW_B=203.0.113.34      # b's eth0 (setup2.sh)
WG_A=10.99.0.1 WG_B=10.99.0.2 WG_PORT=51820

# --- measurement helpers ---------------------------------------------------

# gbps FILE: the receiver's bits/s of an iperf3 -J report, in Gbit/s.
gbps() {
	awk '/"sum_received"[[:space:]]*:/ { f = 1 }
	     f && /"bits_per_second"[[:space:]]*:/ {
		sub(/.*"bits_per_second"[[:space:]]*:[[:space:]]*/, ""); sub(/[,[:space:]].*/, "")
		printf "%.2f\n", $0 / 1e9; found = 1; exit }
	     END { if (!found) print "-" }' "$1"
}

# rtt_avg FILE: avg of ping's "rtt min/avg/max/mdev = ..." line, in ms.
rtt_avg() {
	awk -F'/' '/^(rtt|round-trip)/ { printf "%.3f\n", $5; found = 1 }
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

# retrans FILE: TCP retransmits of the sender in an iperf3 -J report.
retrans() {
	awk '/"sum_sent"[[:space:]]*:/ { f = 1 }
	     f && /"retransmits"[[:space:]]*:/ { gsub(/[^0-9]/, ""); print; found = 1; exit }
	     END { if (!found) print "-" }' "$1"
}

# udp_errs NODE: the namespace's UDP receive/send buffer errors.
udp_errs() {
	nsx "$1" awk '/^Udp:/ { if (!h) { for (i = 1; i <= NF; i++) n[$i] = i; h = 1; next }
		print "RcvbufErrors " $n["RcvbufErrors"] ", SndbufErrors " $n["SndbufErrors"] ", InErrors " $n["InErrors"] }' /proc/net/snmp
}

# link_drops NODE IFACE: packet and drop counters of an interface. On a TUN
# device, TX is kernel -> daemon (TX dropped: the daemon did not read fast
# enough, the device queue overflowed) and RX is daemon -> kernel.
link_drops() {
	local d=/sys/class/net/$2/statistics
	nsx "$1" sh -c "echo \"tx \$(cat $d/tx_packets) dropped \$(cat $d/tx_dropped), rx \$(cat $d/rx_packets) dropped \$(cat $d/rx_dropped), txqueuelen \$(cat /sys/class/net/$2/tx_queue_len)\""
}

# measure LABEL DEST [PID...]: iperf3 1 and 4 streams and ping from a to
# DEST. Sets R_<label>_1, R_<label>_4, R_<label>_rtt, and in C_<label>_<p>
# the CPU the PIDs (the tunnel daemons) used during each iperf3 run, in %
# of one CPU per daemon, and in X_<label>_<p> the TCP retransmits.
measure() {
	local label=$1 dst=$2 p t0 t1 c0 c1 pids
	shift 2
	pids="$*"
	echo "measuring $label ($dst) ..." >&2
	for p in 1 4; do
		t0=$(date +%s%N)
		c0=$(cpu_ticks $pids)
		nsx a timeout $((BENCH_TIME + 30)) iperf3 -c "$dst" -t "$BENCH_TIME" -P "$p" -J \
			>"$T/iperf-$label-$p.json" 2>"$T/iperf-$label-$p.err"
		c1=$(cpu_ticks $pids)
		t1=$(date +%s%N)
		if [ -n "$pids" ]; then
			eval "C_${label}_$p=\$(awk -v c=\$((c1 - c0)) -v hz=\$(getconf CLK_TCK) -v ns=\$((t1 - t0)) -v k=\$# \
				'BEGIN { printf \"%.0f\", 100 * c / hz / (ns / 1e9) / k }')"
		fi
		eval "X_${label}_$p=\$(retrans \"\$T/iperf-\$label-\$p.json\")"
		eval "R_${label}_$p=\$(gbps \"\$T/iperf-\$label-\$p.json\")"
		if [ "$(eval echo "\$R_${label}_$p")" = - ]; then
			echo "  iperf3 -P $p to $dst failed:" >&2
			grep -m1 '"error"' "$T/iperf-$label-$p.json" >&2
			head -n 5 "$T/iperf-$label-$p.err" >&2
		fi
	done
	nsx a timeout 30 ping -n -q -c 20 -i 0.2 "$dst" >"$T/ping-$label.txt" 2>&1
	eval "R_${label}_rtt=\$(rtt_avg \"\$T/ping-\$label.txt\")"
}

# ratio X Y: X/Y with two decimals, "-" if either is missing or Y is 0.
ratio() {
	awk -v x="$1" -v y="$2" 'BEGIN { if (x == "-" || y == "-" || y + 0 == 0) print "-";
	                                 else printf "%.2f\n", x / y }'
}

# ntm_counters SOCK: the nonzero counters of 'ntmctl stats', one line.
ntm_counters() {
	"$NTMCTL" -s "$1" stats 2>/dev/null | awk 'NF >= 2 && $NF ~ /^[0-9]+$/ && $NF != 0 {
		printf "%s%s", sep, $0; sep = ", " } END { print "" }' | tr -s ' \t' ' '
}

# --- servers -----------------------------------------------------------------

bg b iperf3 iperf3 -s
IPERF_PID=$LAST_PID
iperf_listening() { nsx b ss -Hltn 'sport = :5201' | grep -q .; }
wait_for 5 "iperf3 server in b" iperf_listening

# --- ntm tunnel --------------------------------------------------------------

"$NTMCTL" -s "$sock_a" resolve -4 "b.$ZONE" >"$T/resolve.txt" 2>&1 || fail "ntmctl resolve b.$ZONE: $(cat "$T/resolve.txt")"
NTM_B=$(grep -Eo '198\.18\.[0-9]+\.[0-9]+' "$T/resolve.txt" | head -n 1)
[ -n "$NTM_B" ] || fail "no virtual IPv4 for b in: $(cat "$T/resolve.txt")"
wait_for 10 "ping b over ntm" nsx a ping -n -q -c 1 -W 1 "$NTM_B"
NTM_MTU=$(nsx a cat /sys/class/net/ntm0/mtu 2>/dev/null || echo '?')

# --- wireguard-go ------------------------------------------------------------
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
	peer "$(cat "$T/wg-b.pub")" allowed-ips $WG_B/32 endpoint $RAW_B:$WG_PORT || fail "wg set in a"
wgx "$WG_PID_b" wg set wg0 private-key "$T/wg-b.key" listen-port $WG_PORT \
	peer "$(cat "$T/wg-a.pub")" allowed-ips $WG_A/32 endpoint 203.0.113.18:$WG_PORT || fail "wg set in b"
nsx a ip addr add $WG_A/24 dev wg0
nsx b ip addr add $WG_B/24 dev wg0
nsx a ip link set wg0 mtu 1420 up
nsx b ip link set wg0 mtu 1420 up
wait_for 10 "ping b over wireguard-go" nsx a ping -n -q -c 1 -W 1 $WG_B

# --- runs --------------------------------------------------------------------

measure raw "$RAW_B"
# TUND_PID_a/b are ntm-tund's PIDs (setup2.sh); UDP counters are per namespace,
# so they are read before wireguard-go's runs.
measure ntm "$NTM_B" "$TUND_PID_a" "$TUND_PID_b"
STATS_A=$(ntm_counters "$sock_a")
STATS_B=$(ntm_counters "$sock_b")
UDP_A=$(udp_errs a)
UDP_B=$(udp_errs b)
LINK_A=$(link_drops a ntm0)
LINK_B=$(link_drops b ntm0)
measure wg "$WG_B" "$WG_PID_a" "$WG_PID_b"

kill "$IPERF_PID" 2>/dev/null

cpu=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo)
echo
echo "ntm tunnel benchmark: a -> b, iperf3 TCP ${BENCH_TIME}s per run, ping 20 x 0.2s"
echo "host: $(nproc) CPUs, ${cpu:-unknown CPU}, kernel $(uname -r)"
echo "iperf3 $(iperf3 -v 2>/dev/null | awk 'NR == 1 { print $2 }'), wireguard-go $(wireguard-go --version 2>/dev/null | awk 'NR == 1 { print $2 }'), MTU ntm0 $NTM_MTU wg0 1420 underlay 1500"
echo
printf '%-14s %16s %18s %13s\n' path "1 stream Gbit/s" "4 streams Gbit/s" "ping avg ms"
printf '%-14s %16s %18s %13s\n' "raw veth" "$R_raw_1" "$R_raw_4" "$R_raw_rtt"
printf '%-14s %16s %18s %13s\n' ntm "$R_ntm_1" "$R_ntm_4" "$R_ntm_rtt"
printf '%-14s %16s %18s %13s\n' wireguard-go "$R_wg_1" "$R_wg_4" "$R_wg_rtt"
echo "ntm / wireguard-go: 1 stream $(ratio "$R_ntm_1" "$R_wg_1"), 4 streams $(ratio "$R_ntm_4" "$R_wg_4"), rtt $(ratio "$R_ntm_rtt" "$R_wg_rtt")"
echo "ntm / raw:          1 stream $(ratio "$R_ntm_1" "$R_raw_1"), 4 streams $(ratio "$R_ntm_4" "$R_raw_4"), rtt $(ratio "$R_ntm_rtt" "$R_raw_rtt")"
echo
echo "details (1 stream / 4 streams):"
echo "  TCP retransmits: raw $X_raw_1 / $X_raw_4, ntm $X_ntm_1 / $X_ntm_4, wireguard-go $X_wg_1 / $X_wg_4"
echo "  daemon CPU, % of one CPU per daemon (avg of a and b): ntm-tund $C_ntm_1 / $C_ntm_4, wireguard-go $C_wg_1 / $C_wg_4"
echo "  ntm0 after the ntm runs: a: $LINK_A; b: $LINK_B"
echo "  UDP after the ntm runs: a: $UDP_A; b: $UDP_B"
echo "  ntm-tund counters after the ntm runs (nonzero):"
echo "    a: ${STATS_A:-none}"
echo "    b: ${STATS_B:-none}"
