/* watch.h - WATCH on ntm-tund's control socket (doc/control.md 3.12):
 * connections that asked to be told of changes, and the one-line hooks
 * dclink.c, path.c and peer.c call when something changes. A hook costs a
 * pointer test while nobody watches. Each watcher has its own bounded
 * queue (watchq.h); at most WATCH_MAX watchers, WATCH_PER_USER of one
 * uid other than root. */
#ifndef NTM_WATCH_H
#define NTM_WATCH_H

#include <stdint.h>

#include "ctlserver.h"

struct tund;
struct peer;

int watch_request(struct tund *t, struct ntm_ctlconn *c, const struct ntm_lctl_req *req,
		  uint8_t *out, size_t cap);
/* The DC link's state changed (t->dc.state), why: for people, or NULL. */
void watch_dc(struct tund *t, const char *why);
/* Peer event kind (NTM_LCTL_EV_PEER_UP .. _REKEY) of p, with p's path and
 * endpoint as they are now; why may be NULL. */
void watch_peer(struct peer *p, uint8_t kind, const char *why);
/* Close every watcher's stream (the daemon stops). */
void watch_free_all(struct tund *t);

#endif
