/* udptrain.h - which of the UDP replies queued during a batch leave
 * together as one UDP_SEGMENT train (server.c's udp_flush).
 *
 * A train is one sendmsg whose bytes the kernel cuts into datagrams of
 * one size: one route lookup and one pass down the stack for all of them,
 * where sendmmsg still pays both per datagram. The kernel requires every
 * datagram but the last to have the segment size, and they all go to one
 * address from one socket, so replies join a train only when they have
 * the same socket, client address, source address (IP_PKTINFO) and
 * length. DNS clients match replies to queries by ID and question, never
 * by order, so a reply may leave before one queued earlier. A client
 * socket without UDP_GRO gets the datagrams one by one, as if sent apart.
 *
 * Pure: no socket, no clock; tests/unit/test_udptrain.c. */
#ifndef NTM_UDPTRAIN_H
#define NTM_UDPTRAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define UDPTRAIN_SEGS 64           /* datagrams per train (the kernel's UDP_MAX_SEGMENTS) */
#define UDPTRAIN_BYTES 60000       /* bytes per train: under the 65,507 of one UDP send */
#define UDPTRAIN_GROUPED 64        /* replies looked at for grouping; later ones go alone */

struct udptrain_reply {
	int fd;
	const struct sockaddr_storage *to;
	socklen_t tolen;
	bool has_src;
	const uint8_t *src;        /* 16 bytes (an IPv4 source in the first 4) */
	size_t len;
};

struct udptrain {
	unsigned first, n;         /* its replies: order[first] .. order[first + n - 1] */
};

/* Group the n replies into trains, in the order of each train's first
 * reply (the first UDPTRAIN_GROUPED replies; any after them, and every
 * reply when gso is false, is a train of one). order gets a permutation of 0..n-1, t one entry per
 * train; returns the number of trains. */
unsigned udptrain_plan(const struct udptrain_reply *r, unsigned n, bool gso, unsigned *order,
		       struct udptrain *t);

#endif
