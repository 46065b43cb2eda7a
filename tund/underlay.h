/* underlay.h - the node's own underlay: the addresses it may be reached on
 * and, per family, whether the DC endpoint of that family is routable now
 * (and from which source address the kernel would send to it).
 *
 * Two parts, both in libtund.a:
 *  - pure: comparing two snapshots and deciding what the DC link does about
 *    the difference (underlay_decide, underlay_pick), and which scanned
 *    addresses count (underlay_keep). No sockets, no clock; tested by
 *    tests/unit/test_underlay.c.
 *  - the watcher: an rtnetlink socket in the event loop, subscribed to link,
 *    IPv4/IPv6 address and IPv4/IPv6 route changes. It does not parse the
 *    messages: any message, and an overrun (ENOBUFS: the kernel dropped
 *    some), arms a UNDERLAY_DEBOUNCE_MS timer unless it is armed already;
 *    when the timer fires the underlay is scanned once and the snapshot is
 *    handed to the owner's callback. So a burst of messages (an interface
 *    going down takes its addresses and routes with it) costs one scan, and
 *    nothing is polled. The watcher decides nothing.
 *
 * Nothing here logs: functions return 0 or -errno, and the callback is told
 * the error of a scan that failed. */
#ifndef NTM_UNDERLAY_H
#define NTM_UNDERLAY_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "evloop.h"

/* Families as indices (the DC's endpoints, routability). */
enum { UL_V4 = 0, UL_V6 = 1, UL_NFAM = 2 };
#define UL_BIT(f) (1u << (f))

#define UNDERLAY_MAX_ADDRS 16      /* as many as a REGISTER carries */
#define UNDERLAY_DEBOUNCE_MS 50    /* first change message -> the scan */

struct underlay_addr {
	uint8_t fam;                   /* UL_V4 or UL_V6 */
	uint8_t addr[16];              /* first 4 bytes for UL_V4 */
};

/* One scan. Addresses are in no particular order: compare as sets. */
struct underlay {
	unsigned naddrs;
	struct underlay_addr addrs[UNDERLAY_MAX_ADDRS];
	bool routable[UL_NFAM];        /* the DC endpoint of the family has a route */
	uint8_t src[UL_NFAM][16];      /* the source address the kernel picks for it */
};

enum underlay_action {
	UL_NOTHING = 0,                /* nothing changed that matters */
	UL_REREGISTER,                 /* REGISTER at once on the DC session we have */
	UL_HANDSHAKE,                  /* no session: a handshake at once, backoff reset */
};

struct underlay_decision {
	bool changed;                  /* addresses, or the route to a DC endpoint, differ */
	unsigned gained, lost;         /* UL_BIT()s: families with addresses now but not
					  before, and the reverse */
	int use;                       /* the DC endpoint to use: UL_V4 or UL_V6 */
	enum underlay_action action;
};

/* ---- pure ---- */

/* The DC endpoint to use. configured: UL_BIT()s of the endpoints there are
 * (not 0); cur: the one in use, -1 for none yet. The one in use while it
 * stays routable; else a routable one, IPv6 before IPv4; else (nothing is
 * routable, so nothing is gained by switching) cur, or with none yet IPv6
 * before IPv4. Always returns a configured one. */
int underlay_pick(const struct underlay *u, unsigned configured, int cur);

/* After a handshake to cur went unanswered: the other configured endpoint
 * when it is routable (the route may be there and the path broken), else cur. */
int underlay_pick_after_timeout(const struct underlay *u, unsigned configured, int cur);

/* Same addresses (as sets). */
bool underlay_same_addrs(const struct underlay *a, const struct underlay *b);
/* Same addresses, and same routability and source per family. */
bool underlay_equal(const struct underlay *a, const struct underlay *b);

/* What the DC link does about the scan now, given the previous one: the
 * endpoint to use (underlay_pick) and, if anything changed, REGISTER on the
 * session when there is one, else a handshake. */
struct underlay_decision underlay_decide(const struct underlay *old, const struct underlay *now,
					 unsigned configured, int cur, bool have_session);

/* Whether an address the kernel lists belongs in the snapshot: IPv4 or IPv6
 * of an interface that is up, not loopback and not `skip` (our TUN); not
 * link-local (169.254/16, fe80::/10), not loopback; for IPv6 not tentative,
 * not dadfailed and not deprecated (IFA_F_* in ifa_flags). if_flags: IFF_*. */
bool underlay_keep(int family, const uint8_t *addr, unsigned ifa_flags, unsigned if_flags,
		   const char *ifname, const char *skip);

/* "203.0.113.2 2001:db8::2" (or "none"), cut short with "..." to fit cap. */
const char *underlay_format(const struct underlay *u, char *buf, size_t cap);

/* ---- the scan and the watcher ---- */

/* Scans the underlay now (two netlink dumps, one throwaway UDP socket per
 * configured DC endpoint): addresses that pass underlay_keep and, for each
 * dc[f] whose ss_family is not 0, whether a UDP socket can connect() to it
 * and from which source (a link-local source does not count). skip: our TUN's
 * name. Returns 0 or -errno. */
int underlay_scan(const char *skip, const struct sockaddr_storage dc[UL_NFAM],
		  struct underlay *out);

/* now is NULL and err < 0 when the scan failed. */
typedef void (*underlay_fn)(void *arg, const struct underlay *now, int err);

/* Fields are the watcher's; they are here so the owner can embed it. */
struct underlay_watch {
	int fd;                        /* rtnetlink, -1 when closed */
	struct ntm_io io;
	struct ntm_timer debounce;
	char skip[IFNAMSIZ];
	struct sockaddr_storage dc[UL_NFAM];
	underlay_fn fn;
	void *arg;
	uint64_t overruns;             /* ENOBUFS on the socket, each followed by a scan */
};

/* Opens the subscribed socket (SOCK_CLOEXEC|SOCK_NONBLOCK) on loop l. skip
 * and dc as for underlay_scan; fn is called after each scan the changes
 * cause (not at once: scan with underlay_scan for the first snapshot).
 * Returns 0 or -errno. */
int underlay_watch_open(struct underlay_watch *w, struct ntm_loop *l, const char *skip,
			const struct sockaddr_storage dc[UL_NFAM], underlay_fn fn, void *arg);

/* The DC endpoints the next scans route to (another DC instance is in use). */
void underlay_watch_set_dc(struct underlay_watch *w, const struct sockaddr_storage dc[UL_NFAM]);

/* Accepts a watcher that is closed or was never opened (fd -1). */
void underlay_watch_close(struct underlay_watch *w);

#endif
