/* test_resolvedlink.c - what ntm-tund tells systemd-resolved about ntm0
 * (resolvedlink_plan): the stub as the link's one server, the overlay zones
 * and the overlay reverse zones routing-only, never the default route. */
#include <check.h>
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "resolvedlink.h"
#include "tund_config.h"

static const uint8_t stub4[4] = { 127, 0, 0, 77 };

static bool has(const struct rl_plan *p, const char *name)
{
	for (size_t i = 0; i < p->ndomains; i++)
		if (strcmp(p->domains[i].name, name) == 0)
			return p->domains[i].routing_only;
	return false;
}

START_TEST(test_the_overlay_and_its_reverse_zones_go_to_the_stub_routing_only)
{
	const char *zones[] = { "ntm.example.org" };
	struct rl_prefix pfx[2] = {
		{ .af = AF_INET, .addr = { 198, 18, 0, 1 }, .plen = 15 },
		{ .af = AF_INET6, .addr = { 0xfd, 0x12, 0x34, 0x56 }, .plen = 48 },
	};
	struct rl_plan p;

	ck_assert_int_eq(resolvedlink_plan(&p, AF_INET, stub4, zones, 1, pfx, 2), 0);
	ck_assert_int_eq(p.server_af, AF_INET);
	ck_assert_mem_eq(p.server, stub4, 4);
	ck_assert(!p.default_route);
	ck_assert_uint_eq(p.ndomains, 4);
	ck_assert_str_eq(p.domains[0].name, "ntm.example.org");
	ck_assert(has(&p, "ntm.example.org"));
	ck_assert(has(&p, "18.198.in-addr.arpa"));
	ck_assert(has(&p, "19.198.in-addr.arpa"));
	ck_assert(has(&p, "0.0.0.0.6.5.4.3.2.1.d.f.ip6.arpa"));
	for (size_t i = 0; i < p.ndomains; i++)
		ck_assert(p.domains[i].routing_only);
}
END_TEST

START_TEST(test_an_ipv6_stub_and_no_prefixes_yet)
{
	const uint8_t stub6[16] = { [15] = 1 };
	const char *zones[] = { "corp.internal.", "Corp.Internal", "ntm.example.org" };
	struct rl_plan p;

	ck_assert_int_eq(resolvedlink_plan(&p, AF_INET6, stub6, zones, 3, NULL, 0), 0);
	ck_assert_int_eq(p.server_af, AF_INET6);
	ck_assert_mem_eq(p.server, stub6, 16);
	/* a trailing dot dropped, a zone named twice sent once */
	ck_assert_uint_eq(p.ndomains, 2);
	ck_assert_str_eq(p.domains[0].name, "corp.internal");
	ck_assert_str_eq(p.domains[1].name, "ntm.example.org");
}
END_TEST

START_TEST(test_before_any_registration_the_server_alone)
{
	struct rl_plan p;

	ck_assert_int_eq(resolvedlink_plan(&p, AF_INET, stub4, NULL, 0, NULL, 0), 0);
	ck_assert_uint_eq(p.ndomains, 0);
	ck_assert(!p.default_route);
}
END_TEST

START_TEST(test_bad_input_is_refused)
{
	const char *empty[] = { "" }, *dot[] = { "." }, *lead[] = { ".example.org" };
	char longname[NTM_NAME_MAX + 2];
	const char *toolong[] = { longname };
	struct rl_prefix five[RL_MAX_PREFIXES + 1];
	struct rl_plan p;

	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	memset(five, 0, sizeof(five));
	ck_assert_int_eq(resolvedlink_plan(&p, AF_UNIX, stub4, NULL, 0, NULL, 0), -EINVAL);
	ck_assert_int_eq(resolvedlink_plan(&p, AF_INET, stub4, empty, 1, NULL, 0), -EINVAL);
	ck_assert_int_eq(resolvedlink_plan(&p, AF_INET, stub4, dot, 1, NULL, 0), -EINVAL);
	ck_assert_int_eq(resolvedlink_plan(&p, AF_INET, stub4, lead, 1, NULL, 0), -EINVAL);
	ck_assert_int_eq(resolvedlink_plan(&p, AF_INET, stub4, toolong, 1, NULL, 0), -EINVAL);
	ck_assert_int_eq(resolvedlink_plan(&p, AF_INET, stub4, NULL, 0, five, 5), -E2BIG);
}
END_TEST

START_TEST(test_reverse_zones_of_odd_prefixes)
{
	char z[NTM_REVZONE_MAX][NTM_REVZONE_SIZE];
	const uint8_t a4[4] = { 10, 64, 0, 0 }, a6[16] = { 0xfd, 0x00, 0xab, 0xc0 };

	/* /10: 64 second-octet values, more than 16: the enclosing /8 */
	ck_assert_uint_eq(ntm_reverse_zones(AF_INET, a4, 10, z, NTM_REVZONE_MAX), 1);
	ck_assert_str_eq(z[0], "10.in-addr.arpa");
	ck_assert_uint_eq(ntm_reverse_zones(AF_INET, a4, 14, z, NTM_REVZONE_MAX), 4);
	ck_assert_str_eq(z[0], "64.10.in-addr.arpa");
	ck_assert_str_eq(z[3], "67.10.in-addr.arpa");
	ck_assert_uint_eq(ntm_reverse_zones(AF_INET6, a6, 26, z, NTM_REVZONE_MAX), 4);
	ck_assert_str_eq(z[0], "c.b.a.0.0.d.f.ip6.arpa");
	ck_assert_str_eq(z[3], "f.b.a.0.0.d.f.ip6.arpa");
	ck_assert_uint_eq(ntm_reverse_zones(AF_INET, a4, 14, z, 2), 2);
	ck_assert_uint_eq(ntm_reverse_zones(AF_INET, a4, 0, z, NTM_REVZONE_MAX), 0);
	ck_assert_uint_eq(ntm_reverse_zones(AF_INET, a4, 33, z, NTM_REVZONE_MAX), 0);
	ck_assert_uint_eq(ntm_reverse_zones(AF_INET, a4, 4, z, NTM_REVZONE_MAX), 16);
	/* /2: more than 16 first octets and no enclosing zone */
	ck_assert_uint_eq(ntm_reverse_zones(AF_INET, a4, 2, z, NTM_REVZONE_MAX), 0);
}
END_TEST

/* Loads a tund.conf with this [DNS] section text (lines 5-) or none. */
static int load_dns(const char *dns, struct tund_config *cfg, char *msg, size_t cap)
{
	char path[] = "/tmp/test_resolvedlink.XXXXXX";
	int fd = mkstemp(path);

	ck_assert_int_ge(fd, 0);
	FILE *f = fdopen(fd, "w");
	ck_assert_ptr_nonnull(f);
	fprintf(f, "[Node]\nName = a\n\n%s[DC]\nEndpoint = 192.0.2.1:7540\n"
		"PublicKey = AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n", dns);
	fclose(f);
	int ret = tund_config_load(path, cfg, msg, cap);
	unlink(path);
	return ret;
}

START_TEST(test_the_dns_section_defaults_to_auto_and_the_stub)
{
	static struct tund_config cfg;
	char msg[512] = "";

	ck_assert_int_eq(load_dns("", &cfg, msg, sizeof(msg)), 0);
	ck_assert_int_eq(cfg.resolved, TUND_RESOLVED_AUTO);
	ck_assert_int_eq(cfg.dns_family, AF_INET);
	ck_assert_mem_eq(cfg.dns_server, stub4, 4);
	ck_assert_int_eq(load_dns("[DNS]\nResolved = no\nServer = ::1\n", &cfg, msg, sizeof(msg)), 0);
	ck_assert_int_eq(cfg.resolved, TUND_RESOLVED_NO);
	ck_assert_int_eq(cfg.dns_family, AF_INET6);
	ck_assert_int_eq(cfg.dns_server[15], 1);
	ck_assert_int_eq(load_dns("[dns]\nresolved = YES\n", &cfg, msg, sizeof(msg)), 0);
	ck_assert_int_eq(cfg.resolved, TUND_RESOLVED_YES);
}
END_TEST

START_TEST(test_a_bad_dns_value_is_refused_with_its_line)
{
	static struct tund_config cfg;
	char msg[512] = "";

	ck_assert_int_eq(load_dns("[DNS]\nResolved = maybe\n", &cfg, msg, sizeof(msg)), -EINVAL);
	ck_assert_msg(strstr(msg, ":5: Resolved: 'maybe' is not auto, yes or no") != NULL, "%s", msg);
	ck_assert_int_eq(load_dns("[DNS]\nServer = 127.0.0.77:53\n", &cfg, msg, sizeof(msg)), -EINVAL);
	ck_assert_msg(strstr(msg, ":5: Server: '127.0.0.77:53' is not an IPv4 or IPv6 address") != NULL,
		      "%s", msg);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("resolvedlink");
	TCase *tc = tcase_create("plan");
	tcase_add_test(tc, test_the_overlay_and_its_reverse_zones_go_to_the_stub_routing_only);
	tcase_add_test(tc, test_an_ipv6_stub_and_no_prefixes_yet);
	tcase_add_test(tc, test_before_any_registration_the_server_alone);
	tcase_add_test(tc, test_bad_input_is_refused);
	tcase_add_test(tc, test_reverse_zones_of_odd_prefixes);
	tcase_add_test(tc, test_the_dns_section_defaults_to_auto_and_the_stub);
	tcase_add_test(tc, test_a_bad_dns_value_is_refused_with_its_line);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
