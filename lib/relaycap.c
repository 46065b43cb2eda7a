/* relaycap.c - RELAY capsule tags; see relaycap.h. */
#include "relaycap.h"

#include <errno.h>
#include <string.h>

#include "util.h"

static void relay_nonce(uint8_t nonce[NTM_NONCE_LEN], uint64_t counter)
{
	memset(nonce, 0, 4);
	ntm_put_be64(nonce + 4, counter);
}

int ntm_relaycap_key_init(struct ntm_relay_key *k, const uint8_t key[32])
{
	memset(k, 0, sizeof(*k));
	return ntm_aead_init(&k->aead, NTM_AEAD_AESGCM, key, NTM_KEY_LEN);
}

void ntm_relaycap_key_free(struct ntm_relay_key *k)
{
	if (!k)
		return;
	ntm_aead_free(&k->aead);
	memset(k, 0, sizeof(*k));
}

int ntm_relaycap_seal(struct ntm_relay_key *k, uint8_t *out, size_t cap, uint8_t side,
		      uint8_t direction, uint32_t alloc_id, uint64_t counter,
		      const uint8_t *inner, size_t inner_len)
{
	uint8_t nonce[NTM_NONCE_LEN];
	uint8_t *at = out + NTM_RELAY_HDR_LEN;

	/* Move the inner datagram into place before the header is written: it
	 * may overlap the header (a received capsule re-wrapped from an offset). */
	if (inner_len >= NTM_DATA_OVERHEAD && inner && inner != at && cap >= NTM_RELAY_OVERHEAD &&
	    inner_len <= cap - NTM_RELAY_OVERHEAD && inner_len <= NTM_MAX_DATAGRAM &&
	    side <= 1 && direction <= 1 && alloc_id != 0) {
		memmove(at, inner, inner_len);
		inner = at;
	}
	int len = ntm_relay_encode(out, cap, side, direction, alloc_id, counter, inner, inner_len);
	if (len < 0)
		return len;
	size_t ad_len = NTM_RELAY_HDR_LEN + inner_len;
	relay_nonce(nonce, counter);
	/* empty plaintext: the 16 bytes written at out + ad_len are the tag */
	int ret = ntm_aead_seal(&k->aead, nonce, sizeof(nonce), out, ad_len, NULL, 0, out + ad_len);
	if (ret < 0)
		return ret;
	return len;
}

int ntm_relaycap_verify(struct ntm_relay_key *k, const uint8_t *buf, size_t len,
			const struct ntm_relay_msg *m)
{
	uint8_t nonce[NTM_NONCE_LEN], none[1];

	if (m->ad_len > len || len - m->ad_len != NTM_TAG_LEN || m->tag != buf + m->ad_len)
		return -EBADMSG;
	relay_nonce(nonce, m->counter);
	if (ntm_aead_open(&k->aead, nonce, sizeof(nonce), buf, m->ad_len, m->tag, NTM_TAG_LEN,
			  none) < 0)
		return -EBADMSG;
	return 0;
}

#define TOKEN_LABEL "ntm1-relay-probe"
#define TOKEN_LABEL_LEN (sizeof(TOKEN_LABEL) - 1)

int ntm_relay_token_mac(const uint8_t key[32], uint32_t key_id, uint32_t not_after_ms,
			uint8_t out[NTM_RELAY_TOKEN_MAC_LEN])
{
	uint8_t msg[TOKEN_LABEL_LEN + 8], full[NTM_HASH_LEN];

	memcpy(msg, TOKEN_LABEL, TOKEN_LABEL_LEN);
	ntm_put_be32(msg + TOKEN_LABEL_LEN, key_id);
	ntm_put_be32(msg + TOKEN_LABEL_LEN + 4, not_after_ms);
	int ret = ntm_hmac_sha256(full, key, 32, msg, sizeof(msg));
	if (ret < 0)
		return ret;
	memcpy(out, full, NTM_RELAY_TOKEN_MAC_LEN);
	ntm_wipe(full, sizeof(full));
	return 0;
}
