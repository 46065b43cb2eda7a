/* replay.h - the receive-side anti-replay window (RFC 6479 bitmap) and the
 * counter limits shared by sender and receiver.
 *
 * The window is a ring of NTM_REPLAY_WORDS 64-bit words. One word is always
 * the one being filled, so the usable window is W = (words - 1) * 64 = 8128
 * packets: with top = the highest counter accepted so far, a counter c is
 * accepted iff c < NTM_REJECT_AFTER, c + W >= top, and c was not seen.
 * Moving top forward clears only the words it skips over (at most the whole
 * ring), so the cost per packet is O(1) amortized with no shifting.
 *
 * Not thread-safe: one window per receiving session, touched by one thread.
 * struct ntm_replay_mt below is the window several threads share. */
#ifndef NTM_REPLAY_H
#define NTM_REPLAY_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#define NTM_REPLAY_WORDS 128u
#define NTM_REPLAY_WINDOW ((NTM_REPLAY_WORDS - 1u) * 64u) /* W = 8128 */

/* Counters at or above this are refused on both sides: a sender stops (and
 * must rekey long before, see doc/protocol.md), a receiver drops. It lies
 * well below 2^64 so a counter can never wrap, and leaves room for the
 * window arithmetic (c + W never overflows). */
#define NTM_REJECT_AFTER (UINT64_MAX - (UINT64_C(1) << 16))

struct ntm_replay {
	uint64_t top;   /* one more than the highest counter accepted; 0 = none yet */
	uint64_t bits[NTM_REPLAY_WORDS];
};

void ntm_replay_init(struct ntm_replay *r);

/* Check counter c and, when acceptable, record it. Call only after the
 * packet carrying c was authenticated (otherwise a forged counter would
 * advance the window). Returns true to accept, false to drop. */
bool ntm_replay_check(struct ntm_replay *r, uint64_t c);

/* Would c be accepted? Does not record it. */
bool ntm_replay_peek(const struct ntm_replay *r, uint64_t c);

/* Sender side: take the next counter from *next, or return false once the
 * limit is reached (the session must not send any more). */
bool ntm_counter_next(uint64_t *next, uint64_t *out);

/* The window shared by threads that open one session's datagrams at once
 * (ntm-tund's workers, Workers > 1): the same contract as ntm_replay (the
 * same W, counters at or above NTM_REJECT_AFTER refused), lock-free, and
 * correct under any interleaving and any reordering across threads.
 *
 * Positions p = c + 1 fall into blocks of 16 (b = p / 16); slot b mod
 * NTM_REPLAY_MT_SLOTS is one 64-bit word: b modulo 2^48 (the tag) and a
 * bitmap of the block's 16 positions. A word only ever moves to a newer
 * block (a CAS) or gains bits in its own block, so once c was accepted its
 * slot holds c's block with c's bit, or a newer block: a second c is
 * refused either way, whatever any other thread did meanwhile. top (the
 * "too old" rule) is raised before a slot is written and read after it, so
 * a tag too far ahead to compare modulo 2^48 comes with a top that puts c
 * out of the window. */
#define NTM_REPLAY_MT_SLOTS 512u   /* > W / 16 + 1: blocks in one window never share a slot */
struct ntm_replay_mt {
	_Atomic uint64_t top;                      /* as ntm_replay.top */
	_Atomic uint64_t slot[NTM_REPLAY_MT_SLOTS];
};

void ntm_replay_mt_init(struct ntm_replay_mt *r);
/* As ntm_replay_check, from any thread; *newest (may be NULL) tells
 * whether c was above every counter accepted before it. */
bool ntm_replay_mt_check(struct ntm_replay_mt *r, uint64_t c, bool *newest);
/* As ntm_replay_peek. */
bool ntm_replay_mt_peek(struct ntm_replay_mt *r, uint64_t c);

/* The sender's counter shared by threads: as ntm_counter_next. A counter is
 * handed out once whatever the interleaving (one atomic fetch-add); past
 * the limit every thread gets false, and the counter, which the check
 * before the add keeps from moving more than one step per thread past the
 * limit, never wraps. */
bool ntm_counter_next_mt(_Atomic uint64_t *next, uint64_t *out);

#endif
