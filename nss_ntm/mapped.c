/* mapped.c - nss_ntm's view of ntm-tund's names map (lib/namemap.h,
 * doc/namemap.md): mapped read-only once per process, looked up with no
 * system call, mapped again only after a miss shows another file under the
 * name (the daemon restarted).
 *
 * A mapping is never unmapped: another thread may be reading it, and the
 * module has no way to know when it stops (no locks on the hot path, no
 * thread-local state). A process makes at most NTM_NSS_MAPS_MAX of them in
 * its life (one per daemon start it lives through); after that, lookups the
 * last map cannot answer use the socket. Pages of a replaced file stay as
 * long as the process does: the entries it had, ~300 bytes each.
 *
 * Trust: as the nss file (zones.c): a regular file not writable by group or
 * others, in a directory not writable by them; the header is checked
 * against the file's size (lib/namemap.c) before any entry is read. A file
 * cut shorter in place while mapped would fault (SIGBUS): only its owner
 * can do that, and ntm-tund never does (a new map takes the name by
 * rename). */
#include "nss_ntm.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

struct mapping {
	struct ntm_namemap m;
	dev_t dev;
	ino_t ino;
};

static char map_path[NTM_NSS_SOCKET_SIZE * 4];   /* written once, under pthread_once */
static struct mapping maps[NTM_NSS_MAPS_MAX];
static unsigned n_maps;                          /* under lock */
static _Atomic(struct mapping *) cur;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

/* Maps path into *out. 0 or -errno. */
static int map_file(const char *path, struct mapping *out)
{
	size_t max = ntm_namemap_file_size(NTM_NAMEMAP_SLOTS_MAX);
	struct stat st;
	void *p;
	int fd, ret = 0;

	if (ntm_nss_check_dir(path) < 0)
		return -EPERM;
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
		if (p == MAP_FAILED)
			ret = -errno;
		else if (ntm_namemap_attach(&out->m, p, (size_t)st.st_size) < 0) {
			munmap(p, (size_t)st.st_size);
			ret = -EINVAL;
		} else {
			out->dev = st.st_dev;
			out->ino = st.st_ino;
		}
	}
	close(fd);
	return ret;
}

void ntm_nss_map_init(const char *nss_file)
{
	const char *slash = strrchr(nss_file, '/');
	size_t dl = slash ? (size_t)(slash - nss_file) : 0;

	if (!slash || dl + 1 + sizeof(NTM_NAMEMAP_FILE) > sizeof(map_path))
		return; /* no map: every lookup asks the daemon */
	memcpy(map_path, nss_file, dl);
	map_path[dl] = '/';
	memcpy(map_path + dl + 1, NTM_NAMEMAP_FILE, sizeof(NTM_NAMEMAP_FILE));
	ntm_nss_map_refresh();
}

const struct ntm_namemap *ntm_nss_map(void)
{
	struct mapping *m = atomic_load_explicit(&cur, memory_order_acquire);

	return m ? &m->m : NULL;
}

void ntm_nss_map_refresh(void)
{
	struct mapping *m;
	struct stat st;

	if (!map_path[0] || pthread_mutex_trylock(&lock) != 0)
		return; /* another thread is at it (or a fork caught one mid-way) */
	m = atomic_load_explicit(&cur, memory_order_relaxed);
	if (n_maps < NTM_NSS_MAPS_MAX && stat(map_path, &st) == 0 &&
	    !(m && m->dev == st.st_dev && m->ino == st.st_ino) &&
	    map_file(map_path, &maps[n_maps]) == 0)
		atomic_store_explicit(&cur, &maps[n_maps++], memory_order_release);
	pthread_mutex_unlock(&lock);
}
