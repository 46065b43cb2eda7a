/* dnsready.h - DNS responses kept ready to send: what ntm-resolverd's reply
 * cache (cache.c) and its overlay answer cache (tundq.c) hold.
 *
 * A ready reply is a response the stub built itself (dnsq_client_response
 * or dnsq_overlay_response) for a client with EDNS and no size limit, plus
 * where the parts that differ between clients and over time sit: the ID
 * and flags, the question (its case is the asker's), every TTL that ages,
 * and the OPT record (the last record, without options). dnsready_patch
 * makes the response for any client asking the same question (same name
 * ignoring case, type, class, DO and CD) with one copy and a few stores,
 * byte for byte what dnsq_client_response (or dnsq_overlay_response) would
 * have built for that client from the same reply aged by the same seconds:
 * ID, RD and CD as asked, the question's bytes as asked, TTLs lowered by
 * the age (never below 0; OPT's TTL field holds flags and is left alone),
 * the client's EDNS (our OPT with its DO when it sent one, none when it did
 * not), and over the client's size limit the bare header and question (and
 * OPT) with TC = 1. tests/unit/test_dnsready.c and tests/fuzz/fuzz_dnsq.c
 * compare the two. Pure functions over bytes: no allocation, no clock.
 *
 * Layout (all numbers big-endian, 16 bits): the response's length W, the
 * number N of TTL offsets, the offset of the OPT record (0: none), the
 * offset just after the question; then the N offsets of the TTL fields;
 * then the W bytes of the response. */
#ifndef NTM_DNSREADY_H
#define NTM_DNSREADY_H

#include <stddef.h>
#include <stdint.h>

#include "dnsq.h"

enum dnsready_age {
	DNSREADY_AGE_ALL,     /* every record's TTL but OPT's (forwarded replies) */
	DNSREADY_AGE_ADDRS,   /* answer-section A, AAAA and PTR only (overlay answers:
			       * their SOA and its TTL are fixed, dnsq_build.c) */
};

#define DNSREADY_HDR 8
/* The largest ready reply made of a response of len bytes (a record takes
 * at least 11 bytes, so there are fewer than len / 11 TTLs). */
#define DNSREADY_MAX(len) (DNSREADY_HDR + (len) + 2 * ((len) / 11))

/* Makes the ready reply of resp (len bytes, a response the stub built: one
 * uncompressed question, an OPT only as the last record and without
 * options) into out. Returns its length; -EBADMSG when resp is not such a
 * response; -EMSGSIZE when cap is too small. */
int dnsready_make(const uint8_t *resp, size_t len, enum dnsready_age age, uint8_t *out,
		  size_t cap);

/* Writes q's response from the ready reply (rlen bytes) aged by age_s
 * seconds into out. Returns its length; -EINVAL when the ready reply is
 * damaged or q's question has another length; -EMSGSIZE when cap is too
 * small. */
int dnsready_patch(const uint8_t *ready, size_t rlen, const struct dnsq *q, uint32_t age_s,
		   uint8_t *out, size_t cap);

#endif
