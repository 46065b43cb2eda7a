/* resolvconf_install.c - `ntmctl dns enable|disable|status` on a
 * resolv.conf file (resolvconf.h, part 2): the state machine of
 * original, backup and generated file; saving the original once,
 * installing the generated file, restoring the backup. Owner detection,
 * the text and the file writes are in resolvconf_owner.c,
 * resolvconf_render.c and resolvconf_files.c. */
#include "resolvconf.h"
#include "resolvconf_internal.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int check_args(const struct ntm_resolvconf_env *env, const char *stub, const char *zone,
		      char *err, size_t errlen)
{
	struct ntm_resolv_ns ns;

	if (!env->path || !env->backup_path || strchr(env->backup_path, '\n')) {
		errf(err, errlen, "bad resolv.conf or backup path");
		return -EINVAL;
	}
	if (!stub || ntm_resolv_parse_addr(stub, &ns) < 0) {
		errf(err, errlen, "stub address '%s' is not an IPv4 or IPv6 address",
		     stub ? stub : "(null)");
		return -EINVAL;
	}
	if (zone && (!ntm_resolv_valid_name(zone, strlen(zone)) || !strcmp(zone, "."))) {
		errf(err, errlen, "zone '%s' is not a domain name", zone);
		return -EINVAL;
	}
	return 0;
}

static int backup_exists(const char *backup, bool *exists)
{
	struct stat st;

	*exists = lstat(backup, &st) == 0;
	return *exists || errno == ENOENT ? 0 : -errno;
}

/* Saves the original once: a regular file's bytes via temp + link() (which
 * never replaces an existing backup), a symlink as a symlink to its
 * absolute, fully followed target. */
static int make_backup(const struct ntm_resolvconf_env *env, const char *data, size_t len)
{
	char tmp[PATH_MAX], final[PATH_MAX];
	struct stat st;
	int hops, r;

	if (lstat(env->path, &st) < 0)
		return -errno;
	if (S_ISLNK(st.st_mode)) {
		r = ntm_resolv_follow(env->path, final, &hops);
		if (r < 0)
			return r;
		if (symlink(final, env->backup_path) < 0)
			return -errno;
		return ntm_resolv_fsync_dir_of(env->backup_path);
	}
	r = ntm_resolv_write_temp(env->backup_path, data, len, st.st_mode & 07777, tmp);
	if (r < 0)
		return r;
	r = link(tmp, env->backup_path) < 0 ? -errno : 0;
	unlink(tmp);
	return r ? r : ntm_resolv_fsync_dir_of(env->backup_path);
}

/* First enable: parse the current file, save it, render from it. */
static int enable_first(const struct ntm_resolvconf_env *env, struct ntm_resolv *rc,
			char *err, size_t errlen)
{
	struct ntm_resolv_error e;
	char *cur = NULL;
	size_t len = 0;
	int r = ntm_resolv_slurp(env->path, NTM_RESOLV_MAX_FILE, &cur, &len);

	if (r < 0) {
		errf(err, errlen, "%s: %s", env->path,
		     r == -EFBIG ? "file too large" : strerror(-r));
		return r;
	}
	r = ntm_resolv_parse(cur, len, rc, &e);
	if (r < 0) {
		errf(err, errlen, "%s:%u: %s", env->path, e.line, e.msg);
		goto out;
	}
	r = make_backup(env, cur, len);
	if (r < 0)
		errf(err, errlen, "cannot save %s to %s: %s", env->path, env->backup_path,
		     strerror(-r));
out:
	free(cur);
	return r;
}

/* Writes out unless the file already holds exactly that. */
static int write_if_changed(const struct ntm_resolvconf_env *env, const struct ntm_resolv_sbuf *b)
{
	char *cur = NULL;
	size_t len = 0;
	bool same = ntm_resolv_slurp(env->path, NTM_RESOLV_MAX_FILE, &cur, &len) == 0 &&
		    len == b->len && !memcmp(cur, b->p, len);

	free(cur);
	return same ? 0 : ntm_resolv_write_atomic(env->path, b->p, b->len, 0644, env->flags);
}

/* Which state enable starts from: -errno with err, or 0 and *again. */
static int enable_precheck(const struct ntm_resolvconf_env *env, bool *again, char *err,
			   size_t errlen)
{
	enum ntm_resolvconf_owner owner;
	bool have_backup;
	int r = ntm_resolvconf_detect_owner(env, &owner);

	if (!r)
		r = backup_exists(env->backup_path, &have_backup);
	if (r < 0) {
		errf(err, errlen, "cannot inspect %s: %s", env->path, strerror(-r));
		return r;
	}
	*again = owner == NTM_RESOLVCONF_OWNER_NTM;
	if (owner == NTM_RESOLVCONF_OWNER_NONE) {
		errf(err, errlen, "%s does not exist", env->path);
		return -ENOENT;
	}
	if (owner == NTM_RESOLVCONF_OWNER_RESOLVED) {
		errf(err, errlen, "%s is managed by systemd-resolved; use the resolvectl "
		     "(per-link split DNS) mode instead", env->path);
		return -EBUSY;
	}
	if (*again && !have_backup) {
		errf(err, errlen, "%s carries the ntm marker but the backup %s is missing; "
		     "restore the original by hand", env->path, env->backup_path);
		return -ENOENT;
	}
	if (!*again && have_backup) {
		errf(err, errlen, "%s exists but %s does not carry the ntm marker (rewritten by "
		     "%s?); run disable first", env->backup_path, env->path,
		     ntm_resolvconf_owner_name(owner));
		return -EEXIST;
	}
	return 0;
}

int ntm_resolvconf_enable_env(const struct ntm_resolvconf_env *env, const char *stub,
			      const char *zone, char *err, size_t errlen)
{
	struct ntm_resolv *rc = NULL;
	struct ntm_resolv_sbuf b = { 0 };
	bool again = false, made_backup = false;
	int r = check_args(env, stub, zone, err, errlen);

	if (!r)
		r = enable_precheck(env, &again, err, errlen);
	if (r < 0)
		return r;
	rc = malloc(sizeof(*rc));
	b.cap = (size_t)NTM_RESOLV_MAX_KEPT * (NTM_RESOLV_MAX_LINE + 1) + PATH_MAX + 2048;
	b.p = malloc(b.cap);
	if (!rc || !b.p) {
		r = -ENOMEM;
		goto out_free;
	}
	r = again ? ntm_resolv_read_file(env->backup_path, rc, err, errlen)
		  : enable_first(env, rc, err, errlen);
	if (r < 0)
		goto out_free;
	made_backup = !again;
	r = ntm_resolv_render(rc, env->backup_path, stub, zone, &b, err, errlen);
	if (!r) {
		r = write_if_changed(env, &b);
		if (r < 0)
			errf(err, errlen, "cannot write %s: %s", env->path, strerror(-r));
	}
	if (r < 0 && made_backup)
		unlink(env->backup_path);   /* we made it just now; the file is untouched */
out_free:
	free(b.p);
	free(rc);
	return r;
}

int ntm_resolvconf_enable(const char *path, const char *backup_path, const char *stub,
			  const char *zone, char *err, size_t errlen)
{
	struct ntm_resolvconf_env env = { .path = path, .backup_path = backup_path };

	return ntm_resolvconf_enable_env(&env, stub, zone, err, errlen);
}

/* Puts the backup back at env->path (a symlink as a symlink). */
static int restore(const struct ntm_resolvconf_env *env)
{
	char target[PATH_MAX], *data = NULL;
	struct stat st;
	size_t len = 0;
	ssize_t n;
	int r;

	if (lstat(env->backup_path, &st) < 0)
		return -errno;
	if (S_ISLNK(st.st_mode)) {
		n = readlink(env->backup_path, target, sizeof(target) - 1);
		if (n < 0)
			return -errno;
		target[n] = '\0';
		return ntm_resolv_symlink_atomic(target, env->path);
	}
	r = ntm_resolv_slurp(env->backup_path, NTM_RESOLV_MAX_FILE, &data, &len);
	if (r < 0)
		return r;
	r = ntm_resolv_write_atomic(env->path, data, len, st.st_mode & 07777, env->flags);
	free(data);
	return r;
}

int ntm_resolvconf_disable_env(const struct ntm_resolvconf_env *env, char *err, size_t errlen)
{
	struct ntm_resolvconf_status st;
	int r = ntm_resolvconf_status_env(env, &st);

	if (r < 0) {
		errf(err, errlen, "cannot inspect %s: %s", env->path, strerror(-r));
		return r;
	}
	switch (st.state) {
	case NTM_RESOLVCONF_DISABLED:
		return 1;
	case NTM_RESOLVCONF_BACKUP_LOST:
		errf(err, errlen, "%s carries the ntm marker but the backup %s is missing; "
		     "restore the original by hand", env->path, env->backup_path);
		return -ENOENT;
	case NTM_RESOLVCONF_OVERWRITTEN:
		if (!(env->flags & NTM_RESOLVCONF_DISCARD_STALE_BACKUP)) {
			errf(err, errlen, "%s was rewritten by %s since ntm enabled it; left it "
			     "alone; the old original is still in %s", env->path,
			     ntm_resolvconf_owner_name(st.owner), env->backup_path);
			return -ESTALE;
		}
		break;
	case NTM_RESOLVCONF_ENABLED:
		r = restore(env);
		if (r < 0) {
			errf(err, errlen, "cannot restore %s from %s: %s", env->path,
			     env->backup_path, strerror(-r));
			return r;
		}
		break;
	}
	if (unlink(env->backup_path) < 0) {
		r = -errno;
		errf(err, errlen, "cannot remove %s: %s", env->backup_path, strerror(-r));
		return r;
	}
	ntm_resolv_fsync_dir_of(env->backup_path);
	return 0;
}

int ntm_resolvconf_disable(const char *path, const char *backup_path, char *err, size_t errlen)
{
	struct ntm_resolvconf_env env = { .path = path, .backup_path = backup_path };

	return ntm_resolvconf_disable_env(&env, err, errlen);
}

int ntm_resolvconf_status_env(const struct ntm_resolvconf_env *env,
			      struct ntm_resolvconf_status *st)
{
	int r;

	memset(st, 0, sizeof(*st));
	r = ntm_resolvconf_detect_owner(env, &st->owner);
	if (!r)
		r = backup_exists(env->backup_path, &st->backup_exists);
	if (r < 0)
		return r;
	if (st->owner == NTM_RESOLVCONF_OWNER_NTM)
		st->state = st->backup_exists ? NTM_RESOLVCONF_ENABLED : NTM_RESOLVCONF_BACKUP_LOST;
	else
		st->state = st->backup_exists ? NTM_RESOLVCONF_OVERWRITTEN : NTM_RESOLVCONF_DISABLED;
	return 0;
}

int ntm_resolvconf_status(const char *path, const char *backup_path,
			  struct ntm_resolvconf_status *st)
{
	struct ntm_resolvconf_env env = { .path = path, .backup_path = backup_path };

	return ntm_resolvconf_status_env(&env, st);
}

const char *ntm_resolvconf_state_name(enum ntm_resolvconf_state state)
{
	switch (state) {
	case NTM_RESOLVCONF_DISABLED: return "disabled";
	case NTM_RESOLVCONF_ENABLED: return "enabled";
	case NTM_RESOLVCONF_OVERWRITTEN: return "overwritten";
	case NTM_RESOLVCONF_BACKUP_LOST: return "backup-lost";
	}
	return "?";
}
