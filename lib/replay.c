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

/* ---- the window shared by threads (replay.h) ---------------------------- */

#define MT_BITS 16u
#define MT_MASK ((UINT64_C(1) << MT_BITS) - 1)
#define MT_TAGMASK ((UINT64_C(1) << (64 - MT_BITS)) - 1)

_Static_assert(NTM_REPLAY_MT_SLOTS * MT_BITS >= NTM_REPLAY_WINDOW + 2 * MT_BITS,
	       "blocks of one window must not share a slot");

void ntm_replay_mt_init(struct ntm_replay_mt *r)
{
	atomic_init(&r->top, 0);
	for (unsigned i = 0; i < NTM_REPLAY_MT_SLOTS; i++)
		atomic_init(&r->slot[i], 0);
}

/* How much newer block b is than the block the slot word w holds: tags are
 * block numbers modulo 2^48, compared as a signed 48-bit difference. A
 * word with no bit set is empty (any block is newer). */
static int64_t mt_age(uint64_t w, uint64_t b)
{
	if (!(w & MT_MASK))
		return 1;
	uint64_t d = ((b & MT_TAGMASK) - (w >> MT_BITS)) & MT_TAGMASK;
	return (int64_t)(d << MT_BITS) >> MT_BITS;
}

/* Is c within the window of top, loaded after the slot word (see below)? */
static bool mt_in_window(struct ntm_replay_mt *r, uint64_t c)
{
	return c + 1 + NTM_REPLAY_WINDOW >= atomic_load_explicit(&r->top, memory_order_acquire);
}

/* Has p been seen, going by the slot word w? A newer block there means p is
 * too old. */
static bool mt_seen(uint64_t w, uint64_t p)
{
	int64_t age = mt_age(w, p / MT_BITS);

	return age < 0 || (age == 0 && (w & (UINT64_C(1) << (p % MT_BITS))));
}

bool ntm_replay_mt_peek(struct ntm_replay_mt *r, uint64_t c)
{
	if (c >= NTM_REJECT_AFTER)
		return false;
	uint64_t p = c + 1;
	uint64_t w = atomic_load_explicit(&r->slot[(p / MT_BITS) % NTM_REPLAY_MT_SLOTS],
					  memory_order_acquire);
	return !mt_seen(w, p) && mt_in_window(r, c);
}

/* Order matters: top is raised before the slot is written, and read after
 * the slot is read. So whoever sees a slot moved to a newer block also sees
 * a top at least that new, and the window refuses a counter whose block's
 * tag is too far behind to compare modulo 2^48. */
bool ntm_replay_mt_check(struct ntm_replay_mt *r, uint64_t c, bool *newest)
{
	if (newest)
		*newest = false;
	if (c >= NTM_REJECT_AFTER)
		return false;
	uint64_t p = c + 1, b = p / MT_BITS, bit = UINT64_C(1) << (p % MT_BITS);
	_Atomic uint64_t *s = &r->slot[b % NTM_REPLAY_MT_SLOTS];
	uint64_t w = atomic_load_explicit(s, memory_order_acquire), nw;

	if (mt_seen(w, p) || !mt_in_window(r, c))
		return false;
	/* only authenticated counters come here: raising top first is safe
	 * (a replayed one is below top already) */
	bool top_moved = false;
	uint64_t top = atomic_load_explicit(&r->top, memory_order_relaxed);
	while (p > top) {
		if (atomic_compare_exchange_weak_explicit(&r->top, &top, p, memory_order_acq_rel,
							  memory_order_relaxed)) {
			top_moved = true;
			break;
		}
	}
	do {
		if (mt_seen(w, p))
			return false;
		/* our block: add the bit; an older one: the slot is ours now */
		nw = mt_age(w, b) == 0 ? w | bit : ((b & MT_TAGMASK) << MT_BITS) | bit;
	} while (!atomic_compare_exchange_weak_explicit(s, &w, nw, memory_order_acq_rel,
							memory_order_acquire));
	if (newest)
		*newest = top_moved;
	return true;
}
bool ntm_counter_next_mt(_Atomic uint64_t *next, uint64_t *out)
{
	if (atomic_load_explicit(next, memory_order_relaxed) >= NTM_REJECT_AFTER)
		return false;
	uint64_t n = atomic_fetch_add_explicit(next, 1, memory_order_relaxed);
	if (n >= NTM_REJECT_AFTER)
		return false;
	*out = n;
	return true;
}
