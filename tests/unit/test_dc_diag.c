/* test_dc_diag.c - the DC's operator diagnostics (dc_diag.h): one line per
 * source and kind a minute, a global cap on lines whatever the number of
 * sources, refusals to unenrolled keys at most DC_DIAG_REFUSE_RATE a
 * second, and lines that say what to do. */
#include <arpa/inet.h>
#include <check.h>
#include <string.h>

#include "dc_diag.h"

static struct sockaddr_in v4(uint32_t a, uint16_t port)
{
	struct sockaddr_in s = { .sin_family = AF_INET, .sin_port = htons(port) };
	s.sin_addr.s_addr = htonl(a);
	return s;
}

#define SA(x) ((const struct sockaddr *)&(x))

START_TEST(test_one_line_per_source_and_kind_a_minute)
{
	struct dc_diag g;
	struct sockaddr_in a = v4(0x0a000001, 7540), a2 = v4(0x0a000001, 9999);
	uint64_t t = 5000;

	dc_diag_init(&g, 42);
	ck_assert(dc_diag_log_allow(&g, DC_DIAG_BAD_MAC, SA(a), t));
	ck_assert(!dc_diag_log_allow(&g, DC_DIAG_BAD_MAC, SA(a), t + 1));
	/* another port of the same address is the same source */
	ck_assert(!dc_diag_log_allow(&g, DC_DIAG_BAD_MAC, SA(a2), t + 2));
	ck_assert_uint_eq(g.suppressed, 2);
	/* another kind from it is said */
	ck_assert(dc_diag_log_allow(&g, DC_DIAG_UNENROLLED, SA(a), t + 3));
	ck_assert(!dc_diag_log_allow(&g, DC_DIAG_BAD_MAC, SA(a), t + DC_DIAG_PER_SOURCE_MS - 1));
	ck_assert(dc_diag_log_allow(&g, DC_DIAG_BAD_MAC, SA(a), t + DC_DIAG_PER_SOURCE_MS));
}
END_TEST

START_TEST(test_a_few_sources_never_push_each_other_out)
{
	/* five sources, as in a small lab or a real misconfiguration: over
	 * many seeds, none may be logged twice within a minute (a
	 * direct-mapped table of 256 slots did so for about 4 % of seeds) */
	static const enum dc_diag_kind kinds[5] = { DC_DIAG_UNENROLLED, DC_DIAG_BAD_MAC,
						    DC_DIAG_SKEW, DC_DIAG_UNENROLLED,
						    DC_DIAG_BAD_MAC };
	for (uint64_t seed = 1; seed <= 1000; seed++) {
		struct dc_diag g;
		dc_diag_init(&g, seed);
		for (unsigned round = 0; round < 3; round++)
			for (uint32_t i = 0; i < 5; i++) {
				struct sockaddr_in s = v4(0xcb007100 + 16 * i + 2, 7541);
				bool ok = dc_diag_log_allow(&g, kinds[i], SA(s), 1000 + round * 1000 + i);
				ck_assert_msg(ok == (round == 0), "seed %llu source %u round %u: %s",
					      (unsigned long long)seed, i, round,
					      ok ? "logged again" : "not logged");
			}
	}
}
END_TEST

START_TEST(test_many_sources_get_a_few_lines_in_all)
{
	struct dc_diag g;
	unsigned logged = 0;
	uint64_t t = 1000;

	dc_diag_init(&g, 7);
	for (uint32_t i = 0; i < 10000; i++) {
		struct sockaddr_in s = v4(0xc0000000 + i, 1);
		logged += dc_diag_log_allow(&g, DC_DIAG_BAD_MAC, SA(s), t);
	}
	ck_assert_uint_eq(logged, DC_DIAG_LOG_BURST);
	ck_assert_uint_eq(g.suppressed, 10000 - DC_DIAG_LOG_BURST);
	/* a minute later, DC_DIAG_LOG_RATE more */
	logged = 0;
	for (uint32_t i = 0; i < 10000; i++) {
		struct sockaddr_in s = v4(0xc1000000 + i, 1);
		logged += dc_diag_log_allow(&g, DC_DIAG_BAD_MAC, SA(s), t + 60000);
	}
	ck_assert_uint_eq(logged, DC_DIAG_LOG_RATE);
	/* and one token every 60 s / rate */
	struct sockaddr_in s = v4(0xc2000000, 1);
	ck_assert(!dc_diag_log_allow(&g, DC_DIAG_SKEW, SA(s), t + 60000 + 60000 / DC_DIAG_LOG_RATE - 1));
	ck_assert(dc_diag_log_allow(&g, DC_DIAG_SKEW, SA(s), t + 60000 + 60000 / DC_DIAG_LOG_RATE));
}
END_TEST

START_TEST(test_refusals_are_capped_per_second)
{
	struct dc_diag g;
	unsigned sent = 0;

	dc_diag_init(&g, 1);
	for (int i = 0; i < 1000; i++)
		sent += dc_diag_refuse_allow(&g, 10000);
	ck_assert_uint_eq(sent, DC_DIAG_REFUSE_RATE);
	/* over 10 s of steady pressure: at most the rate each second */
	sent = 0;
	for (uint64_t ms = 10001; ms <= 20000; ms++)
		sent += dc_diag_refuse_allow(&g, ms);
	ck_assert_uint_le(sent, 10 * DC_DIAG_REFUSE_RATE);
	ck_assert_uint_ge(sent, 10 * DC_DIAG_REFUSE_RATE - 1);
	/* a clock that goes back takes nothing away nor gives */
	ck_assert(!dc_diag_refuse_allow(&g, 5000));
}
END_TEST

START_TEST(test_lines_say_what_to_do)
{
	char buf[320];
	const char *k = "q0l9yUkJ0BvR2V5y8m4S1CSuLo5Jm1oWa2Q4hZ6xHjE=";

	dc_diag_fmt_bad_mac(buf, sizeof(buf), "10.0.0.2:7540", "DCKEY=");
	ck_assert_ptr_nonnull(strstr(buf, "from 10.0.0.2:7540 with a bad mac1"));
	ck_assert_ptr_nonnull(strstr(buf, "[DC] PublicKey is not this DC's key (DCKEY=)"));
	dc_diag_fmt_unenrolled(buf, sizeof(buf), "10.0.0.2:7540", k, true);
	ck_assert_ptr_nonnull(strstr(buf, "from 10.0.0.2:7540 with key q0l9"));
	ck_assert_ptr_nonnull(strstr(buf, "not enrolled (refused)"));
	ck_assert_ptr_nonnull(strstr(buf, "ntm-dcctl node add NAME q0l9yUkJ0BvR2V5y8m4S1CSuLo5Jm1oWa2Q4hZ6xHjE="));
	dc_diag_fmt_unenrolled(buf, sizeof(buf), "10.0.0.2:7540", k, false);
	ck_assert_ptr_nonnull(strstr(buf, "(dropped)"));
	dc_diag_fmt_skew(buf, sizeof(buf), "c.ntm", "10.0.0.3:7540", 3600, true);
	ck_assert_str_eq(buf, "c.ntm: handshake from 10.0.0.3:7540 refused: clock skew: stamped "
			      "3600 s ahead of this DC's clock (the node's clock or this one is wrong)");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("dc_diag");
	TCase *tc = tcase_create("limits");
	tcase_add_test(tc, test_one_line_per_source_and_kind_a_minute);
	tcase_add_test(tc, test_a_few_sources_never_push_each_other_out);
	tcase_add_test(tc, test_many_sources_get_a_few_lines_in_all);
	tcase_add_test(tc, test_refusals_are_capped_per_second);
	tcase_add_test(tc, test_lines_say_what_to_do);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
