/* ping.c - `ntmctl ping NAME`: PING control messages through the peer's
 * tunnel (doc/protocol.md 5.12), answered by the peer's ntm-tund with PONG,
 * timed with the monotonic clock. A ping of a peer without a tunnel sets
 * the tunnel up first (its first round trip includes that). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "peer.h"
#include "tund.h"

#define PING_INTERVAL_MS 200
#define PING_LINGER_MS 1000          /* wait for the last PONG */
#define PING_SETUP_MS 3000           /* allowance for tunnel setup */

struct ping_job {
	struct ping_job *next;
	struct tund *t;
	char name[NTM_NAME_MAX + 1];
	struct ntm_ctlconn *conn;
	uint32_t req_id, ident;
	uint16_t count, sent, received;
	uint64_t rtt_sum, rtt_min, rtt_max;   /* microseconds */
	uint64_t deadline_ms, last_sent_ms;
	struct ntm_timer timer;
	unsigned n_echoes;                    /* the replies' paths, for the reply */
	struct ntm_lctl_echo echoes[NTM_LCTL_PING_COUNT_MAX];
};

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void job_free(struct ping_job *j)
{
	struct ping_job **pp;

	for (pp = &j->t->pings; *pp; pp = &(*pp)->next)
		if (*pp == j) {
			*pp = j->next;
			break;
		}
	ntm_timer_cancel(&j->timer);
	free(j);
}

static void finish(struct ping_job *j)
{
	static struct ntm_lctl_ping_result r;
	static uint8_t buf[4096];   /* 16 + 100 ECHOs of at most 30 bytes */

	memset(&r, 0, sizeof(r));
	r.sent = j->sent;
	r.received = j->received;
	r.n_echoes = j->n_echoes;
	memcpy(r.echoes, j->echoes, sizeof(r.echoes[0]) * j->n_echoes);
	if (j->received) {
		r.rtt_min_us = (uint32_t)j->rtt_min;
		r.rtt_max_us = (uint32_t)j->rtt_max;
		r.rtt_avg_us = (uint32_t)(j->rtt_sum / j->received);
	}
	ntm_ctlconn_on_cancel(j->conn, NULL, NULL);
	int n = ntm_lctl_reply_ping(buf, sizeof(buf), j->req_id, &r);
	if (n > 0)
		ntm_ctlsrv_reply(j->conn, buf, (size_t)n);
	job_free(j);
}

static void on_cancel(void *arg)
{
	job_free(arg);
}

static void tick(struct ntm_timer *tm, void *arg)
{
	struct ping_job *j = arg;
	struct tund *t = j->t;
	uint64_t now = ntm_loop_now_ms();
	(void)tm;

	if (j->received == j->count || now >= j->deadline_ms ||
	    (j->sent == j->count && now - j->last_sent_ms >= PING_LINGER_MS)) {
		finish(j);
		return;
	}
	struct peer *p = peer_by_name(t, j->name);
	if (!p)
		p = peer_request(t, j->name, 0, NULL);
	if (j->sent < j->count && p && peer_can_send(p)) {
		struct ntm_ctl c = { .type = NTM_CTL_PING };
		c.u.ping.ident = j->ident;
		c.u.ping.seq = j->sent;
		c.u.ping.timestamp_ns = now_ns();
		int n = ntm_ctl_encode(&c, t->sendbuf + NTM_DATA_HDR_LEN, 256);
		if (n > 0 && peer_send(p, t->sendbuf, (size_t)n) == 0) {
			j->sent++;
			j->last_sent_ms = now;
		}
	} else if (p && p->resolved && !peer_can_send(p) && !p->hs.active && !p->next.valid) {
		peer_start_handshake(p);
	}
	ntm_timer_arm(&j->timer, PING_INTERVAL_MS, 0);
}

int ping_request(struct tund *t, struct ntm_ctlconn *c, const struct ntm_lctl_req *req,
		 uint8_t *out, size_t cap)
{
	struct ntm_name n;

	if (peer_name_check(t, req->name, &n) < 0)
		return ntm_lctl_reply_empty(out, cap, req->hdr.type, req->hdr.req_id, NTM_LCTL_NOTFOUND);
	if (strcmp(n.s, t->fqdn) != 0 && peer_policy_forbids(t, n.s))
		return ntm_lctl_reply_forbidden(out, cap, req->hdr.type, req->hdr.req_id,
						NTM_LCTL_FORBIDDEN_NODE);
	struct ping_job *j = calloc(1, sizeof(*j));
	if (!j)
		return ntm_lctl_reply_empty(out, cap, req->hdr.type, req->hdr.req_id, NTM_LCTL_INTERNAL);
	j->t = t;
	snprintf(j->name, sizeof(j->name), "%s", n.s);
	j->conn = c;
	j->req_id = req->hdr.req_id;
	j->count = req->count;
	ntm_random(&j->ident, sizeof(j->ident));
	j->rtt_min = UINT64_MAX;
	j->deadline_ms = ntm_loop_now_ms() + PING_SETUP_MS +
			 (uint64_t)req->count * PING_INTERVAL_MS + PING_LINGER_MS;
	j->next = t->pings;
	t->pings = j;
	ntm_timer_init(&j->timer, t->loop, tick, j);
	ntm_ctlconn_on_cancel(c, on_cancel, j);
	ntm_timer_arm(&j->timer, 0, 0);
	return NTM_CTLSRV_DEFER;
}

/* Which path the PONG took: the relay's endpoint when it came in a
 * capsule, else the peer's. */
static void note_echo(struct ping_job *j, uint16_t seq, uint64_t rtt,
		      const struct ntm_udp_meta *meta)
{
	struct ntm_lctl_echo *e = &j->echoes[j->n_echoes];
	struct ntm_endpoint ep;

	if (j->n_echoes >= NTM_LCTL_PING_COUNT_MAX ||
	    ntm_endpoint_from_sockaddr(&ep, (const struct sockaddr *)&meta->src) < 0)
		return;
	e->seq = seq;
	e->path = meta->via_relay ? NTM_LCTL_PATH_RELAY : NTM_LCTL_PATH_DIRECT;
	e->rtt_us = rtt > UINT32_MAX ? UINT32_MAX : (uint32_t)rtt;
	e->from.family = ep.family;
	e->from.port = ep.port;
	memcpy(e->from.addr, ep.addr, 16);
	j->n_echoes++;
}

void ping_on_pong(struct tund *t, struct peer *p, const struct ntm_ctl_ping *m,
		  const struct ntm_udp_meta *meta)
{
	(void)p;
	for (struct ping_job *j = t->pings; j; j = j->next) {
		if (j->ident != m->ident || m->seq >= j->sent)
			continue;
		uint64_t rtt = (now_ns() - m->timestamp_ns) / 1000;
		j->received++;
		j->rtt_sum += rtt;
		if (rtt < j->rtt_min)
			j->rtt_min = rtt;
		if (rtt > j->rtt_max)
			j->rtt_max = rtt;
		note_echo(j, (uint16_t)m->seq, rtt, meta);
		if (j->received == j->count)
			ntm_timer_arm(&j->timer, 0, 0);
		return;
	}
}

void ping_on_offline(struct tund *t, const char *name, uint32_t last_seen_s)
{
	struct ping_job *j = t->pings, *next;
	uint8_t buf[64];

	for (; j; j = next) {
		next = j->next;
		if (strcmp(j->name, name) != 0)
			continue;
		ntm_ctlconn_on_cancel(j->conn, NULL, NULL);
		int n = ntm_lctl_reply_offline(buf, sizeof(buf), NTM_LCTL_PING, j->req_id, last_seen_s);
		if (n > 0)
			ntm_ctlsrv_reply(j->conn, buf, (size_t)n);
		job_free(j);
	}
}

void ping_on_forbidden(struct tund *t, const char *name)
{
	struct ping_job *j = t->pings, *next;
	uint8_t buf[64];

	for (; j; j = next) {
		next = j->next;
		if (strcmp(j->name, name) != 0)
			continue;
		ntm_ctlconn_on_cancel(j->conn, NULL, NULL);
		int n = ntm_lctl_reply_forbidden(buf, sizeof(buf), NTM_LCTL_PING, j->req_id,
						 NTM_LCTL_FORBIDDEN_DC);
		if (n > 0)
			ntm_ctlsrv_reply(j->conn, buf, (size_t)n);
		job_free(j);
	}
}

/* At stop, before the control socket closes: each job's connection
 * forgets it first, so closing the connection calls no cancel function
 * on a freed job. */
void pings_free(struct tund *t)
{
	while (t->pings) {
		ntm_ctlconn_on_cancel(t->pings->conn, NULL, NULL);
		job_free(t->pings);
	}
}
