/* test_namemap.c - the names map (lib/namemap.c, doc/namemap.md) in memory:
 * what the writer puts the reader finds (by name in any case, by either
 * address), expiry and the horizon, a closed map, updates and deletions
 * leaving nothing behind in the indexes, a full probe window, the seqlock
 * (an odd sequence number, and a writer flipping an entry while readers
 * read: never a mixed entry), and headers, truncations and garbage that
 * are refused or read without a crash. */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "namemap.h"

#define NOW 1000000

static void *new_map(struct ntm_namemap *m, uint32_t slots)
{
	size_t size = ntm_namemap_file_size(slots);
	void *base = calloc(1, size);

	ck_assert_ptr_nonnull(base);
	ntm_namemap_format(m, base, slots, 0x1234567890abcdefu, 5);
	return base;
}

static struct ntm_namemap_rec rec(const char *name, uint8_t a4, uint8_t a6)
{
	struct ntm_namemap_rec r = { 0 };

	r.name_len = strlen(name);
	memcpy(r.name, name, r.name_len);
	r.has4 = r.has6 = true;
	r.v4[0] = 198;
	r.v4[1] = 18;
	r.v4[3] = a4;
	memset(r.v6, 0xfd, 1);
	memset(r.v6 + 1, a6, 15);
	return r;
}

START_TEST(test_put_then_find_by_name_in_any_case_and_by_each_address)
{
	struct ntm_namemap m, rd;
	struct ntm_namemap_rec r = rec("bob.ntm.test", 7, 0x22), out;
	void *base = new_map(&m, 64);

	ck_assert_int_ge(ntm_namemap_put(&m, &r, NOW + 500), 0);
	ck_assert_int_eq(ntm_namemap_attach(&rd, base, ntm_namemap_file_size(64)), 0);
	ck_assert_int_eq(ntm_namemap_find_name(&rd, "bob.ntm.test", 12, NOW, &out), NTM_NAMEMAP_HIT);
	ck_assert_str_eq(out.name, "bob.ntm.test");
	ck_assert(out.has4 && out.has6);
	ck_assert_mem_eq(out.v4, r.v4, 4);
	ck_assert_mem_eq(out.v6, r.v6, 16);
	ck_assert_int_eq(ntm_namemap_find_name(&rd, "BoB.Ntm.TEST", 12, NOW, &out), NTM_NAMEMAP_HIT);
	ck_assert_str_eq(out.name, "bob.ntm.test");
	ck_assert_int_eq(ntm_namemap_find_addr(&rd, 4, r.v4, NOW, &out), NTM_NAMEMAP_HIT);
	ck_assert_str_eq(out.name, "bob.ntm.test");
	ck_assert_int_eq(ntm_namemap_find_addr(&rd, 6, r.v6, NOW, &out), NTM_NAMEMAP_HIT);
	ck_assert_str_eq(out.name, "bob.ntm.test");
	/* not there: other names, a prefix of the name, other addresses */
	ck_assert_int_eq(ntm_namemap_find_name(&rd, "eve.ntm.test", 12, NOW, &out), NTM_NAMEMAP_MISS);
	ck_assert_int_eq(ntm_namemap_find_name(&rd, "bob.ntm.tes", 11, NOW, &out), NTM_NAMEMAP_MISS);
	r.v4[3]++;
	ck_assert_int_eq(ntm_namemap_find_addr(&rd, 4, r.v4, NOW, &out), NTM_NAMEMAP_MISS);
	ck_assert_int_eq(ntm_namemap_find_addr(&rd, 5, r.v4, NOW, &out), NTM_NAMEMAP_MISS);
	/* putting the same again only renews it: one slot */
	ck_assert_int_eq(ntm_namemap_put(&m, &(struct ntm_namemap_rec){ 0 }, NOW), -EINVAL);
	free(base);
}
END_TEST

START_TEST(test_an_expired_entry_or_one_beyond_the_horizon_is_stale)
{
	struct ntm_namemap m;
	struct ntm_namemap_rec r = rec("bob.ntm.test", 7, 0x22), out;
	void *base = new_map(&m, 64);
	int slot = ntm_namemap_put(&m, &r, NOW + 500);

	ck_assert_int_ge(slot, 0);
	ck_assert_int_eq(ntm_namemap_find_name(&m, "bob.ntm.test", 12, NOW + 499, &out), NTM_NAMEMAP_HIT);
	ck_assert_int_eq(ntm_namemap_find_name(&m, "bob.ntm.test", 12, NOW + 500, &out), NTM_NAMEMAP_STALE);
	ck_assert_int_eq(ntm_namemap_find_addr(&m, 4, r.v4, NOW + 501, &out), NTM_NAMEMAP_STALE);
	/* a reader whose clock lags far behind the writer's */
	ck_assert_int_eq(ntm_namemap_find_name(&m, "bob.ntm.test", 12,
					       NOW + 500 - NTM_NAMEMAP_HORIZON_MS - 1, &out),
			 NTM_NAMEMAP_STALE);
	/* renewed: the same slot, live again */
	ck_assert_int_eq(ntm_namemap_put(&m, &r, NOW + 2000), slot);
	ck_assert_int_eq(ntm_namemap_find_name(&m, "bob.ntm.test", 12, NOW + 1000, &out), NTM_NAMEMAP_HIT);
	free(base);
}
END_TEST

START_TEST(test_a_closed_map_answers_nothing)
{
	struct ntm_namemap m;
	struct ntm_namemap_rec r = rec("bob.ntm.test", 7, 0x22), out;
	void *base = new_map(&m, 64);

	ck_assert_int_ge(ntm_namemap_put(&m, &r, NOW + 500), 0);
	ck_assert(ntm_namemap_live(&m));
	ntm_namemap_close(&m);
	ck_assert(!ntm_namemap_live(&m));
	ck_assert_int_eq(ntm_namemap_find_name(&m, "bob.ntm.test", 12, NOW, &out), NTM_NAMEMAP_STALE);
	ck_assert_int_eq(ntm_namemap_find_addr(&m, 6, r.v6, NOW, &out), NTM_NAMEMAP_STALE);
	free(base);
}
END_TEST

START_TEST(test_new_addresses_replace_the_old_ones_in_the_indexes)
{
	struct ntm_namemap m;
	struct ntm_namemap_rec a = rec("bob.ntm.test", 7, 0x22), b = rec("bob.ntm.test", 9, 0x33), out;
	void *base = new_map(&m, 64);
	int slot = ntm_namemap_put(&m, &a, NOW + 500);

	ck_assert_int_eq(ntm_namemap_put(&m, &b, NOW + 500), slot);
	ck_assert_int_eq(ntm_namemap_find_name(&m, "bob.ntm.test", 12, NOW, &out), NTM_NAMEMAP_HIT);
	ck_assert_mem_eq(out.v4, b.v4, 4);
	ck_assert_int_eq(ntm_namemap_find_addr(&m, 4, a.v4, NOW, &out), NTM_NAMEMAP_MISS);
	ck_assert_int_eq(ntm_namemap_find_addr(&m, 6, a.v6, NOW, &out), NTM_NAMEMAP_MISS);
	ck_assert_int_eq(ntm_namemap_find_addr(&m, 4, b.v4, NOW, &out), NTM_NAMEMAP_HIT);
	ck_assert_int_eq(ntm_namemap_find_addr(&m, 6, b.v6, NOW, &out), NTM_NAMEMAP_HIT);
	free(base);
}
END_TEST

START_TEST(test_a_deleted_entry_is_gone_by_name_and_by_address)
{
	struct ntm_namemap m;
	struct ntm_namemap_rec a = rec("bob.ntm.test", 7, 0x22), c = rec("carol.ntm.test", 8, 0x44), out;
	void *base = new_map(&m, 64);
	int slot = ntm_namemap_put(&m, &a, NOW + 500);

	ck_assert_int_ge(ntm_namemap_put(&m, &c, NOW + 500), 0);
	ck_assert(ntm_namemap_used(&m, (uint32_t)slot));
	ntm_namemap_del(&m, (uint32_t)slot);
	ck_assert(!ntm_namemap_used(&m, (uint32_t)slot));
	ck_assert_int_eq(ntm_namemap_find_name(&m, "bob.ntm.test", 12, NOW, &out), NTM_NAMEMAP_MISS);
	ck_assert_int_eq(ntm_namemap_find_addr(&m, 4, a.v4, NOW, &out), NTM_NAMEMAP_MISS);
	ck_assert_int_eq(ntm_namemap_find_addr(&m, 6, a.v6, NOW, &out), NTM_NAMEMAP_MISS);
	ck_assert_int_eq(ntm_namemap_find_name(&m, "carol.ntm.test", 14, NOW, &out), NTM_NAMEMAP_HIT);
	ntm_namemap_del(&m, (uint32_t)slot); /* twice: nothing happens */
	free(base);
}
END_TEST

START_TEST(test_a_full_window_refuses_the_next_name_and_keeps_the_others)
{
	struct ntm_namemap m;
	struct ntm_namemap_rec out;
	char name[32];
	void *base = new_map(&m, 8); /* 8 slots, window of 8: the whole table */

	for (int i = 0; i < 8; i++) {
		snprintf(name, sizeof(name), "n%d.ntm.test", i);
		struct ntm_namemap_rec r = rec(name, (uint8_t)i, (uint8_t)i);
		ck_assert_int_ge(ntm_namemap_put(&m, &r, NOW + 500), 0);
	}
	struct ntm_namemap_rec extra = rec("extra.ntm.test", 99, 99);
	ck_assert_int_eq(ntm_namemap_put(&m, &extra, NOW + 500), -ENOSPC);
	for (int i = 0; i < 8; i++) {
		snprintf(name, sizeof(name), "n%d.ntm.test", i);
		ck_assert_int_eq(ntm_namemap_find_name(&m, name, strlen(name), NOW, &out), NTM_NAMEMAP_HIT);
		ck_assert_uint_eq(out.v4[3], (unsigned)i);
	}
	ck_assert_int_eq(ntm_namemap_find_name(&m, "extra.ntm.test", 14, NOW, &out), NTM_NAMEMAP_MISS);
	free(base);
}
END_TEST

static struct ntm_namemap_entry *entries(void *base)
{
	return (struct ntm_namemap_entry *)(void *)((uint8_t *)base + sizeof(struct ntm_namemap_hdr));
}

START_TEST(test_an_entry_being_written_is_torn_not_answered)
{
	struct ntm_namemap m;
	struct ntm_namemap_rec r = rec("bob.ntm.test", 7, 0x22), out;
	void *base = new_map(&m, 64);
	int slot = ntm_namemap_put(&m, &r, NOW + 500);
	_Atomic uint64_t *seq = &entries(base)[slot].w[NTM_NAMEMAP_W_SEQ];

	atomic_fetch_add(seq, 1); /* the writer is in it */
	ck_assert_int_eq(ntm_namemap_find_name(&m, "bob.ntm.test", 12, NOW, &out), NTM_NAMEMAP_TORN);
	ck_assert_int_eq(ntm_namemap_find_addr(&m, 4, r.v4, NOW, &out), NTM_NAMEMAP_TORN);
	atomic_fetch_add(seq, 1);
	ck_assert_int_eq(ntm_namemap_find_name(&m, "bob.ntm.test", 12, NOW, &out), NTM_NAMEMAP_HIT);
	free(base);
}
END_TEST

/* A writer flips one entry between two address sets as fast as it can;
 * readers must only ever see one set or the other, whole. */
struct race {
	struct ntm_namemap m;
	atomic_bool stop;
	atomic_long hits, torn, mixed;
	atomic_long lookups, pauses;
};

/* Every FLIP_BURST writes the writer holds still until the reader has done
 * PAUSE_LOOKUPS lookups, so the reader sees whole entries whatever the
 * scheduler does (valgrind runs one thread at a time and could otherwise
 * leave the reader only ever looking at a half-written entry). */
#define FLIP_BURST 4096
#define PAUSE_LOOKUPS 64

static void *flipper(void *arg)
{
	struct race *rc = arg;
	struct ntm_namemap_rec a = rec("bob.ntm.test", 0x11, 0x11), b = rec("bob.ntm.test", 0x22, 0x22);

	for (unsigned long i = 1; !atomic_load(&rc->stop); i++) {
		ntm_namemap_put(&rc->m, i & 1 ? &a : &b, NOW + 500);
		if (i % FLIP_BURST)
			continue;
		long until = atomic_load(&rc->lookups) + PAUSE_LOOKUPS;

		while (atomic_load(&rc->lookups) < until && !atomic_load(&rc->stop))
			sched_yield();
		atomic_fetch_add(&rc->pauses, 1);
	}
	return NULL;
}

START_TEST(test_readers_racing_a_writer_never_see_a_mixed_entry)
{
	static struct race rc;
	struct ntm_namemap_rec out;
	pthread_t th;
	void *base = new_map(&rc.m, 64);

	atomic_store(&rc.stop, false);
	ck_assert_int_eq(pthread_create(&th, NULL, flipper, &rc), 0);
	/* at least 2M lookups, and at least 4 of the writer's pauses */
	for (long i = 0; i < 2000000 || atomic_load(&rc.pauses) < 4; i++) {
		enum ntm_namemap_res res = ntm_namemap_find_name(&rc.m, "bob.ntm.test", 12, NOW, &out);

		atomic_fetch_add(&rc.lookups, 1);
		if (res == NTM_NAMEMAP_TORN) {
			atomic_fetch_add(&rc.torn, 1);
			continue;
		}
		if (res != NTM_NAMEMAP_HIT)
			continue; /* between the writer's words: the meta look missed */
		atomic_fetch_add(&rc.hits, 1);
		if (out.v4[3] != out.v6[1] || out.v6[15] != out.v6[1])
			atomic_fetch_add(&rc.mixed, 1);
	}
	atomic_store(&rc.stop, true);
	pthread_join(th, NULL);
	ck_assert_int_eq(atomic_load(&rc.mixed), 0);
	ck_assert_int_gt(atomic_load(&rc.hits), 0);
	free(base);
}
END_TEST

START_TEST(test_bad_headers_and_every_truncation_are_refused)
{
	struct ntm_namemap m, rd;
	size_t size = ntm_namemap_file_size(64);
	uint8_t *base = new_map(&m, 64), *copy = malloc(size);
	struct ntm_namemap_hdr *h = (struct ntm_namemap_hdr *)(void *)copy;

	ck_assert_ptr_nonnull(copy);
	for (size_t len = 0; len < size; len += len < 512 ? 1 : 97)
		ck_assert_int_eq(ntm_namemap_attach(&rd, base, len), -EINVAL);
	ck_assert_int_eq(ntm_namemap_attach(&rd, base, size + 1), -EINVAL);
	ck_assert_int_eq(ntm_namemap_attach(&rd, NULL, size), -EINVAL);
	ck_assert_int_eq(ntm_namemap_attach(&rd, base, size), 0);
#define BAD(stmt)                                                          \
	do {                                                               \
		memcpy(copy, base, size);                                  \
		stmt;                                                      \
		ck_assert_int_eq(ntm_namemap_attach(&rd, copy, size), -EINVAL); \
	} while (0)
	BAD(h->magic ^= 1);
	BAD(h->version = 2);
	BAD(h->hdr_size = 128);
	BAD(h->entry_size = 8);
	BAD(h->slots = 63);
	BAD(h->slots = 0);
	BAD(h->slots = 128);
	BAD(h->probe = 0);
	BAD(h->probe = NTM_NAMEMAP_PROBE + 1);
	BAD(h->file_size = size - 1);
#undef BAD
	free(copy);
	free(base);
}
END_TEST

static uint64_t rnd_state = 88172645463325252u;

static uint64_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return rnd_state;
}

START_TEST(test_garbage_behind_a_good_header_is_read_without_harm)
{
	struct ntm_namemap m;
	struct ntm_namemap_rec out;
	size_t size = ntm_namemap_file_size(64);
	uint8_t *base = new_map(&m, 64), addr[16];

	for (int round = 0; round < 200; round++) {
		for (size_t i = sizeof(struct ntm_namemap_hdr); i < size; i++)
			base[i] = (uint8_t)rnd();
		/* sometimes plausible: an even seq, a small length, NULs */
		for (int s = 0; s < 64 && round % 2; s++) {
			entries(base)[s].w[NTM_NAMEMAP_W_SEQ] = 2;
			entries(base)[s].w[NTM_NAMEMAP_W_META] = (rnd() & ~UINT64_C(0xffff)) | (rnd() % 300);
		}
		for (int q = 0; q < 50; q++) {
			char name[300];
			size_t len = rnd() % sizeof(name);
			for (size_t i = 0; i < len; i++)
				name[i] = (char)('a' + rnd() % 26);
			for (size_t i = 0; i < 16; i++)
				addr[i] = (uint8_t)rnd();
			if (ntm_namemap_find_name(&m, name, len, rnd(), &out) == NTM_NAMEMAP_HIT)
				ck_assert_uint_eq(strlen(out.name), out.name_len);
			if (ntm_namemap_find_addr(&m, 4 + 2 * (int)(rnd() % 2), addr, rnd(), &out) ==
			    NTM_NAMEMAP_HIT)
				ck_assert_uint_eq(strlen(out.name), out.name_len);
		}
	}
	free(base);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("namemap");
	TCase *tc = tcase_create("map");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_put_then_find_by_name_in_any_case_and_by_each_address);
	tcase_add_test(tc, test_an_expired_entry_or_one_beyond_the_horizon_is_stale);
	tcase_add_test(tc, test_a_closed_map_answers_nothing);
	tcase_add_test(tc, test_new_addresses_replace_the_old_ones_in_the_indexes);
	tcase_add_test(tc, test_a_deleted_entry_is_gone_by_name_and_by_address);
	tcase_add_test(tc, test_a_full_window_refuses_the_next_name_and_keeps_the_others);
	tcase_add_test(tc, test_an_entry_being_written_is_torn_not_answered);
	tcase_add_test(tc, test_readers_racing_a_writer_never_see_a_mixed_entry);
	tcase_add_test(tc, test_bad_headers_and_every_truncation_are_refused);
	tcase_add_test(tc, test_garbage_behind_a_good_header_is_read_without_harm);
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
