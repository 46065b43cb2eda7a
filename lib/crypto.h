/* crypto.h - the primitives ntm uses: AEAD, SHA-256, HMAC, HKDF and RNG from
 * GnuTLS; X25519 from nettle. Every function returns 0 or a negative errno and
 * never logs. Secrets held in contexts are wiped by the matching _free/_clear. */
#ifndef NTM_CRYPTO_H
#define NTM_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#define NTM_KEY_LEN 32   /* AEAD key for ntm's suites (AES-256-GCM, ChaCha20-Poly1305) */
#define NTM_NONCE_LEN 12
#define NTM_TAG_LEN 16
#define NTM_HASH_LEN 32  /* SHA-256 */
#define NTM_DH_LEN 32    /* X25519 public, private and shared lengths */

enum ntm_aead_alg {
	NTM_AEAD_AESGCM = 1,     /* AES-GCM; key length picks 128/192/256 */
	NTM_AEAD_CHACHAPOLY = 2, /* ChaCha20-Poly1305 (RFC 8439), 32-byte key */
};

struct ntm_aead {
	void *hd;                /* gnutls_aead_cipher_hd_t, opaque here */
	enum ntm_aead_alg alg;
	uint8_t key[32];         /* kept for ntm_aead_dup; wiped by ntm_aead_free */
	uint8_t keylen;
};

/* Key an AEAD context. keylen: 16, 24 or 32 for AES-GCM (as GnuTLS supports),
 * 32 for ChaCha20-Poly1305. -EINVAL on a bad length or algorithm. */
int ntm_aead_init(struct ntm_aead *a, enum ntm_aead_alg alg, const uint8_t *key, size_t keylen);
void ntm_aead_free(struct ntm_aead *a); /* accepts a zeroed or freed context */
/* A second context with src's key: a GnuTLS handle holds per-call state, so
 * threads sealing or opening under one key at once need one each. */
int ntm_aead_dup(struct ntm_aead *dst, const struct ntm_aead *src);

/* Seal: out receives ptlen bytes of ciphertext followed by the NTM_TAG_LEN tag
 * (out may equal pt for in-place use; no other overlap). nonce is noncelen
 * bytes, which must be NTM_NONCE_LEN for both algorithms: GnuTLS 3.7's
 * accelerated AES-GCM silently ignores IVs of other lengths (see crypto.c).
 * No allocation. Returns 0, or -EINVAL. */
int ntm_aead_seal(struct ntm_aead *a, const uint8_t *nonce, size_t noncelen,
		  const uint8_t *ad, size_t adlen, const uint8_t *pt, size_t ptlen, uint8_t *out);

/* Open: ct is ctlen bytes including the trailing tag; out receives ctlen - TAG
 * bytes (out may equal ct; no other overlap). Returns 0, -EBADMSG when
 * authentication fails, -EINVAL for ctlen < NTM_TAG_LEN or a nonce length
 * other than NTM_NONCE_LEN. On failure the ctlen - TAG bytes of out are zeroed
 * (so an in-place open that fails destroys the ciphertext). No allocation. */
int ntm_aead_open(struct ntm_aead *a, const uint8_t *nonce, size_t noncelen,
		  const uint8_t *ad, size_t adlen, const uint8_t *ct, size_t ctlen, uint8_t *out);

/* Incremental and one-shot SHA-256. */
struct ntm_sha256 { void *hd; };
int ntm_sha256_init(struct ntm_sha256 *h);
int ntm_sha256_update(struct ntm_sha256 *h, const void *data, size_t len);
void ntm_sha256_final(struct ntm_sha256 *h, uint8_t out[NTM_HASH_LEN]); /* frees h */
int ntm_sha256(uint8_t out[NTM_HASH_LEN], const void *data, size_t len);

/* HMAC-SHA256 of data under key. */
int ntm_hmac_sha256(uint8_t out[NTM_HASH_LEN], const uint8_t *key, size_t keylen,
		    const void *data, size_t len);

/* RFC 5869 HKDF-SHA256. salt may be NULL (treated as HashLen zero bytes).
 * okmlen up to 255*32; -EINVAL beyond. okm must not overlap info. */
int ntm_hkdf_sha256(uint8_t *okm, size_t okmlen, const uint8_t *salt, size_t saltlen,
		    const uint8_t *ikm, size_t ikmlen, const uint8_t *info, size_t infolen);

/* Noise's HKDF(chaining_key, ikm, n): n = 2 or 3 outputs of 32 bytes each
 * (out2/out3 may be NULL when not wanted). Any output may alias ck. */
int ntm_noise_hkdf(const uint8_t ck[NTM_HASH_LEN], const uint8_t *ikm, size_t ikmlen,
		   uint8_t out1[NTM_HASH_LEN], uint8_t out2[NTM_HASH_LEN], uint8_t out3[NTM_HASH_LEN]);

/* Cryptographically secure random bytes (GnuTLS, key-grade). */
int ntm_random(void *buf, size_t len);
/* Unpredictable random bytes that are no key (GnuTLS's nonce level, a
 * cheaper generator reseeded from the key-grade one): DNS query IDs. */
int ntm_random_nonce(void *buf, size_t len);

/* X25519 (RFC 7748). keygen makes a clamped private key and its public key.
 * ntm_x25519 refuses (-EINVAL) a result of all zeros (low-order peer key). */
int ntm_x25519_keygen(uint8_t priv[NTM_DH_LEN], uint8_t pub[NTM_DH_LEN]);
int ntm_x25519_public(uint8_t pub[NTM_DH_LEN], const uint8_t priv[NTM_DH_LEN]);
int ntm_x25519(uint8_t shared[NTM_DH_LEN], const uint8_t priv[NTM_DH_LEN],
	       const uint8_t peer_pub[NTM_DH_LEN]);

/* Base64 (standard alphabet, padded) of 32-byte keys, the way keys appear in
 * config files and on the command line. decode: -EINVAL unless exactly 44
 * characters that decode to 32 bytes, in the one canonical spelling (the
 * unused low bits of the 43rd character must be zero). Both directions run
 * without secret-dependent branches or table lookups. */
#define NTM_KEY_B64_LEN 44
void ntm_key_to_base64(char out[NTM_KEY_B64_LEN + 1], const uint8_t key[NTM_DH_LEN]);
int ntm_key_from_base64(uint8_t key[NTM_DH_LEN], const char *s);

#endif
