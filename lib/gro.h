/* gro.h - TUN offload done in user space, receiving side: coalesce
 * consecutive in-order TCP segments of one flow into one GSO super-packet
 * with a virtio_net_hdr (gso_type, gso_size, hdr_len, csum_start/offset,
 * NEEDS_CSUM), so the kernel takes one packet through its stack where the
 * wire brought many.
 *
 * The segments are decrypted tunnel packets: the peer chose every byte.
 * Everything is bounds-checked, and a packet that is not plainly mergeable
 * passes through whole and unchanged (with a zero virtio_net_hdr), so the
 * kernel judges it as it would have without us. The rules follow the
 * kernel's TCP GRO (inet_gro_receive, tcp_gro_receive):
 *   - IPv4 without options, not a fragment, header checksum right, total
 *     length = the packet; IPv6 with TCP as next header (no extension
 *     headers), payload length = the packet;
 *   - the TCP checksum verifies (a segment with a bad one passes through,
 *     for the kernel to count and drop: merging would hide it);
 *   - same addresses and ports; same TOS, TTL and DF (IPv4) or traffic
 *     class, flow label and hop limit (IPv6); IPv4 IDs consecutive;
 *   - same data offset, window, ACK number, urgent pointer and option
 *     bytes (the kernel does not compare the urgent pointer; we keep every
 *     byte, so that cutting the super-packet again gives the segments
 *     back exactly, checksums aside); flags equal
 *     but for PSH and FIN; no CWR on any but the first; no SYN, RST, URG;
 *   - sequence numbers contiguous; no segment longer than the first (its
 *     length is gso_size); one shorter than the first, or with PSH or FIN,
 *     is the last;
 *   - at most 65535 bytes of IP packet.
 * A flow is written when it closes (above), when a packet of it cannot
 * join, when a TCP packet between the same addresses passes through (order
 * within a connection is kept), when its slot is needed, or on
 * ntm_gro_flush (the end of a batch of datagrams).
 *
 * Pure but for the emit callback; no allocation; all state in struct
 * ntm_gro (one per receiving thread). */
#ifndef NTM_GRO_H
#define NTM_GRO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gso.h"

#define NTM_GRO_FLOWS 8
#define NTM_GRO_MAX_PACKET 65535

/* Receives each packet to write to the TUN device: hdr is its
 * virtio_net_hdr, the IP packet follows at hdr + NTM_VNET_HDR_LEN; len
 * counts both. The buffer is only valid during the call. */
typedef void (*ntm_gro_emit_fn)(void *ctx, uint8_t *hdr, size_t len);

struct ntm_gro_flow {
	bool used;
	uint8_t version;
	uint8_t key[36];             /* addresses (8 or 32 bytes), then ports */
	size_t keylen;
	size_t l3len, hdrlen;        /* IP header; IP + TCP headers */
	size_t mss;                  /* payload of the first segment */
	size_t len;                  /* IP packet held */
	unsigned count;              /* segments merged */
	uint32_t next_seq;
	uint16_t next_id;            /* IPv4 */
	uint64_t stamp;              /* last use, for choosing a slot to write out */
	uint8_t buf[NTM_VNET_HDR_LEN + NTM_GRO_MAX_PACKET];
};

struct ntm_gro {
	ntm_gro_emit_fn emit;
	void *ctx;
	uint64_t clock;
	uint64_t merged;             /* segments that joined a flow (counter) */
	uint64_t supers;             /* super-packets written (counter) */
	struct ntm_gro_flow flow[NTM_GRO_FLOWS];
};

void ntm_gro_init(struct ntm_gro *g, ntm_gro_emit_fn emit, void *ctx);

/* Offer one decrypted IP packet of len bytes at pkt. NTM_VNET_HDR_LEN
 * bytes before pkt must be writable: a packet that passes through is
 * emitted in place with a zero header written there. It may be emitted now,
 * held (copied) for merging, or cause held flows to be emitted first. */
void ntm_gro_add(struct ntm_gro *g, uint8_t *pkt, size_t len);

/* Emit every held flow. */
void ntm_gro_flush(struct ntm_gro *g);

#endif
