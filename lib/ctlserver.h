/* ctlserver.h - the server side of the local control socket
 * (doc/control.md), shared by ntm-tund and ntm-dcd.
 *
 * Listens on a Unix stream socket any local user may connect to, reads
 * bounded requests, answers malformed ones with BADREQ and state-changing
 * ones from unprivileged callers with DENIED (privileged = uid 0 or group
 * "ntm", from SO_PEERCRED and the caller's supplementary groups), and hands
 * every other request to the daemon's handler. A handler answers at once,
 * or defers and answers later (a resolve waiting for a tunnel). Limits:
 * NTM_CTLSRV_MAX_CONNS connections, requests of NTM_CTLSRV_MAX_REQUEST
 * bytes, NTM_CTLSRV_IDLE_MS without a complete request closes the
 * connection (not while a deferred reply is pending). */
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
/* Connections waiting to be accepted: one per lookup from nss_ntm and the
 * stub, so bursts of lookups must not overflow it (64 did, under dnsperf). */
#define NTM_CTLSRV_BACKLOG 1024
#define NTM_CTLSRV_MAX_REQUEST 1024
#define NTM_CTLSRV_IDLE_MS 10000
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

const struct ucred *ntm_ctlconn_cred(const struct ntm_ctlconn *c);

#endif
