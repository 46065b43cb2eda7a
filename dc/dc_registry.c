/* dc_registry.c - the DC's view of its registry: the enrolled keys held in
 * memory (keyset.c), so on_hs_init answers "is this key enrolled?" with no
 * database query. ntm-dcctl writes the database directly; the set follows
 * it at once when ntm-dcctl sends RELOAD on the control socket after a
 * write, and within one sweep (DC_SWEEP_MS, 1 s) otherwise: the sweep asks
 * SQLite's data_version, which changes only when another connection
 * committed, and the set is rebuilt only then. A node whose key left the
 * set (node del, a restore) loses its session at once. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dc.h"
#include "log.h"

struct collect {
	struct dc_keyent *e;
	size_t n, cap;
};

static int collect_one(const uint8_t pubkey[NTM_STORE_KEY_LEN], uint32_t host_index, void *arg)
{
	struct collect *c = arg;

	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 256;
		struct dc_keyent *e;
		if (cap > DC_KEYSET_MAX)
			cap = DC_KEYSET_MAX + 1;
		if (c->n >= cap)
			return -E2BIG;
		e = realloc(c->e, cap * sizeof(*e));
		if (!e)
			return -ENOMEM;
		c->e = e;
		c->cap = cap;
	}
	memcpy(c->e[c->n].key, pubkey, DC_KEYSET_KEY_LEN);
	c->e[c->n].host_index = host_index;
	c->n++;
	return 0;
}

/* Sessions of nodes no longer enrolled (or enrolled with another key at
 * that host index, which cannot happen while indices are never reused). */
static void forget_unenrolled(struct dc *dc)
{
	size_t pos = 0;
	struct dc_node *n;

	while ((n = ntm_idmap_next(&dc->by_host, &pos, NULL))) {
		if (!n->sess.valid || dc_keyset_get(&dc->keys, n->rec.pubkey) == n->rec.host_index)
			continue;
		log_notice("%s is no longer enrolled; forgetting it", n->rec.name);
		dc_node_forget(dc, n);
	}
}

int dc_registry_sync(struct dc *dc)
{
	struct collect c = { 0 };
	struct dc_keyset ks;
	uint64_t version;
	int ret = ntm_store_data_version(dc->store, &version);

	if (ret == 0 && dc->keys_loaded && version == dc->keys_version)
		return 0;
	/* The version is read first: a commit after it makes the next check
	 * read the keys again, so none is missed. */
	if (ret == 0)
		ret = ntm_store_keys(dc->store, collect_one, &c);
	if (ret == 0)
		ret = dc_keyset_build(&ks, c.e, c.n);
	free(c.e);
	if (ret < 0 && ret == dc->keys_err)
		return ret;             /* said already; the sweep tries every second */
	dc->keys_err = ret;
	if (ret < 0) {
		if (ret == -E2BIG)
			log_err("registry: more than %u enrolled nodes; keeping the %zu known",
				DC_KEYSET_MAX, dc->keys.len);
		else
			log_err("registry: cannot read the enrolled keys (%s); keeping the %zu known",
				ret == -ENOMEM ? strerror(ENOMEM) : ntm_store_errmsg(dc->store),
				dc->keys.len);
		return ret;
	}
	if (dc->keys_loaded && ks.len != dc->keys.len)
		log_info("registry changed: %zu enrolled node(s), were %zu", ks.len, dc->keys.len);
	dc_keyset_free(&dc->keys);
	dc->keys = ks;
	dc->keys_version = version;
	dc->keys_loaded = true;
	dc->stats.registry_reloads++;
	forget_unenrolled(dc);
	return 0;
}

void dc_registry_free(struct dc *dc)
{
	dc_keyset_free(&dc->keys);
	dc->keys_loaded = false;
}
