/* test_nodeidx.c - the DC's registered nodes by name and virtual address
 * (dc/nodeidx.c): what was put is found under its name and each address,
 * the last put wins, nothing else is found, IPv4 and IPv6 keys never meet. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nodeidx.h"

static const uint8_t none4[4], none6[16];

static void addrs_of(unsigned i, uint8_t v4[4], uint8_t v6[16])
{
	v4[0] = 100, v4[1] = 64, v4[2] = (uint8_t)(i >> 8), v4[3] = (uint8_t)i;
	memset(v6, 0, 16);
	v6[0] = 0xfd, v6[14] = (uint8_t)(i >> 8), v6[15] = (uint8_t)i;
}

START_TEST(test_every_node_is_found_by_its_name_and_addresses)
{
	struct dc_nodeidx x;
	static int nodes[5000];
	char name[64];
	uint8_t v4[4], v6[16];

	dc_nodeidx_init(&x);
	for (unsigned i = 0; i < 5000; i++) {
		snprintf(name, sizeof(name), "n%u.ntm.example.org", i);
		addrs_of(i, v4, v6);
		ck_assert_int_eq(dc_nodeidx_put(&x, &nodes[i], name, v4, v6), 0);
	}
	for (unsigned i = 0; i < 5000; i++) {
		snprintf(name, sizeof(name), "n%u.ntm.example.org", i);
		addrs_of(i, v4, v6);
		ck_assert_ptr_eq(dc_nodeidx_by_name(&x, name), &nodes[i]);
		ck_assert_ptr_eq(dc_nodeidx_by_addr(&x, 4, v4), &nodes[i]);
		ck_assert_ptr_eq(dc_nodeidx_by_addr(&x, 6, v6), &nodes[i]);
	}
	/* names and addresses never put */
	ck_assert_ptr_null(dc_nodeidx_by_name(&x, "n5000.ntm.example.org"));
	ck_assert_ptr_null(dc_nodeidx_by_name(&x, ""));
	addrs_of(6000, v4, v6);
	ck_assert_ptr_null(dc_nodeidx_by_addr(&x, 4, v4));
	ck_assert_ptr_null(dc_nodeidx_by_addr(&x, 6, v6));
	/* a family other than 4 or 6 finds nothing */
	addrs_of(7, v4, v6);
	ck_assert_ptr_null(dc_nodeidx_by_addr(&x, 5, v6));
	dc_nodeidx_free(&x);
}
END_TEST

START_TEST(test_the_last_put_holds_the_key)
{
	struct dc_nodeidx x;
	int a, b;
	uint8_t v4[4], v6[16];

	dc_nodeidx_init(&x);
	addrs_of(1, v4, v6);
	ck_assert_int_eq(dc_nodeidx_put(&x, &a, "a.ntm.example.org", v4, v6), 0);
	/* b takes a's name (del + add) but has addresses of its own */
	addrs_of(2, v4, v6);
	ck_assert_int_eq(dc_nodeidx_put(&x, &b, "a.ntm.example.org", v4, v6), 0);
	ck_assert_ptr_eq(dc_nodeidx_by_name(&x, "a.ntm.example.org"), &b);
	ck_assert_ptr_eq(dc_nodeidx_by_addr(&x, 4, v4), &b);
	addrs_of(1, v4, v6);
	ck_assert_ptr_eq(dc_nodeidx_by_addr(&x, 4, v4), &a); /* stale: the caller checks */
	dc_nodeidx_free(&x);
}
END_TEST

START_TEST(test_no_address_is_not_indexed_and_families_stay_apart)
{
	struct dc_nodeidx x;
	int a, b;
	uint8_t v4[4] = { 10, 0, 0, 1 }, v6[16] = { 0 };

	dc_nodeidx_init(&x);
	ck_assert_int_eq(dc_nodeidx_put(&x, &a, "a.ntm.example.org", none4, none6), 0);
	ck_assert_ptr_eq(dc_nodeidx_by_name(&x, "a.ntm.example.org"), &a);
	ck_assert_ptr_null(dc_nodeidx_by_addr(&x, 4, none4));
	ck_assert_ptr_null(dc_nodeidx_by_addr(&x, 6, none6));
	/* an IPv6 address whose first bytes are an indexed IPv4 one */
	ck_assert_int_eq(dc_nodeidx_put(&x, &b, "b.ntm.example.org", v4, none6), 0);
	memcpy(v6, v4, 4);
	ck_assert_ptr_eq(dc_nodeidx_by_addr(&x, 4, v4), &b);
	ck_assert_ptr_null(dc_nodeidx_by_addr(&x, 6, v6));
	/* names are taken as spelled: another spelling misses (the registry answers) */
	ck_assert_ptr_null(dc_nodeidx_by_name(&x, "A.ntm.example.org"));
	ck_assert_ptr_null(dc_nodeidx_by_name(&x, "a.ntm.example.org."));
	dc_nodeidx_free(&x);
}
END_TEST

START_TEST(test_each_index_draws_its_own_seed)
{
	struct dc_nodeidx x, y;

	dc_nodeidx_init(&x);
	dc_nodeidx_init(&y);
	ck_assert_uint_ne(x.seed, y.seed);
	dc_nodeidx_free(&x);
	dc_nodeidx_free(&y);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("nodeidx");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_every_node_is_found_by_its_name_and_addresses);
	tcase_add_test(tc, test_the_last_put_holds_the_key);
	tcase_add_test(tc, test_no_address_is_not_indexed_and_families_stay_apart);
	tcase_add_test(tc, test_each_index_draws_its_own_seed);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
