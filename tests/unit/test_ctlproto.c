/* test_ctlproto.c - the local control-socket codec (doc/control.md). */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctlproto.h"
#include "util.h"

/* ---- fixtures ---- */

enum kind { K_REQ, K_EMPTY, K_RESOLVE, K_STATUS, K_PEERS, K_PING, K_STATS };

struct sample {
	const char *label;
	enum kind kind;
	uint8_t reply_type;            /* K_EMPTY only */
	uint8_t buf[NTM_LCTL_MSG_MAX];
	size_t len;
};

static const uint8_t v4a[4] = { 100, 80, 0, 7 };
static const uint8_t v6a[16] = { 0xfd, 0x12, 0x34, 0x56, 0x78, 0x9a, 0, 1, 0, 0, 0, 0, 0, 0, 0, 7 };

static void fill_resolve(struct ntm_lctl_resolve *m, unsigned n)
{
	memset(m, 0, sizeof(*m));
	strcpy(m->name, "bob.ntm.example.org");
	m->ttl = 5;
	m->n_addrs = n;
	for (unsigned i = 0; i < n; i++) {
		m->addrs[i].family = i % 2 ? 6 : 4;
		memcpy(m->addrs[i].addr, i % 2 ? v6a : v4a, i % 2 ? 16 : 4);
		m->addrs[i].addr[3] = (uint8_t)i;
	}
}

static void fill_status(struct ntm_lctl_status_info *m, bool full)
{
	memset(m, 0, sizeof(*m));
	strcpy(m->name, "alice.ntm.example.org");
	strcpy(m->dc, "dc.example.org:7540");
	m->dc_state = full ? NTM_LCTL_DC_REGISTERED : NTM_LCTL_DC_CONNECTING;
	if (!full)
		return;
	m->vip4 = (struct ntm_lctl_vip){ .present = true, .plen = 16 };
	memcpy(m->vip4.addr, v4a, 4);
	m->vip6 = (struct ntm_lctl_vip){ .present = true, .plen = 48 };
	memcpy(m->vip6.addr, v6a, 16);
	m->has_dc_endpoint = true;
	m->dc_endpoint = (struct ntm_lctl_endpoint){ .family = 6, .port = 7540 };
	memcpy(m->dc_endpoint.addr, v6a, 16);
	m->has_observed = true;
	m->observed = (struct ntm_lctl_endpoint){ .family = 4, .port = 40000 };
	memcpy(m->observed.addr, v4a, 4);
	m->has_ack_age = true;
	m->ack_age = 12;
	m->n_underlay = 2;
	m->underlay[0] = (struct ntm_lctl_addr){ .family = 4 };
	memcpy(m->underlay[0].addr, v4a, 4);
	m->underlay[1] = (struct ntm_lctl_addr){ .family = 6 };
	memcpy(m->underlay[1].addr, v6a, 16);
	m->has_underlay_age = true;
	m->underlay_age = 3;
	m->n_dc_instances = 2;
	snprintf(m->dc_instances[0], sizeof(m->dc_instances[0]), "192.0.2.1:7540,[2001:db8::1]:7540");
	snprintf(m->dc_instances[1], sizeof(m->dc_instances[1]), "dc2.example.org:7540");
	m->dc_in_use = 2;
	m->n_zones = NTM_LCTL_MAX_ZONES;
	for (unsigned i = 0; i < m->n_zones; i++)
		snprintf(m->zones[i], sizeof(m->zones[i]), "z%u.example.org", i);
	strcpy(m->dc_info, "DC refused: our clock is 3600 s behind the last handshake it "
	       "accepted from us; fix the clock (timedatectl)");
	/* the longest hint there is */
	memset(m->dc_hint, 'h', NTM_LCTL_HINT_SIZE - 1);
	m->dc_hint[NTM_LCTL_HINT_SIZE - 1] = '\0';
}

static void fill_peer(struct ntm_lctl_peer *p, unsigned i, bool full)
{
	memset(p, 0, sizeof(*p));
	snprintf(p->name, sizeof(p->name), "peer%u.ntm.example.org", i);
	p->rx_bytes = 1000000000000ull + i;
	p->tx_bytes = 42 + i;
	p->path = full ? NTM_LCTL_PATH_DIRECT : NTM_LCTL_PATH_PENDING;
	if (!full)
		return;
	p->vip4 = (struct ntm_lctl_vip){ .present = true, .plen = 32 };
	memcpy(p->vip4.addr, v4a, 4);
	p->vip6 = (struct ntm_lctl_vip){ .present = true, .plen = 128 };
	memcpy(p->vip6.addr, v6a, 16);
	p->has_endpoint = true;
	p->endpoint = (struct ntm_lctl_endpoint){ .family = 4, .port = 7541 };
	memcpy(p->endpoint.addr, v4a, 4);
	p->has_hs_age = true;
	/* the longest path text (127 bytes), with spaces and quotes */
	int k = snprintf(p->path_info, sizeof(p->path_info), "relay via 203.0.113.1:7542: \"no\" %u ", i);
	memset(p->path_info + k, 'x', NTM_LCTL_INFO_SIZE - 1 - (size_t)k);
	p->path_info[NTM_LCTL_INFO_SIZE - 1] = '\0';
	p->hs_age = 3;
	p->has_moved_age = true;
	p->moved_age = 7 + i;
	memset(p->moved_why, 'm', NTM_LCTL_INFO_SIZE - 1);
	p->lanes_ours = NTM_LCTL_LANES_MAX;
	p->lanes_peer = (uint8_t)(i % (NTM_LCTL_LANES_MAX + 1));
}

static void fill_peers(struct ntm_lctl_peers *m, unsigned n)
{
	memset(m, 0, sizeof(*m));
	m->total = n + 10;
	m->n_peers = n;
	for (unsigned i = 0; i < n; i++)
		fill_peer(&m->peers[i], i, i % 2 == 0);
}

/* n counters named c<i>_rx... with value i * 1000 + 1; the last one UINT64_MAX. */
static void fill_stats(struct ntm_lctl_stats *m, unsigned n)
{
	memset(m, 0, sizeof(*m));
	m->n = n;
	for (unsigned i = 0; i < n; i++) {
		snprintf(m->c[i].name, sizeof(m->c[i].name), "c%u_rx_packets", i);
		m->c[i].value = i + 1 == n ? UINT64_MAX : (uint64_t)i * 1000 + 1;
	}
}

static const struct ntm_lctl_ping_result ping_fixture = {
	.sent = 4, .received = 3, .rtt_min_us = 100, .rtt_avg_us = 150, .rtt_max_us = 300,
	.n_echoes = 2,
	.echoes = {
		{ .seq = 0, .path = NTM_LCTL_PATH_DIRECT, .rtt_us = 100,
		  .from = { .family = 4, .port = 7541, .addr = { 192, 0, 2, 7 } } },
		{ .seq = 3, .path = NTM_LCTL_PATH_RELAY, .rtt_us = 300,
		  .from = { .family = 6, .port = 7542, .addr = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 } } },
	},
};

#define N_SAMPLES 29
static struct sample samples[N_SAMPLES];
static size_t n_samples;

static void add(const char *label, enum kind k, uint8_t reply_type, int len)
{
	ck_assert_msg(len > 0, "%s: encoder returned %d", label, len);
	ck_assert(n_samples < N_SAMPLES);
	samples[n_samples].label = label;
	samples[n_samples].kind = k;
	samples[n_samples].reply_type = reply_type;
	samples[n_samples].len = (size_t)len;
	n_samples++;
}

#define NEXT (samples[n_samples].buf), sizeof(samples[n_samples].buf)

/* One sample of every request and every reply. */
static void build_samples(void)
{
	struct ntm_lctl_resolve res;
	struct ntm_lctl_status_info st;
	static struct ntm_lctl_peers peers;
	static struct ntm_lctl_stats stats;

	n_samples = 0;
	add("STATUS", K_REQ, 0, ntm_lctl_req_status(NEXT, 1));
	add("RESOLVE_NAME", K_REQ, 0,
	    ntm_lctl_req_resolve_name(NEXT, 2, "bob.ntm.example.org", NTM_LCTL_FAM_BOTH, 800));
	add("RESOLVE_NAME without wait", K_REQ, 0,
	    ntm_lctl_req_resolve_name(NEXT, 3, "bob.ntm.example.org", NTM_LCTL_FAM_V6,
				      NTM_LCTL_WAIT_DEFAULT));
	add("RESOLVE_ADDR v4", K_REQ, 0, ntm_lctl_req_resolve_addr(NEXT, 4, 4, v4a));
	add("RESOLVE_ADDR v6", K_REQ, 0, ntm_lctl_req_resolve_addr(NEXT, 5, 6, v6a));
	add("PEERS", K_REQ, 0, ntm_lctl_req_peers(NEXT, 6, 0));
	add("PEERS from 64", K_REQ, 0, ntm_lctl_req_peers(NEXT, 7, 64));
	add("PING", K_REQ, 0, ntm_lctl_req_ping(NEXT, 8, "bob.ntm.example.org", 4));
	add("REREGISTER", K_REQ, 0, ntm_lctl_req_reregister(NEXT, 9));
	add("DOWN", K_REQ, 0, ntm_lctl_req_down(NEXT, 12, "bob.ntm.example.org"));
	add("STATS", K_REQ, 0, ntm_lctl_req_stats(NEXT, 10));
	add("RELOAD", K_REQ, 0, ntm_lctl_req_reload(NEXT, 11));

	fill_resolve(&res, 2);
	add("RESOLVE_NAME reply", K_RESOLVE, 0,
	    ntm_lctl_reply_resolve(NEXT, NTM_LCTL_RESOLVE_NAME, 2, &res));
	fill_resolve(&res, 0);
	add("RESOLVE_ADDR reply", K_RESOLVE, 0,
	    ntm_lctl_reply_resolve(NEXT, NTM_LCTL_RESOLVE_ADDR, 4, &res));
	add("RESOLVE_NAME NOTFOUND", K_RESOLVE, 0,
	    ntm_lctl_reply_empty(NEXT, NTM_LCTL_RESOLVE_NAME, 2, NTM_LCTL_NOTFOUND));
	fill_status(&st, true);
	add("STATUS reply", K_STATUS, 0, ntm_lctl_reply_status(NEXT, 1, &st));
	fill_status(&st, false);
	add("STATUS reply, not registered", K_STATUS, 0, ntm_lctl_reply_status(NEXT, 1, &st));
	fill_peers(&peers, 3);
	add("PEERS reply", K_PEERS, 0, ntm_lctl_reply_peers(NEXT, 6, &peers));
	fill_peers(&peers, 0);
	add("PEERS reply, empty", K_PEERS, 0, ntm_lctl_reply_peers(NEXT, 6, &peers));
	add("PING reply", K_PING, 0, ntm_lctl_reply_ping(NEXT, 8, &ping_fixture));
	fill_stats(&stats, 3);
	add("STATS reply", K_STATS, 0, ntm_lctl_reply_stats(NEXT, 10, &stats));
	fill_stats(&stats, 0);
	add("STATS reply, empty", K_STATS, 0, ntm_lctl_reply_stats(NEXT, 10, &stats));
	fill_stats(&stats, NTM_LCTL_MAX_COUNTERS);
	add("STATS reply, 64 counters", K_STATS, 0, ntm_lctl_reply_stats(NEXT, 10, &stats));
	add("STATS INTERNAL", K_STATS, 0,
	    ntm_lctl_reply_empty(NEXT, NTM_LCTL_STATS, 10, NTM_LCTL_INTERNAL));
	add("REREGISTER reply", K_EMPTY, NTM_LCTL_REREGISTER_REPLY,
	    ntm_lctl_reply_empty(NEXT, NTM_LCTL_REREGISTER, 9, NTM_LCTL_OK));
	add("REREGISTER DENIED", K_EMPTY, NTM_LCTL_REREGISTER_REPLY,
	    ntm_lctl_reply_empty(NEXT, NTM_LCTL_REREGISTER, 9, NTM_LCTL_DENIED));
	add("DOWN reply", K_EMPTY, NTM_LCTL_DOWN_REPLY,
	    ntm_lctl_reply_empty(NEXT, NTM_LCTL_DOWN, 12, NTM_LCTL_OK));
	add("DOWN NOTFOUND", K_EMPTY, NTM_LCTL_DOWN_REPLY,
	    ntm_lctl_reply_empty(NEXT, NTM_LCTL_DOWN, 12, NTM_LCTL_NOTFOUND));
	add("RELOAD reply", K_EMPTY, NTM_LCTL_RELOAD_REPLY,
	    ntm_lctl_reply_empty(NEXT, NTM_LCTL_RELOAD, 11, NTM_LCTL_OK));
}

/* Decodes msg with the decoder for kind k (large outputs on the heap). */
static int decode_kind(enum kind k, uint8_t reply_type, const void *msg, size_t len)
{
	struct ntm_lctl_hdr h;
	int ret = -1;

	switch (k) {
	case K_REQ: {
		struct ntm_lctl_req q;
		return ntm_lctl_req_decode(msg, len, &q);
	}
	case K_EMPTY:
		return ntm_lctl_decode_empty(msg, len, reply_type, &h);
	case K_RESOLVE: {
		struct ntm_lctl_resolve m;
		return ntm_lctl_decode_resolve(msg, len, &h, &m);
	}
	case K_STATUS: {
		struct ntm_lctl_status_info *m = malloc(sizeof(*m));
		ret = ntm_lctl_decode_status(msg, len, &h, m);
		free(m);
		return ret;
	}
	case K_PEERS: {
		struct ntm_lctl_peers *m = malloc(sizeof(*m));
		ret = ntm_lctl_decode_peers(msg, len, &h, m);
		free(m);
		return ret;
	}
	case K_PING: {
		struct ntm_lctl_ping_result m;
		return ntm_lctl_decode_ping(msg, len, &h, &m);
	}
	case K_STATS: {
		struct ntm_lctl_stats *m = malloc(sizeof(*m));
		ret = ntm_lctl_decode_stats(msg, len, &h, m);
		free(m);
		return ret;
	}
	}
	return ret;
}

/* Decodes a heap copy of exactly len bytes, so valgrind and ASan see overreads. */
static int decode_exact(const struct sample *s, const uint8_t *bytes, size_t len)
{
	uint8_t *copy = malloc(len ? len : 1);
	ck_assert_ptr_nonnull(copy);
	memcpy(copy, bytes, len);
	int ret = decode_kind(s->kind, s->reply_type, copy, len);
	free(copy);
	return ret;
}

/* ---- a hand builder for messages the encoders refuse to write ---- */

struct hand {
	uint8_t b[NTM_LCTL_MSG_MAX + 16];
	size_t n;
};

static void hand_hdr(struct hand *m, uint8_t version, uint8_t type, uint16_t status)
{
	memset(m, 0, sizeof(*m));
	m->b[0] = version;
	m->b[1] = type;
	ntm_put_be16(m->b + 2, status);
	ntm_put_be32(m->b + 4, 77);
	m->n = NTM_LCTL_HDR_LEN;
}

static void hand_attr(struct hand *m, uint16_t type, const void *v, size_t len)
{
	ntm_put_be16(m->b + m->n, type);
	ntm_put_be16(m->b + m->n + 2, (uint16_t)len);
	memcpy(m->b + m->n + 4, v, len);
	m->n += 4 + len;
	ntm_put_be32(m->b + 8, (uint32_t)(m->n - NTM_LCTL_HDR_LEN));
}

static void hand_u8(struct hand *m, uint16_t type, uint8_t v) { hand_attr(m, type, &v, 1); }

static void hand_u32(struct hand *m, uint16_t type, uint32_t v)
{
	uint8_t b[4];
	ntm_put_be32(b, v);
	hand_attr(m, type, b, 4);
}

static void hand_text(struct hand *m, uint16_t type, const char *s)
{
	hand_attr(m, type, s, strlen(s));
}

static void hand_addr(struct hand *m, uint8_t family, size_t n)
{
	uint8_t b[1 + 32] = { family };
	memcpy(b + 1, v6a, n > 16 ? 16 : n);
	hand_attr(m, NTM_LCTL_A_ADDR, b, 1 + n);
}

/* A RESOLVE_NAME request with name attribute bytes n of length len. */
static int resolve_req_with_name(const void *name, size_t len)
{
	static struct hand m;
	struct ntm_lctl_req q;
	hand_hdr(&m, 1, NTM_LCTL_RESOLVE_NAME, 0);
	hand_attr(&m, NTM_LCTL_A_NAME, name, len);
	hand_u8(&m, NTM_LCTL_A_FAMILIES, NTM_LCTL_FAM_BOTH);
	return ntm_lctl_req_decode(m.b, m.n, &q);
}

/* A RESOLVE_NAME reply header with name and TTL; the caller adds addresses. */
static void resolve_reply_start(struct hand *m)
{
	hand_hdr(m, 1, NTM_LCTL_RESOLVE_NAME_REPLY, NTM_LCTL_OK);
	hand_text(m, NTM_LCTL_A_NAME, "bob.ntm.example.org");
	hand_u32(m, NTM_LCTL_A_TTL, 5);
}

static int decode_resolve(const struct hand *m, struct ntm_lctl_resolve *r)
{
	struct ntm_lctl_hdr h;
	return ntm_lctl_decode_resolve(m->b, m->n, &h, r);
}

/* ---- round trips ---- */

/* Decoding then re-encoding gives the same bytes (for every sample). */
START_TEST(test_every_request_and_reply_survives_a_round_trip)
{
	build_samples();
	for (size_t i = 0; i < n_samples; i++) {
		const struct sample *s = &samples[i];
		ck_assert_msg(decode_exact(s, s->buf, s->len) == 0, "%s does not decode", s->label);
	}
}
END_TEST

START_TEST(test_a_resolve_name_request_keeps_every_field)
{
	uint8_t buf[512];
	struct ntm_lctl_req q;
	int n = ntm_lctl_req_resolve_name(buf, sizeof(buf), 0xdeadbeef, "bob.ntm.example.org",
					  NTM_LCTL_FAM_V4, 1500);
	ck_assert_int_gt(n, 0);
	ck_assert_int_eq(ntm_lctl_req_decode(buf, (size_t)n, &q), 0);
	ck_assert_uint_eq(q.hdr.type, NTM_LCTL_RESOLVE_NAME);
	ck_assert_uint_eq(q.hdr.req_id, 0xdeadbeef);
	ck_assert_str_eq(q.name, "bob.ntm.example.org");
	ck_assert_uint_eq(q.families, NTM_LCTL_FAM_V4);
	ck_assert(q.has_wait_ms);
	ck_assert_uint_eq(q.wait_ms, 1500);

	n = ntm_lctl_req_resolve_name(buf, sizeof(buf), 1, "a", NTM_LCTL_FAM_BOTH,
				      NTM_LCTL_WAIT_DEFAULT);
	ck_assert_int_eq(ntm_lctl_req_decode(buf, (size_t)n, &q), 0);
	ck_assert(!q.has_wait_ms);
	ck_assert_uint_eq(q.families, NTM_LCTL_FAM_BOTH);
}
END_TEST

START_TEST(test_resolve_addr_ping_and_peers_requests_keep_every_field)
{
	uint8_t buf[512];
	struct ntm_lctl_req q;
	int n = ntm_lctl_req_resolve_addr(buf, sizeof(buf), 3, 6, v6a);
	ck_assert_int_eq(ntm_lctl_req_decode(buf, (size_t)n, &q), 0);
	ck_assert_uint_eq(q.addr.family, 6);
	ck_assert_mem_eq(q.addr.addr, v6a, 16);

	n = ntm_lctl_req_ping(buf, sizeof(buf), 4, "carol.ntm.example.org", 100);
	ck_assert_int_eq(ntm_lctl_req_decode(buf, (size_t)n, &q), 0);
	ck_assert_uint_eq(q.hdr.type, NTM_LCTL_PING);
	ck_assert_str_eq(q.name, "carol.ntm.example.org");
	ck_assert_uint_eq(q.count, 100);

	n = ntm_lctl_req_peers(buf, sizeof(buf), 5, 128);
	ck_assert_int_eq(ntm_lctl_req_decode(buf, (size_t)n, &q), 0);
	ck_assert_uint_eq(q.hdr.type, NTM_LCTL_PEERS);
	ck_assert_uint_eq(q.offset, 128);

	n = ntm_lctl_req_reregister(buf, sizeof(buf), 6);
	ck_assert_int_eq(n, NTM_LCTL_HDR_LEN);
	ck_assert_int_eq(ntm_lctl_req_decode(buf, (size_t)n, &q), 0);
	ck_assert(ntm_lctl_type_is_privileged(q.hdr.type));
}
END_TEST

START_TEST(test_a_resolve_reply_keeps_name_ttl_and_addresses)
{
	uint8_t buf[NTM_LCTL_RESOLVE_MSG_MAX], again[NTM_LCTL_RESOLVE_MSG_MAX];
	struct ntm_lctl_resolve in, out;
	struct ntm_lctl_hdr h;
	fill_resolve(&in, 5);
	int n = ntm_lctl_reply_resolve(buf, sizeof(buf), NTM_LCTL_RESOLVE_NAME, 99, &in);
	ck_assert_int_gt(n, 0);
	ck_assert_int_eq(ntm_lctl_decode_resolve(buf, (size_t)n, &h, &out), 0);
	ck_assert_uint_eq(h.type, NTM_LCTL_RESOLVE_NAME_REPLY);
	ck_assert_uint_eq(h.status, NTM_LCTL_OK);
	ck_assert_uint_eq(h.req_id, 99);
	ck_assert_str_eq(out.name, in.name);
	ck_assert_uint_eq(out.ttl, 5);
	ck_assert_uint_eq(out.n_addrs, 5);
	for (unsigned i = 0; i < 5; i++) {
		ck_assert_uint_eq(out.addrs[i].family, in.addrs[i].family);
		ck_assert_mem_eq(out.addrs[i].addr, in.addrs[i].addr, 16);
	}
	int n2 = ntm_lctl_reply_resolve(again, sizeof(again), NTM_LCTL_RESOLVE_NAME, 99, &out);
	ck_assert_int_eq(n2, n);
	ck_assert_mem_eq(again, buf, (size_t)n);
}
END_TEST

START_TEST(test_a_status_reply_keeps_every_field)
{
	uint8_t buf[4096], again[4096];
	struct ntm_lctl_status_info in, out;
	struct ntm_lctl_hdr h;
	fill_status(&in, true);
	int n = ntm_lctl_reply_status(buf, sizeof(buf), 1, &in);
	ck_assert_int_gt(n, 0);
	ck_assert_int_eq(ntm_lctl_decode_status(buf, (size_t)n, &h, &out), 0);
	ck_assert_str_eq(out.name, in.name);
	ck_assert_str_eq(out.dc, in.dc);
	ck_assert(out.vip4.present);
	ck_assert_uint_eq(out.vip4.plen, 16);
	ck_assert_mem_eq(out.vip4.addr, v4a, 4);
	ck_assert(out.vip6.present);
	ck_assert_uint_eq(out.vip6.plen, 48);
	ck_assert_mem_eq(out.vip6.addr, v6a, 16);
	ck_assert(out.has_dc_endpoint);
	ck_assert_uint_eq(out.dc_endpoint.port, 7540);
	ck_assert_uint_eq(out.dc_state, NTM_LCTL_DC_REGISTERED);
	ck_assert(out.has_observed);
	ck_assert_uint_eq(out.observed.family, 4);
	ck_assert_uint_eq(out.observed.port, 40000);
	ck_assert(out.has_ack_age);
	ck_assert_uint_eq(out.ack_age, 12);
	ck_assert_uint_eq(out.n_underlay, 2);
	ck_assert_uint_eq(out.underlay[0].family, 4);
	ck_assert_mem_eq(out.underlay[0].addr, v4a, 4);
	ck_assert_uint_eq(out.underlay[1].family, 6);
	ck_assert_mem_eq(out.underlay[1].addr, v6a, 16);
	ck_assert(out.has_underlay_age);
	ck_assert_uint_eq(out.underlay_age, 3);
	/* optional: a ntmctl from before them skips them */
	ck_assert(NTM_LCTL_A_UNDERLAY & NTM_LCTL_ATTR_OPTIONAL);
	ck_assert(NTM_LCTL_A_UNDERLAY_AGE & NTM_LCTL_ATTR_OPTIONAL);
	ck_assert_uint_eq(out.n_zones, NTM_LCTL_MAX_ZONES);
	ck_assert_str_eq(out.zones[7], "z7.example.org");
	ck_assert_str_eq(out.dc_info, in.dc_info);
	ck_assert_str_eq(out.dc_hint, in.dc_hint);
	ck_assert(NTM_LCTL_A_DC_HINT & NTM_LCTL_ATTR_OPTIONAL);
	ck_assert_uint_eq(out.n_dc_instances, 2);
	ck_assert_str_eq(out.dc_instances[0], "192.0.2.1:7540,[2001:db8::1]:7540");
	ck_assert_str_eq(out.dc_instances[1], "dc2.example.org:7540");
	ck_assert_uint_eq(out.dc_in_use, 2);
	ck_assert(NTM_LCTL_A_DC_INSTANCE & NTM_LCTL_ATTR_OPTIONAL);
	ck_assert(NTM_LCTL_A_DC_IN_USE & NTM_LCTL_ATTR_OPTIONAL);
	/* the instance in use is one of those listed */
	out.dc_in_use = 3;
	ck_assert_int_eq(ntm_lctl_reply_status(again, sizeof(again), 1, &out), -EINVAL);
	out.dc_in_use = 2;
	ck_assert_int_eq(ntm_lctl_reply_status(again, sizeof(again), 1, &out), n);
	ck_assert_mem_eq(again, buf, (size_t)n);

	fill_status(&in, false);
	n = ntm_lctl_reply_status(buf, sizeof(buf), 1, &in);
	ck_assert_int_eq(ntm_lctl_decode_status(buf, (size_t)n, &h, &out), 0);
	ck_assert(!out.vip4.present);
	ck_assert(!out.has_observed);
	ck_assert(!out.has_ack_age);
	ck_assert_uint_eq(out.n_underlay, 0);
	ck_assert(!out.has_underlay_age);
	ck_assert_uint_eq(out.n_zones, 0);
	ck_assert_uint_eq(out.dc_state, NTM_LCTL_DC_CONNECTING);
}
END_TEST

START_TEST(test_path_info_with_a_control_byte_is_refused_both_ways)
{
	static uint8_t buf[NTM_LCTL_MSG_MAX];
	static struct ntm_lctl_peers in, out;
	struct ntm_lctl_hdr h;

	fill_peers(&in, 1);
	fill_peer(&in.peers[0], 0, true);
	int n = ntm_lctl_reply_peers(buf, sizeof(buf), 6, &in);
	ck_assert_int_gt(n, 0);
	/* the encoder refuses a tab; a decoder refuses one spliced into a valid reply */
	in.peers[0].path_info[3] = '\t';
	ck_assert_int_eq(ntm_lctl_reply_peers(buf + 4096, sizeof(buf) - 4096, 6, &in), -EINVAL);
	uint8_t *r = memmem(buf, (size_t)n, "relay via", 9);
	ck_assert_ptr_nonnull(r);
	ck_assert_int_eq(ntm_lctl_decode_peers(buf, (size_t)n, &h, &out), 0);
	r[3] = 0x7f;
	ck_assert_int_lt(ntm_lctl_decode_peers(buf, (size_t)n, &h, &out), 0);
}
END_TEST

START_TEST(test_a_full_peers_reply_of_64_peers_keeps_every_record)
{
	static uint8_t buf[NTM_LCTL_MSG_MAX], again[NTM_LCTL_MSG_MAX];
	static struct ntm_lctl_peers in, out;
	struct ntm_lctl_hdr h;
	fill_peers(&in, NTM_LCTL_MAX_PEERS);
	int n = ntm_lctl_reply_peers(buf, sizeof(buf), 6, &in);
	ck_assert_int_gt(n, 0);
	ck_assert_int_eq(ntm_lctl_decode_peers(buf, (size_t)n, &h, &out), 0);
	ck_assert_uint_eq(out.total, NTM_LCTL_MAX_PEERS + 10);
	ck_assert_uint_eq(out.n_peers, NTM_LCTL_MAX_PEERS);
	const struct ntm_lctl_peer *p = &out.peers[62];
	ck_assert_str_eq(p->name, "peer62.ntm.example.org");
	ck_assert_uint_eq(p->rx_bytes, 1000000000062ull);
	ck_assert_uint_eq(p->tx_bytes, 104);
	ck_assert_uint_eq(p->path, NTM_LCTL_PATH_DIRECT);
	ck_assert(p->has_endpoint);
	ck_assert_uint_eq(p->endpoint.port, 7541);
	ck_assert(p->has_hs_age);
	ck_assert_uint_eq(p->vip6.plen, 128);
	ck_assert_uint_eq(strlen(p->path_info), NTM_LCTL_INFO_SIZE - 1);
	ck_assert_str_eq(p->path_info, in.peers[62].path_info);
	ck_assert(p->has_moved_age);
	ck_assert_uint_eq(p->moved_age, 69);
	ck_assert_str_eq(p->moved_why, in.peers[62].moved_why);
	ck_assert(!out.peers[63].has_moved_age);
	ck_assert_str_eq(out.peers[63].moved_why, "");
	ck_assert_uint_eq(p->lanes_ours, NTM_LCTL_LANES_MAX);
	ck_assert_uint_eq(p->lanes_peer, 62 % (NTM_LCTL_LANES_MAX + 1));
	ck_assert_uint_eq(out.peers[63].lanes_ours, 0);
	ck_assert_uint_eq(out.peers[63].lanes_peer, 0);
	/* more lanes than a node may have are neither sent nor taken */
	static struct ntm_lctl_peers bad;
	bad = in;
	bad.peers[3].lanes_peer = NTM_LCTL_LANES_MAX + 1;
	ck_assert_int_lt(ntm_lctl_reply_peers(again, sizeof(again), 6, &bad), 0);
	/* (the encoder refuses it, so patch a good reply: peer 0's LANES value) */
	static uint8_t patched[NTM_LCTL_MSG_MAX];
	bool found = false;
	memcpy(patched, buf, (size_t)n);
	for (int i = 0; i + 6 <= n && !found; i++) {
		if (ntm_get_be16(patched + i) == NTM_LCTL_A_LANES && ntm_get_be16(patched + i + 2) == 2 &&
		    ntm_get_be16(patched + i + 4) == (NTM_LCTL_LANES_MAX << 8 | 0)) {
			ntm_put_be16(patched + i + 4, (NTM_LCTL_LANES_MAX + 1) << 8);
			ck_assert_int_eq(ntm_lctl_decode_peers(patched, (size_t)n, &h, &bad), -EBADMSG);
			ntm_put_be16(patched + i + 4, 0);
			ck_assert_int_eq(ntm_lctl_decode_peers(patched, (size_t)n, &h, &bad), -EBADMSG);
			found = true;
		}
	}
	ck_assert_msg(found, "no LANES attribute of peer 0 in the reply");
	ck_assert(!out.peers[63].has_endpoint);
	ck_assert(!out.peers[63].vip4.present);
	ck_assert_uint_eq(out.peers[63].path, NTM_LCTL_PATH_PENDING);
	ck_assert_str_eq(out.peers[63].path_info, "");
	ck_assert_int_eq(ntm_lctl_reply_peers(again, sizeof(again), 6, &out), n);
	ck_assert_mem_eq(again, buf, (size_t)n);
}
END_TEST

START_TEST(test_a_ping_reply_and_empty_replies_keep_their_fields)
{
	uint8_t buf[256];
	static struct ntm_lctl_ping_result out;
	struct ntm_lctl_hdr h;
	int n = ntm_lctl_reply_ping(buf, sizeof(buf), 8, &ping_fixture);
	ck_assert_int_eq(ntm_lctl_decode_ping(buf, (size_t)n, &h, &out), 0);
	ck_assert_uint_eq(out.sent, 4);
	ck_assert_uint_eq(out.received, 3);
	ck_assert_uint_eq(out.rtt_min_us, 100);
	ck_assert_uint_eq(out.rtt_avg_us, 150);
	ck_assert_uint_eq(out.rtt_max_us, 300);
	ck_assert_uint_eq(out.n_echoes, 2);
	ck_assert_mem_eq(&out.echoes[0], &ping_fixture.echoes[0], sizeof(out.echoes[0]));
	ck_assert_uint_eq(out.echoes[1].seq, 3);
	ck_assert_uint_eq(out.echoes[1].path, NTM_LCTL_PATH_RELAY);
	ck_assert_uint_eq(out.echoes[1].rtt_us, 300);
	ck_assert_mem_eq(&out.echoes[1].from, &ping_fixture.echoes[1].from,
			 sizeof(out.echoes[1].from));

	n = ntm_lctl_reply_empty(buf, sizeof(buf), NTM_LCTL_PING, 8, NTM_LCTL_TRYAGAIN);
	ck_assert_int_eq(ntm_lctl_decode_ping(buf, (size_t)n, &h, &out), 0);
	ck_assert_uint_eq(h.status, NTM_LCTL_TRYAGAIN);
	ck_assert_uint_eq(out.sent, 0);

	n = ntm_lctl_reply_empty(buf, sizeof(buf), NTM_LCTL_REREGISTER, 9, NTM_LCTL_DENIED);
	ck_assert_int_eq(ntm_lctl_decode_empty(buf, (size_t)n, NTM_LCTL_REREGISTER_REPLY, &h), 0);
	ck_assert_uint_eq(h.status, NTM_LCTL_DENIED);
	ck_assert_uint_eq(h.req_id, 9);
}
END_TEST

START_TEST(test_a_non_ok_resolve_reply_decodes_with_its_status_and_no_data)
{
	uint8_t buf[64];
	struct ntm_lctl_resolve out;
	struct ntm_lctl_hdr h;
	static const uint16_t st[] = { NTM_LCTL_NOTFOUND, NTM_LCTL_NODATA, NTM_LCTL_TRYAGAIN,
				       NTM_LCTL_BADREQ, NTM_LCTL_INTERNAL };
	for (size_t i = 0; i < NTM_ARRAY_SIZE(st); i++) {
		int n = ntm_lctl_reply_empty(buf, sizeof(buf), NTM_LCTL_RESOLVE_NAME, 2, st[i]);
		ck_assert_int_eq(n, NTM_LCTL_HDR_LEN);
		ck_assert_int_eq(ntm_lctl_decode_resolve(buf, (size_t)n, &h, &out), 0);
		ck_assert_uint_eq(h.status, st[i]);
		ck_assert_uint_eq(out.n_addrs, 0);
		ck_assert_str_eq(out.name, "");
	}
}
END_TEST

/* ---- truncation ---- */

START_TEST(test_every_truncation_of_every_message_is_rejected)
{
	build_samples();
	for (size_t i = 0; i < n_samples; i++) {
		const struct sample *s = &samples[i];
		for (size_t cut = 0; cut < s->len; cut++)
			ck_assert_msg(decode_exact(s, s->buf, cut) < 0,
				      "%s cut to %zu of %zu bytes was accepted", s->label, cut, s->len);
	}
}
END_TEST

/* Offsets (from the body start) where a top-level attribute ends. */
static bool at_attr_boundary(const struct sample *s, size_t cut)
{
	size_t off = 0, body = s->len - NTM_LCTL_HDR_LEN;
	const uint8_t *b = s->buf + NTM_LCTL_HDR_LEN;
	while (off < body) {
		if (off == cut)
			return true;
		off += 4 + ntm_get_be16(b + off + 2);
	}
	return off == cut;
}

/* The body cut short with body_len rewritten to match: only a cut between two
 * attributes may still decode; every other cut is caught by the TLV reader. */
START_TEST(test_every_body_truncation_with_a_matching_length_is_rejected_inside_attributes)
{
	build_samples();
	for (size_t i = 0; i < n_samples; i++) {
		const struct sample *s = &samples[i];
		uint8_t tmp[NTM_LCTL_MSG_MAX];
		memcpy(tmp, s->buf, s->len);
		for (size_t cut = 0; cut < s->len - NTM_LCTL_HDR_LEN; cut++) {
			ntm_put_be32(tmp + 8, (uint32_t)cut);
			int ret = decode_exact(s, tmp, NTM_LCTL_HDR_LEN + cut);
			if (!at_attr_boundary(s, cut))
				ck_assert_msg(ret < 0, "%s: body cut to %zu accepted", s->label, cut);
		}
	}
}
END_TEST

START_TEST(test_a_trailing_byte_after_the_body_is_rejected)
{
	build_samples();
	for (size_t i = 0; i < n_samples; i++) {
		const struct sample *s = &samples[i];
		uint8_t tmp[NTM_LCTL_MSG_MAX + 1];
		memcpy(tmp, s->buf, s->len);
		tmp[s->len] = 0;
		ck_assert_msg(decode_exact(s, tmp, s->len + 1) == -EBADMSG, "%s", s->label);
	}
}
END_TEST

START_TEST(test_encoders_report_emsgsize_for_every_short_buffer)
{
	build_samples();
	uint8_t small[NTM_LCTL_MSG_MAX];
	struct ntm_lctl_status_info st;
	fill_status(&st, true);
	int full = ntm_lctl_reply_status(small, sizeof(small), 1, &st);
	for (int cap = 0; cap < full; cap++)
		ck_assert_int_eq(ntm_lctl_reply_status(small, (size_t)cap, 1, &st), -EMSGSIZE);
	ck_assert_int_eq(ntm_lctl_reply_status(small, (size_t)full, 1, &st), full);
	for (size_t cap = 0; cap < NTM_LCTL_HDR_LEN + 25; cap++) {
		int n = ntm_lctl_req_resolve_name(small, cap, 1, "bob.ntm.example.org", 3, 100);
		ck_assert_int_eq(n, -EMSGSIZE);
	}
}
END_TEST

/* ---- header ---- */

START_TEST(test_an_oversize_body_length_is_rejected_from_the_header_alone)
{
	uint8_t hdr[NTM_LCTL_HDR_LEN];
	struct ntm_lctl_hdr h;
	int n = ntm_lctl_req_status(hdr, sizeof(hdr), 1);
	ck_assert_int_eq(n, NTM_LCTL_HDR_LEN);
	ntm_put_be32(hdr + 8, NTM_LCTL_BODY_MAX);
	ck_assert_int_eq(ntm_lctl_header_parse(hdr, sizeof(hdr), &h), 0);
	ck_assert_uint_eq(h.body_len, NTM_LCTL_BODY_MAX);
	ntm_put_be32(hdr + 8, NTM_LCTL_BODY_MAX + 1);
	ck_assert_int_eq(ntm_lctl_header_parse(hdr, sizeof(hdr), &h), -EMSGSIZE);
	ntm_put_be32(hdr + 8, UINT32_MAX);
	ck_assert_int_eq(ntm_lctl_header_parse(hdr, sizeof(hdr), &h), -EMSGSIZE);
	ck_assert_int_eq(ntm_lctl_header_parse(hdr, NTM_LCTL_HDR_LEN - 1, &h), -EBADMSG);
}
END_TEST

START_TEST(test_a_version_other_than_one_is_rejected)
{
	uint8_t buf[NTM_LCTL_HDR_LEN];
	struct ntm_lctl_hdr h;
	struct ntm_lctl_req q;
	ntm_lctl_req_status(buf, sizeof(buf), 1);
	static const uint8_t bad[] = { 0, 2, 0x80, 0xff };
	for (size_t i = 0; i < sizeof(bad); i++) {
		buf[0] = bad[i];
		ck_assert_int_eq(ntm_lctl_header_parse(buf, sizeof(buf), &h), -EPROTONOSUPPORT);
		ck_assert_int_eq(ntm_lctl_req_decode(buf, sizeof(buf), &q), -EPROTONOSUPPORT);
	}
}
END_TEST

START_TEST(test_an_unknown_type_is_reported_with_its_body_length_so_it_can_be_skipped)
{
	struct hand m;
	struct ntm_lctl_hdr h;
	struct ntm_lctl_req q;
	static const uint8_t bad[] = { 0x00, 0x08, 0x3f, 0x42, 0x7f, 0x80, 0x88, 0xc2, 0xff };
	for (size_t i = 0; i < sizeof(bad); i++) {
		hand_hdr(&m, 1, bad[i], 0);
		hand_u32(&m, 0x1234, 0);
		ck_assert_int_eq(ntm_lctl_header_parse(m.b, m.n, &h), -EOPNOTSUPP);
		ck_assert_uint_eq(h.type, bad[i]);
		ck_assert_uint_eq(h.body_len, 8);
		ck_assert_int_eq(ntm_lctl_req_decode(m.b, m.n, &q), -EOPNOTSUPP);
	}
	/* ... and the daemon can answer it with BADREQ. */
	uint8_t buf[NTM_LCTL_HDR_LEN];
	ck_assert_int_eq(ntm_lctl_reply_empty(buf, sizeof(buf), 0x07, 1, NTM_LCTL_BADREQ),
			 NTM_LCTL_HDR_LEN);
	ck_assert_uint_eq(buf[1], 0x87);
}
END_TEST

START_TEST(test_a_request_with_a_status_and_a_reply_with_an_unknown_status_are_rejected)
{
	uint8_t buf[NTM_LCTL_HDR_LEN];
	struct ntm_lctl_hdr h;
	ntm_lctl_req_status(buf, sizeof(buf), 1);
	ntm_put_be16(buf + 2, 1);
	ck_assert_int_eq(ntm_lctl_header_parse(buf, sizeof(buf), &h), -EBADMSG);
	ntm_lctl_reply_empty(buf, sizeof(buf), NTM_LCTL_REREGISTER, 1, NTM_LCTL_INTERNAL);
	ck_assert_int_eq(ntm_lctl_header_parse(buf, sizeof(buf), &h), 0);
	ntm_put_be16(buf + 2, NTM_LCTL_STATUS_MAX + 1);
	ck_assert_int_eq(ntm_lctl_header_parse(buf, sizeof(buf), &h), -EBADMSG);
	ck_assert_int_eq(ntm_lctl_reply_empty(buf, sizeof(buf), NTM_LCTL_REREGISTER, 1,
					      NTM_LCTL_STATUS_MAX + 1), -EINVAL);
}
END_TEST

START_TEST(test_a_reply_of_another_type_or_a_request_given_to_a_reply_decoder_is_rejected)
{
	uint8_t buf[512];
	struct ntm_lctl_hdr h;
	struct ntm_lctl_resolve r;
	struct ntm_lctl_req q;
	int n = ntm_lctl_reply_ping(buf, sizeof(buf), 8, &ping_fixture);
	ck_assert_int_eq(ntm_lctl_decode_resolve(buf, (size_t)n, &h, &r), -EBADMSG);
	ck_assert_int_eq(ntm_lctl_decode_empty(buf, (size_t)n, NTM_LCTL_REREGISTER_REPLY, &h),
			 -EBADMSG);
	ck_assert_int_eq(ntm_lctl_req_decode(buf, (size_t)n, &q), -EBADMSG);
	n = ntm_lctl_req_resolve_name(buf, sizeof(buf), 1, "x.y", 1, 0);
	ck_assert_int_eq(ntm_lctl_decode_resolve(buf, (size_t)n, &h, &r), -EBADMSG);
}
END_TEST

/* ---- addresses and names ---- */

START_TEST(test_an_address_whose_length_does_not_match_its_family_is_rejected)
{
	static struct hand m;
	struct ntm_lctl_resolve r;
	static const struct { uint8_t family; size_t n; int want; } cases[] = {
		{ 4, 4, 0 }, { 6, 16, 0 },
		{ 4, 16, -EBADMSG }, { 6, 4, -EBADMSG }, { 4, 3, -EBADMSG }, { 4, 5, -EBADMSG },
		{ 6, 15, -EBADMSG }, { 6, 17, -EBADMSG }, { 0, 4, -EBADMSG }, { 5, 4, -EBADMSG },
		{ 2, 4, -EBADMSG }, { 10, 16, -EBADMSG }, { 4, 0, -EBADMSG },
	};
	for (size_t i = 0; i < NTM_ARRAY_SIZE(cases); i++) {
		resolve_reply_start(&m);
		hand_addr(&m, cases[i].family, cases[i].n);
		ck_assert_msg(decode_resolve(&m, &r) == cases[i].want, "family %u with %zu bytes",
			      cases[i].family, cases[i].n);
	}
	resolve_reply_start(&m);
	hand_attr(&m, NTM_LCTL_A_ADDR, "", 0);
	ck_assert_int_eq(decode_resolve(&m, &r), -EBADMSG);

	struct ntm_lctl_req q;
	hand_hdr(&m, 1, NTM_LCTL_RESOLVE_ADDR, 0);
	hand_addr(&m, 6, 4);
	ck_assert_int_eq(ntm_lctl_req_decode(m.b, m.n, &q), -EBADMSG);
	uint8_t buf[64];
	ck_assert_int_eq(ntm_lctl_req_resolve_addr(buf, sizeof(buf), 1, 2, v4a), -EINVAL);
}
END_TEST

START_TEST(test_an_endpoint_with_a_wrong_length_family_or_port_zero_is_rejected)
{
	static struct hand m;
	struct ntm_lctl_status_info *st = malloc(sizeof(*st));
	struct ntm_lctl_hdr h;
	static const struct { uint8_t family; uint16_t port; size_t n; int want; } cases[] = {
		{ 4, 7540, 4, 0 }, { 6, 7540, 16, 0 }, { 4, 7540, 16, -EBADMSG },
		{ 6, 7540, 4, -EBADMSG }, { 4, 0, 4, -EBADMSG }, { 7, 7540, 4, -EBADMSG },
	};
	for (size_t i = 0; i < NTM_ARRAY_SIZE(cases); i++) {
		uint8_t v[3 + 16] = { cases[i].family };
		ntm_put_be16(v + 1, cases[i].port);
		hand_hdr(&m, 1, NTM_LCTL_STATUS_REPLY, 0);
		hand_text(&m, NTM_LCTL_A_NAME, "alice.ntm.example.org");
		hand_text(&m, NTM_LCTL_A_DC, "192.0.2.1:7540");
		hand_u8(&m, NTM_LCTL_A_DC_STATE, NTM_LCTL_DC_UNREACHABLE);
		hand_attr(&m, NTM_LCTL_A_OBSERVED, v, 3 + cases[i].n);
		ck_assert_msg(ntm_lctl_decode_status(m.b, m.n, &h, st) == cases[i].want, "case %zu", i);
	}
	free(st);
}
END_TEST

START_TEST(test_a_name_with_an_embedded_nul_or_control_byte_is_rejected)
{
	ck_assert_int_eq(resolve_req_with_name("bob.ntm", 7), 0);
	ck_assert_int_eq(resolve_req_with_name("bob\0.ntm", 8), -EBADMSG);
	ck_assert_int_eq(resolve_req_with_name("bob.ntm\0", 8), -EBADMSG);
	ck_assert_int_eq(resolve_req_with_name("\0", 1), -EBADMSG);
	ck_assert_int_eq(resolve_req_with_name("bob\n.ntm", 8), -EBADMSG);
	ck_assert_int_eq(resolve_req_with_name("bob ntm", 7), -EBADMSG);
	ck_assert_int_eq(resolve_req_with_name("bob\x7f", 4), -EBADMSG);
	ck_assert_int_eq(resolve_req_with_name("b\xc3\xa9", 3), -EBADMSG);
	ck_assert_int_eq(resolve_req_with_name("", 0), -EBADMSG);
	uint8_t buf[512];
	ck_assert_int_eq(ntm_lctl_req_resolve_name(buf, sizeof(buf), 1, "", 1, 0), -EINVAL);
	ck_assert_int_eq(ntm_lctl_req_resolve_name(buf, sizeof(buf), 1, "a b", 1, 0), -EINVAL);
	ck_assert_int_eq(ntm_lctl_req_ping(buf, sizeof(buf), 1, "a\tb", 1), -EINVAL);
}
END_TEST

START_TEST(test_a_name_of_253_bytes_is_accepted_and_254_is_rejected)
{
	char name[300];
	memset(name, 'a', sizeof(name));
	ck_assert_int_eq(resolve_req_with_name(name, NTM_LCTL_NAME_MAX), 0);
	ck_assert_int_eq(resolve_req_with_name(name, NTM_LCTL_NAME_MAX + 1), -EBADMSG);
	ck_assert_int_eq(resolve_req_with_name(name, 299), -EBADMSG);

	uint8_t buf[512];
	struct ntm_lctl_req q;
	name[NTM_LCTL_NAME_MAX] = '\0';
	int n = ntm_lctl_req_resolve_name(buf, sizeof(buf), 1, name, 1, 0);
	ck_assert_int_gt(n, 0);
	ck_assert_int_eq(ntm_lctl_req_decode(buf, (size_t)n, &q), 0);
	ck_assert_uint_eq(strlen(q.name), NTM_LCTL_NAME_MAX);
	name[NTM_LCTL_NAME_MAX] = 'a';
	name[NTM_LCTL_NAME_MAX + 1] = '\0';
	ck_assert_int_eq(ntm_lctl_req_resolve_name(buf, sizeof(buf), 1, name, 1, 0), -EINVAL);
	/* Not NUL-terminated within 254 bytes: the builder must not read on. */
	name[sizeof(name) - 1] = '\0';
	ck_assert_int_eq(ntm_lctl_req_ping(buf, sizeof(buf), 1, name, 1), -EINVAL);
}
END_TEST

/* ---- counts and caps ---- */

START_TEST(test_a_reply_with_16_addresses_is_accepted_and_17_is_rejected)
{
	static struct hand m;
	struct ntm_lctl_resolve r;
	resolve_reply_start(&m);
	for (int i = 0; i < NTM_LCTL_MAX_ADDRS; i++)
		hand_addr(&m, i % 2 ? 6 : 4, i % 2 ? 16 : 4);
	ck_assert_int_eq(decode_resolve(&m, &r), 0);
	ck_assert_uint_eq(r.n_addrs, 16);
	ck_assert_uint_le(m.n, NTM_LCTL_RESOLVE_MSG_MAX);
	hand_addr(&m, 4, 4);
	ck_assert_int_eq(decode_resolve(&m, &r), -EBADMSG);
	ck_assert_uint_eq(r.n_addrs, 0);

	uint8_t buf[NTM_LCTL_RESOLVE_MSG_MAX];
	fill_resolve(&r, NTM_LCTL_MAX_ADDRS);
	ck_assert_int_gt(ntm_lctl_reply_resolve(buf, sizeof(buf), NTM_LCTL_RESOLVE_NAME, 1, &r), 0);
	r.n_addrs = NTM_LCTL_MAX_ADDRS + 1;
	ck_assert_int_eq(ntm_lctl_reply_resolve(buf, sizeof(buf), NTM_LCTL_RESOLVE_NAME, 1, &r),
			 -EINVAL);
}
END_TEST

START_TEST(test_the_largest_resolve_reply_fits_the_documented_resolver_buffer)
{
	uint8_t buf[NTM_LCTL_MSG_MAX];
	struct ntm_lctl_resolve r;
	fill_resolve(&r, NTM_LCTL_MAX_ADDRS);
	for (unsigned i = 0; i < NTM_LCTL_MAX_ADDRS; i++)
		r.addrs[i].family = 6;
	memset(r.name, 'n', NTM_LCTL_NAME_MAX);
	r.name[NTM_LCTL_NAME_MAX] = '\0';
	int n = ntm_lctl_reply_resolve(buf, sizeof(buf), NTM_LCTL_RESOLVE_NAME, 1, &r);
	ck_assert_int_gt(n, 0);
	ck_assert_int_le(n, NTM_LCTL_RESOLVE_MSG_MAX);
}
END_TEST

START_TEST(test_an_ok_resolve_name_reply_without_addresses_is_rejected)
{
	static struct hand m;
	struct ntm_lctl_resolve r;
	resolve_reply_start(&m);
	ck_assert_int_eq(decode_resolve(&m, &r), -EBADMSG);
	m.b[1] = NTM_LCTL_RESOLVE_ADDR_REPLY;
	ck_assert_int_eq(decode_resolve(&m, &r), 0);
	uint8_t buf[512];
	fill_resolve(&r, 0);
	ck_assert_int_eq(ntm_lctl_reply_resolve(buf, sizeof(buf), NTM_LCTL_RESOLVE_NAME, 1, &r),
			 -EINVAL);
}
END_TEST

START_TEST(test_nine_zones_sixty_five_peers_and_other_counts_above_their_caps_are_rejected)
{
	static struct hand m;
	static struct ntm_lctl_status_info st;
	static struct ntm_lctl_peers pe;
	static uint8_t buf[NTM_LCTL_MSG_MAX];
	struct ntm_lctl_hdr h;

	fill_status(&st, true);
	int n = ntm_lctl_reply_status(buf, sizeof(buf), 1, &st);
	memcpy(m.b, buf, (size_t)n);
	m.n = (size_t)n;
	hand_text(&m, NTM_LCTL_A_ZONE, "z8.example.org");
	ck_assert_int_eq(ntm_lctl_decode_status(m.b, m.n, &h, &st), -EBADMSG);
	fill_status(&st, true);
	st.n_zones = NTM_LCTL_MAX_ZONES + 1;
	ck_assert_int_eq(ntm_lctl_reply_status(buf, sizeof(buf), 1, &st), -EINVAL);

	fill_peers(&pe, NTM_LCTL_MAX_PEERS);
	n = ntm_lctl_reply_peers(buf, sizeof(buf), 1, &pe);
	ck_assert_int_gt(n, 0);
	memcpy(m.b, buf, (size_t)n);
	m.n = (size_t)n;
	uint8_t rec[NTM_LCTL_MSG_MAX];
	size_t rec_len = ntm_get_be16(buf + NTM_LCTL_HDR_LEN + 8 + 2);
	memcpy(rec, buf + NTM_LCTL_HDR_LEN + 8 + 4, rec_len);
	hand_attr(&m, NTM_LCTL_A_PEER, rec, rec_len);
	ck_assert_int_eq(ntm_lctl_decode_peers(m.b, m.n, &h, &pe), -EBADMSG);
	fill_peers(&pe, NTM_LCTL_MAX_PEERS);
	pe.n_peers = NTM_LCTL_MAX_PEERS + 1;
	ck_assert_int_eq(ntm_lctl_reply_peers(buf, sizeof(buf), 1, &pe), -EINVAL);

	/* More peers in the reply than the daemon says it has. */
	fill_peers(&pe, 3);
	pe.total = 2;
	ck_assert_int_eq(ntm_lctl_reply_peers(buf, sizeof(buf), 1, &pe), -EINVAL);
	pe.total = 5;
	n = ntm_lctl_reply_peers(buf, sizeof(buf), 1, &pe);
	ntm_put_be32(buf + NTM_LCTL_HDR_LEN + 4, 2);
	ck_assert_int_eq(ntm_lctl_decode_peers(buf, (size_t)n, &h, &pe), -EBADMSG);

	ck_assert_int_eq(ntm_lctl_req_ping(buf, 512, 1, "b.c", NTM_LCTL_PING_COUNT_MAX + 1), -EINVAL);
	ck_assert_int_eq(ntm_lctl_req_ping(buf, 512, 1, "b.c", 0), -EINVAL);
	ck_assert_int_eq(ntm_lctl_req_resolve_name(buf, 512, 1, "b.c", 1, NTM_LCTL_WAIT_MS_MAX + 1),
			 -EINVAL);
}
END_TEST

START_TEST(test_request_values_out_of_range_are_rejected_by_the_decoder)
{
	static struct hand m;
	struct ntm_lctl_req q;
	static const uint8_t fams[] = { 0, 4, 7, 0xff };
	for (size_t i = 0; i < sizeof(fams); i++) {
		hand_hdr(&m, 1, NTM_LCTL_RESOLVE_NAME, 0);
		hand_text(&m, NTM_LCTL_A_NAME, "bob.ntm");
		hand_u8(&m, NTM_LCTL_A_FAMILIES, fams[i]);
		ck_assert_int_eq(ntm_lctl_req_decode(m.b, m.n, &q), -EBADMSG);
	}
	hand_hdr(&m, 1, NTM_LCTL_RESOLVE_NAME, 0);
	hand_text(&m, NTM_LCTL_A_NAME, "bob.ntm");
	hand_u8(&m, NTM_LCTL_A_FAMILIES, 3);
	hand_u32(&m, NTM_LCTL_A_WAIT_MS, NTM_LCTL_WAIT_MS_MAX + 1);
	ck_assert_int_eq(ntm_lctl_req_decode(m.b, m.n, &q), -EBADMSG);
	ck_assert_str_eq(q.name, "");

	uint8_t c[2];
	hand_hdr(&m, 1, NTM_LCTL_PING, 0);
	hand_text(&m, NTM_LCTL_A_NAME, "bob.ntm");
	ntm_put_be16(c, NTM_LCTL_PING_COUNT_MAX + 1);
	hand_attr(&m, NTM_LCTL_A_COUNT, c, 2);
	ck_assert_int_eq(ntm_lctl_req_decode(m.b, m.n, &q), -EBADMSG);
}
END_TEST

START_TEST(test_reply_enums_and_ping_figures_out_of_range_are_rejected)
{
	static struct hand m;
	struct ntm_lctl_hdr h;
	static struct ntm_lctl_status_info st;
	static const uint8_t states[] = { 0, 5, 0xff };
	for (size_t i = 0; i < sizeof(states); i++) {
		hand_hdr(&m, 1, NTM_LCTL_STATUS_REPLY, 0);
		hand_text(&m, NTM_LCTL_A_NAME, "alice.ntm");
		hand_text(&m, NTM_LCTL_A_DC, "dc:1");
		hand_u8(&m, NTM_LCTL_A_DC_STATE, states[i]);
		ck_assert_int_eq(ntm_lctl_decode_status(m.b, m.n, &h, &st), -EBADMSG);
	}
	uint8_t vip[17] = { 0 };
	vip[4] = 33;
	hand_hdr(&m, 1, NTM_LCTL_STATUS_REPLY, 0);
	hand_text(&m, NTM_LCTL_A_NAME, "alice.ntm");
	hand_text(&m, NTM_LCTL_A_DC, "dc:1");
	hand_u8(&m, NTM_LCTL_A_DC_STATE, 1);
	hand_attr(&m, NTM_LCTL_A_VIP4, vip, 5);
	ck_assert_int_eq(ntm_lctl_decode_status(m.b, m.n, &h, &st), -EBADMSG);

	uint8_t buf[128];
	static struct ntm_lctl_ping_result p;
	p = ping_fixture;
	p.received = 5;
	ck_assert_int_eq(ntm_lctl_reply_ping(buf, sizeof(buf), 1, &p), -EINVAL);
	p = ping_fixture;
	p.rtt_min_us = 200;
	ck_assert_int_eq(ntm_lctl_reply_ping(buf, sizeof(buf), 1, &p), -EINVAL);
	int n = ntm_lctl_reply_ping(buf, sizeof(buf), 1, &ping_fixture);
	ntm_put_be16(buf + NTM_LCTL_HDR_LEN + 4 + 2, 9);  /* received > sent */
	ck_assert_int_eq(ntm_lctl_decode_ping(buf, (size_t)n, &h, &p), -EBADMSG);
	/* an echo: seq >= sent, a path other than direct/relay, more than received */
	p = ping_fixture;
	p.echoes[1].seq = 4;
	ck_assert_int_eq(ntm_lctl_reply_ping(buf, sizeof(buf), 1, &p), -EINVAL);
	p = ping_fixture;
	p.echoes[0].path = NTM_LCTL_PATH_PENDING;
	ck_assert_int_eq(ntm_lctl_reply_ping(buf, sizeof(buf), 1, &p), -EINVAL);
	p = ping_fixture;
	p.received = 1;
	p.rtt_min_us = p.rtt_avg_us = p.rtt_max_us = 100;
	ck_assert_int_eq(ntm_lctl_reply_ping(buf, sizeof(buf), 1, &p), -EINVAL);
	n = ntm_lctl_reply_ping(buf, sizeof(buf), 1, &ping_fixture);
	ck_assert_int_gt(n, 0);
	/* the first ECHO follows PING_RESULT: its path byte is at +4+2+2 */
	uint8_t *echo = buf + NTM_LCTL_HDR_LEN + 4 + 16;
	ck_assert_uint_eq(ntm_get_be16(echo), NTM_LCTL_A_ECHO);
	echo[4 + 2] = 1;
	ck_assert_int_eq(ntm_lctl_decode_ping(buf, (size_t)n, &h, &p), -EBADMSG);
	echo[4 + 2] = NTM_LCTL_PATH_DIRECT;
	echo[4 + 7] = 5;                                 /* endpoint family 5 */
	ck_assert_int_eq(ntm_lctl_decode_ping(buf, (size_t)n, &h, &p), -EBADMSG);
	echo[4 + 7] = 4;
	ck_assert_int_eq(ntm_lctl_decode_ping(buf, (size_t)n, &h, &p), 0);
	ck_assert_uint_eq(p.n_echoes, 2);
}
END_TEST

/* ---- attribute rules ---- */

START_TEST(test_an_unknown_attribute_is_skipped_with_the_optional_bit_and_rejected_without)
{
	static struct hand m;
	struct ntm_lctl_resolve r;
	resolve_reply_start(&m);
	hand_addr(&m, 4, 4);
	hand_u32(&m, NTM_LCTL_ATTR_OPTIONAL | 0x0777, 0xabcdef);
	hand_attr(&m, NTM_LCTL_ATTR_OPTIONAL | NTM_LCTL_A_NAME, "", 0);
	ck_assert_int_eq(decode_resolve(&m, &r), 0);
	ck_assert_uint_eq(r.n_addrs, 1);
	ck_assert_str_eq(r.name, "bob.ntm.example.org");

	resolve_reply_start(&m);
	hand_addr(&m, 4, 4);
	hand_u32(&m, 0x0777, 0xabcdef);
	ck_assert_int_eq(decode_resolve(&m, &r), -EBADMSG);

	/* A known attribute in a message that does not allow it is mandatory-unknown. */
	resolve_reply_start(&m);
	hand_addr(&m, 4, 4);
	hand_text(&m, NTM_LCTL_A_ZONE, "ntm.example.org");
	ck_assert_int_eq(decode_resolve(&m, &r), -EBADMSG);

	/* The same rule holds in requests, in nested peer records and in error replies. */
	struct ntm_lctl_req q;
	hand_hdr(&m, 1, NTM_LCTL_STATUS, 0);
	hand_u32(&m, 0x8001, 1);
	ck_assert_int_eq(ntm_lctl_req_decode(m.b, m.n, &q), 0);
	hand_u32(&m, 0x0001, 1);
	ck_assert_int_eq(ntm_lctl_req_decode(m.b, m.n, &q), -EBADMSG);

	struct ntm_lctl_hdr h;
	hand_hdr(&m, 1, NTM_LCTL_REREGISTER_REPLY, NTM_LCTL_DENIED);
	hand_text(&m, 0x8100, "you are not in group ntm");
	ck_assert_int_eq(ntm_lctl_decode_empty(m.b, m.n, NTM_LCTL_REREGISTER_REPLY, &h), 0);
	ck_assert_uint_eq(h.status, NTM_LCTL_DENIED);
	hand_hdr(&m, 1, NTM_LCTL_RESOLVE_NAME_REPLY, NTM_LCTL_NOTFOUND);
	hand_text(&m, NTM_LCTL_A_NAME, "bob.ntm");
	ck_assert_int_eq(decode_resolve(&m, &r), -EBADMSG);
}
END_TEST

START_TEST(test_unknown_attributes_inside_a_peer_record_follow_the_same_rule)
{
	static struct hand m, rec;
	static struct ntm_lctl_peers pe;
	struct ntm_lctl_hdr h;
	uint8_t u64[8] = { 0 };
	for (int optional = 1; optional >= 0; optional--) {
		hand_hdr(&rec, 1, 0, 0);     /* only the body part is used */
		hand_text(&rec, NTM_LCTL_A_NAME, "bob.ntm");
		hand_attr(&rec, NTM_LCTL_A_RX_BYTES, u64, 8);
		hand_attr(&rec, NTM_LCTL_A_TX_BYTES, u64, 8);
		hand_u8(&rec, NTM_LCTL_A_PATH, NTM_LCTL_PATH_RELAY);
		hand_u8(&rec, (uint16_t)((optional ? NTM_LCTL_ATTR_OPTIONAL : 0) | 0x0100), 1);
		hand_hdr(&m, 1, NTM_LCTL_PEERS_REPLY, 0);
		hand_u32(&m, NTM_LCTL_A_TOTAL, 1);
		hand_attr(&m, NTM_LCTL_A_PEER, rec.b + NTM_LCTL_HDR_LEN, rec.n - NTM_LCTL_HDR_LEN);
		ck_assert_int_eq(ntm_lctl_decode_peers(m.b, m.n, &h, &pe), (optional ? 0 : -EBADMSG));
	}
}
END_TEST

START_TEST(test_a_repeated_single_attribute_or_a_missing_required_one_is_rejected)
{
	static struct hand m;
	struct ntm_lctl_resolve r;
	resolve_reply_start(&m);
	hand_addr(&m, 4, 4);
	hand_u32(&m, NTM_LCTL_A_TTL, 5);
	ck_assert_int_eq(decode_resolve(&m, &r), -EBADMSG);

	hand_hdr(&m, 1, NTM_LCTL_RESOLVE_NAME_REPLY, 0);
	hand_text(&m, NTM_LCTL_A_NAME, "bob.ntm");
	hand_addr(&m, 4, 4);
	ck_assert_int_eq(decode_resolve(&m, &r), -EBADMSG);     /* no TTL */

	struct ntm_lctl_req q;
	hand_hdr(&m, 1, NTM_LCTL_RESOLVE_NAME, 0);
	hand_text(&m, NTM_LCTL_A_NAME, "bob.ntm");
	ck_assert_int_eq(ntm_lctl_req_decode(m.b, m.n, &q), -EBADMSG);  /* no FAMILIES */
	hand_u8(&m, NTM_LCTL_A_FAMILIES, 1);
	ck_assert_int_eq(ntm_lctl_req_decode(m.b, m.n, &q), 0);
	hand_u8(&m, NTM_LCTL_A_FAMILIES, 2);
	ck_assert_int_eq(ntm_lctl_req_decode(m.b, m.n, &q), -EBADMSG);

	/* A fixed-size attribute of the wrong size. */
	hand_hdr(&m, 1, NTM_LCTL_PEERS, 0);
	hand_u8(&m, NTM_LCTL_A_OFFSET, 1);
	ck_assert_int_eq(ntm_lctl_req_decode(m.b, m.n, &q), -EBADMSG);
}
END_TEST

/* An attribute length running past the body, and a partial attribute header. */
START_TEST(test_an_attribute_longer_than_the_body_is_rejected)
{
	static struct hand m;
	struct ntm_lctl_req q;
	hand_hdr(&m, 1, NTM_LCTL_PEERS, 0);
	hand_u32(&m, NTM_LCTL_A_OFFSET, 1);
	ntm_put_be16(m.b + NTM_LCTL_HDR_LEN + 2, 5);
	ck_assert_int_eq(ntm_lctl_req_decode(m.b, m.n, &q), -EBADMSG);
	ntm_put_be16(m.b + NTM_LCTL_HDR_LEN + 2, 0xffff);
	ck_assert_int_eq(ntm_lctl_req_decode(m.b, m.n, &q), -EBADMSG);
	hand_hdr(&m, 1, NTM_LCTL_STATUS, 0);
	m.b[m.n++] = 0x80;
	m.b[m.n++] = 0x01;
	m.b[m.n++] = 0x00;
	ntm_put_be32(m.b + 8, 3);
	ck_assert_int_eq(ntm_lctl_req_decode(m.b, m.n, &q), -EBADMSG);
}
END_TEST

/* ---- names and permissions ---- */

START_TEST(test_status_and_type_names_are_fixed_strings)
{
	ck_assert_str_eq(ntm_lctl_status_name(NTM_LCTL_OK), "ok");
	ck_assert_str_eq(ntm_lctl_status_name(NTM_LCTL_NOTFOUND), "not found");
	ck_assert_str_eq(ntm_lctl_status_name(NTM_LCTL_NODATA), "no address of that family");
	ck_assert_str_eq(ntm_lctl_status_name(NTM_LCTL_TRYAGAIN), "try again");
	ck_assert_str_eq(ntm_lctl_status_name(NTM_LCTL_DENIED), "permission denied");
	ck_assert_str_eq(ntm_lctl_status_name(NTM_LCTL_BADREQ), "bad request");
	ck_assert_str_eq(ntm_lctl_status_name(NTM_LCTL_INTERNAL), "internal error");
	ck_assert_str_eq(ntm_lctl_status_name(7), "unknown");
	ck_assert_str_eq(ntm_lctl_type_name(NTM_LCTL_RESOLVE_NAME), "RESOLVE_NAME");
	ck_assert_str_eq(ntm_lctl_type_name(NTM_LCTL_PEERS_REPLY), "PEERS reply");
	ck_assert_str_eq(ntm_lctl_type_name(NTM_LCTL_STATS), "STATS");
	ck_assert_str_eq(ntm_lctl_type_name(NTM_LCTL_STATS_REPLY), "STATS reply");
	ck_assert_str_eq(ntm_lctl_type_name(NTM_LCTL_RELOAD), "RELOAD");
	ck_assert_str_eq(ntm_lctl_type_name(0x08), "unknown");
	ck_assert_str_eq(ntm_lctl_type_name(0x42), "unknown");
}
END_TEST

START_TEST(test_only_requests_in_the_0x40_range_are_privileged)
{
	ck_assert(ntm_lctl_type_is_privileged(NTM_LCTL_REREGISTER));
	ck_assert(ntm_lctl_type_is_privileged(0x7f));
	ck_assert(!ntm_lctl_type_is_privileged(NTM_LCTL_STATUS));
	ck_assert(!ntm_lctl_type_is_privileged(NTM_LCTL_RESOLVE_NAME));
	ck_assert(!ntm_lctl_type_is_privileged(NTM_LCTL_RESOLVE_ADDR));
	ck_assert(!ntm_lctl_type_is_privileged(NTM_LCTL_PEERS));
	ck_assert(!ntm_lctl_type_is_privileged(NTM_LCTL_PING));
	ck_assert(!ntm_lctl_type_is_privileged(NTM_LCTL_STATS));
	ck_assert(!ntm_lctl_type_is_privileged(NTM_LCTL_STATS_REPLY));
	ck_assert(!ntm_lctl_type_is_privileged(NTM_LCTL_REREGISTER_REPLY));
}
END_TEST

START_TEST(test_an_ok_reply_with_data_cannot_be_sent_empty)
{
	uint8_t buf[64];
	ck_assert_int_eq(ntm_lctl_reply_empty(buf, sizeof(buf), NTM_LCTL_RESOLVE_NAME, 1,
					      NTM_LCTL_OK), -EINVAL);
	ck_assert_int_eq(ntm_lctl_reply_empty(buf, sizeof(buf), NTM_LCTL_STATS, 1, NTM_LCTL_OK),
			 -EINVAL);
	ck_assert_int_eq(ntm_lctl_reply_empty(buf, sizeof(buf), NTM_LCTL_STATUS_REPLY, 1,
					      NTM_LCTL_INTERNAL), -EINVAL);
	struct ntm_lctl_resolve r;
	fill_resolve(&r, 1);
	ck_assert_int_eq(ntm_lctl_reply_resolve(buf, sizeof(buf), NTM_LCTL_PING, 1, &r), -EINVAL);
}
END_TEST

START_TEST(test_a_refusal_answers_any_type_byte_with_badreq_or_denied_only)
{
	uint8_t buf[64];
	struct ntm_lctl_hdr h;
	ck_assert_int_eq(ntm_lctl_reply_refusal(buf, sizeof(buf), 0x99, 7, NTM_LCTL_BADREQ),
			 NTM_LCTL_HDR_LEN);
	ck_assert_uint_eq(buf[1], 0x99);
	ck_assert_int_eq(ntm_lctl_reply_refusal(buf, sizeof(buf), 0x7e, 7, NTM_LCTL_DENIED),
			 NTM_LCTL_HDR_LEN);
	ck_assert_uint_eq(buf[1], 0xfe);
	ck_assert_int_eq(ntm_lctl_reply_refusal(buf, sizeof(buf), NTM_LCTL_STATUS, 7, NTM_LCTL_BADREQ),
			 NTM_LCTL_HDR_LEN);
	ck_assert_int_eq(ntm_lctl_header_parse(buf, NTM_LCTL_HDR_LEN, &h), 0);
	ck_assert_uint_eq(h.type, NTM_LCTL_STATUS_REPLY);
	ck_assert_uint_eq(h.req_id, 7);
	ck_assert_int_eq(ntm_lctl_reply_refusal(buf, sizeof(buf), 0x01, 7, NTM_LCTL_OK), -EINVAL);
	ck_assert_int_eq(ntm_lctl_reply_refusal(buf, sizeof(buf), 0x01, 7, NTM_LCTL_NOTFOUND),
			 -EINVAL);
}
END_TEST

/* ---- STATS ---- */

/* Encodes m, decodes it, checks every counter in order and re-encodes to the same bytes. */
static void stats_round_trip(const struct ntm_lctl_stats *in)
{
	static uint8_t buf[NTM_LCTL_MSG_MAX], again[NTM_LCTL_MSG_MAX];
	static struct ntm_lctl_stats out;
	struct ntm_lctl_hdr h;
	int n = ntm_lctl_reply_stats(buf, sizeof(buf), 0xfeedface, in);
	ck_assert_int_gt(n, 0);
	ck_assert_int_eq(ntm_lctl_decode_stats(buf, (size_t)n, &h, &out), 0);
	ck_assert_uint_eq(h.type, NTM_LCTL_STATS_REPLY);
	ck_assert_uint_eq(h.status, NTM_LCTL_OK);
	ck_assert_uint_eq(h.req_id, 0xfeedface);
	ck_assert_uint_eq(out.n, in->n);
	for (unsigned i = 0; i < in->n; i++) {
		ck_assert_str_eq(out.c[i].name, in->c[i].name);
		ck_assert(out.c[i].value == in->c[i].value);
	}
	ck_assert_uint_eq(out.n_gauges, in->n_gauges);
	for (unsigned i = 0; i < in->n_gauges; i++) {
		ck_assert_str_eq(out.g[i].name, in->g[i].name);
		ck_assert(out.g[i].value == in->g[i].value);
	}
	ck_assert_int_eq(ntm_lctl_reply_stats(again, sizeof(again), 0xfeedface, &out), n);
	ck_assert_mem_eq(again, buf, (size_t)n);
}

/* GAUGE (0x8040) has the optional bit: a decoder that does not list it
 * skips it, as any older client does. */
START_TEST(test_gauges_round_trip_are_capped_and_optional)
{
	static struct ntm_lctl_stats m;
	static uint8_t buf[NTM_LCTL_MSG_MAX];
	struct ntm_lctl_hdr h;

	fill_stats(&m, 2);
	m.n_gauges = NTM_LCTL_MAX_GAUGES;
	for (unsigned i = 0; i < m.n_gauges; i++) {
		snprintf(m.g[i].name, sizeof(m.g[i].name), "g%u_peers", i);
		m.g[i].value = i * 7;
	}
	stats_round_trip(&m);
	ck_assert(NTM_LCTL_A_GAUGE & NTM_LCTL_ATTR_OPTIONAL);
	/* an unknown optional attribute is skipped where GAUGE is not listed */
	int n = ntm_lctl_reply_stats(buf, sizeof(buf), 1, &m);
	ck_assert_int_gt(n, 0);
	uint8_t *a = buf + n - (4 + 8 + strlen(m.g[m.n_gauges - 1].name));
	ck_assert_uint_eq(ntm_get_be16(a), NTM_LCTL_A_GAUGE);
	ntm_put_be16(a, NTM_LCTL_A_GAUGE + 0x100);   /* 0x8140: unknown, optional */
	static struct ntm_lctl_stats out;
	ck_assert_int_eq(ntm_lctl_decode_stats(buf, (size_t)n, &h, &out), 0);
	ck_assert_uint_eq(out.n_gauges, NTM_LCTL_MAX_GAUGES - 1);
	/* one too many, or a bad name, is refused */
	m.n_gauges = NTM_LCTL_MAX_GAUGES + 1;
	ck_assert_int_eq(ntm_lctl_reply_stats(buf, sizeof(buf), 1, &m), -EINVAL);
	m.n_gauges = 1;
	strcpy(m.g[0].name, "Bad");
	ck_assert_int_eq(ntm_lctl_reply_stats(buf, sizeof(buf), 1, &m), -EINVAL);
}
END_TEST

START_TEST(test_a_stats_reply_of_0_1_and_the_most_counters_keeps_names_values_and_order)
{
	static struct ntm_lctl_stats m;
	fill_stats(&m, 0);
	stats_round_trip(&m);

	fill_stats(&m, 1);
	ck_assert(m.c[0].value == UINT64_MAX);
	stats_round_trip(&m);

	fill_stats(&m, NTM_LCTL_MAX_COUNTERS);
	/* Longest names, out of alphabetical order, with every allowed byte. */
	memset(m.c[5].name, 'z', NTM_LCTL_COUNTER_NAME_MAX);
	m.c[5].name[NTM_LCTL_COUNTER_NAME_MAX] = '\0';
	strcpy(m.c[6].name, "abcdefghijklmnopqrstuvwxyz_0123456789");
	strcpy(m.c[7].name, "_");
	m.c[8].value = 0;
	stats_round_trip(&m);

	static uint8_t buf[NTM_LCTL_MSG_MAX];
	static struct ntm_lctl_stats out;
	struct ntm_lctl_hdr h;
	int n = ntm_lctl_reply_stats(buf, sizeof(buf), 1, &m);
	ck_assert_int_eq(ntm_lctl_decode_stats(buf, (size_t)n, &h, &out), 0);
	ck_assert_uint_eq(out.n, NTM_LCTL_MAX_COUNTERS);
	ck_assert_str_eq(out.c[0].name, "c0_rx_packets");
	unsigned last = NTM_LCTL_MAX_COUNTERS - 1;
	char last_name[32];
	snprintf(last_name, sizeof(last_name), "c%u_rx_packets", last);
	ck_assert_str_eq(out.c[last].name, last_name);
	ck_assert(out.c[last].value == UINT64_MAX);
	ck_assert(out.c[last - 1].value == (uint64_t)(last - 1) * 1000 + 1);
	ck_assert_uint_eq(strlen(out.c[5].name), NTM_LCTL_COUNTER_NAME_MAX);
	ck_assert_str_eq(out.c[7].name, "_");
	ck_assert(out.c[8].value == 0);
	/* Value is big-endian, before the name. */
	ck_assert_uint_eq(ntm_get_be16(buf + NTM_LCTL_HDR_LEN), NTM_LCTL_A_COUNTER);
	ck_assert_uint_eq(ntm_get_be16(buf + NTM_LCTL_HDR_LEN + 2), 8 + strlen("c0_rx_packets"));
	ck_assert(ntm_get_be64(buf + NTM_LCTL_HDR_LEN + 4) == 1);
	ck_assert_mem_eq(buf + NTM_LCTL_HDR_LEN + 12, "c0_rx_packets", 13);

	/* The largest reply: the most counters, with 63-byte names. */
	for (unsigned i = 0; i < NTM_LCTL_MAX_COUNTERS; i++) {
		memset(m.c[i].name, 'a' + i % 26, NTM_LCTL_COUNTER_NAME_MAX);
		m.c[i].name[NTM_LCTL_COUNTER_NAME_MAX] = '\0';
	}
	n = ntm_lctl_reply_stats(buf, sizeof(buf), 1, &m);
	ck_assert_int_eq(n, NTM_LCTL_HDR_LEN + NTM_LCTL_MAX_COUNTERS * (4 + 8 + 63));
	stats_round_trip(&m);
}
END_TEST

START_TEST(test_a_stats_request_has_no_attributes_and_any_user_may_send_it)
{
	uint8_t buf[64];
	static struct hand m;
	struct ntm_lctl_req q;
	int n = ntm_lctl_req_stats(buf, sizeof(buf), 77);
	ck_assert_int_eq(n, NTM_LCTL_HDR_LEN);
	ck_assert_int_eq(ntm_lctl_req_decode(buf, (size_t)n, &q), 0);
	ck_assert_uint_eq(q.hdr.type, NTM_LCTL_STATS);
	ck_assert_uint_eq(q.hdr.req_id, 77);
	ck_assert(!ntm_lctl_type_is_privileged(q.hdr.type));
	for (size_t cap = 0; cap < NTM_LCTL_HDR_LEN; cap++)
		ck_assert_int_eq(ntm_lctl_req_stats(buf, cap, 1), -EMSGSIZE);

	/* Any attribute without the optional bit rejects it, a COUNTER included. */
	uint8_t v[8 + 1] = { 0, 0, 0, 0, 0, 0, 0, 1, 'x' };
	hand_hdr(&m, 1, NTM_LCTL_STATS, 0);
	hand_attr(&m, NTM_LCTL_A_COUNTER, v, sizeof(v));
	ck_assert_int_eq(ntm_lctl_req_decode(m.b, m.n, &q), -EBADMSG);
	ck_assert_uint_eq(q.hdr.type, NTM_LCTL_STATS);
	hand_hdr(&m, 1, NTM_LCTL_STATS, 0);
	hand_u32(&m, NTM_LCTL_A_OFFSET, 0);
	ck_assert_int_eq(ntm_lctl_req_decode(m.b, m.n, &q), -EBADMSG);
	hand_hdr(&m, 1, NTM_LCTL_STATS, 0);
	hand_u32(&m, 0x0777, 0);
	ck_assert_int_eq(ntm_lctl_req_decode(m.b, m.n, &q), -EBADMSG);
	/* ... and an optional one is skipped. */
	hand_hdr(&m, 1, NTM_LCTL_STATS, 0);
	hand_u32(&m, NTM_LCTL_ATTR_OPTIONAL | 0x0777, 0);
	ck_assert_int_eq(ntm_lctl_req_decode(m.b, m.n, &q), 0);
}
END_TEST

START_TEST(test_a_non_ok_stats_reply_decodes_with_its_status_and_no_counters)
{
	uint8_t buf[64];
	static struct hand m;
	static struct ntm_lctl_stats out;
	struct ntm_lctl_hdr h;
	static const uint16_t st[] = { NTM_LCTL_TRYAGAIN, NTM_LCTL_DENIED, NTM_LCTL_BADREQ,
				       NTM_LCTL_INTERNAL };
	for (size_t i = 0; i < NTM_ARRAY_SIZE(st); i++) {
		int n = ntm_lctl_reply_empty(buf, sizeof(buf), NTM_LCTL_STATS, 3, st[i]);
		ck_assert_int_eq(n, NTM_LCTL_HDR_LEN);
		ck_assert_uint_eq(buf[1], NTM_LCTL_STATS_REPLY);
		ck_assert_int_eq(ntm_lctl_decode_stats(buf, (size_t)n, &h, &out), 0);
		ck_assert_uint_eq(h.status, st[i]);
		ck_assert_uint_eq(h.req_id, 3);
		ck_assert_uint_eq(out.n, 0);
	}
	/* A non-OK reply carrying a counter is malformed; an optional attribute is skipped. */
	uint8_t v[8 + 1] = { 0, 0, 0, 0, 0, 0, 0, 1, 'x' };
	hand_hdr(&m, 1, NTM_LCTL_STATS_REPLY, NTM_LCTL_INTERNAL);
	hand_attr(&m, NTM_LCTL_ATTR_OPTIONAL | 0x0100, v, sizeof(v));
	ck_assert_int_eq(ntm_lctl_decode_stats(m.b, m.n, &h, &out), 0);
	hand_attr(&m, NTM_LCTL_A_COUNTER, v, sizeof(v));
	ck_assert_int_eq(ntm_lctl_decode_stats(m.b, m.n, &h, &out), -EBADMSG);
	ck_assert_uint_eq(out.n, 0);

	/* Another reply type, or a request, is not a STATS reply. */
	int n = ntm_lctl_reply_ping(buf, sizeof(buf), 8, &ping_fixture);
	ck_assert_int_eq(ntm_lctl_decode_stats(buf, (size_t)n, &h, &out), -EBADMSG);
	n = ntm_lctl_req_stats(buf, sizeof(buf), 8);
	ck_assert_int_eq(ntm_lctl_decode_stats(buf, (size_t)n, &h, &out), -EBADMSG);
	n = ntm_lctl_reply_empty(buf, sizeof(buf), NTM_LCTL_STATUS, 8, NTM_LCTL_INTERNAL);
	ck_assert_int_eq(ntm_lctl_decode_stats(buf, (size_t)n, &h, &out), -EBADMSG);
}
END_TEST

START_TEST(test_sixty_five_counters_are_rejected_by_encoder_and_decoder)
{
	static struct ntm_lctl_stats m;
	static struct hand hm;
	static uint8_t buf[NTM_LCTL_MSG_MAX];
	struct ntm_lctl_hdr h;
	fill_stats(&m, NTM_LCTL_MAX_COUNTERS);
	int n = ntm_lctl_reply_stats(buf, sizeof(buf), 1, &m);
	ck_assert_int_gt(n, 0);
	memcpy(hm.b, buf, (size_t)n);
	hm.n = (size_t)n;
	uint8_t v[8 + 3] = { 0, 0, 0, 0, 0, 0, 0, 1, 'x', 'y', 'z' };
	hand_attr(&hm, NTM_LCTL_A_COUNTER, v, sizeof(v));
	ck_assert_int_eq(ntm_lctl_decode_stats(hm.b, hm.n, &h, &m), -EBADMSG);
	ck_assert_uint_eq(m.n, 0);

	fill_stats(&m, NTM_LCTL_MAX_COUNTERS);
	m.n = NTM_LCTL_MAX_COUNTERS + 1;
	ck_assert_int_eq(ntm_lctl_reply_stats(buf, sizeof(buf), 1, &m), -EINVAL);
	m.n = UINT32_MAX;
	ck_assert_int_eq(ntm_lctl_reply_stats(buf, sizeof(buf), 1, &m), -EINVAL);
}
END_TEST

/* A one-counter STATS reply whose COUNTER value is the 8 value bytes and name bytes [0, n). */
static int stats_reply_with_name(const void *name, size_t n)
{
	static struct hand m;
	static struct ntm_lctl_stats out;
	struct ntm_lctl_hdr h;
	uint8_t v[8 + 300] = { 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08 };
	memcpy(v + 8, name, n);
	hand_hdr(&m, 1, NTM_LCTL_STATS_REPLY, NTM_LCTL_OK);
	hand_attr(&m, NTM_LCTL_A_COUNTER, v, 8 + n);
	int ret = ntm_lctl_decode_stats(m.b, m.n, &h, &out);
	if (ret == 0) {
		ck_assert_uint_eq(out.n, 1);
		ck_assert(out.c[0].value == 0x0102030405060708ull);
		ck_assert_uint_eq(strlen(out.c[0].name), n);
		ck_assert_mem_eq(out.c[0].name, name, n);
	} else {
		ck_assert_uint_eq(out.n, 0);
	}
	return ret;
}

START_TEST(test_a_counter_name_outside_a_z_0_9_underscore_of_1_to_63_bytes_is_rejected)
{
	char long_name[NTM_LCTL_COUNTER_NAME_MAX + 2];
	memset(long_name, 'a', sizeof(long_name));

	/* Decoder. */
	ck_assert_int_eq(stats_reply_with_name("rx_packets_2", 12), 0);
	ck_assert_int_eq(stats_reply_with_name(long_name, NTM_LCTL_COUNTER_NAME_MAX), 0);
	ck_assert_int_eq(stats_reply_with_name("", 0), -EBADMSG);
	ck_assert_int_eq(stats_reply_with_name(long_name, NTM_LCTL_COUNTER_NAME_MAX + 1), -EBADMSG);
	ck_assert_int_eq(stats_reply_with_name("Rx_packets", 10), -EBADMSG);
	ck_assert_int_eq(stats_reply_with_name("rx_packetS", 10), -EBADMSG);
	ck_assert_int_eq(stats_reply_with_name("rx-packets", 10), -EBADMSG);
	ck_assert_int_eq(stats_reply_with_name("rx\0packets", 10), -EBADMSG);
	ck_assert_int_eq(stats_reply_with_name("rx_packets\0", 11), -EBADMSG);
	ck_assert_int_eq(stats_reply_with_name("\0", 1), -EBADMSG);
	ck_assert_int_eq(stats_reply_with_name("rx.packets", 10), -EBADMSG);
	ck_assert_int_eq(stats_reply_with_name("rx packets", 10), -EBADMSG);
	ck_assert_int_eq(stats_reply_with_name("rx\xc3\xa9", 4), -EBADMSG);
	ck_assert_int_eq(stats_reply_with_name("rx/", 3), -EBADMSG);
	ck_assert_int_eq(stats_reply_with_name("rx{", 3), -EBADMSG);
	ck_assert_int_eq(stats_reply_with_name("rx`", 3), -EBADMSG);
	ck_assert_int_eq(stats_reply_with_name("rx:", 3), -EBADMSG);

	/* A COUNTER shorter than its 8-byte value. */
	static struct hand m;
	static struct ntm_lctl_stats out;
	struct ntm_lctl_hdr h;
	uint8_t v[8] = { 0 };
	for (size_t len = 0; len <= 8; len++) {
		hand_hdr(&m, 1, NTM_LCTL_STATS_REPLY, NTM_LCTL_OK);
		hand_attr(&m, NTM_LCTL_A_COUNTER, v, len);
		ck_assert_int_eq(ntm_lctl_decode_stats(m.b, m.n, &h, &out), -EBADMSG);
	}

	/* Encoder: the same names are refused, and one bad name among good ones. */
	static struct ntm_lctl_stats in;
	static uint8_t buf[NTM_LCTL_MSG_MAX];
	static const char *const bad[] = { "", "Rx_packets", "rx-packets", "rx.packets",
					   "rx packets", "rx\t", "rx\xc3\xa9" };
	for (size_t i = 0; i < NTM_ARRAY_SIZE(bad); i++) {
		fill_stats(&in, 3);
		strcpy(in.c[1].name, bad[i]);
		ck_assert_msg(ntm_lctl_reply_stats(buf, sizeof(buf), 1, &in) == -EINVAL,
			      "name \"%s\" accepted", bad[i]);
	}
	/* 64 bytes, so no NUL inside the array: the encoder must not read on. */
	fill_stats(&in, 3);
	memset(in.c[2].name, 'a', sizeof(in.c[2].name));
	ck_assert_int_eq(ntm_lctl_reply_stats(buf, sizeof(buf), 1, &in), -EINVAL);
	/* A bad name beyond n is not looked at. */
	fill_stats(&in, 3);
	strcpy(in.c[3].name, "BAD-");
	ck_assert_int_gt(ntm_lctl_reply_stats(buf, sizeof(buf), 1, &in), 0);
}
END_TEST

START_TEST(test_a_stats_encoder_reports_emsgsize_for_every_short_buffer)
{
	static struct ntm_lctl_stats m;
	static uint8_t buf[NTM_LCTL_MSG_MAX];
	fill_stats(&m, 5);
	int full = ntm_lctl_reply_stats(buf, sizeof(buf), 1, &m);
	ck_assert_int_gt(full, 0);
	for (int cap = 0; cap < full; cap++)
		ck_assert_int_eq(ntm_lctl_reply_stats(buf, (size_t)cap, 1, &m), -EMSGSIZE);
}
END_TEST

static Suite *ctlproto_suite(void)
{
	Suite *s = suite_create("ctlproto");
	TCase *tc = tcase_create("round trip");
	tcase_add_test(tc, test_every_request_and_reply_survives_a_round_trip);
	tcase_add_test(tc, test_a_resolve_name_request_keeps_every_field);
	tcase_add_test(tc, test_resolve_addr_ping_and_peers_requests_keep_every_field);
	tcase_add_test(tc, test_a_resolve_reply_keeps_name_ttl_and_addresses);
	tcase_add_test(tc, test_a_status_reply_keeps_every_field);
	tcase_add_test(tc, test_a_full_peers_reply_of_64_peers_keeps_every_record);
	tcase_add_test(tc, test_path_info_with_a_control_byte_is_refused_both_ways);
	tcase_add_test(tc, test_a_ping_reply_and_empty_replies_keep_their_fields);
	tcase_add_test(tc, test_a_non_ok_resolve_reply_decodes_with_its_status_and_no_data);
	suite_add_tcase(s, tc);

	tc = tcase_create("framing");
	tcase_add_test(tc, test_every_truncation_of_every_message_is_rejected);
	tcase_add_test(tc, test_every_body_truncation_with_a_matching_length_is_rejected_inside_attributes);
	tcase_add_test(tc, test_a_trailing_byte_after_the_body_is_rejected);
	tcase_add_test(tc, test_encoders_report_emsgsize_for_every_short_buffer);
	tcase_add_test(tc, test_an_oversize_body_length_is_rejected_from_the_header_alone);
	tcase_add_test(tc, test_a_version_other_than_one_is_rejected);
	tcase_add_test(tc, test_an_unknown_type_is_reported_with_its_body_length_so_it_can_be_skipped);
	tcase_add_test(tc, test_a_request_with_a_status_and_a_reply_with_an_unknown_status_are_rejected);
	tcase_add_test(tc, test_a_reply_of_another_type_or_a_request_given_to_a_reply_decoder_is_rejected);
	suite_add_tcase(s, tc);

	tc = tcase_create("values");
	tcase_add_test(tc, test_an_address_whose_length_does_not_match_its_family_is_rejected);
	tcase_add_test(tc, test_an_endpoint_with_a_wrong_length_family_or_port_zero_is_rejected);
	tcase_add_test(tc, test_a_name_with_an_embedded_nul_or_control_byte_is_rejected);
	tcase_add_test(tc, test_a_name_of_253_bytes_is_accepted_and_254_is_rejected);
	tcase_add_test(tc, test_a_reply_with_16_addresses_is_accepted_and_17_is_rejected);
	tcase_add_test(tc, test_the_largest_resolve_reply_fits_the_documented_resolver_buffer);
	tcase_add_test(tc, test_an_ok_resolve_name_reply_without_addresses_is_rejected);
	tcase_add_test(tc, test_nine_zones_sixty_five_peers_and_other_counts_above_their_caps_are_rejected);
	tcase_add_test(tc, test_request_values_out_of_range_are_rejected_by_the_decoder);
	tcase_add_test(tc, test_reply_enums_and_ping_figures_out_of_range_are_rejected);
	suite_add_tcase(s, tc);

	tc = tcase_create("attributes");
	tcase_add_test(tc, test_an_unknown_attribute_is_skipped_with_the_optional_bit_and_rejected_without);
	tcase_add_test(tc, test_unknown_attributes_inside_a_peer_record_follow_the_same_rule);
	tcase_add_test(tc, test_a_repeated_single_attribute_or_a_missing_required_one_is_rejected);
	tcase_add_test(tc, test_an_attribute_longer_than_the_body_is_rejected);
	tcase_add_test(tc, test_status_and_type_names_are_fixed_strings);
	tcase_add_test(tc, test_only_requests_in_the_0x40_range_are_privileged);
	tcase_add_test(tc, test_an_ok_reply_with_data_cannot_be_sent_empty);
	tcase_add_test(tc, test_a_refusal_answers_any_type_byte_with_badreq_or_denied_only);
	suite_add_tcase(s, tc);

	tc = tcase_create("stats");
	tcase_add_test(tc, test_a_stats_reply_of_0_1_and_the_most_counters_keeps_names_values_and_order);
	tcase_add_test(tc, test_gauges_round_trip_are_capped_and_optional);
	tcase_add_test(tc, test_a_stats_request_has_no_attributes_and_any_user_may_send_it);
	tcase_add_test(tc, test_a_non_ok_stats_reply_decodes_with_its_status_and_no_counters);
	tcase_add_test(tc, test_sixty_five_counters_are_rejected_by_encoder_and_decoder);
	tcase_add_test(tc, test_a_counter_name_outside_a_z_0_9_underscore_of_1_to_63_bytes_is_rejected);
	tcase_add_test(tc, test_a_stats_encoder_reports_emsgsize_for_every_short_buffer);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(ctlproto_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
