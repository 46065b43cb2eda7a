/* gso.h - TUN offload done in user space, sending side: the virtio_net_hdr an
 * IFF_VNET_HDR TUN device puts in front of each packet, cutting a GSO
 * super-packet (TCP TSO or UDP USO, IPv4 or IPv6) into the segments the kernel
 * would have sent, completing a checksum the kernel left partial, and the
 * Internet checksum (RFC 1071) that gro.c shares.
 *
 * The packets come from our own kernel's TCP/IP stack, but everything is
 * bounds-checked anyway and what is not understood is refused, never guessed.
 * Pure: no I/O, no allocation, no global state (one struct per packet being
 * cut, so several threads may cut at once). */
#ifndef NTM_GSO_H
#define NTM_GSO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* struct virtio_net_hdr (linux/virtio_net.h), 10 bytes. A TUN device without
 * TUNSETVNETLE/BE uses the host's byte order for its 16-bit fields. */
#define NTM_VNET_HDR_LEN 10
#define NTM_VNET_F_NEEDS_CSUM 1      /* checksum from csum_start, field at +csum_offset */
#define NTM_VNET_F_DATA_VALID 2      /* checksum already verified */
#define NTM_VNET_GSO_NONE 0
#define NTM_VNET_GSO_TCPV4 1
#define NTM_VNET_GSO_TCPV6 4
#define NTM_VNET_GSO_UDP_L4 5        /* USO: UDP datagrams of gso_size payload each */
#define NTM_VNET_GSO_ECN 0x80        /* TCP with CWR on the first segment */

struct ntm_vnet_hdr {
	uint8_t flags;
	uint8_t gso_type;
	uint16_t hdr_len;            /* a hint from the kernel (its linear part); not trusted */
	uint16_t gso_size;           /* L4 payload bytes per segment */
	uint16_t csum_start;         /* from the IP header's first byte */
	uint16_t csum_offset;        /* of the checksum field, from csum_start */
};

void ntm_vnet_hdr_get(struct ntm_vnet_hdr *h, const uint8_t *b);
void ntm_vnet_hdr_put(uint8_t *b, const struct ntm_vnet_hdr *h);

/* ---- Internet checksum ----
 * Sums are of 16-bit words in memory order, kept unfolded in 64 bits; the
 * folded 16-bit result is in memory order too: store it with memcpy (what
 * ntm_csum_store does), never with a byte swap. */
uint64_t ntm_csum_add(uint64_t sum, const void *p, size_t len);
/* Fold to 16 bits (not complemented). */
uint16_t ntm_csum_fold(uint64_t sum);
/* Pseudo-header sum of the IPv4 (version 4) or IPv6 header at ip for an L4
 * segment of l4len bytes of protocol proto. */
uint64_t ntm_csum_pseudo(const uint8_t *ip, unsigned version, uint8_t proto, size_t l4len);
/* Store the 16-bit value v (memory order, as ntm_csum_fold returns) at p. */
void ntm_csum_store(uint8_t *p, uint16_t v);

/* A packet read from the TUN device with header h and no GSO: complete the
 * checksum the kernel left partial (NTM_VNET_F_NEEDS_CSUM), in place; a
 * packet without that flag is left alone. 0, or -EINVAL when csum_start or
 * csum_offset point outside the packet. */
int ntm_vnet_csum_complete(const struct ntm_vnet_hdr *h, uint8_t *pkt, size_t len);

/* One GSO super-packet being cut (ntm_gso_init), read-only afterwards. */
struct ntm_gso {
	const uint8_t *pkt;
	size_t len;
	size_t l3len;                /* IP header (with IPv4 options) */
	size_t hdrlen;               /* IP + TCP/UDP headers, copied into each segment */
	size_t mss;                  /* payload per segment, all but the last */
	size_t nseg;
	unsigned version;            /* 4 or 6 */
	uint8_t proto;               /* 6 TCP or 17 UDP */
};

/* Largest number of segments ntm_gso_init accepts from one packet (a 64 KiB
 * packet cut into 1-byte segments is refused rather than sent). */
#define NTM_GSO_MAX_SEGS 1024

/* Check the super-packet pkt (len bytes, after its virtio_net_hdr h) and plan
 * its segments: each at most mtu bytes of IP packet. A TCP packet whose
 * gso_size would exceed the MTU is cut smaller (TCP allows it); a UDP one is
 * refused (its datagram boundaries are the application's). Returns the number
 * of segments (>= 1), or
 *   -EINVAL           gso_size 0, headers that do not fit or do not match
 *                     gso_type, an IPv4 fragment, lengths that disagree
 *   -EPROTONOSUPPORT  a gso_type we do not cut, IPv6 extension headers
 *   -EMSGSIZE         segments cannot fit mtu, or more than NTM_GSO_MAX_SEGS */
int ntm_gso_init(struct ntm_gso *g, const struct ntm_vnet_hdr *h, const uint8_t *pkt,
		 size_t len, size_t mtu);

/* Length of segment i (< g->nseg). Every segment but the last has the length
 * of segment 0. */
size_t ntm_gso_seg_len(const struct ntm_gso *g, size_t i);

/* Write segment i to out (room for ntm_gso_seg_len bytes; must not overlap
 * the super-packet): headers copied, IPv4 total length, ID (first + i) and
 * header checksum, IPv6 payload length, TCP sequence number, FIN and PSH on
 * the last segment only, CWR on the first only, UDP length, and a complete
 * TCP/UDP checksum. Returns the length. */
size_t ntm_gso_seg(const struct ntm_gso *g, size_t i, uint8_t *out);

#endif
