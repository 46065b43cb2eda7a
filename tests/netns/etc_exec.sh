#!/bin/sh
# etc_exec.sh DIR NSSWITCH HOSTS RESOLV CMD...: run CMD in a mount namespace
# of its own where /etc/nsswitch.conf, /etc/hosts and /etc/resolv.conf are
# the given files, as an unmodified program there reads them. An overlay on
# /etc, its upper layer on a private tmpfs mounted on DIR (an empty
# directory of the test's), provides them whether or not the machine has
# them: a minimal root or a container may have no /etc/hosts, and a bind
# mount needs a file to cover. Nothing changes outside the namespace.
# Exits 97 when the namespace cannot be made, else CMD's status.
set -eu
[ $# -ge 5 ] || { echo "usage: etc_exec.sh DIR NSSWITCH HOSTS RESOLV CMD..." >&2; exit 2; }
mkdir -p "$1"
exec unshare -m sh -c '
	d=$1; shift
	mount -t tmpfs -o mode=755 tmpfs "$d" && mkdir "$d/up" "$d/work" &&
		cp "$1" "$d/up/nsswitch.conf" && cp "$2" "$d/up/hosts" &&
		cp "$3" "$d/up/resolv.conf" && chmod 644 "$d/up/"* &&
		mount -t overlay overlay -o "lowerdir=/etc,upperdir=$d/up,workdir=$d/work" /etc ||
		{ echo "etc_exec.sh: cannot overlay /etc" >&2; exit 97; }
	shift 3
	exec "$@"' sh "$@"
