/* ctlserver.h - the server side of the local control socket
 * (doc/control.md), shared by ntm-tund and ntm-dcd.
 *
 * Listens on a Unix stream socket any local user may connect to, reads
 * bounded requests, answers malformed ones with BADREQ and state-changing
 * ones from unprivileged callers with DENIED (privileged = uid 0 or group
 * "ntm", from SO_PEERCRED and SO_PEERGROUPS, both recorded by the kernel
 * at connect()), and hands every other request to the daemon's handler. A
 * handler answers at once, or defers and answers later (a resolve waiting
 * for a tunnel).
 *
 * Limits (doc/control.md section 1.1), so that one local user cannot lock
 * out the others: NTM_CTLSRV_MAX_CONNS connections, of which
 * NTM_CTLSRV_RESERVED only privileged callers may take, and at most
 * NTM_CTLSRV_PER_UID of one unprivileged uid; a request must arrive whole
 * within NTM_CTLSRV_REQUEST_MS of its first byte; a connection with no
 * request in progress and no reply deferred is closed NTM_CTLSRV_IDLE_MS
 * after its last reply (or its connect). Partial bytes reset neither. Out
 * of descriptors, accepting pauses for NTM_CTLSRV_NOFD_PAUSE_MS. */
#ifndef NTM_CTLSERVER_H
#define NTM_CTLSERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "ctlproto.h"
#include "evloop.h"

#define NTM_CTLSRV_MAX_CONNS 256
#define NTM_CTLSRV_RESERVED 64         /* of MAX_CONNS, for root and group ntm only */
#define NTM_CTLSRV_PER_UID 64          /* connections of one unprivileged uid */
/* Connections waiting to be accepted: one per lookup from nss_ntm and the
 * stub, so bursts of lookups must not overflow it (64 did, under dnsperf). */
#define NTM_CTLSRV_BACKLOG 1024
#define NTM_CTLSRV_MAX_REQUEST 1024
#define NTM_CTLSRV_REQUEST_MS 2000     /* first byte of a request to its last */
#define NTM_CTLSRV_IDLE_MS 10000       /* last reply (or connect) to the next request */
#define NTM_CTLSRV_NOFD_PAUSE_MS 250   /* accept(): EMFILE/ENFILE; poll again after */
#define NTM_CTLSRV_LOG_EVERY_MS 10000  /* a refusal is logged at most this often */
#define NTM_CTLSRV_DEFER 0

struct ntm_ctlsrv;
struct ntm_ctlconn;

/* Handle one decoded, permitted request. Write the reply into out (cap is
 * NTM_LCTL_MSG_MAX) and return its length; or return NTM_CTLSRV_DEFER and
 * call ntm_ctlsrv_reply later; or return -errno to close the connection. */
typedef int (*ntm_ctlsrv_fn)(void *arg, struct ntm_ctlconn *c, const struct ntm_lctl_req *req,
			     uint8_t *out, size_t cap);

/* Create the socket at path. Its directory is made if missing and given
 * to owner:group with mode 0755 (the daemon writes its state files there
 * after dropping privileges; nobody else can write there). The socket is
 * mode 0666, owned by owner:group, so clients can check it against the
 * daemon's uid. */
int ntm_ctlsrv_open(struct ntm_ctlsrv **out, struct ntm_loop *loop, const char *path,
		    uid_t owner, gid_t group, ntm_ctlsrv_fn fn, void *arg);
/* Close every connection (cancelling deferred ones) and remove the socket. */
void ntm_ctlsrv_close(struct ntm_ctlsrv *s);

/* Send the deferred reply for c (copied). After this c may be reused for
 * the connection's next request; the caller must drop its pointer. */
int ntm_ctlsrv_reply(struct ntm_ctlconn *c, const void *buf, size_t len);

/* Called if c closes while its reply is deferred; the owner drops c. */
void ntm_ctlconn_on_cancel(struct ntm_ctlconn *c, void (*fn)(void *arg), void *arg);

/* Streams (WATCH): while c's reply is deferred, send one more message
 * (copied) and stay deferred: no idle time runs, later requests on c wait.
 * 0, or -errno after which c is closed (its cancel function was called:
 * the owner must not touch c again). */
int ntm_ctlsrv_push(struct ntm_ctlconn *c, const void *buf, size_t len);
/* Called when what ntm_ctlsrv_push queued on c has all been sent. */
void ntm_ctlconn_on_drain(struct ntm_ctlconn *c, void (*fn)(void *arg), void *arg);
/* Bytes queued on c and not yet sent. */
size_t ntm_ctlconn_pending(const struct ntm_ctlconn *c);

const struct ucred *ntm_ctlconn_cred(const struct ntm_ctlconn *c);
/* Root or group ntm, as decided at connect(). */
bool ntm_ctlconn_privileged(const struct ntm_ctlconn *c);

/* What the server refused or cut short, for the daemon's STATS. */
struct ntm_ctlsrv_stats {
	uint64_t refused;              /* over the connection caps: closed at accept */
	uint64_t deadline;             /* a request not whole within REQUEST_MS */
	uint64_t idle;                 /* closed after IDLE_MS without a request */
	uint64_t nofd;                 /* accept() out of descriptors (paused) */
};
const struct ntm_ctlsrv_stats *ntm_ctlsrv_stats(const struct ntm_ctlsrv *s);

/* ---- the decisions, pure (tests/unit/test_ctlserver.c) ---- */

/* May a caller open one more connection, with total open in all and
 * same_uid of them its uid's? Privileged callers may use every slot;
 * the others share MAX_CONNS - RESERVED, at most PER_UID each. */
bool ntm_ctlsrv_admit(unsigned total, unsigned same_uid, bool privileged);

/* Root, primary group ntm_gid, or ntm_gid among the n supplementary
 * groups. ntm_gid (gid_t)-1: there is no such group. */
bool ntm_ctlsrv_is_privileged(uid_t uid, gid_t gid, const gid_t *groups, size_t n,
			      gid_t ntm_gid);

/* Does the input end inside a message (a request begun, not yet whole), or
 * hold a header that cannot be skipped? False when it is a sequence of
 * whole messages (or empty). */
bool ntm_ctlsrv_partial(const uint8_t *in, size_t len);

/* A connection's clock: when it must be closed, UINT64_MAX for never
 * (a deferred reply is bounded by the handler, e.g. WAIT_MS). */
struct ntm_ctlsrv_clock {
	uint64_t idle_from_ms;         /* connect, or the last reply queued */
	uint64_t partial_from_ms;      /* first byte of the request in progress */
	bool partial;                  /* a request is in progress */
	bool deferred;                 /* the handler holds a reply */
};
uint64_t ntm_ctlsrv_close_at(const struct ntm_ctlsrv_clock *k);

#endif
