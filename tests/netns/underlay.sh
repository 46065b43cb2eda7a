#!/bin/bash
# underlay.sh - a node notices its own underlay changing (rtnetlink, no
# polling) and tells the DC at once on the session it has. A router r, a
# DC with an IPv4 and an IPv6 address, and two nodes on their own links:
#  - a (DC Endpoint IPv4 only) is renumbered: ip addr del/add in its
#    namespace. Its status shows the new address, the DC sees it at the new
#    one, and there was no new handshake (dc_handshakes unchanged).
#  - b (DC Endpoint IPv4 and IPv6) starts without an IPv6 route, so it
#    registers over IPv4; an IPv6 route comes (IPv4 stays in use), then it
#    loses IPv4 entirely: it registers over IPv6, still on the same session.
. "$(dirname "$0")/lib.sh"
require_root

ZONE=ntm.example.org
DC4=198.51.100.2
DC6=2001:db8:dc::2

ns_add r
nsx r sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
ns_add dc
link dc eth0 "$DC4/24 $DC6/64" r dc0 "198.51.100.1/24 2001:db8:dc::1/64"
nsx dc ip route add default via 198.51.100.1
nsx dc ip -6 route add default via 2001:db8:dc::1
ns_add a
link a eth0 "10.1.0.2/24 2001:db8:1::2/64" r a0 "10.1.0.1/24 10.2.0.1/24 2001:db8:1::1/64"
nsx a ip route add default via 10.1.0.1
nsx a ip -6 route add default via 2001:db8:1::1
ns_add b
link b eth0 "10.3.0.2/24 2001:db8:2::2/64" r b0 "10.3.0.1/24 2001:db8:2::1/64"
nsx b ip route add default via 10.3.0.1
wait_for 5 "routing from a to the DC" nsx a ping -c1 -W1 "$DC4"

mkdir -p "$T/dc"
cat > "$T/dc/dcd.conf" <<CONF
[DC]
Zone = $ZONE
PrivateKeyFile = $T/dc/dc.key
Database = $T/dc/dc.db
ControlSocket = $T/dc/run/dcd.sock
CONF
bg dc dcd "$NTM_DCD" -f -c "$T/dc/dcd.conf"
wait_for 5 "DC key file" test -s "$T/dc/dc.key"
DCPUB=$("$NTM_DCCTL" -c "$T/dc/dcd.conf" show-key) || fail "show-key"

node() { # NAME ENDPOINTS
	mkdir -p "$T/$1"
	cat > "$T/$1/tund.conf" <<CONF
[Node]
Name = $1
PrivateKeyFile = $T/$1/node.key
ControlSocket = $T/$1/run/tund.sock
User = nobody
[DC]
Endpoint = $2
PublicKey = $DCPUB
CONF
	(umask 077; "$NTMCTL" genkey > "$T/$1/node.key")
	"$NTM_DCCTL" -c "$T/dc/dcd.conf" node add "$1" "$("$NTMCTL" pubkey < "$T/$1/node.key")" >/dev/null \
		|| fail "node add $1"
	"$NTM_TUND" -n -c "$T/$1/tund.conf" >/dev/null || fail "ntm-tund -n rejected $1's config"
	bg "$1" "tund-$1" "$NTM_TUND" -f -c "$T/$1/tund.conf"
}
node a "$DC4:7540"
node b "$DC4:7540, [$DC6]:7540"

status() { "$NTMCTL" -s "$T/$1/run/tund.sock" status --json; }
has() { status "$1" | grep -qF -- "$2"; }
handshakes() {
	"$NTMCTL" -s "$T/$1/run/tund.sock" stats --json | grep -o '"dc_handshakes": [0-9]*' | grep -o '[0-9]*$'
}
for n in a b; do
	wait_for 10 "$n registered" has "$n" '"state": "registered"'
done
has a '"observed": "10.1.0.2:7541"' || fail "a is not seen at 10.1.0.2:7541: $(status a)"
has a '"addresses": ["10.1.0.2", "2001:db8:1::2"]' || fail "a's underlay: $(status a)"
has b "\"endpoint\": \"$DC4:7540\"" || fail "b does not use the DC's IPv4 endpoint: $(status b)"
has b '"observed": "10.3.0.2:7541"' || fail "b is not seen at 10.3.0.2:7541: $(status b)"
ok "a and b registered over IPv4"

# --- a is renumbered: 10.1.0.2 -> 10.2.0.2 ---
hs_a=$(handshakes a)
[ -n "$hs_a" ] && [ "$hs_a" -ge 1 ] || fail "a's dc_handshakes is '$hs_a'"
nsx a ip addr del 10.1.0.2/24 dev eth0
nsx a ip addr add 10.2.0.2/24 dev eth0
nsx a ip route add default via 10.2.0.1
wait_for 10 "a seen by the DC at 10.2.0.2" has a '"observed": "10.2.0.2:7541"'
t_a=$WAITED_MS
has a '"addresses": ["2001:db8:1::2", "10.2.0.2"]' || has a '"addresses": ["10.2.0.2", "2001:db8:1::2"]' \
	|| fail "a's status lacks its new address: $(status a)"
has a '"state": "registered"' || fail "a is not registered: $(status a)"
[ "$(handshakes a)" = "$hs_a" ] || fail "a made a new handshake ($hs_a -> $(handshakes a))"
grep -q "underlay: .* -> .*10.2.0.2.*; re-registering with DC $DC4:7540" "$T/tund-a.log" \
	|| fail "a logged no underlay change: $(grep underlay "$T/tund-a.log")"
ok "a renumbered: the DC sees 10.2.0.2 after $t_a ms, on the same session ($hs_a handshake(s))"

# --- b: an IPv6 route comes (IPv4 stays in use), then IPv4 goes entirely ---
hs_b=$(handshakes b)
nsx b ip -6 route add default via 2001:db8:2::1
wait_for 10 "b's underlay change noticed" grep -q "underlay: .*; re-registering with DC $DC4:7540" "$T/tund-b.log"
nsx b ip -4 addr flush dev eth0
wait_for 10 "b registered over IPv6" has b "\"endpoint\": \"[$DC6]:7540\""
wait_for 10 "b seen by the DC over IPv6" has b '"observed": "[2001:db8:2::2]:7541"'
t_b=$WAITED_MS
has b '"state": "registered"' || fail "b is not registered: $(status b)"
has b '"addresses": ["2001:db8:2::2"]' || fail "b's underlay still lists IPv4: $(status b)"
[ "$(handshakes b)" = "$hs_b" ] || fail "b made a new handshake ($hs_b -> $(handshakes b))"
ok "b lost IPv4: registered over IPv6 with [$DC6]:7540 ($t_b ms), same session"
echo "PASS: underlay"
