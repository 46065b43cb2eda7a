/* test_idmap.c - the id -> pointer hash map, against a plain array model. */
#include <check.h>
#include <stdlib.h>

#include "idmap.h"

START_TEST(test_random_puts_and_deletes_agree_with_a_model)
{
	enum { N = 4096 };
	static char present[N];
	static int vals[N];
	struct ntm_idmap m;
	unsigned seed = 12345;

	ntm_idmap_init(&m);
	for (int round = 0; round < 200000; round++) {
		uint64_t k = (uint64_t)(rand_r(&seed) % N);
		/* spread keys so many collide in the low bits */
		uint64_t key = k << 20;
		if (rand_r(&seed) % 3) {
			ck_assert_int_eq(ntm_idmap_put(&m, key, &vals[k]), 0);
			present[k] = 1;
		} else {
			void *v = ntm_idmap_del(&m, key);
			ck_assert_ptr_eq(v, present[k] ? &vals[k] : NULL);
			present[k] = 0;
		}
	}
	size_t count = 0;
	for (int k = 0; k < N; k++) {
		ck_assert_ptr_eq(ntm_idmap_get(&m, (uint64_t)k << 20), present[k] ? &vals[k] : NULL);
		count += present[k];
	}
	ck_assert_uint_eq(m.len, count);
	size_t pos = 0, seen = 0;
	uint64_t key;
	while (ntm_idmap_next(&m, &pos, &key))
		seen++;
	ck_assert_uint_eq(seen, count);
	ntm_idmap_free(&m);
}
END_TEST

START_TEST(test_null_values_are_refused_and_empty_maps_answer_null)
{
	struct ntm_idmap m;
	ntm_idmap_init(&m);
	ck_assert_ptr_null(ntm_idmap_get(&m, 1));
	ck_assert_ptr_null(ntm_idmap_del(&m, 1));
	ck_assert_int_lt(ntm_idmap_put(&m, 1, NULL), 0);
	ntm_idmap_free(&m);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("idmap");
	TCase *tc = tcase_create("map");
	tcase_add_test(tc, test_random_puts_and_deletes_agree_with_a_model);
	tcase_add_test(tc, test_null_values_are_refused_and_empty_maps_answer_null);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
