/* namemap.c - ntm-tund's side of the names map (lib/namemap.h, format and
 * protocol in doc/namemap.md): the file NSS_DIR/names.map, beside the nss
 * file, that nss_ntm reads live names from without asking us.
 *
 * Lifecycle. At start (before the sandbox: it needs ftruncate), the map of
 * a previous ntm-tund at that path is marked CLOSED, a new one is built
 * under a temporary name and renamed into place; we keep it mapped and
 * never resize it. Each peer sweep (PEER_SWEEP_MS) publishes this node and
 * every peer with a usable session and removes every other entry, and
 * renews the expiries (now + NTM_NAMEMAP_TTL_MS, never past the session's
 * own end). At a clean exit the map is marked CLOSED and unlinked.
 *
 * So an entry outlives its tunnel by at most one sweep while we run, and by
 * at most NTM_NAMEMAP_TTL_MS when we stop, hang or die. Without a map (it
 * could not be made) everything still works through the control socket. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto.h"
#include "log.h"
#include "namemap.h"
#include "peer.h"
#include "tund.h"

struct namemap_w {
	struct ntm_namemap m;
	void *base;
	size_t size;
	char path[4200];
	uint32_t pass;
	uint32_t seen[NTM_NAMEMAP_SLOTS];  /* the sync pass that last published each slot */
};

/* NSS_DIR/names.map, NSS_DIR being the nss file's directory. */
static int map_path(const struct tund *t, char *out, size_t cap)
{
	const char *slash = strrchr(t->cfg.nss_file, '/');
	int dl = slash ? (int)(slash - t->cfg.nss_file) : 1;
	int n = snprintf(out, cap, "%.*s/%s", dl, slash ? t->cfg.nss_file : ".",
			 NTM_NAMEMAP_FILE);

	return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : 0;
}

/* A previous daemon's map at path (killed: it could not say so itself):
 * CLOSED, so processes still holding it stop answering from it now. */
static void close_previous(const char *path)
{
	struct ntm_namemap old;
	struct stat st;
	void *p;
	int fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);

	if (fd < 0)
		return;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
		p = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (p != MAP_FAILED) {
			if (ntm_namemap_attach(&old, p, (size_t)st.st_size) == 0) {
				old.base = p;
				ntm_namemap_close(&old);
			}
			munmap(p, (size_t)st.st_size);
		}
	}
	close(fd);
}

void namemap_open(struct tund *t)
{
	struct namemap_w *w = calloc(1, sizeof(*w));
	char tmp[4300];
	uint64_t seed = 0;
	int fd = -1, err = 0;

	if (!w || map_path(t, w->path, sizeof(w->path)) < 0) {
		free(w);
		log_warn("%s: no names map (path too long or out of memory): every lookup asks "
			 "ntm-tund", t->cfg.nss_file);
		return;
	}
	w->size = ntm_namemap_file_size(NTM_NAMEMAP_SLOTS);
	snprintf(tmp, sizeof(tmp), "%s.tmp", w->path);
	close_previous(w->path);
	(void)ntm_random(&seed, sizeof(seed));
	unlink(tmp);
	fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0 || fchmod(fd, 0644) < 0 || ftruncate(fd, (off_t)w->size) < 0)
		err = errno;
	if (!err) {
		w->base = mmap(NULL, w->size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (w->base == MAP_FAILED)
			err = errno;
	}
	if (!err) {
		ntm_namemap_format(&w->m, w->base, NTM_NAMEMAP_SLOTS, seed, OVERLAY_TTL);
		if (rename(tmp, w->path) < 0)
			err = errno;
	}
	if (fd >= 0)
		close(fd);
	if (err) {
		if (w->base && w->base != MAP_FAILED)
			munmap(w->base, w->size);
		unlink(tmp);
		log_warn("%s: cannot make the names map (%s): every lookup asks ntm-tund",
			 w->path, strerror(err));
		free(w);
		return;
	}
	t->nmap = w;
}

static void rec_fill(struct ntm_namemap_rec *r, const char *name, const uint8_t *v4,
		     const uint8_t *v6)
{
	size_t len = strnlen(name, sizeof(r->name) - 1);

	memset(r, 0, sizeof(*r));
	for (size_t i = 0; i < len; i++)
		r->name[i] = name[i] >= 'A' && name[i] <= 'Z' ? (char)(name[i] - 'A' + 'a') : name[i];
	r->name_len = len;
	r->has4 = r->has6 = true;
	memcpy(r->v4, v4, 4);
	memcpy(r->v6, v6, 16);
}

static void publish(struct tund *t, struct namemap_w *w, const struct ntm_namemap_rec *r,
		    uint64_t expires)
{
	int slot = ntm_namemap_put(&w->m, r, expires);

	if (slot >= 0)
		w->seen[slot] = w->pass;
	else
		t->stats.namemap_full++;
}

void namemap_sync(struct tund *t)
{
	struct namemap_w *w = t->nmap;
	uint64_t now = ntm_loop_now_ms(), exp = now + NTM_NAMEMAP_TTL_MS;
	struct ntm_namemap_rec r;
	size_t pos = 0;
	struct peer *p;

	if (!w)
		return;
	if (++w->pass == 0)
		w->pass = 1; /* 0 is "never" */
	if (t->configured && t->fqdn[0]) {
		rec_fill(&r, t->fqdn, t->vip4, t->vip6);
		publish(t, w, &r, exp);
	}
	while ((p = ntm_idmap_next(&t->peers_all, &pos, NULL))) {
		uint64_t end;

		/* (a peer this node's policy drops is not worth naming) */
		if (!p->resolved || !p->name[0] || !peer_can_send(p) || !p->policy_ok)
			continue;
		end = p->cur_ms + REJECT_AFTER_TIME_MS; /* the session's own end */
		rec_fill(&r, p->name, p->vip4, p->vip6);
		publish(t, w, &r, end < exp ? end : exp);
	}
	for (uint32_t s = 0; s < NTM_NAMEMAP_SLOTS; s++)
		if (w->seen[s] != w->pass && ntm_namemap_used(&w->m, s))
			ntm_namemap_del(&w->m, s);
}

void namemap_close(struct tund *t)
{
	struct namemap_w *w = t->nmap;

	if (!w)
		return;
	ntm_namemap_close(&w->m);
	unlink(w->path);
	munmap(w->base, w->size);
	free(w);
	t->nmap = NULL;
}
