/* test_relay.c - RELAY capsule tags (lib/relaycap.c). */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "relaycap.h"
#include "util.h"

static uint8_t key_a[32], key_b[32];
static struct ntm_relay_key ka, kb;

static void keys(void)
{
	ck_assert_int_eq(ntm_random(key_a, sizeof(key_a)), 0);
	ck_assert_int_eq(ntm_random(key_b, sizeof(key_b)), 0);
	ck_assert_int_eq(ntm_relaycap_key_init(&ka, key_a), 0);
	ck_assert_int_eq(ntm_relaycap_key_init(&kb, key_b), 0);
}

static void keys_free(void)
{
	ntm_relaycap_key_free(&ka);
	ntm_relaycap_key_free(&kb);
}

/* A DATA-looking inner datagram of len bytes. */
static void fill_inner(uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(i * 7 + 3);
	p[0] = NTM_MSG_DATA;
	p[1] = NTM_WIRE_VERSION;
}

/* Decode and verify with k: 0 when the capsule is accepted. */
static int accept(struct ntm_relay_key *k, const uint8_t *buf, size_t len, struct ntm_relay_msg *m)
{
	if (ntm_relay_decode(buf, len, m) < 0)
		return -EBADMSG;
	return ntm_relaycap_verify(k, buf, len, m);
}

START_TEST(test_a_sealed_capsule_decodes_and_verifies)
{
	uint8_t inner[100], out[200];
	struct ntm_relay_msg m;

	fill_inner(inner, sizeof(inner));
	int len = ntm_relaycap_seal(&ka, out, sizeof(out), 0, 0, 0x01020304, 77, inner, sizeof(inner));
	ck_assert_int_eq(len, NTM_RELAY_OVERHEAD + (int)sizeof(inner));
	ck_assert_int_eq(accept(&ka, out, (size_t)len, &m), 0);
	ck_assert_uint_eq(m.side, 0);
	ck_assert_uint_eq(m.direction, 0);
	ck_assert_uint_eq(m.alloc_id, 0x01020304);
	ck_assert_uint_eq(m.counter, 77);
	ck_assert_uint_eq(m.inner_len, sizeof(inner));
	ck_assert_mem_eq(m.inner, inner, sizeof(inner));
}
END_TEST

START_TEST(test_the_tag_is_aes_256_gcm_over_the_header_and_inner_with_the_counter_nonce)
{
	uint8_t inner[40], out[100], nonce[12] = { 0 }, tag[16];
	struct ntm_aead a;

	fill_inner(inner, sizeof(inner));
	int len = ntm_relaycap_seal(&kb, out, sizeof(out), 1, 1, 9, 0x1122334455667788ull, inner,
				    sizeof(inner));
	ck_assert_int_eq(len, 72);
	ck_assert_int_eq(ntm_aead_init(&a, NTM_AEAD_AESGCM, key_b, 32), 0);
	ntm_put_be64(nonce + 4, 0x1122334455667788ull);
	ck_assert_int_eq(ntm_aead_seal(&a, nonce, 12, out, 56, NULL, 0, tag), 0);
	ntm_aead_free(&a);
	ck_assert_mem_eq(out + 56, tag, 16);
	const uint8_t hdr[16] = { 5, 1, 1, 1, 0, 0, 0, 9, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88 };
	ck_assert_mem_eq(out, hdr, 16);
}
END_TEST

START_TEST(test_an_empty_capsule_is_a_keepalive_of_32_bytes)
{
	uint8_t out[32];
	struct ntm_relay_msg m;

	ck_assert_int_eq(ntm_relaycap_seal(&ka, out, sizeof(out), 1, 0, 5, 0, NULL, 0), 32);
	ck_assert_int_eq(accept(&ka, out, 32, &m), 0);
	ck_assert_uint_eq(m.inner_len, 0);
	ck_assert_ptr_null(m.inner);
}
END_TEST

START_TEST(test_every_single_bit_flip_is_rejected)
{
	uint8_t inner[64], out[96];
	struct ntm_relay_msg m;

	fill_inner(inner, sizeof(inner));
	int len = ntm_relaycap_seal(&ka, out, sizeof(out), 0, 0, 1234, 5, inner, sizeof(inner));
	ck_assert_int_eq(len, 96);
	for (size_t bit = 0; bit < 96 * 8; bit++) {
		out[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		ck_assert_msg(accept(&ka, out, 96, &m) != 0, "flip of bit %zu accepted", bit);
		out[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	ck_assert_int_eq(accept(&ka, out, 96, &m), 0);
	/* and a truncated or extended capsule */
	ck_assert_int_ne(accept(&ka, out, 95, &m), 0);
	uint8_t longer[97];
	memcpy(longer, out, 96);
	longer[96] = 0;
	ck_assert_int_ne(accept(&ka, longer, 97, &m), 0);
}
END_TEST

START_TEST(test_another_key_side_direction_alloc_or_counter_is_rejected)
{
	uint8_t inner[32], good[64], bad[64];
	struct ntm_relay_msg m;

	fill_inner(inner, sizeof(inner));
	ck_assert_int_eq(ntm_relaycap_seal(&ka, good, sizeof(good), 0, 0, 42, 3, inner, 32), 64);
	ck_assert_int_eq(accept(&ka, good, 64, &m), 0);
	ck_assert_int_eq(accept(&kb, good, 64, &m), -EBADMSG);
	/* the same tag with any header field changed */
	struct { uint8_t side, dir; uint32_t alloc; uint64_t ctr; } alt[] = {
		{ 1, 0, 42, 3 }, { 0, 1, 42, 3 }, { 0, 0, 43, 3 }, { 0, 0, 42, 4 },
	};
	for (size_t i = 0; i < NTM_ARRAY_SIZE(alt); i++) {
		ck_assert_int_eq(ntm_relay_encode(bad, sizeof(bad), alt[i].side, alt[i].dir,
						  alt[i].alloc, alt[i].ctr, inner, 32), 64);
		memcpy(bad + 48, good + 48, 16);
		ck_assert_msg(accept(&ka, bad, 64, &m) == -EBADMSG, "variant %zu accepted", i);
	}
}
END_TEST

START_TEST(test_an_inner_datagram_already_in_place_is_sealed_without_copying)
{
	uint8_t inner[50], buf[100], ref[100];
	struct ntm_relay_msg m;

	fill_inner(inner, sizeof(inner));
	memcpy(buf + NTM_RELAY_HDR_LEN, inner, sizeof(inner));
	ck_assert_int_eq(ntm_relaycap_seal(&kb, buf, sizeof(buf), 1, 0, 7, 8,
					   buf + NTM_RELAY_HDR_LEN, sizeof(inner)), 82);
	ck_assert_int_eq(ntm_relaycap_seal(&kb, ref, sizeof(ref), 1, 0, 7, 8, inner, sizeof(inner)), 82);
	ck_assert_mem_eq(buf, ref, 82);
	ck_assert_int_eq(accept(&kb, buf, 82, &m), 0);
	ck_assert_mem_eq(m.inner, inner, sizeof(inner));
	/* an inner datagram overlapping elsewhere (a received capsule being
	 * re-wrapped from an offset) is moved */
	memcpy(buf + 4, inner, sizeof(inner));
	ck_assert_int_eq(ntm_relaycap_seal(&kb, buf, sizeof(buf), 1, 0, 7, 8, buf + 4, sizeof(inner)), 82);
	ck_assert_mem_eq(buf, ref, 82);
}
END_TEST

START_TEST(test_sealing_refuses_a_small_buffer_and_invalid_fields)
{
	uint8_t inner[32], out[80];

	fill_inner(inner, sizeof(inner));
	ck_assert_int_eq(ntm_relaycap_seal(&ka, out, 63, 0, 0, 1, 0, inner, 32), -EMSGSIZE);
	ck_assert_int_eq(ntm_relaycap_seal(&ka, out, 31, 0, 0, 1, 0, NULL, 0), -EMSGSIZE);
	ck_assert_int_eq(ntm_relaycap_seal(&ka, out, sizeof(out), 2, 0, 1, 0, inner, 32), -EINVAL);
	ck_assert_int_eq(ntm_relaycap_seal(&ka, out, sizeof(out), 0, 2, 1, 0, inner, 32), -EINVAL);
	ck_assert_int_eq(ntm_relaycap_seal(&ka, out, sizeof(out), 0, 0, 0, 0, inner, 32), -EINVAL);
	ck_assert_int_eq(ntm_relaycap_seal(&ka, out, sizeof(out), 0, 0, 1, 0, inner, 31), -EINVAL);
}
END_TEST

START_TEST(test_a_zeroed_or_freed_key_verifies_nothing)
{
	struct ntm_relay_key z;
	uint8_t out[32];
	struct ntm_relay_msg m;

	memset(&z, 0, sizeof(z));
	ntm_relaycap_key_free(&z);
	ntm_relaycap_key_free(NULL);
	ck_assert_int_eq(ntm_relaycap_seal(&ka, out, sizeof(out), 0, 0, 1, 0, NULL, 0), 32);
	ck_assert_int_eq(ntm_relay_decode(out, 32, &m), 0);
	ck_assert_int_eq(ntm_relaycap_verify(&z, out, 32, &m), -EBADMSG);
	ck_assert_int_lt(ntm_relaycap_seal(&z, out, sizeof(out), 0, 0, 1, 0, NULL, 0), 0);
}
END_TEST

static TCase *capsule_tcase(void)
{
	TCase *tc = tcase_create("capsule");
	tcase_add_checked_fixture(tc, keys, keys_free);
	tcase_add_test(tc, test_a_sealed_capsule_decodes_and_verifies);
	tcase_add_test(tc, test_the_tag_is_aes_256_gcm_over_the_header_and_inner_with_the_counter_nonce);
	tcase_add_test(tc, test_an_empty_capsule_is_a_keepalive_of_32_bytes);
	tcase_add_test(tc, test_every_single_bit_flip_is_rejected);
	tcase_add_test(tc, test_another_key_side_direction_alloc_or_counter_is_rejected);
	tcase_add_test(tc, test_an_inner_datagram_already_in_place_is_sealed_without_copying);
	tcase_add_test(tc, test_sealing_refuses_a_small_buffer_and_invalid_fields);
	tcase_add_test(tc, test_a_zeroed_or_freed_key_verifies_nothing);
	return tc;
}

int main(void)
{
	Suite *s = suite_create("relay");
	suite_add_tcase(s, capsule_tcase());
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
