/* feddns.c - see feddns.h. */
#include "feddns.h"
#include "dnswalk.h"

#include <errno.h>
#include <ldns/ldns.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int feddns_start(struct feddns *l, const char *zone, uint32_t max_ttl)
{
	memset(l, 0, sizeof(*l));
	if ((size_t)snprintf(l->qname, sizeof(l->qname), "_ntm-dc._udp.%s.", zone) >=
	    sizeof(l->qname))
		return -ENAMETOOLONG;
	l->step = FEDDNS_SRV;
	l->ttl = max_ttl;
	return 0;
}

int feddns_query(struct feddns *l, uint16_t id, uint8_t *buf, size_t cap)
{
	static const ldns_rr_type types[] = { 0, LDNS_RR_TYPE_SRV, LDNS_RR_TYPE_A,
					      LDNS_RR_TYPE_AAAA };
	ldns_rdf *name;
	ldns_pkt *q;
	uint8_t *wire = NULL;
	size_t len = 0;
	int ret;

	if (l->step < FEDDNS_SRV || l->step > FEDDNS_AAAA)
		return -EINVAL;
	name = ldns_dname_new_frm_str(l->qname);
	q = name ? ldns_pkt_query_new(name, types[l->step], LDNS_RR_CLASS_IN, LDNS_RD) : NULL;
	if (!q) {
		ldns_rdf_deep_free(name); /* taken by the packet only on success */
		return -EINVAL;
	}
	ldns_pkt_set_id(q, id);
	l->id = id;
	if (ldns_pkt2wire(&wire, q, &len) != LDNS_STATUS_OK)
		ret = -ENOMEM;
	else if (len > cap)
		ret = -EMSGSIZE;
	else {
		memcpy(buf, wire, len);
		ret = (int)len;
	}
	free(wire);
	ldns_pkt_free(q);
	return ret;
}

/* The first A (or AAAA) record owned by target in p's answer or
 * additional section, into l->ep with l->port; its TTL lowers l->ttl. */
static bool take_addr(struct feddns *l, const ldns_pkt *p, const ldns_rdf *target)
{
	ldns_rr_list *lists[2] = { ldns_pkt_answer(p), ldns_pkt_additional(p) };

	for (int k = 0; k < 2; k++) {
		for (size_t i = 0; lists[k] && i < ldns_rr_list_rr_count(lists[k]); i++) {
			ldns_rr *rr = ldns_rr_list_rr(lists[k], i);
			ldns_rdf *a = ldns_rr_rd_count(rr) ? ldns_rr_rdf(rr, 0) : NULL;
			if (!a || ldns_dname_compare(ldns_rr_owner(rr), target) != 0)
				continue;
			memset(&l->ep, 0, sizeof(l->ep));
			if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_A && ldns_rdf_size(a) == 4) {
				struct sockaddr_in *s4 = (struct sockaddr_in *)&l->ep;
				s4->sin_family = AF_INET;
				s4->sin_port = htons(l->port);
				memcpy(&s4->sin_addr, ldns_rdf_data(a), 4);
				l->eplen = sizeof(*s4);
			} else if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_AAAA && ldns_rdf_size(a) == 16) {
				struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&l->ep;
				s6->sin6_family = AF_INET6;
				s6->sin6_port = htons(l->port);
				memcpy(&s6->sin6_addr, ldns_rdf_data(a), 16);
				l->eplen = sizeof(*s6);
			} else {
				continue;
			}
			if (ldns_rr_ttl(rr) < l->ttl)
				l->ttl = ldns_rr_ttl(rr);
			return true;
		}
	}
	return false;
}

static enum feddns_verdict fail(struct feddns *l, const char *why)
{
	l->why = why;
	l->step = FEDDNS_IDLE;
	return FEDDNS_FAIL;
}

/* The SRV answer: the record of the lowest priority; its target's address
 * from the same answer, else the next step asks for it. */
static enum feddns_verdict on_srv(struct feddns *l, const ldns_pkt *a)
{
	ldns_rr_list *rrs = ldns_pkt_answer(a);
	ldns_rr *best = NULL;

	for (size_t i = 0; rrs && i < ldns_rr_list_rr_count(rrs); i++) {
		ldns_rr *rr = ldns_rr_list_rr(rrs, i);
		if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_SRV || ldns_rr_rd_count(rr) != 4 ||
		    ldns_rdf_size(ldns_rr_rdf(rr, 0)) != 2 || ldns_rdf_size(ldns_rr_rdf(rr, 2)) != 2 ||
		    ldns_rdf_get_type(ldns_rr_rdf(rr, 3)) != LDNS_RDF_TYPE_DNAME)
			continue;
		if (!best || ldns_rdf2native_int16(ldns_rr_rdf(rr, 0)) <
				     ldns_rdf2native_int16(ldns_rr_rdf(best, 0)))
			best = rr;
	}
	if (!best)
		return fail(l, "no SRV record");
	l->port = ldns_rdf2native_int16(ldns_rr_rdf(best, 2));
	if (l->port == 0)
		return fail(l, "SRV record with port 0");
	if (ldns_rr_ttl(best) < l->ttl)
		l->ttl = ldns_rr_ttl(best);
	if (take_addr(l, a, ldns_rr_rdf(best, 3)))
		return FEDDNS_FOUND;
	char *t = ldns_rdf2str(ldns_rr_rdf(best, 3));
	if (!t || strlen(t) >= sizeof(l->qname)) {
		free(t);
		return fail(l, "SRV target name too long");
	}
	memcpy(l->qname, t, strlen(t) + 1);
	free(t);
	l->step = FEDDNS_A;
	return FEDDNS_NEXT;
}

enum feddns_verdict feddns_answer(struct feddns *l, const uint8_t *buf, size_t len)
{
	enum feddns_verdict v = FEDDNS_IGNORE;
	ldns_rdf *qn = NULL;
	ldns_pkt *a = NULL;
	ldns_rr_list *qs;

	if (l->step < FEDDNS_SRV || l->step > FEDDNS_AAAA)
		return FEDDNS_IGNORE;
	/* the bounded walk first: ldns 1.8.3 leaks on some messages it
	 * accepts (a TSIG record that is not the last one), see dnswalk.h */
	struct dnswalk w;
	if (dnswalk(buf, len, &w) != DNSWALK_OK)
		return FEDDNS_IGNORE;
	qn = ldns_dname_new_frm_str(l->qname);
	if (!qn || ldns_wire2pkt(&a, buf, len) != LDNS_STATUS_OK)
		goto out;
	qs = ldns_pkt_question(a);
	if (ldns_pkt_id(a) != l->id || !ldns_pkt_qr(a) || !qs || ldns_rr_list_rr_count(qs) != 1 ||
	    ldns_dname_compare(ldns_rr_owner(ldns_rr_list_rr(qs, 0)), qn) != 0)
		goto out; /* not the answer to this query */
	if (ldns_pkt_get_rcode(a) != LDNS_RCODE_NOERROR) {
		if (l->step == FEDDNS_SRV) {
			v = fail(l, ldns_pkt_get_rcode(a) == LDNS_RCODE_NXDOMAIN
					    ? "no such name (NXDOMAIN)"
					    : "the resolver answered with an error code");
			goto out;
		}
	} else if (l->step == FEDDNS_SRV) {
		v = on_srv(l, a);
		goto out;
	} else if (take_addr(l, a, qn)) {
		v = FEDDNS_FOUND;
		goto out;
	}
	/* the SRV target's A gave nothing: its AAAA; that gave nothing: fail */
	if (l->step == FEDDNS_AAAA) {
		v = fail(l, "no A or AAAA record for the SRV target");
		goto out;
	}
	l->step = FEDDNS_AAAA;
	v = FEDDNS_NEXT;
out:
	if (v == FEDDNS_FOUND)
		l->step = FEDDNS_IDLE;
	ldns_pkt_free(a);
	ldns_rdf_deep_free(qn);
	return v;
}
