/* resolvedlink.h - ntm0's per-link split DNS on systemd-resolved, set by
 * ntm-tund itself over D-Bus at every start (so it survives restarts) and
 * reverted at stop: the plan (resolvedlink_plan.c, pure) and the sd-bus
 * calls (resolvedlink.c). ntm-tund.conf(5) [DNS], doc/names.md section 3. */
#ifndef NTM_TUND_RESOLVEDLINK_H
#define NTM_TUND_RESOLVEDLINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "resolvconf.h"
#include "wire.h"

/* the zones (NTM_MAX_ZONES) and each prefix's reverse zones */
#define RL_MAX_PREFIXES 4
#define RL_MAX_DOMAINS  (NTM_MAX_ZONES + RL_MAX_PREFIXES * NTM_REVZONE_MAX)

struct rl_prefix {
	int af;                       /* AF_INET or AF_INET6 */
	uint8_t addr[16];
	unsigned plen;
};

/* What resolved is told about the link: SetLinkDNS (one server),
 * SetLinkDomains (each routing-only: "~zone"), SetLinkDefaultRoute. */
struct rl_plan {
	int server_af;
	uint8_t server[16];
	size_t ndomains;
	struct {
		char name[NTM_NAME_MAX + 1];
		bool routing_only;
	} domains[RL_MAX_DOMAINS];
	bool default_route;
};

/* Builds the plan: the server (af, 4 or 16 bytes), the overlay zones (a
 * trailing dot dropped, duplicates once) and the reverse zones of the
 * prefixes, all routing-only, and never the default route. Returns 0,
 * -EINVAL for a bad family, an empty or too long zone, -E2BIG for more
 * zones than RL_MAX_DOMAINS or prefixes than RL_MAX_PREFIXES. */
int resolvedlink_plan(struct rl_plan *p, int server_af, const uint8_t *server,
		      const char *const *zones, size_t nzones, const struct rl_prefix *pfx,
		      size_t npfx);

struct tund;
/* At start, as root (before privileges are dropped: the bus connection
 * keeps root's credentials) and once the TUN exists: per [DNS] Resolved,
 * connect to the system bus and set the link from the last nss file. */
void resolvedlink_start(struct tund *t);
/* The zones or prefixes changed (a registration): SetLinkDomains again,
 * asynchronously on the event loop. */
void resolvedlink_update(struct tund *t);
/* At stop: RevertLink (1 s at most), then close the connection. */
void resolvedlink_stop(struct tund *t);

#endif
