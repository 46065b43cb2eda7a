#!/bin/sh
# setup.sh - install what ntm needs on Debian 12 and build it.
#
# Usage: tools/setup.sh            (as root on a fresh machine; idempotent)
# Installs the Debian packages listed below (only when one is missing), then
# runs autoreconf, configure and make in the source tree. Environment:
#   NTM_CONFIGURE_FLAGS  extra flags for ./configure (default: --enable-werror)
#   CC                   compiler (default: gcc)
set -eu

cd "$(dirname "$0")/.."

# Build tools and libraries; then what the tests use: check and valgrind
# (unit tests), clang + its runtime (libFuzzer), iproute2, nftables, ping,
# unshare (network-namespace tests), curl, iperf3, nc and busybox httpd
# (unmodified programs talking through the tunnel), dig, kdig and drill
# (clients of the stub resolver), dbus-daemon (a private system bus for the
# systemd-resolved test, tests/netns/resolved.sh).
PKGS="build-essential autoconf automake libtool pkgconf git
      libgnutls28-dev nettle-dev libldns-dev libnl-3-dev libnl-route-3-dev libsqlite3-dev
      check valgrind clang libclang-rt-14-dev
      iproute2 nftables procps iputils-ping util-linux
      curl iperf3 netcat-openbsd busybox bind9-dnsutils knot-dnsutils ldnsutils dbus-daemon"
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
	echo "setup.sh: installing:$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $missing
fi

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
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
	autoreconf -fi
fi
if [ ! -f Makefile ] || [ configure -nt config.status ]; then
	# shellcheck disable=SC2086
	./configure ${NTM_CONFIGURE_FLAGS:---enable-werror} ${CC:+CC="$CC"}
fi
make -j"$(nproc)"
