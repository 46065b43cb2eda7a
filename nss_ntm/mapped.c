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

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/stat.h>

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

void ntm_nss_map_init(const char *nss_file)
{
	if (ntm_namemap_path(nss_file, map_path, sizeof(map_path)) < 0)
		return; /* no map: every lookup asks the daemon */
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
	    ntm_namemap_map(map_path, &maps[n_maps].m, &maps[n_maps].dev, &maps[n_maps].ino) == 0)
		atomic_store_explicit(&cur, &maps[n_maps++], memory_order_release);
	pthread_mutex_unlock(&lock);
}
