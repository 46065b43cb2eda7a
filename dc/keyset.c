/* keyset.c - the DC's enrolled keys in memory (see keyset.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "keyset.h"
#include "util.h"

void dc_keyset_init(struct dc_keyset *ks)
{
	memset(ks, 0, sizeof(*ks));
}

void dc_keyset_free(struct dc_keyset *ks)
{
	free(ks->slots);
	dc_keyset_init(ks);
}

static size_t slot_of(const struct dc_keyset *ks, const uint8_t *key)
{
	return (size_t)ntm_hash64(ks->seed, key, DC_KEYSET_KEY_LEN) & (ks->cap - 1);
}

int dc_keyset_build(struct dc_keyset *ks, const struct dc_keyent *e, size_t n)
{
	size_t cap = 16;

	dc_keyset_init(ks);
	if (n > DC_KEYSET_MAX)
		return -E2BIG;
	while (cap < 2 * n)
		cap *= 2;
	ks->slots = calloc(cap, sizeof(*ks->slots));
	if (!ks->slots)
		return -ENOMEM;
	ks->cap = cap;
	if (ntm_random(&ks->seed, sizeof(ks->seed)) < 0)
		ks->seed = (uint64_t)(uintptr_t)ks->slots * 0x9e3779b97f4a7c15ull;
	for (size_t i = 0; i < n; i++) {
		size_t j = slot_of(ks, e[i].key);
		if (e[i].host_index == 0)
			goto bad;
		while (ks->slots[j].host_index) {
			if (memcmp(ks->slots[j].key, e[i].key, DC_KEYSET_KEY_LEN) == 0)
				goto bad;
			j = (j + 1) & (cap - 1);
		}
		ks->slots[j] = e[i];
		ks->len++;
	}
	return 0;
bad:
	dc_keyset_free(ks);
	return -EINVAL;
}

uint32_t dc_keyset_get(const struct dc_keyset *ks, const uint8_t key[DC_KEYSET_KEY_LEN])
{
	if (!ks->cap)
		return 0;
	/* At most half full, so a probe meets an empty slot. */
	for (size_t j = slot_of(ks, key);; j = (j + 1) & (ks->cap - 1)) {
		const struct dc_keyent *s = &ks->slots[j];
		if (!s->host_index)
			return 0;
		if (ntm_memeq_ct(s->key, key, DC_KEYSET_KEY_LEN) == 0)
			return s->host_index;
	}
}
