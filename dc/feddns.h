/* feddns.h - finding a federated zone's DC through DNS (doc/protocol.md
 * 10.2), pure: each step's query built and each answer read, no I/O
 * (dc_fed.c sends and receives on the event loop). The steps: SRV
 * _ntm-dc._udp.ZONE (the record of the lowest priority; its target's
 * address taken from the additional section when there), then the
 * target's A, then its AAAA. Answers are untrusted: walked by
 * lib/dnswalk.c first (ldns 1.8.3 leaks on some messages it accepts), then
 * read with ldns's bounds-checked parser, taken only with the query's ID, the QR bit and the
 * question asked, and only records owned by the name asked for. */
#ifndef NTM_DC_FEDDNS_H
#define NTM_DC_FEDDNS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

enum feddns_step { FEDDNS_IDLE = 0, FEDDNS_SRV = 1, FEDDNS_A = 2, FEDDNS_AAAA = 3 };

enum feddns_verdict {
	FEDDNS_IGNORE,  /* not the answer to this query (or unreadable): wait on */
	FEDDNS_FOUND,   /* ep, eplen and ttl hold the DC's endpoint */
	FEDDNS_NEXT,    /* the next step's query is due (step and qname moved on) */
	FEDDNS_FAIL,    /* why says why, in words for the log */
};

#define FEDDNS_NAME_MAX 320             /* a DNS name as text, with room */

struct feddns {
	uint8_t step;                   /* enum feddns_step */
	uint16_t id;                    /* the last query's */
	uint16_t port;                  /* the SRV record's */
	uint32_t ttl;                   /* the smallest TTL of the records used */
	char qname[FEDDNS_NAME_MAX];    /* this step's question */
	struct sockaddr_storage ep;
	socklen_t eplen;
	const char *why;
};

/* Step SRV for zone (a name without the trailing dot). 0, or -ENAMETOOLONG. */
int feddns_start(struct feddns *l, const char *zone, uint32_t max_ttl);

/* This step's query with ID id (kept for the answer) into buf. Its length,
 * or -EINVAL (a name ldns refuses), -ENOMEM, -EMSGSIZE. */
int feddns_query(struct feddns *l, uint16_t id, uint8_t *buf, size_t cap);

/* What the len bytes of buf (from the resolver asked) say. */
enum feddns_verdict feddns_answer(struct feddns *l, const uint8_t *buf, size_t len);

#endif
