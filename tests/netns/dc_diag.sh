#!/bin/bash
# dc_diag.sh - a node that cannot register is told why, and so is the DC's
# operator: a DC and nodes on a routed test network (no NAT).
#  (a) a key that is not enrolled: the node's status says so and gives the
#      ntm-dcctl command; the DC logs the key in base64 with the command;
#      the command, run, lets the node register
#  (b) a wrong DC public key in the node's config: the DC logs a bad mac1
#      from the node's address; the node says no answer at all, with hints;
#      a node whose [DC] Endpoint names a port of the DC's host where
#      nothing listens hears the host's ICMP port unreachable instead and
#      says so (is ntm-dcd running?): not the same message
#  (c) the DC down (ntm-dcd stopped, its host up): a node that was
#      registered says the DC's host answers that nothing listens; with
#      [DC] RefuseUnenrolled = no, an unenrolled key gets no answer at all
#      (and the DC says it dropped it)
#  (d) a node clock an hour ahead: the node says clock skew, by how much
#  (e) [DC] Endpoint as a host name (the node's /etc/hosts, or a name
#      server) registers, is resolved again while the DC does not answer
#      (under the seccomp filter), and a name that does not resolve stops
#      ntm-tund with a message naming it
# The three misconfigurations give three different messages.
. "$(dirname "$0")/lib.sh"
require_root
command -v nsenter >/dev/null || skip "needs nsenter"
FAKE_DNS=$top_builddir/tests/unit/fake_dns
[ -x "$FAKE_DNS" ] || skip "tests/unit/fake_dns not built (make check builds it)"

ZONE=ntm.example.org

# --- topology: router "r", the DC and one namespace per node ---
ns_add r
nsx r sysctl -qw net.ipv4.ip_forward=1
ns_add dc
link dc eth0 "198.51.100.2/24" r dc0 "198.51.100.1/24"
nsx dc ip route add default via 198.51.100.1
# the address tests/unit/fake_dns answers for any name: the DC's too
nsx dc ip addr add 192.0.2.1/32 dev eth0
nsx r ip route add 192.0.2.1/32 via 198.51.100.2
NODES="a u w k h h2 u2 h5 p"
i=1
for n in $NODES; do
	ns_add "$n"
	link "$n" eth0 "203.0.113.$((16 * i + 2))/28" r "$n"0 "203.0.113.$((16 * i + 1))/28"
	nsx "$n" ip route add default via "203.0.113.$((16 * i + 1))"
	eval "ADDR_$n=203.0.113.$((16 * i + 2))"
	i=$((i + 1))
done
wait_for 5 "routing from a to the DC" nsx a ping -c1 -W1 198.51.100.2

# --- the DC ---
mkdir -p "$T/dc"
dc_conf() { # RefuseUnenrolled
	cat > "$T/dc/dcd.conf" <<CONF
[DC]
Zone = $ZONE
PrivateKeyFile = $T/dc/dc.key
Database = $T/dc/dc.db
ControlSocket = $T/dc/run/dcd.sock
KeepaliveInterval = 2
NodeLifetime = 6
RefuseUnenrolled = $1
CONF
}
dc_conf yes
"$NTM_DCD" -n -c "$T/dc/dcd.conf" >/dev/null || fail "ntm-dcd -n rejected the config"
bg dc dcd "$NTM_DCD" -f -c "$T/dc/dcd.conf"
DCD_PID=$LAST_PID
wait_for 5 "DC key file" test -s "$T/dc/dc.key"
DCPUB=$("$NTM_DCCTL" -c "$T/dc/dcd.conf" show-key) || fail "show-key"
dcctl() { "$NTM_DCCTL" -c "$T/dc/dcd.conf" "$@"; }

node_conf() { # NAME ENDPOINT DCKEY
	mkdir -p "$T/$1"
	cat > "$T/$1/tund.conf" <<CONF
[Node]
Name = $1
PrivateKeyFile = $T/$1/node.key
ControlSocket = $T/$1/run/tund.sock
User = nobody
[DC]
Endpoint = $2
PublicKey = $3
CONF
	(umask 077; "$NTMCTL" genkey > "$T/$1/node.key")
}
pub() { "$NTMCTL" pubkey < "$T/$1/node.key"; }
status() { "$NTMCTL" -s "$T/$1/run/tund.sock" status; }
status_has() { status "$1" | grep -qF -- "$2"; }
registered() { "$NTMCTL" -s "$T/$1/run/tund.sock" status --json | grep -q '"state": "registered"'; }
info() { status "$1" | sed -n '/^dc:/{n;p}' | sed 's/^ *//'; }

WRONGPUB=$("$NTMCTL" genkey | "$NTMCTL" pubkey)
for n in a u k u2; do node_conf "$n" 198.51.100.2:7540 "$DCPUB"; done
node_conf w 198.51.100.2:7540 "$WRONGPUB"
node_conf p 198.51.100.2:7549 "$DCPUB"   # nothing listens there
for n in a k; do dcctl node add "$n" "$(pub "$n")" >/dev/null || fail "node add $n"; done

CLOCKSHIFT=$top_builddir/tests/netns/.libs/libclockshift.so
[ -f "$CLOCKSHIFT" ] || fail "no $CLOCKSHIFT (make check builds it)"
for n in a u w p; do
	bg "$n" "tund-$n" "$NTM_TUND" -f -c "$T/$n/tund.conf"
	eval "PID_$n=\$LAST_PID"
done
bg k tund-k env LD_PRELOAD="$CLOCKSHIFT" NTM_TEST_CLOCK_SHIFT=3600 \
	ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" \
	"$NTM_TUND" -f -c "$T/k/tund.conf"
wait_for 10 "a registered" registered a
seccomp_on "$PID_a" ntm-tund-a
seccomp_on "$DCD_PID" ntm-dcd

# --- (a) not enrolled ---
UPUB=$(pub u)
wait_for 10 "u told it is not enrolled" status_has u "the DC refused us: this node's key is not enrolled"
MS_U=$WAITED_MS
status_has u "run on the DC: ntm-dcctl node add u $UPUB" || fail "u's status lacks the command: $(status u)"
grep -qF "the DC refused us: this node's key is not enrolled; run on the DC: ntm-dcctl node add u $UPUB" \
	"$T/tund-u.log" || fail "u did not log it"
grep -qF "handshake from $ADDR_u:7541 with key $UPUB, which is not enrolled (refused); to enrol it: ntm-dcctl node add NAME $UPUB" \
	"$T/dcd.log" || fail "the DC did not log u's key: $(grep -i enrol "$T/dcd.log")"
[ "$(grep -c "with key $UPUB" "$T/dcd.log")" = 1 ] || fail "the DC logged u's key more than once a minute"
INFO_U=$(info u)
ok "not enrolled: u says '$INFO_U' (${MS_U} ms after the test looked); the DC logged the key and the command"

# --- (b) wrong DC public key ---
wait_for 10 "w says no answer" status_has w "no answer at all from 198.51.100.2:7540"
MS_W=$WAITED_MS
status_has w "is [DC] PublicKey right? a wrong key gets no answer either" \
	|| fail "w's status lacks the hint: $(status w)"
status_has w "is UDP 7540 reachable?" || fail "w's status lacks the port: $(status w)"
grep -qF "no answer at all from 198.51.100.2:7540; is the DC running?" "$T/tund-w.log" \
	|| fail "w did not log it"
wait_for 5 "the DC logs w's bad mac1" grep -qF \
	"handshake from $ADDR_w:7541 with a bad mac1: the node's [DC] PublicKey is not this DC's key ($DCPUB)" \
	"$T/dcd.log"
INFO_W=$(info w)
ok "wrong DC key: w says '$INFO_W' (${MS_W} ms after the test looked); the DC logged a bad mac1 from $ADDR_w"

# nothing listening on the DC's port: its host's ICMP port unreachable
wait_for 10 "p says nothing listens" status_has p \
	"the DC's host answers that nothing listens on UDP port 7549 (198.51.100.2:7549)"
status_has p "is ntm-dcd running there?" || fail "p's status lacks the hint: $(status p)"
grep -qF "the DC's host answers that nothing listens on UDP port 7549 (198.51.100.2:7549); is ntm-dcd running there?" \
	"$T/tund-p.log" || fail "p did not log it: $(grep -i 'dc' "$T/tund-p.log" | tail -3)"
status_has w "nothing listens" && fail "w (wrong key, the DC running) says nothing listens: $(status w)"
INFO_P=$(info p)
[ "$INFO_P" != "$INFO_W" ] || fail "nothing listening and a wrong key read the same: '$INFO_P'"
ok "nothing listening: p says '$INFO_P'; w (wrong key) '$INFO_W'"

# --- (d) clock skew ---
wait_for 10 "k told of clock skew" sh -c "\"$NTMCTL\" -s \"$T/k/run/tund.sock\" status | grep -Eq 'clock skew: our clock is ahead of the DC.s by 3[56][0-9][0-9] s'"
grep -Eq "k.$ZONE: handshake from $ADDR_k:7541 refused: clock skew: stamped 3[56][0-9][0-9] s ahead" \
	"$T/dcd.log" || fail "the DC did not log k's skew: $(grep skew "$T/dcd.log")"
INFO_K=$(info k)
ok "clock skew: k says '$INFO_K'"

# three misconfigurations, three messages
[ -n "$INFO_U" ] && [ -n "$INFO_W" ] && [ -n "$INFO_K" ] || fail "a message is missing"
[ "$INFO_U" != "$INFO_W" ] && [ "$INFO_U" != "$INFO_K" ] && [ "$INFO_W" != "$INFO_K" ] \
	|| fail "the messages are not all different: '$INFO_U' '$INFO_W' '$INFO_K'"
dcctl stats --json > "$T/stats.json" || fail "stats"
for c in drop_bad_mac hs_refused_unenrolled hs_refused; do
	grep -Eq "\"$c\": [1-9]" "$T/stats.json" || fail "$c not counted: $(cat "$T/stats.json")"
done
ok "three different messages; the DC counted drop_bad_mac, hs_refused_unenrolled, hs_refused"

# the command u was given enrols it
dcctl node add u "$UPUB" > /dev/null || fail "the suggested command failed"
wait_for 40 "u registered once enrolled" registered u
status_has u "not enrolled" && fail "u still says not enrolled"
ok "the command u was given enrolled it; u registered"

# --- (e) Endpoint as a host name, from the node's /etc/hosts ---
printf 'hosts: files\n' > "$T/nsswitch.conf"
printf '127.0.0.1 localhost\n198.51.100.2 dc.test.example\n' > "$T/hosts"
printf '198.51.100.99 dc.test.example\n' > "$T/hosts.wrong"
printf 'nameserver 127.0.0.1\n' > "$T/resolv.conf"
node_conf h dc.test.example:7540 "$DCPUB"
node_conf h2 dc.test.example:7540 "$DCPUB"
for n in h h2; do dcctl node add "$n" "$(pub "$n")" >/dev/null || fail "node add $n"; done
bg h tund-h "$ETC_EXEC" "$T/h/etc" "$T/nsswitch.conf" "$T/hosts" "$T/resolv.conf" \
	"$NTM_TUND" -f -c "$T/h/tund.conf"
PID_h=$LAST_PID
wait_for 10 "h registered through a host name" registered h
status_has h "dc.test.example:7540" || fail "h's status does not name the DC: $(status h)"
grep -qF "[DC] Endpoint: dc.test.example is 198.51.100.2:7540" "$T/tund-h.log" || fail "h did not log the address"
ok "Endpoint = dc.test.example:7540 (from /etc/hosts) registers"

# h2's name points nowhere first; fixed while it runs, it is resolved again
bg h2 tund-h2 "$ETC_EXEC" "$T/h2/etc" "$T/nsswitch.conf" "$T/hosts.wrong" "$T/resolv.conf" \
	"$NTM_TUND" -f -c "$T/h2/tund.conf"
PID_h2=$LAST_PID
# (the router may say the address is unreachable, once its ARP gives up)
h2_says() {
	status h2 | grep -Eq 'no answer at all from dc\.test\.example \(198\.51\.100\.99:7540\)|the DC.s host dc\.test\.example \(198\.51\.100\.99:7540\) is unreachable'
}
wait_for 10 "h2 says no answer from the name" h2_says
seccomp_on "$PID_h2" ntm-tund-h2
nsenter -t "$PID_h2" -m sh -c "cat '$T/hosts' > /etc/hosts" || fail "cannot rewrite h2's /etc/hosts"
wait_for 40 "h2 registered after its name was fixed" registered h2
grep -qF "[DC] Endpoint: dc.test.example is 198.51.100.2:7540" "$T/tund-h2.log" || fail "h2 did not log the new address"
ok "a host name is resolved again while the DC does not answer (under the seccomp filter)"

# h5 asks a name server (tests/unit/fake_dns: 192.0.2.1, the DC's other
# address, for any name); it asks again, under its seccomp filter, while the
# DC is down below
printf 'hosts: dns\n' > "$T/nsswitch.dns"
bg h5 dns5 "$FAKE_DNS" -a 127.0.0.1:53 -m ok -l "$T/dns5.names" -t 600
wait_for 5 "h5's name server" grep -q ready "$T/dns5.log"
node_conf h5 dc.dns.example:7540 "$DCPUB"
dcctl node add h5 "$(pub h5)" >/dev/null || fail "node add h5"
bg h5 tund-h5 "$ETC_EXEC" "$T/h5/etc" "$T/nsswitch.dns" "$T/hosts.wrong" "$T/resolv.conf" \
	"$NTM_TUND" -f -c "$T/h5/tund.conf"
PID_h5=$LAST_PID
wait_for 10 "h5 registered through DNS" registered h5
grep -qi "^dc.dns.example" "$T/dns5.names" || fail "h5 did not ask the name server"
ok "Endpoint = dc.dns.example:7540 (from a name server) registers"

# a name that does not resolve: ntm-tund stops and says which
node_conf h3 nosuch.test.example:7540 "$DCPUB"
if nsx h2 "$ETC_EXEC" "$T/h3/etc" "$T/nsswitch.conf" "$T/hosts" "$T/resolv.conf" \
	"$NTM_TUND" -f -c "$T/h3/tund.conf" > "$T/h3.out" 2>&1; then
	fail "ntm-tund started with a DC name that does not resolve"
fi
grep -qF "[DC] Endpoint: nosuch.test.example does not resolve to an address" "$T/h3.out" \
	|| fail "unclear message: $(cat "$T/h3.out")"
node_conf h4 "dc..test:7540" "$DCPUB"
"$NTM_TUND" -n -c "$T/h4/tund.conf" > "$T/h4.out" 2>&1 && fail "ntm-tund -n accepted dc..test"
grep -qF "Endpoint: 'dc..test' is not a valid host name" "$T/h4.out" || fail "unclear: $(cat "$T/h4.out")"
ok "bad names: $(grep -o "nosuch.*" "$T/h3.out" | head -1); $(grep -o "Endpoint: 'dc..*" "$T/h4.out")"

# --- (c) the DC down ---
kill "$DCD_PID"; wait "$DCD_PID" 2>/dev/null
wait_for 30 "a says nothing listens" status_has a \
	"the DC's host answers that nothing listens on UDP port 7540 (198.51.100.2:7540)"
status_has a "is ntm-dcd running there?" || fail "a's hint: $(status a)"
INFO_A=$(info a)
[ "$INFO_A" != "$INFO_W" ] || fail "DC down and wrong key read the same"
ok "DC down (ntm-dcd stopped, its host up): a says '$INFO_A'"
# h5 asked its name server again, under its seccomp filter, and lives
n0=$(grep -ci "^dc.dns.example" "$T/dns5.names")
wait_for 30 "h5 resolving again while the DC is down" sh -c \
	"[ \$(grep -ci '^dc.dns.example' '$T/dns5.names') -gt $n0 ]"
kill -0 "$PID_h5" 2>/dev/null || fail "h5 died resolving again (seccomp?)"
seccomp_on "$PID_h5" ntm-tund-h5
ok "h5 asked its name server again while the DC was down (under the seccomp filter)"

# back, refusing nothing: a registers again, u2 (not enrolled) hears nothing
dc_conf no
bg dc dcd "$NTM_DCD" -f -c "$T/dc/dcd.conf"
DCD_PID=$LAST_PID
wait_for 40 "a registered again" registered a
status_has a "no answer" && fail "a still says no answer"
wait_for 40 "h5 registered again" registered h5
bg u2 tund-u2 "$NTM_TUND" -f -c "$T/u2/tund.conf"
wait_for 10 "u2 says no answer" status_has u2 "no answer at all from 198.51.100.2:7540"
grep -qF "with key $(pub u2), which is not enrolled (dropped)" "$T/dcd.log" \
	|| fail "the DC did not log u2's key as dropped"
ok "RefuseUnenrolled = no: u2 gets no answer, the DC logs its key all the same"
