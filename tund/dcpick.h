/* dcpick.h - which of the zone's DC instances the node talks to, and when
 * it gives up on one (doc/protocol.md 5.4, "Several DC instances"). Pure: the DC link (dclink.c)
 * hands in what happened and the time, and gets back the instance to use
 * and what to send; no sockets, no clock. Tested by tests/unit/test_dcpick.c.
 *
 * Instances of one zone share the DC key and the registry, so any of them
 * registers the node with the same virtual addresses. The node starts
 * with the first and goes through them in the configured order: a
 * handshake no instance answers moves on to the next at once (the backoff
 * doubles only after a whole round), and an instance that stops answering
 * REGISTER or keepalives is left for the next with a new handshake at
 * once. Nothing brings the node back to an earlier instance while the one
 * in use answers, so it never flaps between two. With one instance
 * nothing changes from a single DC: a lost session is a DC restart, and
 * the node handshakes with it again. */
#ifndef NTM_DCPICK_H
#define NTM_DCPICK_H

#include <stdbool.h>
#include <stdint.h>

#define DCPICK_MAX 8                   /* TUND_DC_MAX */

enum dcpick_event {
	DCP_HS_SILENT,                     /* a handshake got no answer at all */
	DCP_REGISTER_LOST,                 /* REGISTER went unanswered every try */
	DCP_KEEPALIVES_LOST,               /* DC_MISSED_ACKS keepalives went unanswered */
	DCP_REGISTERED,                    /* a REGISTER_ACK (OK) came */
};

enum dcpick_action {
	DCP_NONE = 0,
	DCP_HANDSHAKE,                     /* a new handshake with `use`, after backoff_ms */
};

struct dcpick {
	unsigned n;                        /* instances configured, 1..DCPICK_MAX */
	unsigned have;                     /* bit i: instance i has an address we can send to */
	unsigned cur;                      /* the one in use */
	unsigned tried;                    /* instances left unanswered in this round */
	uint64_t since_ms;                 /* when cur became the one in use */
	uint64_t switches;                 /* how often it changed */
};

struct dcpick_out {
	enum dcpick_action action;
	unsigned use;                      /* the instance to send to */
	bool switched;                     /* use differs from the one before */
	bool reset_backoff;                /* backoff back to its minimum first */
	bool double_backoff;               /* a whole round failed: double it first */
};

/* n instances (1..DCPICK_MAX); have: the usable ones (bit i), not 0. Starts
 * with the first usable one. */
void dcpick_init(struct dcpick *p, unsigned n, unsigned have, uint64_t now_ms);

/* What happened to the instance in use at now_ms: which instance next and
 * what to send it. */
struct dcpick_out dcpick_on(struct dcpick *p, enum dcpick_event ev, uint64_t now_ms);

/* How long the node waits for each KEEPALIVE_ACK before counting the
 * keepalive as missed: min(DC_ACK_TIMEOUT_MAX, interval) with one
 * instance (a DC restart is waited out). With several, a dead instance
 * is left sooner: the wait follows the measured round trip, 4 x srtt_ms +
 * DCPICK_ACK_SLACK_MS, at least DCPICK_ACK_MIN_MS (a DC busy for a moment
 * is not left), at most a third of the interval (also the wait before any
 * round trip is known). Either way DC_MISSED_ACKS keepalives in a row
 * must go unanswered, so one lost datagram moves nobody. */
#define DCPICK_ACK_MIN_MS 500
#define DCPICK_ACK_SLACK_MS 100
uint64_t dcpick_ack_timeout(unsigned n, uint64_t keepalive_ms, uint64_t max_ms, uint32_t srtt_ms);

/* The smoothed round trip after a sample (7/8 old + 1/8 new; the first
 * sample taken as it is). */
uint32_t dcpick_srtt(uint32_t srtt_ms, uint64_t sample_ms);

#endif
