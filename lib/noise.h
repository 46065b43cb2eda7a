/* noise.h - a Noise Protocol Framework handshake engine (revision 34),
 * generic over handshake patterns, for the suites 25519_AESGCM_SHA256 and
 * 25519_ChaChaPoly_SHA256. Patterns are data (a table of token lists), so the
 * engine knows every fundamental, one-way and deferred pattern plus the pskN
 * modifiers. No allocation; all state lives in struct ntm_noise_hs, which the
 * caller owns and must release with ntm_noise_hs_clear (wipes secrets).
 * Every function returns 0 or a negative errno and never logs. */
#ifndef NTM_NOISE_H
#define NTM_NOISE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto.h"

#define NTM_NOISE_MAX_MSG 65535
#define NTM_NOISE_MAX_TOKENS 16
#define NTM_NOISE_MAX_MSGS 8
#define NTM_NOISE_MAX_PSKS 4
#define NTM_NOISE_PSK_LEN 32

/* Transport cipher state after Split(): key and the next nonce. Sealing and
 * opening with an explicit 64-bit nonce serves ntm's data capsule, which
 * carries the counter on the wire; the nonce for AES-GCM and ChaChaPoly is
 * built as Noise specifies (32 zero bits then 64-bit counter, big-endian for
 * AESGCM, little-endian for ChaChaPoly). */
struct ntm_noise_cs {
	struct ntm_aead aead;
	uint64_t n;
	bool has_key;
};

/* Seal: out receives ptlen + NTM_TAG_LEN bytes (out may equal pt). Open: out
 * receives ctlen - NTM_TAG_LEN bytes (out may equal ct); -EBADMSG when
 * authentication fails (out is zeroed then, as ntm_aead_open does) or
 * ctlen < NTM_TAG_LEN. Both use the nonce n as given
 * and leave cs->n alone (the caller keeps the counter and the replay window).
 * -EINVAL for a state without a key, -EOVERFLOW for n = 2^64-1, which Noise
 * reserves. No allocation. */
int ntm_noise_cs_seal(struct ntm_noise_cs *cs, uint64_t n, const uint8_t *ad, size_t adlen,
		      const uint8_t *pt, size_t ptlen, uint8_t *out);
int ntm_noise_cs_open(struct ntm_noise_cs *cs, uint64_t n, const uint8_t *ad, size_t adlen,
		      const uint8_t *ct, size_t ctlen, uint8_t *out);
void ntm_noise_cs_clear(struct ntm_noise_cs *cs);

struct ntm_noise_hs; /* defined below; treat members as private */

struct ntm_noise_config {
	const char *protocol_name;   /* e.g. "Noise_IK_25519_AESGCM_SHA256" */
	bool initiator;
	const uint8_t *prologue;     /* may be NULL when prologue_len == 0 */
	size_t prologue_len;
	const uint8_t *s_priv;       /* local static private key, or NULL */
	const uint8_t *rs;           /* remote static public key known in advance, or NULL */
	const uint8_t *psks[NTM_NOISE_MAX_PSKS]; /* psks in order of use, or NULL */
	size_t npsks;
};

/* Initialize: parses the protocol name (pattern, modifiers, DH, cipher, hash),
 * mixes the prologue and pre-messages. -EPROTONOSUPPORT for an unknown pattern
 * or suite, -EINVAL when a required key (s, rs for pre-messages, psk) is
 * missing, when rs is given but the pattern transmits it (it would not be
 * checked), or when npsks differs from the pattern's psk count. hs need not
 * be initialized before; a live one must be cleared first. */
int ntm_noise_hs_init(struct ntm_noise_hs *hs, const struct ntm_noise_config *cfg);
void ntm_noise_hs_clear(struct ntm_noise_hs *hs);

/* Write the next handshake message carrying payload; *outlen receives its
 * length. -EPROTO when it is not our turn or the handshake is finished,
 * -EMSGSIZE when outcap is too small or the message exceeds 65535 bytes (the
 * state is unchanged then: retry with more room). payload must not overlap
 * out. -EBADMSG when a DH gives all zeros (a low-order key read earlier);
 * any failure other than -EPROTO and -EMSGSIZE leaves the state failed. */
int ntm_noise_write(struct ntm_noise_hs *hs, const uint8_t *payload, size_t plen,
		    uint8_t *out, size_t outcap, size_t *outlen);

/* Read the next handshake message; the decrypted payload goes to payload
 * (capacity pcap), its length to *plen. Rejects (-EBADMSG) a message that is
 * truncated, too long, fails authentication or gives an all-zero DH, and
 * -EMSGSIZE when the payload would not fit in pcap; after any failure except
 * -EPROTO the state is unusable (reads and writes give -EPROTO; the caller
 * starts over). -EPROTO out of turn, when finished or failed. The message is
 * read only within mlen bytes. */
int ntm_noise_read(struct ntm_noise_hs *hs, const uint8_t *msg, size_t mlen,
		   uint8_t *payload, size_t pcap, size_t *plen);

bool ntm_noise_is_done(const struct ntm_noise_hs *hs);
/* After the last message: the two transport cipher states for this side
 * (tx = the one we encrypt with); both are overwritten, so they must not hold
 * a live key. In a one-way pattern (N, K, X) the responder's tx and the
 * initiator's rx get no key. Wipes the chaining key, the handshake cipher,
 * the ephemeral private key and the psks; the handshake hash stays. */
int ntm_noise_split(struct ntm_noise_hs *hs, struct ntm_noise_cs *tx, struct ntm_noise_cs *rx);
/* The handshake hash h (valid at any time; the final value after done). */
void ntm_noise_handshake_hash(const struct ntm_noise_hs *hs, uint8_t out[NTM_HASH_LEN]);
/* Remote static public key learned in the handshake (or given), or NULL. */
const uint8_t *ntm_noise_remote_static(const struct ntm_noise_hs *hs);

/* TEST ONLY: use this fixed ephemeral private key instead of a random one
 * for the next ephemeral the engine generates. Programs never call it; the
 * vector tests and the benchmark do. */
void ntm_noise_test_set_ephemeral(struct ntm_noise_hs *hs, const uint8_t e_priv[NTM_DH_LEN]);

/* Everything below is private to lib/noise*.c; it is in the header only so
 * callers can hold a handshake state without allocation. */

enum ntm_noise_token {
	NTM_NOISE_TOK_END = 0, /* terminates a token list */
	NTM_NOISE_TOK_E,
	NTM_NOISE_TOK_S,
	NTM_NOISE_TOK_EE,
	NTM_NOISE_TOK_ES,
	NTM_NOISE_TOK_SE,
	NTM_NOISE_TOK_SS,
	NTM_NOISE_TOK_PSK,
};

/* A pattern with its modifiers applied, as token lists (lib/noise_patterns.c).
 * Message i is sent by the initiator when i is even. */
struct ntm_noise_shape {
	uint8_t pre[2][2];       /* pre-messages: [0] initiator's, [1] responder's */
	uint8_t msg[NTM_NOISE_MAX_MSGS][NTM_NOISE_MAX_TOKENS];
	uint8_t nmsgs;
	uint8_t npsks;           /* psk tokens in all messages */
	bool one_way;
};

/* Fill *shape for a pattern name with modifiers, e.g. "IKpsk2" or
 * "NNpsk0+psk2" (len bytes, not NUL-terminated). -EPROTONOSUPPORT for an
 * unknown pattern or modifier. */
int ntm_noise_shape_parse(struct ntm_noise_shape *shape, const char *name, size_t len);

struct ntm_noise_symmetric {
	uint8_t ck[NTM_HASH_LEN];
	uint8_t h[NTM_HASH_LEN];
	struct ntm_noise_cs cs;      /* handshake cipher state (k, n) */
	enum ntm_aead_alg alg;
};

struct ntm_noise_hs {
	struct ntm_noise_symmetric ss;
	struct ntm_noise_shape shape;
	uint8_t msg_index;           /* next message to write or read */
	bool initiator;
	bool failed;                 /* a read or write failed: unusable */
	bool split_done;
	bool has_s, has_e, has_rs, has_re, has_fixed_e;
	uint8_t s_priv[NTM_DH_LEN], s_pub[NTM_DH_LEN];
	uint8_t e_priv[NTM_DH_LEN], e_pub[NTM_DH_LEN];
	uint8_t fixed_e[NTM_DH_LEN];
	uint8_t rs[NTM_DH_LEN], re[NTM_DH_LEN];
	uint8_t psks[NTM_NOISE_MAX_PSKS][NTM_NOISE_PSK_LEN];
	uint8_t psk_used;            /* psk tokens processed so far */
};

#endif
