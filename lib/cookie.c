/* cookie.c - see cookie.h. */
#include "cookie.h"

#include <errno.h>
#include <string.h>

#include "crypto.h"
#include "ratelimit.h"
#include "util.h"

#define COOKIE_LABEL "ntm1-cookie"
#define COOKIE_LABEL_LEN (sizeof(COOKIE_LABEL) - 1)

bool ntm_cookie_rotate(struct ntm_cookie_secret *cs, uint64_t now_ms)
{
	if (cs->set && now_ms - cs->born_ms < NTM_COOKIE_ROTATE_MS)
		return false;
	if (ntm_random(cs->key, sizeof(cs->key)) < 0)
		return false; /* keep the old secret rather than a guessable one */
	cs->born_ms = now_ms;
	cs->set = true;
	return true;
}

int ntm_cookie_make(const struct ntm_cookie_secret *cs, const struct sockaddr *src,
		    uint8_t cookie[NTM_COOKIE_LEN])
{
	uint8_t in[18], mac[NTM_HASH_LEN];
	uint16_t port;
	int ret = ntm_addr_norm(src, in, &port);

	if (ret < 0)
		return ret;
	ntm_put_be16(in + 16, port);
	ret = ntm_hmac_sha256(mac, cs->key, sizeof(cs->key), in, sizeof(in));
	if (ret == 0)
		memcpy(cookie, mac, NTM_COOKIE_LEN);
	ntm_wipe(mac, sizeof(mac));
	return ret;
}

static int mac2_compute(uint8_t out[NTM_MAC2_LEN], const uint8_t *init,
			const uint8_t cookie[NTM_COOKIE_LEN])
{
	uint8_t mac[NTM_HASH_LEN];
	int ret = ntm_hmac_sha256(mac, cookie, NTM_COOKIE_LEN, init, NTM_HS_INIT_MAC2_OFF);

	if (ret == 0)
		memcpy(out, mac, NTM_MAC2_LEN);
	return ret;
}

int ntm_mac2_put(uint8_t *init, const uint8_t cookie[NTM_COOKIE_LEN])
{
	return mac2_compute(init + NTM_HS_INIT_MAC2_OFF, init, cookie);
}

bool ntm_mac2_absent(const uint8_t *init)
{
	static const uint8_t zero[NTM_MAC2_LEN];
	return memcmp(init + NTM_HS_INIT_MAC2_OFF, zero, NTM_MAC2_LEN) == 0;
}

bool ntm_mac2_valid(const uint8_t *init, const uint8_t cookie[NTM_COOKIE_LEN])
{
	uint8_t mac[NTM_MAC2_LEN];

	if (mac2_compute(mac, init, cookie) < 0)
		return false;
	return ntm_memeq_ct(mac, init + NTM_HS_INIT_MAC2_OFF, NTM_MAC2_LEN) == 0;
}

int ntm_cookie_reply_key(uint8_t key[32], const uint8_t responder_pub[32])
{
	uint8_t in[COOKIE_LABEL_LEN + 32];

	memcpy(in, COOKIE_LABEL, COOKIE_LABEL_LEN);
	memcpy(in + COOKIE_LABEL_LEN, responder_pub, 32);
	return ntm_sha256(key, in, sizeof(in));
}

/* The AEAD of one reply: a 24-byte random nonce is too long for our AEADs
 * (12 bytes), so its first 12 bytes pick a subkey, HMAC-SHA256(key, them),
 * and the last 12 are the AES-256-GCM nonce under it (as XChaCha20 does
 * with HChaCha20): random nonces never repeat under one key in practice. */
static int reply_aead(struct ntm_aead *a, const uint8_t key[32], const uint8_t *nonce)
{
	uint8_t sub[NTM_HASH_LEN];
	int ret = ntm_hmac_sha256(sub, key, 32, nonce, 12);

	if (ret == 0)
		ret = ntm_aead_init(a, NTM_AEAD_AESGCM, sub, sizeof(sub));
	ntm_wipe(sub, sizeof(sub));
	return ret;
}

int ntm_cookie_reply_seal(uint8_t *out, size_t cap, const uint8_t key[32], uint32_t receiver,
			  const uint8_t mac1[NTM_MAC1_LEN], const uint8_t cookie[NTM_COOKIE_LEN])
{
	struct ntm_aead a = { 0 };
	int ret = ntm_cookie_reply_header(out, cap, receiver);

	if (ret < 0)
		return ret;
	uint8_t *nonce = out + 8;
	ret = ntm_random(nonce, NTM_COOKIE_NONCE_LEN);
	if (ret == 0)
		ret = reply_aead(&a, key, nonce);
	if (ret == 0)
		ret = ntm_aead_seal(&a, nonce + 12, 12, mac1, NTM_MAC1_LEN, cookie, NTM_COOKIE_LEN,
				    out + 8 + NTM_COOKIE_NONCE_LEN);
	ntm_aead_free(&a);
	return ret < 0 ? ret : NTM_COOKIE_REPLY_LEN;
}

int ntm_cookie_reply_open(const struct ntm_cookie_reply *m, const uint8_t key[32],
			  const uint8_t mac1[NTM_MAC1_LEN], uint8_t cookie[NTM_COOKIE_LEN])
{
	struct ntm_aead a = { 0 };
	int ret = reply_aead(&a, key, m->nonce);

	if (ret == 0)
		ret = ntm_aead_open(&a, m->nonce + 12, 12, mac1, NTM_MAC1_LEN, m->sealed,
				    NTM_COOKIE_LEN + NTM_TAG_LEN, cookie);
	ntm_aead_free(&a);
	return ret < 0 ? -EBADMSG : 0;
}

static int jar_find(const struct ntm_cookie_jar *j, const uint8_t addr[16], uint16_t port)
{
	for (int i = 0; i < NTM_COOKIE_JAR; i++) {
		if (j->e[i].got_ms && j->e[i].port == port && memcmp(j->e[i].addr, addr, 16) == 0)
			return i;
	}
	return -1;
}

void ntm_cookie_jar_put(struct ntm_cookie_jar *j, const struct sockaddr *responder,
			const uint8_t cookie[NTM_COOKIE_LEN], uint64_t now_ms)
{
	uint8_t addr[16];
	uint16_t port;

	if (ntm_addr_norm(responder, addr, &port) < 0)
		return;
	int i = jar_find(j, addr, port);
	if (i < 0) {
		i = 0;
		for (int k = 1; k < NTM_COOKIE_JAR; k++) {
			if (j->e[k].got_ms < j->e[i].got_ms)
				i = k;
		}
	}
	memcpy(j->e[i].addr, addr, 16);
	j->e[i].port = port;
	memcpy(j->e[i].cookie, cookie, NTM_COOKIE_LEN);
	j->e[i].got_ms = now_ms ? now_ms : 1;
}

bool ntm_cookie_jar_stamp(const struct ntm_cookie_jar *j, uint8_t *init,
			  const struct sockaddr *dst, uint64_t now_ms)
{
	uint8_t addr[16];
	uint16_t port;
	int i = -1;

	if (ntm_addr_norm(dst, addr, &port) == 0)
		i = jar_find(j, addr, port);
	if (i >= 0 && now_ms - j->e[i].got_ms < NTM_COOKIE_VALID_MS &&
	    ntm_mac2_put(init, j->e[i].cookie) == 0)
		return true;
	memset(init + NTM_HS_INIT_MAC2_OFF, 0, NTM_MAC2_LEN);
	return false;
}
