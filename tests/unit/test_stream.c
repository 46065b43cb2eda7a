/* test_stream.c - the buffered stream connection (lib/stream.c) over a
 * socketpair: input arriving in pieces, a full input buffer (reading stops
 * until the owner consumes), output the socket takes in parts, the caps,
 * and the peer's close. */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "stream.h"

static struct ntm_loop *loop;
static struct ntm_stream st;
static int peer = -1;
static unsigned calls;
static uint32_t last_events;

static void on_event(struct ntm_io *io, uint32_t events, void *arg)
{
	(void)io;
	(void)arg;
	calls++;
	last_events = events;
}

/* A stream of in_cap input bytes and out_max output bytes on one end of
 * a socketpair; the test writes and reads the other end (peer). */
static void open_stream(size_t in_cap, size_t out_max)
{
	int sv[2];

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
	ck_assert_int_eq(ntm_stream_open(&st, loop, sv[0], in_cap, out_max, on_event, NULL), 0);
	peer = sv[1];
}

static void setup(void)
{
	ck_assert_int_eq(ntm_loop_new(&loop), 0);
	calls = 0;
	last_events = 0;
}

static void teardown(void)
{
	ntm_stream_close(&st);
	if (peer >= 0)
		close(peer);
	peer = -1;
	ntm_loop_free(loop);
	loop = NULL;
}

/* Runs the loop without waiting; returns how many callbacks it made. */
static unsigned poll_once(void)
{
	unsigned before = calls;
	ck_assert_int_eq(ntm_loop_run_once(loop, 0), 0);
	return calls - before;
}

START_TEST(test_bytes_arriving_in_pieces_accumulate_until_the_owner_consumes_them)
{
	open_stream(64, 64);
	ck_assert_int_eq(ntm_stream_read(&st), 0); /* nothing yet: would block */
	ck_assert_int_eq(write(peer, "abc", 3), 3);
	ck_assert_int_eq(ntm_stream_read(&st), 3);
	ck_assert_int_eq(write(peer, "defg", 4), 4);
	ck_assert_int_eq(ntm_stream_read(&st), 4);
	ck_assert_uint_eq(st.inlen, 7);
	ck_assert_mem_eq(st.in, "abcdefg", 7);
	ntm_stream_consume(&st, 3);
	ck_assert_uint_eq(st.inlen, 4);
	ck_assert_mem_eq(st.in, "defg", 4);
	ck_assert_int_eq(ntm_stream_read(&st), 0);
}
END_TEST

START_TEST(test_a_full_input_buffer_stops_reading_until_the_owner_consumes)
{
	uint8_t msg[20];

	for (unsigned i = 0; i < sizeof(msg); i++)
		msg[i] = (uint8_t)i;
	open_stream(8, 64);
	/* a message longer than the buffer: it fills, and no more is taken */
	ck_assert_int_eq(write(peer, msg, sizeof(msg)), (ssize_t)sizeof(msg));
	ck_assert_int_eq(ntm_stream_read(&st), 8);
	ck_assert_int_eq(ntm_stream_read(&st), -ENOBUFS);
	ck_assert_mem_eq(st.in, msg, 8);
	/* the socket is still readable, yet the loop does not wake us */
	ck_assert_uint_eq(poll_once(), 0);
	ntm_stream_consume(&st, 8);
	ck_assert_uint_eq(poll_once(), 1);
	ck_assert(last_events & EPOLLIN);
	ck_assert_int_eq(ntm_stream_read(&st), 8);
	ck_assert_mem_eq(st.in, msg + 8, 8);
	ntm_stream_consume(&st, 8);
	ck_assert_int_eq(ntm_stream_read(&st), 4);
	ck_assert_mem_eq(st.in, msg + 16, 4);
}
END_TEST

START_TEST(test_output_the_socket_cannot_take_at_once_is_finished_on_epollout)
{
	size_t total = 4 << 20, got = 0;
	uint8_t *data = malloc(total), *back = malloc(total);
	int small = 4096;

	ck_assert_ptr_nonnull(data);
	ck_assert_ptr_nonnull(back);
	for (size_t i = 0; i < total; i++)
		data[i] = (uint8_t)(i * 7 + (i >> 12));
	open_stream(64, total);
	setsockopt(st.fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
	ck_assert_int_eq(ntm_stream_queue(&st, data, total), 0);
	ssize_t left = ntm_stream_flush(&st);
	ck_assert_int_gt(left, 0); /* a partial write: the rest waits */
	ck_assert_uint_eq(ntm_stream_pending(&st), (size_t)left);
	while (got < total) {
		ssize_t n = read(peer, back + got, total - got);
		if (n > 0)
			got += (size_t)n;
		if (poll_once() && (last_events & EPOLLOUT))
			ck_assert_int_ge(ntm_stream_flush(&st), 0);
	}
	ck_assert_uint_eq(ntm_stream_pending(&st), 0);
	ck_assert_mem_eq(back, data, total);
	/* all sent: EPOLLOUT is no longer asked for */
	ck_assert_uint_eq(poll_once(), 0);
	free(data);
	free(back);
}
END_TEST

START_TEST(test_output_beyond_the_cap_is_refused_and_room_returns_once_sent)
{
	uint8_t buf[101] = { 0 }, back[200];
	int err = 0;

	open_stream(64, 100);
	ck_assert_int_eq(ntm_stream_queue(&st, buf, 60), 0);
	ck_assert_int_eq(ntm_stream_queue(&st, buf, 50), -ENOBUFS);
	ck_assert_ptr_null(ntm_stream_reserve(&st, 41, &err));
	ck_assert_int_eq(err, -ENOBUFS);
	ck_assert_int_eq(ntm_stream_flush(&st), 0);
	ck_assert_int_eq(read(peer, back, sizeof(back)), 60);
	ck_assert_int_eq(ntm_stream_queue(&st, buf, 101), -ENOBUFS);
	uint8_t *p = ntm_stream_reserve(&st, 100, &err);
	ck_assert_ptr_nonnull(p);
	memcpy(p, "hello", 5);
	ntm_stream_commit(&st, 5); /* only what was written is sent */
	ck_assert_uint_eq(ntm_stream_pending(&st), 5);
	ck_assert_int_eq(ntm_stream_flush(&st), 0);
	ck_assert_int_eq(read(peer, back, sizeof(back)), 5);
	ck_assert_mem_eq(back, "hello", 5);
}
END_TEST

START_TEST(test_the_peers_close_is_reported_after_its_last_bytes)
{
	open_stream(64, 64);
	ck_assert_int_eq(write(peer, "xy", 2), 2);
	close(peer);
	peer = -1;
	ck_assert_int_eq(ntm_stream_read(&st), 2);
	ck_assert_mem_eq(st.in, "xy", 2);
	ck_assert_int_eq(ntm_stream_read(&st), -EPIPE);
	ck_assert_int_eq(ntm_stream_read(&st), -EPIPE); /* and it stays so */
}
END_TEST

START_TEST(test_sending_to_a_closed_peer_fails_without_a_signal)
{
	open_stream(64, 64);
	close(peer);
	peer = -1;
	ck_assert_int_eq(ntm_stream_queue(&st, "ping", 4), 0);
	ck_assert_int_eq(ntm_stream_flush(&st), -EPIPE);
}
END_TEST

START_TEST(test_an_empty_input_buffer_is_refused_and_the_fd_stays_the_callers)
{
	int sv[2];

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
	ck_assert_int_eq(ntm_stream_open(&st, loop, sv[0], 0, 64, on_event, NULL), -EINVAL);
	ntm_stream_close(&st); /* a closed stream: nothing to do */
	ck_assert_int_eq(write(sv[0], "z", 1), 1); /* still open */
	close(sv[0]);
	close(sv[1]);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("stream");
	TCase *tc = tcase_create("socketpair");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_bytes_arriving_in_pieces_accumulate_until_the_owner_consumes_them);
	tcase_add_test(tc, test_a_full_input_buffer_stops_reading_until_the_owner_consumes);
	tcase_add_test(tc, test_output_the_socket_cannot_take_at_once_is_finished_on_epollout);
	tcase_add_test(tc, test_output_beyond_the_cap_is_refused_and_room_returns_once_sent);
	tcase_add_test(tc, test_the_peers_close_is_reported_after_its_last_bytes);
	tcase_add_test(tc, test_sending_to_a_closed_peer_fails_without_a_signal);
	tcase_add_test(tc, test_an_empty_input_buffer_is_refused_and_the_fd_stays_the_callers);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
