/* resolverd.h - ntm-resolverd's state, shared by its files:
 *   resolverd.c  main: options, configuration, overlay file, sockets, loop
 *   server.c     UDP and TCP listeners, TCP connections (framing, limits)
 *   handle.c     one query from classification to response
 *   tundq.c      asynchronous questions to ntm-tund's control socket
 *   mapfile.c    ntm-tund's names map, mapped read-only (answers: mapq.c)
 * The DNS logic itself is dnsq.c; forwarding is upstream.c, caching cache.c. */
#ifndef NTM_RESOLVERD_H
#define NTM_RESOLVERD_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "cache.h"
#include "dnsq.h"
#include "dnsready.h"
#include "evloop.h"
#include "mapfile.h"
#include "sandbox.h"
#include "udp.h"
#include "upstream.h"

#define RS_TCP_MAX_CONNS 64
#define RS_TCP_MAX_QUERIES 100     /* per connection, like dnsmasq */
#define RS_TCP_MAX_PENDING 16      /* unanswered queries per connection */
#define RS_TCP_IDLE_MS 10000
#define RS_DNS_HEADER_LEN 12       /* a shorter TCP query closes its connection */
#define RS_DNS_MSG_MAX 65535       /* what a 2-byte TCP length can say */
/* Replies a TCP client has not read yet: every one it may ask for. */
#define RS_TCP_OUT_MAX (RS_TCP_MAX_QUERIES * (2 + RS_DNS_MSG_MAX))
#define RS_MAX_QUERIES 2048        /* queries in progress, all clients */
#define RS_TUND_WAIT_MS 1500       /* how long ntm-tund may take to set up a tunnel */
#define RS_TUND_TIMEOUT_MS 2000
#define RS_TUND_CONNS 4            /* persistent connections to ntm-tund, at most */
#define RS_TUND_RING 512           /* questions in flight per connection */
#define RS_TUND_REQ_MAX 512        /* one RESOLVE request, at its longest */
#define RS_TUND_STALL_MS 20        /* oldest question older: use another connection */
#define RS_TUND_IDLE_MS 8000       /* below ntm-tund's 10 s idle timeout */
#define RS_TUND_BACKOFF_MIN_MS 100
#define RS_TUND_BACKOFF_MAX_MS 2000
#define RS_OVC_SLOTS 1024          /* overlay answer cache, direct-mapped */
#define RS_UDP_BATCH 32            /* datagrams per recvmmsg/sendmmsg */
#define RS_UDP_BATCH_MAX 4096      /* larger replies are sent on their own */

#define RS_STATS(X) \
	X(queries_udp) X(queries_tcp) X(answered_local) X(answered_overlay) \
	X(forwarded) X(cache_hits) X(servfail) X(dropped) X(truncated) X(busy) \
	X(overlay_cache_hits) X(tund_connects) X(tund_connect_failed) X(tund_lost) \
	X(tund_timeouts) X(overlay_map_hits) X(udp_trains) X(udp_train_replies)

struct rs_stats {
#define X(n) uint64_t n;
	RS_STATS(X)
#undef X
};

struct rs_config {
	struct sockaddr_storage listen[2];
	unsigned nlisten;
	char upstreams_file[4096];
	char nss_file[4096];
	char zones[512];                /* extra zones, space separated */
	uint64_t cache_entries;
	bool refuse_private_reverse;
	bool overlay_cache;             /* keep ntm-tund's answers for their TTL */
	bool overlay_map;               /* answer live names from ntm-tund's names map */
	char user[64];
	enum ntm_sandbox_mode seccomp; /* [Resolver] Seccomp */
};

struct tcpconn;
struct tundq;
struct tundc;
struct udp_out;

struct resolverd {
	struct rs_config cfg;
	struct ntm_loop *loop;
	int udp_fd[2], tcp_fd[2];
	struct ntm_io udp_io[2], tcp_io[2];
	unsigned nconns;
	struct dnsq_overlay ov;         /* zones and prefixes known so far */
	char tund_socket[108];
	struct tundq *tq;               /* connections to ntm-tund, answer cache */
	struct mapfile *mf;             /* ntm-tund's names map; NULL: OverlayMap = no */
	int batching;                   /* > 0: replies and requests wait for batch_end */
	struct udp_out *uout;           /* UDP replies waiting for sendmmsg */
	bool udp_gso_off;               /* UDP_SEGMENT refused once: no trains */
	int64_t nss_mtime, ups_mtime;
	uint64_t nss_ino;
	struct ntm_timer nss_timer;
	struct ups *ups;
	struct cache *cache;
	uint64_t hash_key;
	unsigned inflight;
	struct rq *rq_pool;             /* freed queries, kept for reuse */
	struct rs_stats stats;
	uint8_t buf[65536 + 2];         /* the response being sent */
	/* making a ready reply: the response for a client with EDNS and no
	 * size limit, then its ready form (dnsready.h) */
	uint8_t full[65536];
	uint8_t ready[DNSREADY_MAX(65535)];
};

/* A query in progress. Taken from r->rq_pool (rq_new), not malloc'd per
 * query; everything before q starts zeroed, q is filled by dnsq_classify
 * and key by handle_key. */
struct rq {
	struct resolverd *r;
	/* where the answer goes */
	int fd;                         /* UDP socket, or -1 for TCP */
	struct ntm_udp_meta meta;       /* UDP: client address, our address */
	struct tcpconn *conn;           /* TCP */
	struct rq *next, *prev;         /* the connection's pending queries */
	/* forwarding */
	struct ups_waiter *w;
	/* ntm-tund */
	struct tundc *tc;               /* the connection the question is on */
	enum dnsq_kind tkind;
	struct ntm_timer ttimer;
	/* not zeroed when taken from the pool */
	size_t keylen;
	uint64_t hash;
	struct dnsq q;
	uint8_t key[300];
};

/* server.c */
int server_open(struct resolverd *r);
void server_close(struct resolverd *r);
/* Send resp for q (UDP or TCP) and free q. */
void server_reply(struct rq *q, const uint8_t *resp, size_t len);
/* Free q without an answer (its client left). */
void rq_free(struct rq *q);
/* Link a TCP query into its connection's pending list. */
void server_track(struct rq *q);
/* Between these, UDP replies and requests to ntm-tund are queued and then
 * sent together (sendmmsg; one send per ntm-tund connection). Nest. */
void server_batch_begin(struct resolverd *r);
void server_batch_end(struct resolverd *r);

/* handle.c */
void handle_query(struct resolverd *r, const uint8_t *wire, size_t len, int udp_fd,
		  const struct ntm_udp_meta *meta, struct tcpconn *conn);
void handle_cancel(struct rq *q);
/* The cache and coalescing key of q (q->key, keylen, hash). */
void handle_key(struct rq *q);
/* Give q back to the pool (rq_free does, after unlinking it). */
void rq_put(struct rq *q);
/* Free the pool (at exit). */
void rq_pool_free(struct resolverd *r);

/* tundq.c */
int tundq_init(struct resolverd *r);
void tundq_free(struct resolverd *r);
/* Ask ntm-tund (or the answer cache) about q; 0 when q is on its way (it
 * may already have been answered and freed), <0 when ntm-tund cannot be
 * asked (the caller answers SERVFAIL). */
int tundq_start(struct rq *q, enum dnsq_kind kind);
void tundq_cancel(struct rq *q);
/* Send the requests queued during a batch. */
void tundq_flush(struct resolverd *r);
/* ntm-tund's nss file changed: empty the cache, end any connect backoff. */
void tundq_changed(struct resolverd *r);
/* called by tundq when done: the answer, a->status an enum dnsq_overlay_status */
void handle_overlay_done(struct rq *q, const struct dnsq_overlay_answer *a);

#endif
