#!/bin/bash
# netcheck.sh - `ntmctl netcheck` names what the underlay does (doc/protocol.md
# 5.13, doc/control.md NETCHECK). The lab's DC (natlab.sh) gets a second
# address, 203.0.113.2, configured as its AltEndpoint; four sites:
#   pub   no NAT: netcheck says "no NAT", the DC sees its own address and port;
#   full  full cone (pinned mapping, tests/netns/natlab.sh): NAT, port not
#         preserved (the pinned port), mapping endpoint-independent;
#   addr  address-restricted cone (pinned mapping): the same as full;
#   port  port-restricted (stock masquerade): NAT, endpoint-independent;
#   sym   symmetric (masquerade fully-random): NAT, endpoint-dependent.
# The lab is dual-stack (the DC also at 2001:db8::1) and pub gets an IPv6
# address once registered: "IPv6: [2001:db8::11]:7541 (no NAT)" there,
# "IPv6: no" behind the NATs (no IPv6 route).
# For each: the observed address is the site's public one, the text output
# names the same mapping, and the DC still sees the node at the endpoint
# it saw before (the probes from the test socket do not move it). Then a
# second DC without AltEndpoint: "unknown (DC has one address)". And the
# DC answered every probe (netcheck_echoes) and nothing unauthenticated.
. "$(dirname "$0")/lib.sh"
require_root
. "$(dirname "$0")/natlab.sh"
natlab_require

ALT=203.0.113.2
NL_DC_EXTRA="AltEndpoint = $ALT:7540"
NL_DC_ENDPOINT_LINES="Endpoint = $NL_DC_IP:7540, [$NL_DC_IP6]:7540"
PUB6=2001:db8::11

ctr() { "$NTM_DCCTL" -c "$DCCONF" stats --json | grep -o "\"$1\": [0-9]*" | awk '{print $2}'; }

natlab_init
ip -n "$P-inet" addr add "$ALT/24" dev br0 || fail "adding $ALT to the DC"
nl_inet6
site pub none
site full full
site addr addr
site port port
site sym sym
natlab_start
# after registering over IPv4, so the DC link stays on IPv4 (natlab_start's check)
nl_ip6 pub eth0 "$PUB6"
has_v6() { "$NTMCTL" -s "${NL_SOCK[pub]}" status | grep -q "underlay:.* $PUB6"; }
wait_for 10 "pub's underlay to list $PUB6" has_v6

# json NODE KEY: a field of the node's netcheck --json's "ipv4" object
nc_json() { grep -o "\"$2\": [^,}]*" "$T/nc-$1.json" | head -n 1 | sed 's/^[^:]*: //; s/"//g'; }

# check NODE NAT PORT_PRESERVED MAPPING [OBSERVED]
check() {
	local n=$1 nat=$2 pp=$3 map=$4 want_obs=${5:-} before after obs
	before=$(observed "$n")
	"$NTMCTL" -s "${NL_SOCK[$n]}" netcheck --json > "$T/nc-$n.json" 2> "$T/nc-$n.err" ||
		fail "$n: ntmctl netcheck --json failed: $(cat "$T/nc-$n.err" "$T/nc-$n.json")"
	[ "$(nc_json "$n" udp)" = true ] || fail "$n: no UDP: $(cat "$T/nc-$n.json")"
	obs=$(nc_json "$n" observed)
	case $obs in "${NL_PUB[$n]}":*) ;; *) fail "$n: observed '$obs', expected ${NL_PUB[$n]}:*: $(cat "$T/nc-$n.json")" ;; esac
	[ -z "$want_obs" ] || [ "$obs" = "$want_obs" ] || fail "$n: observed $obs, expected $want_obs"
	[ "$(nc_json "$n" nat)" = "$nat" ] || fail "$n: nat is not $nat: $(cat "$T/nc-$n.json")"
	[ "$(nc_json "$n" port_preserved)" = "$pp" ] ||
		fail "$n: port_preserved is not $pp: $(cat "$T/nc-$n.json")"
	[ "$(nc_json "$n" mapping)" = "$map" ] || fail "$n: mapping is not '$map': $(cat "$T/nc-$n.json")"
	[ "$(nc_json "$n" dc_alt)" = "$ALT:7540" ] || fail "$n: dc_alt is not $ALT:7540: $(cat "$T/nc-$n.json")"
	# the DC's embedded relay, probed through the site's NAT (doc/protocol.md 2.11)
	grep -q "\"relays\": \[{\"name\": \"embedded\", \"kind\": \"embedded\", \"endpoint\": \"$NL_DC_IP:7542\", \"sent\": 3, \"answered\": 3, \"rtt_ms\": [0-9.]*}\]" "$T/nc-$n.json" ||
		fail "$n: the embedded relay not measured: $(cat "$T/nc-$n.json")"
	if [ "$n" = pub ]; then
		v6='\[2001:db8::11\]:7541 (no NAT)'
		grep -q "\"ipv6\": {\"observed\": \"\[$PUB6\]:$NL_PORT\", \"nat\": false, \"port_preserved\": true, \"mapping\": \"none (no NAT)\"" "$T/nc-$n.json" ||
			fail "$n: IPv6 not seen without NAT: $(cat "$T/nc-$n.json")"
	else
		v6=no
		grep -q '"ipv6": false' "$T/nc-$n.json" || fail "$n: IPv6 not reported unanswered: $(cat "$T/nc-$n.json")"
	fi
	"$NTMCTL" -s "${NL_SOCK[$n]}" netcheck > "$T/nc-$n.txt" 2>&1 || fail "$n: ntmctl netcheck: $(cat "$T/nc-$n.txt")"
	case $nat in
	false) grep -q "^UDP: yes; IPv4: ${NL_PUB[$n]}:$NL_PORT (no NAT); IPv6: $v6; DC RTT [0-9.]* ms; relay RTT: embedded $NL_DC_IP:7542 [0-9.]* ms$" "$T/nc-$n.txt" ;;
	true) grep -q "^UDP: yes; IPv4: ${NL_PUB[$n]}:[0-9]* (NAT, port preserved: [a-z]*); mapping: $map; IPv6: $v6; DC RTT [0-9.]* ms; relay RTT: embedded $NL_DC_IP:7542 [0-9.]* ms$" "$T/nc-$n.txt" ;;
	esac || fail "$n: text output: $(cat "$T/nc-$n.txt")"
	after=$(observed "$n")
	[ "$after" = "$before" ] || fail "$n: the DC saw the node at $before before netcheck and at $after after"
	registered "${NL_SOCK[$n]}" || fail "$n: not registered after netcheck"
	ok "$n (${NL_TYPE[$n]}): $(cat "$T/nc-$n.txt")"
}

check pub false true "none (no NAT)" "${NL_PUB[pub]}:$NL_PORT"
check full true false "endpoint-independent" "${NL_PUB[full]}:${NL_EXTPORT[full]}"
check addr true false "endpoint-independent" "${NL_PUB[addr]}:${NL_EXTPORT[addr]}"
check port true true "endpoint-independent" "${NL_PUB[port]}:$NL_PORT"
check sym true false "endpoint-dependent"

# the DC answered probes, through the sessions only
[ "$(ctr netcheck_echoes)" -ge 20 ] || fail "the DC sent $(ctr netcheck_echoes) NETCHECK_ECHOs for 10 netchecks"
ok "the DC sent $(ctr netcheck_echoes) NETCHECK_ECHOs, dropped $(ctr drop_netcheck_rate) over the rate limit"

# A node talking to the DC keeps working after netcheck: a tunnel by name.
nl_ping_name port pub 10 || fail "port could not ping pub by name after netcheck ($PING_ERR)"
ok "port pings pub by name after netcheck"

# The DC without a second address: the mapping cannot be tested.
sed -i "/^AltEndpoint/d" "$DCCONF"
kill "$DCD_PID"
wait_for 5 "the DC to stop" sh -c "! kill -0 $DCD_PID 2>/dev/null"
bg inet dcd2 "$NTM_DCD" -f -c "$DCCONF"
DCD_PID=$LAST_PID
"$NTMCTL" -s "${NL_SOCK[port]}" reregister >/dev/null 2>&1 || true
wait_for 20 "port registered with the restarted DC" registered "${NL_SOCK[port]}"
sleep 1
"$NTMCTL" -s "${NL_SOCK[port]}" netcheck --json > "$T/nc-port1.json" 2>&1 ||
	fail "port: netcheck with a one-address DC: $(cat "$T/nc-port1.json")"
grep -q '"mapping": "unknown (DC has one address)"' "$T/nc-port1.json" ||
	fail "port: with a one-address DC: $(cat "$T/nc-port1.json")"
grep -q '"dc_alt": null' "$T/nc-port1.json" || fail "port: dc_alt reported: $(cat "$T/nc-port1.json")"
grep -q '"nat": true' "$T/nc-port1.json" || fail "port: NAT not seen: $(cat "$T/nc-port1.json")"
ok "port with a one-address DC: $(cat "$T/nc-port1.json")"
