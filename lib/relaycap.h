/* relaycap.h - the tag of a RELAY capsule (doc/protocol.md 2.5), shared by
 * the relay (ntm-relayd, ntm-dcd's embedded relay) and the nodes.
 *
 * The tag is always AES-256-GCM, whatever suite the route's node-node
 * handshake uses: the relay does not know that suite. key = the side's
 * 32-byte relay key, nonce = 32 zero bits || counter (big-endian 64),
 * associated data = bytes 0 .. 16 + m of the capsule, empty plaintext (the
 * inner datagram is authenticated, not encrypted again).
 *
 * No function allocates or logs. Replay checking is the caller's. */
#ifndef NTM_RELAYCAP_H
#define NTM_RELAYCAP_H

#include <stddef.h>
#include <stdint.h>

#include "crypto.h"
#include "wire.h"

struct ntm_relay_key {
	struct ntm_aead aead;
};

/* Key a context with a side's relay key. 0 or -errno. */
int ntm_relaycap_key_init(struct ntm_relay_key *k, const uint8_t key[32]);
/* Wipe and free; accepts a zeroed or already freed context. */
void ntm_relaycap_key_free(struct ntm_relay_key *k);

/* Writes header (side, direction, alloc_id, counter), the inner datagram
 * and the tag into out. inner may already be at out + NTM_RELAY_HDR_LEN
 * (then nothing is copied); any other overlap is handled with memmove.
 * inner_len 0 = relay keepalive. Returns NTM_RELAY_OVERHEAD + inner_len,
 * -EMSGSIZE when cap is too small, -EINVAL for a field the specification
 * forbids (side or direction > 1, alloc_id 0, 0 < inner_len < 32). */
int ntm_relaycap_seal(struct ntm_relay_key *k, uint8_t *out, size_t cap, uint8_t side,
		      uint8_t direction, uint32_t alloc_id, uint64_t counter,
		      const uint8_t *inner, size_t inner_len);

/* Checks the tag of a capsule already decoded from buf/len with
 * ntm_relay_decode (m). No replay check. 0 or -EBADMSG. */
int ntm_relaycap_verify(struct ntm_relay_key *k, const uint8_t *buf, size_t len,
			const struct ntm_relay_msg *m);

/* The MAC of a relay probe token (doc/protocol.md 2.11): the first 16
 * bytes of HMAC-SHA256(probe key, "ntm1-relay-probe" || key id ||
 * not-after), both big-endian 32-bit. Minted by the DC, checked by the
 * relay. 0 or -errno. */
int ntm_relay_token_mac(const uint8_t key[32], uint32_t key_id, uint32_t not_after_ms,
			uint8_t out[NTM_RELAY_TOKEN_MAC_LEN]);

#endif
