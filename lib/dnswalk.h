/* dnswalk.h - a bounded walk over a whole DNS message, done before ldns
 * sees it.
 *
 * ldns_wire2pkt (1.8.3) leaks every TSIG record of a message but the last
 * one it reads, and it has no limits of its own we want to lean on. So
 * every DNS message from outside (client queries in dnsq.c, upstream
 * replies in dnsq_build.c) is walked here first, and only a message that
 * passes reaches ldns. A message passes when:
 *  - it has a 12-byte header and its counts fit in the bytes (a question
 *    takes at least 5 bytes, a record at least 11);
 *  - every name (owner names, the question, and the names in NS, CNAME,
 *    PTR, DNAME, MX and SOA data) has labels of at most 63 bytes (label
 *    types 01 and 10 refused), is at most 255 bytes uncompressed, and
 *    follows at most DNSWALK_MAX_HOPS compression pointers, each pointing
 *    past the header and strictly before the labels it was read from (so
 *    no pointer can loop or point forward);
 *  - every record's fixed fields and rdlength bytes of data are there, and
 *    the names in the data listed above fill it exactly;
 *  - the message is consumed exactly: nothing after the last record;
 *  - it holds at most one OPT, in the additional section, owned by the
 *    root;
 *  - it holds at most one TSIG, as the last record of the additional
 *    section (RFC 8945 5.1). The stub does not check signatures: a
 *    client's TSIG is never forwarded, upstream replies never carry one.
 * Pure function over the bytes: no allocation, no clock, no globals. */
#ifndef NTM_DNSWALK_H
#define NTM_DNSWALK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A name has at most 127 labels, so a sane one needs no more jumps. */
#define DNSWALK_MAX_HOPS 127

enum dnswalk_verdict {
	DNSWALK_OK = 0,
	DNSWALK_SHORT,       /* header, name or record runs past its end */
	DNSWALK_COUNT,       /* counts ask for more than the bytes can hold */
	DNSWALK_LABEL,       /* label type 01/10, or a name over 255 bytes */
	DNSWALK_POINTER,     /* pointer into the header, not backwards, or too many */
	DNSWALK_RDATA,       /* the names in a record's data do not fill it exactly */
	DNSWALK_TRAILING,    /* bytes after the last record */
	DNSWALK_OPT,         /* OPT outside additional, a second OPT, or not owned by root */
	DNSWALK_TSIG,        /* TSIG that is not the last record of additional */
};

enum { DNSWALK_QD, DNSWALK_AN, DNSWALK_NS, DNSWALK_AR };

struct dnswalk {
	uint16_t count[4];           /* QDCOUNT, ANCOUNT, NSCOUNT, ARCOUNT */
	size_t question_end;         /* offset just after the question section */
	size_t opt;                  /* offset of the OPT record's TYPE field; 0 without OPT */
	size_t tsig;                 /* offset of the TSIG record's owner; 0 without TSIG */
	/* for a cache's lifetime of the message (resolver/dnsq_build.c) */
	uint32_t min_ttl;            /* smallest TTL of the answer and authority records */
	bool has_soa;                /* the authority section's first SOA with data: */
	uint32_t soa_ttl, soa_min;   /* its TTL and its MINIMUM field */
};

/* Walk msg (len bytes) and fill w (zeroed first). Returns DNSWALK_OK or
 * the first problem found; w is only meaningful for DNSWALK_OK. */
enum dnswalk_verdict dnswalk(const uint8_t *msg, size_t len, struct dnswalk *w);

#endif
