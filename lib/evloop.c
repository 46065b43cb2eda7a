/* evloop.c - epoll event loop with fd, timer and signal sources (see
 * evloop.h for the contract and why timers are a heap, not timerfds). */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "evloop.h"

#define MAX_EVENTS 64        /* fd events taken per epoll_wait */
#define MAX_SIGNAL_READS 64  /* signals handled per wakeup; the rest wait */

struct ntm_loop {
	int epfd;
	int sfd;                 /* signalfd, -1 until the first signal source */
	struct ntm_io sio;       /* watches sfd */
	sigset_t mask;           /* signals with a source */
	struct ntm_signal *sig[NSIG];
	struct ntm_timer *root;  /* pairing heap of armed timers */
	uint64_t seq;            /* next arming number */
	bool stop;
	int err;                 /* sticky failure of the signalfd */
	struct epoll_event ev[MAX_EVENTS];
	int nev;                 /* events of the batch being dispatched */
};

uint64_t ntm_loop_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static _Thread_local uint64_t tick_ms;

void ntm_loop_tick(void)
{
	tick_ms = ntm_loop_now_ms();
}

uint64_t ntm_loop_tick_ms(void)
{
	return tick_ms ? tick_ms : ntm_loop_now_ms();
}

int ntm_loop_new(struct ntm_loop **out)
{
	struct ntm_loop *l = calloc(1, sizeof(*l));

	*out = NULL;
	if (!l)
		return -ENOMEM;
	l->sfd = -1;
	sigemptyset(&l->mask);
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (l->epfd < 0) {
		int ret = -errno;

		free(l);
		return ret;
	}
	*out = l;
	return 0;
}

void ntm_loop_free(struct ntm_loop *l)
{
	if (!l)
		return;
	if (l->sfd >= 0)
		close(l->sfd);
	close(l->epfd);
	free(l);
}

void ntm_loop_stop(struct ntm_loop *l)
{
	l->stop = true;
}

/* ---- fd sources ---- */

void ntm_io_init(struct ntm_io *io, struct ntm_loop *l, int fd, ntm_io_fn fn, void *arg)
{
	*io = (struct ntm_io){ .loop = l, .fd = fd, .fn = fn, .arg = arg };
}

static int io_ctl(struct ntm_io *io, int op, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = io };

	if (epoll_ctl(io->loop->epfd, op, io->fd, &ev) < 0)
		return -errno;
	io->events = events;
	return 0;
}

int ntm_io_add(struct ntm_io *io, uint32_t events)
{
	int ret;

	if (io->added)
		return -EEXIST;
	ret = io_ctl(io, EPOLL_CTL_ADD, events);
	if (ret)
		return ret;
	io->added = true;
	return 0;
}

int ntm_io_modify(struct ntm_io *io, uint32_t events)
{
	if (!io->added)
		return -ENOENT;
	return io_ctl(io, EPOLL_CTL_MOD, events);
}

void ntm_io_remove(struct ntm_io *io)
{
	struct ntm_loop *l;

	if (!io || !io->added)
		return;
	l = io->loop;
	/* Fails only if the fd was closed first, which removed it already. */
	epoll_ctl(l->epfd, EPOLL_CTL_DEL, io->fd, NULL);
	/* Drop its events still waiting in this batch: io may be freed next. */
	for (int i = 0; i < l->nev; i++)
		if (l->ev[i].data.ptr == io)
			l->ev[i].data.ptr = NULL;
	io->added = false;
}

/* ---- timers: a pairing heap ---- */

static bool before(const struct ntm_timer *a, const struct ntm_timer *b)
{
	return a->due < b->due || (a->due == b->due && a->seq < b->seq);
}

static uint64_t add_sat(uint64_t a, uint64_t b)
{
	return b > UINT64_MAX - a ? UINT64_MAX : a + b;
}

/* Melds two heaps whose roots have no siblings; either may be NULL. */
static struct ntm_timer *meld(struct ntm_timer *a, struct ntm_timer *b)
{
	if (!a)
		return b;
	if (!b)
		return a;
	if (before(b, a)) {
		struct ntm_timer *t = a;

		a = b;
		b = t;
	}
	b->prev = a;
	b->next = a->child;
	if (a->child)
		a->child->prev = b;
	a->child = b;
	return a;
}

/* Two-pass pairing of a sibling list into one heap: meld neighbours left to
 * right, then meld the pairs right to left. Iterative, so a long sibling
 * list cannot overflow the stack. */
static struct ntm_timer *merge_pairs(struct ntm_timer *first)
{
	struct ntm_timer *pairs = NULL, *root = NULL;

	while (first) {
		struct ntm_timer *a = first, *b = a->next;

		first = b ? b->next : NULL;
		a->next = a->prev = NULL;
		if (b)
			b->next = b->prev = NULL;
		a = meld(a, b);
		a->next = pairs;   /* the pairs list is kept in reverse */
		pairs = a;
	}
	while (pairs) {
		struct ntm_timer *n = pairs->next;

		pairs->next = NULL;
		root = meld(root, pairs);
		pairs = n;
	}
	return root;
}

static void heap_insert(struct ntm_loop *l, struct ntm_timer *t)
{
	t->child = t->next = t->prev = NULL;
	l->root = meld(l->root, t);
}

static void heap_remove(struct ntm_loop *l, struct ntm_timer *t)
{
	struct ntm_timer *sub = merge_pairs(t->child);

	if (t == l->root) {
		l->root = sub;
	} else {
		if (t->prev->child == t)
			t->prev->child = t->next;
		else
			t->prev->next = t->next;
		if (t->next)
			t->next->prev = t->prev;
		l->root = meld(l->root, sub);
	}
	t->child = t->next = t->prev = NULL;
}

static void timer_insert(struct ntm_timer *t, uint64_t due)
{
	t->due = due;
	t->seq = t->loop->seq++;
	t->armed = true;
	heap_insert(t->loop, t);
}

void ntm_timer_init(struct ntm_timer *t, struct ntm_loop *l, ntm_timer_fn fn, void *arg)
{
	*t = (struct ntm_timer){ .loop = l, .fn = fn, .arg = arg };
}

void ntm_timer_arm(struct ntm_timer *t, uint64_t delay_ms, uint64_t period_ms)
{
	ntm_timer_cancel(t);
	t->period = period_ms;
	timer_insert(t, add_sat(ntm_loop_now_ms(), delay_ms));
}

void ntm_timer_cancel(struct ntm_timer *t)
{
	if (!t || !t->armed)
		return;
	heap_remove(t->loop, t);
	t->armed = false;
}

bool ntm_timer_armed(const struct ntm_timer *t)
{
	return t->armed;
}

/* Fires the timers due now that were armed before this call began. */
static void run_timers(struct ntm_loop *l)
{
	uint64_t now = ntm_loop_now_ms(), limit = l->seq;

	while (l->root && l->root->due <= now && l->root->seq < limit) {
		struct ntm_timer *t = l->root;

		heap_remove(l, t);
		t->armed = false;
		if (t->period) {
			uint64_t next = add_sat(t->due, t->period);

			timer_insert(t, next > now ? next : add_sat(now, t->period));
		}
		t->fn(t, t->arg);
	}
}

/* Milliseconds epoll_wait may sleep: until the first timer, at most max. */
static int wait_ms(const struct ntm_loop *l, int max)
{
	uint64_t now, d;

	if (!l->root)
		return max;
	now = ntm_loop_now_ms();
	d = l->root->due > now ? l->root->due - now : 0;
	if (d > INT_MAX)
		d = INT_MAX;
	if (max >= 0 && (uint64_t)max < d)
		return max;
	return (int)d;
}

/* ---- running ---- */

int ntm_loop_run_once(struct ntm_loop *l, int max_wait_ms)
{
	int n = epoll_wait(l->epfd, l->ev, MAX_EVENTS, wait_ms(l, max_wait_ms));

	if (n < 0 && errno != EINTR)
		return -errno;
	ntm_loop_tick();
	l->nev = n > 0 ? n : 0;
	for (int i = 0; i < l->nev; i++) {
		struct ntm_io *io = l->ev[i].data.ptr;

		if (io)   /* NULL: removed by an earlier callback of this batch */
			io->fn(io, l->ev[i].events, io->arg);
	}
	l->nev = 0;
	run_timers(l);
	return l->err;
}

int ntm_loop_run(struct ntm_loop *l)
{
	int ret = 0;

	while (!l->stop && !ret)
		ret = ntm_loop_run_once(l, -1);
	l->stop = false;
	return ret;
}

/* ---- signals ---- */

static void on_signalfd(struct ntm_io *io, uint32_t events, void *arg)
{
	struct ntm_loop *l = arg;
	struct signalfd_siginfo si;

	(void)io;
	(void)events;
	for (int i = 0; i < MAX_SIGNAL_READS; i++) {
		ssize_t r = read(l->sfd, &si, sizeof(si));

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			if (errno != EAGAIN)
				l->err = -errno;
			return;
		}
		if ((size_t)r != sizeof(si)) {
			l->err = -EIO;
			return;
		}
		if (si.ssi_signo < NSIG && l->sig[si.ssi_signo]) {
			struct ntm_signal *s = l->sig[si.ssi_signo];

			s->fn(s, (int)si.ssi_signo, s->arg);
		}
	}
}

/* Points the signalfd at mask, creating it (and watching it) on first use. */
static int signalfd_update(struct ntm_loop *l, const sigset_t *mask)
{
	int fd, ret;

	if (l->sfd >= 0)
		return signalfd(l->sfd, mask, 0) < 0 ? -errno : 0;
	fd = signalfd(-1, mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (fd < 0)
		return -errno;
	ntm_io_init(&l->sio, l, fd, on_signalfd, l);
	ret = ntm_io_add(&l->sio, EPOLLIN);
	if (ret) {
		close(fd);
		return ret;
	}
	l->sfd = fd;
	return 0;
}

int ntm_signal_add(struct ntm_signal *s, struct ntm_loop *l, int signo, ntm_signal_fn fn,
		   void *arg)
{
	sigset_t mask = l->mask, one;
	int ret;

	if (signo <= 0 || signo >= NSIG || signo == SIGKILL || signo == SIGSTOP)
		return -EINVAL;
	if (l->sig[signo])
		return -EEXIST;
	/* Block first: a signal arriving before the signalfd exists must stay
	 * pending, not run its default action. */
	sigemptyset(&one);
	sigaddset(&one, signo);
	if (sigprocmask(SIG_BLOCK, &one, NULL) < 0)
		return -errno;
	sigaddset(&mask, signo);
	ret = signalfd_update(l, &mask);
	if (ret)
		return ret;
	l->mask = mask;
	*s = (struct ntm_signal){ .loop = l, .signo = signo, .added = true, .fn = fn, .arg = arg };
	l->sig[signo] = s;
	return 0;
}

void ntm_signal_remove(struct ntm_signal *s)
{
	struct ntm_loop *l;

	if (!s || !s->added)
		return;
	l = s->loop;
	sigdelset(&l->mask, s->signo);
	/* Cannot fail for an existing signalfd and a valid mask. */
	signalfd(l->sfd, &l->mask, 0);
	l->sig[s->signo] = NULL;
	s->added = false;
}
