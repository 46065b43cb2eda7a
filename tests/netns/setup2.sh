# setup2.sh - sourced by tunnel tests: a DC and nodes (NODES, default
# "a b") on a routed test network (router r, no NAT), all registered. Node
# number i has eth0 203.0.113.(16i+2)/28 and 2001:db8:i::2/64; NODE_EXTRA
# is added to each node's [Node] section, @NODE@ in it replaced by the
# node's name. Sets DCCONF,
# sock_NAME for each node, and registered(). Needs lib.sh sourced first.
# DC_EXTRA_CONF, when set, is appended to the DC's configuration.
# DC2=1 (opt-in, for a registry both can share: DC_EXTRA_CONF) adds a
# second instance of the same DC, same key file, in namespace dc2 at
# 192.0.2.2 / 2001:db8:dc2::2 ([Registry] Instance = 2; DCCONF2,
# DCD2_PID), and the nodes list both (DC_ENDPOINT_NAME, when set, is node
# NAME's [DC] Endpoint instead)
# instances, the first one first.
ZONE=ntm.example.org
ns_add r
nsx r sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
ns_add dc
link dc eth0 "198.51.100.2/24 2001:db8:dc::2/64" r dc0 "198.51.100.1/24 2001:db8:dc::1/64"
nsx dc ip route add default via 198.51.100.1
nsx dc ip -6 route add default via 2001:db8:dc::1
DC_ENDPOINT=198.51.100.2:7540
if [ "${DC2:-0}" = 1 ]; then
	ns_add dc2
	link dc2 eth0 "192.0.2.2/24 2001:db8:dc2::2/64" r dc20 "192.0.2.1/24 2001:db8:dc2::1/64"
	nsx dc2 ip route add default via 192.0.2.1
	nsx dc2 ip -6 route add default via 2001:db8:dc2::1
	DC_ENDPOINT="198.51.100.2:7540; 192.0.2.2:7540"
fi
: "${NODES:=a b}"
i=1
for n in $NODES; do
	ns_add "$n"
	link "$n" eth0 "203.0.113.$((16 * i + 2))/28 2001:db8:$i::2/64" r "$n"0 "203.0.113.$((16 * i + 1))/28 2001:db8:$i::1/64"
	nsx "$n" ip route add default via "203.0.113.$((16 * i + 1))"
	nsx "$n" ip -6 route add default via "2001:db8:$i::1"
	i=$((i + 1))
done
mkdir -p "$T/dc"
NODE_EXTRA_N=${NODE_EXTRA:-}
DCCONF=$T/dc/dcd.conf
cat > "$DCCONF" <<CONF
[DC]
Zone = $ZONE
PrivateKeyFile = $T/dc/dc.key
Database = $T/dc/dc.db
ControlSocket = $T/dc/run/dcd.sock
CONF
[ -z "${DC_EXTRA_CONF:-}" ] || printf '%s\n' "$DC_EXTRA_CONF" >> "$DCCONF"
bg dc dcd "$NTM_DCD" -f -c "$DCCONF"
DCD_PID=$LAST_PID
wait_for 5 "DC key file" test -s "$T/dc/dc.key"
DCPUB=$("$NTM_DCCTL" -c "$DCCONF" show-key)
if [ "${DC2:-0}" = 1 ]; then
	mkdir -p "$T/dc2"
	DCCONF2=$T/dc2/dcd.conf
	sed -e "s|^Database = .*|Database = $T/dc2/dc.db|" \
	    -e "s|^ControlSocket = .*|ControlSocket = $T/dc2/run/dcd.sock|" \
	    -e "s|^\\[Registry\\]\$|[Registry]\\nInstance = 2|" "$DCCONF" > "$DCCONF2"
	# each instance its own number ([Registry] Instance, default 1)
	grep -q '^Instance = 2$' "$DCCONF2" || printf '[Registry]\nInstance = 2\n' >> "$DCCONF2"
	bg dc2 dcd2 "$NTM_DCD" -f -c "$DCCONF2"
	DCD2_PID=$LAST_PID
	wait_for 5 "the second DC's control socket" test -S "$T/dc2/run/dcd.sock"
fi
for n in $NODES; do
	mkdir -p "$T/$n"
	cat > "$T/$n/tund.conf" <<CONF
[Node]
Name = $n
PrivateKeyFile = $T/$n/node.key
ControlSocket = $T/$n/run/tund.sock
${NODE_EXTRA_N//@NODE@/$n}
[DC]
Endpoint = $(eval "echo \"\${DC_ENDPOINT_$n:-\$DC_ENDPOINT}\"")
PublicKey = $DCPUB
CONF
	(umask 077; "$NTMCTL" genkey > "$T/$n/node.key")
	"$NTM_DCCTL" -c "$DCCONF" node add "$n" "$("$NTMCTL" pubkey < "$T/$n/node.key")" >/dev/null
	bg "$n" "tund-$n" "$NTM_TUND" -f -c "$T/$n/tund.conf"
	eval "TUND_PID_$n=\$LAST_PID"
done
registered() { "$NTMCTL" -s "$1" status --json 2>/dev/null | grep -q '"state": "registered"'; }
for n in $NODES; do
	eval "sock_$n=\$T/\$n/run/tund.sock"
	wait_for 10 "$n registered" registered "$T/$n/run/tund.sock"
done
