/* fuzz_relay.c - libFuzzer harness for relay_input (relay/relay.c) on a
 * relay holding one fixed allocation whose two sides are both known.
 *
 * The first input byte picks the mode. Mode 0 feeds the rest of the input
 * as a datagram straight to relay_input (what an attacker can send). Mode 1
 * splits it into header fields and an inner datagram and seals a capsule
 * with the right side's key before feeding it (what a node sends, so that
 * the forwarding, replay and rate paths run too). Either way: every capsule
 * lands in exactly one outcome counter, something is sent only for the
 * verdict RELAY_FORWARDED, and what is sent verifies with the receiving
 * side's key as a direction-1 capsule carrying the same inner bytes.
 *
 * A first byte of 0xff picks mode 2, what UDP_GRO hands the relay (Offload
 * = auto): a buffer of sealed capsules back to back, split with
 * relay_gro_seg at a fuzzed or the true segment size, each to relay_input
 * on a second relay that batches and sends trains (relay_set_gso), the
 * train send refusing (EIO) or failing (ENOBUFS) on demand, then flushed.
 * Every datagram of the buffer is counted once, every capsule that left
 * verifies as above and carries the inner bytes it was sealed with, trains
 * hold equal segments but a shorter last within the kernel's limits, and
 * exactly the forwarded ones left.
 *
 * A first byte of 0xfe picks mode 3, RELAY_PROBE (relay_probe_input) on a
 * relay holding two probe keys: the rest as a datagram, or (its first byte
 * odd) a probe whose token is minted under one of the keys with a fuzzed
 * lifetime, at a fuzzed time. Every probe lands in exactly one probe
 * counter; an echo leaves only for the verdict RELAY_PROBE_ECHOED, to the
 * probe's source, the same size, the probe with its kind byte made 2. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "relay.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond) do { if (!(cond)) abort(); } while (0)
#define ALLOC 0x01020304u

static const uint8_t key[2][32] = { { 1, 2, 3 }, { 4, 5, 6 } };
static struct relay rl;
static struct ntm_relay_key k[2];
static uint64_t now = 1000, ctr[2];
static uint8_t buf[NTM_MAX_DATAGRAM], inner_copy[NTM_MAX_DATAGRAM];
static size_t inner_copy_len;
static unsigned sends;

static int on_send(void *arg, const struct relay_ep *ep, const uint8_t *b, size_t len)
{
	struct ntm_relay_msg m;
	(void)arg;

	sends++;
	CHECK(ep->known);
	CHECK(ntm_relay_decode(b, len, &m) == 0);
	CHECK(m.direction == 1);
	CHECK(m.alloc_id == ALLOC);
	CHECK(ep->fd == 40 + m.side);
	CHECK(ntm_relaycap_verify(&k[m.side], b, len, &m) == 0);
	CHECK(m.inner_len == inner_copy_len);
	CHECK(m.inner_len == 0 || memcmp(m.inner, inner_copy, m.inner_len) == 0);
	return 0;
}

static struct ntm_udp_meta meta(uint8_t host)
{
	struct ntm_udp_meta m;
	struct sockaddr_in *sin = (struct sockaddr_in *)&m.src;

	memset(&m, 0, sizeof(m));
	sin->sin_family = AF_INET;
	sin->sin_port = htons(7541);
	sin->sin_addr.s_addr = htonl(0xc0000200u | host);
	m.srclen = sizeof(*sin);
	return m;
}

static void setup(void)
{
	struct relay_params p = { .max_allocs = 4, .pps = 1000, .bytes_ps = 1000000 };

	relay_init(&rl, &p, on_send, NULL);
	CHECK(relay_alloc(&rl, ALLOC, 600, key[0], key[1], now) == 0);
	for (int s = 0; s < 2; s++) {
		struct ntm_udp_meta m = meta((uint8_t)(1 + s));
		CHECK(ntm_relaycap_key_init(&k[s], key[s]) == 0);
		int n = ntm_relaycap_seal(&k[s], buf, sizeof(buf), (uint8_t)s, 0, ALLOC, ctr[s]++, NULL, 0);
		CHECK(n == NTM_RELAY_OVERHEAD);
		CHECK(relay_input(&rl, buf, (size_t)n, &m, 40 + s, now) == RELAY_KEEPALIVE);
	}
}

static uint64_t outcomes(void)
{
	const struct relay_stats *st = &rl.stats;
	return st->forwarded + st->keepalives + st->drop_malformed + st->drop_unknown_alloc +
	       st->drop_bad_direction + st->drop_auth + st->drop_replay +
	       st->drop_no_peer_endpoint + st->drop_rate + st->drop_send_error;
}

/* Mode 1: side (bit 0 of d[0]), direction (bit 1), counter step d[1],
 * then the inner datagram. */
static size_t seal_from(const uint8_t *d, size_t n)
{
	if (n < 2)
		return 0;
	uint8_t side = d[0] & 1, dir = (d[0] >> 1) & 1;
	ctr[side] += d[1] > 200 ? 0 : d[1]; /* > 200: replay the last counter */
	size_t inner_len = n - 2;
	int len = ntm_relaycap_seal(&k[side], buf, sizeof(buf), side, dir, ALLOC, ctr[side],
				    inner_len ? d + 2 : NULL, inner_len);
	if (d[1] <= 200)
		ctr[side]++;
	return len < 0 ? 0 : (size_t)len;
}

/* ---- mode 2: a UDP_GRO buffer through the batching, training relay ---- */

static struct relay rg;
static uint64_t gctr[2];
static uint8_t gbuf[NTM_MAX_DATAGRAM];
/* inner bytes by tag: each inner datagram of 2+ bytes starts with its tag */
static uint8_t ginner[256][256];
static size_t ginner_len[256];
static size_t gsent;
static int gtrain_err;

/* A forwarded capsule: direction 1 to the socket of the side it names,
 * verifying with that side's key, the inner bytes it was sealed with. */
static void check_out(int fd, const uint8_t *b, size_t len)
{
	struct ntm_relay_msg m;

	gsent++;
	CHECK(ntm_relay_decode(b, len, &m) == 0);
	CHECK(m.direction == 1 && m.alloc_id == ALLOC);
	CHECK(fd == 40 + m.side);
	CHECK(ntm_relaycap_verify(&k[m.side], b, len, &m) == 0);
	if (m.inner_len >= 2) {
		CHECK(ginner_len[m.inner[0]] == m.inner_len);
		CHECK(memcmp(ginner[m.inner[0]], m.inner, m.inner_len) == 0);
	}
}

static void g_sendv(void *arg, struct ntm_udp_tx *tx, size_t n)
{
	(void)arg;
	for (size_t i = 0; i < n; i++) {
		check_out(tx[i].fd, tx[i].buf, tx[i].len);
		tx[i].err = 0;
	}
}

static int g_sendtrain(void *arg, int fd, const struct iovec *iov, size_t n, size_t seg,
		       const struct ntm_udp_meta *to)
{
	size_t bytes = 0;
	(void)arg;
	(void)to;

	CHECK(n >= 2 && n <= NTM_UDP_TRAIN_MAX);
	for (size_t i = 0; i < n; i++) {
		CHECK(i + 1 < n ? iov[i].iov_len == seg : iov[i].iov_len <= seg);
		bytes += iov[i].iov_len;
	}
	CHECK(bytes <= NTM_UDP_TRAIN_BYTES);
	if (gtrain_err)
		return gtrain_err;
	for (size_t i = 0; i < n; i++)
		check_out(fd, iov[i].iov_base, iov[i].iov_len);
	return 0;
}

static int g_send(void *arg, const struct relay_ep *ep, const uint8_t *b, size_t len)
{
	(void)arg;
	check_out(ep->fd, b, len);
	return 0;
}

static void g_setup(void)
{
	struct relay_params p = { .max_allocs = 4, .pps = 1000000, .bytes_ps = 1000000000 };

	relay_init(&rg, &p, g_send, NULL);
	relay_set_batch(&rg, g_sendv);
	relay_set_gso(&rg, g_sendtrain);
	CHECK(relay_alloc(&rg, ALLOC, 600, key[0], key[1], now) == 0);
	for (int s = 0; s < 2; s++) {
		struct ntm_udp_meta m = meta((uint8_t)(1 + s));
		int n = ntm_relaycap_seal(&k[s], gbuf, sizeof(gbuf), (uint8_t)s, 0, ALLOC, gctr[s]++,
					  NULL, 0);
		CHECK(relay_input(&rg, gbuf, (size_t)n, &m, 40 + s, now) == RELAY_KEEPALIVE);
	}
}

static uint64_t g_outcomes(void)
{
	const struct relay_stats *st = &rg.stats;
	return st->forwarded + st->keepalives + st->drop_malformed + st->drop_unknown_alloc +
	       st->drop_bad_direction + st->drop_auth + st->drop_replay +
	       st->drop_no_peer_endpoint + st->drop_rate + st->drop_send_error + st->held;
}

/* d: side and mode bits, segment count, inner length, last inner length,
 * gro size override (2 bytes, 0: the true one), tamper offset (2 bytes,
 * 0: none), then inner bytes (cycled). */
static void gro_mode(const uint8_t *d, size_t n)
{
	static uint8_t tag;

	if (n < 8)
		return;
	uint8_t side = d[0] & 1, replay = d[0] & 2;
	gtrain_err = d[0] & 4 ? -EIO : d[0] & 8 ? -ENOBUFS : 0;
	size_t count = 1 + d[1] % NTM_UDP_TRAIN_MAX, ilen = d[2], last = d[3] <= ilen ? d[3] : ilen;
	uint16_t gro = (uint16_t)(d[4] | d[5] << 8);
	size_t tamper = (size_t)(d[6] | d[7] << 8);
	const uint8_t *src = d + 8;
	size_t srclen = n - 8, len = 0;

	now++; /* a millisecond of tokens per buffer */
	if (replay && gctr[side] >= count)
		gctr[side] -= count; /* the same counters again: all replays */
	for (size_t i = 0; i < count; i++) {
		size_t il = i + 1 < count ? ilen : last;
		uint8_t inner[256];
		if (il > 0 && il < NTM_DATA_OVERHEAD)
			il = NTM_DATA_OVERHEAD; /* the shortest inner datagram a capsule carries */
		for (size_t j = 0; j < il; j++)
			inner[j] = srclen ? src[(i * 7 + j) % srclen] : (uint8_t)j;
		if (il >= 2) {
			inner[0] = ++tag;
			memcpy(ginner[tag], inner, il);
			ginner_len[tag] = il;
		}
		int r = ntm_relaycap_seal(&k[side], gbuf + len, sizeof(gbuf) - len, side, 0, ALLOC,
					  gctr[side]++, il ? inner : NULL, il);
		CHECK(r > 0);
		len += (size_t)r;
	}
	size_t seg = NTM_RELAY_OVERHEAD + (ilen > 0 && ilen < NTM_DATA_OVERHEAD ? NTM_DATA_OVERHEAD : ilen);
	if (tamper && tamper <= len)
		gbuf[tamper - 1] ^= 0x5a;
	struct ntm_udp_meta m = meta((uint8_t)(1 + side));
	m.gro_size = gro ? gro : (uint16_t)seg;
	size_t segs = relay_gro_count(len, m.gro_size), off, total = 0;
	uint64_t rx = rg.stats.rx, fwd = rg.stats.forwarded, held = rg.stats.held_sent;
	gsent = 0;
	for (size_t i = 0; i < segs; i++) {
		size_t sl = relay_gro_seg(len, m.gro_size, i, &off);
		CHECK(off + sl <= len);
		total += sl;
		relay_input(&rg, gbuf + off, sl, &m, 40 + side, now);
	}
	CHECK(total == len);
	relay_flush(&rg);
	CHECK(rg.stats.rx == rx + segs);
	CHECK(g_outcomes() == rg.stats.rx);
	/* what left: the forwarded ones, and held ones sent on */
	CHECK(gsent == rg.stats.forwarded - fwd + (rg.stats.held_sent - held));
}

/* ---- mode 3: RELAY_PROBE ---- */

static struct relay rp;
static uint64_t pnow = 5000;
static uint8_t pbuf[NTM_MAX_DATAGRAM], pin[NTM_MAX_DATAGRAM];
static size_t plen;
static unsigned psends;

static int p_send(void *arg, const struct relay_ep *ep, const uint8_t *b, size_t len)
{
	struct ntm_udp_meta src = meta(7);
	(void)arg;

	psends++;
	CHECK(ep->fd == 50 && memcmp(&ep->meta.src, &src.src, src.srclen) == 0);
	CHECK(len == plen && len == NTM_RELAY_PROBE_LEN);
	CHECK(b[2] == NTM_RELAY_PROBE_ECHO && pin[2] == NTM_RELAY_PROBE_REQUEST);
	CHECK(memcmp(b, pin, 2) == 0 && memcmp(b + 3, pin + 3, len - 3) == 0);
	return 0;
}

static void p_setup(void)
{
	struct relay_params p = { .max_allocs = 1, .pps = 1, .bytes_ps = 1 };

	relay_init(&rp, &p, p_send, NULL);
	relay_probe_keys_add(&rp.probe_keys, 0x0a0b0c0d, key[0], 60, pnow);
	relay_probe_keys_add(&rp.probe_keys, 0x01020304, key[1], 600, pnow);
}

static uint64_t p_outcomes(void)
{
	const struct relay_stats *st = &rp.stats;
	return st->probe_echoes + st->probe_drop_malformed + st->probe_drop_key +
	       st->probe_drop_auth + st->probe_drop_expired + st->probe_drop_rate +
	       st->probe_drop_send_error;
}

/* d[0]: mode bit 0, key bit 1; d[1]: time step (100 ms); d[2..3]: token life (ms) */
static void probe_mode(const uint8_t *d, size_t n)
{
	if (n < 4 || n > sizeof(pbuf))
		return;
	pnow += (uint64_t)d[1] * 100;
	if (d[0] & 1) {
		struct ntm_relay_probe p = { .kind = NTM_RELAY_PROBE_REQUEST };
		const struct relay_probe_key *k = &rp.probe_keys.k[(d[0] >> 1) & 1];
		memcpy(&p.nonce, d + 4, n - 4 < 8 ? n - 4 : 8);
		/* minted a little earlier than now: it may have expired */
		if (relay_probe_mint(k, (uint64_t)(d[2] << 8 | d[3]), pnow - (d[0] >> 2) * 50 > k->made_ms ?
				     pnow - (d[0] >> 2) * 50 : k->made_ms, &p.token) < 0)
			p.token.key_id = k->id ? k->id : 1;
		CHECK(ntm_relay_probe_encode(pbuf, sizeof(pbuf), &p) == NTM_RELAY_PROBE_LEN);
		plen = NTM_RELAY_PROBE_LEN;
	} else {
		plen = n - 4;
		memcpy(pbuf, d + 4, plen);
	}
	memcpy(pin, pbuf, plen);
	struct ntm_udp_meta m = meta(7);
	unsigned before = psends;
	uint64_t probes = rp.stats.probes;
	enum relay_probe_verdict v = relay_probe_input(&rp, pbuf, plen, &m, 50, pnow);
	CHECK(rp.stats.probes == probes + 1);
	CHECK(p_outcomes() == rp.stats.probes);
	CHECK(psends == before + (v == RELAY_PROBE_ECHOED));
	CHECK(rp.stats.rx == 0 && rp.stats.forwarded == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	size_t len;

	if (!ready) {
		setup();
		g_setup();
		p_setup();
		ready = 1;
	}
	if (size >= 1 && data[0] == 0xfe) {
		probe_mode(data + 1, size - 1);
		return 0;
	}
	if (size >= 1 && data[0] == 0xff) {
		gro_mode(data + 1, size - 1);
		return 0;
	}
	if (size < 2 || size - 1 > sizeof(buf))
		return 0;
	now += data[0] >> 1;
	if (data[0] & 1) {
		len = seal_from(data + 1, size - 1);
		if (len == 0)
			return 0;
	} else {
		len = size - 1;
		memcpy(buf, data + 1, len);
	}
	inner_copy_len = len >= NTM_RELAY_OVERHEAD ? len - NTM_RELAY_OVERHEAD : 0;
	memcpy(inner_copy, buf + NTM_RELAY_HDR_LEN, inner_copy_len);
	struct ntm_udp_meta m = meta(data[0]);
	unsigned before = sends;
	uint64_t rx = rl.stats.rx;
	/* the socket stands for the side the capsule claims: on_send checks it */
	enum relay_verdict v = relay_input(&rl, buf, len, &m, 40 + (len > 2 ? buf[2] & 1 : 0), now);
	CHECK(rl.stats.rx == rx + 1);
	CHECK(outcomes() == rl.stats.rx);
	CHECK(sends == before + (v == RELAY_FORWARDED));
	return 0;
}
