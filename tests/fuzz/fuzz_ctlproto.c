/* fuzz_ctlproto.c - libFuzzer target for the local control-socket codec.
 *
 * Runs the header parser and every decoder on the input. Whatever a decoder
 * accepts must re-encode (the encoders apply the same predicates), and the
 * re-encoded message must decode and re-encode to the same bytes: what ntm
 * accepts it can send, and what it sends it accepts. Covers the optional
 * GAUGE (STATS), ECHO (PING), OFFLINE (TRYAGAIN) and LANES (PEER) attributes and the
 * WATCH request and events too. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ctlproto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t out1[NTM_LCTL_MSG_MAX], out2[NTM_LCTL_MSG_MAX];
static struct ntm_lctl_status_info st;
static struct ntm_lctl_peers peers;
static struct ntm_lctl_stats stats;

#define CHECK(x) do { if (!(x)) __builtin_trap(); } while (0)

/* Re-encodes a decoded request (the builders take plain arguments). */
static int encode_req(uint8_t *buf, const struct ntm_lctl_req *q)
{
	size_t cap = NTM_LCTL_MSG_MAX;
	uint32_t id = q->hdr.req_id;
	switch (q->hdr.type) {
	case NTM_LCTL_STATUS: return ntm_lctl_req_status(buf, cap, id);
	case NTM_LCTL_RESOLVE_NAME:
		return ntm_lctl_req_resolve_name(buf, cap, id, q->name, q->families,
						 q->has_wait_ms ? q->wait_ms : NTM_LCTL_WAIT_DEFAULT);
	case NTM_LCTL_RESOLVE_ADDR:
		return ntm_lctl_req_resolve_addr(buf, cap, id, q->addr.family, q->addr.addr);
	case NTM_LCTL_PEERS: return ntm_lctl_req_peers(buf, cap, id, q->offset);
	case NTM_LCTL_PING: return ntm_lctl_req_ping(buf, cap, id, q->name, q->count);
	case NTM_LCTL_STATS: return ntm_lctl_req_stats(buf, cap, id);
	case NTM_LCTL_REREGISTER: return ntm_lctl_req_reregister(buf, cap, id);
	case NTM_LCTL_RELOAD: return ntm_lctl_req_reload(buf, cap, id);
	case NTM_LCTL_WATCH: return ntm_lctl_req_watch(buf, cap, id);
	case NTM_LCTL_NETCHECK: return ntm_lctl_req_netcheck(buf, cap, id);
	case NTM_LCTL_DOWN: return ntm_lctl_req_down(buf, cap, id, q->name);
	}
	return -1;
}

static void check_req(const uint8_t *data, size_t size)
{
	struct ntm_lctl_req q, q2;
	if (ntm_lctl_req_decode(data, size, &q) != 0)
		return;
	int n1 = encode_req(out1, &q);
	CHECK(n1 > 0);
	CHECK(ntm_lctl_req_decode(out1, (size_t)n1, &q2) == 0);
	int n2 = encode_req(out2, &q2);
	CHECK(n2 == n1 && memcmp(out1, out2, (size_t)n1) == 0);
}

/* A non-OK reply re-encodes as an empty reply. */
static int encode_empty(uint8_t *buf, const struct ntm_lctl_hdr *h)
{
	return ntm_lctl_reply_empty(buf, NTM_LCTL_MSG_MAX, h->type & ~NTM_LCTL_REPLY & 0xff,
				    h->req_id, h->status);
}

static void check_resolve(const uint8_t *data, size_t size)
{
	struct ntm_lctl_hdr h, h2;
	struct ntm_lctl_resolve m, m2;
	if (ntm_lctl_decode_resolve(data, size, &h, &m) != 0)
		return;
	uint8_t req_type = h.type & ~NTM_LCTL_REPLY & 0xff;
	int n1 = h.status ? encode_empty(out1, &h)
			  : ntm_lctl_reply_resolve(out1, sizeof(out1), req_type, h.req_id, &m);
	CHECK(n1 > 0);
	CHECK(h.status != NTM_LCTL_OK || n1 <= NTM_LCTL_RESOLVE_MSG_MAX);
	CHECK(ntm_lctl_decode_resolve(out1, (size_t)n1, &h2, &m2) == 0);
	int n2 = h2.status ? encode_empty(out2, &h2)
			   : ntm_lctl_reply_resolve(out2, sizeof(out2), req_type, h2.req_id, &m2);
	CHECK(n2 == n1 && memcmp(out1, out2, (size_t)n1) == 0);
}

static void check_status(const uint8_t *data, size_t size)
{
	struct ntm_lctl_hdr h;
	if (ntm_lctl_decode_status(data, size, &h, &st) != 0)
		return;
	int n1 = h.status ? encode_empty(out1, &h) : ntm_lctl_reply_status(out1, sizeof(out1), h.req_id, &st);
	CHECK(n1 > 0);
	CHECK(ntm_lctl_decode_status(out1, (size_t)n1, &h, &st) == 0);
	int n2 = h.status ? encode_empty(out2, &h) : ntm_lctl_reply_status(out2, sizeof(out2), h.req_id, &st);
	CHECK(n2 == n1 && memcmp(out1, out2, (size_t)n1) == 0);
}

static void check_peers(const uint8_t *data, size_t size)
{
	struct ntm_lctl_hdr h;
	if (ntm_lctl_decode_peers(data, size, &h, &peers) != 0)
		return;
	int n1 = h.status ? encode_empty(out1, &h) : ntm_lctl_reply_peers(out1, sizeof(out1), h.req_id, &peers);
	CHECK(n1 > 0);
	CHECK(ntm_lctl_decode_peers(out1, (size_t)n1, &h, &peers) == 0);
	int n2 = h.status ? encode_empty(out2, &h) : ntm_lctl_reply_peers(out2, sizeof(out2), h.req_id, &peers);
	CHECK(n2 == n1 && memcmp(out1, out2, (size_t)n1) == 0);
}

static void check_ping(const uint8_t *data, size_t size)
{
	struct ntm_lctl_hdr h;
	struct ntm_lctl_ping_result m;
	if (ntm_lctl_decode_ping(data, size, &h, &m) != 0)
		return;
	int n1 = h.status ? encode_empty(out1, &h) : ntm_lctl_reply_ping(out1, sizeof(out1), h.req_id, &m);
	CHECK(n1 > 0);
	CHECK(ntm_lctl_decode_ping(out1, (size_t)n1, &h, &m) == 0);
	int n2 = h.status ? encode_empty(out2, &h) : ntm_lctl_reply_ping(out2, sizeof(out2), h.req_id, &m);
	CHECK(n2 == n1 && memcmp(out1, out2, (size_t)n1) == 0);
}

static void check_stats(const uint8_t *data, size_t size)
{
	struct ntm_lctl_hdr h;
	if (ntm_lctl_decode_stats(data, size, &h, &stats) != 0)
		return;
	CHECK(stats.n <= NTM_LCTL_MAX_COUNTERS);
	int n1 = h.status ? encode_empty(out1, &h) : ntm_lctl_reply_stats(out1, sizeof(out1), h.req_id, &stats);
	CHECK(n1 > 0);
	CHECK(ntm_lctl_decode_stats(out1, (size_t)n1, &h, &stats) == 0);
	int n2 = h.status ? encode_empty(out2, &h) : ntm_lctl_reply_stats(out2, sizeof(out2), h.req_id, &stats);
	CHECK(n2 == n1 && memcmp(out1, out2, (size_t)n1) == 0);
}

static void check_watch(const uint8_t *data, size_t size)
{
	struct ntm_lctl_hdr h;
	struct ntm_lctl_event m, m2;
	if (ntm_lctl_decode_watch(data, size, &h, &m) != 0)
		return;
	int n1 = h.status ? encode_empty(out1, &h) : ntm_lctl_reply_watch(out1, sizeof(out1), h.req_id, &m);
	CHECK(n1 > 0);
	CHECK(ntm_lctl_decode_watch(out1, (size_t)n1, &h, &m2) == 0);
	int n2 = h.status ? encode_empty(out2, &h) : ntm_lctl_reply_watch(out2, sizeof(out2), h.req_id, &m2);
	CHECK(n2 == n1 && memcmp(out1, out2, (size_t)n1) == 0);
}

/* OFFLINE in a TRYAGAIN reply: what is read re-encodes and reads back. */
static void check_offline(const uint8_t *data, size_t size)
{
	struct ntm_lctl_hdr h;
	uint32_t seen, seen2;
	char text[96];
	int r = ntm_lctl_decode_offline(data, size, &seen);
	if (r != 1)
		return;
	ntm_lctl_offline_text(text, sizeof(text), seen);
	CHECK(ntm_lctl_header_parse(data, size, &h) == 0 && h.status == NTM_LCTL_TRYAGAIN);
	uint8_t req_type = h.type & ~NTM_LCTL_REPLY & 0xff;
	int n1 = ntm_lctl_reply_offline(out1, sizeof(out1), req_type, h.req_id, seen);
	if (n1 == -EINVAL)   /* OFFLINE in a reply to another type: read, never sent */
		return;
	CHECK(n1 > 0);
	CHECK(ntm_lctl_decode_offline(out1, (size_t)n1, &seen2) == 1 && seen2 == seen);
}

static void check_netcheck(const uint8_t *data, size_t size)
{
	struct ntm_lctl_hdr h;
	struct ntm_lctl_netcheck m;
	if (ntm_lctl_decode_netcheck(data, size, &h, &m) != 0)
		return;
	CHECK(m.n_fam <= NTM_LCTL_NC_MAX_FAM);
	int n1 = h.status ? encode_empty(out1, &h) : ntm_lctl_reply_netcheck(out1, sizeof(out1), h.req_id, &m);
	CHECK(n1 > 0);
	CHECK(ntm_lctl_decode_netcheck(out1, (size_t)n1, &h, &m) == 0);
	int n2 = h.status ? encode_empty(out2, &h) : ntm_lctl_reply_netcheck(out2, sizeof(out2), h.req_id, &m);
	CHECK(n2 == n1 && memcmp(out1, out2, (size_t)n1) == 0);
}

/* The replies without attributes: REREGISTER's and RELOAD's. */
static void check_empty(const uint8_t *data, size_t size, uint8_t req_type)
{
	struct ntm_lctl_hdr h;
	uint8_t reply_type = (uint8_t)(req_type | NTM_LCTL_REPLY);
	if (ntm_lctl_decode_empty(data, size, reply_type, &h) != 0)
		return;
	int n1 = ntm_lctl_reply_empty(out1, sizeof(out1), req_type, h.req_id, h.status);
	CHECK(n1 == NTM_LCTL_HDR_LEN);
	CHECK(ntm_lctl_decode_empty(out1, (size_t)n1, reply_type, &h) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ntm_lctl_hdr h;
	/* A heap copy of exactly size bytes, so ASan sees any overread. */
	uint8_t *copy = malloc(size ? size : 1);
	if (!copy)
		return 0;
	if (size)
		memcpy(copy, data, size);

	if (ntm_lctl_header_parse(copy, size, &h) == 0)
		CHECK(h.body_len <= NTM_LCTL_BODY_MAX);
	(void)ntm_lctl_status_name(h.status);
	(void)ntm_lctl_type_name(h.type);
	check_req(copy, size);
	check_resolve(copy, size);
	check_status(copy, size);
	check_peers(copy, size);
	check_ping(copy, size);
	check_stats(copy, size);
	check_offline(copy, size);
	check_watch(copy, size);
	check_netcheck(copy, size);
	check_empty(copy, size, NTM_LCTL_REREGISTER);
	check_empty(copy, size, NTM_LCTL_RELOAD);
	free(copy);
	return 0;
}
