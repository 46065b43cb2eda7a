/* dnsq.c - validate and classify a client's DNS query (see dnsq.h).
 *
 * A plain query (the common case) is read by parse_fast() from the bytes
 * alone. Anything else goes the ldns way: dnswalk() checks the whole
 * message first (malformed bytes never reach ldns, which leaks on some of
 * them), then ldns_wire2pkt parses it for the EDNS fields; the header and the question are read from the bytes directly, so the question can be echoed
 * exactly as received. Names are matched label by label on the wire form
 * (ASCII case-insensitive), never through a presentation string, so escaped
 * dots or odd bytes in a label cannot fake a zone boundary. Responses are
 * built in dnsq_build.c. */
/* stdbool.h before ldns: without it ldns/common.h defines _Bool as
 * signed char, and struct dnsq would differ between files. */
#include <stdbool.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <ldns/ldns.h>

#include "dnsq.h"
#include "dnsconst.h"
#include "dnswalk.h"


#define MAX_LABELS 128

/* Label offsets of a name in wire form (no compression). */
struct labels {
	unsigned n;
	uint8_t off[MAX_LABELS];
};

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint8_t lower(uint8_t c)
{
	return c >= 'A' && c <= 'Z' ? (uint8_t)(c + 32) : c;
}

/* Read an uncompressed name at wire[off]; returns its length or 0. */
static size_t read_qname(const uint8_t *wire, size_t len, size_t off, struct labels *l)
{
	size_t pos = off;

	l->n = 0;
	for (;;) {
		if (len - pos < 1)
			return 0;
		uint8_t ll = wire[pos];
		if (ll == 0)
			break;
		if (ll > 63 || l->n >= MAX_LABELS)
			return 0;       /* pointer, reserved label type, or absurd */
		if (len - pos - 1 < ll || pos - off + 1 + ll + 1 > NTM_DNS_MAX_QNAME)
			return 0;
		l->off[l->n++] = (uint8_t)(pos - off);
		pos += 1 + (size_t)ll;
	}
	return pos - off + 1;
}

/* Presentation form, lower case, \DDD for anything but LDH and '_';
 * "." for the root, "" when it does not fit. */
static void present(const uint8_t *qname, const struct labels *l, char *out, size_t cap)
{
	size_t o = 0;

	if (l->n == 0) {
		snprintf(out, cap, ".");
		return;
	}
	for (unsigned i = 0; i < l->n; i++) {
		const uint8_t *lab = qname + l->off[i];
		if (i > 0 && o < cap)
			out[o++] = '.';
		for (unsigned j = 1; j <= lab[0]; j++) {
			uint8_t c = lower(lab[j]);
			bool plain = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
				     c == '-' || c == '_';
			if (plain && cap - o > 1) {
				out[o++] = (char)c;
			} else if (!plain && cap - o > 4) {
				snprintf(out + o, 5, "\\%03u", c);
				o += 4;
			} else {
				out[0] = '\0';
				return;
			}
		}
	}
	if (o >= cap) {
		out[0] = '\0';
		return;
	}
	out[o] = '\0';
}

/* Label i (from the left) equals the text s[0..n). */
static bool label_is(const uint8_t *qname, const struct labels *l, unsigned i,
		     const char *s, size_t n)
{
	const uint8_t *lab = qname + l->off[i];

	if (lab[0] != n)
		return false;
	for (size_t j = 0; j < n; j++)
		if (lower(lab[1 + j]) != lower((uint8_t)s[j]))
			return false;
	return true;
}

/* Is the name under (or at) the dotted zone text? Returns the index of the
 * zone's first label in l, or -1. Zone text is plain labels, no escapes. */
static int under(const uint8_t *qname, const struct labels *l, const char *zone)
{
	const char *ends[MAX_LABELS];
	unsigned nz = 0;

	if (zone[0] == '\0')
		return -1;
	for (const char *p = zone; ; p++) {
		if (*p == '.' || *p == '\0') {
			if (nz >= MAX_LABELS)
				return -1;
			ends[nz++] = p;
		}
		if (*p == '\0')
			break;
	}
	if (nz > l->n)
		return -1;
	const char *start = zone;
	unsigned first = l->n - nz;
	for (unsigned i = 0; i < nz; i++) {
		if (!label_is(qname, l, first + i, start, (size_t)(ends[i] - start)))
			return -1;
		start = ends[i] + 1;
	}
	return (int)first;
}

/* Numeric value of a reverse-name label: decimal octet (base 10, no
 * leading zero) or one hex nibble (base 16); -1 if it is not one. */
static int label_num(const uint8_t *qname, const struct labels *l, unsigned i, int base)
{
	const uint8_t *lab = qname + l->off[i];
	int v = 0;

	if (base == 16) {
		if (lab[0] != 1)
			return -1;
		uint8_t c = lower(lab[1]);
		if (c >= '0' && c <= '9')
			return c - '0';
		return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
	}
	if (lab[0] < 1 || lab[0] > 3 || (lab[0] > 1 && lab[1] == '0'))
		return -1;
	for (unsigned j = 1; j <= lab[0]; j++) {
		if (lab[j] < '0' || lab[j] > '9')
			return -1;
		v = v * 10 + (lab[j] - '0');
	}
	return v <= 255 ? v : -1;
}

static bool bits_equal(const uint8_t *a, const uint8_t *b, unsigned nbits)
{
	unsigned whole = nbits / 8, rest = nbits % 8;

	if (memcmp(a, b, whole) != 0)
		return false;
	if (rest == 0)
		return true;
	uint8_t mask = (uint8_t)(0xff << (8 - rest));
	return (a[whole] & mask) == (b[whole] & mask);
}

enum rev { REV_NONE, REV_FULL, REV_PARTIAL, REV_BAD };

/* A name under in-addr.arpa (v6 = false) or ip6.arpa: does it fall in an
 * overlay prefix? Each prefix owns the zones one per covered octet (or
 * nibble), so a name belongs to it once it names at least those digits and
 * they match. REV_FULL fills q->af/addr, REV_PARTIAL is a name above a full
 * address (an empty non-terminal), REV_BAD has junk below the zone. */
static enum rev reverse(struct dnsq *q, const struct labels *l, int suffix,
			const struct dnsq_overlay *ov, bool v6)
{
	unsigned digits_max = v6 ? 32 : 4, bits = v6 ? 4 : 8;
	unsigned np = v6 ? ov->nprefix6 : ov->nprefix4;
	uint8_t addr[16] = { 0 };
	unsigned m = 0;         /* valid digits read from the right */

	while (m < (unsigned)suffix && m < digits_max) {
		int v = label_num(q->qname, l, (unsigned)suffix - 1 - m, v6 ? 16 : 10);
		if (v < 0)
			break;
		if (v6)
			addr[m / 2] |= (uint8_t)(m % 2 ? v : v << 4);
		else
			addr[m] = (uint8_t)v;
		m++;
	}
	for (unsigned i = 0; i < np && i < NTM_DNS_MAX_PREFIXES; i++) {
		const uint8_t *pa = v6 ? ov->prefix6[i].addr : ov->prefix4[i].addr;
		unsigned plen = v6 ? ov->prefix6[i].plen : ov->prefix4[i].plen;
		if (plen == 0 || plen > digits_max * bits)
			continue;
		unsigned z = (plen + bits - 1) / bits;
		if (m < z || !bits_equal(addr, pa, plen))
			continue;
		q->apex_off = l->off[(unsigned)suffix - z];
		if (m == (unsigned)suffix && m == digits_max) {
			q->af = v6 ? AF_INET6 : AF_INET;
			memcpy(q->addr, addr, v6 ? 16 : 4);
			return REV_FULL;
		}
		return m == (unsigned)suffix ? REV_PARTIAL : REV_BAD;
	}
	if (m == (unsigned)suffix && m == digits_max && q->qtype == DNS_T_PTR) {
		q->af = v6 ? AF_INET6 : AF_INET;
		memcpy(q->addr, addr, v6 ? 16 : 4);
		q->ptr_other = true;
	}
	return REV_NONE;
}

/* RFC 6303 (and RFC 7793) locally served zones. */
static const char *const private_zones[] = {
	"10.in-addr.arpa", "16.172.in-addr.arpa", "17.172.in-addr.arpa",
	"18.172.in-addr.arpa", "19.172.in-addr.arpa", "20.172.in-addr.arpa",
	"21.172.in-addr.arpa", "22.172.in-addr.arpa", "23.172.in-addr.arpa",
	"24.172.in-addr.arpa", "25.172.in-addr.arpa", "26.172.in-addr.arpa",
	"27.172.in-addr.arpa", "28.172.in-addr.arpa", "29.172.in-addr.arpa",
	"30.172.in-addr.arpa", "31.172.in-addr.arpa", "168.192.in-addr.arpa",
	"0.in-addr.arpa", "127.in-addr.arpa", "254.169.in-addr.arpa",
	"2.0.192.in-addr.arpa", "100.51.198.in-addr.arpa", "113.0.203.in-addr.arpa",
	"255.255.255.255.in-addr.arpa",
	"0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa",
	"1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa",
	"d.f.ip6.arpa", "8.e.f.ip6.arpa", "9.e.f.ip6.arpa", "a.e.f.ip6.arpa",
	"b.e.f.ip6.arpa", "8.b.d.0.1.0.0.2.ip6.arpa",
};

static bool is_private_reverse(const uint8_t *qname, const struct labels *l)
{
	char z[32];

	for (size_t i = 0; i < sizeof(private_zones) / sizeof(private_zones[0]); i++)
		if (under(qname, l, private_zones[i]) >= 0)
			return true;
	for (unsigned o = 64; o < 128; o++) {   /* 100.64.0.0/10, RFC 7793 */
		snprintf(z, sizeof(z), "%u.100.in-addr.arpa", o);
		if (under(qname, l, z) >= 0)
			return true;
	}
	return false;
}

static enum dnsq_kind respond(int n, size_t *resp_len)
{
	if (n < 0) {
		*resp_len = 0;
		return DNSQ_DROP;
	}
	*resp_len = (size_t)n;
	return DNSQ_RESPOND;
}

static enum dnsq_kind error(struct dnsq *q, int rcode, uint8_t *resp, size_t cap,
			    size_t *resp_len)
{
	return respond(dnsq_error_response(q, rcode, resp, cap), resp_len);
}

/* A locally synthesized overlay answer: status 1 = NXDOMAIN + SOA, 0 =
 * NODATA + SOA (or the apex SOA/NS). */
static enum dnsq_kind local(struct dnsq *q, const struct dnsq_overlay *ov, int status,
			    uint8_t *resp, size_t cap, size_t *resp_len)
{
	struct dnsq_overlay_answer a;

	memset(&a, 0, sizeof(a));
	a.status = status;
	return respond(dnsq_overlay_response(q, ov, &a, resp, cap), resp_len);
}

/* Header checks, the question, and EDNS. Returns -1 to drop, an RCODE to
 * answer with, or 0 when the query is valid. */
static int validate(const uint8_t *wire, size_t len, struct dnsq *q, struct labels *l)
{
	ldns_pkt *pkt = NULL;
	struct dnswalk w;
	size_t qn;
	int rc = DNS_RC_FORMERR;

	if (len < 12 || (wire[2] & 0x80))
		return -1;
	q->id = rd16(wire);
	q->rd = (wire[2] & 0x01) != 0;
	q->cd = (wire[3] & 0x10) != 0;
	q->opcode = (wire[2] >> 3) & 0x0f;
	if (q->opcode != 0)
		return DNS_RC_NOTIMP;
	if (rd16(wire + 4) != 1)
		return DNS_RC_FORMERR;
	if (dnswalk(wire, len, &w) != DNSWALK_OK)
		return DNS_RC_FORMERR;
	if (ldns_wire2pkt(&pkt, wire, len) != LDNS_STATUS_OK)
		return DNS_RC_FORMERR;
	qn = read_qname(wire, len, 12, l);
	if (qn == 0 || len - 12 - qn < 4)
		goto out;
	memcpy(q->qname, wire + 12, qn);
	q->qname_len = qn;
	memcpy(q->question, wire + 12, qn + 4);
	q->question_len = qn + 4;
	q->qtype = rd16(wire + 12 + qn);
	q->qclass = rd16(wire + 12 + qn + 2);
	if (w.opt != 0) {
		q->edns = true;
		q->do_bit = ldns_pkt_edns_do(pkt);
		uint16_t sz = ldns_pkt_edns_udp_size(pkt);
		if (!q->tcp)
			q->limit = sz > 512 ? sz : 512;
		if (ldns_pkt_edns_version(pkt) != 0) {
			rc = DNS_RC_BADVERS;
			goto out;
		}
	}
	rc = 0;
out:
	ldns_pkt_free(pkt);
	return rc;
}

/* The fast path's parser: a plain query read straight from the bytes, no
 * ldns and no allocation. It takes only what the ldns path would accept
 * with no error: a query (QR = 0, opcode 0) with QDCOUNT 1 and no answer or
 * authority records, the question's name uncompressed, and nothing after
 * the question but at most one OPT (root owner, EDNS version 0) that ends
 * the message exactly. Anything else (a pointer in the question, another
 * record, trailing bytes, version 1, ...) returns false and goes the ldns
 * way, which answers it with the right error. On true, q and l hold what
 * validate() would have filled. */
static bool parse_fast(const uint8_t *wire, size_t len, struct dnsq *q, struct labels *l)
{
	size_t qn, pos;

	if (len < 12 || (wire[2] & 0x80) || ((wire[2] >> 3) & 0x0f) != 0 ||
	    rd16(wire + 4) != 1 || rd16(wire + 6) != 0 || rd16(wire + 8) != 0 ||
	    rd16(wire + 10) > 1)
		return false;
	qn = read_qname(wire, len, 12, l);
	if (qn == 0 || len - 12 - qn < 4)
		return false;
	pos = 12 + qn + 4;
	if (rd16(wire + 10) == 0) {
		if (pos != len)
			return false;
	} else {
		/* OPT: owner (root), TYPE, CLASS = UDP size, TTL = extended
		 * RCODE, version, flags; RDLENGTH, options (not read) */
		if (len - pos < 11 || wire[pos] != 0 || rd16(wire + pos + 1) != DNS_T_OPT ||
		    wire[pos + 6] != 0 || len - pos - 11 != rd16(wire + pos + 9))
			return false;
		q->edns = true;
		q->do_bit = (wire[pos + 7] & 0x80) != 0;
		uint16_t sz = rd16(wire + pos + 3);
		if (!q->tcp)
			q->limit = sz > 512 ? sz : 512;
	}
	q->id = rd16(wire);
	q->rd = (wire[2] & 0x01) != 0;
	q->cd = (wire[3] & 0x10) != 0;
	memcpy(q->qname, wire + 12, qn);
	q->qname_len = qn;
	memcpy(q->question, wire + 12, qn + 4);
	q->question_len = qn + 4;
	q->qtype = rd16(wire + 12 + qn);
	q->qclass = rd16(wire + 12 + qn + 2);
	return true;
}

/* Names under an overlay zone or in an overlay reverse zone. Returns true
 * when the name is the overlay's (kind set), false to go on. */
static bool overlay(struct dnsq *q, const struct labels *l, const struct dnsq_overlay *ov,
		    enum dnsq_kind *kind, uint8_t *resp, size_t cap, size_t *resp_len)
{
	for (unsigned i = 0; i < ov->nzones && i < NTM_DNS_MAX_ZONES; i++) {
		int first = under(q->qname, l, ov->zones[i]);
		if (first < 0)
			continue;
		q->zone = (int)i;
		q->apex_off = first < (int)l->n ? l->off[first] : q->qname_len - 1;
		bool apex = q->apex_off == 0;
		if (apex && (q->qtype == DNS_T_SOA || q->qtype == DNS_T_NS))
			*kind = local(q, ov, 0, resp, cap, resp_len);
		else if (q->name[0] == '\0')    /* the daemon cannot know it */
			*kind = local(q, ov, 1, resp, cap, resp_len);
		else
			*kind = DNSQ_OVERLAY_NAME;
		return true;
	}
	bool v6 = false;
	int suffix = under(q->qname, l, "in-addr.arpa");
	if (suffix < 0) {
		v6 = true;
		suffix = under(q->qname, l, "ip6.arpa");
	}
	if (suffix < 0)
		return false;
	switch (reverse(q, l, suffix, ov, v6)) {
	case REV_NONE:
		return false;
	case REV_FULL:
		if (q->qtype == DNS_T_PTR) {
			*kind = DNSQ_OVERLAY_ADDR;
			return true;
		}
		/* nothing but PTR lives there */
		*kind = local(q, ov, 0, resp, cap, resp_len);
		return true;
	case REV_PARTIAL:
		*kind = local(q, ov, 0, resp, cap, resp_len);
		return true;
	case REV_BAD:
		break;
	}
	*kind = local(q, ov, 1, resp, cap, resp_len);
	return true;
}

static void start(struct dnsq *q, bool tcp, size_t *resp_len)
{
	memset(q, 0, sizeof(*q));
	q->tcp = tcp;
	q->limit = tcp ? 65535 : 512;
	q->zone = -1;
	*resp_len = 0;
}

/* A query with a valid header, question and EDNS: the rules on its name. */
static enum dnsq_kind classify_valid(struct dnsq *q, const struct labels *l,
				     const struct dnsq_overlay *ov, uint8_t *resp, size_t cap,
				     size_t *resp_len)
{
	enum dnsq_kind kind;

	if (!q->rd)
		return error(q, DNS_RC_REFUSED, resp, cap, resp_len);
	if (q->qtype == DNS_T_AXFR || q->qtype == DNS_T_IXFR)
		return error(q, DNS_RC_REFUSED, resp, cap, resp_len);
	if (q->qclass != DNS_C_IN)
		return error(q, DNS_RC_REFUSED, resp, cap, resp_len);
	present(q->qname, l, q->name, sizeof(q->name));
	if (overlay(q, l, ov, &kind, resp, cap, resp_len))
		return kind;
	if (l->n >= 1 && label_is(q->qname, l, l->n - 1, "onion", 5))
		return error(q, DNS_RC_NXDOMAIN, resp, cap, resp_len);
	/* Single-label names never leave the host; the TLD infrastructure
	 * types stay answerable so a validating client behind us works. */
	if (l->n == 1 && q->qtype != DNS_T_NS && q->qtype != DNS_T_SOA && q->qtype != DNS_T_DS &&
	    q->qtype != DNS_T_DNSKEY)
		return error(q, DNS_RC_NXDOMAIN, resp, cap, resp_len);
	if (ov->refuse_private_reverse && is_private_reverse(q->qname, l))
		return error(q, DNS_RC_NXDOMAIN, resp, cap, resp_len);
	return DNSQ_FORWARD;
}

enum dnsq_kind dnsq_classify_slow(const uint8_t *wire, size_t len, bool tcp,
				  const struct dnsq_overlay *ov, struct dnsq *q,
				  uint8_t *resp, size_t cap, size_t *resp_len)
{
	struct labels l;
	int rc;

	start(q, tcp, resp_len);
	rc = validate(wire, len, q, &l);
	if (rc < 0)
		return DNSQ_DROP;
	if (rc == DNS_RC_FORMERR || rc == DNS_RC_NOTIMP) {
		/* echo nothing we could not parse: bare header */
		q->question_len = 0;
		q->edns = false;
	}
	if (rc != 0)
		return error(q, rc, resp, cap, resp_len);
	return classify_valid(q, &l, ov, resp, cap, resp_len);
}

bool dnsq_parse_fast(const uint8_t *wire, size_t len, bool tcp, struct dnsq *q)
{
	struct labels l;
	size_t rl;

	start(q, tcp, &rl);
	return parse_fast(wire, len, q, &l);
}

enum dnsq_kind dnsq_classify(const uint8_t *wire, size_t len, bool tcp,
			     const struct dnsq_overlay *ov, struct dnsq *q,
			     uint8_t *resp, size_t cap, size_t *resp_len)
{
	struct labels l;

	start(q, tcp, resp_len);
	if (!parse_fast(wire, len, q, &l))
		return dnsq_classify_slow(wire, len, tcp, ov, q, resp, cap, resp_len);
	return classify_valid(q, &l, ov, resp, cap, resp_len);
}
