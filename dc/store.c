/* store.c - the registry's public functions (store.h): argument checks,
 * the address arithmetic and the prefix rules every backend shares, and
 * the dispatch to the backend chosen at open (store_sqlite.c,
 * store_pg.c) through its ops table (store_int.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "store_int.h"
#include "util.h"

/* ---- errors and notices ---- */

void store_err(struct ntm_store *st, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(st->errmsg, sizeof(st->errmsg), fmt, ap);
	va_end(ap);
}

void store_add_notice(struct ntm_store *st, const char *fmt, ...)
{
	size_t used = strlen(st->notice);
	va_list ap;

	if (used && used + 2 < sizeof(st->notice)) {
		memcpy(st->notice + used, "; ", 3);
		used += 2;
	}
	va_start(ap, fmt);
	vsnprintf(st->notice + used, sizeof(st->notice) - used, fmt, ap);
	va_end(ap);
}

void store_set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

const char *ntm_store_errmsg(const struct ntm_store *st)
{
	return st->errmsg;
}

const char *ntm_store_notice(const struct ntm_store *st)
{
	return st->notice;
}

const char *ntm_store_backend_name(const struct ntm_store *st)
{
	return st->ops->name;
}

int store_parse_u32(struct ntm_store *st, const char *key, const char *text, uint32_t *out)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(text, &end, 10);
	if (!errno && end != text && !*end && v <= UINT32_MAX && text[0] >= '0' &&
	    text[0] <= '9') {
		*out = (uint32_t)v;
		return 0;
	}
	store_err(st, "meta %s is missing or not a number", key);
	return -EUCLEAN;
}

/* ---- prefixes ---- */

void store_prefix_format(const struct ntm_conf_addr *a, char *buf, size_t cap)
{
	char ip[INET6_ADDRSTRLEN];

	if (!inet_ntop(a->family, &a->u, ip, sizeof(ip)))
		snprintf(ip, sizeof(ip), "?");
	snprintf(buf, cap, "%s/%u", ip, (unsigned)a->plen);
}

/* Parses "addr/len" as the store writes it; -EINVAL for anything else. */
int store_prefix_parse(const char *s, int family, struct ntm_conf_addr *out)
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
bool store_prefix_usable(const struct ntm_conf_addr *a, int family)
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

static int stored_prefix(struct ntm_store *st, const char *key, int family,
			 struct ntm_conf_addr *out)
{
	char text[NTM_STORE_META_MAX + 1];
	int ret = st->ops->get_meta(st, key, text, sizeof(text));

	if (ret == -ENOENT)
		return 0;
	if (ret < 0)
		return ret;
	if (store_prefix_parse(text, family, out) < 0 || !store_prefix_usable(out, family)) {
		store_err(st, "meta %s holds '%.64s', not a prefix",
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
		store_err(st,
			 "addresses are allocated but no %s prefix is stored", what);
		return -EUCLEAN;
	}
	if (ret == 1 && prefix_eq(&have, want))
		return 0;
	store_prefix_format(want, a, sizeof(a));
	if (locked) {
		store_prefix_format(&have, b, sizeof(b));
		store_err(st,
			 "configured %s prefix %s differs from %s, the prefix the allocated "
			 "addresses come from (changing it would renumber every node)", what, a, b);
		return -EINVAL;
	}
	return st->ops->put_meta(st, key, a);
}

/* Decides both prefixes (store.h's rules) and stores them when no address
 * was allocated yet. Runs inside the open transaction. */
int store_settle_prefixes(struct ntm_store *st, const struct ntm_store_params *p,
			  bool allocated)
{
	int ret;

	if (p && p->v4.family)
		st->v4 = p->v4;
	else if (store_prefix_parse(NTM_STORE_V4_DEFAULT, AF_INET, &st->v4) < 0)
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


/* ---- records and addresses ---- */

static uint32_t v4_base(const struct ntm_store *st)
{
	return ntohl(st->v4.u.v4.s_addr);
}

void store_rec_addrs(const struct ntm_store *st, struct ntm_node_rec *r)
{
	uint32_t a = htonl(v4_base(st) + r->host_index);

	memcpy(r->vip4, &a, 4);
	memcpy(r->vip6, st->v6.u.v6.s6_addr, 16);
	ntm_put_be32(r->vip6 + 12, r->host_index);
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

/* ---- open and close ---- */

int ntm_store_open_backend(struct ntm_store **out, enum ntm_store_backend backend,
			   const char *location, const struct ntm_store_params *p, char *err,
			   size_t errlen)
{
	const char *what = backend == NTM_STORE_POSTGRESQL ? "PostgreSQL registry" : location;

	*out = NULL;
	if (p && p->v4.family && !store_prefix_usable(&p->v4, AF_INET)) {
		store_set_err(err, errlen, "%s: IPv4 prefix must be a.b.c.d/1..30 with no host bits",
			      what);
		return -EINVAL;
	}
	if (p && p->v6.family && !store_prefix_usable(&p->v6, AF_INET6)) {
		store_set_err(err, errlen, "%s: IPv6 prefix must be x:x::/1..64 with no host bits",
			      what);
		return -EINVAL;
	}
	switch (backend) {
	case NTM_STORE_SQLITE:
		return ntm_store_sqlite_open(out, location, p, err, errlen);
	case NTM_STORE_POSTGRESQL:
		return ntm_store_pg_open(out, location, p, err, errlen);
	}
	store_set_err(err, errlen, "unknown registry backend %d", (int)backend);
	return -EINVAL;
}

int ntm_store_open(struct ntm_store **out, const char *path, const struct ntm_store_params *p,
		   char *err, size_t errlen)
{
	return ntm_store_open_backend(out, NTM_STORE_SQLITE, path, p, err, errlen);
}

void ntm_store_close(struct ntm_store *st)
{
	if (st)
		st->ops->close(st);
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

int ntm_store_node_add(struct ntm_store *st, const char *name,
		       const uint8_t pubkey[NTM_STORE_KEY_LEN], struct ntm_node_rec *rec)
{
	struct ntm_name n;
	uint32_t idx = 0;
	int64_t created = (int64_t)time(NULL);
	int ret = ntm_name_set(&n, name);

	if (ret < 0)
		return ret;
	ret = st->ops->node_add(st, &n, pubkey, created, &idx);
	if (ret == 0 && rec) {
		memset(rec, 0, sizeof(*rec));
		memcpy(rec->name, n.s, n.len);
		memcpy(rec->pubkey, pubkey, NTM_STORE_KEY_LEN);
		rec->host_index = idx;
		rec->created = created;
		store_rec_addrs(st, rec);
	}
	return ret;
}

int ntm_store_node_del(struct ntm_store *st, const char *name)
{
	struct ntm_name n;
	int ret = ntm_name_set(&n, name);

	return ret < 0 ? ret : st->ops->node_del(st, &n);
}

int ntm_store_node_by_key(struct ntm_store *st, const uint8_t pubkey[NTM_STORE_KEY_LEN],
			  struct ntm_node_rec *out)
{
	return st->ops->by_key(st, pubkey, out);
}

int ntm_store_node_by_name(struct ntm_store *st, const char *name, struct ntm_node_rec *out)
{
	struct ntm_name n;
	int ret = ntm_name_set(&n, name);

	return ret < 0 ? ret : st->ops->by_name(st, &n, out);
}

int ntm_store_node_by_addr(struct ntm_store *st, int family, const void *addr,
			   struct ntm_node_rec *out)
{
	uint32_t idx;

	if (family != AF_INET && family != AF_INET6)
		return -EAFNOSUPPORT;
	idx = addr_index(st, family, addr);
	if (idx == 0)
		return -ENOENT;
	return st->ops->by_index(st, idx, out);
}

int ntm_store_node_list(struct ntm_store *st, ntm_store_node_cb cb, void *ctx)
{
	return st->ops->list(st, cb, ctx);
}

int ntm_store_keys(struct ntm_store *st, ntm_store_key_cb cb, void *ctx)
{
	return st->ops->keys(st, cb, ctx);
}

int ntm_store_allocations(struct ntm_store *st, ntm_store_alloc_cb cb, void *ctx)
{
	return st->ops->allocations(st, cb, ctx);
}

int ntm_store_data_version(struct ntm_store *st, uint64_t *version)
{
	return st->ops->data_version(st, version);
}

int ntm_store_mark(struct ntm_store *st, uint32_t *mark)
{
	return st->ops->mark(st, mark);
}

/* ---- meta ---- */

static bool meta_key_ok(const char *s)
{
	size_t n = strnlen(s, NTM_STORE_META_MAX + 1);

	return n >= 1 && n <= NTM_STORE_META_MAX;
}

int ntm_store_get_meta(struct ntm_store *st, const char *key, char *buf, size_t cap)
{
	if (!meta_key_ok(key))
		return -EINVAL;
	return st->ops->get_meta(st, key, buf, cap);
}

int ntm_store_set_meta(struct ntm_store *st, const char *key, const char *value)
{
	static const char *const own[] = { NTM_STORE_META_V4, NTM_STORE_META_V6,
					   NTM_STORE_META_MARK, NTM_STORE_META_SCHEMA,
					   NTM_STORE_META_GEN };

	if (!meta_key_ok(key) || !meta_key_ok(value))
		return -EINVAL;
	for (size_t i = 0; i < NTM_ARRAY_SIZE(own); i++)
		if (!strcmp(key, own[i]))
			return -EPERM;
	return st->ops->set_meta(st, key, value);
}

/* ---- copies ---- */

int ntm_store_backup(struct ntm_store *st, const char *dest, char *err, size_t errlen)
{
	if (!st->ops->backup) {
		store_set_err(err, errlen, "the %s backend has no backup (use the database's own "
			      "tools, such as pg_dump)", st->ops->name);
		return -EOPNOTSUPP;
	}
	return st->ops->backup(st, dest, err, errlen);
}

int ntm_store_restore(struct ntm_store *st, const char *src, char *err, size_t errlen)
{
	if (!st->ops->restore) {
		store_set_err(err, errlen, "the %s backend has no restore (use the database's own "
			      "tools, such as pg_restore)", st->ops->name);
		return -EOPNOTSUPP;
	}
	return st->ops->restore(st, src, err, errlen);
}

/* The dump's arrays grow by doubling, capped by the source's prefix. */
struct dump_ctx {
	struct ntm_store_dump *d;
	size_t cap_a, cap_n, limit;
};

static int grow(void **arr, size_t *cap, size_t used, size_t elem, size_t limit)
{
	size_t ncap = *cap ? *cap * 2 : 64;
	void *p;

	if (used < *cap)
		return 0;
	if (used >= limit)
		return -EUCLEAN;
	p = realloc(*arr, ncap * elem);
	if (!p)
		return -ENOMEM;
	*arr = p;
	*cap = ncap;
	return 0;
}

static int dump_alloc(const uint8_t pubkey[NTM_STORE_KEY_LEN], uint32_t host_index,
		      const char *name, void *arg)
{
	struct dump_ctx *c = arg;
	struct ntm_store_dump *d = c->d;
	struct ntm_store_alloc *a;
	int ret = grow((void **)&d->allocs, &c->cap_a, d->n_allocs, sizeof(*a), c->limit);

	if (ret < 0)
		return ret;
	a = &d->allocs[d->n_allocs++];
	memset(a, 0, sizeof(*a));
	memcpy(a->pubkey, pubkey, NTM_STORE_KEY_LEN);
	a->host_index = host_index;
	snprintf(a->name, sizeof(a->name), "%s", name);
	return 0;
}

static int dump_node(const struct ntm_node_rec *rec, void *arg)
{
	struct dump_ctx *c = arg;
	struct ntm_store_dump *d = c->d;
	int ret = grow((void **)&d->nodes, &c->cap_n, d->n_nodes, sizeof(*rec), c->limit);

	if (ret < 0)
		return ret;
	d->nodes[d->n_nodes++] = *rec;
	return 0;
}

int ntm_store_migrate(struct ntm_store *from, struct ntm_store *to, char *err, size_t errlen)
{
	struct ntm_store_dump d = { .v4 = from->v4, .v6 = from->v6 };
	struct dump_ctx c = { .d = &d, .limit = (size_t)from->max_index };
	int ret;

	if (!to->ops->import) {
		store_set_err(err, errlen, "the %s backend cannot be migrated into",
			      to->ops->name);
		return -EOPNOTSUPP;
	}
	ret = ntm_store_mark(from, &d.mark);
	if (ret == 0)
		ret = ntm_store_allocations(from, dump_alloc, &c);
	if (ret == 0)
		ret = ntm_store_node_list(from, dump_node, &c);
	if (ret < 0)
		store_set_err(err, errlen, "reading the %s registry: %s", from->ops->name,
			      from->errmsg[0] ? from->errmsg : strerror(-ret));
	else
		ret = to->ops->import(to, &d, err, errlen);
	free(d.allocs);
	free(d.nodes);
	return ret;
}

/* ---- DC instances (PostgreSQL only) ---- */

static bool channel_ok(const char *s)
{
	size_t n = strnlen(s, 64);

	if (n == 0 || n > 63)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || s[i] == '_' || (i && s[i] >= '0' && s[i] <= '9')))
			return false;
	return true;
}

static bool instance_ok(unsigned instance)
{
	return instance >= 1 && instance <= 255;
}

int ntm_store_instance_claim(struct ntm_store *st, unsigned instance, const char *channel)
{
	if (!st->ops->instance_claim)
		return -EOPNOTSUPP;
	if (!instance_ok(instance) || !channel_ok(channel))
		return -EINVAL;
	return st->ops->instance_claim(st, instance, channel);
}

int ntm_store_instance_release(struct ntm_store *st, unsigned instance)
{
	if (!st->ops->instance_release)
		return -EOPNOTSUPP;
	return instance_ok(instance) ? st->ops->instance_release(st, instance) : -EINVAL;
}

int ntm_store_instance_beat(struct ntm_store *st, unsigned instance)
{
	if (!st->ops->instance_beat)
		return -EOPNOTSUPP;
	return instance_ok(instance) ? st->ops->instance_beat(st, instance) : -EINVAL;
}

int ntm_store_presence_put(struct ntm_store *st, unsigned instance,
			   const uint8_t key[NTM_STORE_KEY_LEN], const uint8_t *blob, size_t len)
{
	if (!st->ops->presence_put)
		return -EOPNOTSUPP;
	if (!instance_ok(instance) || len == 0 || len > NTM_STORE_PRESENCE_MAX)
		return -EINVAL;
	return st->ops->presence_put(st, instance, key, blob, len);
}

int ntm_store_presence_del(struct ntm_store *st, unsigned instance,
			   const uint8_t key[NTM_STORE_KEY_LEN])
{
	if (!st->ops->presence_del)
		return -EOPNOTSUPP;
	return instance_ok(instance) ? st->ops->presence_del(st, instance, key) : -EINVAL;
}

int ntm_store_presence_get(struct ntm_store *st, const uint8_t key[NTM_STORE_KEY_LEN],
			   unsigned exclude, unsigned max_age_s, unsigned *instance, uint8_t *blob,
			   size_t cap, size_t *len)
{
	if (!st->ops->presence_get)
		return -EOPNOTSUPP;
	return st->ops->presence_get(st, key, exclude, max_age_s, instance, blob, cap, len);
}

int ntm_store_notify(struct ntm_store *st, const char *channel, const char *payload)
{
	if (!st->ops->notify)
		return -EOPNOTSUPP;
	if (!channel_ok(channel) || strnlen(payload, NTM_STORE_NOTIFY_MAX + 1) > NTM_STORE_NOTIFY_MAX)
		return -EINVAL;
	return st->ops->notify(st, channel, payload);
}

int ntm_store_socket(struct ntm_store *st)
{
	return st->ops->socket ? st->ops->socket(st) : -EOPNOTSUPP;
}

int ntm_store_notifications(struct ntm_store *st, ntm_store_notify_cb cb, void *ctx)
{
	return st->ops->notifications ? st->ops->notifications(st, cb, ctx) : -EOPNOTSUPP;
}
