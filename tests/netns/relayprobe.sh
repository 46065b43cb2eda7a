#!/bin/bash
# relayprobe.sh - `ntmctl netcheck` measures the latency to the relays the DC
# would give the node (doc/protocol.md 2.11, 5.15-5.17): the DC's embedded
# relay and a standalone ntm-relayd (r1), each answering RELAY_PROBEs that
# carry a token the DC minted (the embedded relay under the DC's own key,
# r1 under a key the DC gave it in their session).
#
#  1. netcheck --json lists both relays, each with 3 probes sent, 3 answered
#     and a latency; the text output names both with a latency;
#  2. an attacker sends RELAY_PROBEs built from a token node a really used
#     (captured on a's link) with a forged MAC, an unknown key id, as an
#     echo, cut short; and, once the token expired, the token unchanged:
#     each is dropped in its counter, and neither relay sends the attacker
#     anything (nftables counters in both namespaces);
#  3. a new netcheck still measures both.
. "$(dirname "$0")/lib.sh"
require_root
command -v nft >/dev/null || fail "nft not found (tools/setup.sh installs nftables)"
NTM_RELAYD=$top_builddir/relay/ntm-relayd
NTM_RELAYCTL=$top_builddir/relay/ntm-relayctl
ATTACK=$top_builddir/tests/netns/ntm_attack
[ -x "$ATTACK" ] || fail "$ATTACK is missing (make check builds it)"
ZONE=ntm.example.org
DC_IP=198.51.100.2
RELAY_IP=192.0.2.10
ATK_IP=10.66.0.2
TOKEN_S=10  # DC_PROBE_TOKEN

# ---- the network: router r; dc, relay (rl), attacker (x), node a ----
ns_add r
nsx r sysctl -qw net.ipv4.ip_forward=1
ns_add dc
link dc eth0 "$DC_IP/24" r dc0 "198.51.100.1/24"
nsx dc ip route add default via 198.51.100.1
ns_add rl
link rl eth0 "$RELAY_IP/24" r rl0 "192.0.2.1/24"
nsx rl ip route add default via 192.0.2.1
ns_add x
link x eth0 "$ATK_IP/24" r x0 "10.66.0.1/24"
nsx x ip route add default via 10.66.0.1
ns_add a
link a eth0 "203.0.113.18/28" r a0 "203.0.113.17/28"
nsx a ip route add default via 203.0.113.17

mkdir -p "$T/dc" "$T/rl" "$T/a"
chmod 700 "$T/dc" "$T/rl"
(umask 077; "$NTMCTL" genkey > "$T/dc/dc.key"; "$NTMCTL" genkey > "$T/rl/relay.key"
 "$NTMCTL" genkey > "$T/a/node.key")
DCPUB=$("$NTMCTL" pubkey < "$T/dc/dc.key")
RLPUB=$("$NTMCTL" pubkey < "$T/rl/relay.key")
cat > "$T/rl/relayd.conf" <<CONF
[Relay]
PrivateKeyFile = $T/rl/relay.key
DCPublicKey = $DCPUB
ControlSocket = $T/rl/run/relayd.sock
CONF
DCCONF=$T/dc/dcd.conf
cat > "$DCCONF" <<CONF
[DC]
Zone = $ZONE
PrivateKeyFile = $T/dc/dc.key
Database = $T/dc/dc.db
ControlSocket = $T/dc/run/dcd.sock
[Relay]
EmbeddedRelay = yes
[Relay.r1]
EndpointIPv4 = $RELAY_IP:7542
PublicKey = $RLPUB
CONF
cat > "$T/a/tund.conf" <<CONF
[Node]
Name = a
PrivateKeyFile = $T/a/node.key
ControlSocket = $T/a/run/tund.sock
[DC]
Endpoint = $DC_IP:7540
PublicKey = $DCPUB
CONF
bg rl relayd "$NTM_RELAYD" -f -d -c "$T/rl/relayd.conf"
wait_for 5 "relay control socket" test -S "$T/rl/run/relayd.sock"
bg dc dcd "$NTM_DCD" -f -d -c "$DCCONF"
wait_for 5 "DC control socket" test -S "$T/dc/run/dcd.sock"
"$NTM_DCCTL" -c "$DCCONF" node add a "$("$NTMCTL" pubkey < "$T/a/node.key")" >/dev/null
bg a tund-a "$NTM_TUND" -f -c "$T/a/tund.conf"

ctr() {
	local v
	v=$(printf '%s' "$1" | grep -o "\"$2\": [0-9]*") || return 1
	echo "${v##* }"
}
rstats() { "$NTM_RELAYCTL" -c "$T/rl/relayd.conf" stats --json; }
dstats() { "$NTM_DCCTL" -c "$DCCONF" stats --json; }
at_least() { local v; v=$(ctr "$($1)" "$2") && [ "$v" -ge "$3" ]; }
registered() { "$NTMCTL" -s "$T/a/run/tund.sock" status --json 2>/dev/null | grep -q '"state": "registered"'; }
wait_for 10 "the DC's session with r1" at_least dstats standalone_handshakes 1
wait_for 5 "r1 has a probe key" at_least rstats probe_keys 1
wait_for 10 "a registered" registered

# ---- 1. netcheck lists both relays with a latency ----
# capture one of a's RELAY_PROBEs to each relay (type 8) for part 2
nsx a "$ATTACK" capture eth0 7542 2 "$T/probes.cap" 10000 8 > "$T/capture.out" 2>&1 &
CAP_PID=$!
wait_for 5 "the capture to start" grep -q capturing "$T/capture.out"
"$NTMCTL" -s "$T/a/run/tund.sock" netcheck --json > "$T/nc.json" 2>&1 || fail "netcheck --json: $(cat "$T/nc.json")"
wait "$CAP_PID" || fail "capturing a's RELAY_PROBEs: $(cat "$T/capture.out")"
grep -q "{\"name\": \"embedded\", \"kind\": \"embedded\", \"endpoint\": \"$DC_IP:7542\", \"sent\": 3, \"answered\": 3, \"rtt_ms\": [0-9.]*}" "$T/nc.json" ||
	fail "the embedded relay is not listed with 3 answers: $(cat "$T/nc.json")"
grep -q "{\"name\": \"r1\", \"kind\": \"standalone\", \"endpoint\": \"$RELAY_IP:7542\", \"sent\": 3, \"answered\": 3, \"rtt_ms\": [0-9.]*}" "$T/nc.json" ||
	fail "r1 is not listed with 3 answers: $(cat "$T/nc.json")"
grep -q '"relay_rtt_ms": [0-9.]*,' "$T/nc.json" || fail "no relay_rtt_ms: $(cat "$T/nc.json")"
ok "netcheck --json: $(grep -o '"relays": .*' "$T/nc.json")"
"$NTMCTL" -s "$T/a/run/tund.sock" netcheck > "$T/nc.txt" 2>&1 || fail "netcheck: $(cat "$T/nc.txt")"
grep -q "; relay RTT: embedded $DC_IP:7542 [0-9.]* ms, r1 $RELAY_IP:7542 [0-9.]* ms$" "$T/nc.txt" ||
	fail "text output: $(cat "$T/nc.txt")"
ok "netcheck: $(cat "$T/nc.txt")"
at_least rstats relay_probe_echoes 6 || fail "r1 counted $(ctr "$(rstats)" relay_probe_echoes) echoes"
at_least dstats relay_probe_echoes 6 || fail "the embedded relay counted $(ctr "$(dstats)" relay_probe_echoes) echoes"
at_least dstats netcheck_relays 2 || fail "the DC counted no NETCHECK_RELAYS"

# ---- 2. the attacker ----
# the captured probes: magic 8, then per frame length 4 + Ethernet 14 +
# IPv4 20 + UDP 8 + 36 payload bytes
probe_hex() { od -An -tx1 -v -j $((8 + $1 * (4 + 78) + 4 + 42)) -N 36 "$T/probes.cap" | tr -d ' \n'; }
probe_dst() { od -An -tu1 -v -j $((8 + $1 * (4 + 78) + 4 + 30)) -N 4 "$T/probes.cap" | awk '{ print $1"."$2"."$3"."$4 }'; }
for i in 0 1; do
	h=$(probe_hex $i)
	[ ${#h} = 72 ] && [ "${h:0:8}" = 08010100 ] || fail "captured frame $i is no RELAY_PROBE: $h"
	case $(probe_dst $i) in
	"$RELAY_IP") P_R1=$h ;;
	"$DC_IP") P_EMB=$h ;;
	*) fail "captured frame $i goes to $(probe_dst $i)" ;;
	esac
done
[ -n "$P_R1" ] && [ -n "$P_EMB" ] || fail "did not capture a probe to each relay"
for ns in rl dc; do
	nsx "$ns" nft -f - <<NFT || fail "nft on $ns"
table ip ntmprobe {
	counter to_x { }
	chain out {
		type filter hook output priority filter; policy accept;
		ip daddr $ATK_IP counter name "to_x"
	}
}
NFT
done
nft_count() { nsx "$1" nft list counter ip ntmprobe to_x | awk '/packets/ { print $2 }'; }
send() { nsx x "$ATTACK" udp "$1" 7542 "$2" >/dev/null || fail "ntm_attack udp $*"; }
flip() { # HEX OFFSET: the byte at OFFSET xor 0x01
	local h=$1 o=$(($2 * 2))
	printf '%s%02x%s' "${h:0:$o}" $((0x${h:$o:2} ^ 1)) "${h:$((o + 2))}"
}
# which STATS NAME...: the counters, as "name=value ..."
snap() { local s n; s=$($1); for n in relay_probe_drop_auth relay_probe_drop_key relay_probe_drop_malformed relay_probe_drop_expired relay_probe_echoes; do printf '%s=%s ' "$n" "$(ctr "$s" "$n")"; done; }
declare -A B
for who in rstats dstats; do
	s=$($who)
	for n in relay_probe_drop_auth relay_probe_drop_key relay_probe_drop_malformed relay_probe_drop_expired relay_probe_echoes; do
		B[$who.$n]=$(ctr "$s" "$n") || fail "$who has no counter $n"
	done
done
X_RL0=$(nft_count rl)
X_DC0=$(nft_count dc)
N=3
for k in $(seq 1 $N); do
	for target in "$RELAY_IP:$P_R1" "$DC_IP:$P_EMB"; do
		ip=${target%%:*} p=${target#*:}
		send "$ip" "$(flip "$p" 35)"          # the MAC's last byte
		send "$ip" "$(flip "$p" 23)"          # not-after moved: the MAC no longer matches
		send "$ip" "$(flip "$p" 12)"          # another key id
		send "$ip" "08010200${p:8}"           # an echo sent to the relay
		send "$ip" "${p:0:70}"                # a byte short
	done
done
expect() { # WHO NAME DELTA
	local got
	got=$(ctr "$($1)" "$2")
	[ "$got" = $((B[$1.$2] + $3)) ] || fail "$1 $2 is $got, expected ${B[$1.$2]} + $3"
}
wait_for 5 "r1's drops" at_least rstats relay_probe_drop_malformed $((B[rstats.relay_probe_drop_malformed] + 2 * N))
wait_for 5 "the embedded relay's drops" at_least dstats relay_probe_drop_malformed $((B[dstats.relay_probe_drop_malformed] + 2 * N))
for who in rstats dstats; do
	expect $who relay_probe_drop_auth $((2 * N))
	expect $who relay_probe_drop_key "$N"
	expect $who relay_probe_drop_malformed $((2 * N))
	expect $who relay_probe_echoes 0
done
ok "forged probes: each relay dropped $((5 * N)) ($(snap rstats)/ $(snap dstats))"
# the real token, once expired
sleep $((TOKEN_S + 1))
send "$RELAY_IP" "$P_R1"
send "$DC_IP" "$P_EMB"
wait_for 5 "r1 dropping the expired token" at_least rstats relay_probe_drop_expired $((B[rstats.relay_probe_drop_expired] + 1))
wait_for 5 "the embedded relay dropping the expired token" at_least dstats relay_probe_drop_expired $((B[dstats.relay_probe_drop_expired] + 1))
sleep 1 # anything a relay would send in answer
expect rstats relay_probe_echoes 0
expect dstats relay_probe_echoes 0
x_rl=$(( $(nft_count rl) - X_RL0 ))
x_dc=$(( $(nft_count dc) - X_DC0 ))
[ "$x_rl" = 0 ] || fail "r1 sent the attacker $x_rl packets"
[ "$x_dc" = 0 ] || fail "the DC host sent the attacker $x_dc packets"
ok "the expired token: dropped by both relays; 0 packets to the attacker from either"

# ---- 3. netcheck still measures both ----
"$NTMCTL" -s "$T/a/run/tund.sock" netcheck > "$T/nc2.txt" 2>&1 || fail "netcheck: $(cat "$T/nc2.txt")"
grep -q "; relay RTT: embedded $DC_IP:7542 [0-9.]* ms, r1 $RELAY_IP:7542 [0-9.]* ms$" "$T/nc2.txt" ||
	fail "text output after the attack: $(cat "$T/nc2.txt")"
ok "netcheck after the attack: $(cat "$T/nc2.txt")"
echo "PASS: relayprobe"
