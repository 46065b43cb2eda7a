/* cache.c - the reply cache (see cache.h): a chained hash table by the
 * caller's hash plus an LRU list; one allocation per entry holding the
 * bookkeeping, the key and the reply. */
#include "cache.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "evloop.h"

struct centry {
	struct centry *hnext;          /* hash chain */
	struct centry *newer, *older;  /* LRU list */
	uint64_t hash;
	uint64_t stored_ms;
	uint32_t ttl;
	size_t keylen, len;
	uint8_t data[];                /* key, then reply */
};

struct cache {
	struct cache_params p;
	size_t nbuckets;               /* power of two */
	struct centry **buckets;
	struct centry *newest, *oldest;
	size_t entries, bytes;
};

static uint64_t default_now(void *arg)
{
	(void)arg;
	return ntm_loop_now_ms();
}

int cache_new(struct cache **out, const struct cache_params *p)
{
	struct cache *c;

	*out = NULL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	if (p)
		c->p = *p;
	c->p.max_entries = c->p.max_entries ? c->p.max_entries : 10000;
	c->p.max_bytes = c->p.max_bytes ? c->p.max_bytes : 8u << 20;
	c->p.max_ttl = c->p.max_ttl ? c->p.max_ttl : 86400;
	c->p.now_ms = c->p.now_ms ? c->p.now_ms : default_now;
	if (c->p.max_entries > (1u << 24) || c->p.max_bytes > (1u << 30)) {
		free(c);
		return -EINVAL;
	}
	c->nbuckets = 16;
	while (c->nbuckets < c->p.max_entries)
		c->nbuckets *= 2;
	c->buckets = calloc(c->nbuckets, sizeof(*c->buckets));
	if (!c->buckets) {
		free(c);
		return -ENOMEM;
	}
	*out = c;
	return 0;
}

static size_t entry_cost(const struct centry *e)
{
	return sizeof(*e) + e->keylen + e->len;
}

static struct centry **bucket(struct cache *c, uint64_t hash)
{
	return &c->buckets[hash & (c->nbuckets - 1)];
}

static void lru_unlink(struct cache *c, struct centry *e)
{
	if (e->newer)
		e->newer->older = e->older;
	else
		c->newest = e->older;
	if (e->older)
		e->older->newer = e->newer;
	else
		c->oldest = e->newer;
	e->newer = e->older = NULL;
}

static void lru_push(struct cache *c, struct centry *e)
{
	e->older = c->newest;
	e->newer = NULL;
	if (c->newest)
		c->newest->newer = e;
	else
		c->oldest = e;
	c->newest = e;
}

static void drop(struct cache *c, struct centry *e)
{
	for (struct centry **pp = bucket(c, e->hash); *pp; pp = &(*pp)->hnext)
		if (*pp == e) {
			*pp = e->hnext;
			break;
		}
	lru_unlink(c, e);
	c->entries--;
	c->bytes -= entry_cost(e);
	free(e);
}

static struct centry *find(struct cache *c, uint64_t hash, const uint8_t *key, size_t keylen)
{
	for (struct centry *e = *bucket(c, hash); e; e = e->hnext)
		if (e->hash == hash && e->keylen == keylen && memcmp(e->data, key, keylen) == 0)
			return e;
	return NULL;
}

int cache_put(struct cache *c, uint64_t hash, const uint8_t *key, size_t keylen,
	      const uint8_t *reply, size_t len, uint32_t ttl)
{
	return cache_put_aged(c, hash, key, keylen, reply, len, ttl, 0);
}

int cache_put_aged(struct cache *c, uint64_t hash, const uint8_t *key, size_t keylen,
		   const uint8_t *reply, size_t len, uint32_t ttl, uint64_t age_ms)
{
	struct centry *e, *old;
	uint64_t now;

	if (keylen == 0 || keylen > CACHE_KEY_MAX || len == 0 || len > CACHE_REPLY_MAX ||
	    ttl == 0)
		return -EINVAL;
	if (sizeof(*e) + keylen + len > c->p.max_bytes)
		return -E2BIG;
	e = malloc(sizeof(*e) + keylen + len);
	if (!e)
		return -ENOMEM;
	now = c->p.now_ms(c->p.clock_arg);
	*e = (struct centry){ .hash = hash, .stored_ms = now > age_ms ? now - age_ms : 0,
			      .ttl = ttl < c->p.max_ttl ? ttl : c->p.max_ttl,
			      .keylen = keylen, .len = len };
	memcpy(e->data, key, keylen);
	memcpy(e->data + keylen, reply, len);
	old = find(c, hash, key, keylen);
	if (old)
		drop(c, old);
	while (c->oldest && (c->entries + 1 > c->p.max_entries ||
			     c->bytes + entry_cost(e) > c->p.max_bytes))
		drop(c, c->oldest);
	e->hnext = *bucket(c, hash);
	*bucket(c, hash) = e;
	lru_push(c, e);
	c->entries++;
	c->bytes += entry_cost(e);
	return 0;
}

int cache_get(struct cache *c, uint64_t hash, const uint8_t *key, size_t keylen,
	      const uint8_t **reply, size_t *len, uint32_t *age_s)
{
	struct centry *e = find(c, hash, key, keylen);
	uint64_t now, age;

	if (!e)
		return -ENOENT;
	now = c->p.now_ms(c->p.clock_arg);
	age = now > e->stored_ms ? (now - e->stored_ms) / 1000 : 0;
	if (age >= e->ttl) {
		drop(c, e);
		return -ENOENT;
	}
	lru_unlink(c, e);
	lru_push(c, e);
	*reply = e->data + e->keylen;
	*len = e->len;
	*age_s = (uint32_t)age;
	return 0;
}

void cache_flush(struct cache *c)
{
	while (c->oldest)
		drop(c, c->oldest);
}

size_t cache_entries(const struct cache *c)
{
	return c->entries;
}

size_t cache_bytes(const struct cache *c)
{
	return c->bytes;
}

void cache_free(struct cache *c)
{
	if (!c)
		return;
	cache_flush(c);
	free(c->buckets);
	free(c);
}
