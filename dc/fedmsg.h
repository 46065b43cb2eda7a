/* fedmsg.h - the messages two DCs of federated zones exchange inside
 * their Noise IK session (purpose 4, doc/protocol.md 10): FED_DIRECTION_REQ
 * and FED_DIRECTION_RESP, each carrying a ROUTE_DIRECTION (5.6) ready for
 * the receiving DC's node, so its fields are checked by the same decoder
 * as a node's; and FED_ROUTE_MOVED (10.5), one end of a federated route
 * moved: its fresh candidates for the other end. Pure: no I/O, no
 * allocation, no logging. */
#ifndef NTM_FEDMSG_H
#define NTM_FEDMSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wire.h"

enum ntm_fed_type { NTM_FED_DIRECTION_REQ = 1, NTM_FED_DIRECTION_RESP = 2, NTM_FED_ROUTE_MOVED = 3 };

enum ntm_fed_status {
	NTM_FED_OK = 0,
	NTM_FED_NOT_FOUND = 1,   /* no such node enrolled in the answering zone */
	NTM_FED_OFFLINE = 2,     /* enrolled, not registered now */
	NTM_FED_REFUSED = 3,     /* not the answering DC's zone, or the asker's name is
				  * not under the asking DC's zone */
	NTM_FED_BUSY = 4,        /* the answering DC could not hold the route */
	NTM_FED_FORBIDDEN = 5,   /* the answering DC's access policy does not let the
				  * asking node initiate to the target */
	NTM_FED_STATUS_MAX = 5,
};

/* FED_DIRECTION_REQ: the asking DC's node (the initiator) wants `target`.
 * route describes the initiator for the target node: its name, key,
 * addresses, candidates, the route ID and suite, role responder, and the
 * relay allocation's side 1 (the target's) when there is one; req_id 0. */
struct ntm_fed_req {
	uint32_t req_id;                /* non-zero, the asking DC's */
	struct ntm_name target;
	struct ntm_ctl_route_direction route;
};

/* FED_DIRECTION_RESP: status, and with NTM_FED_OK the target described
 * for the initiator (role, relay and req_id left for the asking DC: the
 * asking DC fills them in). */
struct ntm_fed_resp {
	uint32_t req_id;                /* the request's */
	uint8_t status;                 /* enum ntm_fed_status */
	struct ntm_ctl_route_direction route;   /* with NTM_FED_OK only */
};

/* FED_ROUTE_MOVED: the sending DC's node `mover_name` (key mover_key),
 * one end of route route_id, moved; the receiving DC's node with
 * target_key, the other end, is to be directed again with these
 * candidates (kinds LAN, NAT-observed or IPv6: the relay part stays what
 * the node was given). Unanswered: sent twice with the same move_id, and
 * acted on both times (the second re-checks a path the first may have
 * tried while the network still settled). */
struct ntm_fed_moved {
	uint32_t move_id;               /* non-zero; the same in both copies of one move */
	uint64_t route_id;              /* non-zero */
	uint8_t mover_key[32];
	uint8_t target_key[32];
	struct ntm_name mover_name;
	uint8_t ncands;                 /* 0..NTM_MAX_CANDS */
	struct ntm_candidate cands[NTM_MAX_CANDS];
};

struct ntm_fed_msg {
	uint8_t type;                   /* enum ntm_fed_type */
	union {
		struct ntm_fed_req req;
		struct ntm_fed_resp resp;
		struct ntm_fed_moved moved;
	} u;
};

/* Why a FED_ROUTE_MOVED is not acted on (ntm_fed_check_moved). */
enum ntm_fed_moved_verdict {
	NTM_FED_MOVED_OK = 0,
	NTM_FED_MOVED_ZONE,             /* the mover is not a name of the session's zone */
	NTM_FED_MOVED_ROUTE,            /* no such route held for that pair from that zone */
};

/* Is name strictly below zone (both canonical)? */
bool ntm_fed_below(const char *name, const char *zone);

/* The answering DC's check of a request that came on the session of the
 * DC pinned for peer_zone, before any look-up: NTM_FED_OK to go on, else
 * NTM_FED_REFUSED (the described node is not a name of peer_zone, its role
 * is not responder, or the target is not a full name under own_zone). */
uint8_t ntm_fed_check_request(const struct ntm_fed_req *q, const char *own_zone,
			      const char *peer_zone);

/* The asking DC's check of an OK answer to its request for target with
 * route_id: it must describe target, carry that route ID, and name no
 * address of our own prefixes (prefix bytes and lengths; a length of 0:
 * no prefix of that family). */
bool ntm_fed_check_answer(const struct ntm_fed_resp *a, const char *target, uint64_t route_id,
			  const uint8_t own4[4], unsigned plen4, const uint8_t own6[16],
			  unsigned plen6);

/* The receiving DC's check of a FED_ROUTE_MOVED that came on a session of
 * the DC pinned for peer_zone. held: the ROUTE_DIRECTION this DC last sent
 * its node for m->route_id, NULL when it holds none from that zone; our:
 * that node's key (the target must be it). */
enum ntm_fed_moved_verdict ntm_fed_check_moved(const struct ntm_fed_moved *m, const char *peer_zone,
					       const struct ntm_ctl_route_direction *held,
					       const uint8_t our_key[32]);

/* Encode m into buf: the length, -EMSGSIZE or -EINVAL. */
int ntm_fed_encode(const struct ntm_fed_msg *m, uint8_t *buf, size_t cap);
/* Decode a whole message: 0 or -EBADMSG. */
int ntm_fed_decode(const uint8_t *buf, size_t len, struct ntm_fed_msg *m);

#endif
