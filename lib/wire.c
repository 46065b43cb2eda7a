/* wire.c - outer datagrams (doc/protocol.md section 2): HANDSHAKE_INIT,
 * HANDSHAKE_RESP, DATA, RELAY, and mac1.
 *
 * Every decoder reads through a cursor, checks each header field on its own,
 * and requires the exact size (or the size range) the specification gives.
 * Every encoder refuses (-EINVAL) the values its decoder would reject, so
 * whatever ntm sends, ntm accepts. Control messages and the common field
 * encodings (names, endpoints) are in wire_ctl.c. */
#include <errno.h>
#include <string.h>

#include "crypto.h"
#include "cursor.h"
#include "wire.h"

#define MAC1_LABEL "ntm1-mac1"
#define MAC1_LABEL_LEN (sizeof(MAC1_LABEL) - 1)

int ntm_wire_type(const uint8_t *buf, size_t len)
{
	struct ntm_rd r = ntm_rd_init(buf, len);
	uint8_t type = ntm_rd_u8(&r);
	uint8_t version = ntm_rd_u8(&r);

	ntm_rd_take(&r, 2);
	if (r.err)
		return -EBADMSG;
	if (version != NTM_WIRE_VERSION)
		return -EBADMSG;
	switch (type) {
	case NTM_MSG_HS_INIT:
	case NTM_MSG_HS_RESP:
	case NTM_MSG_PROBE:
	case NTM_MSG_DATA:
	case NTM_MSG_RELAY:
	case NTM_MSG_COOKIE_REPLY:
	case NTM_MSG_HS_REFUSE:
	case NTM_MSG_RELAY_PROBE:
		return type;
	default:
		return -EBADMSG;
	}
}

const char *ntm_msg_type_name(int type)
{
	switch (type) {
	case NTM_MSG_HS_INIT:
		return "HANDSHAKE_INIT";
	case NTM_MSG_HS_RESP:
		return "HANDSHAKE_RESP";
	case NTM_MSG_PROBE:
		return "PROBE";
	case NTM_MSG_DATA:
		return "DATA";
	case NTM_MSG_RELAY:
		return "RELAY";
	case NTM_MSG_COOKIE_REPLY:
		return "COOKIE_REPLY";
	case NTM_MSG_HS_REFUSE:
		return "HANDSHAKE_REFUSE";
	case NTM_MSG_RELAY_PROBE:
		return "RELAY_PROBE";
	default:
		return "unknown";
	}
}

/* Reads type and version and fails the cursor unless they are want and 1. */
static void rd_head(struct ntm_rd *r, uint8_t want)
{
	if (ntm_rd_u8(r) != want)
		ntm_rd_fail(r);
	if (ntm_rd_u8(r) != NTM_WIRE_VERSION)
		ntm_rd_fail(r);
}

/* Reads a reserved field of n bytes (n <= 8) and fails the cursor unless zero. */
static void rd_reserved(struct ntm_rd *r, size_t n)
{
	const uint8_t *p = ntm_rd_take(r, n);

	for (size_t i = 0; p && i < n; i++) {
		if (p[i] != 0)
			ntm_rd_fail(r);
	}
}

/* Copies n bytes into the writer; src may overlap the destination (a caller
 * may build the noise bytes or the inner datagram in place). */
static void wr_move(struct ntm_wr *w, const uint8_t *src, size_t n)
{
	uint8_t *p = ntm_wr_take(w, n);

	if (p && n && p != src)
		memmove(p, src, n);
}

static bool suite_valid(uint8_t suite)
{
	return suite == NTM_SUITE_AESGCM || suite == NTM_SUITE_CHACHAPOLY;
}

static bool purpose_valid(uint8_t purpose)
{
	return purpose >= NTM_PURPOSE_DC && purpose <= NTM_PURPOSE_FED;
}

/* ---- HANDSHAKE_INIT (2.1) ---- */

int ntm_hs_init_decode(const uint8_t *buf, size_t len, struct ntm_hs_init *m)
{
	struct ntm_rd r = ntm_rd_init(buf, len);

	memset(m, 0, sizeof(*m));
	if (len != NTM_HS_INIT_LEN)
		return -EBADMSG;
	rd_head(&r, NTM_MSG_HS_INIT);
	m->suite = ntm_rd_u8(&r);
	if (!suite_valid(m->suite))
		ntm_rd_fail(&r);
	m->purpose = ntm_rd_u8(&r);
	if (!purpose_valid(m->purpose))
		ntm_rd_fail(&r);
	m->sender = ntm_rd_u32(&r);
	if (m->sender == 0)
		ntm_rd_fail(&r);
	m->noise = ntm_rd_take(&r, NTM_HS_INIT_NOISE_LEN);
	m->mac1 = ntm_rd_take(&r, NTM_MAC1_LEN);
	m->mac2 = ntm_rd_take(&r, NTM_MAC2_LEN);
	if (!ntm_rd_done(&r)) {
		memset(m, 0, sizeof(*m));
		return -EBADMSG;
	}
	return 0;
}

int ntm_hs_init_encode(uint8_t *buf, size_t cap, uint8_t suite, uint8_t purpose,
		       uint32_t sender, const uint8_t noise[NTM_HS_INIT_NOISE_LEN])
{
	struct ntm_wr w = ntm_wr_init(buf, cap);

	if (!suite_valid(suite))
		return -EINVAL;
	if (!purpose_valid(purpose))
		return -EINVAL;
	if (sender == 0)
		return -EINVAL;
	if (cap < NTM_HS_INIT_LEN)
		return -EMSGSIZE;
	ntm_wr_u8(&w, NTM_MSG_HS_INIT);
	ntm_wr_u8(&w, NTM_WIRE_VERSION);
	ntm_wr_u8(&w, suite);
	ntm_wr_u8(&w, purpose);
	ntm_wr_u32(&w, sender);
	wr_move(&w, noise, NTM_HS_INIT_NOISE_LEN);
	uint8_t *macs = ntm_wr_take(&w, NTM_MAC1_LEN + NTM_MAC2_LEN);
	if (w.err)
		return -EMSGSIZE;
	memset(macs, 0, NTM_MAC1_LEN + NTM_MAC2_LEN);
	return (int)w.off;
}

void ntm_hs_prologue(uint8_t out[NTM_PROLOGUE_LEN], uint8_t suite, uint8_t purpose, uint32_t sender)
{
	memcpy(out, "ntm1", 4);
	out[4] = NTM_MSG_HS_INIT;
	out[5] = NTM_WIRE_VERSION;
	out[6] = suite;
	out[7] = purpose;
	ntm_put_be32(out + 8, sender);
}

/* ---- HANDSHAKE_RESP (2.2) ---- */

int ntm_hs_resp_decode(const uint8_t *buf, size_t len, struct ntm_hs_resp *m)
{
	struct ntm_rd r = ntm_rd_init(buf, len);

	memset(m, 0, sizeof(*m));
	if (len != NTM_HS_RESP_LEN)
		return -EBADMSG;
	rd_head(&r, NTM_MSG_HS_RESP);
	rd_reserved(&r, 2);
	m->sender = ntm_rd_u32(&r);
	if (m->sender == 0)
		ntm_rd_fail(&r);
	m->receiver = ntm_rd_u32(&r);
	if (m->receiver == 0)
		ntm_rd_fail(&r);
	m->noise = ntm_rd_take(&r, NTM_HS_RESP_NOISE_LEN);
	m->mac1 = ntm_rd_take(&r, NTM_MAC1_LEN);
	if (!ntm_rd_done(&r)) {
		memset(m, 0, sizeof(*m));
		return -EBADMSG;
	}
	return 0;
}

int ntm_hs_resp_encode(uint8_t *buf, size_t cap, uint32_t sender, uint32_t receiver,
		       const uint8_t noise[NTM_HS_RESP_NOISE_LEN])
{
	struct ntm_wr w = ntm_wr_init(buf, cap);

	if (sender == 0)
		return -EINVAL;
	if (receiver == 0)
		return -EINVAL;
	if (cap < NTM_HS_RESP_LEN)
		return -EMSGSIZE;
	ntm_wr_u8(&w, NTM_MSG_HS_RESP);
	ntm_wr_u8(&w, NTM_WIRE_VERSION);
	ntm_wr_u16(&w, 0);
	ntm_wr_u32(&w, sender);
	ntm_wr_u32(&w, receiver);
	wr_move(&w, noise, NTM_HS_RESP_NOISE_LEN);
	uint8_t *mac1 = ntm_wr_take(&w, NTM_MAC1_LEN);
	if (w.err)
		return -EMSGSIZE;
	memset(mac1, 0, NTM_MAC1_LEN);
	return (int)w.off;
}

/* ---- COOKIE_REPLY (2.9) ---- */

int ntm_cookie_reply_decode(const uint8_t *buf, size_t len, struct ntm_cookie_reply *m)
{
	struct ntm_rd r = ntm_rd_init(buf, len);

	memset(m, 0, sizeof(*m));
	if (len != NTM_COOKIE_REPLY_LEN)
		return -EBADMSG;
	rd_head(&r, NTM_MSG_COOKIE_REPLY);
	rd_reserved(&r, 2);
	m->receiver = ntm_rd_u32(&r);
	if (m->receiver == 0)
		ntm_rd_fail(&r);
	m->nonce = ntm_rd_take(&r, NTM_COOKIE_NONCE_LEN);
	m->sealed = ntm_rd_take(&r, NTM_COOKIE_LEN + 16);
	if (!ntm_rd_done(&r)) {
		memset(m, 0, sizeof(*m));
		return -EBADMSG;
	}
	return 0;
}

int ntm_cookie_reply_header(uint8_t *buf, size_t cap, uint32_t receiver)
{
	struct ntm_wr w = ntm_wr_init(buf, cap);

	if (receiver == 0)
		return -EINVAL;
	if (cap < NTM_COOKIE_REPLY_LEN)
		return -EMSGSIZE;
	ntm_wr_u8(&w, NTM_MSG_COOKIE_REPLY);
	ntm_wr_u8(&w, NTM_WIRE_VERSION);
	ntm_wr_u16(&w, 0);
	ntm_wr_u32(&w, receiver);
	if (w.err)
		return -EMSGSIZE;
	return NTM_COOKIE_REPLY_LEN;
}

/* ---- HANDSHAKE_REFUSE (2.10) ---- */

int ntm_hs_refuse_decode(const uint8_t *buf, size_t len, struct ntm_hs_refuse *m)
{
	struct ntm_rd r = ntm_rd_init(buf, len);

	memset(m, 0, sizeof(*m));
	if (len != NTM_HS_REFUSE_LEN)
		return -EBADMSG;
	rd_head(&r, NTM_MSG_HS_REFUSE);
	rd_reserved(&r, 2);
	m->receiver = ntm_rd_u32(&r);
	if (m->receiver == 0)
		ntm_rd_fail(&r);
	m->noise = ntm_rd_take(&r, NTM_HS_REFUSE_NOISE_LEN);
	m->mac1 = ntm_rd_take(&r, NTM_MAC1_LEN);
	if (!ntm_rd_done(&r)) {
		memset(m, 0, sizeof(*m));
		return -EBADMSG;
	}
	return 0;
}

int ntm_hs_refuse_encode(uint8_t *buf, size_t cap, uint32_t receiver,
			 const uint8_t noise[NTM_HS_REFUSE_NOISE_LEN])
{
	struct ntm_wr w = ntm_wr_init(buf, cap);

	if (receiver == 0)
		return -EINVAL;
	if (cap < NTM_HS_REFUSE_LEN)
		return -EMSGSIZE;
	ntm_wr_u8(&w, NTM_MSG_HS_REFUSE);
	ntm_wr_u8(&w, NTM_WIRE_VERSION);
	ntm_wr_u16(&w, 0);
	ntm_wr_u32(&w, receiver);
	wr_move(&w, noise, NTM_HS_REFUSE_NOISE_LEN);
	uint8_t *mac1 = ntm_wr_take(&w, NTM_MAC1_LEN);
	if (w.err)
		return -EMSGSIZE;
	memset(mac1, 0, NTM_MAC1_LEN);
	return (int)w.off;
}

static bool refuse_reason_ok(uint8_t reason)
{
	return reason == NTM_REFUSE_TS_OLD || reason == NTM_REFUSE_TS_AHEAD ||
	       reason == NTM_REFUSE_NOT_ENROLLED;
}

int ntm_refuse_decode(const uint8_t *buf, size_t len, struct ntm_refuse *out)
{
	struct ntm_rd r = ntm_rd_init(buf, len);
	const uint8_t *p;

	memset(out, 0, sizeof(*out));
	out->reason = ntm_rd_u8(&r);
	if (!refuse_reason_ok(out->reason))
		ntm_rd_fail(&r);
	rd_reserved(&r, 3);
	if ((p = ntm_rd_take(&r, 12)))
		memcpy(out->dc_time, p, 12);
	if ((p = ntm_rd_take(&r, 12)))
		memcpy(out->last_ts, p, 12);
	if (!ntm_rd_done(&r)) {
		memset(out, 0, sizeof(*out));
		return -EBADMSG;
	}
	return 0;
}

int ntm_refuse_encode(uint8_t *buf, size_t cap, const struct ntm_refuse *in)
{
	struct ntm_wr w = ntm_wr_init(buf, cap);

	if (!refuse_reason_ok(in->reason))
		return -EINVAL;
	ntm_wr_u8(&w, in->reason);
	ntm_wr_u8(&w, 0);
	ntm_wr_u16(&w, 0);
	wr_move(&w, in->dc_time, 12);
	wr_move(&w, in->last_ts, 12);
	return w.err ? -EMSGSIZE : (int)w.off;
}

/* ---- mac1 (2.3) ---- */

/* mac1 of msg[0 .. len-16) for the receiver whose static key is pub. */
static int mac1_compute(uint8_t out[NTM_MAC1_LEN], const uint8_t *msg, size_t len,
			const uint8_t pub[32])
{
	uint8_t in[MAC1_LABEL_LEN + 32], key[NTM_HASH_LEN], mac[NTM_HASH_LEN];
	int ret;

	if (len <= NTM_MAC1_LEN)
		return -EINVAL;
	memcpy(in, MAC1_LABEL, MAC1_LABEL_LEN);
	memcpy(in + MAC1_LABEL_LEN, pub, 32);
	ret = ntm_sha256(key, in, sizeof(in));
	if (ret == 0)
		ret = ntm_hmac_sha256(mac, key, sizeof(key), msg, len - NTM_MAC1_LEN);
	if (ret == 0)
		memcpy(out, mac, NTM_MAC1_LEN);
	ntm_wipe(key, sizeof(key));
	ntm_wipe(mac, sizeof(mac));
	return ret;
}

int ntm_mac1_put(uint8_t *msg, size_t len, const uint8_t receiver_pub[32])
{
	uint8_t mac[NTM_MAC1_LEN];
	int ret = mac1_compute(mac, msg, len, receiver_pub);

	if (ret < 0)
		return ret;
	memcpy(msg + (len - NTM_MAC1_LEN), mac, NTM_MAC1_LEN);
	return 0;
}

int ntm_mac1_check(const uint8_t *msg, size_t len, const uint8_t receiver_pub[32])
{
	uint8_t mac[NTM_MAC1_LEN];
	int ret = mac1_compute(mac, msg, len, receiver_pub);

	if (ret < 0)
		return ret;
	if (ntm_memeq_ct(mac, msg + (len - NTM_MAC1_LEN), NTM_MAC1_LEN) != 0)
		return -EBADMSG;
	return 0;
}

/* ---- DATA (2.4) ---- */

int ntm_data_decode(const uint8_t *buf, size_t len, struct ntm_data *m)
{
	struct ntm_rd r = ntm_rd_init(buf, len);

	memset(m, 0, sizeof(*m));
	if (len < NTM_DATA_OVERHEAD)
		return -EBADMSG;
	if (len > NTM_MAX_DATAGRAM)
		return -EBADMSG;
	rd_head(&r, NTM_MSG_DATA);
	rd_reserved(&r, 2);
	m->receiver = ntm_rd_u32(&r);
	if (m->receiver == 0)
		ntm_rd_fail(&r);
	m->counter = ntm_rd_u64(&r);
	m->header = buf;
	m->ct_len = ntm_rd_left(&r);
	m->ct = ntm_rd_take(&r, m->ct_len);
	if (!ntm_rd_done(&r)) {
		memset(m, 0, sizeof(*m));
		return -EBADMSG;
	}
	return 0;
}

int ntm_data_header_encode(uint8_t *buf, size_t cap, uint32_t receiver, uint64_t counter)
{
	struct ntm_wr w = ntm_wr_init(buf, cap);

	if (receiver == 0)
		return -EINVAL;
	ntm_wr_u8(&w, NTM_MSG_DATA);
	ntm_wr_u8(&w, NTM_WIRE_VERSION);
	ntm_wr_u16(&w, 0);
	ntm_wr_u32(&w, receiver);
	ntm_wr_u64(&w, counter);
	if (w.err)
		return -EMSGSIZE;
	return (int)w.off;
}

/* ---- PROBE (2.6) ---- */

static bool probe_fields_ok(uint8_t kind, uint8_t role, uint64_t route_id, uint64_t seq,
			    uint64_t echo)
{
	if (kind != NTM_PROBE_REQUEST && kind != NTM_PROBE_REPLY)
		return false;
	if (role != 1 && role != 2)
		return false;
	if (route_id == 0 || seq == 0)
		return false;
	return kind == NTM_PROBE_REQUEST ? echo == 0 : echo != 0;
}

int ntm_probe_decode(const uint8_t *buf, size_t len, struct ntm_probe *p)
{
	struct ntm_rd r = ntm_rd_init(buf, len);

	memset(p, 0, sizeof(*p));
	if (len != NTM_PROBE_LEN)
		return -EBADMSG;
	rd_head(&r, NTM_MSG_PROBE);
	p->kind = ntm_rd_u8(&r);
	p->role = ntm_rd_u8(&r);
	p->route_id = ntm_rd_u64(&r);
	p->seq = ntm_rd_u64(&r);
	p->echo = ntm_rd_u64(&r);
	p->tag = ntm_rd_take(&r, NTM_TAG_LEN);
	if (!ntm_rd_done(&r) || !probe_fields_ok(p->kind, p->role, p->route_id, p->seq, p->echo)) {
		memset(p, 0, sizeof(*p));
		return -EBADMSG;
	}
	return 0;
}

int ntm_probe_encode(uint8_t *buf, size_t cap, const struct ntm_probe *p)
{
	struct ntm_wr w = ntm_wr_init(buf, cap);

	if (!probe_fields_ok(p->kind, p->role, p->route_id, p->seq, p->echo))
		return -EINVAL;
	ntm_wr_u8(&w, NTM_MSG_PROBE);
	ntm_wr_u8(&w, NTM_WIRE_VERSION);
	ntm_wr_u8(&w, p->kind);
	ntm_wr_u8(&w, p->role);
	ntm_wr_u64(&w, p->route_id);
	ntm_wr_u64(&w, p->seq);
	ntm_wr_u64(&w, p->echo);
	uint8_t *tag = ntm_wr_take(&w, NTM_TAG_LEN);
	if (w.err)
		return -EMSGSIZE;
	memset(tag, 0, NTM_TAG_LEN);
	return (int)w.off;
}

/* ---- RELAY (2.5) ---- */

/* m = 0 (keepalive) or a whole inner datagram of at least 32 bytes, and the
 * RELAY datagram itself no larger than NTM_MAX_DATAGRAM. */
static bool relay_inner_len_valid(size_t m)
{
	if (m > NTM_MAX_DATAGRAM - NTM_RELAY_OVERHEAD)
		return false;
	return m == 0 || m >= NTM_DATA_OVERHEAD;
}

int ntm_relay_decode(const uint8_t *buf, size_t len, struct ntm_relay_msg *m)
{
	struct ntm_rd r = ntm_rd_init(buf, len);

	memset(m, 0, sizeof(*m));
	if (len < NTM_RELAY_OVERHEAD)
		return -EBADMSG;
	if (!relay_inner_len_valid(len - NTM_RELAY_OVERHEAD))
		return -EBADMSG;
	rd_head(&r, NTM_MSG_RELAY);
	m->side = ntm_rd_u8(&r);
	if (m->side > 1)
		ntm_rd_fail(&r);
	m->direction = ntm_rd_u8(&r);
	if (m->direction > 1)
		ntm_rd_fail(&r);
	m->alloc_id = ntm_rd_u32(&r);
	if (m->alloc_id == 0)
		ntm_rd_fail(&r);
	m->counter = ntm_rd_u64(&r);
	m->inner_len = len - NTM_RELAY_OVERHEAD;
	m->inner = ntm_rd_take(&r, m->inner_len);
	if (m->inner_len == 0)
		m->inner = NULL;
	m->tag = ntm_rd_take(&r, NTM_TAG_LEN);
	m->ad_len = NTM_RELAY_HDR_LEN + m->inner_len;
	if (!ntm_rd_done(&r)) {
		memset(m, 0, sizeof(*m));
		return -EBADMSG;
	}
	return 0;
}

int ntm_relay_encode(uint8_t *buf, size_t cap, uint8_t side, uint8_t direction,
		     uint32_t alloc_id, uint64_t counter, const uint8_t *inner, size_t inner_len)
{
	struct ntm_wr w = ntm_wr_init(buf, cap);

	if (side > 1)
		return -EINVAL;
	if (direction > 1)
		return -EINVAL;
	if (alloc_id == 0)
		return -EINVAL;
	if (!relay_inner_len_valid(inner_len))
		return -EINVAL;
	if (inner_len > 0 && inner == NULL)
		return -EINVAL;
	ntm_wr_u8(&w, NTM_MSG_RELAY);
	ntm_wr_u8(&w, NTM_WIRE_VERSION);
	ntm_wr_u8(&w, side);
	ntm_wr_u8(&w, direction);
	ntm_wr_u32(&w, alloc_id);
	ntm_wr_u64(&w, counter);
	wr_move(&w, inner, inner_len);
	uint8_t *tag = ntm_wr_take(&w, NTM_TAG_LEN);
	if (w.err)
		return -EMSGSIZE;
	memset(tag, 0, NTM_TAG_LEN);
	return (int)w.off;
}

/* ---- RELAY_PROBE (2.11) ---- */

static bool relay_probe_ok(const struct ntm_relay_probe *p)
{
	if (p->kind != NTM_RELAY_PROBE_REQUEST && p->kind != NTM_RELAY_PROBE_ECHO)
		return false;
	return p->token.key_id != 0;
}

int ntm_relay_probe_decode(const uint8_t *buf, size_t len, struct ntm_relay_probe *p)
{
	struct ntm_rd r = ntm_rd_init(buf, len);

	memset(p, 0, sizeof(*p));
	if (len != NTM_RELAY_PROBE_LEN)
		return -EBADMSG;
	rd_head(&r, NTM_MSG_RELAY_PROBE);
	p->kind = ntm_rd_u8(&r);
	rd_reserved(&r, 1);
	p->nonce = ntm_rd_u64(&r);
	p->token.key_id = ntm_rd_u32(&r);
	p->token.not_after_ms = ntm_rd_u32(&r);
	ntm_rd_copy(&r, p->token.mac, sizeof(p->token.mac));
	if (!ntm_rd_done(&r) || !relay_probe_ok(p)) {
		memset(p, 0, sizeof(*p));
		return -EBADMSG;
	}
	return 0;
}

int ntm_relay_probe_encode(uint8_t *buf, size_t cap, const struct ntm_relay_probe *p)
{
	struct ntm_wr w = ntm_wr_init(buf, cap);

	if (!relay_probe_ok(p))
		return -EINVAL;
	ntm_wr_u8(&w, NTM_MSG_RELAY_PROBE);
	ntm_wr_u8(&w, NTM_WIRE_VERSION);
	ntm_wr_u8(&w, p->kind);
	ntm_wr_u8(&w, 0);
	ntm_wr_u64(&w, p->nonce);
	ntm_wr_u32(&w, p->token.key_id);
	ntm_wr_u32(&w, p->token.not_after_ms);
	ntm_wr_bytes(&w, p->token.mac, sizeof(p->token.mac));
	if (w.err)
		return -EMSGSIZE;
	return (int)w.off;
}
