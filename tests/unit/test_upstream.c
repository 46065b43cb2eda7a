/* test_upstream.c - the forwarding engine against fake_dns servers on
 * 127.0.0.x, and the reply cache with an injected clock. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <ldns/ldns.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "cache.h"
#include "evloop.h"
#include "upstream.h"

#ifndef NTM_FAKE_DNS
#define NTM_FAKE_DNS "tests/unit/fake_dns"
#endif

#define MAX_FAKES 3

struct fake {
	pid_t pid;
	struct sockaddr_storage ss;
	char log[256];
};

static struct ntm_loop *loop;
static char tmpdir[64];
static struct fake fakes[MAX_FAKES];
static int nfakes;

/* ---- fake servers ---- */

static void read_ready(int fd, struct fake *f)
{
	char line[64] = "";
	size_t off = 0;
	struct pollfd p = { .fd = fd, .events = POLLIN };
	struct sockaddr_in *a = (struct sockaddr_in *)&f->ss;

	while (off < sizeof(line) - 1 && !strchr(line, '\n')) {
		ssize_t n;

		ck_assert_msg(poll(&p, 1, 5000) == 1, "fake_dns did not start");
		n = read(fd, line + off, sizeof(line) - 1 - off);
		ck_assert_msg(n > 0, "%s exited before it was ready", NTM_FAKE_DNS);
		off += (size_t)n;
		line[off] = 0;
	}
	ck_assert_msg(strncmp(line, "ready ", 6) == 0, "fake_dns said %s", line);
	a->sin_port = htons((uint16_t)atoi(line + 6));
}

/* Starts fake_dns in mode on ip (port picked by it) and returns it. */
static struct fake *fake_start(const char *ip, const char *mode)
{
	struct fake *f = &fakes[nfakes];
	struct sockaddr_in *a = (struct sockaddr_in *)&f->ss;
	char addr[64];
	int fds[2];

	ck_assert_int_lt(nfakes, MAX_FAKES);
	memset(f, 0, sizeof(*f));
	a->sin_family = AF_INET;
	ck_assert_int_eq(inet_pton(AF_INET, ip, &a->sin_addr), 1);
	snprintf(addr, sizeof(addr), "%s:0", ip);
	snprintf(f->log, sizeof(f->log), "%s/fake%d.log", tmpdir, nfakes);
	ck_assert_int_eq(pipe2(fds, O_CLOEXEC), 0);
	f->pid = fork();
	ck_assert_int_ge(f->pid, 0);
	if (f->pid == 0) {
		dup2(fds[1], 1);
		execl(NTM_FAKE_DNS, "fake_dns", "-a", addr, "-m", mode, "-l", f->log, "-t", "30",
		      (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	read_ready(fds[0], f);
	close(fds[0]);
	nfakes++;
	return f;
}

static void fakes_stop(void)
{
	for (int i = 0; i < nfakes; i++) {
		kill(fakes[i].pid, SIGTERM);
		waitpid(fakes[i].pid, NULL, 0);
		unlink(fakes[i].log);
	}
	nfakes = 0;
}

/* Lines of f's query log equal to name (-1: all lines). */
static int log_count(const struct fake *f, const char *name)
{
	char line[300];
	int n = 0;
	FILE *fp = fopen(f->log, "re");

	if (!fp)
		return 0;
	while (fgets(line, sizeof(line), fp)) {
		line[strcspn(line, "\n")] = 0;
		if (!name || strcasecmp(line, name) == 0)
			n++;
	}
	fclose(fp);
	return n;
}

/* ---- the caller's side: ops built with ldns ---- */

struct tq {
	const char *name;
	int builds, builds_edns;
};

static int tq_build(void *ctx, uint16_t id, bool edns, uint8_t *out, size_t cap)
{
	struct tq *t = ctx;
	ldns_rdf *name = ldns_dname_new_frm_str(t->name);
	ldns_pkt *p = ldns_pkt_query_new(name, LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN, LDNS_RD);
	uint8_t *wire = NULL;
	size_t len = 0;
	int ret = -EINVAL;

	ldns_pkt_set_id(p, id);
	if (edns)
		ldns_pkt_set_edns_udp_size(p, 1232);
	t->builds++;
	t->builds_edns += edns;
	if (ldns_pkt2wire(&wire, p, &len) == LDNS_STATUS_OK && len <= cap) {
		memcpy(out, wire, len);
		ret = (int)len;
	}
	free(wire);
	ldns_pkt_free(p);
	return ret;
}

static int tq_match(void *ctx, uint16_t id, const uint8_t *reply, size_t len)
{
	struct tq *t = ctx;
	ldns_pkt *p = NULL;
	ldns_rdf *name = ldns_dname_new_frm_str(t->name);
	int ret = -EBADMSG;

	if (ldns_wire2pkt(&p, reply, len) == LDNS_STATUS_OK && ldns_pkt_id(p) == id &&
	    ldns_pkt_qr(p) && ldns_pkt_qdcount(p) == 1) {
		ldns_rr *q = ldns_rr_list_rr(ldns_pkt_question(p), 0);
		if (ldns_dname_compare(ldns_rr_owner(q), name) == 0 &&
		    ldns_rr_get_type(q) == LDNS_RR_TYPE_A && ldns_rr_get_class(q) == LDNS_RR_CLASS_IN)
			ret = 0;
	}
	ldns_pkt_free(p);
	ldns_rdf_deep_free(name);
	return ret;
}

static const struct ups_ops tq_ops = { .build = tq_build, .match = tq_match };

struct result {
	int calls;
	int status;
	size_t len;
	uint8_t reply[4096];
	uint64_t at_ms;
};

static int ndone;

static void on_done(void *arg, int status, const uint8_t *reply, size_t len)
{
	struct result *r = arg;

	r->calls++;
	r->status = status;
	r->at_ms = ntm_loop_now_ms();
	ck_assert(status == 0 ? reply != NULL : reply == NULL);
	if (reply && len <= sizeof(r->reply)) {
		memcpy(r->reply, reply, len);
		r->len = len;
	}
	ndone++;
}

/* Runs the loop until `want` done callbacks have run, at most max_ms. */
static void run_until(int want, unsigned max_ms)
{
	uint64_t end = ntm_loop_now_ms() + max_ms;

	while (ndone < want && ntm_loop_now_ms() < end)
		ck_assert_int_eq(ntm_loop_run_once(loop, 20), 0);
	ck_assert_int_eq(ndone, want);
}

static uint64_t hash_of(const char *s)
{
	uint64_t h = 1469598103934665603ull;

	while (*s)
		h = (h ^ (uint8_t)*s++) * 1099511628211ull;
	return h;
}

/* Forwards name over the engine and returns ups_forward's result. */
static int forward(struct ups *u, struct tq *t, bool tcp, struct result *r)
{
	return ups_forward(u, &tq_ops, t, hash_of(t->name), (const uint8_t *)t->name,
			   strlen(t->name), tcp, on_done, r, NULL);
}

static struct ups *engine(const struct fake **f, size_t n, unsigned attempt_ms,
			  unsigned deadline_ms)
{
	struct sockaddr_storage s[MAX_FAKES];
	struct ups_params p = { .attempt_ms = attempt_ms, .deadline_ms = deadline_ms };
	struct ups *u;

	for (size_t i = 0; i < n; i++)
		s[i] = f[i]->ss;
	ck_assert_int_eq(ups_new(&u, loop, s, n, &p), 0);
	return u;
}

static ldns_pkt *parse(const struct result *r)
{
	ldns_pkt *p = NULL;

	ck_assert_int_eq(ldns_wire2pkt(&p, r->reply, r->len), LDNS_STATUS_OK);
	return p;
}

static void assert_answer(const struct result *r, size_t ancount, bool tc)
{
	ldns_pkt *p;

	ck_assert_int_eq(r->calls, 1);
	ck_assert_int_eq(r->status, 0);
	p = parse(r);
	ck_assert_int_eq(ldns_pkt_ancount(p), ancount);
	ck_assert_int_eq(ldns_pkt_tc(p), tc);
	ck_assert_int_eq(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
	if (ancount) {
		char *a = ldns_rdf2str(ldns_rr_rdf(ldns_rr_list_rr(ldns_pkt_answer(p), 0), 0));
		ck_assert_str_eq(a, "192.0.2.1");
		free(a);
	}
	ldns_pkt_free(p);
}

static void setup(void)
{
	strcpy(tmpdir, "/tmp/test_upstream.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	ck_assert_int_eq(ntm_loop_new(&loop), 0);
	ndone = 0;
	nfakes = 0;
}

static void teardown(void)
{
	fakes_stop();
	ntm_loop_free(loop);
	loop = NULL;
	rmdir(tmpdir);
}

/* ---- forwarding ---- */

START_TEST(an_ok_server_answers_and_sees_the_name_once)
{
	const struct fake *f[1] = { fake_start("127.0.0.21", "ok") };
	struct ups *u = engine(f, 1, 0, 0);
	struct tq t = { .name = "Www.Example.COM." };
	struct result r = {0};
	uint64_t t0 = ntm_loop_now_ms();

	ck_assert_int_eq(forward(u, &t, false, &r), 0);
	ck_assert_int_eq(r.calls, 0);      /* never inside ups_forward */
	run_until(1, 2000);
	assert_answer(&r, 1, false);
	(void)t0; /* one exchange, not a time: the log shows the name once */
	ck_assert_int_eq(log_count(f[0], "www.example.com."), 1);
	ck_assert_int_eq(t.builds_edns, 1);
	ck_assert_uint_eq(ups_inflight(u), 0);
	ups_free(u);
}
END_TEST

/* Each bad answer is ignored; the attempt times out and the second server
 * answers. */
static const char *const ignored_modes[] = { "wrong-id", "wrong-question", "garbage",
					     "from-other-port" };

START_TEST(a_mismatching_reply_is_ignored_then_the_next_server_answers)
{
	const struct fake *f[2] = { fake_start("127.0.0.22", ignored_modes[_i]),
				    fake_start("127.0.0.23", "ok") };
	struct ups *u = engine(f, 2, 300, 2000);
	struct tq t = { .name = "ignored.example." };
	struct result r = {0};
	uint64_t t0 = ntm_loop_now_ms();

	ck_assert_int_eq(forward(u, &t, false, &r), 0);
	run_until(1, 3000);
	assert_answer(&r, 1, false);
	ck_assert_uint_ge(r.at_ms - t0, 290);
	ck_assert_int_eq(log_count(f[0], "ignored.example."), 1);
	ck_assert_int_eq(log_count(f[1], "ignored.example."), 1);
	ck_assert_int_eq(t.builds, 2);     /* a fresh query (and ID) per attempt */
	ups_free(u);
}
END_TEST

static const char *const failover_modes[] = { "servfail", "refused" };

START_TEST(servfail_and_refused_fail_over_at_once)
{
	const struct fake *f[2] = { fake_start("127.0.0.24", failover_modes[_i]),
				    fake_start("127.0.0.25", "ok") };
	/* attempts of 10 s: failing over "at once" is far below one, on
	 * however loaded a machine */
	struct ups *u = engine(f, 2, 10000, 30000);
	struct tq t = { .name = "failover.example." };
	struct result r = {0};
	uint64_t t0 = ntm_loop_now_ms();

	ck_assert_int_eq(forward(u, &t, false, &r), 0);
	run_until(1, 30000);
	assert_answer(&r, 1, false);
	ck_assert_uint_lt(r.at_ms - t0, 5000);
	ck_assert_int_eq(log_count(f[0], "failover.example."), 1);
	ck_assert_int_eq(log_count(f[1], "failover.example."), 1);
	ups_free(u);
}
END_TEST

START_TEST(a_stalled_server_is_failed_over_after_its_timeout)
{
	const struct fake *f[2] = { fake_start("127.0.0.26", "stall"),
				    fake_start("127.0.0.27", "ok") };
	/* The overall deadline is far away: the answer must come from the
	 * second server after the first one's attempt timed out, however
	 * slowly a loaded machine schedules the fake servers (an upper bound
	 * on the time would test the machine, not the engine). */
	struct ups *u = engine(f, 2, 300, 20000);
	struct tq t = { .name = "stall.example." };
	struct result r = {0};
	uint64_t t0 = ntm_loop_now_ms();

	ck_assert_int_eq(forward(u, &t, false, &r), 0);
	run_until(1, 25000);
	assert_answer(&r, 1, false);
	ck_assert_uint_ge(r.at_ms - t0, 290);
	ups_free(u);
}
END_TEST

START_TEST(when_every_server_stalls_the_overall_deadline_ends_it)
{
	const struct fake *f[2] = { fake_start("127.0.0.28", "stall"),
				    fake_start("127.0.0.29", "stall") };
	struct ups *u = engine(f, 2, 2000, 3000);
	struct tq t = { .name = "deadline.example." };
	struct result r = {0};
	uint64_t t0 = ntm_loop_now_ms();

	ck_assert_int_eq(forward(u, &t, false, &r), 0);
	run_until(1, 10000);
	ck_assert_int_eq(r.status, -ETIMEDOUT);
	ck_assert_uint_ge(r.at_ms - t0, 2990);
	ck_assert_uint_lt(r.at_ms - t0, 3990);   /* not 2 x 2000 */
	ck_assert_int_eq(log_count(f[1], "deadline.example."), 1);
	ck_assert_uint_eq(ups_inflight(u), 0);
	ups_free(u);
}
END_TEST

START_TEST(an_unreachable_port_fails_over_without_waiting)
{
	const struct fake *f[2] = { fake_start("127.0.0.30", "ok"),
				    fake_start("127.0.0.31", "ok") };
	struct fake dead = *f[0];
	const struct fake *g[2] = { &dead, f[1] };
	struct sockaddr_in *a = (struct sockaddr_in *)&dead.ss;
	struct ups *u;
	struct tq t = { .name = "icmp.example." };
	struct result r = {0};
	uint64_t t0 = ntm_loop_now_ms();

	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	socklen_t al = sizeof(*a);

	a->sin_port = 0;                /* a port the kernel just freed: nobody listens */
	ck_assert_int_eq(bind(fd, (struct sockaddr *)a, al), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)a, &al), 0);
	close(fd);
	u = engine(g, 2, 10000, 30000);
	ck_assert_int_eq(forward(u, &t, false, &r), 0);
	run_until(1, 30000);
	assert_answer(&r, 1, false);
	ck_assert_uint_lt(r.at_ms - t0, 5000);   /* not one 10 s attempt */
	ups_free(u);
}
END_TEST

START_TEST(formerr_to_an_edns_query_is_retried_without_edns)
{
	const struct fake *f[1] = { fake_start("127.0.0.32", "formerr-edns") };
	struct ups *u = engine(f, 1, 1000, 3000);
	struct tq t = { .name = "noedns.example." };
	struct result r = {0};
	ldns_pkt *p;

	ck_assert_int_eq(forward(u, &t, false, &r), 0);
	run_until(1, 2000);
	assert_answer(&r, 1, false);
	ck_assert_int_eq(t.builds, 2);
	ck_assert_int_eq(t.builds_edns, 1);
	p = parse(&r);
	ck_assert(!ldns_pkt_edns(p));
	ldns_pkt_free(p);
	ck_assert_int_eq(log_count(f[0], "noedns.example."), 2);
	ups_free(u);
}
END_TEST

START_TEST(a_truncated_reply_goes_back_to_a_udp_client_as_it_is)
{
	const struct fake *f[1] = { fake_start("127.0.0.33", "truncate") };
	struct ups *u = engine(f, 1, 1000, 3000);
	struct tq t = { .name = "tc.example." };
	struct result r = {0};

	ck_assert_int_eq(forward(u, &t, false, &r), 0);
	run_until(1, 2000);
	assert_answer(&r, 0, true);
	ck_assert_int_eq(log_count(f[0], "tc.example."), 1);
	ups_free(u);
}
END_TEST

START_TEST(a_truncated_reply_is_retried_over_tcp_for_a_tcp_client)
{
	const struct fake *f[1] = { fake_start("127.0.0.34", "truncate") };
	struct ups *u = engine(f, 1, 1000, 3000);
	struct tq t = { .name = "tc.example." };
	struct result r = {0};

	ck_assert_int_eq(forward(u, &t, true, &r), 0);
	run_until(1, 2000);
	assert_answer(&r, 1, false);
	ck_assert_int_eq(log_count(f[0], "tc.example."), 2);    /* UDP, then TCP */
	ck_assert_int_eq(t.builds, 2);
	ups_free(u);
}
END_TEST

START_TEST(identical_queries_in_flight_share_one_upstream_exchange)
{
	const struct fake *f[1] = { fake_start("127.0.0.35", "ok") };
	struct ups *u = engine(f, 1, 1000, 3000);
	struct tq t[10];
	struct result r[10];

	memset(r, 0, sizeof(r));
	for (int i = 0; i < 10; i++) {
		t[i] = (struct tq){ .name = "shared.example." };
		ck_assert_int_eq(forward(u, &t[i], false, &r[i]), 0);
	}
	ck_assert_uint_eq(ups_inflight(u), 1);
	run_until(10, 2000);
	for (int i = 0; i < 10; i++)
		assert_answer(&r[i], 1, false);
	ck_assert_int_eq(log_count(f[0], NULL), 1);
	ups_free(u);
}
END_TEST

START_TEST(the_in_flight_and_waiter_caps_refuse_with_ebusy)
{
	const struct fake *f[1] = { fake_start("127.0.0.36", "stall") };
	struct sockaddr_storage s = f[0]->ss;
	struct ups_params p = { .max_inflight = 2, .max_waiters = 3 };
	struct ups *u;
	struct tq a = { .name = "a.example." }, b = { .name = "b.example." },
		  c = { .name = "c.example." };
	struct result r[6];

	memset(r, 0, sizeof(r));
	ck_assert_int_eq(ups_new(&u, loop, &s, 1, &p), 0);
	ck_assert_int_eq(forward(u, &a, false, &r[0]), 0);
	ck_assert_int_eq(forward(u, &b, false, &r[1]), 0);
	ck_assert_int_eq(forward(u, &c, false, &r[2]), -EBUSY);
	ck_assert_int_eq(forward(u, &a, false, &r[3]), 0);
	ck_assert_int_eq(forward(u, &a, false, &r[4]), 0);
	ck_assert_int_eq(forward(u, &a, false, &r[5]), -EBUSY);
	ck_assert_uint_eq(ups_inflight(u), 2);
	ups_free(u);
	ck_assert_int_eq(ndone, 4);
	ck_assert_int_eq(r[0].status, -ECANCELED);
	ck_assert_int_eq(r[2].calls, 0);
	ck_assert_int_eq(r[5].calls, 0);
}
END_TEST

START_TEST(a_cancelled_waiter_leaves_the_others_answered)
{
	const struct fake *f[1] = { fake_start("127.0.0.37", "ok") };
	struct ups *u = engine(f, 1, 1000, 3000);
	struct tq t1 = { .name = "cancel.example." }, t2 = t1, t3 = { .name = "gone.example." };
	struct result r1 = {0}, r2 = {0}, r3 = {0};
	struct ups_waiter *w1, *w3;

	ck_assert_int_eq(ups_forward(u, &tq_ops, &t1, 1, (const uint8_t *)"k", 1, false, on_done,
				     &r1, &w1), 0);
	ck_assert_int_eq(ups_forward(u, &tq_ops, &t2, 1, (const uint8_t *)"k", 1, false, on_done,
				     &r2, NULL), 0);
	ck_assert_int_eq(ups_forward(u, &tq_ops, &t3, 2, (const uint8_t *)"g", 1, false, on_done,
				     &r3, &w3), 0);
	ups_cancel(u, w1);
	ck_assert_int_eq(r1.status, -ECANCELED);
	ups_cancel(u, w3);
	ck_assert_int_eq(r3.status, -ECANCELED);
	ck_assert_uint_eq(ups_inflight(u), 1);
	run_until(3, 2000);
	assert_answer(&r2, 1, false);
	ck_assert_int_eq(r1.calls, 1);
	ups_free(u);
}
END_TEST

/* A done callback that cancels a later waiter of the same exchange and
 * starts a new forward for the same key. */
static struct ups *reentrant_u;
static struct ups_waiter *reentrant_victim;
static struct tq reentrant_t = { .name = "again.example." };
static struct result reentrant_r[3];

static void on_done_reenter(void *arg, int status, const uint8_t *reply, size_t len)
{
	on_done(arg, status, reply, len);
	ups_cancel(reentrant_u, reentrant_victim);
	ck_assert_int_eq(forward(reentrant_u, &reentrant_t, false, &reentrant_r[2]), 0);
	ck_assert_uint_eq(ups_inflight(reentrant_u), 1);
}

START_TEST(a_done_callback_may_cancel_a_waiter_and_forward_again)
{
	const struct fake *f[1] = { fake_start("127.0.0.38", "ok") };
	struct tq t = reentrant_t;

	memset(reentrant_r, 0, sizeof(reentrant_r));
	reentrant_u = engine(f, 1, 1000, 3000);
	ck_assert_int_eq(ups_forward(reentrant_u, &tq_ops, &t, hash_of(t.name),
				     (const uint8_t *)t.name, strlen(t.name), false,
				     on_done_reenter, &reentrant_r[0], NULL), 0);
	ck_assert_int_eq(ups_forward(reentrant_u, &tq_ops, &t, hash_of(t.name),
				     (const uint8_t *)t.name, strlen(t.name), false, on_done,
				     &reentrant_r[1], &reentrant_victim), 0);
	run_until(3, 2000);
	assert_answer(&reentrant_r[0], 1, false);
	ck_assert_int_eq(reentrant_r[1].calls, 1);
	ck_assert_int_eq(reentrant_r[1].status, -ECANCELED);
	assert_answer(&reentrant_r[2], 1, false);
	ck_assert_int_eq(log_count(f[0], "again.example."), 2);
	ups_free(reentrant_u);
}
END_TEST

/* ups_free answers with callbacks that act on the engine being freed, as
 * ntm-resolverd's do when an answer closes a TCP client (its other queries
 * are cancelled) or frees a slot (a new query may start). Keys are picked
 * by hash so the forward made from a callback would land in a bucket that
 * ups_free has already walked: let in, it would outlive the engine, and
 * its timers would fire on freed memory. */
static struct ups *dying_u;
static struct ups_waiter *dying_victim[2];
static struct result dying_r[5];
static int dying_forward_ret;
static unsigned dying_inflight;

static void on_done_while_dying(void *arg, int status, const uint8_t *reply, size_t len)
{
	struct tq late = { .name = "late.example." };

	on_done(arg, status, reply, len);
	dying_inflight = ups_inflight(dying_u);
	for (int i = 0; i < 2; i++) {
		struct ups_waiter *w = dying_victim[i];

		dying_victim[i] = NULL;
		if (w)
			ups_cancel(dying_u, w);
	}
	dying_forward_ret = ups_forward(dying_u, &tq_ops, &late, 0, (const uint8_t *)"late", 4,
					false, on_done, &dying_r[4], NULL);
}

START_TEST(callbacks_run_by_ups_free_may_cancel_and_forward_on_the_dying_engine)
{
	const struct fake *f[1] = { fake_start("127.0.0.39", "stall") };
	struct tq a = { .name = "a.example." }, b = { .name = "b.example." },
		  c = { .name = "c.example." };
	uint64_t end;

	memset(dying_r, 0, sizeof(dying_r));
	dying_forward_ret = 0;
	dying_inflight = 99;
	dying_u = engine(f, 1, 100, 300);
	/* bucket 5 (answered first); bucket 9, two waiters, the first one
	 * cancelled from a's callback; bucket 12, its only waiter cancelled */
	ck_assert_int_eq(ups_forward(dying_u, &tq_ops, &a, 5, (const uint8_t *)"a", 1, false,
				     on_done_while_dying, &dying_r[0], NULL), 0);
	ck_assert_int_eq(ups_forward(dying_u, &tq_ops, &b, 9, (const uint8_t *)"b", 1, false,
				     on_done, &dying_r[1], &dying_victim[0]), 0);
	ck_assert_int_eq(ups_forward(dying_u, &tq_ops, &b, 9, (const uint8_t *)"b", 1, false,
				     on_done_while_dying, &dying_r[2], NULL), 0);
	ck_assert_int_eq(ups_forward(dying_u, &tq_ops, &c, 12, (const uint8_t *)"c", 1, false,
				     on_done, &dying_r[3], &dying_victim[1]), 0);
	ck_assert_uint_eq(ups_inflight(dying_u), 3);
	ups_free(dying_u);
	/* past every attempt timer and deadline the engine had: nothing of it
	 * may be left in the loop */
	end = ntm_loop_now_ms() + 500;
	while (ntm_loop_now_ms() < end)
		ck_assert_int_eq(ntm_loop_run_once(loop, 50), 0);
	ck_assert_int_eq(dying_forward_ret, -ESHUTDOWN);
	ck_assert_uint_eq(dying_inflight, 0);   /* all detached before the first callback */
	for (int i = 0; i < 4; i++) {
		ck_assert_int_eq(dying_r[i].calls, 1);
		ck_assert_int_eq(dying_r[i].status, -ECANCELED);
	}
	ck_assert_int_eq(dying_r[4].calls, 0);
	ck_assert_int_eq(ndone, 4);
}
END_TEST

START_TEST(the_loop_guard_refuses_our_own_listen_address)
{
	struct sockaddr_storage listen[2] = {0}, servers[2] = {0};
	struct sockaddr_in *l4 = (struct sockaddr_in *)&listen[0];
	struct sockaddr_in6 *m6 = (struct sockaddr_in6 *)&servers[1];
	struct ups_params p = { .listen = listen, .nlisten = 1 };
	struct ups *u = NULL;

	l4->sin_family = AF_INET;
	l4->sin_port = htons(53);
	inet_pton(AF_INET, "127.0.0.53", &l4->sin_addr);
	servers[0] = listen[0];
	((struct sockaddr_in *)&servers[0])->sin_port = htons(5353);
	m6->sin6_family = AF_INET6;
	m6->sin6_port = htons(53);
	inet_pton(AF_INET6, "::ffff:127.0.0.53", &m6->sin6_addr);
	ck_assert_int_eq(ups_new(&u, loop, servers, 2, &p), -ELOOP);   /* v4-mapped */
	ck_assert_ptr_null(u);
	ck_assert_int_eq(ups_new(&u, loop, listen, 1, &p), -ELOOP);
	ck_assert_int_eq(ups_new(&u, loop, servers, 1, &p), 0);        /* other port */
	ups_free(u);
	ck_assert_int_eq(ups_new(&u, loop, servers, 0, &p), -EINVAL);
}
END_TEST

/* ---- cache ---- */

static uint64_t fake_now;

static uint64_t fake_clock(void *arg)
{
	(void)arg;
	return fake_now;
}

static struct cache *new_cache(size_t entries, size_t bytes)
{
	struct cache_params p = { .max_entries = entries, .max_bytes = bytes,
				  .now_ms = fake_clock };
	struct cache *c;

	fake_now = 1000000;
	ck_assert_int_eq(cache_new(&c, &p), 0);
	return c;
}

static int put(struct cache *c, const char *key, const char *reply, uint32_t ttl)
{
	return cache_put(c, hash_of(key), (const uint8_t *)key, strlen(key),
			 (const uint8_t *)reply, strlen(reply), ttl);
}

/* Returns the age of key's entry, or -1 on a miss. */
static int get(struct cache *c, const char *key, const char *want)
{
	const uint8_t *r;
	size_t len;
	uint32_t age;

	if (cache_get(c, hash_of(key), (const uint8_t *)key, strlen(key), &r, &len, &age) < 0)
		return -1;
	if (want) {
		ck_assert_uint_eq(len, strlen(want));
		ck_assert(memcmp(r, want, len) == 0);
	}
	return (int)age;
}

START_TEST(a_cache_hit_reports_its_age_until_the_ttl_runs_out)
{
	struct cache *c = new_cache(0, 0);

	ck_assert_int_eq(put(c, "example.com/1/1/0/0", "reply", 300), 0);
	ck_assert_int_eq(get(c, "example.com/1/1/0/0", "reply"), 0);
	ck_assert_int_eq(get(c, "example.com/1/1/1/0", NULL), -1);      /* DO differs */
	fake_now += 42999;
	ck_assert_int_eq(get(c, "example.com/1/1/0/0", "reply"), 42);
	fake_now += 300000 - 42999 - 1;
	ck_assert_int_eq(get(c, "example.com/1/1/0/0", "reply"), 299);
	fake_now += 1;
	ck_assert_int_eq(get(c, "example.com/1/1/0/0", NULL), -1);
	ck_assert_uint_eq(cache_entries(c), 0);
	ck_assert_uint_eq(cache_bytes(c), 0);
	cache_free(c);
}
END_TEST

START_TEST(a_cache_put_replaces_and_rejects_what_it_cannot_hold)
{
	struct cache *c = new_cache(0, 200);
	char big[300];

	ck_assert_int_eq(put(c, "k", "old", 10), 0);
	ck_assert_int_eq(put(c, "k", "new", 10), 0);
	ck_assert_int_eq(get(c, "k", "new"), 0);
	ck_assert_uint_eq(cache_entries(c), 1);
	ck_assert_int_eq(put(c, "z", "ttl zero", 0), -EINVAL);
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	ck_assert_int_eq(put(c, "big", big, 10), -E2BIG);
	ck_assert_int_eq(get(c, "k", "new"), 0);
	cache_flush(c);
	ck_assert_int_eq(get(c, "k", NULL), -1);
	cache_free(c);
}
END_TEST

START_TEST(the_cache_evicts_the_least_recently_used_by_count)
{
	struct cache *c = new_cache(3, 0);

	ck_assert_int_eq(put(c, "a", "1", 60), 0);
	ck_assert_int_eq(put(c, "b", "2", 60), 0);
	ck_assert_int_eq(put(c, "c", "3", 60), 0);
	ck_assert_int_eq(get(c, "a", "1"), 0);          /* a is now the newest */
	ck_assert_int_eq(put(c, "d", "4", 60), 0);      /* evicts b */
	ck_assert_uint_eq(cache_entries(c), 3);
	ck_assert_int_eq(get(c, "b", NULL), -1);
	ck_assert_int_eq(get(c, "a", "1"), 0);
	ck_assert_int_eq(get(c, "c", "3"), 0);
	ck_assert_int_eq(get(c, "d", "4"), 0);
	cache_free(c);
}
END_TEST

START_TEST(the_cache_evicts_the_least_recently_used_by_bytes)
{
	struct cache *c = new_cache(100, 0);
	size_t one;
	char reply[101];

	memset(reply, 'r', 100);
	reply[100] = 0;
	ck_assert_int_eq(put(c, "a", reply, 60), 0);
	one = cache_bytes(c);
	cache_free(c);
	c = new_cache(100, 3 * one);
	ck_assert_int_eq(put(c, "a", reply, 60), 0);
	ck_assert_int_eq(put(c, "b", reply, 60), 0);
	ck_assert_int_eq(put(c, "c", reply, 60), 0);
	ck_assert_uint_eq(cache_bytes(c), 3 * one);
	ck_assert_int_eq(get(c, "a", reply), 0);
	ck_assert_int_eq(put(c, "d", reply, 60), 0);    /* evicts b */
	ck_assert_uint_le(cache_bytes(c), 3 * one);
	ck_assert_int_eq(get(c, "b", NULL), -1);
	ck_assert_int_eq(get(c, "a", reply), 0);
	ck_assert_int_eq(get(c, "d", reply), 0);
	cache_free(c);
}
END_TEST

static Suite *upstream_suite(void)
{
	Suite *s = suite_create("upstream");
	TCase *tc = tcase_create("forwarding");
	TCase *tcc = tcase_create("cache");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, an_ok_server_answers_and_sees_the_name_once);
	tcase_add_loop_test(tc, a_mismatching_reply_is_ignored_then_the_next_server_answers, 0,
			    (int)(sizeof(ignored_modes) / sizeof(ignored_modes[0])));
	tcase_add_loop_test(tc, servfail_and_refused_fail_over_at_once, 0,
			    (int)(sizeof(failover_modes) / sizeof(failover_modes[0])));
	tcase_add_test(tc, a_stalled_server_is_failed_over_after_its_timeout);
	tcase_add_test(tc, when_every_server_stalls_the_overall_deadline_ends_it);
	tcase_add_test(tc, an_unreachable_port_fails_over_without_waiting);
	tcase_add_test(tc, formerr_to_an_edns_query_is_retried_without_edns);
	tcase_add_test(tc, a_truncated_reply_goes_back_to_a_udp_client_as_it_is);
	tcase_add_test(tc, a_truncated_reply_is_retried_over_tcp_for_a_tcp_client);
	tcase_add_test(tc, identical_queries_in_flight_share_one_upstream_exchange);
	tcase_add_test(tc, the_in_flight_and_waiter_caps_refuse_with_ebusy);
	tcase_add_test(tc, a_cancelled_waiter_leaves_the_others_answered);
	tcase_add_test(tc, a_done_callback_may_cancel_a_waiter_and_forward_again);
	tcase_add_test(tc, callbacks_run_by_ups_free_may_cancel_and_forward_on_the_dying_engine);
	tcase_add_test(tc, the_loop_guard_refuses_our_own_listen_address);
	suite_add_tcase(s, tc);
	tcase_add_test(tcc, a_cache_hit_reports_its_age_until_the_ttl_runs_out);
	tcase_add_test(tcc, a_cache_put_replaces_and_rejects_what_it_cannot_hold);
	tcase_add_test(tcc, the_cache_evicts_the_least_recently_used_by_count);
	tcase_add_test(tcc, the_cache_evicts_the_least_recently_used_by_bytes);
	suite_add_tcase(s, tcc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(upstream_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
