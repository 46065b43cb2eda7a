#!/bin/sh
# setup.sh - install what ntm needs on Debian 12 and build it.
#
# Usage: tools/setup.sh [--demo]   (as root on a fresh machine; idempotent)
# Installs the Debian packages listed below (only those missing), then runs
# autoreconf, configure and make in the source tree. With --demo, only what
# tools/demo.sh needs (the build, and the programs the demo runs); without
# it, also everything the test suite uses. Says what it is doing at each
# step. Environment:
#   NTM_CONFIGURE_FLAGS  extra flags for ./configure (default: --enable-werror)
#   CC                   compiler (default: gcc)
set -eu

cd "$(dirname "$0")/.."

profile=test
case "${1:-}" in
	--demo) profile=demo ;;
	"") ;;
	*) echo "usage: tools/setup.sh [--demo]" >&2; exit 2 ;;
esac

# To build: compilers, autotools, the libraries (check too: configure
# wants it for the unit tests, and it is small; libseccomp-dev for the
# allow-list each daemon installs after its set-up, lib/sandbox.c;
# libsystemd-dev for sd_notify, lib/notify.c).
BUILD_PKGS="build-essential autoconf automake libtool pkgconf
      libgnutls28-dev nettle-dev libldns-dev libnl-3-dev libnl-route-3-dev libsqlite3-dev
      libpq-dev libseccomp-dev libsystemd-dev check"
# To run the demo: iproute2, nftables, procps, util-linux (unshare) for the
# namespaces and NATs; ping, curl and busybox httpd as the unmodified
# programs talking through the tunnel.
DEMO_PKGS="iproute2 nftables procps iputils-ping util-linux curl busybox"
# To test: git (the ASan build clones the tree), valgrind (unit tests),
# clang + its runtime (libFuzzer, the distcheck build), llvm (the
# llvm-symbolizer that turns sanitizer reports into file:line stacks),
# iperf3 and nc (traffic through the tunnel), dig, kdig and drill (clients
# of the stub resolver), dbus-daemon (a private system bus for the
# systemd-resolved test, tests/netns/resolved.sh) and systemd itself
# (libsystemd-shared, which that test's resolved runs on; a minimal root or
# container lacks it; installing the package does not make it PID 1).
# The Debian packages (tests/packaging/deb.sh): debhelper and lintian to
# build and check them, bash-completion (a build dependency), mmdebstrap
# for the fresh Debian 12 root they are installed into. postgresql: the
# server tests/unit/pg_store.sh runs the registry's tests against (initdb,
# pg_ctl, psql).
TEST_PKGS="git valgrind clang libclang-rt-14-dev llvm postgresql
      iperf3 netcat-openbsd bind9-dnsutils knot-dnsutils ldnsutils dbus-daemon systemd
      debhelper lintian bash-completion mmdebstrap"
PKGS="$BUILD_PKGS $DEMO_PKGS"
[ "$profile" = demo ] || PKGS="$PKGS $TEST_PKGS"
# Downloaded, never installed (installing it takes over /etc/resolv.conf):
# systemd-resolved of the installed systemd's version, which
# tests/netns/resolved.sh unpacks and runs in its own namespaces.
DEBS="systemd-resolved"
: "${NTM_DEB_CACHE:=/var/cache/ntm/debs}"

missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done
if [ -n "$missing" ]; then
	if [ "$(id -u)" != 0 ]; then
		echo "setup.sh: missing Debian packages:$missing" >&2
		echo "setup.sh: run as root, or: apt-get install$missing" >&2
		exit 1
	fi
	echo "setup.sh: $(echo "$missing" | wc -w) Debian packages to install ($profile):$missing"
	export DEBIAN_FRONTEND=noninteractive
	echo "setup.sh: apt-get update"
	apt-get update -qq
	echo "setup.sh: apt-get install (with their dependencies; this takes a minute on a fresh machine)"
	# shellcheck disable=SC2086
	apt-get install -y -q --no-install-recommends $missing |
		grep -E '^(Need to get|After this operation|Setting up)' | sed 's/^/setup.sh:   /' || true
	still=""
	for p in $missing; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || still="$still $p"
	done
	[ -z "$still" ] || { echo "setup.sh: apt-get could not install:$still" >&2; exit 1; }
else
	echo "setup.sh: every Debian package needed ($profile) is installed"
fi

if [ "$profile" = test ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
	mkdir -p "$NTM_DEB_CACHE"
	chmod 755 "$NTM_DEB_CACHE"
	for p in $DEBS; do
		# the version must match the installed systemd (libsystemd-shared)
		v=$(dpkg-query -W -f='${Version}' libsystemd-shared 2>/dev/null || true)
		[ -n "$v" ] || continue
		ls "$NTM_DEB_CACHE/${p}_$(echo "$v" | sed 's/:/%3a/')_"*.deb >/dev/null 2>&1 && continue
		echo "setup.sh: downloading $p $v into $NTM_DEB_CACHE (not installed)"
		(cd "$NTM_DEB_CACHE" && apt-get download -q "$p=$v" 2>/dev/null) ||
			echo "setup.sh: could not download $p $v; tests/netns/resolved.sh will try again or skip" >&2
	done
fi

if [ ! -x configure ] || [ configure.ac -nt configure ] || [ Makefile.am -nt Makefile.in ]; then
	echo "setup.sh: autoreconf (output in setup.log)"
	autoreconf -fi >setup.log 2>&1 || { tail -n 40 setup.log >&2; exit 1; }
fi
if [ ! -f Makefile ] || [ configure -nt config.status ]; then
	echo "setup.sh: configure ${NTM_CONFIGURE_FLAGS:---enable-werror} (output in setup.log)"
	# shellcheck disable=SC2086
	./configure ${NTM_CONFIGURE_FLAGS:---enable-werror} ${CC:+CC="$CC"} >>setup.log 2>&1 ||
		{ tail -n 40 setup.log >&2; exit 1; }
fi
echo "setup.sh: make -j$(nproc)"
make -j"$(nproc)"
