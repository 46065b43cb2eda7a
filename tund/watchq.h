/* watchq.h - who may watch (watch_admit) and one watcher's queue of encoded WATCH events (doc/control.md
 * 3.12), bounded: at most WATCHQ_CAP bytes of events wait; a new event
 * that does not fit pushes out the oldest ones, which are counted so
 * that the watcher is told how many it lost. Pure, no allocation; in
 * libtund.a, tested by tests/unit/test_watch.c. */
#ifndef NTM_WATCHQ_H
#define NTM_WATCHQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define WATCHQ_CAP 16384               /* bytes of events, length prefixes included */
#define WATCH_MAX 16                   /* watchers at once */
#define WATCH_PER_USER 4               /* of them, of one uid other than root */

/* May uid start one more watcher, with all open in all and same_uid of
 * them its own? */
bool watch_admit(unsigned all, unsigned same_uid, uid_t uid);

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
