#!/bin/bash
# mobility.sh - one TCP connection by name survives every change of underlay
# address (doc/lab.md section 6). a starts behind a port-restricted NAT
# (a-nat), b on the internet, dual-stack (so that a can reach it when a's
# own network is IPv6-only). The DC is dual-stack too. Spare networks are
# made in advance: a second port-restricted NAT for a (a-nat2), a port of
# the internet bridge where a is IPv6-only, and a port-restricted NAT for b
# (b-nat). On a, tests/netns/ntm_stream connects to b's name through
# nss_ntm; 4 KB every 2 ms flow both ways, every byte checked.
#
# Then, in turn, each with a mark on the stream just before the change:
#   (a) NAT rebinding: a-nat forgets its mappings and maps a from a new
#       port (nl_rebind);
#   (b) a-nat's public address renumbered, 203.0.113.11 -> .21;
#   (c) a moved behind a-nat2 (new LAN and public address);
#   (d) a moved to an IPv6-only network (2001:db8::a, no IPv4 at all);
#   (e) both at once: a back behind a-nat (IPv4) and b from the internet
#       behind b-nat;
#   (f) b's ntm-tund killed with -9 and started again (same key).
# After each: the SAME connection must flow again (no reset, no mismatch:
# the stream fails on either) within MOB_RESUME s (a bound for a resume,
# not a timing assertion), and the mechanism is checked: each node sees the
# other at its new public endpoint, address and port (the NATs are
# endpoint-independent, so the port is known: after (a), the new one), the
# path is direct both ways (not a relay fallback), and the DC sees each
# node at that same endpoint (the nodes know the DC's IPv4 and IPv6
# endpoints). The stall (longest gap in each direction since
# the mark) is printed, never asserted. At the end the stream closes in
# order and each side's count of bytes sent must equal the other's count
# of bytes verified.
#
# A scenario whose stream does not flow again is failed, and the rest run
# on a new connection, so one run reports every scenario. MOB_ONLY="a f"
# runs a subset (each change starts from wherever the last one left the
# nodes). bench/handover.sh sources this file with MOB_SOURCED=1 for the
# lab and the changes.
MOB_DIR=$(dirname "${BASH_SOURCE[0]}")
. "$MOB_DIR/lib.sh"
require_root
. "$MOB_DIR/natlab.sh"
natlab_require
NTM_STREAM=$top_builddir/tests/netns/ntm_stream
[ -x "$NTM_STREAM" ] || fail "$NTM_STREAM not built: run make check (or make tests/netns/ntm_stream)"
: "${MOB_RESUME:=120}"
: "${MOB_ONLY:=a b c d e f}"
MOB_PORT=5001
MOB_FLOW=$((1024 * 1024))   # bytes each way that prove a stream flows again

A6=2001:db8::a
B6=2001:db8::12

# The nodes know the DC at both addresses, one endpoint per family
# (ntm-tund.conf(5)), so that a node on an IPv6-only network reaches it.
NL_DC_ENDPOINT_LINES="Endpoint = $NL_DC_IP:7540, [$NL_DC_IP6]:7540"

# --- the lab -------------------------------------------------------------
natlab_init
nl_inet6
site a port                     # site 1: a-nat 203.0.113.11, LAN 10.1.0.0/24
site b none                     # site 2: b 203.0.113.12
nl_nat_spare a-nat2 port        # site 3: 203.0.113.13, LAN 10.3.0.0/24
nl_nat_spare b-nat port         # site 4: 203.0.113.14, LAN 10.4.0.0/24
nl_spare_port a eth1 a-nat2
nl_spare_port a eth2 inet       # the IPv6-only network
nl_spare_port b eth1 b-nat
natlab_start # (checks the DC sees each node at its IPv4 address)
nl_ip6 b eth0 "$B6" # b's IPv6 comes up after it registered, as SLAAC's may
ok "a behind a port-restricted NAT, b public and dual-stack, both registered, the DC at both addresses"

# Where each node is now: a's interface and NAT ("" when IPv6-only), the
# public address of a-nat, b's interface (eth0: public, eth1: behind
# b-nat), and the port each NAT maps a node's NL_PORT to (Linux keeps the
# source port while it is free; nl_rebind changes it).
A_IF=eth0 A_NAT=a-nat A_NAT_PUB=203.0.113.11 B_IF=eth0
declare -A NAT_PORT=([a-nat]=$NL_PORT [a-nat2]=$NL_PORT [b-nat]=$NL_PORT)
A_RENUM=0

# --- the stream ------------------------------------------------------------
# sj SIDE FIELD: a field of SIDE's (a: client, b: server) status line, of
# the current connection (each has its own files: an abandoned one's
# processes may still write theirs).
sj() { grep -o "\"$2\": [^,}]*" "$T/stream-$1-$MOB_CONN.json" 2>/dev/null | sed 's/^[^:]*: //; s/"//g'; }
streaming() { [ "$(sj a state)" = streaming ] && [ "$(sj b state)" = streaming ]; }
MOB_CONN=0

# stream_start: the server on b, the client on a (by name), flowing.
stream_start() {
	MOB_CONN=$((MOB_CONN + 1))
	bg b "stream-b" "$NTM_STREAM" server "$MOB_PORT" "$T/stream-b-$MOB_CONN.json"
	STREAM_JOBS=$LAST_PID
	wait_for 5 "ntm_stream server on b" grep -q '"state": "listening"' "$T/stream-b-$MOB_CONN.json"
	bg a "stream-a" env LD_LIBRARY_PATH="$NSSLIB" NTM_NSS_FILE="$T/a/run/nss" \
		"$ETC_EXEC" "$T/.etc" "$T/nsswitch.conf" "$T/hosts" "$T/resolv.conf" \
		"$NTM_STREAM" client "$(fqdn b)" "$MOB_PORT" "$T/stream-a-$MOB_CONN.json"
	STREAM_JOBS="$STREAM_JOBS $LAST_PID"
	poll_until "$MOB_RESUME" streaming && poll_until 10 flowed "$(sj a rx)" "$(sj b rx)" \
		|| { summary; fail "connection $MOB_CONN: no stream a <-> b within ${MOB_RESUME}s: a '$(sj a state)' $(sj a error), b '$(sj b state)' $(sj b error)"; }
	ok "connection $MOB_CONN: a -> $(fqdn b):$MOB_PORT by name, flowing both ways"
}

# stream_stop: orderly close; the counts must agree both ways.
stream_stop() {
	local pid
	pid=$(sj a pid)
	kill -TERM "$pid" 2>/dev/null
	stream_ended() { case $(sj a state)$(sj b state) in *closing* | *streaming*) return 1 ;; esac; }
	wait_for 40 "the stream closed" stream_ended
	[ "$(sj a state)" = "done" ] || fail "connection $MOB_CONN: a's side ended '$(sj a state)': $(sj a error)"
	[ "$(sj b state)" = "done" ] || fail "connection $MOB_CONN: b's side ended '$(sj b state)': $(sj b error)"
	[ "$(sj a tx)" = "$(sj b rx)" ] || fail "connection $MOB_CONN: a sent $(sj a tx) bytes, b verified $(sj b rx)"
	[ "$(sj b tx)" = "$(sj a rx)" ] || fail "connection $MOB_CONN: b sent $(sj b tx) bytes, a verified $(sj a rx)"
	ok "connection $MOB_CONN closed in order: a -> b $(sj b rx) bytes, b -> a $(sj a rx) bytes, every byte as sent"
}

# stream_abandon: kill -9 both sides of a stuck connection (processes of
# this test: the jobs disowned first, so the shell reports no "Killed").
stream_abandon() {
	local j
	for j in $STREAM_JOBS; do disown "$j" 2>/dev/null; done
	kill -9 "$(sj a pid)" "$(sj b pid)" 2>/dev/null
}

# stream_alive: fatal when either side saw a reset, a mismatch or an error.
stream_alive() {
	local s
	for s in a b; do
		case $(sj $s state) in
		streaming) ;;
		*) fail "connection $MOB_CONN: $s's side is '$(sj $s state)': $(sj $s error)" ;;
		esac
	done
}

# flowed RXA RXB: both sides verified MOB_FLOW more bytes than RXA / RXB.
flowed() { [ "$(sj a rx)" -ge $(($1 + MOB_FLOW)) ] && [ "$(sj b rx)" -ge $(($2 + MOB_FLOW)) ]; }

# mark: a mark on both sides, taken once both report it.
mark() {
	local ma mb
	ma=$(sj a marks) mb=$(sj b marks)
	kill -USR1 "$(sj a pid)" "$(sj b pid)"
	marked() { [ "$(sj a marks)" -gt "$ma" ] && [ "$(sj b marks)" -gt "$mb" ]; }
	wait_for 5 "the stream's mark" marked
}

secs() { awk -v ms="$1" 'BEGIN { printf "%.2f", ms / 1000 }'; }

# --- the changes ---------------------------------------------------------
# expect: from where the nodes are, the endpoints each should see the other
# at and the DC should see each at, as shell patterns (brackets escaped):
# EXP_A (b's view of a), EXP_B (a's view of b), EXP_OBS_A / EXP_OBS_B (the
# DC's; EXP_OBS_B6 the DC's view of b when b registers over IPv6). The
# NATs are endpoint-independent, so the DC sees a node where
# its peer does.
expect() {
	local b4
	if [ "$B_IF" = eth1 ]; then
		b4="${NL_SPARE_PUB[b-nat]}:${NAT_PORT[b-nat]}" EXP_OBS_B6=""
	else
		b4="203.0.113.12:$NL_PORT" EXP_OBS_B6="\[$B6\]:$NL_PORT"
	fi
	EXP_OBS_B=$b4
	case $A_NAT in
	a-nat) EXP_A="$A_NAT_PUB:${NAT_PORT[a-nat]}" ;;
	a-nat2) EXP_A="${NL_SPARE_PUB[a-nat2]}:${NAT_PORT[a-nat2]}" ;;
	"") EXP_A="\[$A6\]:$NL_PORT" ;;
	esac
	EXP_OBS_A=$EXP_A
	EXP_B=$b4
	if [ -z "$A_NAT" ]; then
		EXP_B="\[$B6\]:$NL_PORT"
	fi
}

# a_to NET: a joins NET (a-nat, a-nat2 or v6) from wherever it is.
a_to() {
	case $1 in
	a-nat) nl_move a "$A_IF" eth0 "10.1.0.2/24 10.1.0.1"; A_IF=eth0 A_NAT=a-nat ;;
	a-nat2) nl_move a "$A_IF" eth1 "${NL_SPARE_LAN[a-nat2]}.2/24 ${NL_SPARE_LAN[a-nat2]}.1"
		A_IF=eth1 A_NAT=a-nat2 ;;
	v6) nl_move a "$A_IF" eth2 "$A6/64 $NL_DC_IP6"; A_IF=eth2 A_NAT="" ;;
	esac
}

change_a() { # NAT rebinding (a must be behind a NAT: moved back first)
	[ -n "$A_NAT" ] || a_to a-nat
	if [ "$A_NAT" = a-nat ]; then
		nl_rebind a-nat port 10.1.0.0/24
	else
		nl_rebind a-nat2 port "${NL_SPARE_LAN[a-nat2]}.0/24"
	fi
	NAT_PORT[$A_NAT]=$NL_REBIND_PORT
}
change_b() { # a-nat's public address renumbered
	[ "$A_NAT" = a-nat ] || a_to a-nat
	A_NAT_PUB=203.0.113.$((21 + A_RENUM % 20))
	A_RENUM=$((A_RENUM + 1))
	nl_renumber a-nat wan0 "$A_NAT_PUB/24"
}
change_c() { # behind the other NAT
	if [ "$A_NAT" = a-nat2 ]; then a_to a-nat; else a_to a-nat2; fi
}
change_d() { # IPv4 -> IPv6-only (and back, when already there)
	if [ "$A_IF" = eth2 ]; then a_to a-nat; else a_to v6; fi
}
change_e() { # both at once: a to another network, b in or out of b-nat
	local to=a-nat bpid
	[ "$A_IF" = eth0 ] && to=a-nat2
	if [ "$B_IF" = eth0 ]; then
		nl_move b eth0 eth1 "${NL_SPARE_LAN[b-nat]}.2/24 ${NL_SPARE_LAN[b-nat]}.1" &
		bpid=$!
		B_IF=eth1
	else
		nl_move b eth1 eth0 "203.0.113.12/24 $NL_DC_IP $B6/64 $NL_DC_IP6" &
		bpid=$!
		B_IF=eth0
	fi
	a_to "$to"
	wait "$bpid" || fail "moving b"
}
change_f() { # b's ntm-tund killed -9 and started again
	local pid=${NL_PID[b]}
	disown "$pid" 2>/dev/null
	kill -9 "$pid"
	wait_for 5 "b's ntm-tund $pid gone" sh -c "! kill -0 $pid 2>/dev/null"
	rm -f "$T/b/run/nss"
	nl_start_tund b
	nl_wait_registered b
}

# moved NODE PEER: ", moved N s ago: WHY" when NODE's ntmctl says so.
moved() {
	local s w
	s=$(peer_field "$1" "$2" moved_s) w=$(peer_field "$1" "$2" moved_why)
	[ -z "$s" ] || [ "$s" = null ] || echo ", moved ${s}s ago: $w"
}

# mechanism: each node sees the other at the expected endpoint over a
# direct path, and the DC sees each where expected (MOB_WHY says what was
# seen).
MOB_WHY=""
# shellcheck disable=SC2254 # EXP_* are patterns
mechanism() {
	local ea eb pa pb oa ob
	ea=$(peer_field b a endpoint) eb=$(peer_field a b endpoint)
	pa=$(peer_field b a path) pb=$(peer_field a b path)
	oa=$(observed a) ob=$(observed b)
	MOB_WHY="b sees a at '$ea' ($pa; want $EXP_A$(moved b a)), a sees b at '$eb' ($pb; want $EXP_B$(moved a b)); the DC sees a at '$oa' (want $EXP_OBS_A), b at '$ob' (want $EXP_OBS_B${EXP_OBS_B6:+ or $EXP_OBS_B6})"
	case $ea in $EXP_A) ;; *) return 1 ;; esac
	case $eb in $EXP_B) ;; *) return 1 ;; esac
	[ "$pa" = direct ] && [ "$pb" = direct ] || return 1
	case $oa in $EXP_OBS_A) ;; *) return 1 ;; esac
	case $ob in $EXP_OBS_B | ${EXP_OBS_B6:-"-"}) ;; *) return 1 ;; esac
}

# run_change KEY: mark, change, wait for the stream to flow again.
# Sets STALL_AB / STALL_BA (ms, longest gap since the mark a -> b and
# b -> a), CHANGE_MS (how long the change itself took), CHANGE_T0_MS (wall
# clock ms when it began), RESUMED (0/1).
run_change() {
	local key=$1 t0 rxa rxb
	stream_alive
	mark
	t0=$(date +%s%N)
	CHANGE_T0_MS=$((t0 / 1000000))
	"change_$key"
	expect
	CHANGE_MS=$(( ($(date +%s%N) - t0) / 1000000 ))
	# (the status may be a period old: MOB_FLOW is 5 periods' worth more)
	rxa=$(sj a rx) rxb=$(sj b rx)
	RESUMED=0
	poll_until "$MOB_RESUME" flowed "$rxa" "$rxb" && RESUMED=1
	stream_alive
	STALL_AB=$(sj b max_gap_ms) STALL_BA=$(sj a max_gap_ms)
}

declare -A LABEL=([a]="NAT rebinding" [b]="NAT public address renumbered" [c]="a moved behind another NAT"
	[d]="IPv4 <-> IPv6-only underlay" [e]="both nodes moved at once" [f]="b's ntm-tund killed -9 and restarted")
declare -A RESULT
summary() {
	local key
	echo
	echo "mobility summary (connections used: $MOB_CONN):"
	for key in $MOB_ONLY; do echo "  ($key) ${LABEL[$key]}: ${RESULT[$key]:-not run}"; done
}

[ -n "${MOB_SOURCED:-}" ] && return 0

# --- the run -------------------------------------------------------------
FAILED=0
stream_start
for key in $MOB_ONLY; do
	[ -n "${LABEL[$key]:-}" ] || fail "MOB_ONLY: no scenario '$key'"
	run_change "$key"
	if [ "$RESUMED" = 0 ]; then
		RESULT[$key]="FAIL: no flow within ${MOB_RESUME}s"
		echo "FAIL ($key) ${LABEL[$key]}: the connection did not flow again within ${MOB_RESUME}s (change took $CHANGE_MS ms); $(mechanism; echo "$MOB_WHY")"
		FAILED=$((FAILED + 1))
		stream_abandon
		[ "$A_IF" != eth2 ] || a_to a-nat # the DC may be out of reach from there
		stream_start # the remaining scenarios on a new connection
		continue
	fi
	echo "stall after ($key) ${LABEL[$key]}: a->b $(secs "$STALL_AB") s, b->a $(secs "$STALL_BA") s"
	if poll_until "$MOB_RESUME" mechanism; then
		RESULT[$key]="pass (stall a->b $(secs "$STALL_AB") s, b->a $(secs "$STALL_BA") s)"
		ok "($key) ${LABEL[$key]}: the same connection flows on; $MOB_WHY"
	else
		RESULT[$key]="FAIL: flows (stall $(secs "$STALL_AB") / $(secs "$STALL_BA") s) but $MOB_WHY"
		echo "FAIL ($key) ${LABEL[$key]}: the connection flows on, but $MOB_WHY"
		FAILED=$((FAILED + 1))
	fi
done
stream_stop
summary
[ "$FAILED" = 0 ] || fail "$FAILED of the scenarios failed"
echo "PASS: mobility"
