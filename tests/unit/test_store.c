/* test_store.c - the DC's SQLite registry: enrolment, allocation, prefixes,
 * sharing between connections and survival of kill -9. */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <ftw.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "store.h"

/* run_dir: one directory per run, made and removed by the runner process (an
 * unchecked fixture) so it goes away even when a test fails; dir: one per
 * test inside it. */
static char run_dir[64];
static char dir[96];
static char path[128];
static struct ntm_store *st;
static char err[512];

static int rm_one(const char *p, const struct stat *sb, int type, struct FTW *f)
{
	(void)sb;
	(void)type;
	(void)f;
	return remove(p);
}

static void run_setup(void)
{
	snprintf(run_dir, sizeof(run_dir), "/tmp/ntm-test-store-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(run_dir));
}

static void run_teardown(void)
{
	nftw(run_dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
}

static void setup(void)
{
	snprintf(dir, sizeof(dir), "%s/t-XXXXXX", run_dir);
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/dc.db", dir);
	st = NULL;
	err[0] = '\0';
}

static void teardown(void)
{
	ntm_store_close(st);
	st = NULL;
	nftw(dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
}

/* ---- helpers ---- */

static struct ntm_conf_addr pfx(const char *ip, unsigned plen)
{
	struct ntm_conf_addr a;

	memset(&a, 0, sizeof(a));
	a.family = strchr(ip, ':') ? AF_INET6 : AF_INET;
	a.plen = (uint8_t)plen;
	ck_assert_int_eq(inet_pton(a.family, ip, &a.u), 1);
	return a;
}

/* A distinct key per i. */
static const uint8_t *key(unsigned i)
{
	static uint8_t k[NTM_STORE_KEY_LEN];

	for (size_t j = 0; j < sizeof(k); j++)
		k[j] = (uint8_t)(i * 31 + j * 7 + (i >> 8));
	k[0] = (uint8_t)i;
	k[1] = (uint8_t)(i >> 8);
	return k;
}

static void open_with(const struct ntm_store_params *p)
{
	int ret = ntm_store_open(&st, path, p, err, sizeof(err));

	ck_assert_msg(ret == 0, "open %s: %d %s", path, ret, err);
}

static void open_v4(const char *ip, unsigned plen)
{
	struct ntm_store_params p = { .v4 = pfx(ip, plen) };

	open_with(&p);
}

static void add_ok(const char *name, unsigned k, struct ntm_node_rec *rec)
{
	int ret = ntm_store_node_add(st, name, key(k), rec);

	ck_assert_msg(ret == 0, "add %s: %d %s", name, ret, ntm_store_errmsg(st));
}

/* One integer from SQL run on a connection of the test's own. */
static long long raw_int(const char *sql)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *s = NULL;
	long long v;

	ck_assert_int_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	ck_assert_int_eq(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(s), SQLITE_ROW);
	v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	sqlite3_close(db);
	return v;
}

static void raw_exec(const char *sql)
{
	sqlite3 *db = NULL;

	ck_assert_int_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL),
			 SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

struct list_ctx {
	unsigned n;
	char last[NTM_NAME_MAX + 1];
	struct ntm_node_rec recs[64];
};

/* Counts nodes, checks name order, keeps the first 64. */
static int list_cb(const struct ntm_node_rec *rec, void *ctx)
{
	struct list_ctx *c = ctx;

	ck_assert_msg(c->n == 0 || strcmp(c->last, rec->name) < 0,
		      "'%s' listed after '%s'", rec->name, c->last);
	snprintf(c->last, sizeof(c->last), "%s", rec->name);
	if (c->n < 64)
		c->recs[c->n] = *rec;
	c->n++;
	return 0;
}

static unsigned list_count(struct list_ctx *c)
{
	memset(c, 0, sizeof(*c));
	ck_assert_int_eq(ntm_store_node_list(st, list_cb, c), 0);
	return c->n;
}

static void rec_eq(const struct ntm_node_rec *a, const struct ntm_node_rec *b)
{
	ck_assert_str_eq(a->name, b->name);
	ck_assert_mem_eq(a->pubkey, b->pubkey, NTM_STORE_KEY_LEN);
	ck_assert_mem_eq(a->vip4, b->vip4, 4);
	ck_assert_mem_eq(a->vip6, b->vip6, 16);
	ck_assert_uint_eq(a->host_index, b->host_index);
	ck_assert_int_eq(a->created, b->created);
}

static void v4_is(const struct ntm_node_rec *r, const char *ip)
{
	char got[INET_ADDRSTRLEN];

	ck_assert_ptr_nonnull(inet_ntop(AF_INET, r->vip4, got, sizeof(got)));
	ck_assert_str_eq(got, ip);
}

/* ---- enrolment ---- */

START_TEST(test_an_added_node_is_listed_and_gone_after_del)
{
	struct ntm_node_rec rec, got;
	struct list_ctx c;
	time_t before = time(NULL);

	open_with(NULL);
	add_ok("bob.ntm.example.org", 1, &rec);
	ck_assert_str_eq(rec.name, "bob.ntm.example.org");
	ck_assert_uint_eq(rec.host_index, 1);
	v4_is(&rec, "198.18.0.1");
	ck_assert_int_ge(rec.created, before);
	ck_assert_int_le(rec.created, time(NULL));
	add_ok("alice.ntm.example.org", 2, NULL);
	ck_assert_uint_eq(list_count(&c), 2);
	ck_assert_str_eq(c.recs[0].name, "alice.ntm.example.org");
	rec_eq(&c.recs[1], &rec);
	ck_assert_int_eq(ntm_store_node_by_key(st, key(1), &got), 0);
	rec_eq(&got, &rec);

	ck_assert_int_eq(ntm_store_node_del(st, "bob.ntm.example.org"), 0);
	ck_assert_uint_eq(list_count(&c), 1);
	ck_assert_str_eq(c.recs[0].name, "alice.ntm.example.org");
	ck_assert_int_eq(ntm_store_node_by_key(st, key(1), &got), -ENOENT);
	ck_assert_int_eq(ntm_store_node_del(st, "bob.ntm.example.org"), -ENOENT);
}
END_TEST

START_TEST(test_a_name_already_enrolled_is_refused_whatever_the_key)
{
	struct list_ctx c;

	open_with(NULL);
	add_ok("bob", 1, NULL);
	ck_assert_int_eq(ntm_store_node_add(st, "bob", key(2), NULL), -EEXIST);
	ck_assert_int_eq(ntm_store_node_add(st, "bob", key(1), NULL), -EEXIST);
	ck_assert_int_eq(ntm_store_node_add(st, "BOB.", key(3), NULL), -EEXIST);
	ck_assert_uint_eq(list_count(&c), 1);
	ck_assert_mem_eq(c.recs[0].pubkey, key(1), NTM_STORE_KEY_LEN);
	/* The refused key got no address: the next new key takes index 2. */
	ck_assert_int_eq(raw_int("SELECT count(*) FROM allocations"), 1);
}
END_TEST

START_TEST(test_a_key_enrolled_under_another_name_is_refused)
{
	struct ntm_node_rec got;

	open_with(NULL);
	add_ok("bob", 1, NULL);
	ck_assert_int_eq(ntm_store_node_add(st, "mallory", key(1), NULL), -EEXIST);
	ck_assert_int_eq(ntm_store_node_by_name(st, "mallory", &got), -ENOENT);
	ck_assert_int_eq(ntm_store_node_by_key(st, key(1), &got), 0);
	ck_assert_str_eq(got.name, "bob");
}
END_TEST

START_TEST(test_names_are_stored_in_lower_case_without_the_trailing_dot)
{
	struct ntm_node_rec got;

	open_with(NULL);
	add_ok("Bob.NTM.Example.ORG.", 1, NULL);
	ck_assert_int_eq(ntm_store_node_by_name(st, "bob.ntm.example.org", &got), 0);
	ck_assert_str_eq(got.name, "bob.ntm.example.org");
	ck_assert_int_eq(ntm_store_node_by_name(st, "BOB.ntm.example.org.", &got), 0);
	ck_assert_int_eq(ntm_store_node_del(st, "BOB.NTM.EXAMPLE.ORG"), 0);
}
END_TEST

START_TEST(test_invalid_names_are_refused_and_write_nothing)
{
	static const char *const bad[] = {
		"", ".", "-bob", "bob-", "bo_b", "a..b", "bob..", "b ob", "bøb",
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.org",
	};
	char longname[300];
	struct ntm_node_rec got;

	open_with(NULL);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(ntm_store_node_add(st, bad[i], key(1), NULL) == -EINVAL,
			      "'%s' was not refused", bad[i]);
	/* 4 * 63 + 3 dots = 255 > 253. */
	memset(longname, 'a', sizeof(longname));
	for (int i = 63; i < 255; i += 64)
		longname[i] = '.';
	longname[255] = '\0';
	ck_assert_int_eq(ntm_store_node_add(st, longname, key(1), NULL), -EINVAL);
	ck_assert_int_eq(ntm_store_node_del(st, "-bob"), -EINVAL);
	ck_assert_int_eq(ntm_store_node_by_name(st, "a..b", &got), -EINVAL);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM allocations"), 0);
}
END_TEST

/* ---- allocation ---- */

START_TEST(test_a_deleted_nodes_addresses_are_not_given_to_a_new_key)
{
	struct ntm_node_rec bob, carol, got;

	open_with(NULL);
	add_ok("bob", 1, &bob);
	ck_assert_int_eq(ntm_store_node_del(st, "bob"), 0);
	add_ok("bob", 2, &carol);
	ck_assert_uint_ne(carol.host_index, bob.host_index);
	ck_assert_mem_ne(carol.vip4, bob.vip4, 4);
	ck_assert_mem_ne(carol.vip6, bob.vip6, 16);
	ck_assert_int_eq(ntm_store_node_by_addr(st, AF_INET, bob.vip4, &got), -ENOENT);
	ck_assert_int_eq(ntm_store_node_by_addr(st, AF_INET6, bob.vip6, &got), -ENOENT);
}
END_TEST

START_TEST(test_the_same_key_added_again_after_del_gets_the_same_addresses)
{
	struct ntm_node_rec first, again, other;

	open_with(NULL);
	add_ok("bob", 1, &first);
	add_ok("alice", 2, &other);
	ck_assert_int_eq(ntm_store_node_del(st, "bob"), 0);
	add_ok("robert", 1, &again);
	ck_assert_uint_eq(again.host_index, first.host_index);
	ck_assert_mem_eq(again.vip4, first.vip4, 4);
	ck_assert_mem_eq(again.vip6, first.vip6, 16);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM allocations"), 2);
	/* The allocation remembers the latest name. */
	ck_assert_int_eq(raw_int("SELECT count(*) FROM allocations WHERE name = 'robert'"), 1);
}
END_TEST

START_TEST(test_addresses_are_distinct_inside_the_prefixes_and_found_again_by_address)
{
	struct ntm_conf_addr v4, v6;
	struct ntm_node_rec recs[40], got;
	char name[32];
	uint32_t base, a;

	open_with(NULL);
	ntm_store_prefixes(st, &v4, &v6);
	ck_assert_int_eq(v4.family, AF_INET);
	ck_assert_uint_eq(v4.plen, 15);
	base = ntohl(v4.u.v4.s_addr);
	ck_assert_uint_eq(base, 198u << 24 | 18u << 16);
	for (unsigned i = 0; i < 40; i++) {
		snprintf(name, sizeof(name), "node%u", i);
		add_ok(name, i, &recs[i]);
		memcpy(&a, recs[i].vip4, 4);
		a = ntohl(a);
		ck_assert_uint_eq(a >> 17, base >> 17);
		ck_assert_uint_eq(a - base, recs[i].host_index);
		ck_assert_mem_eq(recs[i].vip6, v6.u.v6.s6_addr, 6);
		ck_assert_mem_eq(recs[i].vip6 + 6, "\0\0\0\0\0\0", 6);   /* subnet 0 */
		for (unsigned j = 0; j < i; j++) {
			ck_assert_mem_ne(recs[i].vip4, recs[j].vip4, 4);
			ck_assert_mem_ne(recs[i].vip6, recs[j].vip6, 16);
		}
		ck_assert_int_eq(ntm_store_node_by_addr(st, AF_INET, recs[i].vip4, &got), 0);
		rec_eq(&got, &recs[i]);
		ck_assert_int_eq(ntm_store_node_by_addr(st, AF_INET6, recs[i].vip6, &got), 0);
		rec_eq(&got, &recs[i]);
	}
}
END_TEST

START_TEST(test_lookups_of_what_is_not_enrolled_give_enoent)
{
	struct ntm_node_rec bob, got;
	uint8_t a4[4], a6[16];

	open_v4("10.20.0.0", 24);
	add_ok("bob", 1, &bob);
	ck_assert_int_eq(ntm_store_node_by_key(st, key(2), &got), -ENOENT);
	ck_assert_int_eq(ntm_store_node_by_name(st, "carol", &got), -ENOENT);
	memcpy(a4, bob.vip4, 4);
	a4[3] = 2;                                         /* not allocated */
	ck_assert_int_eq(ntm_store_node_by_addr(st, AF_INET, a4, &got), -ENOENT);
	a4[3] = 0;                                         /* network address */
	ck_assert_int_eq(ntm_store_node_by_addr(st, AF_INET, a4, &got), -ENOENT);
	a4[2] = 1;                                         /* outside the prefix */
	a4[3] = 1;
	ck_assert_int_eq(ntm_store_node_by_addr(st, AF_INET, a4, &got), -ENOENT);
	memcpy(a6, bob.vip6, 16);
	a6[7] = 1;                                         /* subnet 1 */
	ck_assert_int_eq(ntm_store_node_by_addr(st, AF_INET6, a6, &got), -ENOENT);
	memcpy(a6, bob.vip6, 16);
	a6[0] ^= 1;                                        /* outside the prefix */
	ck_assert_int_eq(ntm_store_node_by_addr(st, AF_INET6, a6, &got), -ENOENT);
	ck_assert_int_eq(ntm_store_node_by_addr(st, AF_UNIX, a6, &got), -EAFNOSUPPORT);
}
END_TEST

START_TEST(test_a_v4_slash_30_holds_two_nodes_and_the_third_gets_enospc_leaving_nothing_behind)
{
	struct ntm_node_rec a, b, again, got;
	struct list_ctx c;

	open_v4("192.0.2.0", 30);
	add_ok("a", 1, &a);
	add_ok("b", 2, &b);
	v4_is(&a, "192.0.2.1");
	v4_is(&b, "192.0.2.2");                 /* .0 and .3 are never handed out */
	ck_assert_int_eq(ntm_store_node_add(st, "c", key(3), NULL), -ENOSPC);
	ck_assert_int_eq(ntm_store_node_by_name(st, "c", &got), -ENOENT);
	ck_assert_uint_eq(list_count(&c), 2);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM allocations"), 2);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM nodes"), 2);

	/* Deleting frees a name, not an address; the old key still gets its own. */
	ck_assert_int_eq(ntm_store_node_del(st, "a"), 0);
	ck_assert_int_eq(ntm_store_node_add(st, "c", key(3), NULL), -ENOSPC);
	add_ok("c", 1, &again);
	v4_is(&again, "192.0.2.1");
	/* The store is still usable after the failures: no transaction left open. */
	ck_assert_int_eq(ntm_store_set_meta(st, "probe", "1"), 0);
	ntm_store_close(st);
	st = NULL;
	ck_assert_int_eq(raw_int("SELECT count(*) FROM meta WHERE key = 'probe'"), 1);
}
END_TEST

/* ---- prefixes ---- */

START_TEST(test_the_random_ula_prefix_starts_with_fd_and_survives_reopen)
{
	struct ntm_conf_addr v6, again, other;
	char path2[160];

	open_with(NULL);
	ntm_store_prefixes(st, NULL, &v6);
	ck_assert_int_eq(v6.family, AF_INET6);
	ck_assert_uint_eq(v6.plen, 48);
	ck_assert_uint_eq(v6.u.v6.s6_addr[0], 0xfd);
	ck_assert_mem_eq(v6.u.v6.s6_addr + 6, "\0\0\0\0\0\0\0\0\0\0", 10);
	ntm_store_close(st);
	st = NULL;

	open_with(NULL);        /* no address allocated yet: still kept */
	ntm_store_prefixes(st, NULL, &again);
	ck_assert_mem_eq(&again, &v6, sizeof(v6));
	add_ok("bob", 1, NULL);
	ntm_store_close(st);
	st = NULL;
	open_with(NULL);
	ntm_store_prefixes(st, NULL, &again);
	ck_assert_mem_eq(&again, &v6, sizeof(v6));
	ntm_store_close(st);
	st = NULL;

	/* Another database draws its own (equal with probability 2^-40). */
	snprintf(path2, sizeof(path2), "%s/other.db", dir);
	ck_assert_int_eq(ntm_store_open(&st, path2, NULL, err, sizeof(err)), 0);
	ntm_store_prefixes(st, NULL, &other);
	ck_assert_mem_ne(other.u.v6.s6_addr, v6.u.v6.s6_addr, 6);
}
END_TEST

START_TEST(test_a_changed_prefix_is_refused_once_addresses_are_allocated)
{
	struct ntm_store_params p = { .v4 = pfx("10.1.0.0", 16), .v6 = pfx("fd12:3456:789a::", 48) };
	struct ntm_store_params p4 = p, p6 = p;

	open_with(&p);
	add_ok("bob", 1, NULL);
	ntm_store_close(st);
	st = NULL;

	p4.v4 = pfx("10.2.0.0", 16);
	ck_assert_int_eq(ntm_store_open(&st, path, &p4, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_null(st);
	ck_assert_msg(strstr(err, "10.2.0.0/16") && strstr(err, "10.1.0.0/16"), "%s", err);
	/* Leaving IPv4 unset means the default, which differs too. */
	p4.v4.family = 0;
	ck_assert_int_eq(ntm_store_open(&st, path, &p4, err, sizeof(err)), -EINVAL);
	ck_assert_msg(strstr(err, "198.18.0.0/15") && strstr(err, "10.1.0.0/16"), "%s", err);

	p6.v6 = pfx("fd12:3456:789a::", 56);
	ck_assert_int_eq(ntm_store_open(&st, path, &p6, err, sizeof(err)), -EINVAL);
	ck_assert_msg(strstr(err, "fd12:3456:789a::/56") && strstr(err, "fd12:3456:789a::/48"),
		      "%s", err);
	/* The same prefixes open fine, and so does IPv6 left unset. */
	p6.v6.family = 0;
	open_with(&p6);
}
END_TEST

START_TEST(test_a_changed_prefix_is_accepted_while_nothing_is_allocated)
{
	struct ntm_conf_addr v4;
	struct ntm_node_rec rec;

	open_v4("10.1.0.0", 16);
	ntm_store_close(st);
	st = NULL;
	open_v4("10.9.0.0", 24);
	ntm_store_prefixes(st, &v4, NULL);
	ck_assert_uint_eq(v4.plen, 24);
	add_ok("bob", 1, &rec);
	v4_is(&rec, "10.9.0.1");
}
END_TEST

START_TEST(test_prefixes_that_cannot_hold_nodes_are_refused)
{
	struct ntm_store_params p;

	memset(&p, 0, sizeof(p));
	p.v4 = pfx("10.0.0.0", 31);
	ck_assert_int_eq(ntm_store_open(&st, path, &p, err, sizeof(err)), -EINVAL);
	p.v4 = pfx("10.0.0.1", 24);             /* host bits set */
	ck_assert_int_eq(ntm_store_open(&st, path, &p, err, sizeof(err)), -EINVAL);
	p.v4 = pfx("fd00::", 48);               /* wrong family */
	ck_assert_int_eq(ntm_store_open(&st, path, &p, err, sizeof(err)), -EINVAL);
	memset(&p, 0, sizeof(p));
	p.v6 = pfx("fd00::", 65);
	ck_assert_int_eq(ntm_store_open(&st, path, &p, err, sizeof(err)), -EINVAL);
	p.v6 = pfx("fd00::1:0:0:0", 48);
	ck_assert_int_eq(ntm_store_open(&st, path, &p, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_null(st);
	ck_assert_int_eq(access(path, F_OK), -1);   /* refused before touching the file */
}
END_TEST

/* ---- the file ---- */

START_TEST(test_a_new_database_has_mode_0600_and_wal_journal)
{
	struct stat sb;

	open_with(NULL);
	add_ok("bob", 1, NULL);
	ck_assert_int_eq(stat(path, &sb), 0);
	ck_assert_uint_eq(sb.st_mode & 07777, 0600);
	ck_assert_int_eq(raw_int("PRAGMA user_version"), NTM_STORE_SCHEMA_VERSION);
	ck_assert_int_eq(raw_int("SELECT journal_mode = 'wal' FROM pragma_journal_mode"), 1);
}
END_TEST

START_TEST(test_a_symlink_as_database_path_is_refused)
{
	char target[160];

	snprintf(target, sizeof(target), "%s/target.db", dir);
	ck_assert_int_eq(symlink(target, path), 0);
	ck_assert_int_eq(ntm_store_open(&st, path, NULL, err, sizeof(err)), -ELOOP);
	ck_assert_ptr_nonnull(strstr(err, path));
	ck_assert_int_eq(access(target, F_OK), -1);
}
END_TEST

START_TEST(test_a_newer_schema_version_is_refused)
{
	open_with(NULL);
	ntm_store_close(st);
	st = NULL;
	raw_exec("PRAGMA user_version = 3");
	ck_assert_int_eq(ntm_store_open(&st, path, NULL, err, sizeof(err)), -ENOTSUP);
	ck_assert_msg(strstr(err, "version 3"), "%s", err);
}
END_TEST

START_TEST(test_a_file_that_is_not_a_registry_is_refused)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	char junk[4096];

	memset(junk, 'x', sizeof(junk));
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, junk, sizeof(junk)), (ssize_t)sizeof(junk));
	close(fd);
	ck_assert_int_eq(ntm_store_open(&st, path, NULL, err, sizeof(err)), -EUCLEAN);
	ck_assert_ptr_null(st);
}
END_TEST

START_TEST(test_another_programs_database_is_not_taken_over)
{
	sqlite3 *db = NULL;

	ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(db, "CREATE TABLE t (x)", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	ck_assert_int_eq(ntm_store_open(&st, path, NULL, err, sizeof(err)), -EUCLEAN);
	ck_assert_msg(strstr(err, "not an ntm registry"), "%s", err);
}
END_TEST

START_TEST(test_meta_values_round_trip_and_the_prefix_keys_are_reserved)
{
	char buf[16];

	open_with(NULL);
	ck_assert_int_eq(ntm_store_get_meta(st, "zone", buf, sizeof(buf)), -ENOENT);
	ck_assert_int_eq(ntm_store_set_meta(st, "zone", "ntm.example.org"), 0);
	ck_assert_int_eq(ntm_store_get_meta(st, "zone", buf, sizeof(buf)), 15);
	ck_assert_str_eq(buf, "ntm.example.org");
	ck_assert_int_eq(ntm_store_get_meta(st, "zone", buf, 15), -ERANGE);
	ck_assert_int_eq(ntm_store_set_meta(st, "zone", "x"), 0);
	ck_assert_int_eq(ntm_store_get_meta(st, "zone", buf, sizeof(buf)), 1);
	ck_assert_int_eq(ntm_store_set_meta(st, NTM_STORE_META_V4, "10.0.0.0/8"), -EPERM);
	ck_assert_int_eq(ntm_store_set_meta(st, NTM_STORE_META_V6, "fd00::/48"), -EPERM);
	ck_assert_int_eq(ntm_store_set_meta(st, "", "x"), -EINVAL);
	ck_assert_int_eq(ntm_store_set_meta(st, "k", ""), -EINVAL);
	ck_assert_int_eq(ntm_store_get_meta(st, NTM_STORE_META_V4, buf, sizeof(buf)), 13);
	ck_assert_str_eq(buf, "198.18.0.0/15");
}
END_TEST

/* ---- files that are not a registry ---- */

static void write_file(const char *p, const void *data, size_t len)
{
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, data, len), (ssize_t)len);
	close(fd);
}

static off_t file_size(const char *p)
{
	struct stat sb;

	ck_assert_int_eq(stat(p, &sb), 0);
	return sb.st_size;
}

START_TEST(test_an_empty_file_is_refused_naming_it_and_left_empty)
{
	write_file(path, "", 0);
	ck_assert_int_eq(ntm_store_open(&st, path, NULL, err, sizeof(err)), -EUCLEAN);
	ck_assert_ptr_null(st);
	ck_assert_msg(strstr(err, path) && strstr(err, "empty file") && strstr(err, "remove it"),
		      "%s", err);
	ck_assert_int_eq(file_size(path), 0);
}
END_TEST

START_TEST(test_a_file_that_is_not_sqlite_is_refused_and_not_written)
{
	write_file(path, "hello, this is a text file\n", 27);
	ck_assert_int_eq(ntm_store_open(&st, path, NULL, err, sizeof(err)), -EUCLEAN);
	ck_assert_msg(strstr(err, path) && strstr(err, "not an SQLite database"), "%s", err);
	ck_assert_int_eq(file_size(path), 27);
}
END_TEST

START_TEST(test_an_sqlite_database_without_tables_is_refused)
{
	raw_exec("PRAGMA page_size = 4096; VACUUM");   /* a valid header, nothing in it */
	ck_assert_int_gt(file_size(path), 0);
	ck_assert_int_eq(ntm_store_open(&st, path, NULL, err, sizeof(err)), -EUCLEAN);
	ck_assert_msg(strstr(err, path) && strstr(err, "no tables"), "%s", err);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM sqlite_schema"), 0);
}
END_TEST

START_TEST(test_another_applications_database_is_refused_unchanged)
{
	raw_exec("CREATE TABLE meta (key, value); CREATE TABLE allocations (x);"
		 "CREATE TABLE nodes (y); PRAGMA user_version = 1; PRAGMA application_id = 42");
	ck_assert_int_eq(ntm_store_open(&st, path, NULL, err, sizeof(err)), -EUCLEAN);
	ck_assert_msg(strstr(err, "application_id 0x0000002a"), "%s", err);
	ck_assert_int_eq(raw_int("PRAGMA user_version"), 1);
	ck_assert_int_eq(raw_int("SELECT journal_mode = 'delete' FROM pragma_journal_mode"), 1);
}
END_TEST

START_TEST(test_a_new_registry_is_made_whole_with_no_file_left_beside_it)
{
	char p2[160];
	DIR *d;
	struct dirent *e;
	unsigned files = 0;

	open_with(NULL);
	ck_assert_int_eq(raw_int("PRAGMA application_id"), NTM_STORE_APP_ID);
	ck_assert_str_eq(ntm_store_notice(st), "");
	ntm_store_close(st);
	st = NULL;
	/* only the database (its -wal and -shm went with the last close) */
	ck_assert_ptr_nonnull(d = opendir(dir));
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			files += !!strcmp(e->d_name, "dc.db");
	closedir(d);
	ck_assert_uint_eq(files, 0);
	snprintf(p2, sizeof(p2), "%s%s", path, NTM_STORE_MARK_SUFFIX);
	ck_assert_int_eq(access(p2, F_OK), -1);
}
END_TEST

/* A registry as version 1 of this program left it. */
START_TEST(test_a_version_1_registry_is_upgraded_and_its_mark_is_its_highest_index)
{
	struct ntm_node_rec rec;

	raw_exec("CREATE TABLE meta (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL) STRICT;"
		 "CREATE TABLE allocations (pubkey BLOB PRIMARY KEY NOT NULL, host_index INTEGER "
		 "UNIQUE NOT NULL, name TEXT NOT NULL) STRICT;"
		 "CREATE TABLE nodes (name TEXT PRIMARY KEY NOT NULL, pubkey BLOB UNIQUE NOT NULL "
		 "REFERENCES allocations (pubkey), created INTEGER NOT NULL) STRICT;"
		 "INSERT INTO meta VALUES ('prefix4', '198.18.0.0/15'), ('prefix6', 'fd01:2:3::/48');"
		 "INSERT INTO allocations VALUES (zeroblob(32), 7, 'old.example');"
		 "PRAGMA user_version = 1;");
	open_with(NULL);
	ck_assert_msg(strstr(ntm_store_notice(st), "upgraded"), "%s", ntm_store_notice(st));
	ck_assert_int_eq(raw_int("PRAGMA user_version"), 2);
	ck_assert_int_eq(raw_int("PRAGMA application_id"), NTM_STORE_APP_ID);
	add_ok("bob", 1, &rec);
	ck_assert_uint_eq(rec.host_index, 8);
}
END_TEST

/* ---- the allocation mark ---- */

static void mark_path_of(char *out, size_t cap, const char *db)
{
	snprintf(out, cap, "%s%s", db, NTM_STORE_MARK_SUFFIX);
}

static void reopen(void)
{
	ntm_store_close(st);
	st = NULL;
	open_with(NULL);
}

START_TEST(test_each_allocation_raises_the_mark_in_the_database_and_the_file)
{
	char mp[160], text[64] = "";
	uint32_t mark = 99;
	FILE *f;

	open_with(NULL);
	ck_assert_int_eq(ntm_store_mark(st, &mark), 0);
	ck_assert_uint_eq(mark, 0);
	add_ok("a", 1, NULL);
	add_ok("b", 2, NULL);
	ck_assert_int_eq(ntm_store_node_del(st, "b"), 0);
	ck_assert_int_eq(ntm_store_mark(st, &mark), 0);
	ck_assert_uint_eq(mark, 2);
	mark_path_of(mp, sizeof(mp), path);
	ck_assert_ptr_nonnull(f = fopen(mp, "r"));
	ck_assert_ptr_nonnull(fgets(text, sizeof(text), f));
	fclose(f);
	ck_assert_str_eq(text, "ntm index mark 2\n");
	ck_assert_int_eq(ntm_store_set_meta(st, NTM_STORE_META_MARK, "0"), -EPERM);
}
END_TEST

/* The case: back up, enrol B, restore the backup, enrol C. */
START_TEST(test_after_a_restore_from_an_older_backup_a_new_key_never_gets_an_address_handed_out_since)
{
	char bak[160];
	struct ntm_node_rec a, b, c, got;
	struct list_ctx l;

	snprintf(bak, sizeof(bak), "%s/backup.db", dir);
	open_with(NULL);
	add_ok("a", 1, &a);
	ck_assert_int_eq(ntm_store_backup(st, bak, err, sizeof(err)), 0);
	add_ok("b", 2, &b);
	ck_assert_msg(ntm_store_restore(st, bak, err, sizeof(err)) == 0, "%s", err);
	ck_assert_msg(strstr(ntm_store_notice(st), "older"), "%s", ntm_store_notice(st));
	ck_assert_uint_eq(list_count(&l), 1);               /* b went with the restore */
	ck_assert_int_eq(ntm_store_node_by_key(st, key(2), &got), -ENOENT);
	add_ok("c", 3, &c);
	ck_assert_uint_gt(c.host_index, b.host_index);
	ck_assert_mem_ne(c.vip4, b.vip4, 4);
	/* still a WAL registry, and a second connection agrees */
	ck_assert_int_eq(raw_int("SELECT journal_mode = 'wal' FROM pragma_journal_mode"), 1);
	reopen();
	ck_assert_int_eq(ntm_store_node_by_key(st, key(3), &got), 0);
	ck_assert_uint_eq(got.host_index, c.host_index);
}
END_TEST

/* The same with the file copied back by hand while nothing ran. */
START_TEST(test_a_database_file_copied_back_from_an_old_copy_continues_above_the_mark)
{
	char bak[160], wal[160];
	struct ntm_node_rec b, c;

	snprintf(bak, sizeof(bak), "%s/backup.db", dir);
	open_with(NULL);
	add_ok("a", 1, NULL);
	ck_assert_int_eq(ntm_store_backup(st, bak, err, sizeof(err)), 0);
	add_ok("b", 2, &b);
	ntm_store_close(st);
	st = NULL;
	snprintf(wal, sizeof(wal), "%s-wal", path);
	unlink(wal);
	ck_assert_int_eq(rename(bak, path), 0);
	open_with(NULL);
	ck_assert_msg(strstr(ntm_store_notice(st), "older than its mark file"), "%s",
		      ntm_store_notice(st));
	add_ok("c", 3, &c);
	ck_assert_uint_eq(c.host_index, b.host_index + 1);
	reopen();
	ck_assert_str_eq(ntm_store_notice(st), "");        /* settled: said once */
}
END_TEST

START_TEST(test_a_new_registry_beside_an_old_mark_file_continues_above_it)
{
	char mp[160];
	struct ntm_node_rec r;

	mark_path_of(mp, sizeof(mp), path);
	write_file(mp, "ntm index mark 41\n", 18);
	open_with(NULL);
	add_ok("a", 1, &r);
	ck_assert_uint_eq(r.host_index, 42);
}
END_TEST

START_TEST(test_a_lost_mark_file_is_made_again_from_the_database)
{
	char mp[160];
	struct ntm_node_rec r;

	open_with(NULL);
	add_ok("a", 1, NULL);
	add_ok("b", 2, NULL);
	mark_path_of(mp, sizeof(mp), path);
	ck_assert_int_eq(unlink(mp), 0);
	reopen();
	ck_assert_msg(strstr(ntm_store_notice(st), "created"), "%s", ntm_store_notice(st));
	ck_assert_int_eq(access(mp, F_OK), 0);
	add_ok("c", 3, &r);
	ck_assert_uint_eq(r.host_index, 3);
}
END_TEST

START_TEST(test_a_damaged_mark_file_is_refused_naming_it)
{
	char mp[160];

	open_with(NULL);
	add_ok("a", 1, NULL);
	ntm_store_close(st);
	st = NULL;
	mark_path_of(mp, sizeof(mp), path);
	write_file(mp, "garbage\n", 8);
	ck_assert_int_eq(ntm_store_open(&st, path, NULL, err, sizeof(err)), -EUCLEAN);
	ck_assert_msg(strstr(err, mp) && strstr(err, "not an allocation mark"), "%s", err);
}
END_TEST

START_TEST(test_backup_writes_a_new_file_only)
{
	char bak[160];

	snprintf(bak, sizeof(bak), "%s/backup.db", dir);
	write_file(bak, "x", 1);
	open_with(NULL);
	ck_assert_int_eq(ntm_store_backup(st, bak, err, sizeof(err)), -EEXIST);
	ck_assert_int_eq(file_size(bak), 1);
}
END_TEST

START_TEST(test_restore_refuses_what_is_not_a_registry_of_the_same_prefixes_and_changes_nothing)
{
	char bak[160], other[160];
	struct list_ctx l;
	struct ntm_store *o = NULL;
	struct ntm_store_params p = { .v4 = pfx("10.0.0.0", 8) };

	snprintf(bak, sizeof(bak), "%s/junk", dir);
	snprintf(other, sizeof(other), "%s/other.db", dir);
	write_file(bak, "junk", 4);
	ck_assert_int_eq(ntm_store_open(&o, other, &p, err, sizeof(err)), 0);
	ck_assert_int_eq(ntm_store_node_add(o, "z", key(9), NULL), 0);
	ntm_store_close(o);
	open_with(NULL);
	add_ok("a", 1, NULL);
	ck_assert_int_eq(ntm_store_restore(st, bak, err, sizeof(err)), -EUCLEAN);
	ck_assert_ptr_nonnull(strstr(err, bak));
	ck_assert_int_eq(ntm_store_restore(st, other, err, sizeof(err)), -EINVAL);
	ck_assert_msg(strstr(err, "10.0.0.0/8"), "%s", err);
	ck_assert_int_eq(ntm_store_restore(st, path, err, sizeof(err)), -EINVAL);
	ck_assert_uint_eq(list_count(&l), 1);
}
END_TEST

/* ---- what the DC's in-memory key set reads ---- */

struct keys_ctx {
	unsigned n;
	uint32_t idx[8];
};

static int keys_cb(const uint8_t *k, uint32_t host_index, void *arg)
{
	struct keys_ctx *c = arg;

	ck_assert_uint_lt(c->n, 8);
	ck_assert_mem_eq(k, key(host_index), NTM_STORE_KEY_LEN);  /* keys added as key(index) */
	c->idx[c->n++] = host_index;
	return 0;
}

START_TEST(test_data_version_moves_with_another_connections_commit_and_keys_lists_enrolments)
{
	struct ntm_store *ctl = NULL;
	struct keys_ctx c = { 0 };
	uint64_t v1, v2, v3;

	open_with(NULL);
	ck_assert_int_eq(ntm_store_open(&ctl, path, NULL, err, sizeof(err)), 0);
	ck_assert_int_eq(ntm_store_data_version(st, &v1), 0);
	ck_assert_int_eq(ntm_store_data_version(st, &v2), 0);
	ck_assert_uint_eq(v1, v2);
	ck_assert_int_eq(ntm_store_node_add(ctl, "a", key(1), NULL), 0);
	ck_assert_int_eq(ntm_store_node_add(ctl, "b", key(2), NULL), 0);
	ck_assert_int_eq(ntm_store_node_del(ctl, "a"), 0);
	ck_assert_int_eq(ntm_store_data_version(st, &v3), 0);
	ck_assert_uint_ne(v3, v2);
	ck_assert_int_eq(ntm_store_keys(st, keys_cb, &c), 0);
	ck_assert_uint_eq(c.n, 1);
	ck_assert_uint_eq(c.idx[0], 2);
	ntm_store_close(ctl);
}
END_TEST

/* ---- sharing and crashes ---- */

START_TEST(test_a_node_added_by_a_second_connection_is_seen_by_the_first)
{
	struct ntm_store *ctl = NULL;
	struct ntm_node_rec rec, got;
	struct list_ctx c;

	open_with(NULL);
	add_ok("alice", 1, NULL);
	ck_assert_uint_eq(list_count(&c), 1);
	ck_assert_int_eq(ntm_store_open(&ctl, path, NULL, err, sizeof(err)), 0);
	ck_assert_int_eq(ntm_store_node_add(ctl, "bob", key(2), &rec), 0);
	ck_assert_int_eq(ntm_store_node_by_key(st, key(2), &got), 0);
	rec_eq(&got, &rec);
	ck_assert_uint_eq(list_count(&c), 2);
	ck_assert_int_eq(ntm_store_node_del(ctl, "alice"), 0);
	ck_assert_int_eq(ntm_store_node_by_name(st, "alice", &got), -ENOENT);
	/* And the other way round, including the allocation counter. */
	add_ok("carol", 3, &rec);
	ck_assert_uint_eq(rec.host_index, 3);
	ck_assert_int_eq(ntm_store_node_by_name(ctl, "carol", &got), 0);
	ntm_store_close(ctl);
}
END_TEST

/* Child: adds nodes prefix-0, prefix-1, ... writing each index to fd once
 * the add returned 0. Never returns; the exit status is 0, or 100 + errno
 * of a failed open, or errno of a failed add. */
static void adder(const char *prefix, unsigned first_key, unsigned count, int fd)
{
	struct ntm_store *s = NULL;
	char name[64];

	int ret = ntm_store_open(&s, path, NULL, NULL, 0);

	if (ret < 0)
		_exit(100 - ret);
	for (unsigned i = 0; i < count; i++) {
		snprintf(name, sizeof(name), "%s-%u", prefix, i);
		ret = ntm_store_node_add(s, name, key(first_key + i), NULL);
		if (ret < 0)
			_exit(-ret);
		if (fd >= 0 && write(fd, &i, sizeof(i)) != sizeof(i))
			_exit(99);
	}
	ntm_store_close(s);
	_exit(0);
}

static void integrity_ok(void)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *s = NULL;

	ck_assert_int_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &s, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(s), SQLITE_ROW);
	ck_assert_str_eq((const char *)sqlite3_column_text(s, 0), "ok");
	sqlite3_finalize(s);
	ck_assert_int_eq(sqlite3_prepare_v2(db, "PRAGMA foreign_key_check", -1, &s, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(s), SQLITE_DONE);
	sqlite3_finalize(s);
	sqlite3_close(db);
}

START_TEST(test_enrolments_survive_sigkill_at_a_random_moment)
{
	struct list_ctx c;
	struct ntm_node_rec got;
	char name[64];
	unsigned total = 0;

	srand((unsigned)time(NULL) ^ (unsigned)getpid());
	for (unsigned round = 0; round < 4; round++) {
		int fds[2];
		unsigned acked = 0, i;
		pid_t pid;
		struct timespec ts = { 0, (long)(rand() % 150) * 1000000L };

		ck_assert_int_eq(pipe2(fds, O_CLOEXEC), 0);
		pid = fork();
		ck_assert_int_ge(pid, 0);
		if (pid == 0) {
			close(fds[0]);
			snprintf(name, sizeof(name), "r%u", round);
			adder(name, 1000 * (round + 1), 1000, fds[1]);
		}
		close(fds[1]);
		/* Wait for the first enrolment, then kill at a random later moment. */
		ck_assert_int_eq(read(fds[0], &i, sizeof(i)), (ssize_t)sizeof(i));
		acked = 1;
		nanosleep(&ts, NULL);
		ck_assert_int_eq(kill(pid, SIGKILL), 0);
		ck_assert_int_eq(waitpid(pid, NULL, 0), pid);
		while (read(fds[0], &i, sizeof(i)) == (ssize_t)sizeof(i))
			acked = i + 1;
		close(fds[0]);

		integrity_ok();
		open_with(NULL);
		for (i = 0; i < acked; i++) {
			snprintf(name, sizeof(name), "r%u-%u", round, i);
			ck_assert_msg(ntm_store_node_by_name(st, name, &got) == 0,
				      "acknowledged %s lost", name);
		}
		total += list_count(&c);
		ck_assert_uint_ge(c.n, acked);
		ck_assert_int_eq(raw_int("SELECT count(*) FROM nodes n LEFT JOIN allocations a "
					 "USING (pubkey) WHERE a.host_index IS NULL"), 0);
		ck_assert_int_eq(raw_int("SELECT count(*) FROM allocations"), c.n);
		/* a kill between the mark file and the commit skips an index:
		 * at most one per round, and never below the mark */
		ck_assert_int_ge(raw_int("SELECT max(host_index) FROM allocations"), c.n);
		ck_assert_int_le(raw_int("SELECT max(host_index) FROM allocations"), c.n + round + 1);
		ck_assert_int_ge(raw_int("SELECT CAST(value AS INTEGER) FROM meta "
					 "WHERE key = 'index_mark'"),
				 raw_int("SELECT max(host_index) FROM allocations"));
		ntm_store_close(st);
		st = NULL;
	}
	ck_assert_uint_gt(total, 0);
}
END_TEST

START_TEST(test_three_processes_adding_at_once_get_distinct_addresses)
{
	enum { CHILDREN = 3, PER_CHILD = 300 };
	pid_t pids[CHILDREN];
	int go[2], status;
	char byte, name[16];
	struct list_ctx c;

	open_with(NULL);        /* create the schema first, as ntm-dcd would */
	/* SQLite connections must not cross a fork (its lock bookkeeping is
	 * per process), so the parent closes its own first. */
	ntm_store_close(st);
	st = NULL;
	ck_assert_int_eq(pipe2(go, O_CLOEXEC), 0);
	for (int i = 0; i < CHILDREN; i++) {
		pids[i] = fork();
		ck_assert_int_ge(pids[i], 0);
		if (pids[i] == 0) {
			/* Both start on the same event: the pipe's end of file. */
			close(go[1]);
			if (read(go[0], &byte, 1) != 0)
				_exit(98);
			snprintf(name, sizeof(name), "p%d", i);
			adder(name, 1000 * (unsigned)(i + 1), PER_CHILD, -1);
		}
	}
	close(go[0]);
	close(go[1]);
	for (int i = 0; i < CHILDREN; i++) {
		ck_assert_int_eq(waitpid(pids[i], &status, 0), pids[i]);
		ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
			      "adder %d ended with status %#x", i, status);
	}
	open_with(NULL);
	ck_assert_uint_eq(list_count(&c), CHILDREN * PER_CHILD);
	ck_assert_int_eq(raw_int("SELECT count(DISTINCT host_index) FROM allocations"),
			 CHILDREN * PER_CHILD);
	ck_assert_int_eq(raw_int("SELECT max(host_index) FROM allocations"), CHILDREN * PER_CHILD);
}
END_TEST

/* Enrols nodes back to back until stop_fd reads end of file (at most
 * 4 * NTM_STORE_BUSY_MS); the first enrolment closes started_fd. */
static void hammer(unsigned id, int started_fd, int stop_fd)
{
	enum { HAMMER_MAX = 20000 };
	struct ntm_store *s = NULL;
	struct timespec t0, t;
	char byte, name[32];
	int ret;

	if (ntm_store_open(&s, path, NULL, NULL, 0) < 0)
		_exit(97);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (unsigned i = 0; i < HAMMER_MAX; i++) {
		snprintf(name, sizeof(name), "h%u-%u", id, i);
		ret = ntm_store_node_add(s, name, key(10000 + 30000 * id + i), NULL);
		if (ret < 0)
			_exit(-ret);
		if (i == 0)
			close(started_fd);
		if (read(stop_fd, &byte, 1) == 0)
			_exit(0);                       /* the other is done */
		clock_gettime(CLOCK_MONOTONIC, &t);
		if (t.tv_sec - t0.tv_sec > 4 * NTM_STORE_BUSY_MS / 1000)
			break;
	}
	_exit(96);                                      /* the other never got in */
}

/* Processes enrolling back to back (ntm-dcd under a burst of
 * registrations) take SQLite's write lock again microseconds after each
 * commit; SQLite's busy handler only polls, so another process
 * (ntm-dcctl) rarely found it free and gave up with -EBUSY after
 * NTM_STORE_BUSY_MS, though nothing was stuck. Two children add until a
 * third is done: the third must open and enrol meanwhile. */
START_TEST(test_processes_adding_back_to_back_do_not_starve_another)
{
	enum { HAMMERS = 2 };
	int started[HAMMERS][2], stop[2], status;
	pid_t pids[HAMMERS], other;
	struct ntm_node_rec got;
	char byte;

	open_with(NULL);
	ntm_store_close(st);    /* no SQLite connection crosses a fork */
	st = NULL;
	ck_assert_int_eq(pipe2(stop, O_CLOEXEC | O_NONBLOCK), 0);
	for (unsigned h = 0; h < HAMMERS; h++) {
		ck_assert_int_eq(pipe2(started[h], O_CLOEXEC), 0);
		pids[h] = fork();
		ck_assert_int_ge(pids[h], 0);
		if (pids[h] == 0) {
			close(started[h][0]);
			close(stop[1]);
			hammer(h, started[h][1], stop[0]);
		}
		close(started[h][1]);
	}
	close(stop[0]);
	for (unsigned h = 0; h < HAMMERS; h++) {
		ck_assert_int_eq(read(started[h][0], &byte, 1), 0);
		close(started[h][0]);
	}
	other = fork();
	ck_assert_int_ge(other, 0);
	if (other == 0)
		adder("o", 1, 1, -1);
	ck_assert_int_eq(waitpid(other, &status, 0), other);
	close(stop[1]);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "the third process ended with status %#x (116: open gave -EBUSY, "
		      "16: the enrolment did)", status);
	for (unsigned h = 0; h < HAMMERS; h++) {
		ck_assert_int_eq(waitpid(pids[h], &status, 0), pids[h]);
		ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
			      "adding process %u ended with status %#x", h, status);
	}
	open_with(NULL);
	ck_assert_int_eq(ntm_store_node_by_name(st, "o-0", &got), 0);
}
END_TEST

static Suite *store_suite(void)
{
	Suite *s = suite_create("store");
	TCase *tc = tcase_create("core");

	tcase_add_unchecked_fixture(tc, run_setup, run_teardown);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_an_added_node_is_listed_and_gone_after_del);
	tcase_add_test(tc, test_a_name_already_enrolled_is_refused_whatever_the_key);
	tcase_add_test(tc, test_a_key_enrolled_under_another_name_is_refused);
	tcase_add_test(tc, test_names_are_stored_in_lower_case_without_the_trailing_dot);
	tcase_add_test(tc, test_invalid_names_are_refused_and_write_nothing);
	tcase_add_test(tc, test_a_deleted_nodes_addresses_are_not_given_to_a_new_key);
	tcase_add_test(tc, test_the_same_key_added_again_after_del_gets_the_same_addresses);
	tcase_add_test(tc, test_addresses_are_distinct_inside_the_prefixes_and_found_again_by_address);
	tcase_add_test(tc, test_lookups_of_what_is_not_enrolled_give_enoent);
	tcase_add_test(tc, test_a_v4_slash_30_holds_two_nodes_and_the_third_gets_enospc_leaving_nothing_behind);
	tcase_add_test(tc, test_the_random_ula_prefix_starts_with_fd_and_survives_reopen);
	tcase_add_test(tc, test_a_changed_prefix_is_refused_once_addresses_are_allocated);
	tcase_add_test(tc, test_a_changed_prefix_is_accepted_while_nothing_is_allocated);
	tcase_add_test(tc, test_prefixes_that_cannot_hold_nodes_are_refused);
	tcase_add_test(tc, test_a_new_database_has_mode_0600_and_wal_journal);
	tcase_add_test(tc, test_a_symlink_as_database_path_is_refused);
	tcase_add_test(tc, test_a_newer_schema_version_is_refused);
	tcase_add_test(tc, test_a_file_that_is_not_a_registry_is_refused);
	tcase_add_test(tc, test_another_programs_database_is_not_taken_over);
	tcase_add_test(tc, test_meta_values_round_trip_and_the_prefix_keys_are_reserved);
	tcase_add_test(tc, test_an_empty_file_is_refused_naming_it_and_left_empty);
	tcase_add_test(tc, test_a_file_that_is_not_sqlite_is_refused_and_not_written);
	tcase_add_test(tc, test_an_sqlite_database_without_tables_is_refused);
	tcase_add_test(tc, test_another_applications_database_is_refused_unchanged);
	tcase_add_test(tc, test_a_new_registry_is_made_whole_with_no_file_left_beside_it);
	tcase_add_test(tc, test_a_version_1_registry_is_upgraded_and_its_mark_is_its_highest_index);
	tcase_add_test(tc, test_each_allocation_raises_the_mark_in_the_database_and_the_file);
	tcase_add_test(tc, test_after_a_restore_from_an_older_backup_a_new_key_never_gets_an_address_handed_out_since);
	tcase_add_test(tc, test_a_database_file_copied_back_from_an_old_copy_continues_above_the_mark);
	tcase_add_test(tc, test_a_new_registry_beside_an_old_mark_file_continues_above_it);
	tcase_add_test(tc, test_a_lost_mark_file_is_made_again_from_the_database);
	tcase_add_test(tc, test_a_damaged_mark_file_is_refused_naming_it);
	tcase_add_test(tc, test_backup_writes_a_new_file_only);
	tcase_add_test(tc, test_restore_refuses_what_is_not_a_registry_of_the_same_prefixes_and_changes_nothing);
	tcase_add_test(tc, test_data_version_moves_with_another_connections_commit_and_keys_lists_enrolments);
	tcase_add_test(tc, test_a_node_added_by_a_second_connection_is_seen_by_the_first);
	tcase_add_test(tc, test_enrolments_survive_sigkill_at_a_random_moment);
	tcase_add_test(tc, test_three_processes_adding_at_once_get_distinct_addresses);
	tcase_add_test(tc, test_processes_adding_back_to_back_do_not_starve_another);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(store_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
