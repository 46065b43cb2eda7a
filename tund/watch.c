/* watch.c - see watch.h. Events are encoded once, when they happen, into
 * each watcher's queue; a zero-delay timer per watcher moves them to its
 * connection while less than WATCH_OUT_MAX bytes wait there, so a watcher
 * that does not read costs at most its queue and WATCH_OUT_MAX, and loses
 * its oldest events (told as a DROPPED event) rather than slowing anyone. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "peer.h"
#include "tund.h"
#include "watch.h"
#include "watchq.h"

#define WATCH_OUT_MAX 4096             /* bytes handed to the connection, not yet sent */

struct watcher {
	struct watcher *next;
	struct tund *t;
	struct ntm_ctlconn *conn;
	uint32_t req_id;
	uid_t uid;
	struct ntm_timer timer;
	struct watchq q;
};

static uint64_t wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void unlink_watcher(struct watcher *w)
{
	for (struct watcher **pp = &w->t->watchers; *pp; pp = &(*pp)->next)
		if (*pp == w) {
			*pp = w->next;
			break;
		}
	ntm_timer_cancel(&w->timer);
	free(w);
}

static void on_cancel(void *arg)
{
	unlink_watcher(arg);
}

/* Hand queued events to the connection. Returns -1 when the connection
 * closed (w is gone). */
static int flush(struct watcher *w)
{
	uint8_t buf[256];

	while (ntm_ctlconn_pending(w->conn) < WATCH_OUT_MAX) {
		uint32_t lost = watchq_take_dropped(&w->q);
		const uint8_t *msg;
		size_t len;
		if (lost) {
			struct ntm_lctl_event e = { .kind = NTM_LCTL_EV_DROPPED, .time_ms = wall_ms(),
						    .dropped = lost };
			int n = ntm_lctl_reply_watch(buf, sizeof(buf), w->req_id, &e);
			if (n > 0 && ntm_ctlsrv_push(w->conn, buf, (size_t)n) < 0)
				return -1;
			continue;
		}
		if (!(msg = watchq_peek(&w->q, &len)))
			break;
		if (ntm_ctlsrv_push(w->conn, msg, len) < 0)
			return -1;
		watchq_pop(&w->q);
	}
	return 0;
}

static void on_timer(struct ntm_timer *tm, void *arg)
{
	(void)tm;
	flush(arg);
}

static void on_drain(void *arg)
{
	flush(arg);
}

static void emit(struct tund *t, struct ntm_lctl_event *e)
{
	e->time_ms = wall_ms();
	for (struct watcher *w = t->watchers; w; w = w->next) {
		uint8_t buf[1024];
		int n = ntm_lctl_reply_watch(buf, sizeof(buf), w->req_id, e);
		if (n <= 0) {
			log_debug("watch: event %u not encoded (%d)", e->kind, n);
			return;
		}
		watchq_push(&w->q, buf, (size_t)n);
		ntm_timer_arm(&w->timer, 0, 0);
	}
}

static uint8_t dc_state(enum dc_state s)
{
	switch (s) {
	case DC_REGISTERED: return NTM_LCTL_DC_REGISTERED;
	case DC_UNREACHABLE: return NTM_LCTL_DC_UNREACHABLE;
	case DC_REFUSED: return NTM_LCTL_DC_REFUSED;
	case DC_CONNECTING: break;
	}
	return NTM_LCTL_DC_CONNECTING;
}

static void set_reason(struct ntm_lctl_event *e, const char *why)
{
	size_t o = 0;

	/* printable ASCII only (doc/control.md 2.2) */
	for (; why && *why && o + 1 < sizeof(e->reason); why++)
		e->reason[o++] = *why >= 0x20 && *why <= 0x7e ? *why : '?';
	e->reason[o] = '\0';
}

void watch_dc(struct tund *t, const char *why)
{
	if (!t->watchers || dc_state(t->dc.state) == t->watch_dc_last)
		return;
	struct ntm_lctl_event e = { .kind = NTM_LCTL_EV_DC, .dc_state = dc_state(t->dc.state) };
	t->watch_dc_last = e.dc_state;
	set_reason(&e, why);
	emit(t, &e);
}

static bool endpoint_of(const struct sockaddr_storage *ss, struct ntm_lctl_endpoint *out)
{
	struct ntm_endpoint ep;

	if (ntm_endpoint_from_sockaddr(&ep, (const struct sockaddr *)ss) < 0)
		return false;
	out->family = ep.family;
	out->port = ep.port;
	memcpy(out->addr, ep.addr, 16);
	return true;
}

void watch_peer(struct peer *p, uint8_t kind, const char *why)
{
	struct tund *t = p->t;

	if (!t->watchers || !p->name[0])
		return;
	struct ntm_lctl_event e = { .kind = kind };
	snprintf(e.peer, sizeof(e.peer), "%s", p->name);
	if (kind != NTM_LCTL_EV_PEER_DOWN && kind != NTM_LCTL_EV_REKEY) {
		if (p->path == PATH_RELAY) {
			e.path = NTM_LCTL_PATH_RELAY;
			e.has_endpoint = p->has_relay && endpoint_of(&p->relay_ss, &e.endpoint);
		} else if (p->path == PATH_DIRECT) {
			e.path = NTM_LCTL_PATH_DIRECT;
			e.has_endpoint = p->has_ep && endpoint_of(&p->ep, &e.endpoint);
		} else {
			e.path = NTM_LCTL_PATH_PENDING;
		}
	}
	if (kind == NTM_LCTL_EV_ENDPOINT)
		e.path = 0;
	set_reason(&e, why);
	emit(t, &e);
}

int watch_request(struct tund *t, struct ntm_ctlconn *c, const struct ntm_lctl_req *req,
		  uint8_t *out, size_t cap)
{
	uid_t uid = ntm_ctlconn_cred(c)->uid;
	unsigned all = 0, mine = 0;

	for (struct watcher *w = t->watchers; w; w = w->next) {
		all++;
		mine += w->uid == uid;
	}
	if (!watch_admit(all, mine, uid))
		return ntm_lctl_reply_empty(out, cap, req->hdr.type, req->hdr.req_id,
					    NTM_LCTL_TRYAGAIN);
	struct watcher *w = calloc(1, sizeof(*w));
	if (!w)
		return ntm_lctl_reply_empty(out, cap, req->hdr.type, req->hdr.req_id,
					    NTM_LCTL_INTERNAL);
	w->t = t;
	w->conn = c;
	w->req_id = req->hdr.req_id;
	w->uid = uid;
	watchq_init(&w->q);
	ntm_timer_init(&w->timer, t->loop, on_timer, w);
	ntm_ctlconn_on_cancel(c, on_cancel, w);
	ntm_ctlconn_on_drain(c, on_drain, w);
	struct ntm_lctl_event e = { .kind = NTM_LCTL_EV_START, .time_ms = wall_ms(),
				    .dc_state = dc_state(t->dc.state) };
	t->watch_dc_last = e.dc_state;
	int n = ntm_lctl_reply_watch(out, cap, w->req_id, &e);
	if (n > 0)
		watchq_push(&w->q, out, (size_t)n);
	w->next = t->watchers;
	t->watchers = w;
	ntm_timer_arm(&w->timer, 0, 0);   /* the START event, once c is deferred */
	return NTM_CTLSRV_DEFER;
}

void watch_free_all(struct tund *t)
{
	while (t->watchers)
		unlink_watcher(t->watchers);
}
