/* test_idmap.c - the id -> pointer hash map, against a plain array model. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

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

struct sweep_model {
	char *present;   /* per key: in the map */
	char *visits;    /* per key: times drop was asked */
	unsigned seed;
	int drop_all;
};

static bool drop_some(void *val, uint64_t key, void *arg)
{
	struct sweep_model *sm = arg;
	size_t k = (size_t)(key >> 20);

	ck_assert_ptr_nonnull(val);
	sm->visits[k]++;
	if (!sm->drop_all && rand_r(&sm->seed) % 2)
		return false;
	sm->present[k] = 0;
	return true;
}

/* Many full maps (load near 50%, so probe runs are long and some wrap past
 * the last slot), each swept once: every member is asked exactly once, the
 * dropped ones are gone, the kept ones are found, and the map keeps working
 * (the peer table sweeps expired peers this way). */
START_TEST(test_a_sweep_visits_each_member_once_and_removes_exactly_the_dropped)
{
	enum { N = 1000 };
	static char present[N], visits[N];
	static int vals[N];
	struct sweep_model sm = { present, visits, 777, 0 };

	for (int round = 0; round < 200; round++) {
		struct ntm_idmap m;
		size_t n = 1 + (size_t)rand_r(&sm.seed) % N, kept = 0;

		ntm_idmap_init(&m);
		memset(present, 0, sizeof(present));
		memset(visits, 0, sizeof(visits));
		for (size_t k = 0; k < n; k++) {
			ck_assert_int_eq(ntm_idmap_put(&m, (uint64_t)k << 20, &vals[k]), 0);
			present[k] = 1;
		}
		sm.drop_all = round % 4 == 0;
		size_t removed = ntm_idmap_sweep(&m, drop_some, &sm);
		for (size_t k = 0; k < n; k++) {
			ck_assert_int_eq(visits[k], 1);
			ck_assert_ptr_eq(ntm_idmap_get(&m, (uint64_t)k << 20),
					 present[k] ? &vals[k] : NULL);
			kept += present[k];
		}
		ck_assert_uint_eq(removed + kept, n);
		ck_assert_uint_eq(m.len, kept);
		if (sm.drop_all)
			ck_assert_uint_eq(kept, 0);
		/* still consistent: delete the rest one by one */
		for (size_t k = 0; k < n; k++)
			ck_assert_ptr_eq(ntm_idmap_del(&m, (uint64_t)k << 20),
					 present[k] ? &vals[k] : NULL);
		ck_assert_uint_eq(m.len, 0);
		ntm_idmap_free(&m);
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("idmap");
	TCase *tc = tcase_create("map");
	tcase_add_test(tc, test_random_puts_and_deletes_agree_with_a_model);
	tcase_add_test(tc, test_null_values_are_refused_and_empty_maps_answer_null);
	tcase_add_test(tc, test_a_sweep_visits_each_member_once_and_removes_exactly_the_dropped);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
