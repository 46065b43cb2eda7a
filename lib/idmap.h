/* idmap.h - a hash map from 64-bit ids to pointers (open addressing,
 * linear probing, backward-shift deletion, so no tombstones build up).
 * Lookups never allocate; inserts grow the table at 50% load. Used for
 * session indices and node tables. Not thread-safe. */
#ifndef NTM_IDMAP_H
#define NTM_IDMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ntm_idmap {
	uint64_t *keys;
	void **vals;        /* NULL marks an empty slot */
	size_t cap, len;    /* cap is 0 or a power of two */
};

void ntm_idmap_init(struct ntm_idmap *m);
void ntm_idmap_free(struct ntm_idmap *m);
/* Insert or replace; val must not be NULL. 0, -EINVAL or -ENOMEM. */
int ntm_idmap_put(struct ntm_idmap *m, uint64_t key, void *val);
void *ntm_idmap_get(const struct ntm_idmap *m, uint64_t key);
/* Remove key; returns the value that was there, or NULL. */
void *ntm_idmap_del(struct ntm_idmap *m, uint64_t key);
/* Iterate: *pos starts at 0; returns the next value (key in *key) or NULL
 * at the end. The map must not change during an iteration except through
 * ntm_idmap_del of the key just returned followed by a restart (deleting
 * shifts later members back, so they would be skipped or seen twice); to
 * delete while visiting, use ntm_idmap_sweep. */
void *ntm_idmap_next(const struct ntm_idmap *m, size_t *pos, uint64_t *key);
/* Visit every member exactly once and remove those for which drop returns
 * true (drop frees the value if it owns it: the map does not touch it
 * again). drop must not change m (other maps are fine). The way to delete
 * many members in one pass: O(cap), no allocation. Returns how many went. */
size_t ntm_idmap_sweep(struct ntm_idmap *m, bool (*drop)(void *val, uint64_t key, void *arg),
		       void *arg);

#endif
