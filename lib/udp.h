/* udp.h - the UDP sockets ntm daemons use: nonblocking, close-on-exec,
 * deliberately sized buffers (default-sized receive buffers drop under load,
 * see doc/design.md section 3), and packet info so a multi-homed host answers
 * from the address it was reached on. */
#ifndef NTM_UDP_H
#define NTM_UDP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#define NTM_UDP_BUFSIZE (4 * 1024 * 1024)

/* Where a datagram came from and which local address it reached. */
struct ntm_udp_meta {
	struct sockaddr_storage src;
	socklen_t srclen;
	bool has_dst;
	int family;                    /* of dst: AF_INET or AF_INET6 */
	uint8_t dst[16];               /* local address the datagram was sent to */
	int ifindex;
	int fd;                        /* the socket it arrived on */
	bool via_relay;                /* ntm-tund: unwrapped from a RELAY capsule (src = the relay) */
	uint16_t gro_size;             /* UDP_GRO: the buffer holds datagrams of this size, the
					* last one maybe shorter; 0: one datagram */
};

/* Open a UDP socket of family AF_INET or AF_INET6 bound to addr (a struct
 * in_addr / in6_addr, NULL for any) and port (0: kernel's choice). For
 * AF_INET6, v6only false makes one socket serve IPv4 too (v4-mapped
 * addresses). Returns the fd or -errno. */
int ntm_udp_open(int family, const void *addr, uint16_t port, bool v6only);

/* As ntm_udp_open, with SO_REUSEPORT: more sockets may bind the same port
 * (ntm-tund's workers, one each); the kernel spreads datagrams over them
 * unless a program steers them (ntm_udp_steer_data). */
int ntm_udp_open_reuseport(int family, const void *addr, uint16_t port, bool v6only);

/* Steer the datagrams of fd's SO_REUSEPORT group (n sockets, bound in
 * order 0..n-1) with a classic BPF program (SO_ATTACH_REUSEPORT_CBPF):
 * a datagram whose first byte is data_type goes to socket (the big-endian
 * 32-bit word at offset 4) mod n, the receiver index of a DATA message;
 * anything else, and anything shorter, to socket 0. 0 or -errno. */
int ntm_udp_steer_data(int fd, unsigned n, uint8_t data_type);

/* Receive one datagram. Returns its length, -EAGAIN when none is waiting,
 * -EMSGSIZE when it was larger than cap (dropped), or another -errno. */
ssize_t ntm_udp_recv(int fd, uint8_t *buf, size_t cap, struct ntm_udp_meta *m);

/* Ask the kernel to coalesce datagrams of one source arriving back to back
 * (UDP_GRO, Linux 5.0): ntm_udp_recv then returns trains of them, with
 * m->gro_size set; the buffer must hold 64 KiB. 0 or -errno. */
int ntm_udp_set_gro(int fd);

/* Fill m's destination fields (has_dst, family, dst, ifindex) from the
 * IP_PKTINFO / IPV6_PKTINFO control message of a received datagram (for
 * callers that use recvmsg or recvmmsg themselves). */
struct msghdr;
void ntm_udp_read_pktinfo(struct msghdr *mh, struct ntm_udp_meta *m);

/* The other way: sets mh's control message to an IP_PKTINFO (family
 * AF_INET, src 4 bytes) or IPV6_PKTINFO (16 bytes) asking that the
 * datagram leave from src. ctl holds CMSG_SPACE(sizeof(struct
 * in6_pktinfo)) bytes, aligned for a cmsghdr. */
void ntm_udp_put_pktinfo(struct msghdr *mh, void *ctl, int family, const uint8_t *src);
/* The control data of one UDP_SEGMENT send into mh, in ctl (at least
 * NTM_UDP_SEG_CTL_LEN bytes, cmsghdr-aligned): UDP_SEGMENT with seg, then,
 * when has_src, the packet info for source address src of family. */
#define NTM_UDP_SEG_CTL_LEN (CMSG_SPACE(sizeof(uint16_t)) + CMSG_SPACE(sizeof(struct in6_pktinfo)))
void ntm_udp_put_segment(struct msghdr *mh, void *ctl, uint16_t seg, bool has_src, int family,
			 const uint8_t *src);

/* Batched receive: up to NTM_UDP_BATCH datagrams per recvmmsg, into buffers
 * the caller owns (NTM_UDP_BATCH of cap bytes each, set once with
 * ntm_udp_rxbatch_init). The headers live here so that a receive allocates
 * nothing. */
#define NTM_UDP_BATCH 32

struct ntm_udp_rxbatch {
	uint8_t *buf[NTM_UDP_BATCH];
	size_t cap;
	size_t len[NTM_UDP_BATCH];        /* of each datagram received */
	bool trunc[NTM_UDP_BATCH];        /* larger than cap: its bytes are not there */
	struct ntm_udp_meta meta[NTM_UDP_BATCH];
	struct mmsghdr mm[NTM_UDP_BATCH];
	struct iovec iov[NTM_UDP_BATCH];
	union {
		char buf[128];            /* IP_PKTINFO, IPV6_PKTINFO, UDP_GRO: 88 bytes on LP64 */
		struct cmsghdr align;
	} ctl[NTM_UDP_BATCH];
};

/* bufs holds NTM_UDP_BATCH buffers of cap bytes each, back to back. */
void ntm_udp_rxbatch_init(struct ntm_udp_rxbatch *b, uint8_t *bufs, size_t cap);

/* Receive up to max (1..NTM_UDP_BATCH) datagrams with one recvmmsg: their
 * count (b->len, b->trunc and b->meta filled for each), -EAGAIN when none is
 * waiting, or another -errno. A truncated datagram is returned with trunc
 * set, for the caller to count as a drop. */
ssize_t ntm_udp_recv_batch(int fd, struct ntm_udp_rxbatch *b, size_t max);

/* One datagram of a batched send: buf to to.src (to.srclen) on fd, from the
 * local address in to's destination fields when has_dst (as ntm_udp_send's
 * from). err is set by ntm_udp_send_batch: 0 or -errno. */
struct ntm_udp_tx {
	int fd;
	const uint8_t *buf;
	size_t len;
	struct ntm_udp_meta to;
	int err;
};

/* Send n datagrams with as few sendmmsg calls as the runs of one fd allow,
 * in order. A datagram the kernel refuses (a full buffer, say) gets its err
 * and the rest are still tried. Returns how many were sent. */
size_t ntm_udp_send_batch(struct ntm_udp_tx *tx, size_t n);

/* Send one datagram to `to`; when from is given (the meta of a datagram
 * being answered) the reply leaves from the address that datagram reached. */
ssize_t ntm_udp_send(int fd, const void *buf, size_t len, const struct sockaddr *to,
		     socklen_t tolen, const struct ntm_udp_meta *from);

/* Most datagrams in one ntm_udp_send_train call (the kernel's UDP_MAX_SEGMENTS
 * before Linux 6.9), and most bytes (the train leaves as one IP packet inside
 * the kernel). */
#define NTM_UDP_TRAIN_MAX 64
#define NTM_UDP_TRAIN_BYTES 65000

/* Send the len bytes at buf as datagrams of seg bytes each, the last one
 * maybe shorter, to `to`: with gso, one sendmsg with UDP_SEGMENT (Linux 4.18)
 * that the kernel (or the NIC) cuts; without, one sendmmsg. At most
 * NTM_UDP_TRAIN_MAX datagrams and NTM_UDP_TRAIN_BYTES bytes. Returns the
 * number of datagrams sent (all of them with gso; sendmmsg may stop early on
 * a full buffer), or -errno for the first datagram. With gso, -EIO or -EINVAL
 * mean the path cannot segment (no checksum offload on the device, a route
 * through xfrm, a segment over the MTU): send again without. */
ssize_t ntm_udp_send_train(int fd, const uint8_t *buf, size_t len, size_t seg,
			   const struct sockaddr *to, socklen_t tolen, bool gso);

/* Send the n (1..NTM_UDP_TRAIN_MAX) datagrams iov[0..n-1], each seg bytes
 * but the last (which may be shorter), to to->src with one sendmsg and
 * UDP_SEGMENT (Linux 4.18), from the local address in to's destination
 * fields when has_dst (as ntm_udp_send's from). The buffers need not be
 * contiguous (but must have those sizes: the kernel cuts the bytes every seg
 * wherever the buffers end; -EINVAL otherwise). Returns the bytes sent or
 * -errno; -EIO or -EINVAL as ntm_udp_send_train's (the path cannot segment:
 * send one by one). */
struct iovec;
ssize_t ntm_udp_send_segments(int fd, const struct iovec *iov, size_t n, size_t seg,
			      const struct ntm_udp_meta *to);

/* Send one datagram to `to` with this TTL (IPv4, also mapped) or hop limit
 * (IPv6), 1..255, for this datagram only: one that is to open our own NAT
 * towards `to` and die at the router after it. */
ssize_t ntm_udp_send_ttl(int fd, const void *buf, size_t len, const struct sockaddr *to,
			 socklen_t tolen, int ttl);

/* Turn an IPv4-mapped IPv6 address (::ffff:a.b.c.d) into AF_INET in place. */
/* ICMP errors for what a socket sent (IP_RECVERR, IPV6_RECVERR): one
 * message of its error queue. */
struct ntm_udp_err {
	uint8_t origin;                  /* SO_EE_ORIGIN_ICMP (2) or _ICMP6 (3); others are not ICMP */
	uint8_t type, code;              /* the ICMP or ICMPv6 type and code */
	struct sockaddr_storage dst;     /* the failed datagram's destination, unmapped */
	socklen_t dstlen;
	struct sockaddr_storage from;    /* who sent the ICMP error (unmapped), ss_family 0: unknown */
};
/* Queue the ICMP errors fd's datagrams draw (on), or stop (off: the queue
 * is emptied). Both levels on a dual-stack socket. 0 or -errno. */
int ntm_udp_set_recverr(int fd, bool on);
/* Take one message off fd's error queue: 0, -EAGAIN when it is empty. */
int ntm_udp_recv_err(int fd, struct ntm_udp_err *e);

void ntm_sockaddr_unmap(struct sockaddr_storage *ss, socklen_t *len);
/* The reverse, for sending to an IPv4 peer from an AF_INET6 dual-stack socket. */
void ntm_sockaddr_map(struct sockaddr_storage *ss, socklen_t *len);

/* Compare address and port (0 = equal). */
int ntm_sockaddr_cmp(const struct sockaddr *a, const struct sockaddr *b);
/* "192.0.2.1:7541" or "[2001:db8::1]:7541" */
const char *ntm_sockaddr_str(const struct sockaddr *sa, char *buf, size_t cap);

#endif
