/* fastpeer.c - the workers' immutable peer table and its reclamation
 * (fastpeer.h). Lookups are open addressing over entry numbers; the grace
 * scheme is quiescent-state based: a table retired at epoch E is freed once
 * every reader is offline or went online at E or later. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fastpeer.h"
#include "util.h"

static uint32_t mix(uint32_t x)
{
	x ^= x >> 16;
	x *= 0x7feb352dU;
	x ^= x >> 15;
	x *= 0x846ca68bU;
	x ^= x >> 16;
	return x;
}

static uint32_t hash_bytes(const uint8_t *p, size_t n)
{
	uint32_t h = 2166136261U;

	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 16777619U;
	return mix(h);
}

static void h_put(uint32_t *h, unsigned mask, uint32_t key, uint32_t val)
{
	for (uint32_t i = key & mask;; i = (i + 1) & mask) {
		if (!h[i]) {
			h[i] = val;
			return;
		}
	}
}

void fp_table_free(struct fp_table *t)
{
	if (!t)
		return;
	free(t->e);
	free(t->act);
	free(t->h4);
	free(t->h6);
	free(t->hidx);
	free(t->owned);
	free(t->dropped);
	free(t);
}

static int ptr_cmp(const void *a, const void *b)
{
	uintptr_t x = (uintptr_t)*(void *const *)a, y = (uintptr_t)*(void *const *)b;

	return x < y ? -1 : x > y;
}

struct fp_table *fp_table_new(const struct fp_entry *e, unsigned n,
			      struct ntm_session_mt *const *owned, unsigned nowned)
{
	struct fp_table *t = calloc(1, sizeof(*t));
	unsigned size = 4;
	size_t keys = 2 * (size_t)n + 1; /* addresses, and each session's indices */

	if (!t)
		return NULL;
	for (unsigned i = 0; i < n; i++)
		for (unsigned k = 0; k < 2; k++)
			if (e[i].rx[k])
				keys += 1 + e[i].rx[k]->nlanes_local;
	while (size < 2 * keys) /* at most half full */
		size *= 2;
	t->n = n;
	t->hmask = size - 1;
	t->e = calloc(n ? n : 1, sizeof(*t->e));
	t->act = calloc(n ? n : 1, sizeof(*t->act));
	t->h4 = calloc(size, sizeof(uint32_t));
	t->h6 = calloc(size, sizeof(uint32_t));
	t->hidx = calloc(size, sizeof(uint32_t));
	t->owned = calloc(nowned ? nowned : 1, sizeof(*t->owned));
	if (!t->e || !t->act || !t->h4 || !t->h6 || !t->hidx || !t->owned) {
		fp_table_free(t);
		return NULL;
	}
	if (nowned)
		memcpy(t->owned, owned, nowned * sizeof(*owned));
	t->nowned = nowned;
	qsort(t->owned, nowned, sizeof(*t->owned), ptr_cmp);
	for (unsigned i = 0; i < n; i++) {
		t->e[i] = e[i];
		t->e[i].act = &t->act[i];
		if (e[i].has4)
			h_put(t->h4, t->hmask, hash_bytes(e[i].vip4, 4), i + 1);
		if (e[i].has6)
			h_put(t->h6, t->hmask, hash_bytes(e[i].vip6, 16), i + 1);
		for (unsigned k = 0; k < 2; k++) {
			const struct ntm_session_mt *m = e[i].rx[k];
			if (!e[i].rx_index[k] || !m)
				continue;
			h_put(t->hidx, t->hmask, mix(e[i].rx_index[k]), i + 1);
			for (unsigned l = 0; l < m->nlanes_local; l++)
				if (m->lane_local[l] != e[i].rx_index[k])
					h_put(t->hidx, t->hmask, mix(m->lane_local[l]), i + 1);
		}
	}
	return t;
}

const struct fp_entry *fp_by_vip(const struct fp_table *t, int family, const uint8_t *addr)
{
	bool v4 = family == AF_INET;
	const uint32_t *h = v4 ? t->h4 : t->h6;
	size_t len = v4 ? 4 : 16;

	for (uint32_t i = hash_bytes(addr, len) & t->hmask; h[i]; i = (i + 1) & t->hmask) {
		const struct fp_entry *e = &t->e[h[i] - 1];
		if (memcmp(v4 ? e->vip4 : e->vip6, addr, len) == 0)
			return e;
	}
	return NULL;
}

const struct fp_entry *fp_by_index(const struct fp_table *t, uint32_t idx,
				   struct ntm_session_mt **mt)
{
	if (!idx)
		return NULL;
	for (uint32_t i = mix(idx) & t->hmask; t->hidx[i]; i = (i + 1) & t->hmask) {
		const struct fp_entry *e = &t->e[t->hidx[i] - 1];
		for (unsigned k = 0; k < 2; k++) {
			if (e->rx[k] && (e->rx_index[k] == idx ||
					 ntm_session_mt_has_index(e->rx[k], idx))) {
				*mt = e->rx[k];
				return e;
			}
		}
	}
	return NULL;
}

bool fp_owns(const struct fp_table *t, const struct ntm_session_mt *m)
{
	return t && bsearch(&m, t->owned, t->nowned, sizeof(*t->owned), ptr_cmp) != NULL;
}

void fp_domain_init(struct fp_domain *d, unsigned nthreads)
{
	memset(d, 0, sizeof(*d));
	d->nthreads = nthreads > FP_MAX_THREADS ? FP_MAX_THREADS : nthreads;
	atomic_init(&d->cur, NULL);
	atomic_init(&d->epoch, 1);
	for (unsigned i = 0; i < FP_MAX_THREADS; i++)
		atomic_init(&d->seen[i], FP_OFFLINE);
}

/* What old owns that t does not: freed with old. */
static int collect_dropped(struct fp_table *old, const struct fp_table *t)
{
	old->dropped = calloc(old->nowned ? old->nowned : 1, sizeof(*old->dropped));
	if (!old->dropped)
		return -ENOMEM;
	for (unsigned i = 0; i < old->nowned; i++)
		if (!fp_owns(t, old->owned[i]))
			old->dropped[old->ndropped++] = old->owned[i];
	return 0;
}

void fp_publish(struct fp_domain *d, struct fp_table *t)
{
	struct fp_table *old = atomic_exchange(&d->cur, t);

	/* readers that go online from now on see t */
	uint64_t e = atomic_fetch_add(&d->epoch, 1) + 1;
	if (!old)
		return;
	if (collect_dropped(old, t) < 0) {
		/* no memory to say what to free: keep the sessions (a leak,
		 * never a use after free) */
		old->ndropped = 0;
	}
	old->retire_epoch = e;
	old->next_retired = d->retired;
	d->retired = old;
	d->nretired++;
}

/* The oldest epoch a reader may still hold a table from (FP_OFFLINE: none). */
static uint64_t min_seen(struct fp_domain *d)
{
	uint64_t m = FP_OFFLINE;

	for (unsigned i = 0; i < d->nthreads; i++) {
		uint64_t s = atomic_load(&d->seen[i]);
		if (s < m)
			m = s;
	}
	return m;
}

static void free_retired(struct fp_table *t)
{
	for (unsigned i = 0; i < t->ndropped; i++)
		ntm_session_mt_free(t->dropped[i]);
	fp_table_free(t);
}

unsigned fp_reclaim(struct fp_domain *d)
{
	uint64_t m = min_seen(d);
	struct fp_table **pp = &d->retired;

	/* a reader online since epoch s may hold any table retired after s */
	while (*pp) {
		struct fp_table *t = *pp;
		if (t->retire_epoch <= m) {
			*pp = t->next_retired;
			free_retired(t);
			d->nretired--;
		} else {
			pp = &t->next_retired;
		}
	}
	return d->nretired;
}

void fp_domain_free(struct fp_domain *d)
{
	fp_publish(d, NULL);
	for (unsigned i = 0; i < FP_MAX_THREADS; i++)
		atomic_store(&d->seen[i], FP_OFFLINE);
	fp_reclaim(d);
}

const struct fp_table *fp_online(struct fp_domain *d, unsigned thr)
{
	atomic_store(&d->seen[thr], atomic_load(&d->epoch));
	return atomic_load(&d->cur);
}

void fp_offline(struct fp_domain *d, unsigned thr)
{
	atomic_store(&d->seen[thr], FP_OFFLINE);
}
