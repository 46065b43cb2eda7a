/* peerlimits.h - bounded work per local user in ntm-tund (doc/control.md
 * section 1.2): a negative cache of names and addresses the DC said are
 * not enrolled, the count of pending resolves per uid, and the node's
 * budget of handshake initiations. Pure code (time is an argument), no
 * logging, no allocation; unit-tested in tests/unit/test_peerlimits.c. */
#ifndef NTM_PEERLIMITS_H
#define NTM_PEERLIMITS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "wire.h"

/* ---- negative cache ---- */

/* 8192 entries in sets of 8: a key can only evict one of the 7 others of
 * its set, so a flood of random names costs O(1) per name and cannot grow
 * anything, while a few thousand names (one user's lookups; the lab's
 * 2,000) all stay cached. An entry holds a 64-bit hash of its key, keyed
 * with a random seed (not a MAC, but nobody without the seed can aim
 * names at one set or make a real name collide with a denied one): 16
 * bytes, 128 KB in all. An entry lives NEGCACHE_TTL_MS: the DC sends no
 * signal when a node is enrolled, so a new node is found at most this
 * long after a failed lookup of its name, or at the node's next
 * registration, which flushes the cache (dclink.c). */
#define NEGCACHE_SETS 1024
#define NEGCACHE_WAYS 8
#define NEGCACHE_TTL_MS 30000
#define NEGCACHE_KEY_MAX (NTM_NAME_MAX + 1)

struct negcache {
	uint64_t seed;
	struct {
		uint64_t expires_ms;  /* 0: free */
		uint64_t hash;
	} e[NEGCACHE_SETS][NEGCACHE_WAYS];
};

/* Empty, with seed as the hash's key (random, from the caller). */
void negcache_init(struct negcache *c, uint64_t seed);
/* Remember key (a name, or an address as text) as not enrolled from now
 * on; a key longer than NTM_NAME_MAX is not cached. */
void negcache_put(struct negcache *c, const char *key, uint64_t now_ms);
/* Was key said not to exist less than NEGCACHE_TTL_MS ago? */
bool negcache_has(const struct negcache *c, const char *key, uint64_t now_ms);
void negcache_del(struct negcache *c, const char *key);
/* Forget every entry (the seed stays). */
void negcache_flush(struct negcache *c);

/* ---- pending resolves per uid ---- */

/* Up to UIDCOUNT_SLOTS distinct uids may have resolves pending at once. */
#define UIDCOUNT_SLOTS 64

struct uidcount {
	uid_t uid[UIDCOUNT_SLOTS];
	unsigned n[UIDCOUNT_SLOTS];   /* 0: free slot */
};

unsigned uidcount_get(const struct uidcount *u, uid_t uid);
/* 0, or -ENOSPC when UIDCOUNT_SLOTS other uids hold a count. */
int uidcount_inc(struct uidcount *u, uid_t uid);
void uidcount_dec(struct uidcount *u, uid_t uid);

/* May one more resolve start? 0; -EBUSY: the node has max_node pending;
 * -EUSERS: this uid has max_uid. */
int pending_admit(unsigned node_pending, unsigned uid_pending, unsigned max_node,
		  unsigned max_uid);

/* ---- handshake budget: a token bucket ---- */

struct hs_budget {
	uint64_t rate;                /* initiations per second; burst: 2 s of it */
	uint64_t milli;               /* tokens x 1000 */
	uint64_t last_ms;
};

void hs_budget_init(struct hs_budget *b, uint64_t rate, uint64_t now_ms);
/* Take one initiation: true when the budget allows it now. */
bool hs_budget_take(struct hs_budget *b, uint64_t now_ms);

#endif
