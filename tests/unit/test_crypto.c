/* test_crypto.c - lib/crypto.c against answers computed elsewhere: every
 * Wycheproof vector for AES-GCM, ChaCha20-Poly1305, X25519 and HKDF-SHA256,
 * the RFC 7748 and RFC 8439 examples, and the API's own promises (in-place
 * AEAD, tamper rejection, strict base64, refusal of all-zero DH results).
 *
 * Each Wycheproof file is accounted for vector by vector: every test case
 * ends in exactly one tally, and the tallies must add up to the file's
 * numberOfTests, so nothing can be skipped without the test failing. */
#include "crypto.h"
#include "json.h"
#include "util.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- helpers ------------------------------------------------------------ */

static int all_zero(const uint8_t *p, size_t n)
{
	uint8_t acc = 0;
	for (size_t i = 0; i < n; i++)
		acc |= p[i];
	return acc == 0;
}

/* Hex from a vector or from this file; the test fails on malformed hex. */
static uint8_t *hex(const char *s, size_t *len)
{
	ck_assert_ptr_nonnull(s);
	uint8_t *p = json_hex(s, len);
	ck_assert_msg(p != NULL, "bad hex: %.40s", s);
	return p;
}

static void hex32(uint8_t out[32], const char *s)
{
	size_t n;
	uint8_t *p = hex(s, &n);
	ck_assert_uint_eq(n, 32);
	memcpy(out, p, 32);
	free(p);
}

static struct json *load_vectors(const char *name)
{
	char path[4096];
	ck_assert_ptr_nonnull(json_vector_path(name, path, sizeof(path)));
	struct json *doc = json_load_file(path);
	ck_assert_msg(doc != NULL, "cannot load %s", path);
	return doc;
}

/* Where each Wycheproof case ended up. */
struct tally {
	unsigned checked;
	unsigned valid_matched;
	unsigned acceptable_matched;
	unsigned invalid_rejected;
	unsigned unsupported_rejected; /* valid case whose parameters ntm refuses */
	unsigned zero_refused;         /* X25519: all-zero shared secret refused */
};

static void tally_report(const char *name, const struct json *doc, const struct tally *t)
{
	const struct json *n = json_get(doc, "numberOfTests");
	ck_assert_ptr_nonnull(n);
	printf("%s: %u checked, %u valid matched, %u acceptable matched, "
	       "%u invalid rejected, %u unsupported rejected, %u zero-secret refused\n",
	       name, t->checked, t->valid_matched, t->acceptable_matched,
	       t->invalid_rejected, t->unsupported_rejected, t->zero_refused);
	fflush(stdout);
	ck_assert_uint_eq(t->checked, (unsigned)n->num);
	ck_assert_uint_eq(t->checked, t->valid_matched + t->acceptable_matched +
			  t->invalid_rejected + t->unsupported_rejected + t->zero_refused);
}

/* Calls fn on every test case of every group; groups and tests must exist. */
typedef void (*case_fn)(const struct json *group, const struct json *tc, struct tally *t);

static void run_wycheproof(const char *name, case_fn fn)
{
	struct tally t = { 0 };
	struct json *doc = load_vectors(name);
	const struct json *groups = json_get(doc, "testGroups");
	ck_assert(groups && groups->type == JSON_ARRAY && groups->n > 0);
	for (size_t g = 0; g < groups->n; g++) {
		const struct json *tests = json_get(groups->items[g], "tests");
		ck_assert(tests && tests->type == JSON_ARRAY);
		for (size_t i = 0; i < tests->n; i++) {
			t.checked++;
			fn(groups->items[g], tests->items[i], &t);
		}
	}
	tally_report(name, doc, &t);
	json_free(doc);
}

static const char *result_of(const struct json *tc)
{
	const char *r = json_get_str(tc, "result");
	ck_assert_ptr_nonnull(r);
	ck_assert(!strcmp(r, "valid") || !strcmp(r, "acceptable") || !strcmp(r, "invalid"));
	return r;
}

static unsigned tc_id(const struct json *tc)
{
	const struct json *id = json_get(tc, "tcId");
	ck_assert(id && id->type == JSON_NUMBER);
	return (unsigned)id->num;
}

/* ---- Wycheproof AEAD ---------------------------------------------------- */

struct aead_case {
	uint8_t *key, *iv, *aad, *msg, *ct, *tag;
	size_t keylen, ivlen, aadlen, msglen, ctlen, taglen;
};

static void aead_case_load(struct aead_case *c, const struct json *tc)
{
	c->key = hex(json_get_str(tc, "key"), &c->keylen);
	c->iv = hex(json_get_str(tc, "iv"), &c->ivlen);
	c->aad = hex(json_get_str(tc, "aad"), &c->aadlen);
	c->msg = hex(json_get_str(tc, "msg"), &c->msglen);
	c->ct = hex(json_get_str(tc, "ct"), &c->ctlen);
	c->tag = hex(json_get_str(tc, "tag"), &c->taglen);
}

static void aead_case_free(struct aead_case *c)
{
	free(c->key);
	free(c->iv);
	free(c->aad);
	free(c->msg);
	free(c->ct);
	free(c->tag);
}

/* ct || tag as one buffer, the form ntm_aead_open takes. */
static uint8_t *sealed_of(const struct aead_case *c, size_t *len)
{
	*len = c->ctlen + c->taglen;
	uint8_t *s = malloc(*len ? *len : 1);
	ck_assert_ptr_nonnull(s);
	memcpy(s, c->ct, c->ctlen);
	memcpy(s + c->ctlen, c->tag, c->taglen);
	return s;
}

/* A case the API refuses: init or every call says -EINVAL. */
static int aead_refused(struct ntm_aead *a, int init_ret, const struct aead_case *c,
			const uint8_t *sealed, size_t sealedlen, uint8_t *out)
{
	if (init_ret == -EINVAL)
		return 1;
	ck_assert_int_eq(init_ret, 0);
	int s = ntm_aead_seal(a, c->iv, c->ivlen, c->aad, c->aadlen, c->msg, c->msglen, out);
	int o = ntm_aead_open(a, c->iv, c->ivlen, c->aad, c->aadlen, sealed, sealedlen, out);
	if (s != -EINVAL)
		return 0;
	ck_assert_int_eq(o, -EINVAL); /* refused both ways, never half-supported */
	return 1;
}

/* Seal and open out of place, then again in place, against the vector. */
static void aead_expect_match(struct ntm_aead *a, const struct aead_case *c, unsigned id,
			      const uint8_t *sealed, size_t sealedlen)
{
	uint8_t *out = malloc(sealedlen);
	ck_assert_ptr_nonnull(out);
	ck_assert_int_eq(ntm_aead_seal(a, c->iv, c->ivlen, c->aad, c->aadlen, c->msg, c->msglen, out), 0);
	ck_assert_msg(!memcmp(out, sealed, sealedlen), "tcId %u: seal differs", id);
	memset(out, 0xa5, sealedlen);
	ck_assert_int_eq(ntm_aead_open(a, c->iv, c->ivlen, c->aad, c->aadlen, sealed, sealedlen, out), 0);
	ck_assert_msg(!memcmp(out, c->msg, c->msglen), "tcId %u: open differs", id);

	memcpy(out, c->msg, c->msglen);
	ck_assert_int_eq(ntm_aead_seal(a, c->iv, c->ivlen, c->aad, c->aadlen, out, c->msglen, out), 0);
	ck_assert_msg(!memcmp(out, sealed, sealedlen), "tcId %u: in-place seal differs", id);
	ck_assert_int_eq(ntm_aead_open(a, c->iv, c->ivlen, c->aad, c->aadlen, out, sealedlen, out), 0);
	ck_assert_msg(!memcmp(out, c->msg, c->msglen), "tcId %u: in-place open differs", id);
	free(out);
}

static void aead_case(enum ntm_aead_alg alg, const struct json *group, const struct json *tc,
		      struct tally *t)
{
	struct aead_case c;
	struct ntm_aead a = { 0 };
	const struct json *tagsize = json_get(group, "tagSize");
	const char *result = result_of(tc);
	unsigned id = tc_id(tc);
	size_t sealedlen;

	ck_assert(tagsize && tagsize->num == 8 * NTM_TAG_LEN); /* the only size ntm has */
	aead_case_load(&c, tc);
	uint8_t *sealed = sealed_of(&c, &sealedlen);
	uint8_t *out = malloc(c.msglen + NTM_TAG_LEN + sealedlen);
	ck_assert_ptr_nonnull(out);
	int init = ntm_aead_init(&a, alg, c.key, c.keylen);

	if (!strcmp(result, "invalid")) {
		int r = init ? init : ntm_aead_open(&a, c.iv, c.ivlen, c.aad, c.aadlen,
						    sealed, sealedlen, out);
		ck_assert_msg(r == -EBADMSG || r == -EINVAL, "tcId %u: invalid case accepted", id);
		if (r == -EBADMSG && sealedlen >= NTM_TAG_LEN)
			ck_assert_msg(all_zero(out, sealedlen - NTM_TAG_LEN),
				      "tcId %u: unauthenticated plaintext left in out", id);
		t->invalid_rejected++;
	} else if (aead_refused(&a, init, &c, sealed, sealedlen, out)) {
		/* Only AES-GCM's non-96-bit IVs may be refused; all else must work. */
		ck_assert_msg(alg == NTM_AEAD_AESGCM && c.ivlen != NTM_NONCE_LEN,
			      "tcId %u: supported parameters refused", id);
		t->unsupported_rejected++;
	} else {
		aead_expect_match(&a, &c, id, sealed, sealedlen);
		if (!strcmp(result, "valid"))
			t->valid_matched++;
		else
			t->acceptable_matched++;
	}
	ntm_aead_free(&a);
	free(out);
	free(sealed);
	aead_case_free(&c);
}

static void aesgcm_case(const struct json *g, const struct json *tc, struct tally *t)
{
	aead_case(NTM_AEAD_AESGCM, g, tc, t);
}

static void chachapoly_case(const struct json *g, const struct json *tc, struct tally *t)
{
	aead_case(NTM_AEAD_CHACHAPOLY, g, tc, t);
}

START_TEST(aes_gcm_agrees_with_every_wycheproof_vector)
{
	run_wycheproof("wycheproof-aes_gcm_test.json", aesgcm_case);
}
END_TEST

START_TEST(chacha20_poly1305_agrees_with_every_wycheproof_vector)
{
	run_wycheproof("wycheproof-chacha20_poly1305_test.json", chachapoly_case);
}
END_TEST

/* ---- Wycheproof X25519 -------------------------------------------------- */

static void x25519_case(const struct json *group, const struct json *tc, struct tally *t)
{
	uint8_t priv[32], pub[32], want[32], got[32];
	const char *result = result_of(tc);
	unsigned id = tc_id(tc);

	ck_assert_str_eq(json_get_str(group, "curve"), "curve25519");
	hex32(priv, json_get_str(tc, "private"));
	hex32(pub, json_get_str(tc, "public"));
	hex32(want, json_get_str(tc, "shared"));
	memset(got, 0xa5, sizeof(got));
	int r = ntm_x25519(got, priv, pub);

	if (!strcmp(result, "invalid")) {
		ck_assert_msg(r < 0 || memcmp(got, want, 32), "tcId %u: invalid case accepted", id);
		t->invalid_rejected++;
	} else if (all_zero(want, 32)) {
		ck_assert_msg(r == -EINVAL, "tcId %u: all-zero shared secret accepted", id);
		ck_assert_msg(all_zero(got, 32), "tcId %u: refused output not wiped", id);
		t->zero_refused++;
	} else {
		ck_assert_msg(r == 0 && !memcmp(got, want, 32), "tcId %u: shared secret differs", id);
		if (!strcmp(result, "valid"))
			t->valid_matched++;
		else
			t->acceptable_matched++;
	}
}

START_TEST(x25519_agrees_with_every_wycheproof_vector)
{
	run_wycheproof("wycheproof-x25519_test.json", x25519_case);
}
END_TEST

/* ---- Wycheproof HKDF ---------------------------------------------------- */

static void hkdf_case(const struct json *group, const struct json *tc, struct tally *t)
{
	size_t ikmlen, saltlen, infolen, okmlen;
	const struct json *size = json_get(tc, "size");
	const char *result = result_of(tc);
	unsigned id = tc_id(tc);
	(void)group;

	ck_assert(size && size->type == JSON_NUMBER && size->num >= 0);
	size_t n = (size_t)size->num;
	uint8_t *ikm = hex(json_get_str(tc, "ikm"), &ikmlen);
	uint8_t *salt = hex(json_get_str(tc, "salt"), &saltlen);
	uint8_t *info = hex(json_get_str(tc, "info"), &infolen);
	uint8_t *okm = hex(json_get_str(tc, "okm"), &okmlen);
	uint8_t *out = malloc(n ? n : 1);
	ck_assert_ptr_nonnull(out);
	int r = ntm_hkdf_sha256(out, n, salt, saltlen, ikm, ikmlen, info, infolen);

	if (!strcmp(result, "invalid")) {
		ck_assert_msg(r == -EINVAL, "tcId %u: invalid size %zu accepted", id, n);
		t->invalid_rejected++;
	} else {
		ck_assert_uint_eq(okmlen, n);
		ck_assert_msg(r == 0 && !memcmp(out, okm, n), "tcId %u: okm differs", id);
		if (saltlen == 0) { /* an absent salt must mean the same as an empty one */
			memset(out, 0, n);
			ck_assert_int_eq(ntm_hkdf_sha256(out, n, NULL, 0, ikm, ikmlen, info, infolen), 0);
			ck_assert_msg(!memcmp(out, okm, n), "tcId %u: NULL salt differs", id);
		}
		if (!strcmp(result, "valid"))
			t->valid_matched++;
		else
			t->acceptable_matched++;
	}
	free(out);
	free(okm);
	free(info);
	free(salt);
	free(ikm);
}

START_TEST(hkdf_sha256_agrees_with_every_wycheproof_vector)
{
	run_wycheproof("wycheproof-hkdf_sha256_test.json", hkdf_case);
}
END_TEST

/* ---- RFC examples ------------------------------------------------------- */

/* RFC 7748 section 5.2: the two single scalar multiplications. */
START_TEST(x25519_reproduces_rfc7748_section_5_2_examples)
{
	static const char *const v[][3] = { /* scalar, u, result */
		{ "a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4",
		  "e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c",
		  "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552" },
		{ "4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d",
		  "e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493",
		  "95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957" },
	};
	for (size_t i = 0; i < 2; i++) {
		uint8_t k[32], u[32], want[32], got[32];
		hex32(k, v[i][0]);
		hex32(u, v[i][1]);
		hex32(want, v[i][2]);
		ck_assert_int_eq(ntm_x25519(got, k, u), 0);
		ck_assert(!memcmp(got, want, 32));
	}
}
END_TEST

/* RFC 7748 section 5.2: k = u = 9, then (k, u) = (X25519(k, u), k), checked
 * after 1 and 1,000 iterations (the 1,000,000 one is too slow for a unit test). */
START_TEST(x25519_reproduces_rfc7748_section_5_2_iterations)
{
	uint8_t k[32] = { 9 }, u[32] = { 9 }, r[32], want1[32], want1000[32];
	hex32(want1, "422c8e7a6227d7bca1350b3e2bb7279f7897b87bb6854b783c60e80311ae3079");
	hex32(want1000, "684cf59ba83309552800ef566f2f4d3c1c3887c49360e3875f2eb94d99532c51");
	for (int i = 1; i <= 1000; i++) {
		ck_assert_int_eq(ntm_x25519(r, k, u), 0);
		memcpy(u, k, 32);
		memcpy(k, r, 32);
		if (i == 1)
			ck_assert(!memcmp(k, want1, 32));
	}
	ck_assert(!memcmp(k, want1000, 32));
}
END_TEST

/* RFC 7748 section 6.1: Alice and Bob's key pairs and their shared secret. */
START_TEST(x25519_reproduces_rfc7748_section_6_1_exchange)
{
	uint8_t a_priv[32], a_pub[32], b_priv[32], b_pub[32], shared[32], got[32];
	hex32(a_priv, "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
	hex32(a_pub, "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
	hex32(b_priv, "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb");
	hex32(b_pub, "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
	hex32(shared, "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742");

	ck_assert_int_eq(ntm_x25519_public(got, a_priv), 0);
	ck_assert(!memcmp(got, a_pub, 32));
	ck_assert_int_eq(ntm_x25519_public(got, b_priv), 0);
	ck_assert(!memcmp(got, b_pub, 32));
	ck_assert_int_eq(ntm_x25519(got, a_priv, b_pub), 0);
	ck_assert(!memcmp(got, shared, 32));
	ck_assert_int_eq(ntm_x25519(got, b_priv, a_pub), 0);
	ck_assert(!memcmp(got, shared, 32));
}
END_TEST

/* RFC 8439 section 2.8.2: the "sunscreen" AEAD example. */
START_TEST(chacha20_poly1305_reproduces_rfc8439_section_2_8_2)
{
	static const char pt[] = "Ladies and Gentlemen of the class of '99: If I could offer you "
				 "only one tip for the future, sunscreen would be it.";
	static const char ct_hex[] =
		"d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d6"
		"3dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b36"
		"92ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc"
		"3ff4def08e4b7a9de576d26586cec64b6116"
		"1ae10b594f09e26a7e902ecbd0600691"; /* tag */
	uint8_t key[32], nonce[12], aad[12], out[sizeof(pt) - 1 + NTM_TAG_LEN];
	size_t ptlen = sizeof(pt) - 1, ctlen;
	struct ntm_aead a;

	for (int i = 0; i < 32; i++)
		key[i] = (uint8_t)(0x80 + i);
	memcpy(nonce, "\x07\x00\x00\x00\x40\x41\x42\x43\x44\x45\x46\x47", 12);
	memcpy(aad, "\x50\x51\x52\x53\xc0\xc1\xc2\xc3\xc4\xc5\xc6\xc7", 12);
	uint8_t *ct = hex(ct_hex, &ctlen);
	ck_assert_uint_eq(ptlen, 114);
	ck_assert_uint_eq(ctlen, ptlen + NTM_TAG_LEN);

	ck_assert_int_eq(ntm_aead_init(&a, NTM_AEAD_CHACHAPOLY, key, sizeof(key)), 0);
	ck_assert_int_eq(ntm_aead_seal(&a, nonce, 12, aad, 12, (const uint8_t *)pt, ptlen, out), 0);
	ck_assert(!memcmp(out, ct, ctlen));
	ck_assert_int_eq(ntm_aead_open(&a, nonce, 12, aad, 12, ct, ctlen, out), 0);
	ck_assert(!memcmp(out, pt, ptlen));
	ntm_aead_free(&a);
	ntm_aead_free(&a); /* a freed context may be freed again */
	free(ct);
}
END_TEST

/* ---- the API's own promises --------------------------------------------- */

START_TEST(aead_seals_and_opens_in_place_and_rejects_any_flipped_bit)
{
	static const enum ntm_aead_alg algs[] = { NTM_AEAD_AESGCM, NTM_AEAD_CHACHAPOLY };
	for (size_t i = 0; i < 2; i++) {
		uint8_t key[32], nonce[12], ad[20], msg[100], buf[100 + NTM_TAG_LEN], sealed[sizeof(buf)];
		struct ntm_aead a;
		ck_assert_int_eq(ntm_random(key, sizeof(key)), 0);
		ck_assert_int_eq(ntm_random(nonce, sizeof(nonce)), 0);
		ck_assert_int_eq(ntm_random(ad, sizeof(ad)), 0);
		ck_assert_int_eq(ntm_random(msg, sizeof(msg)), 0);
		ck_assert_int_eq(ntm_aead_init(&a, algs[i], key, sizeof(key)), 0);

		memcpy(buf, msg, sizeof(msg));
		ck_assert_int_eq(ntm_aead_seal(&a, nonce, 12, ad, sizeof(ad), buf, sizeof(msg), buf), 0);
		memcpy(sealed, buf, sizeof(buf));
		ck_assert_int_eq(ntm_aead_open(&a, nonce, 12, ad, sizeof(ad), buf, sizeof(buf), buf), 0);
		ck_assert(!memcmp(buf, msg, sizeof(msg)));

		/* a bit flipped in the ciphertext, in the tag, or in the AD */
		size_t where[] = { 0, 57, sizeof(msg) - 1, sizeof(msg), sizeof(buf) - 1 };
		for (size_t w = 0; w < NTM_ARRAY_SIZE(where); w++) {
			memcpy(buf, sealed, sizeof(buf));
			buf[where[w]] ^= 0x10;
			ck_assert_int_eq(ntm_aead_open(&a, nonce, 12, ad, sizeof(ad), buf, sizeof(buf), buf),
					 -EBADMSG);
			ck_assert(all_zero(buf, sizeof(msg)));
		}
		memcpy(buf, sealed, sizeof(buf));
		ad[7] ^= 1;
		ck_assert_int_eq(ntm_aead_open(&a, nonce, 12, ad, sizeof(ad), buf, sizeof(buf), buf), -EBADMSG);
		ad[7] ^= 1;
		nonce[0] ^= 1;
		memcpy(buf, sealed, sizeof(buf));
		ck_assert_int_eq(ntm_aead_open(&a, nonce, 12, ad, sizeof(ad), buf, sizeof(buf), buf), -EBADMSG);
		ntm_aead_free(&a);
	}
}
END_TEST

START_TEST(aead_refuses_bad_keys_nonces_and_short_input)
{
	uint8_t key[32] = { 0 }, nonce[16] = { 0 }, buf[64] = { 0 };
	struct ntm_aead a;
	ck_assert_int_eq(ntm_aead_init(&a, NTM_AEAD_AESGCM, key, 20), -EINVAL);
	ck_assert_ptr_null(a.hd);
	ntm_aead_free(&a);
	ck_assert_int_eq(ntm_aead_init(&a, NTM_AEAD_CHACHAPOLY, key, 16), -EINVAL);
	ck_assert_int_eq(ntm_aead_init(&a, (enum ntm_aead_alg)99, key, 32), -EINVAL);

	ck_assert_int_eq(ntm_aead_init(&a, NTM_AEAD_CHACHAPOLY, key, 32), 0);
	ck_assert_int_eq(ntm_aead_seal(&a, nonce, 8, NULL, 0, buf, 4, buf), -EINVAL);
	ck_assert_int_eq(ntm_aead_seal(&a, nonce, 0, NULL, 0, buf, 4, buf), -EINVAL);
	ck_assert_int_eq(ntm_aead_open(&a, nonce, 12, NULL, 0, buf, NTM_TAG_LEN - 1, buf), -EINVAL);
	/* an empty message seals to a bare tag and opens back to nothing */
	ck_assert_int_eq(ntm_aead_seal(&a, nonce, 12, NULL, 0, NULL, 0, buf), 0);
	ck_assert_int_eq(ntm_aead_open(&a, nonce, 12, NULL, 0, buf, NTM_TAG_LEN, buf + 32), 0);
	ntm_aead_free(&a);

	/* GnuTLS 3.7.9's AES-NI GCM ignores non-96-bit IVs, so ntm refuses them */
	ck_assert_int_eq(ntm_aead_init(&a, NTM_AEAD_AESGCM, key, 32), 0);
	ck_assert_int_eq(ntm_aead_seal(&a, nonce, 0, NULL, 0, buf, 4, buf), -EINVAL);
	ck_assert_int_eq(ntm_aead_seal(&a, nonce, 8, NULL, 0, buf, 4, buf), -EINVAL);
	ck_assert_int_eq(ntm_aead_seal(&a, nonce, 16, NULL, 0, buf, 4, buf), -EINVAL);
	ck_assert_int_eq(ntm_aead_open(&a, nonce, 16, NULL, 0, buf, 32, buf), -EINVAL);
	ntm_aead_free(&a);
}
END_TEST

START_TEST(random_fills_the_whole_buffer_with_fresh_bytes)
{
	uint8_t a[64] = { 0 }, b[64] = { 0 };
	ck_assert_int_eq(ntm_random(a, sizeof(a)), 0);
	ck_assert_int_eq(ntm_random(b, sizeof(b)), 0);
	ck_assert(!all_zero(a, sizeof(a)));
	ck_assert(memcmp(a, b, sizeof(a)) != 0);
	/* each half was written, not just a prefix (chance of a false alarm: 2^-256) */
	ck_assert(!all_zero(a + 32, 32));
	ck_assert_int_eq(ntm_random(NULL, 0), 0);
	/* the nonce level, the same way */
	memset(a, 0, sizeof(a));
	memset(b, 0, sizeof(b));
	ck_assert_int_eq(ntm_random_nonce(a, sizeof(a)), 0);
	ck_assert_int_eq(ntm_random_nonce(b, sizeof(b)), 0);
	ck_assert(!all_zero(a + 32, 32));
	ck_assert(memcmp(a, b, sizeof(a)) != 0);
	ck_assert_int_eq(ntm_random_nonce(NULL, 0), 0);
	ck_assert_int_eq(ntm_random_nonce(NULL, 1), -EINVAL);
}
END_TEST

START_TEST(x25519_keygen_gives_a_clamped_key_that_agrees_with_a_peer)
{
	uint8_t a_priv[32], a_pub[32], b_priv[32], b_pub[32], s1[32], s2[32], pub[32];
	ck_assert_int_eq(ntm_x25519_keygen(a_priv, a_pub), 0);
	ck_assert_int_eq(ntm_x25519_keygen(b_priv, b_pub), 0);
	ck_assert_uint_eq(a_priv[0] & 7, 0);
	ck_assert_uint_eq(a_priv[31] & 0xc0, 0x40);
	ck_assert_int_eq(ntm_x25519_public(pub, a_priv), 0);
	ck_assert(!memcmp(pub, a_pub, 32));
	ck_assert_int_eq(ntm_x25519(s1, a_priv, b_pub), 0);
	ck_assert_int_eq(ntm_x25519(s2, b_priv, a_pub), 0);
	ck_assert(!memcmp(s1, s2, 32));
	uint8_t zero[32] = { 0 };
	ck_assert_int_eq(ntm_x25519(s1, a_priv, zero), -EINVAL); /* u = 0 is low order */
}
END_TEST

START_TEST(base64_round_trips_keys_and_refuses_anything_not_exactly_44_chars)
{
	uint8_t key[32], back[32], seq[32];
	char s[NTM_KEY_B64_LEN + 1];

	for (int i = 0; i < 32; i++)
		seq[i] = (uint8_t)i;
	ntm_key_to_base64(s, seq);
	ck_assert_str_eq(s, "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=");
	memset(key, 0xff, 32);
	ntm_key_to_base64(s, key);
	ck_assert_str_eq(s, "//////////////////////////////////////////8=");
	ck_assert_int_eq(ntm_key_from_base64(back, s), 0);
	ck_assert(!memcmp(back, key, 32));
	for (int i = 0; i < 200; i++) {
		ck_assert_int_eq(ntm_random(key, 32), 0);
		ntm_key_to_base64(s, key);
		ck_assert_uint_eq(strlen(s), NTM_KEY_B64_LEN);
		ck_assert_int_eq(ntm_key_from_base64(back, s), 0);
		ck_assert(!memcmp(back, key, 32));
	}

	static const char *const bad[] = {
		"",
		"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8",    /* 43: no padding */
		"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8==",  /* 45 */
		"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8A",   /* 44, no '=' */
		"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh==",   /* 33 bytes' form: 31 bytes */
		"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh9=",   /* spare bits set */
		"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh*=",   /* not in the alphabet */
		"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd-h8=",   /* URL-safe alphabet */
		"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd_h8=",
		"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd h8=",
		"AAEC=wQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",   /* padding inside */
		"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n", /* trailing newline */
		"\303\251ECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",  /* non-ASCII */
	};
	for (size_t i = 0; i < NTM_ARRAY_SIZE(bad); i++)
		ck_assert_msg(ntm_key_from_base64(back, bad[i]) == -EINVAL, "accepted \"%s\"", bad[i]);
	ck_assert_int_eq(ntm_key_from_base64(back, NULL), -EINVAL);
}
END_TEST

/* FIPS 180-2 "abc" and RFC 4231 test case 2; incremental equals one-shot. */
START_TEST(sha256_and_hmac_reproduce_published_digests)
{
	uint8_t want[32], got[32];
	struct ntm_sha256 h;
	hex32(want, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	ck_assert_int_eq(ntm_sha256(got, "abc", 3), 0);
	ck_assert(!memcmp(got, want, 32));
	ck_assert_int_eq(ntm_sha256_init(&h), 0);
	ck_assert_int_eq(ntm_sha256_update(&h, "a", 1), 0);
	ck_assert_int_eq(ntm_sha256_update(&h, NULL, 0), 0);
	ck_assert_int_eq(ntm_sha256_update(&h, "bc", 2), 0);
	ntm_sha256_final(&h, got);
	ck_assert_ptr_null(h.hd);
	ck_assert(!memcmp(got, want, 32));

	hex32(want, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
	const char *data = "what do ya want for nothing?";
	ck_assert_int_eq(ntm_hmac_sha256(got, (const uint8_t *)"Jefe", 4, data, strlen(data)), 0);
	ck_assert(!memcmp(got, want, 32));
}
END_TEST

/* Noise's HKDF written out from the Noise spec (section 4.3) with HMAC. */
START_TEST(noise_hkdf_matches_the_hmac_chain_and_allows_ck_as_output)
{
	uint8_t ck[32], ikm[40], temp[32], w1[32], w2[32], w3[32], o1[32], o2[32], o3[32], b[33];
	ck_assert_int_eq(ntm_random(ck, 32), 0);
	ck_assert_int_eq(ntm_random(ikm, sizeof(ikm)), 0);
	ck_assert_int_eq(ntm_hmac_sha256(temp, ck, 32, ikm, sizeof(ikm)), 0);
	ck_assert_int_eq(ntm_hmac_sha256(w1, temp, 32, "\x01", 1), 0);
	memcpy(b, w1, 32);
	b[32] = 2;
	ck_assert_int_eq(ntm_hmac_sha256(w2, temp, 32, b, 33), 0);
	memcpy(b, w2, 32);
	b[32] = 3;
	ck_assert_int_eq(ntm_hmac_sha256(w3, temp, 32, b, 33), 0);

	ck_assert_int_eq(ntm_noise_hkdf(ck, ikm, sizeof(ikm), o1, o2, o3), 0);
	ck_assert(!memcmp(o1, w1, 32) && !memcmp(o2, w2, 32) && !memcmp(o3, w3, 32));
	ck_assert_int_eq(ntm_noise_hkdf(ck, NULL, 0, o1, o2, NULL), 0); /* empty ikm */
	ck_assert_int_eq(ntm_noise_hkdf(ck, ikm, sizeof(ikm), ck, o2, NULL), 0);
	ck_assert(!memcmp(ck, w1, 32) && !memcmp(o2, w2, 32));
}
END_TEST

START_TEST(hkdf_refuses_more_than_255_blocks_of_output)
{
	static uint8_t out[255 * 32 + 1];
	ck_assert_int_eq(ntm_hkdf_sha256(out, sizeof(out), NULL, 0, out, 0, NULL, 0), -EINVAL);
	ck_assert_int_eq(ntm_hkdf_sha256(out, sizeof(out) - 1, NULL, 0, NULL, 0, NULL, 0), 0);
	ck_assert_int_eq(ntm_hkdf_sha256(out, 0, NULL, 0, NULL, 0, NULL, 0), 0);
}
END_TEST

static Suite *crypto_suite(void)
{
	Suite *s = suite_create("crypto");
	TCase *tc = tcase_create("crypto");
	tcase_add_test(tc, aes_gcm_agrees_with_every_wycheproof_vector);
	tcase_add_test(tc, chacha20_poly1305_agrees_with_every_wycheproof_vector);
	tcase_add_test(tc, x25519_agrees_with_every_wycheproof_vector);
	tcase_add_test(tc, hkdf_sha256_agrees_with_every_wycheproof_vector);
	tcase_add_test(tc, x25519_reproduces_rfc7748_section_5_2_examples);
	tcase_add_test(tc, x25519_reproduces_rfc7748_section_5_2_iterations);
	tcase_add_test(tc, x25519_reproduces_rfc7748_section_6_1_exchange);
	tcase_add_test(tc, chacha20_poly1305_reproduces_rfc8439_section_2_8_2);
	tcase_add_test(tc, aead_seals_and_opens_in_place_and_rejects_any_flipped_bit);
	tcase_add_test(tc, aead_refuses_bad_keys_nonces_and_short_input);
	tcase_add_test(tc, random_fills_the_whole_buffer_with_fresh_bytes);
	tcase_add_test(tc, x25519_keygen_gives_a_clamped_key_that_agrees_with_a_peer);
	tcase_add_test(tc, base64_round_trips_keys_and_refuses_anything_not_exactly_44_chars);
	tcase_add_test(tc, sha256_and_hmac_reproduce_published_digests);
	tcase_add_test(tc, noise_hkdf_matches_the_hmac_chain_and_allows_ck_as_output);
	tcase_add_test(tc, hkdf_refuses_more_than_255_blocks_of_output);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(crypto_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
