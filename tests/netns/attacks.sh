#!/bin/bash
# attacks.sh - the data plane under attack: an attacker on the router between a and
# b captures a's DATA datagrams to b and sends them again as they were
# (replay), with a ciphertext byte flipped (forge) and cut short
# (truncate); then a sends b packets whose inner source is not a's
# virtual address (spoof). b must drop every one, count each in the right
# counter (tund.h TUND_STATS), write none of them to its ntm0, and send
# nothing at all to a in answer (nftables counters in b's namespace).
# Afterwards the tunnel still carries a genuine ping.
#
# b's timers send meanwhile, whatever the attacker does (protocol.md
# section 7): KEEPALIVE to the DC and, after NatKeepalive seconds without
# sending to a, an empty DATA to a (and one PASSIVE_KEEPALIVE_MS after a's
# genuine ping reply, which b did not answer); on a loaded machine a window lasts long
# enough for either. So the checks leave out b's tx_packets (which counts
# both) and watch what an answer would move instead: the counters of data,
# handshakes, probes and relay capsules b sends to peers (quiet while both
# paths are direct), and every packet b sends to a, of which empty DATA
# (the NAT keepalive's form) may only be as many as the timer allows.
#
# Frames b already accepted have counters b has seen, and a receiver peeks
# at the replay window before it opens the AEAD (protocol.md 2.4 steps 4
# and 5): altered copies of them are replays. To reach the AEAD the test
# also captures frames b never received (b's input from a is blocked
# meanwhile), forges those, and at the end proves the failed forgeries did
# not use up their counters: the untouched frames are still accepted once.
. "$(dirname "$0")/lib.sh"
require_root
command -v nft >/dev/null || skip "needs nftables"
ATTACK=$top_builddir/tests/netns/ntm_attack
[ -x "$ATTACK" ] || fail "$ATTACK is missing (make check builds it)"
. "$(dirname "$0")/setup2.sh"

A_IP=203.0.113.18
PORT=7541
N=3                     # DATA frames per capture
SPOOF_N=5
SPOOF_SRC=198.18.0.77   # in the overlay prefix, nobody's address
# b's counters that an answer to a would move (its timers do not while the
# path to a is direct and b is the responder: no probes, relay keepalives,
# rekeying or handshake retries)
ANSWERS="tx_data_bytes peer_handshakes_sent probes_sent relay_tx"
# counters of b that each step checks; one not named in a step must stay
WATCH_ALL="drop_malformed drop_unknown drop_auth drop_replay drop_ratelimit drop_unknown_peer
	drop_inner_src drop_bad_inner tun_tx_packets $ANSWERS"
WATCH=$WATCH_ALL

vip4() { nsx "$1" ip -4 -o addr show dev ntm0 | awk '{ sub("/.*", "", $4); print $4 }'; }
have_vips() { [ -n "$(vip4 a)" ] && [ -n "$(vip4 b)" ]; }
wait_for 5 "virtual addresses on ntm0" have_vips
VIP_A=$(vip4 a)
VIP_B=$(vip4 b)
[ "$VIP_A" != "$SPOOF_SRC" ] && [ "$VIP_B" != "$SPOOF_SRC" ] || fail "$SPOOF_SRC is a node's own address"

# ---- b's counters ----
stats_b() { "$NTMCTL" -s "$sock_b" stats --json; }
# ctr JSON NAME: one counter from a stats --json line
ctr() {
	local v
	v=$(printf '%s' "$1" | grep -o "\"$2\": [0-9]*") || return 1
	echo "${v##* }"
}
declare -A EXP
expect_init() {
	local now n
	now=$(stats_b) || fail "ntmctl stats on b"
	for n in $WATCH; do EXP[$n]=$(ctr "$now" "$n") || fail "b has no counter $n"; done
}
reached() {
	local now n
	now=$(stats_b) || return 1
	for n in $WATCH; do [ "$(ctr "$now" "$n")" -ge "${EXP[$n]}" ] || return 1; done
}
# expect WHAT NAME=DELTA...: b's counters NAME rise by DELTA, the other
# watched ones stay; waits until they got there, then requires exactly that.
expect() {
	local what=$1 kv now n got
	shift
	for kv; do EXP[${kv%%=*}]=$((EXP[${kv%%=*}] + ${kv#*=})); done
	wait_for 5 "b's counters after $what" reached
	now=$(stats_b) || fail "ntmctl stats on b"
	for n in $WATCH; do
		got=$(ctr "$now" "$n")
		[ "$got" = "${EXP[$n]}" ] || fail "$what: b's $n is $got, expected ${EXP[$n]} ($*)"
	done
}

# ---- b's traffic to a, counted in b's namespace ----
# empty_to_a: UDP with a 32-byte payload that starts with type 4, an empty
# DATA (header and tag only), the form of b's NAT keepalive; udp_to_a: other
# UDP; any_to_a: the rest. Each packet counts in one of them only (accept
# ends the chain): the three are read one after another, and a keepalive
# sent between two reads made overlapping counters disagree (-1 packets).
nsx b nft -f - <<NFT || fail "nft on b"
table ip ntmatk {
	counter empty_to_a { }
	counter udp_to_a { }
	counter any_to_a { }
	chain out {
		type filter hook output priority filter; policy accept;
		ip daddr $A_IP udp length 40 @th,64,8 4 counter name "empty_to_a" accept
		ip daddr $A_IP meta l4proto udp counter name "udp_to_a" accept
		ip daddr $A_IP counter name "any_to_a"
	}
}
NFT
nft_count() { nsx b nft list counter ip ntmatk "$1" | awk '/packets/ { print $2 }'; }
NAT_KA=$(sed -n 's/^NatKeepalive *= *//p' "$T/b/tund.conf")
NAT_KA=${NAT_KA:-15}    # b's NatKeepalive, seconds (ntm-tund's default)
now_ms() { echo $(($(date +%s%N) / 1000000)); }
direct() { "$NTMCTL" -s "$1" peers --json | grep -q '"path": "direct"'; }
paths_direct() { direct "$sock_a" && direct "$sock_b"; }
# quiet: b pings a (a genuine packet: b's NAT keepalive timer starts over
# at SENT_MS or later), in-flight answers to genuine traffic land, then the
# start of a window in which b may send a nothing but NAT keepalives
quiet() {
	wait_for 5 "a's and b's paths to each other direct" paths_direct
	SENT_MS=$(now_ms)
	wait_for 5 "a ping from b to a" nsx b ping -c 1 -W 1 "$VIP_A"
	sleep 1
	EMPTY0=$(nft_count empty_to_a)
	UDP0=$(nft_count udp_to_a)
	ANY0=$(nft_count any_to_a)
}
# nothing_sent WHAT [OWED]: the window's tail, then b's packets to a since
# quiet(): none but empty DATA, and no more of those than one per
# NatKeepalive since b last sent a genuine packet (each keepalive restarts
# the timer) plus OWED passive keepalives (default 1)
nothing_sent() {
	sleep 1
	local udp any ms owed=${2:-1}
	ms=$(( $(now_ms) - SENT_MS ))
	EMPTY=$(( $(nft_count empty_to_a) - EMPTY0 ))
	udp=$(( $(nft_count udp_to_a) - UDP0 ))
	any=$(( $(nft_count any_to_a) - ANY0 ))
	[ "$udp" = 0 ] || fail "$1: b sent $udp UDP datagrams to a (besides $EMPTY empty DATA)"
	[ "$any" = 0 ] || fail "$1: b sent $any packets to a that are not UDP"
	# one more: the passive keepalive b owes a's genuine ping reply
	# (PASSIVE_KEEPALIVE_MS after data it did not answer; nothing the
	# attacker sends decrypts, so nothing else can start that timer)
	[ "$EMPTY" -le $((ms / (NAT_KA * 1000) + owed)) ] ||
		fail "$1: b sent $EMPTY empty DATA to a in $ms ms; its NAT keepalive comes every $NAT_KA s, plus $owed passive keepalive(s)"
}

# ---- the attacker on the router's link to b ----
# capture NAME: start collecting the next N DATA frames r sends to b
capture() {
	bg r "cap-$1" "$ATTACK" capture b0 "$PORT" "$N" "$T/$1.cap" 10000
	CAP_PID=$LAST_PID
	wait_for 5 "capture on b0 ready" grep -q '^capturing on b0' "$T/cap-$1.log"
}
capture_done() {
	local pid rest=""
	wait "$CAP_PID" || fail "capture $1: $(cat "$T/cap-$1.log")"
	for pid in $PIDS; do [ "$pid" = "$CAP_PID" ] || rest="$rest $pid"; done
	PIDS=$rest     # reaped: cleanup must not kill a reused PID
}
# attack CMD NAME: run ntm_attack CMD on capture NAME from r, out b0; sets
# SENT (frames sent) and SHORT (those with a UDP payload under 32 bytes)
attack() {
	local out
	out=$(nsx r "$ATTACK" "$1" b0 "$T/$2.cap") || fail "ntm_attack $1 $2: $out"
	SENT=$(echo "$out" | sed -n 's/.* sent=\([0-9]*\).*/\1/p')
	SHORT=$(echo "$out" | sed -n 's/.* short=\([0-9]*\).*/\1/p')
	[ -n "$SENT" ] && [ -n "$SHORT" ] || fail "ntm_attack $1 printed '$out'"
}

# ---- 1. the tunnel, and frames b has accepted ("seen") ----
capture seen
"$NTMCTL" -s "$sock_a" resolve "b.$ZONE" >/dev/null || fail "resolve b.$ZONE on a"
nsx a ping -c 3 -i 0.2 -W 2 "$VIP_B" >/dev/null || fail "ping $VIP_B from a"
capture_done seen
ok "tunnel a -> b carries a ping; $N of a's DATA frames to b captured on the router"

# ---- 2. frames b never received ("fresh") ----
nsx b nft -f - <<NFT || fail "nft on b"
table ip ntmblock {
	chain in {
		type filter hook input priority filter; policy accept;
		ip saddr $A_IP udp sport $PORT drop
	}
}
NFT
capture fresh
nsx a ping -c 3 -i 0.2 -W 1 "$VIP_B" >/dev/null && fail "a ping got through while b's input was blocked"
capture_done fresh
nsx b nft delete table ip ntmblock || fail "nft on b"
ok "$N more DATA frames captured while b's input from a was blocked"

# ---- 3. the attack window ----
quiet
expect_init

attack replay seen
[ "$SENT" = "$N" ] || fail "replay sent $SENT frames"
expect "replay" drop_replay="$N"
ok "$N replayed frames: each dropped, drop_replay +$N"

attack forge seen
[ "$SENT" = "$N" ] || fail "forge sent $SENT frames"
expect "forged seen frames" drop_replay="$N"
ok "$N forged copies of seen frames: dropped at the replay window before the AEAD, drop_replay +$N"

attack forge fresh
[ "$SENT" = "$N" ] || fail "forge sent $SENT frames"
expect "forged fresh frames" drop_auth="$N"
ok "$N forged frames with fresh counters: the AEAD rejects each, drop_auth +$N"

attack truncate fresh
expect "truncated fresh frames" drop_malformed="$SHORT" drop_auth="$((SENT - SHORT))"
ok "$SENT truncated fresh frames: $SHORT under 32 bytes drop_malformed, $((SENT - SHORT)) longer drop_auth"

attack truncate seen
expect "truncated seen frames" drop_malformed="$SHORT" drop_replay="$((SENT - SHORT))"
ok "$SENT truncated seen frames: $SHORT under 32 bytes drop_malformed, $((SENT - SHORT)) longer drop_replay"

nothing_sent "replayed, forged and truncated frames"
expect "the window's tail"
ok "none reached b's ntm0 (tun_tx_packets unchanged), b sent a no answer ($EMPTY NAT keepalives)"

# ---- 4. the failed forgeries did not use up the fresh frames' counters ----
# b answers these pings, so its data counters move here: not watched
WATCH=${WATCH_ALL%" $ANSWERS"}
attack replay fresh
expect "the fresh frames, late but genuine" tun_tx_packets="$N"
ok "the $N untouched fresh frames are still accepted once (tun_tx_packets +$N)"
answered() { [ "$(nft_count udp_to_a)" -ge "$((UDP0 + N))" ]; }
wait_for 5 "b's answers to the late pings" answered
attack replay fresh
expect "the fresh frames again" drop_replay="$N"
ok "and dropped as replays the second time, drop_replay +$N"

# ---- 5. spoofed inner source ----
WATCH=$WATCH_ALL
quiet
expect_init
out=$(nsx a "$ATTACK" spoof "$SPOOF_SRC" "$VIP_B" "$SPOOF_N") || fail "ntm_attack spoof: $out"
expect "spoofed inner sources" drop_inner_src="$SPOOF_N"
# a sealed them in its session: data from a live peer, which b owes a
# passive keepalive whether or not it delivers the packets (protocol.md
# 2.8 rule 4; without it a took b's silence for a dead path after
# RX_SILENT, fell back to the relay and handshook again): a second one
nothing_sent "spoofed inner sources" 2
expect "the spoof window's tail"
ok "$SPOOF_N packets from $SPOOF_SRC sealed by a: b drops each, drop_inner_src +$SPOOF_N, none on ntm0, no answer to a ($EMPTY NAT keepalives)"

# ---- 6. the tunnel still works ----
wait_for 5 "a genuine ping a -> b" nsx a ping -c 1 -W 1 "$VIP_B"
ok "a genuine ping from a to b still works"
echo "PASS: attacks"
