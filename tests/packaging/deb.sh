#!/bin/bash
# deb.sh - the Debian packages, built and installed as a user would get them.
#
#  1. `make distdir` (the release tree), then `dpkg-buildpackage -us -uc -b`
#     in it (DEB_BUILD_OPTIONS=nocheck: tools/check.sh ran the unit tests);
#  2. lintian on the result: no error and no warning (overrides, if any,
#     carry their reason in debian/*.lintian-overrides);
#  3. the files each package holds;
#  4. a fresh minimal Debian 12 root (mmdebstrap --variant=minbase, from this
#     machine's apt sources) with the packages installed: the user ntm
#     (sysusers.d), /var/lib/ntm (tmpfiles.d), every program's --version,
#     the examples, `systemd-analyze verify` and `systemd-analyze security
#     --offline` (exposure at most 3.0) on each unit, and the hosts line of
#     nsswitch.conf: "ntm" added on install, taken out on remove, put back
#     on a later install, and the file as before after purge.
# The units are not started: no systemd runs as PID 1 in a root made this
# way (the daemons' READY/STATUS/STOPPING are tested by
# tests/unit/programs.sh with a stand-in for the service manager).
#
# Needs root, dpkg-buildpackage, debhelper, lintian, mmdebstrap (tools/setup.sh
# installs them) and a Debian mirror; exits 77 (skip) without them, with the
# reason on a "SKIP: " line.
# Environment: top_builddir (a configured tree), NTM_DEB_KEEP=1 keeps the
# work directory. Exit 0 pass, 1 fail.
set -u

: "${top_builddir:=.}"
top_builddir=$(cd "$top_builddir" && pwd)
skip() { echo "SKIP: $*"; exit 77; }
[ "$(id -u)" = 0 ] || skip "deb.sh needs root (mmdebstrap, chroot)"
for t in dpkg-buildpackage dh lintian mmdebstrap; do
	command -v "$t" >/dev/null || skip "deb.sh needs $t (tools/setup.sh installs it)"
done
sources=()
for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
	[ -s "$f" ] && sources+=("$f")
done
[ "${#sources[@]}" -gt 0 ] || skip "no apt sources on this machine"

work=$(mktemp -d /var/tmp/ntm-deb-XXXXXX)
root=$work/root
cleanup() {
	mountpoint -q "$root/proc" 2>/dev/null && umount "$root/proc"
	[ "${NTM_DEB_KEEP:-0}" = 1 ] && { echo "kept $work"; return; }
	rm -rf "$work"
}
trap cleanup EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
pass() { echo "ok: $*"; }
now() { date +%s; }
t0=$(now)

# 1. build
version=$(sed -n 's/^#define PACKAGE_VERSION "\(.*\)"$/\1/p' "$top_builddir/config.h")
src=$work/ntm-$version
make -s -C "$top_builddir" distdir distdir="$src" >"$work/distdir.log" 2>&1 ||
	{ tail -n 20 "$work/distdir.log"; fail "make distdir"; exit 1; }
(cd "$src" && DEB_BUILD_OPTIONS="nocheck parallel=$(nproc)" dpkg-buildpackage -us -uc -b) \
	>"$work/build.log" 2>&1 || { tail -n 40 "$work/build.log"; fail "dpkg-buildpackage"; exit 1; }
changes=$(ls "$work"/ntm_*.changes)
debs=$(ls "$work"/*.deb | grep -v dbgsym)
pass "dpkg-buildpackage -us -uc -b: $(echo $debs | xargs -n1 basename | tr '\n' ' ')($(($(now) - t0)) s)"

# 2. lintian
if lintian --fail-on error,warning --tag-display-limit 0 "$changes" 2>&1 |
	grep -v '^running with root privileges' >"$work/lintian.log"; [ "${PIPESTATUS[0]}" -eq 0 ]; then
	pass "lintian: no error or warning$( [ -s "$work/lintian.log" ] && echo " ($(wc -l <"$work/lintian.log") lines of info, below)")"
	sed 's/^/  lintian: /' "$work/lintian.log"
else
	cat "$work/lintian.log"
	fail "lintian"
fi

# 3. what each package holds
expect_files() { # PACKAGE FILE...
	pkg=$1; shift
	list=$(dpkg-deb -c "$work/${pkg}_${version}_"*.deb | awk '{ print $6 }' | sed 's|^\./|/|')
	for f in "$@"; do
		echo "$list" | grep -qx "$f" || fail "$pkg lacks $f"
	done
	pass "$pkg holds its $# expected files"
}
ma=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
expect_files ntm-common /usr/lib/sysusers.d/ntm.conf /usr/lib/tmpfiles.d/ntm.conf \
	/usr/share/man/man7/ntm.7.gz /usr/share/man/man5/ntm-policy.5.gz
expect_files ntm-node /usr/sbin/ntm-tund /usr/sbin/ntm-resolverd /usr/bin/ntmctl \
	/lib/systemd/system/ntm-tund.service /lib/systemd/system/ntm-resolverd.service \
	/usr/share/bash-completion/completions/ntmctl /usr/share/man/man8/ntm-tund.8.gz \
	/usr/share/polkit-1/rules.d/ntm-tund.rules \
	/usr/share/man/man8/ntmctl.8.gz /usr/share/man/man5/ntm-tund.conf.5.gz \
	/usr/share/doc/ntm-node/examples/tund.conf /usr/share/doc/ntm-node/examples/resolverd.conf \
	/usr/share/doc/ntm-node/examples/policy
expect_files libnss-ntm "/lib/$ma/libnss_ntm.so.2" /usr/share/man/man8/nss_ntm.8.gz
expect_files ntm-dc /usr/sbin/ntm-dcd /usr/sbin/ntm-dcctl /lib/systemd/system/ntm-dcd.service \
	/usr/share/bash-completion/completions/ntm-dcctl /usr/share/doc/ntm-dc/examples/dcd.conf \
	/usr/share/doc/ntm-dc/examples/policy
expect_files ntm-relay /usr/sbin/ntm-relayd /usr/sbin/ntm-relayctl \
	/lib/systemd/system/ntm-relayd.service /usr/share/doc/ntm-relay/examples/relayd.conf

# 4. a fresh Debian 12 root with the packages
t1=$(now)
includes=()
for d in $debs; do includes+=("--include=$d"); done
# the hook makes the .deb files outside the root visible to apt inside it
mmdebstrap --quiet --variant=minbase "${includes[@]}" \
	--hook-dir=/usr/share/mmdebstrap/hooks/file-mirror-automount \
	bookworm "$root" "${sources[@]}" >"$work/mmdebstrap.log" 2>&1 ||
	{ head -n 20 "$work/mmdebstrap.log"; fail "mmdebstrap with the packages"; exit 1; }
pass "minimal Debian 12 root with the packages installed ($(($(now) - t1)) s)"
mount -t proc proc "$root/proc"
in_root() { chroot "$root" "$@"; }
orig=$(cat "$root/usr/share/libc-bin/nsswitch.conf")
hosts() { grep '^hosts:' "$root/etc/nsswitch.conf"; }

line=$(in_root getent passwd ntm) && pass "user ntm: $line" || fail "no user ntm"
st=$(in_root stat -c '%U:%G %a' /var/lib/ntm 2>&1) && [ "$st" = "ntm:ntm 700" ] &&
	pass "/var/lib/ntm: $st" || fail "/var/lib/ntm: $st"
for p in ntm-tund ntmctl ntm-resolverd ntm-dcd ntm-dcctl ntm-relayd ntm-relayctl; do
	out=$(in_root "$p" --version 2>&1)
	[ "$out" = "$p $version" ] || fail "$p --version in the root: $out"
done
pass "every program runs in the root and prints its version"
out=$(in_root ntm-dcd -n -c /usr/share/doc/ntm-dc/examples/dcd.conf 2>&1) &&
	pass "ntm-dcd -n on the installed example: $out" || fail "installed dcd.conf example: $out"
for u in ntm-tund ntm-resolverd ntm-dcd ntm-relayd; do
	if out=$(in_root systemd-analyze verify --man=no "/lib/systemd/system/$u.service" 2>&1); then
		pass "systemd-analyze verify $u.service"
	else
		fail "systemd-analyze verify $u.service: $out"
	fi
	# --threshold counts in tenths: 30 is an exposure of 3.0
	out=$(in_root systemd-analyze security --offline=true --threshold=30 \
		"/lib/systemd/system/$u.service" 2>&1)
	rc=$?
	level=$(echo "$out" | grep -o 'Overall exposure level for [^:]*: [0-9.]* [A-Z]*')
	[ "$rc" -eq 0 ] && pass "$level" || fail "$u.service: ${level:-$out} (threshold 3.0)"
done
in_root systemctl is-enabled ntm-tund.service >/dev/null 2>&1 &&
	pass "ntm-tund.service enabled (starts once /etc/ntm/tund.conf exists)" ||
	fail "ntm-tund.service not enabled"

case $(hosts) in
*" ntm [!UNAVAIL=return] "*) pass "installed: $(hosts)" ;;
*) fail "installed, but the hosts line is: $(hosts)" ;;
esac
# a minimal root has no /etc/hosts: one line, for a lookup through the
# hosts line with nss_ntm in it (the module loads, says UNAVAIL, files answers)
echo "192.0.2.7 probe.example" >>"$root/etc/hosts"
out=$(in_root getent hosts probe.example 2>&1) && pass "getent hosts with nss_ntm in the line: $out" ||
	fail "getent hosts probe.example with nss_ntm in the line: $out"
in_root dpkg --remove ntm-node libnss-ntm >"$work/remove.log" 2>&1 || fail "dpkg --remove: $(cat "$work/remove.log")"
case $(hosts) in
*ntm*) fail "removed, but the hosts line is: $(hosts)" ;;
*) pass "removed: $(hosts)" ;;
esac
cp "$work"/libnss-ntm_*.deb "$root/tmp/libnss-ntm.deb"
in_root dpkg -i /tmp/libnss-ntm.deb >"$work/reinstall.log" 2>&1 ||
	fail "reinstalling libnss-ntm: $(cat "$work/reinstall.log")"
case $(hosts) in
*" ntm [!UNAVAIL=return] "*) pass "installed again after a removal: $(hosts)" ;;
*) fail "installed again, but the hosts line is: $(hosts)" ;;
esac
in_root dpkg --purge libnss-ntm ntm-node >"$work/purge.log" 2>&1 || fail "dpkg --purge: $(cat "$work/purge.log")"
if [ "$(cat "$root/etc/nsswitch.conf")" = "$orig" ]; then
	pass "purged: nsswitch.conf as libc-bin wrote it ($(hosts))"
else
	fail "purged, but nsswitch.conf differs: $(diff <(echo "$orig") "$root/etc/nsswitch.conf")"
fi
[ ! -e "$root/var/lib/libnss-ntm" ] || fail "purge left /var/lib/libnss-ntm"

echo "deb.sh: $(($(now) - t0)) s"
echo "$failures failure(s)"
[ "$failures" -eq 0 ]
