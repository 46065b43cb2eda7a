/* fuzz_namemap.c - libFuzzer target: the names map reader (lib/namemap.c),
 * which every process's nss_ntm runs over a file it did not write.
 *
 * The input is used twice: as a whole file for ntm_namemap_attach (which
 * must refuse anything but an exact, consistent header), and as the body of
 * a map with a good header (8 slots) behind which every lookup must stay in
 * bounds and return only NUL-terminated names of the length it reports.
 * The first bytes pick the lookups: byte 0 the name's length, byte 1 the
 * family, bytes 2..9 the reader's clock.
 *
 *   clang -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined \
 *         -Ilib lib/namemap.c tests/fuzz/fuzz_namemap.c -o fuzz_namemap
 *   ./fuzz_namemap -max_total_time=60 tests/fuzz/corpus/namemap
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "namemap.h"

#define SLOTS 8

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const struct ntm_namemap_rec *r)
{
	if (r->name_len == 0 || r->name_len >= sizeof(r->name) || strlen(r->name) != r->name_len)
		abort();
}

static void lookups(const struct ntm_namemap *m, const uint8_t *data, size_t size)
{
	struct ntm_namemap_rec r;
	uint64_t now = 0;
	size_t nlen = size ? data[0] : 0;
	int fam = size > 1 && (data[1] & 1) ? 6 : 4;
	uint8_t addr[16] = { 0 };
	char name[256];

	if (size > 9)
		memcpy(&now, data + 2, 8);
	if (nlen > size)
		nlen = size;
	memcpy(name, data, nlen);
	memcpy(addr, data, size < 16 ? size : 16);
	if (ntm_namemap_find_name(m, name, nlen, now, &r) == NTM_NAMEMAP_HIT)
		check(&r);
	if (ntm_namemap_find_addr(m, fam, addr, now, &r) == NTM_NAMEMAP_HIT)
		check(&r);
	/* and what the map holds, looked up by its own words */
	for (uint32_t s = 0; s < m->slots; s++) {
		const struct ntm_namemap_entry *e =
			(const struct ntm_namemap_entry *)(const void *)(m->rbase +
				sizeof(struct ntm_namemap_hdr)) + s;
		uint64_t meta = atomic_load(&e->w[NTM_NAMEMAP_W_META]);
		size_t len = (size_t)(meta & 0xffff);

		if (len && len < sizeof(name)) {
			memcpy(name, (const void *)&e->w[NTM_NAMEMAP_W_NAME], len);
			if (ntm_namemap_find_name(m, name, len, now, &r) == NTM_NAMEMAP_HIT)
				check(&r);
		}
		memcpy(addr, (const void *)&e->w[NTM_NAMEMAP_W_V4], 4);
		if (ntm_namemap_find_addr(m, 4, addr, now, &r) == NTM_NAMEMAP_HIT)
			check(&r);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t msize = ntm_namemap_file_size(SLOTS);
	size_t body = msize - sizeof(struct ntm_namemap_hdr);
	struct ntm_namemap m, rd;
	uint8_t *copy = malloc(size ? size : 1); /* exact size: reads past it are caught */
	uint8_t *map = calloc(1, msize);

	if (!copy || !map)
		goto out;
	memcpy(copy, data, size);
	if (ntm_namemap_attach(&rd, copy, size) == 0) {
		if (rd.size != size || rd.slots == 0 || (rd.slots & (rd.slots - 1)))
			abort();
		lookups(&rd, data, size);
	}
	ntm_namemap_format(&m, map, SLOTS, 42, 5);
	memcpy(map + sizeof(struct ntm_namemap_hdr), data, size < body ? size : body);
	if (ntm_namemap_attach(&rd, map, msize) != 0)
		abort();
	lookups(&rd, data, size);
out:
	free(copy);
	free(map);
	return 0;
}
