/* test_keyset.c - the DC's in-memory set of enrolled keys (dc/keyset.c):
 * every member found with its host index, nothing else found, bounds. */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "keyset.h"

/* A distinct key per i; keys differing in one byte only, too. */
static void key_of(uint32_t i, uint8_t k[DC_KEYSET_KEY_LEN])
{
	memset(k, 0xa5, DC_KEYSET_KEY_LEN);
	memcpy(k + 28, &i, sizeof(i));
}

static struct dc_keyent *entries(size_t n)
{
	struct dc_keyent *e = calloc(n ? n : 1, sizeof(*e));

	ck_assert_ptr_nonnull(e);
	for (size_t i = 0; i < n; i++) {
		key_of((uint32_t)i, e[i].key);
		e[i].host_index = (uint32_t)i + 1;
	}
	return e;
}

START_TEST(test_an_empty_set_finds_nothing)
{
	struct dc_keyset ks;
	uint8_t k[DC_KEYSET_KEY_LEN] = { 0 };

	dc_keyset_init(&ks);
	ck_assert_uint_eq(dc_keyset_get(&ks, k), 0);
	ck_assert_int_eq(dc_keyset_build(&ks, NULL, 0), 0);
	ck_assert_uint_eq(dc_keyset_get(&ks, k), 0);
	dc_keyset_free(&ks);
}
END_TEST

START_TEST(test_every_member_is_found_with_its_index_and_nothing_else)
{
	const size_t n = 5000;
	struct dc_keyent *e = entries(n);
	struct dc_keyset ks;
	uint8_t k[DC_KEYSET_KEY_LEN];

	ck_assert_int_eq(dc_keyset_build(&ks, e, n), 0);
	ck_assert_uint_eq(ks.len, n);
	ck_assert_uint_ge(ks.cap, 2 * n);   /* at most half full */
	for (size_t i = 0; i < n; i++)
		ck_assert_uint_eq(dc_keyset_get(&ks, e[i].key), i + 1);
	for (uint32_t i = (uint32_t)n; i < 4 * n; i++) {
		key_of(i, k);
		ck_assert_uint_eq(dc_keyset_get(&ks, k), 0);
	}
	/* one bit off any member is not a member */
	memcpy(k, e[7].key, sizeof(k));
	k[0] ^= 1;
	ck_assert_uint_eq(dc_keyset_get(&ks, k), 0);
	dc_keyset_free(&ks);
	free(e);
}
END_TEST

START_TEST(test_a_key_twice_or_index_zero_is_refused)
{
	struct dc_keyent *e = entries(3);
	struct dc_keyset ks;

	memcpy(e[2].key, e[0].key, DC_KEYSET_KEY_LEN);
	ck_assert_int_eq(dc_keyset_build(&ks, e, 3), -EINVAL);
	ck_assert_ptr_null(ks.slots);
	free(e);
	e = entries(3);
	e[1].host_index = 0;
	ck_assert_int_eq(dc_keyset_build(&ks, e, 3), -EINVAL);
	free(e);
}
END_TEST

START_TEST(test_more_than_the_maximum_is_refused_before_allocating)
{
	struct dc_keyset ks;
	struct dc_keyent one = { .host_index = 1 };

	ck_assert_int_eq(dc_keyset_build(&ks, &one, (size_t)DC_KEYSET_MAX + 1), -E2BIG);
	ck_assert_ptr_null(ks.slots);
}
END_TEST

/* Two builds of the same keys draw different seeds: where a key lands is
 * not fixed by the key alone. */
START_TEST(test_each_build_draws_its_own_seed)
{
	struct dc_keyent *e = entries(64);
	struct dc_keyset a, b;

	ck_assert_int_eq(dc_keyset_build(&a, e, 64), 0);
	ck_assert_int_eq(dc_keyset_build(&b, e, 64), 0);
	ck_assert_uint_ne(a.seed, b.seed);
	ck_assert_uint_eq(dc_keyset_get(&b, e[63].key), 64);
	dc_keyset_free(&a);
	dc_keyset_free(&b);
	free(e);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("keyset");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_an_empty_set_finds_nothing);
	tcase_add_test(tc, test_every_member_is_found_with_its_index_and_nothing_else);
	tcase_add_test(tc, test_a_key_twice_or_index_zero_is_refused);
	tcase_add_test(tc, test_more_than_the_maximum_is_refused_before_allocating);
	tcase_add_test(tc, test_each_build_draws_its_own_seed);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
