/* namemap.c - see namemap.h and doc/namemap.md. libc only, no allocation.
 *
 * The seqlock (one per entry, word 0): the writer makes seq odd, fences,
 * stores the words, and makes seq even again with release order; a reader
 * loads seq with acquire order, refuses an odd one, loads the words,
 * fences with acquire order and loads seq again: equal means no store of
 * the writer's fell between the two loads, so the words are one entry's.
 * Every word is one atomic access, so a racing copy is merely stale, never
 * undefined. The expiry word alone is renewed without the seqlock: either
 * value read is the same entry's. */
#include "namemap.h"

#include <errno.h>
#include <string.h>

size_t ntm_namemap_file_size(uint32_t slots)
{
	return sizeof(struct ntm_namemap_hdr) + (size_t)slots * sizeof(struct ntm_namemap_entry) +
	       2 * (size_t)slots * sizeof(uint32_t);
}

static const struct ntm_namemap_hdr *hdr(const struct ntm_namemap *m)
{
	return (const struct ntm_namemap_hdr *)(const void *)m->rbase;
}

static const struct ntm_namemap_entry *entry(const struct ntm_namemap *m, uint32_t slot)
{
	return (const struct ntm_namemap_entry *)(const void *)(m->rbase +
		sizeof(struct ntm_namemap_hdr)) + (slot & (m->slots - 1));
}

/* fam 4 or 6 */
static const _Atomic uint32_t *index_of(const struct ntm_namemap *m, int fam)
{
	const uint8_t *p = m->rbase + sizeof(struct ntm_namemap_hdr) +
			   (size_t)m->slots * sizeof(struct ntm_namemap_entry);

	if (fam == 6)
		p += (size_t)m->slots * sizeof(uint32_t);
	return (const _Atomic uint32_t *)(const void *)p;
}

int ntm_namemap_attach(struct ntm_namemap *m, const void *base, size_t len)
{
	struct ntm_namemap_hdr h;

	memset(m, 0, sizeof(*m));
	if (!base || len < sizeof(h))
		return -EINVAL;
	/* one copy: the checks and the geometry kept come from the same bytes */
	memcpy(&h, base, offsetof(struct ntm_namemap_hdr, state));
	if (h.magic != NTM_NAMEMAP_MAGIC || h.version != NTM_NAMEMAP_VERSION ||
	    h.hdr_size != sizeof(h) || h.entry_size != sizeof(struct ntm_namemap_entry))
		return -EINVAL;
	if (h.slots == 0 || h.slots > NTM_NAMEMAP_SLOTS_MAX || (h.slots & (h.slots - 1)) != 0 ||
	    h.probe == 0 || h.probe > NTM_NAMEMAP_PROBE || h.probe > h.slots)
		return -EINVAL;
	if (h.file_size != ntm_namemap_file_size(h.slots) || h.file_size != len)
		return -EINVAL;
	m->rbase = base;
	m->size = len;
	m->slots = h.slots;
	m->probe = h.probe;
	m->seed = h.seed;
	m->answer_ttl = h.answer_ttl;
	return 0;
}

bool ntm_namemap_live(const struct ntm_namemap *m)
{
	return m->rbase &&
	       atomic_load_explicit(&hdr(m)->state, memory_order_acquire) == NTM_NAMEMAP_LIVE;
}

/* ---- hashing: seeded, the same in every process ---- */

static uint64_t mix(uint64_t x)
{
	x ^= x >> 33;
	x *= UINT64_C(0xff51afd7ed558ccd);
	x ^= x >> 33;
	x *= UINT64_C(0xc4ceb9fe1a85ec53);
	return x ^ (x >> 33);
}

static char lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static uint64_t hash_name(uint64_t seed, const char *s, size_t len)
{
	uint64_t h = UINT64_C(0xcbf29ce484222325) ^ seed;

	for (size_t i = 0; i < len; i++)
		h = (h ^ (uint8_t)lower(s[i])) * UINT64_C(0x100000001b3);
	return mix(h);
}

static uint64_t hash_addr(uint64_t seed, const uint8_t *a, size_t len)
{
	uint64_t h = UINT64_C(0x84222325cbf29ce4) ^ seed;

	for (size_t i = 0; i < len; i++)
		h = (h ^ a[i]) * UINT64_C(0x100000001b3);
	return mix(h);
}

/* ---- words <-> record ---- */

static uint64_t meta_word(size_t len, bool has4, bool has6, uint64_t hash)
{
	return (uint64_t)len | (uint64_t)has4 << 16 | (uint64_t)has6 << 17 | (hash >> 32) << 32;
}

static size_t meta_len(uint64_t meta)
{
	return (size_t)(meta & 0xffff);
}

static void to_words(const struct ntm_namemap_rec *r, uint64_t hash, uint64_t expires,
		     uint64_t *w)
{
	memset(w, 0, NTM_NAMEMAP_WORDS * sizeof(*w));
	w[NTM_NAMEMAP_W_EXPIRES] = expires;
	w[NTM_NAMEMAP_W_META] = meta_word(r->name_len, r->has4, r->has6, hash);
	if (r->has4)
		memcpy(&w[NTM_NAMEMAP_W_V4], r->v4, 4);
	if (r->has6)
		memcpy(&w[NTM_NAMEMAP_W_V6], r->v6, 16);
	memcpy(&w[NTM_NAMEMAP_W_NAME], r->name, r->name_len);
}

/* A consistent copy of e's words (w[0] the even seq), or false. */
static bool snapshot(const struct ntm_namemap_entry *e, uint64_t *w)
{
	uint64_t s1 = atomic_load_explicit(&e->w[NTM_NAMEMAP_W_SEQ], memory_order_acquire);

	if (s1 & 1)
		return false;
	for (unsigned i = 1; i < NTM_NAMEMAP_WORDS; i++)
		w[i] = atomic_load_explicit(&e->w[i], memory_order_relaxed);
	atomic_thread_fence(memory_order_acquire);
	w[0] = s1;
	return atomic_load_explicit(&e->w[NTM_NAMEMAP_W_SEQ], memory_order_relaxed) == s1;
}

/* Words of a consistent snapshot into *r; false for an empty or malformed
 * entry (a NUL must end the name where its length says). */
static bool from_words(const uint64_t *w, struct ntm_namemap_rec *r)
{
	uint64_t meta = w[NTM_NAMEMAP_W_META];
	size_t len = meta_len(meta);

	if (len == 0 || len >= NTM_NAMEMAP_NAME_SIZE)
		return false;
	memcpy(r->name, &w[NTM_NAMEMAP_W_NAME], NTM_NAMEMAP_NAME_SIZE);
	if (memchr(r->name, '\0', len) || r->name[len] != '\0')
		return false;
	r->name_len = len;
	r->has4 = meta >> 16 & 1;
	r->has6 = meta >> 17 & 1;
	memcpy(r->v4, &w[NTM_NAMEMAP_W_V4], 4);
	memcpy(r->v6, &w[NTM_NAMEMAP_W_V6], 16);
	return true;
}

static enum ntm_namemap_res fresh(const struct ntm_namemap *m, uint64_t expires, uint64_t now)
{
	if (expires <= now || expires - now > NTM_NAMEMAP_HORIZON_MS || !ntm_namemap_live(m))
		return NTM_NAMEMAP_STALE;
	return NTM_NAMEMAP_HIT;
}

static bool same_name(const struct ntm_namemap_rec *r, const char *name, size_t len)
{
	if (r->name_len != len)
		return false;
	for (size_t i = 0; i < len; i++)
		if (r->name[i] != lower(name[i]))
			return false;
	return true;
}

enum ntm_namemap_res ntm_namemap_find_name(const struct ntm_namemap *m, const char *name,
					   size_t len, uint64_t now_ms,
					   struct ntm_namemap_rec *out)
{
	uint64_t h, w[NTM_NAMEMAP_WORDS];
	enum ntm_namemap_res res = NTM_NAMEMAP_MISS;

	if (!m->rbase || len == 0 || len >= NTM_NAMEMAP_NAME_SIZE)
		return NTM_NAMEMAP_MISS;
	h = hash_name(m->seed, name, len);
	for (uint32_t i = 0; i < m->probe; i++) {
		const struct ntm_namemap_entry *e = entry(m, (uint32_t)h + i);
		uint64_t meta = atomic_load_explicit(&e->w[NTM_NAMEMAP_W_META],
						     memory_order_relaxed);

		/* a cheap look first: most slots are empty or another name's */
		if (meta_len(meta) != len || meta >> 32 != h >> 32)
			continue;
		if (!snapshot(e, w) || !from_words(w, out)) {
			res = NTM_NAMEMAP_TORN;
			continue;
		}
		if (!same_name(out, name, len))
			continue;
		out->expires_ms = w[NTM_NAMEMAP_W_EXPIRES];
		return fresh(m, w[NTM_NAMEMAP_W_EXPIRES], now_ms);
	}
	return res;
}

enum ntm_namemap_res ntm_namemap_find_addr(const struct ntm_namemap *m, int family,
					   const uint8_t *addr, uint64_t now_ms,
					   struct ntm_namemap_rec *out)
{
	size_t alen = family == 4 ? 4 : 16;
	uint64_t h, w[NTM_NAMEMAP_WORDS];
	const _Atomic uint32_t *idx;
	enum ntm_namemap_res res = NTM_NAMEMAP_MISS;

	if (!m->rbase || (family != 4 && family != 6))
		return NTM_NAMEMAP_MISS;
	idx = index_of(m, family);
	h = hash_addr(m->seed, addr, alen);
	for (uint32_t i = 0; i < m->probe; i++) {
		uint32_t v = atomic_load_explicit(&idx[((uint32_t)h + i) & (m->slots - 1)],
						  memory_order_relaxed);

		if (v == 0 || v > m->slots)
			continue; /* empty, or garbage */
		if (!snapshot(entry(m, v - 1), w) || !from_words(w, out)) {
			res = NTM_NAMEMAP_TORN;
			continue;
		}
		/* the index only points: the entry itself must hold the address */
		if (family == 4 ? !out->has4 || memcmp(out->v4, addr, 4) != 0
				: !out->has6 || memcmp(out->v6, addr, 16) != 0)
			continue;
		out->expires_ms = w[NTM_NAMEMAP_W_EXPIRES];
		return fresh(m, w[NTM_NAMEMAP_W_EXPIRES], now_ms);
	}
	return res;
}

/* ---- the writer ---- */

static struct ntm_namemap_entry *wentry(struct ntm_namemap *m, uint32_t slot)
{
	return (struct ntm_namemap_entry *)(void *)(m->base + sizeof(struct ntm_namemap_hdr)) +
	       (slot & (m->slots - 1));
}

static _Atomic uint32_t *windex(struct ntm_namemap *m, int fam)
{
	return (_Atomic uint32_t *)(uintptr_t)index_of(m, fam);
}

void ntm_namemap_format(struct ntm_namemap *m, void *base, uint32_t slots, uint64_t seed,
			uint32_t answer_ttl)
{
	struct ntm_namemap_hdr *h = base;

	memset(h, 0, sizeof(*h));
	h->magic = NTM_NAMEMAP_MAGIC;
	h->version = NTM_NAMEMAP_VERSION;
	h->hdr_size = sizeof(*h);
	h->entry_size = sizeof(struct ntm_namemap_entry);
	h->slots = slots;
	h->probe = slots < NTM_NAMEMAP_PROBE ? slots : NTM_NAMEMAP_PROBE;
	h->answer_ttl = answer_ttl;
	h->file_size = ntm_namemap_file_size(slots);
	h->seed = seed;
	atomic_store_explicit(&h->state, NTM_NAMEMAP_LIVE, memory_order_release);
	(void)ntm_namemap_attach(m, base, h->file_size);
	m->base = base;
}

/* The writer's own view of slot (no race: it is the only writer). */
static uint64_t own(struct ntm_namemap *m, uint32_t slot, unsigned word)
{
	return atomic_load_explicit(&wentry(m, slot)->w[word], memory_order_relaxed);
}

static void write_words(struct ntm_namemap_entry *e, const uint64_t *w)
{
	uint64_t s = atomic_load_explicit(&e->w[NTM_NAMEMAP_W_SEQ], memory_order_relaxed);

	atomic_store_explicit(&e->w[NTM_NAMEMAP_W_SEQ], s + 1, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
	for (unsigned i = 1; i < NTM_NAMEMAP_WORDS; i++)
		atomic_store_explicit(&e->w[i], w[i], memory_order_relaxed);
	atomic_store_explicit(&e->w[NTM_NAMEMAP_W_SEQ], s + 2, memory_order_release);
}

/* Index words of family fam pointing at slot: cleared. */
static void unindex(struct ntm_namemap *m, int fam, const uint8_t *addr, uint32_t slot)
{
	_Atomic uint32_t *idx = windex(m, fam);
	uint64_t h = hash_addr(m->seed, addr, fam == 4 ? 4 : 16);

	for (uint32_t i = 0; i < m->probe; i++) {
		_Atomic uint32_t *x = &idx[((uint32_t)h + i) & (m->slots - 1)];
		if (atomic_load_explicit(x, memory_order_relaxed) == slot + 1)
			atomic_store_explicit(x, 0, memory_order_release);
	}
}

static void index_addr(struct ntm_namemap *m, int fam, const uint8_t *addr, uint32_t slot)
{
	_Atomic uint32_t *idx = windex(m, fam);
	uint64_t h = hash_addr(m->seed, addr, fam == 4 ? 4 : 16);
	_Atomic uint32_t *free_word = NULL;

	for (uint32_t i = 0; i < m->probe; i++) {
		_Atomic uint32_t *x = &idx[((uint32_t)h + i) & (m->slots - 1)];
		uint32_t v = atomic_load_explicit(x, memory_order_relaxed);

		if (v == slot + 1)
			return;
		if (v == 0 && !free_word)
			free_word = x;
	}
	if (free_word) /* else: reverse lookups of it ask the daemon */
		atomic_store_explicit(free_word, slot + 1, memory_order_release);
}

bool ntm_namemap_used(const struct ntm_namemap *m, uint32_t slot)
{
	return meta_len(atomic_load_explicit(&entry(m, slot)->w[NTM_NAMEMAP_W_META],
					     memory_order_relaxed)) != 0;
}

/* Takes slot's addresses out of both indexes. */
static void unindex_slot(struct ntm_namemap *m, uint32_t slot)
{
	uint64_t meta = own(m, slot, NTM_NAMEMAP_W_META), w[3];

	w[0] = own(m, slot, NTM_NAMEMAP_W_V4);
	w[1] = own(m, slot, NTM_NAMEMAP_W_V6);
	w[2] = own(m, slot, NTM_NAMEMAP_W_V6 + 1);
	if (meta >> 16 & 1)
		unindex(m, 4, (const uint8_t *)&w[0], slot);
	if (meta >> 17 & 1)
		unindex(m, 6, (const uint8_t *)&w[1], slot);
}

/* Whether slot holds words w[from..to) exactly. */
static bool own_equal(struct ntm_namemap *m, uint32_t slot, const uint64_t *w, unsigned from,
		      unsigned to)
{
	for (unsigned i = from; i < to; i++)
		if (own(m, slot, i) != w[i])
			return false;
	return true;
}

int ntm_namemap_put(struct ntm_namemap *m, const struct ntm_namemap_rec *r, uint64_t expires_ms)
{
	uint64_t w[NTM_NAMEMAP_WORDS], h;
	int64_t free_slot = -1;
	uint32_t slot;

	if (r->name_len == 0 || r->name_len >= NTM_NAMEMAP_NAME_SIZE ||
	    memchr(r->name, '\0', r->name_len))
		return -EINVAL;
	h = hash_name(m->seed, r->name, r->name_len);
	to_words(r, h, expires_ms, w);
	for (uint32_t i = 0; i < m->probe; i++) {
		slot = ((uint32_t)h + i) & (m->slots - 1);
		if (!ntm_namemap_used(m, slot)) {
			if (free_slot < 0)
				free_slot = slot;
			continue;
		}
		if (meta_len(own(m, slot, NTM_NAMEMAP_W_META)) != r->name_len ||
		    !own_equal(m, slot, w, NTM_NAMEMAP_W_NAME, NTM_NAMEMAP_WORDS))
			continue; /* another name */
		if (own_equal(m, slot, w, NTM_NAMEMAP_W_META, NTM_NAMEMAP_W_NAME)) {
			/* unchanged: only the expiry moves, one atomic word */
			atomic_store_explicit(&wentry(m, slot)->w[NTM_NAMEMAP_W_EXPIRES],
					      expires_ms, memory_order_release);
			return (int)slot;
		}
		/* this name with other addresses: the old ones leave the indexes */
		unindex_slot(m, slot);
		write_words(wentry(m, slot), w);
		goto indexed;
	}
	if (free_slot < 0)
		return -ENOSPC;
	slot = (uint32_t)free_slot;
	write_words(wentry(m, slot), w);
indexed:
	if (r->has4)
		index_addr(m, 4, r->v4, slot);
	if (r->has6)
		index_addr(m, 6, r->v6, slot);
	return (int)slot;
}

void ntm_namemap_del(struct ntm_namemap *m, uint32_t slot)
{
	uint64_t w[NTM_NAMEMAP_WORDS] = { 0 };

	slot &= m->slots - 1;
	if (!ntm_namemap_used(m, slot))
		return;
	unindex_slot(m, slot);
	write_words(wentry(m, slot), w);
}

void ntm_namemap_close(struct ntm_namemap *m)
{
	struct ntm_namemap_hdr *h = (struct ntm_namemap_hdr *)(void *)m->base;

	if (h)
		atomic_store_explicit(&h->state, NTM_NAMEMAP_CLOSED, memory_order_release);
}
