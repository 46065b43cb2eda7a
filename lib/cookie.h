/* cookie.h - mac2 and COOKIE_REPLY (doc/protocol.md 2.3 and 2.9): the
 * proof that a handshake's sender receives at its source address.
 *
 * Responder: a random secret, replaced every NTM_COOKIE_ROTATE_MS; the
 * cookie of a source is a MAC of its address and port under that secret.
 * Under load it answers a HANDSHAKE_INIT without a valid mac2 with a
 * COOKIE_REPLY carrying the cookie, sealed under a key derived from its own
 * static public key with the init's mac1 as associated data (only the
 * sender of that init can use it).
 * Initiator: keeps the cookie per responder endpoint for
 * NTM_COOKIE_VALID_MS and puts mac2 = MAC(cookie, init bytes 0..139) into
 * what it sends there. No function allocates or logs. */
#ifndef NTM_COOKIE_H
#define NTM_COOKIE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "wire.h"

#define NTM_COOKIE_ROTATE_MS 120000   /* responder secret lifetime */
#define NTM_COOKIE_VALID_MS 115000    /* initiator: a cookie is used this long (less than a rotation) */

struct ntm_cookie_secret {
	uint8_t key[32];
	uint64_t born_ms;
	bool set;
};

/* A new secret when there is none or it is NTM_COOKIE_ROTATE_MS old.
 * Returns true when it changed. */
bool ntm_cookie_rotate(struct ntm_cookie_secret *cs, uint64_t now_ms);
/* The cookie of src (address and port) under the current secret. */
int ntm_cookie_make(const struct ntm_cookie_secret *cs, const struct sockaddr *src,
		    uint8_t cookie[NTM_COOKIE_LEN]);

/* mac2 of a HANDSHAKE_INIT (NTM_HS_INIT_LEN bytes): put writes it, valid
 * compares in constant time; an all-zero mac2 means "no cookie". */
int ntm_mac2_put(uint8_t *init, const uint8_t cookie[NTM_COOKIE_LEN]);
bool ntm_mac2_valid(const uint8_t *init, const uint8_t cookie[NTM_COOKIE_LEN]);
bool ntm_mac2_absent(const uint8_t *init);

/* Key of a responder's cookie replies: SHA-256("ntm1-cookie" || its static public key). */
int ntm_cookie_reply_key(uint8_t key[32], const uint8_t responder_pub[32]);
/* Write a whole COOKIE_REPLY (NTM_COOKIE_REPLY_LEN bytes) to the init's
 * sender index, sealing cookie with AD = the init's mac1. */
int ntm_cookie_reply_seal(uint8_t *out, size_t cap, const uint8_t key[32], uint32_t receiver,
			  const uint8_t mac1[NTM_MAC1_LEN], const uint8_t cookie[NTM_COOKIE_LEN]);
/* Open a decoded COOKIE_REPLY against the mac1 of the init we sent:
 * 0 and the cookie, or -EBADMSG. */
int ntm_cookie_reply_open(const struct ntm_cookie_reply *m, const uint8_t key[32],
			  const uint8_t mac1[NTM_MAC1_LEN], uint8_t cookie[NTM_COOKIE_LEN]);

/* Initiator: cookies by responder endpoint (address and port), a fixed
 * table; the oldest entry makes room. */
#define NTM_COOKIE_JAR 32
struct ntm_cookie_jar {
	struct {
		uint8_t addr[16];
		uint16_t port;
		uint8_t cookie[NTM_COOKIE_LEN];
		uint64_t got_ms;          /* 0: free */
	} e[NTM_COOKIE_JAR];
};
void ntm_cookie_jar_put(struct ntm_cookie_jar *j, const struct sockaddr *responder,
			const uint8_t cookie[NTM_COOKIE_LEN], uint64_t now_ms);
/* Set the mac2 of init (NTM_HS_INIT_LEN bytes) for sending to dst: the
 * cookie's mac2 when the jar holds a fresh one for dst, else zeros.
 * Returns true when a cookie was used. */
bool ntm_cookie_jar_stamp(const struct ntm_cookie_jar *j, uint8_t *init,
			  const struct sockaddr *dst, uint64_t now_ms);

#endif
