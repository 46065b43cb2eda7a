/* wire_ctl.c - control messages (doc/protocol.md section 5) and the common
 * field encodings they are built from (section 4: endpoint, name).
 *
 * Each control type has a reader, a writer and a validity predicate in one
 * table. The decoder reads the body (checking on the way only what it must
 * know to keep reading: a count, a name length, an endpoint family, a kind),
 * requires the message to be consumed whole, then applies the predicate; the
 * encoder applies the same predicate before writing. So the rules live in one
 * place and whatever ntm sends, ntm accepts. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "cursor.h"
#include "wire.h"

#define LABEL_MAX 63

/* ---- endpoint (4) ---- */

/* Address length for a family, 0 for a family that is neither 4 nor 6. */
static size_t ep_addr_len(uint8_t family)
{
	if (family == 4)
		return 4;
	if (family == 6)
		return 16;
	return 0;
}

static bool ep_valid(const struct ntm_endpoint *ep)
{
	if (ep_addr_len(ep->family) == 0)
		return false;
	if (ep->port == 0)
		return false;
	return true;
}

static void rd_endpoint(struct ntm_rd *r, struct ntm_endpoint *ep)
{
	ep->family = ntm_rd_u8(r);
	ep->port = ntm_rd_u16(r);
	size_t alen = ep_addr_len(ep->family);
	if (alen == 0) {
		ntm_rd_fail(r);
		return;
	}
	ntm_rd_copy(r, ep->addr, alen);
	if (!ep_valid(ep))
		ntm_rd_fail(r);
}

static void wr_endpoint(struct ntm_wr *w, const struct ntm_endpoint *ep)
{
	ntm_wr_u8(w, ep->family);
	ntm_wr_u16(w, ep->port);
	ntm_wr_bytes(w, ep->addr, ep_addr_len(ep->family));
}

int ntm_endpoint_from_sockaddr(struct ntm_endpoint *ep, const struct sockaddr *sa)
{
	static const uint8_t v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	memset(ep, 0, sizeof(*ep));
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;
		ep->family = 4;
		ep->port = ntohs(sin->sin_port);
		memcpy(ep->addr, &sin->sin_addr, 4);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;
		const uint8_t *a = sin6->sin6_addr.s6_addr;
		ep->port = ntohs(sin6->sin6_port);
		/* A dual-stack socket reports IPv4 peers as ::ffff:a.b.c.d; on the
		 * wire they are IPv4 endpoints, usable by v4-only peers. */
		if (memcmp(a, v4mapped, sizeof(v4mapped)) == 0) {
			ep->family = 4;
			memcpy(ep->addr, a + 12, 4);
		} else {
			ep->family = 6;
			memcpy(ep->addr, a, 16);
		}
	}
	if (!ep_valid(ep)) {
		memset(ep, 0, sizeof(*ep));
		return -EINVAL;
	}
	return 0;
}

/* ss must have room for a struct sockaddr_storage; *salen is set (output only). */
int ntm_endpoint_to_sockaddr(const struct ntm_endpoint *ep, void *ss, unsigned *salen)
{
	if (!ep_valid(ep))
		return -EINVAL;
	memset(ss, 0, sizeof(struct sockaddr_storage));
	if (ep->family == 4) {
		struct sockaddr_in *sin = ss;
		sin->sin_family = AF_INET;
		sin->sin_port = htons(ep->port);
		memcpy(&sin->sin_addr, ep->addr, 4);
		*salen = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = ss;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(ep->port);
		memcpy(&sin6->sin6_addr, ep->addr, 16);
		*salen = sizeof(*sin6);
	}
	return 0;
}

/* Returns the length written (without the NUL), -EINVAL for an invalid
 * endpoint, -ENOSPC when cap is too small. */
int ntm_endpoint_format(const struct ntm_endpoint *ep, char *buf, size_t cap)
{
	char a[INET6_ADDRSTRLEN];
	int n;

	if (!ep_valid(ep))
		return -EINVAL;
	if (!inet_ntop(ep->family == 4 ? AF_INET : AF_INET6, ep->addr, a, sizeof(a)))
		return -EINVAL;
	if (ep->family == 4)
		n = snprintf(buf, cap, "%s:%u", a, (unsigned)ep->port);
	else
		n = snprintf(buf, cap, "[%s]:%u", a, (unsigned)ep->port);
	if (n < 0)
		return -EINVAL;
	if ((size_t)n >= cap)
		return -ENOSPC;
	return n;
}

/* ---- name (4) ---- */

static bool ldh(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
}

/* Lower-case LDH labels of 1..63 bytes, no hyphen at either end of a label,
 * separated by single dots, 1..253 bytes in all, no trailing dot. */
static bool name_valid(const struct ntm_name *n)
{
	size_t label = 0;

	if (n->len == 0 || n->len > NTM_NAME_MAX)
		return false;
	for (size_t i = 0; i < n->len; i++) {
		uint8_t c = (uint8_t)n->s[i];
		if (c == '.') {
			if (label == 0)
				return false;      /* empty label */
			if (n->s[i - 1] == '-')
				return false;      /* label ends with '-' */
			label = 0;
			continue;
		}
		if (!ldh(c))
			return false;
		if (c == '-' && label == 0)
			return false;              /* label begins with '-' */
		if (++label > LABEL_MAX)
			return false;
	}
	if (label == 0)
		return false;                      /* trailing dot */
	return n->s[n->len - 1] != '-';
}

int ntm_name_set(struct ntm_name *n, const char *text)
{
	/* Room for the longest name plus one trailing dot, and one more byte
	 * so a longer text is seen to be too long. */
	size_t len = strnlen(text, NTM_NAME_MAX + 2);

	memset(n, 0, sizeof(*n));
	if (len > 0 && text[len - 1] == '.')
		len--;
	if (len == 0 || len > NTM_NAME_MAX)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		char c = text[i];
		n->s[i] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
	}
	n->len = (uint8_t)len;
	if (!name_valid(n)) {
		memset(n, 0, sizeof(*n));
		return -EINVAL;
	}
	return 0;
}

static void rd_name(struct ntm_rd *r, struct ntm_name *n)
{
	uint8_t len = ntm_rd_u8(r);

	/* Checked before the copy: s has room for NTM_NAME_MAX bytes only. */
	if (len == 0 || len > NTM_NAME_MAX) {
		ntm_rd_fail(r);
		return;
	}
	n->len = len;
	ntm_rd_copy(r, n->s, len);
	n->s[len] = '\0';
	if (!name_valid(n))
		ntm_rd_fail(r);
}

static void wr_name(struct ntm_wr *w, const struct ntm_name *n)
{
	ntm_wr_u8(w, n->len);
	ntm_wr_bytes(w, n->s, n->len);
}

/* Reads a reserved field and fails the cursor unless it is zero. */
static void rd_reserved8(struct ntm_rd *r)
{
	if (ntm_rd_u8(r) != 0)
		ntm_rd_fail(r);
}

static void rd_reserved16(struct ntm_rd *r)
{
	if (ntm_rd_u16(r) != 0)
		ntm_rd_fail(r);
}

/* Reads a count and fails the cursor when it is above max (before any
 * element is read into a fixed array). */
static uint8_t rd_count(struct ntm_rd *r, uint8_t max)
{
	uint8_t n = ntm_rd_u8(r);

	if (n > max) {
		ntm_rd_fail(r);
		return 0;
	}
	return n;
}

static bool eps_valid(const struct ntm_endpoint *eps, uint8_t n)
{
	if (n > NTM_MAX_ADDRS)
		return false;
	for (uint8_t i = 0; i < n; i++) {
		if (!ep_valid(&eps[i]))
			return false;
	}
	return true;
}

/* A list of live route IDs (5.1, 5.3): count, then count route IDs. */
static uint8_t rd_routes(struct ntm_rd *r, uint64_t *ids)
{
	uint8_t n = rd_count(r, NTM_MAX_LIVE_ROUTES);

	for (uint8_t i = 0; i < n; i++)
		ids[i] = ntm_rd_u64(r);
	return n;
}

static void wr_routes(struct ntm_wr *w, const uint64_t *ids, uint8_t n)
{
	ntm_wr_u8(w, n);
	for (uint8_t i = 0; i < n; i++)
		ntm_wr_u64(w, ids[i]);
}

static bool routes_valid(const uint64_t *ids, uint8_t n)
{
	if (n > NTM_MAX_LIVE_ROUTES)
		return false;
	for (uint8_t i = 0; i < n; i++) {
		if (ids[i] == 0)
			return false;
	}
	return true;
}

/* ---- REGISTER (5.1) ---- */

static void rd_register(struct ntm_rd *r, struct ntm_ctl *c)
{
	struct ntm_ctl_register *m = &c->u.reg;

	m->req_id = ntm_rd_u32(r);
	rd_reserved16(r);
	m->listen_port = ntm_rd_u16(r);
	m->incarnation = ntm_rd_u64(r);
	rd_name(r, &m->name);
	m->naddrs = rd_count(r, NTM_MAX_ADDRS);
	for (uint8_t i = 0; i < m->naddrs; i++)
		rd_endpoint(r, &m->addrs[i]);
	m->nroutes = rd_routes(r, m->routes);
}

static void wr_register(struct ntm_wr *w, const struct ntm_ctl *c)
{
	const struct ntm_ctl_register *m = &c->u.reg;

	ntm_wr_u32(w, m->req_id);
	ntm_wr_u16(w, 0);
	ntm_wr_u16(w, m->listen_port);
	ntm_wr_u64(w, m->incarnation);
	wr_name(w, &m->name);
	ntm_wr_u8(w, m->naddrs);
	for (uint8_t i = 0; i < m->naddrs; i++)
		wr_endpoint(w, &m->addrs[i]);
	wr_routes(w, m->routes, m->nroutes);
}

static bool register_valid(const struct ntm_ctl *c)
{
	const struct ntm_ctl_register *m = &c->u.reg;

	if (m->listen_port == 0)
		return false;
	if (m->incarnation == 0)
		return false;
	if (!name_valid(&m->name))
		return false;
	if (!eps_valid(m->addrs, m->naddrs))
		return false;
	return routes_valid(m->routes, m->nroutes);
}

/* ---- REGISTER_ACK (5.2) ---- */

static void rd_register_ack(struct ntm_rd *r, struct ntm_ctl *c)
{
	struct ntm_ctl_register_ack *m = &c->u.reg_ack;

	m->req_id = ntm_rd_u32(r);
	m->status = ntm_rd_u8(r);
	rd_reserved8(r);
	m->keepalive_s = ntm_rd_u16(r);
	m->lifetime_s = ntm_rd_u16(r);
	ntm_rd_copy(r, m->vip4, sizeof(m->vip4));
	m->plen4 = ntm_rd_u8(r);
	ntm_rd_copy(r, m->vip6, sizeof(m->vip6));
	m->plen6 = ntm_rd_u8(r);
	rd_endpoint(r, &m->observed);
	rd_name(r, &m->fqdn);
	m->nzones = rd_count(r, NTM_MAX_ZONES);
	for (uint8_t i = 0; i < m->nzones; i++)
		rd_name(r, &m->zones[i]);
}

static void wr_register_ack(struct ntm_wr *w, const struct ntm_ctl *c)
{
	const struct ntm_ctl_register_ack *m = &c->u.reg_ack;

	ntm_wr_u32(w, m->req_id);
	ntm_wr_u8(w, m->status);
	ntm_wr_u8(w, 0);
	ntm_wr_u16(w, m->keepalive_s);
	ntm_wr_u16(w, m->lifetime_s);
	ntm_wr_bytes(w, m->vip4, sizeof(m->vip4));
	ntm_wr_u8(w, m->plen4);
	ntm_wr_bytes(w, m->vip6, sizeof(m->vip6));
	ntm_wr_u8(w, m->plen6);
	wr_endpoint(w, &m->observed);
	wr_name(w, &m->fqdn);
	ntm_wr_u8(w, m->nzones);
	for (uint8_t i = 0; i < m->nzones; i++)
		wr_name(w, &m->zones[i]);
}

static bool register_ack_valid(const struct ntm_ctl *c)
{
	const struct ntm_ctl_register_ack *m = &c->u.reg_ack;

	if (m->status > NTM_REG_STATUS_MAX)
		return false;
	if (m->keepalive_s == 0 || m->keepalive_s > 3600)
		return false;
	if (m->lifetime_s == 0)
		return false;
	if (m->plen4 > 32)
		return false;
	if (m->plen6 > 128)
		return false;
	if (!ep_valid(&m->observed))
		return false;
	if (!name_valid(&m->fqdn))
		return false;
	if (m->nzones == 0 || m->nzones > NTM_MAX_ZONES)
		return false;
	for (uint8_t i = 0; i < m->nzones; i++) {
		if (!name_valid(&m->zones[i]))
			return false;
	}
	return true;
}

/* ---- KEEPALIVE (5.3) and KEEPALIVE_ACK (5.4) ---- */

static void rd_keepalive(struct ntm_rd *r, struct ntm_ctl *c)
{
	struct ntm_ctl_keepalive *m = &c->u.ka;

	m->seq = ntm_rd_u32(r);
	m->naddrs = rd_count(r, NTM_MAX_ADDRS);
	for (uint8_t i = 0; i < m->naddrs; i++)
		rd_endpoint(r, &m->addrs[i]);
	m->nroutes = rd_routes(r, m->routes);
}

static void wr_keepalive(struct ntm_wr *w, const struct ntm_ctl *c)
{
	const struct ntm_ctl_keepalive *m = &c->u.ka;

	ntm_wr_u32(w, m->seq);
	ntm_wr_u8(w, m->naddrs);
	for (uint8_t i = 0; i < m->naddrs; i++)
		wr_endpoint(w, &m->addrs[i]);
	wr_routes(w, m->routes, m->nroutes);
}

static bool keepalive_valid(const struct ntm_ctl *c)
{
	if (!eps_valid(c->u.ka.addrs, c->u.ka.naddrs))
		return false;
	return routes_valid(c->u.ka.routes, c->u.ka.nroutes);
}

static void rd_keepalive_ack(struct ntm_rd *r, struct ntm_ctl *c)
{
	c->u.ka_ack.seq = ntm_rd_u32(r);
	rd_endpoint(r, &c->u.ka_ack.observed);
}

static void wr_keepalive_ack(struct ntm_wr *w, const struct ntm_ctl *c)
{
	ntm_wr_u32(w, c->u.ka_ack.seq);
	wr_endpoint(w, &c->u.ka_ack.observed);
}

static bool keepalive_ack_valid(const struct ntm_ctl *c)
{
	return ep_valid(&c->u.ka_ack.observed);
}

/* ---- DIRECTION_REQ (5.5) ---- */

static void rd_direction_req(struct ntm_rd *r, struct ntm_ctl *c)
{
	struct ntm_ctl_direction_req *m = &c->u.dir_req;

	m->req_id = ntm_rd_u32(r);
	m->kind = ntm_rd_u8(r);
	if (m->kind == NTM_DIR_BY_NAME) {
		rd_name(r, &m->name);
	} else if (m->kind == NTM_DIR_BY_ADDR) {
		m->family = ntm_rd_u8(r);
		size_t alen = ep_addr_len(m->family);
		if (alen == 0)
			ntm_rd_fail(r);
		ntm_rd_copy(r, m->addr, alen);
	} else {
		ntm_rd_fail(r);
	}
}

static void wr_direction_req(struct ntm_wr *w, const struct ntm_ctl *c)
{
	const struct ntm_ctl_direction_req *m = &c->u.dir_req;

	ntm_wr_u32(w, m->req_id);
	ntm_wr_u8(w, m->kind);
	if (m->kind == NTM_DIR_BY_NAME) {
		wr_name(w, &m->name);
	} else {
		ntm_wr_u8(w, m->family);
		ntm_wr_bytes(w, m->addr, ep_addr_len(m->family));
	}
}

static bool direction_req_valid(const struct ntm_ctl *c)
{
	const struct ntm_ctl_direction_req *m = &c->u.dir_req;

	if (m->kind == NTM_DIR_BY_NAME)
		return name_valid(&m->name);
	if (m->kind == NTM_DIR_BY_ADDR)
		return ep_addr_len(m->family) != 0;
	return false;
}

/* ---- ROUTE_DIRECTION (5.6) ---- */

static void rd_route_direction(struct ntm_rd *r, struct ntm_ctl *c)
{
	struct ntm_ctl_route_direction *m = &c->u.route;

	m->req_id = ntm_rd_u32(r);
	m->route_id = ntm_rd_u64(r);
	m->role = ntm_rd_u8(r);
	m->suite = ntm_rd_u8(r);
	rd_reserved16(r);
	ntm_rd_copy(r, m->peer_key, sizeof(m->peer_key));
	ntm_rd_copy(r, m->peer_vip4, sizeof(m->peer_vip4));
	ntm_rd_copy(r, m->peer_vip6, sizeof(m->peer_vip6));
	rd_name(r, &m->peer_name);
	m->ncands = rd_count(r, NTM_MAX_CANDS);
	for (uint8_t i = 0; i < m->ncands; i++) {
		m->cands[i].kind = ntm_rd_u8(r);
		m->cands[i].priority = ntm_rd_u8(r);
		rd_endpoint(r, &m->cands[i].ep);
	}
	uint8_t present = ntm_rd_u8(r);
	if (present > 1)
		ntm_rd_fail(r);
	m->has_relay = present == 1;
	if (!m->has_relay)
		return;
	rd_endpoint(r, &m->relay_ep);
	m->relay_alloc_id = ntm_rd_u32(r);
	m->relay_side = ntm_rd_u8(r);
	ntm_rd_copy(r, m->relay_key, sizeof(m->relay_key));
}

static void wr_route_direction(struct ntm_wr *w, const struct ntm_ctl *c)
{
	const struct ntm_ctl_route_direction *m = &c->u.route;

	ntm_wr_u32(w, m->req_id);
	ntm_wr_u64(w, m->route_id);
	ntm_wr_u8(w, m->role);
	ntm_wr_u8(w, m->suite);
	ntm_wr_u16(w, 0);
	ntm_wr_bytes(w, m->peer_key, sizeof(m->peer_key));
	ntm_wr_bytes(w, m->peer_vip4, sizeof(m->peer_vip4));
	ntm_wr_bytes(w, m->peer_vip6, sizeof(m->peer_vip6));
	wr_name(w, &m->peer_name);
	ntm_wr_u8(w, m->ncands);
	for (uint8_t i = 0; i < m->ncands; i++) {
		ntm_wr_u8(w, m->cands[i].kind);
		ntm_wr_u8(w, m->cands[i].priority);
		wr_endpoint(w, &m->cands[i].ep);
	}
	ntm_wr_u8(w, m->has_relay ? 1 : 0);
	if (!m->has_relay)
		return;
	wr_endpoint(w, &m->relay_ep);
	ntm_wr_u32(w, m->relay_alloc_id);
	ntm_wr_u8(w, m->relay_side);
	ntm_wr_bytes(w, m->relay_key, sizeof(m->relay_key));
}

static bool candidates_valid(const struct ntm_candidate *cands, uint8_t n)
{
	if (n > NTM_MAX_CANDS)
		return false;
	for (uint8_t i = 0; i < n; i++) {
		if (cands[i].kind < NTM_CAND_LAN || cands[i].kind > NTM_CAND_RELAY)
			return false;
		if (!ep_valid(&cands[i].ep))
			return false;
	}
	return true;
}

static bool route_direction_valid(const struct ntm_ctl *c)
{
	const struct ntm_ctl_route_direction *m = &c->u.route;

	if (m->route_id == 0)
		return false;
	if (m->role < NTM_ROLE_INITIATOR || m->role > NTM_ROLE_RESPONDER)
		return false;
	if (m->suite < NTM_SUITE_AESGCM || m->suite > NTM_SUITE_CHACHAPOLY)
		return false;
	if (!name_valid(&m->peer_name))
		return false;
	if (!candidates_valid(m->cands, m->ncands))
		return false;
	if (!m->has_relay)
		return true;
	if (!ep_valid(&m->relay_ep))
		return false;
	if (m->relay_alloc_id == 0)
		return false;
	return m->relay_side <= 1;
}

/* ---- ROUTE_DIRECTION_ACK (5.7) and DIRECTION_NAK (5.8) ---- */

static void rd_route_direction_ack(struct ntm_rd *r, struct ntm_ctl *c)
{
	c->u.route_ack.route_id = ntm_rd_u64(r);
	c->u.route_ack.status = ntm_rd_u8(r);
}

static void wr_route_direction_ack(struct ntm_wr *w, const struct ntm_ctl *c)
{
	ntm_wr_u64(w, c->u.route_ack.route_id);
	ntm_wr_u8(w, c->u.route_ack.status);
}

static bool route_direction_ack_valid(const struct ntm_ctl *c)
{
	if (c->u.route_ack.route_id == 0)
		return false;
	return c->u.route_ack.status <= NTM_ROUTE_ACK_STATUS_MAX;
}

/* 5 bytes, or 9 with the last-seen field (status OFFLINE only). */
static void rd_direction_nak(struct ntm_rd *r, struct ntm_ctl *c)
{
	c->u.nak.req_id = ntm_rd_u32(r);
	c->u.nak.status = ntm_rd_u8(r);
	if (ntm_rd_left(r) > 0) {
		c->u.nak.has_last_seen = true;
		c->u.nak.last_seen_s = ntm_rd_u32(r);
	}
}

static void wr_direction_nak(struct ntm_wr *w, const struct ntm_ctl *c)
{
	ntm_wr_u32(w, c->u.nak.req_id);
	ntm_wr_u8(w, c->u.nak.status);
	if (c->u.nak.has_last_seen)
		ntm_wr_u32(w, c->u.nak.last_seen_s);
}

static bool direction_nak_valid(const struct ntm_ctl *c)
{
	if (c->u.nak.has_last_seen && c->u.nak.status != NTM_NAK_OFFLINE)
		return false;
	return c->u.nak.status >= NTM_NAK_STATUS_MIN && c->u.nak.status <= NTM_NAK_STATUS_MAX;
}

/* ---- RELAY_ALLOC (5.9), RELAY_ALLOC_ACK (5.10), RELAY_FREE (5.11) ---- */

static void rd_relay_alloc(struct ntm_rd *r, struct ntm_ctl *c)
{
	struct ntm_ctl_relay_alloc *m = &c->u.alloc;

	m->alloc_id = ntm_rd_u32(r);
	m->lifetime_s = ntm_rd_u16(r);
	ntm_rd_copy(r, m->key_a, sizeof(m->key_a));
	ntm_rd_copy(r, m->key_b, sizeof(m->key_b));
}

static void wr_relay_alloc(struct ntm_wr *w, const struct ntm_ctl *c)
{
	const struct ntm_ctl_relay_alloc *m = &c->u.alloc;

	ntm_wr_u32(w, m->alloc_id);
	ntm_wr_u16(w, m->lifetime_s);
	ntm_wr_bytes(w, m->key_a, sizeof(m->key_a));
	ntm_wr_bytes(w, m->key_b, sizeof(m->key_b));
}

static bool relay_alloc_valid(const struct ntm_ctl *c)
{
	if (c->u.alloc.alloc_id == 0)
		return false;
	return c->u.alloc.lifetime_s != 0;
}

static void rd_relay_alloc_ack(struct ntm_rd *r, struct ntm_ctl *c)
{
	c->u.alloc_ack.alloc_id = ntm_rd_u32(r);
	c->u.alloc_ack.status = ntm_rd_u8(r);
}

static void wr_relay_alloc_ack(struct ntm_wr *w, const struct ntm_ctl *c)
{
	ntm_wr_u32(w, c->u.alloc_ack.alloc_id);
	ntm_wr_u8(w, c->u.alloc_ack.status);
}

static bool relay_alloc_ack_valid(const struct ntm_ctl *c)
{
	if (c->u.alloc_ack.alloc_id == 0)
		return false;
	return c->u.alloc_ack.status <= NTM_ALLOC_STATUS_MAX;
}

static void rd_relay_free(struct ntm_rd *r, struct ntm_ctl *c)
{
	c->u.free.alloc_id = ntm_rd_u32(r);
}

static void wr_relay_free(struct ntm_wr *w, const struct ntm_ctl *c)
{
	ntm_wr_u32(w, c->u.free.alloc_id);
}

static bool relay_free_valid(const struct ntm_ctl *c)
{
	return c->u.free.alloc_id != 0;
}

/* ---- PING and PONG (5.12) ---- */

static void rd_ping(struct ntm_rd *r, struct ntm_ctl *c)
{
	c->u.ping.ident = ntm_rd_u32(r);
	c->u.ping.seq = ntm_rd_u32(r);
	c->u.ping.timestamp_ns = ntm_rd_u64(r);
}

static void wr_ping(struct ntm_wr *w, const struct ntm_ctl *c)
{
	ntm_wr_u32(w, c->u.ping.ident);
	ntm_wr_u32(w, c->u.ping.seq);
	ntm_wr_u64(w, c->u.ping.timestamp_ns);
}

static bool ping_valid(const struct ntm_ctl *c)
{
	(void)c;
	return true;
}

/* ---- NETCHECK_PROBE (5.13) and NETCHECK_ECHO (5.14) ---- */

static void rd_netcheck_probe(struct ntm_rd *r, struct ntm_ctl *c)
{
	uint8_t pad[NTM_NETCHECK_PAD];
	static const uint8_t zero[NTM_NETCHECK_PAD];

	c->u.nc_probe.token = ntm_rd_u64(r);
	ntm_rd_copy(r, pad, sizeof(pad));
	if (memcmp(pad, zero, sizeof(pad)) != 0)
		ntm_rd_fail(r);
}

static void wr_netcheck_probe(struct ntm_wr *w, const struct ntm_ctl *c)
{
	static const uint8_t zero[NTM_NETCHECK_PAD];

	ntm_wr_u64(w, c->u.nc_probe.token);
	ntm_wr_bytes(w, zero, sizeof(zero));
}

static bool netcheck_probe_valid(const struct ntm_ctl *c)
{
	return c->u.nc_probe.token != 0;
}

static void rd_netcheck_echo(struct ntm_rd *r, struct ntm_ctl *c)
{
	struct ntm_ctl_netcheck_echo *m = &c->u.nc_echo;
	uint8_t has = 0;

	m->token = ntm_rd_u64(r);
	rd_endpoint(r, &m->observed);
	has = ntm_rd_u8(r);
	if (has > 1) {
		ntm_rd_fail(r);
		return;
	}
	m->has_alt = has == 1;
	if (m->has_alt)
		rd_endpoint(r, &m->alt);
}

static void wr_netcheck_echo(struct ntm_wr *w, const struct ntm_ctl *c)
{
	const struct ntm_ctl_netcheck_echo *m = &c->u.nc_echo;

	ntm_wr_u64(w, m->token);
	wr_endpoint(w, &m->observed);
	ntm_wr_u8(w, m->has_alt ? 1 : 0);
	if (m->has_alt)
		wr_endpoint(w, &m->alt);
}

static bool netcheck_echo_valid(const struct ntm_ctl *c)
{
	const struct ntm_ctl_netcheck_echo *m = &c->u.nc_echo;

	if (m->token == 0 || !ep_valid(&m->observed))
		return false;
	return !m->has_alt || ep_valid(&m->alt);
}

/* ---- RELAY_PROBE_KEY (5.15), NETCHECK_RELAYS_REQ (5.16), NETCHECK_RELAYS (5.17) ---- */

static void rd_probe_key(struct ntm_rd *r, struct ntm_ctl *c)
{
	struct ntm_ctl_relay_probe_key *m = &c->u.probe_key;

	m->key_id = ntm_rd_u32(r);
	m->lifetime_s = ntm_rd_u16(r);
	ntm_rd_copy(r, m->key, sizeof(m->key));
}

static void wr_probe_key(struct ntm_wr *w, const struct ntm_ctl *c)
{
	const struct ntm_ctl_relay_probe_key *m = &c->u.probe_key;

	ntm_wr_u32(w, m->key_id);
	ntm_wr_u16(w, m->lifetime_s);
	ntm_wr_bytes(w, m->key, sizeof(m->key));
}

static bool probe_key_valid(const struct ntm_ctl *c)
{
	const struct ntm_ctl_relay_probe_key *m = &c->u.probe_key;

	return m->key_id != 0 && m->lifetime_s != 0 && m->lifetime_s <= NTM_PROBE_KEY_LIFETIME_MAX;
}

static void rd_nc_relays_req(struct ntm_rd *r, struct ntm_ctl *c)
{
	uint8_t pad[NTM_NC_RELAYS_PAD];
	static const uint8_t zero[NTM_NC_RELAYS_PAD];

	c->u.nc_relays_req.token = ntm_rd_u64(r);
	ntm_rd_copy(r, pad, sizeof(pad));
	if (memcmp(pad, zero, sizeof(pad)) != 0)
		ntm_rd_fail(r);
}

static void wr_nc_relays_req(struct ntm_wr *w, const struct ntm_ctl *c)
{
	static const uint8_t zero[NTM_NC_RELAYS_PAD];

	ntm_wr_u64(w, c->u.nc_relays_req.token);
	ntm_wr_bytes(w, zero, sizeof(zero));
}

static bool nc_relays_req_valid(const struct ntm_ctl *c)
{
	return c->u.nc_relays_req.token != 0;
}

static bool nc_relay_name_char(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
	       ch == '.' || ch == '_' || ch == '-';
}

static void rd_token(struct ntm_rd *r, struct ntm_relay_token *t)
{
	t->key_id = ntm_rd_u32(r);
	t->not_after_ms = ntm_rd_u32(r);
	ntm_rd_copy(r, t->mac, sizeof(t->mac));
}

static void wr_token(struct ntm_wr *w, const struct ntm_relay_token *t)
{
	ntm_wr_u32(w, t->key_id);
	ntm_wr_u32(w, t->not_after_ms);
	ntm_wr_bytes(w, t->mac, sizeof(t->mac));
}

static void rd_nc_relays(struct ntm_rd *r, struct ntm_ctl *c)
{
	struct ntm_ctl_netcheck_relays *m = &c->u.nc_relays;

	m->token = ntm_rd_u64(r);
	m->count = ntm_rd_u8(r);
	if (m->count > NTM_NC_RELAYS_MAX) {
		ntm_rd_fail(r);
		return;
	}
	for (unsigned i = 0; i < m->count && !r->err; i++) {
		struct ntm_nc_relay *e = &m->relay[i];
		e->kind = ntm_rd_u8(r);
		e->name_len = ntm_rd_u8(r);
		if (e->name_len > NTM_NC_RELAY_NAME_MAX) {
			ntm_rd_fail(r);
			return;
		}
		ntm_rd_copy(r, e->name, e->name_len);
		e->name[e->name_len] = '\0';
		rd_endpoint(r, &e->ep);
		rd_token(r, &e->token);
	}
}

static void wr_nc_relays(struct ntm_wr *w, const struct ntm_ctl *c)
{
	const struct ntm_ctl_netcheck_relays *m = &c->u.nc_relays;

	ntm_wr_u64(w, m->token);
	ntm_wr_u8(w, m->count);
	for (unsigned i = 0; i < m->count; i++) {
		const struct ntm_nc_relay *e = &m->relay[i];
		ntm_wr_u8(w, e->kind);
		ntm_wr_u8(w, e->name_len);
		ntm_wr_bytes(w, e->name, e->name_len);
		wr_endpoint(w, &e->ep);
		wr_token(w, &e->token);
	}
}

static bool nc_relays_valid(const struct ntm_ctl *c)
{
	const struct ntm_ctl_netcheck_relays *m = &c->u.nc_relays;

	if (m->token == 0 || m->count > NTM_NC_RELAYS_MAX)
		return false;
	for (unsigned i = 0; i < m->count; i++) {
		const struct ntm_nc_relay *e = &m->relay[i];
		if (e->kind > NTM_NC_RELAY_STANDALONE || e->name_len > NTM_NC_RELAY_NAME_MAX ||
		    !ep_valid(&e->ep) || e->token.key_id == 0)
			return false;
		for (unsigned k = 0; k < e->name_len; k++)
			if (!nc_relay_name_char(e->name[k]))
				return false;
	}
	return true;
}

/* ---- dispatch ---- */

/* ---- LANES (5.18) ---- */

static void rd_lanes(struct ntm_rd *r, struct ntm_ctl *c)
{
	struct ntm_ctl_lanes *m = &c->u.lanes;

	m->count = ntm_rd_u8(r);
	if (m->count > NTM_LANES_MAX) {
		ntm_rd_fail(r);
		return;
	}
	for (unsigned i = 0; i < m->count; i++)
		m->index[i] = ntm_rd_u32(r);
}

static void wr_lanes(struct ntm_wr *w, const struct ntm_ctl *c)
{
	const struct ntm_ctl_lanes *m = &c->u.lanes;

	ntm_wr_u8(w, m->count);
	for (unsigned i = 0; i < m->count && i < NTM_LANES_MAX; i++)
		ntm_wr_u32(w, m->index[i]);
}

static bool lanes_valid(const struct ntm_ctl *c)
{
	const struct ntm_ctl_lanes *m = &c->u.lanes;

	if (m->count < 1 || m->count > NTM_LANES_MAX)
		return false;
	for (unsigned i = 0; i < m->count; i++) {
		if (m->index[i] == 0)
			return false;
		for (unsigned k = 0; k < i; k++)
			if (m->index[k] == m->index[i])
				return false;
	}
	return true;
}

struct ctl_ops {
	const char *name;
	void (*rd)(struct ntm_rd *r, struct ntm_ctl *c);
	void (*wr)(struct ntm_wr *w, const struct ntm_ctl *c);
	bool (*valid)(const struct ntm_ctl *c);
};

static const struct ctl_ops ctl_ops[NTM_CTL_MAX + 1] = {
	[NTM_CTL_REGISTER] = { "REGISTER", rd_register, wr_register, register_valid },
	[NTM_CTL_REGISTER_ACK] = { "REGISTER_ACK", rd_register_ack, wr_register_ack,
				   register_ack_valid },
	[NTM_CTL_KEEPALIVE] = { "KEEPALIVE", rd_keepalive, wr_keepalive, keepalive_valid },
	[NTM_CTL_KEEPALIVE_ACK] = { "KEEPALIVE_ACK", rd_keepalive_ack, wr_keepalive_ack,
				    keepalive_ack_valid },
	[NTM_CTL_DIRECTION_REQ] = { "DIRECTION_REQ", rd_direction_req, wr_direction_req,
				    direction_req_valid },
	[NTM_CTL_ROUTE_DIRECTION] = { "ROUTE_DIRECTION", rd_route_direction,
				      wr_route_direction, route_direction_valid },
	[NTM_CTL_ROUTE_DIRECTION_ACK] = { "ROUTE_DIRECTION_ACK", rd_route_direction_ack,
					  wr_route_direction_ack, route_direction_ack_valid },
	[NTM_CTL_DIRECTION_NAK] = { "DIRECTION_NAK", rd_direction_nak, wr_direction_nak,
				    direction_nak_valid },
	[NTM_CTL_RELAY_ALLOC] = { "RELAY_ALLOC", rd_relay_alloc, wr_relay_alloc,
				  relay_alloc_valid },
	[NTM_CTL_RELAY_ALLOC_ACK] = { "RELAY_ALLOC_ACK", rd_relay_alloc_ack,
				      wr_relay_alloc_ack, relay_alloc_ack_valid },
	[NTM_CTL_RELAY_FREE] = { "RELAY_FREE", rd_relay_free, wr_relay_free, relay_free_valid },
	[NTM_CTL_PING] = { "PING", rd_ping, wr_ping, ping_valid },
	[NTM_CTL_PONG] = { "PONG", rd_ping, wr_ping, ping_valid },
	[NTM_CTL_NETCHECK_PROBE] = { "NETCHECK_PROBE", rd_netcheck_probe, wr_netcheck_probe,
				     netcheck_probe_valid },
	[NTM_CTL_NETCHECK_ECHO] = { "NETCHECK_ECHO", rd_netcheck_echo, wr_netcheck_echo,
				    netcheck_echo_valid },
	[NTM_CTL_RELAY_PROBE_KEY] = { "RELAY_PROBE_KEY", rd_probe_key, wr_probe_key,
				      probe_key_valid },
	[NTM_CTL_NETCHECK_RELAYS_REQ] = { "NETCHECK_RELAYS_REQ", rd_nc_relays_req,
					  wr_nc_relays_req, nc_relays_req_valid },
	[NTM_CTL_NETCHECK_RELAYS] = { "NETCHECK_RELAYS", rd_nc_relays, wr_nc_relays,
				      nc_relays_valid },
	[NTM_CTL_LANES] = { "LANES", rd_lanes, wr_lanes, lanes_valid },
};

static const struct ctl_ops *ctl_lookup(int type)
{
	if (type < 1 || type > NTM_CTL_MAX)
		return NULL;
	return &ctl_ops[type];
}

const char *ntm_ctl_type_name(int type)
{
	const struct ctl_ops *ops = ctl_lookup(type);

	return ops ? ops->name : "unknown";
}

int ntm_ctl_decode(const uint8_t *buf, size_t len, struct ntm_ctl *m)
{
	struct ntm_rd r = ntm_rd_init(buf, len);
	const struct ctl_ops *ops;

	memset(m, 0, sizeof(*m));
	if (ntm_rd_u8(&r) != 0)
		return -EBADMSG;
	m->type = ntm_rd_u8(&r);
	ops = ctl_lookup(m->type);
	if (!ops)
		goto bad;
	ops->rd(&r, m);
	if (!ntm_rd_done(&r))
		goto bad;
	if (!ops->valid(m))
		goto bad;
	return 0;
bad:
	memset(m, 0, sizeof(*m));
	return -EBADMSG;
}

int ntm_ctl_encode(const struct ntm_ctl *m, uint8_t *buf, size_t cap)
{
	struct ntm_wr w = ntm_wr_init(buf, cap);
	const struct ctl_ops *ops = ctl_lookup(m->type);

	if (!ops)
		return -EINVAL;
	if (!ops->valid(m))
		return -EINVAL;
	ntm_wr_u8(&w, 0);
	ntm_wr_u8(&w, m->type);
	ops->wr(&w, m);
	if (w.err)
		return -EMSGSIZE;
	return (int)w.off;
}
