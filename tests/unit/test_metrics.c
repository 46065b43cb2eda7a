/* test_metrics.c - the Prometheus text of a STATS reply (lib/metrics.c):
 * family names, sanitising, HELP escaping, one HELP and TYPE per family,
 * a deterministic order, and a buffer that is too small. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"

static char out[256 * 1024];
static struct ntm_lctl_stats st;

static void add(bool gauge, const char *name, uint64_t v)
{
	struct ntm_lctl_counter *c = gauge ? &st.g[st.n_gauges++] : &st.c[st.n++];
	snprintf(c->name, sizeof(c->name), "%s", name);
	c->value = v;
}

static unsigned count(const char *hay, const char *needle)
{
	unsigned n = 0;
	for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

START_TEST(test_counters_get_total_and_gauges_keep_their_name)
{
	memset(&st, 0, sizeof(st));
	add(false, "rx_packets", 12);
	add(true, "peers", 3);
	int n = ntm_metrics_format(out, sizeof(out), "ntm_tund", "ntm-tund", &st, NULL, 0);
	ck_assert_int_gt(n, 0);
	ck_assert_uint_eq(strlen(out), (size_t)n);
	ck_assert_str_eq(out,
			 "# HELP ntm_tund_peers ntm-tund gauge peers\n"
			 "# TYPE ntm_tund_peers gauge\n"
			 "ntm_tund_peers 3\n"
			 "# HELP ntm_tund_rx_packets_total ntm-tund counter rx_packets\n"
			 "# TYPE ntm_tund_rx_packets_total counter\n"
			 "ntm_tund_rx_packets_total 12\n");
}
END_TEST

START_TEST(test_a_counter_named_total_is_not_totalled_twice_and_u64_prints_whole)
{
	memset(&st, 0, sizeof(st));
	add(false, "bytes_total", UINT64_MAX);
	ck_assert_int_gt(ntm_metrics_format(out, sizeof(out), "ntm_dcd", "ntm-dcd", &st, NULL, 0), 0);
	ck_assert_ptr_nonnull(strstr(out, "\nntm_dcd_bytes_total 18446744073709551615\n"));
	ck_assert_ptr_null(strstr(out, "total_total"));
}
END_TEST

START_TEST(test_names_are_sanitised)
{
	char b[64];
	ntm_metrics_sanitize(b, sizeof(b), "ntm-tund.rx packets");
	ck_assert_str_eq(b, "ntm_tund_rx_packets");
	ntm_metrics_sanitize(b, sizeof(b), "9lives:ok");
	ck_assert_str_eq(b, "_9lives:ok");
	ntm_metrics_sanitize(b, sizeof(b), "");
	ck_assert_str_eq(b, "_");
	ntm_metrics_sanitize(b, 5, "abcdefgh");
	ck_assert_str_eq(b, "abcd");
	/* a prefix with a dash becomes a valid family */
	memset(&st, 0, sizeof(st));
	add(false, "x", 1);
	ntm_metrics_format(out, sizeof(out), "ntm-tund", "d", &st, NULL, 0);
	ck_assert_ptr_nonnull(strstr(out, "\nntm_tund_x_total 1\n"));
}
END_TEST

START_TEST(test_help_escapes_backslash_and_newline)
{
	static const struct ntm_metrics_help h[] = { { "odd", "a \\ b\nc" } };
	char b[64];

	ntm_metrics_escape_help(b, sizeof(b), "x\\y\nz");
	ck_assert_str_eq(b, "x\\\\y\\nz");
	ntm_metrics_escape_help(b, 3, "\\\\\\");
	ck_assert_str_eq(b, "\\\\");     /* never half an escape */
	memset(&st, 0, sizeof(st));
	add(false, "odd", 5);
	ntm_metrics_format(out, sizeof(out), "p", "d", &st, h, 1);
	ck_assert_str_eq(out, "# HELP p_odd_total a \\\\ b\\nc\n# TYPE p_odd_total counter\n"
			      "p_odd_total 5\n");
}
END_TEST

START_TEST(test_one_type_per_family_and_the_first_value_wins)
{
	memset(&st, 0, sizeof(st));
	add(false, "dup", 1);
	add(false, "dup", 2);
	add(true, "dup_total", 3);          /* the same family as counter dup */
	ntm_metrics_format(out, sizeof(out), "p", "d", &st, NULL, 0);
	ck_assert_uint_eq(count(out, "# TYPE p_dup_total "), 1);
	ck_assert_uint_eq(count(out, "# HELP p_dup_total "), 1);
	ck_assert_ptr_nonnull(strstr(out, "\np_dup_total 1\n"));
	ck_assert_ptr_null(strstr(out, "p_dup_total 2"));
	ck_assert_ptr_null(strstr(out, "p_dup_total 3"));
}
END_TEST

START_TEST(test_order_is_by_name_whatever_the_order_received)
{
	static char a[4096], b[4096];
	memset(&st, 0, sizeof(st));
	add(false, "zeta", 1);
	add(false, "alpha", 2);
	add(true, "mid", 3);
	ntm_metrics_format(a, sizeof(a), "p", "d", &st, NULL, 0);
	memset(&st, 0, sizeof(st));
	add(true, "mid", 3);
	add(false, "alpha", 2);
	add(false, "zeta", 1);
	ntm_metrics_format(b, sizeof(b), "p", "d", &st, NULL, 0);
	ck_assert_str_eq(a, b);
	char *pa = strstr(a, "\np_alpha_total "), *pm = strstr(a, "\np_mid "),
	     *pz = strstr(a, "\np_zeta_total ");
	ck_assert(pa && pm && pz && pa < pm && pm < pz);
}
END_TEST

/* Every line is a comment or "name value"; a full reply fits 256 KiB. */
START_TEST(test_a_full_reply_parses_line_by_line)
{
	memset(&st, 0, sizeof(st));
	for (unsigned i = 0; i < NTM_LCTL_MAX_COUNTERS; i++) {
		char nm[64];
		snprintf(nm, sizeof(nm), "c%03u_%.50s", i, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
		add(false, nm, i);
	}
	for (unsigned i = 0; i < NTM_LCTL_MAX_GAUGES; i++) {
		char nm[64];
		snprintf(nm, sizeof(nm), "g%02u", i);
		add(true, nm, i);
	}
	int n = ntm_metrics_format(out, sizeof(out), "ntm_tund", "ntm-tund", &st, NULL, 0);
	ck_assert_int_gt(n, 0);
	unsigned samples = 0;
	for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n")) {
		if (line[0] == '#')
			continue;
		char name[128];
		unsigned long long v;
		char extra;
		ck_assert_int_eq(sscanf(line, "%127s %llu %c", name, &v, &extra), 2);
		samples++;
	}
	ck_assert_uint_eq(samples, NTM_LCTL_MAX_COUNTERS + NTM_LCTL_MAX_GAUGES);
}
END_TEST

START_TEST(test_a_small_buffer_is_emsgsize_and_empty)
{
	char small[40];
	memset(&st, 0, sizeof(st));
	add(false, "rx_packets", 1);
	ck_assert_int_eq(ntm_metrics_format(small, sizeof(small), "p", "d", &st, NULL, 0),
			 -EMSGSIZE);
	ck_assert_str_eq(small, "");
	memset(&st, 0, sizeof(st));
	ck_assert_int_eq(ntm_metrics_format(small, sizeof(small), "p", "d", &st, NULL, 0), 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("metrics");
	TCase *tc = tcase_create("format");
	tcase_add_test(tc, test_counters_get_total_and_gauges_keep_their_name);
	tcase_add_test(tc, test_a_counter_named_total_is_not_totalled_twice_and_u64_prints_whole);
	tcase_add_test(tc, test_names_are_sanitised);
	tcase_add_test(tc, test_help_escapes_backslash_and_newline);
	tcase_add_test(tc, test_one_type_per_family_and_the_first_value_wins);
	tcase_add_test(tc, test_order_is_by_name_whatever_the_order_received);
	tcase_add_test(tc, test_a_full_reply_parses_line_by_line);
	tcase_add_test(tc, test_a_small_buffer_is_emsgsize_and_empty);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
