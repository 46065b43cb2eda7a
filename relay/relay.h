/* relay.h - the relay core (doc/protocol.md 2.5 and 6), shared by
 * ntm-relayd and the relay embedded in ntm-dcd.
 *
 * An allocation joins two sides, A and B, each with its own 32-byte relay
 * key. A node sends RELAY capsules with direction 0; once one authenticates
 * and is fresh (per-side replay window), its source becomes that side's
 * endpoint, and a non-empty inner datagram is re-wrapped (direction 1, the
 * other side's key and counter) and sent to the other side's endpoint.
 * An empty capsule (relay keepalive) only refreshes the endpoint.
 *
 * Every capsule received is counted in rx and in exactly one outcome
 * counter: forwarded, keepalives or one drop reason. Nothing is ever sent
 * in answer to a capsule that failed a check; the only datagrams the relay
 * ever sends are forwarded ones, to the endpoint the other side
 * authenticated from, and echoes of RELAY_PROBEs whose token the DC made
 * (relay_probe_input: the same size, to the probe's source, rate limited). The re-wrap happens in place in the caller's buffer:
 * no allocation per packet. Nothing here logs. Not thread-safe. */
#ifndef NTM_RELAY_H
#define NTM_RELAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "idmap.h"
#include "ratelimit.h"
#include "relaycap.h"
#include "replay.h"
#include "udp.h"

#define RELAY_DEFAULT_MAX_ALLOCS 4096
#define RELAY_DEFAULT_PPS 20000         /* packets per second per allocation */
#define RELAY_DEFAULT_MBIT 200          /* Mbit/s per allocation */
#define RELAY_DEFAULT_LIFETIME_S 600    /* idle lifetime the DC asks for */

#define RELAY_STATS(X) \
	X(rx, "RELAY capsules received") \
	X(forwarded, "capsules forwarded to the other side") \
	X(forwarded_bytes, "inner bytes forwarded") \
	X(keepalives, "relay keepalives (endpoint refreshed, nothing forwarded)") \
	X(drop_malformed, "dropped: malformed capsule") \
	X(drop_unknown_alloc, "dropped: no such allocation") \
	X(drop_bad_direction, "dropped: direction 1 (relay to node) sent to the relay") \
	X(drop_auth, "dropped: tag did not verify with the side's key") \
	X(drop_replay, "dropped: counter replayed or too old") \
	X(held, "held: the other side not heard from yet (one small datagram per side, sent when it is)") \
	X(held_sent, "held datagrams sent on when the other side appeared") \
	X(held_dropped, "held datagrams dropped (replaced, rate or send error)") \
	X(drop_no_peer_endpoint, "dropped: the other side has not been heard from yet") \
	X(drop_rate, "dropped: the allocation's packet or byte rate") \
	X(drop_send_error, "dropped: sending to the other side failed") \
	X(rx_gro_trains, "received buffers the socket coalesced (UDP_GRO), each split into its capsules") \
	X(tx_trains, "forwarded capsules sent as one UDP_SEGMENT train (two or more)") \
	X(tx_train_capsules, "forwarded capsules that left in those trains") \
	X(tx_gso_fallback, "trains refused by the kernel (EIO/EINVAL): sent datagram by datagram, and that destination too until it changes") \
	X(allocs, "allocations live now") \
	X(allocs_made, "allocations made") \
	X(allocs_refused, "allocations refused (table full or duplicate ID)") \
	X(allocs_freed, "allocations freed on request") \
	X(allocs_expired, "allocations expired (idle past their lifetime)") \
	X(probes, "RELAY_PROBEs received (netcheck latency probes; not in rx)") \
	X(probe_echoes, "RELAY_PROBEs answered with an echo of the same size") \
	X(probe_drop_malformed, "RELAY_PROBEs dropped: malformed, or an echo") \
	X(probe_drop_key, "RELAY_PROBEs dropped: unknown or expired probe key") \
	X(probe_drop_auth, "RELAY_PROBEs dropped: token MAC did not verify") \
	X(probe_drop_expired, "RELAY_PROBEs dropped: token expired") \
	X(probe_drop_rate, "RELAY_PROBEs dropped: over the source's limit (RELAY_PROBE_RATE)") \
	X(probe_drop_send_error, "RELAY_PROBEs dropped: sending the echo failed")

struct relay_stats {
#define X(name, text) uint64_t name;
	RELAY_STATS(X)
#undef X
};

enum relay_verdict {
	RELAY_FORWARDED,
	RELAY_KEEPALIVE,
	RELAY_HELD,
	RELAY_DROP_MALFORMED,
	RELAY_DROP_UNKNOWN_ALLOC,
	RELAY_DROP_BAD_DIRECTION,
	RELAY_DROP_AUTH,
	RELAY_DROP_REPLAY,
	RELAY_DROP_NO_PEER_ENDPOINT,
	RELAY_DROP_RATE,
	RELAY_DROP_SEND_ERROR,
};

struct relay_params {
	uint32_t max_allocs;     /* 1.. */
	uint64_t pps;            /* packets per second per allocation, both ways together */
	uint64_t bytes_ps;       /* inner bytes per second per allocation */
};

/* One side's last authenticated source: the peer address, the local
 * address it reached (so the forwarded capsule leaves from it) and the
 * socket. no_gso: the kernel refused a UDP_SEGMENT train towards it
 * (cleared when the endpoint changes). */
struct relay_ep {
	struct ntm_udp_meta meta;
	int fd;
	bool known;
	bool no_gso;
};

/* Send buf to ep (ep->meta.src, from ep->meta's local address, on ep->fd).
 * Returns >= 0 or -errno. */
typedef int (*relay_send_fn)(void *arg, const struct relay_ep *ep, const uint8_t *buf, size_t len);

/* A datagram of at most RELAY_HOLD_MAX bytes (a handshake message) that
 * arrives before the other side was heard from is kept, one per side, and
 * sent when the other side shows up: both nodes start on the same Route
 * Direction, so the initiator's first handshake often beats the
 * responder's first capsule to the relay. */
#define RELAY_HOLD_MAX 256

struct relay_side {
	struct ntm_relay_key key;
	uint16_t held_len;               /* 0: nothing held */
	uint8_t held[RELAY_HOLD_MAX];    /* from this side, for the other */
	struct ntm_replay replay;        /* direction 0 counters from this side */
	uint64_t tx_next;                /* direction 1 counter towards this side */
	struct relay_ep ep;
};

struct relay_alloc {
	uint32_t id;
	uint8_t keyhash[32];             /* SHA-256 of key A || key B: a repeated
					    RELAY_ALLOC is recognised */
	struct relay_side side[2];
	uint64_t last_ms;                /* last authenticated capsule (or creation) */
	uint64_t lifetime_ms;
	uint64_t tok_ms;                 /* token buckets, in thousandths */
	uint64_t pkt_mtok, byte_mtok;
	struct relay_alloc *prev, *next; /* all allocations, for expiry */
};

/* Send the n datagrams of tx (ntm_udp_send_batch), setting each one's err. */
typedef void (*relay_sendv_fn)(void *arg, struct ntm_udp_tx *tx, size_t n);
/* Send the n datagrams iov[0..n-1], all to `to` on fd, as one UDP_SEGMENT
 * train of seg-byte segments (the last maybe shorter): 0 or -errno; -EIO or
 * -EINVAL: the kernel cannot segment towards `to` (ntm_udp_send_segments). */
typedef int (*relay_sendtrain_fn)(void *arg, int fd, const struct iovec *iov, size_t n, size_t seg,
				  const struct ntm_udp_meta *to);

/* The forwarding queue: one train's worth (the kernel's UDP_MAX_SEGMENTS
 * before Linux 6.9), so that a full UDP_GRO buffer can leave as one train. */
#define RELAY_QUEUE NTM_UDP_TRAIN_MAX

/* A run of queued capsules to one destination sent as one train: order[first
 * .. first + count - 1] (indices into the queue), each seg bytes but the last,
 * which may be shorter. */
struct relay_train {
	uint8_t first, count;
	uint16_t seg;
};

/* Probe keys (doc/protocol.md 2.11): the newest first. A token names its
 * key; its not-after is in ms after the key was made (here: installed). */
#define RELAY_PROBE_KEYS 2
#define RELAY_PROBE_RATE 10              /* echoes per second per source */
#define RELAY_PROBE_BURST 10
struct relay_probe_key {
	uint32_t id;                     /* 0: empty */
	uint8_t key[32];
	uint64_t made_ms, lifetime_ms;
};
struct relay_probe_keys {
	struct relay_probe_key k[RELAY_PROBE_KEYS];
};

enum relay_probe_verdict {
	RELAY_PROBE_ECHOED,
	RELAY_PROBE_DROP_MALFORMED,
	RELAY_PROBE_DROP_KEY,
	RELAY_PROBE_DROP_AUTH,
	RELAY_PROBE_DROP_EXPIRED,
	RELAY_PROBE_DROP_RATE,
	RELAY_PROBE_DROP_SEND_ERROR,
};

/* Install a probe key made now (the older one stays, the oldest goes); a
 * repeat of the newest (same id and key) changes nothing. Pure. */
void relay_probe_keys_add(struct relay_probe_keys *ks, uint32_t id, const uint8_t key[32],
			  uint32_t lifetime_s, uint64_t now_ms);
void relay_probe_keys_wipe(struct relay_probe_keys *ks);
/* Is token good at now_ms? RELAY_PROBE_ECHOED when its key is live, its
 * MAC right and it is not past its not-after; else the drop reason. Pure
 * (but for the HMAC). */
enum relay_probe_verdict relay_probe_check(const struct relay_probe_keys *ks,
					   const struct ntm_relay_token *t, uint64_t now_ms);
/* The DC's side: a token under key k valid for life_ms from now. 0 or -errno. */
int relay_probe_mint(const struct relay_probe_key *k, uint64_t life_ms, uint64_t now_ms,
		     struct ntm_relay_token *t);

struct relay {
	struct relay_params p;
	struct ntm_idmap by_id;          /* alloc id -> struct relay_alloc */
	struct relay_alloc *head;
	relay_send_fn send;
	void *send_arg;
	/* Batched forwarding (relay_set_batch): forwarded capsules wait here,
	 * pointing into the caller's receive buffers, until relay_flush. */
	relay_sendv_fn sendv;
	relay_sendtrain_fn sendtrain;    /* NULL: no trains (Offload = off) */
	size_t nout;
	struct ntm_udp_tx out[RELAY_QUEUE];
	uint16_t out_inner[RELAY_QUEUE]; /* inner bytes of each, for the counters */
	uint32_t out_alloc[RELAY_QUEUE]; /* allocation and side it goes to (no_gso) */
	uint8_t out_side[RELAY_QUEUE];
	bool out_no_gso[RELAY_QUEUE];    /* its endpoint refused trains */
	/* relay_flush's scratch: the plan and the datagrams sent one by one */
	uint8_t order[RELAY_QUEUE];
	struct relay_train trains[RELAY_QUEUE];
	struct ntm_udp_tx single[RELAY_QUEUE];
	uint8_t single_idx[RELAY_QUEUE];
	struct relay_probe_keys probe_keys;
	struct ntm_ratelimit probe_rl;   /* echoes per source (RELAY_PROBE_RATE) */
	struct relay_stats stats;
};

/* Fill p with the defaults above. */
void relay_params_default(struct relay_params *p);

void relay_init(struct relay *r, const struct relay_params *p, relay_send_fn send, void *arg);
/* Free every allocation (keys wiped). */
void relay_free_all(struct relay *r);

/* Make allocation id (non-zero) with an idle lifetime (seconds, >= 1) and
 * the two sides' keys. 0; 0 again for a repeat of a live allocation with
 * the same keys (a retransmitted RELAY_ALLOC); -EEXIST for an id in use
 * with other keys; -ENOSPC when the table is full; -EINVAL; -ENOMEM. */
int relay_alloc(struct relay *r, uint32_t id, uint32_t lifetime_s, const uint8_t key_a[32],
		const uint8_t key_b[32], uint64_t now_ms);
/* 0 or -ENOENT. */
int relay_free(struct relay *r, uint32_t id);
bool relay_has(const struct relay *r, uint32_t id);

/* Handle one received datagram of type RELAY. buf is modified (the capsule
 * is re-wrapped in place for the other side). src is where it came from,
 * fd the socket it came in on. */
enum relay_verdict relay_input(struct relay *r, uint8_t *buf, size_t len,
			       const struct ntm_udp_meta *src, int fd, uint64_t now_ms);

/* Batch the forwarded capsules: relay_input queues each one (counted as
 * forwarded) instead of sending it, and relay_flush hands the queue to
 * sendv. The queued capsules point into the buffers given to relay_input,
 * which must stay untouched until relay_flush; a full queue is flushed by
 * relay_input itself. A capsule sendv could not send moves from forwarded
 * to drop_send_error. Held datagrams are still sent at once with send. */
void relay_set_batch(struct relay *r, relay_sendv_fn sendv);
/* Send what is queued (nothing to do without batching or when empty). */
void relay_flush(struct relay *r);
/* With batching, also send the queued capsules to one destination as
 * UDP_SEGMENT trains where they allow it (relay_plan_trains); NULL: never.
 * A destination that refuses one (-EIO, -EINVAL) gets its capsules one by
 * one with sendv, counted in tx_gso_fallback, until its endpoint changes. */
void relay_set_gso(struct relay *r, relay_sendtrain_fn sendtrain);

/* Group the n (<= RELAY_QUEUE) queued datagrams tx into trains: each train
 * holds datagrams to one destination (socket, peer address, local address)
 * in their queue order, all of one size but the last (which may be shorter,
 * and ends the train), at most NTM_UDP_TRAIN_MAX of them and
 * NTM_UDP_TRAIN_BYTES in all. A datagram is in exactly one train, and the
 * datagrams to one destination keep their order across trains (trains are
 * in the order of their first datagram). Fills order[0..n-1] and trains;
 * returns the number of trains. Pure. */
size_t relay_plan_trains(const struct ntm_udp_tx *tx, size_t n, uint8_t *order,
			 struct relay_train *trains);

/* A buffer of len bytes received with UDP_GRO segment size gro_size (0: one
 * datagram) holds this many datagrams (at least 1, even for len 0) ... */
size_t relay_gro_count(size_t len, uint16_t gro_size);
/* ... and datagram i of them starts at *off and is the returned length
 * long: gro_size each, the last one the rest. Pure. */
size_t relay_gro_seg(size_t len, uint16_t gro_size, size_t i, size_t *off);

/* Handle one received datagram of type RELAY_PROBE: a request with a good
 * token, within its source's rate, is turned into its echo in place (the
 * same size) and sent back to src on fd; anything else is dropped and
 * counted, never answered. */
enum relay_probe_verdict relay_probe_input(struct relay *r, uint8_t *buf, size_t len,
					   const struct ntm_udp_meta *src, int fd, uint64_t now_ms);

/* Free allocations idle longer than their lifetime; returns how many. */
size_t relay_expire(struct relay *r, uint64_t now_ms);

/* Send callback for relays on ntm_udp sockets. */
int relay_udp_send(void *arg, const struct relay_ep *ep, const uint8_t *buf, size_t len);
/* Batched send callback for relays on ntm_udp sockets (ntm_udp_send_batch). */
void relay_udp_sendv(void *arg, struct ntm_udp_tx *tx, size_t n);
/* Train send callback for relays on ntm_udp sockets (ntm_udp_send_segments). */
int relay_udp_sendtrain(void *arg, int fd, const struct iovec *iov, size_t n, size_t seg,
			const struct ntm_udp_meta *to);

#endif
