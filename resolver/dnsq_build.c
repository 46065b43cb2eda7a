/* dnsq_build.c - every response the stub builds, the upstream query, and
 * the checks on upstream replies (see dnsq.h).
 *
 * Packets are assembled as ldns_pkt and serialized with ldns_pkt2wire;
 * afterwards the question bytes the client sent are copied over the
 * encoded question (same length, so compression pointers into it stay
 * valid), which keeps the client's case exactly. Each function owns at
 * most one packet and frees it on every path. */
/* stdbool.h before ldns: without it ldns/common.h defines _Bool as
 * signed char, and struct dnsq would differ between files. */
#include <stdbool.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <ldns/ldns.h>

#include "dnsq.h"
#include "dnsconst.h"
#include "dnswalk.h"


/* Synthesized SOA timers; minimum is the negative TTL (RFC 2308). */
#define SOA_SERIAL 1
#define SOA_REFRESH 3600
#define SOA_RETRY 600
#define SOA_EXPIRE 86400

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint8_t lower(uint8_t c)
{
	return c >= 'A' && c <= 'Z' ? (uint8_t)(c + 32) : c;
}

static ldns_rdf *dname(const uint8_t *w, size_t n)
{
	return ldns_rdf_new_frm_data(LDNS_RDF_TYPE_DNAME, n, w);
}

static ldns_rdf *int32_rdf(ldns_rdf_type t, uint32_t v)
{
	uint8_t b[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v };

	return ldns_rdf_new_frm_data(t, 4, b);
}

/* An RR of type t owned by owner with the n rdfs; takes ownership of
 * owner and rdfs (freed on failure; any of them may be NULL = failure). */
static ldns_rr *mkrr(ldns_rr_type t, ldns_rdf *owner, uint32_t ttl, ldns_rdf **rdfs, size_t n)
{
	ldns_rr *rr = ldns_rr_new_frm_type(t);
	bool ok = rr && owner && ldns_rr_rd_count(rr) == n;

	for (size_t i = 0; i < n; i++)
		ok = ok && rdfs[i];
	if (!ok) {
		ldns_rr_free(rr);
		ldns_rdf_deep_free(owner);
		for (size_t i = 0; i < n; i++)
			ldns_rdf_deep_free(rdfs[i]);
		return NULL;
	}
	ldns_rr_set_owner(rr, owner);
	ldns_rr_set_ttl(rr, ttl);
	for (size_t i = 0; i < n; i++)
		ldns_rr_set_rdf(rr, rdfs[i], i);
	return rr;
}

/* Push rr (may be NULL) into a section; false when nothing was pushed. */
static bool push(ldns_pkt *pkt, ldns_pkt_section s, ldns_rr *rr)
{
	if (rr && ldns_pkt_push_rr(pkt, s, rr))
		return true;
	ldns_rr_free(rr);
	return false;
}

/* Header, question and OPT of a response to q. rcode may be extended. */
static ldns_pkt *reply_pkt(const struct dnsq *q, int rcode, bool aa, bool tc)
{
	ldns_pkt *pkt = ldns_pkt_new();

	if (!pkt)
		return NULL;
	ldns_pkt_set_id(pkt, q->id);
	ldns_pkt_set_qr(pkt, true);
	ldns_pkt_set_opcode(pkt, (ldns_pkt_opcode)q->opcode);
	ldns_pkt_set_aa(pkt, aa);
	ldns_pkt_set_tc(pkt, tc);
	ldns_pkt_set_rd(pkt, q->rd);
	ldns_pkt_set_cd(pkt, q->cd);
	ldns_pkt_set_ra(pkt, true);
	ldns_pkt_set_rcode(pkt, (uint8_t)(rcode & 0x0f));
	if (q->edns) {
		ldns_pkt_set_edns_udp_size(pkt, NTM_DNS_EDNS_SIZE);
		ldns_pkt_set_edns_extended_rcode(pkt, (uint8_t)(rcode >> 4));
		ldns_pkt_set_edns_do(pkt, q->do_bit);
	}
	if (q->question_len == 0)
		return pkt;
	ldns_rr *qr = ldns_rr_new();
	ldns_rdf *owner = dname(q->qname, q->qname_len);
	if (!qr || !owner) {
		ldns_rr_free(qr);
		ldns_rdf_deep_free(owner);
		ldns_pkt_free(pkt);
		return NULL;
	}
	ldns_rr_set_question(qr, true);
	ldns_rr_set_owner(qr, owner);
	ldns_rr_set_type(qr, (ldns_rr_type)q->qtype);
	ldns_rr_set_class(qr, (ldns_rr_class)q->qclass);
	if (!push(pkt, LDNS_SECTION_QUESTION, qr)) {
		ldns_pkt_free(pkt);
		return NULL;
	}
	return pkt;
}

static int pkt_rcode(const ldns_pkt *pkt)
{
	return ldns_pkt_get_rcode(pkt) | ldns_pkt_edns_extended_rcode(pkt) << 4;
}

/* Serialize pkt (consumed) for q into out: cut to header + question (+ OPT)
 * with TC = 1 when over q->limit, client question bytes restored. */
static int finish(const struct dnsq *q, ldns_pkt *pkt, uint8_t *out, size_t cap)
{
	uint8_t *wire = NULL;
	size_t n = 0;
	int ret = -ENOMEM;

	if (!pkt)
		return -ENOMEM;
	ldns_status st = ldns_pkt2wire(&wire, pkt, &n);
	if (st != LDNS_STATUS_OK) {
		/* parsed records ldns cannot write back are the reply's fault */
		ret = st == LDNS_STATUS_MEM_ERR ? -ENOMEM : -EBADMSG;
		goto free_pkt;
	}
	if (n > q->limit) {
		ldns_pkt *cut = reply_pkt(q, pkt_rcode(pkt), ldns_pkt_aa(pkt), true);
		free(wire);
		wire = NULL;
		if (!cut)
			goto free_pkt;
		st = ldns_pkt2wire(&wire, cut, &n);
		ldns_pkt_free(cut);
		if (st != LDNS_STATUS_OK)
			goto free_pkt;
	}
	ret = -EMSGSIZE;
	if (n > cap || n > 65535)
		goto free_wire;
	memcpy(out, wire, n);
	if (q->question_len > 0 && n - 12 >= q->question_len && rd16(out + 4) == 1)
		memcpy(out + 12, q->question, q->question_len);
	ret = (int)n;
free_wire:
	free(wire);
free_pkt:
	ldns_pkt_free(pkt);
	return ret;
}

int dnsq_error_response(const struct dnsq *q, int rcode, uint8_t *resp, size_t cap)
{
	return finish(q, reply_pkt(q, rcode, false, false), resp, cap);
}

/* The zone apex of q in lower case, and hostmaster.<apex> (or the apex
 * again if that would be too long). */
static ldns_rr *soa_rr(const struct dnsq *q)
{
	uint8_t apex[NTM_DNS_MAX_QNAME], rname[NTM_DNS_MAX_QNAME];
	static const uint8_t hm[] = "\012hostmaster";
	size_t n = q->apex_off < q->qname_len ? q->qname_len - q->apex_off : 0;
	size_t rn;

	if (n == 0)
		return NULL;
	for (size_t i = 0; i < n; i++)
		apex[i] = lower(q->qname[q->apex_off + i]);
	if (n + sizeof(hm) - 1 <= NTM_DNS_MAX_QNAME) {
		memcpy(rname, hm, sizeof(hm) - 1);
		memcpy(rname + sizeof(hm) - 1, apex, n);
		rn = n + sizeof(hm) - 1;
	} else {
		memcpy(rname, apex, n);
		rn = n;
	}
	ldns_rdf *rd[7] = {
		dname(apex, n), dname(rname, rn),
		int32_rdf(LDNS_RDF_TYPE_INT32, SOA_SERIAL),
		int32_rdf(LDNS_RDF_TYPE_PERIOD, SOA_REFRESH),
		int32_rdf(LDNS_RDF_TYPE_PERIOD, SOA_RETRY),
		int32_rdf(LDNS_RDF_TYPE_PERIOD, SOA_EXPIRE),
		int32_rdf(LDNS_RDF_TYPE_PERIOD, NTM_DNS_NEGATIVE_TTL),
	};
	return mkrr(LDNS_RR_TYPE_SOA, dname(apex, n), NTM_DNS_NEGATIVE_TTL, rd, 7);
}

static ldns_rr *addr_rr(const struct dnsq *q, ldns_rr_type t, const uint8_t *a, size_t n,
		       uint32_t ttl)
{
	ldns_rdf *rd = ldns_rdf_new_frm_data(t == LDNS_RR_TYPE_A ? LDNS_RDF_TYPE_A :
					     LDNS_RDF_TYPE_AAAA, n, a);

	return mkrr(t, dname(q->qname, q->qname_len), ttl, &rd, 1);
}

/* Answer records for a found name; returns how many, or -1 on failure. */
static int answers(const struct dnsq *q, const struct dnsq_overlay_answer *a, ldns_pkt *pkt)
{
	unsigned n4 = a->n4 < 16 ? a->n4 : 16, n6 = a->n6 < 16 ? a->n6 : 16;
	bool apex = q->apex_off == 0;
	/* an answer from the stub's cache is as old as it has been there */
	uint32_t ttl = a->age < NTM_DNS_OVERLAY_TTL ? NTM_DNS_OVERLAY_TTL - a->age : 0;
	int n = 0;

	if (q->qtype == DNS_T_A || q->qtype == DNS_T_ANY)
		for (unsigned i = 0; i < n4; i++, n++)
			if (!push(pkt, LDNS_SECTION_ANSWER, addr_rr(q, LDNS_RR_TYPE_A, a->v4[i], 4, ttl)))
				return -1;
	if (q->qtype == DNS_T_AAAA || q->qtype == DNS_T_ANY)
		for (unsigned i = 0; i < n6; i++, n++)
			if (!push(pkt, LDNS_SECTION_ANSWER, addr_rr(q, LDNS_RR_TYPE_AAAA, a->v6[i], 16, ttl)))
				return -1;
	if (q->qtype == DNS_T_PTR && a->ptr_name[0] != '\0') {
		ldns_rdf *target = NULL;
		if (strnlen(a->ptr_name, sizeof(a->ptr_name)) < sizeof(a->ptr_name))
			target = ldns_dname_new_frm_str(a->ptr_name);
		if (!push(pkt, LDNS_SECTION_ANSWER, mkrr(LDNS_RR_TYPE_PTR,
			  dname(q->qname, q->qname_len), ttl, &target, 1)))
			return -1;
		n++;
	}
	if (apex && q->qtype == DNS_T_SOA) {
		ldns_rr *soa = soa_rr(q);
		if (soa)
			ldns_rr_set_ttl(soa, NTM_DNS_OVERLAY_TTL);
		if (!push(pkt, LDNS_SECTION_ANSWER, soa))
			return -1;
		n++;
	}
	if (apex && q->qtype == DNS_T_NS) {
		ldns_rdf *ns = dname(q->qname, q->qname_len);
		if (ns)
			ldns_dname2canonical(ns);
		if (!push(pkt, LDNS_SECTION_ANSWER, mkrr(LDNS_RR_TYPE_NS,
			  dname(q->qname, q->qname_len), NTM_DNS_OVERLAY_TTL, &ns, 1)))
			return -1;
		n++;
	}
	return n;
}

int dnsq_overlay_response(const struct dnsq *q, const struct dnsq_overlay *ov,
			  const struct dnsq_overlay_answer *a, uint8_t *resp, size_t cap)
{
	ldns_pkt *pkt;
	int n = 0;

	(void)ov;
	if (a->status != 0 && a->status != 1)
		return dnsq_error_response(q, DNS_RC_SERVFAIL, resp, cap);
	pkt = reply_pkt(q, a->status == 1 ? DNS_RC_NXDOMAIN : DNS_RC_NOERROR, true, false);
	if (!pkt)
		return -ENOMEM;
	if (a->status == 0)
		n = answers(q, a, pkt);
	if (n == 0 && !push(pkt, LDNS_SECTION_AUTHORITY, soa_rr(q)))
		n = -1;
	if (n < 0) {
		/* a PTR target that is not a name, or no memory */
		ldns_pkt_free(pkt);
		return dnsq_error_response(q, DNS_RC_SERVFAIL, resp, cap);
	}
	return finish(q, pkt, resp, cap);
}

int dnsq_upstream_query(const struct dnsq *q, uint16_t id, bool edns, uint8_t *out, size_t cap)
{
	struct dnsq uq = *q;

	if (q->question_len == 0)
		return -EINVAL;
	uq.id = id;
	uq.opcode = 0;
	uq.edns = edns;
	uq.limit = 65535;
	ldns_pkt *pkt = reply_pkt(&uq, DNS_RC_NOERROR, false, false);
	if (pkt) {
		ldns_pkt_set_qr(pkt, false);
		ldns_pkt_set_ra(pkt, false);
	}
	return finish(&uq, pkt, out, cap);
}

/* Upstream replies (and what the cache holds of them) are untrusted: each
 * is walked whole before ldns parses it (dnswalk.h says why). */
static bool well_formed(const uint8_t *msg, size_t len)
{
	struct dnswalk w;

	return dnswalk(msg, len, &w) == DNSWALK_OK;
}

/* The reply's question (at offset 12, uncompressed) equals q's. */
static bool same_question(const struct dnsq *q, const uint8_t *reply, size_t len)
{
	if (len - 12 < q->question_len)
		return false;
	for (size_t i = 0; i < q->qname_len; i++)
		if (lower(reply[12 + i]) != lower(q->qname[i]))
			return false;
	return memcmp(reply + 12 + q->qname_len, q->question + q->qname_len, 4) == 0;
}

int dnsq_upstream_match(const struct dnsq *q, uint16_t id, const uint8_t *reply, size_t len)
{
	if (len < 12 || q->question_len == 0)
		return -EBADMSG;
	if (rd16(reply) != id)
		return -EBADMSG;
	if (!(reply[2] & 0x80))
		return -EBADMSG;
	if (((reply[2] >> 3) & 0x0f) != 0)
		return -EBADMSG;
	uint16_t qd = rd16(reply + 4);
	int rcode = reply[3] & 0x0f;
	/* FORMERR/NOTIMP may come without a question: the EDNS retry needs them */
	if (qd == 0 && rcode != DNS_RC_FORMERR && rcode != DNS_RC_NOTIMP)
		return -EBADMSG;
	if (qd > 1)
		return -EBADMSG;
	if (qd == 1 && !same_question(q, reply, len))
		return -EBADMSG;
	/* the walk bounds every name and record; ldns reads the message once,
	 * when the client's reply is built from it (dnsq_client_response) */
	return well_formed(reply, len) ? 0 : -EBADMSG;
}

static void age_list(ldns_rr_list *l, uint32_t age)
{
	for (size_t i = 0; i < ldns_rr_list_rr_count(l); i++) {
		ldns_rr *rr = ldns_rr_list_rr(l, i);
		uint32_t ttl = ldns_rr_ttl(rr);
		ldns_rr_set_ttl(rr, ttl > age ? ttl - age : 0);
	}
}

/* Move section s of from into to (which must have it empty). */
static void move_section(ldns_pkt *to, ldns_pkt *from, ldns_pkt_section s)
{
	ldns_rr_list *a, *b;

	switch (s) {
	case LDNS_SECTION_ANSWER:
		a = ldns_pkt_answer(from);
		b = ldns_pkt_answer(to);
		ldns_pkt_set_answer(to, a);
		ldns_pkt_set_answer(from, b);
		break;
	case LDNS_SECTION_AUTHORITY:
		a = ldns_pkt_authority(from);
		b = ldns_pkt_authority(to);
		ldns_pkt_set_authority(to, a);
		ldns_pkt_set_authority(from, b);
		break;
	default:
		a = ldns_pkt_additional(from);
		b = ldns_pkt_additional(to);
		ldns_pkt_set_additional(to, a);
		ldns_pkt_set_additional(from, b);
		break;
	}
	ldns_pkt_set_section_count(to, s, (uint16_t)ldns_rr_list_rr_count(a));
	ldns_pkt_set_section_count(from, s, (uint16_t)ldns_rr_list_rr_count(b));
}

int dnsq_client_response(const struct dnsq *q, const uint8_t *reply, size_t len,
			 uint32_t age_s, uint8_t *resp, size_t cap)
{
	ldns_pkt *up = NULL, *pkt;

	if (len < 12 || q->question_len == 0)
		return -EBADMSG;
	if (!well_formed(reply, len) || ldns_wire2pkt(&up, reply, len) != LDNS_STATUS_OK)
		return -EBADMSG;
	/* a fresh packet: client header bits, client question, our OPT,
	 * AA = 0 (we are not authoritative for it), the upstream's RCODE, TC
	 * and AD (set only when our query carried the client's DO); the
	 * upstream's records moved over with their TTLs aged */
	pkt = reply_pkt(q, pkt_rcode(up), false, ldns_pkt_tc(up));
	if (!pkt) {
		ldns_pkt_free(up);
		return -ENOMEM;
	}
	ldns_pkt_set_ad(pkt, ldns_pkt_ad(up));
	age_list(ldns_pkt_answer(up), age_s);
	age_list(ldns_pkt_authority(up), age_s);
	age_list(ldns_pkt_additional(up), age_s);
	move_section(pkt, up, LDNS_SECTION_ANSWER);
	move_section(pkt, up, LDNS_SECTION_AUTHORITY);
	move_section(pkt, up, LDNS_SECTION_ADDITIONAL);
	ldns_pkt_free(up);
	return finish(q, pkt, resp, cap);
}

int64_t dnsq_cache_ttl(const uint8_t *reply, size_t len)
{
	struct dnswalk w;

	/* from the walk alone (no ldns): the header's TC and RCODE, the
	 * OPT's extended RCODE, the records' TTLs and the first SOA */
	if (dnswalk(reply, len, &w) != DNSWALK_OK || (reply[2] & 0x02))
		return -1;
	int rcode = reply[3] & 0x0f;
	if (w.opt)
		rcode |= reply[w.opt + 4] << 4;
	if (rcode == DNS_RC_NOERROR && w.count[DNSWALK_AN] > 0)
		return w.min_ttl;
	if ((rcode == DNS_RC_NOERROR || rcode == DNS_RC_NXDOMAIN) && w.has_soa)
		/* RFC 2308: a negative answer lives min(SOA TTL, SOA minimum) */
		return w.soa_min < w.soa_ttl ? w.soa_min : w.soa_ttl;
	return -1;
}
