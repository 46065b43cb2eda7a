/* keyfile.c - private key files; see keyfile.h. */
#include "keyfile.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto.h"
#include "util.h"

static void say(char *msg, size_t msglen, const char *fmt, const char *path, unsigned mode)
{
	if (msg && msglen)
		snprintf(msg, msglen, fmt, path, mode);
}

int ntm_keyfile_read(const char *path, uint8_t priv[32], char *msg, size_t msglen)
{
	char buf[128];
	struct stat st;
	ssize_t n;
	int fd, ret;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		ret = -errno;
		if (msg && msglen)
			snprintf(msg, msglen, "%s: cannot open: %s", path, strerror(-ret));
		return ret;
	}
	if (fstat(fd, &st) < 0) {
		ret = -errno;
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		say(msg, msglen, "%s: not a regular file", path, 0);
		ret = -EBADF;
		goto out;
	}
	if (st.st_mode & 077) {
		say(msg, msglen, "%s: private key is accessible by group or others (mode %04o); "
			"refusing it: run chmod 600 on it", path, st.st_mode & 07777);
		ret = -EPERM;
		goto out;
	}
	if (st.st_uid != geteuid() && st.st_uid != 0) {
		say(msg, msglen, "%s: private key is owned by uid %u, not by this user or root",
		    path, (unsigned)st.st_uid);
		ret = -EPERM;
		goto out;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	if (n < 0) {
		ret = -errno;
		goto out;
	}
	buf[n] = '\0';
	if (n > 0 && buf[n - 1] == '\n')
		buf[--n] = '\0';
	ret = ntm_key_from_base64(priv, buf);
	if (ret < 0)
		say(msg, msglen, "%s: not a base64 X25519 private key (expected one line of 44 "
			"characters, as written by 'ntmctl genkey')", path, 0);
out:
	ntm_wipe(buf, sizeof(buf));
	close(fd);
	return ret;
}

int ntm_keyfile_create(const char *path, uint8_t priv[32])
{
	char tmp[PATH_MAX], line[NTM_KEY_B64_LEN + 2];
	uint8_t pub[32];
	int fd, ret;

	if (access(path, F_OK) == 0)
		return -EEXIST;
	if (snprintf(tmp, sizeof(tmp), "%s.tmpXXXXXX", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	ret = ntm_x25519_keygen(priv, pub);
	if (ret < 0)
		return ret;
	fd = mkostemp(tmp, O_CLOEXEC); /* mode 0600 */
	if (fd < 0)
		return -errno;
	ntm_key_to_base64(line, priv);
	strcat(line, "\n");
	ret = 0;
	if (fchmod(fd, 0600) < 0 || write(fd, line, strlen(line)) != (ssize_t)strlen(line) ||
	    fsync(fd) < 0)
		ret = errno ? -errno : -EIO;
	ntm_wipe(line, sizeof(line));
	if (close(fd) < 0 && ret == 0)
		ret = -errno;
	if (ret == 0 && link(tmp, path) < 0) /* link, not rename: never replace a key */
		ret = -errno;
	unlink(tmp);
	if (ret < 0)
		ntm_wipe(priv, 32);
	return ret;
}

int ntm_keyfile_load_or_create(const char *path, uint8_t priv[32], int *created,
			       char *msg, size_t msglen)
{
	int ret = ntm_keyfile_read(path, priv, msg, msglen);

	*created = 0;
	if (ret != -ENOENT)
		return ret;
	ret = ntm_keyfile_create(path, priv);
	if (ret == -EEXIST) /* created meanwhile by someone else */
		return ntm_keyfile_read(path, priv, msg, msglen);
	if (ret < 0) {
		if (msg && msglen)
			snprintf(msg, msglen, "%s: cannot create key: %s", path, strerror(-ret));
		return ret;
	}
	*created = 1;
	return 0;
}

int ntm_mkdir_parent(const char *path)
{
	char dir[PATH_MAX];
	size_t len = strlen(path);

	if (len >= sizeof(dir))
		return -ENAMETOOLONG;
	memcpy(dir, path, len + 1);
	char *slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = '\0';
	for (char *p = dir + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(dir, 0755) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}
