/* namemap_file.c - the readers' side of the names map file (see
 * namemap.h): where it lies, and mapping it read-only after the checks
 * both readers (nss_ntm and ntm-resolverd) rely on. Libc only: compiled
 * into nss_ntm too. Kept apart from namemap.c, which touches no file. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "namemap.h"

int ntm_namemap_path(const char *nss_file, char *out, size_t outlen)
{
	const char *slash = strrchr(nss_file, '/');
	size_t dl = slash ? (size_t)(slash - nss_file) : 0;

	if (!slash)
		return -EINVAL;
	if (dl + 1 + sizeof(NTM_NAMEMAP_FILE) > outlen)
		return -ENAMETOOLONG;
	memcpy(out, nss_file, dl);
	out[dl] = '/';
	memcpy(out + dl + 1, NTM_NAMEMAP_FILE, sizeof(NTM_NAMEMAP_FILE));
	return 0;
}

int ntm_namemap_dir_ok(const char *path)
{
	char dir[4096];
	size_t len = strlen(path);
	struct stat st;
	char *slash;

	if (path[0] != '/' || len >= sizeof(dir))
		return -EPERM;
	memcpy(dir, path, len + 1);
	slash = strrchr(dir, '/');
	slash[slash == dir] = '\0'; /* "/x" -> "/" */
	if (stat(dir, &st) < 0)
		return -errno;
	if (!S_ISDIR(st.st_mode) || (st.st_mode & (S_IWGRP | S_IWOTH)))
		return -EPERM;
	return 0;
}

int ntm_namemap_map(const char *path, struct ntm_namemap *m, dev_t *dev, ino_t *ino)
{
	size_t max = ntm_namemap_file_size(NTM_NAMEMAP_SLOTS_MAX);
	struct stat st;
	void *p;
	int fd, ret;

	memset(m, 0, sizeof(*m));
	ret = ntm_namemap_dir_ok(path);
	if (ret < 0)
		return ret;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		ret = -errno;
	else if (!S_ISREG(st.st_mode) || (st.st_mode & (S_IWGRP | S_IWOTH)))
		ret = -EPERM;
	else if (st.st_size < (off_t)sizeof(struct ntm_namemap_hdr) || (uint64_t)st.st_size > max)
		ret = -EINVAL;
	if (ret == 0) {
		p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
		if (p == MAP_FAILED) {
			ret = -errno;
		} else if (ntm_namemap_attach(m, p, (size_t)st.st_size) < 0) {
			munmap(p, (size_t)st.st_size);
			memset(m, 0, sizeof(*m));
			ret = -EINVAL;
		} else {
			*dev = st.st_dev;
			*ino = st.st_ino;
		}
	}
	close(fd);
	return ret;
}

void ntm_namemap_unmap(struct ntm_namemap *m)
{
	if (m->rbase)
		munmap((void *)m->rbase, m->size);
	memset(m, 0, sizeof(*m));
}
