/* ctlproto.c - the local control-socket codec (doc/control.md).
 *
 * libc only, no allocation, no logging, no mutable static data: the NSS
 * module compiles this file as it is.
 *
 * Every body is a sequence of TLV attributes read by one loop (read_attrs)
 * against a per-message table of rules {type, min, max}. The loop checks the
 * framing, the optional bit and the counts, and hands each attribute to a
 * "take" function that checks its value format (length, family, text) and
 * stores it. Cross-field rules (enums, at least one address, received <=
 * sent, ...) live in one predicate per message, applied by the encoder before
 * writing and by the decoder after reading, so whatever ntm sends, ntm
 * accepts. Array bounds: a rule's max equals the array size it fills. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ctlproto.h"
#include "cursor.h"

#define RULES_MAX 16
#define ATTR_HDR_LEN 4
#define PING_RESULT_LEN 16
#define ECHO_FIXED_LEN 7               /* ECHO: seq u16, path u8, rtt_us u32, then an endpoint */
#define NC_RELAY_LEN 27                /* NC_RELAY without its name */
#define NC_FAMILY_LEN 28               /* NC_FAMILY: 6 bytes, port, address, rtt */
#define COUNTER_VALUE_LEN 8            /* COUNTER: u64 value, then the name */

struct attr {
	uint16_t type, len;
	const uint8_t *val;
};

struct rule {
	uint16_t type;
	uint8_t min, max;
};

/* Checks and stores one attribute; nth counts earlier ones of the same type. */
typedef bool take_fn(void *out, const struct attr *a, unsigned nth);

/* ---- names ---- */

const char *ntm_lctl_path_name(unsigned path)
{
	switch (path) {
	case NTM_LCTL_PATH_PENDING: return "pending";
	case NTM_LCTL_PATH_DIRECT: return "direct";
	case NTM_LCTL_PATH_RELAY: return "relay";
	}
	return "unknown";
}

const char *ntm_lctl_status_name(unsigned status)
{
	switch (status) {
	case NTM_LCTL_OK: return "ok";
	case NTM_LCTL_NOTFOUND: return "not found";
	case NTM_LCTL_NODATA: return "no address of that family";
	case NTM_LCTL_TRYAGAIN: return "try again";
	case NTM_LCTL_DENIED: return "permission denied";
	case NTM_LCTL_BADREQ: return "bad request";
	case NTM_LCTL_INTERNAL: return "internal error";
	}
	return "unknown";
}

const char *ntm_lctl_type_name(unsigned type)
{
	switch (type) {
	case NTM_LCTL_STATUS: return "STATUS";
	case NTM_LCTL_RESOLVE_NAME: return "RESOLVE_NAME";
	case NTM_LCTL_RESOLVE_ADDR: return "RESOLVE_ADDR";
	case NTM_LCTL_PEERS: return "PEERS";
	case NTM_LCTL_PING: return "PING";
	case NTM_LCTL_STATS: return "STATS";
	case NTM_LCTL_RELOAD: return "RELOAD";
	case NTM_LCTL_WATCH: return "WATCH";
	case NTM_LCTL_NETCHECK: return "NETCHECK";
	case NTM_LCTL_REREGISTER: return "REREGISTER";
	case NTM_LCTL_DOWN: return "DOWN";
	case NTM_LCTL_STATUS_REPLY: return "STATUS reply";
	case NTM_LCTL_RESOLVE_NAME_REPLY: return "RESOLVE_NAME reply";
	case NTM_LCTL_RESOLVE_ADDR_REPLY: return "RESOLVE_ADDR reply";
	case NTM_LCTL_PEERS_REPLY: return "PEERS reply";
	case NTM_LCTL_PING_REPLY: return "PING reply";
	case NTM_LCTL_STATS_REPLY: return "STATS reply";
	case NTM_LCTL_RELOAD_REPLY: return "RELOAD reply";
	case NTM_LCTL_WATCH_REPLY: return "WATCH reply";
	case NTM_LCTL_NETCHECK_REPLY: return "NETCHECK reply";
	case NTM_LCTL_REREGISTER_REPLY: return "REREGISTER reply";
	case NTM_LCTL_DOWN_REPLY: return "DOWN reply";
	}
	return "unknown";
}

const char *ntm_lctl_nc_mapping_name(unsigned mapping)
{
	switch (mapping) {
	case NTM_LCTL_MAP_NO_ANSWER: return "unknown (no answer)";
	case NTM_LCTL_MAP_NO_NAT: return "none (no NAT)";
	case NTM_LCTL_MAP_EIM: return "endpoint-independent";
	case NTM_LCTL_MAP_EDM: return "endpoint-dependent";
	case NTM_LCTL_MAP_ONE_ADDR: return "unknown (DC has one address)";
	case NTM_LCTL_MAP_ALT_SILENT: return "unknown (the DC's second address did not answer)";
	}
	return "unknown";
}

static bool type_known(unsigned type)
{
	return strcmp(ntm_lctl_type_name(type), "unknown") != 0;
}

static bool type_is_request(unsigned type)
{
	return (type & NTM_LCTL_REPLY) == 0;
}

bool ntm_lctl_type_is_privileged(unsigned type)
{
	return type_is_request(type) && (type & NTM_LCTL_PRIVILEGED) != 0;
}

/* ---- field rules shared by encoders and decoders ---- */

/* Address length for a family, 0 for a family that is neither 4 nor 6. */
static size_t fam_len(uint8_t family)
{
	if (family == 4)
		return 4;
	if (family == 6)
		return 16;
	return 0;
}

/* Names and the DC text: 1..253 printable ASCII bytes without space (IDNs in
 * A-label form), so no NUL, control byte or separator can reach a caller. */
static bool text_ok(const uint8_t *s, size_t n)
{
	if (n < 1 || n > NTM_LCTL_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] < 0x21 || s[i] > 0x7e)
			return false;
	return true;
}

/* free text shown to people: printable ASCII and spaces, < size bytes */
static bool printable_ok(const uint8_t *s, size_t n, size_t size)
{
	if (n < 1 || n >= size)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] < 0x20 || s[i] > 0x7e)
			return false;
	return true;
}

static bool info_ok(const uint8_t *s, size_t n)
{
	return printable_ok(s, n, NTM_LCTL_INFO_SIZE);
}

static bool get_hint(const struct attr *a, char out[NTM_LCTL_HINT_SIZE])
{
	if (!printable_ok(a->val, a->len, NTM_LCTL_HINT_SIZE))
		return false;
	memcpy(out, a->val, a->len);
	out[a->len] = '\0';
	return true;
}

static bool get_info(const struct attr *a, char out[NTM_LCTL_INFO_SIZE])
{
	if (!info_ok(a->val, a->len))
		return false;
	memcpy(out, a->val, a->len);
	out[a->len] = '\0';
	return true;
}

static bool name_ok(const char *s)
{
	size_t n = strnlen(s, NTM_LCTL_NAME_SIZE);
	return n < NTM_LCTL_NAME_SIZE && text_ok((const uint8_t *)s, n);
}

static bool addr_ok(const struct ntm_lctl_addr *a)
{
	return fam_len(a->family) != 0;
}

static bool endpoint_ok(const struct ntm_lctl_endpoint *ep)
{
	if (fam_len(ep->family) == 0)
		return false;
	if (ep->port == 0)
		return false;
	return true;
}

static bool vip_ok(const struct ntm_lctl_vip *v, unsigned max_plen)
{
	return !v->present || v->plen <= max_plen;
}

static bool dc_state_ok(uint8_t s)
{
	return s >= NTM_LCTL_DC_CONNECTING && s <= NTM_LCTL_DC_REFUSED;
}

static bool path_ok(uint8_t p)
{
	return p >= NTM_LCTL_PATH_PENDING && p <= NTM_LCTL_PATH_RELAY;
}

static bool families_ok(uint8_t f)
{
	return f != 0 && (f & ~NTM_LCTL_FAM_BOTH) == 0;
}

/* Counter names: 1..63 bytes of [a-z0-9_], a subset of the text rule. */
static bool counter_text_ok(const uint8_t *s, size_t n)
{
	if (n < 1 || n > NTM_LCTL_COUNTER_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return false;
	return true;
}

static bool counter_name_ok(const char *s)
{
	size_t n = strnlen(s, NTM_LCTL_COUNTER_NAME_MAX + 1);
	return n <= NTM_LCTL_COUNTER_NAME_MAX && counter_text_ok((const uint8_t *)s, n);
}

/* ---- attribute values (decoding) ---- */

static bool get_u8(const struct attr *a, uint8_t *v)
{
	if (a->len != 1)
		return false;
	*v = a->val[0];
	return true;
}

static bool get_u16(const struct attr *a, uint16_t *v)
{
	if (a->len != 2)
		return false;
	*v = ntm_get_be16(a->val);
	return true;
}

static bool get_u32(const struct attr *a, uint32_t *v)
{
	if (a->len != 4)
		return false;
	*v = ntm_get_be32(a->val);
	return true;
}

static bool get_u64(const struct attr *a, uint64_t *v)
{
	if (a->len != 8)
		return false;
	*v = ntm_get_be64(a->val);
	return true;
}

static bool get_text(const struct attr *a, char out[NTM_LCTL_NAME_SIZE])
{
	if (!text_ok(a->val, a->len))
		return false;
	memcpy(out, a->val, a->len);
	out[a->len] = '\0';
	return true;
}

/* family u8 + 4|16 bytes */
static bool get_addr(const struct attr *a, struct ntm_lctl_addr *ad)
{
	if (a->len < 1)
		return false;
	size_t n = fam_len(a->val[0]);
	if (n == 0 || a->len != n + 1)
		return false;
	ad->family = a->val[0];
	memcpy(ad->addr, a->val + 1, n);
	return true;
}

/* family u8 + port u16 + 4|16 bytes (as doc/protocol.md section 4) */
static bool get_endpoint(const struct attr *a, struct ntm_lctl_endpoint *ep)
{
	if (a->len < 3)
		return false;
	size_t n = fam_len(a->val[0]);
	if (n == 0 || a->len != n + 3)
		return false;
	ep->family = a->val[0];
	ep->port = ntm_get_be16(a->val + 1);
	memcpy(ep->addr, a->val + 3, n);
	return endpoint_ok(ep);
}

/* alen address bytes + prefix length u8 */
static bool get_vip(const struct attr *a, struct ntm_lctl_vip *v, size_t alen)
{
	if (a->len != alen + 1)
		return false;
	memcpy(v->addr, a->val, alen);
	v->plen = a->val[alen];
	v->present = true;
	return vip_ok(v, (unsigned)alen * 8);
}

/* ---- the attribute loop ---- */

static const struct rule *find_rule(const struct rule *rules, size_t n, uint16_t type)
{
	for (size_t i = 0; i < n; i++)
		if (rules[i].type == type)
			return &rules[i];
	return NULL;
}

/* Reads len bytes of attributes. An attribute without a rule is skipped if
 * it has the optional bit and rejected otherwise (take may be NULL when there
 * are no rules); one beyond its rule's max
 * is rejected; after the loop each rule's min must be met. */
static int read_attrs(const uint8_t *p, size_t len, const struct rule *rules, size_t n_rules,
		      take_fn *take, void *out)
{
	unsigned seen[RULES_MAX] = { 0 };
	struct ntm_rd r = ntm_rd_init(p, len);

	if (n_rules > RULES_MAX)
		return -EINVAL;
	while (ntm_rd_left(&r) > 0) {
		struct attr a;
		a.type = ntm_rd_u16(&r);
		a.len = ntm_rd_u16(&r);
		a.val = ntm_rd_take(&r, a.len);
		if (!a.val)
			return -EBADMSG;
		const struct rule *ru = find_rule(rules, n_rules, a.type);
		if (!ru) {
			if (a.type & NTM_LCTL_ATTR_OPTIONAL)
				continue;
			return -EBADMSG;
		}
		size_t i = (size_t)(ru - rules);
		if (seen[i] >= ru->max)
			return -EBADMSG;
		if (!take(out, &a, seen[i]))
			return -EBADMSG;
		seen[i]++;
	}
	if (!ntm_rd_done(&r))
		return -EBADMSG;
	for (size_t i = 0; i < n_rules; i++)
		if (seen[i] < rules[i].min)
			return -EBADMSG;
	return 0;
}

/* ---- header ---- */

int ntm_lctl_header_parse(const void *buf, size_t len, struct ntm_lctl_hdr *h)
{
	memset(h, 0, sizeof(*h));
	if (len < NTM_LCTL_HDR_LEN)
		return -EBADMSG;
	struct ntm_rd r = ntm_rd_init(buf, NTM_LCTL_HDR_LEN);
	h->version = ntm_rd_u8(&r);
	h->type = ntm_rd_u8(&r);
	h->status = ntm_rd_u16(&r);
	h->req_id = ntm_rd_u32(&r);
	h->body_len = ntm_rd_u32(&r);
	if (h->version != NTM_LCTL_VERSION)
		return -EPROTONOSUPPORT;
	if (h->body_len > NTM_LCTL_BODY_MAX)
		return -EMSGSIZE;
	if (!type_known(h->type))
		return -EOPNOTSUPP;
	if (type_is_request(h->type) && h->status != 0)
		return -EBADMSG;
	if (h->status > NTM_LCTL_STATUS_MAX)
		return -EBADMSG;
	return 0;
}

/* Parses the header of a whole message and requires exactly body_len more bytes. */
static int open_msg(const void *msg, size_t len, struct ntm_lctl_hdr *h, const uint8_t **body)
{
	int ret = ntm_lctl_header_parse(msg, len, h);
	if (ret < 0)
		return ret;
	if (len - NTM_LCTL_HDR_LEN != h->body_len)
		return -EBADMSG;
	*body = (const uint8_t *)msg + NTM_LCTL_HDR_LEN;
	return 0;
}

/* ---- writing ---- */

static struct ntm_wr begin_msg(void *buf, size_t cap, uint8_t type, uint16_t status,
			       uint32_t req_id)
{
	struct ntm_wr w = ntm_wr_init(buf, cap);
	ntm_wr_u8(&w, NTM_LCTL_VERSION);
	ntm_wr_u8(&w, type);
	ntm_wr_u16(&w, status);
	ntm_wr_u32(&w, req_id);
	ntm_wr_u32(&w, 0);             /* body length, set by end_msg */
	return w;
}

static int end_msg(struct ntm_wr *w)
{
	if (w->err)
		return -EMSGSIZE;
	size_t body = w->off - NTM_LCTL_HDR_LEN;
	if (body > NTM_LCTL_BODY_MAX)
		return -EMSGSIZE;
	ntm_put_be32(w->buf + 8, (uint32_t)body);
	return (int)w->off;
}

static void put_attr_hdr(struct ntm_wr *w, uint16_t type, size_t len)
{
	ntm_wr_u16(w, type);
	ntm_wr_u16(w, (uint16_t)len);
}

static void put_u8(struct ntm_wr *w, uint16_t type, uint8_t v)
{
	put_attr_hdr(w, type, 1);
	ntm_wr_u8(w, v);
}

static void put_u16(struct ntm_wr *w, uint16_t type, uint16_t v)
{
	put_attr_hdr(w, type, 2);
	ntm_wr_u16(w, v);
}

static void put_u32(struct ntm_wr *w, uint16_t type, uint32_t v)
{
	put_attr_hdr(w, type, 4);
	ntm_wr_u32(w, v);
}

static void put_u64(struct ntm_wr *w, uint16_t type, uint64_t v)
{
	put_attr_hdr(w, type, 8);
	ntm_wr_u64(w, v);
}

/* s has passed name_ok, so it is at most 253 bytes. */
static void put_text(struct ntm_wr *w, uint16_t type, const char *s)
{
	size_t n = strlen(s);
	put_attr_hdr(w, type, n);
	ntm_wr_bytes(w, s, n);
}

static void put_addr(struct ntm_wr *w, uint16_t type, const struct ntm_lctl_addr *a)
{
	size_t n = fam_len(a->family);
	put_attr_hdr(w, type, 1 + n);
	ntm_wr_u8(w, a->family);
	ntm_wr_bytes(w, a->addr, n);
}

static void put_endpoint_value(struct ntm_wr *w, const struct ntm_lctl_endpoint *ep)
{
	size_t n = fam_len(ep->family);
	ntm_wr_u8(w, ep->family);
	ntm_wr_u16(w, ep->port);
	ntm_wr_bytes(w, ep->addr, n);
}

static void put_endpoint(struct ntm_wr *w, uint16_t type, const struct ntm_lctl_endpoint *ep)
{
	put_attr_hdr(w, type, 3 + fam_len(ep->family));
	put_endpoint_value(w, ep);
}

static void put_vip(struct ntm_wr *w, uint16_t type, const struct ntm_lctl_vip *v, size_t alen)
{
	if (!v->present)
		return;
	put_attr_hdr(w, type, alen + 1);
	ntm_wr_bytes(w, v->addr, alen);
	ntm_wr_u8(w, v->plen);
}

/* ---- requests ---- */

static bool req_ok(const struct ntm_lctl_req *q)
{
	switch (q->hdr.type) {
	case NTM_LCTL_RESOLVE_NAME:
		if (!name_ok(q->name) || !families_ok(q->families))
			return false;
		return !q->has_wait_ms || q->wait_ms <= NTM_LCTL_WAIT_MS_MAX;
	case NTM_LCTL_RESOLVE_ADDR:
		return addr_ok(&q->addr);
	case NTM_LCTL_PING:
		if (!name_ok(q->name))
			return false;
		return q->count >= 1 && q->count <= NTM_LCTL_PING_COUNT_MAX;
	case NTM_LCTL_DOWN:
		return name_ok(q->name);
	}
	return true;
}

int ntm_lctl_req_status(void *buf, size_t cap, uint32_t req_id)
{
	struct ntm_wr w = begin_msg(buf, cap, NTM_LCTL_STATUS, 0, req_id);
	return end_msg(&w);
}

int ntm_lctl_req_resolve_name(void *buf, size_t cap, uint32_t req_id, const char *name,
			      uint8_t families, uint32_t wait_ms)
{
	if (!name_ok(name) || !families_ok(families))
		return -EINVAL;
	if (wait_ms != NTM_LCTL_WAIT_DEFAULT && wait_ms > NTM_LCTL_WAIT_MS_MAX)
		return -EINVAL;
	struct ntm_wr w = begin_msg(buf, cap, NTM_LCTL_RESOLVE_NAME, 0, req_id);
	put_text(&w, NTM_LCTL_A_NAME, name);
	put_u8(&w, NTM_LCTL_A_FAMILIES, families);
	if (wait_ms != NTM_LCTL_WAIT_DEFAULT)
		put_u32(&w, NTM_LCTL_A_WAIT_MS, wait_ms);
	return end_msg(&w);
}

int ntm_lctl_req_resolve_addr(void *buf, size_t cap, uint32_t req_id, uint8_t family,
			      const void *addr)
{
	struct ntm_lctl_addr a = { .family = family };
	if (!addr_ok(&a))
		return -EINVAL;
	memcpy(a.addr, addr, fam_len(family));
	struct ntm_wr w = begin_msg(buf, cap, NTM_LCTL_RESOLVE_ADDR, 0, req_id);
	put_addr(&w, NTM_LCTL_A_ADDR, &a);
	return end_msg(&w);
}

int ntm_lctl_req_peers(void *buf, size_t cap, uint32_t req_id, uint32_t offset)
{
	struct ntm_wr w = begin_msg(buf, cap, NTM_LCTL_PEERS, 0, req_id);
	if (offset != 0)
		put_u32(&w, NTM_LCTL_A_OFFSET, offset);
	return end_msg(&w);
}

int ntm_lctl_req_ping(void *buf, size_t cap, uint32_t req_id, const char *name, uint16_t count)
{
	if (!name_ok(name) || count < 1 || count > NTM_LCTL_PING_COUNT_MAX)
		return -EINVAL;
	struct ntm_wr w = begin_msg(buf, cap, NTM_LCTL_PING, 0, req_id);
	put_text(&w, NTM_LCTL_A_NAME, name);
	put_u16(&w, NTM_LCTL_A_COUNT, count);
	return end_msg(&w);
}

int ntm_lctl_req_reregister(void *buf, size_t cap, uint32_t req_id)
{
	struct ntm_wr w = begin_msg(buf, cap, NTM_LCTL_REREGISTER, 0, req_id);
	return end_msg(&w);
}

int ntm_lctl_req_down(void *buf, size_t cap, uint32_t req_id, const char *name)
{
	if (!name_ok(name))
		return -EINVAL;
	struct ntm_wr w = begin_msg(buf, cap, NTM_LCTL_DOWN, 0, req_id);
	put_text(&w, NTM_LCTL_A_NAME, name);
	return end_msg(&w);
}

int ntm_lctl_req_stats(void *buf, size_t cap, uint32_t req_id)
{
	struct ntm_wr w = begin_msg(buf, cap, NTM_LCTL_STATS, 0, req_id);
	return end_msg(&w);
}

int ntm_lctl_req_watch(void *buf, size_t cap, uint32_t req_id)
{
	struct ntm_wr w = begin_msg(buf, cap, NTM_LCTL_WATCH, 0, req_id);
	return end_msg(&w);
}

int ntm_lctl_req_netcheck(void *buf, size_t cap, uint32_t req_id)
{
	struct ntm_wr w = begin_msg(buf, cap, NTM_LCTL_NETCHECK, 0, req_id);
	return end_msg(&w);
}

int ntm_lctl_req_reload(void *buf, size_t cap, uint32_t req_id)
{
	struct ntm_wr w = begin_msg(buf, cap, NTM_LCTL_RELOAD, 0, req_id);
	return end_msg(&w);
}

static const struct rule resolve_name_req_rules[] = {
	{ NTM_LCTL_A_NAME, 1, 1 },
	{ NTM_LCTL_A_FAMILIES, 1, 1 },
	{ NTM_LCTL_A_WAIT_MS, 0, 1 },
};
static const struct rule resolve_addr_req_rules[] = {
	{ NTM_LCTL_A_ADDR, 1, 1 },
};
static const struct rule peers_req_rules[] = {
	{ NTM_LCTL_A_OFFSET, 0, 1 },
};
static const struct rule ping_req_rules[] = {
	{ NTM_LCTL_A_NAME, 1, 1 },
	{ NTM_LCTL_A_COUNT, 1, 1 },
};
static const struct rule down_req_rules[] = {
	{ NTM_LCTL_A_NAME, 1, 1 },
};

static bool take_req(void *out, const struct attr *a, unsigned nth)
{
	struct ntm_lctl_req *q = out;
	(void)nth;
	switch (a->type) {
	case NTM_LCTL_A_NAME: return get_text(a, q->name);
	case NTM_LCTL_A_FAMILIES: return get_u8(a, &q->families);
	case NTM_LCTL_A_WAIT_MS: return q->has_wait_ms = get_u32(a, &q->wait_ms);
	case NTM_LCTL_A_ADDR: return get_addr(a, &q->addr);
	case NTM_LCTL_A_OFFSET: return get_u32(a, &q->offset);
	case NTM_LCTL_A_COUNT: return get_u16(a, &q->count);
	}
	return false;
}

int ntm_lctl_req_decode(const void *msg, size_t len, struct ntm_lctl_req *req)
{
	const struct rule *rules = NULL;
	size_t n = 0;
	const uint8_t *body;

	memset(req, 0, sizeof(*req));
	int ret = open_msg(msg, len, &req->hdr, &body);
	if (ret < 0)
		return ret;
	switch (req->hdr.type) {
	case NTM_LCTL_STATUS:
	case NTM_LCTL_STATS:
	case NTM_LCTL_RELOAD:
	case NTM_LCTL_WATCH:
	case NTM_LCTL_NETCHECK:
	case NTM_LCTL_REREGISTER:
		break;
	case NTM_LCTL_RESOLVE_NAME:
		rules = resolve_name_req_rules;
		n = NTM_ARRAY_SIZE(resolve_name_req_rules);
		break;
	case NTM_LCTL_RESOLVE_ADDR:
		rules = resolve_addr_req_rules;
		n = NTM_ARRAY_SIZE(resolve_addr_req_rules);
		break;
	case NTM_LCTL_PEERS:
		rules = peers_req_rules;
		n = NTM_ARRAY_SIZE(peers_req_rules);
		break;
	case NTM_LCTL_PING:
		rules = ping_req_rules;
		n = NTM_ARRAY_SIZE(ping_req_rules);
		break;
	case NTM_LCTL_DOWN:
		rules = down_req_rules;
		n = NTM_ARRAY_SIZE(down_req_rules);
		break;
	default:
		return -EBADMSG;       /* a reply type */
	}
	ret = read_attrs(body, req->hdr.body_len, rules, n, take_req, req);
	if (ret == 0 && !req_ok(req))
		ret = -EBADMSG;
	if (ret < 0) {
		struct ntm_lctl_hdr h = req->hdr;
		memset(req, 0, sizeof(*req));
		req->hdr = h;
	}
	return ret;
}

/* ---- replies: predicates ---- */

static bool resolve_ok(const struct ntm_lctl_resolve *m, uint8_t reply_type)
{
	if (!name_ok(m->name))
		return false;
	if (m->n_addrs > NTM_LCTL_MAX_ADDRS)
		return false;
	/* An OK answer to RESOLVE_NAME without addresses would be NODATA. */
	if (reply_type == NTM_LCTL_RESOLVE_NAME_REPLY && m->n_addrs == 0)
		return false;
	for (unsigned i = 0; i < m->n_addrs; i++)
		if (!addr_ok(&m->addrs[i]))
			return false;
	return true;
}

static bool status_ok(const struct ntm_lctl_status_info *m)
{
	if (!name_ok(m->name) || !name_ok(m->dc))
		return false;
	if (!vip_ok(&m->vip4, 32) || !vip_ok(&m->vip6, 128))
		return false;
	if (m->has_dc_endpoint && !endpoint_ok(&m->dc_endpoint))
		return false;
	if (!dc_state_ok(m->dc_state))
		return false;
	if (m->has_observed && !endpoint_ok(&m->observed))
		return false;
	if (m->n_underlay > NTM_LCTL_MAX_ADDRS)
		return false;
	for (unsigned i = 0; i < m->n_underlay; i++)
		if (!addr_ok(&m->underlay[i]))
			return false;
	if (m->n_zones > NTM_LCTL_MAX_ZONES)
		return false;
	for (unsigned i = 0; i < m->n_zones; i++)
		if (!name_ok(m->zones[i]))
			return false;
	size_t n = strnlen(m->dc_info, NTM_LCTL_INFO_SIZE);
	if (n && (n == NTM_LCTL_INFO_SIZE || !info_ok((const uint8_t *)m->dc_info, n)))
		return false;
	n = strnlen(m->dc_hint, NTM_LCTL_HINT_SIZE);
	if (n && (n == NTM_LCTL_HINT_SIZE || !printable_ok((const uint8_t *)m->dc_hint, n,
							   NTM_LCTL_HINT_SIZE)))
		return false;
	if (m->n_dc_instances > NTM_LCTL_MAX_DC_INSTANCES || m->dc_in_use > m->n_dc_instances)
		return false;
	for (unsigned i = 0; i < m->n_dc_instances; i++)
		if (!name_ok(m->dc_instances[i]))
			return false;
	return true;
}

static bool peer_ok(const struct ntm_lctl_peer *p)
{
	if (!name_ok(p->name))
		return false;
	if (!vip_ok(&p->vip4, 32) || !vip_ok(&p->vip6, 128))
		return false;
	if (p->has_endpoint && !endpoint_ok(&p->endpoint))
		return false;
	size_t n = strnlen(p->path_info, NTM_LCTL_INFO_SIZE);
	if (n && (n == NTM_LCTL_INFO_SIZE || !info_ok((const uint8_t *)p->path_info, n)))
		return false;
	n = strnlen(p->moved_why, NTM_LCTL_INFO_SIZE);
	if (n && (n == NTM_LCTL_INFO_SIZE || !info_ok((const uint8_t *)p->moved_why, n)))
		return false;
	if (p->lanes_ours > NTM_LCTL_LANES_MAX || p->lanes_peer > NTM_LCTL_LANES_MAX)
		return false;
	return path_ok(p->path);
}

static bool peers_ok(const struct ntm_lctl_peers *m)
{
	if (m->n_peers > NTM_LCTL_MAX_PEERS)
		return false;
	if (m->n_peers > m->total)
		return false;
	for (unsigned i = 0; i < m->n_peers; i++)
		if (!peer_ok(&m->peers[i]))
			return false;
	return true;
}

static bool echo_ok(const struct ntm_lctl_echo *e, uint16_t sent)
{
	return e->seq < sent && (e->path == NTM_LCTL_PATH_DIRECT || e->path == NTM_LCTL_PATH_RELAY) &&
	       endpoint_ok(&e->from);
}

static bool ping_ok(const struct ntm_lctl_ping_result *m)
{
	if (m->received > m->sent || m->n_echoes > m->received)
		return false;
	for (unsigned i = 0; i < m->n_echoes; i++)
		if (!echo_ok(&m->echoes[i], m->sent))
			return false;
	if (m->received == 0)
		return m->rtt_min_us == 0 && m->rtt_avg_us == 0 && m->rtt_max_us == 0;
	return m->rtt_min_us <= m->rtt_avg_us && m->rtt_avg_us <= m->rtt_max_us;
}

static bool stats_ok(const struct ntm_lctl_stats *m)
{
	if (m->n > NTM_LCTL_MAX_COUNTERS || m->n_gauges > NTM_LCTL_MAX_GAUGES)
		return false;
	for (unsigned i = 0; i < m->n; i++)
		if (!counter_name_ok(m->c[i].name))
			return false;
	for (unsigned i = 0; i < m->n_gauges; i++)
		if (!counter_name_ok(m->g[i].name))
			return false;
	return true;
}

/* ---- replies: encoders ---- */

int ntm_lctl_reply_empty(void *buf, size_t cap, uint8_t req_type, uint32_t req_id,
			 uint16_t status)
{
	if (!type_is_request(req_type) || status > NTM_LCTL_STATUS_MAX)
		return -EINVAL;
	/* OK replies to the other types carry data: use their encoders. */
	if (status == NTM_LCTL_OK && req_type != NTM_LCTL_REREGISTER && req_type != NTM_LCTL_DOWN &&
	    req_type != NTM_LCTL_RELOAD)
		return -EINVAL;
	struct ntm_wr w = begin_msg(buf, cap, req_type | NTM_LCTL_REPLY, status, req_id);
	return end_msg(&w);
}

int ntm_lctl_reply_refusal(void *buf, size_t cap, uint8_t type, uint32_t req_id,
			   uint16_t status)
{
	if (status != NTM_LCTL_BADREQ && status != NTM_LCTL_DENIED)
		return -EINVAL;
	struct ntm_wr w = begin_msg(buf, cap, type | NTM_LCTL_REPLY, status, req_id);
	return end_msg(&w);
}

int ntm_lctl_reply_resolve(void *buf, size_t cap, uint8_t req_type, uint32_t req_id,
			   const struct ntm_lctl_resolve *m)
{
	if (req_type != NTM_LCTL_RESOLVE_NAME && req_type != NTM_LCTL_RESOLVE_ADDR)
		return -EINVAL;
	uint8_t type = req_type | NTM_LCTL_REPLY;
	if (!resolve_ok(m, type))
		return -EINVAL;
	struct ntm_wr w = begin_msg(buf, cap, type, NTM_LCTL_OK, req_id);
	put_text(&w, NTM_LCTL_A_NAME, m->name);
	put_u32(&w, NTM_LCTL_A_TTL, m->ttl);
	for (unsigned i = 0; i < m->n_addrs; i++)
		put_addr(&w, NTM_LCTL_A_ADDR, &m->addrs[i]);
	return end_msg(&w);
}

int ntm_lctl_reply_status(void *buf, size_t cap, uint32_t req_id,
			  const struct ntm_lctl_status_info *m)
{
	if (!status_ok(m))
		return -EINVAL;
	struct ntm_wr w = begin_msg(buf, cap, NTM_LCTL_STATUS_REPLY, NTM_LCTL_OK, req_id);
	put_text(&w, NTM_LCTL_A_NAME, m->name);
	put_vip(&w, NTM_LCTL_A_VIP4, &m->vip4, 4);
	put_vip(&w, NTM_LCTL_A_VIP6, &m->vip6, 16);
	put_text(&w, NTM_LCTL_A_DC, m->dc);
	if (m->has_dc_endpoint)
		put_endpoint(&w, NTM_LCTL_A_DC_ENDPOINT, &m->dc_endpoint);
	put_u8(&w, NTM_LCTL_A_DC_STATE, m->dc_state);
	if (m->has_observed)
		put_endpoint(&w, NTM_LCTL_A_OBSERVED, &m->observed);
	if (m->has_ack_age)
		put_u32(&w, NTM_LCTL_A_ACK_AGE, m->ack_age);
	for (unsigned i = 0; i < m->n_underlay; i++)
		put_addr(&w, NTM_LCTL_A_UNDERLAY, &m->underlay[i]);
	if (m->has_underlay_age)
		put_u32(&w, NTM_LCTL_A_UNDERLAY_AGE, m->underlay_age);
	for (unsigned i = 0; i < m->n_zones; i++)
		put_text(&w, NTM_LCTL_A_ZONE, m->zones[i]);
	if (m->dc_info[0])
		put_text(&w, NTM_LCTL_A_DC_INFO, m->dc_info);
	if (m->dc_hint[0])
		put_text(&w, NTM_LCTL_A_DC_HINT, m->dc_hint);
	for (unsigned i = 0; i < m->n_dc_instances; i++)
		put_text(&w, NTM_LCTL_A_DC_INSTANCE, m->dc_instances[i]);
	if (m->dc_in_use)
		put_u8(&w, NTM_LCTL_A_DC_IN_USE, m->dc_in_use);
	return end_msg(&w);
}

/* One PEER attribute; its length (at most ~350) is patched in at the end. */
static void put_peer(struct ntm_wr *w, const struct ntm_lctl_peer *p)
{
	size_t start = w->off;
	put_attr_hdr(w, NTM_LCTL_A_PEER, 0);
	put_text(w, NTM_LCTL_A_NAME, p->name);
	put_vip(w, NTM_LCTL_A_VIP4, &p->vip4, 4);
	put_vip(w, NTM_LCTL_A_VIP6, &p->vip6, 16);
	if (p->has_endpoint)
		put_endpoint(w, NTM_LCTL_A_ENDPOINT, &p->endpoint);
	if (p->has_hs_age)
		put_u32(w, NTM_LCTL_A_HS_AGE, p->hs_age);
	put_u64(w, NTM_LCTL_A_RX_BYTES, p->rx_bytes);
	put_u64(w, NTM_LCTL_A_TX_BYTES, p->tx_bytes);
	put_u8(w, NTM_LCTL_A_PATH, p->path);
	if (p->path_info[0])
		put_text(w, NTM_LCTL_A_PATH_INFO, p->path_info);
	if (p->has_moved_age)
		put_u32(w, NTM_LCTL_A_MOVED_AGE, p->moved_age);
	if (p->moved_why[0])
		put_text(w, NTM_LCTL_A_MOVED_WHY, p->moved_why);
	if (p->lanes_ours || p->lanes_peer)
		put_u16(w, NTM_LCTL_A_LANES, (uint16_t)(p->lanes_ours << 8 | p->lanes_peer));
	if (!w->err)
		ntm_put_be16(w->buf + start + 2, (uint16_t)(w->off - start - ATTR_HDR_LEN));
}

int ntm_lctl_reply_peers(void *buf, size_t cap, uint32_t req_id, const struct ntm_lctl_peers *m)
{
	if (!peers_ok(m))
		return -EINVAL;
	struct ntm_wr w = begin_msg(buf, cap, NTM_LCTL_PEERS_REPLY, NTM_LCTL_OK, req_id);
	put_u32(&w, NTM_LCTL_A_TOTAL, m->total);
	for (unsigned i = 0; i < m->n_peers; i++)
		put_peer(&w, &m->peers[i]);
	return end_msg(&w);
}

int ntm_lctl_reply_ping(void *buf, size_t cap, uint32_t req_id,
			const struct ntm_lctl_ping_result *m)
{
	if (!ping_ok(m))
		return -EINVAL;
	struct ntm_wr w = begin_msg(buf, cap, NTM_LCTL_PING_REPLY, NTM_LCTL_OK, req_id);
	put_attr_hdr(&w, NTM_LCTL_A_PING_RESULT, PING_RESULT_LEN);
	ntm_wr_u16(&w, m->sent);
	ntm_wr_u16(&w, m->received);
	ntm_wr_u32(&w, m->rtt_min_us);
	ntm_wr_u32(&w, m->rtt_avg_us);
	ntm_wr_u32(&w, m->rtt_max_us);
	for (unsigned i = 0; i < m->n_echoes; i++) {
		const struct ntm_lctl_echo *e = &m->echoes[i];
		put_attr_hdr(&w, NTM_LCTL_A_ECHO, ECHO_FIXED_LEN + 3 + fam_len(e->from.family));
		ntm_wr_u16(&w, e->seq);
		ntm_wr_u8(&w, e->path);
		ntm_wr_u32(&w, e->rtt_us);
		put_endpoint_value(&w, &e->from);
	}
	return end_msg(&w);
}

static void put_counter(struct ntm_wr *w, uint16_t type, const struct ntm_lctl_counter *c)
{
	size_t n = strlen(c->name);      /* <= 63: counter_name_ok */
	put_attr_hdr(w, type, COUNTER_VALUE_LEN + n);
	ntm_wr_u64(w, c->value);
	ntm_wr_bytes(w, c->name, n);
}

int ntm_lctl_reply_stats(void *buf, size_t cap, uint32_t req_id, const struct ntm_lctl_stats *m)
{
	if (!stats_ok(m))
		return -EINVAL;
	struct ntm_wr w = begin_msg(buf, cap, NTM_LCTL_STATS_REPLY, NTM_LCTL_OK, req_id);
	for (unsigned i = 0; i < m->n; i++)
		put_counter(&w, NTM_LCTL_A_COUNTER, &m->c[i]);
	for (unsigned i = 0; i < m->n_gauges; i++)
		put_counter(&w, NTM_LCTL_A_GAUGE, &m->g[i]);
	return end_msg(&w);
}

static bool event_ok(const struct ntm_lctl_event *m)
{
	bool peer = m->kind >= NTM_LCTL_EV_PEER_UP && m->kind <= NTM_LCTL_EV_REKEY;

	if (m->kind < NTM_LCTL_EV_START || m->kind > NTM_LCTL_EV_MAX)
		return false;
	if (peer != (m->peer[0] != '\0') || (m->peer[0] && !name_ok(m->peer)))
		return false;
	if ((m->kind == NTM_LCTL_EV_START || m->kind == NTM_LCTL_EV_DC) != (m->dc_state != 0) ||
	    (m->dc_state && !dc_state_ok(m->dc_state)))
		return false;
	if ((m->kind == NTM_LCTL_EV_PEER_UP || m->kind == NTM_LCTL_EV_PATH) && !m->path)
		return false;
	if (m->path && !path_ok(m->path))
		return false;
	if ((m->kind == NTM_LCTL_EV_DROPPED) != (m->dropped != 0))
		return false;
	if (m->reason[0] && !info_ok((const uint8_t *)m->reason, strlen(m->reason)))
		return false;
	return !m->has_endpoint || endpoint_ok(&m->endpoint);
}

int ntm_lctl_reply_watch(void *buf, size_t cap, uint32_t req_id, const struct ntm_lctl_event *m)
{
	if (!event_ok(m))
		return -EINVAL;
	struct ntm_wr w = begin_msg(buf, cap, NTM_LCTL_WATCH_REPLY, NTM_LCTL_OK, req_id);
	put_u8(&w, NTM_LCTL_A_EV_KIND, m->kind);
	put_u64(&w, NTM_LCTL_A_EV_TIME, m->time_ms);
	if (m->peer[0])
		put_text(&w, NTM_LCTL_A_EV_PEER, m->peer);
	if (m->path)
		put_u8(&w, NTM_LCTL_A_EV_PATH, m->path);
	if (m->has_endpoint)
		put_endpoint(&w, NTM_LCTL_A_EV_ENDPOINT, &m->endpoint);
	if (m->reason[0])
		put_text(&w, NTM_LCTL_A_EV_REASON, m->reason);
	if (m->dc_state)
		put_u8(&w, NTM_LCTL_A_EV_DC_STATE, m->dc_state);
	if (m->dropped)
		put_u32(&w, NTM_LCTL_A_EV_DROPPED, m->dropped);
	return end_msg(&w);
}

int ntm_lctl_reply_offline(void *buf, size_t cap, uint8_t req_type, uint32_t req_id,
			   uint32_t last_seen_s)
{
	if (req_type != NTM_LCTL_RESOLVE_NAME && req_type != NTM_LCTL_RESOLVE_ADDR &&
	    req_type != NTM_LCTL_PING)
		return -EINVAL;
	struct ntm_wr w = begin_msg(buf, cap, req_type | NTM_LCTL_REPLY, NTM_LCTL_TRYAGAIN, req_id);
	put_u32(&w, NTM_LCTL_A_OFFLINE, last_seen_s);
	return end_msg(&w);
}

int ntm_lctl_reply_forbidden(void *buf, size_t cap, uint8_t req_type, uint32_t req_id,
			     uint8_t by)
{
	if ((req_type != NTM_LCTL_RESOLVE_NAME && req_type != NTM_LCTL_RESOLVE_ADDR &&
	     req_type != NTM_LCTL_PING) ||
	    (by != NTM_LCTL_FORBIDDEN_DC && by != NTM_LCTL_FORBIDDEN_NODE))
		return -EINVAL;
	struct ntm_wr w = begin_msg(buf, cap, req_type | NTM_LCTL_REPLY, NTM_LCTL_NOTFOUND, req_id);
	put_u8(&w, NTM_LCTL_A_FORBIDDEN, by);
	return end_msg(&w);
}

const char *ntm_lctl_forbidden_text(uint8_t by)
{
	return by == NTM_LCTL_FORBIDDEN_NODE ? "forbidden by this node's policy"
					     : "forbidden by the DC's policy";
}

void ntm_lctl_offline_text(char *buf, size_t cap, uint32_t s)
{
	if (s == NTM_LCTL_LAST_SEEN_UNKNOWN)
		snprintf(buf, cap, "offline, not seen since the DC started");
	else if (s < 120)
		snprintf(buf, cap, "offline, last seen %u s ago", (unsigned)s);
	else if (s < 2 * 3600)
		snprintf(buf, cap, "offline, last seen %u min ago", (unsigned)(s / 60));
	else if (s < 2 * 86400)
		snprintf(buf, cap, "offline, last seen %u h ago", (unsigned)(s / 3600));
	else
		snprintf(buf, cap, "offline, last seen %u days ago", (unsigned)(s / 86400));
}

static bool tri_ok(uint8_t v)
{
	return v <= NTM_LCTL_NC_YES;
}

static bool nc_family_ok(const struct ntm_lctl_nc_family *f)
{
	if (fam_len(f->family) == 0 || !tri_ok(f->nat) || !tri_ok(f->port_preserved) ||
	    f->mapping > NTM_LCTL_MAP_MAX)
		return false;
	if (!f->answered)     /* nothing seen: nothing concluded */
		return f->nat == NTM_LCTL_NC_UNKNOWN && f->port_preserved == NTM_LCTL_NC_UNKNOWN &&
		       f->mapping == NTM_LCTL_MAP_NO_ANSWER && f->rtt_us == 0;
	static const uint8_t zero[12];
	if (f->family == 4 && memcmp(f->observed.addr + 4, zero, sizeof(zero)) != 0)
		return false;
	return f->observed.family == f->family && endpoint_ok(&f->observed) &&
	       f->mapping != NTM_LCTL_MAP_NO_ANSWER;
}

static bool nc_relay_name_ok(const char *s)
{
	size_t n = strnlen(s, NTM_LCTL_NC_RELAY_NAME_MAX + 1);

	if (n > NTM_LCTL_NC_RELAY_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '.' || s[i] == '_' || s[i] == '-'))
			return false;
	return true;
}

static bool nc_relay_ok(const struct ntm_lctl_nc_relay *r)
{
	static const uint8_t zero[12];

	if (r->kind > NTM_LCTL_NC_RELAY_STANDALONE || r->answered > r->sent ||
	    (r->answered == 0) != (r->rtt_us == 0) || !endpoint_ok(&r->ep) ||
	    !nc_relay_name_ok(r->name))
		return false;
	return r->ep.family != 4 || memcmp(r->ep.addr + 4, zero, sizeof(zero)) == 0;
}

static bool netcheck_ok(const struct ntm_lctl_netcheck *m)
{
	if (m->n_fam > NTM_LCTL_NC_MAX_FAM)
		return false;
	for (unsigned i = 0; i < m->n_fam; i++) {
		if (!nc_family_ok(&m->fam[i]))
			return false;
		for (unsigned j = 0; j < i; j++)
			if (m->fam[j].family == m->fam[i].family)
				return false;
	}
	if (m->n_relays > NTM_LCTL_NC_MAX_RELAYS)
		return false;
	for (unsigned i = 0; i < m->n_relays; i++)
		if (!nc_relay_ok(&m->relay[i]))
			return false;
	return !m->has_alt || endpoint_ok(&m->alt);
}

int ntm_lctl_reply_netcheck(void *buf, size_t cap, uint32_t req_id,
			    const struct ntm_lctl_netcheck *m)
{
	if (!netcheck_ok(m))
		return -EINVAL;
	struct ntm_wr w = begin_msg(buf, cap, NTM_LCTL_NETCHECK_REPLY, NTM_LCTL_OK, req_id);
	for (unsigned i = 0; i < m->n_fam; i++) {
		const struct ntm_lctl_nc_family *f = &m->fam[i];
		put_attr_hdr(&w, NTM_LCTL_A_NC_FAMILY, NC_FAMILY_LEN);
		ntm_wr_u8(&w, f->family);
		ntm_wr_u8(&w, f->answered ? 1 : 0);
		ntm_wr_u8(&w, f->nat);
		ntm_wr_u8(&w, f->port_preserved);
		ntm_wr_u8(&w, f->mapping);
		ntm_wr_u8(&w, 0);
		ntm_wr_u16(&w, f->answered ? f->observed.port : 0);
		if (f->answered)
			ntm_wr_bytes(&w, f->observed.addr, 16);
		else
			ntm_wr_bytes(&w, (const uint8_t[16]){ 0 }, 16);
		ntm_wr_u32(&w, f->rtt_us);
	}
	if (m->has_alt)
		put_endpoint(&w, NTM_LCTL_A_NC_ALT, &m->alt);
	for (unsigned i = 0; i < m->n_relays; i++) {
		const struct ntm_lctl_nc_relay *r = &m->relay[i];
		size_t nl = strlen(r->name);
		put_attr_hdr(&w, NTM_LCTL_A_NC_RELAY, (uint16_t)(NC_RELAY_LEN + nl));
		ntm_wr_u8(&w, r->kind);
		ntm_wr_u8(&w, r->sent);
		ntm_wr_u8(&w, r->answered);
		ntm_wr_u8(&w, (uint8_t)nl);
		ntm_wr_u32(&w, r->rtt_us);
		ntm_wr_u8(&w, r->ep.family);
		ntm_wr_u16(&w, r->ep.port);
		ntm_wr_bytes(&w, r->ep.addr, 16);
		ntm_wr_bytes(&w, r->name, nl);
	}
	return end_msg(&w);
}

/* ---- replies: decoders ---- */

static const struct rule resolve_rules[] = {
	{ NTM_LCTL_A_NAME, 1, 1 },
	{ NTM_LCTL_A_TTL, 1, 1 },
	{ NTM_LCTL_A_ADDR, 0, NTM_LCTL_MAX_ADDRS },
};

static const struct rule status_rules[] = {
	{ NTM_LCTL_A_NAME, 1, 1 },
	{ NTM_LCTL_A_VIP4, 0, 1 },
	{ NTM_LCTL_A_VIP6, 0, 1 },
	{ NTM_LCTL_A_DC, 1, 1 },
	{ NTM_LCTL_A_DC_ENDPOINT, 0, 1 },
	{ NTM_LCTL_A_DC_STATE, 1, 1 },
	{ NTM_LCTL_A_OBSERVED, 0, 1 },
	{ NTM_LCTL_A_ACK_AGE, 0, 1 },
	{ NTM_LCTL_A_UNDERLAY, 0, NTM_LCTL_MAX_ADDRS },
	{ NTM_LCTL_A_UNDERLAY_AGE, 0, 1 },
	{ NTM_LCTL_A_ZONE, 0, NTM_LCTL_MAX_ZONES },
	{ NTM_LCTL_A_DC_INFO, 0, 1 },
	{ NTM_LCTL_A_DC_HINT, 0, 1 },
	{ NTM_LCTL_A_DC_INSTANCE, 0, NTM_LCTL_MAX_DC_INSTANCES },
	{ NTM_LCTL_A_DC_IN_USE, 0, 1 },
};

static const struct rule peers_rules[] = {
	{ NTM_LCTL_A_TOTAL, 1, 1 },
	{ NTM_LCTL_A_PEER, 0, NTM_LCTL_MAX_PEERS },
};

static const struct rule peer_rules[] = {
	{ NTM_LCTL_A_NAME, 1, 1 },
	{ NTM_LCTL_A_VIP4, 0, 1 },
	{ NTM_LCTL_A_VIP6, 0, 1 },
	{ NTM_LCTL_A_ENDPOINT, 0, 1 },
	{ NTM_LCTL_A_HS_AGE, 0, 1 },
	{ NTM_LCTL_A_RX_BYTES, 1, 1 },
	{ NTM_LCTL_A_TX_BYTES, 1, 1 },
	{ NTM_LCTL_A_PATH, 1, 1 },
	{ NTM_LCTL_A_PATH_INFO, 0, 1 },
	{ NTM_LCTL_A_MOVED_AGE, 0, 1 },
	{ NTM_LCTL_A_MOVED_WHY, 0, 1 },
	{ NTM_LCTL_A_LANES, 0, 1 },
};

static const struct rule ping_rules[] = {
	{ NTM_LCTL_A_PING_RESULT, 1, 1 },
	{ NTM_LCTL_A_ECHO, 0, NTM_LCTL_PING_COUNT_MAX },
};

static const struct rule stats_rules[] = {
	{ NTM_LCTL_A_COUNTER, 0, NTM_LCTL_MAX_COUNTERS },
	{ NTM_LCTL_A_GAUGE, 0, NTM_LCTL_MAX_GAUGES },
};

static const struct rule netcheck_rules[] = {
	{ NTM_LCTL_A_NC_FAMILY, 0, NTM_LCTL_NC_MAX_FAM },
	{ NTM_LCTL_A_NC_ALT, 0, 1 },
	{ NTM_LCTL_A_NC_RELAY, 0, NTM_LCTL_NC_MAX_RELAYS },
};

_Static_assert(NTM_ARRAY_SIZE(status_rules) <= RULES_MAX, "RULES_MAX too small");
_Static_assert(NTM_ARRAY_SIZE(peer_rules) <= RULES_MAX, "RULES_MAX too small");
_Static_assert(NTM_LCTL_MAX_PEERS <= UINT8_MAX, "rule counts are u8");
_Static_assert(NTM_LCTL_MAX_COUNTERS <= UINT8_MAX, "rule counts are u8");

static bool take_resolve(void *out, const struct attr *a, unsigned nth)
{
	struct ntm_lctl_resolve *m = out;
	switch (a->type) {
	case NTM_LCTL_A_NAME: return get_text(a, m->name);
	case NTM_LCTL_A_TTL: return get_u32(a, &m->ttl);
	case NTM_LCTL_A_ADDR:
		m->n_addrs = nth + 1;
		return get_addr(a, &m->addrs[nth]);
	}
	return false;
}

static bool take_status(void *out, const struct attr *a, unsigned nth)
{
	struct ntm_lctl_status_info *m = out;
	switch (a->type) {
	case NTM_LCTL_A_NAME: return get_text(a, m->name);
	case NTM_LCTL_A_VIP4: return get_vip(a, &m->vip4, 4);
	case NTM_LCTL_A_VIP6: return get_vip(a, &m->vip6, 16);
	case NTM_LCTL_A_DC: return get_text(a, m->dc);
	case NTM_LCTL_A_DC_ENDPOINT:
		return m->has_dc_endpoint = get_endpoint(a, &m->dc_endpoint);
	case NTM_LCTL_A_DC_STATE: return get_u8(a, &m->dc_state);
	case NTM_LCTL_A_OBSERVED: return m->has_observed = get_endpoint(a, &m->observed);
	case NTM_LCTL_A_ACK_AGE: return m->has_ack_age = get_u32(a, &m->ack_age);
	case NTM_LCTL_A_UNDERLAY:
		m->n_underlay = nth + 1;
		return get_addr(a, &m->underlay[nth]);
	case NTM_LCTL_A_UNDERLAY_AGE:
		return m->has_underlay_age = get_u32(a, &m->underlay_age);
	case NTM_LCTL_A_ZONE:
		m->n_zones = nth + 1;
		return get_text(a, m->zones[nth]);
	case NTM_LCTL_A_DC_INFO: return get_info(a, m->dc_info);
	case NTM_LCTL_A_DC_HINT: return get_hint(a, m->dc_hint);
	case NTM_LCTL_A_DC_INSTANCE:
		m->n_dc_instances = nth + 1;
		return get_text(a, m->dc_instances[nth]);
	case NTM_LCTL_A_DC_IN_USE: return get_u8(a, &m->dc_in_use) && m->dc_in_use >= 1;
	}
	return false;
}

static bool take_peer(void *out, const struct attr *a, unsigned nth)
{
	struct ntm_lctl_peer *p = out;
	(void)nth;
	switch (a->type) {
	case NTM_LCTL_A_NAME: return get_text(a, p->name);
	case NTM_LCTL_A_VIP4: return get_vip(a, &p->vip4, 4);
	case NTM_LCTL_A_VIP6: return get_vip(a, &p->vip6, 16);
	case NTM_LCTL_A_ENDPOINT: return p->has_endpoint = get_endpoint(a, &p->endpoint);
	case NTM_LCTL_A_HS_AGE: return p->has_hs_age = get_u32(a, &p->hs_age);
	case NTM_LCTL_A_RX_BYTES: return get_u64(a, &p->rx_bytes);
	case NTM_LCTL_A_TX_BYTES: return get_u64(a, &p->tx_bytes);
	case NTM_LCTL_A_PATH: return get_u8(a, &p->path);
	case NTM_LCTL_A_PATH_INFO: return get_info(a, p->path_info);
	case NTM_LCTL_A_MOVED_AGE: return p->has_moved_age = get_u32(a, &p->moved_age);
	case NTM_LCTL_A_MOVED_WHY: return get_info(a, p->moved_why);
	case NTM_LCTL_A_LANES: {
		uint16_t v;
		if (!get_u16(a, &v) || v == 0)
			return false;
		p->lanes_ours = (uint8_t)(v >> 8);
		p->lanes_peer = (uint8_t)v;
		return p->lanes_ours <= NTM_LCTL_LANES_MAX && p->lanes_peer <= NTM_LCTL_LANES_MAX;
	}
	}
	return false;
}

static bool take_peers(void *out, const struct attr *a, unsigned nth)
{
	struct ntm_lctl_peers *m = out;
	switch (a->type) {
	case NTM_LCTL_A_TOTAL: return get_u32(a, &m->total);
	case NTM_LCTL_A_PEER:
		m->n_peers = nth + 1;
		return read_attrs(a->val, a->len, peer_rules, NTM_ARRAY_SIZE(peer_rules),
				  take_peer, &m->peers[nth]) == 0;
	}
	return false;
}

static bool take_ping(void *out, const struct attr *a, unsigned nth)
{
	struct ntm_lctl_ping_result *m = out;
	if (a->type == NTM_LCTL_A_ECHO) {
		struct ntm_lctl_echo *e = &m->echoes[nth];
		struct attr ep;
		if (a->len < ECHO_FIXED_LEN)
			return false;
		e->seq = ntm_get_be16(a->val);
		e->path = a->val[2];
		e->rtt_us = ntm_get_be32(a->val + 3);
		ep = (struct attr){ .type = a->type, .len = (uint16_t)(a->len - ECHO_FIXED_LEN),
				    .val = a->val + ECHO_FIXED_LEN };
		m->n_echoes = nth + 1;
		return get_endpoint(&ep, &e->from);
	}
	if (a->type != NTM_LCTL_A_PING_RESULT || a->len != PING_RESULT_LEN)
		return false;
	m->sent = ntm_get_be16(a->val);
	m->received = ntm_get_be16(a->val + 2);
	m->rtt_min_us = ntm_get_be32(a->val + 4);
	m->rtt_avg_us = ntm_get_be32(a->val + 8);
	m->rtt_max_us = ntm_get_be32(a->val + 12);
	return true;
}

/* family, answered, nat, port preserved, mapping, reserved 0, port,
 * address (16, IPv4 in the first 4, the rest 0), rtt; checked whole by
 * netcheck_ok */
static bool take_netcheck(void *out, const struct attr *a, unsigned nth)
{
	struct ntm_lctl_netcheck *m = out;

	if (a->type == NTM_LCTL_A_NC_ALT)
		return m->has_alt = get_endpoint(a, &m->alt);
	if (a->type == NTM_LCTL_A_NC_RELAY) {
		if (a->len < NC_RELAY_LEN || a->val[3] != a->len - NC_RELAY_LEN ||
		    a->val[3] > NTM_LCTL_NC_RELAY_NAME_MAX)
			return false;
		struct ntm_lctl_nc_relay *r = &m->relay[nth];
		m->n_relays = nth + 1;
		r->kind = a->val[0];
		r->sent = a->val[1];
		r->answered = a->val[2];
		r->rtt_us = ntm_get_be32(a->val + 4);
		r->ep.family = a->val[8];
		r->ep.port = ntm_get_be16(a->val + 9);
		memcpy(r->ep.addr, a->val + 11, 16);
		memcpy(r->name, a->val + NC_RELAY_LEN, a->val[3]);
		r->name[a->val[3]] = '\0';
		return nc_relay_ok(r);
	}
	if (a->type != NTM_LCTL_A_NC_FAMILY || a->len != NC_FAMILY_LEN || a->val[1] > 1 ||
	    a->val[5] != 0)
		return false;
	struct ntm_lctl_nc_family *f = &m->fam[nth];
	m->n_fam = nth + 1;
	f->family = a->val[0];
	f->answered = a->val[1] == 1;
	f->nat = a->val[2];
	f->port_preserved = a->val[3];
	f->mapping = a->val[4];
	uint16_t port = ntm_get_be16(a->val + 6);
	static const uint8_t zero[16];
	if (f->answered) {
		f->observed.family = f->family;
		f->observed.port = port;
		memcpy(f->observed.addr, a->val + 8, 16);
		if (f->family == 4 && memcmp(a->val + 12, zero, 12) != 0)
			return false;
	} else if (port != 0 || memcmp(a->val + 8, zero, 16) != 0) {
		return false;
	}
	f->rtt_us = ntm_get_be32(a->val + 24);
	return true;
}

/* u64 value + 1..63 name bytes of [a-z0-9_] */
static bool take_stats(void *out, const struct attr *a, unsigned nth)
{
	struct ntm_lctl_stats *m = out;
	if ((a->type != NTM_LCTL_A_COUNTER && a->type != NTM_LCTL_A_GAUGE) ||
	    a->len < COUNTER_VALUE_LEN)
		return false;
	const uint8_t *name = a->val + COUNTER_VALUE_LEN;
	size_t n = a->len - COUNTER_VALUE_LEN;
	if (!counter_text_ok(name, n))
		return false;
	struct ntm_lctl_counter *c;
	if (a->type == NTM_LCTL_A_GAUGE) {
		c = &m->g[nth];
		m->n_gauges = nth + 1;
	} else {
		c = &m->c[nth];
		m->n = nth + 1;
	}
	c->value = ntm_get_be64(a->val);
	memcpy(c->name, name, n);
	c->name[n] = '\0';
	return true;
}

/* Opens a reply of type t1 or t2. A non-OK body may hold only optional
 * attributes; an OK body is read with rules/take into out. *ok tells which. */
static int read_reply(const void *msg, size_t len, uint8_t t1, uint8_t t2,
		      struct ntm_lctl_hdr *h, const struct rule *rules, size_t n,
		      take_fn *take, void *out, bool *ok)
{
	const uint8_t *body;
	int ret = open_msg(msg, len, h, &body);
	*ok = false;
	if (ret < 0)
		return ret;
	if (h->type != t1 && h->type != t2)
		return -EBADMSG;
	if (h->status != NTM_LCTL_OK)
		return read_attrs(body, h->body_len, NULL, 0, NULL, NULL);
	*ok = true;
	return read_attrs(body, h->body_len, rules, n, take, out);
}

static const struct rule watch_rules[] = {
	{ NTM_LCTL_A_EV_KIND, 1, 1 },
	{ NTM_LCTL_A_EV_TIME, 1, 1 },
	{ NTM_LCTL_A_EV_PEER, 0, 1 },
	{ NTM_LCTL_A_EV_PATH, 0, 1 },
	{ NTM_LCTL_A_EV_ENDPOINT, 0, 1 },
	{ NTM_LCTL_A_EV_REASON, 0, 1 },
	{ NTM_LCTL_A_EV_DC_STATE, 0, 1 },
	{ NTM_LCTL_A_EV_DROPPED, 0, 1 },
};

static bool take_watch(void *out, const struct attr *a, unsigned nth)
{
	struct ntm_lctl_event *m = out;
	(void)nth;
	switch (a->type) {
	case NTM_LCTL_A_EV_KIND: return get_u8(a, &m->kind);
	case NTM_LCTL_A_EV_TIME: return get_u64(a, &m->time_ms);
	case NTM_LCTL_A_EV_PEER: return get_text(a, m->peer);
	case NTM_LCTL_A_EV_PATH: return get_u8(a, &m->path) && m->path != 0;
	case NTM_LCTL_A_EV_ENDPOINT: return m->has_endpoint = get_endpoint(a, &m->endpoint);
	case NTM_LCTL_A_EV_REASON: return get_info(a, m->reason);
	case NTM_LCTL_A_EV_DC_STATE: return get_u8(a, &m->dc_state) && m->dc_state != 0;
	case NTM_LCTL_A_EV_DROPPED: return get_u32(a, &m->dropped) && m->dropped != 0;
	}
	return false;
}

int ntm_lctl_decode_watch(const void *msg, size_t len, struct ntm_lctl_hdr *hdr,
			  struct ntm_lctl_event *m)
{
	bool ok;
	memset(m, 0, sizeof(*m));
	int ret = read_reply(msg, len, NTM_LCTL_WATCH_REPLY, NTM_LCTL_WATCH_REPLY, hdr,
			     watch_rules, NTM_ARRAY_SIZE(watch_rules), take_watch, m, &ok);
	if (ret == 0 && ok && !event_ok(m))
		ret = -EBADMSG;
	if (ret < 0)
		memset(m, 0, sizeof(*m));
	return ret;
}

static const struct rule offline_rules[] = {
	{ NTM_LCTL_A_OFFLINE, 0, 1 },
};

struct offline {
	bool seen;
	uint32_t s;
};

static bool take_offline(void *out, const struct attr *a, unsigned nth)
{
	struct offline *o = out;
	(void)nth;
	return a->type == NTM_LCTL_A_OFFLINE && (o->seen = get_u32(a, &o->s));
}

int ntm_lctl_decode_offline(const void *msg, size_t len, uint32_t *last_seen_s)
{
	const uint8_t *body;
	struct ntm_lctl_hdr h;
	struct offline o = { 0 };
	int ret = open_msg(msg, len, &h, &body);

	*last_seen_s = 0;
	if (ret < 0)
		return ret;
	if (h.status != NTM_LCTL_TRYAGAIN)
		return 0;
	/* OFFLINE is the only attribute read here; the others (optional) are skipped */
	ret = read_attrs(body, h.body_len, offline_rules, NTM_ARRAY_SIZE(offline_rules),
			 take_offline, &o);
	if (ret < 0)
		return ret;
	*last_seen_s = o.s;
	return o.seen;
}

static const struct rule forbidden_rules[] = {
	{ NTM_LCTL_A_FORBIDDEN, 0, 1 },
};

struct forbidden {
	bool seen;
	uint8_t by;
};

static bool take_forbidden(void *out, const struct attr *a, unsigned nth)
{
	struct forbidden *f = out;
	(void)nth;
	return a->type == NTM_LCTL_A_FORBIDDEN && (f->seen = get_u8(a, &f->by)) &&
	       (f->by == NTM_LCTL_FORBIDDEN_DC || f->by == NTM_LCTL_FORBIDDEN_NODE);
}

int ntm_lctl_decode_forbidden(const void *msg, size_t len, uint8_t *by)
{
	const uint8_t *body;
	struct ntm_lctl_hdr h;
	struct forbidden f = { 0 };
	int ret = open_msg(msg, len, &h, &body);

	*by = 0;
	if (ret < 0)
		return ret;
	if (h.status != NTM_LCTL_NOTFOUND)
		return 0;
	/* FORBIDDEN is the only attribute read here; the others (optional) are skipped */
	ret = read_attrs(body, h.body_len, forbidden_rules, NTM_ARRAY_SIZE(forbidden_rules),
			 take_forbidden, &f);
	if (ret < 0)
		return ret;
	*by = f.by;
	return f.seen;
}

int ntm_lctl_decode_empty(const void *msg, size_t len, uint8_t reply_type,
			  struct ntm_lctl_hdr *hdr)
{
	bool ok;
	return read_reply(msg, len, reply_type, reply_type, hdr, NULL, 0, NULL, NULL, &ok);
}

int ntm_lctl_decode_resolve(const void *msg, size_t len, struct ntm_lctl_hdr *hdr,
			    struct ntm_lctl_resolve *m)
{
	bool ok;
	memset(m, 0, sizeof(*m));
	int ret = read_reply(msg, len, NTM_LCTL_RESOLVE_NAME_REPLY, NTM_LCTL_RESOLVE_ADDR_REPLY,
			     hdr, resolve_rules, NTM_ARRAY_SIZE(resolve_rules), take_resolve,
			     m, &ok);
	if (ret == 0 && ok && !resolve_ok(m, hdr->type))
		ret = -EBADMSG;
	if (ret < 0)
		memset(m, 0, sizeof(*m));
	return ret;
}

int ntm_lctl_decode_status(const void *msg, size_t len, struct ntm_lctl_hdr *hdr,
			   struct ntm_lctl_status_info *m)
{
	bool ok;
	memset(m, 0, sizeof(*m));
	int ret = read_reply(msg, len, NTM_LCTL_STATUS_REPLY, NTM_LCTL_STATUS_REPLY, hdr,
			     status_rules, NTM_ARRAY_SIZE(status_rules), take_status, m, &ok);
	if (ret == 0 && ok && !status_ok(m))
		ret = -EBADMSG;
	if (ret < 0)
		memset(m, 0, sizeof(*m));
	return ret;
}

int ntm_lctl_decode_peers(const void *msg, size_t len, struct ntm_lctl_hdr *hdr,
			  struct ntm_lctl_peers *m)
{
	bool ok;
	memset(m, 0, sizeof(*m));
	int ret = read_reply(msg, len, NTM_LCTL_PEERS_REPLY, NTM_LCTL_PEERS_REPLY, hdr,
			     peers_rules, NTM_ARRAY_SIZE(peers_rules), take_peers, m, &ok);
	if (ret == 0 && ok && !peers_ok(m))
		ret = -EBADMSG;
	if (ret < 0)
		memset(m, 0, sizeof(*m));
	return ret;
}

int ntm_lctl_decode_ping(const void *msg, size_t len, struct ntm_lctl_hdr *hdr,
			 struct ntm_lctl_ping_result *m)
{
	bool ok;
	memset(m, 0, sizeof(*m));
	int ret = read_reply(msg, len, NTM_LCTL_PING_REPLY, NTM_LCTL_PING_REPLY, hdr,
			     ping_rules, NTM_ARRAY_SIZE(ping_rules), take_ping, m, &ok);
	if (ret == 0 && ok && !ping_ok(m))
		ret = -EBADMSG;
	if (ret < 0)
		memset(m, 0, sizeof(*m));
	return ret;
}

int ntm_lctl_decode_stats(const void *msg, size_t len, struct ntm_lctl_hdr *hdr,
			  struct ntm_lctl_stats *m)
{
	bool ok;
	memset(m, 0, sizeof(*m));
	int ret = read_reply(msg, len, NTM_LCTL_STATS_REPLY, NTM_LCTL_STATS_REPLY, hdr,
			     stats_rules, NTM_ARRAY_SIZE(stats_rules), take_stats, m, &ok);
	if (ret == 0 && ok && !stats_ok(m))
		ret = -EBADMSG;
	if (ret < 0)
		memset(m, 0, sizeof(*m));
	return ret;
}

int ntm_lctl_decode_netcheck(const void *msg, size_t len, struct ntm_lctl_hdr *hdr,
			     struct ntm_lctl_netcheck *m)
{
	bool ok;
	memset(m, 0, sizeof(*m));
	int ret = read_reply(msg, len, NTM_LCTL_NETCHECK_REPLY, NTM_LCTL_NETCHECK_REPLY, hdr,
			     netcheck_rules, NTM_ARRAY_SIZE(netcheck_rules), take_netcheck, m, &ok);
	if (ret == 0 && ok && !netcheck_ok(m))
		ret = -EBADMSG;
	if (ret < 0)
		memset(m, 0, sizeof(*m));
	return ret;
}
