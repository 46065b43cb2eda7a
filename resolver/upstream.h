/* upstream.h - ntm-resolverd's asynchronous forwarding engine: sends a
 * query to the upstream servers taken from the saved resolv.conf and hands
 * the accepted reply back, on one ntm_loop (doc/names.md, S9).
 *
 * The engine never parses DNS beyond the 12-byte header (TC and RCODE): the
 * caller builds the query and judges replies through struct ups_ops, which
 * keeps this file independent of the query logic (dnsq.c) and lets the
 * tests drive it with their own builders.
 *
 * Per attempt: a NEW connected UDP socket (so the kernel picks a random
 * source port and drops datagrams from any other address or port) and a
 * fresh CSPRNG ID. Replies that ops->match rejects are ignored and the
 * attempt keeps waiting. An attempt ends on its timeout, an ICMP error,
 * SERVFAIL or REFUSED, and the next server is tried; FORMERR or NOTIMP to a
 * query with EDNS is retried once, on the same server, without EDNS. A TC=1
 * reply is retried over TCP (2-byte framing) when the client came over TCP,
 * and handed back as it is otherwise. One overall deadline bounds it all.
 *
 * Identical in-flight queries (equal key bytes and client transport) are
 * coalesced: one upstream exchange, every waiter answered with the same
 * reply. Exchanges are capped (-EBUSY beyond), and so are waiters per
 * exchange.
 *
 * All failures map to one status, -ETIMEDOUT ("every server failed"); the
 * caller answers SERVFAIL. Single-threaded, like the loop. */
#ifndef NTM_UPSTREAM_H
#define NTM_UPSTREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "evloop.h"

#define UPS_MAX_SERVERS 8
#define UPS_MAX_LISTEN 8
#define UPS_QUERY_MAX 512          /* largest query ops->build may write */
#define UPS_KEY_MAX 512            /* largest coalescing key */

struct ups;
struct ups_waiter;

/* Zero fields take the defaults in brackets. */
struct ups_params {
	unsigned attempt_ms;       /* one server, one transport [1500] */
	unsigned deadline_ms;      /* whole forward, all servers [4000] */
	unsigned max_inflight;     /* upstream exchanges at once [1024] */
	unsigned max_waiters;      /* coalesced callers per exchange [64] */
	/* Loop guard: the stub's own listen addresses; a server equal to one
	 * of them (address and port) is refused by ups_new. */
	const struct sockaddr_storage *listen;
	size_t nlisten;
};

/* How the caller's query is written and its replies judged. ctx is the
 * caller's own; for coalesced waiters the engine uses the ctx of the
 * oldest waiter still waiting (all of them describe the same query). */
struct ups_ops {
	/* Writes the query with this ID, with OPT when edns, into out (cap is
	 * UPS_QUERY_MAX). Returns its length or -errno. */
	int (*build)(void *ctx, uint16_t id, bool edns, uint8_t *out, size_t cap);
	/* 0 when reply (len >= 12 bytes, from the server asked, on the
	 * attempt's socket) answers the query sent with this ID: ID, QR and
	 * question checked. Anything else: ignored, keep waiting. */
	int (*match)(void *ctx, uint16_t id, const uint8_t *reply, size_t len);
};

/* Called exactly once per accepted ups_forward: status 0 with the accepted
 * reply (valid only during the call), -ETIMEDOUT when every server failed
 * or the deadline passed (reply NULL), -ECANCELED from ups_cancel or
 * ups_free. May call ups_forward, ups_cancel and ups_inflight on this
 * engine, also while ups_free is answering (see there), but not ups_free. */
typedef void (*ups_done_fn)(void *arg, int status, const uint8_t *reply, size_t len);

/* Creates an engine for servers[0..n) (AF_INET/AF_INET6 with port; n from 1
 * to UPS_MAX_SERVERS), tried in that order. p may be NULL (defaults).
 * Returns 0, -EINVAL (bad count, family or parameter), -ELOOP (a server is
 * one of p->listen), or -ENOMEM. */
int ups_new(struct ups **out, struct ntm_loop *loop, const struct sockaddr_storage *servers,
	    size_t n, const struct ups_params *p);

/* Cancels every pending forward (done(-ECANCELED)), closes its sockets and
 * frees the engine. Accepts NULL.
 *
 * Callbacks it runs may still use u, which is freed only after the last
 * one: by the first callback every exchange is already stopped (no socket
 * or timer of u is left in the loop, ups_inflight is 0), so ups_cancel on
 * a waiter not answered yet answers it at once with -ECANCELED, and
 * ups_forward is refused with -ESHUTDOWN and calls nothing. The caller may
 * therefore keep u reachable (e.g. as its current engine) until ups_free
 * returns. (A nested ups_free(u) returns at once.) */
void ups_free(struct ups *u);

/* Forwards one query. key/keylen identify it for coalescing (the caller
 * builds it: lower-cased name, type, class, DO, CD) and key_hash is the
 * caller's hash of it (keyed, so clients cannot aim at one bucket).
 * client_tcp: the client is on TCP, so a truncated reply is retried over
 * TCP. On success returns 0, and done will be called exactly once, never
 * before ups_forward returns; *handle (when not NULL) names the waiter for
 * ups_cancel until then. On error done is never called: -EBUSY (in-flight
 * or waiter cap), -EINVAL (key size), -ENOMEM, -ESHUTDOWN (u is in
 * ups_free). */
int ups_forward(struct ups *u, const struct ups_ops *ops, void *ctx, uint64_t key_hash,
		const uint8_t *key, size_t keylen, bool client_tcp, ups_done_fn done, void *arg,
		struct ups_waiter **handle);

/* Withdraws a waiter of u whose done has not run yet (the client went
 * away): done(-ECANCELED) is called before this returns. The upstream
 * exchange goes on while other waiters share it, and is dropped otherwise.
 * Also valid from a callback that ups_free runs. */
void ups_cancel(struct ups *u, struct ups_waiter *w);

/* Upstream exchanges in flight (for stats and tests). */
unsigned ups_inflight(const struct ups *u);

#endif
