/* watchq.c - see watchq.h. */
#include "watchq.h"

#include <errno.h>
#include <string.h>

#include "util.h"

void watchq_init(struct watchq *q)
{
	q->used = 0;
	q->n = 0;
	q->dropped = 0;
}

static void drop_first(struct watchq *q)
{
	size_t first = 2 + ntm_get_be16(q->buf);

	memmove(q->buf, q->buf + first, q->used - first);
	q->used -= first;
	q->n--;
}

int watchq_push(struct watchq *q, const void *msg, size_t len)
{
	if (len == 0 || len > WATCHQ_CAP - 2)
		return -EMSGSIZE;
	while (q->used + 2 + len > WATCHQ_CAP) {
		drop_first(q);
		if (q->dropped < UINT32_MAX)
			q->dropped++;
	}
	ntm_put_be16(q->buf + q->used, (uint16_t)len);
	memcpy(q->buf + q->used + 2, msg, len);
	q->used += 2 + len;
	q->n++;
	return 0;
}

const uint8_t *watchq_peek(const struct watchq *q, size_t *len)
{
	if (q->n == 0)
		return NULL;
	*len = ntm_get_be16(q->buf);
	return q->buf + 2;
}

void watchq_pop(struct watchq *q)
{
	if (q->n)
		drop_first(q);
}

uint32_t watchq_take_dropped(struct watchq *q)
{
	uint32_t d = q->dropped;

	q->dropped = 0;
	return d;
}

bool watch_admit(unsigned all, unsigned same_uid, uid_t uid)
{
	return all < WATCH_MAX && (uid == 0 || same_uid < WATCH_PER_USER);
}
