/* test_nss.c - libnss_ntm.so.2 as glibc sees it: dlopen, dlsym of the six
 * entry points, and calls against tests/unit/fake_tund serving the socket
 * named in a test nss file (doc/names.md section 1 is the contract). The zone
 * file parser (nss_ntm/zones.c) is compiled in and tested directly.
 *
 * The module reads its nss file once per process, so one file serves every
 * test: zones ntm.test and Other.Example, prefixes 198.18.0.0/15 and
 * fd12:3456:789a::/48, the socket in a private directory, timeout 500 ms.
 * Each test starts the fake daemon in the mode it needs on that socket.
 *
 * NTM_NSS_SO and NTM_FAKE_TUND (environment, else the macros) locate the
 * module and the fake daemon. Runs with CK_FORK=no too (valgrind). */
#include <check.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "nss_ntm.h"

#ifndef NTM_NSS_SO
#define NTM_NSS_SO "nss_ntm/.libs/libnss_ntm.so.2"
#endif
#ifndef NTM_FAKE_TUND
#define NTM_FAKE_TUND "tests/unit/fake_tund"
#endif

#define TIMEOUT_MS 500
#define SENTINEL 999
#define MAX_BUF 2048

/* Fails the test with a message; cheaper than ck_assert in hot loops. */
#define REQUIRE(cond, ...) do { if (!(cond)) ck_abort_msg(__VA_ARGS__); } while (0)

static struct {
	__typeof__(_nss_ntm_gethostbyname4_r) *name4;
	__typeof__(_nss_ntm_gethostbyname3_r) *name3;
	__typeof__(_nss_ntm_gethostbyname2_r) *name2;
	__typeof__(_nss_ntm_gethostbyname_r) *name1;
	__typeof__(_nss_ntm_gethostbyaddr2_r) *addr2;
	__typeof__(_nss_ntm_gethostbyaddr_r) *addr1;
} fn;

static char tmpdir[64], sock_path[128], conf_path[128];

static const uint8_t v4a[4] = { 198, 18, 0, 7 };
static const uint8_t v4b[4] = { 198, 18, 1, 9 };
static const uint8_t v6a[16] = { 0xfd, 0x12, 0x34, 0x56, 0x78, 0x9a, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7 };
static const int families[] = { AF_INET, AF_INET6, AF_UNSPEC, AF_PACKET };

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- the fake daemon (one at a time) ---- */

struct daemon_report {
	long connections, families, wait_ms;
};

static pid_t daemon_pid = -1;
static FILE *daemon_out;

/* Starts fake_tund in mode with the standard peer bob.ntm.test = v4a, v4b,
 * v6a (that order) and TTL 5, or with addrs instead when addrs is not NULL. */
static void daemon_start_with(const char *mode, const char *const *addrs)
{
	const char *fake = getenv("NTM_FAKE_TUND") ? getenv("NTM_FAKE_TUND") : NTM_FAKE_TUND;
	static const char *const standard[] = { "198.18.0.7", "198.18.1.9", "fd12:3456:789a::7",
						NULL };
	const char *argv[32] = { fake, "-s", sock_path, "-m", mode };
	char line[64];
	int p[2], argc = 5;

	for (const char *const *a = addrs ? addrs : standard; *a; a++) {
		argv[argc++] = "-a";
		argv[argc++] = *a;
	}
	argv[argc] = NULL;
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	daemon_pid = fork();
	ck_assert_int_ge(daemon_pid, 0);
	if (daemon_pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL); /* a failed test must not leave it */
		dup2(p[1], 1);
		execv(fake, (char *const *)argv);
		_exit(127);
	}
	close(p[1]);
	daemon_out = fdopen(p[0], "r");
	ck_assert_ptr_nonnull(daemon_out);
	ck_assert_msg(fgets(line, sizeof(line), daemon_out) && strcmp(line, "ready\n") == 0,
		      "%s did not start", fake);
}

static void daemon_start(const char *mode)
{
	daemon_start_with(mode, NULL);
}

/* Stops the daemon and returns what it counted. */
static struct daemon_report daemon_stop(void)
{
	struct daemon_report r = { -1, -1, -1 };
	char line[128];
	int status;

	if (daemon_pid < 0)
		return r;
	kill(daemon_pid, SIGTERM);
	if (fgets(line, sizeof(line), daemon_out))
		sscanf(line, "connections %ld families %ld wait_ms %ld", &r.connections,
		       &r.families, &r.wait_ms);
	waitpid(daemon_pid, &status, 0);
	fclose(daemon_out);
	daemon_pid = -1;
	unlink(sock_path);
	return r;
}

static void teardown(void)
{
	daemon_stop();
	unsetenv("NTM_NSS_BYPASS");
}

/* ---- calling the entry points ---- */

enum ep { EP_NAME4, EP_NAME3, EP_NAME2, EP_NAME1, EP_ADDR2, EP_ADDR1, EP_COUNT };
static const char *const ep_names[] = {
	"gethostbyname4_r", "gethostbyname3_r", "gethostbyname2_r",
	"gethostbyname_r", "gethostbyaddr2_r", "gethostbyaddr_r",
};

struct call {
	enum nss_status st;
	int err, herr;
	int32_t ttl;
	char *canon;
	struct hostent he;
	struct gaih_addrtuple *pat;
};

static char canon_sentinel[] = "canon sentinel";

/* The address an addr entry point is asked about for family af. */
static const uint8_t *addr_for(int af, socklen_t *len)
{
	*len = af == AF_INET6 ? 16 : 4;
	return af == AF_INET6 ? v6a : af == AF_INET ? v4b : v4a;
}

static void call_ep(enum ep ep, int af, const char *name, char *buf, size_t len, struct call *c)
{
	socklen_t alen;
	const uint8_t *a = addr_for(af, &alen);

	memset(&c->he, 0x5a, sizeof(c->he));
	c->err = c->herr = SENTINEL;
	c->ttl = -7;
	c->canon = canon_sentinel;
	c->pat = NULL;
	switch (ep) {
	case EP_NAME4:
		c->st = fn.name4(name, &c->pat, buf, len, &c->err, &c->herr, &c->ttl);
		break;
	case EP_NAME3:
		c->st = fn.name3(name, af, &c->he, buf, len, &c->err, &c->herr, &c->ttl, &c->canon);
		break;
	case EP_NAME2:
		c->st = fn.name2(name, af, &c->he, buf, len, &c->err, &c->herr);
		break;
	case EP_NAME1:
		c->st = fn.name1(name, &c->he, buf, len, &c->err, &c->herr);
		break;
	case EP_ADDR2:
		c->st = fn.addr2(a, alen, af, &c->he, buf, len, &c->err, &c->herr, &c->ttl);
		break;
	default:
		c->st = fn.addr1(a, alen, af, &c->he, buf, len, &c->err, &c->herr);
		break;
	}
}

static bool is_addr_ep(enum ep ep)
{
	return ep == EP_ADDR2 || ep == EP_ADDR1;
}

/* ---- what a good answer looks like ---- */

struct expect {
	const char *name;
	int af;                        /* hostent family; AF_UNSPEC for the tuple chain */
	unsigned n;
	struct { int af; const uint8_t *a; } addr[3];
	bool ttl, canon;
};

/* The answer to bob.ntm.test (or to its address) from the standard daemon,
 * or false when ep refuses af (EAFNOSUPPORT). */
static bool expected(enum ep ep, int af, struct expect *ex)
{
	memset(ex, 0, sizeof(*ex));
	ex->name = "bob.ntm.test";
	ex->ttl = ep == EP_NAME4 || ep == EP_NAME3 || ep == EP_ADDR2;
	ex->canon = ep == EP_NAME3;
	if (ep == EP_NAME4) {
		ex->af = AF_UNSPEC;
		ex->n = 3;
		ex->addr[0].af = AF_INET, ex->addr[0].a = v4a;
		ex->addr[1].af = AF_INET, ex->addr[1].a = v4b;
		ex->addr[2].af = AF_INET6, ex->addr[2].a = v6a;
		return true;
	}
	if (ep == EP_NAME1 || (af == AF_UNSPEC && !is_addr_ep(ep)))
		af = AF_INET;
	if (af != AF_INET && af != AF_INET6)
		return false;
	ex->af = af;
	if (is_addr_ep(ep)) {
		socklen_t len;
		ex->n = 1;
		ex->addr[0].af = af, ex->addr[0].a = addr_for(af, &len);
	} else if (af == AF_INET) {
		ex->n = 2;
		ex->addr[0].af = AF_INET, ex->addr[0].a = v4a;
		ex->addr[1].af = AF_INET, ex->addr[1].a = v4b;
	} else {
		ex->n = 1;
		ex->addr[0].af = AF_INET6, ex->addr[0].a = v6a;
	}
	return true;
}

static bool inside(const void *p, size_t n, const char *buf, size_t len)
{
	const char *q = p;
	return q >= buf && q <= buf + len && n <= (size_t)(buf + len - q);
}

static bool aligned(const void *p, size_t a)
{
	return (uintptr_t)p % a == 0;
}

static bool name_inside(const char *s, const char *buf, size_t len)
{
	return inside(s, 1, buf, len) && memchr(s, '\0', (size_t)(buf + len - s)) != NULL;
}

/* NULL when he holds exactly ex, inside buf and aligned; else what is wrong. */
static const char *hostent_problem(const struct hostent *he, const char *buf, size_t len,
				   const struct expect *ex)
{
	size_t alen = ex->af == AF_INET ? 4 : 16;

	if (!name_inside(he->h_name, buf, len) || strcmp(he->h_name, ex->name) != 0)
		return "h_name";
	if (!inside(he->h_aliases, sizeof(char *), buf, len) ||
	    !aligned(he->h_aliases, _Alignof(char *)) || he->h_aliases[0] != NULL)
		return "h_aliases";
	if (he->h_addrtype != ex->af || he->h_length != (int)alen)
		return "h_addrtype/h_length";
	if (!inside(he->h_addr_list, (ex->n + 1) * sizeof(char *), buf, len) ||
	    !aligned(he->h_addr_list, _Alignof(char *)) || he->h_addr_list[ex->n] != NULL)
		return "h_addr_list";
	for (unsigned i = 0; i < ex->n; i++) {
		const char *a = he->h_addr_list[i];
		if (!a || !inside(a, alen, buf, len) || !aligned(a, _Alignof(struct in6_addr)) ||
		    memcmp(a, ex->addr[i].a, alen) != 0)
			return "an address";
	}
	return NULL;
}

static const char *tuples_problem(const struct gaih_addrtuple *t, const char *buf, size_t len,
				  const struct expect *ex, bool first_is_callers)
{
	unsigned i = 0;

	for (; t && i < ex->n; t = t->next, i++) {
		size_t alen = ex->addr[i].af == AF_INET ? 4 : 16;
		if (!(i == 0 && first_is_callers) &&
		    (!inside(t, sizeof(*t), buf, len) ||
		     !aligned(t, _Alignof(struct gaih_addrtuple))))
			return "a tuple outside the buffer or misaligned";
		if (!name_inside(t->name, buf, len) || strcmp(t->name, ex->name) != 0)
			return "a tuple's name";
		if (t->family != ex->addr[i].af || memcmp(t->addr, ex->addr[i].a, alen) != 0)
			return "a tuple's address";
		if (t->scopeid != 0)
			return "a tuple's scopeid";
	}
	return t || i != ex->n ? "the chain's length" : NULL;
}

static const char *call_problem(enum ep ep, const struct call *c, const char *buf, size_t len,
				const struct expect *ex)
{
	const char *p;

	if (c->st != NSS_STATUS_SUCCESS || c->herr != NETDB_SUCCESS)
		return "status or h_errno";
	if (c->err != SENTINEL)
		return "errno written on success";
	p = ep == EP_NAME4 ? tuples_problem(c->pat, buf, len, ex, false)
			   : hostent_problem(&c->he, buf, len, ex);
	if (p)
		return p;
	if (c->ttl != (ex->ttl ? 5 : -7))
		return "ttl";
	if (c->canon != (ex->canon ? c->he.h_name : canon_sentinel))
		return "canonp";
	return NULL;
}

static void require_triple(const struct call *c, enum nss_status st, int err, int herr,
			   const char *what)
{
	REQUIRE(c->st == st && c->err == err && c->herr == herr,
		"%s: got status %d errno %d h_errno %d, want %d %d %d", what, c->st, c->err,
		c->herr, st, err, herr);
}

static bool untouched(const char *p, size_t n, int byte)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)p[i] != byte)
			return false;
	return true;
}

/* Calls ep for every buffer size 0..max, each buffer malloc'ed to its exact
 * size (plus off bytes before it, to misalign it), so ASan and valgrind
 * see any byte written past it. Below some size every call must be
 * TRYAGAIN/ERANGE/NETDB_INTERNAL with nothing written; from that size on,
 * a complete, aligned answer. Returns that size. */
static size_t sweep(enum ep ep, int af, size_t off, size_t max)
{
	size_t threshold = SIZE_MAX;
	struct expect ex;
	struct call c;

	for (size_t size = 0; size <= max; size++) {
		char *base = malloc(off + size), *buf = base + off;
		const char *p;

		ck_assert_ptr_nonnull(base);
		memset(base, 0xa5, off + size);
		call_ep(ep, af, "bob.ntm.test", buf, size, &c);
		if (!expected(ep, af, &ex)) {
			require_triple(&c, NSS_STATUS_UNAVAIL, EAFNOSUPPORT, NO_RECOVERY,
				       ep_names[ep]);
			free(base);
			continue;
		}
		if (c.st == NSS_STATUS_TRYAGAIN) {
			require_triple(&c, NSS_STATUS_TRYAGAIN, ERANGE, NETDB_INTERNAL,
				       ep_names[ep]);
			REQUIRE(threshold == SIZE_MAX, "%s: ERANGE at %zu after success at %zu",
				ep_names[ep], size, threshold);
			REQUIRE(untouched(base, off + size, 0xa5) && c.ttl == -7 &&
				c.canon == canon_sentinel && c.pat == NULL &&
				untouched((char *)&c.he, sizeof(c.he), 0x5a),
				"%s: wrote something before reporting ERANGE at size %zu",
				ep_names[ep], size);
		} else {
			p = call_problem(ep, &c, buf, size, &ex);
			REQUIRE(!p, "%s af %d size %zu off %zu: %s (status %d errno %d h_errno %d)",
				ep_names[ep], af, size, off, p, c.st, c.err, c.herr);
			if (threshold == SIZE_MAX)
				threshold = size;
		}
		free(base);
	}
	return threshold;
}

/* ---- every entry point x family x buffer size ---- */

static void sweep_and_count(enum ep ep, int af)
{
	struct expect ex;
	bool answers = expected(ep, af, &ex);
	struct daemon_report r;
	size_t t;

	daemon_start("answer");
	t = sweep(ep, af, 0, MAX_BUF);
	r = daemon_stop();
	if (answers) {
		ck_assert_msg(t > 0 && t <= 512, "%s af %d needs %zu bytes", ep_names[ep], af, t);
		ck_assert_int_eq(r.connections, MAX_BUF + 1); /* one connection per call */
	} else {
		ck_assert_int_eq(r.connections, 0);
	}
}

START_TEST(test_gethostbyname4_r_fills_every_buffer_size_or_asks_for_more)
{
	sweep_and_count(EP_NAME4, AF_UNSPEC);
}
END_TEST

START_TEST(test_gethostbyname3_r_fills_every_buffer_size_for_each_family)
{
	sweep_and_count(EP_NAME3, families[_i]);
}
END_TEST

START_TEST(test_gethostbyname2_r_fills_every_buffer_size_for_each_family)
{
	sweep_and_count(EP_NAME2, families[_i]);
}
END_TEST

START_TEST(test_gethostbyname_r_fills_every_buffer_size_with_ipv4)
{
	sweep_and_count(EP_NAME1, AF_INET);
}
END_TEST

START_TEST(test_gethostbyaddr2_r_fills_every_buffer_size_for_each_family)
{
	sweep_and_count(EP_ADDR2, families[_i]);
}
END_TEST

START_TEST(test_gethostbyaddr_r_fills_every_buffer_size_for_each_family)
{
	sweep_and_count(EP_ADDR1, families[_i]);
}
END_TEST

START_TEST(test_misaligned_buffers_are_padded_before_use)
{
	daemon_start("answer");
	for (size_t off = 1; off < 8; off++) {
		sweep(EP_NAME4, AF_UNSPEC, off, 300);
		sweep(EP_NAME3, AF_INET6, off, 300);
		sweep(EP_ADDR2, AF_INET, off, 300);
	}
}
END_TEST

START_TEST(test_nscd_preallocated_tuple_receives_a_copy_of_the_first)
{
	struct gaih_addrtuple mine = { 0 }, *pat = &mine;
	char buf[1024];
	int err = SENTINEL, herr = SENTINEL;
	int32_t ttl = -7;
	struct expect ex;

	daemon_start("answer");
	expected(EP_NAME4, AF_UNSPEC, &ex);
	ck_assert_int_eq(fn.name4("bob.ntm.test", &pat, buf, sizeof(buf), &err, &herr, &ttl),
			 NSS_STATUS_SUCCESS);
	ck_assert_ptr_eq(pat, &mine); /* *pat is not replaced */
	ck_assert_int_eq(herr, NETDB_SUCCESS);
	ck_assert_int_eq(ttl, 5);
	ck_assert_ptr_null(tuples_problem(&mine, buf, sizeof(buf), &ex, true));
}
END_TEST

START_TEST(test_other_case_and_a_trailing_dot_find_the_canonical_name)
{
	char buf[1024];
	struct call c;

	daemon_start("answer");
	call_ep(EP_NAME3, AF_INET, "BOB.Ntm.TEST.", buf, sizeof(buf), &c);
	ck_assert_int_eq(c.st, NSS_STATUS_SUCCESS);
	ck_assert_str_eq(c.he.h_name, "bob.ntm.test");
	ck_assert_ptr_eq(c.canon, c.he.h_name);
	/* The second zone of the file is written in mixed case. */
	call_ep(EP_NAME4, AF_UNSPEC, "bob.other.example", buf, sizeof(buf), &c);
	require_triple(&c, NSS_STATUS_NOTFOUND, ENOENT, HOST_NOT_FOUND, "other zone");
	ck_assert_int_eq(daemon_stop().connections, 2);
}
END_TEST

/* ---- statuses ---- */

struct outcome {
	const char *mode;              /* NULL: no socket at all */
	enum nss_status st;
	int err, herr;
};

static const struct outcome outcomes[] = {
	{ "notfound", NSS_STATUS_NOTFOUND, ENOENT, HOST_NOT_FOUND },
	{ "nodata", NSS_STATUS_NOTFOUND, ENOENT, NO_DATA },
	{ "tryagain", NSS_STATUS_TRYAGAIN, EAGAIN, TRY_AGAIN },
	/* the daemon cannot be asked: NOTFOUND (the lookup ends at ntm, never
	 * reaching "dns"), TRY_AGAIN (getaddrinfo: EAI_AGAIN), errno says why */
	{ "internal", NSS_STATUS_NOTFOUND, EBADMSG, TRY_AGAIN },
	{ NULL, NSS_STATUS_NOTFOUND, ECONNREFUSED, TRY_AGAIN },
	{ "refuse", NSS_STATUS_NOTFOUND, ECONNREFUSED, TRY_AGAIN },
	{ "close", NSS_STATUS_NOTFOUND, EBADMSG, TRY_AGAIN },
	{ "garbage", NSS_STATUS_NOTFOUND, EBADMSG, TRY_AGAIN },
	{ "half", NSS_STATUS_NOTFOUND, EBADMSG, TRY_AGAIN },
	{ "badid", NSS_STATUS_NOTFOUND, EBADMSG, TRY_AGAIN },
	{ "badtype", NSS_STATUS_NOTFOUND, EBADMSG, TRY_AGAIN },
	{ "big", NSS_STATUS_NOTFOUND, EBADMSG, TRY_AGAIN },
};

START_TEST(test_each_daemon_outcome_gives_its_exact_status_errno_and_h_errno)
{
	const struct outcome *o = &outcomes[_i];
	char buf[1024], what[64];
	struct call c;
	long expect_conn = 0;

	if (o->mode)
		daemon_start(o->mode);
	for (enum ep ep = 0; ep < EP_COUNT; ep++) {
		for (int af = AF_INET; af <= AF_INET6; af += AF_INET6 - AF_INET) {
			if (ep == EP_NAME4 && af == AF_INET6)
				continue;
			snprintf(what, sizeof(what), "%s %s af %d", o->mode ? o->mode : "absent",
				 ep_names[ep], af);
			call_ep(ep, af, "bob.ntm.test", buf, sizeof(buf), &c);
			require_triple(&c, o->st, o->err, o->herr, what);
			REQUIRE(c.ttl == -7 && c.canon == canon_sentinel && c.pat == NULL,
				"%s: wrote a result on failure", what);
			expect_conn++;
		}
	}
	if (o->mode && strcmp(o->mode, "refuse") != 0)
		ck_assert_int_eq(daemon_stop().connections, expect_conn);
}
END_TEST

START_TEST(test_a_slow_daemon_times_out_within_the_deadline)
{
	static const enum ep eps[] = { EP_NAME4, EP_NAME3, EP_ADDR2 };
	char buf[1024];
	struct call c;

	daemon_start("slow");
	for (size_t i = 0; i < sizeof(eps) / sizeof(eps[0]); i++) {
		int64_t t0 = now_ms(), dt;

		call_ep(eps[i], AF_INET, "bob.ntm.test", buf, sizeof(buf), &c);
		dt = now_ms() - t0;
		require_triple(&c, NSS_STATUS_NOTFOUND, ETIMEDOUT, TRY_AGAIN, ep_names[eps[i]]);
		ck_assert_msg(dt < TIMEOUT_MS + 300, "%s took %lld ms", ep_names[eps[i]],
			      (long long)dt);
		ck_assert_msg(dt >= TIMEOUT_MS - 50, "%s gave up after %lld ms", ep_names[eps[i]],
			      (long long)dt);
	}
}
END_TEST

/* A stopped daemon (connects complete, nothing is read): the module gives
 * up after NTM_NSS_TAKEN_MS, not the file's whole timeout_ms. */
START_TEST(test_a_hung_daemon_is_given_up_on_before_the_deadline)
{
	static const enum ep eps[] = { EP_NAME4, EP_NAME3, EP_ADDR2 };
	char buf[1024];
	struct call c;

	ck_assert_int_lt(NTM_NSS_TAKEN_MS, TIMEOUT_MS);
	daemon_start("hung");
	for (size_t i = 0; i < sizeof(eps) / sizeof(eps[0]); i++) {
		int64_t t0 = now_ms(), dt;

		call_ep(eps[i], AF_INET, "bob.ntm.test", buf, sizeof(buf), &c);
		dt = now_ms() - t0;
		require_triple(&c, NSS_STATUS_NOTFOUND, ETIMEDOUT, TRY_AGAIN, ep_names[eps[i]]);
		/* a daemon that read the request would be waited for TIMEOUT_MS */
		ck_assert_msg(dt < TIMEOUT_MS, "%s took %lld ms", ep_names[eps[i]], (long long)dt);
	}
}
END_TEST

START_TEST(test_an_ok_reply_without_the_asked_family_is_nodata)
{
	static const char *const only_v4[] = { "198.18.0.7", NULL };
	char buf[1024];
	struct call c;

	daemon_start_with("allfam", only_v4);
	call_ep(EP_NAME3, AF_INET6, "bob.ntm.test", buf, sizeof(buf), &c);
	require_triple(&c, NSS_STATUS_NOTFOUND, ENOENT, NO_DATA, "v6 asked, v4 given");
	call_ep(EP_NAME2, AF_INET6, "bob.ntm.test", buf, sizeof(buf), &c);
	require_triple(&c, NSS_STATUS_NOTFOUND, ENOENT, NO_DATA, "2_r");
	call_ep(EP_NAME3, AF_INET, "bob.ntm.test", buf, sizeof(buf), &c);
	ck_assert_int_eq(c.st, NSS_STATUS_SUCCESS);
}
END_TEST

START_TEST(test_unknown_overlay_names_and_addresses_are_notfound)
{
	static const uint8_t other4[4] = { 198, 19, 255, 1 };
	char buf[1024];
	struct hostent he;
	struct call c;
	int err = SENTINEL, herr = SENTINEL;

	daemon_start("answer");
	call_ep(EP_NAME4, AF_UNSPEC, "carol.ntm.test", buf, sizeof(buf), &c);
	require_triple(&c, NSS_STATUS_NOTFOUND, ENOENT, HOST_NOT_FOUND, "carol 4_r");
	call_ep(EP_NAME2, AF_INET6, "carol.ntm.test", buf, sizeof(buf), &c);
	require_triple(&c, NSS_STATUS_NOTFOUND, ENOENT, HOST_NOT_FOUND, "carol 2_r");
	ck_assert_int_eq(fn.addr1(other4, 4, AF_INET, &he, buf, sizeof(buf), &err, &herr),
			 NSS_STATUS_NOTFOUND);
	ck_assert_int_eq(err, ENOENT);
	ck_assert_int_eq(herr, HOST_NOT_FOUND);
	ck_assert_int_eq(daemon_stop().connections, 3);
}
END_TEST

START_TEST(test_requests_carry_the_asked_families_and_a_wait_below_the_deadline)
{
	static const struct { enum ep ep; int af; long fams; } cases[] = {
		{ EP_NAME4, AF_UNSPEC, 3 }, { EP_NAME3, AF_INET, 1 }, { EP_NAME3, AF_INET6, 2 },
		{ EP_NAME2, AF_UNSPEC, 1 }, { EP_NAME1, AF_INET6, 1 },
	};
	char buf[1024];
	struct call c;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct daemon_report r;

		daemon_start("answer");
		call_ep(cases[i].ep, cases[i].af, "bob.ntm.test", buf, sizeof(buf), &c);
		ck_assert_int_eq(c.st, NSS_STATUS_SUCCESS);
		r = daemon_stop();
		ck_assert_int_eq(r.families, cases[i].fams);
		ck_assert_int_eq(r.wait_ms, TIMEOUT_MS - 200);
	}
}
END_TEST

/* ---- what never reaches the socket ---- */

START_TEST(test_names_outside_every_zone_are_unavail_without_connecting)
{
	static const char *const names[] = {
		"example.org", "ntm.test", "ntm.test.", "NTM.TEST", "xntm.test", ".ntm.test",
		"bob.ntm.test.evil", "bob.ntm.testx", "localhost", "", "198.18.0.7",
		"other.example", "bob.ntm.test..",
		/* single labels: never qualified here (the search list does that) */
		"bob", "b", "ntm", "test", "bob.",
	};
	char buf[1024];
	struct call c;

	daemon_start("answer");
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		for (enum ep ep = EP_NAME4; ep <= EP_NAME1; ep++) {
			call_ep(ep, AF_INET, names[i], buf, sizeof(buf), &c);
			require_triple(&c, NSS_STATUS_UNAVAIL, ENOENT, NO_RECOVERY, names[i]);
		}
	ck_assert_int_eq(daemon_stop().connections, 0);
}
END_TEST

START_TEST(test_addresses_outside_every_prefix_are_unavail_without_connecting)
{
	static const char *const addrs[] = {
		"8.8.8.8", "198.17.255.255", "198.20.0.0", "127.0.0.1", "0.0.0.0",
		"2001:db8::1", "fd12:3456:789b::7", "::ffff:198.18.0.7", "::1",
	};
	char buf[1024];
	struct hostent he;

	daemon_start("answer");
	for (size_t i = 0; i < sizeof(addrs) / sizeof(addrs[0]); i++) {
		uint8_t a[16];
		int af = strchr(addrs[i], ':') ? AF_INET6 : AF_INET;
		socklen_t len = af == AF_INET ? 4 : 16;
		int err = SENTINEL, herr = SENTINEL;
		int32_t ttl = -7;

		ck_assert_int_eq(inet_pton(af, addrs[i], a), 1);
		ck_assert_int_eq(fn.addr2(a, len, af, &he, buf, sizeof(buf), &err, &herr, &ttl),
				 NSS_STATUS_UNAVAIL);
		ck_assert_int_eq(err, ENOENT);
		ck_assert_int_eq(herr, NO_RECOVERY);
		err = herr = SENTINEL;
		ck_assert_int_eq(fn.addr1(a, len, af, &he, buf, sizeof(buf), &err, &herr),
				 NSS_STATUS_UNAVAIL);
		ck_assert_int_eq(err, ENOENT);
		ck_assert_int_eq(ttl, -7);
	}
	ck_assert_int_eq(daemon_stop().connections, 0);
}
END_TEST

START_TEST(test_an_address_length_that_does_not_match_its_family_is_einval)
{
	static const struct { int af; socklen_t len; } bad[] = {
		{ AF_INET, 0 }, { AF_INET, 3 }, { AF_INET, 16 }, { AF_INET6, 4 }, { AF_INET6, 15 },
		{ AF_INET6, 17 },
	};
	uint8_t a[32] = { 198, 18, 0, 7 };
	char buf[1024];
	struct hostent he;

	daemon_start("answer");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int err = SENTINEL, herr = SENTINEL;

		ck_assert_int_eq(fn.addr1(a, bad[i].len, bad[i].af, &he, buf, sizeof(buf), &err,
					  &herr), NSS_STATUS_UNAVAIL);
		ck_assert_int_eq(err, EINVAL);
		ck_assert_int_eq(herr, NO_RECOVERY);
	}
	ck_assert_int_eq(daemon_stop().connections, 0);
}
END_TEST

START_TEST(test_overlay_names_no_host_can_have_are_notfound_without_connecting)
{
	static const char *const names[] = {
		"-bob.ntm.test", "bob-.ntm.test", "a..ntm.test", "a_b.ntm.test", "a b.ntm.test",
		"bob\x7f.ntm.test",
		"a123456789012345678901234567890123456789012345678901234567890123.ntm.test",
	};
	char buf[1024];
	struct call c;

	daemon_start("answer");
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		call_ep(EP_NAME4, AF_UNSPEC, names[i], buf, sizeof(buf), &c);
		require_triple(&c, NSS_STATUS_NOTFOUND, ENOENT, HOST_NOT_FOUND, names[i]);
	}
	ck_assert_int_eq(daemon_stop().connections, 0);
}
END_TEST

START_TEST(test_bypass_makes_every_entry_point_unavail_without_connecting)
{
	char buf[1024];
	struct call c;

	daemon_start("answer");
	setenv("NTM_NSS_BYPASS", "1", 1);
	for (enum ep ep = 0; ep < EP_COUNT; ep++) {
		call_ep(ep, AF_INET, "bob.ntm.test", buf, sizeof(buf), &c);
		require_triple(&c, NSS_STATUS_UNAVAIL, ENOENT, NO_RECOVERY, ep_names[ep]);
	}
	setenv("NTM_NSS_BYPASS", "0", 1); /* "0" and "" do not bypass */
	call_ep(EP_NAME4, AF_UNSPEC, "bob.ntm.test", buf, sizeof(buf), &c);
	ck_assert_int_eq(c.st, NSS_STATUS_SUCCESS);
	unsetenv("NTM_NSS_BYPASS");
	ck_assert_int_eq(daemon_stop().connections, 1);
}
END_TEST

/* ---- file descriptors ---- */

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	ck_assert_ptr_nonnull(d);
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static void some_lookups(int n)
{
	char buf[512];
	struct call c;

	for (int i = 0; i < n; i++)
		call_ep((enum ep)(i % EP_COUNT), i % 2 ? AF_INET6 : AF_INET, "bob.ntm.test", buf,
			sizeof(buf), &c);
}

START_TEST(test_a_thousand_lookups_across_outcomes_leak_no_descriptor)
{
	static const char *const modes[] = { "answer", "tryagain", "half", "garbage", NULL };
	int before = count_fds();

	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		if (modes[i])
			daemon_start(modes[i]);
		some_lookups(200);
		daemon_stop();
	}
	ck_assert_int_eq(count_fds(), before);
}
END_TEST

START_TEST(test_lookups_in_a_forked_child_leak_no_descriptor)
{
	int status;
	pid_t pid;

	daemon_start("answer");
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int before = count_fds();
		some_lookups(300);
		_exit(count_fds() == before ? 0 : 1);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 0);
}
END_TEST

static void *slow_lookup(void *arg)
{
	struct call *c = arg;
	char buf[512];

	call_ep(EP_NAME4, AF_UNSPEC, "bob.ntm.test", buf, sizeof(buf), c);
	return NULL;
}

/* The fd of a socket that is not in before[], or -1. */
static int new_socket_fd(const bool *before, int max)
{
	char path[64], target[64];

	for (int fd = 0; fd < max; fd++) {
		ssize_t n;

		if (before[fd])
			continue;
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		n = readlink(path, target, sizeof(target) - 1);
		if (n > 0 && (target[n] = '\0', strncmp(target, "socket:", 7) == 0))
			return fd;
	}
	return -1;
}

static unsigned long fd_flags(int fd)
{
	char path[64], line[128];
	unsigned long flags = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "re");
	ck_assert_ptr_nonnull(f);
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "flags: %lo", &flags) == 1)
			break;
	fclose(f);
	return flags;
}

START_TEST(test_the_socket_is_cloexec_and_never_takes_fd_0_to_2)
{
	enum { MAXFD = 256 };
	bool before[MAXFD] = { false };
	int saved = dup(0), fd = -1;
	int64_t until;
	pthread_t th;
	struct call c;

	daemon_start("slow");
	close(0); /* a program that closed stdin */
	for (int i = 0; i < MAXFD; i++)
		before[i] = i != 0 && fcntl(i, F_GETFD) >= 0;
	ck_assert_int_eq(pthread_create(&th, NULL, slow_lookup, &c), 0);
	usleep(50 * 1000); /* past the instant between socket() and the move off fd 0 */
	for (until = now_ms() + TIMEOUT_MS - 100; fd < 0 && now_ms() < until;)
		if ((fd = new_socket_fd(before, MAXFD)) < 0)
			usleep(1000);
	if (fd >= 0) {
		unsigned long flags = fd_flags(fd);
		ck_assert_int_gt(fd, 2);
		ck_assert_msg(flags & O_CLOEXEC, "flags %lo", flags);
		ck_assert_msg(flags & O_NONBLOCK, "flags %lo", flags);
	}
	pthread_join(th, NULL);
	dup2(saved, 0);
	close(saved);
	ck_assert_msg(fd >= 0, "never saw the lookup's socket");
	require_triple(&c, NSS_STATUS_NOTFOUND, ETIMEDOUT, TRY_AGAIN, "slow");
}
END_TEST

/* ---- threads ---- */

static atomic_int thread_failures;

static void *many_lookups(void *arg)
{
	unsigned seed = (unsigned)(uintptr_t)arg;
	char buf[1024];
	struct expect ex;
	struct call c;

	for (int i = 0; i < 200; i++) {
		static const enum ep eps[] = { EP_NAME4, EP_NAME3, EP_NAME2, EP_ADDR2 };
		enum ep ep = eps[(seed + (unsigned)i) % 4];
		int af = (seed + (unsigned)i / 4) % 2 ? AF_INET6 : AF_INET;
		char *b = buf + (i % 8); /* and every misalignment */

		call_ep(ep, af, "bob.ntm.test", b, sizeof(buf) - 8, &c);
		expected(ep, af, &ex);
		const char *why = call_problem(ep, &c, b, sizeof(buf) - 8, &ex);
		if (why) {
			/* say which (check's messages are one per test) */
			fprintf(stderr, "thread %u lookup %d (%s, AF %d): %s: status %d errno %d "
				"h_errno %d\n", seed, i, ep_names[ep], af, why, c.st, c.err, c.herr);
			atomic_fetch_add(&thread_failures, 1);
		}
	}
	return NULL;
}

START_TEST(test_sixteen_threads_resolve_concurrently_and_all_get_full_answers)
{
	pthread_t th[16];

	daemon_start("answer");
	atomic_store(&thread_failures, 0);
	for (uintptr_t i = 0; i < 16; i++)
		ck_assert_int_eq(pthread_create(&th[i], NULL, many_lookups, (void *)i), 0);
	for (int i = 0; i < 16; i++)
		pthread_join(th[i], NULL);
	ck_assert_int_eq(atomic_load(&thread_failures), 0);
	ck_assert_int_eq(daemon_stop().connections, 16 * 200);
}
END_TEST

/* ---- the nss file (zones.c, compiled in) ---- */

static int parse(const char *text, struct ntm_nss_conf *c, unsigned *line)
{
	return ntm_nss_conf_parse(text, strlen(text), c, line);
}

START_TEST(test_a_full_nss_file_parses_into_zones_prefixes_socket_and_timeout)
{
	struct ntm_nss_conf c;
	unsigned line;
	uint8_t a[16];

	ck_assert_int_eq(parse("# written by ntm-tund\n\nversion 1\n  zone Ntm.Example.ORG.\t\n"
			       "zone internal\nprefix4 198.18.0.0/15\nprefix6 fd12:3456:789a::/48\n"
			       "socket /run/x/tund.sock\ntimeout_ms 1500\n# bye\nend",
			       &c, &line), 0);
	ck_assert_uint_eq(c.n_zones, 2);
	ck_assert_str_eq(c.zones[0], "ntm.example.org");
	ck_assert_str_eq(c.zones[1], "internal");
	ck_assert_str_eq(c.socket, "/run/x/tund.sock");
	ck_assert_int_eq(c.timeout_ms, 1500);
	ck_assert(ntm_nss_in_zone(&c, "a.NTM.example.org", 17));
	ck_assert(ntm_nss_in_zone(&c, "x.y.internal", 12));
	ck_assert(!ntm_nss_in_zone(&c, "ntm.example.org", 15));
	ck_assert(!ntm_nss_in_zone(&c, "aintern.al", 10));
	inet_pton(AF_INET, "198.19.255.255", a);
	ck_assert(ntm_nss_in_prefix(&c, AF_INET, a));
	inet_pton(AF_INET, "198.20.0.0", a);
	ck_assert(!ntm_nss_in_prefix(&c, AF_INET, a));
	inet_pton(AF_INET6, "fd12:3456:789a:ffff::1", a);
	ck_assert(ntm_nss_in_prefix(&c, AF_INET6, a));
	inet_pton(AF_INET6, "fd12:3456:789b::", a);
	ck_assert(!ntm_nss_in_prefix(&c, AF_INET6, a));
	ck_assert(!ntm_nss_in_prefix(&c, AF_PACKET, a));
}
END_TEST

START_TEST(test_socket_and_timeout_default_when_absent)
{
	struct ntm_nss_conf c;
	unsigned line;

	ck_assert_int_eq(parse("version 1\nend\n", &c, &line), 0);
	ck_assert_uint_eq(c.n_zones, 0);
	ck_assert_str_eq(c.socket, NTM_NSS_SOCKET_DEFAULT);
	ck_assert_int_eq(c.timeout_ms, NTM_NSS_TIMEOUT_DEFAULT);
}
END_TEST

static const struct { const char *text; unsigned line; } bad_files[] = {
	{ "", 0 },
	{ "version 1\nzone ntm.test\n", 0 },                       /* truncated: no end */
	{ "zone ntm.test\nversion 1\nend\n", 1 },
	{ "version 2\nend\n", 1 },
	{ "version 1\nzone ntm.test\nend\nzone x.y\n", 4 },
	{ "version 1\nversion 1\nend\n", 2 },
	{ "version 1\nzones ntm.test\nend\n", 2 },
	{ "version 1\nzone\nend\n", 2 },
	{ "version 1\nzone a b\nend\n", 2 },
	{ "version 1\nzone -a.test\nend\n", 2 },
	{ "version 1\nzone a..test\nend\n", 2 },
	{ "version 1\nzone a_b.test\nend\n", 2 },
	{ "version 1\nzone .\nend\n", 2 },
	{ "version 1\nzone a\nzone b\nzone c\nzone d\nzone e\nzone f\nzone g\nzone h\n"
	  "zone i\nend\n", 10 },                                     /* a ninth zone */
	{ "version 1\nprefix4 198.18.0.1/15\nend\n", 2 },          /* host bits */
	{ "version 1\nprefix4 198.18.0.0/33\nend\n", 2 },
	{ "version 1\nprefix4 198.18.0.0/0\nend\n", 2 },
	{ "version 1\nprefix4 198.18.0.0\nend\n", 2 },
	{ "version 1\nprefix4 fd12::/48\nend\n", 2 },
	{ "version 1\nprefix6 198.18.0.0/15\nend\n", 2 },
	{ "version 1\nprefix6 fd12::1/48\nend\n", 2 },
	{ "version 1\nprefix6 fd12::/129\nend\n", 2 },
	{ "version 1\nprefix6 fd12::/+48\nend\n", 2 },
	{ "version 1\nsocket relative.sock\nend\n", 2 },
	{ "version 1\nsocket /a\nsocket /b\nend\n", 3 },
	{ "version 1\ntimeout_ms 49\nend\n", 2 },
	{ "version 1\ntimeout_ms 30001\nend\n", 2 },
	{ "version 1\ntimeout_ms 1e3\nend\n", 2 },
	{ "version 1\ntimeout_ms 100\ntimeout_ms 100\nend\n", 3 },
	{ "version 1\nend now\n", 2 },
};

START_TEST(test_a_malformed_nss_file_is_rejected_whole_with_its_line)
{
	struct ntm_nss_conf c;
	unsigned line = 77;

	ck_assert_int_eq(parse(bad_files[_i].text, &c, &line), -EINVAL);
	ck_assert_uint_eq(line, bad_files[_i].line);
	ck_assert_uint_eq(c.n_zones + c.n_p4 + c.n_p6, 0);
	ck_assert_int_eq(c.timeout_ms, 0);
}
END_TEST

START_TEST(test_a_file_with_a_nul_byte_or_over_4096_bytes_is_rejected)
{
	static char big[NTM_NSS_FILE_MAX + 64];
	struct ntm_nss_conf c;
	unsigned line;

	ck_assert_int_eq(ntm_nss_conf_parse("version 1\n\0end\n", 15, &c, &line), -EINVAL);
	memset(big, '#', sizeof(big));
	memcpy(big, "version 1\n#", 11);
	memcpy(big + NTM_NSS_FILE_MAX - 4, "\nend", 4);
	ck_assert_int_eq(ntm_nss_conf_parse(big, NTM_NSS_FILE_MAX, &c, &line), 0);
	ck_assert_int_eq(ntm_nss_conf_parse(big, NTM_NSS_FILE_MAX + 1, &c, &line), -EINVAL);
}
END_TEST

START_TEST(test_host_names_follow_the_ldh_rule)
{
	static const char *const good[] = { "a", "A-1.b", "xn--bcher-kva.ntm.test", "0.1" };
	static const char *const bad[] = { "", ".", "a.", ".a", "-a", "a-", "a..b", "a_b", "a b" };
	char l63[64], l64[65], n253[254];

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		ck_assert_msg(ntm_nss_name_ok(good[i], strlen(good[i])), "%s", good[i]);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(!ntm_nss_name_ok(bad[i], strlen(bad[i])), "%s", bad[i]);
	memset(l63, 'a', 63);
	memset(l64, 'a', 64);
	ck_assert(ntm_nss_name_ok(l63, 63));
	ck_assert(!ntm_nss_name_ok(l64, 64));
	memset(n253, 'a', sizeof(n253));
	for (int i = 50; i < 253; i += 51)
		n253[i] = '.';
	ck_assert(ntm_nss_name_ok(n253, 253));
	ck_assert(!ntm_nss_name_ok(n253, 254));
}
END_TEST

/* 0, or -1 with errno (also used before the tests run: no ck_assert). */
static int write_file(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write(fd, text, strlen(text));
	close(fd);
	return n == (ssize_t)strlen(text) ? chmod(path, mode) : -1;
}

START_TEST(test_the_loader_refuses_files_others_may_write_and_non_regular_files)
{
	char dir[128], path[160];
	struct ntm_nss_conf c;

	snprintf(dir, sizeof(dir), "%s/load", tmpdir);
	snprintf(path, sizeof(path), "%s/nss", dir);
	ck_assert_int_eq(mkdir(dir, 0755), 0);
	ck_assert_int_eq(ntm_nss_conf_load(path, &c), -ENOENT);
	ck_assert_int_eq(write_file(path, "version 1\nzone ntm.test\nend\n", 0644), 0);
	ck_assert_int_eq(ntm_nss_conf_load(path, &c), 0);
	ck_assert_uint_eq(c.n_zones, 1);
	ck_assert_int_eq(chmod(path, 0664), 0);
	ck_assert_int_eq(ntm_nss_conf_load(path, &c), -EPERM);
	ck_assert_uint_eq(c.n_zones, 0);
	ck_assert_int_eq(chmod(path, 0644), 0);
	ck_assert_int_eq(chmod(dir, 0777), 0);
	ck_assert_int_eq(ntm_nss_conf_load(path, &c), -EPERM);
	ck_assert_int_eq(chmod(dir, 0755), 0);
	ck_assert_int_eq(write_file(path, "version 1\nzone ntm.test\n", 0644), 0);
	ck_assert_int_eq(ntm_nss_conf_load(path, &c), -EINVAL);
	unlink(path);
	ck_assert_int_eq(mkfifo(path, 0644), 0); /* must not block */
	ck_assert_int_eq(ntm_nss_conf_load(path, &c), -EPERM);
	unlink(path);
	ck_assert_int_eq(ntm_nss_conf_load("relative/nss", &c), -EPERM);
	rmdir(dir);
}
END_TEST

/* ---- setup ---- */

static Suite *nss_suite(void)
{
	Suite *s = suite_create("nss");
	TCase *tc;

	tc = tcase_create("buffers");
	tcase_set_timeout(tc, 600);
	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_test(tc, test_gethostbyname4_r_fills_every_buffer_size_or_asks_for_more);
	tcase_add_loop_test(tc, test_gethostbyname3_r_fills_every_buffer_size_for_each_family,
			    0, 4);
	tcase_add_loop_test(tc, test_gethostbyname2_r_fills_every_buffer_size_for_each_family,
			    0, 4);
	tcase_add_test(tc, test_gethostbyname_r_fills_every_buffer_size_with_ipv4);
	tcase_add_loop_test(tc, test_gethostbyaddr2_r_fills_every_buffer_size_for_each_family,
			    0, 4);
	tcase_add_loop_test(tc, test_gethostbyaddr_r_fills_every_buffer_size_for_each_family,
			    0, 4);
	tcase_add_test(tc, test_misaligned_buffers_are_padded_before_use);
	tcase_add_test(tc, test_nscd_preallocated_tuple_receives_a_copy_of_the_first);
	tcase_add_test(tc, test_other_case_and_a_trailing_dot_find_the_canonical_name);
	suite_add_tcase(s, tc);

	tc = tcase_create("statuses");
	tcase_set_timeout(tc, 120);
	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_loop_test(tc, test_each_daemon_outcome_gives_its_exact_status_errno_and_h_errno,
			    0, (int)(sizeof(outcomes) / sizeof(outcomes[0])));
	tcase_add_test(tc, test_a_slow_daemon_times_out_within_the_deadline);
	tcase_add_test(tc, test_a_hung_daemon_is_given_up_on_before_the_deadline);
	tcase_add_test(tc, test_an_ok_reply_without_the_asked_family_is_nodata);
	tcase_add_test(tc, test_unknown_overlay_names_and_addresses_are_notfound);
	tcase_add_test(tc, test_requests_carry_the_asked_families_and_a_wait_below_the_deadline);
	suite_add_tcase(s, tc);

	tc = tcase_create("bypassing the socket");
	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_test(tc, test_names_outside_every_zone_are_unavail_without_connecting);
	tcase_add_test(tc, test_addresses_outside_every_prefix_are_unavail_without_connecting);
	tcase_add_test(tc, test_an_address_length_that_does_not_match_its_family_is_einval);
	tcase_add_test(tc, test_overlay_names_no_host_can_have_are_notfound_without_connecting);
	tcase_add_test(tc, test_bypass_makes_every_entry_point_unavail_without_connecting);
	suite_add_tcase(s, tc);

	tc = tcase_create("descriptors and threads");
	tcase_set_timeout(tc, 300);
	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_test(tc, test_a_thousand_lookups_across_outcomes_leak_no_descriptor);
	tcase_add_test(tc, test_lookups_in_a_forked_child_leak_no_descriptor);
	tcase_add_test(tc, test_the_socket_is_cloexec_and_never_takes_fd_0_to_2);
	tcase_add_test(tc, test_sixteen_threads_resolve_concurrently_and_all_get_full_answers);
	suite_add_tcase(s, tc);

	tc = tcase_create("nss file");
	tcase_add_test(tc, test_a_full_nss_file_parses_into_zones_prefixes_socket_and_timeout);
	tcase_add_test(tc, test_socket_and_timeout_default_when_absent);
	tcase_add_loop_test(tc, test_a_malformed_nss_file_is_rejected_whole_with_its_line, 0,
			    (int)(sizeof(bad_files) / sizeof(bad_files[0])));
	tcase_add_test(tc, test_a_file_with_a_nul_byte_or_over_4096_bytes_is_rejected);
	tcase_add_test(tc, test_host_names_follow_the_ldh_rule);
	tcase_add_test(tc, test_the_loader_refuses_files_others_may_write_and_non_regular_files);
	suite_add_tcase(s, tc);
	return s;
}

static void *must_dlsym(void *h, const char *name)
{
	void *p = dlsym(h, name);

	if (!p) {
		fprintf(stderr, "test_nss: %s: %s\n", name, dlerror());
		exit(1);
	}
	return p;
}

/* The private directory, the nss file naming its socket, the module. */
static void *setup_module(void)
{
	const char *so = getenv("NTM_NSS_SO") ? getenv("NTM_NSS_SO") : NTM_NSS_SO;
	char text[512];
	void *h;

	snprintf(tmpdir, sizeof(tmpdir), "/tmp/ntm-nss-XXXXXX");
	if (!mkdtemp(tmpdir) || chmod(tmpdir, 0755) < 0) {
		perror("mkdtemp");
		exit(1);
	}
	snprintf(sock_path, sizeof(sock_path), "%s/tund.sock", tmpdir);
	snprintf(conf_path, sizeof(conf_path), "%s/nss", tmpdir);
	snprintf(text, sizeof(text),
		 "version 1\nzone ntm.test\nzone Other.Example\nprefix4 198.18.0.0/15\n"
		 "prefix6 fd12:3456:789a::/48\nsocket %s\ntimeout_ms %d\nend\n",
		 sock_path, TIMEOUT_MS);
	if (write_file(conf_path, text, 0644) < 0) {
		perror(conf_path);
		exit(1);
	}
	setenv("NTM_NSS_FILE", conf_path, 1); /* before the module's first call */
	unsetenv("NTM_NSS_BYPASS");
	h = dlopen(so, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		fprintf(stderr, "test_nss: %s\n", dlerror());
		exit(1);
	}
	fn.name4 = (__typeof__(fn.name4))must_dlsym(h, "_nss_ntm_gethostbyname4_r");
	fn.name3 = (__typeof__(fn.name3))must_dlsym(h, "_nss_ntm_gethostbyname3_r");
	fn.name2 = (__typeof__(fn.name2))must_dlsym(h, "_nss_ntm_gethostbyname2_r");
	fn.name1 = (__typeof__(fn.name1))must_dlsym(h, "_nss_ntm_gethostbyname_r");
	fn.addr2 = (__typeof__(fn.addr2))must_dlsym(h, "_nss_ntm_gethostbyaddr2_r");
	fn.addr1 = (__typeof__(fn.addr1))must_dlsym(h, "_nss_ntm_gethostbyaddr_r");
	return h;
}

int main(void)
{
	void *h = setup_module();
	SRunner *sr = srunner_create(nss_suite());
	int failed;

	signal(SIGPIPE, SIG_IGN);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	dlclose(h);
	unlink(sock_path);
	unlink(conf_path);
	rmdir(tmpdir);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
