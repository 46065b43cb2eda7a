/* test_peername.c - which names ntm-tund asks the DC about: full names
 * strictly below a zone; a single label is not qualified (peername.h). */
#include <check.h>
#include <errno.h>

#include "peername.h"

static const char zones[2][NTM_NAME_MAX + 1] = { "ntm.example.org", "corp.internal" };

static int check(const char *in, uint8_t nzones, struct ntm_name *out)
{
	return peername_check(in, zones, nzones, out);
}

START_TEST(test_a_full_name_below_a_zone_is_a_peer_name_normalised)
{
	struct ntm_name n;

	ck_assert_int_eq(check("bob.ntm.example.org", 2, &n), 0);
	ck_assert_str_eq(n.s, "bob.ntm.example.org");
	ck_assert_int_eq(check("Bob.NTM.Example.org.", 2, &n), 0);
	ck_assert_str_eq(n.s, "bob.ntm.example.org");
	ck_assert_int_eq(check("a.b.corp.internal", 2, &n), 0);
	ck_assert_str_eq(n.s, "a.b.corp.internal");
}
END_TEST

START_TEST(test_a_single_label_is_not_qualified_with_a_zone)
{
	struct ntm_name n;

	ck_assert_int_eq(check("bob", 2, &n), -ENOENT);
	ck_assert_int_eq(check("bob.", 2, &n), -ENOENT);
	ck_assert_int_eq(check("BOB", 1, &n), -ENOENT);
	/* not before the zones are known either */
	ck_assert_int_eq(check("bob", 0, &n), -ENOENT);
}
END_TEST

START_TEST(test_the_apex_and_names_outside_the_zones_are_not_peers)
{
	struct ntm_name n;

	ck_assert_int_eq(check("ntm.example.org", 2, &n), -ENOENT);
	ck_assert_int_eq(check("bob.example.org", 2, &n), -ENOENT);
	ck_assert_int_eq(check("bobntm.example.org", 2, &n), -ENOENT);
	ck_assert_int_eq(check("bob.corp.internal", 1, &n), -ENOENT); /* only the first zone given */
}
END_TEST

START_TEST(test_without_zones_any_dotted_name_waits_for_them)
{
	struct ntm_name n;

	ck_assert_int_eq(check("bob.example.org", 0, &n), 0);
	ck_assert_str_eq(n.s, "bob.example.org");
}
END_TEST

START_TEST(test_text_that_is_no_dns_name_is_invalid)
{
	struct ntm_name n;

	ck_assert_int_eq(check("", 2, &n), -EINVAL);
	ck_assert_int_eq(check(".", 2, &n), -EINVAL);
	ck_assert_int_eq(check("bob..ntm.example.org", 2, &n), -EINVAL);
	ck_assert_int_eq(check("bob_1.ntm.example.org", 2, &n), -EINVAL);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("peername");
	TCase *tc = tcase_create("check");
	tcase_add_test(tc, test_a_full_name_below_a_zone_is_a_peer_name_normalised);
	tcase_add_test(tc, test_a_single_label_is_not_qualified_with_a_zone);
	tcase_add_test(tc, test_the_apex_and_names_outside_the_zones_are_not_peers);
	tcase_add_test(tc, test_without_zones_any_dotted_name_waits_for_them);
	tcase_add_test(tc, test_text_that_is_no_dns_name_is_invalid);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
