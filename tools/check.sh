#!/bin/sh
# check.sh - install, build and run ntm's whole test suite (what CI runs).
#
# Usage: tools/check.sh   (as root on a fresh Debian 12 machine)
# Steps: tools/setup.sh (gcc, -Werror); make check (unit tests with
# libcheck, whole-system tests in network namespaces); the unit tests again
# under valgrind; the whole-system tests again with ASan+UBSan daemons;
# the Debian packages built, checked and installed into a fresh Debian 12
# root (tests/packaging/deb.sh); every libFuzzer target for FUZZ_TIME
# seconds (default 30); make distcheck
# built with clang and -Werror. Stops at the first
# failure with a non-zero status.
set -eu

cd "$(dirname "$0")/.."
FUZZ_TIME=${FUZZ_TIME:-30}

step() { printf '\n==== %s ====\n' "$*"; }

# Everything not run, with its reason, is listed at the end: whole steps
# this script leaves out (skip_step), tests that exit 77 (their log's
# "SKIP: reason" line) and parts of tests left out ("SKIP-PART: reason").
SKIPS=$(mktemp /tmp/ntm-check-skips-XXXXXX)
trap 'rm -f "$SKIPS"' EXIT
skip_step() { echo "$*" >>"$SKIPS"; echo "SKIPPED: $*"; }

step "setup and build (gcc)"
tools/setup.sh

# Optional cross-check: with NTM_REFERENCE_VECTORS=DIR (a reference copy of
# the test vectors kept outside the tree), tests/vectors must be
# byte-identical to it (provenance: tests/vectors/README.md). The tests
# themselves only read tests/vectors.
if [ -n "${NTM_REFERENCE_VECTORS:-}" ]; then
	step "test vectors match $NTM_REFERENCE_VECTORS"
	for f in "$NTM_REFERENCE_VECTORS"/*.json; do
		[ -f "$f" ] || { echo "check.sh: no *.json in NTM_REFERENCE_VECTORS=$NTM_REFERENCE_VECTORS" >&2; exit 1; }
		cmp "$f" "tests/vectors/$(basename "$f")" || { echo "tests/vectors differs from $f" >&2; exit 1; }
	done
	echo "vectors: identical"
fi

step "make check"
make -j"$(nproc)" check || { cat tests/unit/*.log tests/netns/*.log 2>/dev/null | tail -n 200; exit 1; }

step "unit tests under valgrind"
make check-valgrind

# The daemons once more, built with AddressSanitizer and UBSan (any report
# stops the daemon and fails its test), under the whole-system tests. The
# NSS module stays uninstrumented: programs like getent cannot load an
# ASan library.
if [ -d .git ] && [ "$(id -u)" = 0 ]; then
	step "whole-system tests with ASan+UBSan daemons"
	rm -rf _build-asan
	git clone -q . _build-asan
	(
		cd _build-asan
		autoreconf -fi >/dev/null 2>&1
		./configure CFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer" \
			LDFLAGS="-fsanitize=address,undefined" >/dev/null
		make -j"$(nproc)" >/dev/null
		make -j"$(nproc)" tests/netns/ntm_attack tests/netns/ntm_flood tests/netns/ntm_stream \
			tests/netns/ntm_xfer tests/netns/dns_burst tests/netns/librefuse.la tests/netns/libclockshift.la \
			tests/unit/fake_dns >/dev/null
		cp ../nss_ntm/.libs/libnss_ntm.so.2 nss_ntm/.libs/libnss_ntm.so.2
		for t in registration tunnels attacks resolver relay nat nat_keepalive nat_failover relay_failover \
			underlay dc_push mobility flood offload relay_offload namemap workers stubmap \
			dc_diag watch netcheck relayprobe resolved pg_registry dc_mesh dc_failover federation; do
			# offload.sh with smaller transfers: the same paths, at ASan's speed
			OFFLOAD_TCP_BYTES=$((16 << 20)) OFFLOAD_UDP_COUNT=4000 \
			ASAN_OPTIONS=detect_leaks=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
				top_builddir=$PWD top_srcdir=$PWD bash tests/netns/$t.sh > "../$t.asan.log" 2>&1 \
				|| { tail -n 60 "../$t.asan.log"; exit 1; }
			echo "asan: $t passed"
		done
	) || exit 1
	rm -rf _build-asan
else
	skip_step "check.sh: whole-system tests with ASan+UBSan daemons (needs root and a git checkout)"
fi

# The Debian packages: built from the release tree, lintian-clean,
# installed into a fresh minimal Debian 12 root (tests/packaging/deb.sh;
# about 3 minutes on 2 cores, half of it the package build, one minute the
# root).
step "Debian packages (build, lintian, install into a fresh Debian 12 root)"
rc=0
top_builddir=$PWD bash tests/packaging/deb.sh > deb.log 2>&1 || rc=$?
if [ "$rc" -eq 77 ]; then
	skip_step "tests/packaging/deb.sh: $(grep -m1 '^SKIP: ' deb.log | sed 's/^SKIP: //')"
elif [ "$rc" -ne 0 ]; then
	tail -n 80 deb.log
	exit 1
else
	grep -E '^(ok|FAIL):|^deb.sh:' deb.log
fi

step "libFuzzer targets, ${FUZZ_TIME}s each"
make fuzz FUZZ_TIME="$FUZZ_TIME"

# distcheck builds the release tarball and runs the whole suite from it;
# it does so with clang and -Werror, so this is also the clang build.
step "make distcheck (clang, -Werror)"
make distcheck DISTCHECK_CONFIGURE_FLAGS="CC=clang --enable-werror" > distcheck.log 2>&1 \
	|| { tail -n 80 distcheck.log; exit 1; }
grep -E '^# (TOTAL|PASS|FAIL|SKIP|ERROR):' distcheck.log | tr '\n' ' '; echo
echo "distcheck with clang: ok"

# The closing summary line, read by CI: individual checks from the libcheck
# logs plus whole-system test scripts from the automake harness.
summary() {
	checks=0; failed=0
	for l in tests/unit/*.log; do
		[ -f "$l" ] || continue
		line=$(grep -E '^[0-9]+%: Checks: ' "$l" | tail -n 1)
		[ -n "$line" ] || continue
		n=$(echo "$line" | sed -E 's/.*Checks: ([0-9]+).*/\1/')
		f=$(echo "$line" | sed -E 's/.*Failures: ([0-9]+), Errors: ([0-9]+).*/\1 \2/')
		checks=$((checks + n)); failed=$((failed + ${f% *} + ${f#* }))
	done
	sys_pass=$(cat tests/netns/*.trs 2>/dev/null | grep -c '^:test-result: PASS' || true)
	sys_fail=$(cat tests/*/*.trs 2>/dev/null | grep -cE '^:test-result: (FAIL|ERROR)' || true)
	echo "unit checks: $checks, whole-system tests passed: ${sys_pass:-0}"
	echo "$((checks - failed + ${sys_pass:-0})) passed, $((failed + ${sys_fail:-0})) failed"
}
# skipped: every test or step that did not run, and why.
skipped() {
	for trs in tests/*/*.trs; do
		[ -f "$trs" ] || continue
		grep -q '^:test-result: SKIP' "$trs" || continue
		log=${trs%.trs}.log
		reason=$(grep -m1 '^SKIP: ' "$log" 2>/dev/null | sed 's/^SKIP: //')
		echo "${trs%.trs}: ${reason:-no reason in $log}" >>"$SKIPS"
	done
	for log in tests/*/*.log; do
		[ -f "$log" ] || continue
		grep '^SKIP-PART: ' "$log" | sed "s|^SKIP-PART: |${log%.log} (part): |" >>"$SKIPS" || true
	done
	if [ -s "$SKIPS" ]; then
		echo "skipped ($(wc -l <"$SKIPS")):"
		sed 's/^/  /' "$SKIPS"
	else
		echo "skipped: none"
	fi
}
skipped
summary
