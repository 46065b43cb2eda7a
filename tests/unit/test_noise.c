/* test_noise.c - the Noise engine against the cacophony vectors (both suites,
 * every pattern in the files, handshake and transport messages), and its
 * refusals: tampered, truncated and oversized messages, low-order ephemerals,
 * messages out of turn, missing keys, unknown protocol names and the
 * reserved transport nonce. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "noise.h"
#include "util.h"

#define MSG_BUF 4096

/* ---- the cacophony vectors ---- */

/* One party's inputs from a vector, decoded (absent fields stay NULL). */
struct party {
	uint8_t *prologue;
	size_t prologue_len;
	uint8_t *s, *e, *rs;
	uint8_t *psks[NTM_NOISE_MAX_PSKS];
	size_t npsks;
};

static uint8_t *hex_of(const char *hex, size_t *len, const char *name, const char *what)
{
	uint8_t *b = json_hex(hex, len);
	ck_assert_msg(b != NULL, "%s: %s is not hex", name, what);
	return b;
}

/* A key member: absent gives NULL, present must be 32 bytes. */
static uint8_t *key_member(const struct json *v, const char *role, const char *field,
			   const char *name)
{
	char key[64];
	size_t len;

	snprintf(key, sizeof(key), "%s_%s", role, field);
	const char *hex = json_get_str(v, key);
	if (!hex)
		return NULL;
	uint8_t *b = hex_of(hex, &len, name, key);
	ck_assert_msg(len == 32, "%s: %s is %zu bytes", name, key, len);
	return b;
}

static void party_load(struct party *p, const struct json *v, const char *role, const char *name)
{
	char key[64];

	memset(p, 0, sizeof(*p));
	snprintf(key, sizeof(key), "%s_prologue", role);
	const char *hex = json_get_str(v, key);
	p->prologue = hex_of(hex ? hex : "", &p->prologue_len, name, key);
	p->s = key_member(v, role, "static", name);
	p->e = key_member(v, role, "ephemeral", name);
	p->rs = key_member(v, role, "remote_static", name);

	snprintf(key, sizeof(key), "%s_psks", role);
	const struct json *psks = json_get(v, key);
	if (!psks)
		return;
	ck_assert_msg(psks->type == JSON_ARRAY && psks->n <= NTM_NOISE_MAX_PSKS,
		      "%s: bad %s", name, key);
	for (size_t i = 0; i < psks->n; i++) {
		size_t len;
		ck_assert_msg(psks->items[i]->type == JSON_STRING, "%s: bad %s", name, key);
		p->psks[i] = hex_of(psks->items[i]->str, &len, name, key);
		ck_assert_msg(len == NTM_NOISE_PSK_LEN, "%s: psk of %zu bytes", name, len);
		p->npsks++;
	}
}

static void party_free(struct party *p)
{
	free(p->prologue);
	free(p->s);
	free(p->e);
	free(p->rs);
	for (size_t i = 0; i < p->npsks; i++)
		free(p->psks[i]);
}

static int party_start(struct ntm_noise_hs *hs, const struct party *p, const char *name,
		       bool initiator)
{
	struct ntm_noise_config cfg = {
		.protocol_name = name,
		.initiator = initiator,
		.prologue = p->prologue,
		.prologue_len = p->prologue_len,
		.s_priv = p->s,
		.rs = p->rs,
		.npsks = p->npsks,
	};
	for (size_t i = 0; i < p->npsks; i++)
		cfg.psks[i] = p->psks[i];
	int ret = ntm_noise_hs_init(hs, &cfg);
	if (ret == 0 && p->e)
		ntm_noise_test_set_ephemeral(hs, p->e);
	return ret;
}

struct vmsg {
	uint8_t *payload, *ct;
	size_t plen, ctlen;
};

static void vmsg_load(struct vmsg *m, const struct json *j, const char *name)
{
	const char *payload = json_get_str(j, "payload");
	const char *ct = json_get_str(j, "ciphertext");
	ck_assert_msg(payload && ct, "%s: message without payload or ciphertext", name);
	m->payload = hex_of(payload, &m->plen, name, "payload");
	m->ct = hex_of(ct, &m->ctlen, name, "ciphertext");
	ck_assert_msg(m->ctlen <= MSG_BUF, "%s: message too long for the test", name);
}

static void check_handshake_msg(struct ntm_noise_hs *tx, struct ntm_noise_hs *rx,
				const struct vmsg *m, const char *name, size_t i)
{
	uint8_t out[MSG_BUF], pt[MSG_BUF];
	size_t outlen, plen;

	int ret = ntm_noise_write(tx, m->payload, m->plen, out, sizeof(out), &outlen);
	ck_assert_msg(ret == 0, "%s: writing message %zu: %d", name, i, ret);
	ck_assert_msg(outlen == m->ctlen && memcmp(out, m->ct, outlen) == 0,
		      "%s: handshake message %zu differs from the vector", name, i);
	ret = ntm_noise_read(rx, out, outlen, pt, sizeof(pt), &plen);
	ck_assert_msg(ret == 0, "%s: reading message %zu: %d", name, i, ret);
	ck_assert_msg(plen == m->plen && memcmp(pt, m->payload, plen) == 0,
		      "%s: payload %zu differs after decryption", name, i);
}

static void check_transport_msg(struct ntm_noise_cs *tx, struct ntm_noise_cs *rx, uint64_t n,
				const struct vmsg *m, const char *name, size_t i)
{
	uint8_t out[MSG_BUF], pt[MSG_BUF];

	ck_assert_msg(m->plen + NTM_TAG_LEN == m->ctlen, "%s: transport message %zu length", name, i);
	int ret = ntm_noise_cs_seal(tx, n, NULL, 0, m->payload, m->plen, out);
	ck_assert_msg(ret == 0, "%s: sealing transport message %zu: %d", name, i, ret);
	ck_assert_msg(memcmp(out, m->ct, m->ctlen) == 0,
		      "%s: transport message %zu differs from the vector", name, i);
	ret = ntm_noise_cs_open(rx, n, NULL, 0, out, m->ctlen, pt);
	ck_assert_msg(ret == 0, "%s: opening transport message %zu: %d", name, i, ret);
	ck_assert_msg(memcmp(pt, m->payload, m->plen) == 0, "%s: transport payload %zu", name, i);
}

struct session {
	struct ntm_noise_hs ih, rh;
	struct ntm_noise_cs itx, irx, rtx, rrx;
	uint64_t nonce[2]; /* [0] initiator to responder, [1] the other way */
	bool split;
};

static void session_finish_handshake(struct session *s, const struct json *v, const char *name)
{
	uint8_t want[NTM_HASH_LEN], got[NTM_HASH_LEN];
	size_t len;
	const char *hex = json_get_str(v, "handshake_hash");

	ck_assert_msg(ntm_noise_is_done(&s->rh), "%s: responder not done", name);
	ck_assert_msg(hex != NULL, "%s: no handshake_hash", name);
	uint8_t *hash = hex_of(hex, &len, name, "handshake_hash");
	ck_assert_msg(len == NTM_HASH_LEN, "%s: handshake_hash length", name);
	memcpy(want, hash, sizeof(want));
	free(hash);
	ntm_noise_handshake_hash(&s->ih, got);
	ck_assert_msg(memcmp(got, want, sizeof(want)) == 0, "%s: initiator's hash differs", name);
	ntm_noise_handshake_hash(&s->rh, got);
	ck_assert_msg(memcmp(got, want, sizeof(want)) == 0, "%s: responder's hash differs", name);
	ck_assert_int_eq(ntm_noise_split(&s->ih, &s->itx, &s->irx), 0);
	ck_assert_int_eq(ntm_noise_split(&s->rh, &s->rtx, &s->rrx), 0);
	s->split = true;
}

/* Handshake messages alternate from the initiator; once done, the rest are
 * transport messages, alternating too unless the pattern is one-way (then
 * the initiator's rx has no key and every message goes its way). */
static void session_step(struct session *s, const struct json *v, const struct vmsg *m,
			 const char *name, size_t i)
{
	if (!s->split) {
		bool from_init = i % 2 == 0;
		check_handshake_msg(from_init ? &s->ih : &s->rh, from_init ? &s->rh : &s->ih,
				    m, name, i);
		if (ntm_noise_is_done(&s->ih))
			session_finish_handshake(s, v, name);
		return;
	}
	bool from_init = !s->irx.has_key || i % 2 == 0;
	check_transport_msg(from_init ? &s->itx : &s->rtx, from_init ? &s->rrx : &s->irx,
			    s->nonce[from_init ? 0 : 1]++, m, name, i);
}

/* Returns false when the engine does not know the pattern (printed). */
static bool run_vector(const struct json *v)
{
	const char *name = json_get_str(v, "protocol_name");
	const struct json *msgs = json_get(v, "messages");
	struct party ip, rp;
	struct session s;

	ck_assert_msg(name != NULL, "a vector without protocol_name");
	ck_assert_msg(msgs && msgs->type == JSON_ARRAY, "%s: no messages", name);
	memset(&s, 0, sizeof(s));
	party_load(&ip, v, "init", name);
	party_load(&rp, v, "resp", name);
	int ret = party_start(&s.ih, &ip, name, true);
	if (ret == -EPROTONOSUPPORT) {
		printf("noise: unsupported: %s\n", name);
		party_free(&ip);
		party_free(&rp);
		return false;
	}
	ck_assert_msg(ret == 0, "%s: initiator init: %d", name, ret);
	ret = party_start(&s.rh, &rp, name, false);
	ck_assert_msg(ret == 0, "%s: responder init: %d", name, ret);

	for (size_t i = 0; i < msgs->n; i++) {
		struct vmsg m;
		vmsg_load(&m, msgs->items[i], name);
		session_step(&s, v, &m, name, i);
		free(m.payload);
		free(m.ct);
	}
	ck_assert_msg(s.split, "%s: the vector ends before the handshake does", name);

	ntm_noise_hs_clear(&s.ih);
	ntm_noise_hs_clear(&s.rh);
	ntm_noise_cs_clear(&s.itx);
	ntm_noise_cs_clear(&s.irx);
	ntm_noise_cs_clear(&s.rtx);
	ntm_noise_cs_clear(&s.rrx);
	party_free(&ip);
	party_free(&rp);
	return true;
}

/* Runs every vector of a file; returns how many were checked. */
static size_t run_file(const char *file, size_t *total, size_t *unsupported)
{
	char path[4096];
	size_t checked = 0;

	ck_assert(json_vector_path(file, path, sizeof(path)) != NULL);
	struct json *doc = json_load_file(path);
	ck_assert_msg(doc != NULL, "cannot load %s", path);
	const struct json *vectors = json_get(doc, "vectors");
	ck_assert_msg(vectors && vectors->type == JSON_ARRAY && vectors->n > 0,
		      "%s: no vectors", path);
	for (size_t i = 0; i < vectors->n; i++) {
		if (run_vector(vectors->items[i]))
			checked++;
		else
			(*unsupported)++;
	}
	*total += vectors->n;
	json_free(doc);
	return checked;
}

START_TEST(test_every_cacophony_vector_is_reproduced_byte_for_byte)
{
	size_t total = 0, unsupported = 0;
	size_t aes = run_file("noise-cacophony-25519-aesgcm-sha256.json", &total, &unsupported);
	size_t chacha = run_file("noise-cacophony-25519-chachapoly-sha256.json", &total, &unsupported);

	printf("noise: %zu vectors checked (%zu suite aesgcm, %zu chachapoly), %zu unsupported\n",
	       aes + chacha, aes, chacha, unsupported);
	fflush(stdout);
	ck_assert_uint_eq(aes + chacha + unsupported, total);
}
END_TEST

/* ---- handshakes between two engines with fixed keys ---- */

static const uint8_t test_psk[NTM_NOISE_PSK_LEN] = { 0x70, 0x73, 0x6b, [31] = 0x01 };

struct pair {
	struct ntm_noise_hs i, r;
	uint8_t i_s[32], r_s[32], i_pub[32], r_pub[32];
};

struct proto {
	const char *name;
	bool i_knows_rs, r_knows_rs; /* pre-message keys */
	size_t npsks;
	bool fixed_e;                /* reproducible messages */
};

static void pair_start(struct pair *p, const struct proto *pr)
{
	memset(p, 0, sizeof(*p));
	for (int k = 0; k < 32; k++) {
		p->i_s[k] = (uint8_t)(0x11 + k);
		p->r_s[k] = (uint8_t)(0x77 + 3 * k);
	}
	ck_assert_int_eq(ntm_x25519_public(p->i_pub, p->i_s), 0);
	ck_assert_int_eq(ntm_x25519_public(p->r_pub, p->r_s), 0);

	struct ntm_noise_config ic = { .protocol_name = pr->name, .initiator = true,
				       .prologue = (const uint8_t *)"ntm", .prologue_len = 3,
				       .s_priv = p->i_s, .rs = pr->i_knows_rs ? p->r_pub : NULL,
				       .npsks = pr->npsks };
	struct ntm_noise_config rc = ic;
	rc.initiator = false;
	rc.s_priv = p->r_s;
	rc.rs = pr->r_knows_rs ? p->i_pub : NULL;
	for (size_t k = 0; k < pr->npsks; k++)
		ic.psks[k] = rc.psks[k] = test_psk;
	ck_assert_int_eq(ntm_noise_hs_init(&p->i, &ic), 0);
	ck_assert_int_eq(ntm_noise_hs_init(&p->r, &rc), 0);
	if (pr->fixed_e) {
		uint8_t e[32];
		memset(e, 0xe1, sizeof(e));
		ntm_noise_test_set_ephemeral(&p->i, e);
		memset(e, 0xe2, sizeof(e));
		ntm_noise_test_set_ephemeral(&p->r, e);
	}
}

static void pair_clear(struct pair *p)
{
	ntm_noise_hs_clear(&p->i);
	ntm_noise_hs_clear(&p->r);
}

static struct ntm_noise_hs *sender(struct pair *p, size_t k)
{
	return k % 2 == 0 ? &p->i : &p->r;
}

static struct ntm_noise_hs *receiver(struct pair *p, size_t k)
{
	return k % 2 == 0 ? &p->r : &p->i;
}

/* Exchanges messages 0..k-1, then writes message k into msg. */
static void pair_run_to(struct pair *p, size_t k, uint8_t *msg, size_t *len)
{
	static const uint8_t payload[] = "hello, peer";
	uint8_t pt[MSG_BUF];
	size_t plen;

	for (size_t j = 0; j <= k; j++) {
		ck_assert_int_eq(ntm_noise_write(sender(p, j), payload, sizeof(payload), msg,
						 MSG_BUF, len), 0);
		if (j == k)
			break;
		ck_assert_int_eq(ntm_noise_read(receiver(p, j), msg, *len, pt, sizeof(pt), &plen), 0);
		ck_assert_uint_eq(plen, sizeof(payload));
	}
}

/* The receiver is failed: it refuses anything further. */
static void assert_failed(struct ntm_noise_hs *hs)
{
	uint8_t buf[MSG_BUF];
	size_t len;

	ck_assert(!ntm_noise_is_done(hs));
	ck_assert_int_eq(ntm_noise_read(hs, buf, 100, buf, sizeof(buf), &len), -EPROTO);
	ck_assert_int_eq(ntm_noise_write(hs, NULL, 0, buf, sizeof(buf), &len), -EPROTO);
}

/* Reads msg (len bytes) from a heap copy of exactly that size, so that the
 * sanitizers and valgrind see any read past its end. */
static int read_exact(struct ntm_noise_hs *hs, const uint8_t *msg, size_t len)
{
	uint8_t pt[MSG_BUF];
	size_t plen;
	uint8_t *copy = malloc(len ? len : 1);

	ck_assert(copy != NULL);
	if (len)
		memcpy(copy, msg, len);
	int ret = ntm_noise_read(hs, copy, len, pt, sizeof(pt), &plen);
	free(copy);
	return ret;
}

static const struct proto ik_aes = { "Noise_IK_25519_AESGCM_SHA256", true, false, 0, true };
static const struct proto ik_chacha = { "Noise_IK_25519_ChaChaPoly_SHA256", true, false, 0, true };
static const struct proto ikpsk2 = { "Noise_IKpsk2_25519_ChaChaPoly_SHA256", true, false, 1, true };
static const struct proto xx_aes = { "Noise_XX_25519_AESGCM_SHA256", false, false, 0, true };
static const struct proto nn_aes = { "Noise_NN_25519_AESGCM_SHA256", false, false, 0, true };
static const struct proto n_aes = { "Noise_N_25519_AESGCM_SHA256", true, false, 0, false };

/* Every message of these is authenticated from its first byte (XX's first
 * message carries no key, so its tampering shows only in message 2). */
static const struct {
	const struct proto *proto;
	size_t first, nmsgs;
} authenticated[] = {
	{ &ik_aes, 0, 2 }, { &ik_chacha, 0, 2 }, { &ikpsk2, 0, 2 }, { &xx_aes, 1, 3 },
};

START_TEST(test_a_tampered_byte_in_any_handshake_message_is_rejected)
{
	for (size_t c = 0; c < NTM_ARRAY_SIZE(authenticated); c++) {
		for (size_t k = authenticated[c].first; k < authenticated[c].nmsgs; k++) {
			struct pair p;
			uint8_t msg[MSG_BUF];
			size_t len;

			pair_start(&p, authenticated[c].proto);
			pair_run_to(&p, k, msg, &len);
			pair_clear(&p);
			for (size_t j = 0; j < len; j++) {
				uint8_t bad[MSG_BUF];
				size_t blen;
				pair_start(&p, authenticated[c].proto);
				pair_run_to(&p, k, bad, &blen);
				ck_assert_uint_eq(blen, len);
				bad[j] ^= 0x20;
				ck_assert_msg(read_exact(receiver(&p, k), bad, blen) == -EBADMSG,
					      "%s: message %zu byte %zu flipped was accepted",
					      authenticated[c].proto->name, k, j);
				assert_failed(receiver(&p, k));
				pair_clear(&p);
			}
		}
	}
}
END_TEST

START_TEST(test_a_truncated_or_extended_handshake_message_is_rejected)
{
	static uint8_t huge[NTM_NOISE_MAX_MSG + 2];

	for (size_t c = 0; c < NTM_ARRAY_SIZE(authenticated); c++) {
		for (size_t k = authenticated[c].first; k < authenticated[c].nmsgs; k++) {
			struct pair p;
			uint8_t msg[MSG_BUF];
			size_t len;

			pair_start(&p, authenticated[c].proto);
			pair_run_to(&p, k, msg, &len);
			pair_clear(&p);
			for (size_t cut = 0; cut <= len + 1; cut++) {
				size_t mlen;
				if (cut == len)
					continue; /* the intact message */
				pair_start(&p, authenticated[c].proto);
				pair_run_to(&p, k, msg, &mlen);
				msg[len] = 0; /* the extra byte of len + 1 */
				ck_assert_msg(read_exact(receiver(&p, k), msg, cut) == -EBADMSG,
					      "%s: message %zu of %zu bytes as %zu accepted",
					      authenticated[c].proto->name, k, len, cut);
				assert_failed(receiver(&p, k));
				pair_clear(&p);
			}
			/* Longer than Noise allows: refused before any parsing. */
			pair_start(&p, authenticated[c].proto);
			pair_run_to(&p, k, huge, &len);
			uint8_t pt[MSG_BUF];
			size_t plen;
			ck_assert_int_eq(ntm_noise_read(receiver(&p, k), huge, sizeof(huge) - 1, pt,
							sizeof(pt), &plen), -EBADMSG);
			assert_failed(receiver(&p, k));
			pair_clear(&p);
		}
	}
}
END_TEST

/* X25519 maps these to an all-zero shared secret. */
static const uint8_t low_order[][32] = {
	{ 0 },
	{ 1 },
};

START_TEST(test_an_all_zero_or_low_order_remote_ephemeral_is_rejected)
{
	for (size_t z = 0; z < NTM_ARRAY_SIZE(low_order); z++) {
		const struct proto *ik[] = { &ik_aes, &ik_chacha };
		for (size_t c = 0; c < NTM_ARRAY_SIZE(ik); c++) {
			/* IK: message 1's es and message 2's ee use it at once. */
			for (size_t k = 0; k < 2; k++) {
				struct pair p;
				uint8_t msg[MSG_BUF];
				size_t len;
				pair_start(&p, ik[c]);
				pair_run_to(&p, k, msg, &len);
				memcpy(msg, low_order[z], 32);
				ck_assert_int_eq(read_exact(receiver(&p, k), msg, len), -EBADMSG);
				assert_failed(receiver(&p, k));
				pair_clear(&p);
			}
		}
		/* NN: the responder first uses it in its own write (ee). */
		struct pair p;
		uint8_t msg[MSG_BUF];
		size_t len;
		pair_start(&p, &nn_aes);
		pair_run_to(&p, 0, msg, &len);
		memcpy(msg, low_order[z], 32);
		ck_assert_int_eq(read_exact(&p.r, msg, len), 0);
		ck_assert_int_eq(ntm_noise_write(&p.r, NULL, 0, msg, sizeof(msg), &len), -EBADMSG);
		assert_failed(&p.r);
		pair_clear(&p);
	}
}
END_TEST

START_TEST(test_writing_or_reading_out_of_turn_is_eproto)
{
	struct pair p;
	uint8_t msg[MSG_BUF], pt[MSG_BUF];
	size_t len, plen;

	pair_start(&p, &ik_aes);
	ck_assert_int_eq(ntm_noise_write(&p.r, NULL, 0, msg, sizeof(msg), &len), -EPROTO);
	ck_assert_int_eq(ntm_noise_read(&p.i, msg, 100, pt, sizeof(pt), &plen), -EPROTO);
	ck_assert_int_eq(ntm_noise_write(&p.i, NULL, 0, msg, sizeof(msg), &len), 0);
	ck_assert_int_eq(ntm_noise_write(&p.i, NULL, 0, pt, sizeof(pt), &plen), -EPROTO);
	ck_assert_int_eq(ntm_noise_read(&p.r, msg, len, pt, sizeof(pt), &plen), 0);
	ck_assert_int_eq(ntm_noise_read(&p.r, msg, len, pt, sizeof(pt), &plen), -EPROTO);
	ck_assert_int_eq(ntm_noise_write(&p.r, NULL, 0, msg, sizeof(msg), &len), 0);
	ck_assert_int_eq(ntm_noise_read(&p.i, msg, len, pt, sizeof(pt), &plen), 0);
	ck_assert(ntm_noise_is_done(&p.i));
	ck_assert(ntm_noise_is_done(&p.r));
	/* Finished: nothing more in either direction. */
	ck_assert_int_eq(ntm_noise_write(&p.i, NULL, 0, msg, sizeof(msg), &len), -EPROTO);
	ck_assert_int_eq(ntm_noise_write(&p.r, NULL, 0, msg, sizeof(msg), &len), -EPROTO);
	ck_assert_int_eq(ntm_noise_read(&p.i, msg, len, pt, sizeof(pt), &plen), -EPROTO);
	ck_assert_int_eq(ntm_noise_read(&p.r, msg, len, pt, sizeof(pt), &plen), -EPROTO);
	pair_clear(&p);
}
END_TEST

START_TEST(test_unknown_protocol_names_are_eprotonosupport)
{
	static const char *names[] = {
		"", "Noise_", "Noise_IK", "Noise_IK_25519", "Noise_IK_25519_AESGCM",
		"Noise_ZZ_25519_AESGCM_SHA256", "Noise_ik_25519_AESGCM_SHA256",
		"noise_IK_25519_AESGCM_SHA256", "Noise_IK_448_AESGCM_SHA256",
		"Noise_IK_25519_AESGCM_SHA512", "Noise_IK_25519_ChaChaPoly_BLAKE2s",
		"Noise_IK_25519_AESGCM_SHA256_", "Noise_IK_25519_AESGCM_SHA256x",
		"Noise_IK_25519_aesgcm_SHA256", "Noise_IKpsk3_25519_AESGCM_SHA256",
		"Noise_IKpsk_25519_AESGCM_SHA256", "Noise_IKpsk2+_25519_AESGCM_SHA256",
		"Noise_IKpskx_25519_AESGCM_SHA256", "Noise_XXfallback_25519_AESGCM_SHA256",
		"Noise_XXhfs_25519_AESGCM_SHA256", "Noise_IK1psk0+psk1+psk2+psk2+psk2_25519_AESGCM_SHA256",
		"Noise_IK_25519+448_AESGCM_SHA256", "Noise__25519_AESGCM_SHA256",
	};
	char longname[400];
	uint8_t key[32] = { 9 };

	for (size_t i = 0; i <= NTM_ARRAY_SIZE(names); i++) {
		struct ntm_noise_hs hs;
		struct ntm_noise_config cfg = { .initiator = true, .s_priv = key, .rs = key };
		if (i < NTM_ARRAY_SIZE(names)) {
			cfg.protocol_name = names[i];
		} else {
			memset(longname, 'A', sizeof(longname) - 1);
			longname[sizeof(longname) - 1] = 0;
			memcpy(longname, "Noise_", 6);
			cfg.protocol_name = longname;
		}
		ck_assert_msg(ntm_noise_hs_init(&hs, &cfg) == -EPROTONOSUPPORT,
			      "\"%s\" was accepted", cfg.protocol_name);
		ntm_noise_hs_clear(&hs);
	}
}
END_TEST

START_TEST(test_missing_or_superfluous_keys_are_einval)
{
	uint8_t key[32] = { 9 };
	struct ntm_noise_hs hs;
	struct ntm_noise_config cfg = { .protocol_name = ik_aes.name, .initiator = true,
					.s_priv = key };

	ck_assert_int_eq(ntm_noise_hs_init(&hs, &cfg), -EINVAL); /* no rs */
	cfg.rs = key;
	cfg.s_priv = NULL;
	ck_assert_int_eq(ntm_noise_hs_init(&hs, &cfg), -EINVAL); /* no s */
	cfg.s_priv = key;
	ck_assert_int_eq(ntm_noise_hs_init(&hs, &cfg), 0);
	ntm_noise_hs_clear(&hs);
	cfg.initiator = false; /* the responder learns rs in IK */
	ck_assert_int_eq(ntm_noise_hs_init(&hs, &cfg), -EINVAL);
	cfg.protocol_name = "Noise_IKpsk2_25519_AESGCM_SHA256";
	cfg.rs = NULL;
	ck_assert_int_eq(ntm_noise_hs_init(&hs, &cfg), -EINVAL); /* no psk */
	cfg.npsks = 1;
	ck_assert_int_eq(ntm_noise_hs_init(&hs, &cfg), -EINVAL); /* NULL psk */
	cfg.psks[0] = test_psk;
	ck_assert_int_eq(ntm_noise_hs_init(&hs, &cfg), 0);
	ntm_noise_hs_clear(&hs);
	cfg.protocol_name = nn_aes.name; /* a psk NN does not use */
	ck_assert_int_eq(ntm_noise_hs_init(&hs, &cfg), -EINVAL);
	cfg.npsks = 0;
	cfg.prologue_len = 4; /* without a prologue */
	ck_assert_int_eq(ntm_noise_hs_init(&hs, &cfg), -EINVAL);
}
END_TEST

START_TEST(test_small_buffers_are_emsgsize)
{
	struct pair p;
	uint8_t msg[MSG_BUF], pt[MSG_BUF];
	size_t len, plen;
	static uint8_t big[NTM_NOISE_MAX_MSG];

	pair_start(&p, &ik_aes);
	/* IK message 1 with 5 payload bytes: 32 + 48 + 5 + 16 = 101. */
	ck_assert_int_eq(ntm_noise_write(&p.i, pt, 5, msg, 100, &len), -EMSGSIZE);
	ck_assert_int_eq(ntm_noise_write(&p.i, big, sizeof(big) - 96, msg, sizeof(msg), &len),
			 -EMSGSIZE);
	ck_assert_int_eq(ntm_noise_write(&p.i, pt, 5, msg, 101, &len), 0); /* retry works */
	ck_assert_uint_eq(len, 101);
	ck_assert_int_eq(ntm_noise_read(&p.r, msg, len, pt, 4, &plen), -EMSGSIZE);
	assert_failed(&p.r);
	pair_clear(&p);
}
END_TEST

/* IK with random ephemerals, both suites: the transport works both ways,
 * refuses the reserved nonce, a wrong nonce and a tampered tag. */
START_TEST(test_a_random_ik_session_carries_transport_packets)
{
	const struct proto *protos[] = { &ik_aes, &ik_chacha };

	for (size_t c = 0; c < NTM_ARRAY_SIZE(protos); c++) {
		struct proto pr = *protos[c];
		struct pair p;
		struct ntm_noise_cs itx, irx, rtx, rrx;
		uint8_t msg[MSG_BUF], pt[MSG_BUF], hi[32], hr[32];
		size_t len, plen;

		pr.fixed_e = false;
		pair_start(&p, &pr);
		ck_assert_int_eq(ntm_noise_split(&p.i, &itx, &irx), -EPROTO); /* not done */
		pair_run_to(&p, 1, msg, &len);
		ck_assert_int_eq(ntm_noise_read(&p.i, msg, len, pt, sizeof(pt), &plen), 0);
		ck_assert_mem_eq(ntm_noise_remote_static(&p.r), p.i_pub, 32);
		ck_assert_mem_eq(ntm_noise_remote_static(&p.i), p.r_pub, 32);
		ntm_noise_handshake_hash(&p.i, hi);
		ntm_noise_handshake_hash(&p.r, hr);
		ck_assert_mem_eq(hi, hr, 32);
		ck_assert_int_eq(ntm_noise_split(&p.i, &itx, &irx), 0);
		ck_assert_int_eq(ntm_noise_split(&p.r, &rtx, &rrx), 0);
		struct ntm_noise_cs again_tx, again_rx;
		ck_assert_int_eq(ntm_noise_split(&p.r, &again_tx, &again_rx), -EPROTO); /* once */
		ntm_noise_handshake_hash(&p.r, hr);
		ck_assert_mem_eq(hi, hr, 32); /* the hash outlives the split */
		pair_clear(&p);

		static const uint8_t ad[] = "header";
		uint8_t packet[64 + NTM_TAG_LEN];
		memcpy(packet, "sixty-four bytes of inner packet, in place, sealed then opened.", 64);
		ck_assert_int_eq(ntm_noise_cs_seal(&itx, 7, ad, sizeof(ad), packet, 64, packet), 0);
		ck_assert_int_eq(ntm_noise_cs_open(&rrx, 8, ad, sizeof(ad), packet, sizeof(packet), pt),
				 -EBADMSG);
		ck_assert_int_eq(ntm_noise_cs_open(&irx, 7, ad, sizeof(ad), packet, sizeof(packet), pt),
				 -EBADMSG); /* the other direction's key */
		ck_assert_int_eq(ntm_noise_cs_open(&rrx, 7, ad, sizeof(ad), packet, sizeof(packet),
						   packet), 0);
		ck_assert_mem_eq(packet, "sixty-four bytes", 16);
		ck_assert_int_eq(ntm_noise_cs_seal(&rtx, UINT64_MAX, NULL, 0, pt, 1, msg), -EOVERFLOW);
		ck_assert_int_eq(ntm_noise_cs_open(&irx, UINT64_MAX, NULL, 0, msg, 17, pt), -EOVERFLOW);
		ck_assert_int_eq(ntm_noise_cs_seal(&rtx, UINT64_MAX - 1, NULL, 0, pt, 1, msg), 0);
		ck_assert_int_eq(ntm_noise_cs_open(&irx, UINT64_MAX - 1, NULL, 0, msg, 17, pt), 0);
		msg[16] ^= 1;
		ck_assert_int_eq(ntm_noise_cs_open(&irx, UINT64_MAX - 1, NULL, 0, msg, 17, pt), -EBADMSG);
		ck_assert_int_eq(ntm_noise_cs_open(&irx, 0, NULL, 0, msg, NTM_TAG_LEN - 1, pt), -EBADMSG);
		ntm_noise_cs_clear(&itx);
		ntm_noise_cs_clear(&irx);
		ntm_noise_cs_clear(&rtx);
		ntm_noise_cs_clear(&rrx);
		ck_assert_int_eq(ntm_noise_cs_seal(&itx, 0, NULL, 0, pt, 1, msg), -EINVAL);
	}
}
END_TEST

START_TEST(test_a_one_way_pattern_gives_the_responder_no_sending_key)
{
	struct pair p;
	struct ntm_noise_cs itx, irx, rtx, rrx;
	uint8_t msg[MSG_BUF], pt[MSG_BUF];
	size_t len, plen;

	pair_start(&p, &n_aes);
	pair_run_to(&p, 0, msg, &len);
	ck_assert_int_eq(ntm_noise_read(&p.r, msg, len, pt, sizeof(pt), &plen), 0);
	ck_assert_int_eq(ntm_noise_write(&p.r, NULL, 0, msg, sizeof(msg), &len), -EPROTO);
	ck_assert_int_eq(ntm_noise_split(&p.i, &itx, &irx), 0);
	ck_assert_int_eq(ntm_noise_split(&p.r, &rtx, &rrx), 0);
	ck_assert(itx.has_key && rrx.has_key && !irx.has_key && !rtx.has_key);
	ck_assert_int_eq(ntm_noise_cs_seal(&rtx, 0, NULL, 0, pt, 1, msg), -EINVAL);
	ck_assert_int_eq(ntm_noise_cs_seal(&itx, 0, NULL, 0, pt, 1, msg), 0);
	ck_assert_int_eq(ntm_noise_cs_open(&rrx, 0, NULL, 0, msg, 17, pt), 0);
	ck_assert_int_eq(ntm_noise_cs_open(&irx, 0, NULL, 0, msg, 17, pt), -EINVAL);
	ntm_noise_cs_clear(&itx);
	ntm_noise_cs_clear(&irx);
	ntm_noise_cs_clear(&rtx);
	ntm_noise_cs_clear(&rrx);
	pair_clear(&p);
}
END_TEST

static Suite *noise_suite(void)
{
	Suite *s = suite_create("noise");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_every_cacophony_vector_is_reproduced_byte_for_byte);
	tcase_add_test(tc, test_a_tampered_byte_in_any_handshake_message_is_rejected);
	tcase_add_test(tc, test_a_truncated_or_extended_handshake_message_is_rejected);
	tcase_add_test(tc, test_an_all_zero_or_low_order_remote_ephemeral_is_rejected);
	tcase_add_test(tc, test_writing_or_reading_out_of_turn_is_eproto);
	tcase_add_test(tc, test_unknown_protocol_names_are_eprotonosupport);
	tcase_add_test(tc, test_missing_or_superfluous_keys_are_einval);
	tcase_add_test(tc, test_small_buffers_are_emsgsize);
	tcase_add_test(tc, test_a_random_ik_session_carries_transport_packets);
	tcase_add_test(tc, test_a_one_way_pattern_gives_the_responder_no_sending_key);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(noise_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
