#!/bin/bash
# demo.sh - install, build and run ntm's main job, on screen.
#
# Usage: tools/demo.sh   (as root on Debian 12)
#
# Builds a small internet out of network namespaces: a DC (ntm-dcd, with
# its embedded relay) on the "internet", and three nodes, each running
# ntm-tund behind its own NAT: alice behind a port-restricted cone NAT (a
# stock Linux masquerade), bob and carol each behind a symmetric NAT
# (a new random port for every destination). On alice and bob, unmodified
# programs (getent, ping, curl) reach the others by name: glibc asks
# nss_ntm, nss_ntm asks the local ntm-tund, which has the DC direct both
# nodes; they punch through their NATs (alice <-> bob needs the birthday
# search) or, for two symmetric NATs (bob <-> carol), start on the relay
# (and stay there as a rule: ntm(7) says how often the search gets through).
# Every namespace and process is removed at the end.
set -eu
cd "$(dirname "$0")/.."
# Installs and builds only what the demo needs, one line per step.
set -o pipefail
tools/setup.sh --demo | grep --line-buffered -E '^setup\.sh:|error|Error'
set +o pipefail

top_builddir=$PWD top_srcdir=$PWD
export top_builddir top_srcdir
# shellcheck source=../tests/netns/lib.sh
. tests/netns/lib.sh
require_root
# shellcheck source=../tests/netns/natlab.sh
. tests/netns/natlab.sh
natlab_require
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '\033[36m%s$\033[0m %s\n' "$1" "${*:2}"; }

say "The internet (203.0.113.0/24), a DC at $NL_DC_IP, three homes behind NATs"
natlab_init
site alice port
site bob sym
site carol sym
natlab_start
for n in alice bob carol; do
	printf '%-6s LAN %-10s behind a %-22s NAT, seen by the DC as %s\n' "$n" "${NL_LAN[$n]}" \
		"$( [ "${NL_TYPE[$n]}" = sym ] && echo symmetric || echo port-restricted cone)" "$(observed "$n")"
done
"$NTM_DCCTL" -c "$DCCONF" node list

say "alice's daemon, registered: its virtual addresses come from the DC"
"$NTMCTL" -s "${NL_SOCK[alice]}" status

say "bob and carol serve a web page on port 8080"
nl_httpd bob
nl_httpd carol
wait_for 5 "bob's web server" nl_httpd_ready bob
wait_for 5 "carol's web server" nl_httpd_ready carol

say "On alice, unmodified programs use the name bob.ntm.example.org"
echo "(nsswitch.conf: $(cat "$T/nsswitch.conf"))"
run alice getent ahosts bob.ntm.example.org
on_node alice getent ahosts bob.ntm.example.org
run alice ping -c 4 bob.ntm.example.org
on_node alice ping -c 4 bob.ntm.example.org
run alice curl http://bob.ntm.example.org:8080/id.txt
on_node alice curl -sS http://bob.ntm.example.org:8080/id.txt

say "On bob, the same to carol: two symmetric NATs, so through the relay (as a rule)"
run bob ping -c 3 carol.ntm.example.org
on_node bob ping -c 3 carol.ntm.example.org
run bob curl http://carol.ntm.example.org:8080/id.txt
on_node bob curl -sS http://carol.ntm.example.org:8080/id.txt

say "The tunnels as the daemons see them (path and why)"
run alice ntmctl peers
"$NTMCTL" -s "${NL_SOCK[alice]}" peers
run bob ntmctl peers
"$NTMCTL" -s "${NL_SOCK[bob]}" peers
run alice ntmctl ping bob.ntm.example.org
"$NTMCTL" -s "${NL_SOCK[alice]}" ping -c 3 bob.ntm.example.org

say "Done: cleaning up namespaces and daemons"
