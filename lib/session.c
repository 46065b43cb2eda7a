/* session.c - IK handshake framing and DATA sessions; see session.h. */
#include "session.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util.h"

static const char *const suite_names[] = {
	[NTM_SUITE_AESGCM] = "Noise_IK_25519_AESGCM_SHA256",
	[NTM_SUITE_CHACHAPOLY] = "Noise_IK_25519_ChaChaPoly_SHA256",
};

const char *ntm_suite_protocol(uint8_t suite)
{
	if (suite != NTM_SUITE_AESGCM && suite != NTM_SUITE_CHACHAPOLY)
		return NULL;
	return suite_names[suite];
}

int ntm_identity_init(struct ntm_identity *id, const uint8_t priv[NTM_DH_LEN])
{
	memcpy(id->priv, priv, NTM_DH_LEN);
	return ntm_x25519_public(id->pub, id->priv);
}

void ntm_identity_clear(struct ntm_identity *id)
{
	ntm_wipe(id, sizeof(*id));
}

void ntm_tai64n_now(uint8_t out[12])
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ntm_put_be64(out, (UINT64_C(1) << 62) + (uint64_t)ts.tv_sec);
	ntm_put_be32(out + 8, (uint32_t)ts.tv_nsec);
}

void ntm_session_clear(struct ntm_session *s)
{
	ntm_noise_cs_clear(&s->tx);
	ntm_noise_cs_clear(&s->rx);
	ntm_wipe(s, sizeof(*s));
}

static int noise_start(struct ntm_noise_hs *hs, const struct ntm_identity *me, bool initiator,
		       const uint8_t *rs, uint8_t suite, uint8_t purpose, uint32_t sender)
{
	uint8_t prologue[NTM_PROLOGUE_LEN];
	const char *proto = ntm_suite_protocol(suite);

	if (!proto)
		return -EBADMSG;
	ntm_hs_prologue(prologue, suite, purpose, sender);
	struct ntm_noise_config cfg = {
		.protocol_name = proto,
		.initiator = initiator,
		.prologue = prologue,
		.prologue_len = sizeof(prologue),
		.s_priv = me->priv,
		.rs = rs,
	};
	return ntm_noise_hs_init(hs, &cfg);
}

int ntm_hs_initiate(struct ntm_hs_pending *p, const struct ntm_identity *me,
		    const uint8_t remote_pub[NTM_DH_LEN], uint8_t suite, uint8_t purpose,
		    uint32_t local_index, uint64_t route_id, uint8_t *out, size_t cap)
{
	uint8_t payload[NTM_HS_INIT_PAYLOAD_LEN], noise[NTM_HS_INIT_NOISE_LEN];
	size_t nlen = 0;
	int ret;

	if (cap < NTM_HS_INIT_LEN)
		return -EMSGSIZE;
	memset(p, 0, sizeof(*p));
	ret = noise_start(&p->hs, me, true, remote_pub, suite, purpose, local_index);
	if (ret < 0)
		goto fail;
	ntm_tai64n_now(payload);
	ntm_put_be64(payload + 12, route_id);
	ret = ntm_noise_write(&p->hs, payload, sizeof(payload), noise, sizeof(noise), &nlen);
	if (ret < 0)
		goto fail;
	if (nlen != sizeof(noise)) {
		ret = -EPROTO;
		goto fail;
	}
	ret = ntm_hs_init_encode(out, cap, suite, purpose, local_index, noise);
	if (ret < 0)
		goto fail;
	ret = ntm_mac1_put(out, NTM_HS_INIT_MAC2_OFF, remote_pub);
	if (ret < 0)
		goto fail;
	p->local_index = local_index;
	p->suite = suite;
	p->purpose = purpose;
	memcpy(p->remote_pub, remote_pub, NTM_DH_LEN);
	p->active = true;
	return NTM_HS_INIT_LEN;
fail:
	ntm_noise_hs_clear(&p->hs);
	ntm_wipe(p, sizeof(*p));
	return ret;
}

static void session_fill(struct ntm_session *s, uint32_t local, uint32_t remote,
			 const uint8_t *remote_pub, uint8_t suite, uint8_t purpose, bool initiator)
{
	s->local_index = local;
	s->remote_index = remote;
	s->tx_next = 0;
	ntm_replay_init(&s->replay);
	memcpy(s->remote_pub, remote_pub, NTM_DH_LEN);
	s->suite = suite;
	s->purpose = purpose;
	s->initiator = initiator;
	s->confirmed = initiator;
	s->valid = true;
}

int ntm_hs_complete(struct ntm_hs_pending *p, const struct ntm_identity *me,
		    const uint8_t *buf, size_t len, struct ntm_session *s)
{
	struct ntm_hs_resp m;
	uint8_t payload[16];
	size_t plen = 0;

	if (!p->active)
		return -EBADMSG;
	if (ntm_hs_resp_decode(buf, len, &m) < 0)
		return -EBADMSG;
	if (m.receiver != p->local_index)
		return -EBADMSG;
	if (ntm_mac1_check(buf, len, me->pub) != 0)
		return -EBADMSG;
	if (ntm_noise_read(&p->hs, m.noise, NTM_HS_RESP_NOISE_LEN, payload, sizeof(payload), &plen) < 0 ||
	    plen != 0) {
		ntm_noise_hs_clear(&p->hs);
		ntm_wipe(p, sizeof(*p));
		return -EPROTO;
	}
	memset(s, 0, sizeof(*s));
	if (ntm_noise_split(&p->hs, &s->tx, &s->rx) < 0) {
		ntm_noise_hs_clear(&p->hs);
		ntm_wipe(p, sizeof(*p));
		return -EPROTO;
	}
	session_fill(s, p->local_index, m.sender, p->remote_pub, p->suite, p->purpose, true);
	ntm_noise_hs_clear(&p->hs);
	ntm_wipe(p, sizeof(*p));
	return 0;
}

int ntm_hs_respond_begin(struct ntm_hs_responder *r, const struct ntm_identity *me,
			 const uint8_t *buf, size_t len)
{
	struct ntm_hs_init m;
	uint8_t payload[NTM_HS_INIT_PAYLOAD_LEN];
	size_t plen = 0;
	int ret;

	memset(r, 0, sizeof(*r));
	if (ntm_hs_init_decode(buf, len, &m) < 0)
		return -EBADMSG;
	if (ntm_mac1_check(buf, NTM_HS_INIT_MAC2_OFF, me->pub) != 0)
		return -EBADMSG;
	ret = noise_start(&r->hs, me, false, NULL, m.suite, m.purpose, m.sender);
	if (ret < 0)
		goto fail;
	ret = ntm_noise_read(&r->hs, m.noise, NTM_HS_INIT_NOISE_LEN, payload, sizeof(payload), &plen);
	if (ret < 0 || plen != sizeof(payload))
		goto fail;
	const uint8_t *rs = ntm_noise_remote_static(&r->hs);
	if (!rs)
		goto fail;
	memcpy(r->info.initiator_pub, rs, NTM_DH_LEN);
	memcpy(r->info.timestamp, payload, 12);
	r->info.route_id = ntm_get_be64(payload + 12);
	r->info.sender_index = m.sender;
	r->info.suite = m.suite;
	r->info.purpose = m.purpose;
	return 0;
fail:
	ntm_hs_responder_clear(r);
	return -EBADMSG;
}

int ntm_hs_respond_finish(struct ntm_hs_responder *r, uint32_t local_index,
			  uint8_t *out, size_t cap, struct ntm_session *s)
{
	uint8_t noise[NTM_HS_RESP_NOISE_LEN];
	size_t nlen = 0;
	int ret;

	if (cap < NTM_HS_RESP_LEN)
		return -EMSGSIZE;
	ret = ntm_noise_write(&r->hs, NULL, 0, noise, sizeof(noise), &nlen);
	if (ret < 0)
		goto out;
	if (nlen != sizeof(noise)) {
		ret = -EPROTO;
		goto out;
	}
	ret = ntm_hs_resp_encode(out, cap, local_index, r->info.sender_index, noise);
	if (ret < 0)
		goto out;
	ret = ntm_mac1_put(out, NTM_HS_RESP_LEN, r->info.initiator_pub);
	if (ret < 0)
		goto out;
	memset(s, 0, sizeof(*s));
	ret = ntm_noise_split(&r->hs, &s->tx, &s->rx);
	if (ret < 0)
		goto out;
	session_fill(s, local_index, r->info.sender_index, r->info.initiator_pub,
		     r->info.suite, r->info.purpose, false);
	ret = NTM_HS_RESP_LEN;
out:
	ntm_hs_responder_clear(r);
	return ret;
}

void ntm_hs_responder_clear(struct ntm_hs_responder *r)
{
	ntm_noise_hs_clear(&r->hs);
	ntm_wipe(r, sizeof(*r));
}

int ntm_hs_refuse(struct ntm_hs_responder *r, const struct ntm_refuse *why, uint8_t *out,
		  size_t cap)
{
	uint8_t payload[NTM_REFUSE_PAYLOAD_LEN], noise[NTM_HS_REFUSE_NOISE_LEN];
	size_t nlen = 0;
	int ret;

	if (cap < NTM_HS_REFUSE_LEN) {
		ret = -EMSGSIZE;
		goto out;
	}
	ret = ntm_refuse_encode(payload, sizeof(payload), why);
	if (ret < 0)
		goto out;
	ret = ntm_noise_write(&r->hs, payload, sizeof(payload), noise, sizeof(noise), &nlen);
	if (ret < 0)
		goto out;
	if (nlen != sizeof(noise)) {
		ret = -EPROTO;
		goto out;
	}
	ret = ntm_hs_refuse_encode(out, cap, r->info.sender_index, noise);
	if (ret < 0)
		goto out;
	ret = ntm_mac1_put(out, NTM_HS_REFUSE_LEN, r->info.initiator_pub);
	if (ret == 0)
		ret = NTM_HS_REFUSE_LEN;
out:
	ntm_hs_responder_clear(r);
	return ret;
}

int ntm_hs_read_refuse(struct ntm_hs_pending *p, const struct ntm_identity *me,
		       const uint8_t *buf, size_t len, struct ntm_refuse *why)
{
	struct ntm_hs_refuse m;
	uint8_t payload[NTM_REFUSE_PAYLOAD_LEN];
	size_t plen = 0;
	int ret = -EPROTO;

	if (!p->active)
		return -EBADMSG;
	if (ntm_hs_refuse_decode(buf, len, &m) < 0 || m.receiver != p->local_index)
		return -EBADMSG;
	if (ntm_mac1_check(buf, len, me->pub) != 0)
		return -EBADMSG;
	if (ntm_noise_read(&p->hs, m.noise, NTM_HS_REFUSE_NOISE_LEN, payload, sizeof(payload),
			   &plen) == 0 && plen == sizeof(payload) &&
	    ntm_refuse_decode(payload, plen, why) == 0)
		ret = 0;
	ntm_noise_hs_clear(&p->hs);
	ntm_wipe(p, sizeof(*p));
	return ret;
}

int64_t ntm_tai64n_diff_s(const uint8_t a[12], const uint8_t b[12])
{
	uint64_t x = ntm_get_be64(a), y = ntm_get_be64(b);

	if (x >= y)
		return x - y > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)(x - y);
	return y - x > (uint64_t)INT64_MAX ? -INT64_MAX : -(int64_t)(y - x);
}

enum ntm_ts_verdict ntm_hs_ts_check(const uint8_t ts[12], const uint8_t last[12],
				    const uint8_t now[12], uint32_t max_ahead_s)
{
	if (memcmp(ts, last, 12) <= 0)
		return NTM_TS_OLD;
	if (ntm_tai64n_diff_s(ts, now) > (int64_t)max_ahead_s)
		return NTM_TS_AHEAD;
	return NTM_TS_ACCEPT;
}

void ntm_refuse_describe(const struct ntm_refuse *why, const uint8_t ours[12], char *buf,
			 size_t cap)
{
	int64_t dc_skew = ntm_tai64n_diff_s(ours, why->dc_time);   /* > 0: ours ahead */
	int64_t behind = ntm_tai64n_diff_s(why->last_ts, ours);

	if (why->reason == NTM_REFUSE_NOT_ENROLLED) {
		snprintf(buf, cap, "DC refused: this node's key is not enrolled");
	} else if (why->reason == NTM_REFUSE_TS_AHEAD) {
		snprintf(buf, cap, "DC refused: our clock is %lld s ahead of the DC's; fix the "
			 "clock (timedatectl), here or on the DC", (long long)dc_skew);
	} else if (dc_skew >= -60 && dc_skew <= 60) {
		/* Our clock agrees with the DC's now: it was ahead when the
		 * DC accepted us last, and that stamp has to pass first. */
		snprintf(buf, cap, "DC refused: it accepted a stamp of ours %lld s ahead of now; "
			 "wait that long or restart ntm-dcd",
			 (long long)(behind > 0 ? behind : 0));
	} else {
		snprintf(buf, cap, "DC refused: our clock is %lld s behind the last handshake it "
			 "accepted from us; fix the clock (timedatectl)",
			 (long long)(behind > 0 ? behind : 0));
	}
}

/* The receiver index thread thr puts in DATA of m: the peer's lane for it,
 * or the handshake's index while the peer named none. */
static uint32_t lane_for(struct ntm_session_mt *m, unsigned thr)
{
	unsigned n = atomic_load_explicit(&m->nlanes_remote, memory_order_acquire);

	if (!n)
		return m->remote_index;
	return atomic_load_explicit(&m->lane_remote[thr % n], memory_order_relaxed);
}

/* Seal under cs with counter n (taken by the caller). */
static int seal_with(struct ntm_noise_cs *cs, uint32_t remote_index, uint64_t n, uint8_t *buf,
		     size_t ptlen)
{
	ntm_data_header_encode(buf, NTM_DATA_HDR_LEN, remote_index, n);
	int ret = ntm_noise_cs_seal(cs, n, buf, NTM_DATA_HDR_LEN, buf + NTM_DATA_HDR_LEN, ptlen,
				    buf + NTM_DATA_HDR_LEN);
	if (ret < 0)
		return ret;
	return (int)(ptlen + NTM_DATA_OVERHEAD);
}

int ntm_session_seal(struct ntm_session *s, uint8_t *buf, size_t ptlen)
{
	uint64_t n;

	if (!s->valid)
		return -ENOTCONN;
	if (!s->confirmed)
		return -EPROTO;
	if (ptlen > NTM_MAX_DATAGRAM - NTM_DATA_OVERHEAD)
		return -EMSGSIZE;
	if (!(s->mt ? ntm_counter_next_mt(&s->mt->tx_next, &n) : ntm_counter_next(&s->tx_next, &n)))
		return -EKEYEXPIRED;
	/* the owner is thread 0 of a shared session */
	return seal_with(&s->tx, s->mt ? lane_for(s->mt, 0) : s->remote_index, n, buf, ptlen);
}

/* Open in place under cs: the window is checked before (so a replayed
 * datagram costs no decryption) and recorded after the tag verified. */
static int open_with(struct ntm_noise_cs *cs, struct ntm_replay *r, struct ntm_replay_mt *rm,
		     uint8_t *buf, size_t len, size_t *ptlen, bool *newest)
{
	struct ntm_data m;

	if (ntm_data_decode(buf, len, &m) < 0)
		return -EBADMSG;
	if (!(rm ? ntm_replay_mt_peek(rm, m.counter) : ntm_replay_peek(r, m.counter)))
		return -EALREADY;
	if (ntm_noise_cs_open(cs, m.counter, buf, NTM_DATA_HDR_LEN, buf + NTM_DATA_HDR_LEN,
			      m.ct_len, buf + NTM_DATA_HDR_LEN) < 0)
		return -EBADMSG;
	if (!(rm ? ntm_replay_mt_check(rm, m.counter, newest) : ntm_replay_check(r, m.counter)))
		return -EALREADY;
	*ptlen = m.ct_len - NTM_TAG_LEN;
	return 0;
}

int ntm_session_open(struct ntm_session *s, uint8_t *buf, size_t len, size_t *ptlen)
{
	if (!s->valid)
		return -ENOTCONN;
	int ret = open_with(&s->rx, &s->replay, s->mt ? &s->mt->replay : NULL, buf, len, ptlen,
			    NULL);
	if (ret < 0)
		return ret;
	s->confirmed = true;
	return 0;
}

int ntm_session_set_lanes(struct ntm_session *s, const uint32_t *idx, unsigned n)
{
	if (!s->valid || n == 0 || n > NTM_SESSION_MT_MAX)
		return -EINVAL;
	for (unsigned i = 0; i < n; i++)
		if (idx[i] == 0)
			return -EINVAL;
	if (s->nlanes_remote) {
		bool same = s->nlanes_remote == n &&
			    memcmp(s->lane_remote, idx, n * sizeof(*idx)) == 0;
		return same ? 0 : -EEXIST;
	}
	memcpy(s->lane_remote, idx, n * sizeof(*idx));
	s->nlanes_remote = (uint8_t)n;
	if (s->mt) {
		for (unsigned i = 0; i < n; i++)
			atomic_store_explicit(&s->mt->lane_remote[i], idx[i], memory_order_relaxed);
		atomic_store_explicit(&s->mt->nlanes_remote, n, memory_order_release);
	}
	return 0;
}

bool ntm_session_mt_has_index(const struct ntm_session_mt *m, uint32_t idx)
{
	if (idx == m->local_index)
		return idx != 0;
	for (unsigned i = 0; i < m->nlanes_local; i++)
		if (m->lane_local[i] == idx)
			return true;
	return false;
}

uint64_t ntm_session_tx_next(const struct ntm_session *s)
{
	return s->mt ? atomic_load_explicit(&s->mt->tx_next, memory_order_relaxed) : s->tx_next;
}

uint64_t ntm_session_rx_top(const struct ntm_session *s)
{
	return s->mt ? atomic_load_explicit(&s->mt->replay.top, memory_order_acquire)
		     : s->replay.top;
}

int ntm_session_mt_new(struct ntm_session *s, unsigned nthreads)
{
	if (!s->valid || s->mt || nthreads == 0 || nthreads > NTM_SESSION_MT_MAX)
		return -EINVAL;
	struct ntm_session_mt *m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	atomic_init(&m->tx_next, s->tx_next);
	ntm_replay_mt_init(&m->replay);
	/* what the window saw so far (usually nothing: shared when made) */
	uint64_t top = s->replay.top;
	for (uint64_t p = top > NTM_REPLAY_WINDOW ? top - NTM_REPLAY_WINDOW : 1; p && p <= top; p++)
		if (!ntm_replay_peek(&s->replay, p - 1))
			ntm_replay_mt_check(&m->replay, p - 1, NULL);
	m->local_index = s->local_index;
	m->remote_index = s->remote_index;
	for (unsigned i = 0; i < s->nlanes_remote; i++)
		atomic_init(&m->lane_remote[i], s->lane_remote[i]);
	atomic_init(&m->nlanes_remote, s->nlanes_remote);
	m->confirmed = s->confirmed;
	m->nthreads = nthreads;
	for (unsigned i = 0; i < nthreads; i++) {
		m->tx[i].has_key = s->tx.has_key;
		m->rx[i].has_key = s->rx.has_key;
		if ((s->tx.has_key && ntm_aead_dup(&m->tx[i].aead, &s->tx.aead) < 0) ||
		    (s->rx.has_key && ntm_aead_dup(&m->rx[i].aead, &s->rx.aead) < 0)) {
			ntm_session_mt_free(m);
			return -ENOMEM;
		}
	}
	s->mt = m;
	return 0;
}

void ntm_session_mt_free(struct ntm_session_mt *m)
{
	if (!m)
		return;
	for (unsigned i = 0; i < NTM_SESSION_MT_MAX; i++) {
		ntm_noise_cs_clear(&m->tx[i]);
		ntm_noise_cs_clear(&m->rx[i]);
	}
	ntm_wipe(m, sizeof(*m));
	free(m);
}

int ntm_session_mt_seal(struct ntm_session_mt *m, unsigned thr, uint8_t *buf, size_t ptlen)
{
	uint64_t n;

	if (thr >= m->nthreads)
		return -EINVAL;
	if (!m->confirmed)
		return -EPROTO;
	if (ptlen > NTM_MAX_DATAGRAM - NTM_DATA_OVERHEAD)
		return -EMSGSIZE;
	if (!ntm_counter_next_mt(&m->tx_next, &n))
		return -EKEYEXPIRED;
	return seal_with(&m->tx[thr], lane_for(m, thr), n, buf, ptlen);
}

int ntm_session_mt_open(struct ntm_session_mt *m, unsigned thr, uint8_t *buf, size_t len,
			size_t *ptlen, bool *newest)
{
	if (thr >= m->nthreads)
		return -EINVAL;
	return open_with(&m->rx[thr], NULL, &m->replay, buf, len, ptlen, newest);
}

int ntm_probe_key(uint8_t key[32], const struct ntm_identity *me, const uint8_t peer_pub[32],
		  uint64_t route_id)
{
	static const uint8_t salt[] = "ntm1-probe";
	uint8_t shared[NTM_DH_LEN], info[8];
	int ret = ntm_x25519(shared, me->priv, peer_pub);

	if (ret < 0)
		return ret;
	ntm_put_be64(info, route_id);
	ret = ntm_hkdf_sha256(key, 32, salt, sizeof(salt) - 1, shared, sizeof(shared), info,
			      sizeof(info));
	ntm_wipe(shared, sizeof(shared));
	return ret;
}

void ntm_probe_sign(const uint8_t key[32], uint8_t *msg)
{
	uint8_t mac[NTM_HASH_LEN];

	ntm_hmac_sha256(mac, key, 32, msg, NTM_PROBE_TAG_OFF);
	memcpy(msg + NTM_PROBE_TAG_OFF, mac, NTM_TAG_LEN);
}

bool ntm_probe_verify(const uint8_t key[32], const uint8_t *msg)
{
	uint8_t mac[NTM_HASH_LEN];

	ntm_hmac_sha256(mac, key, 32, msg, NTM_PROBE_TAG_OFF);
	return ntm_memeq_ct(mac, msg + NTM_PROBE_TAG_OFF, NTM_TAG_LEN) == 0;
}
