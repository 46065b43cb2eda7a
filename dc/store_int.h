/* store_int.h - what store.c (the public functions, validation and the
 * address arithmetic every backend shares) and the backends
 * (store_sqlite.c, store_pg.c) share. Not for callers: they use store.h.
 *
 * store.c validates every argument (names, keys, meta keys and values,
 * prefixes) before a backend sees it, turns addresses into host indices,
 * and fills the addresses of the records the backends return. A backend
 * keeps rows and answers in its own transactions. */
#ifndef NTM_STORE_INT_H
#define NTM_STORE_INT_H

#include <stdbool.h>

#include "store.h"

/* Meta keys only store_pg.c writes (refused by ntm_store_set_meta too). */
#define NTM_STORE_META_SCHEMA "schema_version"
#define NTM_STORE_META_GEN "generation"

struct ntm_store_ops {
	const char *name;
	void (*close)(struct ntm_store *st);
	/* Enrols n with key inside one transaction, allocating when the key
	 * has no index; *idx is the key's index. */
	int (*node_add)(struct ntm_store *st, const struct ntm_name *n, const uint8_t *key,
			int64_t created, uint32_t *idx);
	int (*node_del)(struct ntm_store *st, const struct ntm_name *n);
	int (*by_key)(struct ntm_store *st, const uint8_t *key, struct ntm_node_rec *out);
	int (*by_name)(struct ntm_store *st, const struct ntm_name *n, struct ntm_node_rec *out);
	int (*by_index)(struct ntm_store *st, uint32_t idx, struct ntm_node_rec *out);
	int (*list)(struct ntm_store *st, ntm_store_node_cb cb, void *ctx);
	int (*keys)(struct ntm_store *st, ntm_store_key_cb cb, void *ctx);
	/* Every allocation ever made, deleted nodes' included. */
	int (*allocations)(struct ntm_store *st, ntm_store_alloc_cb cb, void *ctx);
	int (*data_version)(struct ntm_store *st, uint64_t *version);
	int (*mark)(struct ntm_store *st, uint32_t *mark);
	/* Unrestricted meta access: set in a transaction of its own, put
	 * inside the backend's open transaction (store_settle_prefixes). */
	int (*get_meta)(struct ntm_store *st, const char *key, char *buf, size_t cap);
	int (*set_meta)(struct ntm_store *st, const char *key, const char *value);
	int (*put_meta)(struct ntm_store *st, const char *key, const char *value);
	/* Optional (NULL: -EOPNOTSUPP). */
	int (*backup)(struct ntm_store *st, const char *dest, char *err, size_t errlen);
	int (*restore)(struct ntm_store *st, const char *src, char *err, size_t errlen);
	int (*import)(struct ntm_store *st, const struct ntm_store_dump *d, char *err,
		      size_t errlen);
	/* Presence and notifications between DC instances (PostgreSQL
	 * only; NULL: -EOPNOTSUPP). */
	int (*instance_claim)(struct ntm_store *st, unsigned instance, const char *channel);
	int (*instance_release)(struct ntm_store *st, unsigned instance);
	int (*instance_beat)(struct ntm_store *st, unsigned instance);
	int (*presence_put)(struct ntm_store *st, unsigned instance, const uint8_t *key,
			    const uint8_t *blob, size_t len);
	int (*presence_del)(struct ntm_store *st, unsigned instance, const uint8_t *key);
	int (*presence_get)(struct ntm_store *st, const uint8_t *key, unsigned exclude,
			    unsigned max_age_s, unsigned *instance, uint8_t *blob, size_t cap,
			    size_t *len);
	int (*notify)(struct ntm_store *st, const char *channel, const char *payload);
	int (*socket)(struct ntm_store *st);
	int (*notifications)(struct ntm_store *st, ntm_store_notify_cb cb, void *ctx);
};

/* The part of every backend's store that store.c reads: each backend's
 * struct starts with it. */
struct ntm_store {
	const struct ntm_store_ops *ops;
	struct ntm_conf_addr v4, v6;
	uint32_t max_index;             /* last usable host index */
	char errmsg[512];
	char notice[768];
};

int ntm_store_sqlite_open(struct ntm_store **out, const char *path,
			  const struct ntm_store_params *p, char *err, size_t errlen);
int ntm_store_pg_open(struct ntm_store **out, const char *conninfo,
		      const struct ntm_store_params *p, char *err, size_t errlen);

/* ---- shared helpers (store.c) ---- */
void store_err(struct ntm_store *st, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void store_add_notice(struct ntm_store *st, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void store_set_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void store_prefix_format(const struct ntm_conf_addr *a, char *buf, size_t cap);
int store_prefix_parse(const char *s, int family, struct ntm_conf_addr *out);
bool store_prefix_usable(const struct ntm_conf_addr *a, int family);
/* Fills r's addresses from its host index. */
void store_rec_addrs(const struct ntm_store *st, struct ntm_node_rec *r);
/* Decides both prefixes (store.h's rules) through st->ops' meta access and
 * stores them when nothing was allocated; sets st->v4, v6 and max_index.
 * Runs inside the backend's open transaction. */
int store_settle_prefixes(struct ntm_store *st, const struct ntm_store_params *p,
			  bool allocated);
/* Parses a decimal u32 meta value; -EUCLEAN (errmsg set) when it is none. */
int store_parse_u32(struct ntm_store *st, const char *key, const char *text, uint32_t *out);

#endif
