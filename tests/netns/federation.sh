#!/bin/bash
# federation.sh - two zones, each with its own DC (its own key and
# prefixes): node a of ntm.a.example (public address) reaches
# node b of ntm.b.example (behind a port-restricted NAT) by name
# (doc/protocol.md 10). Each DC pins the
# other's key in a [Federation.ZONE] section and finds the other through
# DNS: an authoritative server (fake_dns -m zone) serving SRV
# _ntm-dc._udp.ZONE and the DCs' A records is both DCs' [Federation]
# Resolver. Checks: ntm-dcd -n refuses bad [Federation.ZONE] sections;
# a's zones include ntm.b.example (REGISTER_ACK), ntmctl resolve, getent
# through nss_ntm and the ntm-resolverd stub give
# b's addresses, ping (IPv4 and IPv6) and TCP go both ways through the
# tunnel; a's address renumbered under the live tunnel: DC a tells DC b
# (FED_ROUTE_MOVED), DC b directs b again and the same route goes direct
# at a's new address through b's NAT, no new handshake (fails without the
# message: b never learns a's new address), then b's NAT renumbered and
# told the other way (DC b to DC a), then both at once (direct again
# within one keepalive interval); node c of zone b, with no direct path
# to a (nft in the router), resolves a (DC b asking DC a this time) and they meet through DC b's
# embedded relay; a name of ntm.c.example (a
# zone with an SRV record but no pinned key) does not resolve, nor does one
# of ntm.d.example (pinned, but no SRV record: DC a logs why); a DC whose
# key is not pinned is not answered, and says why; when DC b's own access
# policy stops letting zone a's nodes start tunnels to b, a's lookup is
# refused as forbidden by the DC's policy (DC b decides for its nodes); a
# DC whose resolver never answers goes on answering while it looks up.
. "$(dirname "$0")/lib.sh"
require_root
FAKE_DNS=$top_builddir/tests/unit/fake_dns
[ -x "$FAKE_DNS" ] || fail "tests/unit/fake_dns not built: run make check (or make tests/unit/fake_dns)"
for tool in getent nc nft ping ss; do
	command -v "$tool" >/dev/null || fail "$tool not installed (tools/setup.sh installs it)"
done
NSSLIB=$top_builddir/nss_ntm/.libs
[ -e "$NSSLIB/libnss_ntm.so.2" ] || fail "libnss_ntm.so.2 not built: run make"

# --- the configuration: what ntm-dcd -n refuses ---
badconf() { # WHAT EXPECTED-MESSAGE CONFIG-TAIL
	printf '[DC]\nZone = ntm.a.example\n%b' "$3" > "$T/bad.conf"
	if out=$("$NTM_DCD" -n -c "$T/bad.conf" 2>&1); then fail "$1 accepted"; fi
	echo "$out" | grep -q "$2" || fail "$1: message '$out' lacks '$2'"
}
K=q6E02jInZebDPtr0FzKrCa05rChRN9SMDAXRnyhoDBw=
badconf "own zone" "own zone" "[Federation.ntm.a.example]\nPublicKey = $K\n"
badconf "no key" "PublicKey" "[Federation.ntm.b.example]\n"
badconf "single label" "not a zone name" "[Federation.example]\nPublicKey = $K\n"
badconf "zone twice" "named twice" "[Federation.ntm.b.example]\nPublicKey = $K\n[Federation.ntm.b.example.]\nPublicKey = $K\n"
badconf "bad endpoint" "Endpoint" "[Federation.ntm.b.example]\nPublicKey = $K\nEndpoint = nowhere\n"
printf '[DC]\nZone = ntm.a.example\n[Federation]\nResolver = 192.0.2.53:53\n[Federation.ntm.b.example]\nPublicKey = %s\n' "$K" > "$T/good.conf"
"$NTM_DCD" -n -c "$T/good.conf" >/dev/null 2>&1 || fail "a good [Federation] configuration refused: $("$NTM_DCD" -n -c "$T/good.conf" 2>&1)"
ok "ntm-dcd -n: [Federation.ZONE] checked (own zone, key, name, duplicates, endpoint)"

ns_add r
nsx r sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
ns_add dca
link dca eth0 "198.51.100.2/24" r dca0 "198.51.100.1/24"
ns_add dcb
link dcb eth0 "198.51.101.2/24" r dcb0 "198.51.101.1/24"
ns_add dns
link dns eth0 "192.0.2.53/24" r dns0 "192.0.2.1/24"
ns_add a
link a eth0 "203.0.113.18/28" r a0 "203.0.113.17/28"
# b behind a port-restricted NAT (masquerade; only answers come in)
ns_add nb
link nb wan0 "203.0.113.34/28" r b0 "203.0.113.33/28"
ns_add b
link b eth0 "10.0.2.2/24" nb lan0 "10.0.2.1/24"
nsx nb sysctl -qw net.ipv4.ip_forward=1
nsx nb ip route add default via 203.0.113.33
nsx nb nft -f - <<NFT || fail "nft in nb"
table ip nat {
	chain postrouting { type nat hook postrouting priority srcnat; policy accept;
		oifname "wan0" ip saddr 10.0.2.0/24 masquerade
	}
}
table ip filter {
	chain forward { type filter hook forward priority filter; policy drop;
		ct state established,related accept
		iifname "lan0" oifname "wan0" accept
	}
}
NFT
nsx dca ip route add default via 198.51.100.1
nsx dcb ip route add default via 198.51.101.1
nsx dns ip route add default via 192.0.2.1
nsx a ip route add default via 203.0.113.17
nsx b ip route add default via 10.0.2.1

cat > "$T/zone" <<ZONE
example. 300 IN SOA ns.example. hostmaster.example. 1 3600 600 86400 300
_ntm-dc._udp.ntm.a.example. 300 IN SRV 0 0 7540 dc.a.example.
dc.a.example. 300 IN A 198.51.100.2
_ntm-dc._udp.ntm.b.example. 300 IN SRV 0 0 7540 dc.b.example.
dc.b.example. 300 IN A 198.51.101.2
_ntm-dc._udp.ntm.c.example. 300 IN SRV 0 0 7540 dc.c.example.
dc.c.example. 300 IN A 198.51.101.2
ZONE
bg dns fake-dns "$FAKE_DNS" -a 192.0.2.53:53 -m zone -z "$T/zone" -l "$T/dns.queries" -t 120
wait_for 5 "fake_dns ready" grep -q "^ready" "$T/fake-dns.log"

# Keys first: each DC's configuration pins the other's.
for z in a b; do
	mkdir -p "$T/dc$z"
	(umask 077; "$NTMCTL" genkey > "$T/dc$z/dc.key")
done
PUB_A=$("$NTMCTL" pubkey < "$T/dca/dc.key")
PUB_B=$("$NTMCTL" pubkey < "$T/dcb/dc.key")
dcconf() { # ZONE-LETTER PREFIX4 PREFIX6 PEER-LETTER PEER-KEY
	cat <<CONF
[DC]
Zone = ntm.$1.example
PrivateKeyFile = $T/dc$1/dc.key
Database = $T/dc$1/dc.db
ControlSocket = $T/dc$1/run/dcd.sock
IPv4Prefix = $2
IPv6Prefix = $3
[Federation]
Resolver = 192.0.2.53:53
[Federation.ntm.$4.example]
PublicKey = $5
CONF
}
dcconf a 198.18.0.0/16 fd00:aaaa::/48 b "$PUB_B" > "$T/dca/dcd.conf"
# zone d is pinned at DC a but publishes no SRV record: its DC cannot be found
printf '[Federation.ntm.d.example]\nPublicKey = %s\n' "$PUB_B" >> "$T/dca/dcd.conf"
dcconf b 198.19.0.0/16 fd00:bbbb::/48 a "$PUB_A" > "$T/dcb/dcd.conf"
# DC b has an access policy: everyone at first; made stricter at the end
echo 'allow * <-> *' > "$T/dcb/policy"
printf '[Policy]\nFile = %s\n' "$T/dcb/policy" >> "$T/dcb/dcd.conf"
bg dca dcd-a "$NTM_DCD" -f -c "$T/dca/dcd.conf"
DCA_PID=$LAST_PID
bg dcb dcd-b "$NTM_DCD" -f -c "$T/dcb/dcd.conf"
DCB_PID=$LAST_PID

for n in a b; do
	ep=$([ $n = a ] && echo 198.51.100.2 || echo 198.51.101.2)
	pub=$([ $n = a ] && echo "$PUB_A" || echo "$PUB_B")
	mkdir -p "$T/$n"
	cat > "$T/$n/tund.conf" <<CONF
[Node]
Name = $n
PrivateKeyFile = $T/$n/node.key
ControlSocket = $T/$n/run/tund.sock
NssFile = $T/$n/run/nss
[DC]
Endpoint = $ep:7540
PublicKey = $pub
CONF
	(umask 077; "$NTMCTL" genkey > "$T/$n/node.key")
	wait_for 5 "dc$n control socket" test -S "$T/dc$n/run/dcd.sock"
	"$NTM_DCCTL" -c "$T/dc$n/dcd.conf" node add "$n" "$("$NTMCTL" pubkey < "$T/$n/node.key")" \
		>/dev/null || fail "node add $n"
	bg "$n" "tund-$n" "$NTM_TUND" -f -c "$T/$n/tund.conf"
done
registered() { "$NTMCTL" -s "$1" status --json 2>/dev/null | grep -q '"state": "registered"'; }
sock_a=$T/a/run/tund.sock
sock_b=$T/b/run/tund.sock
wait_for 10 "a registered" registered "$sock_a"
wait_for 10 "b registered" registered "$sock_b"
seccomp_on "$DCA_PID" "ntm-dcd (zone a)"
seccomp_on "$DCB_PID" "ntm-dcd (zone b)"

# --- the DC lists the federated zone: a's status and nss file carry it ---
"$NTMCTL" -s "$sock_a" status --json | grep -q '"ntm.b.example"' ||
	fail "a's zones lack ntm.b.example: $("$NTMCTL" -s "$sock_a" status --json | grep zones)"
wait_for 5 "ntm.b.example in a's nss file" grep -qx "zone ntm.b.example" "$T/a/run/nss"
ok "a's zones: $(sed -n 's/^zone //p' "$T/a/run/nss" | tr '\n' ' ')"

# --- a resolves b across zones: DNS SRV, DC-DC session, both DCs decide ---
t0=$(date +%s%N)
out=$("$NTMCTL" -s "$sock_a" resolve b.ntm.b.example 2>&1) || fail "resolve b.ntm.b.example on a: $out"
COLD_MS=$(( ($(date +%s%N) - t0) / 1000000 ))
echo "$out" | grep -q "198\.19\." || fail "b's address is not in zone b's prefix: $out"
B4=$(echo "$out" | grep -o '198\.19\.[0-9]*\.[0-9]*' | head -1)
ok "ntmctl resolve b.ntm.b.example on a: $B4 in $COLD_MS ms (DNS, DC-DC handshake, both DCs)"
grep -q "^_ntm-dc._udp.ntm.b.example" "$T/dns.queries" || fail "DC a did not ask DNS for the SRV"
ok "DC a found DC b through DNS: $(grep -c . "$T/dns.queries") queries ($(sort -u "$T/dns.queries" | tr '\n' ' '))"
grep -q "federation ntm.b.example: session with its DC up" "$T/dcd-a.log" || fail "no DC-DC session logged"

out=$(nsx a env LD_LIBRARY_PATH="$NSSLIB" NTM_NSS_FILE="$T/a/run/nss" \
	getent -s hosts:ntm ahosts b.ntm.b.example) || fail "getent ahosts b.ntm.b.example: $out"
echo "$out" | grep -q "^$B4 " || fail "getent gave no $B4: $out"
ok "getent -s hosts:ntm ahosts b.ntm.b.example: $(echo "$out" | awk '{print $1}' | sort -u | tr '\n' ' ')"

# --- the DNS stub (ntm-resolverd) on a answers the federated zone too ---
RESOLVERD=$top_builddir/resolver/ntm-resolverd
command -v dig >/dev/null || fail "dig not found (tools/setup.sh installs bind9-dnsutils)"
[ -x "$RESOLVERD" ] || fail "$RESOLVERD not built: run make"
{
	echo "nameserver 192.0.2.53" > "$T/resolv.up"
	cat > "$T/resolverd.conf" <<CONF
[Resolver]
ListenAddress = 127.0.0.77
UpstreamsFrom = $T/resolv.up
NssFile = $T/a/run/nss
CONF
	bg a stub "$RESOLVERD" -f -c "$T/resolverd.conf"
	wait_for 5 "stub listening" grep -q "listening on" "$T/stub.log"
	out=$(nsx a dig @127.0.0.77 +time=5 +tries=1 +short b.ntm.b.example A)
	[ "$out" = "$B4" ] || fail "the stub's A for b.ntm.b.example: '$out', want $B4"
	out6=$(nsx a dig @127.0.0.77 +time=5 +tries=1 +short b.ntm.b.example AAAA)
	echo "$out6" | grep -q "^fd00:bbbb:" || fail "the stub's AAAA for b.ntm.b.example: '$out6'"
	ok "ntm-resolverd on a: b.ntm.b.example A $out AAAA $out6"
}

# --- traffic both ways ---
A4=$("$NTMCTL" -s "$sock_a" status --json | grep -o '"198\.18\.[0-9]*\.[0-9]*' | head -1 | tr -d '"')
[ -n "$A4" ] || fail "a has no address in zone a's prefix"
nsx a ping -c 3 -i 0.2 -W 2 "$B4" > "$T/ping-ab.out" 2>&1 || fail "ping a -> b ($B4): $(cat "$T/ping-ab.out")"
ok "ping a -> b: $(grep -o '[0-9]* received' "$T/ping-ab.out"), $(grep -o 'rtt.*' "$T/ping-ab.out")"
nsx b ping -c 3 -i 0.2 -W 2 "$A4" > "$T/ping-ba.out" 2>&1 || fail "ping b -> a ($A4): $(cat "$T/ping-ba.out")"
ok "ping b -> a: $(grep -o '[0-9]* received' "$T/ping-ba.out")"
B6=$(nsx a env LD_LIBRARY_PATH="$NSSLIB" NTM_NSS_FILE="$T/a/run/nss" \
	getent -s hosts:ntm ahostsv6 b.ntm.b.example | awk '$1 ~ /^fd00:bbbb:/ {print $1; exit}')
[ -n "$B6" ] || fail "no IPv6 address of b through getent"
nsx a ping -6 -c 3 -i 0.2 -W 2 "$B6" > "$T/ping6-ab.out" 2>&1 || fail "ping a -> b ($B6): $(cat "$T/ping6-ab.out")"
ok "ping a -> b over IPv6 ($B6): $(grep -o '[0-9]* received' "$T/ping6-ab.out")"

# --- reverse lookups of the other zone's live peer: from the names map
# (nss_ntm, the stub) and from ntm-tund (ntmctl); not for an address of
# zone b's prefix that a has no tunnel to ---
for addr in "$B4" "$B6"; do
	out=$(nsx a env LD_LIBRARY_PATH="$NSSLIB" NTM_NSS_FILE="$T/a/run/nss" \
		getent -s hosts:ntm hosts "$addr") || fail "getent hosts $addr (b) on a: $out"
	echo "$out" | grep -q " b\.ntm\.b\.example$" || fail "getent hosts $addr gave '$out', want b.ntm.b.example"
	out=$(nsx a dig @127.0.0.77 +time=5 +tries=1 +short -x "$addr")
	[ "$out" = "b.ntm.b.example." ] || fail "the stub's PTR for $addr: '$out', want b.ntm.b.example."
done
out=$("$NTMCTL" -s "$sock_a" resolve "$B4" 2>&1) || fail "ntmctl resolve $B4 on a: $out"
echo "$out" | grep -q "b\.ntm\.b\.example" || fail "ntmctl resolve $B4 gave '$out'"
NOPEER=198.19.255.254
if out=$(nsx a env LD_LIBRARY_PATH="$NSSLIB" NTM_NSS_FILE="$T/a/run/nss" \
	getent -s hosts:ntm hosts "$NOPEER"); then
	fail "getent hosts $NOPEER (no tunnel to it) answered '$out'"
fi
ok "reverse lookups of b's $B4 and $B6 on a (nss_ntm, the stub, ntmctl) give b.ntm.b.example; $NOPEER (no tunnel) is not found"

bg b nc-b sh -c "nc -l -p 9000 > '$T/nc-b.out' 2>/dev/null || nc -l 9000 > '$T/nc-b.out'"
wait_for 5 "nc on b" nsx b sh -c "ss -ltn | grep -q ':9000 '"
echo "from a across zones" | nsx a nc -N -w 5 "$B4" 9000 || fail "TCP a -> b"
wait_for 5 "TCP data on b" grep -q "from a across zones" "$T/nc-b.out"
ok "TCP a -> b"
bg a nc-a sh -c "nc -l -p 9001 > '$T/nc-a.out' 2>/dev/null || nc -l 9001 > '$T/nc-a.out'"
wait_for 5 "nc on a" nsx a sh -c "ss -ltn | grep -q ':9001 '"
echo "from b across zones" | nsx b nc -N -w 5 "$A4" 9001 || fail "TCP b -> a"
wait_for 5 "TCP data on a" grep -q "from b across zones" "$T/nc-a.out"
ok "TCP b -> a"

# --- the ends of a live federated tunnel move: the DCs tell each other ---
# While pings run a -> b, a's underlay address is renumbered
# (203.0.113.18 -> .19). b is behind a port-restricted NAT: a's datagrams
# from its new address are not let in until b has sent there, and b's go
# to a's old address, where nobody is. a re-registers; DC a sees a's move
# and tells DC b (FED_ROUTE_MOVED, doc/protocol.md 10.5); DC b directs b
# again with the same route and a's new candidates; b checks its path, its
# probes to a's new address open its NAT, and the route goes direct again:
# the same route, no new handshake. Without that message b never learns
# a's new address (DC b holds nothing of a's): the path stays on the relay
# and b keeps seeing a at the old address, which this check catches.
# Then b's NAT gets a new public address (.34 -> .35): b's next KEEPALIVE
# shows DC b the move and DC b tells DC a in turn (the other direction: b
# was the route's target, a its asker), which directs a again.
fst() { "$NTM_DCCTL" -c "$T/dc$1/dcd.conf" stats --json | grep -o "\"$2\": [0-9]*" | grep -o '[0-9]*$'; }
tst() { "$NTMCTL" -s "$1" stats 2>/dev/null | awk -v k="$2" '$1 == k { print $2 }'; }
poll() { # SECONDS CMD...: like wait_for, but returns 1 at the deadline
	local limit=$1 start; shift
	start=$(date +%s)
	until "$@" >/dev/null 2>&1; do
		[ $(( $(date +%s) - start )) -lt "$limit" ] || return 1
		sleep 0.1
	done
}
pf() { # SOCK PEER-NAME FIELD: one field of 'ntmctl peers --json'
	"$NTMCTL" -s "$1" peers --json 2>/dev/null | grep "\"name\": \"$2\"" |
		grep -o "\"$3\": [^,}]*" | head -n 1 | sed 's/^[^:]*: //; s/^"//; s/"$//'
}
[ "$(fst a fed_routes_kept)" -ge 1 ] && [ "$(fst b fed_routes_kept)" -ge 1 ] ||
	fail "the DCs hold no federated route for a and b (kept: DC a $(fst a fed_routes_kept), DC b $(fst b fed_routes_kept))"
HS_A=$(tst "$sock_a" peer_handshakes) HS_B=$(tst "$sock_b" peer_handshakes)
[ -n "$HS_A" ] && [ -n "$HS_B" ] || fail "no peer_handshakes counter in ntmctl stats"
sent0=$(fst a fed_moved_sent) dir_b0=$(fst b fed_moved_directed) dir_a0=$(fst a fed_moved_directed)
bg a ping-move ping -i 0.2 -c 40 -W 1 "$B4"
PING_MOVE=$LAST_PID
sleep 1
nsx a sh -c 'ip addr del 203.0.113.18/28 dev eth0 && ip addr add 203.0.113.19/28 dev eth0 &&
	ip route add default via 203.0.113.17' || fail "renumbering a"
A_UL=203.0.113.19
b_sees_a() { [ "$(pf "$sock_b" a.ntm.a.example endpoint)" = "$A_UL:7541" ] &&
	[ "$(pf "$sock_b" a.ntm.a.example path)" = direct ]; }
t0=$(date +%s%N)
poll 10 b_sees_a ||
	fail "a moved, b behind its NAT: no direct path to a's new address within 10 s: b sees a at '$(pf "$sock_b" a.ntm.a.example endpoint)' ($(pf "$sock_b" a.ntm.a.example path)); DC a fed_moved_sent $sent0 -> $(fst a fed_moved_sent), DC b fed_moved_directed $dir_b0 -> $(fst b fed_moved_directed)"
MOVE_MS=$(( ($(date +%s%N) - t0) / 1000000 ))
[ "$(fst a fed_moved_sent)" -gt "${sent0:-0}" ] || fail "DC a sent no FED_ROUTE_MOVED"
[ "$(fst b fed_moved_directed)" -gt "${dir_b0:-0}" ] || fail "DC b did not direct b again (fed_moved_directed $dir_b0)"
grep -q "a.ntm.a.example (ntm.a.example) moved: directing b.ntm.b.example again" "$T/dcd-b.log" ||
	fail "DC b did not log directing b again"
grep -q "a.ntm.a.example: path direct .* $A_UL:7541 (probe answered)" "$T/tund-b.log" ||
	fail "b's log shows no path check answered at a's new address"
wait "$PING_MOVE" || true
nsx a ping -c 3 -i 0.2 -W 2 "$B4" > "$T/ping-moved.out" 2>&1 || fail "ping a -> b after a moved: $(cat "$T/ping-moved.out")"
nsx b ping -c 3 -i 0.2 -W 2 "$A4" > "$T/ping-moved-ba.out" 2>&1 || fail "ping b -> a after a moved: $(cat "$T/ping-moved-ba.out")"
[ "$(tst "$sock_a" peer_handshakes)" = "$HS_A" ] && [ "$(tst "$sock_b" peer_handshakes)" = "$HS_B" ] ||
	fail "a new handshake between a and b: a $HS_A -> $(tst "$sock_a" peer_handshakes), b $HS_B -> $(tst "$sock_b" peer_handshakes)"
ok "a moved (203.0.113.18 -> $A_UL), b behind its port-restricted NAT: direct again in $MOVE_MS ms on the same route (no new handshake); DC a fed_moved_sent $sent0 -> $(fst a fed_moved_sent), DC b fed_moved_directed $dir_b0 -> $(fst b fed_moved_directed); b: $(grep -o "a.ntm.a.example: path direct .* $A_UL:7541 (probe answered)" "$T/tund-b.log" | tail -1); pings during the move: $(grep -o '[0-9]* received' "$T/ping-move.log")"
nsx nb sh -c 'ip addr del 203.0.113.34/28 dev wan0 && ip addr add 203.0.113.35/28 dev wan0 &&
	ip route add default via 203.0.113.33' || fail "renumbering b's NAT"
nsx b ping -c 3 -i 0.3 -W 2 "$A4" > "$T/ping-bnat.out" 2>&1 || true
a_directed() { [ "$(fst a fed_moved_directed)" -gt "${dir_a0:-0}" ]; }
wait_for 30 "DC a directing a again for b's move (b's next KEEPALIVE)" a_directed
grep -q "b.ntm.b.example (ntm.b.example) moved: directing a.ntm.a.example again" "$T/dcd-a.log" ||
	fail "DC a did not log directing a again"
[ "$(fst a fed_moved_dropped)" = 0 ] && [ "$(fst b fed_moved_dropped)" = 0 ] ||
	fail "a move dropped: DC a $(fst a fed_moved_dropped), DC b $(fst b fed_moved_dropped)"
nsx a ping -c 3 -i 0.2 -W 2 "$B4" > "$T/ping-moved2.out" 2>&1 || fail "ping a -> b after b's NAT moved: $(cat "$T/ping-moved2.out")"
case $(pf "$sock_a" b.ntm.b.example endpoint) in 203.0.113.35:*) ;; *) fail "a sees b at '$(pf "$sock_a" b.ntm.b.example endpoint)', want its NAT's new address 203.0.113.35" ;; esac
ok "b's NAT renumbered (.34 -> .35): told the other way (DC b -> DC a, b the route's target) within ${WAITED_MS} ms: DC a fed_moved_directed $dir_a0 -> $(fst a fed_moved_directed); a sees b at $(pf "$sock_a" b.ntm.b.example endpoint) ($(pf "$sock_a" b.ntm.b.example path)); ping a -> b $(grep -o '[0-9]* received' "$T/ping-moved2.out")"

# Both at once: b's NAT renumbered again (.35 -> .36) and a (.19 -> .20).
# Neither can reach the other, nor can DC b reach b (it knows b's NAT's
# old address) until b's next KEEPALIVE: DC b's copies for b are lost, but
# DC b keeps a's new candidates, and when b's KEEPALIVE shows its move, DC b
# directs b again with them (and tells DC a of b's). Within one keepalive
# interval the route is direct again at both new addresses (a new
# handshake through the relay may come first: no check on that here).
dir_a1=$(fst a fed_moved_directed) dir_b1=$(fst b fed_moved_directed)
nsx nb sh -c 'ip addr del 203.0.113.35/28 dev wan0 && ip addr add 203.0.113.36/28 dev wan0 &&
	ip route add default via 203.0.113.33' || fail "renumbering b's NAT again"
nsx a sh -c 'ip addr del 203.0.113.19/28 dev eth0 && ip addr add 203.0.113.20/28 dev eth0 &&
	ip route add default via 203.0.113.17' || fail "renumbering a again"
A_UL=203.0.113.20
both_direct() {
	b_sees_a || return 1
	case $(pf "$sock_a" b.ntm.b.example endpoint) in 203.0.113.36:*) ;; *) return 1 ;; esac
	[ "$(pf "$sock_a" b.ntm.b.example path)" = direct ]
}
t0=$(date +%s%N)
poll 40 both_direct ||
	fail "both moved at once: no direct path at the new addresses within 40 s: b sees a at '$(pf "$sock_b" a.ntm.a.example endpoint)' ($(pf "$sock_b" a.ntm.a.example path)), a sees b at '$(pf "$sock_a" b.ntm.b.example endpoint)' ($(pf "$sock_a" b.ntm.b.example path)); DC a fed_moved_directed $dir_a1 -> $(fst a fed_moved_directed), DC b $dir_b1 -> $(fst b fed_moved_directed)"
BOTH_MS=$(( ($(date +%s%N) - t0) / 1000000 ))
nsx a ping -c 3 -i 0.2 -W 2 "$B4" > "$T/ping-both.out" 2>&1 || fail "ping a -> b after both moved at once: $(cat "$T/ping-both.out")"
ok "both moved at once (b's NAT .35 -> .36, a .19 -> $A_UL): direct again at both new addresses in $BOTH_MS ms (DC a fed_moved_directed $dir_a1 -> $(fst a fed_moved_directed), DC b $dir_b1 -> $(fst b fed_moved_directed)); ping a -> b $(grep -o '[0-9]* received' "$T/ping-both.out")"

# --- the other way, relayed: node c of zone b, with no direct path to a,
# asks for a: DC b opens its own session to DC a and allocates on its
# embedded relay ---
fwd() { "$NTM_DCCTL" -c "$T/dc$1/dcd.conf" stats --json | grep -o '"relay_forwarded": [0-9]*' | grep -o '[0-9]*$'; }
echo "# a <-> b so far: DC a's embedded relay forwarded $(fwd a) capsules (0: all direct through b's NAT)"
ns_add c
link c eth0 "203.0.113.66/28" r c0 "203.0.113.65/28"
nsx c ip route add default via 203.0.113.65
nsx r nft -f - <<NFT || fail "nft in r"
table inet fedtest {
	chain forward_drop {
		type filter hook forward priority 0;
		ip saddr $A_UL ip daddr 203.0.113.66 drop
		ip saddr 203.0.113.66 ip daddr $A_UL drop
	}
}
NFT
mkdir -p "$T/c"
sed -e "s|$T/b/|$T/c/|g" -e "s|^Name = b|Name = c|" "$T/b/tund.conf" > "$T/c/tund.conf"
(umask 077; "$NTMCTL" genkey > "$T/c/node.key")
"$NTM_DCCTL" -c "$T/dcb/dcd.conf" node add c "$("$NTMCTL" pubkey < "$T/c/node.key")" >/dev/null ||
	fail "node add c"
bg c tund-c "$NTM_TUND" -f -c "$T/c/tund.conf"
wait_for 10 "c registered" registered "$T/c/run/tund.sock"
before=$(fwd b)
t0=$(date +%s%N)
out=$("$NTMCTL" -s "$T/c/run/tund.sock" resolve a.ntm.a.example 2>&1) || fail "resolve a.ntm.a.example on c: $out"
C_MS=$(( ($(date +%s%N) - t0) / 1000000 ))
echo "$out" | grep -q "$A4" || fail "c got another address for a: $out (a is $A4)"
grep -q "federation ntm.a.example: session with its DC up" "$T/dcd-b.log" || fail "DC b opened no session to DC a"
nsx c ping -c 3 -i 0.2 -W 3 "$A4" > "$T/ping-ca.out" 2>&1 || fail "ping c -> a ($A4) through the relay: $(cat "$T/ping-ca.out")"
C4=$("$NTMCTL" -s "$T/c/run/tund.sock" status --json | grep -o '"198\.19\.[0-9]*\.[0-9]*' | head -1 | tr -d '"')
nsx a ping -c 3 -i 0.2 -W 3 "$C4" > "$T/ping-ac.out" 2>&1 || fail "ping a -> c ($C4) through the relay: $(cat "$T/ping-ac.out")"
after=$(fwd b)
[ "${after:-0}" -gt "${before:-0}" ] || fail "DC b's embedded relay forwarded nothing (relay_forwarded $before -> $after)"
ok "c resolves a.ntm.a.example in $C_MS ms (DC b -> DC a); ping c -> a $(grep -o '[0-9]* received' "$T/ping-ca.out"), a -> c $(grep -o '[0-9]* received' "$T/ping-ac.out"), no direct path: through DC b's embedded relay (relay_forwarded $before -> $after)"

# --- a name zone b does not know: zone b's DC says so, a's lookup ends ---
if "$NTMCTL" -s "$sock_a" resolve nobody.ntm.b.example > "$T/res-nobody.out" 2>&1; then
	fail "nobody.ntm.b.example resolved: $(cat "$T/res-nobody.out")"
fi
grep -q "not found" "$T/res-nobody.out" || fail "nobody.ntm.b.example: $(cat "$T/res-nobody.out"), want not found"
grep -q "nobody.ntm.b.example: refused by its DC (status 1)" "$T/dcd-a.log" ||
	fail "DC a did not hear NOT_FOUND from DC b for nobody.ntm.b.example"
ok "nobody.ntm.b.example: $(cat "$T/res-nobody.out") (answered by zone b's DC)"

# --- a pinned zone whose DC DNS does not know: DC a says why, a's lookup fails ---
if "$NTMCTL" -s "$sock_a" resolve x.ntm.d.example > "$T/res-d.out" 2>&1; then
	fail "x.ntm.d.example resolved: $(cat "$T/res-d.out")"
fi
grep -q "federation ntm.d.example: finding its DC: _ntm-dc._udp.ntm.d.example: " "$T/dcd-a.log" ||
	fail "DC a did not say why it cannot find zone d's DC"
ok "x.ntm.d.example (pinned, no SRV record): $(cat "$T/res-d.out"); DC a: $(grep -o 'federation ntm.d.example: finding.*' "$T/dcd-a.log" | head -1)"

# --- a zone without a pinned key: no federation ---
if "$NTMCTL" -s "$sock_a" resolve x.ntm.c.example > "$T/res-c.out" 2>&1; then
	fail "x.ntm.c.example resolved without a pinned key: $(cat "$T/res-c.out")"
fi
grep -q "^_ntm-dc._udp.ntm.c.example" "$T/dns.queries" && fail "DC a looked up a zone it does not federate"
ok "x.ntm.c.example (SRV published, no pinned key) does not resolve: $(head -1 "$T/res-c.out")"

# A DC whose key b does not pin (a third DC claiming zone a's name) gets
# no answer: its handshake is counted and dropped.
mkdir -p "$T/dcx"
(umask 077; "$NTMCTL" genkey > "$T/dcx/dc.key")
sed -e "s|$T/dca|$T/dcx|g" "$T/dca/dcd.conf" > "$T/dcx/dcd.conf"
ns_add x
link x eth0 "198.51.102.2/24" r x0 "198.51.102.1/24"
nsx x ip route add default via 198.51.102.1
ns_add xn
link xn eth0 "203.0.113.50/28" r xn0 "203.0.113.49/28"
nsx xn ip route add default via 203.0.113.49
bg x dcd-x "$NTM_DCD" -f -c "$T/dcx/dcd.conf"
wait_for 5 "dcx control socket" test -S "$T/dcx/run/dcd.sock"
mkdir -p "$T/xn"
sed -e "s|$T/a/|$T/xn/|g" -e "s|198.51.100.2:7540|198.51.102.2:7540|" \
	-e "s|$PUB_A|$("$NTMCTL" pubkey < "$T/dcx/dc.key")|" "$T/a/tund.conf" > "$T/xn/tund.conf"
(umask 077; "$NTMCTL" genkey > "$T/xn/node.key")
"$NTM_DCCTL" -c "$T/dcx/dcd.conf" node add a "$("$NTMCTL" pubkey < "$T/xn/node.key")" >/dev/null
bg xn tund-xn "$NTM_TUND" -f -c "$T/xn/tund.conf"
wait_for 10 "xn registered" registered "$T/xn/run/tund.sock"
if "$NTMCTL" -s "$T/xn/run/tund.sock" resolve b.ntm.b.example > "$T/res-x.out" 2>&1; then
	fail "a DC with an unpinned key got an answer: $(cat "$T/res-x.out")"
fi
drops=$("$NTM_DCCTL" -c "$T/dcb/dcd.conf" stats --json | grep -o '"drop_fed": [0-9]*' | grep -o '[0-9]*$')
[ "${drops:-0}" -ge 1 ] || fail "DC b counted no dropped federation handshake (drop_fed ${drops:-?})"
wait_for 10 "the unpinned DC saying why" grep -q "b.ntm.b.example: no answer from its DC" "$T/dcd-x.log"
ok "an unpinned DC key gets no answer (DC b drop_fed $drops; it logs: $(grep -o 'federation ntm.b.example: .*' "$T/dcd-x.log" | tail -1))"

# --- the answering DC's own policy: DC b decides for its nodes ---
# Only c may start anything across zones now; a forgets b and asks again:
# DC b answers forbidden (before looking the name up), a's lookup fails
# with the DC's policy named, and DC a has no policy of its own.
echo 'allow c.ntm.b.example -> *.ntm.a.example' > "$T/dcb/policy"
"$NTM_DCCTL" -c "$T/dcb/dcd.conf" policy reload >/dev/null || fail "policy reload on DC b"
pd() { "$NTM_DCCTL" -c "$T/dc$1/dcd.conf" stats --json | grep -o '"policy_denied": [0-9]*' | grep -o '[0-9]*$'; }
d0=$(pd b)
"$NTMCTL" -s "$sock_a" down b.ntm.b.example >/dev/null || fail "ntmctl down b.ntm.b.example on a"
if "$NTMCTL" -s "$sock_a" resolve b.ntm.b.example > "$T/res-forbidden.out" 2>&1; then
	fail "b.ntm.b.example resolved on a against DC b's policy: $(cat "$T/res-forbidden.out")"
fi
grep -q "forbidden by the DC's policy" "$T/res-forbidden.out" ||
	fail "a's lookup of b after DC b's policy changed: $(cat "$T/res-forbidden.out"), want forbidden by the DC's policy"
d1=$(pd b)
[ "${d1:-0}" -gt "${d0:-0}" ] || fail "DC b's policy_denied did not grow (${d0:-?} -> ${d1:-?})"
[ "$(pd a)" = 0 ] || fail "DC a counted a policy refusal ($(pd a)); it has no policy"
grep -q "b.ntm.b.example: refused by its DC (status 5)" "$T/dcd-a.log" ||
	fail "DC a did not hear FORBIDDEN from DC b"
ok "DC b's own policy forbids a -> b: '$(cat "$T/res-forbidden.out")', DC b policy_denied $d0 -> $d1"

# --- a resolver that never answers does not stop the DC ---
# DC y (zone a's name, its own key and registry) asks a resolver that
# never answers (fake_dns -m stall): while its look-up runs (two sends,
# DC_FED_DNS_TIMEOUT_S each), the DC answers its control socket, and the
# counters it answers with show the look-up still under way.
nsx dns ip addr add 192.0.2.54/24 dev eth0
bg dns fake-dns-stall "$FAKE_DNS" -a 192.0.2.54:53 -m stall -l "$T/dns-stall.queries" -t 120
mkdir -p "$T/dcy" "$T/yn"
(umask 077; "$NTMCTL" genkey > "$T/dcy/dc.key")
sed -e "s|$T/dca|$T/dcy|g" -e "s|^Resolver = .*|Resolver = 192.0.2.54:53|" "$T/dca/dcd.conf" > "$T/dcy/dcd.conf"
ns_add y
link y eth0 "198.51.103.2/24" r y0 "198.51.103.1/24"
nsx y ip route add default via 198.51.103.1
ns_add yn
link yn eth0 "203.0.113.82/28" r yn0 "203.0.113.81/28"
nsx yn ip route add default via 203.0.113.81
bg y dcd-y "$NTM_DCD" -f -c "$T/dcy/dcd.conf"
wait_for 5 "dcy control socket" test -S "$T/dcy/run/dcd.sock"
sed -e "s|$T/a/|$T/yn/|g" -e "s|198.51.100.2:7540|198.51.103.2:7540|" \
	-e "s|$PUB_A|$("$NTMCTL" pubkey < "$T/dcy/dc.key")|" "$T/a/tund.conf" > "$T/yn/tund.conf"
(umask 077; "$NTMCTL" genkey > "$T/yn/node.key")
"$NTM_DCCTL" -c "$T/dcy/dcd.conf" node add a "$("$NTMCTL" pubkey < "$T/yn/node.key")" >/dev/null
bg yn tund-yn "$NTM_TUND" -f -c "$T/yn/tund.conf"
wait_for 10 "yn registered" registered "$T/yn/run/tund.sock"
"$NTMCTL" -s "$T/yn/run/tund.sock" resolve b.ntm.b.example > "$T/res-y.out" 2>&1 &
RES_Y=$!
wait_for 5 "the query at the stalled resolver" test -s "$T/dns-stall.queries"
ystat() { "$NTM_DCCTL" -c "$T/dcy/dcd.conf" stats --json | grep -o "\"$1\": [0-9]*" | grep -o '[0-9]*$'; }
started=$(ystat fed_dns_lookups) || fail "DC y's stats while its look-up runs"
ended=$(ystat fed_dns_done)
[ "${started:-0}" -ge 1 ] && [ "${ended:-0}" -lt "${started:-0}" ] ||
	fail "DC y's stats (look-ups $started, ended $ended): not answered while the look-up ran"
wait "$RES_Y" && fail "b.ntm.b.example resolved at DC y with no DNS answer: $(cat "$T/res-y.out")"
wait_for 10 "DC y giving up on the resolver" grep -q "ntm.b.example: no answer from the resolver" "$T/dcd-y.log"
ok "a stalled resolver: DC y answered its control socket during the look-up (look-ups $started, ended $ended), then logged: $(grep -o 'finding its DC: .*' "$T/dcd-y.log" | head -1)"

kill "$DCA_PID" "$DCB_PID"
exit 0
