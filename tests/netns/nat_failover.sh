#!/bin/bash
# nat_failover.sh - NAT traversal: established direct tunnels do not depend on
# the relay or on the DC. Two port-restricted sites a and b (natlab.sh)
# with a direct tunnel.
#  (b) first, with a standalone ntm-relayd as the DC's only relay (so the
#      route's relay allocation is on it): kill -9 the relay while the
#      direct tunnel runs. For 5 s, a pings b by name and b pings a by its
#      virtual address at the same time: every echo is answered, TCP by
#      name works, both still list the other as direct. Reported as "not
#      run" (not failed) while ntm-relayd is not built or ntm-dcd.conf(5)
#      has no standalone relay; (a) is asserted regardless.
#  (a) kill -9 the DC (by PID): the same checks for 5 s; then, once both
#      nodes noticed the DC is gone (status no longer "registered"), 5 more
#      echoes each way, all answered, paths still direct.
. "$(dirname "$0")/lib.sh"
require_root
. "$(dirname "$0")/natlab.sh"
natlab_require
NTM_RELAYD=$top_builddir/relay/ntm-relayd
NTM_RELAYCTL=$top_builddir/relay/ntm-relayctl

NL_KA=2
NL_LIFE=6
DCLOSS=$((NL_KA + 2 * NL_KA + 5)) # ntm-dcd.conf(5)'s bound for noticing a lost DC, plus slack

# --- (b)'s relay, when it can run: ntm-relayd at 203.0.113.2 on the
# internet bridge, the DC configured to use it and no embedded relay. Keys
# first: each side's configuration names the other's key.
RELAY_NOTE=""
RELAY_IP=203.0.113.2
if [ ! -x "$NTM_RELAYD" ] || [ ! -x "$NTM_RELAYCTL" ]; then
	RELAY_NOTE="not run: ntm-relayd missing ($NTM_RELAYD)"
elif ! grep -q 'Relay\.NAME' "$top_srcdir/man/ntm-dcd.conf.5.in" 2>/dev/null; then
	RELAY_NOTE="not run: ntm-dcd.conf(5) documents no [Relay.NAME] section for a standalone relay"
else
	mkdir -p "$T/dc" "$T/relay"
	chmod 700 "$T/dc" "$T/relay"
	(umask 077; "$NTMCTL" genkey > "$T/dc/dc.key"; "$NTMCTL" genkey > "$T/relay/relay.key")
	cat > "$T/relay/relayd.conf" <<CONF
[Relay]
ListenAddressIPv4 = $RELAY_IP
PrivateKeyFile = $T/relay/relay.key
DCPublicKey = $("$NTMCTL" pubkey < "$T/dc/dc.key")
ControlSocket = $T/relay/run/relayd.sock
CONF
	"$NTM_RELAYD" -n -c "$T/relay/relayd.conf" > "$T/relayd-check.out" 2>&1 \
		|| fail "ntm-relayd -n: $(cat "$T/relayd-check.out")"
	NL_DC_EXTRA="[Relay]
EmbeddedRelay = no
[Relay.rs1]
EndpointIPv4 = $RELAY_IP:7542
PublicKey = $("$NTMCTL" pubkey < "$T/relay/relay.key")"
fi
# ctr WHO NAME: counter NAME of WHO (rstats or dstats) stats --json
ctr() { "$1" stats --json | grep -o "\"$2\": [0-9]*" | awk '{print $2}'; }
rstats() { "$NTM_RELAYCTL" -c "$T/relay/relayd.conf" "$@"; }
dstats() { "$NTM_DCCTL" -c "$DCCONF" "$@"; }
at_least() { local v; v=$(ctr "$1" "$2") && [ "${v:-0}" -ge "$3" ]; }

natlab_init
if [ -z "$RELAY_NOTE" ]; then
	ns_add relay
	NL_SITES=$((NL_SITES + 1))
	_nl_inet_port relay eth0 "$RELAY_IP/24"
	bg relay relayd "$NTM_RELAYD" -f -c "$T/relay/relayd.conf"
	RELAYD_PID=$LAST_PID
	wait_for 10 "the DC's session with ntm-relayd" at_least dstats standalone_handshakes 1
	ok "ntm-relayd at $RELAY_IP:7542, the DC's session with it is up"
fi
site a port
site b port
natlab_start
ok "a and b registered behind port-restricted NATs"
for n in a b; do nl_httpd "$n"; done
for n in a b; do wait_for 5 "httpd on $n" nl_httpd_ready "$n"; done
nl_ping_name a b 5 || fail "a could not ping b by name ($PING_ERR)"
wait_for 5 "direct path a -> b" nl_path_is a b direct
wait_for 5 "direct path b -> a" nl_path_is b a direct
ok "direct tunnel a <-> b (first reply after $PING_MS ms)"
A4=$(peer_field b a ipv4)
if [ -z "$RELAY_NOTE" ]; then
	wait_for 5 "the route's allocation on ntm-relayd" at_least rstats relay_allocs 1
	grep -q "relay rs1 allocation" "$T/dcd.log" || fail "the DC's log names no allocation on rs1"
	ok "the route a -> b has its relay allocation on ntm-relayd (rs1)"
fi

# flows LABEL COUNT: a pings b by name and b pings a by address, COUNT
# echoes 0.2 s apart each, at once; every echo must be answered; then TCP
# by name, and both paths direct.
flows() {
	local label=$1 c=$2 ra rb pa pb
	on_node a ping -4 -n -q -c "$c" -i 0.2 -w $((c / 5 + 5)) "$(fqdn b)" > "$T/flow-a.out" 2>&1 &
	pa=$!
	nsx b ping -n -q -c "$c" -i 0.2 -w $((c / 5 + 5)) "$A4" > "$T/flow-b.out" 2>&1 &
	pb=$!
	wait "$pa"; wait "$pb"
	ra=$(grep -o '[0-9]* received' "$T/flow-a.out" | awk '{print $1}')
	rb=$(grep -o '[0-9]* received' "$T/flow-b.out" | awk '{print $1}')
	[ "${ra:-0}" = "$c" ] || fail "$label: a -> b by name: ${ra:-0} of $c answered: $(cat "$T/flow-a.out")"
	[ "${rb:-0}" = "$c" ] || fail "$label: b -> a by address: ${rb:-0} of $c answered: $(cat "$T/flow-b.out")"
	nl_path_is a b direct || fail "$label: a's path to b is '$(peer_field a b path)'"
	nl_path_is b a direct || fail "$label: b's path to a is '$(peer_field b a path)'"
	nl_curl a b || fail "$label: TCP a -> b by name failed"
	ok "$label: $c of $c pings a -> b by name and b -> a ($A4) by address answered; TCP works; paths direct"
}

# --- (b) the relay dies ---
if [ -z "$RELAY_NOTE" ]; then
	disown "$RELAYD_PID" 2>/dev/null # (no "Killed" message from the shell)
	kill -9 "$RELAYD_PID"
	wait_for 5 "ntm-relayd gone" sh -c "! kill -0 $RELAYD_PID 2>/dev/null"
	flows "(b) ntm-relayd killed" 25
else
	echo "(b) relay killed: $RELAY_NOTE"
fi

# --- (a) the DC dies ---
disown "$DCD_PID" 2>/dev/null
kill -9 "$DCD_PID"
wait_for 5 "the DC gone" sh -c "! kill -0 $DCD_PID 2>/dev/null"
flows "(a) DC killed" 25
dc_lost() { ! registered "${NL_SOCK[$1]}"; }
wait_for "$DCLOSS" "a noticed the DC is gone" dc_lost a
wait_for "$DCLOSS" "b noticed the DC is gone" dc_lost b
ok "(a) both nodes noticed the DC is gone (a: $("$NTMCTL" -s "${NL_SOCK[a]}" status --json | grep -o '"state": "[a-z]*"'))"
flows "(a) DC gone and noticed" 5
echo "PASS: nat_failover${RELAY_NOTE:+ (a) only; (b) $RELAY_NOTE}"
