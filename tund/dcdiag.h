/* dcdiag.h - why this node is not registered with its DC, in words a user
 * can act on: for `ntmctl status` (DC_INFO and DC_HINT) and the log. Pure:
 * the DC link's state and the time in, two lines of text out. In
 * libtund.a, tested by tests/unit/test_dcdiag.c.
 *
 * Four cases are told apart: no answer at all (the DC is down, UDP is
 * blocked, or [DC] PublicKey is wrong: the DC drops a handshake with a bad
 * mac1 unanswered), the DC refused our key (not enrolled: the command that
 * enrols it), the DC refused our clock (by how much), and no answer since
 * a time after earlier answers (the DC went down or the path broke). */
#ifndef NTM_TUND_DCDIAG_H
#define NTM_TUND_DCDIAG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "wire.h"

enum dcdiag_kind {
	DCDIAG_NONE,          /* registered, or too early to say */
	DCDIAG_SILENT,        /* no answer at all */
	DCDIAG_WENT_DOWN,     /* no answer since a time, after earlier answers */
	DCDIAG_NOT_ENROLLED,  /* HANDSHAKE_REFUSE: key not enrolled */
	DCDIAG_CLOCK,         /* HANDSHAKE_REFUSE: timestamp */
};

struct dcdiag_in {
	bool registered;           /* REGISTER_ACK OK and keepalives answered */
	unsigned failures;         /* unanswered attempts in a row */
	bool refused;              /* the last answer was a HANDSHAKE_REFUSE */
	struct ntm_refuse why;     /* its payload, when refused */
	uint8_t ours[12];          /* our clock (TAI64N) when it came */
	uint64_t last_heard_ms;    /* last authenticated datagram from the DC, 0: never */
	uint64_t now_ms;           /* same clock as last_heard_ms */
	time_t now_wall;           /* wall clock now, for "since HH:MM:SS" */
	const char *endpoint;      /* the DC endpoint in use, as text ("192.0.2.1:7540") */
	const char *host;          /* as configured when a host name, else NULL */
	uint16_t port;             /* the DC's UDP port */
	const char *name;          /* this node's name as configured */
	const char *key;           /* this node's public key, base64 */
};

#define DCDIAG_INFO_MAX 128    /* NTM_LCTL_INFO_SIZE */
#define DCDIAG_HINT_MAX 256    /* NTM_LCTL_HINT_SIZE */

/* Which case, and its two lines (empty for DCDIAG_NONE): info says what is
 * wrong, hint what to do. */
enum dcdiag_kind dcdiag_describe(const struct dcdiag_in *in, char *info, size_t info_cap,
				 char *hint, size_t hint_cap);

#endif
