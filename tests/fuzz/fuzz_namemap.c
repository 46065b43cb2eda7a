/* fuzz_namemap.c - libFuzzer target: the names map reader (lib/namemap.c),
 * which every process's nss_ntm and ntm-resolverd run over a file they did
 * not write, and the stub's answers built from it (resolver/mapq.c).
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

#include <sys/socket.h>

#include "mapq.h"
#include "namemap.h"

#define SLOTS 8

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const struct ntm_namemap_rec *r)
{
	if (r->name_len == 0 || r->name_len >= sizeof(r->name) || strlen(r->name) != r->name_len)
		abort();
}

/* name (len bytes) and addr asked as the stub would ask them. */
static void ask(const struct ntm_namemap *m, const char *name, size_t len, int fam,
		const uint8_t *addr, uint64_t now)
{
	static const uint16_t types[] = { 1, 28 };
	uint8_t resp[700];
	enum mapq_why why;
	struct dnsq q;

	memset(&q, 0, sizeof(q));
	q.qclass = 1;
	q.limit = 512;
	q.edns = len & 1;
	q.qname_len = 2;             /* the owner is a pointer: any question will do */
	q.question_len = 6;
	if (len >= sizeof(q.name))
		len = sizeof(q.name) - 1;
	memcpy(q.name, name, len);
	q.name[len] = '\0';
	for (size_t i = 0; i < 3; i++) {
		q.qtype = i < 2 ? types[i] : 12;
		q.af = fam == 4 ? AF_INET : AF_INET6;
		memcpy(q.addr, addr, 16);
		int n = mapq_answer(m, &q, i < 2 ? DNSQ_OVERLAY_NAME : DNSQ_OVERLAY_ADDR, now, resp,
				    sizeof(resp), &why);
		if (n < 0 || (size_t)n > q.limit || (n > 0) != (why == MAPQ_ANSWERED))
			abort();
		if (n > 0 && (resp[7] != 1 || resp[5] != 1))
			abort();
	}
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
	ask(m, name, nlen, fam, addr, now);
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
			ask(m, name, len, 4, addr, now);
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
