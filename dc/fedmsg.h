/* fedmsg.h - the messages two DCs of federated zones exchange inside
 * their Noise IK session (purpose 4, doc/protocol.md 10): FED_DIRECTION_REQ
 * and FED_DIRECTION_RESP. Each carries a ROUTE_DIRECTION (5.6) ready for
 * the receiving DC's node, so its fields are checked by the same decoder
 * as a node's. Pure: no I/O, no allocation, no logging. */
#ifndef NTM_FEDMSG_H
#define NTM_FEDMSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wire.h"

enum ntm_fed_type { NTM_FED_DIRECTION_REQ = 1, NTM_FED_DIRECTION_RESP = 2 };

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

struct ntm_fed_msg {
	uint8_t type;                   /* enum ntm_fed_type */
	union {
		struct ntm_fed_req req;
		struct ntm_fed_resp resp;
	} u;
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

/* Encode m into buf: the length, -EMSGSIZE or -EINVAL. */
int ntm_fed_encode(const struct ntm_fed_msg *m, uint8_t *buf, size_t cap);
/* Decode a whole message: 0 or -EBADMSG. */
int ntm_fed_decode(const uint8_t *buf, size_t len, struct ntm_fed_msg *m);

#endif
