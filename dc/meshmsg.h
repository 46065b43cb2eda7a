/* meshmsg.h - what DC instances of one zone sharing a PostgreSQL registry
 * tell each other through it (doc/protocol.md section 9): a node's
 * presence (the row another instance reads to direct a route to it) and a
 * Mesh Direction (the NOTIFY payload asking the target's instance to send
 * it a Route Direction). Pure encoders and bounds-checked decoders: the
 * bytes come from the database, which the DC trusts no more than it must.
 * Route IDs carry the instance that made them in their top byte, so two
 * instances never hand out the same ID. */
#ifndef NTM_MESHMSG_H
#define NTM_MESHMSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wire.h"

#define NTM_MESH_VERSION 1
#define NTM_MESH_INSTANCE_MAX 255       /* instances are 1..255 */
#define NTM_MESH_DIRECT 1               /* the Mesh Direction's type byte */
#define NTM_MESH_MOVED 2                /* a Mesh Move's: a route's other end moved */
/* Longest encodings: a presence row (1 + 19 + 1 + 16 * 19 bytes) and a
 * Mesh Direction (76 + 1 + 16 * 21 + 1 + 56), and its hex text with the NUL:
 * far below NOTIFY's 8000-byte payload limit. */
#define NTM_MESH_PRESENCE_MAX 325
#define NTM_MESH_DIRECT_MAX 470
#define NTM_MESH_TEXT_MAX (2 * NTM_MESH_DIRECT_MAX + 1)

/* A node as its instance saw it: the endpoint it observed (family 0: none)
 * and the local addresses the node reported. */
struct ntm_mesh_presence {
	struct ntm_endpoint observed;
	uint8_t naddrs;
	struct ntm_endpoint addrs[NTM_MAX_ADDRS];
};

/* "Send target a Route Direction to peer": everything the target's
 * instance cannot read from the registry itself. A Mesh Move (type
 * NTM_MESH_MOVED) has the same fields and says "peer, at the sender's
 * instance, moved: direct target again on route_id (which either instance
 * made) with these candidates"; it carries no relay part (the target's
 * instance kept the one it sent). */
struct ntm_mesh_direct {
	uint8_t type;                   /* NTM_MESH_DIRECT (0 is taken as it) or NTM_MESH_MOVED */
	uint8_t from_instance;          /* 1..255; a Mesh Direction's route ID's top byte */
	uint64_t route_id;
	uint8_t suite;                  /* of the node-node handshake */
	uint8_t target_key[32];         /* the node to direct (responder; a Move: either) */
	uint8_t peer_key[32];           /* the requester (initiator; a Move: the mover) */
	uint8_t ncands;
	struct ntm_candidate cands[NTM_MAX_CANDS]; /* the requester's (the mover's) */
	uint8_t has_relay;
	struct ntm_endpoint relay_ep;   /* the relay, as the target reaches it */
	uint32_t relay_alloc_id;
	uint8_t relay_side;             /* the target's side: 1 */
	uint8_t relay_key[32];          /* the target's side key */
};

/* Encoders return the length written, or -ENOSPC/-EINVAL (a field out of
 * range). Decoders take the whole message and return 0 or -EINVAL. */
int ntm_mesh_presence_encode(const struct ntm_mesh_presence *p, uint8_t *buf, size_t cap);
int ntm_mesh_presence_decode(const uint8_t *buf, size_t len, struct ntm_mesh_presence *p);
int ntm_mesh_direct_encode(const struct ntm_mesh_direct *d, uint8_t *buf, size_t cap);
int ntm_mesh_direct_decode(const uint8_t *buf, size_t len, struct ntm_mesh_direct *d);

/* Hex text (lower case) of a Mesh Direction, for NOTIFY, and back: text is
 * NUL-terminated; from_text accepts only an even number of hex digits of
 * at most 2 * NTM_MESH_DIRECT_MAX, then decodes. */
int ntm_mesh_direct_to_text(const struct ntm_mesh_direct *d, char *text, size_t cap);
int ntm_mesh_direct_from_text(const char *text, struct ntm_mesh_direct *d);

/* The candidates a Route Direction offers for a node (as dc_route.c
 * builds them): its local addresses first (IPv6 priority 30, IPv4 LAN
 * 20), then the observed endpoint (NAT, 10), duplicates dropped, at most
 * NTM_MAX_CANDS. Returns the count written to cands. */
uint8_t ntm_mesh_cands(const struct ntm_mesh_presence *p, struct ntm_candidate *cands);

/* Two instances directing one pair at once (each node asked its own DC
 * within the same moment) made two routes: each DC, holding its own
 * recent route `ours` for the pair, acts on the other's Mesh Direction
 * (`theirs`) only if it wins, so both nodes end on the same route: the
 * smaller ID wins. */
bool ntm_mesh_theirs_wins(uint64_t ours, uint64_t theirs);

/* A route ID from 64 random bits: the instance in the top byte. */
uint64_t ntm_mesh_route_id(uint64_t rnd, uint8_t instance);
/* The instance a route ID was made by. */
uint8_t ntm_mesh_route_instance(uint64_t route_id);

#endif
