/* fuzz_noise_resp.c - libFuzzer target: the input's first byte picks the
 * suite (even: Noise_IK_25519_AESGCM_SHA256, odd: ..._ChaChaPoly_SHA256),
 * the rest is fed as the first IK message to a responder with a fixed static
 * key. When the read succeeds the responder also answers and splits, so the
 * whole responder path runs.
 *
 * The responder's static key and prologue are those of the cacophony IK
 * vectors, so message 1 of those vectors (the seeds in corpus/noise_resp/)
 * is accepted and the fuzzer starts from a valid message.
 *
 * Build: clang -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined
 *   -Ilib lib/crypto.c lib/noise.c lib/noise_patterns.c tests/fuzz/fuzz_noise_resp.c
 *   $(pkg-config --cflags --libs gnutls nettle hogweed) */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "noise.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t resp_static[NTM_DH_LEN] = {
	0x4a, 0x3a, 0xcb, 0xfd, 0xb1, 0x63, 0xde, 0xc6, 0x51, 0xdf, 0xa3, 0x19, 0x4d, 0xec, 0xe6, 0x76,
	0xd4, 0x37, 0x02, 0x9c, 0x62, 0xa4, 0x08, 0xb4, 0xc5, 0xea, 0x91, 0x14, 0x24, 0x6e, 0x48, 0x93,
};
static const uint8_t resp_ephemeral[NTM_DH_LEN] = {
	0xbb, 0xdb, 0x4c, 0xdb, 0xd3, 0x09, 0xf1, 0xa1, 0xf2, 0xe1, 0x45, 0x69, 0x67, 0xfe, 0x28, 0x8c,
	0xad, 0xd6, 0xf7, 0x12, 0xd6, 0x5d, 0xc7, 0xb7, 0x79, 0x3d, 0x5e, 0x63, 0xda, 0x6b, 0x37, 0x5b,
};
static const uint8_t prologue[] = "John Galt"; /* 9 bytes, no NUL */

static void answer(struct ntm_noise_hs *hs)
{
	static uint8_t reply[NTM_NOISE_MAX_MSG];
	struct ntm_noise_cs tx, rx;
	size_t len;

	ntm_noise_test_set_ephemeral(hs, resp_ephemeral);
	if (ntm_noise_write(hs, (const uint8_t *)"ok", 2, reply, sizeof(reply), &len) != 0)
		return;
	if (!ntm_noise_is_done(hs) || ntm_noise_split(hs, &tx, &rx) != 0)
		abort(); /* IK is done after message 2 */
	ntm_noise_cs_clear(&tx);
	ntm_noise_cs_clear(&rx);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t payload[NTM_NOISE_MAX_MSG];
	struct ntm_noise_hs hs;
	size_t plen;

	if (size < 1)
		return 0;
	struct ntm_noise_config cfg = {
		.protocol_name = data[0] & 1 ? "Noise_IK_25519_ChaChaPoly_SHA256"
					     : "Noise_IK_25519_AESGCM_SHA256",
		.initiator = false,
		.prologue = prologue,
		.prologue_len = sizeof(prologue) - 1,
		.s_priv = resp_static,
	};
	if (ntm_noise_hs_init(&hs, &cfg) != 0)
		abort();
	int ret = ntm_noise_read(&hs, data + 1, size - 1, payload, sizeof(payload), &plen);
	if (ret == 0) {
		if (plen > size || !ntm_noise_remote_static(&hs))
			abort();
		answer(&hs);
	} else if (ntm_noise_read(&hs, data + 1, size - 1, payload, sizeof(payload), &plen) != -EPROTO) {
		abort(); /* a failed read must leave the state unusable */
	}
	ntm_noise_hs_clear(&hs);
	return 0;
}
