/* replay.c - RFC 6479 anti-replay bitmap; see replay.h for the contract. */
#include "replay.h"

#include <string.h>

#define WORD_MASK (NTM_REPLAY_WORDS - 1u)

_Static_assert((NTM_REPLAY_WORDS & WORD_MASK) == 0, "ring size must be a power of two");
_Static_assert(NTM_REPLAY_WINDOW >= 8128, "window must hold at least 8128 packets");

void ntm_replay_init(struct ntm_replay *r)
{
	memset(r, 0, sizeof(*r));
}

/* Internally we count positions p = c + 1, so that top = 0 means "nothing
 * seen" and p = top is the newest accepted packet. */
static bool in_window(const struct ntm_replay *r, uint64_t c)
{
	if (c >= NTM_REJECT_AFTER)
		return false;
	return c + 1 + NTM_REPLAY_WINDOW >= r->top;
}

static uint64_t *slot(struct ntm_replay *r, uint64_t p)
{
	return &r->bits[(p >> 6) & WORD_MASK];
}

bool ntm_replay_peek(const struct ntm_replay *r, uint64_t c)
{
	if (!in_window(r, c))
		return false;
	uint64_t p = c + 1;
	if (p > r->top)
		return true;
	return !(r->bits[(p >> 6) & WORD_MASK] & (UINT64_C(1) << (p & 63)));
}

/* Move top forward to p, zeroing every word between the old top's word
 * (exclusive) and p's word (inclusive); a jump larger than the ring clears
 * it all. */
static void advance(struct ntm_replay *r, uint64_t p)
{
	uint64_t cur = r->top >> 6, next = p >> 6;
	uint64_t n = next - cur;

	if (n > NTM_REPLAY_WORDS)
		n = NTM_REPLAY_WORDS;
	for (uint64_t i = 1; i <= n; i++)
		r->bits[(cur + i) & WORD_MASK] = 0;
	r->top = p;
}

bool ntm_replay_check(struct ntm_replay *r, uint64_t c)
{
	if (!in_window(r, c))
		return false;
	uint64_t p = c + 1;
	if (p > r->top)
		advance(r, p);
	uint64_t *w = slot(r, p), bit = UINT64_C(1) << (p & 63);
	if (*w & bit)
		return false;
	*w |= bit;
	return true;
}

bool ntm_counter_next(uint64_t *next, uint64_t *out)
{
	if (*next >= NTM_REJECT_AFTER)
		return false;
	*out = (*next)++;
	return true;
}
