/* store_check.c - the registry's contract (store.h) run against either
 * backend, for tests/unit/pg_store.sh:
 *   store_check run BACKEND LOCATION        the checks below; LOCATION is a
 *                                           new SQLite path or an empty
 *                                           PostgreSQL database
 *   store_check open BACKEND LOCATION       open only: prints the error
 *   store_check enrol BACKEND LOCATION TAG N
 *                                           enrols N nodes TAG-0.. with
 *                                           random keys
 *   store_check fill BACKEND LOCATION N     N nodes, every fifth deleted
 *   store_check dump BACKEND LOCATION       allocations and nodes, sorted
 *                                           by the caller
 * BACKEND is sqlite or postgresql. Exit 0 when every check held, 1 with
 * the failed check on stderr otherwise. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "store.h"

#define CHECK(cond)                                                                        \
	do {                                                                               \
		if (!(cond)) {                                                             \
			fprintf(stderr, "store_check: %s:%d: check failed: %s (%s)\n",     \
				__FILE__, __LINE__, #cond, st ? ntm_store_errmsg(st) : "");\
			exit(1);                                                           \
		}                                                                          \
	} while (0)

static struct ntm_store *st;
static enum ntm_store_backend backend;
static const char *location;

static void params(struct ntm_store_params *p, const char *v4)
{
	memset(p, 0, sizeof(*p));
	p->v4.family = AF_INET;
	p->v4.plen = (uint8_t)atoi(strchr(v4, '/') + 1);
	char ip[32];
	snprintf(ip, sizeof(ip), "%.*s", (int)(strchr(v4, '/') - v4), v4);
	inet_pton(AF_INET, ip, &p->v4.u.v4);
	p->v6.family = AF_INET6;
	p->v6.plen = 48;
	inet_pton(AF_INET6, "fd00:1:2::", &p->v6.u.v6);
}

static int open_with(const char *v4, struct ntm_store **out, char *err, size_t errlen)
{
	struct ntm_store_params p;

	params(&p, v4);
	return ntm_store_open_backend(out, backend, location, &p, err, errlen);
}

static void must_open(const char *v4)
{
	char err[512];
	int ret = open_with(v4, &st, err, sizeof(err));

	if (ret < 0) {
		fprintf(stderr, "store_check: open: %s\n", err);
		exit(1);
	}
}

static void key_of(uint8_t key[NTM_STORE_KEY_LEN], unsigned i)
{
	memset(key, 0, NTM_STORE_KEY_LEN);
	key[0] = 0xa5;
	key[1] = (uint8_t)(i >> 8);
	key[2] = (uint8_t)i;
}

static int count_cb(const struct ntm_node_rec *rec, void *ctx)
{
	static char last[NTM_NAME_MAX + 1];
	size_t *n = ctx;

	if (*n > 0 && strcmp(last, rec->name) >= 0)
		return -EDOM;           /* not in name order */
	snprintf(last, sizeof(last), "%s", rec->name);
	(*n)++;
	return 0;
}

static int key_cb(const uint8_t *key, uint32_t idx, void *ctx)
{
	(void)key;
	(void)idx;
	(*(size_t *)ctx)++;
	return 0;
}

static int alloc_cb(const uint8_t *key, uint32_t idx, const char *name, void *ctx)
{
	(void)key;
	(void)idx;
	(void)name;
	(*(size_t *)ctx)++;
	return 0;
}

static void run(void)
{
	struct ntm_node_rec rec, got;
	struct ntm_store *other = NULL;
	uint8_t key[NTM_STORE_KEY_LEN], v6[16];
	char buf[64], err[512];
	uint64_t v1, v2;
	uint32_t mark;
	size_t n = 0;

	/* 10.7.0.0/29: host indices 1..6 */
	must_open("10.7.0.0/29");
	CHECK(ntm_store_data_version(st, &v1) == 0);
	key_of(key, 1);
	CHECK(ntm_store_node_add(st, "Alice.ntm.test.", key, &rec) == 0);
	CHECK(rec.host_index == 1 && !strcmp(rec.name, "alice.ntm.test"));
	CHECK(rec.vip4[0] == 10 && rec.vip4[1] == 7 && rec.vip4[2] == 0 && rec.vip4[3] == 1);
	CHECK(ntm_store_node_by_key(st, key, &got) == 0 && got.host_index == 1);
	CHECK(!strcmp(got.name, "alice.ntm.test") && got.created == rec.created);
	CHECK(ntm_store_node_by_name(st, "alice.ntm.test", &got) == 0 && got.host_index == 1);
	CHECK(ntm_store_node_by_addr(st, AF_INET, rec.vip4, &got) == 0 && got.host_index == 1);
	inet_pton(AF_INET6, "fd00:1:2::1", v6);
	CHECK(ntm_store_node_by_addr(st, AF_INET6, v6, &got) == 0 && got.host_index == 1);
	CHECK(ntm_store_node_by_addr(st, AF_UNIX, v6, &got) == -EAFNOSUPPORT);
	CHECK(ntm_store_node_add(st, "alice.ntm.test", key, NULL) == -EEXIST);
	key_of(key, 2);
	CHECK(ntm_store_node_add(st, "alice.ntm.test", key, NULL) == -EEXIST);
	key_of(key, 1);
	CHECK(ntm_store_node_add(st, "other.ntm.test", key, NULL) == -EEXIST);
	CHECK(ntm_store_node_add(st, "bad..name", key, NULL) == -EINVAL);
	CHECK(ntm_store_node_by_name(st, "nobody.ntm.test", &got) == -ENOENT);
	/* del keeps the allocation: the key comes back to index 1 */
	CHECK(ntm_store_node_del(st, "alice.ntm.test") == 0);
	CHECK(ntm_store_node_del(st, "alice.ntm.test") == -ENOENT);
	CHECK(ntm_store_node_by_key(st, key, &got) == -ENOENT);
	CHECK(ntm_store_node_add(st, "alice2.ntm.test", key, &rec) == 0 && rec.host_index == 1);
	/* fill the prefix */
	for (unsigned i = 2; i <= 6; i++) {
		char name[32];
		snprintf(name, sizeof(name), "n%u.ntm.test", i);
		key_of(key, i);
		CHECK(ntm_store_node_add(st, name, key, &rec) == 0 && rec.host_index == i);
	}
	key_of(key, 7);
	CHECK(ntm_store_node_add(st, "n7.ntm.test", key, NULL) == -ENOSPC);
	CHECK(ntm_store_node_list(st, count_cb, &n) == 0 && n == 6);
	n = 0;
	CHECK(ntm_store_keys(st, key_cb, &n) == 0 && n == 6);
	n = 0;
	CHECK(ntm_store_allocations(st, alloc_cb, &n) == 0 && n == 6);
	CHECK(ntm_store_mark(st, &mark) == 0 && mark == 6);
	/* meta */
	CHECK(ntm_store_get_meta(st, "zone", buf, sizeof(buf)) == -ENOENT);
	CHECK(ntm_store_set_meta(st, "zone", "ntm.test") == 0);
	CHECK(ntm_store_get_meta(st, "zone", buf, sizeof(buf)) == 8 && !strcmp(buf, "ntm.test"));
	CHECK(ntm_store_get_meta(st, "zone", buf, 8) == -ERANGE);
	CHECK(ntm_store_set_meta(st, NTM_STORE_META_MARK, "1") == -EPERM);
	CHECK(ntm_store_set_meta(st, NTM_STORE_META_V4, "10.0.0.0/8") == -EPERM);
	CHECK(ntm_store_set_meta(st, "", "x") == -EINVAL);
	/* a second connection's change is seen, and changes data_version */
	CHECK(open_with("10.7.0.0/29", &other, err, sizeof(err)) == 0);
	CHECK(ntm_store_node_del(other, "n6.ntm.test") == 0);
	CHECK(ntm_store_node_by_name(st, "n6.ntm.test", &got) == -ENOENT);
	CHECK(ntm_store_data_version(st, &v2) == 0 && v2 != v1);
	ntm_store_close(other);
	other = NULL;
	/* other prefixes are refused once allocated; the same reopen */
	ntm_store_close(st);
	st = NULL;
	CHECK(open_with("10.8.0.0/29", &other, err, sizeof(err)) == -EINVAL);
	CHECK(strstr(err, "differs") != NULL);
	must_open("10.7.0.0/29");
	CHECK(ntm_store_node_by_name(st, "n5.ntm.test", &got) == 0 && got.host_index == 5);
	CHECK(ntm_store_mark(st, &mark) == 0 && mark == 6);
	key_of(key, 8);
	CHECK(ntm_store_node_add(st, "n8.ntm.test", key, NULL) == -ENOSPC);
	ntm_store_close(st);
	st = NULL;
	printf("store_check: %s: all checks passed\n", backend == NTM_STORE_SQLITE ? "sqlite" :
	       "postgresql");
}

static void enrol(const char *tag, unsigned count)
{
	uint8_t key[NTM_STORE_KEY_LEN];
	char name[NTM_NAME_MAX + 1];

	must_open("10.64.0.0/16");
	for (unsigned i = 0; i < count; i++) {
		CHECK(getrandom(key, sizeof(key), 0) == (ssize_t)sizeof(key));
		snprintf(name, sizeof(name), "%s-%u.ntm.test", tag, i);
		int ret = ntm_store_node_add(st, name, key, NULL);
		if (ret < 0) {
			fprintf(stderr, "store_check: enrol %s: %s (%s)\n", name, strerror(-ret),
				ntm_store_errmsg(st));
			exit(1);
		}
	}
	ntm_store_close(st);
}

static void fill(unsigned count)
{
	uint8_t key[NTM_STORE_KEY_LEN];
	char name[NTM_NAME_MAX + 1];

	must_open("10.64.0.0/16");
	for (unsigned i = 0; i < count; i++) {
		key_of(key, i);
		snprintf(name, sizeof(name), "m%u.ntm.test", i);
		CHECK(ntm_store_node_add(st, name, key, NULL) == 0);
		if (i % 5 == 4)
			CHECK(ntm_store_node_del(st, name) == 0);
	}
	ntm_store_close(st);
}

static int print_alloc(const uint8_t *key, uint32_t idx, const char *name, void *ctx)
{
	(void)ctx;
	printf("alloc %02x%02x%02x %u %s\n", key[0], key[1], key[2], (unsigned)idx, name);
	return 0;
}

static int print_node(const struct ntm_node_rec *r, void *ctx)
{
	char a4[INET_ADDRSTRLEN], a6[INET6_ADDRSTRLEN];

	(void)ctx;
	inet_ntop(AF_INET, r->vip4, a4, sizeof(a4));
	inet_ntop(AF_INET6, r->vip6, a6, sizeof(a6));
	printf("node %s %02x%02x%02x %u %s %s %lld\n", r->name, r->pubkey[0], r->pubkey[1],
	       r->pubkey[2], (unsigned)r->host_index, a4, a6, (long long)r->created);
	return 0;
}

static void dump(void)
{
	uint32_t mark;

	must_open("10.64.0.0/16");
	CHECK(ntm_store_allocations(st, print_alloc, NULL) == 0);
	CHECK(ntm_store_node_list(st, print_node, NULL) == 0);
	CHECK(ntm_store_mark(st, &mark) == 0);
	printf("mark %u\n", (unsigned)mark);
	ntm_store_close(st);
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: store_check run|open|enrol|fill|dump BACKEND LOCATION ...\n");
		return 2;
	}
	backend = !strcmp(argv[2], "postgresql") ? NTM_STORE_POSTGRESQL : NTM_STORE_SQLITE;
	location = argv[3];
	if (!strcmp(argv[1], "run")) {
		run();
	} else if (!strcmp(argv[1], "open")) {
		char err[512];
		int ret = open_with("10.64.0.0/16", &st, err, sizeof(err));
		if (ret < 0) {
			printf("%s: %s\n", strerror(-ret), err);
			return 1;
		}
		ntm_store_close(st);
		printf("opened\n");
	} else if (!strcmp(argv[1], "enrol") && argc == 6) {
		enrol(argv[4], (unsigned)atoi(argv[5]));
	} else if (!strcmp(argv[1], "fill") && argc == 5) {
		fill((unsigned)atoi(argv[4]));
	} else if (!strcmp(argv[1], "dump")) {
		dump();
	} else {
		return 2;
	}
	return 0;
}
