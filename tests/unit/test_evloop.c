/* test_evloop.c - fd, timer and signal sources of the epoll loop. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "evloop.h"

static struct ntm_loop *loop;
static struct ntm_timer guard;

/* Every test runs with a guard timer: a loop that never stops fails fast. */
static void on_guard(struct ntm_timer *t, void *arg)
{
	(void)t;
	(void)arg;
	ck_abort_msg("the loop did not stop within 3 s");
}

static void setup(void)
{
	ck_assert_int_eq(ntm_loop_new(&loop), 0);
	ntm_timer_init(&guard, loop, on_guard, NULL);
	ntm_timer_arm(&guard, 3000, 0);
}

static void teardown(void)
{
	ntm_timer_cancel(&guard);
	ntm_loop_free(loop);
	loop = NULL;
}

static void make_pipe(int fds[2])
{
	ck_assert_int_eq(pipe2(fds, O_CLOEXEC | O_NONBLOCK), 0);
}

static void make_socketpair(int fds[2])
{
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, fds), 0);
}

/* ---- fds ---- */

static char got[16];

static void on_pipe_readable(struct ntm_io *io, uint32_t events, void *arg)
{
	ssize_t n;

	ck_assert(events & EPOLLIN);
	ck_assert_ptr_eq(arg, &got);
	n = read(io->fd, got, sizeof(got) - 1);
	ck_assert_int_eq(n, 5);
	ntm_loop_stop(loop);
}

START_TEST(test_a_readable_pipe_calls_its_callback_with_epollin)
{
	struct ntm_io io;
	int fds[2];

	make_pipe(fds);
	ntm_io_init(&io, loop, fds[0], on_pipe_readable, &got);
	ck_assert_int_eq(ntm_io_add(&io, EPOLLIN), 0);
	ck_assert_int_eq(ntm_io_add(&io, EPOLLIN), -EEXIST);
	ck_assert_int_eq(write(fds[1], "hello", 5), 5);
	ck_assert_int_eq(ntm_loop_run(loop), 0);
	ck_assert_str_eq(got, "hello");
	ntm_io_remove(&io);
	ntm_io_remove(&io);
	ntm_io_remove(NULL);
	close(fds[0]);
	close(fds[1]);
}
END_TEST

static unsigned out_calls, in_calls;

static void on_socket(struct ntm_io *io, uint32_t events, void *arg)
{
	(void)arg;
	if (events & EPOLLOUT) {
		out_calls++;
		ck_assert_int_eq(ntm_io_modify(io, EPOLLIN), 0);
	}
	if (events & EPOLLIN) {
		in_calls++;
		ntm_loop_stop(loop);
	}
}

START_TEST(test_modify_switches_from_writable_to_readable_events)
{
	struct ntm_io io;
	int fds[2];

	make_socketpair(fds);
	ntm_io_init(&io, loop, fds[0], on_socket, NULL);
	ck_assert_int_eq(ntm_io_modify(&io, EPOLLIN), -ENOENT);
	ck_assert_int_eq(ntm_io_add(&io, EPOLLOUT), 0);
	ck_assert_int_eq(ntm_loop_run_once(loop, 1000), 0);
	ck_assert_uint_eq(out_calls, 1);
	ck_assert_int_eq(ntm_loop_run_once(loop, 0), 0);
	ck_assert_uint_eq(out_calls, 1);   /* no longer asked for EPOLLOUT */
	ck_assert_int_eq(write(fds[1], "x", 1), 1);
	ck_assert_int_eq(ntm_loop_run(loop), 0);
	ck_assert_uint_eq(in_calls, 1);
	ntm_io_remove(&io);
	close(fds[0]);
	close(fds[1]);
}
END_TEST

/* Two ready sockets whose callbacks each remove and free the other's
 * source: in one batch, exactly one of them may run (ASan and valgrind
 * catch a call through the freed one). */
struct pair_src {
	struct ntm_io io;
	struct pair_src **other;
	unsigned *calls;
};

static void on_pair(struct ntm_io *io, uint32_t events, void *arg)
{
	struct pair_src *me = arg;

	(void)io;
	(void)events;
	(*me->calls)++;
	ntm_io_remove(&(*me->other)->io);
	free(*me->other);
	*me->other = NULL;
	ntm_io_remove(&me->io);
}

START_TEST(test_a_source_removed_and_freed_during_dispatch_gets_no_more_events)
{
	struct pair_src *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b));
	struct pair_src *a_keep = a, *b_keep = b;
	unsigned calls = 0;
	int s1[2], s2[2];

	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(b);
	make_socketpair(s1);
	make_socketpair(s2);
	*a = (struct pair_src){ .other = &b, .calls = &calls };
	*b = (struct pair_src){ .other = &a, .calls = &calls };
	ntm_io_init(&a->io, loop, s1[0], on_pair, a);
	ntm_io_init(&b->io, loop, s2[0], on_pair, b);
	ck_assert_int_eq(ntm_io_add(&a->io, EPOLLIN), 0);
	ck_assert_int_eq(ntm_io_add(&b->io, EPOLLIN), 0);
	ck_assert_int_eq(write(s1[1], "x", 1), 1);
	ck_assert_int_eq(write(s2[1], "x", 1), 1);
	ck_assert_int_eq(ntm_loop_run_once(loop, 1000), 0);
	ck_assert_uint_eq(calls, 1);
	ck_assert_int_eq(ntm_loop_run_once(loop, 0), 0);
	ck_assert_uint_eq(calls, 1);
	ck_assert((a == NULL) != (b == NULL));
	free(a ? a_keep : b_keep);
	close(s1[0]);
	close(s1[1]);
	close(s2[0]);
	close(s2[1]);
}
END_TEST

/* ---- timers ---- */

static char order[32];
static size_t norder;

static void on_mark(struct ntm_timer *t, void *arg)
{
	(void)t;
	order[norder++] = *(const char *)arg;
	if (*(const char *)arg == 'Z')
		ntm_loop_stop(loop);
}

START_TEST(test_timers_fire_in_deadline_order_and_ties_in_arming_order)
{
	struct ntm_timer t[5];
	static const char names[] = "ABCDZ";
	static const uint64_t delay[] = { 30, 10, 20, 10, 40 };

	norder = 0;
	for (int i = 0; i < 5; i++) {
		ntm_timer_init(&t[i], loop, on_mark, (void *)&names[i]);
		ntm_timer_arm(&t[i], delay[i], 0);
	}
	ck_assert(ntm_timer_armed(&t[0]));
	ck_assert_int_eq(ntm_loop_run(loop), 0);
	order[norder] = '\0';
	ck_assert_str_eq(order, "BDCAZ");
	ck_assert(!ntm_timer_armed(&t[0]));
}
END_TEST

static unsigned ticks;
static uint64_t tick_at[8];

static void on_tick(struct ntm_timer *t, void *arg)
{
	(void)arg;
	tick_at[ticks++] = ntm_loop_now_ms();
	if (ticks == 4) {
		ntm_timer_cancel(t);
		ntm_loop_stop(loop);
	}
}

START_TEST(test_a_periodic_timer_repeats_until_cancelled)
{
	struct ntm_timer t;
	uint64_t start = ntm_loop_now_ms();

	ticks = 0;
	ntm_timer_init(&t, loop, on_tick, NULL);
	ntm_timer_arm(&t, 5, 10);
	ck_assert_int_eq(ntm_loop_run(loop), 0);
	ck_assert_uint_eq(ticks, 4);
	ck_assert(!ntm_timer_armed(&t));
	ck_assert_uint_ge(tick_at[0], start + 5);
	for (unsigned i = 1; i < 4; i++)
		ck_assert_uint_ge(tick_at[i], tick_at[i - 1] + 1);
	ck_assert_uint_ge(tick_at[3], start + 35);
	ck_assert_int_eq(ntm_loop_run_once(loop, 30), 0);
	ck_assert_uint_eq(ticks, 4);
}
END_TEST

static struct ntm_timer victim;
static bool victim_fired;

static void on_victim(struct ntm_timer *t, void *arg)
{
	(void)t;
	(void)arg;
	victim_fired = true;
}

static void on_killer(struct ntm_timer *t, void *arg)
{
	(void)t;
	(void)arg;
	ntm_timer_cancel(&victim);
}

static void on_stop(struct ntm_timer *t, void *arg)
{
	(void)t;
	(void)arg;
	ntm_loop_stop(loop);
}

START_TEST(test_a_timer_cancelled_from_another_callback_never_fires)
{
	struct ntm_timer killer, stopper;

	victim_fired = false;
	ntm_timer_init(&victim, loop, on_victim, NULL);
	ntm_timer_init(&killer, loop, on_killer, NULL);
	ntm_timer_init(&stopper, loop, on_stop, NULL);
	/* Same deadline: the killer was armed first, so it runs first. */
	ntm_timer_arm(&killer, 10, 0);
	ntm_timer_arm(&victim, 10, 0);
	ntm_timer_arm(&stopper, 30, 0);
	ck_assert_int_eq(ntm_loop_run(loop), 0);
	ck_assert(!victim_fired);
	ck_assert(!ntm_timer_armed(&victim));
	ntm_timer_cancel(&victim);
	ntm_timer_cancel(NULL);
}
END_TEST

static unsigned spins, fd_calls;

static void on_spin(struct ntm_timer *t, void *arg)
{
	(void)arg;
	spins++;
	ntm_timer_arm(t, 0, 0);
}

static void on_fd_vs_spin(struct ntm_io *io, uint32_t events, void *arg)
{
	(void)io;
	(void)events;
	(void)arg;
	if (++fd_calls == 3)
		ntm_loop_stop(loop);
}

START_TEST(test_a_zero_delay_rearm_fires_once_per_iteration_and_cannot_starve_fds)
{
	struct ntm_timer spin;
	struct ntm_io io;
	int fds[2];

	spins = fd_calls = 0;
	make_pipe(fds);
	ck_assert_int_eq(write(fds[1], "x", 1), 1);   /* stays readable */
	ntm_io_init(&io, loop, fds[0], on_fd_vs_spin, NULL);
	ck_assert_int_eq(ntm_io_add(&io, EPOLLIN), 0);
	ntm_timer_init(&spin, loop, on_spin, NULL);
	ntm_timer_arm(&spin, 0, 0);
	ck_assert_int_eq(ntm_loop_run(loop), 0);
	ck_assert_uint_eq(fd_calls, 3);
	ck_assert_uint_eq(spins, 3);
	ntm_timer_cancel(&spin);
	ntm_io_remove(&io);
	close(fds[0]);
	close(fds[1]);
}
END_TEST

#define MANY 2000
static struct ntm_timer many[MANY];
static uint64_t last_due;
static unsigned fired;
static bool out_of_order;

static void on_many(struct ntm_timer *t, void *arg)
{
	(void)arg;
	if (t->due < last_due)
		out_of_order = true;
	last_due = t->due;
	fired++;
}

START_TEST(test_many_timers_with_random_cancels_fire_sorted_and_exactly_once)
{
	unsigned expect = 0;

	srandom(42);
	fired = 0;
	last_due = 0;
	out_of_order = false;
	for (unsigned i = 0; i < MANY; i++) {
		ntm_timer_init(&many[i], loop, on_many, NULL);
		ntm_timer_arm(&many[i], (uint64_t)(random() % 40), 0);
	}
	for (unsigned i = 0; i < MANY; i++) {
		long r = random() % 4;

		if (r == 0)
			ntm_timer_cancel(&many[i]);
		else if (r == 1)
			ntm_timer_arm(&many[i], (uint64_t)(random() % 40), 0);
	}
	for (unsigned i = 0; i < MANY; i++)
		expect += ntm_timer_armed(&many[i]);
	while (fired < expect && ntm_loop_now_ms() < guard.due)
		ck_assert_int_eq(ntm_loop_run_once(loop, 100), 0);
	ck_assert_uint_eq(fired, expect);
	ck_assert(!out_of_order);
	for (unsigned i = 0; i < MANY; i++)
		ck_assert(!ntm_timer_armed(&many[i]));
}
END_TEST

/* ---- signals and stop ---- */

static int got_signo;

static void on_signal(struct ntm_signal *s, int signo, void *arg)
{
	(void)arg;
	ck_assert_int_eq(s->signo, signo);
	got_signo = signo;
	ntm_loop_stop(loop);
}

START_TEST(test_a_raised_sigusr1_arrives_through_the_signalfd)
{
	struct ntm_signal sig, dup;

	got_signo = 0;
	ck_assert_int_eq(ntm_signal_add(&sig, loop, SIGUSR1, on_signal, NULL), 0);
	ck_assert_int_eq(ntm_signal_add(&dup, loop, SIGUSR1, on_signal, NULL), -EEXIST);
	ck_assert_int_eq(ntm_signal_add(&dup, loop, SIGKILL, on_signal, NULL), -EINVAL);
	ck_assert_int_eq(ntm_signal_add(&dup, loop, 0, on_signal, NULL), -EINVAL);
	ck_assert_int_eq(raise(SIGUSR1), 0);   /* blocked: the process survives */
	ck_assert_int_eq(ntm_loop_run(loop), 0);
	ck_assert_int_eq(got_signo, SIGUSR1);
	ntm_signal_remove(&sig);
	ntm_signal_remove(&sig);
	ntm_signal_remove(NULL);
	ck_assert_int_eq(ntm_signal_add(&sig, loop, SIGUSR1, on_signal, NULL), 0);
	ntm_signal_remove(&sig);
}
END_TEST

static unsigned stop_calls;

static void on_stop_count(struct ntm_timer *t, void *arg)
{
	(void)t;
	(void)arg;
	stop_calls++;
	ntm_loop_stop(loop);
}

START_TEST(test_stop_ends_run_and_a_later_run_works_again)
{
	struct ntm_timer t;
	uint64_t start = ntm_loop_now_ms();

	stop_calls = 0;
	ntm_timer_init(&t, loop, on_stop_count, NULL);
	ntm_timer_arm(&t, 20, 0);
	ck_assert_int_eq(ntm_loop_run(loop), 0);
	ck_assert_uint_eq(stop_calls, 1);
	ck_assert_uint_ge(ntm_loop_now_ms(), start + 20);
	ntm_timer_arm(&t, 1, 0);
	ck_assert_int_eq(ntm_loop_run(loop), 0);
	ck_assert_uint_eq(stop_calls, 2);
}
END_TEST

START_TEST(test_the_tick_is_the_clock_of_the_last_wakeup)
{
	struct ntm_timer t;

	/* never later than the clock; a tick reads the clock */
	ck_assert_uint_le(ntm_loop_tick_ms(), ntm_loop_now_ms());
	uint64_t before = ntm_loop_now_ms();
	ntm_loop_tick();
	ck_assert_uint_ge(ntm_loop_tick_ms(), before);
	uint64_t tick = ntm_loop_tick_ms();
	usleep(30 * 1000);
	ck_assert_uint_eq(ntm_loop_tick_ms(), tick);            /* still the wake-up's */
	ck_assert_uint_ge(ntm_loop_now_ms(), tick + 30);
	/* a pass of the loop (woken by a timer 20 ms on) reads the clock again */
	stop_calls = 0;
	ntm_timer_init(&t, loop, on_stop_count, NULL);
	ntm_timer_arm(&t, 20, 0);
	ck_assert_int_eq(ntm_loop_run(loop), 0);
	ck_assert_uint_ge(ntm_loop_tick_ms(), tick + 50);
	ck_assert_uint_le(ntm_loop_tick_ms(), ntm_loop_now_ms());
}
END_TEST

static Suite *evloop_suite(void)
{
	Suite *s = suite_create("evloop");
	TCase *fd = tcase_create("fd");
	TCase *timer = tcase_create("timer");
	TCase *sig = tcase_create("signal");

	tcase_add_checked_fixture(fd, setup, teardown);
	tcase_add_test(fd, test_a_readable_pipe_calls_its_callback_with_epollin);
	tcase_add_test(fd, test_modify_switches_from_writable_to_readable_events);
	tcase_add_test(fd, test_a_source_removed_and_freed_during_dispatch_gets_no_more_events);
	suite_add_tcase(s, fd);

	tcase_add_checked_fixture(timer, setup, teardown);
	tcase_add_test(timer, test_timers_fire_in_deadline_order_and_ties_in_arming_order);
	tcase_add_test(timer, test_a_periodic_timer_repeats_until_cancelled);
	tcase_add_test(timer, test_a_timer_cancelled_from_another_callback_never_fires);
	tcase_add_test(timer, test_a_zero_delay_rearm_fires_once_per_iteration_and_cannot_starve_fds);
	tcase_add_test(timer, test_many_timers_with_random_cancels_fire_sorted_and_exactly_once);
	suite_add_tcase(s, timer);

	tcase_add_checked_fixture(sig, setup, teardown);
	tcase_add_test(sig, test_a_raised_sigusr1_arrives_through_the_signalfd);
	tcase_add_test(sig, test_stop_ends_run_and_a_later_run_works_again);
	tcase_add_test(sig, test_the_tick_is_the_clock_of_the_last_wakeup);
	suite_add_tcase(s, sig);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(evloop_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
