/* test_underlay.c - the node's underlay (tund/underlay.h): which DC endpoint
 * to use, when a new scan is a change and what the DC link does about it,
 * which addresses count, a scan on this host's loopback; and [DC] Endpoint
 * with one endpoint of each family (tund/tund_config.c). */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <linux/if_addr.h>
#include <net/if.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tund_config.h"
#include "underlay.h"

#define BOTH (UL_BIT(UL_V4) | UL_BIT(UL_V6))

static void add(struct underlay *u, const char *text)
{
	struct underlay_addr *a = &u->addrs[u->naddrs++];

	a->fam = strchr(text, ':') ? UL_V6 : UL_V4;
	ck_assert_int_eq(inet_pton(a->fam == UL_V4 ? AF_INET : AF_INET6, text, a->addr), 1);
}

static void route(struct underlay *u, int f, const char *src)
{
	u->routable[f] = true;
	ck_assert_int_eq(inet_pton(f == UL_V4 ? AF_INET : AF_INET6, src, u->src[f]), 1);
}

/* A dual-stack host: 10.1.0.2 and 2001:db8:1::2, both DC endpoints routable. */
static struct underlay dual(void)
{
	struct underlay u = { 0 };

	add(&u, "10.1.0.2");
	add(&u, "2001:db8:1::2");
	route(&u, UL_V4, "10.1.0.2");
	route(&u, UL_V6, "2001:db8:1::2");
	return u;
}

START_TEST(test_a_new_link_prefers_ipv6_when_both_endpoints_are_routable)
{
	struct underlay u = dual();

	ck_assert_int_eq(underlay_pick(&u, BOTH, -1), UL_V6);
	u.routable[UL_V6] = false;
	ck_assert_int_eq(underlay_pick(&u, BOTH, -1), UL_V4);
}
END_TEST

START_TEST(test_the_endpoint_in_use_is_kept_while_it_stays_routable)
{
	struct underlay u = dual();

	ck_assert_int_eq(underlay_pick(&u, BOTH, UL_V4), UL_V4);
	u.routable[UL_V4] = false;
	ck_assert_int_eq(underlay_pick(&u, BOTH, UL_V4), UL_V6);
}
END_TEST

START_TEST(test_only_configured_endpoints_are_picked)
{
	struct underlay u = dual();

	ck_assert_int_eq(underlay_pick(&u, UL_BIT(UL_V4), -1), UL_V4);
	u.routable[UL_V4] = false;
	/* nothing configured is routable: stay with what there is */
	ck_assert_int_eq(underlay_pick(&u, UL_BIT(UL_V4), UL_V4), UL_V4);
	ck_assert_int_eq(underlay_pick(&u, UL_BIT(UL_V4), -1), UL_V4);
}
END_TEST

START_TEST(test_with_no_route_at_all_the_endpoint_in_use_stays)
{
	struct underlay u = { 0 };

	ck_assert_int_eq(underlay_pick(&u, BOTH, UL_V4), UL_V4);
	ck_assert_int_eq(underlay_pick(&u, BOTH, -1), UL_V6);
}
END_TEST

START_TEST(test_an_unanswered_handshake_tries_the_other_routable_endpoint)
{
	struct underlay u = dual();

	ck_assert_int_eq(underlay_pick_after_timeout(&u, BOTH, UL_V6), UL_V4);
	ck_assert_int_eq(underlay_pick_after_timeout(&u, BOTH, UL_V4), UL_V6);
	u.routable[UL_V4] = false;
	ck_assert_int_eq(underlay_pick_after_timeout(&u, BOTH, UL_V6), UL_V6);
	ck_assert_int_eq(underlay_pick_after_timeout(&u, UL_BIT(UL_V6), UL_V6), UL_V6);
}
END_TEST

START_TEST(test_snapshots_compare_as_sets_of_addresses)
{
	struct underlay a = dual(), b = { 0 };

	add(&b, "2001:db8:1::2");
	add(&b, "10.1.0.2");
	route(&b, UL_V4, "10.1.0.2");
	route(&b, UL_V6, "2001:db8:1::2");
	ck_assert(underlay_equal(&a, &b));
	add(&b, "10.9.0.2");
	ck_assert(!underlay_equal(&a, &b));
	ck_assert(!underlay_equal(&b, &a));
}
END_TEST

START_TEST(test_a_new_source_or_route_to_the_dc_is_a_change)
{
	struct underlay a = dual(), b = dual();

	route(&b, UL_V4, "10.1.0.3");
	ck_assert(!underlay_equal(&a, &b));
	ck_assert(underlay_same_addrs(&a, &b));
	b = dual();
	b.routable[UL_V6] = false;
	ck_assert(!underlay_equal(&a, &b));
	/* the source of an unroutable family is not compared */
	a.routable[UL_V6] = false;
	memset(b.src[UL_V6], 0x55, 16);
	ck_assert(underlay_equal(&a, &b));
}
END_TEST

START_TEST(test_the_same_scan_again_asks_for_nothing)
{
	struct underlay a = dual(), b = dual();
	struct underlay_decision d = underlay_decide(&a, &b, BOTH, UL_V6, true);

	ck_assert(!d.changed);
	ck_assert_int_eq(d.action, UL_NOTHING);
	ck_assert_int_eq(d.use, UL_V6);
	ck_assert_uint_eq(d.gained | d.lost, 0);
}
END_TEST

START_TEST(test_a_renumbered_registered_node_registers_again_on_its_session)
{
	struct underlay a = { 0 }, b = { 0 };

	add(&a, "10.1.0.2");
	route(&a, UL_V4, "10.1.0.2");
	add(&b, "10.2.0.2");
	route(&b, UL_V4, "10.2.0.2");
	struct underlay_decision d = underlay_decide(&a, &b, UL_BIT(UL_V4), UL_V4, true);
	ck_assert(d.changed);
	ck_assert_int_eq(d.action, UL_REREGISTER);
	ck_assert_int_eq(d.use, UL_V4);
	ck_assert_uint_eq(d.gained | d.lost, 0);
}
END_TEST

START_TEST(test_without_a_session_a_change_starts_a_handshake_at_once)
{
	struct underlay a = dual(), b = dual();

	b.routable[UL_V6] = false;   /* mid-handshake over IPv6: its route went */
	struct underlay_decision d = underlay_decide(&a, &b, BOTH, UL_V6, false);
	ck_assert_int_eq(d.action, UL_HANDSHAKE);
	ck_assert_int_eq(d.use, UL_V4);
}
END_TEST

START_TEST(test_losing_ipv4_entirely_moves_the_dc_link_to_ipv6)
{
	struct underlay a = dual(), b = { 0 };

	add(&b, "2001:db8:1::2");
	route(&b, UL_V6, "2001:db8:1::2");
	struct underlay_decision d = underlay_decide(&a, &b, BOTH, UL_V4, true);
	ck_assert_int_eq(d.action, UL_REREGISTER);
	ck_assert_int_eq(d.use, UL_V6);
	ck_assert_uint_eq(d.lost, UL_BIT(UL_V4));
	ck_assert_uint_eq(d.gained, 0);
	/* and back: IPv4 gained, but IPv6 in use stays while routable */
	d = underlay_decide(&b, &a, BOTH, UL_V6, true);
	ck_assert_uint_eq(d.gained, UL_BIT(UL_V4));
	ck_assert_int_eq(d.use, UL_V6);
}
END_TEST

static bool keep(const char *text, unsigned ifa_flags, unsigned if_flags, const char *ifname)
{
	uint8_t a[16];
	int family = strchr(text, ':') ? AF_INET6 : AF_INET;

	ck_assert_int_eq(inet_pton(family, text, a), 1);
	return underlay_keep(family, a, ifa_flags, if_flags, ifname, "ntm0");
}

START_TEST(test_usable_addresses_of_up_interfaces_count)
{
	ck_assert(keep("10.1.0.2", 0, IFF_UP, "eth0"));
	ck_assert(keep("2001:db8::2", 0, IFF_UP | IFF_RUNNING, "eth0"));
	ck_assert(keep("2001:db8::2", IFA_F_OPTIMISTIC, IFF_UP, "eth0"));
}
END_TEST

START_TEST(test_down_loopback_and_our_own_tun_do_not_count)
{
	ck_assert(!keep("10.1.0.2", 0, 0, "eth0"));
	ck_assert(!keep("10.1.0.2", 0, IFF_UP | IFF_LOOPBACK, "lo"));
	ck_assert(!keep("198.18.0.1", 0, IFF_UP, "ntm0"));
	ck_assert(!keep("127.0.0.1", 0, IFF_UP, "eth0"));
	ck_assert(!keep("::1", 0, IFF_UP, "eth0"));
}
END_TEST

START_TEST(test_link_local_and_unusable_ipv6_addresses_do_not_count)
{
	ck_assert(!keep("169.254.1.1", 0, IFF_UP, "eth0"));
	ck_assert(!keep("fe80::1", 0, IFF_UP, "eth0"));
	ck_assert(!keep("2001:db8::2", IFA_F_TENTATIVE, IFF_UP, "eth0"));
	ck_assert(!keep("2001:db8::2", IFA_F_DADFAILED, IFF_UP, "eth0"));
	ck_assert(!keep("2001:db8::2", IFA_F_DEPRECATED, IFF_UP, "eth0"));
}
END_TEST

START_TEST(test_the_list_is_printed_in_one_line_cut_to_fit)
{
	struct underlay u = dual();
	char buf[64], small[12];

	ck_assert_str_eq(underlay_format(&u, buf, sizeof(buf)), "10.1.0.2 2001:db8:1::2");
	u.naddrs = 0;
	ck_assert_str_eq(underlay_format(&u, buf, sizeof(buf)), "none");
	u = dual();
	ck_assert_str_eq(underlay_format(&u, small, sizeof(small)), "10.1.0.2...");
}
END_TEST

START_TEST(test_a_scan_finds_the_route_to_a_dc_on_loopback)
{
	struct sockaddr_storage dc[UL_NFAM] = { 0 };
	struct sockaddr_in *sin = (struct sockaddr_in *)&dc[UL_V4];
	struct underlay u;
	uint8_t lo[4] = { 127, 0, 0, 1 };

	sin->sin_family = AF_INET;
	sin->sin_port = htons(7540);
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(underlay_scan("ntm-none", dc, &u), 0);
	ck_assert(u.routable[UL_V4]);
	ck_assert_mem_eq(u.src[UL_V4], lo, 4);
	ck_assert(!u.routable[UL_V6]);  /* no IPv6 endpoint given */
	for (unsigned i = 0; i < u.naddrs; i++)
		ck_assert(!(u.addrs[i].fam == UL_V4 && u.addrs[i].addr[0] == 127));
}
END_TEST

/* Writes a tund.conf whose [DC] Endpoint line (line 5) is ep; loads it. */
static int load(const char *ep, struct tund_config *cfg, char *msg, size_t cap)
{
	char path[] = "/tmp/test_underlay.XXXXXX";
	int fd = mkstemp(path);

	ck_assert_int_ge(fd, 0);
	FILE *f = fdopen(fd, "w");
	ck_assert_ptr_nonnull(f);
	fprintf(f, "[Node]\nName = a\n\n[DC]\nEndpoint = %s\n"
		"PublicKey = AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n", ep);
	fclose(f);
	int ret = tund_config_load(path, cfg, msg, cap);
	unlink(path);
	return ret;
}

/* Loads a tund.conf with this [Interface] section text (lines 5-) or none. */
static int load_iface(const char *iface, struct tund_config *cfg, char *msg, size_t cap)
{
	char path[] = "/tmp/test_underlay.XXXXXX";
	int fd = mkstemp(path);

	ck_assert_int_ge(fd, 0);
	FILE *f = fdopen(fd, "w");
	ck_assert_ptr_nonnull(f);
	fprintf(f, "[Node]\nName = a\n\n%s[DC]\nEndpoint = 192.0.2.1:7540\n"
		"PublicKey = AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n", iface);
	fclose(f);
	int ret = tund_config_load(path, cfg, msg, cap);
	unlink(path);
	return ret;
}

START_TEST(test_offload_is_auto_by_default_off_when_asked_and_nothing_else)
{
	static struct tund_config cfg;
	char msg[512] = "";

	ck_assert_int_eq(load_iface("", &cfg, msg, sizeof(msg)), 0);
	ck_assert(cfg.offload);
	ck_assert_int_eq(load_iface("[Interface]\nOffload = off\n", &cfg, msg, sizeof(msg)), 0);
	ck_assert(!cfg.offload);
	ck_assert_int_eq(load_iface("[interface]\noffload = AUTO\n", &cfg, msg, sizeof(msg)), 0);
	ck_assert(cfg.offload);
	ck_assert_int_eq(load_iface("[Interface]\nOffload = on\n", &cfg, msg, sizeof(msg)), -EINVAL);
	ck_assert_msg(strstr(msg, ":5: Offload: 'on' is not auto or off") != NULL, "%s", msg);
	ck_assert_int_eq(load_iface("[Interface]\nTSO = off\n", &cfg, msg, sizeof(msg)), -EINVAL);
}
END_TEST

START_TEST(test_workers_are_one_by_default_a_number_up_to_16_or_auto)
{
	static struct tund_config cfg;
	char msg[512] = "";

	ck_assert_int_eq(load_iface("", &cfg, msg, sizeof(msg)), 0);
	ck_assert_uint_eq(cfg.workers, 1);
	ck_assert(cfg.lanes);
	ck_assert_int_eq(load_iface("[Interface]\nLanes = no\n", &cfg, msg, sizeof(msg)), 0);
	ck_assert(!cfg.lanes);
	ck_assert_int_eq(load_iface("[Interface]\nLanes = sometimes\n", &cfg, msg, sizeof(msg)),
			 -EINVAL);
	ck_assert_msg(strstr(msg, ":5: ") && strstr(msg, "Lanes") && strstr(msg, "sometimes"), "%s",
		      msg);
	ck_assert_int_eq(load_iface("[Interface]\nWorkers = 4\n", &cfg, msg, sizeof(msg)), 0);
	ck_assert_uint_eq(cfg.workers, 4);
	ck_assert_int_eq(load_iface("[Interface]\nWorkers = AUTO\n", &cfg, msg, sizeof(msg)), 0);
	ck_assert_uint_eq(cfg.workers, 0);
	ck_assert_int_eq(load_iface("[Interface]\nWorkers = 16\n", &cfg, msg, sizeof(msg)), 0);
	ck_assert_uint_eq(cfg.workers, 16);
	const char *bad[] = { "0", "17", "-1", "2x", "+2", "0x2", "4294967298" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char text[64];
		snprintf(text, sizeof(text), "[Interface]\nWorkers = %s\n", bad[i]);
		ck_assert_int_eq(load_iface(text, &cfg, msg, sizeof(msg)), -EINVAL);
		ck_assert_msg(strstr(msg, ":5: Workers: ") && strstr(msg, "is not auto or a number from 1 to 16"),
			      "%s", msg);
	}
}
END_TEST

START_TEST(test_the_dc_may_have_an_endpoint_of_each_family)
{
	static struct tund_config cfg;
	char msg[512] = "";

	ck_assert_int_eq(load("198.51.100.2:7540 ,\t[2001:db8:dc::2]:7541", &cfg, msg, sizeof(msg)), 0);
	ck_assert_int_eq(cfg.dc_endpoint[UL_V4].ss_family, AF_INET);
	ck_assert_int_eq(ntohs(((struct sockaddr_in *)&cfg.dc_endpoint[UL_V4])->sin_port), 7540);
	ck_assert_int_eq(cfg.dc_endpoint[UL_V6].ss_family, AF_INET6);
	ck_assert_int_eq(ntohs(((struct sockaddr_in6 *)&cfg.dc_endpoint[UL_V6])->sin6_port), 7541);
	ck_assert_int_eq(load("[2001:db8:dc::2]:7540", &cfg, msg, sizeof(msg)), 0);
	ck_assert_int_eq(cfg.dc_endpoint[UL_V4].ss_family, 0);
	ck_assert_int_eq(cfg.dc_endpoint[UL_V6].ss_family, AF_INET6);
}
END_TEST

START_TEST(test_a_bad_or_second_endpoint_of_a_family_is_refused_with_its_line)
{
	static struct tund_config cfg;
	char msg[512] = "";

	ck_assert_int_eq(load("198.51.100.2:7540, 198.51.100.3:7540", &cfg, msg, sizeof(msg)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(msg, ":5: Endpoint: two IPv4 endpoints"));
	/* a host name stands alone */
	ck_assert_int_eq(load("198.51.100.2:7540, dc.example.org:7540", &cfg, msg, sizeof(msg)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(msg, ":5: Endpoint: 'dc.example.org:7540' is not an endpoint"));
	ck_assert_int_eq(load("198.51.100.2:7540,", &cfg, msg, sizeof(msg)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(msg, ":5: Endpoint: '' is not an endpoint"));
}
END_TEST

START_TEST(test_several_dc_instances_are_separated_by_semicolons_in_order)
{
	static struct tund_config cfg;
	char msg[512] = "";

	ck_assert_int_eq(load("198.51.100.2:7540, [2001:db8:dc::2]:7540 ;198.51.100.3:7541;"
			      "\tdc3.example.org:7542", &cfg, msg, sizeof(msg)), 0);
	ck_assert_uint_eq(cfg.ndcs, 3);
	ck_assert_int_eq(cfg.dcs[0].endpoint[UL_V4].ss_family, AF_INET);
	ck_assert_int_eq(cfg.dcs[0].endpoint[UL_V6].ss_family, AF_INET6);
	ck_assert_int_eq(ntohs(((struct sockaddr_in *)&cfg.dcs[1].endpoint[UL_V4])->sin_port), 7541);
	ck_assert_int_eq(cfg.dcs[1].endpoint[UL_V6].ss_family, 0);
	ck_assert_str_eq(cfg.dcs[2].host, "dc3.example.org");
	ck_assert_uint_eq(cfg.dcs[2].host_port, 7542);
	/* the first is the one in use */
	ck_assert_int_eq(memcmp(cfg.dc_endpoint, cfg.dcs[0].endpoint, sizeof(cfg.dc_endpoint)), 0);
	ck_assert_str_eq(cfg.dc_host, "");
	tund_config_use_dc(&cfg, 2);
	ck_assert_str_eq(cfg.dc_host, "dc3.example.org");
	ck_assert_uint_eq(cfg.dc_host_port, 7542);
	ck_assert_int_eq(cfg.dc_endpoint[UL_V4].ss_family, 0);
	/* one instance, as before */
	ck_assert_int_eq(load("198.51.100.2:7540", &cfg, msg, sizeof(msg)), 0);
	ck_assert_uint_eq(cfg.ndcs, 1);
	/* eight at most */
	ck_assert_int_eq(load("10.0.0.1:1;10.0.0.2:1;10.0.0.3:1;10.0.0.4:1;10.0.0.5:1;10.0.0.6:1;"
			      "10.0.0.7:1;10.0.0.8:1", &cfg, msg, sizeof(msg)), 0);
	ck_assert_uint_eq(cfg.ndcs, 8);
	ck_assert_int_eq(load("10.0.0.1:1;10.0.0.2:1;10.0.0.3:1;10.0.0.4:1;10.0.0.5:1;10.0.0.6:1;"
			      "10.0.0.7:1;10.0.0.8:1; 10.0.0.9:1", &cfg, msg, sizeof(msg)), -EINVAL);
	ck_assert_msg(strstr(msg, ":5: Endpoint: more than 8 DC instances (at '10.0.0.9:1')"),
		      "%s", msg);
	/* an empty or bad instance says which */
	ck_assert_int_eq(load("10.0.0.1:1;;10.0.0.2:1", &cfg, msg, sizeof(msg)), -EINVAL);
	ck_assert_msg(strstr(msg, ":5: Endpoint: '' is not an endpoint"), "%s", msg);
	ck_assert_int_eq(load("10.0.0.1:1; dc2.example.org", &cfg, msg, sizeof(msg)), -EINVAL);
	ck_assert_msg(strstr(msg, ":5: Endpoint: 'dc2.example.org' has no port"), "%s", msg);
	ck_assert_int_eq(load("10.0.0.1:1; 10.0.0.2:1, 10.0.0.3:1", &cfg, msg, sizeof(msg)),
			 -EINVAL);
	ck_assert_msg(strstr(msg, ":5: Endpoint: two IPv4 endpoints in one DC instance"), "%s", msg);
}
END_TEST

START_TEST(test_the_dc_endpoint_may_be_a_host_name_checked_at_load)
{
	static struct tund_config cfg;
	char msg[512] = "";

	ck_assert_int_eq(load("DC.Example.org:7540", &cfg, msg, sizeof(msg)), 0);
	ck_assert_str_eq(cfg.dc_host, "dc.example.org");
	ck_assert_uint_eq(cfg.dc_host_port, 7540);
	ck_assert_int_eq(cfg.dc_endpoint[UL_V4].ss_family, 0);
	ck_assert_int_eq(cfg.dc_endpoint[UL_V6].ss_family, 0);
	ck_assert_int_eq(load("dc:7540", &cfg, msg, sizeof(msg)), 0);
	ck_assert_str_eq(cfg.dc_host, "dc");
	/* an address is still an address */
	ck_assert_int_eq(load("198.51.100.2:7540", &cfg, msg, sizeof(msg)), 0);
	ck_assert_str_eq(cfg.dc_host, "");
	/* bad names, ports, a name without a port */
	ck_assert_int_eq(load("dc.example.org", &cfg, msg, sizeof(msg)), -EINVAL);
	ck_assert_msg(strstr(msg, ":5: Endpoint: 'dc.example.org' has no port (write "
			     "dc.example.org:7540)") != NULL, "%s", msg);
	ck_assert_int_eq(load("dc..example.org:7540", &cfg, msg, sizeof(msg)), -EINVAL);
	ck_assert_msg(strstr(msg, ":5: Endpoint: 'dc..example.org' is not a valid host name"),
		      "%s", msg);
	ck_assert_int_eq(load("dc_1.example.org:7540", &cfg, msg, sizeof(msg)), -EINVAL);
	ck_assert_msg(strstr(msg, "is not a valid host name"), "%s", msg);
	ck_assert_int_eq(load("dc.example.org:http", &cfg, msg, sizeof(msg)), -EINVAL);
	ck_assert_msg(strstr(msg, ":5: Endpoint: 'http' is not a port"), "%s", msg);
	ck_assert_int_eq(load("dc.example.org:70000", &cfg, msg, sizeof(msg)), -EINVAL);
	ck_assert_int_eq(load("dc.example.org:0", &cfg, msg, sizeof(msg)), -EINVAL);
	ck_assert_int_eq(load("dc.example.org:", &cfg, msg, sizeof(msg)), -EINVAL);
	ck_assert_int_eq(load("198.51.100.300:7540", &cfg, msg, sizeof(msg)), -EINVAL);
	ck_assert_msg(strstr(msg, "is not an endpoint"), "%s", msg);
}
END_TEST

START_TEST(test_the_first_resolved_address_of_each_family_is_used)
{
	struct sockaddr_in a4 = { .sin_family = AF_INET }, b4 = { .sin_family = AF_INET };
	struct sockaddr_in6 a6 = { .sin6_family = AF_INET6 };
	struct addrinfo i3 = { .ai_family = AF_INET, .ai_addrlen = sizeof(b4),
			       .ai_addr = (struct sockaddr *)&b4 };
	struct addrinfo i2 = { .ai_family = AF_INET6, .ai_addrlen = sizeof(a6),
			       .ai_addr = (struct sockaddr *)&a6, .ai_next = &i3 };
	struct addrinfo i1 = { .ai_family = AF_INET, .ai_addrlen = sizeof(a4),
			       .ai_addr = (struct sockaddr *)&a4, .ai_next = &i2 };
	struct sockaddr_storage out[UL_NFAM];

	inet_pton(AF_INET, "192.0.2.1", &a4.sin_addr);
	inet_pton(AF_INET, "192.0.2.2", &b4.sin_addr);
	inet_pton(AF_INET6, "2001:db8::1", &a6.sin6_addr);
	ck_assert_int_eq(tund_config_pick_addrs(&i1, 7540, out), 0);
	ck_assert_mem_eq(&((struct sockaddr_in *)&out[UL_V4])->sin_addr, &a4.sin_addr, 4);
	ck_assert_uint_eq(ntohs(((struct sockaddr_in *)&out[UL_V4])->sin_port), 7540);
	ck_assert_mem_eq(&((struct sockaddr_in6 *)&out[UL_V6])->sin6_addr, &a6.sin6_addr, 16);
	ck_assert_int_eq(tund_config_pick_addrs(&i3, 1, out), 0);
	ck_assert_int_eq(out[UL_V6].ss_family, 0);
	ck_assert_int_eq(tund_config_pick_addrs(NULL, 1, out), -ENOENT);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("underlay");
	TCase *pick = tcase_create("pick");
	TCase *decide = tcase_create("decide");
	TCase *scan = tcase_create("scan");
	TCase *conf = tcase_create("config");

	tcase_add_test(pick, test_a_new_link_prefers_ipv6_when_both_endpoints_are_routable);
	tcase_add_test(pick, test_the_endpoint_in_use_is_kept_while_it_stays_routable);
	tcase_add_test(pick, test_only_configured_endpoints_are_picked);
	tcase_add_test(pick, test_with_no_route_at_all_the_endpoint_in_use_stays);
	tcase_add_test(pick, test_an_unanswered_handshake_tries_the_other_routable_endpoint);
	tcase_add_test(decide, test_snapshots_compare_as_sets_of_addresses);
	tcase_add_test(decide, test_a_new_source_or_route_to_the_dc_is_a_change);
	tcase_add_test(decide, test_the_same_scan_again_asks_for_nothing);
	tcase_add_test(decide, test_a_renumbered_registered_node_registers_again_on_its_session);
	tcase_add_test(decide, test_without_a_session_a_change_starts_a_handshake_at_once);
	tcase_add_test(decide, test_losing_ipv4_entirely_moves_the_dc_link_to_ipv6);
	tcase_add_test(scan, test_usable_addresses_of_up_interfaces_count);
	tcase_add_test(scan, test_down_loopback_and_our_own_tun_do_not_count);
	tcase_add_test(scan, test_link_local_and_unusable_ipv6_addresses_do_not_count);
	tcase_add_test(scan, test_the_list_is_printed_in_one_line_cut_to_fit);
	tcase_add_test(scan, test_a_scan_finds_the_route_to_a_dc_on_loopback);
	tcase_add_test(conf, test_the_dc_may_have_an_endpoint_of_each_family);
	tcase_add_test(conf, test_a_bad_or_second_endpoint_of_a_family_is_refused_with_its_line);
	tcase_add_test(conf, test_several_dc_instances_are_separated_by_semicolons_in_order);
	tcase_add_test(conf, test_the_dc_endpoint_may_be_a_host_name_checked_at_load);
	tcase_add_test(conf, test_the_first_resolved_address_of_each_family_is_used);
	tcase_add_test(conf, test_offload_is_auto_by_default_off_when_asked_and_nothing_else);
	tcase_add_test(conf, test_workers_are_one_by_default_a_number_up_to_16_or_auto);
	suite_add_tcase(s, pick);
	suite_add_tcase(s, decide);
	suite_add_tcase(s, scan);
	suite_add_tcase(s, conf);
	return s;
}

int main(void)
{
	SRunner *r = srunner_create(suite());
	srunner_run_all(r, CK_NORMAL);
	int failed = srunner_ntests_failed(r);
	srunner_free(r);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
