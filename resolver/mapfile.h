/* mapfile.h - ntm-resolverd's read-only mapping of ntm-tund's names map
 * (NSS_DIR/names.map, doc/namemap.md), the I/O edge of mapq.h: opened at
 * start (before the sandbox), looked at again after a lookup the map did
 * not answer, mapped anew when another file has the name or the file
 * changed size, dropped when it is gone or fails the checks. A read that
 * faults (a file cut shorter in place while mapped: only its owner can do
 * that) is caught, the mapping dropped and the question asked over the
 * socket: the stub never dies of the file. Single-threaded, as the stub. */
#ifndef NTM_RESOLVER_MAPFILE_H
#define NTM_RESOLVER_MAPFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dnsq.h"

struct mapfile;

/* The map beside nss_file. NULL only when out of memory or the path is too
 * long (then every overlay question uses the socket); a map that is not
 * there yet is looked for again after each miss. Installs the SIGBUS
 * catcher (sigaction: call before the sandbox). */
struct mapfile *mapfile_new(const char *nss_file);
void mapfile_free(struct mapfile *f);

/* The response to q from the map into resp (its length > 0), or 0: ask
 * ntm-tund (the map is then checked for a newer file, at most every
 * MAPFILE_RECHECK_MS). */
#define MAPFILE_RECHECK_MS 50
int mapfile_answer(struct mapfile *f, const struct dnsq *q, enum dnsq_kind kind, uint8_t *resp,
		   size_t cap);

/* Whether a map is mapped and LIVE: positive socket answers are then not
 * cached by the stub (a name out of the map must reach ntm-tund, which
 * sets its tunnel up again). */
bool mapfile_live(const struct mapfile *f);

#endif
