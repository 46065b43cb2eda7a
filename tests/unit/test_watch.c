/* test_watch.c - WATCH: a watcher's bounded queue (tund/watchq.c), the
 * event codec (lib/ctlproto.c) and its text and JSON lines
 * (lib/watchfmt.c), JSON escaping included. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ctlproto.h"
#include "watchfmt.h"
#include "watchq.h"

static struct watchq q;

START_TEST(test_the_queue_keeps_order_and_pops)
{
	const uint8_t *m;
	size_t len;

	watchq_init(&q);
	ck_assert_ptr_null(watchq_peek(&q, &len));
	ck_assert_int_eq(watchq_push(&q, "one", 3), 0);
	ck_assert_int_eq(watchq_push(&q, "two!", 4), 0);
	m = watchq_peek(&q, &len);
	ck_assert_uint_eq(len, 3);
	ck_assert_mem_eq(m, "one", 3);
	watchq_pop(&q);
	m = watchq_peek(&q, &len);
	ck_assert_uint_eq(len, 4);
	ck_assert_mem_eq(m, "two!", 4);
	watchq_pop(&q);
	ck_assert_ptr_null(watchq_peek(&q, &len));
	watchq_pop(&q);                           /* empty: nothing happens */
	ck_assert_uint_eq(q.used, 0);
	ck_assert_uint_eq(watchq_take_dropped(&q), 0);
}
END_TEST

/* Never more than 16 KiB; the oldest go first, and are counted. */
START_TEST(test_a_full_queue_drops_the_oldest_and_counts_them)
{
	uint8_t msg[1000];
	const uint8_t *m;
	size_t len;

	watchq_init(&q);
	for (unsigned i = 0; i < 100; i++) {
		memset(msg, (int)i, sizeof(msg));
		ck_assert_int_eq(watchq_push(&q, msg, sizeof(msg)), 0);
		ck_assert_uint_le(q.used, WATCHQ_CAP);
	}
	/* 16 of 1002 bytes fit in 16384 */
	ck_assert_uint_eq(q.n, 16);
	ck_assert_uint_eq(watchq_take_dropped(&q), 84);
	ck_assert_uint_eq(watchq_take_dropped(&q), 0);   /* reset by taking */
	m = watchq_peek(&q, &len);
	ck_assert_uint_eq(len, sizeof(msg));
	ck_assert_uint_eq(m[0], 84);                     /* the oldest kept */
	/* too big, or empty: refused, nothing lost */
	ck_assert_int_eq(watchq_push(&q, msg, WATCHQ_CAP - 1), -EMSGSIZE);
	ck_assert_int_eq(watchq_push(&q, msg, 0), -EMSGSIZE);
	ck_assert_uint_eq(q.n, 16);
	/* the largest message empties the queue */
	static uint8_t big[WATCHQ_CAP - 2];
	ck_assert_int_eq(watchq_push(&q, big, sizeof(big)), 0);
	ck_assert_uint_eq(q.n, 1);
	ck_assert_uint_eq(q.used, WATCHQ_CAP);
	ck_assert_uint_eq(watchq_take_dropped(&q), 16);
}
END_TEST

START_TEST(test_16_watchers_4_per_user_root_unlimited_per_uid)
{
	ck_assert(watch_admit(0, 0, 1000));
	ck_assert(watch_admit(3, 3, 1000));
	ck_assert(!watch_admit(4, 4, 1000));
	ck_assert(watch_admit(15, 3, 1000));
	ck_assert(!watch_admit(16, 0, 1000));
	ck_assert(watch_admit(15, 15, 0));
	ck_assert(!watch_admit(16, 16, 0));
}
END_TEST

static struct ntm_lctl_event path_event(void)
{
	struct ntm_lctl_event e = { .kind = NTM_LCTL_EV_PATH, .time_ms = 1796520000123ull,
				    .path = NTM_LCTL_PATH_RELAY, .has_endpoint = true };
	strcpy(e.peer, "b.ntm.example.org");
	e.endpoint = (struct ntm_lctl_endpoint){ .family = 4, .port = 7542,
						 .addr = { 198, 51, 100, 2 } };
	strcpy(e.reason, "the peer stopped answering on the direct path");
	return e;
}

START_TEST(test_an_event_round_trips_and_bad_ones_are_refused)
{
	uint8_t buf[1024];
	struct ntm_lctl_event e = path_event(), out;
	struct ntm_lctl_hdr h;

	int n = ntm_lctl_reply_watch(buf, sizeof(buf), 77, &e);
	ck_assert_int_gt(n, 0);
	ck_assert_int_eq(ntm_lctl_decode_watch(buf, (size_t)n, &h, &out), 0);
	ck_assert_uint_eq(h.type, NTM_LCTL_WATCH_REPLY);
	ck_assert_uint_eq(h.req_id, 77);
	ck_assert_mem_eq(&out, &e, sizeof(e));

	struct ntm_lctl_event bad = e;
	bad.peer[0] = '\0';                               /* a peer event without its peer */
	ck_assert_int_eq(ntm_lctl_reply_watch(buf, sizeof(buf), 1, &bad), -EINVAL);
	bad = e;
	bad.path = 0;                                     /* PATH without the path */
	ck_assert_int_eq(ntm_lctl_reply_watch(buf, sizeof(buf), 1, &bad), -EINVAL);
	bad = (struct ntm_lctl_event){ .kind = NTM_LCTL_EV_DC };   /* no state */
	ck_assert_int_eq(ntm_lctl_reply_watch(buf, sizeof(buf), 1, &bad), -EINVAL);
	bad = (struct ntm_lctl_event){ .kind = NTM_LCTL_EV_DROPPED };
	ck_assert_int_eq(ntm_lctl_reply_watch(buf, sizeof(buf), 1, &bad), -EINVAL);
	bad.kind = 9;
	bad.dropped = 1;
	ck_assert_int_eq(ntm_lctl_reply_watch(buf, sizeof(buf), 1, &bad), -EINVAL);
	bad = e;
	bad.reason[3] = '\n';
	ck_assert_int_eq(ntm_lctl_reply_watch(buf, sizeof(buf), 1, &bad), -EINVAL);

	/* the WATCH request: no attributes, a query any user may send */
	ck_assert_int_eq(ntm_lctl_req_watch(buf, sizeof(buf), 5), NTM_LCTL_HDR_LEN);
	struct ntm_lctl_req r;
	ck_assert_int_eq(ntm_lctl_req_decode(buf, NTM_LCTL_HDR_LEN, &r), 0);
	ck_assert_uint_eq(r.hdr.type, NTM_LCTL_WATCH);
	ck_assert(!ntm_lctl_type_is_privileged(NTM_LCTL_WATCH));
	ck_assert_str_eq(ntm_lctl_type_name(NTM_LCTL_WATCH_REPLY), "WATCH reply");
	/* an event with a DROPPED count on a kind that has none */
	bad = e;
	bad.dropped = 3;
	ck_assert_int_eq(ntm_lctl_reply_watch(buf, sizeof(buf), 1, &bad), -EINVAL);
}
END_TEST

START_TEST(test_text_lines_say_what_happened)
{
	char line[NTM_WATCHFMT_LINE_MAX];
	struct ntm_lctl_event e = path_event();

	ck_assert_int_gt(ntm_watchfmt_text(line, sizeof(line), &e), 0);
	ck_assert_str_eq(line, "2026-12-06T01:20:00.123Z peer b.ntm.example.org path relay "
			       "198.51.100.2:7542 (the peer stopped answering on the direct path)\n");
	e = (struct ntm_lctl_event){ .kind = NTM_LCTL_EV_DC, .time_ms = 0,
				     .dc_state = NTM_LCTL_DC_REGISTERED };
	strcpy(e.reason, "registration acknowledged");
	ntm_watchfmt_text(line, sizeof(line), &e);
	ck_assert_str_eq(line, "1970-01-01T00:00:00.000Z dc registered (registration acknowledged)\n");
	e = (struct ntm_lctl_event){ .kind = NTM_LCTL_EV_DROPPED, .time_ms = 1500, .dropped = 12 };
	ntm_watchfmt_text(line, sizeof(line), &e);
	ck_assert_str_eq(line, "1970-01-01T00:00:01.500Z dropped 12 events\n");
	e = (struct ntm_lctl_event){ .kind = NTM_LCTL_EV_PEER_UP, .path = NTM_LCTL_PATH_DIRECT,
				     .has_endpoint = true,
				     .endpoint = { .family = 6, .port = 7541,
						   .addr = { 0x20, 0x01, 0x0d, 0xb8, [15] = 2 } } };
	strcpy(e.peer, "c.x");
	ntm_watchfmt_text(line, sizeof(line), &e);
	ck_assert_str_eq(line, "1970-01-01T00:00:00.000Z peer c.x up direct [2001:db8::2]:7541\n");
	ck_assert_int_eq(ntm_watchfmt_text(line, 20, &e), -EMSGSIZE);
	ck_assert_str_eq(line, "");
}
END_TEST

START_TEST(test_json_lines_have_only_the_fields_of_the_event)
{
	char line[NTM_WATCHFMT_LINE_MAX];
	struct ntm_lctl_event e = path_event();

	ck_assert_int_gt(ntm_watchfmt_json(line, sizeof(line), &e), 0);
	ck_assert_str_eq(line, "{\"time\": \"2026-12-06T01:20:00.123Z\", \"time_ms\": 1796520000123, "
			       "\"event\": \"path\", \"peer\": \"b.ntm.example.org\", \"path\": \"relay\", "
			       "\"endpoint\": \"198.51.100.2:7542\", \"reason\": "
			       "\"the peer stopped answering on the direct path\"}\n");
	e = (struct ntm_lctl_event){ .kind = NTM_LCTL_EV_START, .time_ms = 5,
				     .dc_state = NTM_LCTL_DC_CONNECTING };
	ntm_watchfmt_json(line, sizeof(line), &e);
	ck_assert_str_eq(line, "{\"time\": \"1970-01-01T00:00:00.005Z\", \"time_ms\": 5, "
			       "\"event\": \"start\", \"dc\": \"connecting\"}\n");
	e = (struct ntm_lctl_event){ .kind = NTM_LCTL_EV_DROPPED, .time_ms = 5, .dropped = 3 };
	ntm_watchfmt_json(line, sizeof(line), &e);
	ck_assert_ptr_nonnull(strstr(line, "\"event\": \"dropped\", \"dropped\": 3}"));
}
END_TEST

START_TEST(test_json_strings_escape_quotes_backslashes_and_control_bytes)
{
	char b[128];

	ck_assert_int_eq(ntm_watchfmt_json_string(b, sizeof(b), "plain"), 7);
	ck_assert_str_eq(b, "\"plain\"");
	ntm_watchfmt_json_string(b, sizeof(b), "a\"b\\c");
	ck_assert_str_eq(b, "\"a\\\"b\\\\c\"");
	ntm_watchfmt_json_string(b, sizeof(b), "tab\there\nnl\x01\x7f\xc3");
	ck_assert_str_eq(b, "\"tab\\u0009here\\u000anl\\u0001\\u007f\\u00c3\"");
	ck_assert_int_eq(ntm_watchfmt_json_string(b, 4, "abcdef"), -EMSGSIZE);
	ck_assert_str_eq(b, "");
	/* a reason with a quote stays one JSON value */
	struct ntm_lctl_event e = path_event();
	strcpy(e.reason, "said \"no\" \\ twice");
	char line[NTM_WATCHFMT_LINE_MAX];
	ntm_watchfmt_json(line, sizeof(line), &e);
	ck_assert_ptr_nonnull(strstr(line, "\"reason\": \"said \\\"no\\\" \\\\ twice\"}"));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("watch");
	TCase *tc = tcase_create("watch");
	tcase_add_test(tc, test_the_queue_keeps_order_and_pops);
	tcase_add_test(tc, test_a_full_queue_drops_the_oldest_and_counts_them);
	tcase_add_test(tc, test_16_watchers_4_per_user_root_unlimited_per_uid);
	tcase_add_test(tc, test_an_event_round_trips_and_bad_ones_are_refused);
	tcase_add_test(tc, test_text_lines_say_what_happened);
	tcase_add_test(tc, test_json_lines_have_only_the_fields_of_the_event);
	tcase_add_test(tc, test_json_strings_escape_quotes_backslashes_and_control_bytes);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
