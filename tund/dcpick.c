/* dcpick.c - the DC instance the node talks to; see dcpick.h. */
#include <stdint.h>

#include "dcpick.h"

static unsigned next_usable(const struct dcpick *p, unsigned from)
{
	for (unsigned k = 1; k <= p->n; k++) {
		unsigned i = (from + k) % p->n;
		if (p->have & (1u << i))
			return i;
	}
	return from;
}

void dcpick_init(struct dcpick *p, unsigned n, unsigned have, uint64_t now_ms)
{
	if (n == 0)
		n = 1;
	if (n > DCPICK_MAX)
		n = DCPICK_MAX;
	have &= (1u << n) - 1;
	*p = (struct dcpick){ .n = n, .have = have ? have : 1, .since_ms = now_ms };
	p->cur = p->have & 1 ? 0 : next_usable(p, 0);
}

static struct dcpick_out move_on(struct dcpick *p, uint64_t now_ms, bool reset)
{
	struct dcpick_out o = { .action = DCP_HANDSHAKE, .reset_backoff = reset };
	unsigned next = next_usable(p, p->cur);

	p->tried++;
	if (next != p->cur) {
		p->cur = next;
		p->since_ms = now_ms;
		p->switches++;
		o.switched = true;
	}
	/* every usable instance went unanswered once: back off before the
	 * next round (a handshake timeout doubles the backoff on one DC) */
	unsigned usable = (unsigned)__builtin_popcount(p->have);
	if (!reset && p->tried >= usable) {
		o.double_backoff = true;
		p->tried = 0;
	}
	o.use = p->cur;
	return o;
}

struct dcpick_out dcpick_on(struct dcpick *p, enum dcpick_event ev, uint64_t now_ms)
{
	struct dcpick_out o = { .use = p->cur };

	switch (ev) {
	case DCP_HS_SILENT:
		return move_on(p, now_ms, false);
	case DCP_REGISTER_LOST:
		/* the instance answered the handshake, then went silent; with
		 * one instance today's rule holds: back off and try it again */
		if (p->n == 1) {
			o.action = DCP_HANDSHAKE;
			o.double_backoff = true;
			return o;
		}
		return move_on(p, now_ms, true);
	case DCP_KEEPALIVES_LOST:
		if (p->n == 1) {
			/* the DC restarted or is unreachable: handshake again */
			o.action = DCP_HANDSHAKE;
			o.reset_backoff = true;
			return o;
		}
		return move_on(p, now_ms, true);
	case DCP_REGISTERED:
		p->tried = 0;
		break;
	}
	return o;
}

uint64_t dcpick_ack_timeout(unsigned n, uint64_t keepalive_ms, uint64_t max_ms, uint32_t srtt_ms)
{
	uint64_t t = keepalive_ms < max_ms ? keepalive_ms : max_ms;

	if (n > 1) {
		uint64_t third = keepalive_ms / 3;
		if (srtt_ms) {
			uint64_t w = 4 * (uint64_t)srtt_ms + DCPICK_ACK_SLACK_MS;
			t = w < DCPICK_ACK_MIN_MS ? DCPICK_ACK_MIN_MS : w;
		}
		if (t > third)
			t = third;
	}
	return t ? t : 1;
}

uint32_t dcpick_srtt(uint32_t srtt_ms, uint64_t sample_ms)
{
	uint32_t s = sample_ms > UINT32_MAX / 8 ? UINT32_MAX / 8 : (uint32_t)sample_ms;

	if (s == 0)
		s = 1;          /* 0 means "none yet" */
	return srtt_ms ? (uint32_t)((7 * (uint64_t)srtt_ms + s) / 8) : s;
}
