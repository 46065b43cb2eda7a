/* dc_diag.c - rate-limited operator diagnostics for handshakes the DC
 * cannot take (dc_diag.h). Pure: no clock, no I/O. */
#include <stdio.h>
#include <string.h>

#include "dc_diag.h"
#include "ratelimit.h"

void dc_diag_init(struct dc_diag *g, uint64_t seed)
{
	memset(g, 0, sizeof(*g));
	g->seed = seed;
	g->log_tokens = DC_DIAG_LOG_BURST;
	g->refuse_tokens = DC_DIAG_REFUSE_RATE;
}

/* Refill a bucket of cap tokens at rate per period_ms. */
static void refill(uint32_t *tokens, uint64_t *last_ms, uint32_t cap, uint32_t rate,
		   uint64_t period_ms, uint64_t now_ms)
{
	if (now_ms < *last_ms) {
		*last_ms = now_ms;
		return;
	}
	uint64_t add = (now_ms - *last_ms) * rate / period_ms;
	if (!add)
		return;
	*tokens = *tokens + add > cap ? cap : (uint32_t)(*tokens + add);
	/* keep the remainder of a partial token */
	*last_ms = *tokens == cap ? now_ms : *last_ms + add * period_ms / rate;
}

bool dc_diag_log_allow(struct dc_diag *g, enum dc_diag_kind k, const struct sockaddr *src,
		       uint64_t now_ms)
{
	uint8_t key[17];
	uint16_t port;

	if (ntm_addr_norm(src, key, &port) < 0)
		memset(key, 0, 16);
	key[16] = (uint8_t)k;
	uint64_t h = ntm_addr_hash(g->seed, key, sizeof(key)) | 1; /* 0: empty slot */
	size_t set = (size_t)(h % (DC_DIAG_SLOTS / DC_DIAG_WAYS)) * DC_DIAG_WAYS, victim = set;

	/* set-associative, the least recently logged way replaced: a handful
	 * of sources never push each other out (a direct-mapped table let two
	 * of five sources share a slot now and then, and log twice a minute) */
	for (size_t i = set; i < set + DC_DIAG_WAYS; i++) {
		if (g->slot[i].key == h) {
			if (now_ms - g->slot[i].last_ms < DC_DIAG_PER_SOURCE_MS) {
				g->suppressed++;
				return false;
			}
			victim = i;
			break;
		}
		if (g->slot[victim].key &&
		    (!g->slot[i].key || g->slot[i].last_ms < g->slot[victim].last_ms))
			victim = i; /* an empty way, else the oldest */
	}
	refill(&g->log_tokens, &g->log_tokens_ms, DC_DIAG_LOG_BURST, DC_DIAG_LOG_RATE, 60000,
	       now_ms);
	if (!g->log_tokens) {
		g->suppressed++;
		return false;
	}
	g->log_tokens--;
	g->slot[victim].key = h;
	g->slot[victim].last_ms = now_ms;
	return true;
}

bool dc_diag_refuse_allow(struct dc_diag *g, uint64_t now_ms)
{
	refill(&g->refuse_tokens, &g->refuse_ms, DC_DIAG_REFUSE_RATE, DC_DIAG_REFUSE_RATE, 1000,
	       now_ms);
	if (!g->refuse_tokens)
		return false;
	g->refuse_tokens--;
	return true;
}

void dc_diag_fmt_bad_mac(char *buf, size_t cap, const char *src, const char *dc_key)
{
	snprintf(buf, cap, "handshake from %s with a bad mac1: the node's [DC] PublicKey is not "
		 "this DC's key (%s); dropped unanswered", src, dc_key);
}

void dc_diag_fmt_unenrolled(char *buf, size_t cap, const char *src, const char *key,
			    bool refused)
{
	snprintf(buf, cap, "handshake from %s with key %s, which is not enrolled (%s); to enrol "
		 "it: ntm-dcctl node add NAME %s", src, key,
		 refused ? "refused" : "dropped", key);
}

void dc_diag_fmt_skew(char *buf, size_t cap, const char *node, const char *src, int64_t s,
		      bool ahead)
{
	if (ahead)
		snprintf(buf, cap, "%s: handshake from %s refused: clock skew: stamped %lld s ahead "
			 "of this DC's clock (the node's clock or this one is wrong)", node, src,
			 (long long)s);
	else
		snprintf(buf, cap, "%s: handshake from %s refused: clock skew: stamped %lld s before "
			 "the last one accepted from this key (its clock went back, or a replay)",
			 node, src, (long long)s);
}
