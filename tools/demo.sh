#!/bin/bash
# demo.sh - install, build and run ntm's main job, on screen.
#
# Usage: tools/demo.sh   (as root on Debian 12)
#
# Builds a small internet out of network namespaces: a router, a DC
# (ntm-dcd) and two nodes, alice and bob, each running ntm-tund. On alice,
# unmodified programs (getent, ping, curl) reach bob by the name
# bob.ntm.example.org: glibc asks nss_ntm, nss_ntm asks alice's ntm-tund,
# which has the DC direct both nodes and sets up an encrypted tunnel. Every
# namespace and process is removed at the end. The routed network has no
# NAT yet: traversal of NATs and the relay are issue 6 (README "Status").
set -eu
cd "$(dirname "$0")/.."
tools/setup.sh >/dev/null

top_builddir=$PWD top_srcdir=$PWD
export top_builddir top_srcdir
NODES="alice bob"
# shellcheck source=../tests/netns/lib.sh
. tests/netns/lib.sh
require_root
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '\033[36m%s$\033[0m %s\n' "$1" "${*:2}"; }

say "A router, a DC at 198.51.100.2 and two nodes on their own networks"
# shellcheck source=../tests/netns/setup2.sh
. tests/netns/setup2.sh
"$NTM_DCCTL" -c "$DCCONF" node list

say "alice's daemon, registered: its virtual addresses come from the DC"
"$NTMCTL" -s "$sock_alice" status

NSSLIB=$top_builddir/nss_ntm/.libs
cat > "$T/nsswitch.conf" <<CONF
hosts: files ntm [!UNAVAIL=return] dns
CONF
# on alice, with the nsswitch line the documentation recommends
on_alice() {
	nsx alice env LD_LIBRARY_PATH="$NSSLIB" NTM_NSS_FILE="$T/alice/run/nss" unshare -m sh -c '
		mount --bind "$1" /etc/nsswitch.conf || exit 97
		shift; exec "$@"' sh "$T/nsswitch.conf" "$@"
}

say "bob serves a web page on port 8080"
mkdir -p "$T/www"
echo "Hello alice, this is bob, through an ntm tunnel." > "$T/www/index.html"
bg bob httpd busybox httpd -f -p 8080 -h "$T/www"
wait_for 5 "bob's web server" nsx bob nc -z 127.0.0.1 8080

say "On alice, unmodified programs use the name bob.ntm.example.org"
echo "(nsswitch.conf: $(cat "$T/nsswitch.conf"))"
run alice getent ahosts bob.ntm.example.org
on_alice getent ahosts bob.ntm.example.org
run alice ping -c 3 bob.ntm.example.org
on_alice ping -c 3 bob.ntm.example.org
run alice curl http://bob.ntm.example.org:8080/
on_alice curl -sS http://bob.ntm.example.org:8080/

say "The tunnel as alice's daemon sees it"
"$NTMCTL" -s "$sock_alice" peers
run alice ntmctl ping bob.ntm.example.org
"$NTMCTL" -s "$sock_alice" ping -c 3 bob.ntm.example.org

say "Done: cleaning up namespaces and daemons"
