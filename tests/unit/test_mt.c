/* test_mt.c - what ntm-tund's workers share: the replay window several
 * threads check at once (struct ntm_replay_mt), the shared send counter
 * (ntm_counter_next_mt), the hand-off ring (lib/ring.h), and a session
 * shared by threads (ntm_session_mt_*). Threads run for real here. */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "replay.h"
#include "ring.h"
#include "session.h"
#include "util.h"
#include "wire.h"

#define W ((uint64_t)NTM_REPLAY_WINDOW)
#define R ((uint64_t)NTM_REJECT_AFTER)

static struct ntm_replay_mt win;

START_TEST(test_single_thread_window_rules_match_the_bitmap_window)
{
	/* the same random walk through both windows gives the same verdicts */
	static struct ntm_replay one;
	uint64_t top = 0;
	unsigned seed = 7;

	ntm_replay_init(&one);
	ntm_replay_mt_init(&win);
	for (int i = 0; i < 200000; i++) {
		uint64_t c;
		unsigned r = (unsigned)rand_r(&seed);
		if (r % 4 == 0)
			c = top + r % 64;                 /* forward */
		else if (top > 0)
			c = top - 1 - (uint64_t)(r % (unsigned)(W + 200)) % (top); /* back, maybe too old */
		else
			c = 0;
		bool a = ntm_replay_check(&one, c);
		bool newest;
		bool b = ntm_replay_mt_check(&win, c, &newest);
		/* (ck_assert costs a pipe write each: checked plainly in loops) */
		if (a != b)
			ck_abort_msg("step %d: counter %llu: bitmap %d, shared %d", i,
				     (unsigned long long)c, a, b);
		if (newest != (b && c + 1 > top))
			ck_abort_msg("step %d: counter %llu: newest %d", i, (unsigned long long)c,
				     newest);
		if (b && c + 1 > top)
			top = c + 1;
	}
}
END_TEST

START_TEST(test_limits_and_replays_are_refused)
{
	ntm_replay_mt_init(&win);
	ck_assert(ntm_replay_mt_peek(&win, 0));
	ck_assert(ntm_replay_mt_check(&win, 0, NULL));
	ck_assert(!ntm_replay_mt_peek(&win, 0));
	ck_assert(!ntm_replay_mt_check(&win, 0, NULL));
	ck_assert(ntm_replay_mt_check(&win, W + 1, NULL));
	ck_assert(!ntm_replay_mt_check(&win, 0, NULL));
	ck_assert(ntm_replay_mt_check(&win, 1, NULL));   /* exactly W behind: still in */
	ck_assert(!ntm_replay_mt_check(&win, R, NULL));
	ck_assert(ntm_replay_mt_check(&win, R - 1, NULL));
	ck_assert(!ntm_replay_mt_check(&win, R - 1, NULL));
	ck_assert(!ntm_replay_mt_check(&win, W + 1, NULL)); /* far behind now */
}
END_TEST

/* Threads offer the same counters, each in its own shuffled order within
 * blocks smaller than the window (datagrams reordered across workers and
 * duplicated): every counter must be accepted by exactly one of them. */
#define NT 4
#define BLOCK 4096u
#define NC (40u * BLOCK)

static _Atomic unsigned accepted[NC];

static void *offer(void *arg)
{
	unsigned seed = (unsigned)(uintptr_t)arg * 7919u + 1;
	static _Thread_local uint32_t order[BLOCK];

	for (uint32_t base = 0; base < NC; base += BLOCK) {
		for (uint32_t i = 0; i < BLOCK; i++)
			order[i] = base + i;
		for (uint32_t i = BLOCK - 1; i > 0; i--) {
			uint32_t j = (uint32_t)rand_r(&seed) % (i + 1), x = order[i];
			order[i] = order[j];
			order[j] = x;
		}
		for (uint32_t i = 0; i < BLOCK; i++)
			if (ntm_replay_mt_check(&win, order[i], NULL))
				atomic_fetch_add(&accepted[order[i]], 1);
	}
	return NULL;
}

START_TEST(test_concurrent_reordered_duplicates_are_accepted_exactly_once)
{
	pthread_t th[NT];

	ntm_replay_mt_init(&win);
	for (unsigned i = 0; i < NC; i++)
		atomic_init(&accepted[i], 0);
	for (uintptr_t i = 0; i < NT; i++)
		ck_assert_int_eq(pthread_create(&th[i], NULL, offer, (void *)i), 0);
	for (int i = 0; i < NT; i++)
		pthread_join(th[i], NULL);
	/* Whoever offers c first finds no thread past c's block (each goes
	 * block by block), so top is within a block (4096 < W) of c and c is
	 * accepted: every counter exactly once, however the threads ran. */
	unsigned once = 0;
	for (unsigned i = 0; i < NC; i++) {
		unsigned a = atomic_load(&accepted[i]);
		if (a > 1)
			ck_abort_msg("counter %u accepted %u times", i, a);
		once += a;
	}
	ck_assert_uint_eq(once, NC);
	/* and after the storm every one of them is a replay */
	for (unsigned i = NC - W; i < NC; i++)
		if (ntm_replay_mt_check(&win, i, NULL))
			ck_abort_msg("counter %u accepted again", i);
}
END_TEST

static _Atomic uint64_t ctr;
static uint64_t got[NT][100000];

static void *take(void *arg)
{
	uintptr_t me = (uintptr_t)arg;
	for (int i = 0; i < 100000; i++)
		if (!ntm_counter_next_mt(&ctr, &got[me][i]))
			got[me][i] = UINT64_MAX; /* refused: caught below */
	return NULL;
}

static int cmp64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

START_TEST(test_shared_counter_hands_out_each_value_once)
{
	pthread_t th[NT];

	atomic_init(&ctr, 5);
	for (uintptr_t i = 0; i < NT; i++)
		ck_assert_int_eq(pthread_create(&th[i], NULL, take, (void *)i), 0);
	for (int i = 0; i < NT; i++)
		pthread_join(th[i], NULL);
	uint64_t *all = &got[0][0];
	qsort(all, NT * 100000, sizeof(uint64_t), cmp64);
	for (size_t i = 0; i < NT * 100000; i++)
		if (all[i] != 5 + i)
			ck_abort_msg("value %zu is %llu", i, (unsigned long long)all[i]);
	ck_assert_uint_eq(atomic_load(&ctr), 5 + NT * 100000);
}
END_TEST

START_TEST(test_shared_counter_stops_at_the_limit_and_never_wraps)
{
	uint64_t n;

	atomic_init(&ctr, R - 2);
	ck_assert(ntm_counter_next_mt(&ctr, &n));
	ck_assert_uint_eq(n, R - 2);
	ck_assert(ntm_counter_next_mt(&ctr, &n));
	ck_assert_uint_eq(n, R - 1);
	for (int i = 0; i < 1 << 18; i++)
		if (ntm_counter_next_mt(&ctr, &n))
			ck_abort_msg("counter %llu past the limit", (unsigned long long)n);
	ck_assert_uint_eq(atomic_load(&ctr), R);
}
END_TEST

START_TEST(test_ring_keeps_order_counts_full_and_reuses_slots)
{
	struct ntm_ring r;

	ck_assert_int_eq(ntm_ring_init(&r, 3, 10), 0); /* 4 slots of 64 */
	ck_assert_ptr_null(ntm_ring_peek(&r));
	for (uint32_t i = 0; i < 4; i++) {
		uint32_t *s = ntm_ring_reserve(&r);
		ck_assert_ptr_nonnull(s);
		*s = i;
		ntm_ring_commit(&r);
	}
	ck_assert_ptr_null(ntm_ring_reserve(&r)); /* full */
	for (uint32_t i = 0; i < 2; i++) {
		uint32_t *s = ntm_ring_peek(&r);
		ck_assert_uint_eq(*s, i);
		ntm_ring_release(&r);
	}
	for (uint32_t i = 4; i < 6; i++) {
		uint32_t *s = ntm_ring_reserve(&r);
		*s = i;
		ntm_ring_commit(&r);
	}
	for (uint32_t i = 2; i < 6; i++) {
		uint32_t *s = ntm_ring_peek(&r);
		ck_assert_ptr_nonnull(s);
		ck_assert_uint_eq(*s, i);
		ntm_ring_release(&r);
	}
	ck_assert_ptr_null(ntm_ring_peek(&r));
	ntm_ring_free(&r);

	struct ntm_ring bad;
	ck_assert_int_eq(ntm_ring_init(&bad, 0, 10), -EINVAL);
	ntm_ring_free(&bad); /* a failed init leaves nothing to free, and freeing is safe */
}
END_TEST

/* One producer, one consumer, many more items than slots: all arrive, in
 * order, intact (a slot's bytes are whole when the consumer sees it). */
#define RING_ITEMS 100000u
static struct ntm_ring ring;
static _Atomic uint64_t ring_full;

static void *produce(void *arg)
{
	(void)arg;
	for (uint32_t i = 0; i < RING_ITEMS;) {
		uint32_t *s = ntm_ring_reserve(&ring);
		if (!s) {
			atomic_fetch_add(&ring_full, 1);
			sched_yield();
			continue;
		}
		for (int k = 0; k < 16; k++)
			s[k] = i * 16 + (uint32_t)k;
		ntm_ring_commit(&ring);
		i++;
	}
	return NULL;
}

START_TEST(test_ring_between_two_threads_delivers_everything_in_order)
{
	pthread_t th;

	ck_assert_int_eq(ntm_ring_init(&ring, 64, 64), 0);
	ck_assert_int_eq(pthread_create(&th, NULL, produce, NULL), 0);
	for (uint32_t i = 0; i < RING_ITEMS;) {
		uint32_t *s = ntm_ring_peek(&ring);
		if (!s) {
			sched_yield();
			continue;
		}
		for (int k = 0; k < 16; k++)
			if (s[k] != i * 16 + (uint32_t)k)
				ck_abort_msg("item %u word %d is %u", i, k, s[k]);
		ntm_ring_release(&ring);
		i++;
	}
	pthread_join(th, NULL);
	ck_assert_ptr_null(ntm_ring_peek(&ring));
	ntm_ring_free(&ring);
}
END_TEST

/* A session shared by threads: two threads and the owner seal at once,
 * every datagram gets its own counter; two threads and the owner then
 * each try to open every datagram (in different orders): each opens
 * exactly once, with the plaintext sealed, and a forgery opens nowhere. */
#define NS 3        /* sealers: thread 0, thread 1, the owner */
#define PER 1000
#define PTLEN 64
static struct ntm_session sa, sb;
static uint8_t dgram[NS][PER][PTLEN + NTM_DATA_OVERHEAD];
static _Atomic unsigned opened[NS][PER];
static _Atomic unsigned open_bad;

static void fill(uint8_t *pt, unsigned who, unsigned i)
{
	memset(pt, 0, PTLEN);
	pt[0] = (uint8_t)who;
	ntm_put_be32(pt + 1, i);
}

static void *sealer(void *arg)
{
	unsigned who = (unsigned)(uintptr_t)arg;
	for (unsigned i = 0; i < PER; i++) {
		uint8_t *d = dgram[who][i];
		fill(d + NTM_DATA_HDR_LEN, who, i);
		int n = who < 2 ? ntm_session_mt_seal(sa.mt, who, d, PTLEN) : ntm_session_seal(&sa, d, PTLEN);
		if (n != PTLEN + NTM_DATA_OVERHEAD)
			atomic_fetch_add(&open_bad, 1000000);
	}
	return NULL;
}

static void *opener(void *arg)
{
	unsigned who = (unsigned)(uintptr_t)arg;
	uint8_t buf[PTLEN + NTM_DATA_OVERHEAD], want[PTLEN];

	for (unsigned k = 0; k < NS * PER; k++) {
		unsigned j = who == 1 ? NS * PER - 1 - k : k; /* thread 1 backwards */
		unsigned s = j / PER, i = j % PER;
		size_t ptlen;
		bool newest;
		memcpy(buf, dgram[s][i], sizeof(buf));
		int r = who < 2 ? ntm_session_mt_open(sb.mt, who, buf, sizeof(buf), &ptlen, &newest)
				: ntm_session_open(&sb, buf, sizeof(buf), &ptlen);
		if (r == 0) {
			fill(want, s, i);
			if (ptlen != PTLEN || memcmp(buf + NTM_DATA_HDR_LEN, want, PTLEN) != 0)
				atomic_fetch_add(&open_bad, 1);
			atomic_fetch_add(&opened[s][i], 1);
		} else if (r != -EALREADY) {
			atomic_fetch_add(&open_bad, 1);
		}
		/* a forgery: one bit of the tag flipped */
		memcpy(buf, dgram[s][i], sizeof(buf));
		buf[sizeof(buf) - 1] ^= 1;
		r = who < 2 ? ntm_session_mt_open(sb.mt, who, buf, sizeof(buf), &ptlen, &newest)
			    : ntm_session_open(&sb, buf, sizeof(buf), &ptlen);
		if (r == 0)
			atomic_fetch_add(&open_bad, 1);
	}
	return NULL;
}

START_TEST(test_a_shared_session_seals_and_opens_each_datagram_once_across_threads)
{
	struct ntm_identity alice, bob;
	struct ntm_hs_pending p;
	struct ntm_hs_responder r;
	uint8_t priv[32], pub[32], m1[NTM_HS_INIT_LEN], m2[NTM_HS_RESP_LEN];
	pthread_t th[NS];

	ck_assert_int_eq(ntm_x25519_keygen(priv, pub), 0);
	ck_assert_int_eq(ntm_identity_init(&alice, priv), 0);
	ck_assert_int_eq(ntm_x25519_keygen(priv, pub), 0);
	ck_assert_int_eq(ntm_identity_init(&bob, priv), 0);
	ck_assert_int_eq(ntm_hs_initiate(&p, &alice, bob.pub, NTM_SUITE_AESGCM, NTM_PURPOSE_PEER, 1, 2,
					 m1, sizeof(m1)), NTM_HS_INIT_LEN);
	ck_assert_int_eq(ntm_hs_respond_begin(&r, &bob, m1, sizeof(m1)), 0);
	ck_assert_int_eq(ntm_hs_respond_finish(&r, 3, m2, sizeof(m2), &sb), NTM_HS_RESP_LEN);
	ck_assert_int_eq(ntm_hs_complete(&p, &alice, m2, sizeof(m2), &sa), 0);
	ck_assert_int_eq(ntm_session_mt_new(&sa, 2), 0);
	ck_assert_int_eq(ntm_session_mt_new(&sb, 2), 0);
	ck_assert_int_eq(ntm_session_mt_new(&sb, 2), -EINVAL); /* once */
	sb.mt->confirmed = true;

	for (uintptr_t i = 0; i < NS - 1; i++)
		ck_assert_int_eq(pthread_create(&th[i], NULL, sealer, (void *)i), 0);
	sealer((void *)(uintptr_t)(NS - 1));
	for (int i = 0; i < NS - 1; i++)
		pthread_join(th[i], NULL);
	ck_assert_uint_eq(atomic_load(&open_bad), 0);
	ck_assert_uint_eq(ntm_session_tx_next(&sa), NS * PER);
	/* every counter used once */
	static uint8_t used[NS * PER];
	for (unsigned s = 0; s < NS; s++)
		for (unsigned i = 0; i < PER; i++) {
			uint64_t c = ntm_get_be64(dgram[s][i] + 8);
			if (c >= NS * PER || used[c]++)
				ck_abort_msg("counter %llu twice or out of range", (unsigned long long)c);
		}

	for (uintptr_t i = 0; i < NS - 1; i++)
		ck_assert_int_eq(pthread_create(&th[i], NULL, opener, (void *)i), 0);
	opener((void *)(uintptr_t)(NS - 1));
	for (int i = 0; i < NS - 1; i++)
		pthread_join(th[i], NULL);
	ck_assert_uint_eq(atomic_load(&open_bad), 0);
	for (unsigned s = 0; s < NS; s++)
		for (unsigned i = 0; i < PER; i++)
			if (atomic_load(&opened[s][i]) != 1)
				ck_abort_msg("datagram %u/%u opened %u times", s, i,
					     atomic_load(&opened[s][i]));
	ck_assert_uint_eq(ntm_session_rx_top(&sb), NS * PER);
	struct ntm_session_mt *ma = sa.mt, *mb = sb.mt;
	ntm_session_clear(&sa);
	ntm_session_clear(&sb);
	ntm_session_mt_free(ma);
	ntm_session_mt_free(mb);
}
END_TEST

/* Receive lanes: before the peer names any, every thread (and the owner)
 * puts the handshake's index in DATA; after LANES (set before or after the
 * session is shared) thread q puts lane q mod n; the first lanes stay.
 * The receiver's session owns its own index and its lanes, nothing else,
 * and opens what any lane carried. */
static void handshake(struct ntm_session *a, struct ntm_session *b, uint32_t ia, uint32_t ib)
{
	struct ntm_identity alice, bob;
	struct ntm_hs_pending p;
	struct ntm_hs_responder r;
	uint8_t priv[32], pub[32], m1[NTM_HS_INIT_LEN], m2[NTM_HS_RESP_LEN];

	ck_assert_int_eq(ntm_x25519_keygen(priv, pub), 0);
	ck_assert_int_eq(ntm_identity_init(&alice, priv), 0);
	ck_assert_int_eq(ntm_x25519_keygen(priv, pub), 0);
	ck_assert_int_eq(ntm_identity_init(&bob, priv), 0);
	ck_assert_int_eq(ntm_hs_initiate(&p, &alice, bob.pub, NTM_SUITE_AESGCM, NTM_PURPOSE_PEER, ia,
					 2, m1, sizeof(m1)), NTM_HS_INIT_LEN);
	ck_assert_int_eq(ntm_hs_respond_begin(&r, &bob, m1, sizeof(m1)), 0);
	ck_assert_int_eq(ntm_hs_respond_finish(&r, ib, m2, sizeof(m2), b), NTM_HS_RESP_LEN);
	ck_assert_int_eq(ntm_hs_complete(&p, &alice, m2, sizeof(m2), a), 0);
}

static uint32_t sealed_index(struct ntm_session *s, int thr)
{
	uint8_t d[16 + NTM_DATA_OVERHEAD];

	memset(d, 0, sizeof(d));
	int n = thr < 0 ? ntm_session_seal(s, d, 16) : ntm_session_mt_seal(s->mt, (unsigned)thr, d, 16);
	ck_assert_int_eq(n, (int)sizeof(d));
	struct ntm_data m;
	ck_assert_int_eq(ntm_data_decode(d, sizeof(d), &m), 0);
	return m.receiver;
}

START_TEST(test_receive_lanes_pick_the_index_each_thread_seals_with)
{
	static struct ntm_session a, b, c, d;
	const uint32_t lanes[3] = { 30, 31, 32 }, other[2] = { 40, 41 };

	handshake(&a, &b, 10, 20);
	/* not shared: lanes are noted but the one thread keeps the index */
	ck_assert_int_eq(ntm_session_set_lanes(&a, lanes, 3), 0);
	ck_assert_uint_eq(sealed_index(&a, -1), 20);
	ck_assert_int_eq(ntm_session_set_lanes(&a, lanes, 3), 0);        /* again: the same */
	ck_assert_int_eq(ntm_session_set_lanes(&a, other, 2), -EEXIST);  /* the first stay */
	ck_assert_int_eq(ntm_session_set_lanes(&a, lanes, 0), -EINVAL);
	const uint32_t zero[2] = { 5, 0 };
	ck_assert_int_eq(ntm_session_set_lanes(&a, zero, 2), -EINVAL);
	/* shared after LANES: carried over */
	ck_assert_int_eq(ntm_session_mt_new(&a, 4), 0);
	ck_assert_uint_eq(sealed_index(&a, -1), 30);
	for (int q = 0; q < 4; q++)
		ck_assert_uint_eq(sealed_index(&a, q), lanes[q % 3]);

	/* shared before LANES: the handshake's index until they come */
	handshake(&c, &d, 11, 21);
	ck_assert_int_eq(ntm_session_mt_new(&c, 2), 0);
	ck_assert_uint_eq(sealed_index(&c, 1), 21);
	ck_assert_uint_eq(sealed_index(&c, -1), 21);
	ck_assert_int_eq(ntm_session_set_lanes(&c, other, 2), 0);
	ck_assert_uint_eq(sealed_index(&c, 0), 40);
	ck_assert_uint_eq(sealed_index(&c, 1), 41);
	ck_assert_uint_eq(sealed_index(&c, -1), 40);

	/* the receiver: its own index and its lanes */
	ck_assert_int_eq(ntm_session_mt_new(&d, 2), 0);
	d.mt->lane_local[0] = 40;
	d.mt->lane_local[1] = 41;
	d.mt->nlanes_local = 2;
	ck_assert(ntm_session_mt_has_index(d.mt, 21));
	ck_assert(ntm_session_mt_has_index(d.mt, 40));
	ck_assert(ntm_session_mt_has_index(d.mt, 41));
	ck_assert(!ntm_session_mt_has_index(d.mt, 42));
	ck_assert(!ntm_session_mt_has_index(d.mt, 0));
	/* DATA on either lane opens, once */
	for (unsigned q = 0; q < 2; q++) {
		uint8_t buf[16 + NTM_DATA_OVERHEAD];
		size_t ptlen;
		bool newest;
		memset(buf, 0, sizeof(buf));
		ck_assert_int_eq(ntm_session_mt_seal(c.mt, q, buf, 16), (int)sizeof(buf));
		ck_assert_int_eq(ntm_session_mt_open(d.mt, q, buf, sizeof(buf), &ptlen, &newest), 0);
		ck_assert_int_eq(ntm_session_mt_open(d.mt, 1 - q, buf, sizeof(buf), &ptlen, &newest),
				 -EALREADY);
	}
	struct ntm_session *all[4] = { &a, &b, &c, &d };
	for (int i = 0; i < 4; i++) {
		struct ntm_session_mt *m = all[i]->mt;
		ntm_session_clear(all[i]);
		ntm_session_mt_free(m);
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("mt");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_single_thread_window_rules_match_the_bitmap_window);
	tcase_add_test(tc, test_limits_and_replays_are_refused);
	tcase_add_test(tc, test_concurrent_reordered_duplicates_are_accepted_exactly_once);
	tcase_add_test(tc, test_shared_counter_hands_out_each_value_once);
	tcase_add_test(tc, test_shared_counter_stops_at_the_limit_and_never_wraps);
	tcase_add_test(tc, test_ring_keeps_order_counts_full_and_reuses_slots);
	tcase_add_test(tc, test_ring_between_two_threads_delivers_everything_in_order);
	tcase_add_test(tc, test_a_shared_session_seals_and_opens_each_datagram_once_across_threads);
	tcase_add_test(tc, test_receive_lanes_pick_the_index_each_thread_seals_with);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
