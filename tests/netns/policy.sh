#!/bin/bash
# policy.sh - the access policy (ntm-policy(5)) on the DC and on the nodes,
# nodes a, b and c on the routed test network. The DC first allows a <-> b
# (and b <-> c), not a <-> c; a's own policy allows a <-> b and a -> c (a
# may initiate to c, c not to a). a reaches b by name; a's lookup of c is
# refused by the DC (DIRECTION_NAK FORBIDDEN: ntmctl says so, getent through
# nss_ntm fails, no tunnel, the DC counts policy_denied); a's lookup of a
# name its own policy forbids fails without asking the DC. A policy file
# that does not parse is named with its line by ntm-dcd -n and ntm-tund -n,
# and a reload of one keeps the DC's policy. Then the DC's policy is
# rewritten to allow a <-> c and reloaded (ntm-dcctl policy
# reload, and SIGHUP): c sets a tunnel up to a, but a's own policy does not let c
# initiate, so c's pings are dropped at a (policy_drops), while b's pass.
. "$(dirname "$0")/lib.sh"
require_root
command -v getent >/dev/null || fail "getent not found (libc-bin)"
NSSLIB=$top_builddir/nss_ntm/.libs
[ -e "$NSSLIB/libnss_ntm.so.2" ] || fail "libnss_ntm.so.2 not built: run make"

ZONE=ntm.example.org
cat > "$T/dc.policy" <<POL
# the DC's policy, first version
allow a.$ZONE <-> b.$ZONE
allow b.$ZONE <-> c.$ZONE
POL
cat > "$T/a.policy" <<POL
group ab = a.$ZONE b.$ZONE
allow @ab <-> @ab
allow a.$ZONE -> c.$ZONE
POL
cat > "$T/b.policy" <<POL
allow * <-> *
POL
cp "$T/b.policy" "$T/c.policy"
DC_EXTRA_CONF="[Policy]
File = $T/dc.policy"
# two workers per node: the drops happen on the workers' path too
NODE_EXTRA="[Interface]
Workers = 2
[Policy]
File = $T/@NODE@.policy"
NODES="a b c"
. "$(dirname "$0")/setup2.sh"

stat_of() { # SOCKET COUNTER
	"$NTMCTL" -s "$1" stats --json | grep -o "\"$2\": [0-9]*" | grep -o '[0-9]*$'
}
dc_stat() { "$NTM_DCCTL" -c "$DCCONF" stats --json | grep -o "\"$1\": [0-9]*" | grep -o '[0-9]*$'; }
vip4() { # SOCKET NAME: NAME's IPv4 virtual address, resolved there
	"$NTMCTL" -s "$1" resolve -4 "$2" | awk '{print $1; exit}'
}

# --- the tools agree with the files ---
"$NTM_DCCTL" -c "$DCCONF" policy show > "$T/show.out" || fail "policy show: $(cat "$T/show.out")"
grep -q "^allow a.$ZONE <-> b.$ZONE" "$T/show.out" || fail "policy show: $(cat "$T/show.out")"
"$NTM_DCCTL" -c "$DCCONF" policy check a b > "$T/check.out" || fail "check a b: $(cat "$T/check.out")"
grep -q "^allowed: a.$ZONE -> b.$ZONE by rule 1" "$T/check.out" || fail "check a b: $(cat "$T/check.out")"
rc=0; "$NTM_DCCTL" -c "$DCCONF" policy check a c > "$T/check.out" || rc=$?
[ "$rc" -eq 1 ] && grep -q "^denied: a.$ZONE -> c.$ZONE" "$T/check.out" ||
	fail "check a c: exit $rc, $(cat "$T/check.out")"
ok "ntm-dcctl policy show and check: a -> b allowed by rule 1, a -> c denied (exit 1)"

# --- allowed: a reaches b ---
b4=$(vip4 "$sock_a" "b.$ZONE") || fail "a cannot resolve b"
[ -n "$b4" ] || fail "a: no address for b"
nsx a ping -c 2 -W 2 "$b4" >/dev/null || fail "a cannot ping b at $b4"
ok "a resolves b ($b4) and pings it through the tunnel"

# --- forbidden by the DC: a -> c ---
d0=$(dc_stat policy_denied) || fail "DC stats"
rc=0; "$NTMCTL" -s "$sock_a" resolve "c.$ZONE" > "$T/res.out" 2>&1 || rc=$?
[ "$rc" -eq 1 ] || fail "a resolving c: exit $rc, $(cat "$T/res.out")"
grep -q "forbidden by the DC's policy" "$T/res.out" || fail "a resolving c said: $(cat "$T/res.out")"
d1=$(dc_stat policy_denied) || fail "DC stats"
[ "$d1" -gt "$d0" ] || fail "DC policy_denied did not grow ($d0 -> $d1)"
if nsx a env LD_LIBRARY_PATH="$NSSLIB" NTM_NSS_FILE="$T/a/run/nss" \
	getent -s hosts:ntm hosts "c.$ZONE" > "$T/getent.out"; then
	fail "getent on a resolved c: $(cat "$T/getent.out")"
fi
"$NTMCTL" -s "$sock_a" peers > "$T/peers.out" || fail "ntmctl peers on a"
grep -q "^c\.$ZONE" "$T/peers.out" && fail "a has a peer c: $(cat "$T/peers.out")"
"$NTMCTL" -s "$sock_c" peers > "$T/peers.out" || fail "ntmctl peers on c"
grep -q "^a\.$ZONE" "$T/peers.out" && fail "c has a peer a: $(cat "$T/peers.out")"
rc=0; "$NTMCTL" -s "$sock_a" ping -c 1 "c.$ZONE" > "$T/ping.out" 2>&1 || rc=$?
[ "$rc" -eq 1 ] && grep -q "forbidden by the DC's policy" "$T/ping.out" ||
	fail "ntmctl ping c on a: exit $rc, $(cat "$T/ping.out")"
ok "a -> c: '$(cat "$T/res.out")' (exit 1), ntmctl ping too, getent fails, no tunnel, DC policy_denied $d0 -> $d1"

# --- forbidden by a's own policy: not even asked ---
r0=$(stat_of "$sock_a" policy_refused) || fail "a's stats"
d1=$(dc_stat policy_denied) || fail "DC stats"
rc=0; "$NTMCTL" -s "$sock_a" resolve "x.$ZONE" > "$T/res.out" 2>&1 || rc=$?
[ "$rc" -eq 1 ] && grep -q "forbidden by this node's policy" "$T/res.out" ||
	fail "a resolving x: exit $rc, $(cat "$T/res.out")"
r1=$(stat_of "$sock_a" policy_refused) || fail "a's stats"
d2=$(dc_stat policy_denied) || fail "DC stats"
[ "$r1" -gt "$r0" ] || fail "a's policy_refused did not grow ($r0 -> $r1)"
[ "$d2" -eq "$d1" ] || fail "the DC was asked for x ($d1 -> $d2 denied)"
ok "a -> x: '$(cat "$T/res.out")', the DC not asked"

# --- a policy file that does not parse: named with its line, by both daemons' -n ---
printf 'allow a.%s -> b.%s\nallow a.%s <=> c.%s\n' $ZONE $ZONE $ZONE $ZONE > "$T/bad.policy"
sed "s|^File = .*|File = $T/bad.policy|" "$T/a/tund.conf" > "$T/bad-tund.conf"
out=$("$NTM_TUND" -n -c "$T/bad-tund.conf" 2>&1) && fail "ntm-tund -n accepted a bad policy: $out"
echo "$out" | grep -q "bad.policy:2: '<=>' is not <-> or ->" || fail "ntm-tund -n said: $out"
sed "s|^File = .*|File = $T/bad.policy|" "$DCCONF" > "$T/bad-dcd.conf"
out=$("$NTM_DCD" -n -c "$T/bad-dcd.conf" 2>&1) && fail "ntm-dcd -n accepted a bad policy: $out"
echo "$out" | grep -q "bad.policy:2: '<=>' is not <-> or ->" || fail "ntm-dcd -n said: $out"
ok "a bad policy file: $(echo "$out" | tail -1)"

# --- a reload of a bad file keeps the policy the DC had ---
cp "$T/bad.policy" "$T/dc.policy"
"$NTM_DCCTL" -c "$DCCONF" policy reload > "$T/reload.out" 2>&1 &&
	fail "policy reload of a bad file succeeded: $(cat "$T/reload.out")"
rc=0; "$NTMCTL" -s "$sock_a" resolve "c.$ZONE" > "$T/res.out" 2>&1 || rc=$?
[ "$rc" -eq 1 ] && grep -q "forbidden by the DC's policy" "$T/res.out" ||
	fail "after a bad reload, a resolving c: exit $rc, $(cat "$T/res.out")"
grep -q "dc.policy:2: '<=>' is not <-> or ->; keeping the policy read before" "$T/dcd.log" ||
	fail "the DC did not log the bad line: $(tail -3 "$T/dcd.log")"
ok "a reload of a bad file: ntm-dcctl exit 1, the DC logs the line and keeps its policy"

# --- the DC's policy reloaded: a <-> c allowed there, not by a's own ---
cat > "$T/dc.policy" <<POL
# the DC's policy, second version
allow * <-> *
POL
l0=$(dc_stat policy_reloads) || fail "DC stats"
"$NTM_DCCTL" -c "$DCCONF" policy reload || fail "ntm-dcctl policy reload"
l1=$(dc_stat policy_reloads) || fail "DC stats"
[ "$l1" -gt "$l0" ] || fail "policy_reloads did not grow ($l0 -> $l1)"
reloaded_since() { [ "$(dc_stat policy_reloads)" -gt "$1" ]; }
kill -HUP "$DCD_PID"
wait_for 5 "SIGHUP reloads the DC's policy" reloaded_since "$l1"
a4=$(vip4 "$sock_c" "a.$ZONE") || fail "c cannot resolve a after the reload"
[ -n "$a4" ] || fail "c: no address for a"
p0=$(stat_of "$sock_a" policy_drops) || fail "a's stats"
nsx c ping -c 3 -i 0.3 -W 1 "$a4" > "$T/ping.out" 2>&1 &&
	fail "c's pings reached a: $(cat "$T/ping.out")"
p1=$(stat_of "$sock_a" policy_drops) || fail "a's stats"
[ "$p1" -ge $((p0 + 3)) ] || fail "a's policy_drops $p0 -> $p1 (3 pings from c)"
nsx b ping -c 2 -W 2 "$a4" >/dev/null || fail "b cannot ping a at $a4"
ok "DC reloaded by ntm-dcctl policy reload and by SIGHUP (policy_reloads $l0 -> $(dc_stat policy_reloads)); c resolves a but its 3 pings are dropped at a (policy_drops $p0 -> $p1); b's pings pass"
