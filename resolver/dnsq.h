/* dnsq.h - ntm-resolverd's query logic, as pure functions over wire
 * bytes (no sockets, no clock, no globals): validate a client query,
 * classify it, and build every response the stub sends itself. ldns is
 * used for parsing and building only (doc/names.md, section 2), and
 * parses only messages that dnswalk() (dnswalk.h) has walked whole.
 * The event loop (server.c), the daemon client (tundq.c) and the upstream
 * engine (upstream.c) call these; each function is unit tested and fuzzed.
 *
 * Sizes: client limit = max(512, EDNS UDP size) for UDP (512 without
 * OPT), 65535 for TCP. The stub advertises NTM_DNS_EDNS_SIZE. */
#ifndef NTM_DNSQ_H
#define NTM_DNSQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NTM_DNS_EDNS_SIZE 1232
#define NTM_DNS_MAX_QNAME 255             /* wire form, bytes */
#define NTM_DNS_OVERLAY_TTL 5             /* positive overlay answers, s */
#define NTM_DNS_NEGATIVE_TTL 10           /* SOA minimum for overlay negatives */
#define NTM_DNS_MAX_ZONES 8
#define NTM_DNS_MAX_PREFIXES 8

/* What the stub knows of the overlay (from ntm-tund's nss file). */
struct dnsq_overlay {
	unsigned nzones;
	char zones[NTM_DNS_MAX_ZONES][256];     /* lower case, no trailing dot */
	unsigned nprefix4, nprefix6;
	struct { uint8_t addr[4]; uint8_t plen; } prefix4[NTM_DNS_MAX_PREFIXES];
	struct { uint8_t addr[16]; uint8_t plen; } prefix6[NTM_DNS_MAX_PREFIXES];
	bool refuse_private_reverse;           /* RFC 6303 zones answered NXDOMAIN, not forwarded */
};

enum dnsq_kind {
	DNSQ_RESPOND,        /* resp holds the complete response (error, refusal, local answer) */
	DNSQ_DROP,           /* send nothing (no usable header, or a response) */
	DNSQ_OVERLAY_NAME,   /* A/AAAA/ANY/other type for a name under an overlay zone: ask ntm-tund */
	DNSQ_OVERLAY_ADDR,   /* PTR in an overlay reverse zone: ask ntm-tund for addr */
	DNSQ_FORWARD,        /* every other name: forward upstream */
};

/* One validated client query. */
struct dnsq {
	uint16_t id;
	uint8_t opcode;               /* echoed in error responses (NOTIMP) */
	uint16_t qtype, qclass;
	bool rd, cd;
	bool edns;                    /* the query carried OPT (version 0) */
	bool do_bit;                  /* DNSSEC OK */
	uint16_t limit;               /* largest response the client takes */
	bool tcp;
	uint8_t qname[NTM_DNS_MAX_QNAME];   /* wire form, case as received */
	size_t qname_len;
	char name[256];               /* presentation form, lower case, no trailing dot;
				       * \DDD escapes, "." for the root, "" when it
				       * does not fit (key caches on qname instead) */
	uint8_t question[NTM_DNS_MAX_QNAME + 4]; /* question section bytes as received */
	size_t question_len;
	/* DNSQ_OVERLAY_ADDR: the address a PTR asks about; also set, with
	 * ptr_other, for a PTR of a whole address outside the overlay's
	 * prefixes (a federated zone's peer, perhaps: the names map may
	 * name it; otherwise the query goes on as classified) */
	int af;                       /* AF_INET / AF_INET6 */
	uint8_t addr[16];
	bool ptr_other;
	/* which overlay zone (index into dnsq_overlay.zones) the name is
	 * under; -1 otherwise (also for overlay reverse zones) */
	int zone;
	/* overlay and overlay reverse names: offset in qname of the zone apex
	 * (the owner of the synthesized SOA); 0 when qname is the apex */
	size_t apex_off;
};

/* Validate and classify wire (len bytes from a client over UDP or TCP).
 * Fills q. For DNSQ_RESPOND writes the response into resp (cap bytes) and
 * its length into *resp_len: FORMERR (QDCOUNT != 1, a message dnswalk()
 * refuses, parse errors), NOTIMP (opcode other than QUERY), BADVERS (EDNS
 * version != 0), REFUSED (RD = 0, AXFR/IXFR, class other than IN),
 * NXDOMAIN for .onion, single-label names
 * (except NS/SOA/DS/DNSKEY, which are forwarded so TLD lookups and
 * validation keep working) and (optionally) RFC 6303 private reverse
 * zones; the overlay apex's SOA and NS. Names in an overlay reverse zone
 * that are not a PTR for a full address are answered here too: NODATA +
 * SOA above a full address (empty non-terminal, RFC 8020) or for other
 * types, NXDOMAIN + SOA for labels that are not address digits. When resp
 * is too small for the response, returns DNSQ_DROP. Returns the kind. */
enum dnsq_kind dnsq_classify(const uint8_t *wire, size_t len, bool tcp,
			     const struct dnsq_overlay *ov, struct dnsq *q,
			     uint8_t *resp, size_t cap, size_t *resp_len);

/* dnsq_classify tries the fast parser first (a plain query: header, one
 * uncompressed question, at most one OPT, read from the bytes without ldns
 * or allocation) and takes the ldns path (dnswalk, then ldns_wire2pkt) for
 * anything else. dnsq_classify_slow always takes the ldns path; both give
 * the same result for every input (tests/unit/test_dnsq.c and
 * tests/fuzz/fuzz_dnsq.c check that). dnsq_parse_fast says whether the
 * fast parser takes wire (q is filled then, as far as parsing goes). */
enum dnsq_kind dnsq_classify_slow(const uint8_t *wire, size_t len, bool tcp,
				  const struct dnsq_overlay *ov, struct dnsq *q,
				  uint8_t *resp, size_t cap, size_t *resp_len);
bool dnsq_parse_fast(const uint8_t *wire, size_t len, bool tcp, struct dnsq *q);

/* What the overlay (ntm-tund, or the stub's own knowledge) says of a name. */
enum dnsq_overlay_status {
	DNSQ_OVERLAY_FOUND = 0,       /* the addresses, or a PTR name (none: NODATA) */
	DNSQ_OVERLAY_UNKNOWN = 1,     /* no such name: NXDOMAIN + SOA */
	DNSQ_OVERLAY_FAILED = 2,      /* temporary failure: SERVFAIL */
};

/* The overlay's answer to q. status FOUND: addrs (4-byte v4 and 16-byte
 * v6 addresses of the name) or ptr_name for a PTR. Known name without the
 * asked type: NODATA + SOA; ANY: a minimal answer with the addresses;
 * HTTPS/SVCB/MX/TXT: NODATA. AA = 1. Returns the length, or -EMSGSIZE. */
struct dnsq_overlay_answer {
	enum dnsq_overlay_status status;
	unsigned n4, n6;
	uint8_t v4[16][4];
	uint8_t v6[16][16];
	char ptr_name[256];           /* DNSQ_OVERLAY_ADDR */
	uint32_t age;                 /* seconds in the stub's cache: TTLs are lowered by it */
};
int dnsq_overlay_response(const struct dnsq *q, const struct dnsq_overlay *ov,
			  const struct dnsq_overlay_answer *a, uint8_t *resp, size_t cap);

/* A bare response with rcode (SERVFAIL, REFUSED, ...) for q. */
int dnsq_error_response(const struct dnsq *q, int rcode, uint8_t *resp, size_t cap);

/* Build the query the stub sends upstream for q: a new ID, RD copied, CD
 * and DO propagated, OPT with NTM_DNS_EDNS_SIZE unless edns is false
 * (retry without EDNS); never the client's OPT verbatim. */
int dnsq_upstream_query(const struct dnsq *q, uint16_t id, bool edns, uint8_t *out, size_t cap);

/* Check an upstream reply: ID, QR = 1, question equal to q's
 * (case-insensitive name, type, class), and a message dnswalk() accepts.
 * 0 when it answers q, -EBADMSG otherwise (keep waiting). */
int dnsq_upstream_match(const struct dnsq *q, uint16_t id, const uint8_t *reply, size_t len);

/* Turn an accepted upstream reply into the client's response: client ID,
 * question bytes as the client sent them, OPT rewritten to the stub's (only
 * if the client sent OPT), TTLs decremented by age_s (cache), and cut to
 * header + question (+ OPT) with TC = 1 when over q->limit. Returns the
 * length or -EMSGSIZE/-EBADMSG. */
int dnsq_client_response(const struct dnsq *q, const uint8_t *reply, size_t len,
			 uint32_t age_s, uint8_t *resp, size_t cap);

/* Smallest TTL of the reply's answer and authority records (the SOA
 * minimum for negative answers), for caching; -1 when not cacheable (TC,
 * another RCODE, a negative answer without SOA, a message dnswalk()
 * refuses). Read by the walk alone, without ldns; handle.c asks it of the
 * response the stub built, which is what the cache keeps. */
int64_t dnsq_cache_ttl(const uint8_t *reply, size_t len);

#endif
