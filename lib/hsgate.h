/* hsgate.h - admission of HANDSHAKE_INITs at a responder (doc/protocol.md
 * 2.9 and 7): which ones cost a Diffie-Hellman, which get a COOKIE_REPLY,
 * which are dropped. Pure: state, time and message in, a verdict out; the
 * caller does the I/O and counts the verdict. Fixed-size tables only:
 * constant memory whatever the sources.
 *
 *   1. mac1 wrong (or not an init): dropped, nothing charged.
 *   2. A trusted path (an init unwrapped from an authenticated RELAY
 *      capsule): only the global budget.
 *   3. A valid mac2 proves the source address and port: the proven
 *      per-source bucket (unless the address completed a session within
 *      recent_ms), then the global budget, reserve included.
 *   4. Otherwise the source is unproven. "Under load" means the global
 *      budget is down to its reserve, or the source's unproven bucket is
 *      empty (an address that completed a session recently has no such
 *      bucket). Under load: a cookie reply, if the cookie-reply limits
 *      allow (per destination address, and in all), else dropped. Not
 *      under load: the unproven bucket and the global budget above the
 *      reserve pay for it.
 * So spoofed sources, which never see their cookies, can never use the
 * reserve, and one address cannot spend another's budget. */
#ifndef NTM_HSGATE_H
#define NTM_HSGATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "cookie.h"
#include "ratelimit.h"

struct ntm_hsgate_conf {
	uint32_t global_rate;     /* handshakes processed per second, all sources (burst: 1 s) */
	uint32_t reserve_pct;     /* share of the global budget only proven sources may use */
	uint32_t src_rate;        /* per source address without a valid mac2 */
	uint32_t proven_rate;     /* per source address with a valid mac2 */
	uint32_t cookie_rate;     /* cookie replies per destination address per second */
	uint32_t cookie_global;   /* cookie replies per second in all */
	uint32_t recent_ms;       /* a source that completed a session is exempt this long */
};

enum ntm_hsgate_verdict {
	NTM_HSG_PROCESS = 0,      /* do the handshake */
	NTM_HSG_COOKIE,           /* send ntm_hsgate_cookie_reply */
	NTM_HSG_BAD_MAC,          /* not an init for us: free drop */
	NTM_HSG_RATELIMIT,        /* per-source or cookie-reply limit */
	NTM_HSG_OVERLOAD,         /* global budget spent */
};

/* A token bucket in thousandths of a token. */
struct ntm_hsgate_bucket {
	uint64_t milli, cap_milli, rate; /* rate: tokens per second */
	uint64_t last_ms;
};

#define NTM_HSG_RECENT_SETS 1024
#define NTM_HSG_RECENT_WAYS 4

struct ntm_hsgate {
	struct ntm_hsgate_conf conf;
	uint8_t pub[32];                  /* our static public key (mac1) */
	uint8_t reply_key[32];            /* cookie replies' key */
	struct ntm_cookie_secret secret;
	struct ntm_hsgate_bucket global, cookies;
	uint64_t reserve_milli;
	struct ntm_ratelimit unproven, proven, cookie_dst;
	uint64_t seed;
	struct {
		uint8_t addr[16];
		uint16_t port;
		uint64_t at_ms;           /* 0: free */
	} recent[NTM_HSG_RECENT_SETS][NTM_HSG_RECENT_WAYS];
};

int ntm_hsgate_init(struct ntm_hsgate *g, const struct ntm_hsgate_conf *conf,
		    const uint8_t pub[32], uint64_t now_ms);
/* The verdict for a datagram of type HANDSHAKE_INIT from src. trusted: it
 * came through an authenticated RELAY capsule (its source is the relay). */
enum ntm_hsgate_verdict ntm_hsgate_check(struct ntm_hsgate *g, const uint8_t *msg, size_t len,
					 const struct sockaddr *src, bool trusted, uint64_t now_ms);
/* The COOKIE_REPLY for msg (after NTM_HSG_COOKIE): NTM_COOKIE_REPLY_LEN or -errno. */
int ntm_hsgate_cookie_reply(struct ntm_hsgate *g, const uint8_t *msg, const struct sockaddr *src,
			    uint8_t *out, size_t cap);
/* The caller completed a session with src: its address is exempt from the
 * per-source limits for recent_ms. */
void ntm_hsgate_completed(struct ntm_hsgate *g, const struct sockaddr *src, uint64_t now_ms);

#endif
