/* privs.c - drop root, keep a named set of capabilities, and prove it stuck. */
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "privs.h"

#define PW_BUF_MIN 1024
#define PW_BUF_MAX (1024 * 1024) /* a passwd entry larger than this is not sane */

/* The three capability sets of this thread, as 64-bit masks. */
struct capsets {
	uint64_t eff, prm, inh;
};

static int caps_get(struct capsets *c)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3];

	memset(d, 0, sizeof(d));
	if (syscall(SYS_capget, &hdr, d) < 0)
		return -errno;
	c->eff = (uint64_t)d[1].effective << 32 | d[0].effective;
	c->prm = (uint64_t)d[1].permitted << 32 | d[0].permitted;
	c->inh = (uint64_t)d[1].inheritable << 32 | d[0].inheritable;
	return 0;
}

static int caps_set(const struct capsets *c)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3] = {
		{ (uint32_t)c->eff, (uint32_t)c->prm, (uint32_t)c->inh },
		{ (uint32_t)(c->eff >> 32), (uint32_t)(c->prm >> 32),
		  (uint32_t)(c->inh >> 32) },
	};

	if (syscall(SYS_capset, &hdr, d) < 0)
		return -errno;
	return 0;
}

/* The highest capability number this kernel knows (PR_CAPBSET_READ says EINVAL past
 * it); reading it this way needs no /proc. */
static int last_cap(void)
{
	int c = 0;

	while (c < 63 && prctl(PR_CAPBSET_READ, (unsigned long)c + 1, 0, 0, 0) >= 0)
		c++;
	return c;
}

static uint64_t all_caps(int last)
{
	return last >= 63 ? UINT64_MAX : ((uint64_t)1 << (last + 1)) - 1;
}

/* Strict decimal id: digits only, no sign or space, and never (id_t)-1, which the
 * set*id calls read as "leave unchanged". */
static int parse_id(const char *s, size_t len, uint32_t *out)
{
	uint64_t v = 0;

	if (len == 0 || len > 10)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v >= UINT32_MAX)
		return -EINVAL;
	*out = (uint32_t)v;
	return 0;
}

/* "UID:GID" without any lookup. */
static int parse_numeric(const char *user, uid_t *uid, gid_t *gid)
{
	const char *colon = strchr(user, ':');
	uint32_t u, g;

	if (parse_id(user, (size_t)(colon - user), &u) < 0 ||
	    parse_id(colon + 1, strlen(colon + 1), &g) < 0)
		return -EINVAL;
	*uid = u;
	*gid = g;
	return 0;
}

static int lookup_user(const char *name, uid_t *uid, gid_t *gid)
{
	long hint = sysconf(_SC_GETPW_R_SIZE_MAX);
	size_t size = hint > PW_BUF_MIN && hint < PW_BUF_MAX ? (size_t)hint : PW_BUF_MIN;
	struct passwd pw, *res = NULL;
	char *buf = NULL;
	int ret;

	for (;;) {
		char *nbuf = realloc(buf, size);
		if (!nbuf) {
			ret = -ENOMEM;
			goto free_buf;
		}
		buf = nbuf;
		ret = getpwnam_r(name, &pw, buf, size, &res);
		if (ret != ERANGE || size >= PW_BUF_MAX)
			break;
		size *= 2;
	}
	if (ret == 0 && !res)
		ret = -ENOENT;
	else if (ret != 0)
		ret = -ret;
	else {
		*uid = pw.pw_uid;
		*gid = pw.pw_gid;
	}

free_buf:
	free(buf);
	return ret;
}

int ntm_privs_resolve(const char *user, uid_t *uid, gid_t *gid)
{
	int ret;

	if (!user || !user[0])
		return -EINVAL;
	if (strchr(user, ':'))
		ret = parse_numeric(user, uid, gid);
	else
		ret = lookup_user(user, uid, gid);
	if (ret == 0 && (*uid == 0 || *gid == 0))
		ret = -EINVAL; /* "dropping" to root would drop nothing */
	return ret;
}

int ntm_privs_target(char *user, size_t cap, struct ntm_privs_target *t)
{
	int ret;

	t->uid = geteuid();
	t->gid = getegid();
	t->drop = t->uid == 0;
	if (!t->drop)
		return 0;
	ret = ntm_privs_resolve(user, &t->uid, &t->gid);
	if (ret == -ENOENT && strcmp(user, "ntm") == 0) {
		snprintf(user, cap, "nobody");
		ret = ntm_privs_resolve(user, &t->uid, &t->gid);
		return ret < 0 ? ret : 1;
	}
	return ret;
}

/* Remove everything not kept from the bounding set, so no execve can ever bring it
 * back. Needs CAP_SETPCAP in the effective set, so it runs while still root. */
static int drop_bounding(uint64_t keep, int last)
{
	for (int c = 0; c <= last; c++) {
		if (keep & NTM_CAP(c))
			continue;
		if (prctl(PR_CAPBSET_DROP, (unsigned long)c, 0, 0, 0) < 0)
			return -errno;
	}
	return 0;
}

static int switch_ids(uid_t uid, gid_t gid)
{
	/* Without KEEPCAPS, leaving uid 0 would empty the permitted set. The kernel
	 * clears the effective set anyway; caps_set() below restores the kept ones.
	 * The uid change also makes the process non-dumpable, so the new uid cannot
	 * ptrace it and read its keys. */
	if (setgroups(1, &gid) < 0 || setresgid(gid, gid, gid) < 0 ||
	    prctl(PR_SET_KEEPCAPS, 1UL, 0, 0, 0) < 0 || setresuid(uid, uid, uid) < 0)
		return -errno;
	if (prctl(PR_SET_KEEPCAPS, 0UL, 0, 0, 0) < 0)
		return -errno;
	return 0;
}

static int set_caps(uint64_t keep)
{
	struct capsets c = { .eff = keep, .prm = keep, .inh = 0 };
	int ret = caps_set(&c);

	if (ret < 0)
		return ret;
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0)
		return -errno;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1UL, 0, 0, 0) < 0)
		return -errno;
	return 0;
}

static bool ids_are(uid_t uid, gid_t gid)
{
	uid_t r, e, s;
	gid_t rg, eg, sg, groups[2];
	int n;

	if (getresuid(&r, &e, &s) < 0 || r != uid || e != uid || s != uid)
		return false;
	if (getresgid(&rg, &eg, &sg) < 0 || rg != gid || eg != gid || sg != gid)
		return false;
	n = getgroups(2, groups);
	return n == 0 || (n == 1 && groups[0] == gid);
}

static bool caps_are(uint64_t keep, int last)
{
	struct capsets c;

	if (caps_get(&c) < 0 || c.eff != keep || c.prm != keep || c.inh != 0)
		return false;
	for (int i = 0; i <= last; i++) {
		if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, (unsigned long)i, 0, 0) != 0)
			return false;
		if (!(keep & NTM_CAP(i)) && prctl(PR_CAPBSET_READ, (unsigned long)i, 0, 0, 0) != 0)
			return false;
	}
	return prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 1;
}

/* The drop is only real if root cannot be taken back. */
static bool root_is_gone(uint64_t keep)
{
	if (!(keep & NTM_CAP(CAP_SETUID)) && setresuid(0, 0, 0) == 0)
		return false;
	if (!(keep & NTM_CAP(CAP_SETGID)) && setresgid(0, 0, 0) == 0)
		return false;
	return true;
}

int ntm_privs_drop(const char *user, uint64_t keep_caps_mask)
{
	int last = last_cap();
	struct capsets now;
	uid_t uid = (uid_t)-1;
	gid_t gid = (gid_t)-1;
	int ret;

	if (keep_caps_mask & ~all_caps(last))
		return -EINVAL;
	ret = ntm_privs_resolve(user, &uid, &gid);
	if (ret < 0)
		return ret;
	ret = caps_get(&now);
	if (ret < 0)
		return ret;
	if (keep_caps_mask & ~now.prm)
		return -EPERM; /* cannot keep what we do not have; fail before changing */

	ret = drop_bounding(keep_caps_mask, last);
	if (ret == 0)
		ret = switch_ids(uid, gid);
	if (ret == 0)
		ret = set_caps(keep_caps_mask);
	if (ret < 0)
		return ret;

	if (!ids_are(uid, gid) || !caps_are(keep_caps_mask, last) ||
	    !root_is_gone(keep_caps_mask))
		return -EPERM;
	return 0;
}

int ntm_privs_have_cap(int cap)
{
	struct capsets c;
	int ret;

	if (cap < 0 || cap > 63)
		return -EINVAL;
	ret = caps_get(&c);
	if (ret < 0)
		return ret;
	return (c.eff & NTM_CAP(cap)) != 0;
}
