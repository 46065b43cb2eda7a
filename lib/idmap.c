/* idmap.c - see idmap.h. */
#include "idmap.h"

#include <errno.h>
#include <stdlib.h>

static size_t slot_of(uint64_t key, size_t cap)
{
	/* splitmix64 finalizer: indices are random, but node ids are dense */
	key ^= key >> 30;
	key *= UINT64_C(0xbf58476d1ce4e5b9);
	key ^= key >> 27;
	key *= UINT64_C(0x94d049bb133111eb);
	key ^= key >> 31;
	return (size_t)key & (cap - 1);
}

void ntm_idmap_init(struct ntm_idmap *m)
{
	m->keys = NULL;
	m->vals = NULL;
	m->cap = m->len = 0;
}

void ntm_idmap_free(struct ntm_idmap *m)
{
	free(m->keys);
	free(m->vals);
	ntm_idmap_init(m);
}

static void place(uint64_t *keys, void **vals, size_t cap, uint64_t key, void *val)
{
	size_t i = slot_of(key, cap);
	while (vals[i] && keys[i] != key)
		i = (i + 1) & (cap - 1);
	keys[i] = key;
	vals[i] = val;
}

static int grow(struct ntm_idmap *m)
{
	size_t cap = m->cap ? m->cap * 2 : 16;
	uint64_t *keys = calloc(cap, sizeof(*keys));
	void **vals = calloc(cap, sizeof(*vals));

	if (!keys || !vals) {
		free(keys);
		free(vals);
		return -ENOMEM;
	}
	for (size_t i = 0; i < m->cap; i++)
		if (m->vals[i])
			place(keys, vals, cap, m->keys[i], m->vals[i]);
	free(m->keys);
	free(m->vals);
	m->keys = keys;
	m->vals = vals;
	m->cap = cap;
	return 0;
}

int ntm_idmap_put(struct ntm_idmap *m, uint64_t key, void *val)
{
	if (!val)
		return -EINVAL;
	if (ntm_idmap_get(m, key)) {
		place(m->keys, m->vals, m->cap, key, val);
		return 0;
	}
	if ((m->len + 1) * 2 > m->cap) {
		int ret = grow(m);
		if (ret < 0)
			return ret;
	}
	place(m->keys, m->vals, m->cap, key, val);
	m->len++;
	return 0;
}

void *ntm_idmap_get(const struct ntm_idmap *m, uint64_t key)
{
	if (!m->cap)
		return NULL;
	for (size_t i = slot_of(key, m->cap); m->vals[i]; i = (i + 1) & (m->cap - 1))
		if (m->keys[i] == key)
			return m->vals[i];
	return NULL;
}

void *ntm_idmap_del(struct ntm_idmap *m, uint64_t key)
{
	size_t mask = m->cap - 1, i, j;
	void *val;

	if (!m->cap)
		return NULL;
	for (i = slot_of(key, m->cap); m->vals[i]; i = (i + 1) & mask)
		if (m->keys[i] == key)
			break;
	if (!m->vals[i])
		return NULL;
	val = m->vals[i];
	m->vals[i] = NULL;
	m->len--;
	/* Backward shift: move later members of the probe run into the hole
	 * when their home slot does not lie cyclically in (hole, j]. */
	for (j = (i + 1) & mask; m->vals[j]; j = (j + 1) & mask) {
		size_t home = slot_of(m->keys[j], m->cap);
		if (((j - home) & mask) >= ((j - i) & mask)) {
			m->keys[i] = m->keys[j];
			m->vals[i] = m->vals[j];
			m->vals[j] = NULL;
			i = j;
		}
	}
	return val;
}

void *ntm_idmap_next(const struct ntm_idmap *m, size_t *pos, uint64_t *key)
{
	while (*pos < m->cap) {
		size_t i = (*pos)++;
		if (m->vals[i]) {
			if (key)
				*key = m->keys[i];
			return m->vals[i];
		}
	}
	return NULL;
}

/* Re-place every member after holes were punched without backward shift,
 * in slot order from start, a slot that was empty before the holes (so no
 * probe run crosses it): each member lands between its home and its slot,
 * and fills holes only behind the point reached, so no run keeps a gap. */
static void reseat(struct ntm_idmap *m, size_t start)
{
	size_t mask = m->cap - 1;

	for (size_t n = 1; n < m->cap; n++) {
		size_t j = (start + n) & mask;
		void *val = m->vals[j];
		if (!val)
			continue;
		m->vals[j] = NULL;
		place(m->keys, m->vals, m->cap, m->keys[j], val);
	}
}

size_t ntm_idmap_sweep(struct ntm_idmap *m, bool (*drop)(void *val, uint64_t key, void *arg),
		       void *arg)
{
	size_t start = 0, removed = 0;

	if (!m->len)
		return 0;
	while (m->vals[start]) /* the load is at most 50%: there is one */
		start++;
	for (size_t i = 0; i < m->cap; i++) {
		if (m->vals[i] && drop(m->vals[i], m->keys[i], arg)) {
			m->vals[i] = NULL;
			removed++;
		}
	}
	if (removed) {
		m->len -= removed;
		reseat(m, start);
	}
	return removed;
}
