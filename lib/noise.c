/* noise.c - the Noise handshake engine (revision 34, section 5): CipherState,
 * SymmetricState and HandshakeState, running the token lists that
 * lib/noise_patterns.c builds, for 25519 with AESGCM or ChaChaPoly and
 * SHA256.
 *
 * Handshake messages come from the network, so a read first computes the
 * exact overhead the pattern implies (public keys, tags) and refuses a
 * message shorter than that or longer than Noise allows before touching any
 * state; the tokens are then taken through a bounded cursor. */
#include <errno.h>
#include <string.h>

#include "cursor.h"
#include "noise.h"
#include "util.h"

#define NONCE_RESERVED UINT64_MAX /* 2^64-1: Noise forbids encrypting with it */
#define MAX_PROTOCOL_NAME 255

/* ---- CipherState ---- */

/* 32 zero bits, then the counter: big-endian for AESGCM, little-endian for
 * ChaChaPoly (Noise section 12). */
static void make_nonce(uint8_t nonce[NTM_NONCE_LEN], enum ntm_aead_alg alg, uint64_t n)
{
	memset(nonce, 0, 4);
	if (alg == NTM_AEAD_AESGCM) {
		ntm_put_be64(nonce + 4, n);
		return;
	}
	for (int i = 0; i < 8; i++)
		nonce[4 + i] = (uint8_t)(n >> (8 * i));
}

static int cs_set_key(struct ntm_noise_cs *cs, enum ntm_aead_alg alg, const uint8_t key[NTM_KEY_LEN])
{
	ntm_noise_cs_clear(cs);
	int ret = ntm_aead_init(&cs->aead, alg, key, NTM_KEY_LEN);
	if (ret) {
		memset(&cs->aead, 0, sizeof(cs->aead));
		return ret;
	}
	cs->has_key = true;
	return 0;
}

int ntm_noise_cs_seal(struct ntm_noise_cs *cs, uint64_t n, const uint8_t *ad, size_t adlen,
		      const uint8_t *pt, size_t ptlen, uint8_t *out)
{
	uint8_t nonce[NTM_NONCE_LEN];

	if (!cs->has_key)
		return -EINVAL;
	if (n == NONCE_RESERVED)
		return -EOVERFLOW;
	make_nonce(nonce, cs->aead.alg, n);
	return ntm_aead_seal(&cs->aead, nonce, sizeof(nonce), ad, adlen, pt, ptlen, out);
}

int ntm_noise_cs_open(struct ntm_noise_cs *cs, uint64_t n, const uint8_t *ad, size_t adlen,
		      const uint8_t *ct, size_t ctlen, uint8_t *out)
{
	uint8_t nonce[NTM_NONCE_LEN];

	if (!cs->has_key)
		return -EINVAL;
	if (n == NONCE_RESERVED)
		return -EOVERFLOW;
	if (ctlen < NTM_TAG_LEN)
		return -EBADMSG;
	make_nonce(nonce, cs->aead.alg, n);
	return ntm_aead_open(&cs->aead, nonce, sizeof(nonce), ad, adlen, ct, ctlen, out);
}

void ntm_noise_cs_clear(struct ntm_noise_cs *cs)
{
	if (!cs)
		return;
	ntm_aead_free(&cs->aead);
	ntm_wipe(cs, sizeof(*cs));
}

/* ---- SymmetricState ---- */

/* out = HASH(h || data); out may be ss->h. */
static int hash_with_h(const struct ntm_noise_symmetric *ss, const uint8_t *data, size_t len,
		       uint8_t out[NTM_HASH_LEN])
{
	struct ntm_sha256 sha;
	int ret = ntm_sha256_init(&sha);
	if (ret)
		return ret;
	ret = ntm_sha256_update(&sha, ss->h, sizeof(ss->h));
	if (!ret && len)
		ret = ntm_sha256_update(&sha, data, len);
	ntm_sha256_final(&sha, out);
	return ret;
}

static int mix_hash(struct ntm_noise_symmetric *ss, const uint8_t *data, size_t len)
{
	return hash_with_h(ss, data, len, ss->h);
}

static int mix_key(struct ntm_noise_symmetric *ss, const uint8_t *ikm, size_t len)
{
	uint8_t ck[NTM_HASH_LEN], k[NTM_HASH_LEN];
	int ret = ntm_noise_hkdf(ss->ck, ikm, len, ck, k, NULL);
	if (!ret) {
		memcpy(ss->ck, ck, sizeof(ck));
		ret = cs_set_key(&ss->cs, ss->alg, k);
	}
	ntm_wipe(ck, sizeof(ck));
	ntm_wipe(k, sizeof(k));
	return ret;
}

static int mix_key_and_hash(struct ntm_noise_symmetric *ss, const uint8_t psk[NTM_NOISE_PSK_LEN])
{
	uint8_t ck[NTM_HASH_LEN], th[NTM_HASH_LEN], k[NTM_HASH_LEN];
	int ret = ntm_noise_hkdf(ss->ck, psk, NTM_NOISE_PSK_LEN, ck, th, k);
	if (!ret) {
		memcpy(ss->ck, ck, sizeof(ck));
		ret = mix_hash(ss, th, sizeof(th));
	}
	if (!ret)
		ret = cs_set_key(&ss->cs, ss->alg, k);
	ntm_wipe(ck, sizeof(ck));
	ntm_wipe(th, sizeof(th));
	ntm_wipe(k, sizeof(k));
	return ret;
}

/* out receives len bytes, plus a tag once a key is set; out may equal pt. */
static int encrypt_and_hash(struct ntm_noise_symmetric *ss, const uint8_t *pt, size_t len,
			    uint8_t *out)
{
	uint8_t nonce[NTM_NONCE_LEN];

	if (!ss->cs.has_key) {
		if (len)
			memmove(out, pt, len);
		return mix_hash(ss, out, len);
	}
	if (ss->cs.n == NONCE_RESERVED)
		return -EOVERFLOW;
	make_nonce(nonce, ss->alg, ss->cs.n);
	int ret = ntm_aead_seal(&ss->cs.aead, nonce, sizeof(nonce), ss->h, sizeof(ss->h),
				pt, len, out);
	if (ret)
		return ret;
	ss->cs.n++;
	return mix_hash(ss, out, len + NTM_TAG_LEN);
}

/* ct is len bytes (tag included once a key is set); out receives the
 * plaintext and may equal ct, so h is updated from a hash taken first. */
static int decrypt_and_hash(struct ntm_noise_symmetric *ss, const uint8_t *ct, size_t len,
			    uint8_t *out)
{
	uint8_t nonce[NTM_NONCE_LEN], next_h[NTM_HASH_LEN];

	int ret = hash_with_h(ss, ct, len, next_h);
	if (ret)
		return ret;
	if (!ss->cs.has_key) {
		if (len)
			memmove(out, ct, len);
		memcpy(ss->h, next_h, sizeof(next_h));
		return 0;
	}
	if (len < NTM_TAG_LEN || ss->cs.n == NONCE_RESERVED)
		return -EBADMSG;
	make_nonce(nonce, ss->alg, ss->cs.n);
	ret = ntm_aead_open(&ss->cs.aead, nonce, sizeof(nonce), ss->h, sizeof(ss->h), ct, len, out);
	if (ret)
		return ret == -EINVAL ? -EBADMSG : ret;
	ss->cs.n++;
	memcpy(ss->h, next_h, sizeof(next_h));
	return 0;
}

/* InitializeSymmetric: h = the name padded with zeros, or its hash when
 * longer than HASHLEN; ck = h. */
static int symmetric_init(struct ntm_noise_symmetric *ss, const char *name, enum ntm_aead_alg alg)
{
	size_t len = strlen(name);

	ss->alg = alg;
	if (len <= sizeof(ss->h)) {
		memset(ss->h, 0, sizeof(ss->h));
		memcpy(ss->h, name, len);
	} else {
		int ret = ntm_sha256(ss->h, name, len);
		if (ret)
			return ret;
	}
	memcpy(ss->ck, ss->h, sizeof(ss->ck));
	return 0;
}

/* ---- HandshakeState: setup ---- */

/* "Noise_" pattern "_25519_" cipher "_SHA256", nothing else. */
static int parse_protocol(const char *name, struct ntm_noise_shape *shape, enum ntm_aead_alg *alg)
{
	static const char prefix[] = "Noise_";

	if (strnlen(name, MAX_PROTOCOL_NAME + 1) > MAX_PROTOCOL_NAME)
		return -EPROTONOSUPPORT;
	if (strncmp(name, prefix, sizeof(prefix) - 1) != 0)
		return -EPROTONOSUPPORT;
	const char *pattern = name + sizeof(prefix) - 1;
	const char *rest = strchr(pattern, '_');
	if (!rest)
		return -EPROTONOSUPPORT;
	if (strcmp(rest, "_25519_AESGCM_SHA256") == 0)
		*alg = NTM_AEAD_AESGCM;
	else if (strcmp(rest, "_25519_ChaChaPoly_SHA256") == 0)
		*alg = NTM_AEAD_CHACHAPOLY;
	else
		return -EPROTONOSUPPORT;
	return ntm_noise_shape_parse(shape, pattern, (size_t)(rest - pattern));
}

/* Whether one side's static key appears in its pre-message or its messages. */
static bool side_uses_static(const struct ntm_noise_shape *shape, bool initiator)
{
	if (shape->pre[initiator ? 0 : 1][0] == NTM_NOISE_TOK_S)
		return true;
	for (unsigned i = initiator ? 0 : 1; i < shape->nmsgs; i += 2)
		for (const uint8_t *t = shape->msg[i]; *t != NTM_NOISE_TOK_END; t++)
			if (*t == NTM_NOISE_TOK_S)
				return true;
	return false;
}

static int load_keys(struct ntm_noise_hs *hs, const struct ntm_noise_config *cfg)
{
	bool rs_premessage = hs->shape.pre[hs->initiator ? 1 : 0][0] == NTM_NOISE_TOK_S;

	if (side_uses_static(&hs->shape, hs->initiator) && !cfg->s_priv)
		return -EINVAL;
	/* A remote key the pattern transmits would be silently replaced: refuse
	 * it rather than let the caller believe it is checked. */
	if (rs_premessage != (cfg->rs != NULL))
		return -EINVAL;
	if (cfg->npsks != hs->shape.npsks)
		return -EINVAL;
	for (size_t i = 0; i < cfg->npsks; i++) {
		if (!cfg->psks[i])
			return -EINVAL;
		memcpy(hs->psks[i], cfg->psks[i], NTM_NOISE_PSK_LEN);
	}
	if (cfg->rs) {
		memcpy(hs->rs, cfg->rs, NTM_DH_LEN);
		hs->has_rs = true;
	}
	if (cfg->s_priv) {
		memcpy(hs->s_priv, cfg->s_priv, NTM_DH_LEN);
		int ret = ntm_x25519_public(hs->s_pub, hs->s_priv);
		if (ret)
			return ret;
		hs->has_s = true;
	}
	return 0;
}

/* MixHash the pre-messages' public keys, the initiator's first. */
static int mix_premessages(struct ntm_noise_hs *hs)
{
	for (int side = 0; side < 2; side++) {
		if (hs->shape.pre[side][0] != NTM_NOISE_TOK_S)
			continue;
		bool ours = (side == 0) == hs->initiator;
		int ret = mix_hash(&hs->ss, ours ? hs->s_pub : hs->rs, NTM_DH_LEN);
		if (ret)
			return ret;
	}
	return 0;
}

static int hs_setup(struct ntm_noise_hs *hs, const struct ntm_noise_config *cfg)
{
	enum ntm_aead_alg alg;

	if (!cfg->protocol_name || (cfg->prologue_len && !cfg->prologue) ||
	    cfg->npsks > NTM_NOISE_MAX_PSKS)
		return -EINVAL;
	int ret = parse_protocol(cfg->protocol_name, &hs->shape, &alg);
	if (ret)
		return ret;
	hs->initiator = cfg->initiator;
	ret = load_keys(hs, cfg);
	if (!ret)
		ret = symmetric_init(&hs->ss, cfg->protocol_name, alg);
	if (!ret)
		ret = mix_hash(&hs->ss, cfg->prologue, cfg->prologue_len);
	if (!ret)
		ret = mix_premessages(hs);
	return ret;
}

int ntm_noise_hs_init(struct ntm_noise_hs *hs, const struct ntm_noise_config *cfg)
{
	memset(hs, 0, sizeof(*hs));
	int ret = hs_setup(hs, cfg);
	if (ret)
		ntm_noise_hs_clear(hs);
	return ret;
}

void ntm_noise_hs_clear(struct ntm_noise_hs *hs)
{
	if (!hs)
		return;
	ntm_noise_cs_clear(&hs->ss.cs);
	ntm_wipe(hs, sizeof(*hs));
}

void ntm_noise_test_set_ephemeral(struct ntm_noise_hs *hs, const uint8_t e_priv[NTM_DH_LEN])
{
	memcpy(hs->fixed_e, e_priv, NTM_DH_LEN);
	hs->has_fixed_e = true;
}

/* ---- HandshakeState: messages ---- */

static bool psk_mode(const struct ntm_noise_hs *hs)
{
	return hs->shape.npsks > 0;
}

/* Whether the next message is ours to write (or theirs, when !write). */
static bool turn_ok(const struct ntm_noise_hs *hs, bool write)
{
	if (hs->failed || hs->split_done || hs->msg_index >= hs->shape.nmsgs)
		return false;
	bool initiator_sends = hs->msg_index % 2 == 0;
	return initiator_sends == (hs->initiator == write);
}

/* The bytes the next message adds to its payload: ephemerals, encrypted
 * statics and tags, following which tokens set a key. */
static size_t msg_overhead(const struct ntm_noise_hs *hs)
{
	bool key = hs->ss.cs.has_key;
	size_t len = 0;

	for (const uint8_t *t = hs->shape.msg[hs->msg_index]; *t != NTM_NOISE_TOK_END; t++) {
		if (*t == NTM_NOISE_TOK_E) {
			len += NTM_DH_LEN;
			key = key || psk_mode(hs);
		} else if (*t == NTM_NOISE_TOK_S) {
			len += NTM_DH_LEN + (key ? NTM_TAG_LEN : 0);
		} else {
			key = true; /* DH and psk tokens call MixKey */
		}
	}
	return len + (key ? NTM_TAG_LEN : 0);
}

static int gen_ephemeral(struct ntm_noise_hs *hs)
{
	int ret;

	if (hs->has_fixed_e) {
		memcpy(hs->e_priv, hs->fixed_e, NTM_DH_LEN);
		ntm_wipe(hs->fixed_e, NTM_DH_LEN);
		hs->has_fixed_e = false;
		ret = ntm_x25519_public(hs->e_pub, hs->e_priv);
	} else {
		ret = ntm_x25519_keygen(hs->e_priv, hs->e_pub);
	}
	if (!ret)
		hs->has_e = true;
	return ret;
}

/* DH(ours, theirs) for ee, es, se, ss as seen from this side, then MixKey.
 * An all-zero result (a low-order remote key) fails the handshake. */
static int mix_dh(struct ntm_noise_hs *hs, uint8_t tok)
{
	bool local_e = tok == NTM_NOISE_TOK_EE ||
		       (tok == NTM_NOISE_TOK_ES && hs->initiator) ||
		       (tok == NTM_NOISE_TOK_SE && !hs->initiator);
	bool remote_e = tok == NTM_NOISE_TOK_EE ||
			(tok == NTM_NOISE_TOK_ES && !hs->initiator) ||
			(tok == NTM_NOISE_TOK_SE && hs->initiator);
	uint8_t shared[NTM_DH_LEN];

	if (!(local_e ? hs->has_e : hs->has_s) || !(remote_e ? hs->has_re : hs->has_rs))
		return -EPROTO;
	int ret = ntm_x25519(shared, local_e ? hs->e_priv : hs->s_priv, remote_e ? hs->re : hs->rs);
	if (ret)
		ret = -EBADMSG;
	else
		ret = mix_key(&hs->ss, shared, sizeof(shared));
	ntm_wipe(shared, sizeof(shared));
	return ret;
}

/* Tokens that are the same whether writing or reading. */
static int mix_token(struct ntm_noise_hs *hs, uint8_t tok)
{
	if (tok == NTM_NOISE_TOK_PSK) {
		if (hs->psk_used >= hs->shape.npsks)
			return -EPROTO;
		return mix_key_and_hash(&hs->ss, hs->psks[hs->psk_used++]);
	}
	return mix_dh(hs, tok);
}

static int write_token(struct ntm_noise_hs *hs, uint8_t tok, struct ntm_wr *w)
{
	uint8_t *p;
	int ret;

	switch (tok) {
	case NTM_NOISE_TOK_E:
		ret = gen_ephemeral(hs);
		if (ret)
			return ret;
		p = ntm_wr_take(w, NTM_DH_LEN);
		if (!p)
			return -EMSGSIZE;
		memcpy(p, hs->e_pub, NTM_DH_LEN);
		ret = mix_hash(&hs->ss, hs->e_pub, NTM_DH_LEN);
		if (!ret && psk_mode(hs))
			ret = mix_key(&hs->ss, hs->e_pub, NTM_DH_LEN);
		return ret;
	case NTM_NOISE_TOK_S:
		if (!hs->has_s)
			return -EPROTO;
		p = ntm_wr_take(w, NTM_DH_LEN + (hs->ss.cs.has_key ? NTM_TAG_LEN : 0));
		if (!p)
			return -EMSGSIZE;
		return encrypt_and_hash(&hs->ss, hs->s_pub, NTM_DH_LEN, p);
	default:
		return mix_token(hs, tok);
	}
}

static int write_message(struct ntm_noise_hs *hs, const uint8_t *payload, size_t plen,
			 struct ntm_wr *w)
{
	for (const uint8_t *t = hs->shape.msg[hs->msg_index]; *t != NTM_NOISE_TOK_END; t++) {
		int ret = write_token(hs, *t, w);
		if (ret)
			return ret;
	}
	uint8_t *p = ntm_wr_take(w, plen + (hs->ss.cs.has_key ? NTM_TAG_LEN : 0));
	if (!p)
		return -EMSGSIZE;
	return encrypt_and_hash(&hs->ss, payload, plen, p);
}

int ntm_noise_write(struct ntm_noise_hs *hs, const uint8_t *payload, size_t plen,
		    uint8_t *out, size_t outcap, size_t *outlen)
{
	*outlen = 0;
	if (!turn_ok(hs, true))
		return -EPROTO;
	/* Checked before any state changes, so the caller may retry. */
	size_t overhead = msg_overhead(hs);
	if (plen > NTM_NOISE_MAX_MSG - overhead || overhead + plen > outcap)
		return -EMSGSIZE;

	struct ntm_wr w = ntm_wr_init(out, outcap);
	int ret = write_message(hs, payload, plen, &w);
	if (ret) {
		hs->failed = true;
		return ret;
	}
	hs->msg_index++;
	*outlen = w.off;
	return 0;
}

static int read_token(struct ntm_noise_hs *hs, uint8_t tok, struct ntm_rd *r)
{
	const uint8_t *p;
	int ret;

	switch (tok) {
	case NTM_NOISE_TOK_E:
		p = ntm_rd_take(r, NTM_DH_LEN);
		if (!p)
			return -EBADMSG;
		memcpy(hs->re, p, NTM_DH_LEN);
		hs->has_re = true;
		ret = mix_hash(&hs->ss, hs->re, NTM_DH_LEN);
		if (!ret && psk_mode(hs))
			ret = mix_key(&hs->ss, hs->re, NTM_DH_LEN);
		return ret;
	case NTM_NOISE_TOK_S: {
		size_t len = NTM_DH_LEN + (hs->ss.cs.has_key ? NTM_TAG_LEN : 0);
		uint8_t rs[NTM_DH_LEN + NTM_TAG_LEN];
		p = ntm_rd_take(r, len);
		if (!p)
			return -EBADMSG;
		ret = decrypt_and_hash(&hs->ss, p, len, rs);
		if (ret)
			return ret;
		memcpy(hs->rs, rs, NTM_DH_LEN);
		hs->has_rs = true;
		return 0;
	}
	default:
		return mix_token(hs, tok);
	}
}

static int read_message(struct ntm_noise_hs *hs, const uint8_t *msg, size_t mlen,
			uint8_t *payload, size_t pcap, size_t *plen)
{
	size_t overhead = msg_overhead(hs);
	if (mlen > NTM_NOISE_MAX_MSG || mlen < overhead)
		return -EBADMSG;
	size_t body = mlen - overhead;
	if (body > pcap)
		return -EMSGSIZE;

	struct ntm_rd r = ntm_rd_init(msg, mlen);
	for (const uint8_t *t = hs->shape.msg[hs->msg_index]; *t != NTM_NOISE_TOK_END; t++) {
		int ret = read_token(hs, *t, &r);
		if (ret)
			return ret;
	}
	/* What is left is the payload; the length check above made it exactly
	 * body bytes plus its tag. */
	size_t left = ntm_rd_left(&r);
	const uint8_t *p = ntm_rd_take(&r, left);
	if (!p || left != body + (hs->ss.cs.has_key ? NTM_TAG_LEN : 0))
		return -EBADMSG;
	int ret = decrypt_and_hash(&hs->ss, p, left, payload);
	if (ret) {
		ntm_wipe(payload, body);
		return ret;
	}
	*plen = body;
	return 0;
}

int ntm_noise_read(struct ntm_noise_hs *hs, const uint8_t *msg, size_t mlen,
		   uint8_t *payload, size_t pcap, size_t *plen)
{
	*plen = 0;
	if (!turn_ok(hs, false))
		return -EPROTO;
	int ret = read_message(hs, msg, mlen, payload, pcap, plen);
	if (ret) {
		hs->failed = true;
		return ret;
	}
	hs->msg_index++;
	return 0;
}

/* ---- After the handshake ---- */

bool ntm_noise_is_done(const struct ntm_noise_hs *hs)
{
	return !hs->failed && hs->shape.nmsgs > 0 && hs->msg_index == hs->shape.nmsgs;
}

int ntm_noise_split(struct ntm_noise_hs *hs, struct ntm_noise_cs *tx, struct ntm_noise_cs *rx)
{
	uint8_t k1[NTM_HASH_LEN], k2[NTM_HASH_LEN];

	if (!ntm_noise_is_done(hs) || hs->split_done)
		return -EPROTO;
	memset(tx, 0, sizeof(*tx));
	memset(rx, 0, sizeof(*rx));
	int ret = ntm_noise_hkdf(hs->ss.ck, (const uint8_t *)"", 0, k1, k2, NULL);
	/* c1 carries initiator to responder. A one-way pattern has no
	 * responder to initiator direction: that side gets no key. */
	struct ntm_noise_cs *c1 = hs->initiator ? tx : rx;
	struct ntm_noise_cs *c2 = hs->initiator ? rx : tx;
	if (!ret)
		ret = cs_set_key(c1, hs->ss.alg, k1);
	if (!ret && !hs->shape.one_way)
		ret = cs_set_key(c2, hs->ss.alg, k2);
	ntm_wipe(k1, sizeof(k1));
	ntm_wipe(k2, sizeof(k2));
	if (ret) {
		ntm_noise_cs_clear(tx);
		ntm_noise_cs_clear(rx);
		return ret;
	}
	/* h stays for channel binding; every secret the handshake held goes. */
	ntm_wipe(hs->ss.ck, sizeof(hs->ss.ck));
	ntm_noise_cs_clear(&hs->ss.cs);
	ntm_wipe(hs->e_priv, sizeof(hs->e_priv));
	ntm_wipe(hs->s_priv, sizeof(hs->s_priv));
	ntm_wipe(hs->psks, sizeof(hs->psks));
	hs->split_done = true;
	return 0;
}

void ntm_noise_handshake_hash(const struct ntm_noise_hs *hs, uint8_t out[NTM_HASH_LEN])
{
	memcpy(out, hs->ss.h, NTM_HASH_LEN);
}

const uint8_t *ntm_noise_remote_static(const struct ntm_noise_hs *hs)
{
	return hs->has_rs ? hs->rs : NULL;
}
