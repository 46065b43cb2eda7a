/* mapq.h - overlay answers from ntm-tund's names map (lib/namemap.h,
 * doc/namemap.md), as pure functions: a classified query, a checked map and
 * the reader's clock in, a complete DNS response or the reason to ask
 * ntm-tund instead out. No ldns, no allocation, no system call: the stub
 * answers a live overlay name at memory speed (resolver/mapfile.c keeps
 * the mapping). Only A and AAAA for a name the map holds live (with an
 * address of that family) and PTR for an address it holds are answered
 * here; everything else (other types, NODATA, NXDOMAIN, a name in no
 * entry) is ntm-tund's to answer over the socket, which also sets a
 * tunnel up again. */
#ifndef NTM_RESOLVER_MAPQ_H
#define NTM_RESOLVER_MAPQ_H

#include <stddef.h>
#include <stdint.h>

#include "dnsq.h"
#include "namemap.h"

/* Why the map did not answer. */
enum mapq_why {
	MAPQ_ANSWERED = 0,
	MAPQ_NOT_MINE = 1,   /* another type, a name the map cannot hold, no such address family */
	MAPQ_MISS = 2,       /* not in the map */
	MAPQ_STALE = 3,      /* there, but expired (or the map closed) */
	MAPQ_TORN = 4,       /* changed under the reader twice in a row */
	MAPQ_NOROOM = 5,     /* the response would not fit the client's limit or cap */
};

/* Answers q (classified as kind: DNSQ_OVERLAY_NAME or _ADDR) from map m
 * (NULL: no map) at the reader's CLOCK_MONOTONIC now_ms. The response:
 * the client's ID, opcode, RD and CD, QR AA RA, the question as the client
 * sent it (its case kept), one answer record owned by the question's
 * name (a compression pointer to it), TTL the entry's remaining life in
 * whole seconds (0 in its last second), and the stub's OPT when the query
 * had one (DO echoed). Returns its length (> 0), or 0 with *why saying
 * why the socket must answer. A torn read is tried once more. */
int mapq_answer(const struct ntm_namemap *m, const struct dnsq *q, enum dnsq_kind kind,
		uint64_t now_ms, uint8_t *resp, size_t cap, enum mapq_why *why);

/* Short text for why ("miss", "stale", ...). */
const char *mapq_why_name(enum mapq_why why);

#endif
