/* crypto.c - ntm's primitives on top of GnuTLS (AEAD, SHA-256, HMAC, RNG) and
 * nettle (X25519). HKDF, Noise's HKDF and base64 for keys are written here.
 *
 * Every function returns 0 or a negative errno and never logs. GnuTLS error
 * codes are folded into errnos in one place, gnutls_errno(). */
#include "crypto.h"
#include "util.h"

#include <errno.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <nettle/curve25519.h>

_Static_assert(CURVE25519_SIZE == NTM_DH_LEN, "X25519 sizes differ");

static int gnutls_errno(int err)
{
	switch (err) {
	case GNUTLS_E_SUCCESS:
		return 0;
	case GNUTLS_E_MEMORY_ERROR:
		return -ENOMEM;
	case GNUTLS_E_DECRYPTION_FAILED:
		return -EBADMSG;
	case GNUTLS_E_INVALID_REQUEST:
	case GNUTLS_E_UNKNOWN_CIPHER_TYPE:
	case GNUTLS_E_UNWANTED_ALGORITHM:
	case GNUTLS_E_SHORT_MEMORY_BUFFER:
		return -EINVAL;
	default:
		return -EIO;
	}
}

/* GnuTLS is handed this instead of NULL for an empty buffer, so that no
 * backend ever sees a NULL pointer (some memcpy(NULL, 0) paths are UB). */
static const uint8_t empty[1];
#define NONNULL(p) ((p) ? (const void *)(p) : (const void *)empty)

/* ---- AEAD ------------------------------------------------------------- */

static int aead_cipher(enum ntm_aead_alg alg, size_t keylen, gnutls_cipher_algorithm_t *out)
{
	if (alg == NTM_AEAD_AESGCM && keylen == 16)
		*out = GNUTLS_CIPHER_AES_128_GCM;
	else if (alg == NTM_AEAD_AESGCM && keylen == 24)
		*out = GNUTLS_CIPHER_AES_192_GCM;
	else if (alg == NTM_AEAD_AESGCM && keylen == 32)
		*out = GNUTLS_CIPHER_AES_256_GCM;
	else if (alg == NTM_AEAD_CHACHAPOLY && keylen == 32)
		*out = GNUTLS_CIPHER_CHACHA20_POLY1305;
	else
		return -EINVAL;
	return 0;
}

int ntm_aead_init(struct ntm_aead *a, enum ntm_aead_alg alg, const uint8_t *key, size_t keylen)
{
	gnutls_cipher_algorithm_t cipher;
	gnutls_aead_cipher_hd_t hd;

	a->hd = NULL;
	a->alg = alg;
	if (!key || aead_cipher(alg, keylen, &cipher) < 0)
		return -EINVAL;
	gnutls_datum_t k = { .data = (unsigned char *)key, .size = (unsigned)keylen };
	int r = gnutls_aead_cipher_init(&hd, cipher, &k);
	if (r < 0)
		return gnutls_errno(r);
	a->hd = hd;
	memcpy(a->key, key, keylen);
	a->keylen = (uint8_t)keylen;
	return 0;
}

int ntm_aead_dup(struct ntm_aead *dst, const struct ntm_aead *src)
{
	if (!src->hd) {
		memset(dst, 0, sizeof(*dst));
		return -EINVAL;
	}
	return ntm_aead_init(dst, src->alg, src->key, src->keylen);
}

void ntm_aead_free(struct ntm_aead *a)
{
	if (a && a->hd) {
		gnutls_aead_cipher_deinit(a->hd); /* GnuTLS zeroes the key schedule */
		a->hd = NULL;
	}
	if (a)
		ntm_wipe(a->key, sizeof(a->key));
}

/* Both algorithms take exactly NTM_NONCE_LEN (96-bit) nonces. GCM itself
 * allows any non-empty IV, but GnuTLS 3.7.9 does not: with the x86
 * AES-NI/PCLMUL backend, gnutls_aead_cipher_encrypt() returns success for a
 * non-96-bit IV while ignoring it, so the message is sealed under the previous
 * call's counter state (keystream reuse). Only the portable nettle backend
 * (e.g. GNUTLS_CPUID_OVERRIDE=0x1) honours other lengths. Since the backend
 * is chosen at run time, ntm refuses other lengths everywhere. */
static int nonce_ok(const struct ntm_aead *a, const uint8_t *nonce, size_t noncelen)
{
	return a->hd && nonce && noncelen == NTM_NONCE_LEN;
}

/* GnuTLS 3.7's one-shot calls encrypt (or decrypt) the whole message with a
 * single streaming pass from in to out, and read the received tag from past
 * the end of the ciphertext, which is never written: out == in is safe, and
 * the test suite checks it for both algorithms. Partial overlap is not. */
int ntm_aead_seal(struct ntm_aead *a, const uint8_t *nonce, size_t noncelen,
		  const uint8_t *ad, size_t adlen, const uint8_t *pt, size_t ptlen, uint8_t *out)
{
	if (!nonce_ok(a, nonce, noncelen) || !out || ptlen > SIZE_MAX - NTM_TAG_LEN)
		return -EINVAL;
	size_t outlen = ptlen + NTM_TAG_LEN;
	int r = gnutls_aead_cipher_encrypt(a->hd, nonce, noncelen, NONNULL(ad), adlen,
					   NTM_TAG_LEN, NONNULL(pt), ptlen, out, &outlen);
	if (r < 0)
		return gnutls_errno(r);
	return outlen == ptlen + NTM_TAG_LEN ? 0 : -EIO;
}

/* On any failure the ptlen bytes of out are zeroed: GnuTLS decrypts before it
 * compares the tag, and unauthenticated plaintext must not reach the caller. */
int ntm_aead_open(struct ntm_aead *a, const uint8_t *nonce, size_t noncelen,
		  const uint8_t *ad, size_t adlen, const uint8_t *ct, size_t ctlen, uint8_t *out)
{
	if (!nonce_ok(a, nonce, noncelen) || !ct || !out || ctlen < NTM_TAG_LEN)
		return -EINVAL;
	size_t ptlen = ctlen - NTM_TAG_LEN, outlen = ptlen;
	int r = gnutls_aead_cipher_decrypt(a->hd, nonce, noncelen, NONNULL(ad), adlen,
					   NTM_TAG_LEN, ct, ctlen, out, &outlen);
	if (r >= 0 && outlen != ptlen)
		r = GNUTLS_E_INTERNAL_ERROR;
	if (r < 0) {
		ntm_wipe(out, ptlen);
		return gnutls_errno(r);
	}
	return 0;
}

/* ---- SHA-256 and HMAC -------------------------------------------------- */

int ntm_sha256_init(struct ntm_sha256 *h)
{
	gnutls_hash_hd_t hd;
	h->hd = NULL;
	int r = gnutls_hash_init(&hd, GNUTLS_DIG_SHA256);
	if (r < 0)
		return gnutls_errno(r);
	h->hd = hd;
	return 0;
}

int ntm_sha256_update(struct ntm_sha256 *h, const void *data, size_t len)
{
	if (!h->hd || (!data && len))
		return -EINVAL;
	return gnutls_errno(gnutls_hash(h->hd, NONNULL(data), len));
}

/* Without a live context (init failed) out is zeroed rather than left stale. */
void ntm_sha256_final(struct ntm_sha256 *h, uint8_t out[NTM_HASH_LEN])
{
	if (!h->hd) {
		memset(out, 0, NTM_HASH_LEN);
		return;
	}
	gnutls_hash_deinit(h->hd, out);
	h->hd = NULL;
}

int ntm_sha256(uint8_t out[NTM_HASH_LEN], const void *data, size_t len)
{
	if (!data && len)
		return -EINVAL;
	return gnutls_errno(gnutls_hash_fast(GNUTLS_DIG_SHA256, NONNULL(data), len, out));
}

int ntm_hmac_sha256(uint8_t out[NTM_HASH_LEN], const uint8_t *key, size_t keylen,
		    const void *data, size_t len)
{
	if ((!key && keylen) || (!data && len))
		return -EINVAL;
	return gnutls_errno(gnutls_hmac_fast(GNUTLS_MAC_SHA256, NONNULL(key), keylen,
					     NONNULL(data), len, out));
}

/* ---- HKDF (RFC 5869) ---------------------------------------------------- */

/* HKDF-Expand: T(i) = HMAC(prk, T(i-1) | info | i), okm = T(1) | T(2) | ...
 * gnutls_hmac_output() resets the context to its keyed state, so one
 * context serves every block. info must not overlap okm. */
static int hkdf_expand(uint8_t *okm, size_t okmlen, const uint8_t prk[NTM_HASH_LEN],
		       const uint8_t *info, size_t infolen)
{
	gnutls_hmac_hd_t hd;
	uint8_t t[NTM_HASH_LEN];
	int r = gnutls_hmac_init(&hd, GNUTLS_MAC_SHA256, prk, NTM_HASH_LEN);
	if (r < 0)
		return gnutls_errno(r);
	for (size_t off = 0, i = 1; off < okmlen && r >= 0; i++) {
		uint8_t ctr = (uint8_t)i;
		size_t n = okmlen - off < NTM_HASH_LEN ? okmlen - off : NTM_HASH_LEN;
		if (i > 1)
			r = gnutls_hmac(hd, t, NTM_HASH_LEN);
		if (r >= 0)
			r = gnutls_hmac(hd, NONNULL(info), infolen);
		if (r >= 0)
			r = gnutls_hmac(hd, &ctr, 1);
		if (r >= 0) {
			gnutls_hmac_output(hd, t);
			memcpy(okm + off, t, n);
			off += n;
		}
	}
	gnutls_hmac_deinit(hd, NULL);
	ntm_wipe(t, sizeof(t));
	if (r < 0)
		ntm_wipe(okm, okmlen);
	return gnutls_errno(r);
}

int ntm_hkdf_sha256(uint8_t *okm, size_t okmlen, const uint8_t *salt, size_t saltlen,
		    const uint8_t *ikm, size_t ikmlen, const uint8_t *info, size_t infolen)
{
	static const uint8_t zero_salt[NTM_HASH_LEN];
	uint8_t prk[NTM_HASH_LEN];

	if (okmlen > 255 * NTM_HASH_LEN || (!okm && okmlen) || (!ikm && ikmlen) ||
	    (!info && infolen))
		return -EINVAL;
	if (!salt) {
		if (saltlen)
			return -EINVAL;
		salt = zero_salt;
		saltlen = sizeof(zero_salt);
	}
	int r = ntm_hmac_sha256(prk, salt, saltlen, ikm, ikmlen);
	if (r == 0)
		r = hkdf_expand(okm, okmlen, prk, info, infolen);
	ntm_wipe(prk, sizeof(prk));
	return r;
}

/* Noise's HKDF is RFC 5869 HKDF with salt = ck and empty info. The outputs
 * are built in a local buffer so that out1 may alias ck (Noise's
 * "ck, k = HKDF(ck, ...)"). */
int ntm_noise_hkdf(const uint8_t ck[NTM_HASH_LEN], const uint8_t *ikm, size_t ikmlen,
		   uint8_t out1[NTM_HASH_LEN], uint8_t out2[NTM_HASH_LEN], uint8_t out3[NTM_HASH_LEN])
{
	uint8_t okm[3 * NTM_HASH_LEN];
	size_t n = out3 ? 3 : 2;

	if (!ck || !out1)
		return -EINVAL;
	int r = ntm_hkdf_sha256(okm, n * NTM_HASH_LEN, ck, NTM_HASH_LEN, ikm, ikmlen, NULL, 0);
	if (r == 0) {
		memcpy(out1, okm, NTM_HASH_LEN);
		if (out2)
			memcpy(out2, okm + NTM_HASH_LEN, NTM_HASH_LEN);
		if (out3)
			memcpy(out3, okm + 2 * NTM_HASH_LEN, NTM_HASH_LEN);
	}
	ntm_wipe(okm, sizeof(okm));
	return r;
}

/* ---- RNG ---------------------------------------------------------------- */

int ntm_random(void *buf, size_t len)
{
	if (!len)
		return 0;
	if (!buf)
		return -EINVAL;
	return gnutls_errno(gnutls_rnd(GNUTLS_RND_KEY, buf, len));
}

int ntm_random_nonce(void *buf, size_t len)
{
	if (!len)
		return 0;
	if (!buf)
		return -EINVAL;
	return gnutls_errno(gnutls_rnd(GNUTLS_RND_NONCE, buf, len));
}

/* ---- X25519 (RFC 7748) -------------------------------------------------- */

int ntm_x25519_public(uint8_t pub[NTM_DH_LEN], const uint8_t priv[NTM_DH_LEN])
{
	curve25519_mul_g(pub, priv); /* nettle clamps the scalar itself */
	return 0;
}

int ntm_x25519_keygen(uint8_t priv[NTM_DH_LEN], uint8_t pub[NTM_DH_LEN])
{
	int r = ntm_random(priv, NTM_DH_LEN);
	if (r < 0)
		return r;
	priv[0] &= 248;
	priv[31] &= 127;
	priv[31] |= 64;
	return ntm_x25519_public(pub, priv);
}

/* The all-zero test is branch-free over the secret: OR every byte together,
 * then turn "acc == 0" into 0 or 1 without a data-dependent branch. */
int ntm_x25519(uint8_t shared[NTM_DH_LEN], const uint8_t priv[NTM_DH_LEN],
	       const uint8_t peer_pub[NTM_DH_LEN])
{
	volatile uint8_t acc = 0;

	curve25519_mul(shared, priv, peer_pub);
	for (size_t i = 0; i < NTM_DH_LEN; i++)
		acc |= shared[i];
	unsigned is_zero = ((unsigned)acc - 1u) >> 8 & 1u;
	if (is_zero) {
		ntm_wipe(shared, NTM_DH_LEN);
		return -EINVAL;
	}
	return 0;
}

/* ---- Base64 of keys ------------------------------------------------------ */

/* Both directions avoid table lookups and branches on the data, since the
 * keys encoded are often private ones. mask_range() is all ones when
 * lo <= c <= hi and zero otherwise, for 0 <= c, lo, hi < 256. */
static unsigned mask_range(unsigned c, unsigned lo, unsigned hi)
{
	/* lo - 1 - c wraps (top bit set) iff c >= lo; c - hi - 1 iff c <= hi */
	return 0u - (((lo - 1 - c) & (c - hi - 1)) >> 31);
}

static char b64_char(unsigned v) /* v < 64 */
{
	unsigned c = v + 'A';
	/* the ranges are disjoint: at most one correction applies */
	c += mask_range(v, 26, 51) & (unsigned)('a' - 26 - 'A');
	c += mask_range(v, 52, 61) & (unsigned)('0' - 52 - 'A');
	c += mask_range(v, 62, 62) & (unsigned)('+' - 62 - 'A');
	c += mask_range(v, 63, 63) & (unsigned)('/' - 63 - 'A');
	return (char)(c & 0xff);
}

/* The 6-bit value of c, or a value >= 64 when c is not in the alphabet. */
static unsigned b64_value(unsigned char ch)
{
	unsigned c = ch, v = 0xff;
	v ^= mask_range(c, 'A', 'Z') & (0xff ^ (c - 'A'));
	v ^= mask_range(c, 'a', 'z') & (0xff ^ (c - 'a' + 26));
	v ^= mask_range(c, '0', '9') & (0xff ^ (c - '0' + 52));
	v ^= mask_range(c, '+', '+') & (0xff ^ 62);
	v ^= mask_range(c, '/', '/') & (0xff ^ 63);
	return v & 0xff;
}

void ntm_key_to_base64(char out[NTM_KEY_B64_LEN + 1], const uint8_t key[NTM_DH_LEN])
{
	size_t o = 0;
	for (size_t i = 0; i < NTM_DH_LEN; i += 3) {
		uint32_t w = (uint32_t)key[i] << 16;
		if (i + 1 < NTM_DH_LEN)
			w |= (uint32_t)key[i + 1] << 8;
		if (i + 2 < NTM_DH_LEN)
			w |= key[i + 2];
		out[o++] = b64_char(w >> 18 & 63);
		out[o++] = b64_char(w >> 12 & 63);
		out[o++] = b64_char(w >> 6 & 63);
		out[o++] = i + 2 < NTM_DH_LEN ? b64_char(w & 63) : '=';
	}
	out[NTM_KEY_B64_LEN] = '\0';
}

/* 32 bytes are 43 characters carrying 258 bits, then one '='. The last
 * character's two spare bits must be zero so that every key has exactly one
 * spelling. */
int ntm_key_from_base64(uint8_t key[NTM_DH_LEN], const char *s)
{
	uint8_t tmp[NTM_DH_LEN + 1]; /* 11 groups of 3 bytes */
	unsigned bad = 0;

	if (!s || strnlen(s, NTM_KEY_B64_LEN + 1) != NTM_KEY_B64_LEN || s[43] != '=')
		return -EINVAL;
	for (size_t i = 0, o = 0; i < NTM_KEY_B64_LEN; i += 4) {
		unsigned v[4];
		for (size_t k = 0; k < 4; k++) {
			v[k] = i + k == 43 ? 0 : b64_value((unsigned char)s[i + k]);
			bad |= v[k] >> 6;
		}
		uint32_t w = v[0] << 18 | v[1] << 12 | v[2] << 6 | v[3];
		tmp[o++] = (uint8_t)(w >> 16);
		tmp[o++] = (uint8_t)(w >> 8);
		tmp[o++] = (uint8_t)w;
	}
	bad |= tmp[NTM_DH_LEN]; /* the spare low bits of character 43 */
	if (bad) {
		ntm_wipe(tmp, sizeof(tmp));
		return -EINVAL;
	}
	memcpy(key, tmp, NTM_DH_LEN);
	ntm_wipe(tmp, sizeof(tmp));
	return 0;
}
