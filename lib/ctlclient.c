/* ctlclient.c - see ctlclient.h. libc only. */
#include "ctlclient.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <linux/sockios.h>

#include "ctlproto.h"

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait for events on fd until deadline. 0 when ready (or hung up: the next
 * call reports it), -ETIMEDOUT, the socket's pending error (SO_ERROR, e.g.
 * -ECONNRESET), or -EIO. Readiness wins over POLLERR: a daemon that wrote
 * and then closed with our request unread leaves both data and an error,
 * and the data comes first. */
static int wait_fd(int fd, short events, int64_t deadline)
{
	for (;;) {
		int64_t left = deadline - now_ms();
		if (left <= 0)
			return -ETIMEDOUT;
		struct pollfd p = { .fd = fd, .events = events };
		int r = poll(&p, 1, (int)left);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			return -ETIMEDOUT;
		if (p.revents & POLLNVAL)
			return -EIO;
		if (p.revents & (events | POLLHUP))
			return 0;
		if (p.revents & POLLERR) {
			int err = 0;
			socklen_t elen = sizeof(err);

			if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0 || err <= 0)
				return -EIO;
			return -err;
		}
	}
}

/* A socket must not become fd 0-2 of a program that closed them. */
static int off_std_fds(int fd)
{
	if (fd > 2)
		return fd;
	int nfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	close(fd);
	return nfd < 0 ? -errno : nfd;
}

/* The directory holding the socket must be root's, the socket owner's (the
 * daemon's user, which keeps its state files there), or the caller's own (a
 * process trusts itself, which lets tests run unprivileged), and writable
 * by nobody else, or anyone could have put a socket there. */
static int check_dir(const char *path, uid_t sock_owner)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	struct stat st;
	size_t len = strlen(path);

	memcpy(dir, path, len + 1);
	char *slash = strrchr(dir, '/');
	if (!slash)
		return -EPERM; /* relative paths are not trusted */
	if (slash == dir)
		slash++;
	*slash = '\0';
	if (stat(dir, &st) < 0)
		return -errno;
	if ((st.st_uid != 0 && st.st_uid != sock_owner && st.st_uid != geteuid()) ||
	    (st.st_mode & (S_IWGRP | S_IWOTH)))
		return -EPERM;
	return 0;
}

/* Connects before the deadline. A non-blocking Unix stream connect either
 * completes at once or fails with EAGAIN when the daemon's listen backlog is
 * full, and then nothing is in progress: poll() would report the unconnected
 * socket writable at once. So retry every 10 ms until the deadline. */
static int connect_by(int fd, const struct sockaddr_un *sun, int64_t deadline)
{
	for (;;) {
		int64_t left;

		if (connect(fd, (const struct sockaddr *)sun, sizeof(*sun)) == 0)
			return 0;
		if (errno == EISCONN)
			return 0; /* a retried connect that had completed */
		if (errno == EINPROGRESS) {
			int err = 0, ret = wait_fd(fd, POLLOUT, deadline);
			socklen_t elen = sizeof(err);

			if (ret < 0)
				return ret;
			if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0)
				return -errno;
			return -err;
		}
		if (errno != EAGAIN && errno != EINTR)
			return -errno;
		left = deadline - now_ms();
		if (left <= 0)
			return -ETIMEDOUT;
		poll(NULL, 0, left < 10 ? (int)left : 10);
	}
}

static int open_checked(const char *path, int64_t deadline)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct stat st;
	struct ucred cred;
	socklen_t clen = sizeof(cred);
	int fd, ret;

	if (strlen(path) >= sizeof(sun.sun_path))
		return -ENAMETOOLONG;
	if (stat(path, &st) < 0)
		return -errno;
	if (!S_ISSOCK(st.st_mode))
		return -EPERM;
	ret = check_dir(path, st.st_uid);
	if (ret < 0)
		return ret;
	memcpy(sun.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	fd = off_std_fds(fd);
	if (fd < 0)
		return fd;
	ret = connect_by(fd, &sun, deadline);
	if (ret < 0)
		goto fail;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) < 0) {
		ret = -errno;
		goto fail;
	}
	/* SO_PEERCRED reports the credentials the daemon had at listen(): root
	 * for a daemon that set up as root and then dropped to the socket's
	 * owner, or the owner itself for one that never ran as root. */
	if (cred.uid != 0 && cred.uid != st.st_uid) {
		ret = -EPERM;
		goto fail;
	}
	return fd;
fail:
	close(fd);
	return ret;
}

static int send_all(int fd, const uint8_t *p, size_t len, int64_t deadline)
{
	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			int ret = wait_fd(fd, POLLOUT, deadline);
			if (ret < 0)
				return ret;
			continue;
		}
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int recv_exact(int fd, uint8_t *p, size_t len, int64_t deadline)
{
	while (len) {
		ssize_t n = recv(fd, p, len, MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			int ret = wait_fd(fd, POLLIN, deadline);
			if (ret < 0)
				return ret;
			continue;
		}
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EBADMSG; /* closed in the middle of a reply */
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Until taken: a reply, or the daemon reading our request. A stopped
 * daemon accepts nothing and reads nothing, yet the kernel completed our
 * connect and holds our bytes: they are still charged to our socket
 * (SIOCOUTQ > 0) until the daemon reads them. */
static int wait_taken(int fd, int64_t taken)
{
	int ret = wait_fd(fd, POLLIN, taken), unread = 1;

	if (ret != -ETIMEDOUT)
		return ret;
	if (ioctl(fd, SIOCOUTQ, &unread) < 0 || unread > 0)
		return -ETIMEDOUT; /* hung (or gone): give up now */
	return 0;
}

ssize_t ntm_lctl_call_taken(const char *path, const void *req, size_t reqlen, void *reply,
			    size_t cap, int timeout_ms, int taken_ms)
{
	int64_t start = now_ms(), deadline = start + timeout_ms;
	int64_t taken = start + (taken_ms < timeout_ms ? taken_ms : timeout_ms);
	struct ntm_lctl_hdr h;
	uint8_t *out = reply;
	int fd, ret;

	if (cap < NTM_LCTL_HDR_LEN)
		return -EMSGSIZE;
	fd = open_checked(path, taken);
	if (fd < 0)
		return fd;
	ret = send_all(fd, req, reqlen, taken);
	if (ret == 0 && taken < deadline)
		ret = wait_taken(fd, taken);
	if (ret < 0)
		goto out;
	ret = recv_exact(fd, out, NTM_LCTL_HDR_LEN, deadline);
	if (ret < 0)
		goto out;
	if (ntm_lctl_header_parse(out, NTM_LCTL_HDR_LEN, &h) < 0) {
		ret = -EBADMSG;
		goto out;
	}
	if (h.body_len > cap - NTM_LCTL_HDR_LEN) {
		ret = -EMSGSIZE;
		goto out;
	}
	ret = recv_exact(fd, out + NTM_LCTL_HDR_LEN, h.body_len, deadline);
	if (ret == 0)
		ret = (int)(NTM_LCTL_HDR_LEN + h.body_len);
out:
	close(fd);
	return ret;
}

ssize_t ntm_lctl_call(const char *path, const void *req, size_t reqlen, void *reply, size_t cap,
		     int timeout_ms)
{
	return ntm_lctl_call_taken(path, req, reqlen, reply, cap, timeout_ms, timeout_ms);
}

int ntm_lctl_open(const char *path, const void *req, size_t reqlen, int timeout_ms)
{
	int64_t deadline = now_ms() + timeout_ms;
	int fd = open_checked(path, deadline), ret;

	if (fd < 0)
		return fd;
	ret = send_all(fd, req, reqlen, deadline);
	if (ret < 0) {
		close(fd);
		return ret;
	}
	return fd;
}

ssize_t ntm_lctl_recv(int fd, void *reply, size_t cap, int timeout_ms)
{
	int64_t deadline = now_ms() + timeout_ms;
	struct ntm_lctl_hdr h;
	uint8_t *out = reply;
	int ret;

	if (cap < NTM_LCTL_HDR_LEN)
		return -EMSGSIZE;
	ret = wait_fd(fd, POLLIN, deadline);
	if (ret < 0)
		return ret;
	ssize_t n = recv(fd, out, 1, MSG_DONTWAIT | MSG_PEEK);
	if (n == 0)
		return -EPIPE;                 /* closed between messages */
	ret = recv_exact(fd, out, NTM_LCTL_HDR_LEN, deadline);
	if (ret < 0)
		return ret;
	if (ntm_lctl_header_parse(out, NTM_LCTL_HDR_LEN, &h) < 0)
		return -EBADMSG;
	if (h.body_len > cap - NTM_LCTL_HDR_LEN)
		return -EMSGSIZE;
	ret = recv_exact(fd, out + NTM_LCTL_HDR_LEN, h.body_len, deadline);
	return ret < 0 ? ret : (ssize_t)(NTM_LCTL_HDR_LEN + h.body_len);
}
