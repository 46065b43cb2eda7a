/* resolvconf_internal.h - what the lib/resolvconf_*.c files share with each
 * other and with nobody else; the public contracts are in resolvconf.h.
 *
 * One concern per file:
 *	resolvconf_parse.c       the parser, the address parser, the loop guard
 *	resolvconf_files.c       bounded reads, durable writes (temp + rename,
 *	                         in-place for bind mounts), symlink replacement
 *	resolvconf_owner.c       who manages the file (owner detection)
 *	resolvconf_render.c      the text of the file ntm writes
 *	resolvconf_install.c     enable/disable/status: backup, install, restore
 *	resolvconf_resolvectl.c  the resolvectl argv builders (split DNS)
 *
 * Same rules as resolvconf.h: nothing logs; -errno returns. */
#ifndef NTM_RESOLVCONF_INTERNAL_H
#define NTM_RESOLVCONF_INTERNAL_H

#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

#include "resolvconf.h"

/* The one-line explanation every function leaves in err: vsnprintf into
 * err when err and errlen are non-zero. */
static inline void __attribute__((format(printf, 3, 4)))
errf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* ---- resolvconf_parse.c ---- */

/* A host name: labels of [A-Za-z0-9_-] (1..63), 253 bytes without the
 * optional final dot; or "." alone. s need not be NUL-terminated. */
bool ntm_resolv_valid_name(const char *s, size_t n);

/* An IPv6 scope (or interface) name: 1..IF_NAMESIZE-1 printable bytes,
 * no blank and no '/'. */
bool ntm_resolv_valid_scope(const char *s);

/* ---- resolvconf_files.c ---- */

/* Reads at most max bytes of path into a NUL-terminated malloc'd buffer
 * (*out, length *outlen, the caller frees); -EFBIG if longer, -errno. */
int ntm_resolv_slurp(const char *path, size_t max, char **out, size_t *outlen);

/* fsync of the directory holding path, so a rename or unlink is durable. */
int ntm_resolv_fsync_dir_of(const char *path);

/* Creates "<path>.ntm-XXXXXX" (name left in tmp) holding data with mode,
 * fsynced; on failure nothing is left behind. */
int ntm_resolv_write_temp(const char *path, const char *data, size_t len, mode_t mode,
			  char tmp[PATH_MAX]);

/* Replaces path by data: temporary file + rename + directory fsync; when
 * rename fails with EXDEV/EBUSY (a bind-mounted file) the file is
 * rewritten in place instead. flags: NTM_RESOLVCONF_TEST_RENAME_EXDEV. */
int ntm_resolv_write_atomic(const char *path, const char *data, size_t len, mode_t mode,
			    unsigned flags);

/* Replaces path by a symlink to target, atomically. */
int ntm_resolv_symlink_atomic(const char *target, const char *path);

/* ---- resolvconf_owner.c ---- */

/* Follows symlinks from path lexically (up to 8), without needing the final
 * target to exist; *hops is how many links were followed. -ELOOP past 8. */
int ntm_resolv_follow(const char *path, char final[PATH_MAX], int *hops);

/* ---- resolvconf_render.c ---- */

/* A bounded text buffer: full is set (and len kept) once a write would not
 * fit. */
struct ntm_resolv_sbuf {
	char *p;
	size_t len, cap;
	bool full;
};

/* Appends to b the file ntm writes (see ntm_resolvconf_enable_env):
 * marker naming backup_path, rc's kept lines (the effective search line
 * with zone added when zone is not NULL), "nameserver stub". -ENOSPC past
 * glibc's search-list limits, -E2BIG when b is too small; err says why. */
int ntm_resolv_render(const struct ntm_resolv *rc, const char *backup_path, const char *stub,
		      const char *zone, struct ntm_resolv_sbuf *b, char *err, size_t errlen);

#endif
