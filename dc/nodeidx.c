/* nodeidx.c - registered nodes by name and address (see nodeidx.h). */
#include <string.h>

#include "crypto.h"
#include "nodeidx.h"
#include "util.h"

void dc_nodeidx_init(struct dc_nodeidx *x)
{
	memset(x, 0, sizeof(*x));
	ntm_idmap_init(&x->by_name);
	ntm_idmap_init(&x->by_addr);
	if (ntm_random(&x->seed, sizeof(x->seed)) < 0)
		x->seed = (uint64_t)(uintptr_t)x * 0x9e3779b97f4a7c15ull;
}

void dc_nodeidx_free(struct dc_nodeidx *x)
{
	ntm_idmap_free(&x->by_name);
	ntm_idmap_free(&x->by_addr);
}

/* IPv4: the address itself with bit 63 set; IPv6: a hash with it clear. */
static uint64_t addr_key(uint64_t seed, int family, const uint8_t *addr)
{
	if (family == 4)
		return 1ull << 63 | ntm_get_be32(addr);
	return ntm_hash64(seed, addr, 16) & ~(1ull << 63);
}

static bool zero(const uint8_t *a, size_t len)
{
	uint8_t o = 0;

	for (size_t i = 0; i < len; i++)
		o |= a[i];
	return o == 0;
}

int dc_nodeidx_put(struct dc_nodeidx *x, void *node, const char *name, const uint8_t vip4[4],
		   const uint8_t vip6[16])
{
	int ret = ntm_idmap_put(&x->by_name, ntm_hash64(x->seed, name, strlen(name)), node);

	if (ret == 0 && !zero(vip4, 4))
		ret = ntm_idmap_put(&x->by_addr, addr_key(x->seed, 4, vip4), node);
	if (ret == 0 && !zero(vip6, 16))
		ret = ntm_idmap_put(&x->by_addr, addr_key(x->seed, 6, vip6), node);
	return ret;
}

void *dc_nodeidx_by_name(const struct dc_nodeidx *x, const char *name)
{
	return ntm_idmap_get(&x->by_name, ntm_hash64(x->seed, name, strlen(name)));
}

void *dc_nodeidx_by_addr(const struct dc_nodeidx *x, int family, const uint8_t *addr)
{
	return family == 4 || family == 6 ? ntm_idmap_get(&x->by_addr, addr_key(x->seed, family, addr))
					  : NULL;
}
