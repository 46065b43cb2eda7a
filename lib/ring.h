/* ring.h - a bounded single-producer single-consumer ring of fixed-size
 * slots, lock-free: one thread fills slots, another empties them, in order.
 * ntm-tund's workers hand the main thread what is not theirs to handle
 * (tund/worker.c); the eventfd that wakes the consumer is the caller's.
 *
 * The producer reserves a slot (NULL when the ring is full: the caller
 * counts a drop), writes it, and commits it; the consumer peeks at the
 * oldest committed slot, uses it in place, and releases it. Memory is
 * allocated once, at ntm_ring_init. head and tail live on separate cache
 * lines; each is written by one side only (release) and read by the other
 * (acquire), so a committed slot's bytes are visible to the consumer and a
 * released slot is not reused before the consumer is done with it. */
#ifndef NTM_RING_H
#define NTM_RING_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

struct ntm_ring {
	_Alignas(64) _Atomic uint32_t head;   /* next slot the producer fills (producer writes) */
	_Alignas(64) _Atomic uint32_t tail;   /* next slot the consumer reads (consumer writes) */
	_Alignas(64) uint32_t mask;           /* slots - 1 (a power of two) */
	size_t slot_size;
	uint8_t *mem;
};

/* slots: rounded up to a power of two (at least 2); slot_size: bytes,
 * rounded up to 64. 0 or -ENOMEM / -EINVAL. */
int ntm_ring_init(struct ntm_ring *r, uint32_t slots, size_t slot_size);
void ntm_ring_free(struct ntm_ring *r);

/* Producer side. */
void *ntm_ring_reserve(struct ntm_ring *r);
void ntm_ring_commit(struct ntm_ring *r);

/* Consumer side: the oldest committed slot, or NULL when empty. */
void *ntm_ring_peek(struct ntm_ring *r);
void ntm_ring_release(struct ntm_ring *r);

#endif
