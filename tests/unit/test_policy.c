/* test_policy.c - the access policy (lib/policy.c, ntm-policy(5)): every
 * kind of pattern (a full name, *.SUFFIX, *), groups, both kinds of rule
 * (<-> and ->), the first allowing rule reported, default deny with a
 * policy and allow without, names in other zones, a node's verdict on a
 * peer (it may initiate, or the node asked for it), and the parser's
 * file:line errors quoting the bad word. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "policy.h"

static struct ntm_policy *parse(const char *text)
{
	struct ntm_policy *p = NULL;
	struct ntm_conf_error err = { 0 };
	int ret = ntm_policy_parse_mem("t.policy", text, strlen(text), &p, &err);

	ck_assert_msg(ret == 0, "%s:%u: %s", err.file, err.line, err.msg);
	return p;
}

/* The formatted error of a text that must not parse. */
static const char *bad(const char *text, int want)
{
	static char line[512];
	struct ntm_policy *p = NULL;
	struct ntm_conf_error err = { 0 };
	int ret = ntm_policy_parse_mem("t.policy", text, strlen(text), &p, &err);

	ck_assert_int_eq(ret, want);
	ck_assert_ptr_null(p);
	ntm_conf_error_format(&err, line, sizeof(line));
	return line;
}

static bool allows(const struct ntm_policy *p, const char *a, const char *b, unsigned *rule)
{
	return ntm_policy_allows(p, a, b, rule);
}

START_TEST(test_no_policy_allows_everything)
{
	unsigned rule = 7;

	ck_assert(allows(NULL, "a.ntm.example.org", "b.ntm.example.org", &rule));
	ck_assert_uint_eq(rule, 0);
}
END_TEST

START_TEST(test_an_empty_policy_denies_everything)
{
	struct ntm_policy *p = parse("# nothing allowed\n\n   \n");
	unsigned rule = 7;

	ck_assert(!allows(p, "a.ntm.example.org", "b.ntm.example.org", &rule));
	ck_assert_uint_eq(rule, 0);
	ck_assert_uint_eq(ntm_policy_nrules(p), 0);
	ntm_policy_free(p);
}
END_TEST

START_TEST(test_both_ways_between_exact_names)
{
	struct ntm_policy *p = parse("allow a.ntm.example.org <-> B.ntm.example.org.\n");
	unsigned rule;

	ck_assert(allows(p, "a.ntm.example.org", "b.ntm.example.org", &rule));
	ck_assert_uint_eq(rule, 1);
	ck_assert(allows(p, "b.ntm.example.org.", "A.NTM.example.org", &rule));
	ck_assert(!allows(p, "a.ntm.example.org", "c.ntm.example.org", NULL));
	ck_assert(!allows(p, "c.ntm.example.org", "a.ntm.example.org", NULL));
	/* exact means exact: not a name under it, not a prefix of it */
	ck_assert(!allows(p, "x.a.ntm.example.org", "b.ntm.example.org", NULL));
	ck_assert(!allows(p, "a.ntm.example", "b.ntm.example.org", NULL));
	ntm_policy_free(p);
}
END_TEST

START_TEST(test_one_way_lets_only_the_left_side_initiate)
{
	struct ntm_policy *p = parse("allow a.ntm.example.org -> b.ntm.example.org\n");

	ck_assert(allows(p, "a.ntm.example.org", "b.ntm.example.org", NULL));
	ck_assert(!allows(p, "b.ntm.example.org", "a.ntm.example.org", NULL));
	ntm_policy_free(p);
}
END_TEST

START_TEST(test_a_suffix_wildcard_matches_names_below_it_only)
{
	struct ntm_policy *p = parse("allow *.eng.ntm.example.org -> db.ntm.example.org\n");

	ck_assert(allows(p, "alice.eng.ntm.example.org", "db.ntm.example.org", NULL));
	ck_assert(allows(p, "x.y.eng.ntm.example.org", "db.ntm.example.org", NULL));
	ck_assert(!allows(p, "eng.ntm.example.org", "db.ntm.example.org", NULL));
	ck_assert(!allows(p, "xeng.ntm.example.org", "db.ntm.example.org", NULL));
	ck_assert(!allows(p, "alice.ops.ntm.example.org", "db.ntm.example.org", NULL));
	ntm_policy_free(p);
}
END_TEST

START_TEST(test_star_matches_every_name)
{
	struct ntm_policy *p = parse("allow * -> dns.ntm.example.org\n");

	ck_assert(allows(p, "anyone.ntm.example.org", "dns.ntm.example.org", NULL));
	ck_assert(allows(p, "x.other.example.net", "dns.ntm.example.org", NULL));
	ck_assert(!allows(p, "dns.ntm.example.org", "anyone.ntm.example.org", NULL));
	ntm_policy_free(p);
}
END_TEST

START_TEST(test_groups_and_the_first_allowing_rule)
{
	struct ntm_policy *p = parse(
		"group eng = *.eng.ntm.example.org alice.ntm.example.org\n"
		"group ops = bob.ntm.example.org\n"
		"allow @eng -> @ops\n"
		"allow @ops <-> carol.ntm.example.org\n"
		"allow * <-> @ops\n");
	unsigned rule;

	ck_assert(allows(p, "alice.ntm.example.org", "bob.ntm.example.org", &rule));
	ck_assert_uint_eq(rule, 1);
	ck_assert(allows(p, "carol.ntm.example.org", "bob.ntm.example.org", &rule));
	ck_assert_uint_eq(rule, 2);
	ck_assert(allows(p, "bob.ntm.example.org", "z.eng.ntm.example.org", &rule));
	ck_assert_uint_eq(rule, 3);
	ck_assert(!allows(p, "alice.ntm.example.org", "carol.ntm.example.org", &rule));
	ck_assert_uint_eq(rule, 0);
	ck_assert_uint_eq(ntm_policy_ngroups(p), 2);
	ck_assert_uint_eq(ntm_policy_nrules(p), 3);

	char buf[256];
	unsigned line;
	ck_assert_int_gt(ntm_policy_group_text(p, 0, buf, sizeof(buf), &line), 0);
	ck_assert_str_eq(buf, "group eng = *.eng.ntm.example.org alice.ntm.example.org");
	ck_assert_uint_eq(line, 1);
	ck_assert_int_gt(ntm_policy_rule_text(p, 1, buf, sizeof(buf), &line), 0);
	ck_assert_str_eq(buf, "allow @ops <-> carol.ntm.example.org");
	ck_assert_uint_eq(line, 4);
	ck_assert_int_gt(ntm_policy_rule_text(p, 2, buf, sizeof(buf), &line), 0);
	ck_assert_str_eq(buf, "allow * <-> @ops");
	ck_assert_int_eq(ntm_policy_rule_text(p, 3, buf, sizeof(buf), &line), -1);
	ck_assert_int_eq(ntm_policy_group_text(p, 2, buf, sizeof(buf), &line), -1);
	ntm_policy_free(p);
}
END_TEST

START_TEST(test_names_in_other_zones)
{
	struct ntm_policy *p = parse("allow a.ntm.example.org <-> *.lab.example.net\n");

	ck_assert(allows(p, "srv.lab.example.net", "a.ntm.example.org", NULL));
	ck_assert(!allows(p, "srv.lab.example.com", "a.ntm.example.org", NULL));
	ntm_policy_free(p);
}
END_TEST

START_TEST(test_a_node_keeps_a_peer_that_may_initiate_or_that_it_asked_for)
{
	struct ntm_policy *p = parse("allow a.x -> c.x\nallow b.x <-> a.x\n");

	/* at c: a may initiate to c, whoever asked */
	ck_assert(ntm_policy_peer_ok(p, "c.x", "a.x", false));
	ck_assert(ntm_policy_peer_ok(p, "c.x", "a.x", true));
	/* at a: c may not initiate; a asked for c, which a may do */
	ck_assert(!ntm_policy_peer_ok(p, "a.x", "c.x", false));
	ck_assert(ntm_policy_peer_ok(p, "a.x", "c.x", true));
	/* both ways */
	ck_assert(ntm_policy_peer_ok(p, "a.x", "b.x", false));
	ck_assert(ntm_policy_peer_ok(p, "b.x", "a.x", false));
	/* neither: not even when asked */
	ck_assert(!ntm_policy_peer_ok(p, "b.x", "c.x", true));
	ck_assert(!ntm_policy_peer_ok(p, "c.x", "b.x", false));
	ck_assert(ntm_policy_peer_ok(NULL, "c.x", "b.x", false));
	ntm_policy_free(p);
}
END_TEST

START_TEST(test_invalid_names_are_never_allowed)
{
	struct ntm_policy *p = parse("allow * <-> *\n");

	ck_assert(allows(p, "a.b", "c.d", NULL));
	ck_assert(!allows(p, "a..b", "c.d", NULL));
	ck_assert(!allows(p, "", "c.d", NULL));
	ntm_policy_free(p);
}
END_TEST

START_TEST(test_crlf_comments_and_blanks)
{
	struct ntm_policy *p = parse("# c\r\n\tallow   a.x  <->\tb.x \r\n  # indented\n");

	ck_assert(allows(p, "b.x", "a.x", NULL));
	ntm_policy_free(p);
}
END_TEST

START_TEST(test_errors_name_the_line_and_quote_the_word)
{
	ck_assert_str_eq(bad("\nallow a.x <=> b.x\n", -EINVAL), "t.policy:2: '<=>' is not <-> or ->");
	ck_assert_str_eq(bad("permit a.x -> b.x\n", -EINVAL),
			 "t.policy:1: expected 'group' or 'allow', got 'permit'");
	ck_assert_str_eq(bad("allow a.x -> b.x c.x\n", -EINVAL),
			 "t.policy:1: expected 'allow SET <-> SET' or 'allow SET -> SET', got 'c.x'");
	ck_assert_str_eq(bad("allow a.x ->\n", -EINVAL),
			 "t.policy:1: expected 'allow SET <-> SET' or 'allow SET -> SET', got '->'");
	ck_assert_str_eq(bad("allow @eng -> b.x\n", -EINVAL),
			 "t.policy:1: unknown group '@eng' (define it on an earlier line)");
	ck_assert_str_eq(bad("allow a.x -> b*.x\n", -EINVAL),
			 "t.policy:1: 'b*.x' is not a name, *.SUFFIX or *");
	ck_assert_str_eq(bad("allow a..x -> b.x\n", -EINVAL),
			 "t.policy:1: 'a..x' is not a name, *.SUFFIX or *");
	ck_assert_str_eq(bad("group g = a.x\ngroup G = b.x\n", -EINVAL),
			 "t.policy:2: group 'G' is defined twice");
	ck_assert_str_eq(bad("group g a.x\n", -EINVAL),
			 "t.policy:1: expected 'group NAME = PATTERN...', got 'a.x'");
	ck_assert_str_eq(bad("group g =\n", -EINVAL),
			 "t.policy:1: expected 'group NAME = PATTERN...', got '='");
	ck_assert_str_eq(bad("group g/h = a.x\n", -EINVAL),
			 "t.policy:1: 'g/h' is not a group name (1..63 of A-Z a-z 0-9 _ . -)");
	ck_assert_str_eq(bad("allow a.x -> b.x\n# caf\xc3\xa9\n", -EINVAL),
			 "t.policy:2: byte 0xc3 is not printable ASCII");
	ck_assert_str_eq(bad("allow a.x\0 -> b.x\n", -EINVAL), "t.policy:1: expected 'allow SET "
			 "<-> SET' or 'allow SET -> SET', got 'a.x'");
}
END_TEST

START_TEST(test_limits)
{
	size_t cap = 1100 * 32 + 1;
	char *text = malloc(cap), *s = text;

	ck_assert_ptr_nonnull(text);
	for (int i = 0; i < 1025; i++)
		s += sprintf(s, "allow a%d.x -> b.x\n", i);
	ck_assert_str_eq(bad(text, -E2BIG), "t.policy:1025: more than 1024 rules");
	memset(text, 'a', NTM_POLICY_MAX_LINE + 1);
	text[NTM_POLICY_MAX_LINE + 1] = '\0';
	ck_assert_str_eq(bad(text, -EINVAL), "t.policy:1: line longer than 4096 bytes");
	free(text);

	struct ntm_policy *p = NULL;
	struct ntm_conf_error err;
	ck_assert_int_eq(ntm_policy_parse_mem("t", "", NTM_POLICY_MAX_FILE + 1, &p, &err), -EFBIG);
}
END_TEST

START_TEST(test_files)
{
	char path[] = "/tmp/test_policy.XXXXXX";
	int fd = mkstemp(path);
	const char *text = "group g = a.x\nallow @g <-> b.x\n";
	struct ntm_policy *p = NULL;
	struct ntm_conf_error err = { 0 };

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, strlen(text)), (int)strlen(text));
	close(fd);
	ck_assert_int_eq(ntm_policy_parse_file(path, &p, &err), 0);
	ck_assert(allows(p, "b.x", "a.x", NULL));
	ntm_policy_free(p);
	unlink(path);
	ck_assert_int_eq(ntm_policy_parse_file(path, &p, &err), -ENOENT);
	ck_assert_ptr_null(p);
	ck_assert_str_eq(err.msg, "cannot read: No such file or directory");
	ck_assert_int_eq(ntm_policy_parse_file("/tmp", &p, &err), -EINVAL);
	ck_assert_str_eq(err.msg, "not a regular file");
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("policy");
	TCase *tc = tcase_create("policy");

	tcase_add_test(tc, test_no_policy_allows_everything);
	tcase_add_test(tc, test_an_empty_policy_denies_everything);
	tcase_add_test(tc, test_both_ways_between_exact_names);
	tcase_add_test(tc, test_one_way_lets_only_the_left_side_initiate);
	tcase_add_test(tc, test_a_suffix_wildcard_matches_names_below_it_only);
	tcase_add_test(tc, test_star_matches_every_name);
	tcase_add_test(tc, test_groups_and_the_first_allowing_rule);
	tcase_add_test(tc, test_names_in_other_zones);
	tcase_add_test(tc, test_invalid_names_are_never_allowed);
	tcase_add_test(tc, test_a_node_keeps_a_peer_that_may_initiate_or_that_it_asked_for);
	tcase_add_test(tc, test_crlf_comments_and_blanks);
	tcase_add_test(tc, test_errors_name_the_line_and_quote_the_word);
	tcase_add_test(tc, test_limits);
	tcase_add_test(tc, test_files);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
