/* dc_load.c - the load generator of bench/dc_scale.sh: many simulated
 * nodes against one ntm-dcd, each doing what ntm-tund does with the DC.
 *
 *   dc_load enrol BACKEND LOCATION ZONE SEED FIRST COUNT
 *   dc_load run -d ADDR:PORT -k DCPUB -z ZONE -s SEED -f FIRST -n COUNT
 *               [-S SOURCES] [-B BASE] [-w WINDOW] [-r DIRS] [-t SECONDS] [-H SECONDS]
 *               [-p DCPID]
 *
 * Node i (FIRST <= i < FIRST + COUNT) is named l<i>.ZONE and has the X25519
 * private key derived from SEED and i (splitmix64), so the keys can be
 * enrolled before the run without being stored anywhere.
 *
 * enrol: writes the COUNT enrolments straight into the registry (store.h,
 * BACKEND sqlite or postgresql, LOCATION its path or connection string),
 * with the addresses the DC's default prefixes give. Run it while no DC has
 * the registry open, or the DC re-reads its keys after every commit.
 *
 * run: the nodes register, then ask for routes to each other:
 *   1. register: per node a Noise IK handshake (lib/session.c, mac1 to the
 *      DC's key; a COOKIE_REPLY is opened and the same init sent again with
 *      its mac2, as ntm-tund does), then REGISTER in the session, until its
 *      REGISTER_ACK. At most WINDOW (default 64) nodes are between their
 *      init and their ACK; one that gets no answer in RETRY_MS starts over
 *      with a new handshake (counted in retries).
 *   2. direct: every registered node sends DIRS (default 1) DIRECTION_REQs
 *      by name for other nodes of the run, at most WINDOW outstanding; a
 *      ROUTE_DIRECTION with the request's ID is a route, a DIRECTION_NAK is
 *      counted by status, no answer in LOST_MS is lost. The peer's copy of
 *      each route (request ID 0) arrives in the peer's session and is
 *      opened and counted too.
 *   3. hold (-H SECONDS, default 0): nothing but those KEEPALIVEs for that
 *      long: the steady state of N registered nodes.
 * Throughout, a registered node sends KEEPALIVE at the interval its
 * REGISTER_ACK gave, as a node would. -t bounds phases 1 and 2 each
 * (default 600 s); what did not finish by then is reported as it stands.
 * The nodes share SOURCES (default 64) UDP sockets, bound to BASE+1,
 * BASE+2, ... (BASE default 127.1.0.0, port chosen by the kernel): the DC
 * limits handshakes per source address, and a real population has many.
 *
 * Output, one line per phase in key=value form:
 *   register: nodes= registered= ms= rate= retries= cookies= ... keepalives=
 *   direct: requests= routes= naks= ... lost= peer_copies= ms= rate= keepalives=
 *   hold: ms= keepalives= dc_cpu_ms=
 *   load: keepalives= rx_unknown= cpu_ms_register= cpu_ms_direct=
 *   dc: pid= rss_kb_start= rss_kb_registered= rss_kb_end= cpu_ms_register= cpu_ms_direct=
 * rate is per second of that phase; the dc line (with -p) reads
 * /proc/DCPID at the start (after the keys are made), when the last node
 * registered and after the directions; load: is dc_load's own CPU. Exit 0 when every node registered and every
 * request got a route, 1 otherwise (the lines are printed either way),
 * 2 on bad usage. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cookie.h"
#include "crypto.h"
#include "session.h"
#include "store.h"
#include "wire.h"

#define PROG "dc_load"
#define COUNT_MAX 1000000
#define SOURCES_MAX 4096
#define WINDOW_MAX 65535
#define DIRS_MAX 64
#define RETRY_MS 3000                   /* handshake + REGISTER without an answer */
#define LOST_MS 3000                    /* DIRECTION_REQ without an answer */
#define PKT_MAX 2048
#define RX_BURST 256                    /* datagrams read per socket per round */
#define KA_SCAN 512                     /* nodes checked for a keepalive per round */
#define SOCKBUF (4 << 20)

enum nstate { N_IDLE, N_HS, N_REG, N_UP };

struct node {
	struct ntm_identity id;
	struct ntm_session sess;
	uint64_t last_tx_ms;
	uint32_t ka_seq;
	uint16_t sock;
	uint8_t state;                  /* enum nstate */
	int32_t slot;                   /* its registration slot, -1: none */
};

/* A registration in flight: handshake, then REGISTER until its ACK. */
struct regslot {
	struct ntm_hs_pending hs;
	uint8_t init[NTM_HS_INIT_LEN];
	uint32_t node;
	uint64_t sent_ms;
	bool cookie_resent;
	bool used;
};

/* A DIRECTION_REQ in flight; its request ID is gen << 16 | slot index. */
struct dirslot {
	uint32_t req_id;
	uint32_t node;
	uint64_t sent_ms;
	bool used;
};

struct load {
	struct sockaddr_in dc;
	uint8_t dcpub[32], cookie_key[32];
	char zone[NTM_NAME_MAX + 1];
	uint64_t seed;
	uint32_t first, count, sources, window, dirs;
	uint32_t base;                  /* host order */
	unsigned timeout_s, hold_s;
	int dcpid;
	int *fds;
	struct ntm_cookie_jar *jars;    /* per socket: cookies are per source */
	struct node *nodes;
	struct regslot *regs;
	uint32_t *reg_free, nreg_free;
	struct dirslot *dslots;
	uint32_t *dir_free, ndir_free;
	uint16_t dir_gen;
	uint64_t ka_ms;                 /* from REGISTER_ACK; 0 until one came */
	uint32_t ka_cursor;
	/* counters */
	uint64_t registered, retries, cookies, refused, reg_bad_status, send_errors, rx_unknown;
	uint64_t requests, routes, naks[NTM_NAK_STATUS_MAX + 1], lost, peer_copies, keepalives;
};

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int parse_num(const char *s, unsigned long min, unsigned long max, unsigned long *out)
{
	char *end;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

static uint64_t splitmix(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Node i's identity: the same for the same seed, in enrol and in run. */
static int node_identity(struct ntm_identity *id, uint64_t seed, uint32_t i)
{
	uint8_t priv[NTM_DH_LEN];
	uint64_t s = seed * 0x100000001b3ULL ^ ((uint64_t)i << 20 | 0x5a5a);

	for (unsigned k = 0; k < sizeof(priv); k += 8) {
		uint64_t v = splitmix(&s);
		memcpy(priv + k, &v, 8);
	}
	int ret = ntm_identity_init(id, priv);
	memset(priv, 0, sizeof(priv));
	return ret;
}

static void node_name(char *out, size_t cap, uint32_t i, const char *zone)
{
	snprintf(out, cap, "l%u.%.200s", (unsigned)i, zone);
}

/* ---- enrol ---- */

static int enrol(int argc, char **argv)
{
	unsigned long seed, first, count;
	enum ntm_store_backend backend;
	struct ntm_store *st;
	char err[512], name[NTM_NAME_MAX + 1];

	if (argc != 8 || parse_num(argv[5], 0, UINT32_MAX, &seed) < 0 ||
	    parse_num(argv[6], 0, UINT32_MAX, &first) < 0 ||
	    parse_num(argv[7], 1, COUNT_MAX, &count) < 0)
		return 2;
	if (!strcmp(argv[2], "sqlite"))
		backend = NTM_STORE_SQLITE;
	else if (!strcmp(argv[2], "postgresql"))
		backend = NTM_STORE_POSTGRESQL;
	else
		return 2;
	int ret = ntm_store_open_backend(&st, backend, argv[3], NULL, err, sizeof(err));
	if (ret < 0) {
		fprintf(stderr, PROG ": enrol: %s\n", err);
		return 1;
	}
	uint64_t t0 = now_ms();
	for (uint32_t i = (uint32_t)first; i < first + count; i++) {
		struct ntm_identity id;
		if (node_identity(&id, seed, i) < 0) {
			fprintf(stderr, PROG ": enrol: key %u\n", (unsigned)i);
			return 1;
		}
		node_name(name, sizeof(name), i, argv[4]);
		ret = ntm_store_node_add(st, name, id.pub, NULL);
		ntm_identity_clear(&id);
		if (ret < 0) {
			fprintf(stderr, PROG ": enrol %s: %s (%s)\n", name, strerror(-ret),
				ntm_store_errmsg(st));
			ntm_store_close(st);
			return 1;
		}
	}
	uint64_t ms = now_ms() - t0;
	ntm_store_close(st);
	printf("enrol: nodes=%lu ms=%llu rate=%.0f\n", count, (unsigned long long)ms,
	       ms ? count * 1000.0 / (double)ms : 0.0);
	return 0;
}

/* ---- the DC process, from /proc ---- */

static long dc_rss_kb(int pid)
{
	char path[64], line[256];
	long kb = -1;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

/* utime + stime in milliseconds, or -1. */
static long dc_cpu_ms(int pid)
{
	char path[64], buf[1024];
	unsigned long ut, st;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	const char *p = strrchr(buf, ')'); /* the name may hold spaces */
	if (!p || sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut,
			 &st) != 2)
		return -1;
	return (long)((ut + st) * 1000 / (unsigned long)sysconf(_SC_CLK_TCK));
}

/* Our own CPU (user + system) in milliseconds: whether the load
 * generator, not the DC, was the limit. */
static long self_cpu_ms(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) < 0)
		return -1;
	return (long)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000 +
	       (long)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1000;
}

/* ---- sending ---- */

static void send_dc(struct load *L, uint32_t sock, const uint8_t *buf, size_t len)
{
	if (sendto(L->fds[sock], buf, len, 0, (const struct sockaddr *)&L->dc, sizeof(L->dc)) < 0)
		L->send_errors++;
}

static void send_ctl(struct load *L, struct node *n, const struct ntm_ctl *m, uint64_t now)
{
	uint8_t pkt[PKT_MAX];
	int len = ntm_ctl_encode(m, pkt + NTM_DATA_HDR_LEN, PKT_MAX - NTM_DATA_OVERHEAD);

	if (len < 0 || (len = ntm_session_seal(&n->sess, pkt, (size_t)len)) < 0) {
		L->send_errors++;
		return;
	}
	send_dc(L, n->sock, pkt, (size_t)len);
	n->last_tx_ms = now;
}

static uint32_t node_of(const struct load *L, const struct node *n)
{
	return (uint32_t)(n - L->nodes);
}

/* ---- phase 1: register ---- */

static void send_init(struct load *L, struct regslot *r)
{
	uint8_t pkt[NTM_HS_INIT_LEN];
	struct node *n = &L->nodes[r->node];

	memcpy(pkt, r->init, sizeof(pkt));
	ntm_cookie_jar_stamp(&L->jars[n->sock], pkt, (const struct sockaddr *)&L->dc, now_ms());
	send_dc(L, n->sock, pkt, sizeof(pkt));
}

/* A new handshake for node k in slot r; the node's index in the run + 1
 * is its session index, so answers find it without a table. */
static void start_hs(struct load *L, struct regslot *r, uint32_t k, uint64_t now)
{
	struct node *n = &L->nodes[k];

	if (r->hs.active)
		ntm_noise_hs_clear(&r->hs.hs);
	ntm_session_clear(&n->sess);
	int len = ntm_hs_initiate(&r->hs, &n->id, L->dcpub, NTM_SUITE_AESGCM, NTM_PURPOSE_DC,
				  k + 1, 0, r->init, sizeof(r->init));
	if (len < 0) {
		L->send_errors++;
		return;
	}
	r->node = k;
	r->sent_ms = now;
	r->cookie_resent = false;
	r->used = true;
	n->state = N_HS;
	n->slot = (int32_t)(r - L->regs);
	send_init(L, r);
}

static void reg_release(struct load *L, struct node *n)
{
	struct regslot *r = &L->regs[n->slot];

	if (r->hs.active)
		ntm_noise_hs_clear(&r->hs.hs);
	r->hs.active = false;
	r->used = false;
	L->reg_free[L->nreg_free++] = (uint32_t)n->slot;
	n->slot = -1;
}

static void send_register(struct load *L, struct node *n, uint64_t now)
{
	struct ntm_ctl m = { .type = NTM_CTL_REGISTER };
	char name[NTM_NAME_MAX + 1];

	m.u.reg.req_id = node_of(L, n) + 1;
	m.u.reg.listen_port = 7541;
	m.u.reg.incarnation = L->seed << 32 | (node_of(L, n) + 1);
	node_name(name, sizeof(name), L->first + node_of(L, n), L->zone);
	ntm_name_set(&m.u.reg.name, name);
	send_ctl(L, n, &m, now);
}

/* The node whose session index the DC put in a reply, or NULL. */
static struct node *by_index(struct load *L, uint32_t idx)
{
	if (idx == 0 || idx > L->count) {
		L->rx_unknown++;
		return NULL;
	}
	return &L->nodes[idx - 1];
}

static void on_hs_resp(struct load *L, const uint8_t *buf, size_t len, uint64_t now)
{
	struct ntm_hs_resp m;

	if (ntm_hs_resp_decode(buf, len, &m) < 0)
		return;
	struct node *n = by_index(L, m.receiver);
	if (!n || n->state != N_HS) {
		L->rx_unknown++;
		return;
	}
	struct regslot *r = &L->regs[n->slot];
	if (ntm_hs_complete(&r->hs, &n->id, buf, len, &n->sess) < 0) {
		L->rx_unknown++;
		return;
	}
	n->state = N_REG;
	send_register(L, n, now);
}

static void on_cookie(struct load *L, const uint8_t *buf, size_t len, uint64_t now)
{
	struct ntm_cookie_reply m;
	uint8_t cookie[NTM_COOKIE_LEN];

	if (ntm_cookie_reply_decode(buf, len, &m) < 0)
		return;
	struct node *n = by_index(L, m.receiver);
	if (!n || n->state != N_HS) {
		L->rx_unknown++;
		return;
	}
	struct regslot *r = &L->regs[n->slot];
	if (ntm_cookie_reply_open(&m, L->cookie_key, r->init + NTM_HS_INIT_MAC1_OFF, cookie) < 0) {
		L->rx_unknown++;
		return;
	}
	L->cookies++;
	ntm_cookie_jar_put(&L->jars[n->sock], (const struct sockaddr *)&L->dc, cookie, now);
	if (!r->cookie_resent) {
		r->cookie_resent = true;
		send_init(L, r);
	}
}

static void on_refuse(struct load *L, const uint8_t *buf, size_t len)
{
	struct ntm_hs_refuse m;

	if (ntm_hs_refuse_decode(buf, len, &m) < 0)
		return;
	struct node *n = by_index(L, m.receiver);
	if (n && n->state == N_HS)
		L->refused++; /* the slot times out and starts over */
}

static void on_register_ack(struct load *L, struct node *n, const struct ntm_ctl_register_ack *a,
			    uint64_t now)
{
	if (n->state != N_REG || a->req_id != node_of(L, n) + 1)
		return;
	if (a->status != NTM_REG_OK) {
		L->reg_bad_status++;
		return; /* times out and starts over */
	}
	if (!L->ka_ms)
		L->ka_ms = (uint64_t)a->keepalive_s * 1000;
	n->state = N_UP;
	n->last_tx_ms = now;
	reg_release(L, n);
	L->registered++;
}

/* ---- phase 2: direct ---- */

static void send_direction(struct load *L, struct node *n, uint32_t peer, uint64_t now)
{
	struct ntm_ctl m = { .type = NTM_CTL_DIRECTION_REQ };
	char name[NTM_NAME_MAX + 1];
	uint32_t s = L->dir_free[--L->ndir_free];
	struct dirslot *d = &L->dslots[s];

	d->req_id = (uint32_t)++L->dir_gen << 16 | s;
	if (!d->req_id)
		d->req_id = (uint32_t)++L->dir_gen << 16 | s;
	d->node = node_of(L, n);
	d->sent_ms = now;
	d->used = true;
	m.u.dir_req.req_id = d->req_id;
	m.u.dir_req.kind = NTM_DIR_BY_NAME;
	node_name(name, sizeof(name), L->first + peer, L->zone);
	ntm_name_set(&m.u.dir_req.name, name);
	send_ctl(L, n, &m, now);
	L->requests++;
}

static struct dirslot *dir_find(struct load *L, uint32_t req_id, const struct node *n)
{
	uint32_t s = req_id & 0xffff;

	if (s >= L->window || !L->dslots[s].used || L->dslots[s].req_id != req_id ||
	    L->dslots[s].node != node_of(L, n))
		return NULL;
	return &L->dslots[s];
}

static void dir_release(struct load *L, struct dirslot *d)
{
	d->used = false;
	L->dir_free[L->ndir_free++] = (uint32_t)(d - L->dslots);
}

static void on_route(struct load *L, struct node *n, const struct ntm_ctl_route_direction *rd)
{
	if (rd->req_id == 0) {
		L->peer_copies++;
		return;
	}
	struct dirslot *d = dir_find(L, rd->req_id, n);
	if (!d) {
		L->rx_unknown++;
		return;
	}
	L->routes++;
	dir_release(L, d);
}

static void on_nak(struct load *L, struct node *n, const struct ntm_ctl_direction_nak *k)
{
	struct dirslot *d = dir_find(L, k->req_id, n);

	if (!d) {
		L->rx_unknown++;
		return;
	}
	if (k->status <= NTM_NAK_STATUS_MAX)
		L->naks[k->status]++;
	dir_release(L, d);
}

/* ---- receiving ---- */

static void on_data(struct load *L, uint8_t *buf, size_t len, uint64_t now)
{
	struct ntm_data d;
	struct ntm_ctl c;
	size_t ptlen;

	if (ntm_data_decode(buf, len, &d) < 0)
		return;
	struct node *n = by_index(L, d.receiver);
	if (!n || !n->sess.valid || ntm_session_open(&n->sess, buf, len, &ptlen) < 0 ||
	    ntm_ctl_decode(buf + NTM_DATA_HDR_LEN, ptlen, &c) < 0) {
		L->rx_unknown++;
		return;
	}
	switch (c.type) {
	case NTM_CTL_REGISTER_ACK:
		on_register_ack(L, n, &c.u.reg_ack, now);
		break;
	case NTM_CTL_ROUTE_DIRECTION:
		on_route(L, n, &c.u.route);
		break;
	case NTM_CTL_DIRECTION_NAK:
		on_nak(L, n, &c.u.nak);
		break;
	case NTM_CTL_KEEPALIVE_ACK:
		break;
	default:
		L->rx_unknown++;
	}
}

static void receive(struct load *L, int fd)
{
	uint8_t buf[PKT_MAX];

	for (int k = 0; k < RX_BURST; k++) {
		ssize_t len = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (len < 0)
			return;
		uint64_t now = now_ms();
		switch (ntm_wire_type(buf, (size_t)len)) {
		case NTM_MSG_HS_RESP:
			on_hs_resp(L, buf, (size_t)len, now);
			break;
		case NTM_MSG_COOKIE_REPLY:
			on_cookie(L, buf, (size_t)len, now);
			break;
		case NTM_MSG_HS_REFUSE:
			on_refuse(L, buf, (size_t)len);
			break;
		case NTM_MSG_DATA:
			on_data(L, buf, (size_t)len, now);
			break;
		default:
			L->rx_unknown++;
		}
	}
}

static void poll_all(struct load *L, struct pollfd *pfd, int ms)
{
	if (poll(pfd, L->sources, ms) <= 0)
		return;
	for (uint32_t s = 0; s < L->sources; s++)
		if (pfd[s].revents & POLLIN)
			receive(L, pfd[s].fd);
}

/* KEEPALIVE for registered nodes whose last message is an interval old. */
static void keepalives(struct load *L, uint64_t now)
{
	if (!L->ka_ms)
		return;
	for (int k = 0; k < KA_SCAN; k++) {
		struct node *n = &L->nodes[L->ka_cursor];
		L->ka_cursor = (L->ka_cursor + 1) % L->count;
		if (n->state != N_UP || now - n->last_tx_ms < L->ka_ms)
			continue;
		struct ntm_ctl m = { .type = NTM_CTL_KEEPALIVE };
		m.u.ka.seq = ++n->ka_seq;
		send_ctl(L, n, &m, now);
		L->keepalives++;
	}
}

static void phase_register(struct load *L, struct pollfd *pfd, uint64_t deadline)
{
	uint32_t next = 0;

	while (L->registered < L->count && now_ms() < deadline) {
		uint64_t now = now_ms();
		while (next < L->count && L->nreg_free) {
			uint32_t s = L->reg_free[--L->nreg_free];
			start_hs(L, &L->regs[s], next++, now);
		}
		for (uint32_t s = 0; s < L->window; s++) {
			struct regslot *r = &L->regs[s];
			if (r->used && now - r->sent_ms >= RETRY_MS) {
				L->retries++;
				start_hs(L, r, r->node, now);
			}
		}
		keepalives(L, now);
		poll_all(L, pfd, 10);
	}
}

/* The j-th peer of node k: spread over the run, never k itself. */
static uint32_t peer_of(const struct load *L, uint32_t k, uint32_t j)
{
	uint32_t step = 1 + (uint32_t)(((uint64_t)(j + 1) * 7919) % (L->count - 1));
	return (k + step) % L->count;
}

static void phase_direct(struct load *L, struct pollfd *pfd, uint64_t deadline)
{
	uint32_t k = 0, j = 0;
	uint64_t answered_ms = 0;

	if (L->count < 2)
		return;
	for (;;) {
		uint64_t now = now_ms();
		if (now >= deadline)
			break;
		while (k < L->count && L->ndir_free) {
			if (L->nodes[k].state == N_UP)
				send_direction(L, &L->nodes[k], peer_of(L, k, j), now);
			if (++j == L->dirs) {
				j = 0;
				k++;
			}
		}
		for (uint32_t s = 0; s < L->window; s++) {
			struct dirslot *d = &L->dslots[s];
			if (d->used && now - d->sent_ms >= LOST_MS) {
				L->lost++;
				dir_release(L, d);
			}
		}
		/* Every request answered: the targets' copies of the last
		 * routes may still be on their way (the DC sends them after
		 * the requester's); wait for them, LOST_MS at most. */
		if (k == L->count && L->ndir_free == L->window) {
			if (!answered_ms)
				answered_ms = now;
			if (L->peer_copies >= L->routes || now - answered_ms >= LOST_MS)
				break;
		}
		keepalives(L, now);
		poll_all(L, pfd, 10);
	}
}

static void phase_hold(struct load *L, struct pollfd *pfd, uint64_t until)
{
	uint64_t now;

	while ((now = now_ms()) < until) {
		keepalives(L, now);
		poll_all(L, pfd, 10);
	}
}

/* ---- run ---- */

static int parse_endpoint(const char *s, struct sockaddr_in *sin)
{
	char host[64];
	unsigned long port;
	const char *colon = strrchr(s, ':');

	if (!colon || (size_t)(colon - s) >= sizeof(host))
		return -EINVAL;
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = 0;
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	if (inet_pton(AF_INET, host, &sin->sin_addr) != 1 || parse_num(colon + 1, 1, 65535, &port) < 0)
		return -EINVAL;
	sin->sin_port = htons((uint16_t)port);
	return 0;
}

static int open_sources(struct load *L)
{
	for (uint32_t s = 0; s < L->sources; s++) {
		struct sockaddr_in sin = { .sin_family = AF_INET };
		int big = SOCKBUF;
		int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return -errno;
		if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big)) < 0)
			setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
		if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &big, sizeof(big)) < 0)
			setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
		sin.sin_addr.s_addr = htonl(L->base + s + 1);
		if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
			int e = errno;
			char a[INET_ADDRSTRLEN];
			inet_ntop(AF_INET, &sin.sin_addr, a, sizeof(a));
			fprintf(stderr, PROG ": bind %s: %s\n", a, strerror(e));
			close(fd);
			return -e;
		}
		L->fds[s] = fd;
	}
	return 0;
}

static int run_opts(struct load *L, int argc, char **argv)
{
	unsigned long v;
	int opt;
	bool have_dc = false, have_key = false, have_n = false;
	struct in_addr base;

	L->sources = 64;
	L->window = 64;
	L->dirs = 1;
	L->timeout_s = 600;
	L->base = 0x7f010000; /* 127.1.0.0 */
	optind = 2;
	while ((opt = getopt(argc, argv, "d:k:z:s:f:n:S:B:w:r:t:H:p:")) != -1) {
		switch (opt) {
		case 'd':
			if (parse_endpoint(optarg, &L->dc) < 0)
				return -EINVAL;
			have_dc = true;
			break;
		case 'k':
			if (ntm_key_from_base64(L->dcpub, optarg) < 0)
				return -EINVAL;
			have_key = true;
			break;
		case 'z':
			if (strlen(optarg) > 200)
				return -EINVAL;
			strcpy(L->zone, optarg);
			break;
		case 's':
			if (parse_num(optarg, 0, UINT32_MAX, &v) < 0)
				return -EINVAL;
			L->seed = v;
			break;
		case 'f':
			if (parse_num(optarg, 0, UINT32_MAX - COUNT_MAX, &v) < 0)
				return -EINVAL;
			L->first = (uint32_t)v;
			break;
		case 'n':
			if (parse_num(optarg, 1, COUNT_MAX, &v) < 0)
				return -EINVAL;
			L->count = (uint32_t)v;
			have_n = true;
			break;
		case 'S':
			if (parse_num(optarg, 1, SOURCES_MAX, &v) < 0)
				return -EINVAL;
			L->sources = (uint32_t)v;
			break;
		case 'B':
			if (inet_pton(AF_INET, optarg, &base) != 1)
				return -EINVAL;
			L->base = ntohl(base.s_addr);
			break;
		case 'w':
			if (parse_num(optarg, 1, WINDOW_MAX, &v) < 0)
				return -EINVAL;
			L->window = (uint32_t)v;
			break;
		case 'r':
			if (parse_num(optarg, 0, DIRS_MAX, &v) < 0)
				return -EINVAL;
			L->dirs = (uint32_t)v;
			break;
		case 't':
			if (parse_num(optarg, 1, 86400, &v) < 0)
				return -EINVAL;
			L->timeout_s = (unsigned)v;
			break;
		case 'H':
			if (parse_num(optarg, 0, 86400, &v) < 0)
				return -EINVAL;
			L->hold_s = (unsigned)v;
			break;
		case 'p':
			if (parse_num(optarg, 1, INT32_MAX, &v) < 0)
				return -EINVAL;
			L->dcpid = (int)v;
			break;
		default:
			return -EINVAL;
		}
	}
	if (optind != argc || !have_dc || !have_key || !have_n || !L->zone[0])
		return -EINVAL;
	return 0;
}

static int setup(struct load *L)
{
	L->fds = calloc(L->sources, sizeof(*L->fds));
	L->jars = calloc(L->sources, sizeof(*L->jars));
	L->nodes = calloc(L->count, sizeof(*L->nodes));
	L->regs = calloc(L->window, sizeof(*L->regs));
	L->reg_free = calloc(L->window, sizeof(*L->reg_free));
	L->dslots = calloc(L->window, sizeof(*L->dslots));
	L->dir_free = calloc(L->window, sizeof(*L->dir_free));
	if (!L->fds || !L->jars || !L->nodes || !L->regs || !L->reg_free || !L->dslots ||
	    !L->dir_free)
		return -ENOMEM;
	for (uint32_t s = 0; s < L->window; s++) {
		L->reg_free[L->nreg_free++] = L->window - 1 - s;
		L->dir_free[L->ndir_free++] = L->window - 1 - s;
	}
	if (ntm_cookie_reply_key(L->cookie_key, L->dcpub) < 0)
		return -EINVAL;
	for (uint32_t k = 0; k < L->count; k++) {
		struct node *n = &L->nodes[k];
		if (node_identity(&n->id, L->seed, L->first + k) < 0)
			return -EINVAL;
		n->sock = (uint16_t)(k % L->sources);
		n->slot = -1;
	}
	return open_sources(L);
}

static int run(int argc, char **argv)
{
	static struct load L;
	int ret = run_opts(&L, argc, argv);

	if (ret < 0)
		return 2;
	ret = setup(&L);
	if (ret < 0) {
		fprintf(stderr, PROG ": setup: %s\n", strerror(-ret));
		return 1;
	}
	struct pollfd *pfd = calloc(L.sources, sizeof(*pfd));
	if (!pfd)
		return 1;
	for (uint32_t s = 0; s < L.sources; s++) {
		pfd[s].fd = L.fds[s];
		pfd[s].events = POLLIN;
	}
	long rss0 = L.dcpid ? dc_rss_kb(L.dcpid) : -1, cpu0 = L.dcpid ? dc_cpu_ms(L.dcpid) : -1;
	long self0 = self_cpu_ms();
	uint64_t t0 = now_ms(), deadline = t0 + (uint64_t)L.timeout_s * 1000;
	printf("run: keys ready nodes=%u sources=%u window=%u\n", (unsigned)L.count,
	       (unsigned)L.sources, (unsigned)L.window);
	fflush(stdout);
	phase_register(&L, pfd, deadline);
	uint64_t t1 = now_ms();
	long rss1 = L.dcpid ? dc_rss_kb(L.dcpid) : -1, cpu1 = L.dcpid ? dc_cpu_ms(L.dcpid) : -1;
	long self1 = self_cpu_ms();
	uint64_t ka1 = L.keepalives;
	printf("register: nodes=%u registered=%llu ms=%llu rate=%.0f retries=%llu cookies=%llu "
	       "refused=%llu bad_status=%llu send_errors=%llu keepalives=%llu\n",
	       (unsigned)L.count, (unsigned long long)L.registered, (unsigned long long)(t1 - t0),
	       t1 > t0 ? L.registered * 1000.0 / (double)(t1 - t0) : 0.0,
	       (unsigned long long)L.retries, (unsigned long long)L.cookies,
	       (unsigned long long)L.refused, (unsigned long long)L.reg_bad_status,
	       (unsigned long long)L.send_errors, (unsigned long long)ka1);
	fflush(stdout);
	phase_direct(&L, pfd, t1 + (uint64_t)L.timeout_s * 1000);
	uint64_t t2 = now_ms();
	long rss2 = L.dcpid ? dc_rss_kb(L.dcpid) : -1, cpu2 = L.dcpid ? dc_cpu_ms(L.dcpid) : -1;
	long self2 = self_cpu_ms();
	printf("direct: requests=%llu routes=%llu naks=%llu not_found=%llu offline=%llu "
	       "refused=%llu busy=%llu lost=%llu peer_copies=%llu ms=%llu rate=%.0f keepalives=%llu\n",
	       (unsigned long long)L.requests, (unsigned long long)L.routes,
	       (unsigned long long)(L.naks[1] + L.naks[2] + L.naks[3] + L.naks[4]),
	       (unsigned long long)L.naks[NTM_NAK_NOT_FOUND],
	       (unsigned long long)L.naks[NTM_NAK_OFFLINE], (unsigned long long)L.naks[NTM_NAK_REFUSED],
	       (unsigned long long)L.naks[NTM_NAK_BUSY], (unsigned long long)L.lost,
	       (unsigned long long)L.peer_copies, (unsigned long long)(t2 - t1),
	       t2 > t1 ? L.routes * 1000.0 / (double)(t2 - t1) : 0.0,
	       (unsigned long long)(L.keepalives - ka1));
	printf("load: keepalives=%llu rx_unknown=%llu cpu_ms_register=%ld cpu_ms_direct=%ld\n",
	       (unsigned long long)L.keepalives, (unsigned long long)L.rx_unknown, self1 - self0,
	       self2 - self1);
	if (L.dcpid)
		printf("dc: pid=%d rss_kb_start=%ld rss_kb_registered=%ld rss_kb_end=%ld "
		       "cpu_ms_register=%ld cpu_ms_direct=%ld\n",
		       L.dcpid, rss0, rss1, rss2, cpu1 - cpu0, cpu2 - cpu1);
	if (L.hold_s) {
		uint64_t ka0 = L.keepalives;
		long h0 = L.dcpid ? dc_cpu_ms(L.dcpid) : -1;
		phase_hold(&L, pfd, t2 + (uint64_t)L.hold_s * 1000);
		uint64_t t3 = now_ms();
		long h1 = L.dcpid ? dc_cpu_ms(L.dcpid) : -1;
		printf("hold: ms=%llu keepalives=%llu dc_cpu_ms=%ld\n", (unsigned long long)(t3 - t2),
		       (unsigned long long)(L.keepalives - ka0), h1 - h0);
	}
	return L.registered == L.count && L.routes == L.requests ? 0 : 1;
}

int main(int argc, char **argv)
{
	int ret = 2;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc >= 2 && !strcmp(argv[1], "enrol"))
		ret = enrol(argc, argv);
	else if (argc >= 2 && !strcmp(argv[1], "run"))
		ret = run(argc, argv);
	if (ret == 2)
		fprintf(stderr, "usage: " PROG " enrol BACKEND LOCATION ZONE SEED FIRST COUNT\n"
			"       " PROG " run -d ADDR:PORT -k DCPUB -z ZONE -s SEED -f FIRST -n COUNT\n"
			"               [-S SOURCES] [-B BASE] [-w WINDOW] [-r DIRS] [-t SECONDS] "
			"[-H SECONDS] [-p DCPID]\n");
	return ret;
}
