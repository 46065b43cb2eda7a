#!/bin/bash
# fresh.sh - try the README's two commands as a new user would: on a fresh
# minimal Debian 12 root, from a clean clone of this checkout.
#
# Usage: tools/fresh.sh [-n RUNS] [-l] [-k] [-d DIR]   (as root, on Debian)
#   -n RUNS  run the test command RUNS times in a row (default 1)
#   -l       the last run of the test command has only loopback (a network
#            namespace of its own: no interface but lo), as in a sandboxed
#            builder; packages are installed first, with the network
#   -k       keep the root afterwards (default: removed)
#   -d DIR   where to build the root (default: a new /var/tmp/ntm-fresh-*)
#
# Steps: installs mmdebstrap; builds a --variant=minbase bookworm root with
# this machine's apt sources; clones this checkout (its committed HEAD, not
# the working tree) into /root/ntm there; runs tools/demo.sh, then
# tools/check.sh (RUNS times), each inside the root with its own mount
# namespace and /proc, /sys, /dev, /run. Every log stays in the root's
# /root/*.log and the last lines of a failing one are printed. Exit 0 when
# every command passed.
set -eu

runs=1 loopback=no keep=no root=
while getopts "n:lkd:" opt; do
	case $opt in
	n) runs=$OPTARG ;;
	l) loopback=yes ;;
	k) keep=yes ;;
	d) root=$OPTARG ;;
	*) sed -n '3,10p' "$0" >&2; exit 2 ;;
	esac
done
case $runs in '' | *[!0-9]*) echo "fresh.sh: -n wants a number, got '$runs'" >&2; exit 2 ;; esac
[ "$(id -u)" = 0 ] || { echo "fresh.sh: run as root (it builds a root file system and mounts)" >&2; exit 2; }

src=$(cd "$(dirname "$0")/.." && pwd)
git -C "$src" rev-parse --verify HEAD >/dev/null || { echo "fresh.sh: $src is not a git checkout" >&2; exit 2; }
[ -n "$root" ] || root=$(mktemp -d /var/tmp/ntm-fresh-XXXXXX)

say() { printf '\n== fresh.sh: %s\n' "$*"; }
cleanup() {
	if [ "$keep" = no ]; then
		rm -rf --one-file-system "$root"
	else
		echo "fresh.sh: the root stays in $root"
	fi
}
trap cleanup EXIT

if ! command -v mmdebstrap >/dev/null; then
	say "installing mmdebstrap"
	DEBIAN_FRONTEND=noninteractive apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends mmdebstrap >/dev/null
fi

# The machine's own apt sources (one-line and deb822 files alike), so the
# root gets its packages from where this machine does.
sources=()
for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
	[ -s "$f" ] && sources+=("$f")
done
[ "${#sources[@]}" -gt 0 ] || { echo "fresh.sh: no apt sources on this machine" >&2; exit 1; }

say "building a minimal Debian 12 root in $root (mmdebstrap --variant=minbase)"
if [ -e "$root/etc/debian_version" ]; then
	echo "fresh.sh: $root already holds a root; using it as it is"
else
	rmdir "$root" 2>/dev/null || true
	mmdebstrap --quiet --variant=minbase bookworm "$root" "${sources[@]}"
fi
cp /etc/resolv.conf "$root/etc/resolv.conf"

say "cloning $src (HEAD $(git -C "$src" rev-parse --short HEAD)) into $root/root/ntm"
rm -rf "$root/root/ntm"
git clone -q --no-hardlinks "$src" "$root/root/ntm"

# inroot NETNS CMD: run CMD (a shell command line) in the root, as root,
# in a mount namespace of its own; NETNS=new gives it a network namespace
# with only loopback.
inroot() {
	local net=()
	[ "$1" = new ] && net=(--net)
	NTM_FRESH_NET=$1 unshare --mount --fork "${net[@]}" -- /bin/sh -c '
		set -e
		r=$1; shift
		mount --make-rprivate /
		# the root a mount point of its own, as in a container (ip netns
		# exec remounts / as a slave, which fails on a plain directory)
		mount --bind "$r" "$r"
		mount -t proc proc "$r/proc"
		mount --rbind /sys "$r/sys"
		mount --rbind /dev "$r/dev"
		mount -t tmpfs -o mode=755 tmpfs "$r/run"
		mount -t tmpfs -o mode=1777 tmpfs "$r/tmp"
		[ "$NTM_FRESH_NET" = new ] && ip link set lo up
		# pivot_root, not a bare chroot, as a container does: setns() into
		# a mount namespace (nsenter -m, in the tests) resets the root to
		# the namespace'"'"'s own, which must be this root, not the host'"'"'s
		mkdir -p "$r/.oldroot"
		cd "$r"
		pivot_root . .oldroot
		umount -l /.oldroot
		exec chroot / /usr/bin/env -i HOME=/root TERM=dumb \
			PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
			/bin/sh -c "cd /root/ntm && $2"' sh "$root" "$@"
}

# step NAME NETNS CMD: run CMD in the root, its output to /root/NAME.log.
failed=0
step() {
	local name=$1 netns=$2 t0 rc
	shift 2
	say "$name: $*$([ "$netns" = new ] && echo ' (only loopback)')"
	t0=$(date +%s)
	set +e
	inroot "$netns" "$*" >"$root/root/$name.log" 2>&1
	rc=$?
	set -e
	if [ "$rc" = 0 ]; then
		echo "fresh.sh: $name passed in $(($(date +%s) - t0)) s; its last lines:"
		tail -n 12 "$root/root/$name.log"
	else
		echo "fresh.sh: $name FAILED (exit $rc) after $(($(date +%s) - t0)) s; its last lines:"
		tail -n 60 "$root/root/$name.log"
		failed=$((failed + 1))
		keep=yes
	fi
}

# The README's first command, then its second, as the README gives them.
step demo host tools/demo.sh
if [ "$loopback" = yes ]; then
	# Everything installed and downloaded first, with the network; the
	# last run of the test command then has only loopback.
	step setup host tools/setup.sh
fi
i=1
while [ "$i" -le "$runs" ]; do
	net=host
	[ "$loopback" = yes ] && [ "$i" = "$runs" ] && net=new
	step "check$i" "$net" tools/check.sh
	i=$((i + 1))
done

if [ "$failed" = 0 ]; then
	say "all passed: demo, and the test command $runs time(s) in a row$([ "$loopback" = yes ] && echo ', the last with only loopback')"
else
	say "$failed command(s) failed; logs in $root/root/*.log"
	exit 1
fi
