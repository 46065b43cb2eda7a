/* ring.c - the single-producer single-consumer ring; see ring.h. */
#include "ring.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int ntm_ring_init(struct ntm_ring *r, uint32_t slots, size_t slot_size)
{
	uint32_t n = 2;

	memset(r, 0, sizeof(*r));
	if (slots == 0 || slots > (UINT32_C(1) << 30) || slot_size == 0 || slot_size > (1u << 20))
		return -EINVAL;
	while (n < slots)
		n <<= 1;
	slot_size = (slot_size + 63) & ~(size_t)63;
	r->mem = aligned_alloc(64, (size_t)n * slot_size);
	if (!r->mem)
		return -ENOMEM;
	r->mask = n - 1;
	r->slot_size = slot_size;
	atomic_init(&r->head, 0);
	atomic_init(&r->tail, 0);
	return 0;
}

void ntm_ring_free(struct ntm_ring *r)
{
	free(r->mem);
	r->mem = NULL;
}

/* head and tail count slots modulo 2^32; head - tail is the fill level */
void *ntm_ring_reserve(struct ntm_ring *r)
{
	uint32_t h = atomic_load_explicit(&r->head, memory_order_relaxed);
	uint32_t t = atomic_load_explicit(&r->tail, memory_order_acquire);

	if (h - t > r->mask)
		return NULL;
	return r->mem + (size_t)(h & r->mask) * r->slot_size;
}

void ntm_ring_commit(struct ntm_ring *r)
{
	uint32_t h = atomic_load_explicit(&r->head, memory_order_relaxed);

	atomic_store_explicit(&r->head, h + 1, memory_order_release);
}

void *ntm_ring_peek(struct ntm_ring *r)
{
	uint32_t t = atomic_load_explicit(&r->tail, memory_order_relaxed);
	uint32_t h = atomic_load_explicit(&r->head, memory_order_acquire);

	if (h == t)
		return NULL;
	return r->mem + (size_t)(t & r->mask) * r->slot_size;
}

void ntm_ring_release(struct ntm_ring *r)
{
	uint32_t t = atomic_load_explicit(&r->tail, memory_order_relaxed);

	atomic_store_explicit(&r->tail, t + 1, memory_order_release);
}
