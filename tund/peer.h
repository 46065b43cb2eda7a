/* peer.h - ntm-tund's peers: one struct peer per other node this node has
 * asked the DC about or talked to. A peer is created unresolved (the DC has
 * not yet answered a Direction Request for it), becomes resolved with the
 * DC's Route Direction (static key, virtual addresses, candidates), and
 * then holds up to three sessions, as WireGuard does:
 *   cur   the session we send with (confirmed);
 *   next  a session we accepted as responder, until the peer's first DATA
 *         on it confirms the keys; then it becomes cur;
 *   prev  the session cur replaced, kept for packets still in flight.
 * Packets for a peer without a usable session wait in a bounded queue
 * (PEER_QUEUE packets of the MTU, ~23 KB): allocated whole with the first
 * packet that has to wait and freed once it has drained to a usable
 * session (or is dropped), so only peers whose tunnel is being set up
 * hold one; never an allocation per packet. A sweep every PEER_SWEEP_MS retries handshakes, sends
 * keepalives, rekeys and expires sessions (doc/protocol.md section 7). */
#ifndef NTM_PEER_H
#define NTM_PEER_H

#include <stdbool.h>
#include <stdint.h>

#include "ctlserver.h"
#include "relaycap.h"
#include "replay.h"
#include "session.h"
#include "udp.h"
#include "peerlimits.h"

struct tund;

#define PEER_QUEUE 16
#define EARLY_HS 8                    /* initiations kept while their route is on its way */
#define EARLY_HS_MS 3000
#define HS_RETRY_FIRST_MS 250         /* first retry; doubles up to REKEY_TIMEOUT_MS */
#define PEER_SWEEP_MS 250
#define REKEY_TIMEOUT_MS 5000
#define REKEY_ATTEMPT_TIME_MS 90000
#define REKEY_AFTER_MESSAGES (UINT64_C(1) << 60)
#define RESOLVE_WAIT_DEFAULT_MS 1000
#define UNRESOLVED_LINGER_MS 10000    /* an unanswered, unwanted request is dropped */
/* A resolved peer with no session, no handshake, nobody waiting and
 * nothing queued is forgotten this long after its route or last session:
 * MaxPeers then bounds the live peers, not every name ever looked up. */
#define PEER_FORGET_MS 300000
#define PEER_UID_NONE ((uid_t)-1)
#define CAP_LOG_EVERY_MS 10000        /* a refusal for a limit is logged at most this often */
#define DIRECTION_RETRY_MS 1000
#define OVERLAY_TTL 5                 /* seconds, in RESOLVE replies */
/* Probing comes in bursts: rounds at the burst's start and after 200 ms
 * doubling up to 6400 ms (at 0, 0.2, 0.6, 1.4, 3, 6.2, 12.6 s), then a
 * new burst PROBE_UPGRADE_MS after the start of the last while relayed
 * (path upgrade). Round times count from the burst's start, so the two
 * sides of a route, whose first bursts start on the same Route Direction,
 * stay in step. The upgrade period is longer than a burst plus the 30 s
 * Linux conntrack keeps an unanswered UDP flow: what a burst left in a
 * NAT that took our probes itself is gone before the next (doc/protocol.md
 * 2.7). */
#define PROBE_FIRST_MS 200
#define PROBE_BURST_MAX_MS 6400
#define PROBE_UPGRADE_MS 60000
/* A round 0 sends to each NAT-observed IPv4 candidate a probe with this
 * TTL: it opens our own NAT's mapping towards the peer and dies at the
 * router after it, before the peer's NAT can take it for itself. Probes
 * that may reach the peer follow from round 1 on. */
#define PROBE_OPEN_TTL 2
/* How long after its opening probe a NAT-observed candidate gets plain
 * probes. On a Route Direction, which the DC sends both sides at once and
 * which both act on at once, one round (PROBE_FIRST_MS); in a later burst,
 * which each side starts on its own sweep (up to PEER_SWEEP_MS late), this
 * long, so the peer's opening probe has surely gone first. */
#define PROBE_OPEN_LATER_MS (3 * PEER_SWEEP_MS)
/* LANES: sent this many times for a session, this far apart (the first
 * that arrives is the one taken; the rest cost a few bytes). */
#define LANES_SENDS 3
#define LANES_RESEND_MS 1000
#define PROBE_ASK_BACK_MS 100         /* a request answers a request at most this often per candidate */
#define PROBE_ROUTE_FRESH_MS 10000    /* probing without a session stops this long after a route */
#define PATH_MAX_CANDS (NTM_MAX_CANDS + 8) /* the DC's candidates and learned ones */
/* The birthday search (port-restricted <-> symmetric NAT): each side opens
 * BDAY_SOCKETS extra sockets that send opening probes (PROBE_OPEN_TTL)
 * towards the peer's NAT-observed endpoint (new mappings on an
 * endpoint-dependent NAT, never seen by the peer's NAT) and sends BDAY_PROBES probes
 * from its main socket to random ports of the peer's public address (each
 * opens an endpoint-dependent filter for one port). A hit needs one of the
 * guessed ports to be one of the new mappings: with 256 mappings and 2048
 * guesses among 64512 ports, 1 - exp(-256 * 2048 / 64512) = 99.97 %. */
#define BDAY_SOCKETS 256
#define BDAY_PROBES 2048
#define BDAY_AFTER_MS 1000            /* plain probing unanswered this long first */
#define BDAY_SPRAY_MS 2000            /* guesses spread over this long */
#define BDAY_TIMEOUT_MS 6000          /* then the extra sockets are closed */

enum peer_path { PATH_NONE = 0, PATH_DIRECT = 1, PATH_RELAY = 2 };
enum { CAND_LEARNED = 5 };            /* beside NTM_CAND_LAN/NAT/V6: seen in an authenticated probe */

/* A direct address of the peer worth probing. */
struct path_cand {
	struct sockaddr_storage ss;   /* unmapped form */
	socklen_t len;
	uint8_t kind, prio;
	uint64_t probe_sent_ms;
	uint64_t ok_ms;               /* last reply from here (0: never) */
	uint64_t open_ms;             /* last TTL-limited opening probe (0: none) */
	int fd;                       /* our socket that reaches it (0: the main one) */
};

/* A control-socket request waiting for this peer's route. */
struct waiter {
	struct waiter *next;
	struct tund *t;
	struct peer *p;
	struct ntm_ctlconn *conn;
	uint8_t type;                 /* NTM_LCTL_RESOLVE_NAME or _ADDR */
	uint8_t families;
	uint32_t req_id;
	uint64_t deadline_ms;
};

/* A HANDSHAKE_INIT from a key we have no route for yet: the DC sends the
 * Route Direction to both ends at once, so the initiator's message can
 * overtake ours. Kept a few seconds and answered when the route comes. */
struct early_hs {
	uint8_t pkt[NTM_HS_INIT_LEN];
	uint8_t pub[32];
	struct ntm_udp_meta meta;
	uint64_t at_ms;
	bool used;
};

struct peer {
	struct tund *t;
	bool resolved;                /* route from the DC received */
	char name[NTM_NAME_MAX + 1];  /* set when known (by name, or from the route) */
	uint8_t pub[32];
	uint8_t vip4[4], vip6[16];
	bool has_vip4, has_vip6;      /* unresolved-by-address peers know one */
	uint64_t route_id;
	uint8_t suite;
	uint8_t role;
	uint64_t route_ms;            /* when the last Route Direction came */

	/* paths (path.c) */
	uint8_t ncands;
	struct path_cand cands[PATH_MAX_CANDS];
	struct sockaddr_storage ep;   /* the direct endpoint (unmapped form) */
	socklen_t eplen;
	int ep_fd;                    /* our socket for ep (0: the main one) */
	bool has_ep;
	bool relay_no_gso;            /* a UDP_SEGMENT train to the relay was refused (EINVAL);
				       * cleared when the relay's address changes */
	bool ep_no_gso;               /* a UDP_SEGMENT train to ep was refused (EINVAL: the
				       * route's MTU, say): sendmmsg to it until ep changes
				       * (roam_no_gso_keep) */
	enum peer_path path;          /* what we send on */
	uint8_t path_kind;            /* direct: the candidate kind of ep */
	uint8_t path_kind_prio;       /* and its priority */
	uint64_t ep_ok_ms;            /* when ep was last chosen or confirmed */
	uint64_t direct_rx_ms;        /* last authenticated datagram received directly */
	uint8_t probe_key[32];
	bool has_probe_key;
	uint64_t probe_seq;           /* our last probe sequence number */
	struct ntm_replay probe_rx;   /* the peer's probe sequence numbers seen */
	uint64_t probe_next_ms;
	uint64_t probe_burst_ms;      /* when the current burst of rounds started */
	unsigned probe_round;         /* 0: the next round starts a burst */
	uint64_t probe_replies;
	uint8_t hs_pkt[NTM_HS_INIT_LEN]; /* our pending initiation, resent to learned candidates */
	bool has_hs_pkt;
	bool hs_cookie_resent;        /* hs_pkt went again at once with a new cookie's mac2 */
	/* relay (from the Route Direction) */
	bool has_relay;
	struct sockaddr_storage relay_ss;
	socklen_t relay_len;
	uint32_t relay_alloc;
	uint8_t relay_side;
	struct ntm_relay_key relay_key;
	bool relay_key_ok;
	uint64_t relay_tx;            /* next capsule counter */
	struct ntm_replay relay_rx;
	uint64_t relay_tx_ms, relay_rx_ms;
	const char *path_reason;      /* why relayed (static text) */
	uint64_t moved_ms;            /* when ep or the path last changed (0: never) */
	const char *moved_why;        /* and why (static text) */
	uint64_t upgraded_ms;         /* a probe reply last moved ep to a better candidate */
	/* liveness (roam.h) */
	uint64_t tx_unanswered_ms;    /* first data sent since we last heard from the peer */
	uint64_t rx_unanswered_ms;    /* first data received since we last sent anything */
	uint64_t verify_ms;           /* a move asked for a path check then (0: none) */
	const char *verify_why;
	struct bday *bday;            /* a birthday search in progress */
	unsigned bday_tries;          /* per route */
	int own_fd;                   /* a socket kept from a birthday search (0: none) */
	struct ntm_io own_io;

	struct ntm_session cur, next, prev;
	uint64_t cur_ms;              /* when cur was established */
	struct ntm_hs_pending hs;
	uint64_t hs_first_ms, hs_sent_ms;
	unsigned hs_attempts;
	bool hs_wide;                 /* send initiations everywhere (the path in use failed) */
	uint8_t last_ts[12];          /* newest HANDSHAKE_INIT timestamp seen */
	uint64_t last_hs_ms;          /* last completed handshake */

	bool hs_wanted;               /* an initiation waits for the node's budget */
	/* LANES for cur still to send (peer_lanes_add), and when */
	unsigned lanes_left;
	uint64_t lanes_next_ms;
	/* the node's access policy ([Policy] File), evaluated on each Route
	 * Direction: policy_asked, this node asked the DC for the peer (then
	 * it is the initiator); policy_ok, the policy allows the peer to
	 * initiate to us, or us (having asked) to it. Inner packets from a
	 * peer without policy_ok are dropped (policy_drops). */
	bool policy_asked, policy_ok;
	uint64_t dir_sent_ms;         /* last DIRECTION_REQ for this peer */
	bool pending;                 /* counted in tund.pending until resolved or freed */
	uid_t pending_uid;            /* who started it; PEER_UID_NONE: a packet or ping */
	uint32_t dir_req_id;
	struct waiter *waiters;

	uint64_t last_tx_ms, last_rx_ms;
	uint64_t last_data_ms;        /* last IP packet either way (keepalives not counted) */
	uint64_t rx_bytes, tx_bytes;

	uint8_t *qbuf;                /* PEER_QUEUE slots of qslot bytes; NULL: nothing waits */
	size_t qslot;
	uint16_t qlen[PEER_QUEUE];
	unsigned qhead, qcount;
};

/* tables */
int peers_init(struct tund *t);
void peers_free(struct tund *t);
struct peer *peer_by_name(struct tund *t, const char *name);
/* ntmctl down: the tunnel to the peer called name (a full name, lower
 * case) is torn down and the peer forgotten, sessions, route and all, and
 * it leaves the names map at once: the next lookup asks the DC again and
 * sets the tunnel up anew. 0, or -ENOENT when no such peer is known. */
int peer_down(struct tund *t, const char *name);
struct peer *peer_by_addr(struct tund *t, int family, const uint8_t *addr);
/* An unresolved peer for name or address (made if needed), with a
 * Direction Request sent unless one is in flight. NULL: out of memory,
 * or a limit (peer_request_for says which). */
struct peer *peer_request(struct tund *t, const char *name, int family, const uint8_t *addr);
/* The same for a control-socket caller: counts a new request against
 * uid's share. NULL with *err: -ENOENT the DC said it is not enrolled
 * (negative cache), -EBUSY MaxPendingResolves, -EUSERS
 * MaxPendingResolvesPerUser, -ENOSPC MaxPeers, -ENOMEM. */
struct peer *peer_request_for(struct tund *t, const char *name, int family, const uint8_t *addr,
			      uid_t uid, int *err);
/* Is addr inside this node's overlay prefixes? */
bool peer_addr_in_overlay(const struct tund *t, int family, const uint8_t *addr);
/* Is addr, outside our zone's prefix, a resolved peer of a federated zone
 * (doc/protocol.md 10)? Its packets go through ntm0 like an overlay's. */
bool peer_addr_federated(struct tund *t, int family, const uint8_t *addr);

/* Does this node's access policy forbid it to initiate to name (a full
 * name)? Counted in policy_refused when it does. */
bool peer_policy_forbids(struct tund *t, const char *name);

/* from the DC (dclink.c) */
void peer_on_route(struct tund *t, const struct ntm_ctl_route_direction *r);
void peer_on_nak(struct tund *t, const struct ntm_ctl_direction_nak *n);

/* data path (data.c) */
void data_on_tun(struct tund *t, uint8_t *pkt, size_t len);
/* Offload = auto: a packet read from ntm0 with its virtio_net_hdr just before
 * pkt; a GSO super-packet is cut and sent as a train (lib/gso.h). */
void data_on_tun_vnet(struct tund *t, uint8_t *pkt, size_t len);
/* Offload = auto: set up the coalescer (before the first datagram). */
void data_offload_init(struct tund *t);
/* The end of a batch of received datagrams: what the coalescer holds goes
 * to ntm0 now. Nothing is held between batches. */
void data_rx_flush(struct tund *t);
void data_on_udp(struct tund *t, uint8_t *buf, size_t len, const struct ntm_udp_meta *m);
/* A control message (PING, PONG, LANES) p sent in a tunnel, already opened;
 * idx is the receiver index the DATA carrying it came under. */
void data_on_peer_ctl(struct tund *t, struct peer *p, uint32_t idx, const uint8_t *msg,
		      size_t len, const struct ntm_udp_meta *m);
/* Receive lanes (protocol.md 5.18) for s, just shared with the workers
 * (worker.c): one local index per thread, each steered to its thread
 * (index mod threads), s's own among them, entered in the session index as
 * s's is; cur's are then sent to the peer in LANES (LANES_SENDS times,
 * LANES_RESEND_MS apart, from the sweep). Without memory for the index
 * entries: no lanes, and the peer keeps using s's index. */
void peer_lanes_add(struct tund *t, struct peer *p, struct ntm_session *s);
/* p's session (cur, next or prev) that DATA under receiver index idx is
 * for (its own index or one of its lanes), or NULL. */
struct ntm_session *peer_session_by_index(struct peer *p, uint32_t idx);
/* Seal pkt (at buf + NTM_DATA_HDR_LEN) to p's current session and send.
 * 0 or -errno; every failure is counted here by its reason (tx_seal_failed,
 * tx_no_path, tx_send_failed), so a caller with nothing else to do about a
 * lost packet may drop the result. */
int peer_send(struct peer *p, uint8_t *buf, size_t ptlen);
/* Queue a packet until p can send (the queue allocated if p has none; no
 * memory or a full queue: the packet is dropped and counted). */
void peer_enqueue(struct peer *p, const uint8_t *pkt, size_t len);
/* Send what waits while p can send; an emptied queue is freed. */
void peer_flush_queue(struct peer *p);
/* Drop what waits (counted as tun_queue_dropped) and free the queue. */
void peer_drop_queue(struct peer *p);
void peer_start_handshake(struct peer *p);
bool peer_can_send(const struct peer *p);
void send_direction_req(struct tund *t, struct peer *p);
void peer_on_hs_init(struct tund *t, const uint8_t *buf, size_t len, const struct ntm_udp_meta *m);
void peer_on_hs_resp(struct tund *t, struct peer *p, const uint8_t *buf, size_t len,
		     const struct ntm_udp_meta *m);
void peer_confirm_next(struct tund *t, struct peer *p);
void peers_sweep(struct ntm_timer *tm, void *arg);
/* Our own underlay changed (an address or route came or went; underlay.c
 * tells dclink.c, which calls this after re-registering): every live peer
 * hears from us on the new address at once and its path is checked again. */
void peer_on_underlay_change(struct tund *t);
/* The route IDs of peers with a live session (for KEEPALIVE, so the DC
 * knows which routes to direct again when a node moves): at most max,
 * starting where the last call stopped when there are more. */
unsigned peer_live_routes(struct tund *t, uint64_t *ids, unsigned max);

/* path.c: candidates, probes, the relay, path choice and keepalives */
void path_on_route(struct peer *p, const struct ntm_ctl_route_direction *r);
void path_clear(struct peer *p);
/* Send a sealed datagram (DATA) on the current path: 0, -ENOTCONN when p
 * has no path, or the socket's -errno (counted as tx_send_failed). */
int path_send(struct peer *p, const uint8_t *buf, size_t len);
/* Send n sealed datagrams (DATA) laid back to back at buf, len bytes in
 * all, each stride bytes but the last (at most NTM_UDP_TRAIN_MAX and
 * NTM_UDP_TRAIN_BYTES): on a direct path one UDP_SEGMENT send (sendmmsg
 * where the kernel refuses it), through the relay one capsule each. 0 when
 * any went, else as path_send; failures counted as path_send does. */
int path_send_train(struct peer *p, const uint8_t *buf, size_t len, size_t stride, size_t n);
/* Send our HANDSHAKE_INIT: on a rekey over a direct path to that path, else
 * to every candidate and through the relay at once. */
void path_send_hs(struct peer *p, const uint8_t *pkt, size_t len, bool everywhere);
/* Our pending HANDSHAKE_INIT again to one endpoint (mac2 for it stamped). */
void path_resend_hs(struct peer *p, int fd, const struct sockaddr_storage *to, socklen_t len);
/* A COOKIE_REPLY from a peer's endpoint (doc/protocol.md 2.9). */
void peer_on_cookie_reply(struct tund *t, const uint8_t *buf, size_t len, const struct ntm_udp_meta *m);
/* Answer a datagram (HANDSHAKE_RESP) the way it came. */
void path_reply(struct peer *p, const uint8_t *buf, size_t len, const struct ntm_udp_meta *m);
/* An authenticated datagram from the peer arrived as described by m. */
/* newest: the datagram's counter is the session's highest so far (roam.h);
 * only such a datagram from a new source moves the endpoint. */
void path_on_rx(struct peer *p, const struct ntm_udp_meta *m, bool newest);
/* Something moved (our underlay, or the peer as the DC tells): hear from
 * the peer on every path at once, and fall back to the relay unless the
 * direct path answers within PATH_VERIFY_MS. */
void path_verify(struct peer *p, uint64_t now, const char *why);
/* Send on the relay from now on (the direct path failed); why: static text. */
void path_fall_back(struct peer *p, uint64_t now, const char *why);
void path_on_probe(struct tund *t, const uint8_t *buf, size_t len, const struct ntm_udp_meta *m);
void path_on_relay(struct tund *t, uint8_t *buf, size_t len, const struct ntm_udp_meta *m);
void path_sweep(struct peer *p, uint64_t now);
const char *path_describe(const struct peer *p, char *buf, size_t cap);

/* resolve.c: the control-socket side */
/* A peer's full name below a zone, normalised; -EINVAL/-ENOENT otherwise. */
int peer_name_check(const struct tund *t, const char *in, struct ntm_name *out);
int resolve_request(struct tund *t, struct ntm_ctlconn *c, const struct ntm_lctl_req *req,
		    uint8_t *out, size_t cap);
void resolve_answer(struct peer *p, uint8_t status);
/* The DC said p is enrolled but offline, last heard from last_seen_s ago:
 * TRYAGAIN with the OFFLINE attribute to every waiter. */
void resolve_answer_offline(struct peer *p, uint32_t last_seen_s);
/* An access policy forbids p (by: enum ntm_lctl_forbidden_by): NOTFOUND
 * with the FORBIDDEN attribute to every waiter. */
void resolve_answer_forbidden(struct peer *p, uint8_t by);
void resolve_sweep(struct tund *t, uint64_t now);
int peers_reply(struct tund *t, const struct ntm_lctl_req *req, uint8_t *out, size_t cap);
int ping_request(struct tund *t, struct ntm_ctlconn *c, const struct ntm_lctl_req *req,
		 uint8_t *out, size_t cap);
/* A PONG came from p, through the relay or directly (meta->via_relay), from meta->src. */
void ping_on_pong(struct tund *t, struct peer *p, const struct ntm_ctl_ping *m,
		  const struct ntm_udp_meta *meta);
/* The DC said the peer called name is offline: its pings end now. */
void ping_on_offline(struct tund *t, const char *name, uint32_t last_seen_s);
/* The DC's policy forbids name: its pings end NOTFOUND with FORBIDDEN. */
void ping_on_forbidden(struct tund *t, const char *name);
void pings_free(struct tund *t);

#endif
