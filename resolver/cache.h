/* cache.h - ntm-resolverd's bounded cache of replies ready to send.
 *
 * Entries are opaque bytes under a key the caller builds (lower-cased name,
 * type, class, DO, CD) with the TTL the caller took from the reply; the
 * stub stores ready replies (dnsready.h: the response bytes and the offsets
 * of what a hit patches), so a hit is a lookup, a copy and a few stores.
 * A lookup hands back the stored bytes and their age in whole seconds; the
 * caller decrements the TTLs it relays by that age. An entry is gone once
 * its age reaches its TTL. Size is bounded by entry count and by total
 * bytes (key, reply and bookkeeping), evicting the least recently used.
 * The clock is injectable for tests. Single-threaded. */
#ifndef NTM_CACHE_H
#define NTM_CACHE_H

#include <stddef.h>
#include <stdint.h>

#define CACHE_KEY_MAX 512
#define CACHE_REPLY_MAX (1u << 17) /* a ready reply of a 65535-byte response fits */

struct cache;

/* Zero fields take the defaults in brackets. */
struct cache_params {
	size_t max_entries;            /* [10000] */
	size_t max_bytes;              /* [8 MiB] */
	uint32_t max_ttl;              /* TTLs are capped to this, s [86400] */
	uint64_t (*now_ms)(void *arg); /* monotonic ms [ntm_loop_now_ms] */
	void *clock_arg;
};

/* Returns 0, -EINVAL (a cap beyond 1<<24 entries or 1 GiB) or -ENOMEM. */
int cache_new(struct cache **out, const struct cache_params *p);
void cache_free(struct cache *c); /* accepts NULL */

/* Stores a copy of reply under key for ttl seconds, replacing an entry
 * with the same key and evicting the least recently used ones to stay
 * within the caps. hash is the caller's (keyed) hash of the key. Returns
 * 0; -EINVAL for an empty or oversized key or reply, or ttl 0 (nothing
 * stored); -E2BIG when the entry alone exceeds max_bytes; -ENOMEM. */
int cache_put(struct cache *c, uint64_t hash, const uint8_t *key, size_t keylen,
	      const uint8_t *reply, size_t len, uint32_t ttl);

/* cache_put for bytes that are already age_ms old (the overlay answer
 * cache stores a ready reply made from an answer it has held that long):
 * they expire when their age reaches ttl, counted from then. */
int cache_put_aged(struct cache *c, uint64_t hash, const uint8_t *key, size_t keylen,
		   const uint8_t *reply, size_t len, uint32_t ttl, uint64_t age_ms);

/* Looks key up. On a hit returns 0 with *reply (valid until the next
 * cache_* call), *len and *age_s (< the entry's TTL), and marks the entry
 * recently used. -ENOENT on a miss or an expired entry (which is dropped). */
int cache_get(struct cache *c, uint64_t hash, const uint8_t *key, size_t keylen,
	      const uint8_t **reply, size_t *len, uint32_t *age_s);

/* Drops every entry (upstreams changed). */
void cache_flush(struct cache *c);

size_t cache_entries(const struct cache *c);
size_t cache_bytes(const struct cache *c);

#endif
