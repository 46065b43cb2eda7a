/* peerlimits.c - see peerlimits.h. */
#include "peerlimits.h"

#include <errno.h>
#include <string.h>

#include "util.h"

/* ---- negative cache ---- */

static uint64_t hash_of(const struct negcache *c, const char *key, size_t len)
{
	return ntm_hash64(c->seed, key, len);
}

static int find(const struct negcache *c, unsigned set, uint64_t h)
{
	for (int w = 0; w < NEGCACHE_WAYS; w++)
		if (c->e[set][w].expires_ms && c->e[set][w].hash == h)
			return w;
	return -1;
}

/* The set is taken from the hash's top bits; the whole hash is compared. */
static unsigned set_of(uint64_t h)
{
	return (unsigned)(h >> 32) % NEGCACHE_SETS;
}

void negcache_init(struct negcache *c, uint64_t seed)
{
	memset(c, 0, sizeof(*c));
	c->seed = seed;
}

void negcache_put(struct negcache *c, const char *key, uint64_t now_ms)
{
	size_t len = strlen(key);
	uint64_t h;
	unsigned set;
	int w;

	if (len >= NEGCACHE_KEY_MAX)
		return;
	h = hash_of(c, key, len);
	set = set_of(h);
	w = find(c, set, h);
	if (w < 0) {
		/* a free or expired way, else the one that expires first */
		w = 0;
		for (int i = 0; i < NEGCACHE_WAYS; i++) {
			if (c->e[set][i].expires_ms <= now_ms) {
				w = i;
				break;
			}
			if (c->e[set][i].expires_ms < c->e[set][w].expires_ms)
				w = i;
		}
		c->e[set][w].hash = h;
	}
	c->e[set][w].expires_ms = now_ms + NEGCACHE_TTL_MS;
}

bool negcache_has(const struct negcache *c, const char *key, uint64_t now_ms)
{
	size_t len = strlen(key);
	uint64_t h;
	int w;

	if (len >= NEGCACHE_KEY_MAX)
		return false;
	h = hash_of(c, key, len);
	w = find(c, set_of(h), h);
	return w >= 0 && now_ms < c->e[set_of(h)][w].expires_ms;
}

void negcache_del(struct negcache *c, const char *key)
{
	size_t len = strlen(key);
	uint64_t h;
	int w;

	if (len >= NEGCACHE_KEY_MAX)
		return;
	h = hash_of(c, key, len);
	w = find(c, set_of(h), h);
	if (w >= 0)
		c->e[set_of(h)][w].expires_ms = 0;
}

void negcache_flush(struct negcache *c)
{
	memset(c->e, 0, sizeof(c->e));
}

/* ---- pending resolves per uid ---- */

unsigned uidcount_get(const struct uidcount *u, uid_t uid)
{
	for (unsigned i = 0; i < UIDCOUNT_SLOTS; i++)
		if (u->n[i] && u->uid[i] == uid)
			return u->n[i];
	return 0;
}

int uidcount_inc(struct uidcount *u, uid_t uid)
{
	int free_slot = -1;

	for (unsigned i = 0; i < UIDCOUNT_SLOTS; i++) {
		if (u->n[i] && u->uid[i] == uid) {
			u->n[i]++;
			return 0;
		}
		if (!u->n[i] && free_slot < 0)
			free_slot = (int)i;
	}
	if (free_slot < 0)
		return -ENOSPC;
	u->uid[free_slot] = uid;
	u->n[free_slot] = 1;
	return 0;
}

void uidcount_dec(struct uidcount *u, uid_t uid)
{
	for (unsigned i = 0; i < UIDCOUNT_SLOTS; i++) {
		if (u->n[i] && u->uid[i] == uid) {
			u->n[i]--;
			return;
		}
	}
}

int pending_admit(unsigned node_pending, unsigned uid_pending, unsigned max_node,
		  unsigned max_uid)
{
	if (node_pending >= max_node)
		return -EBUSY;
	if (uid_pending >= max_uid)
		return -EUSERS;
	return 0;
}

/* ---- handshake budget ---- */

void hs_budget_init(struct hs_budget *b, uint64_t rate, uint64_t now_ms)
{
	b->rate = rate;
	b->milli = 2 * rate * 1000;
	b->last_ms = now_ms;
}

bool hs_budget_take(struct hs_budget *b, uint64_t now_ms)
{
	uint64_t cap = 2 * b->rate * 1000;

	if (now_ms > b->last_ms) {
		/* rate per second is rate thousandths per ms */
		uint64_t add = (now_ms - b->last_ms) * b->rate;
		b->milli = add >= cap - b->milli ? cap : b->milli + add;
		b->last_ms = now_ms;
	}
	if (b->milli < 1000)
		return false;
	b->milli -= 1000;
	return true;
}
