#!/bin/bash
# flood.sh - one host must not be able to cut anyone off. During
# each of four floods from an attacker namespace on the "internet" side of
# the router:
#   (a) 10k pps of junk from the attacker's own IPv4 address at node a,
#   (b) 10k/s of real HANDSHAKE_INITs (valid mac1, unenrolled random keys)
#       at the DC from random spoofed sources,
#   (c) valid-mac1 handshakes and junk with the source set to node b's own
#       address and port, at the DC and at node a, while b restarts,
#   (d) 256 control-socket connections to a of an unprivileged user, each
#       sent one byte every 4 s and never a whole request,
#   (e) an unprivileged user on a looking up 2,000 distinct unknown names
#       under the zone through nss_ntm, over and over, for a few seconds,
# a legitimate node registers, a tunnel comes up and root's `ntmctl status`
# answers (each figure printed against the 2 s requirement); the daemons' RSS and descriptors stay under
# the caps doc/lab.md documents; and nothing at all reaches the attacker in
# answer to the junk. Every figure is printed, with a baseline without any
# flood first. Every case runs; the failures are listed at the end.
#
# The router r forwards whatever source the attacker writes (no BCP38, no
# reverse-path filter: what a real upstream without ingress filtering
# allows) and routes the spoofed range SPOOF_NET back to the attacker, so
# every answer to a spoofed source lands in the attacker's namespace, where
# nftables counts it. Answers to (c) go to b itself and are not counted.
. "$(dirname "$0")/lib.sh"
require_root
command -v nft >/dev/null || skip "needs nftables"
command -v setpriv >/dev/null || skip "needs setpriv (util-linux)"
command -v getent >/dev/null || skip "needs getent"
FLOOD=$top_builddir/tests/netns/ntm_flood
[ -x "$FLOOD" ] || fail "$FLOOD is missing (make check builds it)"

RATE=10000              # datagrams a second, per flood (the requirement's figure, doc/lab.md)
FLOOD_MS=20000          # longest flood; each is stopped once its case is measured
WARM_MS=500             # flood running this long before anything is measured
SLOW_CONNS=256          # (d): the requirement's figure
SLOW_EVERY_MS=4000
ATTACKER=nobody         # (d): an unprivileged local user
# What is asserted: each legitimate operation completes while the flood
# lasts (within LIMIT_MS, or the command's own deadline): without the
# defences they do not complete at all. The requirement's figure, 2 s from
# being asked (BOUND_MS), is measured and printed for every operation, and
# an operation over it is flagged in the output, but it is not a pass/fail
# line: on a shared machine (a flood, four daemons and other work on two
# cores) the DC can be starved of CPU for seconds, and a test must not
# fail for that (the figures are the measurement; tens of milliseconds in
# the baseline row).
BOUND_MS=${FLOOD_BOUND_MS:-2000}
LIMIT_MS=6000
# Caps on each daemon during and after the floods (doc/lab.md, "Floods"):
# measured on this lab with headroom.
DC_RSS_CAP_KB=32768
DC_FD_CAP=64
TUND_RSS_CAP_KB=32768
# ASan daemons (tools/check.sh's pass sets ASAN_OPTIONS) carry shadow
# memory and quarantine: 150-160 MB measured; their cap is 8x, so memory
# still cannot grow without bound there
if [ -n "${ASAN_OPTIONS:-}" ]; then
	DC_RSS_CAP_KB=$((DC_RSS_CAP_KB * 8))
	TUND_RSS_CAP_KB=$((TUND_RSS_CAP_KB * 8))
fi
TUND_FD_CAP=64
TUND_FD_CAP_SLOW=$((TUND_FD_CAP + SLOW_CONNS))  # (d): the control socket's connection cap on top
E_NAMES=2000            # (e): the requirement's figure
E_WORKERS=16            # (e): lookup processes at once (each one name at a time)
E_MS=4000               # (e): how long they go on looking the names up
# (e): Direction Requests the DC may see for E_NAMES names, each one
# unknown (DIRECTION_NAK NOT_FOUND): one per name, plus a resend for a
# lookup the DC took over DIRECTION_RETRY_MS to answer. Without the
# negative cache every lookup was one (16.7k/s in the issue); a second
# round of the same names must cost the DC nearly nothing.
E_DC_CAP=$((E_NAMES + E_NAMES / 4))
E_DC_AGAIN_CAP=20
NSSLIB=$top_builddir/nss_ntm/.libs

NODES="a b c"
. "$(dirname "$0")/setup2.sh"
A_IP=203.0.113.18
B_IP=203.0.113.34
DC_IP=198.51.100.2
X_IP=192.0.2.2          # the attacker's own address
SPOOF_NET=100.64.0.0/10 # spoofed sources (RFC 6598 space; no host of the lab has one)

# --- the attacker, on its own link to the router ---
ns_add x
link x eth0 "$X_IP/24" r x0 "192.0.2.1/24"
nsx x ip route add default via 192.0.2.1
nsx r ip route add "$SPOOF_NET" via "$X_IP"
for ns in r dc a b c; do
	nsx "$ns" sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
	for ifc in $(nsx "$ns" ls /sys/class/net); do
		nsx "$ns" sysctl -qw "net.ipv4.conf.$ifc.rp_filter=0" 2>/dev/null
	done
done
# Everything IPv4 that reaches the attacker (before any socket or routing
# decision): answers to its own address and to the spoofed range; and what
# it sends, for the ratio of the two.
nsx x nft -f - <<NFT || fail "nft on x"
table ip ntmflood {
	counter to_x { }
	counter to_spoofed { }
	counter from_x { }
	chain pre {
		type filter hook prerouting priority raw; policy accept;
		ip daddr $X_IP counter name "to_x"
		ip daddr $SPOOF_NET counter name "to_spoofed"
	}
	chain out {
		type filter hook output priority raw; policy accept;
		counter name "from_x"
	}
}
NFT
nft_get() { # COUNTER packets|bytes
	nsx x nft list counter ip ntmflood "$1" |
		awk -v k="$2" '{ for (i = 1; i < NF; i++) if ($i == k) print $(i + 1) }'
}
wait_for 5 "the attacker reaches the DC" nsx x ping -c 1 -W 1 "$DC_IP"
wait_for 5 "the attacker reaches a" nsx x ping -c 1 -W 1 "$A_IP"

# The nodes are IPv4-only: the issue is about IPv4 peers, and a
# dual-stack peer's handshake would also arrive over IPv6, where each /64
# has a rate-limit bucket of its own, and hide the IPv4 case. Each daemon
# is started again on the new underlay (restart, below).
for n in $NODES; do
	nsx "$n" ip -6 addr flush dev eth0 scope global
	nsx "$n" ip -6 route flush default 2>/dev/null
done

DCPUB=$("$NTM_DCCTL" -c "$DCCONF" show-key) || fail "ntm-dcctl show-key"
A_PUB=$("$NTMCTL" pubkey < "$T/a/node.key") || fail "a's public key"
sock() { eval "echo \$sock_$1"; }
registered_n() { registered "$(sock "$1")"; }

# --- figures ---
now_ms() { echo $(($(date +%s%N) / 1000000)); }
FAILS=""
soft_fail() { echo "not ok - $*"; FAILS="$FAILS
  $*"; }
# timed WHAT CMD...: run CMD (its own deadline bounds it), TOOK_MS = its time;
# a failure is recorded, not fatal; a time over BOUND_MS is flagged
timed() {
	local what=$1 t0 rc=0
	shift
	t0=$(now_ms)
	"$@" > "$T/timed.out" 2>&1 || rc=$?
	TOOK_MS=$(( $(now_ms) - t0 ))
	if [ "$rc" != 0 ]; then
		soft_fail "$CASE: $what failed after $TOOK_MS ms: $(head -c 200 "$T/timed.out")"
		TOOK_MS="fail($TOOK_MS)"
	elif [ "$TOOK_MS" -gt "$BOUND_MS" ]; then
		echo "# $CASE: $what took $TOOK_MS ms, over the ${BOUND_MS} ms target (completed)"
	fi
}
# until_ms LIMIT CMD...: poll CMD every 20 ms for LIMIT ms; 0 once it succeeds
until_ms() {
	local limit=$1 end
	shift
	end=$(( $(now_ms) + limit ))
	while [ "$(now_ms)" -lt "$end" ]; do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.02
	done
	return 1
}

# forget PID: it was reaped; cleanup must not kill a PID the system reused
forget() {
	local p rest=""
	for p in $PIDS; do [ "$p" = "$1" ] || rest="$rest $p"; done
	PIDS=$rest
}
stop_pid() {
	kill "$1" 2>/dev/null
	wait "$1" 2>/dev/null
	forget "$1"
}
# restart N: stop node N's daemon; start it again; REG_MS = from its start
# until it is registered
restart() {
	local n=$1 pid
	pid=$(eval "echo \$TUND_PID_$n")
	stop_pid "$pid"
	wait_for 5 "$n's old daemon gone" sh -c "! kill -0 $pid 2>/dev/null"
	bg "$n" "tund-$n" "$NTM_TUND" -f -c "$T/$n/tund.conf"
	eval "TUND_PID_$n=\$LAST_PID"
	timed "$n registers" until_ms "$LIMIT_MS" registered_n "$n"
	REG_MS=$TOOK_MS
}
ping_n() { "$NTMCTL" -s "$(sock "$1")" ping -c 1 "$2.$ZONE"; }

# --- the daemons' size ---
daemons() { echo "dc:$DCD_PID a:$TUND_PID_a b:$TUND_PID_b c:$TUND_PID_c"; }
# cpu_ms PID: user + system time so far (clock ticks of /proc/PID/stat)
cpu_ms() {
	awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); print int(($12 + $13) * 1000 / hz) }' \
		"/proc/$1/stat" 2>/dev/null || echo 0
}
cpu_all() { local d; for d in $(daemons); do echo "${d%%:*}=$(cpu_ms "${d#*:}")"; done; }
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }
fds() { find "/proc/$1/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l; }
# sizes WHEN FDCAP_A: each daemon's RSS and descriptors, printed in SIZES
# and checked against its caps (node a's descriptor cap is FDCAP_A)
sizes() {
	local when=$1 fdcap_a=$2 d name pid rss nfd rcap fcap
	SIZES=""
	for d in $(daemons); do
		name=${d%%:*}; pid=${d#*:}
		rss=$(rss_kb "$pid"); nfd=$(fds "$pid")
		SIZES="$SIZES $name=${rss}kB/${nfd}fd"
		if [ "$name" = dc ]; then rcap=$DC_RSS_CAP_KB; fcap=$DC_FD_CAP
		else rcap=$TUND_RSS_CAP_KB; fcap=$TUND_FD_CAP; fi
		[ "$name" = a ] && fcap=$fdcap_a
		[ "$rss" -le "$rcap" ] || soft_fail "$CASE: $name's RSS $when is $rss kB, over its cap of $rcap kB"
		[ "$nfd" -le "$fcap" ] || soft_fail "$CASE: $name has $nfd descriptors $when, over its cap of $fcap"
	done
}

# --- the floods ---
# flood_start NAME NS ARGS...: ntm_flood ARGS in namespace NS, in the
# background, measured from when its datagrams or connections are going
flood_start() {
	local name=$1 ns=$2
	shift 2
	bg "$ns" "flood-$name" "$@"
	eval "FLOOD_PID_$name=\$LAST_PID"
	wait_for 10 "flood $name running" grep -q '^send: running\|^slowctl: open=' "$T/flood-$name.log"
}
# flood_stop NAME: stop it, FLOOD_OUT = its closing line
flood_stop() {
	local pid
	pid=$(eval "echo \$FLOOD_PID_$1")
	stop_pid "$pid"
	FLOOD_OUT=$(tail -n 1 "$T/flood-$1.log")
}
# flood_send NAME DST PORT MODE SOURCE...: a datagram flood from x at RATE
flood_send() {
	local name=$1 dst=$2 port=$3 mode=$4
	shift 4
	flood_start "$name" x "$FLOOD" send "$dst" "$port" "$RATE" "$FLOOD_MS" "$mode" "$@"
}

# counters of a daemon that moved: "name+delta ..." between two stats --json
stats_of() {
	case $1 in
	dc) "$NTM_DCCTL" -c "$DCCONF" stats --json ;;
	*) "$NTMCTL" -s "$(sock "$1")" stats --json ;;
	esac
}
moved() {
	printf '%s\n%s\n' "$1" "$2" | grep -o '"[a-z0-9_]*": [0-9]*' | awk -F'": ' '
		{ k = substr($1, 2) }
		k in v { if ($2 != v[k]) printf " %s+%d", k, $2 - v[k]; next }
		{ v[k] = $2 }'
}

# --- one case ---
# case_begin NAME: counters before; case_measure REG TUN_FROM TUN_TO STATUS:
# restart REG (registers), ping from TUN_FROM to TUN_TO (a tunnel comes up),
# `ntmctl status` on STATUS; then sizes during the flood
case_begin() {
	CASE=$1
	X0_to=$(nft_get to_x packets); X0_sp=$(nft_get to_spoofed packets)
	X0_out=$(nft_get from_x bytes); X0_inb=$(( $(nft_get to_x bytes) + $(nft_get to_spoofed bytes) ))
	ST0_dc=$(stats_of dc); ST0_a=$(stats_of a)
	CPU0=$(cpu_all)
	FAILS0=$FAILS
}
# case_ok TEXT: "ok - TEXT" when the case recorded no failure
case_ok() { [ "$FAILS" = "$FAILS0" ] && ok "$*" || echo "not ok - $* (failures above)"; }
case_measure() {
	local reg=$1 from=$2 to=$3 st=$4 fdcap_a=${5:-$TUND_FD_CAP}
	restart "$reg"
	timed "a tunnel $from -> $to" ping_n "$from" "$to"
	TUN_MS=$TOOK_MS
	timed "root's ntmctl status on $st" "$NTMCTL" -s "$(sock "$st")" status
	STATUS_MS=$TOOK_MS
	sizes during "$fdcap_a"
	SIZES_DURING=$SIZES
	# CPU the daemons used from the case's start (a restarted one: its own)
	CPU_DURING=$(printf '%s\n%s\n' "$CPU0" "$(cpu_all)" | awk -F= '
		$1 in c { printf " %s=%dms", $1, ($2 >= c[$1] ? $2 - c[$1] : $2); next } { c[$1] = $2 }')
}
# case_end: answers that reached the attacker, then recovery and sizes after
case_end() {
	TO_X=$(( $(nft_get to_x packets) - X0_to ))
	TO_SP=$(( $(nft_get to_spoofed packets) - X0_sp ))
	X_OUT=$(( $(nft_get from_x bytes) - X0_out ))
	X_INB=$(( $(nft_get to_x bytes) + $(nft_get to_spoofed bytes) - X0_inb ))
	for n in $NODES; do
		wait_for 40 "$n registered after $CASE" registered_n "$n"
	done
	sizes after "$TUND_FD_CAP"
	echo "# $CASE: register ${REG_MS} ms, tunnel ${TUN_MS} ms, status ${STATUS_MS} ms"
	echo "#   answers at the attacker: $TO_X to its own address, $TO_SP to spoofed sources ($X_INB bytes for $X_OUT sent)"
	echo "#   during:$SIZES_DURING; cpu since the case began:$CPU_DURING"
	echo "#   after: $SIZES"
	echo "#   DC counters:$(moved "$ST0_dc" "$(stats_of dc)")"
	echo "#   a's counters:$(moved "$ST0_a" "$(stats_of a)")"
}

CASE=setup
for n in $NODES; do restart "$n"; done
[ -z "$FAILS" ] || fail "the IPv4-only nodes did not register:$FAILS"

# --- baseline: no flood ---
case_begin "baseline"
case_measure c c a a
case_end
case_ok "baseline without a flood"

# --- (a) junk from one IPv4 host at node a ---
case_begin "(a) junk at a"
flood_send a "$A_IP" 7541 junk -s "$X_IP:40000"
sleep "$(awk "BEGIN { print $WARM_MS / 1000 }")"
case_measure c c a a
flood_stop a
case_end
echo "#   flood: $FLOOD_OUT"
[ "$TO_X" = 0 ] && [ "$TO_SP" = 0 ] || \
	soft_fail "$CASE: $TO_X packets reached the attacker and $TO_SP its spoofed sources in answer to junk"
case_ok "(a) 10k pps of junk at a from one IPv4 host"

# --- (b) spoofed valid-mac1 handshakes at the DC ---
case_begin "(b) handshakes at the DC"
flood_send b "$DC_IP" 7540 init -S "$SPOOF_NET" -k "$DCPUB" -P 1 -n 1024
sleep "$(awk "BEGIN { print $WARM_MS / 1000 }")"
case_measure c c b c
flood_stop b
case_end
echo "#   flood: $FLOOD_OUT"
# answers to spoofed handshakes (a cookie reply, if any) are smaller than
# what asked for them: the DC amplifies nothing
[ "$X_INB" -le "$X_OUT" ] || soft_fail "$CASE: $X_INB bytes answered $X_OUT bytes of flood"
case_ok "(b) 10k/s spoofed valid-mac1 handshakes at the DC"

# --- (c) b's own address at the DC and at a, while b restarts ---
RATE=$((RATE / 2))
case_begin "(c) b's address spoofed"
flood_send c1 "$DC_IP" 7540 mix -s "$B_IP:7541" -k "$DCPUB" -P 1 -n 512
flood_send c2 "$A_IP" 7541 mix -s "$B_IP:7541" -k "$A_PUB" -P 2 -n 512
sleep "$(awk "BEGIN { print $WARM_MS / 1000 }")"
case_measure b b a b
flood_stop c1; OUT1=$FLOOD_OUT
flood_stop c2
case_end
echo "#   floods: at the DC $OUT1; at a $FLOOD_OUT"
RATE=$((RATE * 2))
case_ok "(c) handshakes and junk from b's own address at the DC and at a while b restarts"

# --- (d) slow control-socket clients of an unprivileged user ---
case_begin "(d) slow control clients at a"
flood_start d a setpriv --reuid="$ATTACKER" --regid="$(id -g "$ATTACKER")" --clear-groups \
	"$FLOOD" slowctl "$sock_a" "$SLOW_CONNS" "$SLOW_EVERY_MS" "$FLOOD_MS"
echo "#   $(head -n 1 "$T/flood-d.log")"
sleep "$(awk "BEGIN { print $WARM_MS / 1000 }")"
case_measure c a c a "$TUND_FD_CAP_SLOW"
flood_stop d
case_end
echo "#   flood: $FLOOD_OUT"
case_ok "(d) $SLOW_CONNS slow control clients of $ATTACKER at a"

# --- (e) one local user looks up 2,000 unknown names at a ---
# Through nss_ntm as any program would (getent), as nobody: E_WORKERS
# processes each go round their share of the names until E_MS is up. The
# DC must see at most about one Direction Request per name (the negative
# cache answers the rest, the pending caps bound those in flight), a's
# size stays under its caps, and root's status on a and a new tunnel from
# a to b work within the bound meanwhile. Then one more round of the same
# names: nearly no new request. a is restarted first: its cache (30 s) is
# emptied by each registration, which a new DC session brings (every
# 120 s), and this case must not straddle one.
[ -e "$NSSLIB/libnss_ntm.so.2" ] || fail "$NSSLIB/libnss_ntm.so.2 is not built"
dc_requests() { # DIRECTION_REQs the DC answered, either way
	stats_of dc | grep -o '"direction[_a-z]*": [0-9]*' | awk '{ n += $2 } END { print n + 0 }'
}
# lookups FILE MS: as nobody on a, look up every name of FILE, again and
# again for MS ms (0: once); prints "lookups=N"
lookups() {
	nsx a env LD_LIBRARY_PATH="$NSSLIB" NTM_NSS_FILE="$T/a/run/nss" \
		setpriv --reuid="$ATTACKER" --regid="$(id -g "$ATTACKER")" --clear-groups \
		sh -c 'end=$(($(date +%s%N) / 1000000 + $2)); n=0
			while :; do
				getent -s hosts:ntm hosts $(cat "$1") >/dev/null
				n=$((n + $(wc -l < "$1")))
				[ "$(($(date +%s%N) / 1000000))" -lt "$end" ] || break
			done
			echo "lookups=$n"' sh "$1" "$2"
}
mkdir -p "$T/names"
i=0
while [ "$i" -lt "$E_NAMES" ]; do
	echo "unknown-$i.$ZONE" >> "$T/names/w$((i % E_WORKERS))"
	i=$((i + 1))
done
chmod -R a+rX "$T/names"
CASE="(e) 2,000 unknown names at a"
restart a
wait_for 5 "a's nss file" test -s "$T/a/run/nss"
case_begin "$CASE"
REQ0=$(dc_requests)
E_PIDS=""
for w in $(seq 0 $((E_WORKERS - 1))); do
	lookups "$T/names/w$w" "$E_MS" > "$T/names/out$w" 2>&1 &
	E_PIDS="$E_PIDS $!"; PIDS="$PIDS $!"
done
sleep "$(awk "BEGIN { print $WARM_MS / 1000 }")"
timed "a tunnel a -> b" ping_n a b
TUN_MS=$TOOK_MS
timed "root's ntmctl status on a" "$NTMCTL" -s "$sock_a" status
STATUS_MS=$TOOK_MS
sizes during "$TUND_FD_CAP"
SIZES_DURING=$SIZES
for pid in $E_PIDS; do wait "$pid"; forget "$pid"; done
E_LOOKUPS=$(cat "$T/names"/out* | awk -F= '/^lookups=/ { n += $2 } END { print n + 0 }')
REQ1=$(dc_requests)
CPU_DURING=$(printf '%s\n%s\n' "$CPU0" "$(cpu_all)" | awk -F= '
	$1 in c { printf " %s=%dms", $1, $2 - c[$1]; next } { c[$1] = $2 }')
# the same names once more, at once
E_PIDS=""
for w in $(seq 0 $((E_WORKERS - 1))); do
	lookups "$T/names/w$w" 0 > "$T/names/again$w" 2>&1 &
	E_PIDS="$E_PIDS $!"; PIDS="$PIDS $!"
done
for pid in $E_PIDS; do wait "$pid"; forget "$pid"; done
E_AGAIN=$(cat "$T/names"/again* | awk -F= '/^lookups=/ { n += $2 } END { print n + 0 }')
REQ2=$(dc_requests)
case_end
echo "#   (a registered before the lookups began; the tunnel and the status were asked during them)"
echo "#   $E_LOOKUPS lookups of $E_NAMES names by $E_WORKERS processes in $E_MS ms: the DC saw $((REQ1 - REQ0)) requests (cap $E_DC_CAP)"
echo "#   the same names again ($E_AGAIN lookups): the DC saw $((REQ2 - REQ1)) requests (cap $E_DC_AGAIN_CAP)"
[ "$E_LOOKUPS" -ge "$E_NAMES" ] || soft_fail "$CASE: only $E_LOOKUPS lookups were made (the names were not all asked)"
[ "$((REQ1 - REQ0))" -le "$E_DC_CAP" ] || \
	soft_fail "$CASE: the DC saw $((REQ1 - REQ0)) requests for $E_NAMES names, over $E_DC_CAP"
[ "$((REQ2 - REQ1))" -le "$E_DC_AGAIN_CAP" ] || \
	soft_fail "$CASE: the same names again cost the DC $((REQ2 - REQ1)) requests, over $E_DC_AGAIN_CAP"
# One of the names is enrolled meanwhile: the DC tells nobody, but a's
# next registration empties its negative cache, so the name is asked of
# the DC again at once (its node is offline: TRYAGAIN, and not cached).
a_counter() { stats_of a | grep -o "\"$1\": [0-9]*" | grep -o '[0-9]*$'; }
NEW_KEY=$("$NTMCTL" genkey | "$NTMCTL" pubkey) || fail "a key for the new node"
"$NTM_DCCTL" -c "$DCCONF" node add unknown-0 "$NEW_KEY" >/dev/null || fail "ntm-dcctl node add unknown-0"
REG0=$(a_counter registrations)
"$NTMCTL" -s "$sock_a" reregister >/dev/null || fail "ntmctl reregister on a"
wait_for 5 "a registered again" sh -c "[ \$(\"$NTMCTL\" -s \"$sock_a\" stats --json | grep -o '\"registrations\": [0-9]*' | grep -o '[0-9]*\$') -gt $REG0 ]"
REQ3=$(dc_requests); NEG0=$(a_counter resolve_negative_hits)
"$NTMCTL" -s "$sock_a" resolve "unknown-0.$ZONE" > "$T/names/enrolled" 2>&1
echo "#   unknown-0 enrolled, a registered again: its lookup cost the DC $(($(dc_requests) - REQ3)) request(s): $(head -n 1 "$T/names/enrolled")"
[ "$(($(dc_requests) - REQ3))" = 1 ] && [ "$(a_counter resolve_negative_hits)" = "$NEG0" ] || \
	soft_fail "$CASE: after a's registration a newly enrolled name was still answered from the negative cache"
case_ok "(e) $E_NAMES unknown names looked up by $ATTACKER at a, then again; a registration empties the cache"

[ -z "$FAILS" ] || fail "under a flood:$FAILS"
echo "PASS: flood"
