/* ratelimit.h - per-source token buckets for handshake processing.
 * A fixed table of buckets indexed by a keyed hash of the source address:
 * constant memory whatever the number of sources (sources that share a
 * bucket share its budget), no allocation, O(1).
 *
 * A source is an IPv4 address (an IPv4-mapped IPv6 address, as a dual-stack
 * socket reports IPv4 senders, is the same source as the IPv4 address) or
 * an IPv6 /64 (one host can own a whole /64). */
#ifndef NTM_RATELIMIT_H
#define NTM_RATELIMIT_H

#include <stdbool.h>
#include <stddef.h>
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
/* True when the source's bucket has no token now (nothing is taken). */
bool ntm_ratelimit_empty(struct ntm_ratelimit *rl, const struct sockaddr *src, uint64_t now_ms);
/* The bucket a source uses (tests: distinct sources, distinct budgets). */
size_t ntm_ratelimit_slot(const struct ntm_ratelimit *rl, const struct sockaddr *src);

/* A fixed-window count its owner keeps (one per node, say): at most max
 * events in each window of window_ms, the first window starting at the
 * first event. */
struct ntm_window {
	uint64_t start_ms;
	unsigned count;         /* 0: no window yet */
};
/* Count one event at now_ms; false (not counted) when max were already
 * allowed in the current window. */
bool ntm_window_allow(struct ntm_window *w, unsigned max, uint64_t window_ms, uint64_t now_ms);

/* The address of src as 16 bytes, IPv4 (plain or mapped) as ::ffff:a.b.c.d,
 * and its port (host order); -EAFNOSUPPORT for another family. */
int ntm_addr_norm(const struct sockaddr *src, uint8_t addr[16], uint16_t *port);
/* Keyed 64-bit hash of n bytes (n <= 24), for the fixed tables. */
uint64_t ntm_addr_hash(uint64_t seed, const uint8_t *p, size_t n);

#endif
