#!/bin/bash
# bench/setup_time.sh - how long a tunnel takes to come up: from an
# unmodified program's getaddrinfo() of a never-seen peer's name to the
# first ping reply through the new tunnel, across NATs.
#
# Usage (root):  bench/setup_time.sh              [RUNS=20 per pair]
#                PAIRS="sym" bench/setup_time.sh  [only these pairs]
#                top_builddir=DIR top_srcdir=DIR bench/setup_time.sh
#
# Topology: tests/netns/natlab.sh - a DC (with its embedded relay) on an
# "internet" bridge, and eight sites, a node behind its own NAT each:
#   direct pair:   p-a and p-b, each behind a port-restricted cone NAT
#                  (stock masquerade): hole punching gives a direct path
#   relayed pair:  f-a behind a symmetric NAT and a firewall that passes
#                  UDP only to and from the DC (natlab.sh's NL_UDP_ONLY_TO),
#                  f-b behind a symmetric NAT: no direct path, the relay
#                  carries it
#   sym pair:      s-a and s-b, each behind a symmetric NAT (masquerade
#                  fully-random): relayed first, sometimes direct later
#                  through the birthday search (watched for UPGRADE_WAIT s)
#   birthday pair: h-a (port-restricted) and h-b (symmetric): direct
#                  through the birthday search (watched the same way)
# Each run: both nodes' ntm-tund are restarted (so neither knows the other)
# with the initiator on a new UDP port (7541 + run number), so that no NAT
# mapping of an earlier run helps this one (with COLD=all the DC, and so its
# embedded relay, is restarted too, before the nodes); then, on the initiator,
#   ping -4 -c 1 -i 0.2 -w DEADLINE NAME   (its own getaddrinfo through nss_ntm)
# is timed from just before ping starts to its exit on the first reply:
# name lookup (the Direction Request to the DC and its Route Direction),
# probing, handshake, and the first echo's round trip. The path the
# initiator then lists for the peer is recorded too.
# Prints per pair: runs answered, median, min and max in ms, the paths.
#
# Needs root, /dev/net/tun, nftables, a built tree (make -j2) and the
# programs natlab.sh needs (getent, unshare, ping, busybox, curl). Installs
# nothing; everything stays inside the namespaces it creates and every
# process it starts is killed by PID on exit. Not part of 'make check'.

set -u

RUNS=${RUNS:-20}
DEADLINE=${DEADLINE:-5}
COLD=${COLD:-nodes}
PAIRS=${PAIRS:-direct relayed sym birthday}
UPGRADE_WAIT=${UPGRADE_WAIT:-8}
for l in $PAIRS; do
	case $l in direct | relayed | sym | birthday) ;; *) echo "PAIRS: unknown pair '$l' (direct relayed sym birthday)" >&2; exit 2 ;; esac
done
case $UPGRADE_WAIT in '' | *[!0-9]*) echo "UPGRADE_WAIT must be a whole number of seconds" >&2; exit 2 ;; esac
case $COLD in nodes | all) ;; *) echo "COLD must be nodes or all" >&2; exit 2 ;; esac
case $RUNS in '' | *[!0-9]* | 0) echo "RUNS must be a positive integer" >&2; exit 2 ;; esac
[ "$RUNS" -le 500 ] || { echo "RUNS is at most 500" >&2; exit 2; }

repo=$(cd "$(dirname "$0")/.." && pwd)
: "${top_builddir:=$repo}"
: "${top_srcdir:=$repo}"
export top_builddir top_srcdir

[ "$(id -u)" = 0 ] || { echo "SKIP: needs root (network namespaces)"; exit 77; }
[ -c /dev/net/tun ] || { echo "SKIP: needs /dev/net/tun"; exit 77; }

. "$top_srcdir/tests/netns/lib.sh"
. "$top_srcdir/tests/netns/natlab.sh"
natlab_require

natlab_init
site p-a port
site p-b port
NL_UDP_ONLY_TO=$NL_DC_IP site f-a sym
site f-b sym
site s-a sym
site s-b sym
site h-a port
site h-b sym
natlab_start

# restart_dc: stop the DC (by PID) and start it again (same key and database).
restart_dc() {
	kill "$DCD_PID" 2>/dev/null
	wait_for 5 "the DC stopped" sh -c "! kill -0 $DCD_PID 2>/dev/null"
	wait "$DCD_PID" 2>/dev/null
	bg inet dcd "$NTM_DCD" -f -c "$DCCONF"
	DCD_PID=$LAST_PID
	wait_for 5 "the DC's control socket" test -S "$T/dc/run/dcd.sock"
}

# port_of NAME PORT: set NAME's ListenPort (takes effect at its next start).
port_of() { sed -i "s/^ListenPort = .*/ListenPort = $2/" "$T/$1/tund.conf"; }

# run_pair LABEL INITIATOR RESPONDER: RUNS cold setups; sets R_<label>_*.
run_pair() {
	local label=$1 a=$2 b=$3 i ms times="" paths="" okn=0 p upg=""
	echo "measuring $label ($a -> $b), $RUNS runs ..." >&2
	for i in $(seq 1 "$RUNS"); do
		port_of "$a" $((NL_PORT + i))
		[ "$COLD" = all ] && restart_dc
		nl_restart_tund "$b"
		nl_restart_tund "$a"
		if nl_ping_name "$a" "$b" "$DEADLINE"; then
			times="$times $PING_MS"
			okn=$((okn + 1))
			p=$(peer_field "$a" "$b" path)
			# the sym and birthday pairs: does the search make it direct, and when?
			if [ "$label" = birthday ] || [ "$label" = sym ]; then
				WAITED_MS=0 # already direct: no wait of an earlier run counts
				if [ "$p" = direct ] || poll_until "$UPGRADE_WAIT" nl_path_is "$a" "$b" direct; then
					p=direct
					upg="$upg $((PING_MS + ${WAITED_MS:-0}))"
				else
					p=$(peer_field "$a" "$b" path)
				fi
			fi
		else
			p="failed:$PING_ERR"
		fi
		paths="$paths ${p:-none}"
		printf '  run %2d: %s ms, %s\n' "$i" "$( [ "${p#failed}" = "$p" ] && echo "$PING_MS" || echo -)" "${p:-none}" >&2
	done
	port_of "$a" "$NL_PORT"
	eval "R_${label}_ok=$okn"
	eval "R_${label}_upg=\"\$(echo \$upg | tr ' ' '\n' | sort -n | awk 'NF { v[++n] = \$1 } END {
		if (!n) { print \"none\"; exit }
		m = n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
		printf \"%d of the runs direct, median %g ms, max %d ms after the lookup\", n, m, v[n] }')\""
	eval "R_${label}_stats=\"\$(echo \$times | tr ' ' '\n' | sort -n | awk 'NF {
		v[++n] = \$1 } END { if (!n) { print \"- - -\"; exit }
		m = n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
		printf \"%g %d %d\", m, v[1], v[n] }')\""
	eval "R_${label}_paths=\"\$(echo \$paths | tr ' ' '\n' | sort | uniq -c | awk '{ printf \"%s%s x%d\", s, \$2, \$1; s = \", \" }')\""
}

for l in $PAIRS; do
	case $l in
	direct) run_pair direct p-a p-b ;;
	relayed) run_pair relayed f-a f-b ;;
	sym) run_pair sym s-a s-b ;;
	birthday) run_pair birthday h-a h-b ;;
	esac
done

cpu=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo)
echo
echo "ntm setup time: getaddrinfo of a never-seen peer -> first ping reply, $RUNS cold runs per pair (deadline ${DEADLINE}s, restarted before each: $( [ "$COLD" = all ] && echo "DC and both nodes" || echo "both nodes"))"
echo "host: $(nproc) CPUs, ${cpu:-unknown CPU}, kernel $(uname -r)"
echo
printf '%-34s %8s %10s %8s %8s  %s\n' pair answered "median ms" "min ms" "max ms" "paths (initiator's view)"
for l in $PAIRS; do
	eval "set -- \$R_${l}_stats"
	case $l in
	direct) d="direct: port-restricted <-> port" ;;
	relayed) d="relayed: sym+firewall <-> sym" ;;
	sym) d="symmetric <-> symmetric" ;;
	birthday) d="birthday: port-restricted <-> sym" ;;
	esac
	printf '%-34s %8s %10s %8s %8s  %s\n' "$d" "$(eval echo \$R_${l}_ok)/$RUNS" "$1" "$2" "$3" "$(eval echo \"\$R_${l}_paths\")"
done
echo
for l in $PAIRS; do
	case $l in sym | birthday) ;; *) continue ;; esac
	echo "$l pair, path direct within $UPGRADE_WAIT s of the first reply (the birthday search): $(eval echo \"\$R_${l}_upg\")"
done
echo
echo "DC counters after all runs (nonzero): $("$NTM_DCCTL" -c "$DCCONF" stats 2>/dev/null | awk 'NF >= 2 && $NF ~ /^[0-9]+$/ && $NF != 0 { printf "%s%s %s", s, $1, $NF; s = ", " }')"
