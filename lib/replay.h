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
 * Not thread-safe: one window per receiving session, touched by one thread. */
#ifndef NTM_REPLAY_H
#define NTM_REPLAY_H

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

#endif
