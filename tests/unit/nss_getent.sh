#!/bin/sh
# nss_getent.sh - libnss_ntm.so.2 driven by glibc itself: getent -s hosts:ntm
# (getaddrinfo through gethostbyname4_r/3_r, gethostbyname2_r, gethostbyaddr_r)
# against tests/unit/fake_tund. Root is not needed.
#
# Environment (set by the Makefile, or by hand):
#   top_builddir   where nss_ntm/.libs/libnss_ntm.so.2 and tests/unit/fake_tund are
#   NTM_NSS_SO_DIR the directory holding libnss_ntm.so.2 (default from top_builddir)
#   NTM_FAKE_TUND  the fake daemon (default from top_builddir)
# Exit 0 pass, 1 fail, 77 skip (no getent).
set -eu

: "${top_builddir:=.}"
so_dir=${NTM_NSS_SO_DIR:-$top_builddir/nss_ntm/.libs}
fake=${NTM_FAKE_TUND:-$top_builddir/tests/unit/fake_tund}
command -v getent >/dev/null 2>&1 || { echo "SKIP: no getent"; exit 77; }
[ -e "$so_dir/libnss_ntm.so.2" ] || { echo "FAIL: no $so_dir/libnss_ntm.so.2"; exit 1; }
[ -x "$fake" ] || { echo "FAIL: no $fake"; exit 1; }

dir=$(mktemp -d /tmp/ntm-getent-XXXXXX)
chmod 755 "$dir"
fake_pid=
cleanup() {
	[ -z "$fake_pid" ] || kill "$fake_pid" 2>/dev/null || true
	rm -rf "$dir"
}
trap cleanup EXIT

cat >"$dir/nss" <<EOF
# test nss file, format in nss_ntm/zones.c
version 1
zone ntm.test
prefix4 198.18.0.0/15
prefix6 fd12:3456:789a::/48
socket $dir/tund.sock
timeout_ms 500
end
EOF
chmod 644 "$dir/nss"

NTM_NSS_FILE=$dir/nss
LD_LIBRARY_PATH=$so_dir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
export NTM_NSS_FILE LD_LIBRARY_PATH
unset NTM_NSS_BYPASS || true

failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
pass() { echo "ok: $*"; }

# start_fake MODE ADDR... : (re)start the fake daemon; it listens when this returns.
start_fake() {
	stop_fake
	mode=$1; shift
	args=
	for a in "$@"; do args="$args -a $a"; done
	# shellcheck disable=SC2086
	fake_pid=$("$fake" -b -s "$dir/tund.sock" -m "$mode" $args)
}
stop_fake() {
	[ -z "$fake_pid" ] || kill "$fake_pid" 2>/dev/null || true
	fake_pid=
	rm -f "$dir/tund.sock"
}

# ms: milliseconds of a monotonic-enough clock.
ms() { echo $(($(date +%s%N) / 1000000)); }

# expect_rc RC DESCRIPTION COMMAND...: run, compare exit status, keep output in $out.
expect_rc() {
	want=$1 what=$2; shift 2
	set +e
	out=$("$@" 2>&1)
	rc=$?
	set -e
	if [ "$rc" -eq "$want" ]; then pass "$what (exit $rc)"; else fail "$what: exit $rc, want $want; output: $out"; fi
}

# addrs: the sorted distinct first column of $out.
addrs() { printf '%s\n' "$out" | awk 'NF { print $1 }' | sort -u | tr '\n' ' '; }

expect_addrs() {
	got=$(addrs)
	if [ "$got" = "$1" ]; then pass "$2 -> $got"; else fail "$2: got '$got', want '$1'"; fi
}

# getaddrinfo(AI_ADDRCONFIG), which getent's ahosts* use, filters by the
# families the host has addresses of, as glibc decides it (getaddrinfo.c and
# sysdeps/unix/sysv/linux/check_pf.c in glibc 2.36): it has "seen" IPv4 when
# any interface holds an IPv4 address other than exactly 127.0.0.1 (so
# 127.0.0.77 on lo counts), and IPv6 for any address other than ::1
# (link-local counts). AF_UNSPEC is narrowed to one family only when exactly
# one was seen; with none or both it is not filtered. AF_INET (AF_INET6)
# fails outright when that family was not seen. doc/names.md says the same.
#
# seen_families [PREFIX...]: sets seen_v4, seen_v6 for the network
# namespace the prefix command runs in.
seen_families() {
	seen_v4=$("$@" ip -4 -o addr show 2>/dev/null | awk '{ sub("/.*", "", $4); if ($4 != "127.0.0.1") n++ } END { print n ? "yes" : "no" }')
	seen_v6=$("$@" cat /proc/net/if_inet6 2>/dev/null | awk '$1 != "00000000000000000000000000000001" { n++ } END { print n ? "yes" : "no" }')
}
V4="198.18.0.7 198.18.1.9 "
V6="fd12:3456:789a::7 "

start_fake answer 198.18.0.7 198.18.1.9 fd12:3456:789a::7

# check_ahosts WHERE [PREFIX...]: the ahosts expectations in the network
# namespace PREFIX runs in (none: this one).
check_ahosts() {
	where=$1; shift
	seen_families "$@"
	wantaddr=
	if [ "$seen_v4" = "$seen_v6" ] || [ "$seen_v4" = yes ]; then wantaddr="$V4"; fi
	if [ "$seen_v4" = "$seen_v6" ] || [ "$seen_v6" = yes ]; then wantaddr="$wantaddr$V6"; fi
	wantaddr=$(printf '%s' "$wantaddr" | tr ' ' '\n' | awk NF | sort -u | tr '\n' ' ')
	echo "# $where: IPv4 seen: $seen_v4, IPv6 seen: $seen_v6"
	expect_rc 0 "$where: ahosts bob.ntm.test" "$@" getent -s hosts:ntm ahosts bob.ntm.test
	expect_addrs "$wantaddr" "$where: ahosts bob.ntm.test"
	case $out in *"STREAM bob.ntm.test"*) pass "$where: ahosts gives the canonical name" ;;
		*) fail "$where: ahosts: no canonical name in: $out" ;; esac
	if [ "$seen_v4" = yes ]; then
		expect_rc 0 "$where: ahostsv4 BOB.NTM.TEST." "$@" getent -s hosts:ntm ahostsv4 BOB.NTM.TEST.
		expect_addrs "$V4" "$where: ahostsv4"
	else
		expect_rc 2 "$where: ahostsv4 with no IPv4 address (EAI_NONAME)" "$@" getent -s hosts:ntm ahostsv4 bob.ntm.test
	fi
	if [ "$seen_v6" = yes ]; then
		expect_rc 0 "$where: ahostsv6 bob.ntm.test" "$@" getent -s hosts:ntm ahostsv6 bob.ntm.test
		expect_addrs "$V6" "$where: ahostsv6"
	else
		expect_rc 2 "$where: ahostsv6 with no IPv6 address (EAI_NONAME)" "$@" getent -s hosts:ntm ahostsv6 bob.ntm.test
	fi
}

if command -v ip >/dev/null 2>&1; then
	check_ahosts "this host"
	# The same in network namespaces of known shape (root only): only
	# loopback (nothing seen: no filtering), and 127.0.0.77 on lo (IPv4
	# seen: AF_UNSPEC narrowed to IPv4). The fake daemon's socket is a
	# path, so it is reachable from any network namespace.
	if [ "$(id -u)" = 0 ] && unshare -n true 2>/dev/null; then
		check_ahosts "loopback only" unshare -n sh -c 'ip link set lo up && exec "$@"' sh
		check_ahosts "loopback with 127.0.0.77" unshare -n sh -c \
			'ip link set lo up && ip addr add 127.0.0.77/8 dev lo && exec "$@"' sh
	else
		echo "SKIP-PART: ahosts in loopback-only namespaces (needs root and unshare -n)"
	fi
else
	echo "SKIP-PART: ahosts checks (no ip command to read the host's addresses)"
fi
expect_rc 0 "hosts bob.ntm.test" getent -s hosts:ntm hosts bob.ntm.test
[ "$(printf '%s' "$out" | tr -s ' ')" = "fd12:3456:789a::7 bob.ntm.test" ] \
	&& pass "hosts prefers IPv6: $out" || fail "hosts bob.ntm.test: $out"
expect_rc 0 "hosts 198.18.1.9" getent -s hosts:ntm hosts 198.18.1.9
[ "$(printf '%s' "$out" | tr -s ' ')" = "198.18.1.9 bob.ntm.test" ] \
	&& pass "reverse IPv4: $out" || fail "reverse IPv4: $out"
expect_rc 0 "hosts fd12:3456:789a::7" getent -s hosts:ntm hosts fd12:3456:789a::7
[ "$(printf '%s' "$out" | tr -s ' ')" = "fd12:3456:789a::7 bob.ntm.test" ] \
	&& pass "reverse IPv6: $out" || fail "reverse IPv6: $out"

expect_rc 2 "hosts nobody.ntm.test (NOTFOUND)" getent -s hosts:ntm hosts nobody.ntm.test
expect_rc 2 "ahosts nobody.ntm.test (NOTFOUND)" getent -s hosts:ntm ahosts nobody.ntm.test
expect_rc 2 "hosts 198.18.9.9 (NOTFOUND)" getent -s hosts:ntm hosts 198.18.9.9
expect_rc 2 "hosts example.org (outside the zone)" getent -s hosts:ntm hosts example.org
expect_rc 2 "hosts 192.0.2.1 (outside the prefixes)" getent -s hosts:ntm hosts 192.0.2.1
expect_rc 2 "hosts ntm.test (the apex)" getent -s hosts:ntm hosts ntm.test

# A peer with IPv4 only: getent hosts falls back from AF_INET6 (NODATA) to AF_INET.
start_fake answer 198.18.0.7
expect_rc 0 "hosts bob.ntm.test, IPv4 only" getent -s hosts:ntm hosts bob.ntm.test
[ "$(printf '%s' "$out" | tr -s ' ')" = "198.18.0.7 bob.ntm.test" ] \
	&& pass "NODATA for IPv6 then IPv4: $out" || fail "IPv4-only peer: $out"

start_fake tryagain
expect_rc 2 "hosts bob.ntm.test (TRYAGAIN)" getent -s hosts:ntm hosts bob.ntm.test
expect_rc 2 "ahosts bob.ntm.test (TRYAGAIN)" getent -s hosts:ntm ahosts bob.ntm.test

start_fake slow
t0=$(ms)
expect_rc 2 "ahosts bob.ntm.test (slow daemon)" getent -s hosts:ntm ahosts bob.ntm.test
dt=$(($(ms) - t0))
# The nss file says timeout_ms 500: the module must have waited for it (a
# lower bound, safe on a loaded machine) and then given up (the 30 s bound
# only catches a hang).
[ "$dt" -ge 500 ] && [ "$dt" -lt 30000 ] && pass "slow daemon: gave up after $dt ms (timeout 500)" \
	|| fail "slow daemon: $dt ms, want the 500 ms timeout"

# With the daemon down the module must not wait for its timeout: a nss file
# with a 20 s timeout, and two lookups that must end well before one of it.
stop_fake
sed 's/^timeout_ms .*/timeout_ms 20000/' "$dir/nss" >"$dir/nss-long"
t0=$(ms)
expect_rc 2 "hosts bob.ntm.test (daemon down)" env NTM_NSS_FILE="$dir/nss-long" getent -s hosts:ntm hosts bob.ntm.test
expect_rc 2 "ahosts bob.ntm.test (daemon down)" env NTM_NSS_FILE="$dir/nss-long" getent -s hosts:ntm ahosts bob.ntm.test
dt=$(($(ms) - t0))
[ "$dt" -lt 20000 ] && pass "daemon down: two lookups in $dt ms, no wait for the timeout" \
	|| fail "daemon down: $dt ms: the module waited for its timeout"

start_fake answer 198.18.0.7
expect_rc 2 "NTM_NSS_BYPASS=1" env NTM_NSS_BYPASS=1 getent -s hosts:ntm hosts bob.ntm.test
expect_rc 2 "no nss file" env NTM_NSS_FILE="$dir/missing" getent -s hosts:ntm hosts bob.ntm.test
printf 'version 1\nzone ntm.test\n' >"$dir/truncated"
expect_rc 2 "truncated nss file" env NTM_NSS_FILE="$dir/truncated" getent -s hosts:ntm hosts bob.ntm.test
expect_rc 0 "and with the file, it resolves" getent -s hosts:ntm hosts bob.ntm.test

if [ "$failures" -ne 0 ]; then
	echo "$failures check(s) failed"
	exit 1
fi
echo "all getent checks passed"
