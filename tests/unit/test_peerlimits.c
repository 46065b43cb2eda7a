/* test_peerlimits.c - ntm-tund's bounded work per local user
 * (tund/peerlimits.c): the negative cache, pending resolves per uid, and
 * the handshake budget. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "peerlimits.h"

static struct negcache nc;

START_TEST(test_a_name_the_dc_denied_is_remembered_for_the_ttl_only)
{
	negcache_flush(&nc);
	ck_assert(!negcache_has(&nc, "nobody.ntm.example.org", 1000));
	negcache_put(&nc, "nobody.ntm.example.org", 1000);
	ck_assert(negcache_has(&nc, "nobody.ntm.example.org", 1000));
	ck_assert(negcache_has(&nc, "nobody.ntm.example.org", 1000 + NEGCACHE_TTL_MS - 1));
	ck_assert(!negcache_has(&nc, "nobody.ntm.example.org", 1000 + NEGCACHE_TTL_MS));
	ck_assert(!negcache_has(&nc, "other.ntm.example.org", 1000));
	/* keyed by the whole name */
	ck_assert(!negcache_has(&nc, "nobody.ntm.example.or", 1000));
}
END_TEST

START_TEST(test_a_route_or_a_flush_forgets_the_denial)
{
	negcache_flush(&nc);
	negcache_put(&nc, "new.ntm.example.org", 0);
	negcache_put(&nc, "4:198.18.0.9", 0);
	negcache_del(&nc, "new.ntm.example.org");
	ck_assert(!negcache_has(&nc, "new.ntm.example.org", 1));
	ck_assert(negcache_has(&nc, "4:198.18.0.9", 1));
	negcache_flush(&nc);
	ck_assert(!negcache_has(&nc, "4:198.18.0.9", 1));
}
END_TEST

START_TEST(test_a_flood_of_names_stays_in_bounds_and_recent_ones_stay_cached)
{
	char name[64];
	unsigned hits = 0;

	negcache_flush(&nc);
	for (unsigned i = 0; i < 100000; i++) {
		snprintf(name, sizeof(name), "n%u.ntm.example.org", i);
		negcache_put(&nc, name, i);
	}
	/* the memory is the struct's, whatever came; the newest of each set
	 * survive (each set keeps its 8 latest) */
	for (unsigned i = 100000 - 64; i < 100000; i++) {
		snprintf(name, sizeof(name), "n%u.ntm.example.org", i);
		hits += negcache_has(&nc, name, 100000);
	}
	ck_assert_uint_ge(hits, 48);
	/* a key too long for an entry is not cached, not cut */
	char longkey[NEGCACHE_KEY_MAX + 8];
	memset(longkey, 'a', sizeof(longkey) - 1);
	longkey[sizeof(longkey) - 1] = '\0';
	negcache_put(&nc, longkey, 5);
	ck_assert(!negcache_has(&nc, longkey, 5));
}
END_TEST

/* flood.sh case (e): one user's 2,000 unknown names, asked again, must
 * all be answered from the cache (no new request to the DC). */
START_TEST(test_two_thousand_names_all_stay_cached_whatever_the_seed)
{
	char name[64];

	for (uint64_t seed = 1; seed <= 4; seed++) {
		unsigned hits = 0;
		negcache_init(&nc, seed * UINT64_C(0x9e3779b97f4a7c15));
		for (unsigned i = 0; i < 2000; i++) {
			snprintf(name, sizeof(name), "flood-%u.ntm.example.org", i);
			negcache_put(&nc, name, 1000 + i);
		}
		for (unsigned i = 0; i < 2000; i++) {
			snprintf(name, sizeof(name), "flood-%u.ntm.example.org", i);
			hits += negcache_has(&nc, name, 5000);
		}
		ck_assert_uint_eq(hits, 2000);
		/* and nothing else is taken for one of them */
		for (unsigned i = 2000; i < 4000; i++) {
			snprintf(name, sizeof(name), "flood-%u.ntm.example.org", i);
			ck_assert(!negcache_has(&nc, name, 5000));
		}
	}
	/* the memory is fixed: 16 bytes an entry */
	ck_assert_uint_le(sizeof(struct negcache), 16 * NEGCACHE_SETS * NEGCACHE_WAYS + 8);
}
END_TEST

/* A registration flushes the cache (dclink.c); the seed stays, so the
 * cache goes on working with the same hash. */
START_TEST(test_a_flush_keeps_the_seed)
{
	negcache_init(&nc, 42);
	negcache_put(&nc, "later.ntm.example.org", 0);
	negcache_flush(&nc);
	ck_assert_uint_eq(nc.seed, 42);
	ck_assert(!negcache_has(&nc, "later.ntm.example.org", 1));
	negcache_put(&nc, "later.ntm.example.org", 1);
	ck_assert(negcache_has(&nc, "later.ntm.example.org", 2));
}
END_TEST

START_TEST(test_pending_resolves_are_capped_per_node_and_per_uid)
{
	static struct uidcount u;

	memset(&u, 0, sizeof(u));
	ck_assert_int_eq(pending_admit(0, 0, 256, 64), 0);
	ck_assert_int_eq(pending_admit(256, 0, 256, 64), -EBUSY);
	ck_assert_int_eq(pending_admit(10, 64, 256, 64), -EUSERS);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(uidcount_inc(&u, 1000), 0);
	ck_assert_uint_eq(uidcount_get(&u, 1000), 3);
	ck_assert_uint_eq(uidcount_get(&u, 1001), 0);
	uidcount_dec(&u, 1000);
	ck_assert_uint_eq(uidcount_get(&u, 1000), 2);
	/* 64 distinct uids fill the table; a freed slot is reused */
	for (uid_t id = 2000; id < 2000 + UIDCOUNT_SLOTS - 1; id++)
		ck_assert_int_eq(uidcount_inc(&u, id), 0);
	ck_assert_int_eq(uidcount_inc(&u, 5000), -ENOSPC);
	ck_assert_int_eq(uidcount_inc(&u, 1000), 0);
	uidcount_dec(&u, 2000);
	ck_assert_int_eq(uidcount_inc(&u, 5000), 0);
	ck_assert_uint_eq(uidcount_get(&u, 5000), 1);
}
END_TEST

START_TEST(test_the_handshake_budget_allows_a_burst_then_the_rate)
{
	struct hs_budget b;
	unsigned n = 0;

	hs_budget_init(&b, 50, 0);
	while (hs_budget_take(&b, 0))
		n++;
	ck_assert_uint_eq(n, 100); /* 2 s of it */
	ck_assert(!hs_budget_take(&b, 19));
	ck_assert(hs_budget_take(&b, 20)); /* one per 20 ms */
	ck_assert(!hs_budget_take(&b, 20));
	/* 2,000 peers retrying 10 times in 30 s asked 20,000; the budget
	 * gives at most the burst plus 30 s of the rate */
	n = 0;
	hs_budget_init(&b, 50, 0);
	for (uint64_t ms = 0; ms < 30000; ms += 10)
		for (int k = 0; k < 7; k++)
			n += hs_budget_take(&b, ms);
	ck_assert_uint_le(n, 100 + 50 * 30);
	ck_assert_uint_ge(n, 50 * 30);
	/* an idle budget refills to the burst, no more */
	n = 0;
	while (hs_budget_take(&b, 10000000))
		n++;
	ck_assert_uint_eq(n, 100);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("peerlimits");
	TCase *tc = tcase_create("limits");
	tcase_add_test(tc, test_a_name_the_dc_denied_is_remembered_for_the_ttl_only);
	tcase_add_test(tc, test_a_route_or_a_flush_forgets_the_denial);
	tcase_add_test(tc, test_a_flood_of_names_stays_in_bounds_and_recent_ones_stay_cached);
	tcase_add_test(tc, test_two_thousand_names_all_stay_cached_whatever_the_seed);
	tcase_add_test(tc, test_a_flush_keeps_the_seed);
	tcase_add_test(tc, test_pending_resolves_are_capped_per_node_and_per_uid);
	tcase_add_test(tc, test_the_handshake_budget_allows_a_burst_then_the_rate);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
