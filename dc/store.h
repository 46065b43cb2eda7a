/* store.h - the Direction Coordinator's registry: enrolled nodes and the
 * virtual addresses allocated to their keys, kept in one SQLite database
 * (store_sqlite.c, the default) or in a PostgreSQL database (store_pg.c,
 * ntm_store_open_backend). What follows holds for both unless it names
 * one; the section "PostgreSQL" says where that backend differs.
 *
 * Addresses. Every key that was ever enrolled owns a host index i >= 1 for
 * good: its virtual IPv4 is the IPv4 prefix's base + i, its virtual IPv6 is
 * the IPv6 prefix's base + ::i, i.e. an address in subnet 0 (the first /64)
 * of the IPv6 prefix. An allocation row is never deleted: `node del` removes
 * the enrolment only, so the address is never handed to another key, and
 * enrolling the same key again (under any free name) gives back the same
 * addresses. Indices are handed out in order; the last one is the IPv4
 * prefix's size minus 2 (index 0 is the network address and the top one the
 * broadcast address, both skipped), after which enrolling a new key fails
 * with -ENOSPC.
 *
 * The allocation mark. The highest host index ever handed out is kept in
 * two places: the meta table (NTM_STORE_META_MARK, committed with the
 * allocation) and a small side file next to the database (path +
 * NTM_STORE_MARK_SUFFIX), written and fsynced before the allocation
 * commits. A new index is one above the highest of the mark in the
 * database, the mark file and the allocations, so a database restored from
 * an older copy (which lacks the newer allocations) still continues above
 * every index handed out since: ntm_store_open raises the restored
 * database's mark to the file's and says so in ntm_store_notice. An index
 * written to the file whose allocation then failed to commit is skipped,
 * never reused. The file is only as good as it is newer than the database:
 * restoring both from the same old copy defeats it (ntm_store_restore
 * restores the database alone).
 *
 * Files. Only a missing database file creates a new registry, and it is
 * created whole (built under a temporary name, then linked into place), so
 * a file that exists is either a registry or refused: an empty file, a file
 * that is not SQLite, or an SQLite database without ntm's application_id
 * and schema gives -EUCLEAN with a message that names the file and what to
 * do. Registries of schema version 1 (before the mark) are taken over and
 * upgraded to version 2 on open.
 *
 * Prefixes. IPv4 defaults to NTM_STORE_V4_DEFAULT, 198.18.0.0/15: the
 * RFC 2544 benchmarking range, which keeps clear of 100.64.0.0/10 (the
 * CGNAT range Tailscale uses) and of the RFC 1918 ranges LANs use. IPv6
 * without configuration is a random ULA /48 (fd00::/8 plus 40 bits from
 * getrandom()) made on first open and stored in the database. The prefixes
 * in use are stored in the meta table; once an address has been allocated,
 * opening with different prefixes is refused (that would renumber every
 * node). Before that, a new configuration simply replaces the stored one.
 *
 * Durability and sharing. The database runs in WAL mode with
 * synchronous=FULL: every function that changes something has committed and
 * synced it when it returns 0, so an enrolment survives kill -9 (and power
 * loss) at any instant. ntm-dcd and ntm-dcctl may have the same file open at
 * once: writers take the write lock for the whole read-check-write sequence,
 * readers always see the latest committed state, and a locked database is
 * retried for NTM_STORE_BUSY_MS before -EBUSY. Writers waiting for the
 * lock queue at a gate (an flock on the database's directory), so one
 * process committing back to back cannot keep another out.
 *
 * Errors: functions return 0 or -errno and never log. Besides the errors
 * named per function, SQLite failures come back as -EBUSY (locked too long),
 * -ENOMEM, -EROFS, -EUCLEAN (corrupt database or not a database), the OS
 * errno of a failed system call, or -EIO; ntm_store_errmsg() then has
 * SQLite's text for the caller's one log line. -ENOSPC always means "the
 * IPv4 prefix is exhausted", never a full disk (that is -EIO).
 *
 * PostgreSQL. The location is a libpq connection string (key=value or
 * a postgresql:// URI; passwords through PGPASSFILE or the other means
 * libpq reads itself). Calls block like SQLite's do; the connection is
 * made with connect_timeout=NTM_STORE_PG_CONNECT_TIMEOUT unless the
 * string names another, and a connection found lost is reset once and
 * the call retried. The tables (ntm_meta, ntm_allocations, ntm_nodes,
 * ntm_instances, ntm_presence) are made on the first open of an empty
 * database, with the schema version in ntm_meta; a version 1 database
 * (without the last two) gets them on open, under the open's lock; a
 * database holding other tables but not these, or another schema version,
 * is refused (-EUCLEAN, -ENOTSUP). An enrolment is one
 * transaction: the allocation mark's row is locked (SELECT ... FOR
 * UPDATE) for the read-check-write, host_index is UNIQUE, and a
 * unique_violation, serialization_failure or deadlock restarts the
 * transaction (NTM_STORE_PG_RETRIES times), so DCs and ntm-dcctl sharing
 * one database never hand out an index twice. There is no mark file
 * (the database is the only record: its own backups are the
 * administrator's), no backup or restore (-EOPNOTSUPP: use pg_dump), and
 * ntm_store_data_version is a counter in ntm_meta raised by every write.
 *
 * Threads: a struct ntm_store is one connection; use it from one thread
 * at a time. */
#ifndef NTM_STORE_H
#define NTM_STORE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "conf.h"
#include "wire.h"

#define NTM_STORE_KEY_LEN 32
#define NTM_STORE_SCHEMA_VERSION 2
#define NTM_STORE_APP_ID 0x6e746d52     /* PRAGMA application_id: "ntmR" */
#define NTM_STORE_MARK_SUFFIX ".mark"   /* the mark file: database path + this */
#define NTM_STORE_BUSY_MS 5000
#define NTM_STORE_V4_DEFAULT "198.18.0.0/15"
/* Meta keys the store itself uses; ntm_store_set_meta refuses them. */
#define NTM_STORE_META_V4 "prefix4"
#define NTM_STORE_META_V6 "prefix6"
#define NTM_STORE_META_MARK "index_mark" /* highest host index ever handed out */
#define NTM_STORE_META_MAX 1024         /* longest meta key or value, bytes */
#define NTM_STORE_PG_CONNECT_TIMEOUT "5" /* seconds, unless the conninfo says */
#define NTM_STORE_PG_RETRIES 16         /* restarts of a conflicting transaction */
#define NTM_STORE_PG_SCHEMA_VERSION 2   /* 2: presence and instances */

struct ntm_store;

enum ntm_store_backend {
	NTM_STORE_SQLITE = 0,           /* location: a file path */
	NTM_STORE_POSTGRESQL,           /* location: a libpq connection string */
};

/* What ntm_store_open needs from the configuration. A prefix whose family
 * is 0 is "not configured": v4 then means NTM_STORE_V4_DEFAULT, v6 the
 * stored prefix or else a new random ULA /48. A configured v4 prefix must
 * be AF_INET with a length of 1..30, v6 AF_INET6 with a length of 1..64,
 * both with no bits set after the length (-EINVAL otherwise). */
struct ntm_store_params {
	struct ntm_conf_addr v4;
	struct ntm_conf_addr v6;
};

/* One enrolled node. */
struct ntm_node_rec {
	char name[NTM_NAME_MAX + 1];    /* normalized: lower case, no trailing dot */
	uint8_t pubkey[NTM_STORE_KEY_LEN];
	uint8_t vip4[4];                /* network order */
	uint8_t vip6[16];
	uint32_t host_index;            /* >= 1, the key's for good */
	int64_t created;                /* enrolment time, unix seconds */
};

/* Opens the database at path, or creates a new registry there when no file
 * exists (mode 0600; a symlink is refused), checks (or upgrades) the
 * schema and settles the prefixes and the allocation mark, all in one
 * transaction. p may be NULL (all defaults).
 * Returns 0 with *out set, or -errno with a one-line reason in err (which
 * may be NULL) naming the path:
 *   -EINVAL     a bad prefix in p, or configured prefixes that differ from
 *               those the addresses were allocated from (both are named);
 *   -ENOTSUP    a schema version newer than this program knows;
 *   -EUCLEAN    an empty file, not a database, another program's database,
 *               a damaged one, one missing its prefixes, or a mark file
 *               that is not one;
 *   otherwise as listed above. */
int ntm_store_open(struct ntm_store **out, const char *path, const struct ntm_store_params *p,
		   char *err, size_t errlen);

/* ntm_store_open for either backend: location is the SQLite file's path or
 * PostgreSQL's connection string. Besides ntm_store_open's errors, a
 * PostgreSQL server that cannot be reached gives -ECONNREFUSED (err has
 * libpq's reason without the connection string, which may hold a
 * password). */
int ntm_store_open_backend(struct ntm_store **out, enum ntm_store_backend backend,
			   const char *location, const struct ntm_store_params *p, char *err,
			   size_t errlen);

/* "sqlite" or "postgresql". */
const char *ntm_store_backend_name(const struct ntm_store *st);

/* What ntm_store_open (or ntm_store_restore) found and fixed that the
 * operator should hear of, as one line naming the files (e.g. the database
 * is older than its mark file); "" when nothing. */
const char *ntm_store_notice(const struct ntm_store *st);

/* Closes st, finalizing its statements. Accepts NULL. */
void ntm_store_close(struct ntm_store *st);

/* Hands the registry's files to uid:gid: the directory holding db (SQLite
 * creates and removes its -wal and -shm files there), db itself, its -wal,
 * -shm and allocation mark files (missing ones are skipped). Run as root by
 * ntm-dcd before it drops privileges and by ntm-dcctl after each command,
 * so that a registry root made or changed is still the DC's to write.
 * 0, or -errno with the path in err. */
int ntm_store_hand_over(const char *db, uid_t uid, gid_t gid, char *err, size_t errlen);

/* SQLite's message for the last failure on st, for the caller's log line.
 * Valid until the next call on st. */
const char *ntm_store_errmsg(const struct ntm_store *st);

/* Enrolls name (validated and normalized as ntm_name_set does) with
 * pubkey, allocating the key's addresses if it never had any. On success
 * and when rec is not NULL, *rec is the new enrolment.
 *   -EINVAL  name is not a valid DNS name;
 *   -EEXIST  name is enrolled (with any key), or pubkey under another name;
 *   -ENOSPC  pubkey has no allocation and the IPv4 prefix has no index left.
 * On any failure nothing has been written. */
int ntm_store_node_add(struct ntm_store *st, const char *name,
		       const uint8_t pubkey[NTM_STORE_KEY_LEN], struct ntm_node_rec *rec);

/* Removes the enrolment of name, keeping its key's allocation.
 * -EINVAL for an invalid name, -ENOENT when name is not enrolled. */
int ntm_store_node_del(struct ntm_store *st, const char *name);

/* Lookups; each fills *out, or returns -ENOENT when nothing enrolled
 * matches (a key whose node was deleted is not enrolled). by_name returns
 * -EINVAL for an invalid name. by_addr takes family AF_INET (4 bytes at
 * addr) or AF_INET6 (16 bytes) and returns -EAFNOSUPPORT for another;
 * an address outside the prefixes is -ENOENT. by_key is the DC's per-
 * handshake path and runs one prepared statement. */
int ntm_store_node_by_key(struct ntm_store *st, const uint8_t pubkey[NTM_STORE_KEY_LEN],
			  struct ntm_node_rec *out);
int ntm_store_node_by_name(struct ntm_store *st, const char *name, struct ntm_node_rec *out);
int ntm_store_node_by_addr(struct ntm_store *st, int family, const void *addr,
			   struct ntm_node_rec *out);

/* Calls cb for every enrolled node in name order (byte order of the
 * normalized names). A non-zero return from cb stops the walk and is
 * returned. cb gets a record valid only for the call and must not change
 * the store or call ntm_store_node_list itself (lookups are fine). */
typedef int (*ntm_store_node_cb)(const struct ntm_node_rec *rec, void *ctx);
int ntm_store_node_list(struct ntm_store *st, ntm_store_node_cb cb, void *ctx);

/* The prefixes addresses are allocated from (either pointer may be NULL). */
void ntm_store_prefixes(const struct ntm_store *st, struct ntm_conf_addr *v4,
			struct ntm_conf_addr *v6);

/* The enrolled keys with their host indices, for the DC's in-memory set:
 * cb once per enrolled node, from one read snapshot, in no particular
 * order; a non-zero return stops the walk and is returned. */
typedef int (*ntm_store_key_cb)(const uint8_t pubkey[NTM_STORE_KEY_LEN], uint32_t host_index,
				void *ctx);
int ntm_store_keys(struct ntm_store *st, ntm_store_key_cb cb, void *ctx);

/* Changes when another connection (ntm-dcctl) committed a change since
 * the last call on this one. SQLite: PRAGMA data_version, cheap (no file
 * read when nothing changed). PostgreSQL: the change counter every write
 * raises, one small query. */
int ntm_store_data_version(struct ntm_store *st, uint64_t *version);

/* The allocation mark: the highest host index handed out (0: none). */
int ntm_store_mark(struct ntm_store *st, uint32_t *mark);

/* Writes a consistent copy of the registry (VACUUM INTO) to dest, a new
 * file (mode 0600; -EEXIST when it exists), fsynced. The copy carries the
 * allocation mark in its meta table. */
int ntm_store_backup(struct ntm_store *st, const char *dest, char *err, size_t errlen);

/* Replaces the registry's content with the backup at src (an ntm registry
 * of this or an older schema, whose prefixes match if it holds
 * allocations), then settles schema, prefixes and mark as ntm_store_open
 * does: addresses handed out after the backup was made are never handed
 * out again (ntm_store_notice says how many were). Safe while ntm-dcd runs
 * (it sees the new content as another connection's commit). -EUCLEAN for
 * a src that is not a registry, -EINVAL for other prefixes or src being
 * the database itself; nothing is changed then. */
int ntm_store_restore(struct ntm_store *st, const char *src, char *err, size_t errlen);

/* Every allocation ever made (a deleted node's key included), with the
 * name its key was last enrolled under, in no particular order; a
 * non-zero return from cb stops the walk and is returned. */
typedef int (*ntm_store_alloc_cb)(const uint8_t pubkey[NTM_STORE_KEY_LEN], uint32_t host_index,
				  const char *name, void *ctx);
int ntm_store_allocations(struct ntm_store *st, ntm_store_alloc_cb cb, void *ctx);

/* A registry's content as ntm_store_migrate copies it. */
struct ntm_store_alloc {
	uint8_t pubkey[NTM_STORE_KEY_LEN];
	uint32_t host_index;
	char name[NTM_NAME_MAX + 1];
};
struct ntm_store_dump {
	struct ntm_conf_addr v4, v6;
	uint32_t mark;
	size_t n_allocs, n_nodes;
	struct ntm_store_alloc *allocs;
	struct ntm_node_rec *nodes;
};

/* Copies every allocation, enrolment, the prefixes and the mark of from
 * into to, in one transaction of to's: to must hold no allocation
 * (-ENOTEMPTY otherwise) and support it (PostgreSQL; -EOPNOTSUPP for an
 * SQLite target). Other meta settings are not copied. On failure nothing
 * is written; err says why. */
int ntm_store_migrate(struct ntm_store *from, struct ntm_store *to, char *err, size_t errlen);

/* Small key/value settings for other parts of the DC. Keys and values are
 * text of 1..NTM_STORE_META_MAX bytes. get copies the value NUL-terminated
 * into buf and returns its length, -ENOENT when the key is absent, or
 * -ERANGE when cap is too small. set creates or replaces the value; it
 * refuses the store's own keys (NTM_STORE_META_V4/V6/MARK and
 * PostgreSQL's schema version and change counter) with -EPERM and an
 * empty or overlong key or value with -EINVAL. */
int ntm_store_get_meta(struct ntm_store *st, const char *key, char *buf, size_t cap);
int ntm_store_set_meta(struct ntm_store *st, const char *key, const char *value);

/* ---- DC instances sharing one registry (PostgreSQL only) ----
 * Several ntm-dcd of one zone may serve from one PostgreSQL registry,
 * each with its own instance number (1..255, [Registry] Instance). Each
 * records which nodes are registered with it now (presence: the node's
 * key, the instance, an opaque blob of at most NTM_STORE_PRESENCE_MAX
 * bytes, dc/meshmsg.h's encoding, and the database's clock) and beats its
 * own row of ntm_instances; the others send it notifications (LISTEN/
 * NOTIFY) on its channel. The SQLite backend has no peers: every call
 * below returns -EOPNOTSUPP there.
 *
 * instance_claim takes the instance (a session advisory lock: -EADDRINUSE
 * when another connection holds it, i.e. another DC runs with that
 * number), deletes the presence rows an earlier run of it left, beats,
 * and LISTENs on channel (a lower-case identifier, at most 63 bytes); a
 * connection reset later takes the lock and LISTEN again (if the server
 * still holds the lock for the old session, each instance_beat tries
 * again and fails with -EADDRINUSE until it has them). instance_release
 * undoes it at a clean stop: the instance's presence rows and beat are
 * deleted (other instances stop directing to its nodes at once), the lock
 * and LISTEN given up. instance_beat
 * writes the instance's seen time. presence_put records key as present at
 * instance (replacing any other instance's row for the key: the latest
 * registration wins); presence_del removes it if it is still instance's.
 * presence_get finds key present at an instance other than exclude whose
 * beat is at most max_age_s old: 0 with *instance and the blob, -ENOENT
 * otherwise, -EUCLEAN for a row that breaks the schema's bounds. notify
 * sends payload (at most NTM_STORE_NOTIFY_MAX bytes of text) on channel.
 * socket is the connection's descriptor for the event loop (it changes
 * after a reset); notifications reads what arrived and calls cb for each
 * notification on a channel this connection listens on, from any
 * connection but its own. */
#define NTM_STORE_PRESENCE_MAX 512
#define NTM_STORE_NOTIFY_MAX 7999
typedef void (*ntm_store_notify_cb)(const char *channel, const char *payload, void *ctx);
int ntm_store_instance_claim(struct ntm_store *st, unsigned instance, const char *channel);
int ntm_store_instance_release(struct ntm_store *st, unsigned instance);
int ntm_store_instance_beat(struct ntm_store *st, unsigned instance);
int ntm_store_presence_put(struct ntm_store *st, unsigned instance,
			   const uint8_t key[NTM_STORE_KEY_LEN], const uint8_t *blob, size_t len);
int ntm_store_presence_del(struct ntm_store *st, unsigned instance,
			   const uint8_t key[NTM_STORE_KEY_LEN]);
int ntm_store_presence_get(struct ntm_store *st, const uint8_t key[NTM_STORE_KEY_LEN],
			   unsigned exclude, unsigned max_age_s, unsigned *instance, uint8_t *blob,
			   size_t cap, size_t *len);
int ntm_store_notify(struct ntm_store *st, const char *channel, const char *payload);
int ntm_store_socket(struct ntm_store *st);
int ntm_store_notifications(struct ntm_store *st, ntm_store_notify_cb cb, void *ctx);

#endif
