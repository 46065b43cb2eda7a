/* resolvconf_files.c - reading and durably writing the files behind
 * resolv.conf handling: a bounded read, a read-and-parse with errors that
 * name the path, temporary file + fsync + rename (with the in-place
 * fallback for bind mounts), symlink replacement, directory fsync. Knows
 * nothing about what the files mean. */
#include "resolvconf.h"
#include "resolvconf_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Reads at most max bytes of path into a NUL-terminated malloc'd buffer;
 * -EFBIG if longer. */
int ntm_resolv_slurp(const char *path, size_t max, char **out, size_t *outlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY), ret = 0;
	char *buf = NULL;
	size_t len = 0;

	if (fd < 0)
		return -errno;
	buf = malloc(max + 2);
	if (!buf) {
		ret = -ENOMEM;
		goto out_close;
	}
	for (;;) {
		ssize_t k = read(fd, buf + len, max + 1 - len);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			ret = -errno;
			goto out_close;
		}
		if (k == 0)
			break;
		len += (size_t)k;
		if (len > max) {
			ret = -EFBIG;
			goto out_close;
		}
	}
	buf[len] = '\0';
	*out = buf;
	*outlen = len;
	buf = NULL;
out_close:
	free(buf);
	close(fd);
	return ret;
}

int ntm_resolv_read_file(const char *path, struct ntm_resolv *rc, char *err, size_t errlen)
{
	struct ntm_resolv_error e;
	char *buf = NULL;
	size_t len = 0;
	int r = ntm_resolv_slurp(path, NTM_RESOLV_MAX_FILE, &buf, &len);

	if (r == -EFBIG) {
		errf(err, errlen, "%s: file is larger than %d bytes", path, NTM_RESOLV_MAX_FILE);
		return r;
	}
	if (r < 0) {
		errf(err, errlen, "%s: %s", path, strerror(-r));
		return r;
	}
	r = ntm_resolv_parse(buf, len, rc, &e);
	if (r < 0 && e.line)
		errf(err, errlen, "%s:%u: %s", path, e.line, e.msg);
	else if (r < 0)
		errf(err, errlen, "%s: %s", path, e.msg);
	free(buf);
	return r;
}

static int write_full(int fd, const char *p, size_t len, off_t at)
{
	while (len > 0) {
		ssize_t k = pwrite(fd, p, len, at);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -errno;
		p += k;
		len -= (size_t)k;
		at += k;
	}
	return 0;
}

/* fsync of the directory holding path, so a rename or unlink is durable. */
int ntm_resolv_fsync_dir_of(const char *path)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	int fd, r = 0;

	if (!slash)
		strcpy(dir, ".");
	else if (slash == path)
		strcpy(dir, "/");
	else if ((size_t)(slash - path) < sizeof(dir))
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	else
		return -ENAMETOOLONG;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0 && errno != EINVAL)
		r = -errno;
	close(fd);
	return r;
}

/* Creates "<path>.ntm-XXXXXX" with data, mode, fsynced. */
int ntm_resolv_write_temp(const char *path, const char *data, size_t len, mode_t mode,
			  char tmp[PATH_MAX])
{
	int fd, r;

	if (snprintf(tmp, PATH_MAX, "%s.ntm-XXXXXX", path) >= PATH_MAX)
		return -ENAMETOOLONG;
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return -errno;
	r = write_full(fd, data, len, 0);
	if (!r && fchmod(fd, mode) < 0)
		r = -errno;
	if (!r && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && !r)
		r = -errno;
	if (r)
		unlink(tmp);
	return r;
}

/* The bind-mount fallback: rewrite the file where it is. Written first and
 * truncated after, so a reader never sees an empty file. Not atomic. */
static int write_in_place(const char *path, const char *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY), r;

	if (fd < 0)
		return -errno;
	r = write_full(fd, data, len, 0);
	if (!r && ftruncate(fd, (off_t)len) < 0)
		r = -errno;
	if (!r && fsync(fd) < 0)
		r = -errno;
	close(fd);
	return r;
}

int ntm_resolv_write_atomic(const char *path, const char *data, size_t len, mode_t mode,
			    unsigned flags)
{
	char tmp[PATH_MAX];
	int r = ntm_resolv_write_temp(path, data, len, mode, tmp);

	if (r < 0)
		return r;
	if (flags & NTM_RESOLVCONF_TEST_RENAME_EXDEV)
		r = -EXDEV;
	else if (rename(tmp, path) < 0)
		r = -errno;
	if (r == -EXDEV || r == -EBUSY) {
		unlink(tmp);
		return write_in_place(path, data, len);
	}
	if (r < 0) {
		unlink(tmp);
		return r;
	}
	return ntm_resolv_fsync_dir_of(path);
}

/* Replaces path by a symlink to target, atomically. */
int ntm_resolv_symlink_atomic(const char *target, const char *path)
{
	char tmp[PATH_MAX];
	int fd, r;

	for (int tries = 0; tries < 16; tries++) {
		if (snprintf(tmp, sizeof(tmp), "%s.ntm-XXXXXX", path) >= (int)sizeof(tmp))
			return -ENAMETOOLONG;
		fd = mkostemp(tmp, O_CLOEXEC);   /* reserve a fresh name */
		if (fd < 0)
			return -errno;
		close(fd);
		unlink(tmp);
		if (symlink(target, tmp) == 0)
			break;
		if (errno != EEXIST)
			return -errno;
		tmp[0] = '\0';
	}
	if (!tmp[0])
		return -EEXIST;
	if (rename(tmp, path) < 0) {
		r = -errno;
		unlink(tmp);
		return r;
	}
	return ntm_resolv_fsync_dir_of(path);
}
