/* store_sqlite.c - the DC's registry in SQLite, the default backend (see
 * store.h for the contract, store_int.h for the split with store.c).
 *
 * Schema version 2 (application_id NTM_STORE_APP_ID):
 *   meta(key TEXT PRIMARY KEY, value TEXT)         prefixes, the allocation
 *                                                  mark, other settings
 *   allocations(pubkey PRIMARY KEY, host_index UNIQUE, name)
 *                                                  one row per key ever
 *                                                  enrolled, never deleted
 *   nodes(name PRIMARY KEY, pubkey UNIQUE -> allocations, created)
 *                                                  current enrolments
 * The foreign key makes "every node has an allocation" a property of the
 * database rather than of this code. Addresses are not stored: they follow
 * from host_index and the prefixes, which cannot change once allocated.
 * Version 1 is the same without the mark and the application_id; it is
 * upgraded in place on open. */
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
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "store_int.h"
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
	") STRICT;";
/* What makes a version 1 registry (or the tables above) version 2. */
static const char schema_v2_upgrade[] =
	"INSERT OR IGNORE INTO meta (key, value) VALUES ('" NTM_STORE_META_MARK "',"
	"  (SELECT CAST(COALESCE(MAX(host_index), 0) AS TEXT) FROM allocations));"
	"PRAGMA application_id = 1853123922;"          /* NTM_STORE_APP_ID */
	"PRAGMA user_version = 2;";
_Static_assert(NTM_STORE_APP_ID == 1853123922, "schema_v2_upgrade spells the application_id");

enum stmt_id {
	S_BY_KEY,
	S_BY_NAME,
	S_BY_INDEX,
	S_LIST,
	S_TAKEN,
	S_ALLOC_BY_KEY,
	S_INS_ALLOC,
	S_UPD_ALLOC,
	S_INS_NODE,
	S_DEL_NODE,
	S_GET_META,
	S_SET_META,
	S_KEYS,
	S_DATA_VERSION,
	S_MAX_INDEX,
	S_ALLOCS,
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
	[S_INS_ALLOC] = "INSERT INTO allocations (pubkey, host_index, name) VALUES (?1, ?2, ?3)",
	[S_UPD_ALLOC] = "UPDATE allocations SET name = ?3 WHERE pubkey = ?1",
	[S_INS_NODE] = "INSERT INTO nodes (name, pubkey, created) VALUES (?1, ?2, ?3)",
	[S_DEL_NODE] = "DELETE FROM nodes WHERE name = ?1",
	[S_GET_META] = "SELECT value FROM meta WHERE key = ?1",
	[S_SET_META] = "INSERT OR REPLACE INTO meta (key, value) VALUES (?1, ?2)",
	[S_KEYS] = "SELECT n.pubkey, a.host_index FROM nodes n JOIN allocations a USING (pubkey)",
	[S_DATA_VERSION] = "PRAGMA data_version",
	[S_MAX_INDEX] = "SELECT COALESCE(MAX(host_index), 0) FROM allocations",
	[S_ALLOCS] = "SELECT pubkey, host_index, name FROM allocations",
};

struct sq {
	struct ntm_store c;            /* first: store.c's part */
	sqlite3 *db;
	sqlite3_stmt *stmt[S_COUNT];
	struct ntm_store_params p;      /* as opened, for restore */
	bool has_p;
	char path[PATH_MAX];            /* the database as named by the caller */
	char mark_path[PATH_MAX + 16];
	int gate;                       /* write_begin's queue: the directory, or -1 */
	struct timespec busy_since;     /* busy_wait's first call for this lock */
};

static const struct ntm_store_ops sq_ops;
static void sq_close(struct ntm_store *c);

static struct sq *SQ(struct ntm_store *c)
{
	return (struct sq *)c;          /* c is a struct sq's first member */
}

/* ---- errors ---- */

/* Maps a failed SQLite result to -errno and keeps SQLite's message for
 * ntm_store_errmsg (a later ROLLBACK would overwrite the connection's). */
static int sql_err(struct sq *st, int rc)
{
	int sys = sqlite3_system_errno(st->db);

	store_err(&st->c, "%s", sqlite3_errmsg(st->db));
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

/* ---- records ---- */

/* Fills r from a row of NODE_COLS. -EUCLEAN for a row the schema should
 * have made impossible. */
static int rec_from_row(const struct sq *st, sqlite3_stmt *s, struct ntm_node_rec *r)
{
	const unsigned char *name = sqlite3_column_text(s, 0);
	int name_len = sqlite3_column_bytes(s, 0);
	const void *key = sqlite3_column_blob(s, 1);
	sqlite3_int64 idx = sqlite3_column_int64(s, 2);

	if (!name || name_len < 1 || name_len > NTM_NAME_MAX)
		return -EUCLEAN;
	if (!key || sqlite3_column_bytes(s, 1) != NTM_STORE_KEY_LEN)
		return -EUCLEAN;
	if (idx < 1 || idx > st->c.max_index)
		return -EUCLEAN;
	memset(r, 0, sizeof(*r));
	memcpy(r->name, name, (size_t)name_len);
	memcpy(r->pubkey, key, NTM_STORE_KEY_LEN);
	r->host_index = (uint32_t)idx;
	r->created = sqlite3_column_int64(s, 3);
	store_rec_addrs(&st->c, r);
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
static int step_row(struct sq *st, sqlite3_stmt *s)
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
static int step_done(struct sq *st, sqlite3_stmt *s)
{
	int rc = sqlite3_step(s);

	sqlite3_reset(s);
	return rc == SQLITE_DONE ? 0 : sql_err(st, rc);
}

/* Lookup through one of the NODE_COLS statements, already bound. */
static int lookup(struct sq *st, sqlite3_stmt *s, struct ntm_node_rec *out)
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
static int sql_exec(struct sq *st, const char *sql)
{
	int rc = sqlite3_exec(st->db, sql, NULL, NULL, NULL);

	return rc == SQLITE_OK ? 0 : sql_err(st, rc);
}

/* Ends the transaction the caller began: commits when ret is 0, rolls back
 * otherwise. Returns ret, or the commit's error. */
static int txn_end(struct sq *st, int ret)
{
	if (ret == 0)
		ret = sql_exec(st, "COMMIT");
	if (ret < 0 && !sqlite3_get_autocommit(st->db))
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	return ret;
}

/* The directory holding path, opened read-only; -errno. */
static int open_dir_of(const char *path)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	int fd;

	if (!slash)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == path)
		snprintf(dir, sizeof(dir), "/");
	else
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

/* Writers queue at a gate before they wait for SQLite's write lock, and
 * leave it once they hold that lock. SQLite's busy handler only polls
 * (sleeping up to 100 ms): a process committing back to back (ntm-dcd
 * enrolling a burst, a loop of ntm-dcctl) takes the write lock again
 * microseconds after each commit, so a waiter's polls kept finding it held
 * and it failed with -EBUSY after NTM_STORE_BUSY_MS though nothing was
 * stuck. Through the gate, the busy process's next transaction waits until
 * the waiter has the write lock. The gate is an flock on the database's
 * directory (no file to create or hand over; flock locks are separate
 * from SQLite's fcntl locks). It only orders writers: where it cannot be
 * had (flock unsupported, directory unreadable) writers go without it. */
static void gate_take(struct sq *st)
{
	const struct timespec nap = { 0, 1000 * 1000 };
	int waited_ms = 0;

	if (st->gate < 0)
		st->gate = open_dir_of(st->path);
	if (st->gate < 0)
		return;
	/* Bounded like SQLite's own wait: a gate holder only holds it while
	 * waiting for the write lock, NTM_STORE_BUSY_MS at most, unless it is
	 * stopped; then go on without the gate. */
	while (flock(st->gate, LOCK_EX | LOCK_NB) < 0 && (errno == EWOULDBLOCK || errno == EINTR) &&
	       waited_ms < NTM_STORE_BUSY_MS) {
		nanosleep(&nap, NULL);
		waited_ms++;
	}
}

static void gate_leave(struct sq *st)
{
	if (st->gate >= 0)
		flock(st->gate, LOCK_UN);
}

/* SQLite's busy handler: polls every millisecond for NTM_STORE_BUSY_MS.
 * sqlite3_busy_timeout's sleeps grow to 100 ms, and with the gate every
 * hand-over of the write lock between two writers waits one such sleep
 * (three processes enrolling at once ran several times slower). */
static int busy_wait(void *arg, int count)
{
	struct sq *st = arg;
	const struct timespec nap = { 0, 1000 * 1000 };
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	if (count == 0)
		st->busy_since = now;
	else if ((now.tv_sec - st->busy_since.tv_sec) * 1000 +
		 (now.tv_nsec - st->busy_since.tv_nsec) / 1000000 >= NTM_STORE_BUSY_MS)
		return 0;
	nanosleep(&nap, NULL);
	return 1;
}

/* BEGIN IMMEDIATE through the gate. */
static int write_begin(struct sq *st)
{
	int ret;

	gate_take(st);
	ret = sql_exec(st, "BEGIN IMMEDIATE");
	gate_leave(st);
	return ret;
}

/* One integer from a pragma or an aggregate. */
static int query_int(struct sq *st, const char *sql, sqlite3_int64 *out)
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
static int meta_get(struct sq *st, const char *key, char *buf, size_t cap)
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
static int meta_set(struct sq *st, const char *key, const char *value)
{
	sqlite3_stmt *s = st->stmt[S_SET_META];
	int ret;

	sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, value, -1, SQLITE_STATIC);
	ret = step_done(st, s);
	sqlite3_clear_bindings(s);
	return ret;
}

/* ---- the allocation mark ---- */

#define MARK_MAGIC "ntm index mark "

/* The mark file's value into *out: 1 when the file exists, 0 when it does
 * not, -EUCLEAN for a file that is not a mark (errmsg says so), -errno. */
static int mark_file_read(struct sq *st, uint32_t *out)
{
	char buf[64], *end;
	int fd = open(st->mark_path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	ssize_t n;
	unsigned long long v;

	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		store_err(&st->c, "%s: %s", st->mark_path, strerror(errno));
		return -errno;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0) {
		store_err(&st->c, "%s: %s", st->mark_path, strerror(errno));
		return -EIO;
	}
	buf[n] = '\0';
	errno = 0;
	if (strncmp(buf, MARK_MAGIC, strlen(MARK_MAGIC)) != 0 ||
	    buf[strlen(MARK_MAGIC)] < '0' || buf[strlen(MARK_MAGIC)] > '9' ||
	    (v = strtoull(buf + strlen(MARK_MAGIC), &end, 10), errno) || strcmp(end, "\n") != 0 ||
	    v > UINT32_MAX) {
		store_err(&st->c,
			 "%s: not an allocation mark file (one line 'ntm index mark N'); if it "
			 "was damaged, write the highest host index ever handed out (or more) "
			 "into it that way", st->mark_path);
		return -EUCLEAN;
	}
	*out = (uint32_t)v;
	return 1;
}

/* fsync of the directory holding path, so a rename or link in it lasts. */
static int fsync_dir_of(const char *path)
{
	int fd = open_dir_of(path), ret = 0;

	if (fd < 0)
		return fd;
	if (fsync(fd) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

static int fsync_path(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW), ret = 0;

	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

/* Replaces the mark file with v durably: temporary file, fsync, rename,
 * directory fsync. Writers hold the database's write lock, so two never
 * race on the temporary name. */
static int mark_file_write(struct sq *st, uint32_t v)
{
	char tmp[sizeof(st->mark_path) + 8], text[64];
	int fd, len = snprintf(text, sizeof(text), MARK_MAGIC "%u\n", (unsigned)v), ret = 0;

	snprintf(tmp, sizeof(tmp), "%s.tmp", st->mark_path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		ret = -errno;
	} else {
		if (write(fd, text, (size_t)len) != len)
			ret = errno ? -errno : -EIO;
		else if (fsync(fd) < 0)
			ret = -errno;
		close(fd);
		if (ret == 0 && rename(tmp, st->mark_path) < 0)
			ret = -errno;
		if (ret == 0)
			ret = fsync_dir_of(st->mark_path);
		if (ret < 0)
			unlink(tmp);
	}
	if (ret < 0)
		store_err(&st->c, "%s: cannot write the allocation mark: %s",
			 st->mark_path, strerror(-ret));
	return ret == -ENOSPC ? -EIO : ret;     /* -ENOSPC means a full prefix */
}

/* The mark as the meta table has it; -EUCLEAN when it is missing or not a
 * number (a version 2 registry always has one). */
static int mark_db(struct sq *st, uint32_t *out)
{
	char text[32], *end;
	unsigned long long v;
	int ret = meta_get(st, NTM_STORE_META_MARK, text, sizeof(text));

	if (ret >= 0) {
		errno = 0;
		v = strtoull(text, &end, 10);
		if (!errno && end != text && !*end && v <= UINT32_MAX && text[0] != '-') {
			*out = (uint32_t)v;
			return 0;
		}
	}
	if (ret < 0 && ret != -ENOENT && ret != -ERANGE)
		return ret;
	store_err(&st->c, "meta %s is missing or not a number",
		 NTM_STORE_META_MARK);
	return -EUCLEAN;
}

static int mark_db_set(struct sq *st, uint32_t v)
{
	char text[16];

	snprintf(text, sizeof(text), "%u", (unsigned)v);
	return meta_set(st, NTM_STORE_META_MARK, text);
}

static int max_index(struct sq *st, uint32_t *out)
{
	sqlite3_stmt *s = st->stmt[S_MAX_INDEX];
	int ret = step_row(st, s);

	if (ret == 1) {
		sqlite3_int64 v = sqlite3_column_int64(s, 0);
		sqlite3_reset(s);
		if (v < 0 || v > UINT32_MAX)
			return -EUCLEAN;
		*out = (uint32_t)v;
		return 0;
	}
	return ret < 0 ? ret : -EUCLEAN;
}

/* The three records of the mark, inside a write transaction. */
struct marks {
	uint32_t db, alloc, file;
	bool has_file;
	uint32_t mark;                  /* the highest of them */
};

static int marks_read(struct sq *st, struct marks *m)
{
	int ret;

	memset(m, 0, sizeof(*m));
	if ((ret = mark_db(st, &m->db)) < 0 || (ret = max_index(st, &m->alloc)) < 0)
		return ret;
	ret = mark_file_read(st, &m->file);
	if (ret < 0)
		return ret;
	m->has_file = ret == 1;
	m->mark = m->db > m->alloc ? m->db : m->alloc;
	if (m->has_file && m->file > m->mark)
		m->mark = m->file;
	return 0;
}

/* Brings the database's mark and the mark file level with the highest
 * record of the three, inside the open (or restore) transaction, and says
 * why when they were not. */
static int settle_mark(struct sq *st)
{
	struct marks m;
	uint32_t in_db;
	int ret = marks_read(st, &m);

	if (ret < 0)
		return ret;
	in_db = m.db > m.alloc ? m.db : m.alloc;
	if (m.has_file && m.file > in_db)
		store_add_notice(&st->c, "%s is older than its mark file %s (host indices up to %u in the "
			   "database, %u handed out): restored from an older copy? New enrolments "
			   "continue above %u; the %u address(es) in between are never handed out "
			   "again", st->path, st->mark_path, (unsigned)in_db, (unsigned)m.file,
			   (unsigned)m.file, (unsigned)(m.file - in_db));
	else if (m.has_file && m.file < in_db)
		store_add_notice(&st->c, "mark file %s said %u, the database %u: raised it", st->mark_path,
			   (unsigned)m.file, (unsigned)in_db);
	else if (!m.has_file && m.mark > 0)
		store_add_notice(&st->c, "created the allocation mark file %s (host index %u)", st->mark_path,
			   (unsigned)m.mark);
	if (m.mark != m.db && (ret = mark_db_set(st, m.mark)) < 0)
		return ret;
	if (m.mark > 0 && (!m.has_file || m.file != m.mark))
		ret = mark_file_write(st, m.mark);
	return ret;
}

/* ---- open ---- */

/* What is at path before SQLite sees it: 1 nothing (a new registry may be
 * made), 0 a regular file that starts like an SQLite database, or -errno
 * with the reason in msg. SQLite would take an empty file for a new
 * database, and would write a WAL header into a file it cannot read. */
static int db_inspect(const char *path, char *msg, size_t cap)
{
	static const char magic[16] = "SQLite format 3";
	char head[16];
	struct stat sb;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK), ret = 0;

	if (fd < 0) {
		if (errno == ENOENT)
			return 1;
		ret = -errno;
		snprintf(msg, cap, "%s", strerror(-ret));
		return ret;
	}
	if (fstat(fd, &sb) < 0) {
		ret = -errno;
		snprintf(msg, cap, "%s", strerror(-ret));
	} else if (!S_ISREG(sb.st_mode)) {
		ret = -EUCLEAN;
		snprintf(msg, cap, "not a regular file, so not an ntm registry: check Database= in "
			 "the configuration");
	} else if (sb.st_size == 0) {
		ret = -EUCLEAN;
		snprintf(msg, cap, "an empty file (0 bytes), not an ntm registry: remove it to start "
			 "a new registry (only a missing file makes one), or put the registry or a "
			 "backup of it in its place");
	} else if ((n = read(fd, head, sizeof(head))) != (ssize_t)sizeof(head) ||
		   memcmp(head, magic, sizeof(magic)) != 0) {
		ret = -EUCLEAN;
		snprintf(msg, cap, "not an SQLite database (%lld bytes without SQLite's header), "
			 "so not an ntm registry: check Database= in the configuration, or move the "
			 "file away to start a new registry", (long long)sb.st_size);
	}
	close(fd);
	return ret;
}

/* Prepares the kept statements; needs the schema, so runs after it. */
static int prepare_all(struct sq *st)
{
	for (int i = 0; i < S_COUNT; i++) {
		if (st->stmt[i])
			continue;
		int rc = sqlite3_prepare_v3(st->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT,
					    &st->stmt[i], NULL);
		if (rc != SQLITE_OK)
			return sql_err(st, rc);
	}
	return 0;
}

/* What a database is, from its header fields and tables only (reads,
 * never writes): one of SCHEMA_* or -errno with the reason in msg. */
enum { SCHEMA_CURRENT, SCHEMA_V1, SCHEMA_EMPTY };

static int db_int(sqlite3 *db, const char *sql, sqlite3_int64 *out)
{
	sqlite3_stmt *s = NULL;
	int rc = sqlite3_prepare_v2(db, sql, -1, &s, NULL);

	if (rc == SQLITE_OK) {
		rc = sqlite3_step(s);
		if (rc == SQLITE_ROW) {
			*out = sqlite3_column_int64(s, 0);
			rc = SQLITE_OK;
		}
	}
	sqlite3_finalize(s);
	return rc;
}

static int db_classify(sqlite3 *db, char *msg, size_t cap)
{
	sqlite3_int64 app = 0, version = 0, objects = 0, ours = 0;
	int rc = db_int(db, "PRAGMA application_id", &app);

	if (rc == SQLITE_OK)
		rc = db_int(db, "PRAGMA user_version", &version);
	if (rc == SQLITE_OK)
		rc = db_int(db, "SELECT count(*) FROM sqlite_schema", &objects);
	if (rc == SQLITE_OK)
		rc = db_int(db, "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND "
			    "name IN ('meta', 'allocations', 'nodes')", &ours);
	if (rc != SQLITE_OK) {
		snprintf(msg, cap, "%s", sqlite3_errmsg(db));
		return (rc & 0xff) == SQLITE_NOTADB || (rc & 0xff) == SQLITE_CORRUPT ? -EUCLEAN :
		       (rc & 0xff) == SQLITE_BUSY ? -EBUSY : -EIO;
	}
	if (app == 0 && version == 0 && objects == 0)
		return SCHEMA_EMPTY;
	if (app != 0 && app != NTM_STORE_APP_ID) {
		snprintf(msg, cap, "another program's SQLite database (application_id 0x%08llx), "
			 "not an ntm registry: check Database= in the configuration",
			 (unsigned long long)(uint32_t)app);
		return -EUCLEAN;
	}
	if (version > NTM_STORE_SCHEMA_VERSION) {
		snprintf(msg, cap, "schema version %lld is newer than this program's (%d)",
			 (long long)version, NTM_STORE_SCHEMA_VERSION);
		return -ENOTSUP;
	}
	if (app == 0 && version == 1 && ours == 3)
		return SCHEMA_V1;
	if (app == NTM_STORE_APP_ID && version == NTM_STORE_SCHEMA_VERSION && ours == 3)
		return SCHEMA_CURRENT;
	snprintf(msg, cap, "an SQLite database without ntm's schema (application_id 0x%08llx, "
		 "schema version %lld, %lld objects), not an ntm registry: check Database= in the "
		 "configuration", (unsigned long long)(uint32_t)app, (long long)version,
		 (long long)objects);
	return -EUCLEAN;
}

/* Creates the schema in a new database (creating: the temporary file of
 * db_create), upgrades version 1, accepts version 2, refuses the rest
 * (an empty SQLite database that was not made here included). Runs inside
 * the open transaction. */
static int settle_schema(struct sq *st, bool creating)
{
	int kind = db_classify(st->db, st->c.errmsg, sizeof(st->c.errmsg));

	if (kind == SCHEMA_EMPTY && !creating) {
		store_err(&st->c,
			 "an SQLite database with no tables, not an ntm registry: remove it to start a "
			 "new registry (only a missing file makes one)");
		return -EUCLEAN;
	}
	if (kind < 0 || kind == SCHEMA_CURRENT)
		return kind < 0 ? kind : 0;
	if (kind == SCHEMA_EMPTY) {
		int ret = sql_exec(st, schema_v1);
		return ret < 0 ? ret : sql_exec(st, schema_v2_upgrade);
	}
	store_add_notice(&st->c, "%s: upgraded the registry to schema version %d (allocation mark)",
		   st->path, NTM_STORE_SCHEMA_VERSION);
	return sql_exec(st, schema_v2_upgrade);
}

/* Connection settings. journal_mode answers with the mode it got: a file
 * system without shared memory support stays in rollback mode, which would
 * break the concurrent use by ntm-dcctl, so that is refused. */
static int configure(struct sq *st)
{
	sqlite3_stmt *s = NULL;
	int rc = sqlite3_prepare_v2(st->db, "PRAGMA journal_mode = WAL", -1, &s, NULL);
	int ret;

	if (rc != SQLITE_OK)
		return sql_err(st, rc);
	ret = step_row(st, s);
	if (ret == 1 && sqlite3_stricmp((const char *)sqlite3_column_text(s, 0), "wal") != 0) {
		store_err(&st->c, "cannot use WAL journal mode");
		ret = -ENOTSUP;
	}
	sqlite3_finalize(s);
	if (ret < 0)
		return ret;
	return sql_exec(st, "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON");
}

/* Schema, statements, prefixes and mark in one IMMEDIATE transaction: a
 * concurrent first start of ntm-dcctl and ntm-dcd upgrades the schema and
 * draws the ULA prefix exactly once. */
static int settle_all(struct sq *st, bool creating)
{
	sqlite3_int64 allocated = 0;
	int ret = write_begin(st);

	if (ret < 0)
		return ret;
	ret = settle_schema(st, creating);
	if (ret == 0)
		ret = prepare_all(st);
	if (ret == 0)
		ret = query_int(st, "SELECT EXISTS (SELECT 1 FROM allocations)", &allocated);
	if (ret == 0)
		ret = store_settle_prefixes(&st->c, st->has_p ? &st->p : NULL, allocated != 0);
	if (ret == 0)
		ret = settle_mark(st);
	return txn_end(st, ret);
}

/* Opens the connection to file (the database, or db_create's temporary
 * file) and settles it. The file is checked to be a registry (or, when
 * creating, empty) before anything is written to it: journal_mode = WAL
 * writes the header. */
static int store_setup(struct sq *st, const char *file, bool creating)
{
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_NOFOLLOW;
	int rc = sqlite3_open_v2(file, &st->db, flags, NULL);
	int ret;

	if (rc != SQLITE_OK)
		return st->db ? sql_err(st, rc) : -ENOMEM;
	sqlite3_extended_result_codes(st->db, 1);
	sqlite3_busy_handler(st->db, busy_wait, st);
	ret = db_classify(st->db, st->c.errmsg, sizeof(st->c.errmsg));
	if (ret == SCHEMA_EMPTY && !creating)
		ret = settle_schema(st, false);         /* the refusal's message */
	if (ret < 0)
		return ret;
	ret = configure(st);
	return ret < 0 ? ret : settle_all(st, creating);
}

static struct sq *store_new(const char *path, const struct ntm_store_params *p)
{
	struct sq *st = calloc(1, sizeof(*st));

	if (!st)
		return NULL;
	if (p) {
		st->p = *p;
		st->has_p = true;
	}
	st->c.ops = &sq_ops;
	st->gate = -1;
	snprintf(st->path, sizeof(st->path), "%s", path);
	snprintf(st->mark_path, sizeof(st->mark_path), "%s%s", path, NTM_STORE_MARK_SUFFIX);
	return st;
}

/* A new registry at path, made whole under a temporary name (mode 0600,
 * checkpointed and closed so no -wal file belongs to it) and linked into
 * place: the path never holds a half-made registry, and of two programs
 * making one at once, the second finds the first's (link gives EEXIST)
 * and uses it. Its notice (a mark file left by an earlier registry) goes
 * to notice. */
static int db_create(const char *path, const struct ntm_store_params *p, char *err,
		     size_t errlen, char *notice, size_t ncap)
{
	char tmp[PATH_MAX];
	struct sq *st;
	int fd, ret;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.new-XXXXXX", path) >= sizeof(tmp)) {
		store_set_err(err, errlen, "%s: %s", path, strerror(ENAMETOOLONG));
		return -ENAMETOOLONG;
	}
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		store_set_err(err, errlen, "%s: cannot create a new registry: %s", path, strerror(-ret));
		return ret;
	}
	close(fd);
	st = store_new(path, p);
	if (!st) {
		unlink(tmp);
		store_set_err(err, errlen, "%s: %s", path, strerror(ENOMEM));
		return -ENOMEM;
	}
	ret = store_setup(st, tmp, true);
	if (ret < 0)
		store_set_err(err, errlen, "%s: %s", path, st->c.errmsg[0] ? st->c.errmsg : strerror(-ret));
	snprintf(notice, ncap, "%s", st->c.notice);
	sq_close(&st->c);               /* the last connection: checkpoints, removes -wal */
	if (ret == 0 && (ret = fsync_path(tmp)) < 0)
		store_set_err(err, errlen, "%s: %s", tmp, strerror(-ret));
	if (ret == 0 && link(tmp, path) < 0 && errno != EEXIST) {
		ret = -errno;
		store_set_err(err, errlen, "%s: cannot create a new registry: %s", path, strerror(-ret));
	}
	unlink(tmp);
	if (ret == 0)
		fsync_dir_of(path);
	return ret;
}

static void sq_close(struct ntm_store *c)
{
	struct sq *st = SQ(c);

	if (!st)
		return;
	for (int i = 0; i < S_COUNT; i++)
		sqlite3_finalize(st->stmt[i]);
	sqlite3_close(st->db);
	if (st->gate >= 0)
		close(st->gate);
	free(st);
}

/* store.c has checked the prefixes in p. */
int ntm_store_sqlite_open(struct ntm_store **out, const char *path,
			  const struct ntm_store_params *p, char *err, size_t errlen)
{
	struct sq *st = NULL;
	char msg[512], created[sizeof(st->c.notice)] = "";
	int ret = -EINVAL;

	*out = NULL;
	ret = strlen(path) + sizeof(NTM_STORE_MARK_SUFFIX) + 8 > PATH_MAX ? -ENAMETOOLONG :
	      db_inspect(path, msg, sizeof(msg));
	if (ret == 1)
		ret = db_create(path, p, err, errlen, created, sizeof(created));
	else if (ret < 0)
		store_set_err(err, errlen, "%s: %s", path, ret == -ENAMETOOLONG ? strerror(-ret) : msg);
	if (ret < 0)
		goto fail;
	ret = -ENOMEM;
	st = store_new(path, p);
	if (!st) {
		store_set_err(err, errlen, "%s: %s", path, strerror(-ret));
		goto fail;
	}
	snprintf(st->c.notice, sizeof(st->c.notice), "%s", created);
	ret = store_setup(st, path, false);
	if (ret < 0) {
		store_set_err(err, errlen, "%s: %s", path, st->c.errmsg[0] ? st->c.errmsg : strerror(-ret));
		goto fail;
	}
	*out = &st->c;
	return 0;
fail:
	sq_close(st ? &st->c : NULL);
	return ret;
}

static int sq_mark(struct ntm_store *c, uint32_t *mark)
{
	return mark_db(SQ(c), mark);
}

static int sq_data_version(struct ntm_store *c, uint64_t *version)
{
	struct sq *st = SQ(c);
	sqlite3_stmt *s = st->stmt[S_DATA_VERSION];
	int ret = step_row(st, s);

	if (ret == 1) {
		*version = (uint64_t)sqlite3_column_int64(s, 0);
		sqlite3_reset(s);
		return 0;
	}
	return ret < 0 ? ret : -EIO;
}

static int sq_keys(struct ntm_store *c, ntm_store_key_cb cb, void *ctx)
{
	struct sq *st = SQ(c);
	sqlite3_stmt *s = st->stmt[S_KEYS];
	int rc, ret = 0;

	while (ret == 0 && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		const void *key = sqlite3_column_blob(s, 0);
		sqlite3_int64 idx = sqlite3_column_int64(s, 1);
		if (!key || sqlite3_column_bytes(s, 0) != NTM_STORE_KEY_LEN || idx < 1 ||
		    idx > st->c.max_index)
			ret = -EUCLEAN;
		else
			ret = cb(key, (uint32_t)idx, ctx);
	}
	if (ret == 0 && rc != SQLITE_DONE)
		ret = sql_err(st, rc);
	sqlite3_reset(s);
	return ret;
}

/* ---- backup and restore ---- */

static int sq_backup(struct ntm_store *c, const char *dest, char *err, size_t errlen)
{
	struct sq *st = SQ(c);
	sqlite3_stmt *s = NULL;
	int fd = open(dest, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	int rc, ret;

	if (fd < 0) {
		ret = -errno;
		store_set_err(err, errlen, "%s: %s%s", dest, strerror(-ret),
			ret == -EEXIST ? " (a backup is written to a new file only)" : "");
		return ret;
	}
	close(fd);
	/* VACUUM INTO writes into the empty file just made: a consistent
	 * snapshot, its mark included. */
	rc = sqlite3_prepare_v2(st->db, "VACUUM INTO ?1", -1, &s, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_text(s, 1, dest, -1, SQLITE_STATIC);
		rc = sqlite3_step(s);
	}
	ret = rc == SQLITE_DONE ? 0 : sql_err(st, rc);
	sqlite3_finalize(s);
	if (ret == 0 && (ret = fsync_path(dest)) == 0)
		ret = fsync_dir_of(dest);
	if (ret < 0) {
		store_set_err(err, errlen, "%s: %s", dest, st->c.errmsg[0] ? st->c.errmsg : strerror(-ret));
		unlink(dest);
	}
	return ret;
}

/* The prefix text stored under key in the database db ("" when none). */
static void db_meta(sqlite3 *db, const char *key, char *buf, size_t cap)
{
	sqlite3_stmt *s = NULL;

	buf[0] = '\0';
	if (sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key = ?1", -1, &s, NULL) ==
	    SQLITE_OK) {
		sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
		if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_text(s, 0))
			snprintf(buf, cap, "%s", (const char *)sqlite3_column_text(s, 0));
	}
	sqlite3_finalize(s);
}

/* Is the database at src a registry this one can take: schema, and the
 * same prefixes when it holds allocations? msg says why not. */
static int restore_check(struct sq *st, sqlite3 *src, char *msg, size_t cap)
{
	sqlite3_int64 allocated = 0;
	char have4[64], have6[64], want4[64], want6[64];
	int kind = db_classify(src, msg, cap);

	if (kind == SCHEMA_EMPTY) {
		snprintf(msg, cap, "an SQLite database with no tables, not an ntm registry");
		return -EUCLEAN;
	}
	if (kind < 0)
		return kind;
	if (db_int(src, "SELECT EXISTS (SELECT 1 FROM allocations)", &allocated) != SQLITE_OK) {
		snprintf(msg, cap, "%s", sqlite3_errmsg(src));
		return -EUCLEAN;
	}
	if (!allocated)
		return 0;
	db_meta(src, NTM_STORE_META_V4, have4, sizeof(have4));
	db_meta(src, NTM_STORE_META_V6, have6, sizeof(have6));
	store_prefix_format(&st->c.v4, want4, sizeof(want4));
	store_prefix_format(&st->c.v6, want6, sizeof(want6));
	if (strcmp(have4, want4) != 0 || strcmp(have6, want6) != 0) {
		snprintf(msg, cap, "its addresses come from %s and %s, this registry's from %s and "
			 "%s: restoring it would renumber nodes", have4[0] ? have4 : "(none)",
			 have6[0] ? have6 : "(none)", want4, want6);
		return -EINVAL;
	}
	return 0;
}

/* Copies every page of src over the registry (the backup API, under the
 * registry's write lock; other connections see one commit). */
static int restore_copy(struct sq *st, sqlite3 *src)
{
	sqlite3_backup *b = sqlite3_backup_init(st->db, "main", src, "main");
	int rc, waited = 0;

	if (!b)
		return sql_err(st, sqlite3_errcode(st->db));
	gate_take(st);          /* write_begin's queue, for this other way in */
	while ((rc = sqlite3_backup_step(b, -1)) == SQLITE_BUSY || rc == SQLITE_LOCKED) {
		if (waited >= NTM_STORE_BUSY_MS)
			break;
		sqlite3_sleep(50);
		waited += 50;
	}
	gate_leave(st);
	sqlite3_backup_finish(b);
	return rc == SQLITE_DONE ? 0 : sql_err(st, rc);
}

static int sq_restore(struct ntm_store *c, const char *src, char *err, size_t errlen)
{
	struct sq *st = SQ(c);
	char msg[512];
	struct stat a, b;
	sqlite3 *db = NULL;
	int ret = db_inspect(src, msg, sizeof(msg));

	if (ret == 1) {
		ret = -ENOENT;
		snprintf(msg, sizeof(msg), "%s", strerror(ENOENT));
	}
	if (ret == 0 && stat(src, &a) == 0 && stat(st->path, &b) == 0 && a.st_dev == b.st_dev &&
	    a.st_ino == b.st_ino) {
		ret = -EINVAL;
		snprintf(msg, sizeof(msg), "is the registry itself");
	}
	if (ret == 0) {
		int rc = sqlite3_open_v2(src, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOFOLLOW, NULL);
		if (rc != SQLITE_OK) {
			snprintf(msg, sizeof(msg), "%s", db ? sqlite3_errmsg(db) : "out of memory");
			ret = -EUCLEAN;
		} else {
			sqlite3_busy_timeout(db, NTM_STORE_BUSY_MS);
			ret = restore_check(st, db, msg, sizeof(msg));
		}
	}
	if (ret < 0) {
		store_set_err(err, errlen, "%s: %s", src, msg);
		sqlite3_close(db);
		return ret;
	}
	st->c.notice[0] = '\0';
	st->c.errmsg[0] = '\0';
	ret = restore_copy(st, db);
	sqlite3_close(db);
	if (ret == 0)
		ret = settle_all(st, false);
	if (ret < 0)
		store_set_err(err, errlen, "%s: %s", st->path, st->c.errmsg[0] ? st->c.errmsg : strerror(-ret));
	return ret;
}

/* ---- nodes ---- */

/* The key's host index: kept from an earlier enrolment, or one above the
 * allocation mark (store.h), which is raised in the mark file before and
 * in the database with the allocation. Runs inside node_add's
 * transaction; -ENOSPC when the prefix is full. */
static int take_index(struct sq *st, const struct ntm_name *n, const uint8_t *key,
		      uint32_t *idx)
{
	sqlite3_stmt *s = st->stmt[S_ALLOC_BY_KEY];
	struct marks m;
	int ret;

	sqlite3_bind_blob(s, 1, key, NTM_STORE_KEY_LEN, SQLITE_STATIC);
	ret = step_row(st, s);
	if (ret == 1) {
		*idx = (uint32_t)sqlite3_column_int64(s, 0);
		sqlite3_reset(s);
		s = st->stmt[S_UPD_ALLOC];
	} else if (ret == 0) {
		if ((ret = marks_read(st, &m)) < 0)
			return ret;
		if (m.mark >= st->c.max_index)
			return -ENOSPC;
		*idx = m.mark + 1;
		if ((ret = mark_file_write(st, *idx)) < 0 || (ret = mark_db_set(st, *idx)) < 0)
			return ret;
		s = st->stmt[S_INS_ALLOC];
		sqlite3_bind_int64(s, 2, *idx);
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
static int check_free(struct sq *st, const struct ntm_name *n, const uint8_t *key)
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
static int insert_node(struct sq *st, const struct ntm_name *n, const uint8_t *key,
		       int64_t created)
{
	sqlite3_stmt *s = st->stmt[S_INS_NODE];

	sqlite3_bind_text(s, 1, n->s, n->len, SQLITE_STATIC);
	sqlite3_bind_blob(s, 2, key, NTM_STORE_KEY_LEN, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, created);
	return step_done(st, s);
}

static int sq_node_add(struct ntm_store *c, const struct ntm_name *n, const uint8_t *key,
		       int64_t created, uint32_t *idx)
{
	struct sq *st = SQ(c);
	int ret;

	/* IMMEDIATE: the write lock is held from the checks to the commit, so
	 * a second process cannot enrol the same name or take the same index
	 * in between. */
	ret = write_begin(st);
	if (ret < 0)
		return ret;
	ret = check_free(st, n, key);
	if (ret == 0)
		ret = take_index(st, n, key, idx);
	if (ret == 0)
		ret = insert_node(st, n, key, created);
	return txn_end(st, ret);
}

static int sq_node_del(struct ntm_store *c, const struct ntm_name *n)
{
	struct sq *st = SQ(c);
	sqlite3_stmt *s = st->stmt[S_DEL_NODE];
	int ret = write_begin(st);

	if (ret < 0)
		return ret;
	sqlite3_bind_text(s, 1, n->s, n->len, SQLITE_STATIC);
	ret = step_done(st, s);
	if (ret == 0 && sqlite3_changes(st->db) == 0)
		ret = -ENOENT;
	return txn_end(st, ret);
}

static int sq_by_key(struct ntm_store *c, const uint8_t *key, struct ntm_node_rec *out)
{
	struct sq *st = SQ(c);
	sqlite3_stmt *s = st->stmt[S_BY_KEY];

	sqlite3_bind_blob(s, 1, key, NTM_STORE_KEY_LEN, SQLITE_STATIC);
	return lookup(st, s, out);
}

static int sq_by_name(struct ntm_store *c, const struct ntm_name *n, struct ntm_node_rec *out)
{
	struct sq *st = SQ(c);
	sqlite3_stmt *s = st->stmt[S_BY_NAME];

	sqlite3_bind_text(s, 1, n->s, n->len, SQLITE_STATIC);
	return lookup(st, s, out);
}

static int sq_by_index(struct ntm_store *c, uint32_t idx, struct ntm_node_rec *out)
{
	struct sq *st = SQ(c);
	sqlite3_stmt *s = st->stmt[S_BY_INDEX];

	sqlite3_bind_int64(s, 1, idx);
	return lookup(st, s, out);
}

static int sq_list(struct ntm_store *c, ntm_store_node_cb cb, void *ctx)
{
	struct sq *st = SQ(c);
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

static int sq_allocations(struct ntm_store *c, ntm_store_alloc_cb cb, void *ctx)
{
	struct sq *st = SQ(c);
	sqlite3_stmt *s = st->stmt[S_ALLOCS];
	char name[NTM_NAME_MAX + 1];
	int rc, ret = 0;

	while (ret == 0 && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		const void *key = sqlite3_column_blob(s, 0);
		sqlite3_int64 idx = sqlite3_column_int64(s, 1);
		const unsigned char *nm = sqlite3_column_text(s, 2);
		int nlen = sqlite3_column_bytes(s, 2);
		if (!key || sqlite3_column_bytes(s, 0) != NTM_STORE_KEY_LEN || idx < 1 ||
		    idx > st->c.max_index || !nm || nlen < 1 || nlen > NTM_NAME_MAX) {
			ret = -EUCLEAN;
		} else {
			memcpy(name, nm, (size_t)nlen);
			name[nlen] = '\0';
			ret = cb(key, (uint32_t)idx, name, ctx);
		}
	}
	if (ret == 0 && rc != SQLITE_DONE)
		ret = sql_err(st, rc);
	sqlite3_reset(s);
	return ret;
}

static int sq_get_meta(struct ntm_store *c, const char *key, char *buf, size_t cap)
{
	return meta_get(SQ(c), key, buf, cap);
}

static int sq_set_meta(struct ntm_store *c, const char *key, const char *value)
{
	struct sq *st = SQ(c);
	int ret = write_begin(st);

	return ret < 0 ? ret : txn_end(st, meta_set(st, key, value));
}

static int sq_put_meta(struct ntm_store *c, const char *key, const char *value)
{
	return meta_set(SQ(c), key, value);
}

static const struct ntm_store_ops sq_ops = {
	.name = "sqlite",
	.close = sq_close,
	.node_add = sq_node_add,
	.node_del = sq_node_del,
	.by_key = sq_by_key,
	.by_name = sq_by_name,
	.by_index = sq_by_index,
	.list = sq_list,
	.keys = sq_keys,
	.allocations = sq_allocations,
	.data_version = sq_data_version,
	.mark = sq_mark,
	.get_meta = sq_get_meta,
	.set_meta = sq_set_meta,
	.put_meta = sq_put_meta,
	.backup = sq_backup,
	.restore = sq_restore,
	.import = NULL,
};

int ntm_store_hand_over(const char *db, uid_t uid, gid_t gid, char *err, size_t errlen)
{
	static const char *const suffix[] = { "", "-wal", "-shm", NTM_STORE_MARK_SUFFIX };
	char path[PATH_MAX + 8];
	const char *slash = strrchr(db, '/');

	if (slash && slash != db) {
		snprintf(path, sizeof(path), "%.*s", (int)(slash - db), db);
		if (chown(path, uid, gid) < 0)
			goto fail;
	}
	for (size_t i = 0; i < NTM_ARRAY_SIZE(suffix); i++) {
		snprintf(path, sizeof(path), "%s%s", db, suffix[i]);
		if (chown(path, uid, gid) < 0 && errno != ENOENT)
			goto fail;
	}
	return 0;
fail:;
	int e = errno;
	snprintf(err, errlen, "%s: cannot hand it to uid %u: %s", path, (unsigned)uid, strerror(e));
	return -e;
}
