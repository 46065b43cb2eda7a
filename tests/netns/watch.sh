#!/bin/bash
# watch.sh - `ntmctl watch`: events streamed from ntm-tund on a as they
# happen. A watcher with --json (and one with text lines) on a sees the
# start, a re-registration (connecting, then registered), the tunnel to b
# coming up directly, and, once direct UDP between a and b is dropped on
# the router, the path changing to the relay with its reason. Then the cap
# of 16 watchers: the 17th is told to try again.
. "$(dirname "$0")/lib.sh"
require_root
command -v nft >/dev/null || skip "needs nftables"
NODES="a b"
NODE_EXTRA="NatKeepalive = 2"
. "$(dirname "$0")/setup2.sh"

ev() { grep -c -- "$1" "$T/watch-json.log"; }
has() { grep -q -- "$1" "$T/watch-json.log"; }

bg a watch-json "$NTMCTL" -s "$sock_a" watch --json
bg a watch-text "$NTMCTL" -s "$sock_a" watch
wait_for 5 "the start event" has '"event": "start", "dc": "registered"}'
wait_for 5 "the text watcher's start" grep -q ' watching: dc registered$' "$T/watch-text.log"
ok "watch started: $(head -n 1 "$T/watch-json.log")"

# --- registration: connecting, then registered again ---
"$NTMCTL" -s "$sock_a" reregister || fail "reregister"
wait_for 10 "registered again" has '"event": "dc", "dc": "registered", "reason": "registration acknowledged"}'
has '"event": "dc", "dc": "connecting", "reason": "re-registration requested"}' \
	|| fail "no connecting event: $(cat "$T/watch-json.log")"
ok "re-registration: connecting, then registered"

# --- the tunnel to b comes up, directly ---
"$NTMCTL" -s "$sock_a" ping -c 2 "b.$ZONE" > "$T/ping1" || fail "ping b: $(cat "$T/ping1")"
wait_for 5 "b up" has "\"event\": \"up\", \"peer\": \"b.$ZONE\", \"path\": \"direct\", \"endpoint\": \"203.0.113.34:7541\"}"
ok "tunnel up: $(grep '"event": "up"' "$T/watch-json.log" | head -n 1)"

# --- direct UDP between a and b dropped: the path falls back to the relay ---
nsx r nft -f - <<NFT || fail "nft on r"
table inet ntmwatch {
	chain block {
		type filter hook forward priority 0;
		ip saddr 203.0.113.16/28 ip daddr 203.0.113.32/28 udp dport 7541 drop
		ip saddr 203.0.113.32/28 ip daddr 203.0.113.16/28 udp dport 7541 drop
		ip6 saddr 2001:db8:1::/64 ip6 daddr 2001:db8:2::/64 udp dport 7541 drop
		ip6 saddr 2001:db8:2::/64 ip6 daddr 2001:db8:1::/64 udp dport 7541 drop
	}
}
NFT
# IP traffic through the tunnel, so that a notices the silence
VIP_B=$("$NTMCTL" -s "$sock_a" resolve -4 "b.$ZONE" | awk '{print $1}')
[ -n "$VIP_B" ] || fail "no address for b"
nsx a ping -c 80 -i 0.5 "$VIP_B" > "$T/ping2" 2>&1 &
PING_PID=$!
PIDS="$PIDS $PING_PID"
wait_for 30 "path to the relay" has "\"event\": \"path\", \"peer\": \"b.$ZONE\", \"path\": \"relay\", \"endpoint\": \"198.51.100.2:7542\", \"reason\": \""
line=$(grep "\"event\": \"path\", \"peer\": \"b.$ZONE\", \"path\": \"relay\"" "$T/watch-json.log" | head -n 1)
reason=$(echo "$line" | sed -n 's/.*"reason": "\([^"]*\)"}$/\1/p')
[ -n "$reason" ] || fail "the path event has no reason: $line"
wait_for 5 "the text watcher's path line" grep -q " peer b.$ZONE path relay 198.51.100.2:7542 (.*)$" "$T/watch-text.log"
ok "path change to the relay: $reason"

# every line is one JSON object with a time and an event
bad=$(grep -v '^{"time": "[0-9T:.-]*Z", "time_ms": [0-9]*, "event": "[a-z]*".*}$' "$T/watch-json.log" | head -n 3)
[ -z "$bad" ] || fail "lines that are not events: $bad"

# --- at most 16 watchers ---
for i in $(seq 3 16); do bg a "watch-$i" "$NTMCTL" -s "$sock_a" watch; done
wait_for 5 "16 watchers" sh -c "cat $T/watch-16.log | grep -q watching"
if "$NTMCTL" -s "$sock_a" watch > "$T/watch-17.out" 2>&1; then fail "a 17th watcher"; fi
grep -q "too many watchers" "$T/watch-17.out" || fail "17th watcher: $(cat "$T/watch-17.out")"
ok "the 17th watcher is refused: $(cat "$T/watch-17.out")"
kill -0 "$TUND_PID_a" || fail "ntm-tund on a died"
echo "PASS: watch"
