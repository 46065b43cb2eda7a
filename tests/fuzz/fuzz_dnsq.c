/* fuzz_dnsq.c - libFuzzer harness for resolver/dnsq.c, dnsq_build.c and
 * dnswalk.c.
 *
 * The input is walked with dnswalk, whose answer must describe the bytes
 * (offsets inside the message, an OPT where it says), and fed to
 * dnsq_cache_ttl as an upstream reply (ldns must not leak on anything the
 * walk lets through). The lifetime dnsq_cache_ttl gives a response the
 * stub built from an upstream reply (from the walk alone) must be the one
 * ldns's reading of it gives.
 * The input is classified as a UDP and as a TCP query against a fixed
 * overlay. Every response the code builds must parse back with ldns, fit
 * its buffer and carry the query's ID. Overlay kinds are answered with
 * each daemon status; for DNSQ_FORWARD the upstream query is built and the
 * same input bytes are then fed back as the upstream "reply" to
 * dnsq_upstream_match, dnsq_client_response and dnsq_cache_ttl.
 *
 * The fast paths against the ldns paths: dnsq_classify (the fast parser
 * first) must give what dnsq_classify_slow gives, kind, response bytes and
 * parsed query, wherever the fast parser takes the input. Every response
 * built for a client with EDNS and no limit is made a ready reply
 * (dnsready.c), and patching it for q at some age must give the bytes the
 * ldns path builds for q at that age. The input is also handed to
 * dnsready_patch as a (damaged) ready reply: bounds only. */
#include <stdbool.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <ldns/ldns.h>

#include "dnsq.h"
#include "dnsready.h"
#include "dnswalk.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond) do { if (!(cond)) abort(); } while (0)

static uint8_t resp[65536], full[65536], patched[65536], ready[DNSREADY_MAX(65535)];

static struct dnsq_overlay overlay(void)
{
	struct dnsq_overlay ov;

	memset(&ov, 0, sizeof(ov));
	ov.nzones = 2;
	strcpy(ov.zones[0], "internal");
	strcpy(ov.zones[1], "corp.example");
	ov.nprefix4 = 1;
	ov.prefix4[0].addr[0] = 198;
	ov.prefix4[0].addr[1] = 18;
	ov.prefix4[0].plen = 15;
	ov.nprefix6 = 1;
	memcpy(ov.prefix6[0].addr, "\xfd\x7a\x11\x5c\xa1\xe0", 6);
	ov.prefix6[0].plen = 48;
	ov.refuse_private_reverse = true;
	return ov;
}

/* Our own output must always be a well-formed message for q. */
static void check_built(const struct dnsq *q, int n, size_t cap, bool want_id)
{
	ldns_pkt *p = NULL;

	if (n < 0)
		return;
	CHECK((size_t)n <= cap && n >= 12);
	CHECK(ldns_wire2pkt(&p, resp, (size_t)n) == LDNS_STATUS_OK);
	ldns_pkt_free(p);
	if (want_id)
		CHECK(resp[0] == q->id >> 8 && resp[1] == (q->id & 0xff));
	if (q->question_len > 0 && resp[5] == 1)
		CHECK(memcmp(resp + 12, q->question, q->question_len) == 0);
}

/* q with EDNS and no size limit: what a ready reply is made from. */
static struct dnsq unlimited(const struct dnsq *q)
{
	struct dnsq f = *q;

	f.edns = true;
	f.limit = 65535;
	return f;
}

/* The ready reply of full[0..n) patched for q at age must equal built
 * (the ldns path's response for q at that age, nb bytes or an error). */
static void ready_equals(const struct dnsq *q, int n, enum dnsready_age mode, uint32_t age,
			 int nb)
{
	if (n <= 0)
		return;
	int m = dnsready_make(full, (size_t)n, mode, ready, sizeof(ready));
	CHECK(m > 0);
	int p = dnsready_patch(ready, (size_t)m, q, age, patched, sizeof(patched));
	CHECK(p == nb);
	if (p > 0)
		CHECK(memcmp(patched, resp, (size_t)p) == 0);
	/* a buffer too small is refused, never overrun */
	if (p > 12)
		CHECK(dnsready_patch(ready, (size_t)m, q, age, patched, (size_t)p - 1) == -EMSGSIZE);
}

static void overlay_answers(const struct dnsq *q, const struct dnsq_overlay *ov,
			    const uint8_t *data, size_t size)
{
	struct dnsq_overlay_answer a;
	struct dnsq f = unlimited(q);

	for (int status = 0; status <= 2; status++) {
		memset(&a, 0, sizeof(a));
		a.status = status;
		a.n4 = size % 17;
		a.n6 = size % 5;
		memcpy(a.ptr_name, data, size < sizeof(a.ptr_name) ? size : sizeof(a.ptr_name));
		int nf = dnsq_overlay_response(&f, ov, &a, full, sizeof(full));
		a.age = (uint32_t)(size % NTM_DNS_OVERLAY_TTL);
		int n = dnsq_overlay_response(q, ov, &a, resp, sizeof(resp));
		check_built(q, n, sizeof(resp), true);
		if (n > 0 && !q->tcp)
			CHECK((size_t)n <= q->limit);
		ready_equals(q, nf, DNSREADY_AGE_ADDRS, a.age, n);
	}
}

/* dnsq_cache_ttl as it was, with ldns: on a response the stub built
 * (what it caches), the walk-only one must agree. */
static int64_t min_ttl_ldns(const ldns_rr_list *l, int64_t cur)
{
	for (size_t i = 0; i < ldns_rr_list_rr_count(l); i++) {
		uint32_t ttl = ldns_rr_ttl(ldns_rr_list_rr(l, i));
		if (cur < 0 || ttl < cur)
			cur = ttl;
	}
	return cur;
}

static int64_t cache_ttl_ldns(const ldns_pkt *p)
{
	int rcode = ldns_pkt_get_rcode(p) | ldns_pkt_edns_extended_rcode(p) << 4;
	const ldns_rr_list *auth = ldns_pkt_authority(p);

	if (ldns_pkt_tc(p))
		return -1;
	if (rcode == 0 && ldns_rr_list_rr_count(ldns_pkt_answer(p)) > 0)
		return min_ttl_ldns(auth, min_ttl_ldns(ldns_pkt_answer(p), -1));
	if (rcode != 0 && rcode != 3)
		return -1;
	for (size_t i = 0; i < ldns_rr_list_rr_count(auth); i++) {
		const ldns_rr *rr = ldns_rr_list_rr(auth, i);
		if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_SOA || ldns_rr_rd_count(rr) != 7)
			continue;
		const ldns_rdf *m = ldns_rr_rdf(rr, 6);
		if (!m || ldns_rdf_size(m) != 4)
			continue;
		uint32_t min = ldns_rdf2native_int32(m), ttl = ldns_rr_ttl(rr);
		return min < ttl ? min : ttl;
	}
	return -1;
}

static void forward(const struct dnsq *q, const uint8_t *data, size_t size)
{
	uint16_t id = size >= 2 ? (uint16_t)(data[0] << 8 | data[1]) : 0;

	for (int edns = 0; edns <= 1; edns++) {
		int n = dnsq_upstream_query(q, 0x5151, edns, resp, sizeof(resp));
		CHECK(n > 0);
		check_built(q, n, sizeof(resp), false);
	}
	(void)dnsq_upstream_match(q, id, data, size);
	struct dnsq f = unlimited(q);
	int nf = dnsq_client_response(&f, data, size, 0, full, sizeof(full));
	if (nf > 0) {
		ldns_pkt *p = NULL;
		CHECK(ldns_wire2pkt(&p, full, (size_t)nf) == LDNS_STATUS_OK);
		CHECK(dnsq_cache_ttl(full, (size_t)nf) == cache_ttl_ldns(p));
		ldns_pkt_free(p);
	}
	int n = dnsq_client_response(q, data, size, (uint32_t)size * 1000, resp, sizeof(resp));
	check_built(q, n, sizeof(resp), true);
	if (n > 0 && !q->tcp)
		CHECK((size_t)n <= q->limit);
	ready_equals(q, nf, DNSREADY_AGE_ALL, (uint32_t)size * 1000, n);
	n = dnsq_client_response(q, data, size, 0, resp, sizeof(resp));
	ready_equals(q, nf, DNSREADY_AGE_ALL, 0, n);
	n = dnsq_client_response(q, data, size, 0, resp, 100);
	check_built(q, n, 100, true);
	(void)dnsq_cache_ttl(data, size);
}

/* What the walk reports of an accepted message must be true of its bytes. */
static void walk(const uint8_t *data, size_t size)
{
	struct dnswalk w;

	if (dnswalk(data, size, &w) != DNSWALK_OK)
		return;
	CHECK(size >= 12 && w.question_end >= 12 && w.question_end <= size);
	CHECK(w.count[DNSWALK_QD] == (data[4] << 8 | data[5]));
	if (w.opt != 0)
		CHECK(size - w.opt >= 10 && data[w.opt - 1] == 0 && data[w.opt] == 0 &&
		      data[w.opt + 1] == 41 && w.count[DNSWALK_AR] > 0);
	if (w.tsig != 0)
		CHECK(w.tsig >= w.question_end && size - w.tsig >= 11);
	(void)dnsq_cache_ttl(data, size);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct dnsq_overlay ov;
	static bool init;
	struct dnsq q;
	size_t len;

	if (!init) {
		ov = overlay();
		init = true;
	}
	walk(data, size);
	for (int tcp = 0; tcp <= 1; tcp++) {
		/* the ldns path first: its response is kept in full */
		struct dnsq qs;
		size_t ls;
		enum dnsq_kind ks = dnsq_classify_slow(data, size, tcp, &ov, &qs, full, sizeof(full), &ls);
		enum dnsq_kind k = dnsq_classify(data, size, tcp, &ov, &q, resp, sizeof(resp), &len);
		CHECK(k == ks && len == ls && memcmp(resp, full, len) == 0);
		CHECK(q.id == qs.id && q.qtype == qs.qtype && q.qclass == qs.qclass &&
		      q.rd == qs.rd && q.cd == qs.cd && q.edns == qs.edns && q.do_bit == qs.do_bit &&
		      q.limit == qs.limit && q.question_len == qs.question_len &&
		      q.qname_len == qs.qname_len && q.zone == qs.zone && q.apex_off == qs.apex_off &&
		      memcmp(q.question, qs.question, q.question_len) == 0 &&
		      strcmp(q.name, qs.name) == 0);
		/* the input as a ready reply for this query: never out of bounds */
		if (q.question_len > 0) {
			int p = dnsready_patch(data, size, &q, (uint32_t)size, patched, sizeof(patched));
			CHECK(p <= (int)sizeof(patched));
		}
		switch (k) {
		case DNSQ_RESPOND:
			check_built(&q, (int)len, sizeof(resp), true);
			break;
		case DNSQ_DROP:
			CHECK(len == 0);
			break;
		case DNSQ_OVERLAY_NAME:
		case DNSQ_OVERLAY_ADDR:
			overlay_answers(&q, &ov, data, size);
			break;
		case DNSQ_FORWARD:
			forward(&q, data, size);
			break;
		}
		/* a response buffer too small for anything never overflows */
		(void)dnsq_classify(data, size, tcp, &ov, &q, resp, 12, &len);
		CHECK(len <= 12);
	}
	return 0;
}
