/* hsgate.c - see hsgate.h. */
#include "hsgate.h"

#include <errno.h>
#include <string.h>

#include "crypto.h"
#include "wire.h"

static void bucket_init(struct ntm_hsgate_bucket *b, uint32_t rate, uint64_t now_ms)
{
	b->rate = rate;
	b->cap_milli = (uint64_t)rate * 1000; /* one second's worth */
	b->milli = b->cap_milli;
	b->last_ms = now_ms;
}

static void bucket_refill(struct ntm_hsgate_bucket *b, uint64_t now_ms)
{
	if (now_ms <= b->last_ms)
		return;
	uint64_t m = b->milli + (now_ms - b->last_ms) * b->rate;
	b->milli = m > b->cap_milli ? b->cap_milli : m;
	b->last_ms = now_ms;
}

/* Take one token if that leaves at least floor_milli. */
static bool bucket_take(struct ntm_hsgate_bucket *b, uint64_t floor_milli)
{
	if (b->milli < floor_milli + 1000)
		return false;
	b->milli -= 1000;
	return true;
}

int ntm_hsgate_init(struct ntm_hsgate *g, const struct ntm_hsgate_conf *conf,
		    const uint8_t pub[32], uint64_t now_ms)
{
	memset(g, 0, sizeof(*g));
	g->conf = *conf;
	memcpy(g->pub, pub, 32);
	int ret = ntm_cookie_reply_key(g->reply_key, pub);
	if (ret < 0)
		return ret;
	ntm_cookie_rotate(&g->secret, now_ms);
	if (!g->secret.set)
		return -EIO;
	bucket_init(&g->global, conf->global_rate, now_ms);
	g->reserve_milli = g->global.cap_milli * conf->reserve_pct / 100;
	bucket_init(&g->cookies, conf->cookie_global, now_ms);
	ntm_ratelimit_init(&g->unproven, conf->src_rate, conf->src_rate);
	ntm_ratelimit_init(&g->proven, conf->proven_rate, conf->proven_rate);
	ntm_ratelimit_init(&g->cookie_dst, conf->cookie_rate, conf->cookie_rate);
	if (ntm_random(&g->seed, sizeof(g->seed)) < 0)
		return -EIO;
	return 0;
}

/* The recent-session set of addr. */
static size_t recent_set(const struct ntm_hsgate *g, const uint8_t addr[16])
{
	return (size_t)(ntm_addr_hash(g->seed, addr, 16) % NTM_HSG_RECENT_SETS);
}

/* Did addr complete a session within recent_ms? *port: the port it had. */
static bool recent_find(const struct ntm_hsgate *g, const uint8_t addr[16], uint64_t now_ms,
			uint16_t *port)
{
	size_t s = recent_set(g, addr);

	for (int w = 0; w < NTM_HSG_RECENT_WAYS; w++) {
		if (g->recent[s][w].at_ms && now_ms - g->recent[s][w].at_ms < g->conf.recent_ms &&
		    memcmp(g->recent[s][w].addr, addr, 16) == 0) {
			*port = g->recent[s][w].port;
			return true;
		}
	}
	return false;
}

void ntm_hsgate_completed(struct ntm_hsgate *g, const struct sockaddr *src, uint64_t now_ms)
{
	uint8_t addr[16];
	uint16_t port;

	if (ntm_addr_norm(src, addr, &port) < 0)
		return;
	size_t s = recent_set(g, addr);
	int pick = 0;
	for (int w = 0; w < NTM_HSG_RECENT_WAYS; w++) {
		if (g->recent[s][w].at_ms && memcmp(g->recent[s][w].addr, addr, 16) == 0) {
			pick = w;
			break;
		}
		if (g->recent[s][w].at_ms < g->recent[s][pick].at_ms)
			pick = w; /* the oldest (or a free way) makes room */
	}
	memcpy(g->recent[s][pick].addr, addr, 16);
	g->recent[s][pick].port = port;
	g->recent[s][pick].at_ms = now_ms ? now_ms : 1;
}

static bool mac2_ok(struct ntm_hsgate *g, const uint8_t *msg, const struct sockaddr *src)
{
	uint8_t cookie[NTM_COOKIE_LEN];

	if (ntm_mac2_absent(msg) || ntm_cookie_make(&g->secret, src, cookie) < 0)
		return false;
	return ntm_mac2_valid(msg, cookie);
}

enum ntm_hsgate_verdict ntm_hsgate_check(struct ntm_hsgate *g, const uint8_t *msg, size_t len,
					 const struct sockaddr *src, bool trusted, uint64_t now_ms)
{
	struct ntm_hs_init m;
	uint8_t addr[16];
	uint16_t port, recent_port = 0;

	if (ntm_hs_init_decode(msg, len, &m) < 0 ||
	    ntm_mac1_check(msg, NTM_HS_INIT_MAC2_OFF, g->pub) != 0)
		return NTM_HSG_BAD_MAC;
	if (ntm_addr_norm(src, addr, &port) < 0)
		return NTM_HSG_BAD_MAC;
	ntm_cookie_rotate(&g->secret, now_ms);
	bucket_refill(&g->global, now_ms);
	bucket_refill(&g->cookies, now_ms);
	if (trusted)
		return bucket_take(&g->global, 0) ? NTM_HSG_PROCESS : NTM_HSG_OVERLOAD;

	bool recent = recent_find(g, addr, now_ms, &recent_port);
	if (mac2_ok(g, msg, src)) {
		if (!recent && !ntm_ratelimit_allow(&g->proven, src, now_ms))
			return NTM_HSG_RATELIMIT;
		return bucket_take(&g->global, 0) ? NTM_HSG_PROCESS : NTM_HSG_OVERLOAD;
	}
	bool loaded = g->global.milli < g->reserve_milli + 1000 ||
		      (!recent && ntm_ratelimit_empty(&g->unproven, src, now_ms));
	if (loaded) {
		/* The endpoint that completed the session itself is not held
		 * to the per-destination limit, so a flood spoofing its address
		 * (not knowing its port) cannot keep its cookies from it. */
		bool own = recent && recent_port == port;
		if (!own && !ntm_ratelimit_allow(&g->cookie_dst, src, now_ms))
			return NTM_HSG_RATELIMIT;
		if (!bucket_take(&g->cookies, 0))
			return NTM_HSG_RATELIMIT;
		return NTM_HSG_COOKIE;
	}
	if (!recent)
		ntm_ratelimit_allow(&g->unproven, src, now_ms); /* not empty: checked above */
	return bucket_take(&g->global, g->reserve_milli) ? NTM_HSG_PROCESS : NTM_HSG_OVERLOAD;
}

int ntm_hsgate_cookie_reply(struct ntm_hsgate *g, const uint8_t *msg, const struct sockaddr *src,
			    uint8_t *out, size_t cap)
{
	struct ntm_hs_init m;
	uint8_t cookie[NTM_COOKIE_LEN];
	int ret;

	if (ntm_hs_init_decode(msg, NTM_HS_INIT_LEN, &m) < 0)
		return -EBADMSG;
	ret = ntm_cookie_make(&g->secret, src, cookie);
	if (ret < 0)
		return ret;
	return ntm_cookie_reply_seal(out, cap, g->reply_key, m.sender, m.mac1, cookie);
}
