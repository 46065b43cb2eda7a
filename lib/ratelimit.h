/* ratelimit.h - per-source token buckets for handshake processing.
 * A fixed table of buckets indexed by a keyed hash of the source address:
 * constant memory whatever the number of sources (sources that share a
 * bucket share its budget), no allocation, O(1). */
#ifndef NTM_RATELIMIT_H
#define NTM_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#define NTM_RL_BUCKETS 4096

struct ntm_ratelimit {
	uint32_t rate;          /* tokens per second */
	uint32_t burst;         /* bucket size */
	uint64_t seed;          /* random hash key, so sources cannot aim at one bucket */
	struct { uint64_t last_ms; uint32_t tokens; } b[NTM_RL_BUCKETS];
};

void ntm_ratelimit_init(struct ntm_ratelimit *rl, uint32_t rate, uint32_t burst);
/* Take one token for the source address (port ignored); false = over limit. */
bool ntm_ratelimit_allow(struct ntm_ratelimit *rl, const struct sockaddr *src, uint64_t now_ms);

#endif
