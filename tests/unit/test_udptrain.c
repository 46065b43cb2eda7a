/* test_udptrain.c - which queued UDP replies leave together as one
 * UDP_SEGMENT train (resolver/udptrain.c): only replies of one length, to
 * one client address, from one socket and one source address; at most
 * UDPTRAIN_SEGS datagrams and UDPTRAIN_BYTES bytes a train; each reply
 * exactly once; trains in the order of their first reply; none without
 * GSO. */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <string.h>

#include "udptrain.h"

static struct sockaddr_storage client[3];
static const uint8_t src_a[16] = { 127, 0, 0, 53 }, src_b[16] = { 127, 0, 0, 54 };

static void setup(void)
{
	for (int i = 0; i < 3; i++) {
		struct sockaddr_in *s = (struct sockaddr_in *)&client[i];
		memset(&client[i], 0, sizeof(client[i]));
		s->sin_family = AF_INET;
		s->sin_port = htons((uint16_t)(40000 + i));
		s->sin_addr.s_addr = htonl(0x7f000001);
	}
}

static struct udptrain_reply rep(int fd, int c, size_t len)
{
	return (struct udptrain_reply){ .fd = fd, .to = &client[c],
					.tolen = sizeof(struct sockaddr_in), .len = len };
}

/* Every index appears exactly once in order; each train's replies agree. */
static void ck_plan(const struct udptrain_reply *r, unsigned n, const unsigned *order,
		    const struct udptrain *t, unsigned nt)
{
	unsigned seen[128] = { 0 }, total = 0;

	for (unsigned m = 0; m < nt; m++) {
		ck_assert_uint_ge(t[m].n, 1);
		ck_assert_uint_eq(t[m].first, total);
		ck_assert_uint_le(t[m].n, UDPTRAIN_SEGS);
		size_t bytes = 0;
		for (unsigned s = 0; s < t[m].n; s++) {
			const struct udptrain_reply *a = &r[order[t[m].first]], *b =
				&r[order[t[m].first + s]];
			ck_assert_uint_lt(order[t[m].first + s], n);
			seen[order[t[m].first + s]]++;
			ck_assert_uint_eq(a->len, b->len);
			ck_assert_int_eq(a->fd, b->fd);
			ck_assert_ptr_eq(a->to, b->to);
			ck_assert_int_eq(a->has_src, b->has_src);
			bytes += b->len;
		}
		if (t[m].n > 1)
			ck_assert_uint_le(bytes, UDPTRAIN_BYTES);
		if (m > 0) /* in the order of each train's first reply */
			ck_assert_uint_gt(order[t[m].first], order[t[m - 1].first]);
		total += t[m].n;
	}
	ck_assert_uint_eq(total, n);
	for (unsigned k = 0; k < n; k++)
		ck_assert_uint_eq(seen[k], 1);
}

START_TEST(test_one_client_one_length_is_one_train)
{
	struct udptrain_reply r[32];
	unsigned order[32];
	struct udptrain t[32];

	for (int i = 0; i < 32; i++)
		r[i] = rep(5, 0, 60);
	ck_assert_uint_eq(udptrain_plan(r, 32, true, order, t), 1);
	ck_plan(r, 32, order, t, 1);
	ck_assert_uint_eq(t[0].n, 32);
	for (unsigned k = 0; k < 32; k++)
		ck_assert_uint_eq(order[k], k); /* nothing reordered */
}
END_TEST

START_TEST(test_lengths_clients_sockets_and_sources_split_trains)
{
	struct udptrain_reply r[10];
	unsigned order[10];
	struct udptrain t[10];
	unsigned nt;

	r[0] = rep(5, 0, 60);
	r[1] = rep(5, 0, 61);           /* another length */
	r[2] = rep(5, 1, 60);           /* another client port */
	r[3] = rep(6, 0, 60);           /* another socket */
	r[4] = rep(5, 0, 60);           /* joins 0 */
	r[5] = rep(5, 0, 60);
	r[5].has_src = true;            /* from a chosen address */
	r[5].src = src_a;
	r[6] = r[5];                    /* joins 5 */
	r[7] = r[5];
	r[7].src = src_b;               /* another source address */
	r[8] = rep(5, 0, 61);           /* joins 1 */
	r[9] = rep(5, 0, 60);
	r[9].tolen = sizeof(struct sockaddr_in6); /* the same bytes, another length of address */
	nt = udptrain_plan(r, 10, true, order, t);
	ck_plan(r, 10, order, t, nt);
	ck_assert_uint_eq(nt, 7);
	ck_assert_uint_eq(t[0].n, 2);   /* 0 and 4 */
	ck_assert_uint_eq(order[t[0].first + 1], 4);
	ck_assert_uint_eq(t[1].n, 2);   /* 1 and 8 */
	ck_assert_uint_eq(order[t[1].first + 1], 8);
	ck_assert_uint_eq(t[2].n, 1);   /* 2 */
	ck_assert_uint_eq(t[3].n, 1);   /* 3 */
	ck_assert_uint_eq(t[4].n, 2);   /* 5 and 6 */
	ck_assert_uint_eq(order[t[4].first + 1], 6);
	ck_assert_uint_eq(t[5].n, 1);   /* 7 */
	ck_assert_uint_eq(t[6].n, 1);   /* 9 */
}
END_TEST

START_TEST(test_limits_of_one_train)
{
	static struct udptrain_reply r[100];
	unsigned order[100], nt;
	struct udptrain t[100];

	/* bytes: 4000-byte replies, 15 fit 60,000 */
	for (int i = 0; i < 20; i++)
		r[i] = rep(5, 0, 4000);
	nt = udptrain_plan(r, 20, true, order, t);
	ck_plan(r, 20, order, t, nt);
	ck_assert_uint_eq(nt, 2);
	ck_assert_uint_eq(t[0].n, UDPTRAIN_BYTES / 4000);
	/* datagrams: 100 small ones make trains of at most UDPTRAIN_SEGS, and
	 * those past the first UDPTRAIN_GROUPED go alone */
	for (int i = 0; i < 100; i++)
		r[i] = rep(5, 0, 40);
	nt = udptrain_plan(r, 100, true, order, t);
	ck_plan(r, 100, order, t, nt);
	ck_assert_uint_eq(t[0].n, UDPTRAIN_SEGS);
	ck_assert_uint_eq(nt, 1 + (100 - UDPTRAIN_GROUPED));
	/* empty datagrams and a size over 16 bits are never segments */
	r[0] = rep(5, 0, 0);
	r[1] = rep(5, 0, 0);
	r[2] = rep(5, 0, 70000);
	r[3] = rep(5, 0, 70000);
	nt = udptrain_plan(r, 4, true, order, t);
	ck_plan(r, 4, order, t, nt);
	ck_assert_uint_eq(nt, 4);
}
END_TEST

START_TEST(test_without_gso_every_reply_is_alone)
{
	struct udptrain_reply r[8];
	unsigned order[8];
	struct udptrain t[8];

	for (int i = 0; i < 8; i++)
		r[i] = rep(5, 0, 60);
	ck_assert_uint_eq(udptrain_plan(r, 8, false, order, t), 8);
	ck_plan(r, 8, order, t, 8);
	ck_assert_uint_eq(udptrain_plan(r, 0, true, order, t), 0);
}
END_TEST

START_TEST(test_interleaved_clients_keep_first_reply_order)
{
	struct udptrain_reply r[12];
	unsigned order[12], nt;
	struct udptrain t[12];

	for (int i = 0; i < 12; i++)
		r[i] = rep(5, i % 3, 50 + (size_t)(i % 2));
	nt = udptrain_plan(r, 12, true, order, t);
	ck_plan(r, 12, order, t, nt);
	ck_assert_uint_eq(nt, 6);       /* 3 clients x 2 lengths, 2 replies each */
	for (unsigned m = 0; m < nt; m++) {
		ck_assert_uint_eq(t[m].n, 2);
		ck_assert_uint_eq(order[t[m].first], m);
		ck_assert_uint_eq(order[t[m].first + 1], m + 6);
	}
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("udptrain");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, test_one_client_one_length_is_one_train);
	tcase_add_test(tc, test_lengths_clients_sockets_and_sources_split_trains);
	tcase_add_test(tc, test_limits_of_one_train);
	tcase_add_test(tc, test_without_gso_every_reply_is_alone);
	tcase_add_test(tc, test_interleaved_clients_keep_first_reply_order);
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
	return failed ? 1 : 0;
}
