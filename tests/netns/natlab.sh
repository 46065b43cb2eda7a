# natlab.sh - sourced by the NAT traversal tests: a little internet of
# network namespaces with a DC in the middle and sites behind NATs of the
# RFC 4787 kinds, built to doc/lab.md's recipes. Needs lib.sh sourced
# first (it uses ns_add, link, bg, nsx, wait_for, fail).
#
#   ns inet: bridge br0 203.0.113.1/24; ntm-dcd (UDP 7540, embedded relay
#            7542) listens there. It has no route to any LAN prefix and
#            forwards nothing (public addresses only, once an NL_ISP site
#            exists), so sites reach each other only through NATs.
#   site NAME TYPE        one node, namespace NAME, behind NAT namespace
#                         NAME-nat of TYPE (or, for TYPE none, directly on br0)
#   site_same N1 N2 TYPE  two nodes on one LAN behind one NAT (N1-nat)
#   site_double NAME T1 T2  NAME -> NAME-nat (home NAT, T1) -> NAME-cgn (T2)
#
# Site number i (1, 2, ... in the order made) has the public address
# 203.0.113.(10+i) (the NAT's wan0, or the node's eth0 for TYPE none) and
# the LAN 10.i.0.0/24: NAT lan0 (a bridge) 10.i.0.1, nodes 10.i.0.2, .3.
# The CGNAT of site_double has lan0 100.64.i.1/24, the home NAT's wan0
# 100.64.i.2/24. Every node listens on UDP NL_PORT (ListenPort, 7541).
#
# NAT types (mapping x filtering, RFC 4787), nftables in the NAT namespace:
#   none  no NAT: the node's eth0 is on the internet
#   full  full cone: endpoint-independent mapping pinned with nft maps
#         (node:7541 -> public:NL_CONE_PORT), endpoint-independent filtering
#         (inbound to the mapping passes once the node sent anything out
#         within NL_SEEN_TIMEOUT)
#   addr  address-restricted cone: the same mapping, inbound passes only
#         from an address the node sent to (address-dependent filtering)
#   port  port-restricted cone: stock masquerade (Linux keeps the source
#         port when free: endpoint-independent mapping in practice),
#         address-and-port-dependent filtering by conntrack
#   sym   symmetric: masquerade fully-random, a new random port for every
#         new destination, address-and-port-dependent filtering
#
# Knobs (set before natlab_init / site*):
#   NL_KA           DC KeepaliveInterval (s), default 5
#   NL_LIFE         DC NodeLifetime (s), default 30
#   NL_DC_EXTRA     more lines for the DC's [DC] section
#   NL_NODE_EXTRA   more lines for every node's [Node] section
#   NL_CT_UDP       if set: nf_conntrack_udp_timeout and _stream (s) in
#                   every NAT namespace
#   NL_SEEN_TIMEOUT the cone NATs' inbound-permission lifetime (default 30s;
#                   set it to match NL_CT_UDP for mapping-lifetime tests)
#   NL_DC_ENDPOINT_LINES  the DC endpoint line(s) of every node's [DC]
#                   section (default "Endpoint = $NL_DC_IP:7540")
#   NL_UDP_ONLY_TO  if set (a space-separated list of IPv4 addresses, e.g.
#                   the DC's and the relays'): the site is behind a strict
#                   firewall as well as its NAT, one that forwards UDP only
#                   to and from those addresses (a corporate egress policy
#                   that allows the VPN servers and nothing else). No direct
#                   path to or from such a site exists, whatever the NAT
#                   type: the pair is relayed. Dropped datagrams are counted
#                   (nl_udp_blocked). Set it for one site only:
#                   NL_UDP_ONLY_TO="..." site NAME TYPE
#   NL_WAN_INPUT    what the NAT box does with a new flow addressed to
#                   itself on wan0 (a peer's datagram that matched no
#                   mapping): drop (default, as home routers do), accept (a
#                   bare Linux box: its stack takes it and conntrack keeps
#                   the flow, so masquerade moves the node's own flow to
#                   that peer to another port) or reject (ICMP port
#                   unreachable, no flow kept). Per site, like
#                   NL_UDP_ONLY_TO. nl_wan_new counts those flows.
#   NL_ISP          if set: the site's NAT sits behind its ISP's router
#                   NAME-isp instead of on br0 (doc/lab.md 2), so a router
#                   lies between it and every other site's NAT; its public
#                   address is 198.51.100.(10+i). Per site; site only.
#
# After natlab_start: NL_NODES (all node names), and per node (associative
# arrays keyed by node name) NL_SOCK, NL_PID, NL_TYPE, NL_PUB (public
# address), NL_LAN (LAN address; the public one for TYPE none),
# NL_EXTPORT (the port the NAT maps the node to, where fixed, else "").
# Helpers: on_node, fqdn, peer_json, peer_field, nl_ping_name, poll_until,
# nl_restart_tund, nl_httpd, registered.
# Moving nodes (mobility.sh, bench/handover.sh): nl_inet6, nl_ip6, nl_nat_spare,
# nl_spare_port, nl_move, nl_rebind, nl_renumber.

ZONE=ntm.example.org
NL_DC_IP=203.0.113.1
NL_PORT=7541
: "${NL_KA:=5}"
: "${NL_LIFE:=30}"
: "${NL_DC_EXTRA:=}"
: "${NL_NODE_EXTRA:=}"
: "${NL_CT_UDP:=}"
: "${NL_SEEN_TIMEOUT:=30s}"
: "${NL_WAN_INPUT:=drop}"
: "${NL_UDP_ONLY_TO:=}"
: "${NL_ISP:=}"
NSSLIB=$top_builddir/nss_ntm/.libs
NL_NODES=""
NL_SITES=0
NL_NATS=""
declare -A NL_SOCK NL_PID NL_TYPE NL_PUB NL_LAN NL_EXTPORT NL_NS

natlab_require() {
	local tool
	command -v nft >/dev/null || skip "needs nftables (nft)"
	for tool in getent unshare ping busybox curl; do
		command -v "$tool" >/dev/null || skip "needs $tool"
	done
	[ -e "$NSSLIB/libnss_ntm.so.2" ] || skip "libnss_ntm.so.2 not built"
	for tool in "$NTM_DCD" "$NTM_DCCTL" "$NTM_TUND" "$NTMCTL"; do
		[ -x "$tool" ] || fail "$tool not built: run make first"
	done
}

# natlab_init: the internet namespace and the DC.
natlab_init() {
	ns_add inet
	ip -n "$P-inet" link add br0 type bridge || fail "bridge in inet"
	ip -n "$P-inet" addr add "$NL_DC_IP/24" dev br0
	ip -n "$P-inet" link set br0 up
	_nl_no_brnf inet
	nsx inet sysctl -qw net.ipv4.ip_forward=0
	mkdir -p "$T/dc"
	DCCONF=$T/dc/dcd.conf
	cat > "$DCCONF" <<CONF
[DC]
Zone = $ZONE
PrivateKeyFile = $T/dc/dc.key
Database = $T/dc/dc.db
ControlSocket = $T/dc/run/dcd.sock
KeepaliveInterval = $NL_KA
NodeLifetime = $NL_LIFE
$NL_DC_EXTRA
CONF
	"$NTM_DCD" -n -c "$DCCONF" > "$T/dcd-check.out" 2>&1 || fail "ntm-dcd -n: $(cat "$T/dcd-check.out")"
	bg inet dcd "$NTM_DCD" -f -c "$DCCONF"
	DCD_PID=$LAST_PID
	wait_for 5 "DC key file" test -s "$T/dc/dc.key"
	DCPUB=$("$NTM_DCCTL" -c "$DCCONF" show-key) || fail "ntm-dcctl show-key"
	# the nsswitch.conf, hosts and resolv.conf of on_node's private mount namespace
	echo "hosts: files ntm [!UNAVAIL=return] dns" > "$T/nsswitch.conf"
	echo "127.0.0.1 localhost" > "$T/hosts"
	echo "nameserver 127.0.0.1" > "$T/resolv.conf" # no DNS in the lab: refused at once
}

# _nl_inet_port NS IF ADDRS: a veth from namespace NS (interface IF with
# ADDRS) to a new port of br0 in inet.
_nl_inet_port() {
	local port="s$NL_SITES"
	link "$1" "$2" "$3" inet "$port" ""
	ip -n "$P-inet" link set "$port" master br0 || fail "br0 port $port"
}

# _nl_lan_port NATNS NODE ADDR: node namespace NODE on the NAT's lan0 bridge.
_nl_lan_port() {
	local nat=$1 node=$2 addr=$3 h
	h=${addr%/*}; h=l${h##*.}
	link "$node" eth0 "$addr" "$nat" "$h" ""
	ip -n "$P-$nat" link set "$h" master lan0 || fail "lan0 port on $nat"
}

# _nl_no_brnf NS: where br_netfilter is loaded, bridged frames pass the ip
# forward hook (bridge-nf-call-iptables, per namespace since Linux 5.3), and
# a NAT's "policy drop" forward chain would cut its own LAN switch in two.
_nl_no_brnf() {
	[ -e /proc/sys/net/bridge/bridge-nf-call-iptables ] || return 0
	nsx "$1" sysctl -qw net.bridge.bridge-nf-call-iptables=0 net.bridge.bridge-nf-call-ip6tables=0 \
		net.bridge.bridge-nf-call-arptables=0 || fail "bridge-nf-call-* in $1"
}

# _nl_nat_ns NATNS LANADDR: a NAT namespace with the bridge lan0 (LANADDR).
_nl_nat_ns() {
	ns_add "$1"
	NL_NATS="$NL_NATS $1"
	nsx "$1" sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.promote_secondaries=1 \
		net.ipv4.conf.default.promote_secondaries=1
	_nl_no_brnf "$1"
	ip -n "$P-$1" link add lan0 type bridge || fail "lan0 in $1"
	ip -n "$P-$1" addr add "$2" dev lan0
	ip -n "$P-$1" link set lan0 up
}

# _nl_nft NATNS TYPE LANCIDR WANIP PINS: the NAT rules. PINS: the pinned
# mappings of the cone types, "inner_ip:inner_port:outer_port ...".
_nl_nft() {
	local ns=$1 type=$2 lan=$3 wan=$4 pins=$5 pin out="" in="" setkey outkey inkey
	case $type in
	port | sym)
		local mq=masquerade
		[ "$type" = sym ] && mq="masquerade fully-random"
		nsx "$ns" nft -f - <<NFT || fail "nft ($type) in $ns"
table ip nat {
	chain postrouting { type nat hook postrouting priority srcnat; policy accept;
		oifname "wan0" ip saddr $lan $mq
	}
}
table ip filter {
	chain forward { type filter hook forward priority filter; policy drop;
		ct state established,related accept
		iifname "lan0" oifname "wan0" accept
	}
}
NFT
		;;
	full | addr)
		for pin in $pins; do
			set -- ${pin//:/ }
			out="${out:+$out, }$1 . $2 : $wan . $3"
			in="${in:+$in, }$3 : $1 . $2"
		done
		if [ "$type" = full ]; then
			setkey="ipv4_addr . inet_service"
			outkey="ip saddr . udp sport"
			inkey="ip daddr . udp dport"
		else
			setkey="ipv4_addr . inet_service . ipv4_addr"
			outkey="ip saddr . udp sport . ip daddr"
			inkey="ip daddr . udp dport . ip saddr"
		fi
		nsx "$ns" nft -f - <<NFT || fail "nft ($type) in $ns"
table ip nat {
	map eim_out { type ipv4_addr . inet_service : ipv4_addr . inet_service; elements = { $out } }
	map eim_in { type inet_service : ipv4_addr . inet_service; elements = { $in } }
	chain postrouting { type nat hook postrouting priority srcnat; policy accept;
		oifname "wan0" meta l4proto udp snat ip to ip saddr . udp sport map @eim_out
		oifname "wan0" ip saddr $lan masquerade
	}
	chain prerouting { type nat hook prerouting priority dstnat; policy accept;
		iifname "wan0" meta l4proto udp dnat ip to udp dport map @eim_in
	}
}
table ip filter {
	set seen { type $setkey; flags dynamic,timeout; timeout $NL_SEEN_TIMEOUT; }
	chain forward { type filter hook forward priority filter; policy drop;
		ct state established,related accept
		iifname "lan0" oifname "wan0" meta l4proto udp update @seen { $outkey }
		iifname "lan0" oifname "wan0" accept
		iifname "wan0" meta l4proto udp $inkey @seen accept
	}
}
NFT
		;;
	*) fail "unknown NAT type '$type'" ;;
	esac
	# what the NAT box itself does with a new flow addressed to it on wan0
	# (a peer's probe that came before the node's own mapping existed)
	local verdict
	case $NL_WAN_INPUT in
	drop) verdict=drop ;;
	reject) verdict="reject with icmp type port-unreachable" ;;
	accept) verdict="" ;;
	*) fail "unknown NL_WAN_INPUT '$NL_WAN_INPUT'" ;;
	esac
	nsx "$ns" nft -f - <<NFT || fail "nft (input) in $ns"
table ip filter {
	counter wan_new { }
	chain input { type filter hook input priority filter; policy accept;
		iifname "wan0" ct state new counter name "wan_new" $verdict
	}
}
NFT
	if [ -n "$NL_UDP_ONLY_TO" ]; then
		# before the NAT's own filter (priority filter - 10), both ways,
		# so a probe out and a spray in are both counted where dropped
		nsx "$ns" nft -f - <<NFT || fail "nft (UDP allow-list) in $ns"
table ip strict {
	set servers { type ipv4_addr; elements = { ${NL_UDP_ONLY_TO// /, } } }
	counter blocked { }
	chain forward { type filter hook forward priority filter - 10; policy accept;
		iifname "lan0" oifname "wan0" meta l4proto udp ip daddr != @servers counter name "blocked" drop
		iifname "wan0" oifname "lan0" meta l4proto udp ip saddr != @servers counter name "blocked" drop
	}
}
NFT
	fi
	if [ -n "$NL_CT_UDP" ]; then
		nsx "$ns" sysctl -qw net.netfilter.nf_conntrack_udp_timeout="$NL_CT_UDP" \
			net.netfilter.nf_conntrack_udp_timeout_stream="$NL_CT_UDP" \
			|| fail "conntrack UDP timeouts in $ns"
	fi
}

# _nl_node NAME TYPE PUB LAN EXTPORT: record a node (its namespace exists).
_nl_node() {
	NL_NODES="$NL_NODES $1"
	NL_TYPE[$1]=$2
	NL_PUB[$1]=$3
	NL_LAN[$1]=$4
	NL_EXTPORT[$1]=$5
	NL_SOCK[$1]=$T/$1/run/tund.sock
}

_nl_cone() { case $1 in full | addr) return 0 ;; esac; return 1; }

# _nl_isp NAME I: site I's NAT (NAME-nat) reaches the internet through its
# ISP's router NAME-isp: NAT wan0 198.51.100.(10+I)/32 <-> isp down0
# 198.51.100.(100+I)/32, isp up0 on br0 at 203.0.113.(10+I). inet routes
# the site's public address to that router, and so forwards (public
# addresses only: it still has no route to any LAN prefix).
_nl_isp() {
	local name=$1 i=$2 pub=198.51.100.$((10 + $2)) gw=198.51.100.$((100 + $2))
	ns_add "$name-isp"
	nsx "$name-isp" sysctl -qw net.ipv4.ip_forward=1
	_nl_inet_port "$name-isp" up0 "203.0.113.$((10 + i))/24"
	nsx "$name-isp" ip route add default via "$NL_DC_IP"
	link "$name-nat" wan0 "$pub/32" "$name-isp" down0 "$gw/32"
	nsx "$name-isp" ip route add "$pub/32" dev down0
	nsx "$name-nat" ip route add "$gw/32" dev wan0
	nsx "$name-nat" ip route add default via "$gw"
	nsx inet sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.send_redirects=0 \
		net.ipv4.conf.br0.send_redirects=0
	ip -n "$P-inet" route add "$pub/32" via "203.0.113.$((10 + i))" || fail "route to $pub in inet"
}

# site NAME TYPE
site() {
	local name=$1 type=$2 i pub
	NL_SITES=$((NL_SITES + 1)); i=$NL_SITES
	pub=203.0.113.$((10 + i))
	ns_add "$name"
	if [ "$type" = none ]; then
		_nl_inet_port "$name" eth0 "$pub/24"
		nsx "$name" ip route add default via "$NL_DC_IP"
		_nl_node "$name" none "$pub" "$pub" "$NL_PORT"
		return
	fi
	_nl_nat_ns "$name-nat" "10.$i.0.1/24"
	if [ -n "$NL_ISP" ]; then
		pub=198.51.100.$((10 + i))
		_nl_isp "$name" "$i"
	else
		_nl_inet_port "$name-nat" wan0 "$pub/24"
		nsx "$name-nat" ip route add default via "$NL_DC_IP"
	fi
	_nl_lan_port "$name-nat" "$name" "10.$i.0.2/24"
	nsx "$name" ip route add default via "10.$i.0.1"
	local ext=""
	_nl_cone "$type" && ext=$((40000 + i))
	_nl_nft "$name-nat" "$type" "10.$i.0.0/24" "$pub" "10.$i.0.2:$NL_PORT:$ext"
	_nl_node "$name" "$type" "$pub" "10.$i.0.2" "$ext"
}

# site_same NAME1 NAME2 TYPE: two nodes on one LAN behind one NAT.
site_same() {
	local n1=$1 n2=$2 type=$3 i pub e1="" e2=""
	NL_SITES=$((NL_SITES + 1)); i=$NL_SITES
	pub=203.0.113.$((10 + i))
	[ "$type" != none ] || fail "site_same needs a NAT type"
	_nl_nat_ns "$n1-nat" "10.$i.0.1/24"
	_nl_inet_port "$n1-nat" wan0 "$pub/24"
	nsx "$n1-nat" ip route add default via "$NL_DC_IP"
	ns_add "$n1"
	ns_add "$n2"
	_nl_lan_port "$n1-nat" "$n1" "10.$i.0.2/24"
	_nl_lan_port "$n1-nat" "$n2" "10.$i.0.3/24"
	nsx "$n1" ip route add default via "10.$i.0.1"
	nsx "$n2" ip route add default via "10.$i.0.1"
	_nl_cone "$type" && { e1=$((40000 + i)); e2=$((41000 + i)); }
	_nl_nft "$n1-nat" "$type" "10.$i.0.0/24" "$pub" "10.$i.0.2:$NL_PORT:$e1 10.$i.0.3:$NL_PORT:$e2"
	_nl_node "$n1" "$type" "$pub" "10.$i.0.2" "$e1"
	_nl_node "$n2" "$type" "$pub" "10.$i.0.3" "$e2"
}

# site_double NAME TYPE1 TYPE2: NAME behind a home NAT (TYPE1) behind a
# carrier-grade NAT (TYPE2). A cone CGNAT pins the home NAT's mapping, so
# it needs a home NAT whose port is predictable (full, addr or port).
site_double() {
	local name=$1 t1=$2 t2=$3 i pub e1="" e2="" inner_port
	NL_SITES=$((NL_SITES + 1)); i=$NL_SITES
	pub=203.0.113.$((10 + i))
	[ "$t1" != none ] && [ "$t2" != none ] || fail "site_double needs two NAT types"
	_nl_nat_ns "$name-cgn" "100.64.$i.1/24"
	_nl_inet_port "$name-cgn" wan0 "$pub/24"
	nsx "$name-cgn" ip route add default via "$NL_DC_IP"
	_nl_nat_ns "$name-nat" "10.$i.0.1/24"
	link "$name-nat" wan0 "100.64.$i.2/24" "$name-cgn" l2 ""
	ip -n "$P-$name-cgn" link set l2 master lan0 || fail "lan0 port on $name-cgn"
	nsx "$name-nat" ip route add default via "100.64.$i.1"
	ns_add "$name"
	_nl_lan_port "$name-nat" "$name" "10.$i.0.2/24"
	nsx "$name" ip route add default via "10.$i.0.1"
	_nl_cone "$t1" && e1=$((40000 + i))
	_nl_nft "$name-nat" "$t1" "10.$i.0.0/24" "100.64.$i.2" "10.$i.0.2:$NL_PORT:$e1"
	case $t1 in full | addr) inner_port=$e1 ;; port) inner_port=$NL_PORT ;; *) inner_port="" ;; esac
	if _nl_cone "$t2"; then
		[ -n "$inner_port" ] || fail "site_double: a $t2 CGNAT cannot pin a $t1 home NAT's random port"
		e2=$((41000 + i))
	fi
	_nl_nft "$name-cgn" "$t2" "100.64.$i.0/24" "$pub" "100.64.$i.2:${inner_port:-0}:$e2"
	_nl_node "$name" "$t1+$t2" "$pub" "10.$i.0.2" "$e2"
}

# nl_start_tund NAME: write the node's config (first time: key, enrolment)
# and start ntm-tund; NL_PID[NAME] is its PID.
nl_start_tund() {
	local n=$1
	if [ ! -s "$T/$n/node.key" ]; then
		mkdir -p "$T/$n"
		cat > "$T/$n/tund.conf" <<CONF
[Node]
Name = $n
PrivateKeyFile = $T/$n/node.key
ControlSocket = $T/$n/run/tund.sock
ListenPort = $NL_PORT
$NL_NODE_EXTRA
[DC]
${NL_DC_ENDPOINT_LINES:-Endpoint = $NL_DC_IP:7540}
PublicKey = $DCPUB
CONF
		(umask 077; "$NTMCTL" genkey > "$T/$n/node.key")
		"$NTM_DCCTL" -c "$DCCONF" node add "$n" "$("$NTMCTL" pubkey < "$T/$n/node.key")" >/dev/null \
			|| fail "ntm-dcctl node add $n"
	fi
	bg "$n" "tund-$n" "$NTM_TUND" -f -c "$T/$n/tund.conf"
	NL_PID[$n]=$LAST_PID
}

registered() { "$NTMCTL" -s "$1" status --json 2>/dev/null | grep -q '"state": "registered"'; }

# observed NAME: the endpoint the DC sees NAME at ("" while unknown).
observed() {
	"$NTMCTL" -s "${NL_SOCK[$1]}" status --json 2>/dev/null \
		| grep -o '"observed": "[^"]*"' | sed 's/.*: "//; s/"$//'
}

# nl_wait_registered NAME: registered, and the nss file written.
nl_wait_registered() {
	wait_for 15 "$1 registered" registered "${NL_SOCK[$1]}"
	wait_for 5 "$1's nss file" test -s "$T/$1/run/nss"
}

# natlab_start: start every node's ntm-tund, wait until all registered,
# and check that the DC sees each at its NAT's public address (and, where
# the mapping is pinned, at the pinned port): the lab's NATs work.
natlab_start() {
	local n obs want
	for n in $NL_NODES; do nl_start_tund "$n"; done
	for n in $NL_NODES; do nl_wait_registered "$n"; done
	for n in $NL_NODES; do
		obs=$(observed "$n")
		want=${NL_PUB[$n]}
		case $obs in "$want":*) ;; *) fail "$n (${NL_TYPE[$n]}): DC sees it at '$obs', expected $want:*" ;; esac
		if [ -n "${NL_EXTPORT[$n]}" ] && [ "$obs" != "$want:${NL_EXTPORT[$n]}" ]; then
			fail "$n (${NL_TYPE[$n]}): DC sees it at $obs, expected the pinned $want:${NL_EXTPORT[$n]}"
		fi
	done
}

# nl_restart_tund NAME: stop NAME's ntm-tund (by PID), start it again and
# wait until it is registered.
nl_restart_tund() {
	local n=$1 pid=${NL_PID[$1]}
	kill "$pid" 2>/dev/null
	wait_for 5 "$n's ntm-tund $pid exited" sh -c "! kill -0 $pid 2>/dev/null"
	wait "$pid" 2>/dev/null
	rm -f "$T/$n/run/nss"
	nl_start_tund "$n"
	nl_wait_registered "$n"
}

fqdn() { echo "$1.$ZONE"; }

# on_node NAME CMD...: run CMD on node NAME as an unmodified program runs
# there: glibc with "hosts: files ntm [!UNAVAIL=return] dns" (a private
# mount namespace with its own nsswitch.conf, hosts and resolv.conf) and
# nss_ntm reading NAME's nss file.
on_node() {
	local n=$1; shift
	nsx "$n" env LD_LIBRARY_PATH="$NSSLIB" NTM_NSS_FILE="$T/$n/run/nss" \
		"$ETC_EXEC" "$T/.etc" "$T/nsswitch.conf" "$T/hosts" "$T/resolv.conf" "$@"
}

# nl_ping_name FROM TO DEADLINE: on FROM, ping -4 TO's name once a reply
# comes or DEADLINE seconds pass (ping's own name lookup through nss_ntm,
# an echo every 0.2 s). Sets PING_MS (lookup + setup + first reply, timed
# inside the mount namespace) and PING_ERR (why it failed: "noname" when
# the lookup failed, "noreply" when nothing came back). Returns 0 on a reply.
nl_ping_name() {
	local from=$1 to=$2 dl=$3 out rc
	out=$(on_node "$from" sh -c 't0=$(date +%s%N); ping -4 -n -c 1 -i 0.2 -w "$1" "$2" > "$3" 2>&1; rc=$?
		echo "$rc $(( ($(date +%s%N) - t0) / 1000000 ))"' sh "$dl" "$(fqdn "$to")" "$T/ping.out")
	rc=${out%% *}
	PING_MS=${out#* }
	PING_ERR=""
	[ "$rc" = 0 ] && return 0
	if grep -qiE "resolution|not known|unknown host|resolve" "$T/ping.out"; then
		PING_ERR=noname
	else
		PING_ERR=noreply
	fi
	return 1
}

# nl_httpd NAME: busybox httpd on NAME, port 8080, serving id.txt = NAME.
nl_httpd() {
	mkdir -p "$T/www-$1"
	echo "$1" > "$T/www-$1/id.txt"
	bg "$1" "httpd-$1" busybox httpd -f -p 8080 -h "$T/www-$1"
}
nl_httpd_ready() { nsx "$1" sh -c "ss -Hltn 'sport = :8080' | grep -q ."; }

# nl_curl FROM TO: on FROM, fetch http://TO's name:8080/id.txt (TCP through
# the tunnel) and check the answer is TO's name.
nl_curl() {
	local got
	got=$(on_node "$1" curl -4 -sS --max-time 5 "http://$(fqdn "$2"):8080/id.txt" 2>&1) || return 1
	[ "$got" = "$2" ]
}

# peer_json NAME PEER: PEER's object in NAME's 'ntmctl peers --json'.
peer_json() {
	"$NTMCTL" -s "${NL_SOCK[$1]}" peers --json 2>/dev/null | grep "\"name\": \"$(fqdn "$2")\""
}
# peer_field NAME PEER FIELD: one field of it (strings unquoted; "" when absent).
peer_field() {
	peer_json "$1" "$2" | grep -o "\"$3\": [^,}]*" | head -n 1 | sed 's/^[^:]*: //; s/^"//; s/"$//'
}

# poll_until SECONDS CMD...: like wait_for, but returns 1 at the deadline
# instead of failing the test. Sets WAITED_MS.
poll_until() {
	local limit=$1 start now; shift
	start=$(date +%s%N)
	while :; do
		if "$@" >/dev/null 2>&1; then
			WAITED_MS=$(( ($(date +%s%N) - start) / 1000000 ))
			return 0
		fi
		now=$(date +%s%N)
		[ $(( (now - start) / 1000000 )) -lt $((limit * 1000)) ] || { WAITED_MS=$(( (now - start) / 1000000 )); return 1; }
		sleep 0.1
	done
}

# nl_path_is NAME PEER PATH: NAME's path to PEER is PATH.
nl_path_is() { [ "$(peer_field "$1" "$2" path)" = "$3" ]; }

# nl_udp_blocked NAME: datagrams NAME's strict firewall (NL_UDP_ONLY_TO)
# dropped so far, to or from addresses outside its list.
nl_udp_blocked() {
	nsx "$1-nat" nft list counter ip strict blocked | awk '/packets/ { print $2 }'
}

# --- moving nodes: the underlay changes under running tunnels ---------------
# (doc/lab.md section 6). Spare networks are made in advance and a node is
# moved by changing addresses and routes only, as a laptop's network
# manager does; its ntm-tund keeps running.

NL_DC_IP6=2001:db8::1
NL_REBINDS=0
declare -A NL_SPARE_PUB NL_SPARE_LAN

# nl_inet6: the internet is dual-stack: br0 gets $NL_DC_IP6/64 (the DC's
# IPv6 address; ntm-dcd listens on both families by default).
nl_inet6() {
	ip -n "$P-inet" addr add "$NL_DC_IP6/64" dev br0 nodad || fail "IPv6 on br0"
}

# nl_ip6 NS IF ADDR: IPv6 ADDR/64 on interface IF of NS, on br0's prefix,
# with a default route through the DC's address (which forwards nothing:
# the internet is one link).
nl_ip6() {
	ip -n "$P-$1" addr add "$3/64" dev "$2" nodad || fail "$3 on $1 $2"
	ip -n "$P-$1" -6 route replace default via "$NL_DC_IP6" dev "$2" || fail "IPv6 default route in $1"
}

# nl_nat_spare NATNS TYPE: a NAT namespace made like a site's, with the
# next site number i (public 203.0.113.(10+i), LAN 10.i.0.0/24) and no node
# yet: a network to move a node to. Sets NL_SPARE_PUB[NATNS] and
# NL_SPARE_LAN[NATNS] (the LAN prefix without the host part, "10.i.0").
nl_nat_spare() {
	local nat=$1 type=$2 i
	NL_SITES=$((NL_SITES + 1)); i=$NL_SITES
	_nl_nat_ns "$nat" "10.$i.0.1/24"
	_nl_inet_port "$nat" wan0 "203.0.113.$((10 + i))/24"
	nsx "$nat" ip route add default via "$NL_DC_IP"
	_nl_nft "$nat" "$type" "10.$i.0.0/24" "203.0.113.$((10 + i))" ""
	NL_SPARE_PUB[$nat]=203.0.113.$((10 + i))
	NL_SPARE_LAN[$nat]=10.$i.0
}

# nl_spare_port NODE IF NET: a second interface IF of NODE, up and without
# an address, plugged into NET: a NAT namespace's lan0 or, for NET inet,
# the internet bridge br0. nl_move gives it an address later.
nl_spare_port() {
	local node=$1 ifc=$2 net=$3 peer
	NL_SPARE_N=$((${NL_SPARE_N:-0} + 1))
	peer=m$NL_SPARE_N
	link "$node" "$ifc" "" "$net" "$peer" ""
	if [ "$net" = inet ]; then
		ip -n "$P-inet" link set "$peer" master br0 || fail "br0 port for $node $ifc"
	else
		ip -n "$P-$net" link set "$peer" master lan0 || fail "lan0 port on $net for $node $ifc"
	fi
}

# nl_move NODE FROM_IF TO_IF "ADDR/LEN GW ..." : NODE leaves the network on
# FROM_IF (every global address of both families and the default routes
# removed; the link stays up) and joins the one on TO_IF: each ADDR/LEN
# added there with a default route through GW (IPv4 or IPv6 alike).
nl_move() {
	local node=$1 from=$2 to=$3 a gw
	set -- $4
	ip -n "$P-$node" -4 route flush default 2>/dev/null
	ip -n "$P-$node" -6 route flush default 2>/dev/null
	ip -n "$P-$node" addr flush dev "$from" scope global || fail "flush $node $from"
	while [ $# -ge 2 ]; do
		a=$1 gw=$2
		shift 2
		ip -n "$P-$node" addr add "$a" dev "$to" nodad 2>/dev/null || ip -n "$P-$node" addr add "$a" dev "$to" \
			|| fail "$a on $node $to"
		case $gw in
		*:*) ip -n "$P-$node" -6 route replace default via "$gw" dev "$to" ;;
		*) ip -n "$P-$node" -4 route replace default via "$gw" dev "$to" ;;
		esac || fail "default route via $gw in $node"
	done
}

# nl_rebind NATNS TYPE LANCIDR: NATNS (a port or sym NAT) forgets every
# mapping and maps its nodes' ntm port anew, as a NAT that rebooted or
# timed a mapping out does. A port NAT keeps its kind: the node's UDP
# NL_PORT goes out from one new port, 20000 + (n % 1000) (n counts the
# calls, so each rebinding's port differs from the last's), to every
# destination alike (a port range would be chosen from at random per
# destination: a symmetric NAT); a sym NAT stays fully random. The old
# mappings are dropped by taking wan0's address away and putting it back
# (the kernel's masquerade forgets the mappings of an address that goes;
# no conntrack tool needed). Sets NL_REBIND_PORT (a port NAT's new port).
nl_rebind() {
	local nat=$1 type=$2 lan=$3 addr
	NL_REBIND_PORT=$((20000 + NL_REBINDS % 1000))
	NL_REBINDS=$((NL_REBINDS + 1))
	nsx "$nat" nft flush chain ip nat postrouting || fail "nft flush in $nat"
	case $type in
	port) nsx "$nat" nft add rule ip nat postrouting oifname "wan0" ip saddr "$lan" udp sport "$NL_PORT" \
		masquerade to ":$NL_REBIND_PORT" || fail "nft masquerade to :$NL_REBIND_PORT in $nat"
		nsx "$nat" nft add rule ip nat postrouting oifname "wan0" ip saddr "$lan" masquerade ;;
	sym) nsx "$nat" nft add rule ip nat postrouting oifname "wan0" ip saddr "$lan" masquerade fully-random ;;
	*) fail "nl_rebind: a $type NAT has pinned mappings" ;;
	esac || fail "nft masquerade in $nat"
	addr=$(ip -n "$P-$nat" -4 -o addr show dev wan0 scope global | awk '{ print $4; exit }')
	[ -n "$addr" ] || fail "no address on $nat wan0"
	ip -n "$P-$nat" addr del "$addr" dev wan0 || fail "del $addr on $nat"
	ip -n "$P-$nat" addr add "$addr" dev wan0 || fail "add $addr on $nat"
	ip -n "$P-$nat" route replace default via "$NL_DC_IP" || fail "default route in $nat"
}

# nl_renumber NS IF ADDR/LEN: IF of NS (a NAT's wan0, or a public node's
# eth0) gets the IPv4 address ADDR in place of the one it had: the new one
# added, the old deleted (promote_secondaries keeps the new one and its
# routes; a NAT's masquerade forgets the old address's mappings), the
# default route through the DC put back.
nl_renumber() {
	local ns=$1 ifc=$2 new=$3 old
	old=$(ip -n "$P-$ns" -4 -o addr show dev "$ifc" scope global | awk '{ print $4; exit }')
	ip -n "$P-$ns" addr add "$new" dev "$ifc" || fail "add $new on $ns $ifc"
	[ -z "$old" ] || ip -n "$P-$ns" addr del "$old" dev "$ifc" || fail "del $old on $ns $ifc"
	ip -n "$P-$ns" route replace default via "$NL_DC_IP" dev "$ifc" || fail "default route in $ns"
}

# nl_wan_new NAME: new flows addressed to NAME's NAT box itself on its WAN
# side so far (a peer's datagrams that found no mapping of the node's; what
# NL_WAN_INPUT then did with them is the site's choice).
nl_wan_new() {
	nsx "$1-nat" nft list counter ip filter wan_new | awk '/packets/ { print $2 }'
}
