/* stream.c - see stream.h. */
#include "stream.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Ask the loop for what the buffers allow: EPOLLIN while there is room
 * to read into, EPOLLOUT while output waits. */
static int rearm(struct ntm_stream *s)
{
	uint32_t want = 0;

	if (s->inlen < s->incap)
		want |= EPOLLIN;
	if (s->outoff < s->outlen)
		want |= EPOLLOUT;
	if (want == s->armed)
		return 0;
	int ret = ntm_io_modify(&s->io, want);
	if (ret == 0)
		s->armed = want;
	return ret;
}

int ntm_stream_open(struct ntm_stream *s, struct ntm_loop *l, int fd, size_t in_cap,
		    size_t out_max, ntm_io_fn fn, void *arg)
{
	int ret;

	memset(s, 0, sizeof(*s));
	s->fd = -1;
	if (in_cap == 0)
		return -EINVAL;
	s->in = malloc(in_cap);
	if (!s->in)
		return -ENOMEM;
	s->incap = in_cap;
	s->outmax = out_max;
	ntm_io_init(&s->io, l, fd, fn, arg);
	ret = ntm_io_add(&s->io, EPOLLIN);
	if (ret < 0) {
		free(s->in);
		s->in = NULL;
		return ret;
	}
	s->armed = EPOLLIN;
	s->fd = fd;
	return 0;
}

void ntm_stream_close(struct ntm_stream *s)
{
	if (s->fd < 0)
		return;
	ntm_io_remove(&s->io);
	close(s->fd);
	s->fd = -1;
	free(s->in);
	free(s->out);
	s->in = s->out = NULL;
	s->inlen = s->incap = s->outoff = s->outlen = s->outcap = 0;
}

ssize_t ntm_stream_read(struct ntm_stream *s)
{
	size_t got = 0;

	if (s->inlen == s->incap)
		return -ENOBUFS;
	while (s->inlen < s->incap) {
		size_t space = s->incap - s->inlen;
		ssize_t n = recv(s->fd, s->in + s->inlen, space, MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n > 0) {
			s->inlen += (size_t)n;
			got += (size_t)n;
			if ((size_t)n < space)
				break; /* a short read: the socket is drained */
			continue;
		}
		int err = n == 0 ? -EPIPE : -errno;
		if (got > 0 || err == -EAGAIN)
			break;
		return err;
	}
	int ret = rearm(s);
	return ret < 0 ? ret : (ssize_t)got;
}

void ntm_stream_consume(struct ntm_stream *s, size_t n)
{
	if (n > s->inlen)
		n = s->inlen;
	memmove(s->in, s->in + n, s->inlen - n);
	s->inlen -= n;
	rearm(s);
}

uint8_t *ntm_stream_reserve(struct ntm_stream *s, size_t len, int *err)
{
	size_t queued = s->outlen - s->outoff;

	if (len > s->outmax || queued > s->outmax - len) {
		*err = -ENOBUFS;
		return NULL;
	}
	if (s->outoff > 0 && s->outcap - s->outlen < len) {
		memmove(s->out, s->out + s->outoff, queued);
		s->outoff = 0;
		s->outlen = queued;
	}
	if (s->outcap - s->outlen < len) {
		size_t cap = s->outcap ? s->outcap * 2 : 4096;
		if (cap < s->outlen + len)
			cap = s->outlen + len;
		if (cap > s->outmax)
			cap = s->outmax;
		uint8_t *o = realloc(s->out, cap);
		if (!o) {
			*err = -ENOMEM;
			return NULL;
		}
		s->out = o;
		s->outcap = cap;
	}
	return s->out + s->outlen;
}

void ntm_stream_commit(struct ntm_stream *s, size_t n)
{
	s->outlen += n;
}

int ntm_stream_queue(struct ntm_stream *s, const void *buf, size_t len)
{
	int err = 0;
	uint8_t *p = ntm_stream_reserve(s, len, &err);

	if (!p)
		return err;
	memcpy(p, buf, len);
	ntm_stream_commit(s, len);
	return 0;
}

ssize_t ntm_stream_flush(struct ntm_stream *s)
{
	while (s->outoff < s->outlen) {
		ssize_t n = send(s->fd, s->out + s->outoff, s->outlen - s->outoff,
				 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EPIPE;
		s->outoff += (size_t)n;
	}
	if (s->outoff == s->outlen)
		s->outoff = s->outlen = 0;
	int ret = rearm(s);
	return ret < 0 ? ret : (ssize_t)(s->outlen - s->outoff);
}

size_t ntm_stream_pending(const struct ntm_stream *s)
{
	return s->outlen - s->outoff;
}
