#!/bin/bash
# names.sh - getaddrinfo latency side by side in one run, on node a of
# setup2.sh's topology with "hosts: files ntm [!UNAVAIL=return] dns" and
# resolv.conf pointing at ntm-resolverd (whose upstream is
# tests/unit/fake_dns): a live overlay name (AF_INET, AF_UNSPEC; answered
# from the names map), the same with the map removed (the control-socket
# path, as before the map), a name from /etc/hosts, and a DNS name through
# the stub (cached there after the first lookup). Each row: one process,
# BENCH_N lookups (default 20000) after a tenth as many to warm up; p50,
# p99 and mean in microseconds. Run as root from the build directory:
#   top_builddir=$PWD top_srcdir=$PWD bash bench/names.sh
. "$(dirname "$0")/../tests/netns/lib.sh"
require_root
N=${BENCH_N:-20000}
NSSLIB=$top_builddir/nss_ntm/.libs
FAKE_DNS=$top_builddir/tests/unit/fake_dns
RESOLVERD=$top_builddir/resolver/ntm-resolverd
BENCH=$T/bench_names
${CC:-cc} -O2 -o "$BENCH" "$top_srcdir/bench/bench_names.c" || skip "cannot build bench_names"
NODES="a b"
. "$top_srcdir/tests/netns/setup2.sh"
echo "hosts: files ntm [!UNAVAIL=return] dns" > "$T/nsswitch.conf"
printf '127.0.0.1 localhost\n203.0.113.99 plain.example.com\n' > "$T/hosts"
bg a upstream "$FAKE_DNS" -a 127.0.0.78:53 -m ok -t 300
echo "nameserver 127.0.0.78" > "$T/resolv.orig"
cat > "$T/resolverd.conf" <<CONF
[Resolver]
ListenAddress = 127.0.0.77
UpstreamsFrom = $T/resolv.orig
NssFile = $T/a/run/nss
CONF
bg a stub "$RESOLVERD" -f -c "$T/resolverd.conf"
wait_for 5 "stub listening" grep -q "listening on" "$T/stub.log"
echo "nameserver 127.0.0.77" > "$T/resolv.conf"
on_a() {
	nsx a env LD_LIBRARY_PATH="$NSSLIB" NTM_NSS_FILE="$T/a/run/nss" \
		"$ETC_EXEC" "$T/.etc" "$T/nsswitch.conf" "$T/hosts" "$T/resolv.conf" "$@"
}
B=b.ntm.example.org
on_a getent ahosts "$B" >/dev/null || fail "first lookup of $B"
nsx a ping -c 1 -W 3 198.18.0.2 >/dev/null || fail "no tunnel to b"
sleep 0.5 # the next peer sweep puts b in the map
# keep the tunnel live (the map only holds names of live tunnels)
nsx a ping -i 0.5 198.18.0.2 >/dev/null 2>&1 &
PIDS="$PIDS $!"
row() { # LABEL NAME FAMILY
	local r
	r=$(on_a "$BENCH" "$2" "$3" "$N") || fail "$1: $r"
	printf '%-34s %9s %9s %9s\n' "$1" $r
}
printf '%-34s %9s %9s %9s\n' "getaddrinfo, $N lookups" "p50 us" "p99 us" "mean us"
row "overlay name, AF_INET (map)" "$B" inet
row "overlay name, AF_UNSPEC (map)" "$B" unspec
row "/etc/hosts name, AF_INET" plain.example.com inet
row "/etc/hosts name, AF_UNSPEC" plain.example.com unspec
row "DNS name via the stub, AF_INET" www.example.net inet
row "DNS name via the stub, AF_UNSPEC" www.example.net unspec
# the module alone ("hosts: ntm"): what "files" before it costs every lookup
echo "hosts: ntm" > "$T/nsswitch.ntm"
row_ntm() {
	local r
	r=$(nsx a env LD_LIBRARY_PATH="$NSSLIB" NTM_NSS_FILE="$T/a/run/nss" \
		"$ETC_EXEC" "$T/.etc" "$T/nsswitch.ntm" "$T/hosts" "$T/resolv.conf" "$BENCH" "$2" "$3" "$N") || fail "$1: $r"
	printf '%-34s %9s %9s %9s\n' "$1" $r
}
row_ntm "overlay, AF_INET, hosts: ntm only" "$B" inet
row_ntm "overlay, AF_UNSPEC, hosts: ntm only" "$B" unspec
# the same without the map: every lookup over the control socket
mv "$T/a/run/names.map" "$T/names.map.away"
row "overlay name, AF_INET (socket)" "$B" inet
row "overlay name, AF_UNSPEC (socket)" "$B" unspec
mv "$T/names.map.away" "$T/a/run/names.map"
# where AF_UNSPEC's time goes: the system calls of 100 lookups
if command -v strace >/dev/null && [ -n "${BENCH_STRACE:-}" ]; then
	for fam in inet unspec; do
		echo "--- strace -c, 100 lookups of $B, $fam"
		on_a strace -f -c -o "$T/strace.$fam" "$BENCH" "$B" $fam 100 >/dev/null
		head -n 20 "$T/strace.$fam"
	done
fi
