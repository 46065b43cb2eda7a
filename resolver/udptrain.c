/* udptrain.c - see udptrain.h. */
#include "udptrain.h"

#include <string.h>

static bool same_way(const struct udptrain_reply *a, const struct udptrain_reply *b)
{
	if (a->len != b->len || a->fd != b->fd || a->tolen != b->tolen ||
	    a->has_src != b->has_src)
		return false;
	if (a->has_src && memcmp(a->src, b->src, 16) != 0)
		return false;
	return memcmp(a->to, b->to, a->tolen) == 0;
}

unsigned udptrain_plan(const struct udptrain_reply *r, unsigned n, bool gso, unsigned *order,
		       struct udptrain *t)
{
	bool taken[UDPTRAIN_GROUPED] = { false };
	unsigned nt = 0, o = 0, grouped = n < UDPTRAIN_GROUPED ? n : UDPTRAIN_GROUPED;

	for (unsigned k = 0; k < n; k++) {
		if (k < grouped) {
			if (taken[k])
				continue;
			taken[k] = true;
		}
		t[nt].first = o;
		t[nt].n = 1;
		order[o++] = k;
		size_t bytes = r[k].len;
		/* an empty datagram cannot be a segment; one over UINT16_MAX
		 * cannot be the segment size */
		bool can = gso && r[k].len > 0 && r[k].len <= UINT16_MAX &&
			   r[k].tolen <= sizeof(*r[k].to);
		for (unsigned j = k + 1; can && j < grouped; j++) {
			if (t[nt].n == UDPTRAIN_SEGS || bytes + r[k].len > UDPTRAIN_BYTES)
				break;
			if (taken[j] || !same_way(&r[k], &r[j]))
				continue;
			taken[j] = true;
			order[o++] = j;
			t[nt].n++;
			bytes += r[k].len;
		}
		nt++;
	}
	return nt;
}
