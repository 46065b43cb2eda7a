/* natclass.h - what `ntmctl netcheck` concludes from the DC's
 * NETCHECK_ECHOes (doc/protocol.md 5.13): a pure function of what was
 * seen, so that tests/unit/test_netcheck.c can try every case. */
#ifndef NTM_NATCLASS_H
#define NTM_NATCLASS_H

#include <stdbool.h>
#include <stdint.h>

#include "ctlproto.h"
#include "wire.h"

enum { NC_MAIN = 0, NC_SECOND = 1, NC_NSOCK = 2 };      /* our sockets */
enum { NC_PRIMARY = 0, NC_ALT = 1, NC_NDEST = 2 };      /* the DC's addresses */

/* The echoes of one family: from each of our sockets to each DC address. */
struct nc_obs {
	uint8_t family;                       /* 4 or 6 */
	bool has_alt;                         /* the DC has a second address of this family */
	bool answered[NC_NSOCK][NC_NDEST];
	struct ntm_endpoint observed[NC_NSOCK][NC_NDEST];
	uint16_t local_port[NC_NSOCK];        /* our sockets' ports */
	unsigned nlocal;                      /* our own addresses of this family */
	const uint8_t (*local)[16];           /* IPv4 in the first 4 bytes */
	uint32_t rtt_us;                      /* main socket to the primary address, 0: none */
};

/* No NAT: every echo shows one of our addresses and the socket's own port.
 * Port preserved: every echo shows the socket's own port. Mapping: one
 * socket's echoes from the DC's two addresses show the same address and
 * port (endpoint-independent) or not (endpoint-dependent: some socket's
 * two differ); without a pair it is unknown, and says why. */
void nc_classify(const struct nc_obs *o, struct ntm_lctl_nc_family *out);

/* The median of the n round trips in v (sorted in place; for an even n the
 * mean of the middle two), 0 for none: a relay's latency from its probes. */
uint32_t nc_median_us(uint32_t *v, unsigned n);

#endif
