/* store_pg.c - the DC's registry in PostgreSQL (libpq); see store.h's
 * section "PostgreSQL" for the contract and store_int.h for the split.
 *
 * Schema (NTM_STORE_PG_SCHEMA_VERSION 2), in the connection's current
 * schema:
 *   ntm_meta(key TEXT PRIMARY KEY, value TEXT)     prefixes, the mark, the
 *                                                  schema version, the
 *                                                  change counter
 *   ntm_allocations(pubkey BYTEA PRIMARY KEY, host_index BIGINT UNIQUE,
 *                   name)                          never deleted
 *   ntm_nodes(name PRIMARY KEY, pubkey UNIQUE -> ntm_allocations, created)
 *   ntm_instances(instance 1..255 PRIMARY KEY, seen) (version 2) each DC
 *                                                  instance's last beat
 *   ntm_presence(pubkey PRIMARY KEY -> ntm_allocations, instance, addrs,
 *                seen)                  (version 2) nodes registered now,
 *                                                  at which instance
 * A version 1 database gets the two version 2 tables on open.
 * Times in the version 2 tables are the database's clock (unix seconds),
 * so instances with skewed clocks still agree on a beat's age.
 * Everything goes through PQexecParams with text parameters (keys as
 * bytea hex, "\x" and 64 digits): no SQL is ever built from input.
 *
 * Every call runs under pg_run: a write in one READ COMMITTED transaction
 * (the allocation takes the mark's row lock, so allocations queue in the
 * database), restarted on unique_violation, serialization_failure and
 * deadlock_detected up to NTM_STORE_PG_RETRIES times; a connection found
 * bad is reset once (PQreset) and the call run again. A write whose
 * COMMIT went out but whose answer was lost with the connection is run
 * again too: it then finds its own enrolment (-EEXIST), never a second
 * allocation. */
#include <errno.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_int.h"
#include "util.h"

#define PG_LOCK_ID "1853123922"         /* advisory lock of open and import: NTM_STORE_APP_ID */
_Static_assert(NTM_STORE_APP_ID == 1853123922, "PG_LOCK_ID spells the application_id");

/* Internal results pg_run turns into retries. */
#define PG_CONFLICT (-EAGAIN)           /* serialization failure, deadlock */
#define PG_UNIQUE (-EADDRINUSE)         /* unique_violation */
#define PG_LOST (-ECONNRESET)           /* the connection is bad */

static const char schema_sql[] =
	"CREATE TABLE ntm_meta ("
	"  key TEXT PRIMARY KEY,"
	"  value TEXT NOT NULL);"
	"CREATE TABLE ntm_allocations ("
	"  pubkey BYTEA PRIMARY KEY CHECK (octet_length(pubkey) = 32),"
	"  host_index BIGINT NOT NULL UNIQUE CHECK (host_index >= 1),"
	"  name TEXT NOT NULL);"
	"CREATE TABLE ntm_nodes ("
	"  name TEXT PRIMARY KEY CHECK (name = lower(name)),"
	"  pubkey BYTEA NOT NULL UNIQUE REFERENCES ntm_allocations (pubkey),"
	"  created BIGINT NOT NULL);"
	"INSERT INTO ntm_meta (key, value) VALUES ('" NTM_STORE_META_SCHEMA "', '1'),"
	"  ('" NTM_STORE_META_MARK "', '0'), ('" NTM_STORE_META_GEN "', '0');";

/* Version 1 to 2: the tables of DC instances sharing the registry. Run
 * after schema_sql on a new database too. */
static const char schema_v2_sql[] =
	"CREATE TABLE ntm_instances ("
	"  instance INTEGER PRIMARY KEY CHECK (instance BETWEEN 1 AND 255),"
	"  seen BIGINT NOT NULL);"
	"CREATE TABLE ntm_presence ("
	"  pubkey BYTEA PRIMARY KEY REFERENCES ntm_allocations (pubkey),"
	"  instance INTEGER NOT NULL CHECK (instance BETWEEN 1 AND 255),"
	"  addrs BYTEA NOT NULL CHECK (octet_length(addrs) BETWEEN 1 AND 512),"
	"  seen BIGINT NOT NULL);"
	"UPDATE ntm_meta SET value = '2' WHERE key = '" NTM_STORE_META_SCHEMA "';";
_Static_assert(NTM_STORE_PG_SCHEMA_VERSION == 2, "schema_v2_sql writes version 2");
_Static_assert(NTM_STORE_PRESENCE_MAX == 512, "ntm_presence.addrs' CHECK");
#define DB_NOW "extract(epoch FROM now())::bigint"

#define NODE_COLS "SELECT n.name, encode(n.pubkey, 'hex'), a.host_index, n.created " \
	"FROM ntm_nodes n JOIN ntm_allocations a ON a.pubkey = n.pubkey "
#define BUMP_GEN "UPDATE ntm_meta SET value = (value::bigint + 1)::text WHERE key = '" \
	NTM_STORE_META_GEN "'"

struct pg {
	struct ntm_store c;             /* first: store.c's part */
	PGconn *conn;
	struct ntm_store_params p;
	bool has_p;
	unsigned instance;              /* claimed (instance_claim), 0: none */
	char channel[64];               /* LISTENed on */
	bool reclaim_due;               /* lock and LISTEN not taken again after a reset */
};

static int pg_reclaim(struct pg *st);

static const struct ntm_store_ops pg_ops;

static struct pg *PG(struct ntm_store *c)
{
	return (struct pg *)c;          /* c is a struct pg's first member */
}

/* ---- errors ---- */

/* libpq's message without its trailing newline, into errmsg. */
static void keep_msg(struct pg *st, const char *msg)
{
	size_t n;

	snprintf(st->c.errmsg, sizeof(st->c.errmsg), "%s", msg && *msg ? msg : "PostgreSQL error");
	n = strlen(st->c.errmsg);
	while (n && (st->c.errmsg[n - 1] == '\n' || st->c.errmsg[n - 1] == ' '))
		st->c.errmsg[--n] = '\0';
}

/* A failed result as -errno (PG_* for what pg_run retries). */
static int pg_fail(struct pg *st, const PGresult *res)
{
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;

	keep_msg(st, res ? PQresultErrorMessage(res) : PQerrorMessage(st->conn));
	if (PQstatus(st->conn) == CONNECTION_BAD)
		return PG_LOST;
	if (!state)
		return -EIO;
	if (!strcmp(state, "40001") || !strcmp(state, "40P01"))
		return PG_CONFLICT;
	if (!strcmp(state, "23505"))
		return PG_UNIQUE;
	if (!strncmp(state, "08", 2))
		return PG_LOST;
	if (!strncmp(state, "23", 2) || !strcmp(state, "42P01") || !strcmp(state, "42703"))
		return -EUCLEAN;        /* a row or table the schema rules out */
	if (!strcmp(state, "53200"))
		return -ENOMEM;
	if (!strcmp(state, "25006"))
		return -EROFS;
	if (!strcmp(state, "42501"))
		return -EACCES;
	if (!strcmp(state, "57014"))
		return -ETIMEDOUT;
	return -EIO;                    /* disk full (53100) too: -ENOSPC is the prefix's */
}

/* ---- statements ---- */

/* Runs sql with n text parameters. 0 with *out (PQclear it) when it
 * succeeded, else -errno with nothing to free. out may be NULL. */
static int pg_q(struct pg *st, PGresult **out, const char *sql, int n, const char *const *vals)
{
	/* PQexec for fixed text without parameters (the schema is several
	 * statements, which PQexecParams refuses). */
	PGresult *res = n == 0 ? PQexec(st->conn, sql) :
			PQexecParams(st->conn, sql, n, NULL, vals, NULL, NULL, 0);
	ExecStatusType s = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
	int ret = 0;

	if (s != PGRES_TUPLES_OK && s != PGRES_COMMAND_OK) {
		ret = pg_fail(st, res);
		PQclear(res);
		res = NULL;
	}
	if (out)
		*out = res;
	else
		PQclear(res);
	return ret;
}

static int pg_cmd(struct pg *st, const char *sql)
{
	return pg_q(st, NULL, sql, 0, NULL);
}

/* One text value (row 0, column 0): 1 with *res kept (PQclear it), 0 for
 * no row, -errno. */
static int pg_one(struct pg *st, PGresult **res, const char *sql, int n, const char *const *vals)
{
	int ret = pg_q(st, res, sql, n, vals);

	if (ret < 0)
		return ret;
	if (PQntuples(*res) == 0) {
		PQclear(*res);
		*res = NULL;
		return 0;
	}
	return 1;
}

static int pg_u32(struct pg *st, const char *key, const char *sql, int n,
		  const char *const *vals, uint32_t *out)
{
	PGresult *res = NULL;
	int ret = pg_one(st, &res, sql, n, vals);

	if (ret == 0) {
		store_err(&st->c, "meta %s is missing", key);
		return -EUCLEAN;
	}
	if (ret < 0)
		return ret;
	ret = store_parse_u32(&st->c, key, PQgetvalue(res, 0, 0), out);
	PQclear(res);
	return ret;
}

/* Key as bytea input: "\x" and 64 hex digits. */
static void key_hex(const uint8_t *key, char out[2 + 2 * NTM_STORE_KEY_LEN + 1])
{
	static const char digits[] = "0123456789abcdef";

	out[0] = '\\';
	out[1] = 'x';
	for (size_t i = 0; i < NTM_STORE_KEY_LEN; i++) {
		out[2 + 2 * i] = digits[key[i] >> 4];
		out[3 + 2 * i] = digits[key[i] & 15];
	}
	out[2 + 2 * NTM_STORE_KEY_LEN] = '\0';
}

static int hexval(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* encode(pubkey, 'hex') back into 32 bytes; -EUCLEAN for anything else. */
static int key_parse(const char *s, uint8_t *key)
{
	if (strlen(s) != 2 * NTM_STORE_KEY_LEN)
		return -EUCLEAN;
	for (size_t i = 0; i < NTM_STORE_KEY_LEN; i++) {
		int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -EUCLEAN;
		key[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

/* A host index column, checked against the prefix. */
static int index_parse(struct pg *st, const char *s, uint32_t *out)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || end == s || *end || v < 1 || v > st->c.max_index)
		return -EUCLEAN;
	*out = (uint32_t)v;
	return 0;
}

/* Row i of a NODE_COLS result into r. */
static int rec_from_row(struct pg *st, const PGresult *res, int i, struct ntm_node_rec *r)
{
	const char *name = PQgetvalue(res, i, 0);
	size_t len = strlen(name);
	char *end;

	memset(r, 0, sizeof(*r));
	if (len < 1 || len > NTM_NAME_MAX || key_parse(PQgetvalue(res, i, 1), r->pubkey) < 0 ||
	    index_parse(st, PQgetvalue(res, i, 2), &r->host_index) < 0)
		return -EUCLEAN;
	memcpy(r->name, name, len);
	errno = 0;
	r->created = strtoll(PQgetvalue(res, i, 3), &end, 10);
	if (errno || *end)
		return -EUCLEAN;
	store_rec_addrs(&st->c, r);
	return 0;
}

/* ---- running a call ---- */

typedef int (*pg_fn)(struct pg *st, void *ctx);

/* Runs fn, inside a transaction when txn; restarts it on a conflict and
 * after resetting a lost connection once. */
static int pg_run(struct pg *st, bool txn, pg_fn fn, void *ctx)
{
	bool reset = false;
	int ret;

	for (int attempt = 0;; attempt++) {
		ret = txn ? pg_cmd(st, "BEGIN ISOLATION LEVEL READ COMMITTED") : 0;
		if (ret == 0)
			ret = fn(st, ctx);
		if (ret == 0 && txn)
			ret = pg_cmd(st, "COMMIT");
		if (ret < 0 && txn && PQstatus(st->conn) == CONNECTION_OK &&
		    PQtransactionStatus(st->conn) != PQTRANS_IDLE)
			PQclear(PQexec(st->conn, "ROLLBACK"));
		if ((ret == PG_CONFLICT || ret == PG_UNIQUE) && attempt < NTM_STORE_PG_RETRIES)
			continue;
		if (ret == PG_LOST && !reset) {
			reset = true;
			PQreset(st->conn);
			if (PQstatus(st->conn) == CONNECTION_OK) {
				/* the instance's lock and LISTEN went with the old
				 * session; if the old one still holds the lock (the
				 * server has not noticed it is gone), the beat tries
				 * again */
				st->reclaim_due = pg_reclaim(st) < 0;
				continue;
			}
			keep_msg(st, PQerrorMessage(st->conn));
		}
		break;
	}
	if (ret == PG_CONFLICT)
		return -EBUSY;
	if (ret == PG_UNIQUE)
		return -EEXIST;
	return ret;
}

/* ---- meta ---- */

struct meta_arg {
	const char *key, *value;
	char *buf;
	size_t cap;
};

static int do_get_meta(struct pg *st, void *arg)
{
	struct meta_arg *m = arg;
	const char *vals[] = { m->key };
	PGresult *res = NULL;
	int ret = pg_one(st, &res, "SELECT value FROM ntm_meta WHERE key = $1", 1, vals);
	size_t n;

	if (ret <= 0)
		return ret == 0 ? -ENOENT : ret;
	n = (size_t)PQgetlength(res, 0, 0);
	if (n >= m->cap) {
		ret = -ERANGE;
	} else {
		memcpy(m->buf, PQgetvalue(res, 0, 0), n);
		m->buf[n] = '\0';
		ret = (int)n;
	}
	PQclear(res);
	return ret;
}

static int do_put_meta(struct pg *st, void *arg)
{
	struct meta_arg *m = arg;
	const char *vals[] = { m->key, m->value };

	return pg_q(st, NULL, "INSERT INTO ntm_meta (key, value) VALUES ($1, $2) "
		    "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value", 2, vals);
}

static int pg_get_meta(struct ntm_store *c, const char *key, char *buf, size_t cap)
{
	struct meta_arg m = { .key = key, .buf = buf, .cap = cap };

	return pg_run(PG(c), false, do_get_meta, &m);
}

static int pg_set_meta(struct ntm_store *c, const char *key, const char *value)
{
	struct meta_arg m = { .key = key, .value = value };

	return pg_run(PG(c), true, do_put_meta, &m);
}

static int pg_put_meta(struct ntm_store *c, const char *key, const char *value)
{
	struct meta_arg m = { .key = key, .value = value };

	return do_put_meta(PG(c), &m);
}

/* ---- nodes ---- */

struct add_arg {
	const struct ntm_name *n;
	char key[2 + 2 * NTM_STORE_KEY_LEN + 1];
	int64_t created;
	uint32_t idx;
};

/* A new index for the key: one above the mark and every allocation, under
 * the mark row's lock (held to the commit). */
static int new_index(struct pg *st, struct add_arg *a)
{
	uint32_t mark, top;
	char text[16];
	const char *ins[] = { a->key, text, a->n->s };
	const char *upd[] = { text };
	int ret = pg_u32(st, NTM_STORE_META_MARK, "SELECT value FROM ntm_meta WHERE key = '"
			 NTM_STORE_META_MARK "' FOR UPDATE", 0, NULL, &mark);

	if (ret == 0)
		ret = pg_u32(st, "host_index", "SELECT COALESCE(MAX(host_index), 0) FROM "
			     "ntm_allocations", 0, NULL, &top);
	if (ret < 0)
		return ret;
	if (top > mark)
		mark = top;
	if (mark >= st->c.max_index)
		return -ENOSPC;
	a->idx = mark + 1;
	snprintf(text, sizeof(text), "%u", (unsigned)a->idx);
	ret = pg_q(st, NULL, "INSERT INTO ntm_allocations (pubkey, host_index, name) "
		   "VALUES ($1::bytea, $2::bigint, $3)", 3, ins);
	if (ret == 0)
		ret = pg_q(st, NULL, "UPDATE ntm_meta SET value = $1 WHERE key = '"
			   NTM_STORE_META_MARK "'", 1, upd);
	return ret;
}

static int do_node_add(struct pg *st, void *arg)
{
	struct add_arg *a = arg;
	char created[24];
	const char *taken[] = { a->n->s, a->key };
	const char *bykey[] = { a->key };
	const char *ren[] = { a->key, a->n->s };
	const char *node[] = { a->n->s, a->key, created };
	PGresult *res = NULL;
	int ret = pg_one(st, &res, "SELECT 1 FROM ntm_nodes WHERE name = $1 OR pubkey = $2::bytea",
			 2, taken);

	PQclear(res);
	if (ret != 0)
		return ret > 0 ? -EEXIST : ret;
	ret = pg_one(st, &res, "SELECT host_index FROM ntm_allocations WHERE pubkey = $1::bytea",
		     1, bykey);
	if (ret == 1) {
		ret = index_parse(st, PQgetvalue(res, 0, 0), &a->idx);
		PQclear(res);
		if (ret == 0)
			ret = pg_q(st, NULL, "UPDATE ntm_allocations SET name = $2 WHERE "
				   "pubkey = $1::bytea", 2, ren);
	} else if (ret == 0) {
		ret = new_index(st, a);
	}
	if (ret < 0)
		return ret;
	snprintf(created, sizeof(created), "%lld", (long long)a->created);
	ret = pg_q(st, NULL, "INSERT INTO ntm_nodes (name, pubkey, created) "
		   "VALUES ($1, $2::bytea, $3::bigint)", 3, node);
	return ret < 0 ? ret : pg_cmd(st, BUMP_GEN);
}

static int pg_node_add(struct ntm_store *c, const struct ntm_name *n, const uint8_t *key,
		       int64_t created, uint32_t *idx)
{
	struct add_arg a = { .n = n, .created = created };
	int ret;

	key_hex(key, a.key);
	ret = pg_run(PG(c), true, do_node_add, &a);
	*idx = a.idx;
	return ret;
}

static int do_node_del(struct pg *st, void *arg)
{
	const struct ntm_name *n = arg;
	const char *vals[] = { n->s };
	PGresult *res = NULL;
	int ret = pg_q(st, &res, "DELETE FROM ntm_nodes WHERE name = $1", 1, vals);

	if (ret < 0)
		return ret;
	ret = strcmp(PQcmdTuples(res), "0") == 0 ? -ENOENT : 0;
	PQclear(res);
	return ret < 0 ? ret : pg_cmd(st, BUMP_GEN);
}

static int pg_node_del(struct ntm_store *c, const struct ntm_name *n)
{
	return pg_run(PG(c), true, do_node_del, (void *)n);
}

struct lookup_arg {
	const char *sql;
	const char *val;
	struct ntm_node_rec *out;
};

static int do_lookup(struct pg *st, void *arg)
{
	struct lookup_arg *l = arg;
	PGresult *res = NULL;
	int ret = pg_one(st, &res, l->sql, 1, &l->val);

	if (ret <= 0)
		return ret == 0 ? -ENOENT : ret;
	ret = rec_from_row(st, res, 0, l->out);
	PQclear(res);
	return ret;
}

static int pg_by_key(struct ntm_store *c, const uint8_t *key, struct ntm_node_rec *out)
{
	char hex[2 + 2 * NTM_STORE_KEY_LEN + 1];
	struct lookup_arg l = { NODE_COLS "WHERE n.pubkey = $1::bytea", hex, out };

	key_hex(key, hex);
	return pg_run(PG(c), false, do_lookup, &l);
}

static int pg_by_name(struct ntm_store *c, const struct ntm_name *n, struct ntm_node_rec *out)
{
	struct lookup_arg l = { NODE_COLS "WHERE n.name = $1", n->s, out };

	return pg_run(PG(c), false, do_lookup, &l);
}

static int pg_by_index(struct ntm_store *c, uint32_t idx, struct ntm_node_rec *out)
{
	char text[16];
	struct lookup_arg l = { NODE_COLS "WHERE a.host_index = $1::bigint", text, out };

	snprintf(text, sizeof(text), "%u", (unsigned)idx);
	return pg_run(PG(c), false, do_lookup, &l);
}

/* The walks fetch the whole result first (PQexec does), so a retry after
 * a lost connection never calls cb twice for a row. */
struct walk_arg {
	ntm_store_node_cb node_cb;
	ntm_store_key_cb key_cb;
	ntm_store_alloc_cb alloc_cb;
	void *ctx;
};

static int do_list(struct pg *st, void *arg)
{
	struct walk_arg *w = arg;
	struct ntm_node_rec rec;
	PGresult *res = NULL;
	int ret = pg_q(st, &res, NODE_COLS "ORDER BY convert_to(n.name, 'UTF8')", 0, NULL);

	for (int i = 0; ret == 0 && i < PQntuples(res); i++) {
		ret = rec_from_row(st, res, i, &rec);
		if (ret == 0)
			ret = w->node_cb(&rec, w->ctx);
	}
	PQclear(res);
	return ret;
}

static int pg_list(struct ntm_store *c, ntm_store_node_cb cb, void *ctx)
{
	struct walk_arg w = { .node_cb = cb, .ctx = ctx };

	return pg_run(PG(c), false, do_list, &w);
}

static int do_keys(struct pg *st, void *arg)
{
	struct walk_arg *w = arg;
	uint8_t key[NTM_STORE_KEY_LEN];
	uint32_t idx;
	PGresult *res = NULL;
	int ret = pg_q(st, &res, "SELECT encode(n.pubkey, 'hex'), a.host_index FROM ntm_nodes n "
		       "JOIN ntm_allocations a ON a.pubkey = n.pubkey", 0, NULL);

	for (int i = 0; ret == 0 && i < PQntuples(res); i++) {
		if (key_parse(PQgetvalue(res, i, 0), key) < 0 ||
		    index_parse(st, PQgetvalue(res, i, 1), &idx) < 0)
			ret = -EUCLEAN;
		else
			ret = w->key_cb(key, idx, w->ctx);
	}
	PQclear(res);
	return ret;
}

static int pg_keys(struct ntm_store *c, ntm_store_key_cb cb, void *ctx)
{
	struct walk_arg w = { .key_cb = cb, .ctx = ctx };

	return pg_run(PG(c), false, do_keys, &w);
}

static int do_allocs(struct pg *st, void *arg)
{
	struct walk_arg *w = arg;
	uint8_t key[NTM_STORE_KEY_LEN];
	uint32_t idx;
	PGresult *res = NULL;
	int ret = pg_q(st, &res, "SELECT encode(pubkey, 'hex'), host_index, name FROM "
		       "ntm_allocations", 0, NULL);

	for (int i = 0; ret == 0 && i < PQntuples(res); i++) {
		const char *name = PQgetvalue(res, i, 2);
		if (key_parse(PQgetvalue(res, i, 0), key) < 0 ||
		    index_parse(st, PQgetvalue(res, i, 1), &idx) < 0 || !*name ||
		    strlen(name) > NTM_NAME_MAX)
			ret = -EUCLEAN;
		else
			ret = w->alloc_cb(key, idx, name, w->ctx);
	}
	PQclear(res);
	return ret;
}

static int pg_allocations(struct ntm_store *c, ntm_store_alloc_cb cb, void *ctx)
{
	struct walk_arg w = { .alloc_cb = cb, .ctx = ctx };

	return pg_run(PG(c), false, do_allocs, &w);
}

struct u32_arg {
	const char *key;
	uint32_t v;
};

static int do_meta_u32(struct pg *st, void *arg)
{
	struct u32_arg *u = arg;

	return pg_u32(st, u->key, "SELECT value FROM ntm_meta WHERE key = $1", 1, &u->key, &u->v);
}

static int pg_mark(struct ntm_store *c, uint32_t *mark)
{
	struct u32_arg u = { .key = NTM_STORE_META_MARK };
	int ret = pg_run(PG(c), false, do_meta_u32, &u);

	*mark = u.v;
	return ret;
}

/* The change counter (BUMP_GEN): a u32 is enough for a value compared for
 * equality only, and it wraps harmlessly as text in the database only
 * after 2^63 writes; the low 32 bits are what ntm-dcd compares. */
static int do_gen(struct pg *st, void *arg)
{
	uint64_t *v = arg;
	PGresult *res = NULL;
	int ret = pg_one(st, &res, "SELECT value FROM ntm_meta WHERE key = '"
			 NTM_STORE_META_GEN "'", 0, NULL);
	char *end;

	if (ret == 0) {
		store_err(&st->c, "meta %s is missing", NTM_STORE_META_GEN);
		return -EUCLEAN;
	}
	if (ret < 0)
		return ret;
	errno = 0;
	*v = strtoull(PQgetvalue(res, 0, 0), &end, 10);
	ret = errno || *end ? -EUCLEAN : 0;
	PQclear(res);
	return ret;
}

static int pg_data_version(struct ntm_store *c, uint64_t *version)
{
	return pg_run(PG(c), false, do_gen, version);
}

/* ---- open ---- */

static int count_tables(struct pg *st, bool ours, uint32_t *n)
{
	return pg_u32(st, "tables", ours ?
		      "SELECT count(*) FROM information_schema.tables WHERE table_schema = "
		      "current_schema() AND table_name IN ('ntm_meta', 'ntm_allocations', "
		      "'ntm_nodes')" :
		      "SELECT count(*) FROM information_schema.tables WHERE table_schema = "
		      "current_schema()", 0, NULL, n);
}

/* Creates the tables in an empty database, checks them in any other,
 * refuses a foreign one. Inside the open transaction, under the advisory
 * lock. */
static int settle_schema(struct pg *st)
{
	char text[32];
	struct meta_arg m = { .key = NTM_STORE_META_SCHEMA, .buf = text, .cap = sizeof(text) };
	uint32_t ours, all, version;
	int ret = count_tables(st, true, &ours);

	if (ret == 0)
		ret = count_tables(st, false, &all);
	if (ret < 0)
		return ret;
	if (ours == 0 && all == 0) {
		ret = pg_cmd(st, schema_sql);
		return ret < 0 ? ret : pg_cmd(st, schema_v2_sql);
	}
	if (ours != 3) {
		store_err(&st->c, "the database holds %u table(s) but not ntm's registry (%u of its 3 "
			  "tables): name an empty database (or one ntm made) in Conninfo",
			  (unsigned)all, (unsigned)ours);
		return -EUCLEAN;
	}
	ret = do_get_meta(st, &m);
	if (ret < 0 || store_parse_u32(&st->c, NTM_STORE_META_SCHEMA, text, &version) < 0) {
		if (ret < 0 && ret != -ENOENT && ret != -ERANGE)
			return ret;
		store_err(&st->c, "ntm_meta has no schema version: not an ntm registry");
		return -EUCLEAN;
	}
	if (version > NTM_STORE_PG_SCHEMA_VERSION) {
		store_err(&st->c, "schema version %u is newer than this program's (%d)",
			  (unsigned)version, NTM_STORE_PG_SCHEMA_VERSION);
		return -ENOTSUP;
	}
	if (version == 1) {
		ret = pg_cmd(st, schema_v2_sql);
		if (ret == 0)
			store_add_notice(&st->c, "the PostgreSQL registry's schema was upgraded from "
					 "version 1 to 2 (tables ntm_instances and ntm_presence)");
		return ret;
	}
	if (version != NTM_STORE_PG_SCHEMA_VERSION) {
		store_err(&st->c, "schema version %u is not one this program knows", (unsigned)version);
		return -EUCLEAN;
	}
	return 0;
}

/* Schema, prefixes and mark in one transaction (two DCs starting on a new
 * database create the tables and draw the ULA prefix once). */
static int do_settle(struct pg *st, void *arg)
{
	uint32_t any, mark, top;
	char text[16];
	const char *vals[] = { text };
	int ret;

	(void)arg;
	ret = pg_cmd(st, "SELECT pg_advisory_xact_lock(" PG_LOCK_ID ")");
	if (ret == 0)
		ret = settle_schema(st);
	if (ret == 0)
		ret = pg_u32(st, "allocations", "SELECT count(*) FROM (SELECT 1 FROM "
			     "ntm_allocations LIMIT 1) s", 0, NULL, &any);
	if (ret == 0)
		ret = store_settle_prefixes(&st->c, st->has_p ? &st->p : NULL, any != 0);
	if (ret == 0)
		ret = pg_u32(st, NTM_STORE_META_MARK, "SELECT value FROM ntm_meta WHERE key = '"
			     NTM_STORE_META_MARK "'", 0, NULL, &mark);
	if (ret == 0)
		ret = pg_u32(st, "host_index", "SELECT COALESCE(MAX(host_index), 0) FROM "
			     "ntm_allocations", 0, NULL, &top);
	if (ret == 0 && top > mark) {
		store_add_notice(&st->c, "the PostgreSQL registry's mark said %u, its allocations "
				 "%u: raised it", (unsigned)mark, (unsigned)top);
		snprintf(text, sizeof(text), "%u", (unsigned)top);
		ret = pg_q(st, NULL, "UPDATE ntm_meta SET value = $1 WHERE key = '"
			   NTM_STORE_META_MARK "'", 1, vals);
	}
	return ret;
}

static void pg_close(struct ntm_store *c)
{
	struct pg *st = PG(c);

	if (!st)
		return;
	PQfinish(st->conn);
	free(st);
}

/* Notices (NOTICE, WARNING from the server) are not for a daemon's stderr. */
static void quiet(void *arg, const char *msg)
{
	(void)arg;
	(void)msg;
}

int ntm_store_pg_open(struct ntm_store **out, const char *conninfo,
		      const struct ntm_store_params *p, char *err, size_t errlen)
{
	/* connect_timeout before dbname: the string's own value wins. */
	const char *const keys[] = { "connect_timeout", "fallback_application_name", "dbname",
				     NULL };
	const char *const vals[] = { NTM_STORE_PG_CONNECT_TIMEOUT, "ntm", conninfo, NULL };
	struct pg *st = calloc(1, sizeof(*st));
	int ret;

	*out = NULL;
	if (!st) {
		store_set_err(err, errlen, "PostgreSQL registry: %s", strerror(ENOMEM));
		return -ENOMEM;
	}
	st->c.ops = &pg_ops;
	if (p) {
		st->p = *p;
		st->has_p = true;
	}
	st->conn = PQconnectdbParams(keys, vals, 1);
	if (!st->conn || PQstatus(st->conn) != CONNECTION_OK) {
		keep_msg(st, st->conn ? PQerrorMessage(st->conn) : strerror(ENOMEM));
		store_set_err(err, errlen, "PostgreSQL registry: cannot connect: %s",
			      st->c.errmsg);
		pg_close(&st->c);
		return st->conn ? -ECONNREFUSED : -ENOMEM;
	}
	PQsetNoticeProcessor(st->conn, quiet, NULL);
	ret = pg_run(st, true, do_settle, NULL);
	if (ret < 0) {
		store_set_err(err, errlen, "PostgreSQL registry %s@%s/%s: %s", PQuser(st->conn),
			      PQhost(st->conn), PQdb(st->conn),
			      st->c.errmsg[0] ? st->c.errmsg : strerror(-ret));
		pg_close(&st->c);
		return ret;
	}
	*out = &st->c;
	return 0;
}

/* ---- migration target ---- */

static int put_u32(struct pg *st, const char *key, uint32_t v)
{
	char text[16];
	struct meta_arg m = { .key = key, .value = text };

	snprintf(text, sizeof(text), "%u", (unsigned)v);
	return do_put_meta(st, &m);
}

static int put_prefix(struct pg *st, const char *key, const struct ntm_conf_addr *a)
{
	char text[64];
	struct meta_arg m = { .key = key, .value = text };

	store_prefix_format(a, text, sizeof(text));
	return do_put_meta(st, &m);
}

static int import_rows(struct pg *st, const struct ntm_store_dump *d, uint32_t max_index)
{
	char key[2 + 2 * NTM_STORE_KEY_LEN + 1], num[24];
	int ret = 0;

	for (size_t i = 0; ret == 0 && i < d->n_allocs; i++) {
		const struct ntm_store_alloc *a = &d->allocs[i];
		const char *vals[] = { key, num, a->name };
		if (a->host_index < 1 || a->host_index > max_index)
			return -EUCLEAN;
		key_hex(a->pubkey, key);
		snprintf(num, sizeof(num), "%u", (unsigned)a->host_index);
		ret = pg_q(st, NULL, "INSERT INTO ntm_allocations (pubkey, host_index, name) "
			   "VALUES ($1::bytea, $2::bigint, $3)", 3, vals);
	}
	for (size_t i = 0; ret == 0 && i < d->n_nodes; i++) {
		const struct ntm_node_rec *r = &d->nodes[i];
		const char *vals[] = { r->name, key, num };
		key_hex(r->pubkey, key);
		snprintf(num, sizeof(num), "%lld", (long long)r->created);
		ret = pg_q(st, NULL, "INSERT INTO ntm_nodes (name, pubkey, created) "
			   "VALUES ($1, $2::bytea, $3::bigint)", 3, vals);
	}
	return ret;
}

static int do_import(struct pg *st, void *arg)
{
	const struct ntm_store_dump *d = arg;
	uint32_t used, mark = d->mark;
	uint32_t max_index = (uint32_t)((1ull << (32 - d->v4.plen)) - 2);
	int ret = pg_cmd(st, "SELECT pg_advisory_xact_lock(" PG_LOCK_ID ")");

	if (ret == 0)
		ret = pg_u32(st, "rows", "SELECT (SELECT count(*) FROM ntm_allocations) + "
			     "(SELECT count(*) FROM ntm_nodes)", 0, NULL, &used);
	if (ret < 0)
		return ret;
	if (used) {
		store_err(&st->c, "the target holds %u allocation and enrolment row(s): a "
			  "registry is migrated into an empty one only", (unsigned)used);
		return -ENOTEMPTY;
	}
	for (size_t i = 0; i < d->n_allocs; i++)
		if (d->allocs[i].host_index > mark)
			mark = d->allocs[i].host_index;
	ret = put_prefix(st, NTM_STORE_META_V4, &d->v4);
	if (ret == 0)
		ret = put_prefix(st, NTM_STORE_META_V6, &d->v6);
	if (ret == 0)
		ret = import_rows(st, d, max_index);
	if (ret == 0)
		ret = put_u32(st, NTM_STORE_META_MARK, mark);
	return ret < 0 ? ret : pg_cmd(st, BUMP_GEN);
}

static int pg_import(struct ntm_store *c, const struct ntm_store_dump *d, char *err,
		     size_t errlen)
{
	struct pg *st = PG(c);
	int ret;

	if (!store_prefix_usable(&d->v4, AF_INET) || !store_prefix_usable(&d->v6, AF_INET6)) {
		store_set_err(err, errlen, "the source registry's prefixes are not usable");
		return -EINVAL;
	}
	st->c.errmsg[0] = '\0';
	ret = pg_run(st, true, do_import, (void *)d);
	if (ret < 0) {
		store_set_err(err, errlen, "PostgreSQL registry: %s",
			      st->c.errmsg[0] ? st->c.errmsg : strerror(-ret));
		return ret;
	}
	st->c.v4 = d->v4;
	st->c.v6 = d->v6;
	st->c.max_index = (uint32_t)((1ull << (32 - d->v4.plen)) - 2);
	return 0;
}


/* ---- DC instances ---- */

#define PG_INSTANCE_LOCK "1853123923"   /* advisory lock class of instances */

static int do_lock_listen(struct pg *st)
{
	char num[16], listen[80];
	const char *vals[] = { num };
	PGresult *res = NULL;
	int ret;

	snprintf(num, sizeof(num), "%u", st->instance);
	ret = pg_one(st, &res, "SELECT pg_try_advisory_lock(" PG_INSTANCE_LOCK ", $1::int)", 1,
		     vals);
	if (ret <= 0)
		return ret == 0 ? -EIO : ret;
	ret = strcmp(PQgetvalue(res, 0, 0), "t") == 0 ? 0 : -EADDRINUSE;
	PQclear(res);
	if (ret < 0) {
		store_err(&st->c, "instance %u is taken by another connection (a DC running with "
			  "that [Registry] Instance)", st->instance);
		return ret;
	}
	/* channel was checked by store.c: a lower-case identifier */
	snprintf(listen, sizeof(listen), "LISTEN %s", st->channel);
	return pg_cmd(st, listen);
}

/* After a reset: the session's lock and LISTEN are gone with the old
 * connection. */
static int pg_reclaim(struct pg *st)
{
	return st->instance ? do_lock_listen(st) : 0;
}

static int do_beat(struct pg *st, void *arg)
{
	char num[16];
	const char *vals[] = { num };

	(void)arg;
	snprintf(num, sizeof(num), "%u", st->instance);
	return pg_q(st, NULL, "INSERT INTO ntm_instances (instance, seen) VALUES ($1::int, "
		    DB_NOW ") ON CONFLICT (instance) DO UPDATE SET seen = EXCLUDED.seen", 1, vals);
}

static int do_claim(struct pg *st, void *arg)
{
	char num[16];
	const char *vals[] = { num };
	int ret;

	(void)arg;
	snprintf(num, sizeof(num), "%u", st->instance);
	ret = pg_q(st, NULL, "DELETE FROM ntm_presence WHERE instance = $1::int", 1, vals);
	return ret < 0 ? ret : do_beat(st, NULL);
}

static int pg_instance_claim(struct ntm_store *c, unsigned instance, const char *channel)
{
	struct pg *st = PG(c);
	int ret;

	st->instance = instance;
	snprintf(st->channel, sizeof(st->channel), "%s", channel);
	ret = do_lock_listen(st);
	if (ret == 0)
		ret = pg_run(st, true, do_claim, NULL);
	if (ret < 0)
		st->instance = 0;
	return ret;
}

static int do_release(struct pg *st, void *arg)
{
	char num[16];
	const char *vals[] = { num };
	int ret;

	(void)arg;
	snprintf(num, sizeof(num), "%u", st->instance);
	ret = pg_q(st, NULL, "DELETE FROM ntm_presence WHERE instance = $1::int", 1, vals);
	if (ret == 0)
		ret = pg_q(st, NULL, "DELETE FROM ntm_instances WHERE instance = $1::int", 1, vals);
	return ret;
}

static int pg_instance_release(struct ntm_store *c, unsigned instance)
{
	struct pg *st = PG(c);
	char num[16];
	const char *vals[] = { num };
	int ret;

	(void)instance;                 /* the claimed one */
	if (!st->instance)
		return -EINVAL;
	ret = pg_run(st, true, do_release, NULL);
	snprintf(num, sizeof(num), "%u", st->instance);
	pg_cmd(st, "UNLISTEN *");
	pg_q(st, NULL, "SELECT pg_advisory_unlock(" PG_INSTANCE_LOCK ", $1::int)", 1, vals);
	st->instance = 0;
	return ret;
}

static int pg_instance_beat(struct ntm_store *c, unsigned instance)
{
	struct pg *st = PG(c);
	int ret;

	(void)instance;                 /* the claimed one */
	if (!st->instance)
		return -EINVAL;
	ret = pg_run(st, false, do_beat, NULL);
	if (ret == 0 && st->reclaim_due) {
		ret = do_lock_listen(st);
		st->reclaim_due = ret < 0;
	}
	return ret;
}

struct presence_arg {
	char key[2 + 2 * NTM_STORE_KEY_LEN + 1];
	char num[16], age[16];
	char blob[2 + 2 * NTM_STORE_PRESENCE_MAX + 1];
	unsigned instance;
	uint8_t *out;
	size_t cap, len;
};

static int do_presence_put(struct pg *st, void *arg)
{
	struct presence_arg *p = arg;
	const char *vals[] = { p->key, p->num, p->blob };

	return pg_q(st, NULL, "INSERT INTO ntm_presence (pubkey, instance, addrs, seen) VALUES "
		    "($1::bytea, $2::int, $3::bytea, " DB_NOW ") ON CONFLICT (pubkey) DO UPDATE SET "
		    "instance = EXCLUDED.instance, addrs = EXCLUDED.addrs, seen = EXCLUDED.seen",
		    3, vals);
}

static void blob_hex(const uint8_t *blob, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";

	out[0] = '\\';
	out[1] = 'x';
	for (size_t i = 0; i < len; i++) {
		out[2 + 2 * i] = digits[blob[i] >> 4];
		out[3 + 2 * i] = digits[blob[i] & 15];
	}
	out[2 + 2 * len] = '\0';
}

static int pg_presence_put(struct ntm_store *c, unsigned instance, const uint8_t *key,
			   const uint8_t *blob, size_t len)
{
	struct presence_arg p;

	key_hex(key, p.key);
	snprintf(p.num, sizeof(p.num), "%u", instance);
	blob_hex(blob, len, p.blob);
	return pg_run(PG(c), false, do_presence_put, &p);
}

static int do_presence_del(struct pg *st, void *arg)
{
	struct presence_arg *p = arg;
	const char *vals[] = { p->key, p->num };

	return pg_q(st, NULL, "DELETE FROM ntm_presence WHERE pubkey = $1::bytea AND "
		    "instance = $2::int", 2, vals);
}

static int pg_presence_del(struct ntm_store *c, unsigned instance, const uint8_t *key)
{
	struct presence_arg p;

	key_hex(key, p.key);
	snprintf(p.num, sizeof(p.num), "%u", instance);
	return pg_run(PG(c), false, do_presence_del, &p);
}

static int do_presence_get(struct pg *st, void *arg)
{
	struct presence_arg *p = arg;
	const char *vals[] = { p->key, p->num, p->age };
	PGresult *res = NULL;
	int ret = pg_one(st, &res, "SELECT p.instance, encode(p.addrs, 'hex') FROM ntm_presence p "
			 "JOIN ntm_instances i ON i.instance = p.instance WHERE p.pubkey = "
			 "$1::bytea AND p.instance <> $2::int AND i.seen >= " DB_NOW
			 " - $3::bigint", 3, vals);
	const char *hex;
	size_t n;
	char *end;
	long v;

	if (ret <= 0)
		return ret == 0 ? -ENOENT : ret;
	hex = PQgetvalue(res, 0, 1);
	n = strlen(hex);
	errno = 0;
	v = strtol(PQgetvalue(res, 0, 0), &end, 10);
	ret = errno || *end || v < 1 || v > 255 || n == 0 || n % 2 || n / 2 > p->cap ? -EUCLEAN : 0;
	for (size_t i = 0; ret == 0 && i < n / 2; i++) {
		int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);
		if (hi < 0 || lo < 0)
			ret = -EUCLEAN;
		else
			p->out[i] = (uint8_t)(hi << 4 | lo);
	}
	p->instance = (unsigned)v;
	p->len = n / 2;
	PQclear(res);
	return ret;
}

static int pg_presence_get(struct ntm_store *c, const uint8_t *key, unsigned exclude,
			   unsigned max_age_s, unsigned *instance, uint8_t *blob, size_t cap,
			   size_t *len)
{
	struct presence_arg p = { .out = blob, .cap = cap };
	int ret;

	key_hex(key, p.key);
	snprintf(p.num, sizeof(p.num), "%u", exclude);
	snprintf(p.age, sizeof(p.age), "%u", max_age_s);
	ret = pg_run(PG(c), false, do_presence_get, &p);
	*instance = ret == 0 ? p.instance : 0;
	*len = ret == 0 ? p.len : 0;
	return ret;
}

struct notify_arg {
	const char *channel, *payload;
};

static int do_notify(struct pg *st, void *arg)
{
	struct notify_arg *n = arg;
	const char *vals[] = { n->channel, n->payload };

	return pg_q(st, NULL, "SELECT pg_notify($1, $2)", 2, vals);
}

static int pg_send_notify(struct ntm_store *c, const char *channel, const char *payload)
{
	struct notify_arg n = { channel, payload };

	return pg_run(PG(c), false, do_notify, &n);
}

static int pg_socket(struct ntm_store *c)
{
	int fd = PQsocket(PG(c)->conn);

	return fd >= 0 ? fd : -ENOTCONN;
}

static int pg_notifications(struct ntm_store *c, ntm_store_notify_cb cb, void *ctx)
{
	struct pg *st = PG(c);
	int self = PQbackendPID(st->conn);
	PGnotify *n;
	int count = 0;

	if (!PQconsumeInput(st->conn)) {
		keep_msg(st, PQerrorMessage(st->conn));
		/* a lost connection: the next call resets it (pg_run) */
	}
	while ((n = PQnotifies(st->conn))) {
		if (n->be_pid != self && !strcmp(n->relname, st->channel)) {
			cb(n->relname, n->extra, ctx);
			count++;
		}
		PQfreemem(n);
	}
	return count;
}

static const struct ntm_store_ops pg_ops = {
	.name = "postgresql",
	.close = pg_close,
	.node_add = pg_node_add,
	.node_del = pg_node_del,
	.by_key = pg_by_key,
	.by_name = pg_by_name,
	.by_index = pg_by_index,
	.list = pg_list,
	.keys = pg_keys,
	.allocations = pg_allocations,
	.data_version = pg_data_version,
	.mark = pg_mark,
	.get_meta = pg_get_meta,
	.set_meta = pg_set_meta,
	.put_meta = pg_put_meta,
	.backup = NULL,
	.restore = NULL,
	.import = pg_import,
	.instance_claim = pg_instance_claim,
	.instance_release = pg_instance_release,
	.instance_beat = pg_instance_beat,
	.presence_put = pg_presence_put,
	.presence_del = pg_presence_del,
	.presence_get = pg_presence_get,
	.notify = pg_send_notify,
	.socket = pg_socket,
	.notifications = pg_notifications,
};
