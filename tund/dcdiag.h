/* dcdiag.h - why this node is not registered with its DC, in words a user
 * can act on: for `ntmctl status` (DC_INFO and DC_HINT) and the log. Pure:
 * the DC link's state and the time in, two lines of text out. In
 * libtund.a, tested by tests/unit/test_dcdiag.c.
 *
 * These cases are told apart: no answer at all (the DC host is down, UDP
 * is dropped, or [DC] PublicKey is wrong: the DC drops a handshake with a
 * bad mac1 unanswered), an ICMP error for the DC's endpoint instead (its
 * host says nothing listens on the port: ntm-dcd is not running; no route
 * to it; a firewall rejects), the DC refused our key (not enrolled: the
 * command that enrols it), the DC refused our clock (by how much), and no
 * answer since a time after earlier answers (the DC went down or the path
 * broke). */
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
	DCDIAG_NO_LISTENER,   /* ICMP port unreachable from the DC's host */
	DCDIAG_UNREACHABLE,   /* ICMP host or network unreachable */
	DCDIAG_PROHIBITED,    /* ICMP administratively prohibited: a firewall rejects */
};

/* What an ICMP error about a datagram to the DC says. */
enum dcdiag_icmp {
	DCDIAG_ICMP_NONE,     /* not an ICMP error, or one that says nothing here */
	DCDIAG_ICMP_PORT,     /* port unreachable: nothing listens */
	DCDIAG_ICMP_HOST,     /* host, address or network unreachable */
	DCDIAG_ICMP_PROHIBITED,
};

/* An ICMP error becomes old this long after it came: a DC that answered
 * later, or a minute of silence since, is no longer described by it. */
#define DCDIAG_ICMP_FRESH_MS 60000

/* Classify an error-queue message: origin SO_EE_ORIGIN_ICMP (2, ICMP type
 * 3 codes) or SO_EE_ORIGIN_ICMP6 (3, ICMPv6 type 1 codes). Pure. */
enum dcdiag_icmp dcdiag_icmp_kind(uint8_t origin, uint8_t type, uint8_t code);

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
	enum dcdiag_icmp icmp;     /* the last ICMP error for the DC's endpoint */
	uint64_t icmp_ms;          /* when it came (now_ms's clock), 0: never */
	const char *icmp_from;     /* who sent it, as text, or NULL */
};

#define DCDIAG_INFO_MAX 128    /* NTM_LCTL_INFO_SIZE */
#define DCDIAG_HINT_MAX 256    /* NTM_LCTL_HINT_SIZE */

/* Which case, and its two lines (empty for DCDIAG_NONE): info says what is
 * wrong, hint what to do. */
enum dcdiag_kind dcdiag_describe(const struct dcdiag_in *in, char *info, size_t info_cap,
				 char *hint, size_t hint_cap);

#endif
