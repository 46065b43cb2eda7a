/* util.h - small helpers shared by every part of ntm. */
#ifndef NTM_UTIL_H
#define NTM_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define NTM_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Wipe a secret so the compiler cannot elide the store (glibc >= 2.25). */
static inline void ntm_wipe(void *p, size_t n)
{
	if (p && n)
		explicit_bzero(p, n);
}

/* Constant-time comparison; returns 0 when equal. */
static inline int ntm_memeq_ct(const void *a, const void *b, size_t n)
{
	const volatile uint8_t *x = a, *y = b;
	uint8_t d = 0;
	for (size_t i = 0; i < n; i++)
		d |= x[i] ^ y[i];
	return d != 0;
}

static inline void ntm_put_be16(uint8_t *p, uint16_t v) { p[0] = v >> 8; p[1] = v; }
static inline void ntm_put_be32(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24; p[1] = v >> 16; p[2] = v >> 8; p[3] = v;
}
static inline void ntm_put_be64(uint8_t *p, uint64_t v)
{
	ntm_put_be32(p, (uint32_t)(v >> 32));
	ntm_put_be32(p + 4, (uint32_t)v);
}
static inline uint16_t ntm_get_be16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static inline uint32_t ntm_get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline uint64_t ntm_get_be64(const uint8_t *p)
{
	return (uint64_t)ntm_get_be32(p) << 32 | ntm_get_be32(p + 4);
}

/* splitmix64's finalizer: every input bit moves every output bit. */
static inline uint64_t ntm_mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

/* The seeded hash of the in-memory tables (the DC's keys and nodes, the
 * node's negative cache): len and every byte of p go through the mix with
 * the seed, 8 bytes at a time. Not a MAC: without the seed nobody can aim
 * keys at one slot, except by chance. */
static inline uint64_t ntm_hash64(uint64_t seed, const void *p, size_t len)
{
	const uint8_t *b = p;
	uint64_t h = ntm_mix64(seed ^ len);

	for (size_t i = 0; i < len; i += 8) {
		uint64_t w = 0;
		for (size_t j = 0; j < 8 && i + j < len; j++)
			w |= (uint64_t)b[i + j] << (8 * j);
		h = ntm_mix64(h ^ w);
	}
	return h;
}

#endif
