#!/bin/bash
# programs.sh - what every installed program offers a user or the service
# manager, checked on the build tree:
#  - `PROG --version` prints "PROG VERSION" (configure's PACKAGE_VERSION)
#    for the four daemons and the three tools;
#  - the example configurations (examples/, installed under
#    /usr/share/doc) pass `DAEMON -n` once their placeholders are filled;
#  - the bash completion (completions/ntm.bash) completes commands,
#    subcommands and options of ntmctl and ntm-dcctl;
#  - ntm-dcd, ntm-relayd and ntm-resolverd, started as systemd starts a
#    Type=notify unit (NOTIFY_SOCKET), send READY=1 with a STATUS= once
#    their sockets are bound, under their seccomp allow-list, and
#    STOPPING=1 on SIGTERM (ntm-tund's READY needs a DC: tests/netns/deb.sh
#    documents where that is covered).
# Root is not needed (as root the daemons drop to ntm or nobody).
#
# Environment: top_builddir, top_srcdir (the Makefile sets them). Exit 0
# pass, 1 fail.
set -u

: "${top_builddir:=.}" "${top_srcdir:=.}"
b=$top_builddir
version=$(sed -n 's/^#define PACKAGE_VERSION "\(.*\)"$/\1/p' "$b/config.h")
[ -n "$version" ] || { echo "FAIL: no PACKAGE_VERSION in $b/config.h"; exit 1; }

dir=$(mktemp -d /tmp/ntm-programs-XXXXXX)
chmod 755 "$dir"
pids=""
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$dir"
}
trap cleanup EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
pass() { echo "ok: $*"; }

# --version
for p in dc/ntm-dcd dc/ntm-dcctl relay/ntm-relayd relay/ntm-relayctl tund/ntm-tund \
	tund/ntmctl resolver/ntm-resolverd; do
	out=$("$b/$p" --version 2>&1)
	rc=$?
	want="${p#*/} $version"
	if [ "$rc" -eq 0 ] && [ "$out" = "$want" ]; then
		pass "$p --version: $out"
	else
		fail "$p --version: exit $rc, printed '$out', expected '$want'"
	fi
done

# the examples, with the DC key pasted in
key=$("$b/tund/ntmctl" genkey | "$b/tund/ntmctl" pubkey)
for e in tund:tund/ntm-tund dcd:dc/ntm-dcd relayd:relay/ntm-relayd resolverd:resolver/ntm-resolverd; do
	name=${e%%:*} prog=${e#*:}
	sed "s|PASTE-THE-OUTPUT-OF-ntm-dcctl-show-key-HERE|$key|" "$top_srcdir/examples/$name.conf" \
		>"$dir/$name.conf"
	if out=$("$b/$prog" -n -c "$dir/$name.conf" 2>&1); then
		pass "examples/$name.conf: $out"
	else
		fail "examples/$name.conf: $out"
	fi
done
# the example access policy parses (ntm-policy(5))
if out=$("$b/dc/ntm-dcctl" -c "$dir/dcd.conf" policy show "$top_srcdir/examples/policy" 2>&1); then
	pass "examples/policy: $(echo "$out" | head -1)"
else
	fail "examples/policy: $out"
fi
# unedited, the placeholder is refused by name
if "$b/tund/ntm-tund" -n -c "$top_srcdir/examples/tund.conf" >"$dir/out" 2>&1; then
	fail "examples/tund.conf with its placeholder key was accepted"
elif grep -q "tund.conf:[0-9]*:.*PublicKey" "$dir/out"; then
	pass "unedited example: $(cat "$dir/out")"
else
	fail "unedited example: unclear error: $(cat "$dir/out")"
fi

# bash completion, with the programs of the build tree on PATH
complete_words() {
	PATH="$b/tund:$b/dc:$b/relay:$PATH" bash -c '
		source "$1"; shift
		COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))
		_ntm_cli "$1"; echo "${COMPREPLY[*]}"' _ "$top_srcdir/completions/ntm.bash" "$@"
}
expect_completion() {
	want=$1; shift
	got=$(complete_words "$@")
	if [ "$got" = "$want" ]; then pass "complete '$*' -> $got"; else fail "complete '$*' -> '$got', expected '$want'"; fi
}
expect_completion "stats status" ntmctl st
expect_completion "enable" ntmctl dns e
expect_completion "disable enable status" ntmctl dns ""
expect_completion "--json" ntmctl peers -
expect_completion "peers ping pubkey" ntmctl -s /run/x p
expect_completion "add del list" ntm-dcctl node ""
expect_completion "--json" ntm-dcctl node list --
expect_completion "check reload show" ntm-dcctl policy ""
expect_completion "show-key stats" ntm-relayctl s

# sd_notify: READY=1 and STATUS= once serving, STOPPING=1 on SIGTERM
port=$((20000 + $$ % 20000))
notify_check() { # NAME PROG CONF-TEXT
	name=$1 prog=$2
	printf '%s\n' "$3" >"$dir/$name.n.conf"
	"$b/tests/unit/notify_listen" "$dir/$name.notify" 30 >"$dir/$name.msgs" 2>&1 &
	lpid=$!
	pids="$pids $lpid"
	for _ in $(seq 100); do [ -S "$dir/$name.notify" ] && break; sleep 0.1; done
	NOTIFY_SOCKET=$dir/$name.notify "$b/$prog" -f -c "$dir/$name.n.conf" >"$dir/$name.log" 2>&1 &
	dpid=$!
	pids="$pids $dpid"
	for _ in $(seq 100); do grep -q READY=1 "$dir/$name.msgs" && break; sleep 0.1; done
	kill -TERM "$dpid" 2>/dev/null
	wait "$dpid"
	drc=$?
	wait "$lpid"
	lrc=$?
	if grep -q "READY=1 STATUS=." "$dir/$name.msgs" && grep -q "STOPPING=1" "$dir/$name.msgs" &&
		[ "$drc" -eq 0 ] && [ "$lrc" -eq 0 ]; then
		pass "$name notifies: $(tr '\n' '|' <"$dir/$name.msgs")"
	else
		fail "$name: exit $drc, listener $lrc, messages: $(cat "$dir/$name.msgs"); log: $(tail -n 5 "$dir/$name.log")"
	fi
}
notify_check relayd relay/ntm-relayd "[Relay]
DCPublicKey = $key
ListenPort = $port
PrivateKeyFile = $dir/relay.key
ControlSocket = $dir/run/relayd.sock"
notify_check dcd dc/ntm-dcd "[DC]
Zone = ntm.example.org
ListenPort = $((port + 1))
PrivateKeyFile = $dir/dc.key
Database = $dir/db/dc.db
ControlSocket = $dir/run/dcd.sock
[Relay]
EmbeddedRelay = no"
notify_check resolverd resolver/ntm-resolverd "[Resolver]
ListenAddress = 127.0.0.1
ListenPort = $((port + 2))
UpstreamsFrom = $dir/resolv.conf
NssFile = $dir/nss"

echo "$failures failure(s)"
[ "$failures" -eq 0 ]
