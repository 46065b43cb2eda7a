/* peername.h - which names ntm-tund looks up: a peer's full name, strictly
 * below one of the overlay zones. A single label ("bob") is never completed
 * with a zone here or at the DC: that is the job of the asking resolver's
 * search list (resolv.conf "search", or a routing domain of
 * systemd-resolved), so a name means the same on every node. Pure code, no
 * logging; unit-tested in tests/unit/test_peername.c. */
#ifndef NTM_PEERNAME_H
#define NTM_PEERNAME_H

#include <stdint.h>

#include "wire.h"

/* Normalise in (case folded, one trailing dot dropped) into out and check
 * it names a peer: 0 when it does; -EINVAL when in is not a DNS name;
 * -ENOENT when it has a single label, or when zones are known (nzones > 0)
 * and it is not strictly below one of them (the apex itself is not a
 * peer). With no zones yet (not registered), any name of two labels or
 * more passes; the caller answers "try again" until the zones are known.
 * zones: lower-case names without a trailing dot, as the DC sends them. */
int peername_check(const char *in, const char (*zones)[NTM_NAME_MAX + 1], uint8_t nzones,
		   struct ntm_name *out);

#endif
