/* evloop.h - a small single-threaded epoll event loop: fd sources, timers
 * and signals.
 *
 * Sources are caller-owned structs (embed them in the object they serve,
 * e.g. one struct ntm_timer per peer) that the loop links in, so adding a
 * source never allocates and arming a timer cannot fail.
 *
 * Timers live in an intrusive pairing heap keyed on (due time, arming
 * order) and the loop sleeps in epoll_wait until the earliest one. A
 * timerfd per timer would cost an fd and a syscall for every arm and cancel,
 * and ntm expects one or more timers per peer that are re-armed on every
 * handshake or keepalive; the heap makes arm and cancel O(1) and firing
 * O(log n) amortised with no syscall. Times are CLOCK_MONOTONIC in whole
 * milliseconds, which is what epoll_wait's timeout offers.
 *
 * Signals are delivered through one signalfd per loop, so handlers are
 * ordinary callbacks that may do anything (log, reload the config, stop).
 *
 * Dispatch order in one iteration: ready fds (signals arrive as an fd),
 * then every timer due by the time the fd callbacks are done.
 *
 * Re-entrancy: any callback may add, modify, remove, arm or cancel any
 * source, including its own, and may free a source right after removing it:
 * removing an fd source also drops its events still pending in the current
 * batch. A timer re-armed from a callback never fires again within the same
 * iteration, so a zero-delay re-arm cannot starve fds. Callbacks must not
 * call ntm_loop_run, ntm_loop_run_once or ntm_loop_free on their own loop.
 *
 * Not thread-safe: one loop per thread, and its sources are touched only by
 * that thread. Signal sources must be added before other threads start (the
 * signal is blocked in the calling thread only). */
#ifndef NTM_EVLOOP_H
#define NTM_EVLOOP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/epoll.h>

struct ntm_loop;
struct ntm_io;
struct ntm_timer;
struct ntm_signal;

typedef void (*ntm_io_fn)(struct ntm_io *io, uint32_t events, void *arg);
typedef void (*ntm_timer_fn)(struct ntm_timer *t, void *arg);
typedef void (*ntm_signal_fn)(struct ntm_signal *s, int signo, void *arg);

/* Fields are private to evloop.c; they are here so callers can embed. */
struct ntm_io {
	struct ntm_loop *loop;
	int fd;
	uint32_t events;
	bool added;
	ntm_io_fn fn;
	void *arg;
};

struct ntm_timer {
	struct ntm_loop *loop;
	uint64_t due;           /* ms, ntm_loop_now_ms() scale */
	uint64_t period;        /* 0: one-shot */
	uint64_t seq;           /* arming order: ties fire first-armed first */
	struct ntm_timer *child, *next, *prev;  /* heap links; prev is the
						   parent for a first child */
	bool armed;
	ntm_timer_fn fn;
	void *arg;
};

struct ntm_signal {
	struct ntm_loop *loop;
	int signo;
	bool added;
	ntm_signal_fn fn;
	void *arg;
};

/* CLOCK_MONOTONIC in milliseconds. */
uint64_t ntm_loop_now_ms(void);
/* The clock as this thread's loop read it when it last woke (ntm_loop_tick,
 * which ntm_loop_run_once and ntm-tund's workers call after epoll_wait);
 * before any tick, ntm_loop_now_ms(). For what the data path stamps on
 * every packet (last sent, last received): one clock read per wake-up, not
 * one per packet, and at most one wake-up's work behind the clock. */
uint64_t ntm_loop_tick_ms(void);
void ntm_loop_tick(void);

/* Creates a loop (epoll fd with EPOLL_CLOEXEC). Returns 0 or -errno. */
int ntm_loop_new(struct ntm_loop **out);

/* Closes the loop's fds and frees it; accepts NULL. Sources still linked in
 * are left as they are and must not be used with this loop again; signals
 * it handled stay blocked (unblocking could let a pending one kill us). */
void ntm_loop_free(struct ntm_loop *l);

/* Dispatches events until ntm_loop_stop. Returns 0 after a stop, or -errno
 * if epoll_wait or the signalfd fails (EINTR is retried). */
int ntm_loop_run(struct ntm_loop *l);

/* One iteration: waits at most max_wait_ms (-1: until the next timer or
 * event; 0: poll) and dispatches what is ready. Returns 0 or -errno. */
int ntm_loop_run_once(struct ntm_loop *l, int max_wait_ms);

/* Makes ntm_loop_run return once the current iteration is done. Callable
 * from any callback. */
void ntm_loop_stop(struct ntm_loop *l);

/* ---- fd sources ---- */

/* Prepares io for fd; does not touch the loop. */
void ntm_io_init(struct ntm_io *io, struct ntm_loop *l, int fd, ntm_io_fn fn, void *arg);

/* Starts watching io->fd for events (EPOLLIN, EPOLLOUT, ...; EPOLLERR and
 * EPOLLHUP are always reported). The callback gets the ready mask. Returns
 * 0, -EEXIST if io is already added, or epoll_ctl's -errno. The fd should
 * be O_NONBLOCK: it is level-triggered unless events has EPOLLET. */
int ntm_io_add(struct ntm_io *io, uint32_t events);

/* Changes the mask of an added io. Returns 0, -ENOENT if not added, or
 * epoll_ctl's -errno. */
int ntm_io_modify(struct ntm_io *io, uint32_t events);

/* Stops watching; accepts NULL and an io that is not added. Does not close
 * the fd. Remove before closing the fd (epoll tracks the open file, not the
 * number, so a dup'ed fd would otherwise keep reporting). */
void ntm_io_remove(struct ntm_io *io);

/* ---- timers ---- */

/* Prepares t; does not arm it. */
void ntm_timer_init(struct ntm_timer *t, struct ntm_loop *l, ntm_timer_fn fn, void *arg);

/* Arms (or re-arms) t to fire delay_ms from now, then every period_ms if
 * period_ms > 0. A periodic timer that falls behind skips the missed
 * ticks instead of firing them in a burst. A periodic timer is re-armed
 * before its callback runs, so the callback may cancel or re-arm it. */
void ntm_timer_arm(struct ntm_timer *t, uint64_t delay_ms, uint64_t period_ms);

/* Disarms t; accepts NULL and a timer that is not armed. */
void ntm_timer_cancel(struct ntm_timer *t);

bool ntm_timer_armed(const struct ntm_timer *t);

/* ---- signals ---- */

/* Blocks signo in the calling thread and delivers it to fn through the
 * loop's signalfd. One source per signal number. Returns 0, -EINVAL (bad
 * signo, or SIGKILL/SIGSTOP), -EEXIST (signo already has a source), or
 * -errno from signalfd/epoll. */
int ntm_signal_add(struct ntm_signal *s, struct ntm_loop *l, int signo, ntm_signal_fn fn,
		   void *arg);

/* Stops delivering s->signo; the signal stays blocked. Accepts NULL and a
 * source that is not added. */
void ntm_signal_remove(struct ntm_signal *s);

#endif
