/* keyset.h - the DC's enrolled keys in memory: public key -> host index,
 * so a handshake from a key that is not enrolled costs no database query
 * (doc/protocol.md 7). Built whole from the registry and swapped in; never
 * changed in place.
 *
 * An open-addressing table with linear probing at most half full, indexed
 * by a hash of the key keyed with a random seed drawn at each build: the
 * keys are chosen by whoever enrols them, and the seed keeps one enrolled
 * key (or a crafted unknown one) from landing on a long probe sequence
 * except by chance. A lookup hashes 32 bytes and compares a few slots.
 * Memory: DC_KEYSET_SLOT_BYTES per slot, 2 to 4 slots per key; at most
 * DC_KEYSET_MAX keys (-E2BIG beyond). No logging; not thread-safe. */
#ifndef NTM_DC_KEYSET_H
#define NTM_DC_KEYSET_H

#include <stddef.h>
#include <stdint.h>

#define DC_KEYSET_KEY_LEN 32
#define DC_KEYSET_MAX (1u << 20)

struct dc_keyent {
	uint8_t key[DC_KEYSET_KEY_LEN];
	uint32_t host_index;            /* 0: empty slot */
};
#define DC_KEYSET_SLOT_BYTES sizeof(struct dc_keyent)

struct dc_keyset {
	struct dc_keyent *slots;        /* NULL when empty */
	size_t cap;                     /* 0 or a power of two >= 2 * len */
	size_t len;
	uint64_t seed;
};

/* An empty set (finds nothing); needs no freeing. */
void dc_keyset_init(struct dc_keyset *ks);
void dc_keyset_free(struct dc_keyset *ks);

/* Builds *ks from n entries (host indices >= 1). ks is overwritten, so
 * free the old set first or build into a new one and swap. 0, -ENOMEM,
 * -E2BIG (n > DC_KEYSET_MAX), -EINVAL (host index 0, or a key twice). */
int dc_keyset_build(struct dc_keyset *ks, const struct dc_keyent *e, size_t n);

/* The key's host index, or 0 when it is not in the set. */
uint32_t dc_keyset_get(const struct dc_keyset *ks, const uint8_t key[DC_KEYSET_KEY_LEN]);

#endif
