/* test_fastpeer.c - the workers' peer table (tund/fastpeer.c): lookups by
 * virtual address and receiver index, publication, and reclamation only
 * once every reader has passed a quiescent point; the shared sessions a
 * swap drops are freed with the table they left. One threaded test: a
 * reader looking up while tables are swapped under it. */
#include <check.h>
#include <pthread.h>
#include <string.h>

#include "fastpeer.h"

static struct ntm_identity alice, bob;

/* A confirmed session (alice's side) shared by n threads. */
static struct ntm_session_mt *shared_session(uint32_t idx)
{
	uint8_t priv[32], pub[32], m1[NTM_HS_INIT_LEN], m2[NTM_HS_RESP_LEN];
	struct ntm_hs_pending p;
	struct ntm_hs_responder r;
	struct ntm_session a, b;

	ck_assert_int_eq(ntm_x25519_keygen(priv, pub), 0);
	ck_assert_int_eq(ntm_identity_init(&alice, priv), 0);
	ck_assert_int_eq(ntm_x25519_keygen(priv, pub), 0);
	ck_assert_int_eq(ntm_identity_init(&bob, priv), 0);
	ck_assert_int_eq(ntm_hs_initiate(&p, &alice, bob.pub, NTM_SUITE_AESGCM, NTM_PURPOSE_PEER, idx,
					 9, m1, sizeof(m1)), NTM_HS_INIT_LEN);
	ck_assert_int_eq(ntm_hs_respond_begin(&r, &bob, m1, sizeof(m1)), 0);
	ck_assert_int_eq(ntm_hs_respond_finish(&r, idx + 1, m2, sizeof(m2), &b), NTM_HS_RESP_LEN);
	ck_assert_int_eq(ntm_hs_complete(&p, &alice, m2, sizeof(m2), &a), 0);
	ck_assert_int_eq(ntm_session_mt_new(&a, 2), 0);
	struct ntm_session_mt *m = a.mt;
	ntm_session_clear(&a); /* the shared part stays: the tables own it */
	ntm_session_clear(&b);
	return m;
}

static struct fp_entry entry(const void *owner, unsigned num, uint32_t idx, struct ntm_session_mt *m)
{
	struct fp_entry e;

	memset(&e, 0, sizeof(e));
	e.owner = owner;
	e.has4 = e.has6 = true;
	const uint8_t v4[4] = { 198, 18, (uint8_t)(num >> 8), (uint8_t)num };
	memcpy(e.vip4, v4, 4);
	e.vip6[0] = 0xfd;
	e.vip6[14] = (uint8_t)(num >> 8);
	e.vip6[15] = (uint8_t)num;
	e.tx = m;
	e.rx_index[0] = idx;
	e.rx[0] = m;
	return e;
}

START_TEST(test_lookup)
{
	static int owners[300];
	struct fp_entry e[300];
	struct ntm_session_mt *m = shared_session(7);

	for (unsigned i = 0; i < 300; i++)
		e[i] = entry(&owners[i], i, 1000 + i, m);
	e[5].rx_index[1] = 77; /* a previous session */
	e[5].rx[1] = m;
	e[9].has6 = false;
	struct fp_table *t = fp_table_new(e, 300, &m, 1);
	ck_assert_ptr_nonnull(t);
	const uint8_t v4[4] = { 198, 18, 0, 42 }, miss4[4] = { 198, 18, 2, 42 };
	const struct fp_entry *f = fp_by_vip(t, AF_INET, v4);
	ck_assert_ptr_nonnull(f);
	ck_assert_ptr_eq(f->owner, &owners[42]);
	ck_assert_ptr_nonnull(f->act);
	ck_assert_ptr_null(fp_by_vip(t, AF_INET, miss4));
	uint8_t v6[16] = { 0xfd };
	v6[15] = 9;
	ck_assert_ptr_null(fp_by_vip(t, AF_INET6, v6)); /* 9 has no IPv6 address */
	v6[15] = 10;
	ck_assert_ptr_eq(fp_by_vip(t, AF_INET6, v6)->owner, &owners[10]);
	struct ntm_session_mt *got = NULL;
	ck_assert_ptr_eq(fp_by_index(t, 1299, &got)->owner, &owners[299]);
	ck_assert_ptr_eq(got, m);
	ck_assert_ptr_eq(fp_by_index(t, 77, &got)->owner, &owners[5]);
	ck_assert_ptr_null(fp_by_index(t, 999, &got));
	ck_assert_ptr_null(fp_by_index(t, 0, &got));
	ck_assert(fp_owns(t, m));
	ck_assert(!fp_owns(t, (struct ntm_session_mt *)&owners[0]));
	fp_table_free(t);
	ntm_session_mt_free(m);
}
END_TEST

/* Receive lanes: every lane index of a session (cur or prev) finds its
 * entry and that session; a session's own index too; an index no lane
 * has finds nothing; the table stays at most half full with 16 lanes on
 * each of two sessions per entry. */
#define LN 64
START_TEST(test_lanes)
{
	static int owners[LN];
	static struct ntm_session_mt *m[LN], *prev;
	struct fp_entry e[LN];

	for (unsigned i = 0; i < LN; i++) {
		m[i] = shared_session(5000 + 100 * i);
		for (unsigned l = 0; l < NTM_LANES_MAX; l++) /* lane 3 is the session's own */
			m[i]->lane_local[l] = l == 3 ? m[i]->local_index : 100000 + 100 * i + l;
		m[i]->nlanes_local = NTM_LANES_MAX;
		e[i] = entry(&owners[i], i, m[i]->local_index, m[i]);
	}
	prev = shared_session(90000);
	prev->lane_local[0] = 90000;
	prev->lane_local[1] = 90001;
	prev->nlanes_local = 2;
	e[7].rx_index[1] = 90000;
	e[7].rx[1] = prev;
	struct ntm_session_mt *own[LN + 1];
	memcpy(own, m, sizeof(m));
	own[LN] = prev;
	struct fp_table *t = fp_table_new(e, LN, own, LN + 1);
	ck_assert_ptr_nonnull(t);
	ck_assert_uint_ge(t->hmask + 1, 2u * (2 * LN + 1 + LN * (1 + NTM_LANES_MAX) + 3));
	struct ntm_session_mt *got;
	for (unsigned i = 0; i < LN; i++) {
		for (unsigned l = 0; l < NTM_LANES_MAX; l++) {
			got = NULL;
			const struct fp_entry *f = fp_by_index(t, m[i]->lane_local[l], &got);
			ck_assert_msg(f && f->owner == &owners[i] && got == m[i],
				      "entry %u lane %u not found", i, l);
		}
		ck_assert_ptr_null(fp_by_index(t, 100000 + 100 * i + NTM_LANES_MAX, &got));
	}
	ck_assert_ptr_eq(fp_by_index(t, 90001, &got)->owner, &owners[7]);
	ck_assert_ptr_eq(got, prev);
	ck_assert_ptr_eq(fp_by_index(t, 90000, &got)->owner, &owners[7]);
	ck_assert_ptr_eq(got, prev);
	ck_assert_ptr_null(fp_by_index(t, 90002, &got));
	fp_table_free(t);
	for (unsigned i = 0; i < LN; i++)
		ntm_session_mt_free(m[i]);
	ntm_session_mt_free(prev);
}
END_TEST

START_TEST(test_empty)
{
	struct fp_table *t = fp_table_new(NULL, 0, NULL, 0);
	const uint8_t v4[4] = { 198, 18, 0, 1 };
	struct ntm_session_mt *got;

	ck_assert_ptr_nonnull(t);
	ck_assert_ptr_null(fp_by_vip(t, AF_INET, v4));
	ck_assert_ptr_null(fp_by_index(t, 5, &got));
	fp_table_free(t);
}
END_TEST

/* A table retired while a reader may hold it stays until that reader has
 * gone offline or online again; what the swap dropped goes with it. */
START_TEST(test_grace)
{
	static int p1, p2;
	struct fp_domain d;
	struct ntm_session_mt *m1 = shared_session(10), *m2 = shared_session(20);
	struct fp_entry e1 = entry(&p1, 1, 10, m1), e2 = entry(&p2, 2, 20, m2);
	struct ntm_session_mt *both[2] = { m1, m2 };

	fp_domain_init(&d, 3);
	ck_assert_ptr_null(fp_online(&d, 1));
	fp_offline(&d, 1);
	struct fp_table *t1 = fp_table_new(&e1, 1, both, 2);
	fp_publish(&d, t1);
	ck_assert_uint_eq(fp_reclaim(&d), 0); /* nothing was published before */

	/* reader 1 holds t1; reader 2 is offline */
	const struct fp_table *held = fp_online(&d, 1);
	ck_assert_ptr_eq(held, t1);
	struct fp_table *t2 = fp_table_new(&e2, 1, &m2, 1); /* m1's session is gone */
	fp_publish(&d, t2);
	ck_assert_ptr_eq(d.retired, t1);
	ck_assert_uint_eq(t1->ndropped, 1);
	ck_assert_ptr_eq(t1->dropped[0], m1);
	ck_assert_uint_eq(fp_reclaim(&d), 1); /* reader 1 may still look at t1 */
	const uint8_t v4[4] = { 198, 18, 0, 1 };
	ck_assert_ptr_eq(fp_by_vip(held, AF_INET, v4)->owner, &p1); /* still readable */

	/* reader 1 passes a quiescent point (online again: it sees t2) */
	ck_assert_ptr_eq(fp_online(&d, 1), t2);
	ck_assert_uint_eq(fp_reclaim(&d), 0);

	/* going offline counts as well */
	struct fp_table *t3 = fp_table_new(&e2, 1, &m2, 1);
	fp_publish(&d, t3);
	ck_assert_uint_eq(t2->ndropped, 0); /* m2 lives on in t3 */
	ck_assert_uint_eq(fp_reclaim(&d), 1);
	fp_offline(&d, 1);
	ck_assert_uint_eq(fp_reclaim(&d), 0);

	/* a reader that came online after a swap does not hold back the table
	 * it replaced */
	fp_online(&d, 2);
	struct fp_table *t4 = fp_table_new(&e2, 1, &m2, 1);
	fp_publish(&d, t4);
	fp_online(&d, 2);
	ck_assert_uint_eq(fp_reclaim(&d), 0);
	fp_offline(&d, 2);
	fp_domain_free(&d); /* frees t4 and m2 */
}
END_TEST

/* A reader looks up the address every table has while the main thread
 * swaps and reclaims: it always finds an entry of a live table (under
 * valgrind or ASan a read of a freed table fails loudly). */
struct race {
	struct fp_domain d;
	_Atomic int stop;
	unsigned long seen, misses;
};

static void *reader(void *arg)
{
	struct race *r = arg;
	const uint8_t v4[4] = { 198, 18, 0, 3 };

	while (!atomic_load(&r->stop)) {
		const struct fp_table *t = fp_online(&r->d, 1);
		const struct fp_entry *e = t ? fp_by_vip(t, AF_INET, v4) : NULL;
		if (e && e->vip4[3] == 3 && e->tx)
			r->seen++;
		else if (t)
			r->misses++;
		fp_offline(&r->d, 1);
	}
	return NULL;
}

START_TEST(test_race)
{
	static struct race r;
	static int owner;
	pthread_t th;

	fp_domain_init(&r.d, 2);
	ck_assert_int_eq(pthread_create(&th, NULL, reader, &r), 0);
	for (unsigned i = 0; i < 400; i++) {
		struct ntm_session_mt *m = shared_session(100 + i);
		struct fp_entry e = entry(&owner, 3, 100 + i, m);
		fp_publish(&r.d, fp_table_new(&e, 1, &m, 1));
		fp_reclaim(&r.d);
	}
	atomic_store(&r.stop, 1);
	pthread_join(th, NULL);
	ck_assert_uint_eq(r.misses, 0);
	ck_assert_uint_eq(fp_reclaim(&r.d), 0); /* the reader is offline */
	fp_domain_free(&r.d);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("fastpeer");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_lookup);
	tcase_add_test(tc, test_empty);
	tcase_add_test(tc, test_lanes);
	tcase_add_test(tc, test_grace);
	tcase_add_test(tc, test_race);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
