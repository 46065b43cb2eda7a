# lib.sh - shared helpers for ntm's whole-system tests in network namespaces
# (see doc/lab.md). Source it; it sets up cleanup on exit.
#
# Rules kept here: namespaces and links are named with a per-run prefix,
# every process a test starts is recorded and killed by PID, waits poll for
# an event with a deadline instead of sleeping, and a test that cannot run
# (not root, no /dev/net/tun, no ip) exits 77 so automake reports a skip.

set -u

: "${top_builddir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
NTM_DCD=$top_builddir/dc/ntm-dcd
NTM_DCCTL=$top_builddir/dc/ntm-dcctl
NTM_TUND=$top_builddir/tund/ntm-tund
NTMCTL=$top_builddir/tund/ntmctl

P="n$$"                 # prefix of every namespace and link of this run
T=$(mktemp -d /tmp/ntm-test.XXXXXX)
chmod 755 "$T"
PIDS=""
NSES=""

skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*" >&2; dump_logs; exit 1; }
ok() { echo "ok - $*"; }

require_root() {
	[ "$(id -u)" = 0 ] || skip "needs root (network namespaces)"
	[ -c /dev/net/tun ] || skip "needs /dev/net/tun"
	command -v ip >/dev/null || skip "needs iproute2"
}

dump_logs() {
	for f in "$T"/*.log; do
		[ -f "$f" ] || continue
		echo "---- $(basename "$f") (last 30 lines)" >&2
		tail -n 30 "$f" >&2
	done
}

cleanup() {
	set +e # a caller's set -e must not stop the cleanup half way
	[ -n "${KEEP:-}" ] && { echo "kept $T and namespaces $P-*"; return; }
	for pid in $PIDS; do kill "$pid" 2>/dev/null; done
	for pid in $PIDS; do
		for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$pid" 2>/dev/null
	done
	for ns in $NSES; do ip netns del "$ns" 2>/dev/null; done
	rm -rf "$T"
}
trap cleanup EXIT

# ETC_EXEC DIR NSSWITCH HOSTS RESOLV CMD... (a program, so it runs under
# nsx too): CMD with those files as /etc/nsswitch.conf, /etc/hosts and
# /etc/resolv.conf, whether or not the machine has them (etc_exec.sh).
ETC_EXEC=$top_srcdir/tests/netns/etc_exec.sh

# ns_add NAME: a namespace $P-NAME with loopback up and quick IPv6.
ns_add() {
	ip netns add "$P-$1" || fail "ip netns add $P-$1"
	NSES="$NSES $P-$1"
	ip -n "$P-$1" link set lo up
	nsx "$1" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
}

# nsx NAME CMD...: run CMD in namespace NAME.
nsx() { local n=$1; shift; ip netns exec "$P-$n" "$@"; }

# link A IFA ADDRS_A B IFB ADDRS_B: a veth pair between two namespaces,
# each end given a space-separated list of addresses.
link() {
	local a=$1 ia=$2 aa=$3 b=$4 ib=$5 ab=$6 x
	ip link add "$P-tmpa" type veth peer name "$P-tmpb" || fail "veth"
	ip link set "$P-tmpa" netns "$P-$a" name "$ia"
	ip link set "$P-tmpb" netns "$P-$b" name "$ib"
	for x in $aa; do ip -n "$P-$a" addr add "$x" dev "$ia" nodad 2>/dev/null || ip -n "$P-$a" addr add "$x" dev "$ia"; done
	for x in $ab; do ip -n "$P-$b" addr add "$x" dev "$ib" nodad 2>/dev/null || ip -n "$P-$b" addr add "$x" dev "$ib"; done
	ip -n "$P-$a" link set "$ia" up
	ip -n "$P-$b" link set "$ib" up
}

# bg NAME LOG CMD...: start CMD in namespace NAME in the background, output
# to $T/LOG.log; its PID is recorded (and printed in $LAST_PID).
bg() {
	local n=$1 log=$2; shift 2
	ip netns exec "$P-$n" "$@" >>"$T/$log.log" 2>&1 &
	LAST_PID=$!
	PIDS="$PIDS $LAST_PID"
}

# seccomp_on PID NAME: the running daemon PID has installed its seccomp
# allow-list (lib/sandbox.c; Seccomp = enforce is the default):
# "Seccomp: 2" in /proc/PID/status.
seccomp_on() {
	local s
	s=$(awk '$1 == "Seccomp:" { print $2 }' "/proc/$1/status" 2>/dev/null)
	[ "$s" = 2 ] || fail "$2 (pid $1): 'Seccomp: ${s:-?}' in /proc/$1/status, want 2 (a filter)"
}

# wait_for SECONDS DESCRIPTION CMD...: poll CMD every 0.1 s until it
# succeeds; fail after SECONDS. Prints the time it took in $WAITED_MS.
wait_for() {
	local limit=$1 what=$2; shift 2
	local start now
	start=$(date +%s%N)
	while :; do
		if "$@" >/dev/null 2>&1; then
			now=$(date +%s%N)
			WAITED_MS=$(( (now - start) / 1000000 ))
			return 0
		fi
		now=$(date +%s%N)
		[ $(( (now - start) / 1000000000 )) -lt "$limit" ] || fail "timed out after ${limit}s waiting for: $what"
		sleep 0.1
	done
}
