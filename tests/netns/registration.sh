#!/bin/bash
# registration.sh - enrolment and registration end to end: a DC and three nodes on a routed
# test network (no NAT). Checks that every node registers and carries
# distinct virtual addresses from the DC's prefixes on its TUN device;
# that after kill -9 of the DC and a restart the nodes re-register by
# themselves with the same addresses within the documented bound; that a
# node with an unenrolled key gets only HANDSHAKE_REFUSEs, smaller than its
# inits, and is told it is not enrolled (nftables counters on the DC's
# side); that a second key cannot take an enrolled name; that a
# node whose clock is an hour behind (or ahead) is refused with a message
# saying so (HANDSHAKE_REFUSE) and registers once its clock is right; that
# a restore from an older backup through ntm-dcctl, with the DC running,
# never hands out an address twice; and that an empty database file is
# refused by name.
. "$(dirname "$0")/lib.sh"
require_root
command -v nft >/dev/null || skip "needs nftables"

ZONE=ntm.example.org
KA=2          # KeepaliveInterval for the test DC (s)
LIFE=6        # NodeLifetime (s)
BOUND=15      # documented re-registration bound for KA=2 (ntm-tund(8))

# --- topology: router "r" with the DC and four nodes on their own links ---
ns_add r
nsx r sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
ns_add dc
link dc eth0 "198.51.100.2/24 2001:db8:dc::2/64" r dc0 "198.51.100.1/24 2001:db8:dc::1/64"
nsx dc ip route add default via 198.51.100.1
nsx dc ip -6 route add default via 2001:db8:dc::1
i=1
for n in a b c d; do
	ns_add "$n"
	link "$n" eth0 "203.0.113.$((16 * i + 2))/28 2001:db8:$i::2/64" r "$n"0 "203.0.113.$((16 * i + 1))/28 2001:db8:$i::1/64"
	nsx "$n" ip route add default via "203.0.113.$((16 * i + 1))"
	nsx "$n" ip -6 route add default via "2001:db8:$i::1"
	i=$((i + 1))
done
wait_for 5 "routing from a to the DC" nsx a ping -c1 -W1 198.51.100.2

# --- the DC ---
mkdir -p "$T/dc"
cat > "$T/dc/dcd.conf" <<CONF
[DC]
Zone = $ZONE
PrivateKeyFile = $T/dc/dc.key
Database = $T/dc/dc.db
ControlSocket = $T/dc/run/dcd.sock
KeepaliveInterval = $KA
NodeLifetime = $LIFE
CONF
"$NTM_DCD" -n -c "$T/dc/dcd.conf" >/dev/null || fail "ntm-dcd -n rejected the config"
bg dc dcd "$NTM_DCD" -f -c "$T/dc/dcd.conf"
DCD_PID=$LAST_PID
wait_for 5 "DC key file" test -s "$T/dc/dc.key"
DCPUB=$("$NTM_DCCTL" -c "$T/dc/dcd.conf" show-key) || fail "show-key"
[ ${#DCPUB} = 44 ] || fail "show-key printed '$DCPUB'"
ok "DC started, public key $DCPUB"

# --- nodes: a, b, c enrolled; d has a key nobody enrolled ---
node_conf() { # NAME NODENAME
	mkdir -p "$T/$1"
	cat > "$T/$1/tund.conf" <<CONF
[Node]
Name = $2
PrivateKeyFile = $T/$1/node.key
ControlSocket = $T/$1/run/tund.sock
User = nobody
[DC]
Endpoint = 198.51.100.2:7540
PublicKey = $DCPUB
CONF
	(umask 077; "$NTMCTL" genkey > "$T/$1/node.key")
}
for n in a b c d; do node_conf "$n" "$n"; done

# A private key others can read is refused, with a message saying so.
node_conf loose loose
chmod 644 "$T/loose/node.key"
if nsx a "$NTM_TUND" -f -c "$T/loose/tund.conf" > "$T/loose.out" 2>&1; then
	fail "ntm-tund accepted a world-readable private key"
fi
grep -q "accessible by group or others (mode 0644)" "$T/loose.out" \
	|| fail "unclear message for a loose key: $(cat "$T/loose.out")"
ok "a private key readable by others is refused: $(grep -o 'accessible.*' "$T/loose.out" | head -c 80)"
for n in a b c; do
	pub=$("$NTMCTL" pubkey < "$T/$n/node.key")
	"$NTM_DCCTL" -c "$T/dc/dcd.conf" node add "$n" "$pub" >/dev/null || fail "node add $n"
done
"$NTM_DCCTL" -c "$T/dc/dcd.conf" node list --json > "$T/list.json"
grep -q '"name": "a.ntm.example.org"' "$T/list.json" || fail "node list lacks a: $(cat "$T/list.json")"
# ntm-dcctl ran as root before the DC ever started: the registry it made is
# the DC's user's (User's default: ntm, or nobody where there is no such
# account), as under the systemd unit, where the DC starts as that user and
# could not take root's files over
dc_user=nobody
id ntm > /dev/null 2>&1 && dc_user=ntm
own=$(stat -c %U "$T/dc/dc.db")
[ "$own" = "$dc_user" ] || fail "the registry ntm-dcctl made is $own's, not the DC's user's ($dc_user)"
ok "the registry ntm-dcctl made as root belongs to the DC's user"

# nftables counters in the DC's namespace: datagrams from and to node d.
nsx dc nft -f - <<NFT || fail "nft"
table inet ntmtest {
	counter d_in { }
	counter d_out { }
	chain in {
		type filter hook input priority 0; policy accept;
		ip saddr 203.0.113.66 udp dport 7540 counter name "d_in"
	}
	chain out {
		type filter hook output priority 0; policy accept;
		ip daddr 203.0.113.66 counter name "d_out"
	}
}
NFT

for n in a b c d; do
	bg "$n" "tund-$n" "$NTM_TUND" -f -c "$T/$n/tund.conf"
	eval "PID_$n=\$LAST_PID"
done

registered() { "$NTMCTL" -s "$T/$1/run/tund.sock" status --json | grep -q '"state": "registered"'; }
for n in a b c; do
	wait_for 10 "node $n registered" registered "$n"
done
ok "a, b and c registered"
seccomp_on "$DCD_PID" ntm-dcd
for n in a b c; do eval "seccomp_on \$PID_$n ntm-tund-$n"; done
ok "ntm-dcd and each ntm-tund run under their seccomp filter (Seccomp: 2)"

# --- addresses on ntm0: from the prefixes, distinct ---
addrs() { # NAME -> "v4 v6"
	local v4 v6
	v4=$(nsx "$1" ip -4 -o addr show dev ntm0 | awk '{print $4}')
	v6=$(nsx "$1" ip -6 -o addr show dev ntm0 scope global | awk '{print $4}')
	echo "$v4 $v6"
}
declare -A BEFORE
for n in a b c; do
	BEFORE[$n]=$(addrs "$n")
	set -- ${BEFORE[$n]}
	[ $# = 2 ] || fail "$n: ntm0 has '${BEFORE[$n]}', expected one IPv4 and one IPv6"
	case $1 in 198.1[89].*/15) ;; *) fail "$n: IPv4 $1 not in 198.18.0.0/15" ;; esac
	case $2 in fd*/48) ;; *) fail "$n: IPv6 $2 not a ULA /48" ;; esac
	nsx "$n" ip link show ntm0 | grep -q "mtu 1388" || fail "$n: ntm0 MTU is not 1388"
	nsx "$n" ip link show ntm0 | grep -q "UP" || fail "$n: ntm0 is not up"
done
[ "$(printf '%s\n' "${BEFORE[@]}" | tr ' ' '\n' | sort | uniq -d)" = "" ] || fail "duplicate addresses: ${BEFORE[*]}"
v6a=${BEFORE[a]#* }; v6b=${BEFORE[b]#* }
[ "${v6a%%::*}" = "${v6b%%::*}" ] || fail "nodes in different IPv6 prefixes: $v6a $v6b"
ok "distinct addresses: ${BEFORE[*]}"

# status shows what the DC sees
"$NTMCTL" -s "$T/a/run/tund.sock" status | grep -q "seen as:  203.0.113.18:7541" \
	|| fail "status of a lacks the observed endpoint: $("$NTMCTL" -s "$T/a/run/tund.sock" status)"
ok "ntmctl status shows the endpoint the DC sees"

# --- an unenrolled key gets a refusal it alone can read, and no more ---
sleep 3   # d keeps retrying with backoff meanwhile
registered d && fail "unenrolled node d registered"
"$NTMCTL" -s "$T/d/run/tund.sock" status | grep -q "this node's key is not enrolled" \
	|| fail "d was not told it is not enrolled: $("$NTMCTL" -s "$T/d/run/tund.sock" status)"
# d keeps retrying: read what went out before what came in, so that a
# retry answered between the two reads cannot count as a reply too many
dout=$(nsx dc nft list counter inet ntmtest d_out | awk '/packets/ {print $2}')
doutb=$(nsx dc nft list counter inet ntmtest d_out | awk '/bytes/ {print $4}')
din=$(nsx dc nft list counter inet ntmtest d_in | awk '/packets/ {print $2}')
dinb=$(nsx dc nft list counter inet ntmtest d_in | awk '/bytes/ {print $4}')
[ "${din:-0}" -ge 2 ] || fail "DC saw only ${din:-0} datagrams from d"
[ "${dout:-0}" -le "${din:-0}" ] || fail "DC sent $dout packets for d's $din"
[ "${doutb:-0}" -lt "${dinb:-0}" ] || fail "DC sent $doutb bytes for d's $dinb"
"$NTM_DCCTL" -c "$T/dc/dcd.conf" stats --json > "$T/stats.json" || fail "ntm-dcctl stats"
grep -Eq '"hs_refused_unenrolled": [1-9]' "$T/stats.json" \
	|| fail "DC did not count d's refusals: $(cat "$T/stats.json")"
ok "unenrolled key: $din datagrams ($dinb bytes) in, $dout ($doutb bytes) out, told it is not enrolled"

# --- metrics: Prometheus text that parses, with STATS' values ---
"$NTM_DCCTL" -c "$T/dc/dcd.conf" metrics > "$T/dc.prom" || fail "ntm-dcctl metrics"
"$NTMCTL" -s "$T/a/run/tund.sock" metrics > "$T/a.prom" || fail "ntmctl metrics"
for f in "$T/dc.prom" "$T/a.prom"; do
	bad=$(grep -v '^#' "$f" | grep -Ev '^[a-zA-Z_:][a-zA-Z0-9_:]* [0-9]+$' | head -3)
	[ -z "$bad" ] || fail "$f: lines that are not 'name value': $bad"
	[ "$(grep -c '^# TYPE ' "$f")" = "$(grep -vc '^#' "$f")" ] || fail "$f: not one TYPE per sample"
done
unenr=$(awk '$1 == "ntm_dcd_drop_unenrolled_total" {print $2}' "$T/dc.prom")
[ -n "$unenr" ] && [ "$unenr" -ge "$(grep -o '"drop_unenrolled": [0-9]*' "$T/stats.json" | grep -o '[0-9]*$')" ] \
	|| fail "ntm_dcd_drop_unenrolled_total '$unenr' is below STATS' $(cat "$T/stats.json")"
grep -q '^# TYPE ntm_dcd_drop_unenrolled_total counter$' "$T/dc.prom" || fail "no counter TYPE line"
grep -q '^ntm_dcd_nodes_registered [1-9]' "$T/dc.prom" || fail "DC gauge nodes_registered: $(grep nodes_ "$T/dc.prom")"
grep -q '^ntm_tund_dc_registered 1$' "$T/a.prom" || fail "a's gauge dc_registered is not 1"
# registrations between two STATS (a re-registers at least every 120 s)
a_regs() { "$NTMCTL" -s "$T/a/run/tund.sock" stats --json | grep -o '"registrations": [0-9]*' | grep -o '[0-9]*$'; }
r1=$(a_regs)
"$NTMCTL" -s "$T/a/run/tund.sock" metrics > "$T/a.prom" || fail "ntmctl metrics"
r2=$(a_regs)
rm=$(awk '$1 == "ntm_tund_registrations_total" {print $2}' "$T/a.prom")
[ -n "$rm" ] && [ "$r1" -ge 1 ] && [ "$r1" -le "$rm" ] && [ "$rm" -le "$r2" ] \
	|| fail "registrations: STATS $r1 then $r2, metrics '$rm'"
ok "metrics parse (every sample 'name value', one TYPE each) and match STATS"

# --- one name, one key ---
pub_d=$("$NTMCTL" pubkey < "$T/d/node.key")
if "$NTM_DCCTL" -c "$T/dc/dcd.conf" node add a "$pub_d" 2> "$T/err"; then
	fail "a second key was enrolled under the name a"
fi
grep -q "already enrolled" "$T/err" || fail "unclear error: $(cat "$T/err")"
# d enrolled as e, but claiming the name c: the DC refuses the registration.
"$NTM_DCCTL" -c "$T/dc/dcd.conf" node add e "$pub_d" >/dev/null || fail "node add e"
kill "$PID_d"
node_conf d2 c
cp "$T/d/node.key" "$T/d2/node.key"
bg d "tund-d2" "$NTM_TUND" -f -c "$T/d2/tund.conf"
wait_for 10 "d2 refused" sh -c "\"$NTMCTL\" -s \"$T/d2/run/tund.sock\" status --json | grep -q '\"state\": \"refused\"'"
grep -q "refused the registration" "$T/tund-d2.log" || fail "no refusal message in d2's log"
[ "$(addrs c)" = "${BEFORE[c]}" ] || fail "c lost its addresses"
ok "a second key claiming an enrolled name is refused"

# --- kill -9 the DC, restart: same addresses, nodes re-register by themselves ---
kill -9 "$DCD_PID"; wait "$DCD_PID" 2>/dev/null
wait_for 5 "DC gone" sh -c "! kill -0 $DCD_PID"
bg dc dcd "$NTM_DCD" -f -c "$T/dc/dcd.conf"
DCD_PID=$LAST_PID
t0=$(date +%s%N)
for n in a b c; do
	# a fresh registration shows as a recent answer after the restart
	wait_for $BOUND "$n re-registered after the DC restart" sh -c \
		"grep -c 'registered as' \"$T/tund-$n.log\" | grep -q '^[2-9]'"
done
t1=$(date +%s%N)
for n in a b c; do
	[ "$(addrs "$n")" = "${BEFORE[$n]}" ] || fail "$n: addresses changed to $(addrs "$n")"
done
ok "all nodes re-registered $(( (t1 - t0) / 1000000 )) ms after the DC restart, same addresses"

# --- clock skew: told, not "DC does not answer" ---
CLOCKSHIFT=$top_builddir/tests/netns/.libs/libclockshift.so
[ -f "$CLOCKSHIFT" ] || fail "no $CLOCKSHIFT (make check builds it)"
status_c() { "$NTMCTL" -s "$T/c/run/tund.sock" status; }
restart_c() { # SHIFT_SECONDS LOG
	kill "$PID_c"; wait "$PID_c" 2>/dev/null
	bg c "$2" env LD_PRELOAD="$CLOCKSHIFT" NTM_TEST_CLOCK_SHIFT="$1" ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" "$NTM_TUND" -f -c "$T/c/tund.conf"
	PID_c=$LAST_PID
}
restart_c -3600 tund-c-behind
wait_for 10 "c refused for a clock an hour behind" sh -c \
	"\"$NTMCTL\" -s \"$T/c/run/tund.sock\" status | grep -Eq 'clock skew: our clock is behind the last handshake it accepted from us by 3[56][0-9][0-9] s'"
status_c | grep -q "(refused" || fail "c's status is not refused: $(status_c)"
grep -q "the DC refused us: clock skew" "$T/tund-c-behind.log" || fail "c did not log the refusal"
grep -q "no answer" "$T/tund-c-behind.log" && fail "c said the DC does not answer"
grep -Eq "c.$ZONE: handshake from .* refused: clock skew: stamped 3[56][0-9][0-9] s before" "$T/dcd.log" \
	|| fail "the DC did not log the refusal with the source: $(grep refused "$T/dcd.log")"
ok "clock 1 h behind: $(status_c | grep -o 'DC refused us.*')"
restart_c 3600 tund-c-ahead
wait_for 10 "c refused for a clock an hour ahead" sh -c \
	"\"$NTMCTL\" -s \"$T/c/run/tund.sock\" status | grep -Eq 'clock skew: our clock is ahead of the DC.s by 3[56][0-9][0-9] s'"
ok "clock 1 h ahead: $(status_c | grep -o 'DC refused us.*')"
restart_c 0 tund-c-right
wait_for 10 "c registered with its clock right" registered c
status_c | grep -q "DC refused" && fail "c still shows a refusal: $(status_c)"
"$NTM_DCCTL" -c "$T/dc/dcd.conf" stats --json | grep -Eq '"hs_refused": [1-9]' || fail "hs_refused not counted"
ok "clock right again: c registered, the refusal gone"

# --- restore from an older backup while the DC runs: no address twice ---
dcctl() { "$NTM_DCCTL" -c "$T/dc/dcd.conf" "$@"; }
newpub() { "$NTMCTL" genkey | "$NTMCTL" pubkey; }
dcctl backup "$T/backup.db" > "$T/backup.out" || fail "backup: $(cat "$T/backup.out")"
f=$(dcctl node add f "$(newpub)") || fail "node add f"
dcctl restore "$T/backup.db" > "$T/restore.out" 2> "$T/restore.err" || fail "restore: $(cat "$T/restore.err")"
grep -q "older than its mark file" "$T/restore.err" || fail "restore did not warn: $(cat "$T/restore.err")"
dcctl node list | grep -q "^f\.$ZONE" && fail "f is still enrolled after the restore"
g=$(dcctl node add g "$(newpub)") || fail "node add g"
set -- $f; f4=$2; set -- $g; g4=$2
[ "$f4" != "$g4" ] || fail "g got f's address $f4 after the restore"
[ "${g4##*.}" -gt "${f4##*.}" ] || fail "g's $g4 is not above f's $f4"
for n in a b c; do wait_for 10 "$n still registered" registered "$n"; done
ok "restored an older backup with the DC running: f had $f4, g got $g4; a, b, c still registered"

# --- an empty database file is refused, naming it ---
: > "$T/empty.db"
sed "s|^Database = .*|Database = $T/empty.db|; s|^ControlSocket = .*|ControlSocket = $T/empty/dcd.sock|" \
	"$T/dc/dcd.conf" > "$T/empty.conf"
if nsx a "$NTM_DCD" -f -c "$T/empty.conf" > "$T/empty.out" 2>&1; then
	fail "ntm-dcd started on an empty database file"
fi
grep -q "$T/empty.db: an empty file (0 bytes), not an ntm registry: remove it" "$T/empty.out" \
	|| fail "unclear error for an empty file: $(cat "$T/empty.out")"
[ ! -s "$T/empty.db" ] || fail "the empty file was written to"
ok "empty database file refused: $(grep -o "empty.db: an empty.*" "$T/empty.out" | head -c 100)"
# --- an enrolled node that is offline: when the DC last saw it ---
# e (d's key) never registered: the DC has not seen it since it started.
out=$("$NTMCTL" -s "$T/b/run/tund.sock" resolve "e.$ZONE" 2>&1) && fail "resolve e succeeded: $out"
echo "$out" | grep -q "^ntmctl: e.$ZONE: offline, not seen since the DC started$" \
	|| fail "resolve of never-seen e: $out"
"$NTMCTL" -s "$T/b/run/tund.sock" peers | grep -q "^c\.$ZONE" && fail "b already has c as a peer"
kill "$PID_c"; wait "$PID_c" 2>/dev/null
wait_for $((LIFE + 5)) "the DC expired c" grep -q "c.$ZONE expired" "$T/dcd.log"
out=$("$NTMCTL" -s "$T/b/run/tund.sock" resolve "c.$ZONE" 2>&1) && fail "resolve c succeeded: $out"
echo "$out" | grep -Eq "^ntmctl: c.$ZONE: offline, last seen [0-9]+ s ago$" || fail "resolve of offline c: $out"
out=$("$NTMCTL" -s "$T/b/run/tund.sock" ping -c 1 "c.$ZONE" 2>&1) && fail "ping c succeeded: $out"
echo "$out" | grep -Eq "^ntmctl: ping c.$ZONE: offline, last seen [0-9]+ s ago$" || fail "ping of offline c: $out"
ok "offline peers: $(echo "$out" | sed 's/^ntmctl: //'); e: not seen since the DC started"

echo "PASS: registration"
