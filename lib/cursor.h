/* cursor.h - bounded readers and writers for untrusted bytes.
 *
 * Every read or write checks `len - off < need` before touching memory, so no
 * pointer is ever formed past the end of the buffer and no length arithmetic
 * can overflow. The first failure sets a sticky error flag: later calls do
 * nothing and return zeros, so a parser may read a whole message and test the
 * flag once at the end (and must, with ntm_rd_done, also check that the
 * message was consumed whole). */
#ifndef NTM_CURSOR_H
#define NTM_CURSOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "util.h"

struct ntm_rd {
	const uint8_t *buf;
	size_t len, off;
	bool err;
};

struct ntm_wr {
	uint8_t *buf;
	size_t cap, off;
	bool err;
};

static inline struct ntm_rd ntm_rd_init(const void *buf, size_t len)
{
	return (struct ntm_rd){ .buf = buf, .len = len };
}

static inline size_t ntm_rd_left(const struct ntm_rd *r)
{
	return r->err ? 0 : r->len - r->off;
}

/* Returns a pointer to the next n bytes and advances, or NULL (sticky error). */
static inline const uint8_t *ntm_rd_take(struct ntm_rd *r, size_t n)
{
	if (r->err || r->len - r->off < n) {
		r->err = true;
		return NULL;
	}
	const uint8_t *p = r->buf + r->off;
	r->off += n;
	return p;
}

static inline uint8_t ntm_rd_u8(struct ntm_rd *r)
{
	const uint8_t *p = ntm_rd_take(r, 1);
	return p ? p[0] : 0;
}

static inline uint16_t ntm_rd_u16(struct ntm_rd *r)
{
	const uint8_t *p = ntm_rd_take(r, 2);
	return p ? ntm_get_be16(p) : 0;
}

static inline uint32_t ntm_rd_u32(struct ntm_rd *r)
{
	const uint8_t *p = ntm_rd_take(r, 4);
	return p ? ntm_get_be32(p) : 0;
}

static inline uint64_t ntm_rd_u64(struct ntm_rd *r)
{
	const uint8_t *p = ntm_rd_take(r, 8);
	return p ? ntm_get_be64(p) : 0;
}

static inline void ntm_rd_copy(struct ntm_rd *r, void *dst, size_t n)
{
	const uint8_t *p = ntm_rd_take(r, n);
	if (p)
		memcpy(dst, p, n);
	else
		memset(dst, 0, n);
}

/* Marks the cursor failed (a field had a value the caller rejects). */
static inline void ntm_rd_fail(struct ntm_rd *r) { r->err = true; }

/* True when every byte was read and nothing failed: a message is consumed whole. */
static inline bool ntm_rd_done(const struct ntm_rd *r)
{
	return !r->err && r->off == r->len;
}

static inline struct ntm_wr ntm_wr_init(void *buf, size_t cap)
{
	return (struct ntm_wr){ .buf = buf, .cap = cap };
}

static inline uint8_t *ntm_wr_take(struct ntm_wr *w, size_t n)
{
	if (w->err || w->cap - w->off < n) {
		w->err = true;
		return NULL;
	}
	uint8_t *p = w->buf + w->off;
	w->off += n;
	return p;
}

static inline void ntm_wr_u8(struct ntm_wr *w, uint8_t v)
{
	uint8_t *p = ntm_wr_take(w, 1);
	if (p)
		p[0] = v;
}

static inline void ntm_wr_u16(struct ntm_wr *w, uint16_t v)
{
	uint8_t *p = ntm_wr_take(w, 2);
	if (p)
		ntm_put_be16(p, v);
}

static inline void ntm_wr_u32(struct ntm_wr *w, uint32_t v)
{
	uint8_t *p = ntm_wr_take(w, 4);
	if (p)
		ntm_put_be32(p, v);
}

static inline void ntm_wr_u64(struct ntm_wr *w, uint64_t v)
{
	uint8_t *p = ntm_wr_take(w, 8);
	if (p)
		ntm_put_be64(p, v);
}

static inline void ntm_wr_bytes(struct ntm_wr *w, const void *src, size_t n)
{
	uint8_t *p = ntm_wr_take(w, n);
	if (p && n)
		memcpy(p, src, n);
}

#endif
