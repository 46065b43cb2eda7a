/* ctlclient.h - one request/reply exchange with ntm-tund's control socket.
 *
 * Depends on libc only (the NSS module compiles it too), keeps no state,
 * allocates nothing, and is safe in threads and after fork. The whole
 * exchange (connect, send, receive) runs under one deadline; EINTR retries
 * with the time left. The socket is checked before it is trusted: the path
 * must be a socket in a directory owned by root or by the socket's owner
 * and writable by nobody else, and the process at the other end (SO_PEERCRED, which reports the
 * credentials it had when it called listen()) must be root or the socket
 * file's owner (the daemon creates the socket as root and hands it to its
 * own user before dropping privileges). */
#ifndef NTM_CTLCLIENT_H
#define NTM_CTLCLIENT_H

#include <stddef.h>
#include <sys/types.h>

/* Send req (a complete request) and read one complete reply into reply.
 * Returns the reply length, or:
 *   -ENOENT / -ECONNREFUSED  the daemon is not running
 *   -ETIMEDOUT               no complete reply before the deadline
 *   -EPERM                   the socket or its peer failed the ownership checks
 *   -EMSGSIZE                the reply does not fit in cap
 *   -EBADMSG                 the reply's header is malformed
 *   other -errno             from socket calls */
ssize_t ntm_lctl_call(const char *path, const void *req, size_t reqlen, void *reply, size_t cap,
		     int timeout_ms);

/* The same, but a daemon that has not taken the request within taken_ms
 * (connected, sent, and read by the daemon: SIOCOUTQ shows our bytes
 * gone) is taken for hung, and the call ends there with -ETIMEDOUT. A
 * daemon that read the request gets the whole timeout_ms to answer (it may
 * be setting a tunnel up). taken_ms >= timeout_ms: as ntm_lctl_call. */
ssize_t ntm_lctl_call_taken(const char *path, const void *req, size_t reqlen, void *reply,
			    size_t cap, int timeout_ms, int taken_ms);

/* Streams (WATCH): connect with the same checks, send req and return the
 * connected fd (CLOEXEC, non-blocking; the caller closes it), or -errno
 * as above. */
int ntm_lctl_open(const char *path, const void *req, size_t reqlen, int timeout_ms);
/* Read the next whole message from fd within timeout_ms: its length,
 * -ETIMEDOUT when none came (the caller may wait again), -EPIPE when the
 * daemon closed the connection between messages, or -errno as above. */
ssize_t ntm_lctl_recv(int fd, void *reply, size_t cap, int timeout_ms);

#endif
