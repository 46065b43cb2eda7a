/* nodeidx.h - the DC's registered nodes by name and by virtual address, in
 * memory, so a Direction Request for a node registered with this DC costs
 * no registry query (with PostgreSQL a synchronous round trip to the
 * server, the limit on Route Directions a second).
 *
 * A cache, never the authority: an entry points at a node the DC holds
 * (struct dc_node, which lives as long as the DC), and the caller takes a
 * hit only when the node's own record carries exactly that name or
 * address and the node is registered now; anything else (no entry, a
 * stale one, two names on one hash) goes to the registry as before.
 * Entries are only added or replaced (at each registration), never
 * removed: a node that left stays in the table but fails the caller's
 * check. Names are hashed as they are spelled; a lookup spelled otherwise
 * misses and the registry answers it. The hash is keyed with a random
 * seed. No logging; not thread-safe. */
#ifndef NTM_DC_NODEIDX_H
#define NTM_DC_NODEIDX_H

#include <stdint.h>

#include "idmap.h"

struct dc_nodeidx {
	uint64_t seed;
	struct ntm_idmap by_name;       /* hash of the name -> node */
	struct ntm_idmap by_addr;       /* IPv4 address, or hash of the IPv6 one -> node */
};

/* An empty index with a fresh seed; needs dc_nodeidx_free. */
void dc_nodeidx_init(struct dc_nodeidx *x);
void dc_nodeidx_free(struct dc_nodeidx *x);

/* Record node under its name and its addresses (vip6 all zero: none;
 * vip4 likewise), replacing what held those keys. 0 or -ENOMEM (the
 * index is then only less complete). */
int dc_nodeidx_put(struct dc_nodeidx *x, void *node, const char *name, const uint8_t vip4[4],
		   const uint8_t vip6[16]);

/* The node last recorded under this name, or under this address (family 4
 * or 6), or NULL: a candidate the caller must check. */
void *dc_nodeidx_by_name(const struct dc_nodeidx *x, const char *name);
void *dc_nodeidx_by_addr(const struct dc_nodeidx *x, int family, const uint8_t *addr);

#endif
