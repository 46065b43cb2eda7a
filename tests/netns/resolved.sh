#!/bin/bash
# resolved.sh - ntm0's split DNS on a real systemd-resolved: Debian's own
# binary (the systemd-resolved package of the installed systemd version,
# unpacked, never installed) runs in node a's network namespace and a
# private mount namespace, with its own D-Bus system bus (dbus-daemon with a
# throwaway configuration), its own /run/systemd and /etc/systemd, and an
# upstream test server (tests/unit/fake_dns) as its global DNS server.
# First ntm-tund sets the link itself over D-Bus ([DNS] Resolved = yes,
# auto), again after each restart, reverts it at stop, sets nothing with
# Resolved = no or when resolved is in another network namespace; at the
# end, run as a non-root user (the unit's way) it is refused without
# polkit and allowed by polkitd with the shipped rule. Then
# ntmctl configures the link through resolvectl; overlay names and overlay
# reverse names asked of resolved (its 127.0.0.53 stub and `resolvectl
# query`) reach ntm-resolverd on 127.0.0.77 and get ntm-tund's answers,
# other names go to the upstream, and the upstream never sees an overlay
# name. This is what shows that resolved (252.3 and later) sends a link's
# queries for a loopback server over the loopback interface.
#
# The package comes from $NTM_DEB_CACHE (tools/setup.sh downloads it there),
# else from `apt-get download`; the test is skipped (77) only when it cannot
# be had. Nothing outside the test's namespaces changes: /etc/passwd,
# /etc/group and /etc/systemd are replaced only inside the private mount
# namespace.
. "$(dirname "$0")/lib.sh"
require_root
for tool in dig dbus-daemon unshare nsenter dpkg-deb; do
	command -v "$tool" >/dev/null || skip "needs $tool"
done
FAKE_DNS=$top_builddir/tests/unit/fake_dns
RESOLVERD=$top_builddir/resolver/ntm-resolverd

# --- the systemd-resolved package, exactly the installed systemd's version ---
ver=$(dpkg-query -W -f='${Version}' libsystemd-shared 2>/dev/null) || skip "needs Debian's systemd (libsystemd-shared)"
[ -n "$ver" ] || skip "needs Debian's systemd (libsystemd-shared)"
: "${NTM_DEB_CACHE:=/var/cache/ntm/debs}"
deb=$(ls "$NTM_DEB_CACHE"/systemd-resolved_"${ver//:/%3a}"_*.deb 2>/dev/null | head -n1)
if [ -z "$deb" ]; then
	mkdir -p "$T/deb" && chmod 777 "$T/deb"
	(cd "$T/deb" && apt-get download -q "systemd-resolved=$ver" >/dev/null 2>&1)
	deb=$(ls "$T"/deb/systemd-resolved_*.deb 2>/dev/null | head -n1)
	[ -n "$deb" ] || skip "cannot fetch systemd-resolved $ver (run tools/setup.sh, or set NTM_DEB_CACHE)"
fi
RSD=$T/rsd-root
dpkg-deb -x "$deb" "$RSD" || fail "dpkg-deb -x $deb"
[ -x "$RSD/lib/systemd/systemd-resolved" ] && [ -x "$RSD/usr/bin/resolvectl" ] || fail "$deb lacks systemd-resolved or resolvectl"

. "$(dirname "$0")/setup2.sh"

# --- the stub and the upstream in a's namespace ---
bg a up "$FAKE_DNS" -a 127.0.0.78:53 -m ok -l "$T/up.names" -t 300
wait_for 5 "upstream ready" grep -q ready "$T/up.log"
: > "$T/resolv.orig"  # resolved owns resolv.conf: the stub has no upstream of its own
cat > "$T/resolverd.conf" <<CONF
[Resolver]
ListenAddress = 127.0.0.77
UpstreamsFrom = $T/resolv.orig
NssFile = $T/a/run/nss
CONF
bg a stub "$RESOLVERD" -f -c "$T/resolverd.conf"
STUB_PID=$LAST_PID
wait_for 5 "stub listening" grep -q "listening on" "$T/stub.log"

# --- systemd-resolved with its own bus, in a private mount namespace ---
R=$T/rsd
mkdir -p "$R"
cat > "$R/bus.conf" <<CONF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=$R/bus</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*"/>
    <allow receive_sender="*"/>
  </policy>
</busconfig>
CONF
cat > "$R/resolved.conf" <<CONF
[Resolve]
DNS=127.0.0.78
LLMNR=no
MulticastDNS=no
DNSSEC=no
DNSOverTLS=no
CONF
cp /etc/passwd "$R/passwd"
cp /etc/group "$R/group"
grep -q '^systemd-resolve:' "$R/passwd" || echo "systemd-resolve:x:64991:64991:resolved (test):/:/usr/sbin/nologin" >> "$R/passwd"
grep -q '^systemd-resolve:' "$R/group" || echo "systemd-resolve:x:64991:" >> "$R/group"
cat > "$R/inner.sh" <<'INNER'
#!/bin/sh
# inside a's network namespace, in a new private mount namespace
set -eu
R=$1 RSD=$2
mkdir -p /run/systemd
mount -t tmpfs -o mode=755 tmpfs /run/systemd
mount -t tmpfs -o mode=755 tmpfs /etc/systemd
cp "$R/resolved.conf" /etc/systemd/resolved.conf
mount --bind "$R/passwd" /etc/passwd
mount --bind "$R/group" /etc/group
dbus-daemon --config-file="$R/bus.conf" --nofork --nopidfile >"$R/dbus.log" 2>&1 &
echo $! > "$R/dbus.pid"
i=0
while [ ! -S "$R/bus" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
DBUS_SYSTEM_BUS_ADDRESS=unix:path=$R/bus SYSTEMD_LOG_LEVEL=debug \
	"$RSD/lib/systemd/systemd-resolved" >"$R/resolved.log" 2>&1 &
echo $! > "$R/resolved.pid"
wait
INNER
chmod 755 "$R/inner.sh"
bg a inner unshare -m --propagation private "$R/inner.sh" "$R" "$RSD"
wait_for 10 "dbus-daemon and systemd-resolved started" test -s "$R/resolved.pid"
DBUS_PID=$(cat "$R/dbus.pid")
RESOLVED_PID=$(cat "$R/resolved.pid")
PIDS="$RESOLVED_PID $DBUS_PID $PIDS"  # killed first by lib.sh
# X CMD...: run CMD beside resolved (its mount and network namespaces, its bus)
X() {
	nsenter -t "$RESOLVED_PID" -m -n env DBUS_SYSTEM_BUS_ADDRESS="unix:path=$R/bus" \
		PATH="$RSD/usr/bin:$PATH" "$@"
}
wait_for 10 "resolved on the bus" X resolvectl status
wait_for 10 "resolved's stub on 127.0.0.53" X dig @127.0.0.53 +time=1 +tries=1 localhost
ok "systemd-resolved $ver runs in a's namespaces with a private bus"

# --- ntm-tund sets ntm0 itself, at every start ([DNS] Resolved) ---
# restart_a MODE: stop ntm-tund a (by PID; it must exit 0: RevertLink ran
# inside its seccomp allow-list), start it again on resolved's bus with
# Resolved = MODE, wait until it registered. fresh: without the nss file
# the last run left, so the zones come with the registration (SetLinkDomains
# sent on the event loop) rather than at start
TUND_A=$TUND_PID_a
stop_a() {
	kill "$TUND_A"
	local rc=0
	wait "$TUND_A" || rc=$?
	[ "$rc" = 0 ] || fail "ntm-tund a exited with status $rc when stopped"
}
restart_a() {
	stop_a
	sed -i '/^\[DNS\]/,$d' "$T/a/tund.conf"
	printf '[DNS]\nResolved = %s\n' "$1" >> "$T/a/tund.conf"
	[ "${2:-}" = fresh ] && rm -f "$T/a/run/nss"
	: > "$T/tund-a.log"
	bg a tund-a env DBUS_SYSTEM_BUS_ADDRESS="unix:path=$R/bus" "$NTM_TUND" -f -c "$T/a/tund.conf"
	TUND_A=$LAST_PID
	wait_for 10 "a registered again (Resolved = $1)" registered "$sock_a"
	seccomp_on "$TUND_A" "ntm-tund a"
}
# link_set WHAT [noquery]: resolved shows ntm0 with the stub, the zone and the
# reverse zones routing-only, not a default route; b's name and address
# resolve through it (unless noquery)
link_set() {
	local link
	wait_for 5 "$1: ntm0's zone in resolved" sh -c \
		"DBUS_SYSTEM_BUS_ADDRESS=unix:path=$R/bus nsenter -t $RESOLVED_PID -m -n $RSD/usr/bin/resolvectl domain ntm0 | grep -q '~ntm.example.org'"
	link=$(X resolvectl status ntm0 2>&1)
	echo "$link" | grep -q 'DNS Servers: 127.0.0.77' || fail "$1: ntm0's server is not the stub: $link"
	echo "$link" | grep -q -- '-DefaultRoute' || fail "$1: ntm0 is a default route: $link"
	# the domains (wrapped over lines by resolvectl) on one line
	doms=$(echo "$link" | sed -n '/DNS Domain:/,$p' | tr -s ' \n' '  ')
	for z in '~ntm\.example\.org' '~18\.198\.in-addr\.arpa' '~19\.198\.in-addr\.arpa' \
		 '~\([0-9a-f]\.\)\{12\}ip6\.arpa'; do
		echo " $doms " | grep -q " $z " || fail "$1: ntm0 lacks the routing domain $z: $link"
	done
	[ "${2:-}" = noquery ] && return 0 # the stub is stopped by then
	r=$(X dig @127.0.0.53 +time=5 +tries=1 b.ntm.example.org A +short)
	[ "$r" = "198.18.0.2" ] || fail "$1: A b.ntm.example.org through resolved: '$r'"
	r=$(X resolvectl query 198.18.0.2 2>&1)
	echo "$r" | grep -q 'b\.ntm\.example\.org' || fail "$1: resolvectl query 198.18.0.2: $r"
}
link_unset() {
	local link
	link=$(X resolvectl status ntm0 2>&1) || return 0 # no such link: nothing set
	echo "$link" | grep -q '127\.0\.0\.77\|ntm\.example\.org' && fail "$1: ntm0 has ntm's settings: $link"
	return 0
}
restart_a yes
grep -q 'systemd-resolved: ntm0 has DNS server 127.0.0.77' "$T/tund-a.log" \
	|| fail "ntm-tund (Resolved = yes) did not set ntm0: $(cat "$T/tund-a.log")"
link_set "Resolved = yes"
ok "Resolved = yes, no ntmctl: ntm0 has server 127.0.0.77, routing domains ~ntm.example.org and the reverse zones, no default route; b resolves through 127.0.0.53"
restart_a auto
link_set "Resolved = auto, after a restart"
ok "ntm-tund restarted (Resolved = auto): ntm0's split DNS is back without a manual step"
restart_a auto fresh
link_set "Resolved = auto, no nss file at start"
grep -q 'systemd-resolved: ntm0 has DNS server 127.0.0.77 for 0 routing-only zones' "$T/tund-a.log" \
	|| fail "the zones were known at start without the nss file: $(cat "$T/tund-a.log")"
grep -q 'systemd-resolved: ntm0 routes 4 zones to 127.0.0.77' "$T/tund-a.log" \
	|| fail "no SetLinkDomains after the registration: $(cat "$T/tund-a.log")"
ok "ntm-tund restarted without its nss file: the server at start, the zones once registered (asynchronous SetLinkDomains)"
stop_a
grep -q 'systemd-resolved: ntm0 reverted' "$T/tund-a.log" || fail "no RevertLink at stop: $(cat "$T/tund-a.log")"
link_unset "after ntm-tund stopped"
ok "ntm-tund stopped: RevertLink ntm0, resolved holds nothing of it"
sed -i '/^\[DNS\]/,$d' "$T/a/tund.conf"
printf '[DNS]\nResolved = no\n' >> "$T/a/tund.conf"
: > "$T/tund-a.log"
bg a tund-a env DBUS_SYSTEM_BUS_ADDRESS="unix:path=$R/bus" "$NTM_TUND" -f -c "$T/a/tund.conf"
TUND_A=$LAST_PID
wait_for 10 "a registered again (Resolved = no)" registered "$sock_a"
link_unset "Resolved = no"
grep -q 'systemd-resolved' "$T/tund-a.log" && fail "Resolved = no talked to resolved: $(cat "$T/tund-a.log")"
ok "Resolved = no: ntm0 gets nothing from ntm-tund"
# b on a's bus: resolved is in another network namespace, where b's
# interface index names another link (often a's ntm0: both are 3)
kill "$TUND_PID_b"
wait "$TUND_PID_b" || fail "ntm-tund b exited with status $? when stopped"
printf '[DNS]\nResolved = yes\n' >> "$T/b/tund.conf"
: > "$T/tund-b.log"
bg b tund-b env DBUS_SYSTEM_BUS_ADDRESS="unix:path=$R/bus" "$NTM_TUND" -f -c "$T/b/tund.conf"
wait_for 10 "b registered again" registered "$sock_b"
grep -q 'systemd-resolved (pid [0-9]*) runs in another network namespace; ntm0 left alone' "$T/tund-b.log" \
	|| fail "b did not notice resolved is in another namespace: $(cat "$T/tund-b.log")"
link_unset "a's ntm0 after b started on a's bus"
ok "ntm-tund b on a's bus: resolved is in another network namespace, nothing set"

# --- ntmctl configures the link ---
touch "$T/resolv.conf"
out=$(X "$NTMCTL" dns enable --resolved --nss-file "$T/a/run/nss" \
	--resolv-conf "$T/resolv.conf" --backup "$T/resolv.conf.bak" 2>&1) \
	|| fail "ntmctl dns enable --resolved: $out"
echo "$out" | grep -q "running: resolvectl domain ntm0 '~ntm.example.org' '~18.198.in-addr.arpa' '~19.198.in-addr.arpa' '~" \
	|| fail "enable did not route the zone and the reverse zones: $out"
link=$(X resolvectl status ntm0)
echo "$link" | grep -q 'Current Scopes: DNS' || fail "ntm0 has no DNS scope: $link"
echo "$link" | grep -q 'DNS Servers: 127.0.0.77' || fail "ntm0's server is not the stub: $link"
echo "$link" | grep -q -- '-DefaultRoute' || fail "ntm0 is a default route: $link"
ok "ntmctl dns enable --resolved: ntm0 has server 127.0.0.77, routing domains ~ntm.example.org and the reverse zones, no default route"

# --- through resolved: overlay names reach the stub, others the upstream ---
q() { X dig @127.0.0.53 +time=5 +tries=1 "$@"; }
status_of() { grep -o 'status: [A-Z]*' | head -n1 | cut -d' ' -f2; }
r=$(q b.ntm.example.org A +short)
[ "$r" = "198.18.0.2" ] || fail "A b.ntm.example.org through resolved: '$r'"
r=$(q b.ntm.example.org AAAA +short)
case $r in fd*::2) ;; *) fail "AAAA b.ntm.example.org through resolved: '$r'" ;; esac
r=$(q -x 198.18.0.2 +short)
[ "$r" = "b.ntm.example.org." ] || fail "PTR 198.18.0.2 through resolved: '$r'"
[ "$(q nobody.ntm.example.org A | status_of)" = NXDOMAIN ] || fail "unknown overlay name through resolved not NXDOMAIN"
ok "dig @127.0.0.53: A, AAAA, PTR of b from ntm-tund; an unknown overlay name NXDOMAIN"
r=$(X resolvectl query b.ntm.example.org 2>&1)
echo "$r" | grep -q '198\.18\.0\.2' && echo "$r" | grep -q 'fd.*::2' || fail "resolvectl query: $r"
r=$(X resolvectl query 198.18.0.2 2>&1)
echo "$r" | grep -q 'b\.ntm\.example\.org' || fail "resolvectl query 198.18.0.2: $r"
ok "resolvectl query: b.ntm.example.org and 198.18.0.2 (D-Bus API, as nss-resolve uses it)"
[ "$(q www.example.com A +short)" = "192.0.2.1" ] || fail "ordinary name through resolved"
grep -Eq '^www\.example\.com\.?$' "$T/up.names" || fail "the ordinary name did not reach the upstream"
ok "an ordinary name went to resolved's own upstream"
grep -q 'sender=127.0.0.77' "$R/resolved.log" || fail "resolved's log shows no reply from 127.0.0.77"
kill -USR1 "$STUB_PID"
wait_for 5 "stub counters" grep -q 'answered_overlay' "$T/stub.log"
n=$(grep 'answered_overlay' "$T/stub.log" | tail -n1 | awk '{print $NF}')
[ "$n" -ge 4 ] || fail "the stub answered $n overlay queries"
ok "ntm-resolverd answered $n overlay queries that came from resolved"

# --- the stub stopped: SERVFAIL through resolved, nothing leaks ---
# (ntmctl's settings are lost when ntm-tund restarts and ntm0 with it;
# Resolved = auto|yes is what persists, tested above.)
kill "$STUB_PID"
wait_for 5 "the stub gone" sh -c "! kill -0 $STUB_PID 2>/dev/null"
st=$(q c.ntm.example.org A | status_of)
[ "$st" = SERVFAIL ] || fail "overlay name with the stub down through resolved: '$st'"
[ "$(q other.example.com A +short)" = "192.0.2.1" ] || fail "ordinary names broke with the stub down"
ok "ntm-resolverd down: SERVFAIL through resolved for overlay names, other names resolve"
if grep -Eih 'ntm\.example\.org|18\.198\.in-addr\.arpa|ip6\.arpa' "$T/up.names"; then
	fail "an overlay name reached resolved's upstream"
fi
ok "the upstream's log holds no overlay name ($(wc -l < "$T/up.names") names logged)"

# --- and back ---
out=$(X "$NTMCTL" dns disable --resolved --resolv-conf "$T/resolv.conf" --backup "$T/resolv.conf.bak" 2>&1) \
	|| fail "ntmctl dns disable --resolved: $out"
X resolvectl status ntm0 2>&1 | grep -q '127.0.0.77' && fail "ntm0 still has the stub after disable"
ok "ntmctl dns disable --resolved: resolvectl revert ntm0"

# --- as the systemd unit runs it: not root from the start, no polkit ---
# resolved refuses a non-root caller unless polkit says yes (here there is
# no polkit on the bus): ntm-tund logs the D-Bus error once and runs on
stop_a
chmod 711 "$T"
chown -R 65534:65534 "$T/a"
sed -i '/^\[DNS\]/,$d' "$T/a/tund.conf"
printf '[DNS]\nResolved = yes\n' >> "$T/a/tund.conf"
: > "$T/tund-a.log"
# /dev/net/tun is mode 0666 where udev runs (Debian's rule), but the
# kernel's devtmpfs makes it 0600 where it does not (containers, minimal
# VMs): ntm-tund, not root, gets a node of its own, 0666, bound over it in
# a mount namespace of its own (the host's is left alone).
mknod "$T/tun" c 10 200 && chmod 666 "$T/tun" || fail "mknod $T/tun"
tund_a_as() { # UID: ntm-tund on a as that user with CAP_NET_ADMIN, as the unit runs it
	bg a tund-a unshare -m sh -c 'mount --bind "$1" /dev/net/tun && shift && exec "$@"' sh "$T/tun" \
		env DBUS_SYSTEM_BUS_ADDRESS="unix:path=$R/bus" setpriv --reuid="$1" --regid="$1" \
		--clear-groups --inh-caps=+net_admin --ambient-caps=+net_admin "$NTM_TUND" -f -c "$T/a/tund.conf"
}
tund_a_as 65534
TUND_A=$LAST_PID
wait_for 10 "a registered (not root)" registered "$sock_a"
grep -q 'systemd-resolved: SetLinkDefaultRoute on ntm0 failed: org\.freedesktop\.DBus\.Error\.[A-Za-z]*' "$T/tund-a.log" \
	|| fail "no D-Bus error logged for a refused call: $(cat "$T/tund-a.log")"
n=$(grep -c 'systemd-resolved' "$T/tund-a.log")
[ "$n" = 1 ] || fail "$n lines about systemd-resolved, want 1: $(cat "$T/tund-a.log")"
link_unset "not root, no polkit"
ok "ntm-tund not root and no polkit: $(grep -o 'SetLinkDefaultRoute on ntm0 failed: [A-Za-z.]*' "$T/tund-a.log"), logged once; the node runs"

# --- as the systemd unit runs it, with polkit and the shipped rule ---
# polkitd (the host's, package polkitd) on resolved's bus, in its mount
# namespace, with resolved's actions and only the rule ntm ships: user ntm
# may set the link, and revert it at stop
POLKITD=/usr/lib/polkit-1/polkitd
if [ -x "$POLKITD" ]; then
	stop_a
	grep -q '^ntm:' "$R/passwd" || echo "ntm:x:64990:64990:ntm (test):/:/usr/sbin/nologin" >> "$R/passwd"
	NTM_UID=$(awk -F: '$1 == "ntm" { print $3 }' "$R/passwd")
	mkdir -p "$R/pk-actions" "$R/pk-rules"
	cp /usr/share/polkit-1/actions/*.policy "$R/pk-actions/" 2>/dev/null || :
	cp "$RSD/usr/share/polkit-1/actions/org.freedesktop.resolve1.policy" "$R/pk-actions/"
	cp "$top_srcdir/polkit/ntm-tund.rules" "$R/pk-rules/"
	X sh -c "mkdir -p /usr/share/polkit-1/actions /usr/share/polkit-1/rules.d /etc/polkit-1/rules.d &&
		mount --bind '$R/pk-actions' /usr/share/polkit-1/actions &&
		mount --bind '$R/pk-rules' /usr/share/polkit-1/rules.d &&
		mount -t tmpfs tmpfs /etc/polkit-1/rules.d" || fail "cannot set up polkit's directories"
	bg a polkitd nsenter -t "$RESOLVED_PID" -m -n env DBUS_SYSTEM_BUS_ADDRESS="unix:path=$R/bus" \
		"$POLKITD" --no-debug
	PIDS="$LAST_PID $PIDS"
	wait_for 10 "polkitd on the bus" sh -c "DBUS_SYSTEM_BUS_ADDRESS=unix:path=$R/bus busctl status org.freedesktop.PolicyKit1"
	chown -R "$NTM_UID:$NTM_UID" "$T/a"
	: > "$T/tund-a.log"
	tund_a_as "$NTM_UID"
	TUND_A=$LAST_PID
	wait_for 10 "a registered (user ntm)" registered "$sock_a"
	grep -q 'systemd-resolved: ntm0 has DNS server 127.0.0.77' "$T/tund-a.log" \
		|| fail "user ntm with polkit's rule did not set ntm0: $(cat "$T/tund-a.log") $(tail -5 "$T/polkitd.log")"
	link_set "user ntm, polkit rule" noquery
	stop_a
	grep -q 'systemd-resolved: ntm0 reverted' "$T/tund-a.log" || fail "user ntm: no RevertLink at stop: $(cat "$T/tund-a.log")"
	ok "ntm-tund as user ntm from the start, polkit with polkit/ntm-tund.rules: ntm0 set at start, reverted at stop"
else
	echo "# polkitd not installed: the shipped polkit rule is not exercised"
fi

# --- the bus goes away under a running ntm-tund: one line, it runs on ---
[ -n "${TUND_A:-}" ] && kill -0 "$TUND_A" 2>/dev/null && stop_a
chown -R 0:0 "$T/a"
: > "$T/tund-a.log"
bg a tund-a env DBUS_SYSTEM_BUS_ADDRESS="unix:path=$R/bus" "$NTM_TUND" -f -c "$T/a/tund.conf"
TUND_A=$LAST_PID
wait_for 10 "a registered (root, Resolved = yes)" registered "$sock_a"
grep -q 'systemd-resolved: ntm0 has DNS server 127.0.0.77' "$T/tund-a.log" || fail "ntm0 not set: $(cat "$T/tund-a.log")"
kill "$DBUS_PID"
wait_for 10 "ntm-tund noticed the bus is gone" grep -q 'systemd-resolved: the D-Bus connection failed' "$T/tund-a.log"
"$NTMCTL" -s "$sock_a" status >/dev/null || fail "ntm-tund a does not answer after the bus went away"
stop_a
n=$(grep -c 'systemd-resolved' "$T/tund-a.log")
[ "$n" = 2 ] || fail "$n lines about systemd-resolved, want 2 (set, connection lost): $(cat "$T/tund-a.log")"
ok "the bus went away: ntm-tund logged it once, answers, and stops cleanly without RevertLink"
echo "PASS: resolved"
