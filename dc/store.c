/* store.c - the DC's registry in SQLite (see store.h for the contract).
 *
 * Schema version 1:
 *   meta(key TEXT PRIMARY KEY, value TEXT)         prefixes, other settings
 *   allocations(pubkey PRIMARY KEY, host_index UNIQUE, name)
 *                                                  one row per key ever
 *                                                  enrolled, never deleted
 *   nodes(name PRIMARY KEY, pubkey UNIQUE -> allocations, created)
 *                                                  current enrolments
 * The foreign key makes "every node has an allocation" a property of the
 * database rather than of this code. Addresses are not stored: they follow
 * from host_index and the prefixes, which cannot change once allocated. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "store.h"
#include "util.h"

/* SQLITE_OPEN_NOFOLLOW arrived in 3.31; older builds rely on the O_NOFOLLOW
 * pre-creation in db_create_file alone. */
#ifndef SQLITE_OPEN_NOFOLLOW
#define SQLITE_OPEN_NOFOLLOW 0
#endif

/* STRICT (3.37+) makes SQLite refuse a value of the wrong type instead of
 * storing it; the CHECKs refuse the wrong shape. */
static const char schema_v1[] =
	"CREATE TABLE meta ("
	"  key TEXT PRIMARY KEY NOT NULL,"
	"  value TEXT NOT NULL"
	") STRICT;"
	"CREATE TABLE allocations ("
	"  pubkey BLOB PRIMARY KEY NOT NULL CHECK (length(pubkey) = 32),"
	"  host_index INTEGER UNIQUE NOT NULL CHECK (host_index >= 1),"
	"  name TEXT NOT NULL"
	") STRICT;"
	"CREATE TABLE nodes ("
	"  name TEXT PRIMARY KEY NOT NULL CHECK (name = lower(name)),"
	"  pubkey BLOB UNIQUE NOT NULL REFERENCES allocations (pubkey),"
	"  created INTEGER NOT NULL"
	") STRICT;"
	"PRAGMA user_version = 1;";

enum stmt_id {
	S_BY_KEY,
	S_BY_NAME,
	S_BY_INDEX,
	S_LIST,
	S_TAKEN,
	S_ALLOC_BY_KEY,
	S_NEXT_INDEX,
	S_INS_ALLOC,
	S_UPD_ALLOC,
	S_INS_NODE,
	S_DEL_NODE,
	S_GET_META,
	S_SET_META,
	S_COUNT
};

#define NODE_COLS "SELECT n.name, n.pubkey, a.host_index, n.created " \
	"FROM nodes n JOIN allocations a ON a.pubkey = n.pubkey "

static const char *const stmt_sql[S_COUNT] = {
	[S_BY_KEY] = NODE_COLS "WHERE n.pubkey = ?1",
	[S_BY_NAME] = NODE_COLS "WHERE n.name = ?1",
	[S_BY_INDEX] = NODE_COLS "WHERE a.host_index = ?1",
	[S_LIST] = NODE_COLS "ORDER BY n.name",
	[S_TAKEN] = "SELECT 1 FROM nodes WHERE name = ?1 OR pubkey = ?2",
	[S_ALLOC_BY_KEY] = "SELECT host_index FROM allocations WHERE pubkey = ?1",
	[S_NEXT_INDEX] = "SELECT COALESCE(MAX(host_index), 0) + 1 FROM allocations",
	[S_INS_ALLOC] = "INSERT INTO allocations (pubkey, host_index, name) VALUES (?1, ?2, ?3)",
	[S_UPD_ALLOC] = "UPDATE allocations SET name = ?3 WHERE pubkey = ?1",
	[S_INS_NODE] = "INSERT INTO nodes (name, pubkey, created) VALUES (?1, ?2, ?3)",
	[S_DEL_NODE] = "DELETE FROM nodes WHERE name = ?1",
	[S_GET_META] = "SELECT value FROM meta WHERE key = ?1",
	[S_SET_META] = "INSERT OR REPLACE INTO meta (key, value) VALUES (?1, ?2)",
};

struct ntm_store {
	sqlite3 *db;
	sqlite3_stmt *stmt[S_COUNT];
	struct ntm_conf_addr v4, v6;
	uint32_t max_index;             /* last usable host index */
	char errmsg[512];
};

/* ---- errors ---- */

/* Maps a failed SQLite result to -errno and keeps SQLite's message for
 * ntm_store_errmsg (a later ROLLBACK would overwrite the connection's). */
static int sql_err(struct ntm_store *st, int rc)
{
	int sys = sqlite3_system_errno(st->db);

	snprintf(st->errmsg, sizeof(st->errmsg), "%s", sqlite3_errmsg(st->db));
	switch (rc & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return -EBUSY;
	case SQLITE_NOMEM:
		return -ENOMEM;
	case SQLITE_READONLY:
		return -EROFS;
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		return -EUCLEAN;
	case SQLITE_CONSTRAINT:
		return -EEXIST;
	case SQLITE_FULL:
		return -EIO;            /* -ENOSPC is kept for prefix exhaustion */
	case SQLITE_CANTOPEN:
	case SQLITE_IOERR:
	case SQLITE_PERM:
		return sys > 0 && sys != ENOSPC ? -sys : -EIO;
	default:
		return -EIO;
	}
}

const char *ntm_store_errmsg(const struct ntm_store *st)
{
	return st->errmsg;
}

/* ---- prefixes ---- */

static void prefix_format(const struct ntm_conf_addr *a, char *buf, size_t cap)
{
	char ip[INET6_ADDRSTRLEN];

	if (!inet_ntop(a->family, &a->u, ip, sizeof(ip)))
		snprintf(ip, sizeof(ip), "?");
	snprintf(buf, cap, "%s/%u", ip, (unsigned)a->plen);
}

/* Parses "addr/len" as the store writes it; -EINVAL for anything else. */
static int prefix_parse(const char *s, int family, struct ntm_conf_addr *out)
{
	char ip[INET6_ADDRSTRLEN];
	const char *slash = strchr(s, '/');
	char *end;
	unsigned long len;

	if (!slash || (size_t)(slash - s) >= sizeof(ip))
		return -EINVAL;
	memcpy(ip, s, (size_t)(slash - s));
	ip[slash - s] = '\0';
	memset(out, 0, sizeof(*out));
	out->family = (sa_family_t)family;
	if (inet_pton(family, ip, &out->u) != 1)
		return -EINVAL;
	errno = 0;
	len = strtoul(slash + 1, &end, 10);
	if (errno || end == slash + 1 || *end || len > (family == AF_INET ? 32u : 128u))
		return -EINVAL;
	out->plen = (uint8_t)len;
	return 0;
}

/* True when no bit of a's address is set after its prefix length. */
static bool prefix_canonical(const struct ntm_conf_addr *a)
{
	const uint8_t *b = (const uint8_t *)&a->u;
	size_t n = a->family == AF_INET ? 4 : 16;

	for (size_t i = 0; i < n; i++) {
		unsigned keep = a->plen >= 8 * (i + 1) ? 8 : a->plen > 8 * i ? a->plen - 8 * i : 0;
		uint8_t host = (uint8_t)(0xffu >> keep);
		if (b[i] & host)
			return false;
	}
	return true;
}

/* The rules of struct ntm_store_params for one configured prefix. */
static bool prefix_usable(const struct ntm_conf_addr *a, int family)
{
	unsigned max = family == AF_INET ? 30 : 64;

	return a->family == family && a->plen >= 1 && a->plen <= max && prefix_canonical(a);
}

static bool prefix_eq(const struct ntm_conf_addr *a, const struct ntm_conf_addr *b)
{
	size_t n = a->family == AF_INET ? 4 : 16;

	return a->family == b->family && a->plen == b->plen && memcmp(&a->u, &b->u, n) == 0;
}

/* A random ULA /48 (RFC 4193): fd00::/8 and a 40-bit global ID. */
static int ula_random(struct ntm_conf_addr *out)
{
	uint8_t *b = out->u.v6.s6_addr;
	ssize_t n;

	memset(out, 0, sizeof(*out));
	out->family = AF_INET6;
	out->plen = 48;
	b[0] = 0xfd;
	do
		n = getrandom(b + 1, 5, 0);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return n == 5 ? 0 : -EIO;
}

/* ---- records ---- */

static uint32_t v4_base(const struct ntm_store *st)
{
	return ntohl(st->v4.u.v4.s_addr);
}

static void rec_addrs(const struct ntm_store *st, struct ntm_node_rec *r)
{
	uint32_t a = htonl(v4_base(st) + r->host_index);

	memcpy(r->vip4, &a, 4);
	memcpy(r->vip6, st->v6.u.v6.s6_addr, 16);
	ntm_put_be32(r->vip6 + 12, r->host_index);
}

/* Fills r from a row of NODE_COLS. -EUCLEAN for a row the schema should
 * have made impossible. */
static int rec_from_row(const struct ntm_store *st, sqlite3_stmt *s, struct ntm_node_rec *r)
{
	const unsigned char *name = sqlite3_column_text(s, 0);
	int name_len = sqlite3_column_bytes(s, 0);
	const void *key = sqlite3_column_blob(s, 1);
	sqlite3_int64 idx = sqlite3_column_int64(s, 2);

	if (!name || name_len < 1 || name_len > NTM_NAME_MAX)
		return -EUCLEAN;
	if (!key || sqlite3_column_bytes(s, 1) != NTM_STORE_KEY_LEN)
		return -EUCLEAN;
	if (idx < 1 || idx > st->max_index)
		return -EUCLEAN;
	memset(r, 0, sizeof(*r));
	memcpy(r->name, name, (size_t)name_len);
	memcpy(r->pubkey, key, NTM_STORE_KEY_LEN);
	r->host_index = (uint32_t)idx;
	r->created = sqlite3_column_int64(s, 3);
	rec_addrs(st, r);
	return 0;
}

/* ---- statements ----
 * Every use of a kept statement binds all of its parameters before the
 * step and resets it after, so no read transaction outlives a call (the
 * next call sees what other connections committed) and the SQLITE_STATIC
 * pointers a finished call leaves bound are never read. */

/* Runs s, which was bound by the caller, for its first row: 1 when there
 * is one (s is then left on it: the caller resets), 0 when there is none
 * (s is reset), or -errno. */
static int step_row(struct ntm_store *st, sqlite3_stmt *s)
{
	int rc = sqlite3_step(s);

	if (rc == SQLITE_ROW)
		return 1;
	sqlite3_reset(s);
	if (rc == SQLITE_DONE)
		return 0;
	return sql_err(st, rc);
}

/* Runs a statement that returns no rows and resets it. */
static int step_done(struct ntm_store *st, sqlite3_stmt *s)
{
	int rc = sqlite3_step(s);

	sqlite3_reset(s);
	return rc == SQLITE_DONE ? 0 : sql_err(st, rc);
}

/* Lookup through one of the NODE_COLS statements, already bound. */
static int lookup(struct ntm_store *st, sqlite3_stmt *s, struct ntm_node_rec *out)
{
	int ret = step_row(st, s);

	if (ret == 0)
		return -ENOENT;
	if (ret < 0)
		return ret;
	ret = rec_from_row(st, s, out);
	sqlite3_reset(s);
	return ret;
}

/* Runs SQL text without results (transactions, pragmas, the schema). */
static int sql_exec(struct ntm_store *st, const char *sql)
{
	int rc = sqlite3_exec(st->db, sql, NULL, NULL, NULL);

	return rc == SQLITE_OK ? 0 : sql_err(st, rc);
}

/* Ends the transaction the caller began: commits when ret is 0, rolls back
 * otherwise. Returns ret, or the commit's error. */
static int txn_end(struct ntm_store *st, int ret)
{
	if (ret == 0)
		ret = sql_exec(st, "COMMIT");
	if (ret < 0 && !sqlite3_get_autocommit(st->db))
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	return ret;
}

/* One integer from a pragma or an aggregate. */
static int query_int(struct ntm_store *st, const char *sql, sqlite3_int64 *out)
{
	sqlite3_stmt *s = NULL;
	int rc = sqlite3_prepare_v2(st->db, sql, -1, &s, NULL);
	int ret;

	if (rc != SQLITE_OK)
		return sql_err(st, rc);
	ret = step_row(st, s);
	if (ret == 1)
		*out = sqlite3_column_int64(s, 0);
	else if (ret == 0)
		ret = -EUCLEAN;
	sqlite3_finalize(s);
	return ret < 0 ? ret : 0;
}

/* ---- meta ---- */

/* The value of key into buf: its length, -ENOENT or -ERANGE. */
static int meta_get(struct ntm_store *st, const char *key, char *buf, size_t cap)
{
	sqlite3_stmt *s = st->stmt[S_GET_META];
	int ret;

	sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
	ret = step_row(st, s);
	if (ret == 1) {
		const unsigned char *v = sqlite3_column_text(s, 0);
		int n = sqlite3_column_bytes(s, 0);
		if (!v || (size_t)n >= cap) {
			ret = -ERANGE;
		} else {
			memcpy(buf, v, (size_t)n);
			buf[n] = '\0';
			ret = n;
		}
		sqlite3_reset(s);
	} else if (ret == 0) {
		ret = -ENOENT;
	}
	sqlite3_clear_bindings(s);
	return ret;
}

/* Creates or replaces key's value, whatever the key. */
static int meta_set(struct ntm_store *st, const char *key, const char *value)
{
	sqlite3_stmt *s = st->stmt[S_SET_META];
	int ret;

	sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, value, -1, SQLITE_STATIC);
	ret = step_done(st, s);
	sqlite3_clear_bindings(s);
	return ret;
}

static bool meta_key_ok(const char *s)
{
	size_t n = strnlen(s, NTM_STORE_META_MAX + 1);

	return n >= 1 && n <= NTM_STORE_META_MAX;
}

int ntm_store_get_meta(struct ntm_store *st, const char *key, char *buf, size_t cap)
{
	if (!meta_key_ok(key))
		return -EINVAL;
	return meta_get(st, key, buf, cap);
}

int ntm_store_set_meta(struct ntm_store *st, const char *key, const char *value)
{
	if (!meta_key_ok(key) || !meta_key_ok(value))
		return -EINVAL;
	if (!strcmp(key, NTM_STORE_META_V4) || !strcmp(key, NTM_STORE_META_V6))
		return -EPERM;
	return meta_set(st, key, value);
}

/* ---- open ---- */

static void set_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* Creates the file with mode 0600 unless it exists, so SQLite (which would
 * use 0644) never creates it; its -wal and -shm files copy the mode. */
static int db_create_file(const char *path)
{
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);

	if (fd < 0)
		return -errno;
	close(fd);
	return 0;
}

/* Prepares the kept statements; needs the schema, so runs after it. */
static int prepare_all(struct ntm_store *st)
{
	for (int i = 0; i < S_COUNT; i++) {
		int rc = sqlite3_prepare_v3(st->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT,
					    &st->stmt[i], NULL);
		if (rc != SQLITE_OK)
			return sql_err(st, rc);
	}
	return 0;
}

/* Stored prefix for key into *out: 1 when present, 0 when absent, -errno. */
static int stored_prefix(struct ntm_store *st, const char *key, int family,
			 struct ntm_conf_addr *out)
{
	char text[NTM_STORE_META_MAX + 1];
	int ret = meta_get(st, key, text, sizeof(text));

	if (ret == -ENOENT)
		return 0;
	if (ret < 0)
		return ret;
	if (prefix_parse(text, family, out) < 0 || !prefix_usable(out, family)) {
		snprintf(st->errmsg, sizeof(st->errmsg), "meta %s holds '%.64s', not a prefix",
			 key, text);
		return -EUCLEAN;
	}
	return 1;
}

/* Settles one prefix inside the open transaction: want is what the
 * configuration asks for, locked says addresses were allocated. */
static int settle_prefix(struct ntm_store *st, const char *key, int family,
			 const struct ntm_conf_addr *want, bool locked, const char *what)
{
	struct ntm_conf_addr have;
	char a[64], b[64];
	int ret = stored_prefix(st, key, family, &have);

	if (ret < 0)
		return ret;
	if (ret == 0 && locked) {
		snprintf(st->errmsg, sizeof(st->errmsg),
			 "addresses are allocated but no %s prefix is stored", what);
		return -EUCLEAN;
	}
	if (ret == 1 && prefix_eq(&have, want))
		return 0;
	prefix_format(want, a, sizeof(a));
	if (locked) {
		prefix_format(&have, b, sizeof(b));
		snprintf(st->errmsg, sizeof(st->errmsg),
			 "configured %s prefix %s differs from %s, the prefix the allocated "
			 "addresses come from (changing it would renumber every node)", what, a, b);
		return -EINVAL;
	}
	return meta_set(st, key, a);
}

/* Decides both prefixes (store.h's rules) and stores them when no address
 * was allocated yet. Runs inside the open transaction. */
static int settle_prefixes(struct ntm_store *st, const struct ntm_store_params *p)
{
	sqlite3_int64 allocated = 0;
	int ret = query_int(st, "SELECT EXISTS (SELECT 1 FROM allocations)", &allocated);

	if (ret < 0)
		return ret;
	if (p && p->v4.family)
		st->v4 = p->v4;
	else if (prefix_parse(NTM_STORE_V4_DEFAULT, AF_INET, &st->v4) < 0)
		return -EINVAL;
	if (p && p->v6.family) {
		st->v6 = p->v6;
	} else {
		/* Not configured: the stored one, else a new one kept from now. */
		ret = stored_prefix(st, NTM_STORE_META_V6, AF_INET6, &st->v6);
		if (ret == 0)
			ret = ula_random(&st->v6);
		if (ret < 0)
			return ret;
	}
	ret = settle_prefix(st, NTM_STORE_META_V4, AF_INET, &st->v4, allocated, "IPv4");
	if (ret == 0)
		ret = settle_prefix(st, NTM_STORE_META_V6, AF_INET6, &st->v6, allocated, "IPv6");
	st->max_index = (uint32_t)((1ull << (32 - st->v4.plen)) - 2);
	return ret;
}

/* Creates schema version 1 in an empty database, accepts version 1,
 * refuses anything else. Runs inside the open transaction. */
static int settle_schema(struct ntm_store *st)
{
	sqlite3_int64 version = 0, tables = 0;
	int ret = query_int(st, "PRAGMA user_version", &version);

	if (ret == 0 && version == 0)
		ret = query_int(st, "SELECT count(*) FROM sqlite_schema", &tables);
	if (ret < 0)
		return ret;
	if (version == NTM_STORE_SCHEMA_VERSION)
		return 0;
	if (version > NTM_STORE_SCHEMA_VERSION) {
		snprintf(st->errmsg, sizeof(st->errmsg),
			 "schema version %lld is newer than this program's (%d)",
			 (long long)version, NTM_STORE_SCHEMA_VERSION);
		return -ENOTSUP;
	}
	if (version < 0 || tables != 0) {
		snprintf(st->errmsg, sizeof(st->errmsg),
			 "not an ntm registry (schema version %lld with %lld objects)",
			 (long long)version, (long long)tables);
		return -EUCLEAN;
	}
	return sql_exec(st, schema_v1);
}

/* Connection settings. journal_mode answers with the mode it got: a file
 * system without shared memory support stays in rollback mode, which would
 * break the concurrent use by ntm-dcctl, so that is refused. */
static int configure(struct ntm_store *st)
{
	sqlite3_stmt *s = NULL;
	int rc = sqlite3_prepare_v2(st->db, "PRAGMA journal_mode = WAL", -1, &s, NULL);
	int ret;

	if (rc != SQLITE_OK)
		return sql_err(st, rc);
	ret = step_row(st, s);
	if (ret == 1 && sqlite3_stricmp((const char *)sqlite3_column_text(s, 0), "wal") != 0) {
		snprintf(st->errmsg, sizeof(st->errmsg), "cannot use WAL journal mode");
		ret = -ENOTSUP;
	}
	sqlite3_finalize(s);
	if (ret < 0)
		return ret;
	return sql_exec(st, "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON");
}

/* Opens the connection and settles schema and prefixes in one IMMEDIATE
 * transaction: a concurrent first start of ntm-dcctl and ntm-dcd creates
 * the schema and draws the ULA prefix exactly once. */
static int store_setup(struct ntm_store *st, const char *path, const struct ntm_store_params *p)
{
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX |
		    SQLITE_OPEN_NOFOLLOW;
	int rc = sqlite3_open_v2(path, &st->db, flags, NULL);
	int ret;

	if (rc != SQLITE_OK)
		return st->db ? sql_err(st, rc) : -ENOMEM;
	sqlite3_extended_result_codes(st->db, 1);
	sqlite3_busy_timeout(st->db, NTM_STORE_BUSY_MS);
	ret = configure(st);
	if (ret == 0)
		ret = sql_exec(st, "BEGIN IMMEDIATE");
	if (ret < 0)
		return ret;
	ret = settle_schema(st);
	if (ret == 0)
		ret = prepare_all(st);
	if (ret == 0)
		ret = settle_prefixes(st, p);
	return txn_end(st, ret);
}

int ntm_store_open(struct ntm_store **out, const char *path, const struct ntm_store_params *p,
		   char *err, size_t errlen)
{
	struct ntm_store *st = NULL;
	int ret = -EINVAL;

	*out = NULL;
	if (p && p->v4.family && !prefix_usable(&p->v4, AF_INET)) {
		set_err(err, errlen, "%s: IPv4 prefix must be a.b.c.d/1..30 with no host bits", path);
		goto fail;
	}
	if (p && p->v6.family && !prefix_usable(&p->v6, AF_INET6)) {
		set_err(err, errlen, "%s: IPv6 prefix must be x:x::/1..64 with no host bits", path);
		goto fail;
	}
	ret = db_create_file(path);
	if (ret < 0) {
		set_err(err, errlen, "%s: %s", path, strerror(-ret));
		goto fail;
	}
	ret = -ENOMEM;
	st = calloc(1, sizeof(*st));
	if (!st) {
		set_err(err, errlen, "%s: %s", path, strerror(-ret));
		goto fail;
	}
	ret = store_setup(st, path, p);
	if (ret < 0) {
		set_err(err, errlen, "%s: %s", path, st->errmsg[0] ? st->errmsg : strerror(-ret));
		goto fail;
	}
	*out = st;
	return 0;
fail:
	ntm_store_close(st);
	return ret;
}

void ntm_store_close(struct ntm_store *st)
{
	if (!st)
		return;
	for (int i = 0; i < S_COUNT; i++)
		sqlite3_finalize(st->stmt[i]);
	sqlite3_close(st->db);
	free(st);
}

void ntm_store_prefixes(const struct ntm_store *st, struct ntm_conf_addr *v4,
			struct ntm_conf_addr *v6)
{
	if (v4)
		*v4 = st->v4;
	if (v6)
		*v6 = st->v6;
}

/* ---- nodes ---- */

/* The key's host index: kept from an earlier enrolment, or the next one.
 * Runs inside node_add's transaction; -ENOSPC when the prefix is full. */
static int take_index(struct ntm_store *st, const struct ntm_name *n, const uint8_t *key,
		      uint32_t *idx)
{
	sqlite3_stmt *s = st->stmt[S_ALLOC_BY_KEY];
	sqlite3_int64 next;
	int ret;

	sqlite3_bind_blob(s, 1, key, NTM_STORE_KEY_LEN, SQLITE_STATIC);
	ret = step_row(st, s);
	if (ret == 1) {
		*idx = (uint32_t)sqlite3_column_int64(s, 0);
		sqlite3_reset(s);
		s = st->stmt[S_UPD_ALLOC];
	} else if (ret == 0) {
		/* Rows are never deleted, so indices 1..max are all taken. */
		ret = step_row(st, st->stmt[S_NEXT_INDEX]);
		if (ret != 1)
			return ret < 0 ? ret : -EUCLEAN;
		next = sqlite3_column_int64(st->stmt[S_NEXT_INDEX], 0);
		sqlite3_reset(st->stmt[S_NEXT_INDEX]);
		if (next < 1 || next > st->max_index)
			return -ENOSPC;
		*idx = (uint32_t)next;
		s = st->stmt[S_INS_ALLOC];
		sqlite3_bind_int64(s, 2, next);
	} else {
		return ret;
	}
	/* Both statements take the key as ?1 and the name as ?3: the
	 * allocation remembers the name the key was last enrolled under. */
	sqlite3_bind_blob(s, 1, key, NTM_STORE_KEY_LEN, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, n->s, n->len, SQLITE_STATIC);
	return step_done(st, s);
}

/* -EEXIST when name or key is enrolled. */
static int check_free(struct ntm_store *st, const struct ntm_name *n, const uint8_t *key)
{
	sqlite3_stmt *s = st->stmt[S_TAKEN];
	int ret;

	sqlite3_bind_text(s, 1, n->s, n->len, SQLITE_STATIC);
	sqlite3_bind_blob(s, 2, key, NTM_STORE_KEY_LEN, SQLITE_STATIC);
	ret = step_row(st, s);
	if (ret == 1) {
		sqlite3_reset(s);
		ret = -EEXIST;
	}
	return ret;
}

/* The enrolment row; inside node_add's transaction. */
static int insert_node(struct ntm_store *st, const struct ntm_name *n, const uint8_t *key,
		       int64_t created)
{
	sqlite3_stmt *s = st->stmt[S_INS_NODE];

	sqlite3_bind_text(s, 1, n->s, n->len, SQLITE_STATIC);
	sqlite3_bind_blob(s, 2, key, NTM_STORE_KEY_LEN, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, created);
	return step_done(st, s);
}

int ntm_store_node_add(struct ntm_store *st, const char *name,
		       const uint8_t pubkey[NTM_STORE_KEY_LEN], struct ntm_node_rec *rec)
{
	struct ntm_name n;
	uint32_t idx = 0;
	int64_t created = (int64_t)time(NULL);
	int ret = ntm_name_set(&n, name);

	if (ret < 0)
		return ret;
	/* IMMEDIATE: the write lock is held from the checks to the commit, so
	 * a second process cannot enrol the same name or take the same index
	 * in between. */
	ret = sql_exec(st, "BEGIN IMMEDIATE");
	if (ret < 0)
		return ret;
	ret = check_free(st, &n, pubkey);
	if (ret == 0)
		ret = take_index(st, &n, pubkey, &idx);
	if (ret == 0)
		ret = insert_node(st, &n, pubkey, created);
	ret = txn_end(st, ret);
	if (ret == 0 && rec) {
		memset(rec, 0, sizeof(*rec));
		memcpy(rec->name, n.s, n.len);
		memcpy(rec->pubkey, pubkey, NTM_STORE_KEY_LEN);
		rec->host_index = idx;
		rec->created = created;
		rec_addrs(st, rec);
	}
	return ret;
}

int ntm_store_node_del(struct ntm_store *st, const char *name)
{
	sqlite3_stmt *s = st->stmt[S_DEL_NODE];
	struct ntm_name n;
	int ret = ntm_name_set(&n, name);

	if (ret < 0)
		return ret;
	sqlite3_bind_text(s, 1, n.s, n.len, SQLITE_STATIC);
	ret = step_done(st, s);
	if (ret == 0 && sqlite3_changes(st->db) == 0)
		ret = -ENOENT;
	return ret;
}

int ntm_store_node_by_key(struct ntm_store *st, const uint8_t pubkey[NTM_STORE_KEY_LEN],
			  struct ntm_node_rec *out)
{
	sqlite3_stmt *s = st->stmt[S_BY_KEY];

	sqlite3_bind_blob(s, 1, pubkey, NTM_STORE_KEY_LEN, SQLITE_STATIC);
	return lookup(st, s, out);
}

int ntm_store_node_by_name(struct ntm_store *st, const char *name, struct ntm_node_rec *out)
{
	sqlite3_stmt *s = st->stmt[S_BY_NAME];
	struct ntm_name n;
	int ret = ntm_name_set(&n, name);

	if (ret < 0)
		return ret;
	sqlite3_bind_text(s, 1, n.s, n.len, SQLITE_STATIC);
	return lookup(st, s, out);
}

/* Host index of a virtual address, or 0 when it is none of ours. */
static uint32_t addr_index(const struct ntm_store *st, int family, const uint8_t *a)
{
	uint64_t idx;

	if (family == AF_INET) {
		uint32_t mask = UINT32_MAX << (32 - st->v4.plen);
		uint32_t v = ntm_get_be32(a);
		if ((v & mask) != v4_base(st))
			return 0;
		idx = v - v4_base(st);
	} else {
		/* base + ::i with i < 2^32: the base's first 12 bytes, which
		 * include subnet 0 since the prefix is at most a /64. */
		if (memcmp(a, st->v6.u.v6.s6_addr, 12) != 0)
			return 0;
		idx = ntm_get_be32(a + 12);
	}
	return idx <= st->max_index ? (uint32_t)idx : 0;
}

int ntm_store_node_by_addr(struct ntm_store *st, int family, const void *addr,
			   struct ntm_node_rec *out)
{
	sqlite3_stmt *s = st->stmt[S_BY_INDEX];
	uint32_t idx;

	if (family != AF_INET && family != AF_INET6)
		return -EAFNOSUPPORT;
	idx = addr_index(st, family, addr);
	if (idx == 0)
		return -ENOENT;
	sqlite3_bind_int64(s, 1, idx);
	return lookup(st, s, out);
}

int ntm_store_node_list(struct ntm_store *st, ntm_store_node_cb cb, void *ctx)
{
	sqlite3_stmt *s = st->stmt[S_LIST];
	struct ntm_node_rec rec;
	int rc, ret = 0;

	while (ret == 0 && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		ret = rec_from_row(st, s, &rec);
		if (ret == 0)
			ret = cb(&rec, ctx);
	}
	if (ret == 0 && rc != SQLITE_DONE)
		ret = sql_err(st, rc);
	sqlite3_reset(s);
	return ret;
}
