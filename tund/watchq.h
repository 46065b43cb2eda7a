/* watchq.h - one watcher's queue of encoded WATCH events (doc/control.md
 * 3.12), bounded: at most WATCHQ_CAP bytes of events wait; a new event
 * that does not fit pushes out the oldest ones, which are counted so
 * that the watcher is told how many it lost. Pure, no allocation; in
 * libtund.a, tested by tests/unit/test_watch.c. */
#ifndef NTM_WATCHQ_H
#define NTM_WATCHQ_H

#include <stddef.h>
#include <stdint.h>

#define WATCHQ_CAP 16384               /* bytes of events, length prefixes included */

struct watchq {
	uint8_t buf[WATCHQ_CAP];           /* [u16 length, message]... from 0 to used */
	size_t used;
	unsigned n;                        /* messages queued */
	uint32_t dropped;                  /* pushed out since the last watchq_take_dropped */
};

void watchq_init(struct watchq *q);
/* Queues a copy of msg (len bytes, 1..WATCHQ_CAP - 2), dropping the oldest
 * messages while it does not fit. 0, or -EMSGSIZE (nothing changed). */
int watchq_push(struct watchq *q, const void *msg, size_t len);
/* The oldest message and its length, or NULL when empty. */
const uint8_t *watchq_peek(const struct watchq *q, size_t *len);
/* Drops the oldest message (after it was sent). */
void watchq_pop(struct watchq *q);
/* How many were pushed out since the last call; resets the count. */
uint32_t watchq_take_dropped(struct watchq *q);

#endif
