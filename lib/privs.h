/* privs.h - give up root once setup is done, keeping only named capabilities.
 *
 * Uses the raw capget/capset system calls and prctl; no libcap.
 *
 * NSS caution. ntm_privs_drop resolves a user *name* with getpwnam_r, which runs
 * whatever /etc/nsswitch.conf lists for "passwd" (sssd, LDAP, systemd-userdb, ...):
 * modules that may open sockets, block on a network that is not up yet, or load
 * code into this root process. ntm-tund therefore
 *   - sets NTM_NSS_BYPASS=1 in its environment (setenv) before its first NSS call of
 *     any kind, this one included, so that nss_ntm, should it ever be consulted in
 *     the daemon itself, answers "unavailable" at once instead of querying the
 *     daemon's own control socket (a self-deadlock);
 *   - expects the user to be a local account in /etc/passwd, or, to keep NSS out
 *     entirely, is given the numeric form "UID:GID", which is parsed here and never
 *     looked up.
 *
 * Must run while the process has a single thread: capset(2) changes only the calling
 * thread, so threads started earlier would keep every capability.
 */
#ifndef NTM_PRIVS_H
#define NTM_PRIVS_H

#include <linux/capability.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Mask bit for capability number c (CAP_NET_ADMIN, ...). */
#define NTM_CAP(c) ((uint64_t)1 << (c))

/* What ntm-tund keeps after setup: CAP_NET_ADMIN, to replace the TUN addresses when
 * the DC hands out a new allocation, to change the MTU and to manage routes later,
 * all through rtnetlink on an already-open TUN fd. */
#define NTM_TUND_KEEP_CAPS NTM_CAP(CAP_NET_ADMIN)

/* Switch the process to `user` and keep exactly the capabilities in keep_caps_mask.
 *
 * `user` is a user name (looked up with getpwnam_r; see the NSS caution above) or
 * "UID:GID" in decimal (no lookup). The user must not be root (uid 0) and the gid
 * must not be 0 either.
 *
 * In order: the supplementary groups become just the user's primary group
 * (setgroups), real/effective/saved gid and then uid are set to the user's
 * (setresgid, PR_SET_KEEPCAPS, setresuid), every capability not in the mask is
 * dropped from the bounding set, permitted and effective become exactly the mask,
 * inheritable and ambient become empty, and PR_SET_NO_NEW_PRIVS is set, so that no
 * later execve (setuid binary or file capabilities) can give anything back.
 *
 * Then it checks that all of it stuck: ids (getresuid/getresgid/getgroups), the
 * capability sets (capget), the ambient set, no_new_privs, and, unless CAP_SETUID is
 * kept, that setresuid(0, 0, 0) now fails.
 *
 * Errors: -ENOENT no such user; -EINVAL malformed "UID:GID", user or group is root,
 * or the mask names a capability this kernel does not have; -EPERM the caller lacks
 * a capability in the mask or the privilege to switch ids, or a check afterwards
 * failed; other -errno from the lookup or a system call. After an error the process
 * may be half-way (e.g. ids switched, capabilities not yet trimmed): the caller must
 * log it and exit, never carry on. */
/* The uid and gid ntm_privs_drop would switch to for user (a name or
 * "UID:GID"), without changing anything. 0, -ENOENT, -EINVAL (root). */
int ntm_privs_resolve(const char *user, uid_t *uid, gid_t *gid);

int ntm_privs_drop(const char *user, uint64_t keep_caps_mask);

/* Who a daemon runs as once its setup is done, known before the setup so
 * that what it creates (the control socket, state files) can be handed to
 * that user. */
struct ntm_privs_target {
	uid_t uid;
	gid_t gid;
	bool drop;              /* started as root: ntm_privs_drop(user) after setup */
};

/* Started as root (effective uid 0): the ids of user (its User= setting,
 * a name or "UID:GID", in a buffer of cap bytes) and drop = true; when user
 * is the default "ntm" and there is no such account, user becomes "nobody"
 * and 1 is returned, for the caller to say so. Otherwise: the process's own
 * effective ids, drop = false. 0, 1, or -errno from ntm_privs_resolve
 * (t->drop is set even then). */
int ntm_privs_target(char *user, size_t cap, struct ntm_privs_target *t);

/* 1 if capability `cap` is in this thread's effective set, 0 if not, -EINVAL for a
 * number outside 0..63, or another -errno from capget. */
int ntm_privs_have_cap(int cap);

#endif
