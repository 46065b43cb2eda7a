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
 * side's key as a direction-1 capsule carrying the same inner bytes. */
#include <arpa/inet.h>
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	size_t len;

	if (!ready) {
		setup();
		ready = 1;
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
