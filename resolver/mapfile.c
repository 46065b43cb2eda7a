/* mapfile.c - see mapfile.h.
 *
 * Trust: as nss_ntm's (nss_ntm/mapped.c): a regular file not writable by
 * group or others, in a directory not writable by them, no symlink, and a
 * header that ntm_namemap_attach checks against the file's real size
 * before any entry is read; every later access stays inside that size.
 *
 * Remapping. Unlike nss_ntm, the stub is one thread: a mapping is
 * unmapped as soon as it is replaced or found bad. After a lookup the map
 * did not answer (miss, stale, torn, no map), the path is stat'ed (at most
 * every MAPFILE_RECHECK_MS): another inode, or the same one at another
 * size, is mapped again; no file, or one that fails the checks, leaves
 * the stub without a map (the socket answers everything).
 *
 * Faults. A file cut shorter in place while mapped makes a read past its
 * new end raise SIGBUS. Lookups run with a catcher armed (sigsetjmp, and
 * a SIGBUS handler with SA_NODEFER that siglongjmps back while armed);
 * the mapping is dropped and the question goes to the socket. A SIGBUS
 * anywhere else gets the default action, as without the catcher. */
#include "mapfile.h"

#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "log.h"
#include "mapq.h"
#include "namemap.h"

struct mapfile {
	char path[4200];
	dev_t dev;
	ino_t ino;
	struct ntm_namemap m;
	uint64_t checked_ms;
	bool checked;
};

static sigjmp_buf bus_jmp;
static volatile sig_atomic_t bus_armed;

static void on_bus(int sig, siginfo_t *si, void *uc)
{
	(void)si;
	(void)uc;
	if (bus_armed) {
		bus_armed = 0;
		siglongjmp(bus_jmp, 1);
	}
	/* not ours: the default action, when the faulting access runs again */
	signal(sig, SIG_DFL);
}

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void unmap(struct mapfile *f)
{
	ntm_namemap_unmap(&f->m);
}

/* Maps f->path (replacing any mapping). 0, or -errno with no mapping. */
static int map(struct mapfile *f)
{
	unmap(f);
	return ntm_namemap_map(f->path, &f->m, &f->dev, &f->ino);
}

/* After a lookup the map did not answer: another file at the path, or
 * this one resized, is mapped anew; no file, no map. */
static void recheck(struct mapfile *f, uint64_t now)
{
	struct stat st;

	if (f->checked && now - f->checked_ms < MAPFILE_RECHECK_MS)
		return;
	f->checked = true;
	f->checked_ms = now;
	if (stat(f->path, &st) < 0) {
		unmap(f);
		return;
	}
	if (f->m.rbase && st.st_dev == f->dev && st.st_ino == f->ino &&
	    (uint64_t)st.st_size == f->m.size)
		return;
	int ret = map(f);
	if (ret < 0)
		log_debug("%s: not used (%s): overlay names go to ntm-tund", f->path, strerror(-ret));
}

struct mapfile *mapfile_new(const char *nss_file)
{
	struct mapfile *f = calloc(1, sizeof(*f));
	struct sigaction sa;

	if (!f || ntm_namemap_path(nss_file, f->path, sizeof(f->path)) < 0) {
		free(f);
		return NULL;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_bus;
	sa.sa_flags = SA_SIGINFO | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGBUS, &sa, NULL) < 0)
		log_warn("SIGBUS catcher: %s", strerror(errno));
	(void)map(f); /* not there yet: looked for again after a miss */
	f->checked = true;
	f->checked_ms = mono_ms();
	return f;
}

void mapfile_free(struct mapfile *f)
{
	if (!f)
		return;
	unmap(f);
	free(f);
}

bool mapfile_live(const struct mapfile *f)
{
	return f && f->m.rbase && ntm_namemap_live(&f->m);
}

/* mapq_answer with the SIGBUS catcher armed; -EFAULT when it fired. */
static int guarded(struct mapfile *f, const struct dnsq *q, enum dnsq_kind kind, uint64_t now,
		   uint8_t *resp, size_t cap, enum mapq_why *why)
{
	int n;

	if (sigsetjmp(bus_jmp, 0) != 0)
		return -EFAULT; /* nothing local is read after the jump */
	bus_armed = 1;
	n = mapq_answer(&f->m, q, kind, now, resp, cap, why);
	bus_armed = 0;
	return n;
}

int mapfile_answer(struct mapfile *f, const struct dnsq *q, enum dnsq_kind kind, uint8_t *resp,
		   size_t cap)
{
	enum mapq_why why = MAPQ_MISS;
	uint64_t now = mono_ms();
	int n = 0;

	if (!f)
		return 0;
	if (f->m.rbase) {
		n = guarded(f, q, kind, now, resp, cap, &why);
		if (n > 0)
			return n;
		if (n == -EFAULT) {
			log_warn("%s: cut short while mapped; mapped again when it is whole", f->path);
			unmap(f);
			f->checked = false; /* look again now */
			why = MAPQ_MISS;
		}
	}
	if (why == MAPQ_MISS || why == MAPQ_STALE || why == MAPQ_TORN)
		recheck(f, now);
	return 0;
}
