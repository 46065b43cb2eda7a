/* ratelimit.c - see ratelimit.h. */
#include "ratelimit.h"

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

static uint64_t mix(uint64_t h, uint64_t v)
{
	h ^= v + UINT64_C(0x9e3779b97f4a7c15) + (h << 6) + (h >> 2);
	h *= UINT64_C(0xff51afd7ed558ccd);
	return h ^ (h >> 33);
}

static size_t bucket_of(const struct ntm_ratelimit *rl, const struct sockaddr *src)
{
	uint64_t h = rl->seed, w[2] = { 0, 0 };

	if (src->sa_family == AF_INET) {
		memcpy(w, &((const struct sockaddr_in *)src)->sin_addr, 4);
	} else if (src->sa_family == AF_INET6) {
		/* a /64 is one source: one host can own a whole /64 */
		memcpy(w, &((const struct sockaddr_in6 *)src)->sin6_addr, 8);
		w[1] = 6;
	}
	h = mix(mix(h, w[0]), w[1]);
	return (size_t)(h % NTM_RL_BUCKETS);
}

bool ntm_ratelimit_allow(struct ntm_ratelimit *rl, const struct sockaddr *src, uint64_t now_ms)
{
	size_t i = bucket_of(rl, src);
	uint64_t elapsed = now_ms - rl->b[i].last_ms;
	uint64_t add = elapsed * rl->rate / 1000;

	if (rl->b[i].last_ms == 0) {
		rl->b[i].tokens = rl->burst;
		rl->b[i].last_ms = now_ms;
	} else if (add > 0) {
		uint64_t t = rl->b[i].tokens + add;
		rl->b[i].tokens = (uint32_t)(t > rl->burst ? rl->burst : t);
		rl->b[i].last_ms = now_ms;
	}
	if (rl->b[i].tokens == 0)
		return false;
	rl->b[i].tokens--;
	return true;
}
