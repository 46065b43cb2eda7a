/* test_wire.c - every outer datagram and control message against
 * doc/protocol.md: round trips, every truncation and extension, every bad
 * count, reserved field, enum and name, mac1, and the name/endpoint helpers.
 *
 * Decoders are always fed a heap copy of exactly the bytes under test, so a
 * read past the end shows up under valgrind or ASan.
 *
 * With NTM_WIRE_CORPUS=dir set, main also writes every sample message to dir
 * (the libFuzzer seed corpus, tests/fuzz/corpus/wire). */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <nettle/hmac.h>
#include <nettle/sha2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>

#include "cursor.h"
#include "wire.h"

/* ---- counters shared with forked test processes (for the summary line) ---- */

struct counts {
	unsigned long messages, truncations, invalid;
};
static struct counts *cnt;

/* ---- samples: one representative, full-size encoding of every message ---- */

enum { K_CTL = 0x100 };

#define SAMPLE_MAX 4096

struct sample {
	const char *name;
	int kind;                      /* outer message type, or K_CTL */
	struct ntm_ctl ctl;            /* the struct encoded, for K_CTL */
	uint8_t buf[SAMPLE_MAX];
	size_t len;
};

enum {
	S_HS_INIT, S_HS_RESP, S_DATA, S_DATA_KEEPALIVE, S_RELAY, S_RELAY_KEEPALIVE, S_PROBE, S_PROBE_REPLY,
	S_RELAY_PROBE, S_RELAY_PROBE_ECHO,
	S_REGISTER, S_REGISTER_ACK, S_REGISTER_ACK_FAIL, S_KEEPALIVE, S_KEEPALIVE_EMPTY,
	S_KEEPALIVE_ACK4, S_KEEPALIVE_ACK6, S_DIR_REQ_NAME, S_DIR_REQ_ADDR4, S_DIR_REQ_ADDR6,
	S_ROUTE, S_ROUTE_NO_RELAY, S_ROUTE_ACK, S_NAK, S_ALLOC, S_ALLOC_ACK, S_FREE,
	S_PING, S_PONG, S_NC_PROBE, S_NC_ECHO4, S_NC_ECHO6_ALT, S_PROBE_KEY, S_NC_RELAYS_REQ,
	S_NC_RELAYS_NONE, S_NC_RELAYS_FULL, S_LANES1, S_LANES_FULL, S_COUNT
};

static struct sample samples[S_COUNT];

/* Values used to build the outer samples. */
#define HS_SENDER 0xfedcba98u
#define HS_RECEIVER 0x01020304u
#define DATA_RECEIVER 0x89abcdefu
#define DATA_COUNTER 0xfffffffffffeffffull
#define PROBE_ROUTE 0x0102030405060708ull
#define PROBE_SEQ 0xf0e0d0c0b0a09080ull
#define DATA_PT 1388
#define RELAY_ALLOC_ID 0xa1a2a3a4u
#define RELAY_COUNTER 0x0102030405060708ull
#define RELAY_INNER 64
#define RELAY_INNER_OFF 16

static uint8_t hs_init_noise[NTM_HS_INIT_NOISE_LEN], hs_resp_noise[NTM_HS_RESP_NOISE_LEN];

static void fill(uint8_t *p, size_t n, uint8_t seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(seed + 7 * i + (i >> 3));
}

/* A label of len bytes of [a-z0-9-], not beginning or ending with '-'. */
static void make_label(char *out, size_t len, unsigned seed)
{
	static const char set[] = "abcdefghijklmnopqrstuvwxyz0123456789-";
	for (size_t i = 0; i < len; i++)
		out[i] = set[(i + seed) % (sizeof(set) - 1)];
	out[0] = (char)('a' + seed % 26);
	out[len - 1] = (char)('0' + seed % 10);
}

/* A valid name of exactly len bytes (1..253): labels of up to 63 bytes. */
static void make_name(struct ntm_name *n, size_t len, unsigned seed)
{
	char text[NTM_NAME_MAX + 1];
	size_t off = 0;

	while (off < len) {
		size_t left = len - off, l = left > 63 ? 63 : left;
		if (left > 63 && left - 63 < 2)
			l = left - 2; /* leave room for ".x" */
		make_label(text + off, l, seed++);
		off += l;
		if (off < len)
			text[off++] = '.';
	}
	text[len] = '\0';
	ck_assert_int_eq(ntm_name_set(n, text), 0);
	ck_assert_uint_eq(n->len, len);
}

static void make_ep(struct ntm_endpoint *ep, uint8_t family, uint16_t port, uint8_t seed)
{
	memset(ep, 0, sizeof(*ep));
	ep->family = family;
	ep->port = port;
	fill(ep->addr, family == 4 ? 4 : 16, seed);
}

static size_t ep_size(const struct ntm_endpoint *ep)
{
	return ep->family == 4 ? 7 : 19;
}

static void add_ctl(int idx, const char *name, const struct ntm_ctl *c)
{
	struct sample *s = &samples[idx];
	s->name = name;
	s->kind = K_CTL;
	s->ctl = *c;
	int n = ntm_ctl_encode(c, s->buf, sizeof(s->buf));
	ck_assert_msg(n > 0, "%s: encode returned %d", name, n);
	s->len = (size_t)n;
}

static void build_outer_samples(void)
{
	struct sample *s;
	int n;

	fill(hs_init_noise, sizeof(hs_init_noise), 0x11);
	fill(hs_resp_noise, sizeof(hs_resp_noise), 0x22);

	s = &samples[S_HS_INIT];
	*s = (struct sample){ .name = "HANDSHAKE_INIT", .kind = NTM_MSG_HS_INIT };
	n = ntm_hs_init_encode(s->buf, sizeof(s->buf), NTM_SUITE_CHACHAPOLY, NTM_PURPOSE_RELAY,
			       HS_SENDER, hs_init_noise);
	ck_assert_int_eq(n, NTM_HS_INIT_LEN);
	fill(s->buf + NTM_HS_INIT_MAC1_OFF, 16, 0x33); /* a mac1 value */
	fill(s->buf + NTM_HS_INIT_MAC2_OFF, 16, 0x44); /* a mac2 value */
	s->len = (size_t)n;

	s = &samples[S_HS_RESP];
	*s = (struct sample){ .name = "HANDSHAKE_RESP", .kind = NTM_MSG_HS_RESP };
	n = ntm_hs_resp_encode(s->buf, sizeof(s->buf), HS_SENDER, HS_RECEIVER, hs_resp_noise);
	ck_assert_int_eq(n, NTM_HS_RESP_LEN);
	fill(s->buf + 60, 16, 0x44);
	s->len = (size_t)n;

	s = &samples[S_DATA];
	*s = (struct sample){ .name = "DATA", .kind = NTM_MSG_DATA };
	ck_assert_int_eq(ntm_data_header_encode(s->buf, sizeof(s->buf), DATA_RECEIVER, DATA_COUNTER), 16);
	fill(s->buf + 16, DATA_PT + 16, 0x55);
	s->len = 16 + DATA_PT + 16;

	s = &samples[S_DATA_KEEPALIVE];
	*s = (struct sample){ .name = "DATA-keepalive", .kind = NTM_MSG_DATA };
	ck_assert_int_eq(ntm_data_header_encode(s->buf, sizeof(s->buf), DATA_RECEIVER, 0), 16);
	fill(s->buf + 16, 16, 0x66);
	s->len = 32;

	s = &samples[S_RELAY];
	*s = (struct sample){ .name = "RELAY", .kind = NTM_MSG_RELAY };
	uint8_t inner[RELAY_INNER];
	ck_assert_int_eq(ntm_data_header_encode(inner, sizeof(inner), 7, 9), 16);
	fill(inner + 16, sizeof(inner) - 16, 0x77);
	n = ntm_relay_encode(s->buf, sizeof(s->buf), 1, 1, RELAY_ALLOC_ID, RELAY_COUNTER,
			     inner, sizeof(inner));
	ck_assert_int_eq(n, 32 + RELAY_INNER);
	fill(s->buf + 16 + RELAY_INNER, 16, 0x88);
	s->len = (size_t)n;

	s = &samples[S_RELAY_KEEPALIVE];
	*s = (struct sample){ .name = "RELAY-keepalive", .kind = NTM_MSG_RELAY };
	n = ntm_relay_encode(s->buf, sizeof(s->buf), 0, 0, 1, 0, NULL, 0);
	ck_assert_int_eq(n, 32);
	fill(s->buf + 16, 16, 0x99);
	s->len = (size_t)n;

	s = &samples[S_PROBE];
	*s = (struct sample){ .name = "PROBE-request", .kind = NTM_MSG_PROBE };
	struct ntm_probe pr = { .kind = NTM_PROBE_REQUEST, .role = 2, .route_id = PROBE_ROUTE,
				.seq = PROBE_SEQ, .echo = 0 };
	n = ntm_probe_encode(s->buf, sizeof(s->buf), &pr);
	ck_assert_int_eq(n, NTM_PROBE_LEN);
	fill(s->buf + NTM_PROBE_TAG_OFF, 16, 0xaa);
	s->len = (size_t)n;

	s = &samples[S_PROBE_REPLY];
	*s = (struct sample){ .name = "PROBE-reply", .kind = NTM_MSG_PROBE };
	pr = (struct ntm_probe){ .kind = NTM_PROBE_REPLY, .role = 1, .route_id = 1, .seq = 1,
				 .echo = PROBE_SEQ };
	n = ntm_probe_encode(s->buf, sizeof(s->buf), &pr);
	ck_assert_int_eq(n, NTM_PROBE_LEN);
	fill(s->buf + NTM_PROBE_TAG_OFF, 16, 0xbb);
	s->len = (size_t)n;

	struct ntm_relay_probe rp = { .kind = NTM_RELAY_PROBE_REQUEST, .nonce = 0x0102030405060708ull,
				      .token = { .key_id = 0xa1b2c3d4, .not_after_ms = 0x00012345 } };
	fill(rp.token.mac, sizeof(rp.token.mac), 0xcc);
	s = &samples[S_RELAY_PROBE];
	*s = (struct sample){ .name = "RELAY_PROBE", .kind = NTM_MSG_RELAY_PROBE };
	n = ntm_relay_probe_encode(s->buf, sizeof(s->buf), &rp);
	ck_assert_int_eq(n, NTM_RELAY_PROBE_LEN);
	s->len = (size_t)n;
	rp.kind = NTM_RELAY_PROBE_ECHO;
	rp.token.key_id = 1;
	s = &samples[S_RELAY_PROBE_ECHO];
	*s = (struct sample){ .name = "RELAY_PROBE-echo", .kind = NTM_MSG_RELAY_PROBE };
	n = ntm_relay_probe_encode(s->buf, sizeof(s->buf), &rp);
	ck_assert_int_eq(n, NTM_RELAY_PROBE_LEN);
	s->len = (size_t)n;
}

static void build_ctl_samples(void)
{
	static struct ntm_ctl c;
	char label[64];

	memset(&c, 0, sizeof(c));
	c.type = NTM_CTL_REGISTER;
	c.u.reg.req_id = 0xdeadbeef;
	c.u.reg.listen_port = 65535;
	c.u.reg.incarnation = 0x0123456789abcdefull;
	make_name(&c.u.reg.name, NTM_NAME_MAX, 1);
	c.u.reg.naddrs = NTM_MAX_ADDRS;
	for (unsigned i = 0; i < NTM_MAX_ADDRS; i++)
		make_ep(&c.u.reg.addrs[i], i % 2 ? 4 : 6, (uint16_t)(7541 + i), (uint8_t)i);
	c.u.reg.nroutes = NTM_MAX_LIVE_ROUTES;
	for (unsigned i = 0; i < NTM_MAX_LIVE_ROUTES; i++)
		c.u.reg.routes[i] = 0xfedcba9876543210ull + i;
	add_ctl(S_REGISTER, "REGISTER", &c);

	memset(&c, 0, sizeof(c));
	c.type = NTM_CTL_REGISTER_ACK;
	c.u.reg_ack.req_id = 0xdeadbeef;
	c.u.reg_ack.status = 0;
	c.u.reg_ack.keepalive_s = 3600;
	c.u.reg_ack.lifetime_s = 65535;
	fill(c.u.reg_ack.vip4, 4, 100);
	c.u.reg_ack.plen4 = 32;
	fill(c.u.reg_ack.vip6, 16, 200);
	c.u.reg_ack.plen6 = 128;
	make_ep(&c.u.reg_ack.observed, 6, 1, 0xf0);
	make_name(&c.u.reg_ack.fqdn, NTM_NAME_MAX, 2);
	c.u.reg_ack.nzones = NTM_MAX_ZONES;
	for (unsigned i = 0; i < NTM_MAX_ZONES; i++)
		make_name(&c.u.reg_ack.zones[i], NTM_NAME_MAX - i, 3 + i);
	add_ctl(S_REGISTER_ACK, "REGISTER_ACK", &c);

	memset(&c, 0, sizeof(c));
	c.type = NTM_CTL_REGISTER_ACK;
	c.u.reg_ack.req_id = 1;
	c.u.reg_ack.status = 3;
	c.u.reg_ack.keepalive_s = 1;
	c.u.reg_ack.lifetime_s = 1;
	make_ep(&c.u.reg_ack.observed, 4, 1, 0);
	memset(c.u.reg_ack.observed.addr, 0, 4);
	ck_assert_int_eq(ntm_name_set(&c.u.reg_ack.fqdn, "x"), 0);
	c.u.reg_ack.nzones = 1;
	ck_assert_int_eq(ntm_name_set(&c.u.reg_ack.zones[0], "ntm"), 0);
	add_ctl(S_REGISTER_ACK_FAIL, "REGISTER_ACK-fail", &c);

	memset(&c, 0, sizeof(c));
	c.type = NTM_CTL_KEEPALIVE;
	c.u.ka.seq = 0xffffffff;
	c.u.ka.naddrs = NTM_MAX_ADDRS;
	for (unsigned i = 0; i < NTM_MAX_ADDRS; i++)
		make_ep(&c.u.ka.addrs[i], i % 3 ? 6 : 4, (uint16_t)(65535 - i), (uint8_t)(i * 5));
	c.u.ka.nroutes = NTM_MAX_LIVE_ROUTES;
	for (unsigned i = 0; i < NTM_MAX_LIVE_ROUTES; i++)
		c.u.ka.routes[i] = 0x8000000000000001ull ^ ((uint64_t)i << 8);
	add_ctl(S_KEEPALIVE, "KEEPALIVE", &c);

	memset(&c, 0, sizeof(c));
	c.type = NTM_CTL_KEEPALIVE;
	c.u.ka.seq = 1;
	add_ctl(S_KEEPALIVE_EMPTY, "KEEPALIVE-empty", &c);

	memset(&c, 0, sizeof(c));
	c.type = NTM_CTL_KEEPALIVE_ACK;
	c.u.ka_ack.seq = 0x80000001;
	make_ep(&c.u.ka_ack.observed, 4, 40000, 9);
	add_ctl(S_KEEPALIVE_ACK4, "KEEPALIVE_ACK-v4", &c);
	make_ep(&c.u.ka_ack.observed, 6, 1, 10);
	add_ctl(S_KEEPALIVE_ACK6, "KEEPALIVE_ACK-v6", &c);

	memset(&c, 0, sizeof(c));
	c.type = NTM_CTL_DIRECTION_REQ;
	c.u.dir_req.req_id = 77;
	c.u.dir_req.kind = NTM_DIR_BY_NAME;
	make_name(&c.u.dir_req.name, NTM_NAME_MAX, 20);
	add_ctl(S_DIR_REQ_NAME, "DIRECTION_REQ-name", &c);
	memset(&c.u.dir_req, 0, sizeof(c.u.dir_req));
	c.u.dir_req.req_id = 78;
	c.u.dir_req.kind = NTM_DIR_BY_ADDR;
	c.u.dir_req.family = 4;
	fill(c.u.dir_req.addr, 4, 21);
	add_ctl(S_DIR_REQ_ADDR4, "DIRECTION_REQ-addr4", &c);
	c.u.dir_req.family = 6;
	fill(c.u.dir_req.addr, 16, 22);
	add_ctl(S_DIR_REQ_ADDR6, "DIRECTION_REQ-addr6", &c);

	memset(&c, 0, sizeof(c));
	c.type = NTM_CTL_ROUTE_DIRECTION;
	struct ntm_ctl_route_direction *r = &c.u.route;
	r->req_id = 0xcafef00d;
	r->route_id = 0x8000000000000001ull;
	r->role = NTM_ROLE_RESPONDER;
	r->suite = NTM_SUITE_CHACHAPOLY;
	fill(r->peer_key, 32, 30);
	fill(r->peer_vip4, 4, 31);
	fill(r->peer_vip6, 16, 32);
	make_name(&r->peer_name, NTM_NAME_MAX, 33);
	r->ncands = NTM_MAX_CANDS;
	for (unsigned i = 0; i < NTM_MAX_CANDS; i++) {
		r->cands[i].kind = (uint8_t)(NTM_CAND_LAN + i % 4);
		r->cands[i].priority = (uint8_t)(255 - i);
		make_ep(&r->cands[i].ep, i % 2 ? 4 : 6, (uint16_t)(1000 + i), (uint8_t)(40 + i));
	}
	r->has_relay = true;
	make_ep(&r->relay_ep, 6, NTM_RELAY_PORT, 50);
	r->relay_alloc_id = 0xffffffff;
	r->relay_side = 1;
	fill(r->relay_key, 32, 51);
	add_ctl(S_ROUTE, "ROUTE_DIRECTION", &c);

	memset(&c, 0, sizeof(c));
	c.type = NTM_CTL_ROUTE_DIRECTION;
	r->route_id = 1;
	r->role = NTM_ROLE_INITIATOR;
	r->suite = NTM_SUITE_AESGCM;
	make_label(label, 1, 0);
	label[1] = '\0';
	ck_assert_int_eq(ntm_name_set(&r->peer_name, label), 0);
	add_ctl(S_ROUTE_NO_RELAY, "ROUTE_DIRECTION-norelay", &c);

	memset(&c, 0, sizeof(c));
	c.type = NTM_CTL_ROUTE_DIRECTION_ACK;
	c.u.route_ack.route_id = 0xfffffffffffffffeull;
	c.u.route_ack.status = 2;
	add_ctl(S_ROUTE_ACK, "ROUTE_DIRECTION_ACK", &c);

	memset(&c, 0, sizeof(c));
	c.type = NTM_CTL_DIRECTION_NAK;
	c.u.nak.req_id = 0x12345678;
	c.u.nak.status = 4;
	add_ctl(S_NAK, "DIRECTION_NAK", &c);

	memset(&c, 0, sizeof(c));
	c.type = NTM_CTL_RELAY_ALLOC;
	c.u.alloc.alloc_id = 0x9abcdef0;
	c.u.alloc.lifetime_s = 65535;
	fill(c.u.alloc.key_a, 32, 60);
	fill(c.u.alloc.key_b, 32, 61);
	add_ctl(S_ALLOC, "RELAY_ALLOC", &c);

	memset(&c, 0, sizeof(c));
	c.type = NTM_CTL_RELAY_ALLOC_ACK;
	c.u.alloc_ack.alloc_id = 0x9abcdef0;
	c.u.alloc_ack.status = 2;
	add_ctl(S_ALLOC_ACK, "RELAY_ALLOC_ACK", &c);

	memset(&c, 0, sizeof(c));
	c.type = NTM_CTL_RELAY_FREE;
	c.u.free.alloc_id = 0x9abcdef0;
	add_ctl(S_FREE, "RELAY_FREE", &c);

	memset(&c, 0, sizeof(c));
	c.type = NTM_CTL_PING;
	c.u.ping.ident = 0x01020304;
	c.u.ping.seq = 0xfffffffe;
	c.u.ping.timestamp_ns = 0x1122334455667788ull;
	add_ctl(S_PING, "PING", &c);
	c.type = NTM_CTL_PONG;
	add_ctl(S_PONG, "PONG", &c);

	memset(&c, 0, sizeof(c));
	c.type = NTM_CTL_NETCHECK_PROBE;
	c.u.nc_probe.token = 0x0102030405060708ull;
	add_ctl(S_NC_PROBE, "NETCHECK_PROBE", &c);

	memset(&c, 0, sizeof(c));
	c.type = NTM_CTL_NETCHECK_ECHO;
	c.u.nc_echo.token = 0xfffffffffffffff8ull;
	c.u.nc_echo.observed = (struct ntm_endpoint){ .family = 4, .port = 41641,
						      .addr = { 203, 0, 113, 5 } };
	add_ctl(S_NC_ECHO4, "NETCHECK_ECHO-v4", &c);
	c.u.nc_echo.observed = (struct ntm_endpoint){ .family = 6, .port = 7541,
						      .addr = { 0x20, 0x01, 0x0d, 0xb8, [15] = 9 } };
	c.u.nc_echo.has_alt = true;
	c.u.nc_echo.alt = (struct ntm_endpoint){ .family = 4, .port = 7540,
						 .addr = { 192, 0, 2, 2 } };
	add_ctl(S_NC_ECHO6_ALT, "NETCHECK_ECHO-v6-alt", &c);

	memset(&c, 0, sizeof(c));
	c.type = NTM_CTL_RELAY_PROBE_KEY;
	c.u.probe_key.key_id = 0x01020304;
	c.u.probe_key.lifetime_s = NTM_PROBE_KEY_LIFETIME_MAX;
	fill(c.u.probe_key.key, 32, 0x5a);
	add_ctl(S_PROBE_KEY, "RELAY_PROBE_KEY", &c);

	memset(&c, 0, sizeof(c));
	c.type = NTM_CTL_NETCHECK_RELAYS_REQ;
	c.u.nc_relays_req.token = 0x102030405060708full;
	add_ctl(S_NC_RELAYS_REQ, "NETCHECK_RELAYS_REQ", &c);

	memset(&c, 0, sizeof(c));
	c.type = NTM_CTL_NETCHECK_RELAYS;
	c.u.nc_relays.token = 0x102030405060708full;
	add_ctl(S_NC_RELAYS_NONE, "NETCHECK_RELAYS-none", &c);
	c.u.nc_relays.count = NTM_NC_RELAYS_MAX;
	for (unsigned i = 0; i < NTM_NC_RELAYS_MAX; i++) {
		struct ntm_nc_relay *e = &c.u.nc_relays.relay[i];
		e->kind = i ? NTM_NC_RELAY_STANDALONE : NTM_NC_RELAY_EMBEDDED;
		if (i) { /* the longest names: the largest message */
			e->name_len = NTM_NC_RELAY_NAME_MAX;
			memset(e->name, 'a' + (char)i, NTM_NC_RELAY_NAME_MAX);
			e->name[0] = i == 1 ? 'Z' : i == 2 ? '.' : '-';
			e->name[1] = '_';
			e->name[2] = '9';
		}
		make_ep(&e->ep, 6, (uint16_t)(7542 + i), (uint8_t)(0x30 + i));
		e->token.key_id = 0x11111111u * (i + 1);
		e->token.not_after_ms = 10000 + i;
		fill(e->token.mac, sizeof(e->token.mac), (uint8_t)(0x40 + i));
	}
	add_ctl(S_NC_RELAYS_FULL, "NETCHECK_RELAYS-full", &c);

	memset(&c, 0, sizeof(c));
	c.type = NTM_CTL_LANES;
	c.u.lanes.count = 1;
	c.u.lanes.index[0] = 0xfffffffe;
	add_ctl(S_LANES1, "LANES-1", &c);
	c.u.lanes.count = NTM_LANES_MAX;
	for (unsigned i = 0; i < NTM_LANES_MAX; i++)
		c.u.lanes.index[i] = 0x01000010u * (i + 1) + i;
	add_ctl(S_LANES_FULL, "LANES-full", &c);
}

static void build_samples(void)
{
	build_outer_samples();
	build_ctl_samples();
	for (int i = 0; i < S_COUNT; i++)
		ck_assert_msg(samples[i].len > 0, "sample %d was not built", i);
}

/* ---- decoding from an exact-size heap copy ---- */

static struct ntm_ctl dec_ctl;

static int decode_as(int kind, const uint8_t *buf, size_t len)
{
	struct ntm_hs_init hi;
	struct ntm_hs_resp hr;
	struct ntm_data d;
	struct ntm_relay_msg rl;
	struct ntm_probe pr;
	struct ntm_relay_probe rp;

	switch (kind) {
	case NTM_MSG_PROBE:
		return ntm_probe_decode(buf, len, &pr);
	case NTM_MSG_HS_INIT:
		return ntm_hs_init_decode(buf, len, &hi);
	case NTM_MSG_HS_RESP:
		return ntm_hs_resp_decode(buf, len, &hr);
	case NTM_MSG_DATA:
		return ntm_data_decode(buf, len, &d);
	case NTM_MSG_RELAY:
		return ntm_relay_decode(buf, len, &rl);
	case NTM_MSG_RELAY_PROBE:
		return ntm_relay_probe_decode(buf, len, &rp);
	default:
		return ntm_ctl_decode(buf, len, &dec_ctl);
	}
}

/* Decodes a heap copy of exactly len bytes (no slack to read past). */
static int decode_heap(int kind, const uint8_t *buf, size_t len)
{
	uint8_t *p = malloc(len);
	ck_assert(len == 0 || p != NULL);
	if (len)
		memcpy(p, buf, len);
	int ret = decode_as(kind, p, len);
	free(p);
	return ret;
}

static void expect_rejected(const struct sample *s, const uint8_t *buf, size_t len,
			    const char *what)
{
	int ret = decode_heap(s->kind, buf, len);
	ck_assert_msg(ret == -EBADMSG, "%s: %s (%zu bytes) decoded with %d, want -EBADMSG",
		      s->name, what, len, ret);
	cnt->invalid++;
}

static void expect_accepted(const struct sample *s, const uint8_t *buf, size_t len,
			    const char *what)
{
	int ret = decode_heap(s->kind, buf, len);
	ck_assert_msg(ret == 0, "%s: %s (%zu bytes) rejected with %d, want accepted",
		      s->name, what, len, ret);
}

/* ---- splicing: replace bytes [off, off + n) of a sample by rep ---- */

#define BIG (SAMPLE_MAX + 256 * 40)
static uint8_t spliced[BIG];

static size_t splice(const struct sample *s, size_t off, size_t n, const uint8_t *rep, size_t repn)
{
	ck_assert_uint_le(off + n, s->len);
	ck_assert_uint_le(s->len - n + repn, sizeof(spliced));
	memcpy(spliced, s->buf, off);
	memcpy(spliced + off, rep, repn);
	memcpy(spliced + off + repn, s->buf + off + n, s->len - off - n);
	return s->len - n + repn;
}

/* Byte off holds orig (proving the offset names the field); with val it is rejected. */
static void bad_u8(int idx, const char *what, size_t off, uint8_t orig, uint8_t val)
{
	const struct sample *s = &samples[idx];
	ck_assert_msg(s->buf[off] == orig, "%s: %s at %zu is %u, expected %u", s->name, what,
		      off, s->buf[off], orig);
	expect_rejected(s, spliced, splice(s, off, 1, &val, 1), what);
}

/* A big-endian field of width bytes at off set to val is rejected. */
static void bad_be(int idx, const char *what, size_t off, size_t width, uint64_t val)
{
	const struct sample *s = &samples[idx];
	uint8_t rep[8];
	for (size_t i = 0; i < width; i++)
		rep[i] = (uint8_t)(val >> (8 * (width - 1 - i)));
	expect_rejected(s, spliced, splice(s, off, width, rep, width), what);
}

/* Rewrites a count at count_off whose elements run to end_off as n copies of
 * elem; accepted when ok. */
static void count_variant(int idx, const char *what, size_t count_off, size_t end_off,
			  uint8_t orig, const uint8_t *elem, size_t elem_len, unsigned n, bool ok)
{
	const struct sample *s = &samples[idx];
	static uint8_t rep[1 + 255 * 300];
	char desc[128];

	ck_assert_msg(s->buf[count_off] == orig, "%s: %s count at %zu is %u, expected %u",
		      s->name, what, count_off, s->buf[count_off], orig);
	ck_assert_uint_le(1 + n * elem_len, sizeof(rep));
	rep[0] = (uint8_t)n;
	for (unsigned i = 0; i < n; i++)
		memcpy(rep + 1 + i * elem_len, elem, elem_len);
	size_t len = splice(s, count_off, end_off - count_off, rep, 1 + n * elem_len);
	snprintf(desc, sizeof(desc), "%s = %u", what, n);
	if (ok)
		expect_accepted(s, spliced, len, desc);
	else
		expect_rejected(s, spliced, len, desc);
}

/* Replaces the name at off (its length byte) by len bytes of text. */
static void name_variant(int idx, const char *what, size_t off, const char *text, size_t len,
			 bool ok)
{
	const struct sample *s = &samples[idx];
	uint8_t rep[1 + 255];
	char desc[128];

	ck_assert_uint_le(len, 255);
	rep[0] = (uint8_t)len;
	memcpy(rep + 1, text, len);
	size_t n = splice(s, off, 1 + (size_t)s->buf[off], rep, 1 + len);
	snprintf(desc, sizeof(desc), "%s \"%.*s\" (%zu bytes)", what, (int)(len > 40 ? 40 : len),
		 text, len);
	if (ok)
		expect_accepted(s, spliced, n, desc);
	else
		expect_rejected(s, spliced, n, desc);
}

/* ---- field-by-field comparison ---- */

static void ep_eq(const struct ntm_endpoint *a, const struct ntm_endpoint *b, const char *what)
{
	ck_assert_msg(a->family == b->family, "%s: family %u != %u", what, a->family, b->family);
	ck_assert_msg(a->port == b->port, "%s: port %u != %u", what, a->port, b->port);
	ck_assert_msg(memcmp(a->addr, b->addr, a->family == 4 ? 4 : 16) == 0, "%s: address", what);
}

static void name_eq(const struct ntm_name *a, const struct ntm_name *b, const char *what)
{
	ck_assert_msg(a->len == b->len, "%s: name length %u != %u", what, a->len, b->len);
	ck_assert_msg(memcmp(a->s, b->s, a->len) == 0, "%s: name bytes", what);
	ck_assert_msg(a->s[a->len] == '\0', "%s: name not NUL-terminated", what);
}

static void register_eq(const struct ntm_ctl_register *a, const struct ntm_ctl_register *b)
{
	ck_assert_uint_eq(a->req_id, b->req_id);
	ck_assert_uint_eq(a->listen_port, b->listen_port);
	ck_assert_uint_eq(a->incarnation, b->incarnation);
	name_eq(&a->name, &b->name, "REGISTER name");
	ck_assert_uint_eq(a->naddrs, b->naddrs);
	for (unsigned i = 0; i < a->naddrs; i++)
		ep_eq(&a->addrs[i], &b->addrs[i], "REGISTER address");
	ck_assert_uint_eq(a->nroutes, b->nroutes);
	for (unsigned i = 0; i < a->nroutes; i++)
		ck_assert_uint_eq(a->routes[i], b->routes[i]);
}

static void register_ack_eq(const struct ntm_ctl_register_ack *a,
			    const struct ntm_ctl_register_ack *b)
{
	ck_assert_uint_eq(a->req_id, b->req_id);
	ck_assert_uint_eq(a->status, b->status);
	ck_assert_uint_eq(a->keepalive_s, b->keepalive_s);
	ck_assert_uint_eq(a->lifetime_s, b->lifetime_s);
	ck_assert_mem_eq(a->vip4, b->vip4, 4);
	ck_assert_uint_eq(a->plen4, b->plen4);
	ck_assert_mem_eq(a->vip6, b->vip6, 16);
	ck_assert_uint_eq(a->plen6, b->plen6);
	ep_eq(&a->observed, &b->observed, "REGISTER_ACK observed");
	name_eq(&a->fqdn, &b->fqdn, "REGISTER_ACK fqdn");
	ck_assert_uint_eq(a->nzones, b->nzones);
	for (unsigned i = 0; i < a->nzones; i++)
		name_eq(&a->zones[i], &b->zones[i], "REGISTER_ACK zone");
}

static void keepalive_eq(const struct ntm_ctl_keepalive *a, const struct ntm_ctl_keepalive *b)
{
	ck_assert_uint_eq(a->seq, b->seq);
	ck_assert_uint_eq(a->naddrs, b->naddrs);
	for (unsigned i = 0; i < a->naddrs; i++)
		ep_eq(&a->addrs[i], &b->addrs[i], "KEEPALIVE address");
	ck_assert_uint_eq(a->nroutes, b->nroutes);
	for (unsigned i = 0; i < a->nroutes; i++)
		ck_assert_uint_eq(a->routes[i], b->routes[i]);
}

static void direction_req_eq(const struct ntm_ctl_direction_req *a,
			     const struct ntm_ctl_direction_req *b)
{
	ck_assert_uint_eq(a->req_id, b->req_id);
	ck_assert_uint_eq(a->kind, b->kind);
	if (a->kind == NTM_DIR_BY_NAME) {
		name_eq(&a->name, &b->name, "DIRECTION_REQ name");
		return;
	}
	ck_assert_uint_eq(a->family, b->family);
	ck_assert_mem_eq(a->addr, b->addr, a->family == 4 ? 4 : 16);
}

static void route_eq(const struct ntm_ctl_route_direction *a,
		     const struct ntm_ctl_route_direction *b)
{
	ck_assert_uint_eq(a->req_id, b->req_id);
	ck_assert_uint_eq(a->route_id, b->route_id);
	ck_assert_uint_eq(a->role, b->role);
	ck_assert_uint_eq(a->suite, b->suite);
	ck_assert_mem_eq(a->peer_key, b->peer_key, 32);
	ck_assert_mem_eq(a->peer_vip4, b->peer_vip4, 4);
	ck_assert_mem_eq(a->peer_vip6, b->peer_vip6, 16);
	name_eq(&a->peer_name, &b->peer_name, "ROUTE_DIRECTION peer name");
	ck_assert_uint_eq(a->ncands, b->ncands);
	for (unsigned i = 0; i < a->ncands; i++) {
		ck_assert_uint_eq(a->cands[i].kind, b->cands[i].kind);
		ck_assert_uint_eq(a->cands[i].priority, b->cands[i].priority);
		ep_eq(&a->cands[i].ep, &b->cands[i].ep, "ROUTE_DIRECTION candidate");
	}
	ck_assert_int_eq(a->has_relay, b->has_relay);
	if (!a->has_relay)
		return;
	ep_eq(&a->relay_ep, &b->relay_ep, "ROUTE_DIRECTION relay");
	ck_assert_uint_eq(a->relay_alloc_id, b->relay_alloc_id);
	ck_assert_uint_eq(a->relay_side, b->relay_side);
	ck_assert_mem_eq(a->relay_key, b->relay_key, 32);
}

static void ctl_eq(const struct ntm_ctl *a, const struct ntm_ctl *b)
{
	ck_assert_uint_eq(a->type, b->type);
	switch (a->type) {
	case NTM_CTL_REGISTER:
		register_eq(&a->u.reg, &b->u.reg);
		break;
	case NTM_CTL_REGISTER_ACK:
		register_ack_eq(&a->u.reg_ack, &b->u.reg_ack);
		break;
	case NTM_CTL_KEEPALIVE:
		keepalive_eq(&a->u.ka, &b->u.ka);
		break;
	case NTM_CTL_KEEPALIVE_ACK:
		ck_assert_uint_eq(a->u.ka_ack.seq, b->u.ka_ack.seq);
		ep_eq(&a->u.ka_ack.observed, &b->u.ka_ack.observed, "KEEPALIVE_ACK observed");
		break;
	case NTM_CTL_DIRECTION_REQ:
		direction_req_eq(&a->u.dir_req, &b->u.dir_req);
		break;
	case NTM_CTL_ROUTE_DIRECTION:
		route_eq(&a->u.route, &b->u.route);
		break;
	case NTM_CTL_ROUTE_DIRECTION_ACK:
		ck_assert_uint_eq(a->u.route_ack.route_id, b->u.route_ack.route_id);
		ck_assert_uint_eq(a->u.route_ack.status, b->u.route_ack.status);
		break;
	case NTM_CTL_DIRECTION_NAK:
		ck_assert_uint_eq(a->u.nak.req_id, b->u.nak.req_id);
		ck_assert_uint_eq(a->u.nak.status, b->u.nak.status);
		break;
	case NTM_CTL_RELAY_ALLOC:
		ck_assert_uint_eq(a->u.alloc.alloc_id, b->u.alloc.alloc_id);
		ck_assert_uint_eq(a->u.alloc.lifetime_s, b->u.alloc.lifetime_s);
		ck_assert_mem_eq(a->u.alloc.key_a, b->u.alloc.key_a, 32);
		ck_assert_mem_eq(a->u.alloc.key_b, b->u.alloc.key_b, 32);
		break;
	case NTM_CTL_RELAY_ALLOC_ACK:
		ck_assert_uint_eq(a->u.alloc_ack.alloc_id, b->u.alloc_ack.alloc_id);
		ck_assert_uint_eq(a->u.alloc_ack.status, b->u.alloc_ack.status);
		break;
	case NTM_CTL_RELAY_FREE:
		ck_assert_uint_eq(a->u.free.alloc_id, b->u.free.alloc_id);
		break;
	case NTM_CTL_PING:
	case NTM_CTL_PONG:
		ck_assert_uint_eq(a->u.ping.ident, b->u.ping.ident);
		ck_assert_uint_eq(a->u.ping.seq, b->u.ping.seq);
		ck_assert_uint_eq(a->u.ping.timestamp_ns, b->u.ping.timestamp_ns);
		break;
	case NTM_CTL_NETCHECK_PROBE:
		ck_assert_uint_eq(a->u.nc_probe.token, b->u.nc_probe.token);
		break;
	case NTM_CTL_NETCHECK_ECHO:
		ck_assert_uint_eq(a->u.nc_echo.token, b->u.nc_echo.token);
		ck_assert_mem_eq(&a->u.nc_echo.observed, &b->u.nc_echo.observed,
				 sizeof(a->u.nc_echo.observed));
		ck_assert_uint_eq(a->u.nc_echo.has_alt, b->u.nc_echo.has_alt);
		ck_assert_mem_eq(&a->u.nc_echo.alt, &b->u.nc_echo.alt, sizeof(a->u.nc_echo.alt));
		break;
	case NTM_CTL_RELAY_PROBE_KEY:
		ck_assert_uint_eq(a->u.probe_key.key_id, b->u.probe_key.key_id);
		ck_assert_uint_eq(a->u.probe_key.lifetime_s, b->u.probe_key.lifetime_s);
		ck_assert_mem_eq(a->u.probe_key.key, b->u.probe_key.key, 32);
		break;
	case NTM_CTL_NETCHECK_RELAYS_REQ:
		ck_assert_uint_eq(a->u.nc_relays_req.token, b->u.nc_relays_req.token);
		break;
	case NTM_CTL_NETCHECK_RELAYS:
		ck_assert_uint_eq(a->u.nc_relays.token, b->u.nc_relays.token);
		ck_assert_uint_eq(a->u.nc_relays.count, b->u.nc_relays.count);
		for (unsigned i = 0; i < a->u.nc_relays.count; i++) {
			const struct ntm_nc_relay *x = &a->u.nc_relays.relay[i], *y = &b->u.nc_relays.relay[i];
			ck_assert_uint_eq(x->kind, y->kind);
			ck_assert_uint_eq(x->name_len, y->name_len);
			ck_assert_str_eq(x->name, y->name);
			ep_eq(&x->ep, &y->ep, "NETCHECK_RELAYS endpoint");
			ck_assert_mem_eq(&x->token, &y->token, sizeof(x->token));
		}
		break;
	case NTM_CTL_LANES:
		ck_assert_uint_eq(a->u.lanes.count, b->u.lanes.count);
		for (unsigned i = 0; i < a->u.lanes.count; i++)
			ck_assert_uint_eq(a->u.lanes.index[i], b->u.lanes.index[i]);
		break;
	default:
		ck_abort_msg("unexpected control type %u", a->type);
	}
}

/* ---- round trips ---- */

START_TEST(test_every_control_message_decodes_to_the_struct_it_was_encoded_from)
{
	static struct ntm_ctl got;
	bool seen[NTM_CTL_MAX + 1] = { false };

	build_samples();
	for (int i = 0; i < S_COUNT; i++) {
		const struct sample *s = &samples[i];
		if (s->kind != K_CTL)
			continue;
		uint8_t *p = malloc(s->len);
		ck_assert_ptr_nonnull(p);
		memcpy(p, s->buf, s->len);
		int ret = ntm_ctl_decode(p, s->len, &got);
		ck_assert_msg(ret == 0, "%s: decode returned %d", s->name, ret);
		ctl_eq(&s->ctl, &got);
		uint8_t again[SAMPLE_MAX];
		ck_assert_int_eq(ntm_ctl_encode(&got, again, sizeof(again)), (int)s->len);
		ck_assert_mem_eq(again, s->buf, s->len);
		free(p);
		seen[s->ctl.type] = true;
		cnt->messages++;
	}
	for (int t = 1; t <= NTM_CTL_MAX; t++)
		ck_assert_msg(seen[t], "no sample for control type %d", t);
}
END_TEST

START_TEST(test_every_outer_message_decodes_to_the_fields_it_was_encoded_from)
{
	struct ntm_hs_init hi;
	struct ntm_hs_resp hr;
	struct ntm_data d;
	struct ntm_relay_msg rl;
	const struct sample *s;

	build_samples();
	s = &samples[S_HS_INIT];
	ck_assert_int_eq(ntm_wire_type(s->buf, s->len), NTM_MSG_HS_INIT);
	ck_assert_int_eq(ntm_hs_init_decode(s->buf, s->len, &hi), 0);
	ck_assert_uint_eq(hi.suite, NTM_SUITE_CHACHAPOLY);
	ck_assert_uint_eq(hi.purpose, NTM_PURPOSE_RELAY);
	ck_assert_uint_eq(hi.sender, HS_SENDER);
	ck_assert_ptr_eq(hi.noise, s->buf + 8);
	ck_assert_mem_eq(hi.noise, hs_init_noise, NTM_HS_INIT_NOISE_LEN);
	ck_assert_ptr_eq(hi.mac1, s->buf + 124);
	cnt->messages++;

	s = &samples[S_HS_RESP];
	ck_assert_int_eq(ntm_wire_type(s->buf, s->len), NTM_MSG_HS_RESP);
	ck_assert_int_eq(ntm_hs_resp_decode(s->buf, s->len, &hr), 0);
	ck_assert_uint_eq(hr.sender, HS_SENDER);
	ck_assert_uint_eq(hr.receiver, HS_RECEIVER);
	ck_assert_ptr_eq(hr.noise, s->buf + 12);
	ck_assert_mem_eq(hr.noise, hs_resp_noise, NTM_HS_RESP_NOISE_LEN);
	ck_assert_ptr_eq(hr.mac1, s->buf + 60);
	cnt->messages++;

	s = &samples[S_DATA];
	ck_assert_int_eq(ntm_wire_type(s->buf, s->len), NTM_MSG_DATA);
	ck_assert_int_eq(ntm_data_decode(s->buf, s->len, &d), 0);
	ck_assert_uint_eq(d.receiver, DATA_RECEIVER);
	ck_assert_uint_eq(d.counter, DATA_COUNTER);
	ck_assert_ptr_eq(d.header, s->buf);
	ck_assert_ptr_eq(d.ct, s->buf + 16);
	ck_assert_uint_eq(d.ct_len, DATA_PT + 16);
	cnt->messages++;

	s = &samples[S_DATA_KEEPALIVE];
	ck_assert_int_eq(ntm_data_decode(s->buf, s->len, &d), 0);
	ck_assert_uint_eq(d.counter, 0);
	ck_assert_uint_eq(d.ct_len, 16);
	cnt->messages++;

	s = &samples[S_RELAY];
	ck_assert_int_eq(ntm_wire_type(s->buf, s->len), NTM_MSG_RELAY);
	ck_assert_int_eq(ntm_relay_decode(s->buf, s->len, &rl), 0);
	ck_assert_uint_eq(rl.side, 1);
	ck_assert_uint_eq(rl.direction, 1);
	ck_assert_uint_eq(rl.alloc_id, RELAY_ALLOC_ID);
	ck_assert_uint_eq(rl.counter, RELAY_COUNTER);
	ck_assert_ptr_eq(rl.inner, s->buf + RELAY_INNER_OFF);
	ck_assert_uint_eq(rl.inner_len, RELAY_INNER);
	ck_assert_int_eq(ntm_wire_type(rl.inner, rl.inner_len), NTM_MSG_DATA);
	ck_assert_ptr_eq(rl.tag, s->buf + 16 + RELAY_INNER);
	ck_assert_uint_eq(rl.ad_len, 16 + RELAY_INNER);
	cnt->messages++;

	s = &samples[S_RELAY_KEEPALIVE];
	ck_assert_int_eq(ntm_relay_decode(s->buf, s->len, &rl), 0);
	ck_assert_uint_eq(rl.side, 0);
	ck_assert_uint_eq(rl.direction, 0);
	ck_assert_uint_eq(rl.alloc_id, 1);
	ck_assert_ptr_null(rl.inner);
	ck_assert_uint_eq(rl.inner_len, 0);
	ck_assert_ptr_eq(rl.tag, s->buf + 16);
	ck_assert_uint_eq(rl.ad_len, 16);
	cnt->messages++;
}
END_TEST

START_TEST(test_encodings_match_the_byte_layout_in_the_protocol_document)
{
	static const uint8_t ping[] = { 0, 12, 1, 2, 3, 4, 0xff, 0xff, 0xff, 0xfe,
					0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88 };
	static const uint8_t ka_ack4[] = { 0, 4, 0x80, 0, 0, 1, 4, 0x9c, 0x40 };
	static const uint8_t ka_empty[] = { 0, 3, 0, 0, 0, 1, 0, 0 };
	static const uint8_t data_hdr[] = { 4, 1, 0, 0, 0x89, 0xab, 0xcd, 0xef,
					    0xff, 0xff, 0xff, 0xff, 0xff, 0xfe, 0xff, 0xff };
	static const uint8_t resp_hdr[] = { 2, 1, 0, 0, 0xfe, 0xdc, 0xba, 0x98, 1, 2, 3, 4 };
	static const uint8_t init_hdr[] = { 1, 1, 2, 3, 0xfe, 0xdc, 0xba, 0x98 };
	static const uint8_t relay_hdr[] = { 5, 1, 1, 1, 0xa1, 0xa2, 0xa3, 0xa4,
					     1, 2, 3, 4, 5, 6, 7, 8 };
	uint8_t prologue[NTM_PROLOGUE_LEN];

	build_samples();
	ck_assert_uint_eq(samples[S_PING].len, sizeof(ping));
	ck_assert_mem_eq(samples[S_PING].buf, ping, sizeof(ping));
	ck_assert_uint_eq(samples[S_PONG].buf[1], 13);
	ck_assert_uint_eq(samples[S_KEEPALIVE_ACK4].len, sizeof(ka_ack4) + 4);
	ck_assert_mem_eq(samples[S_KEEPALIVE_ACK4].buf, ka_ack4, sizeof(ka_ack4));
	ck_assert_uint_eq(samples[S_KEEPALIVE_EMPTY].len, sizeof(ka_empty));
	ck_assert_mem_eq(samples[S_KEEPALIVE_EMPTY].buf, ka_empty, sizeof(ka_empty));
	/* REGISTER: the incarnation after the listen port, the route IDs last */
	ck_assert_mem_eq(samples[S_REGISTER].buf + 10, "\x01\x23\x45\x67\x89\xab\xcd\xef", 8);
	ck_assert_uint_eq(samples[S_REGISTER].buf[samples[S_REGISTER].len - 1 - 32 * 8], 32);
	ck_assert_mem_eq(samples[S_REGISTER].buf + samples[S_REGISTER].len - 8,
			 "\xfe\xdc\xba\x98\x76\x54\x32\x2f", 8);
	ck_assert_mem_eq(samples[S_DATA].buf, data_hdr, sizeof(data_hdr));
	ck_assert_mem_eq(samples[S_HS_RESP].buf, resp_hdr, sizeof(resp_hdr));
	ck_assert_mem_eq(samples[S_HS_INIT].buf, init_hdr, sizeof(init_hdr));
	ck_assert_mem_eq(samples[S_RELAY].buf, relay_hdr, sizeof(relay_hdr));
	ntm_hs_prologue(prologue, NTM_SUITE_CHACHAPOLY, NTM_PURPOSE_RELAY, HS_SENDER);
	ck_assert_mem_eq(prologue, "ntm1", 4);
	ck_assert_mem_eq(prologue + 4, samples[S_HS_INIT].buf, 8);
	/* Sizes of the full-size samples, computed from the tables. */
	ck_assert_uint_eq(samples[S_REGISTER].len,
			  2 + 4 + 2 + 2 + 8 + 254 + 1 + 8 * 7 + 8 * 19 + 1 + 32 * 8);
	ck_assert_uint_eq(samples[S_KEEPALIVE].len, 2 + 4 + 1 + 6 * 7 + 10 * 19 + 1 + 32 * 8);
	ck_assert_uint_eq(samples[S_ROUTE].len,
			  2 + 4 + 8 + 1 + 1 + 2 + 32 + 4 + 16 + 254 + 1 + 8 * 9 + 8 * 21 + 1 +
			  19 + 4 + 1 + 32);
	ck_assert_uint_eq(samples[S_ALLOC].len, 2 + 4 + 2 + 32 + 32);
	ck_assert_uint_eq(samples[S_LANES1].len, 7);
	ck_assert_mem_eq(samples[S_LANES1].buf, "\x00\x13\x01\xff\xff\xff\xfe", 7);
	ck_assert_uint_eq(samples[S_LANES_FULL].len, 2 + 1 + 4 * NTM_LANES_MAX);
}

/* LANES: a count of 0 or above the cap, a zero index or one given twice is
 * refused; so is a count the body does not match. */
START_TEST(test_lanes_rejects_what_no_sender_may_send)
{
	static const struct {
		const char *why;
		uint8_t b[16];
		size_t len;
	} bad[] = {
		{ "count 0", { 0, 19, 0 }, 3 },
		{ "count 17", { 0, 19, 17 }, 3 },
		{ "zero index", { 0, 19, 2, 0, 0, 0, 1, 0, 0, 0, 0 }, 11 },
		{ "an index twice", { 0, 19, 2, 0, 0, 0, 5, 0, 0, 0, 5 }, 11 },
		{ "count 2, one index", { 0, 19, 2, 0, 0, 0, 5 }, 7 },
		{ "a byte after it", { 0, 19, 1, 0, 0, 0, 5, 0 }, 8 },
	};
	static const uint8_t good[] = { 0, 19, 2, 0, 0, 0, 5, 0, 0, 0, 6 };
	struct ntm_ctl c;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(ntm_ctl_decode(bad[i].b, bad[i].len, &c) == -EBADMSG, "%s: accepted",
			      bad[i].why);
	ck_assert_int_eq(ntm_ctl_decode(good, sizeof(good), &c), 0);
	ck_assert_uint_eq(c.type, NTM_CTL_LANES);
	ck_assert_uint_eq(c.u.lanes.count, 2);
	ck_assert_uint_eq(c.u.lanes.index[1], 6);
}
END_TEST
END_TEST

/* ---- truncations and extensions ---- */

static bool self_delimiting(const struct sample *s)
{
	return s->kind != NTM_MSG_DATA && s->kind != NTM_MSG_RELAY;
}

START_TEST(test_every_truncation_of_every_fixed_or_control_message_is_rejected)
{
	build_samples();
	for (int i = 0; i < S_COUNT; i++) {
		const struct sample *s = &samples[i];
		if (!self_delimiting(s))
			continue;
		for (size_t len = 0; len < s->len; len++) {
			int ret = decode_heap(s->kind, s->buf, len);
			ck_assert_msg(ret == -EBADMSG, "%s truncated to %zu of %zu bytes: %d",
				      s->name, len, s->len, ret);
			cnt->truncations++;
		}
		ck_assert_int_eq(decode_heap(s->kind, s->buf, s->len), 0);
	}
}
END_TEST

START_TEST(test_every_extension_of_every_fixed_or_control_message_is_rejected)
{
	static const size_t extra[] = { 1, 2, 3, 7, 16, 64 };
	static uint8_t buf[SAMPLE_MAX + 64];

	build_samples();
	for (int i = 0; i < S_COUNT; i++) {
		const struct sample *s = &samples[i];
		if (!self_delimiting(s))
			continue;
		for (size_t k = 0; k < NTM_ARRAY_SIZE(extra); k++) {
			memcpy(buf, s->buf, s->len);
			/* The extra bytes repeat the message's own first bytes,
			 * zeros after that. */
			memset(buf + s->len, 0, extra[k]);
			memcpy(buf + s->len, s->buf, extra[k] < s->len ? extra[k] : s->len);
			expect_rejected(s, buf, s->len + extra[k], "extended");
			memset(buf + s->len, 0, extra[k]);
			expect_rejected(s, buf, s->len + extra[k], "extended with zeros");
		}
	}
}
END_TEST

START_TEST(test_data_is_accepted_from_32_bytes_to_the_largest_datagram_and_not_outside)
{
	static uint8_t big[NTM_MAX_DATAGRAM + 16];
	struct ntm_data d;
	const struct sample *s;

	build_samples();
	s = &samples[S_DATA];
	for (size_t len = 0; len < NTM_DATA_OVERHEAD; len++) {
		ck_assert_int_eq(decode_heap(NTM_MSG_DATA, s->buf, len), -EBADMSG);
		cnt->truncations++;
	}
	for (size_t len = NTM_DATA_OVERHEAD; len <= s->len; len += 61)
		ck_assert_int_eq(decode_heap(NTM_MSG_DATA, s->buf, len), 0);
	memset(big, 0xa5, sizeof(big));
	memcpy(big, s->buf, 16);
	ck_assert_int_eq(ntm_data_decode(big, NTM_MAX_DATAGRAM, &d), 0);
	ck_assert_uint_eq(d.ct_len, NTM_MAX_DATAGRAM - 16);
	ck_assert_int_eq(decode_heap(NTM_MSG_DATA, big, NTM_MAX_DATAGRAM + 1), -EBADMSG);
	ck_assert_int_eq(ntm_data_decode(big, NTM_MAX_DATAGRAM + 16, &d), -EBADMSG);
	ck_assert_int_eq(ntm_data_decode(big, SIZE_MAX, &d), -EBADMSG);
	cnt->invalid += 3;
}
END_TEST

START_TEST(test_relay_is_accepted_empty_or_with_a_whole_inner_datagram_and_not_between)
{
	static uint8_t big[NTM_MAX_DATAGRAM + 16];
	struct ntm_relay_msg rl;
	const struct sample *s;

	build_samples();
	s = &samples[S_RELAY];
	for (size_t len = 0; len < s->len; len++) {
		bool ok = len == NTM_RELAY_OVERHEAD || len >= 2 * NTM_RELAY_OVERHEAD;
		int ret = decode_heap(NTM_MSG_RELAY, s->buf, len);
		ck_assert_msg(ret == (ok ? 0 : -EBADMSG), "RELAY of %zu bytes: %d", len, ret);
		if (!ok)
			cnt->truncations++;
	}
	memset(big, 0x5a, sizeof(big));
	memcpy(big, s->buf, 16);
	ck_assert_int_eq(ntm_relay_decode(big, NTM_MAX_DATAGRAM, &rl), 0);
	ck_assert_uint_eq(rl.inner_len, NTM_MAX_DATAGRAM - 32);
	ck_assert_int_eq(decode_heap(NTM_MSG_RELAY, big, NTM_MAX_DATAGRAM + 1), -EBADMSG);
	ck_assert_int_eq(ntm_relay_decode(big, SIZE_MAX, &rl), -EBADMSG);
	cnt->invalid += 2;
}
END_TEST

/* ---- outer header fields ---- */

START_TEST(test_wire_type_rejects_short_unknown_and_other_version_datagrams)
{
	uint8_t b[4] = { 4, 1, 0, 0 };

	ck_assert_int_eq(ntm_wire_type(b, 4), NTM_MSG_DATA);
	for (size_t len = 0; len < 4; len++) {
		uint8_t *p = malloc(len);
		ck_assert(len == 0 || p != NULL);
		if (len)
			memcpy(p, b, len);
		ck_assert_int_eq(ntm_wire_type(p, len), -EBADMSG);
		free(p);
		cnt->truncations++;
	}
	for (unsigned t = 0; t < 256; t++) {
		b[0] = (uint8_t)t;
		bool known = t >= 1 && t <= 8; /* 6: COOKIE_REPLY, 7: HANDSHAKE_REFUSE, 8: RELAY_PROBE */
		ck_assert_int_eq(ntm_wire_type(b, 4), known ? (int)t : -EBADMSG);
	}
	b[0] = 1;
	for (unsigned v = 0; v < 256; v++) {
		b[1] = (uint8_t)v;
		ck_assert_int_eq(ntm_wire_type(b, 4), v == 1 ? 1 : -EBADMSG);
	}
	ck_assert_str_eq(ntm_msg_type_name(NTM_MSG_RELAY), "RELAY");
	ck_assert_str_eq(ntm_msg_type_name(NTM_MSG_PROBE), "PROBE");
	ck_assert_str_eq(ntm_msg_type_name(NTM_MSG_COOKIE_REPLY), "COOKIE_REPLY");
	ck_assert_str_eq(ntm_msg_type_name(NTM_MSG_HS_REFUSE), "HANDSHAKE_REFUSE");
	ck_assert_str_eq(ntm_msg_type_name(NTM_MSG_RELAY_PROBE), "RELAY_PROBE");
	ck_assert_str_eq(ntm_msg_type_name(9), "unknown");
	ck_assert_str_eq(ntm_ctl_type_name(NTM_CTL_ROUTE_DIRECTION), "ROUTE_DIRECTION");
	ck_assert_str_eq(ntm_ctl_type_name(NTM_CTL_PONG), "PONG");
	ck_assert_str_eq(ntm_ctl_type_name(0), "unknown");
	ck_assert_str_eq(ntm_ctl_type_name(NTM_CTL_NETCHECK_ECHO), "NETCHECK_ECHO");
	ck_assert_str_eq(ntm_ctl_type_name(NTM_CTL_NETCHECK_RELAYS), "NETCHECK_RELAYS");
	ck_assert_str_eq(ntm_ctl_type_name(NTM_CTL_LANES), "LANES");
	ck_assert_str_eq(ntm_ctl_type_name(20), "unknown");
}
END_TEST

static void bad_type_and_version(int idx)
{
	const uint8_t own = samples[idx].buf[0];
	static const uint8_t types[] = { 0, 1, 2, 3, 4, 5, 6, 255 };

	for (size_t i = 0; i < NTM_ARRAY_SIZE(types); i++) {
		if (types[i] != own)
			bad_u8(idx, "type", 0, own, types[i]);
	}
	bad_u8(idx, "version", 1, 1, 0);
	bad_u8(idx, "version", 1, 1, 2);
	bad_u8(idx, "version", 1, 1, 255);
}

START_TEST(test_outer_headers_with_a_bad_field_are_rejected)
{
	build_samples();
	for (int i = S_HS_INIT; i <= S_PROBE_REPLY; i++)
		bad_type_and_version(i);

	bad_u8(S_PROBE, "kind", 2, 1, 0);
	bad_u8(S_PROBE, "kind", 2, 1, 2); /* a reply must echo a seq */
	bad_u8(S_PROBE, "kind", 2, 1, 3);
	bad_u8(S_PROBE, "role", 3, 2, 0);
	bad_u8(S_PROBE, "role", 3, 2, 3);
	bad_be(S_PROBE, "route ID 0", 4, 8, 0);
	bad_be(S_PROBE, "seq 0", 12, 8, 0);
	bad_be(S_PROBE, "echo in a request", 20, 8, 5);
	bad_u8(S_PROBE_REPLY, "kind", 2, 2, 1); /* a request must not echo */
	bad_be(S_PROBE_REPLY, "echo 0", 20, 8, 0);

	bad_u8(S_HS_INIT, "suite", 2, 2, 0);
	bad_u8(S_HS_INIT, "suite", 2, 2, 3);
	bad_u8(S_HS_INIT, "suite", 2, 2, 255);
	bad_u8(S_HS_INIT, "purpose", 3, 3, 0);
	bad_u8(S_HS_INIT, "purpose", 3, 3, 5);
	bad_u8(S_HS_INIT, "purpose", 3, 3, 255);
	bad_be(S_HS_INIT, "sender index 0", 4, 4, 0);

	bad_u8(S_HS_RESP, "reserved byte 2", 2, 0, 1);
	bad_u8(S_HS_RESP, "reserved byte 3", 3, 0, 0x80);
	bad_be(S_HS_RESP, "sender index 0", 4, 4, 0);
	bad_be(S_HS_RESP, "receiver index 0", 8, 4, 0);

	for (int i = S_DATA; i <= S_DATA_KEEPALIVE; i++) {
		bad_u8(i, "reserved byte 2", 2, 0, 1);
		bad_u8(i, "reserved byte 3", 3, 0, 0xff);
		bad_be(i, "receiver index 0", 4, 4, 0);
	}

	bad_u8(S_RELAY, "side", 2, 1, 2);
	bad_u8(S_RELAY, "side", 2, 1, 255);
	bad_u8(S_RELAY, "direction", 3, 1, 2);
	bad_u8(S_RELAY, "direction", 3, 1, 255);
	bad_be(S_RELAY, "allocation ID 0", 4, 4, 0);
	bad_u8(S_RELAY_KEEPALIVE, "side", 2, 0, 2);
	bad_u8(S_RELAY_KEEPALIVE, "direction", 3, 0, 2);
	bad_be(S_RELAY_KEEPALIVE, "allocation ID 0", 4, 4, 0);
}
END_TEST

START_TEST(test_outer_encoders_refuse_what_the_decoders_reject)
{
	uint8_t b[NTM_HS_INIT_LEN + 64], inner[40] = { 0 };

	ck_assert_int_eq(ntm_hs_init_encode(b, sizeof(b), 0, 1, 1, hs_init_noise), -EINVAL);
	ck_assert_int_eq(ntm_hs_init_encode(b, sizeof(b), 3, 1, 1, hs_init_noise), -EINVAL);
	ck_assert_int_eq(ntm_hs_init_encode(b, sizeof(b), 1, 0, 1, hs_init_noise), -EINVAL);
	ck_assert_int_eq(ntm_hs_init_encode(b, sizeof(b), 1, 5, 1, hs_init_noise), -EINVAL);
	ck_assert_int_eq(ntm_hs_init_encode(b, sizeof(b), 1, 1, 0, hs_init_noise), -EINVAL);
	ck_assert_int_eq(ntm_hs_init_encode(b, NTM_HS_INIT_LEN - 1, 1, 1, 1, hs_init_noise), -EMSGSIZE);
	ck_assert_int_eq(ntm_hs_resp_encode(b, sizeof(b), 0, 1, hs_resp_noise), -EINVAL);
	ck_assert_int_eq(ntm_hs_resp_encode(b, sizeof(b), 1, 0, hs_resp_noise), -EINVAL);
	ck_assert_int_eq(ntm_hs_resp_encode(b, NTM_HS_RESP_LEN - 1, 1, 1, hs_resp_noise), -EMSGSIZE);
	ck_assert_int_eq(ntm_data_header_encode(b, sizeof(b), 0, 1), -EINVAL);
	ck_assert_int_eq(ntm_data_header_encode(b, 15, 1, 1), -EMSGSIZE);
	ck_assert_int_eq(ntm_relay_encode(b, sizeof(b), 2, 0, 1, 0, NULL, 0), -EINVAL);
	ck_assert_int_eq(ntm_relay_encode(b, sizeof(b), 0, 2, 1, 0, NULL, 0), -EINVAL);
	ck_assert_int_eq(ntm_relay_encode(b, sizeof(b), 0, 0, 0, 0, NULL, 0), -EINVAL);
	ck_assert_int_eq(ntm_relay_encode(b, sizeof(b), 0, 0, 1, 0, inner, 31), -EINVAL);
	ck_assert_int_eq(ntm_relay_encode(b, sizeof(b), 0, 0, 1, 0, NULL, 32), -EINVAL);
	ck_assert_int_eq(ntm_relay_encode(b, sizeof(b), 0, 0, 1, 0, inner,
					  NTM_MAX_DATAGRAM - 31), -EINVAL);
	ck_assert_int_eq(ntm_relay_encode(b, 32 + 32 - 1, 0, 0, 1, 0, inner, 32), -EMSGSIZE);
	ck_assert_int_eq(ntm_relay_encode(b, 32 + 32, 0, 0, 1, 0, inner, 32), 64);
}
END_TEST

/* ---- control messages: marker, type, and each message's fields ---- */

START_TEST(test_control_messages_with_a_bad_marker_or_type_are_rejected)
{
	static const uint8_t markers[] = { 1, 0x40, 0x60, 0xff };
	static const uint8_t types[] = { 0, 20, 21, 128, 255 };

	build_samples();
	for (int i = S_REGISTER; i < S_COUNT; i++) {
		for (size_t k = 0; k < NTM_ARRAY_SIZE(markers); k++)
			bad_u8(i, "marker", 0, 0, markers[k]);
		for (size_t k = 0; k < NTM_ARRAY_SIZE(types); k++)
			bad_u8(i, "type", 1, samples[i].ctl.type, types[k]);
	}
}
END_TEST

/* Family 0, 5 and 255 and port 0 of the endpoint at off are rejected. */
static void bad_endpoint(int idx, const char *what, size_t off, uint8_t family)
{
	bad_u8(idx, what, off, family, 0);
	bad_u8(idx, what, off, family, 5);
	bad_u8(idx, what, off, family, 255);
	bad_be(idx, what, off + 1, 2, 0);
}

/* Every kind of bad name at off is rejected; a few edge-valid ones are not. */
static void bad_names(int idx, size_t off)
{
	static const char *const bad[] = {
		"-a.b", "a-.b", "a.-b", "a.b-", "a..b", ".a", "a.", ".", "A.b", "a.B",
		"a_b", "a b", "a/b", "a\\b", "\xc3\xa9.b", "*.b", "a@b",
	};
	static const char *const good[] = { "a", "0", "a-b", "1.2.3.4", "a--b.c0" };
	char text[256];

	name_variant(idx, "name length 0", off, "", 0, false);
	name_variant(idx, "name with NUL inside", off, "ab\0cd", 5, false);
	for (size_t i = 0; i < NTM_ARRAY_SIZE(bad); i++)
		name_variant(idx, "name", off, bad[i], strlen(bad[i]), false);
	for (size_t i = 0; i < NTM_ARRAY_SIZE(good); i++)
		name_variant(idx, "name", off, good[i], strlen(good[i]), true);
	make_label(text, 64, 5);
	name_variant(idx, "64-byte label", off, text, 64, false);
	text[63] = '.';
	text[64] = 'b';
	name_variant(idx, "63-byte label", off, text, 65, true);
	/* 254 and 255 bytes, each label valid: only the length is wrong. */
	for (size_t len = 253; len <= 255; len++) {
		for (size_t i = 0; i < len; i++)
			text[i] = (i % 50 == 49) ? '.' : 'a';
		name_variant(idx, "long name", off, text, len, len == 253);
	}
}

/* The live route list at off (count 32): a route ID 0 anywhere, or a count
 * above NTM_MAX_LIVE_ROUTES, is rejected; 0 to 32 routes are accepted. */
static void bad_live_routes(int idx, size_t off)
{
	const struct sample *s = &samples[idx];
	uint8_t elem[8];

	bad_be(idx, "first route ID 0", off + 1, 8, 0);
	bad_be(idx, "last route ID 0", s->len - 8, 8, 0);
	memcpy(elem, s->buf + off + 1, 8);
	count_variant(idx, "route count", off, s->len, 32, elem, 8, 32, true);
	count_variant(idx, "route count", off, s->len, 32, elem, 8, 1, true);
	count_variant(idx, "route count", off, s->len, 32, elem, 8, 0, true);
	count_variant(idx, "route count", off, s->len, 32, elem, 8, 33, false);
	count_variant(idx, "route count", off, s->len, 32, elem, 8, 255, false);
}

START_TEST(test_register_with_a_bad_field_is_rejected)
{
	const int S = S_REGISTER;
	const struct ntm_ctl_register *m = &samples[S].ctl.u.reg;
	uint8_t elem[19];

	build_samples();
	bad_u8(S, "flags byte 0", 6, 0, 1);
	bad_u8(S, "flags byte 1", 7, 0, 0x80);
	bad_be(S, "listen port 0", 8, 2, 0);
	bad_be(S, "incarnation 0", 10, 8, 0);
	bad_names(S, 18);
	size_t count_off = 19 + m->name.len, first = count_off + 1;
	size_t routes_off = samples[S].len - 1 - 8 * NTM_MAX_LIVE_ROUTES;
	bad_endpoint(S, "first address", first, 6);
	bad_endpoint(S, "last address", routes_off - 7, 4);
	memcpy(elem, samples[S].buf + first, 19);
	count_variant(S, "address count", count_off, routes_off, 16, elem, 19, 16, true);
	count_variant(S, "address count", count_off, routes_off, 16, elem, 19, 17, false);
	count_variant(S, "address count", count_off, routes_off, 16, elem, 19, 255, false);
	count_variant(S, "address count", count_off, routes_off, 16, elem, 19, 0, true);
	bad_live_routes(S, routes_off);
}
END_TEST

START_TEST(test_register_ack_with_a_bad_field_is_rejected)
{
	const int S = S_REGISTER_ACK;
	const struct ntm_ctl_register_ack *m = &samples[S].ctl.u.reg_ack;
	uint8_t zone[2] = { 1, 'z' };

	build_samples();
	bad_u8(S, "status", 6, 0, 4);
	bad_u8(S, "status", 6, 0, 255);
	bad_u8(S, "reserved", 7, 0, 1);
	bad_u8(S, "reserved", 7, 0, 0x80);
	bad_be(S, "keepalive 0", 8, 2, 0);
	bad_be(S, "keepalive 3601", 8, 2, 3601);
	bad_be(S, "keepalive 65535", 8, 2, 65535);
	bad_be(S, "lifetime 0", 10, 2, 0);
	bad_u8(S, "IPv4 prefix length", 16, 32, 33);
	bad_u8(S, "IPv4 prefix length", 16, 32, 255);
	bad_u8(S, "IPv6 prefix length", 33, 128, 129);
	bad_u8(S, "IPv6 prefix length", 33, 128, 255);
	bad_endpoint(S, "observed endpoint", 34, 6);
	size_t fqdn_off = 34 + 19;
	bad_names(S, fqdn_off);
	size_t zones_off = fqdn_off + 1 + m->fqdn.len;
	bad_names(S, zones_off + 1);
	count_variant(S, "zone count", zones_off, samples[S].len, 8, zone, 2, 8, true);
	count_variant(S, "zone count", zones_off, samples[S].len, 8, zone, 2, 1, true);
	count_variant(S, "zone count", zones_off, samples[S].len, 8, zone, 2, 0, false);
	count_variant(S, "zone count", zones_off, samples[S].len, 8, zone, 2, 9, false);
	count_variant(S, "zone count", zones_off, samples[S].len, 8, zone, 2, 255, false);

	/* The failure form: every field checked the same way. */
	bad_u8(S_REGISTER_ACK_FAIL, "status", 6, 3, 4);
	bad_be(S_REGISTER_ACK_FAIL, "keepalive 0", 8, 2, 0);
	bad_be(S_REGISTER_ACK_FAIL, "lifetime 0", 10, 2, 0);
	bad_endpoint(S_REGISTER_ACK_FAIL, "observed endpoint", 34, 4);
}
END_TEST

START_TEST(test_keepalive_and_its_ack_with_a_bad_field_are_rejected)
{
	const int S = S_KEEPALIVE;
	uint8_t elem[8];

	build_samples();
	size_t routes_off = samples[S].len - 1 - 8 * NTM_MAX_LIVE_ROUTES;
	bad_endpoint(S, "first address", 7, 4);
	bad_endpoint(S, "second address", 14, 6);
	memcpy(elem, samples[S].buf + 7, 7);
	count_variant(S, "address count", 6, routes_off, 16, elem, 7, 16, true);
	count_variant(S, "address count", 6, routes_off, 16, elem, 7, 17, false);
	count_variant(S, "address count", 6, routes_off, 16, elem, 7, 255, false);
	count_variant(S_KEEPALIVE_EMPTY, "address count", 6, 7, 0, elem, 7, 17, false);
	bad_live_routes(S, routes_off);
	/* the empty keepalive with a route count and no routes after it */
	count_variant(S_KEEPALIVE_EMPTY, "route count", 7, 8, 0, elem, 8, 33, false);
	bad_endpoint(S_KEEPALIVE_ACK4, "observed endpoint", 6, 4);
	bad_endpoint(S_KEEPALIVE_ACK6, "observed endpoint", 6, 6);
	/* A family that does not match the address length that follows. */
	bad_u8(S_KEEPALIVE_ACK4, "family", 6, 4, 6);
	bad_u8(S_KEEPALIVE_ACK6, "family", 6, 6, 4);
}
END_TEST

START_TEST(test_direction_req_with_a_bad_field_is_rejected)
{
	build_samples();
	for (int i = S_DIR_REQ_NAME; i <= S_DIR_REQ_ADDR6; i++) {
		uint8_t kind = samples[i].ctl.u.dir_req.kind;
		bad_u8(i, "kind", 6, kind, 0);
		bad_u8(i, "kind", 6, kind, 3);
		bad_u8(i, "kind", 6, kind, 255);
		bad_u8(i, "kind", 6, kind, kind == 1 ? 2 : 1);
	}
	bad_names(S_DIR_REQ_NAME, 7);
	bad_u8(S_DIR_REQ_ADDR4, "family", 7, 4, 0);
	bad_u8(S_DIR_REQ_ADDR4, "family", 7, 4, 5);
	bad_u8(S_DIR_REQ_ADDR4, "family", 7, 4, 6);
	bad_u8(S_DIR_REQ_ADDR6, "family", 7, 6, 4);
	bad_u8(S_DIR_REQ_ADDR6, "family", 7, 6, 255);
}
END_TEST

START_TEST(test_route_direction_with_a_bad_field_is_rejected)
{
	const int S = S_ROUTE;
	const struct ntm_ctl_route_direction *m = &samples[S].ctl.u.route;
	uint8_t cand[21];

	build_samples();
	bad_be(S, "route ID 0", 6, 8, 0);
	bad_u8(S, "role", 14, 2, 0);
	bad_u8(S, "role", 14, 2, 3);
	bad_u8(S, "role", 14, 2, 255);
	bad_u8(S, "suite", 15, 2, 0);
	bad_u8(S, "suite", 15, 2, 3);
	bad_u8(S, "suite", 15, 2, 255);
	bad_u8(S, "flags byte 0", 16, 0, 1);
	bad_u8(S, "flags byte 1", 17, 0, 0x80);
	bad_names(S, 70);
	size_t count_off = 71 + m->peer_name.len, first = count_off + 1;
	bad_u8(S, "candidate kind", first, 1, 0);
	bad_u8(S, "candidate kind", first, 1, 5);
	bad_u8(S, "candidate kind", first, 1, 255);
	bad_endpoint(S, "candidate endpoint", first + 2, 6);
	size_t cands_end = first;
	for (unsigned i = 0; i < m->ncands; i++)
		cands_end += 2 + ep_size(&m->cands[i].ep);
	memcpy(cand, samples[S].buf + first, 21);
	count_variant(S, "candidate count", count_off, cands_end, 16, cand, 21, 16, true);
	count_variant(S, "candidate count", count_off, cands_end, 16, cand, 21, 0, true);
	count_variant(S, "candidate count", count_off, cands_end, 16, cand, 21, 17, false);
	count_variant(S, "candidate count", count_off, cands_end, 16, cand, 21, 255, false);
	bad_u8(S, "relay present", cands_end, 1, 2);
	bad_u8(S, "relay present", cands_end, 1, 255);
	bad_endpoint(S, "relay endpoint", cands_end + 1, 6);
	bad_be(S, "relay allocation ID 0", cands_end + 20, 4, 0);
	bad_u8(S, "relay side", cands_end + 24, 1, 2);
	bad_u8(S, "relay side", cands_end + 24, 1, 255);
	/* Without a relay the message ends at the relay-present byte. */
	size_t end = samples[S_ROUTE_NO_RELAY].len - 1;
	bad_u8(S_ROUTE_NO_RELAY, "relay present", end, 0, 1);
	bad_u8(S_ROUTE_NO_RELAY, "relay present", end, 0, 2);
	bad_be(S_ROUTE_NO_RELAY, "route ID 0", 6, 8, 0);
}
END_TEST

START_TEST(test_small_control_messages_with_a_bad_field_are_rejected)
{
	build_samples();
	bad_be(S_ROUTE_ACK, "route ID 0", 2, 8, 0);
	bad_u8(S_ROUTE_ACK, "status", 10, 2, 3);
	bad_u8(S_ROUTE_ACK, "status", 10, 2, 255);
	bad_u8(S_NAK, "status", 6, 4, 0);
	bad_u8(S_NAK, "status", 6, 4, 6);
	bad_u8(S_NAK, "status", 6, 4, 255);
	bad_be(S_ALLOC, "allocation ID 0", 2, 4, 0);
	bad_be(S_ALLOC, "lifetime 0", 6, 2, 0);
	bad_be(S_ALLOC_ACK, "allocation ID 0", 2, 4, 0);
	bad_u8(S_ALLOC_ACK, "status", 6, 2, 3);
	bad_u8(S_ALLOC_ACK, "status", 6, 2, 255);
	bad_be(S_FREE, "allocation ID 0", 2, 4, 0);
}
END_TEST

/* ---- control encoder ---- */

static void expect_encode(const struct ntm_ctl *c, int want, const char *what)
{
	static uint8_t b[SAMPLE_MAX];
	int ret = ntm_ctl_encode(c, b, sizeof(b));
	ck_assert_msg(ret == want, "%s: encode returned %d, want %d", what, ret, want);
	if (want < 0)
		cnt->invalid++;
}

START_TEST(test_control_encoder_refuses_structs_the_decoder_would_reject)
{
	static struct ntm_ctl c;

	build_samples();
	c = samples[S_REGISTER].ctl;
	c.u.reg.naddrs = 17;
	expect_encode(&c, -EINVAL, "17 addresses");
	c = samples[S_REGISTER].ctl;
	c.u.reg.name.s[0] = 'A';
	expect_encode(&c, -EINVAL, "upper-case name");
	c = samples[S_REGISTER].ctl;
	c.u.reg.name.len = 0;
	expect_encode(&c, -EINVAL, "empty name");
	c = samples[S_REGISTER].ctl;
	c.u.reg.addrs[3].port = 0;
	expect_encode(&c, -EINVAL, "address port 0");
	c = samples[S_REGISTER].ctl;
	c.u.reg.addrs[15].family = 5;
	expect_encode(&c, -EINVAL, "address family 5");
	c = samples[S_REGISTER].ctl;
	c.u.reg.incarnation = 0;
	expect_encode(&c, -EINVAL, "incarnation 0");
	c = samples[S_REGISTER].ctl;
	c.u.reg.nroutes = NTM_MAX_LIVE_ROUTES + 1;
	expect_encode(&c, -EINVAL, "33 live routes");
	c = samples[S_KEEPALIVE].ctl;
	c.u.ka.nroutes = NTM_MAX_LIVE_ROUTES + 1;
	expect_encode(&c, -EINVAL, "33 live routes");
	c = samples[S_KEEPALIVE].ctl;
	c.u.ka.routes[31] = 0;
	expect_encode(&c, -EINVAL, "route ID 0");
	c = samples[S_REGISTER_ACK].ctl;
	c.u.reg_ack.nzones = 0;
	expect_encode(&c, -EINVAL, "0 zones");
	c = samples[S_REGISTER_ACK].ctl;
	c.u.reg_ack.keepalive_s = 3601;
	expect_encode(&c, -EINVAL, "keepalive 3601");
	c = samples[S_ROUTE].ctl;
	c.u.route.cands[0].kind = 5;
	expect_encode(&c, -EINVAL, "candidate kind 5");
	c = samples[S_ROUTE].ctl;
	c.u.route.relay_side = 2;
	expect_encode(&c, -EINVAL, "relay side 2");
	c = samples[S_DIR_REQ_ADDR4].ctl;
	c.u.dir_req.family = 5;
	expect_encode(&c, -EINVAL, "direction family 5");
	c = samples[S_NAK].ctl;
	c.u.nak.status = 0;
	expect_encode(&c, -EINVAL, "NAK status 0");
	c = samples[S_PING].ctl;
	c.type = 0;
	expect_encode(&c, -EINVAL, "type 0");
	c.type = 19;
	expect_encode(&c, -EINVAL, "type 19");
	c = samples[S_PING].ctl;
	expect_encode(&c, 18, "PING");
}
END_TEST

/* NETCHECK_PROBE: token non-zero, padding zero, exactly 50 bytes (never
 * smaller than the largest NETCHECK_ECHO); NETCHECK_ECHO: alt flag 0 or 1. */
START_TEST(test_netcheck_messages_check_token_padding_and_alt_flag)
{
	struct ntm_ctl c;

	build_samples();
	ck_assert_uint_eq(samples[S_NC_PROBE].len, 2 + 8 + NTM_NETCHECK_PAD);
	ck_assert_uint_ge(samples[S_NC_PROBE].len, samples[S_NC_ECHO6_ALT].len);
	bad_be(S_NC_PROBE, "token 0", 2, 8, 0);
	bad_u8(S_NC_PROBE, "padding", 2 + 8 + 5, 0, 1);
	bad_u8(S_NC_PROBE, "padding", 2 + 8 + NTM_NETCHECK_PAD - 1, 0, 0x80);
	bad_be(S_NC_ECHO4, "token 0", 2, 8, 0);
	bad_u8(S_NC_ECHO4, "alt flag", 2 + 8 + 7, 0, 2);
	bad_u8(S_NC_ECHO4, "observed family", 2 + 8, 4, 5);
	bad_be(S_NC_ECHO4, "observed port 0", 2 + 8 + 1, 2, 0);
	bad_u8(S_NC_ECHO6_ALT, "alt family", 2 + 8 + 19 + 1, 4, 6);
	c = samples[S_NC_PROBE].ctl;
	c.u.nc_probe.token = 0;
	expect_encode(&c, -EINVAL, "probe token 0");
	c = samples[S_NC_ECHO6_ALT].ctl;
	c.u.nc_echo.alt.port = 0;
	expect_encode(&c, -EINVAL, "echo alt port 0");
}
END_TEST

/* RELAY_PROBE (2.11): exactly 36 bytes, kind 1 or 2, reserved 0, key id
 * non-zero. RELAY_PROBE_KEY: key id non-zero, lifetime 1..3600.
 * NETCHECK_RELAYS_REQ: padded to at least the largest NETCHECK_RELAYS.
 * NETCHECK_RELAYS: at most 4 relays, kind 0 or 1, names of at most 32
 * bytes of [A-Za-z0-9._-], endpoints valid, key ids non-zero. */
START_TEST(test_relay_probe_messages_check_every_field)
{
	struct ntm_relay_probe rp = { 0 };
	struct ntm_ctl c;
	uint8_t b[64];
	const size_t e0 = 2 + 8 + 1;   /* NETCHECK_RELAYS-full: its first relay */
	const size_t e1 = e0 + 2 + 19 + 24; /* the second (a name) */

	build_samples();
	ck_assert_uint_eq(samples[S_RELAY_PROBE].len, 36);
	ck_assert_mem_eq(samples[S_RELAY_PROBE].buf, "\x08\x01\x01\x00\x01\x02\x03\x04\x05\x06\x07\x08"
			 "\xa1\xb2\xc3\xd4\x00\x01\x23\x45\xcc", 21);
	ck_assert_uint_eq(samples[S_RELAY_PROBE_ECHO].buf[2], 2);
	bad_u8(S_RELAY_PROBE, "kind", 2, 1, 0);
	bad_u8(S_RELAY_PROBE, "kind", 2, 1, 3);
	bad_u8(S_RELAY_PROBE, "reserved", 3, 0, 1);
	bad_u8(S_RELAY_PROBE, "version", 1, 1, 2);
	bad_u8(S_RELAY_PROBE, "type", 0, 8, 5);
	bad_be(S_RELAY_PROBE, "key id 0", 12, 4, 0);
	rp.kind = 3;
	rp.token.key_id = 1;
	ck_assert_int_eq(ntm_relay_probe_encode(b, sizeof(b), &rp), -EINVAL);
	rp.kind = 1;
	rp.token.key_id = 0;
	ck_assert_int_eq(ntm_relay_probe_encode(b, sizeof(b), &rp), -EINVAL);
	rp.token.key_id = 1;
	ck_assert_int_eq(ntm_relay_probe_encode(b, 35, &rp), -EMSGSIZE);

	bad_be(S_PROBE_KEY, "key id 0", 2, 4, 0);
	bad_be(S_PROBE_KEY, "lifetime 0", 6, 2, 0);
	bad_be(S_PROBE_KEY, "lifetime 3601", 6, 2, NTM_PROBE_KEY_LIFETIME_MAX + 1);
	c = samples[S_PROBE_KEY].ctl;
	c.u.probe_key.lifetime_s = 0;
	expect_encode(&c, -EINVAL, "probe key lifetime 0");

	ck_assert_uint_eq(samples[S_NC_RELAYS_REQ].len, 2 + 8 + NTM_NC_RELAYS_PAD);
	ck_assert_uint_ge(samples[S_NC_RELAYS_REQ].len, samples[S_NC_RELAYS_FULL].len);
	bad_be(S_NC_RELAYS_REQ, "token 0", 2, 8, 0);
	bad_u8(S_NC_RELAYS_REQ, "padding", 2 + 8 + NTM_NC_RELAYS_PAD - 1, 0, 1);

	ck_assert_uint_eq(samples[S_NC_RELAYS_NONE].len, 2 + 8 + 1);
	bad_be(S_NC_RELAYS_NONE, "token 0", 2, 8, 0);
	bad_u8(S_NC_RELAYS_NONE, "count", 10, 0, 1);
	bad_u8(S_NC_RELAYS_FULL, "count", 10, NTM_NC_RELAYS_MAX, NTM_NC_RELAYS_MAX + 1);
	bad_u8(S_NC_RELAYS_FULL, "count", 10, NTM_NC_RELAYS_MAX, NTM_NC_RELAYS_MAX - 1);
	bad_u8(S_NC_RELAYS_FULL, "kind", e0, 0, 2);
	bad_u8(S_NC_RELAYS_FULL, "name length", e0 + 1, 0, 1);
	bad_u8(S_NC_RELAYS_FULL, "name length", e1 + 1, NTM_NC_RELAY_NAME_MAX, NTM_NC_RELAY_NAME_MAX + 1);
	bad_u8(S_NC_RELAYS_FULL, "name character", e1 + 2 + 5, 'b', ' ');
	bad_u8(S_NC_RELAYS_FULL, "name character", e1 + 2 + 5, 'b', '/');
	bad_u8(S_NC_RELAYS_FULL, "name character", e1 + 2 + 5, 'b', 0);
	bad_endpoint(S_NC_RELAYS_FULL, "endpoint", e0 + 2, 6);
	bad_be(S_NC_RELAYS_FULL, "key id 0", e0 + 2 + 19, 4, 0);
	c = samples[S_NC_RELAYS_FULL].ctl;
	c.u.nc_relays.relay[1].name[4] = '!';
	expect_encode(&c, -EINVAL, "relay name with '!'");
	c = samples[S_NC_RELAYS_FULL].ctl;
	c.u.nc_relays.relay[3].token.key_id = 0;
	expect_encode(&c, -EINVAL, "relay key id 0");
	c = samples[S_NC_RELAYS_FULL].ctl;
	c.u.nc_relays.count = NTM_NC_RELAYS_MAX + 1;
	expect_encode(&c, -EINVAL, "5 relays");
}
END_TEST

START_TEST(test_control_encoder_needs_room_for_the_whole_message)
{
	static uint8_t b[SAMPLE_MAX];

	build_samples();
	for (int i = S_REGISTER; i < S_COUNT; i++) {
		const struct sample *s = &samples[i];
		for (size_t cap = 0; cap < s->len; cap++) {
			int ret = ntm_ctl_encode(&s->ctl, b, cap);
			ck_assert_msg(ret == -EMSGSIZE, "%s into %zu bytes: %d", s->name, cap, ret);
		}
		ck_assert_int_eq(ntm_ctl_encode(&s->ctl, b, s->len), (int)s->len);
	}
}
END_TEST

/* ---- mac1 ---- */

/* mac1 computed here with nettle directly, independently of wire.c. */
static void mac1_reference(uint8_t out[16], const uint8_t *msg, size_t len, const uint8_t pub[32])
{
	struct sha256_ctx h;
	struct hmac_sha256_ctx hm;
	uint8_t key[32], mac[32];

	sha256_init(&h);
	sha256_update(&h, 9, (const uint8_t *)"ntm1-mac1");
	sha256_update(&h, 32, pub);
	sha256_digest(&h, 32, key);
	hmac_sha256_set_key(&hm, 32, key);
	hmac_sha256_update(&hm, len - 16, msg);
	hmac_sha256_digest(&hm, 32, mac);
	memcpy(out, mac, 16);
}

static void mac1_for(int idx)
{
	uint8_t pub[32], other[32], ref[16], m[NTM_HS_INIT_LEN];
	const struct sample *s = &samples[idx];
	/* a HANDSHAKE_INIT's mac1 ends where mac2 begins */
	size_t mlen = idx == S_HS_INIT ? NTM_HS_INIT_MAC2_OFF : samples[idx].len;

	fill(pub, 32, 0xc0);
	memcpy(other, pub, 32);
	other[31] ^= 1;
	memcpy(m, s->buf, mlen);
	ck_assert_int_eq(ntm_mac1_put(m, mlen, pub), 0);
	ck_assert_mem_eq(m, s->buf, mlen - 16);
	mac1_reference(ref, m, mlen, pub);
	ck_assert_mem_eq(m + mlen - 16, ref, 16);
	ck_assert_int_eq(ntm_mac1_check(m, mlen, pub), 0);
	ck_assert_int_eq(ntm_mac1_check(m, mlen, other), -EBADMSG);
	for (size_t bit = 0; bit < mlen * 8; bit++) {
		m[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		ck_assert_msg(ntm_mac1_check(m, mlen, pub) == -EBADMSG,
			      "%s: mac1 accepted with bit %zu flipped", s->name, bit);
		m[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		cnt->invalid++;
	}
	ck_assert_int_eq(ntm_mac1_check(m, mlen, pub), 0);
}

START_TEST(test_mac1_is_keyed_by_the_receiver_and_fails_on_any_flipped_bit)
{
	uint8_t pub[32] = { 0 }, tiny[16] = { 0 };

	build_samples();
	mac1_for(S_HS_INIT);
	mac1_for(S_HS_RESP);
	ck_assert_int_eq(ntm_mac1_put(tiny, sizeof(tiny), pub), -EINVAL);
	ck_assert_int_eq(ntm_mac1_check(tiny, sizeof(tiny), pub), -EINVAL);
}
END_TEST

START_TEST(test_cookie_reply_layout_and_every_bad_field)
{
	uint8_t b[NTM_COOKIE_REPLY_LEN + 1];
	struct ntm_cookie_reply m;

	ck_assert_int_eq(ntm_cookie_reply_header(b, NTM_COOKIE_REPLY_LEN - 1, 9), -EMSGSIZE);
	ck_assert_int_eq(ntm_cookie_reply_header(b, sizeof(b), 0), -EINVAL);
	ck_assert_int_eq(ntm_cookie_reply_header(b, sizeof(b), 0x01020304), NTM_COOKIE_REPLY_LEN);
	fill(b + 8, NTM_COOKIE_REPLY_LEN - 8, 0x55);
	static const uint8_t hdr[8] = { 6, 1, 0, 0, 1, 2, 3, 4 };
	ck_assert_mem_eq(b, hdr, 8);
	ck_assert_int_eq(ntm_cookie_reply_decode(b, NTM_COOKIE_REPLY_LEN, &m), 0);
	ck_assert_uint_eq(m.receiver, 0x01020304);
	ck_assert_ptr_eq(m.nonce, b + 8);
	ck_assert_ptr_eq(m.sealed, b + 32);
	ck_assert_int_lt(ntm_cookie_reply_decode(b, NTM_COOKIE_REPLY_LEN - 1, &m), 0);
	ck_assert_int_lt(ntm_cookie_reply_decode(b, NTM_COOKIE_REPLY_LEN + 1, &m), 0);
	for (int i = 0; i < 8; i++) { /* type, version, reserved, receiver 0 */
		uint8_t t[NTM_COOKIE_REPLY_LEN];
		memcpy(t, b, sizeof(t));
		if (i < 4)
			t[i] ^= 0x10;
		else
			memset(t + 4, 0, 4);
		ck_assert_msg(ntm_cookie_reply_decode(t, sizeof(t), &m) < 0, "field at %d", i);
	}
}
END_TEST

/* ---- names and endpoints ---- */

START_TEST(test_name_set_folds_case_and_drops_one_trailing_dot)
{
	struct ntm_name n;
	char text[300];

	ck_assert_int_eq(ntm_name_set(&n, "Node1.Example.COM."), 0);
	ck_assert_str_eq(n.s, "node1.example.com");
	ck_assert_uint_eq(n.len, 17);
	ck_assert_int_eq(ntm_name_set(&n, "a"), 0);
	ck_assert_uint_eq(n.len, 1);
	ck_assert_int_eq(ntm_name_set(&n, "x-1.Y"), 0);
	ck_assert_str_eq(n.s, "x-1.y");
	static const char *const bad[] = { "", ".", "a..", "..", "a..b", "-a", "a-", "a_b",
					   "a b", "\xc3\x89t\xc3\xa9", ".a" };
	for (size_t i = 0; i < NTM_ARRAY_SIZE(bad); i++)
		ck_assert_msg(ntm_name_set(&n, bad[i]) == -EINVAL, "\"%s\" accepted", bad[i]);
	ck_assert_uint_eq(n.len, 0);
	for (size_t i = 0; i < 254; i++)
		text[i] = (i % 50 == 49) ? '.' : 'B';
	text[253] = '\0';
	ck_assert_int_eq(ntm_name_set(&n, text), 0);
	ck_assert_uint_eq(n.len, 253);
	ck_assert_uint_eq(n.s[0], 'b');
	text[253] = '.';
	text[254] = '\0';
	ck_assert_int_eq(ntm_name_set(&n, text), 0);
	ck_assert_uint_eq(n.len, 253);
	text[253] = 'b';
	ck_assert_int_eq(ntm_name_set(&n, text), -EINVAL);
	memset(text, 'a', sizeof(text) - 1);
	text[sizeof(text) - 1] = '\0';
	ck_assert_int_eq(ntm_name_set(&n, text), -EINVAL);
	make_label(text, 64, 1);
	text[64] = '\0';
	ck_assert_int_eq(ntm_name_set(&n, text), -EINVAL);
	text[63] = '\0';
	ck_assert_int_eq(ntm_name_set(&n, text), 0);
}
END_TEST

START_TEST(test_endpoint_format_writes_v4_and_bracketed_v6_with_the_port)
{
	struct ntm_endpoint ep = { .family = 4, .port = 7541, .addr = { 192, 0, 2, 1 } };
	char buf[64];

	ck_assert_int_eq(ntm_endpoint_format(&ep, buf, sizeof(buf)), 14);
	ck_assert_str_eq(buf, "192.0.2.1:7541");
	ck_assert_int_eq(ntm_endpoint_format(&ep, buf, 14), -ENOSPC);
	ck_assert_int_eq(ntm_endpoint_format(&ep, buf, 15), 14);
	memset(&ep, 0, sizeof(ep));
	ep.family = 6;
	ep.port = 7541;
	ck_assert_int_eq(inet_pton(AF_INET6, "2001:db8::1", ep.addr), 1);
	ck_assert_int_eq(ntm_endpoint_format(&ep, buf, sizeof(buf)), 18);
	ck_assert_str_eq(buf, "[2001:db8::1]:7541");
	ep.port = 0;
	ck_assert_int_eq(ntm_endpoint_format(&ep, buf, sizeof(buf)), -EINVAL);
	ep.port = 1;
	ep.family = 5;
	ck_assert_int_eq(ntm_endpoint_format(&ep, buf, sizeof(buf)), -EINVAL);
}
END_TEST

START_TEST(test_endpoints_convert_to_and_from_sockaddrs)
{
	struct sockaddr_storage ss;
	struct sockaddr_in6 s6 = { .sin6_family = AF_INET6, .sin6_port = htons(7542) };
	struct sockaddr_in s4 = { .sin_family = AF_INET, .sin_port = htons(7540) };
	struct ntm_endpoint ep, back;
	unsigned salen = 0;

	ck_assert_int_eq(inet_pton(AF_INET, "198.51.100.7", &s4.sin_addr), 1);
	ck_assert_int_eq(ntm_endpoint_from_sockaddr(&ep, (struct sockaddr *)&s4), 0);
	ck_assert_uint_eq(ep.family, 4);
	ck_assert_uint_eq(ep.port, 7540);
	ck_assert_mem_eq(ep.addr, &s4.sin_addr, 4);
	ck_assert_int_eq(ntm_endpoint_to_sockaddr(&ep, &ss, &salen), 0);
	ck_assert_uint_eq(salen, sizeof(struct sockaddr_in));
	ck_assert_mem_eq(&ss, &s4, sizeof(s4));

	ck_assert_int_eq(inet_pton(AF_INET6, "2001:db8::42", &s6.sin6_addr), 1);
	ck_assert_int_eq(ntm_endpoint_from_sockaddr(&ep, (struct sockaddr *)&s6), 0);
	ck_assert_uint_eq(ep.family, 6);
	ck_assert_uint_eq(ep.port, 7542);
	ck_assert_int_eq(ntm_endpoint_to_sockaddr(&ep, &ss, &salen), 0);
	ck_assert_uint_eq(salen, sizeof(struct sockaddr_in6));
	ck_assert_int_eq(ntm_endpoint_from_sockaddr(&back, (struct sockaddr *)&ss), 0);
	ep_eq(&ep, &back, "v6 sockaddr round trip");

	/* An IPv4 peer seen on a dual-stack socket is an IPv4 endpoint. */
	ck_assert_int_eq(inet_pton(AF_INET6, "::ffff:192.0.2.9", &s6.sin6_addr), 1);
	ck_assert_int_eq(ntm_endpoint_from_sockaddr(&ep, (struct sockaddr *)&s6), 0);
	ck_assert_uint_eq(ep.family, 4);
	ck_assert_mem_eq(ep.addr, "\xc0\x00\x02\x09", 4);

	s4.sin_port = 0;
	ck_assert_int_eq(ntm_endpoint_from_sockaddr(&ep, (struct sockaddr *)&s4), -EINVAL);
	s4.sin_port = htons(1);
	s4.sin_family = AF_UNIX;
	ck_assert_int_eq(ntm_endpoint_from_sockaddr(&ep, (struct sockaddr *)&s4), -EINVAL);
	ep.family = 5;
	ep.port = 1;
	ck_assert_int_eq(ntm_endpoint_to_sockaddr(&ep, &ss, &salen), -EINVAL);
}
END_TEST

/* ---- seed corpus ---- */

/* With NTM_WIRE_CORPUS=dir, writes every sample to dir/<name>.bin. */
START_TEST(test_the_seed_corpus_is_written_when_asked)
{
	const char *dir = getenv("NTM_WIRE_CORPUS");
	char path[512];

	build_samples();
	if (!dir)
		return;
	for (int i = 0; i < S_COUNT; i++) {
		snprintf(path, sizeof(path), "%s/%s.bin", dir, samples[i].name);
		FILE *f = fopen(path, "wbe");
		ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
		size_t n = fwrite(samples[i].buf, 1, samples[i].len, f);
		ck_assert_msg(fclose(f) == 0, "%s: %s", path, strerror(errno));
		ck_assert_uint_eq(n, samples[i].len);
	}
}
END_TEST

/* ---- suite ---- */

static Suite *wire_suite(void)
{
	Suite *s = suite_create("wire");
	TCase *tc = tcase_create("codec");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_every_control_message_decodes_to_the_struct_it_was_encoded_from);
	tcase_add_test(tc, test_every_outer_message_decodes_to_the_fields_it_was_encoded_from);
	tcase_add_test(tc, test_encodings_match_the_byte_layout_in_the_protocol_document);
	tcase_add_test(tc, test_lanes_rejects_what_no_sender_may_send);
	tcase_add_test(tc, test_every_truncation_of_every_fixed_or_control_message_is_rejected);
	tcase_add_test(tc, test_every_extension_of_every_fixed_or_control_message_is_rejected);
	tcase_add_test(tc, test_data_is_accepted_from_32_bytes_to_the_largest_datagram_and_not_outside);
	tcase_add_test(tc, test_relay_is_accepted_empty_or_with_a_whole_inner_datagram_and_not_between);
	tcase_add_test(tc, test_wire_type_rejects_short_unknown_and_other_version_datagrams);
	tcase_add_test(tc, test_outer_headers_with_a_bad_field_are_rejected);
	tcase_add_test(tc, test_outer_encoders_refuse_what_the_decoders_reject);
	tcase_add_test(tc, test_control_messages_with_a_bad_marker_or_type_are_rejected);
	tcase_add_test(tc, test_register_with_a_bad_field_is_rejected);
	tcase_add_test(tc, test_register_ack_with_a_bad_field_is_rejected);
	tcase_add_test(tc, test_keepalive_and_its_ack_with_a_bad_field_are_rejected);
	tcase_add_test(tc, test_direction_req_with_a_bad_field_is_rejected);
	tcase_add_test(tc, test_route_direction_with_a_bad_field_is_rejected);
	tcase_add_test(tc, test_small_control_messages_with_a_bad_field_are_rejected);
	tcase_add_test(tc, test_control_encoder_refuses_structs_the_decoder_would_reject);
	tcase_add_test(tc, test_control_encoder_needs_room_for_the_whole_message);
	tcase_add_test(tc, test_mac1_is_keyed_by_the_receiver_and_fails_on_any_flipped_bit);
	tcase_add_test(tc, test_cookie_reply_layout_and_every_bad_field);
	tcase_add_test(tc, test_name_set_folds_case_and_drops_one_trailing_dot);
	tcase_add_test(tc, test_endpoint_format_writes_v4_and_bracketed_v6_with_the_port);
	tcase_add_test(tc, test_endpoints_convert_to_and_from_sockaddrs);
	tcase_add_test(tc, test_the_seed_corpus_is_written_when_asked);
	tcase_add_test(tc, test_netcheck_messages_check_token_padding_and_alt_flag);
	tcase_add_test(tc, test_relay_probe_messages_check_every_field);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	cnt = mmap(NULL, sizeof(*cnt), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (cnt == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	SRunner *sr = srunner_create(wire_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	printf("wire: %lu messages, %lu truncations and %lu oversized/invalid variants rejected\n",
	       cnt->messages, cnt->truncations, cnt->invalid);
	munmap(cnt, sizeof(*cnt));
	return failed ? 1 : 0;
}
