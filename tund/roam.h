/* roam.h - the decisions that keep a tunnel alive while addresses change,
 * as pure functions of state, time and input (no sockets, no clock), so
 * tests/unit/test_roam.c can script roaming, rebinding, double moves and
 * forgeries. path.c and peer.c act on the verdicts; doc/protocol.md
 * section 2.8 is the specification and names the timers.
 *
 *   roam_open       open a DATA datagram in a session and say whether its
 *                   counter is the newest the session has seen;
 *   roam_decide     an authenticated datagram from the peer: does the
 *                   endpoint we send to move to its source?
 *   roam_liveness   what the peer sweep owes a live session now: a passive
 *                   keepalive, or a new handshake because the peer went
 *                   silent, or the end of a path check after a move. */
#ifndef NTM_ROAM_H
#define NTM_ROAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "session.h"

/* Timers (doc/protocol.md section 7). */
#define PASSIVE_KEEPALIVE_MS 2000 /* data received and nothing sent back this long: a keepalive */
#define RX_SILENT_MS 5000         /* data sent and nothing heard this long: a new handshake */
#define PATH_VERIFY_MS 1000       /* after a move, the direct path answers within this or we relay */
#define PATH_HOLD_MS 1000         /* after an upgrade, the peer's packets from worse paths were in flight */

/* Open DATA in s (ntm_session_open); counter is the one its header carries
 * (the caller decoded it to find s); *newest tells whether it is above
 * every counter s accepted before. Only a newest datagram
 * may move an endpoint: a delayed or duplicated copy tells nothing about
 * where the peer is now. 0 or ntm_session_open's -errno (then nothing was
 * accepted and *newest is false). */
int roam_open(struct ntm_session *s, uint8_t *buf, size_t len, uint64_t counter, size_t *ptlen,
	      bool *newest);

/* An authenticated datagram (it decrypted and passed the replay check). */
struct roam_rx {
	bool via_relay;       /* inside a relay capsule */
	bool newest;          /* roam_open's verdict */
	bool from_ep;         /* from the endpoint and socket we send to */
	bool worse_known;     /* from a candidate of lower priority than our endpoint's */
	bool upgrade_fresh;   /* a probe reply moved our endpoint up within PATH_HOLD_MS */
};

enum roam_verdict {
	ROAM_NONE,            /* nothing to change (relayed, or an old counter) */
	ROAM_REFRESH,         /* our endpoint answered: it is proven again */
	ROAM_MOVE,            /* the peer sends from elsewhere now: send there */
};

/* Whether we send directly now does not matter: a relayed peer whose
 * newest datagram comes directly has a direct path again. Right after a
 * probe reply moved us to a better candidate, the peer's newest datagrams
 * still come from the worse path it used until our packets reach it:
 * following them would undo the upgrade, and the peer, following ours,
 * would swap back too (the two flapped between LAN and IPv6). So for
 * PATH_HOLD_MS such a datagram from a worse known candidate moves nothing. */
enum roam_verdict roam_decide(const struct roam_rx *rx);

/* A live session's timestamps (ms on one monotonic clock; 0 = never). */
struct roam_live {
	uint64_t tx_unanswered_ms;  /* first data we sent since we last heard from the peer */
	uint64_t rx_unanswered_ms;  /* first data we received since we last sent anything */
	uint64_t verify_ms;         /* a move (ours or the peer's) asked for a path check */
	uint64_t direct_rx_ms;      /* last authenticated datagram received directly */
	bool direct;                /* we send directly */
	bool has_relay;
};

enum {
	ROAM_DO_KEEPALIVE = 1,      /* send an empty DATA now */
	ROAM_DO_HANDSHAKE = 2,      /* the peer is silent: handshake everywhere (any role) */
	ROAM_DO_RELAY = 4,          /* the direct path failed its check: relay, keep probing */
	ROAM_DO_VERIFIED = 8,       /* the check is over (passed, or acted on): clear verify_ms */
};

/* What to do at now: a set of ROAM_DO_* bits. */
unsigned roam_liveness(const struct roam_live *l, uint64_t now);

/* The endpoint we send to becomes to (through our socket to_fd, 0: the main
 * one): does the mark "this endpoint refused a UDP_SEGMENT train" (set on
 * EINVAL: the route's MTU below a segment, say) still hold? Only for the
 * same endpoint through the same socket; a new endpoint is another route,
 * and trains are tried there again. */
struct sockaddr;
bool roam_no_gso_keep(bool no_gso, bool had_ep, const struct sockaddr *ep, int ep_fd,
		      const struct sockaddr *to, int to_fd);

#endif
