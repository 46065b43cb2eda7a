/* fastpeer.h - the peer table ntm-tund's worker threads read (tund/worker.c):
 * immutable once published, swapped whole by the main thread, freed after
 * every worker has passed a quiescent point (QSBR).
 *
 * The main thread builds a table from its peers whenever a peer, session or
 * path changes (fp_table_new), publishes it (fp_publish) and reclaims what no
 * worker can still hold (fp_reclaim). A worker marks itself online
 * (fp_online) before it looks at the table, uses the table it got there for
 * one batch of packets, and goes offline (fp_offline) before it sleeps; a
 * worker never takes a lock and never allocates.
 *
 * Each entry carries the peer's virtual addresses (lookup by an inner
 * destination), the receiver indices of its sessions workers may open
 * (lookup by a DATA header), the session to seal with when the peer is
 * reached directly from the main socket's port, the endpoint in the
 * socket's form, and a few atomics workers write (last receive and send,
 * bytes) for the main thread to fold into the peer. The shared sessions
 * (struct ntm_session_mt) a table names are owned by the tables: one that
 * leaves the published table with a swap is freed with the table it left. */
#ifndef NTM_FASTPEER_H
#define NTM_FASTPEER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "session.h"

#define FP_MAX_THREADS NTM_SESSION_MT_MAX

/* What workers record for the main thread (relaxed atomics). */
struct fp_act {
	_Atomic uint64_t last_rx_ms;       /* last authenticated datagram opened */
	_Atomic uint64_t last_rx_data_ms;  /* of those, last IP packet */
	_Atomic uint64_t last_tx_ms;       /* last IP packet sealed and sent */
	_Atomic uint64_t rx_bytes, tx_bytes;
};

struct fp_entry {
	const void *owner;                 /* the main thread's peer (opaque here) */
	bool has4, has6;
	uint8_t vip4[4], vip6[16];
	/* sealing: the confirmed current session, when the path is direct
	 * through the main socket's port; NULL: the main thread sends */
	struct ntm_session_mt *tx;
	struct sockaddr_storage ep;        /* as the socket takes it (v4 mapped on a dual-stack one) */
	socklen_t eplen;
	bool no_gso;                       /* UDP_SEGMENT refused towards ep */
	bool policy_drop;                  /* the node's access policy: drop the peer's inner
					    * packets (struct peer's policy_ok, inverted) */
	/* opening: confirmed sessions by receiver index (0: none) */
	uint32_t rx_index[2];
	struct ntm_session_mt *rx[2];
	struct fp_act *act;                /* set by fp_table_new (the table's own) */
};

struct fp_table {
	unsigned n;
	struct fp_entry *e;
	struct fp_act *act;
	/* open addressing, entry number + 1 (0: empty), size a power of two */
	unsigned hmask;
	uint32_t *h4, *h6, *hidx;
	struct ntm_session_mt **owned;     /* every shared session named by a live session */
	unsigned nowned;
	/* reclamation (main thread only) */
	struct ntm_session_mt **dropped;   /* owned here, not in the table that replaced this one */
	unsigned ndropped;
	uint64_t retire_epoch;
	struct fp_table *next_retired;
};

/* A table of n entries (copied; act set) owning the nowned shared sessions
 * (at least those the entries name). NULL when out of memory. */
struct fp_table *fp_table_new(const struct fp_entry *e, unsigned n,
			      struct ntm_session_mt *const *owned, unsigned nowned);
/* Free a table that was never published, without its sessions. */
void fp_table_free(struct fp_table *t);

/* The entry for an inner destination (family AF_INET or AF_INET6), or NULL. */
const struct fp_entry *fp_by_vip(const struct fp_table *t, int family, const uint8_t *addr);
/* The entry and session for a receiver index, or NULL. */
const struct fp_entry *fp_by_index(const struct fp_table *t, uint32_t idx,
				   struct ntm_session_mt **mt);
/* Is m owned by t? */
bool fp_owns(const struct fp_table *t, const struct ntm_session_mt *m);

/* The published table and the quiescent states of nthreads readers. */
struct fp_domain {
	_Atomic(struct fp_table *) cur;
	_Atomic uint64_t epoch;
	unsigned nthreads;
	_Atomic uint64_t seen[FP_MAX_THREADS];  /* FP_OFFLINE, or the epoch seen on going online */
	struct fp_table *retired;               /* newest first (main thread only) */
	unsigned nretired;
};
#define FP_OFFLINE UINT64_MAX

/* nthreads readers (1..FP_MAX_THREADS), all offline, no table. */
void fp_domain_init(struct fp_domain *d, unsigned nthreads);
/* Main thread: publish t (NULL allowed) in place of the current table,
 * which is retired with the shared sessions t does not own. */
void fp_publish(struct fp_domain *d, struct fp_table *t);
/* Main thread: free the retired tables no reader can hold any more (and
 * their dropped sessions). Returns how many are left. */
unsigned fp_reclaim(struct fp_domain *d);
/* At exit, every reader stopped: free everything, sessions included. */
void fp_domain_free(struct fp_domain *d);

/* Reader thr: from here on it may hold the table fp_online returns. */
const struct fp_table *fp_online(struct fp_domain *d, unsigned thr);
/* Reader thr: it holds no table any more (before sleeping). */
void fp_offline(struct fp_domain *d, unsigned thr);

#endif
