/* ratelimit.c - see ratelimit.h. */
#include "ratelimit.h"

#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include "crypto.h"

void ntm_ratelimit_init(struct ntm_ratelimit *rl, uint32_t rate, uint32_t burst)
{
	memset(rl, 0, sizeof(*rl));
	rl->rate = rate;
	rl->burst = burst;
	if (ntm_random(&rl->seed, sizeof(rl->seed)) < 0)
		rl->seed = (uint64_t)(uintptr_t)rl ^ UINT64_C(0x9e3779b97f4a7c15);
}

/* One word into the hash, then MurmurHash3's 64-bit finalizer: every
 * input bit reaches the low bits the tables index with. */
static uint64_t mix(uint64_t h, uint64_t v)
{
	h ^= v + UINT64_C(0x9e3779b97f4a7c15) + (h << 6) + (h >> 2);
	h ^= h >> 33;
	h *= UINT64_C(0xff51afd7ed558ccd);
	h ^= h >> 33;
	h *= UINT64_C(0xc4ceb9fe1a85ec53);
	return h ^ (h >> 33);
}

uint64_t ntm_addr_hash(uint64_t seed, const uint8_t *p, size_t n)
{
	uint64_t h = mix(seed, n);

	for (size_t i = 0; i < n; i += 8) {
		uint64_t w = 0;
		memcpy(&w, p + i, n - i < 8 ? n - i : 8);
		h = mix(h, w);
	}
	return h;
}

static const uint8_t v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

int ntm_addr_norm(const struct sockaddr *src, uint8_t addr[16], uint16_t *port)
{
	if (src->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)src;
		memcpy(addr, v4mapped, 12);
		memcpy(addr + 12, &s4->sin_addr, 4);
		*port = ntohs(s4->sin_port);
		return 0;
	}
	if (src->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)src;
		memcpy(addr, &s6->sin6_addr, 16);
		*port = ntohs(s6->sin6_port);
		return 0;
	}
	memset(addr, 0, 16);
	*port = 0;
	return -EAFNOSUPPORT;
}

size_t ntm_ratelimit_slot(const struct ntm_ratelimit *rl, const struct sockaddr *src)
{
	uint8_t a[16];
	uint16_t port;

	ntm_addr_norm(src, a, &port);
	/* IPv4 (plain or mapped): the whole address; IPv6: its /64 */
	bool v4 = memcmp(a, v4mapped, 12) == 0;
	return (size_t)(ntm_addr_hash(rl->seed, v4 ? a + 12 : a, v4 ? 4 : 8) % NTM_RL_BUCKETS);
}

/* Refill bucket i for now_ms; returns it. */
static void refill(struct ntm_ratelimit *rl, size_t i, uint64_t now_ms)
{
	uint64_t elapsed = now_ms - rl->b[i].last_ms;
	uint64_t add = elapsed * rl->rate / 1000;

	if (rl->b[i].last_ms == 0) {
		rl->b[i].tokens = rl->burst;
		rl->b[i].last_ms = now_ms;
	} else if (add > 0) {
		uint64_t t = rl->b[i].tokens + add;
		rl->b[i].tokens = (uint32_t)(t > rl->burst ? rl->burst : t);
		/* keep the fraction of a token the elapsed time earned */
		rl->b[i].last_ms = t >= rl->burst ? now_ms : rl->b[i].last_ms + add * 1000 / rl->rate;
	}
}

bool ntm_ratelimit_allow(struct ntm_ratelimit *rl, const struct sockaddr *src, uint64_t now_ms)
{
	size_t i = ntm_ratelimit_slot(rl, src);

	refill(rl, i, now_ms);
	if (rl->b[i].tokens == 0)
		return false;
	rl->b[i].tokens--;
	return true;
}

bool ntm_ratelimit_empty(struct ntm_ratelimit *rl, const struct sockaddr *src, uint64_t now_ms)
{
	size_t i = ntm_ratelimit_slot(rl, src);

	refill(rl, i, now_ms);
	return rl->b[i].tokens == 0;
}

bool ntm_window_allow(struct ntm_window *w, unsigned max, uint64_t window_ms, uint64_t now_ms)
{
	if (w->count == 0 || now_ms - w->start_ms >= window_ms) {
		w->start_ms = now_ms;
		w->count = 0;
	}
	if (w->count >= max)
		return false;
	w->count++;
	return true;
}
