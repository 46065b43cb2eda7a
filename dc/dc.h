/* dc.h - ntm-dcd's state, shared by its files:
 *   dcd.c       main: options, configuration, key, sockets, event loop
 *   dc_proto.c  datagrams: handshakes, sessions, REGISTER and KEEPALIVE
 *   dc_route.c  Direction Requests and Route Directions (with a relay
 *               allocation each)
 *   dc_push.c   live routes, and Route Directions sent again unasked when
 *               a node moves or restarts
 *   dc_relay.c  relays: the embedded one, and sessions with standalone
 *               ntm-relayd instances (RELAY_ALLOC / RELAY_ALLOC_ACK)
 *   dc_ctl.c    the local control socket (ntm-dcctl stats, reload)
 *   dc_registry.c  the enrolled keys held in memory, following the
 *               database
 *   dc_fed.c    federation: sessions with other zones' DCs (pinned keys,
 *               found through DNS) and Direction Requests across zones
 *   dc_mesh.c   instances of one zone sharing a PostgreSQL registry:
 *               presence rows and Mesh Directions (LISTEN/NOTIFY)

 *   dc_policy.c the access policy ([Policy] File): who may initiate to whom */
#ifndef NTM_DC_H
#define NTM_DC_H

#include <stdbool.h>
#include <stdint.h>

#include "ctlserver.h"
#include "dc_config.h"
#include "dc_diag.h"
#include "evloop.h"
#include "feddns.h"
#include "fedmsg.h"
#include "idmap.h"
#include "hsgate.h"
#include "keyset.h"
#include "nodeidx.h"
#include "policy.h"
#include "ratelimit.h"
#include "relay.h"
#include "session.h"
#include "store.h"
#include "udp.h"

/* Handshake admission (doc/protocol.md 7): the DC completes about 4,200
 * handshakes a second on one core of the test machine (238 us each, 119 of
 * them to reject an unknown key; tools: a loop over ntm_hs_respond_*), so
 * the global budget is half of that; a cookie reply costs 1.5 us. */
#define DC_HSGATE_CONF { .global_rate = 1000, .reserve_pct = 25, .src_rate = 50, \
			 .proven_rate = 50, .cookie_rate = 20, .cookie_global = 20000, \
			 .recent_ms = 600000 }

/* Every datagram the DC receives is counted once in rx and, unless it led
 * to a state change, in exactly one drop counter. None of the drops is ever
 * answered. */
#define DC_STATS(X) \
	X(rx_packets, "datagrams received") \
	X(tx_packets, "datagrams sent") \
	X(handshakes, "handshakes completed") \
	X(registrations, "REGISTER accepted") \
	X(register_refused, "REGISTER refused (name does not match the key's enrolment)") \
	X(keepalives, "KEEPALIVE answered") \
	X(directions, "DIRECTION_REQ answered with ROUTE_DIRECTION to both nodes") \
	X(lookups_memory, "look-ups of a node by name or address answered from memory (registered here), no registry query") \
	X(direction_naks, "DIRECTION_REQ answered with DIRECTION_NAK") \
	X(expired, "nodes expired (no keepalive within the lifetime)") \
	X(drop_malformed, "dropped: malformed or unknown message") \
	X(drop_bad_mac, "dropped: handshake with a wrong mac1 (not for us; costs nothing)") \
	X(cookies_sent, "COOKIE_REPLY sent: under load, a handshake without a valid mac2") \
	X(drop_ratelimit, "dropped: handshake over its source's limit, or its cookie reply over the reply limits") \
	X(drop_overload, "dropped: handshake over the DC's global handshake budget") \
	X(drop_unauth, "dropped: handshake failed authentication") \
	X(drop_unenrolled, "dropped: handshake from a key that is not enrolled") \
	X(drop_replayed_hs, "dropped: handshake timestamp not newer, refusal rate-limited (replay)") \
	X(hs_refused, "HANDSHAKE_REFUSE sent (timestamp not newer, or ahead of the DC's clock)") \
	X(hs_refused_unenrolled, "HANDSHAKE_REFUSE sent to a key that is not enrolled") \
	X(drop_refuse_limit, "dropped unanswered: refusal to an unenrolled key over DC_DIAG_REFUSE_RATE") \
	X(diag_logs_suppressed, "bad mac1, unenrolled and clock-skew log lines not written (rate limits)") \
	X(registry_reloads, "enrolled keys read from the registry (at start and after changes)") \
	X(drop_unknown_index, "dropped: DATA for an unknown session") \
	X(drop_data_auth, "dropped: DATA failed authentication") \
	X(drop_data_replay, "dropped: DATA counter replayed or too old") \
	X(drop_bad_control, "dropped: control message malformed or not for the DC") \
	X(route_limit, "DIRECTION_REQ refused: the node made DC_MAX_ROUTES_PER_NODE routes") \
	X(policy_denied, "DIRECTION_REQ answered with DIRECTION_NAK FORBIDDEN (the access policy)") \
	X(policy_reloads, "access policy files read (at start, SIGHUP, ntm-dcctl reload)") \
	X(moves_seen, "REGISTER or KEEPALIVE with a new observed endpoint or address list") \
	X(restarts_seen, "REGISTER with a new incarnation (the node restarted)") \
	X(routes_pushed, "routes directed again to both nodes unasked (a node moved or restarted)") \
	X(routes_renewed, "of those, routes replaced by a new route ID (a node restarted)") \
	X(routes_relayed, "ROUTE_DIRECTIONs that offered a relay allocation") \
	X(routes_unrelayed, "ROUTE_DIRECTIONs without a relay (none available)") \
	X(standalone_handshakes, "sessions with standalone relays established") \
	X(standalone_allocs, "allocations sent to standalone relays") \
	X(standalone_alloc_acks, "RELAY_ALLOC_ACK OK from standalone relays") \
	X(standalone_alloc_refused, "RELAY_ALLOC_ACK refusals (relay full or duplicate ID)") \
	X(standalone_down, "standalone relays marked down (no answer)") \
	X(drop_relay_session, "dropped: datagram from a standalone relay that did not authenticate") \
	X(netcheck_echoes, "NETCHECK_PROBE answered with NETCHECK_ECHO") \
	X(drop_netcheck_rate, "dropped: NETCHECK_PROBE over the node's limit (DC_NETCHECK_MAX per DC_NETCHECK_WINDOW)") \
	X(fed_handshakes, "sessions with federated zones' DCs established (either side)") \
	X(fed_requests, "FED_DIRECTION_REQ sent to federated zones' DCs") \
	X(fed_answered, "FED_DIRECTION_REQ answered OK for one of our nodes") \
	X(fed_dns_lookups, "DNS look-ups of federated zones' DCs started") \
	X(fed_dns_done, "of those, ended (found, failed or timed out): fewer while one runs") \
	X(fed_directions, "ROUTE_DIRECTIONs to our nodes for a node of a federated zone") \
	X(drop_fed, "dropped: federation datagram from no pinned key, not authentic, or unexpected") \
	X(fed_routes_kept, "federated routes held for our nodes (kept to tell their moves, and to take the other end's)") \
	X(fed_routes_unkept, "federated routes not held: DC_FED_ROUTES_PER_NODE or DC_FED_ROUTES_MAX reached, or a route ID clash") \
	X(fed_moved_sent, "FED_ROUTE_MOVED sent: a node of ours with federated routes moved (each copy counted)") \
	X(fed_moved_unsent, "moves not told: no session with the other zone's DC in time") \
	X(fed_moved_directed, "FED_ROUTE_MOVED acted on (each copy): our node directed again with the mover's new candidates") \
	X(fed_moved_dropped, "FED_ROUTE_MOVED dropped: the mover not of the session's zone, no such route held for the pair, or our node not registered") \
	X(mesh_presence_writes, "presence rows written or removed (registration, move, leaving)") \
	X(mesh_sent, "DIRECTION_REQ for a node at another instance: directed, that instance notified") \
	X(mesh_received, "notifications received from other instances") \
	X(mesh_directed, "of those, ROUTE_DIRECTION sent to a node registered here") \
	X(mesh_dropped, "of those, dropped: malformed, or the node is not registered here") \
	X(mesh_glare, "of those, dropped: a route this DC made for the pair at the same time wins") \
	X(mesh_moved_sent, "Mesh Moves sent: a node registered here moved, one per route of it to a node at another instance") \
	X(mesh_moved_directed, "notifications received: a Mesh Move acted on, ROUTE_DIRECTION sent again to a node registered here") \
	X(mesh_errors, "presence or notification failures (database errors, bad presence rows)") \
	X(netcheck_relays, "NETCHECK_RELAYS_REQ answered with NETCHECK_RELAYS") \
	X(drop_nc_relays_rate, "dropped: NETCHECK_RELAYS_REQ over the node's limit (DC_NC_RELAYS_MAX per DC_NETCHECK_WINDOW)")

struct dc_stats {
#define X(name, text) uint64_t name;
	DC_STATS(X)
#undef X
};

struct dc_node {
	struct ntm_node_rec rec;         /* enrolment, as read from the store */
	struct ntm_session sess;
	uint8_t last_ts[12];             /* newest HANDSHAKE_INIT timestamp */
	uint64_t refuse_ms;              /* last HANDSHAKE_REFUSE sent to it, 0: none */
	uint64_t refuse_log_ms;          /* last refusal logged */
	struct sockaddr_storage ep;      /* last authenticated source */
	socklen_t eplen;
	struct ntm_udp_meta via;         /* local address it reached */
	int fd;                          /* the socket it came in on */
	uint64_t last_seen_ms;
	uint64_t registered_ms;          /* 0 = not registered */
	uint64_t incarnation;            /* from REGISTER; 0 before the first */
	uint8_t naddrs;
	struct ntm_endpoint addrs[NTM_MAX_ADDRS];
	struct ntm_endpoint reported_ep; /* observed at the last REGISTER or KEEPALIVE */
	uint64_t push_ms;                /* when its routes were last pushed */
	uint8_t push_due;                /* DC_PUSH_* waiting for the rate limit */
	unsigned nroutes;                /* routes made on its requests (dc_route.c) */
	struct dc_route *routes;         /* routes it is an end of (dc_route_next) */
	struct ntm_window netcheck;      /* NETCHECK_PROBEs answered (DC_NETCHECK_*) */
	struct ntm_window nc_relays;     /* NETCHECK_RELAYS_REQs answered (DC_NC_RELAYS_MAX) */
};
enum { DC_PUSH_MOVED = 1, DC_PUSH_RESTARTED = 2 };
/* Registered now, with a session to reach it: a node routes can be directed to. */
static inline bool dc_node_live(const struct dc_node *n)
{
	return n && n->registered_ms && n->sess.valid;
}
/* Handshake timestamps (protocol.md 2.10): an init stamped more than this
 * ahead of the DC's clock is refused, so a node whose clock was far ahead
 * once cannot lock itself out (until a DC restart) once its clock is set
 * right. */
#define DC_HS_MAX_AHEAD_S 600
/* At most one HANDSHAKE_REFUSE per node this often, and one log line. */
#define DC_REFUSE_MIN_MS 1000
#define DC_REFUSE_LOG_MS 60000
/* NETCHECK_PROBEs answered per node (doc/protocol.md 5.13): at most
 * DC_NETCHECK_MAX in a window of DC_NETCHECK_WINDOW_MS, so that a node
 * cannot make the DC send much (the echo is never larger than the probe). */
#define DC_NETCHECK_MAX 12
#define DC_NETCHECK_WINDOW_MS 2000
/* NETCHECK_RELAYS_REQs answered per node in the same window (5.16): each
 * answer mints a token per relay. */
#define DC_NC_RELAYS_MAX 4
/* A node's routes are pushed at most this often; a change inside the
 * window is pushed when it ends. */
#define DC_PUSH_MIN_MS 500

/* An allocation sent to a standalone relay and not acknowledged yet. */
#define DC_RELAY_PENDING 256
struct dc_relay_pending {
	uint32_t alloc_id;               /* 0: free slot */
	uint8_t key_a[32], key_b[32];
	uint64_t sent_ms;
	unsigned tries;
};

/* A standalone relay (a [Relay.NAME] section): the DC's Noise IK session
 * with it (purpose 3) on a socket connected to it. */
struct dc;
struct dc_relay {
	struct dc *dc;
	const struct dc_relay_conf *conf;
	struct sockaddr_storage ep;      /* where the session goes */
	socklen_t eplen;
	int fd;
	struct ntm_io io;
	struct ntm_hs_pending hs;        /* handshake in flight */
	uint8_t hs_pkt[NTM_HS_INIT_LEN]; /* its HANDSHAKE_INIT (mac2 zero) */
	uint8_t cookie[NTM_COOKIE_LEN];  /* the relay's last cookie (doc/protocol.md 2.9) */
	uint64_t cookie_ms;              /* when it came; 0: none */
	bool cookie_resent;              /* hs_pkt went again at once with it */
	uint64_t hs_sent_ms, next_hs_ms;
	uint64_t backoff_ms;
	struct ntm_session sess;
	uint64_t sess_ms;                /* when sess was established */
	uint64_t last_tx_ms;
	uint64_t last_rx_ms;             /* last authenticated datagram from the relay */
	bool up;
	struct dc_relay_pending pending[DC_RELAY_PENDING];
	struct relay_probe_keys probe_keys; /* sent in RELAY_PROBE_KEY; our clock */
};

/* A request of one of our nodes sent (or to be sent) to a federated zone's
 * DC, until its answer (dc_fed.c). */
#define DC_FED_PENDING 64
#define DC_FED_MSG_MAX 1100
struct dc_fed_pending {
	uint32_t fed_req_id;             /* 0: free slot */
	uint32_t host;                   /* the asking node */
	uint32_t node_req_id;            /* its DIRECTION_REQ's */
	char target[NTM_NAME_MAX + 1];
	uint64_t route_id;
	uint8_t suite;
	bool has_relay;                  /* our node's side of the relay allocation */
	struct ntm_endpoint relay_ep;
	uint32_t alloc_id;
	uint8_t relay_key[32];
	uint64_t created_ms, sent_ms;
	unsigned tries;
	bool relay_tried;                /* the allocation is made at the first send,
					  * when the peer DC's view of us is known */
	struct ntm_fed_msg req;          /* the FED_DIRECTION_REQ */
};

/* A DNS look-up of a federated zone's DC in flight (dc_fed.c): one query
 * at a time on its own UDP socket, on the event loop. */
struct dc_fed_dns {
	struct dc *dc;
	struct dc_fed_peer *peer;
	int fd;                          /* -1: no look-up */
	struct ntm_io io;
	struct ntm_timer timer;          /* the query's timeout */
	struct sockaddr_storage ns;      /* the resolver asked */
	socklen_t nslen;
	uint8_t tries;                   /* sends of this step's query */
	struct feddns l;                 /* the steps, pure (feddns.c) */
};

/* A federated zone's DC: our session to it (out, we initiate and ask) and
 * its session to us (in, it initiates and asks). */
struct dc_fed_peer {
	const struct dc_fed_conf *conf;
	struct sockaddr_storage ep;      /* its DC (Endpoint or DNS) */
	socklen_t eplen;
	bool has_ep;
	uint64_t dns_until_ms;           /* the DNS answer (or failure) holds until */
	struct dc_fed_dns dns;
	struct ntm_hs_pending hs;
	uint64_t hs_sent_ms;
	struct ntm_session out;
	uint64_t out_ms;
	struct ntm_udp_meta out_via;     /* where its answers reach us */
	bool up;
	struct ntm_session in;
	uint64_t in_ms;                  /* when in was established */
	uint8_t in_last_ts[12];
	struct sockaddr_storage in_ep;
	socklen_t in_eplen;
	struct ntm_udp_meta in_via;
	struct dc_fed_pending pending[DC_FED_PENDING];
	bool moves_due;                  /* FED_ROUTE_MOVEDs of ours wait (dc_fed_route) */
};

/* A federated route this DC directed to one of its nodes (dc_fed.c,
 * doc/protocol.md 10.5), kept while the node lists it as live (as
 * struct dc_route, DC_ROUTE_REUSE_MS after it was made or last listed):
 * when the node moves, the other zone's DC is told (FED_ROUTE_MOVED); when
 * the other end moves, its DC tells us and the node gets this direction
 * again with the new candidates. Bounded per node and in all. */
#define DC_FED_ROUTES_PER_NODE 64
#define DC_FED_ROUTES_MAX 4096
#define DC_FED_MOVED_SENDS 2             /* copies of one FED_ROUTE_MOVED (unanswered) */
#define DC_FED_MOVED_REPEAT_MS 1000      /* the second this long after the first */
struct dc_fed_route {
	uint64_t route_id;               /* the key in dc->fed_routes */
	uint32_t host;                   /* our node, this zone's end */
	struct dc_fed_peer *peer;        /* the other end's zone */
	struct ntm_ctl_route_direction dir; /* what our node was sent last, req_id 0: it
					  * describes the other end (name, key) */
	uint64_t created_ms, live_ms;    /* made (or directed again), last listed as live */
	uint32_t alloc_id;               /* an allocation on our embedded relay, 0: none */
	uint8_t relay_key[2][32];        /* its two sides' keys (to install it again) */
	uint32_t move_id;                /* our node's move to tell, 0: none */
	uint8_t move_sends;              /* copies sent of it */
	uint64_t move_ms, move_start_ms; /* the last copy sent, the move seen */
};

/* Instances sharing one PostgreSQL registry (dc_mesh.c). */
#define DC_MESH_BEAT_MS 5000             /* an instance's beat in ntm_instances */
#define DC_MESH_STALE_S 20               /* presence of an instance not beating since is ignored */
#define DC_MESH_CHANNEL_LEN 16           /* "ntm_dc_" and the instance */
#define DC_MESH_GLARE_MS 5000            /* a route made across instances is remembered
					  * this long against a crossing one */
#define DC_MESH_GLARE_MAX 65536          /* routes remembered so, at most */
struct dc_mesh {
	bool on;                         /* PostgreSQL, instance claimed */
	int fd;                          /* the registry socket watched, -1: none */
	struct ntm_io io;
	uint64_t beat_ms;
	bool beat_failing;               /* the last beat failed (logged once) */
	struct ntm_idmap recent;         /* node pair -> struct dc_mesh_recent */
	struct ntm_idmap routes;         /* route ID -> struct dc_mesh_route */
};
struct dc_mesh_recent {
	uint64_t route_id;
	uint64_t made_ms;
};
/* A route across instances as this instance directed its own node (host)
 * on it: kept while the node lists it live, like struct dc_route (for
 * DC_ROUTE_REUSE_MS after it was made or last listed), so that a move of
 * either end can direct the other end again (doc/protocol.md section 9). */
#define DC_MESH_ROUTES_MAX 65536
struct dc_mesh_route {
	uint64_t route_id;
	uint32_t host;                   /* the node here */
	uint64_t made_ms, live_ms;
	uint8_t role, suite;             /* as sent to the node */
	uint8_t peer_key[32];            /* the other end, at another instance */
	bool has_relay;                  /* the node's relay part, as sent */
	struct ntm_endpoint relay_ep;
	uint32_t relay_alloc_id;
	uint8_t relay_side;
	uint8_t relay_key[32];
};

struct dc {
	struct dc_config cfg;
	struct ntm_identity id;
	struct ntm_store *store;
	struct dc_keyset keys;           /* enrolled keys (dc_registry.c) */
	uint64_t keys_version;           /* the store's data_version they are from */
	bool keys_loaded;
	int keys_err;                    /* the last read's error, logged once */
	struct ntm_loop *loop;
	int fd4, fd6;
	struct ntm_io io4, io6;
	struct ntm_idmap by_index;       /* session local index -> node */
	struct ntm_idmap by_host;        /* host index -> node */
	struct dc_nodeidx registered;    /* name, virtual address -> node, a cache (nodeidx.h) */
	struct ntm_idmap routes;         /* node pair -> struct dc_route */
	struct ntm_idmap routes_by_id;   /* route ID -> struct dc_route */
	struct ntm_timer push_timer;     /* pushes held back by the rate limit */
	struct ntm_hsgate gate;          /* handshake admission (lib/hsgate.h) */
	struct dc_diag diag;             /* operator diagnostics' rate limits (dc_diag.h) */
	struct ntm_policy *policy;       /* [Policy] File; NULL: everything allowed */
	struct ntm_signal hup;           /* SIGHUP: read the policy again */
	struct ntm_timer sweep;
	struct dc_stats stats;
	uint64_t started_ms;             /* the loop's clock at start (uptime gauge) */
	struct ntm_ctlsrv *ctl;          /* control socket */
	struct relay relay;              /* the embedded relay (EmbeddedRelay) */
	int rfd4, rfd6;                  /* its sockets, -1 when not open */
	struct ntm_io rio4, rio6;
	size_t nrelays;                  /* standalone relays */
	struct dc_relay relays[DC_MAX_RELAYS];
	struct ntm_timer relay_timer;
	unsigned relay_rr;               /* round robin among standalone relays */
	size_t nfed;                     /* federated zones */
	struct dc_fed_peer fed[DC_MAX_FED];
	struct ntm_timer fed_timer;
	uint64_t fed_log_ms;             /* last "no federation" line (1/s at most) */
	struct ntm_idmap fed_routes;     /* route ID -> struct dc_fed_route */
	uint64_t fed_sweep_ms;           /* their last expiry pass */
	struct dc_mesh mesh;             /* other instances of the zone (dc_mesh.c) */
	uint8_t buf[NTM_MAX_DATAGRAM + 64];
	/* The embedded relay's receive batch (dc_relay.c). */
	struct ntm_udp_rxbatch relay_rx;
	uint8_t relay_bufs[NTM_UDP_BATCH][NTM_MAX_DATAGRAM + 64];
};

/* A route the DC directed between two nodes, reused for ROUTE_REUSE_MS
 * so that requests from both ends meet in one handshake with one
 * initiator, and kept while either node lists it as live (KEEPALIVE), so
 * that it can be directed again when one of them moves or restarts. */
struct dc_route {
	uint64_t route_id;
	uint32_t initiator;              /* host index of the initiating node (side A) */
	uint32_t responder;              /* side B */
	uint64_t incarnation[2];         /* side A's and side B's when it was made */
	uint8_t suite;                   /* of the node-node handshake */
	uint64_t created_ms;
	uint64_t live_ms;                /* last listed as live by A or B, 0: never */
	uint32_t alloc_id;               /* relay allocation, 0: none */
	struct dc_relay *relay;          /* NULL: the embedded relay */
	uint8_t relay_key[2][32];        /* side A's and side B's relay keys */
	struct dc_route *next[2], *prev[2]; /* in side A's and side B's node's list */
};
/* A route expires this long after it was made or last listed as live. */
#define DC_ROUTE_REUSE_MS 120000
/* Routes one node's DIRECTION_REQs may make (one per peer at most): bounds
 * what a node can make the DC hold. */
#define DC_MAX_ROUTES_PER_NODE 1024

/* dc_proto.c */
void dc_send_ctl(struct dc *dc, struct dc_node *n, const struct ntm_ctl *m);
int dc_observed(const struct dc_node *n, struct ntm_endpoint *ep);

/* dc_route.c */
void dc_on_direction_req(struct dc *dc, struct dc_node *n, const struct ntm_ctl_direction_req *q);
bool dc_same_ep(const struct ntm_endpoint *a, const struct ntm_endpoint *b);
/* Adds ep to r's candidates (kind, priority) unless it is there already
 * or the list is full. */
void dc_add_cand(struct ntm_ctl_route_direction *r, uint8_t kind, uint8_t prio,
		 const struct ntm_endpoint *ep);
/* Has a node of rt restarted since rt was made (or is it unknown)? */
bool dc_route_stale(const struct dc *dc, const struct dc_route *rt);
/* A new route ID and relay allocation for rt between a (the initiator)
 * and b, as for a new route; 0 or -ENOMEM (rt unchanged). */
int dc_route_renew(struct dc *dc, struct dc_route *rt, struct dc_node *a, struct dc_node *b);
/* The route after rt in n's list (n->routes), NULL at the end. */
struct dc_route *dc_route_next(const struct dc_route *rt, const struct dc_node *n);
/* ROUTE_DIRECTION for rt to both n (with req_id) and peer (with 0). */
void dc_direct(struct dc *dc, const struct dc_route *rt, struct dc_node *n, struct dc_node *peer,
	       uint32_t req_id);
void dc_expire_routes(struct dc *dc, uint64_t now);
void dc_free_routes(struct dc *dc);

/* dc_policy.c */
/* (Re)read [Policy] File, if configured: 0, or -errno logged with
 * file:line (the policy read before, if any, stays). */
int dc_policy_load(struct dc *dc);
void dc_policy_free(struct dc *dc);
/* SIGHUP reloads the policy. */
int dc_policy_signal(struct dc *dc);
/* Does the policy forbid n's request q? Then DIRECTION_NAK FORBIDDEN has
 * gone to n (counted) and the caller does nothing more. */
bool dc_policy_refuses(struct dc *dc, struct dc_node *n, const struct ntm_ctl_direction_req *q);

/* dc_push.c */
/* What n reported in a REGISTER (incarnation non-zero) or a KEEPALIVE
 * (incarnation 0): its local addresses and its live routes. Call after the
 * answer went out: it may direct n's routes again. */
void dc_node_report(struct dc *dc, struct dc_node *n, uint64_t incarnation, uint8_t naddrs,
		    const struct ntm_endpoint *addrs, uint8_t nroutes, const uint64_t *routes);
void dc_push_tick(struct ntm_timer *t, void *arg);
void dc_on_readable(struct ntm_io *io, uint32_t events, void *arg);
void dc_sweep(struct ntm_timer *t, void *arg);
void dc_node_forget(struct dc *dc, struct dc_node *n);
/* The enrolment of the node of this full name, or of this virtual address
 * (family 4 or 6): from memory when that node is registered here now
 * (nodeidx.h), else from the registry. 0, or the store's error (-ENOENT:
 * no such node). */
int dc_find_by_name(struct dc *dc, const char *fqdn, struct ntm_node_rec *rec);
int dc_find_by_addr(struct dc *dc, int family, const uint8_t *addr, struct ntm_node_rec *rec);
void dc_free_nodes(struct dc *dc);
void dc_log_stats(const struct dc *dc);

/* dc_relay.c */
int dc_relays_open(struct dc *dc);
void dc_relays_close(struct dc *dc);
/* Make an allocation for rt (id and keys filled in) on a standalone relay
 * that is up, else on the embedded relay; 0 or -errno (no relay). */
int dc_relay_allocate(struct dc *dc, struct dc_route *rt);
/* Is the route's relay (if standalone) still up? */
bool dc_relay_route_ok(const struct dc_route *rt);
/* Install rt's allocation again at its relay (the same ID and keys: a
 * no-op where it is still there, a restore where it idled out); 0 or
 * -errno (no allocation, relay down or full). */
int dc_relay_refresh(struct dc *dc, const struct dc_route *rt);
/* The relay endpoint to give node n for rt's allocation; -errno if none. */
int dc_relay_endpoint(const struct dc *dc, const struct dc_route *rt, const struct dc_node *n,
		      struct ntm_endpoint *ep);
const char *dc_relay_name(const struct dc_route *rt);
/* NETCHECK_RELAYS (doc/protocol.md 5.17): the relays n would be given (the
 * embedded one, then the standalone ones up), each with its endpoint for n
 * and a fresh probe token; at most max. Returns how many. */
unsigned dc_relay_netcheck_list(struct dc *dc, const struct dc_node *n, struct ntm_nc_relay *out,
				unsigned max);

/* dc_registry.c */
/* Reads the enrolled keys again if the database changed since the last
 * read (always the first time); forgets sessions of keys that left. 0, or
 * -errno with the old set kept (logged). */
int dc_registry_sync(struct dc *dc);
void dc_registry_free(struct dc *dc);

/* dc_fed.c */
void dc_fed_open(struct dc *dc);
void dc_fed_close(struct dc *dc);
/* A DIRECTION_REQ by name under a federated zone: true when handled here
 * (asked of that zone's DC, or refused); false when the name is under no
 * federated zone (logged when it is under no zone of ours either). */
bool dc_fed_direction(struct dc *dc, struct dc_node *n, const struct ntm_ctl_direction_req *q);
/* A HANDSHAKE_INIT that passed mac1 and the Noise read: true when it is a
 * federation init (purpose 4), answered only for a pinned key. */
bool dc_fed_on_hs_init(struct dc *dc, int fd, struct ntm_hs_responder *r,
		       const struct ntm_udp_meta *m);
/* A HANDSHAKE_RESP: true when it completed one of our federation handshakes. */
bool dc_fed_on_hs_resp(struct dc *dc, const uint8_t *buf, size_t len, const struct ntm_udp_meta *m);
/* DATA for no node session: true when it was for a federation session. */
bool dc_fed_on_data(struct dc *dc, uint8_t *buf, size_t len, const struct ntm_udp_meta *m,
		    uint32_t receiver);
bool dc_fed_index_used(const struct dc *dc, uint32_t idx);
/* n listed these route IDs as live (REGISTER, KEEPALIVE): its federated
 * routes among them are kept DC_ROUTE_REUSE_MS more. */
void dc_fed_live(struct dc *dc, const struct dc_node *n, uint8_t count, const uint64_t *ids,
		 uint64_t now);
/* n moved or restarted (why: DC_PUSH_*), at dc_push.c's rate: after a move
 * each federated route of n is told to its other zone's DC
 * (FED_ROUTE_MOVED, n's fresh candidates) and directed to n again (the
 * other end's candidates as last told); after a restart they are
 * forgotten (n knows none of them). */
void dc_fed_push(struct dc *dc, struct dc_node *n, uint8_t why);
/* dc_mesh.c */
/* Claims [Registry] Instance and listens on its channel (PostgreSQL; a
 * no-op for SQLite); 0 or -errno (logged). Before the sandbox. */
int dc_mesh_open(struct dc *dc);
void dc_mesh_close(struct dc *dc);
/* From the sweep: the instance's beat, and notifications left waiting. */
void dc_mesh_tick(struct dc *dc, uint64_t now);
/* n registered or moved / left: its presence row. */
void dc_mesh_present(struct dc *dc, struct dc_node *n);
void dc_mesh_absent(struct dc *dc, struct dc_node *n);
/* A DIRECTION_REQ of n for target, which is not registered here: true when
 * another instance has it and both copies went out (false: answer as for
 * an offline node). */
bool dc_mesh_direct(struct dc *dc, struct dc_node *n, const struct ntm_node_rec *target,
		    uint32_t req_id);
/* n listed route_id as live (REGISTER, KEEPALIVE): true when it is one of
 * n's routes across instances, kept on from now. */
bool dc_mesh_live(struct dc *dc, const struct dc_node *n, uint64_t route_id, uint64_t now);
/* n moved: a Mesh Move to the instance of each of its routes' other ends.
 * Returns how many were sent. */
unsigned dc_mesh_push(struct dc *dc, struct dc_node *n);

/* dc_ctl.c */
int dc_ctl_open(struct dc *dc, uid_t owner, gid_t group);
void dc_ctl_close(struct dc *dc);
/* Log the control socket's counters (ctl_*), as dc_log_stats does the DC's. */
void dc_ctl_log_stats(const struct dc *dc);

#endif
