/* stream.h - a buffered non-blocking stream connection on the event loop:
 * the shape shared by the control socket server (lib/ctlserver.c),
 * ntm-resolverd's DNS-over-TCP clients and its connections to ntm-tund.
 *
 * The stream owns the fd (closed by ntm_stream_close), a bounded input
 * buffer (its size fixed at init: the largest message the owner accepts,
 * or a multiple) and an output queue bounded by out_max bytes. The owner
 * parses messages in place from in[0..inlen) and drops what it used with
 * ntm_stream_consume.
 *
 * The stream arms the fd's events itself: EPOLLIN while the input buffer
 * has room, EPOLLOUT while output is queued. A full input buffer therefore
 * stops reading (the peer's bytes wait in the kernel) until the owner
 * consumes some, so a connection whose requests wait for a slow answer
 * never spins on a readable socket. EPOLLHUP and EPOLLERR are always
 * reported; with the input buffer full, ntm_stream_read cannot see them,
 * so an owner that gets them with a full buffer closes the connection.
 *
 * One return convention for every call: -errno on failure, 0 for "nothing
 * (more) to do now", or a positive byte count:
 *   ntm_stream_read   bytes read; 0 would block; -ENOBUFS input full;
 *                     -EPIPE the peer closed its end; other -errno.
 *   ntm_stream_flush  bytes still queued (EPOLLOUT armed); 0 all sent;
 *                     -errno the connection is dead (the owner closes it).
 *   ntm_stream_queue  0, or -ENOBUFS beyond out_max, -ENOMEM.
 * Nothing here logs or closes by itself: every verdict goes to the owner.
 * Single-threaded, like the loop. */
#ifndef NTM_STREAM_H
#define NTM_STREAM_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "evloop.h"

/* Fields: in and inlen are the owner's to read; the rest is private. */
struct ntm_stream {
	struct ntm_io io;
	int fd;                        /* -1: closed (or never opened) */
	uint8_t *in;
	size_t inlen, incap;
	uint8_t *out;
	size_t outoff, outlen, outcap, outmax;
	uint32_t armed;                /* the events asked of the loop */
};

/* Takes fd (non-blocking) and starts watching it for EPOLLIN; the loop
 * calls fn(io, events, arg) when it is ready. in_cap > 0 is the input
 * buffer's size, out_max the output queue's cap. Returns 0, or -errno and
 * then leaves fd open (the caller still owns it) and s closed. */
int ntm_stream_open(struct ntm_stream *s, struct ntm_loop *l, int fd, size_t in_cap,
		    size_t out_max, ntm_io_fn fn, void *arg);

/* Stops watching, closes the fd and frees the buffers. Accepts a closed s. */
void ntm_stream_close(struct ntm_stream *s);

/* Reads until the socket would block or the input buffer is full. Bytes
 * read before an end or error are returned first; the next call reports
 * the end (a socket keeps reporting it). */
ssize_t ntm_stream_read(struct ntm_stream *s);

/* Drops the first n (<= inlen) input bytes; reading resumes if it had
 * stopped on a full buffer. */
void ntm_stream_consume(struct ntm_stream *s, size_t n);

/* Room for len more output bytes at the end of the queue, or NULL
 * (-ENOBUFS / -ENOMEM in *err). Nothing is queued until ntm_stream_commit. */
uint8_t *ntm_stream_reserve(struct ntm_stream *s, size_t len, int *err);
/* Queues n (<= the len reserved) bytes written at the reserved place. */
void ntm_stream_commit(struct ntm_stream *s, size_t n);

/* Copies len bytes to the end of the queue; ntm_stream_flush sends them. */
int ntm_stream_queue(struct ntm_stream *s, const void *buf, size_t len);

/* Sends what is queued until done or the socket is full. */
ssize_t ntm_stream_flush(struct ntm_stream *s);

/* Bytes queued and not yet sent. */
size_t ntm_stream_pending(const struct ntm_stream *s);

#endif
