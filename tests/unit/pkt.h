/* pkt.h - IP/TCP/UDP packets for test_gso and test_gro, and an Internet
 * checksum written independently of lib/gso.c (byte by byte, big-endian, as
 * RFC 1071 spells it), so the library is checked against something else. */
#ifndef NTM_TEST_PKT_H
#define NTM_TEST_PKT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

static inline uint32_t ref_add(uint32_t acc, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		acc += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		acc += (uint32_t)p[n - 1] << 8;
	return acc;
}

static inline uint16_t ref_fold(uint32_t acc)
{
	while (acc >> 16)
		acc = (acc & 0xffff) + (acc >> 16);
	return (uint16_t)acc;
}

static inline unsigned ip_ver(const uint8_t *ip) { return ip[0] >> 4; }
static inline size_t ip_hlen(const uint8_t *ip) { return ip_ver(ip) == 4 ? (size_t)(ip[0] & 15) * 4 : 40; }
static inline uint8_t ip_proto(const uint8_t *ip) { return ip_ver(ip) == 4 ? ip[9] : ip[6]; }
static inline size_t ip_len(const uint8_t *ip)
{
	return ip_ver(ip) == 4 ? (size_t)(ip[2] << 8 | ip[3]) : 40 + (size_t)(ip[4] << 8 | ip[5]);
}

/* The pseudo-header sum, big-endian words. */
static inline uint32_t ref_pseudo(const uint8_t *ip, size_t l4len)
{
	uint32_t acc;

	if (ip_ver(ip) == 4)
		acc = ref_add(0, ip + 12, 8);
	else
		acc = ref_add(0, ip + 8, 32);
	return acc + ip_proto(ip) + (uint32_t)(l4len >> 16) + (uint32_t)(l4len & 0xffff);
}

/* Does the IPv4 header checksum verify? (IPv6 has none: true.) */
static inline bool ref_ip_ok(const uint8_t *ip)
{
	return ip_ver(ip) != 4 || ref_fold(ref_add(0, ip, ip_hlen(ip))) == 0xffff;
}

/* Does the TCP/UDP checksum of the len-byte packet verify? */
static inline bool ref_l4_ok(const uint8_t *ip, size_t len)
{
	size_t h = ip_hlen(ip);
	return ref_fold(ref_add(ref_pseudo(ip, len - h), ip + h, len - h)) == 0xffff;
}

/* Write the correct checksums (IPv4 header, TCP/UDP). */
static inline void ref_fix(uint8_t *ip, size_t len)
{
	size_t h = ip_hlen(ip);
	uint8_t *c = ip + h + (ip_proto(ip) == 6 ? 16 : 6);

	if (ip_ver(ip) == 4) {
		ip[10] = ip[11] = 0;
		uint16_t s = (uint16_t)~ref_fold(ref_add(0, ip, h));
		ip[10] = (uint8_t)(s >> 8);
		ip[11] = (uint8_t)s;
	}
	c[0] = c[1] = 0;
	uint16_t s = (uint16_t)~ref_fold(ref_add(ref_pseudo(ip, len - h), ip + h, len - h));
	if (s == 0 && ip_proto(ip) == 17)
		s = 0xffff;
	c[0] = (uint8_t)(s >> 8);
	c[1] = (uint8_t)s;
}

static inline void put16(uint8_t *p, unsigned v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static inline void put32(uint8_t *p, uint32_t v) { put16(p, v >> 16); put16(p + 2, v & 0xffff); }
static inline uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline unsigned get16(const uint8_t *p) { return (unsigned)(p[0] << 8 | p[1]); }

#define TF_FIN 0x01
#define TF_SYN 0x02
#define TF_RST 0x04
#define TF_PSH 0x08
#define TF_ACK 0x10
#define TF_URG 0x20
#define TF_CWR 0x80

/* The shape of a packet to build. */
struct pspec {
	unsigned ver;          /* 4 or 6 */
	uint8_t proto;         /* 6 or 17 */
	size_t ipopt;          /* IPv4 option bytes (multiple of 4) */
	size_t tcpopt;         /* TCP option bytes (multiple of 4): NOPs and a timestamp */
	uint32_t seq, ack;
	uint8_t flags;
	uint16_t id;           /* IPv4 ID */
	uint16_t sport, dport;
	uint16_t win;
	uint32_t tsval;
	uint8_t ttl;
	size_t payload;
	uint8_t fill;          /* payload byte i is fill + i */
};

static inline struct pspec pspec_tcp(unsigned ver, size_t payload)
{
	struct pspec s = { .ver = ver, .proto = 6, .tcpopt = 12, .seq = 0x7ffffff0u,
			   .ack = 0x01020304, .flags = TF_ACK, .id = 0xfffe, .sport = 40000,
			   .dport = 5201, .win = 502, .tsval = 77, .ttl = 64, .payload = payload,
			   .fill = 3 };
	return s;
}

/* Build the packet at ip, checksums right; returns its length. */
static inline size_t build(uint8_t *ip, const struct pspec *s)
{
	size_t h = s->ver == 4 ? 20 + s->ipopt : 40;
	size_t l4h = s->proto == 6 ? 20 + s->tcpopt : 8;
	size_t len = h + l4h + s->payload;
	uint8_t *l4 = ip + h;

	memset(ip, 0, h + l4h);
	if (s->ver == 4) {
		ip[0] = (uint8_t)(0x40 | h / 4);
		put16(ip + 2, (unsigned)len);
		put16(ip + 4, s->id);
		ip[6] = 0x40; /* DF */
		ip[8] = s->ttl;
		ip[9] = s->proto;
		memcpy(ip + 12, (uint8_t[]){ 198, 18, 0, 2, 198, 18, 0, 1 }, 8);
		for (size_t i = 20; i < h; i++)
			ip[i] = 1; /* NOP options */
	} else {
		ip[0] = 0x60;
		ip[1] = 0x02;
		ip[3] = 0x77; /* a flow label */
		put16(ip + 4, (unsigned)(len - 40));
		ip[6] = s->proto;
		ip[7] = s->ttl;
		ip[8] = 0xfd;
		ip[23] = 2;
		ip[24] = 0xfd;
		ip[39] = 1;
	}
	put16(l4, s->sport);
	put16(l4 + 2, s->dport);
	if (s->proto == 6) {
		put32(l4 + 4, s->seq);
		put32(l4 + 8, s->ack);
		l4[12] = (uint8_t)((l4h / 4) << 4);
		l4[13] = s->flags;
		put16(l4 + 14, s->win);
		for (size_t i = 20; i < l4h; i++)
			l4[i] = 1;
		if (s->tcpopt >= 12) { /* NOP NOP TS */
			l4[22] = 8;
			l4[23] = 10;
			put32(l4 + 24, s->tsval);
			put32(l4 + 28, 99);
		}
	} else {
		put16(l4 + 4, (unsigned)(l4h + s->payload));
	}
	for (size_t i = 0; i < s->payload; i++)
		ip[h + l4h + i] = (uint8_t)(s->fill + i);
	ref_fix(ip, len);
	return len;
}

#endif
