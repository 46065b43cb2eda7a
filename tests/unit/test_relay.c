/* test_relay.c - RELAY capsule tags (lib/relaycap.c). */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include "relay.h"
#include "relaycap.h"
#include "util.h"

static uint8_t key_a[32], key_b[32];
static struct ntm_relay_key ka, kb;

static void keys(void)
{
	ck_assert_int_eq(ntm_random(key_a, sizeof(key_a)), 0);
	ck_assert_int_eq(ntm_random(key_b, sizeof(key_b)), 0);
	ck_assert_int_eq(ntm_relaycap_key_init(&ka, key_a), 0);
	ck_assert_int_eq(ntm_relaycap_key_init(&kb, key_b), 0);
}

static void keys_free(void)
{
	ntm_relaycap_key_free(&ka);
	ntm_relaycap_key_free(&kb);
}

/* A DATA-looking inner datagram of len bytes. */
static void fill_inner(uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(i * 7 + 3);
	p[0] = NTM_MSG_DATA;
	p[1] = NTM_WIRE_VERSION;
}

/* Decode and verify with k: 0 when the capsule is accepted. */
static int accepted(struct ntm_relay_key *k, const uint8_t *buf, size_t len, struct ntm_relay_msg *m)
{
	if (ntm_relay_decode(buf, len, m) < 0)
		return -EBADMSG;
	return ntm_relaycap_verify(k, buf, len, m);
}

START_TEST(test_a_sealed_capsule_decodes_and_verifies)
{
	uint8_t inner[100], out[200];
	struct ntm_relay_msg m;

	fill_inner(inner, sizeof(inner));
	int len = ntm_relaycap_seal(&ka, out, sizeof(out), 0, 0, 0x01020304, 77, inner, sizeof(inner));
	ck_assert_int_eq(len, NTM_RELAY_OVERHEAD + (int)sizeof(inner));
	ck_assert_int_eq(accepted(&ka, out, (size_t)len, &m), 0);
	ck_assert_uint_eq(m.side, 0);
	ck_assert_uint_eq(m.direction, 0);
	ck_assert_uint_eq(m.alloc_id, 0x01020304);
	ck_assert_uint_eq(m.counter, 77);
	ck_assert_uint_eq(m.inner_len, sizeof(inner));
	ck_assert_mem_eq(m.inner, inner, sizeof(inner));
}
END_TEST

START_TEST(test_the_tag_is_aes_256_gcm_over_the_header_and_inner_with_the_counter_nonce)
{
	uint8_t inner[40], out[100], nonce[12] = { 0 }, tag[16];
	struct ntm_aead a;

	fill_inner(inner, sizeof(inner));
	int len = ntm_relaycap_seal(&kb, out, sizeof(out), 1, 1, 9, 0x1122334455667788ull, inner,
				    sizeof(inner));
	ck_assert_int_eq(len, 72);
	ck_assert_int_eq(ntm_aead_init(&a, NTM_AEAD_AESGCM, key_b, 32), 0);
	ntm_put_be64(nonce + 4, 0x1122334455667788ull);
	ck_assert_int_eq(ntm_aead_seal(&a, nonce, 12, out, 56, NULL, 0, tag), 0);
	ntm_aead_free(&a);
	ck_assert_mem_eq(out + 56, tag, 16);
	const uint8_t hdr[16] = { 5, 1, 1, 1, 0, 0, 0, 9, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88 };
	ck_assert_mem_eq(out, hdr, 16);
}
END_TEST

START_TEST(test_an_empty_capsule_is_a_keepalive_of_32_bytes)
{
	uint8_t out[32];
	struct ntm_relay_msg m;

	ck_assert_int_eq(ntm_relaycap_seal(&ka, out, sizeof(out), 1, 0, 5, 0, NULL, 0), 32);
	ck_assert_int_eq(accepted(&ka, out, 32, &m), 0);
	ck_assert_uint_eq(m.inner_len, 0);
	ck_assert_ptr_null(m.inner);
}
END_TEST

START_TEST(test_every_single_bit_flip_is_rejected)
{
	uint8_t inner[64], out[96];
	struct ntm_relay_msg m;

	fill_inner(inner, sizeof(inner));
	int len = ntm_relaycap_seal(&ka, out, sizeof(out), 0, 0, 1234, 5, inner, sizeof(inner));
	ck_assert_int_eq(len, 96);
	for (size_t bit = 0; bit < 96 * 8; bit++) {
		out[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		ck_assert_msg(accepted(&ka, out, 96, &m) != 0, "flip of bit %zu accepted", bit);
		out[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	ck_assert_int_eq(accepted(&ka, out, 96, &m), 0);
	/* and a truncated or extended capsule */
	ck_assert_int_ne(accepted(&ka, out, 95, &m), 0);
	uint8_t longer[97];
	memcpy(longer, out, 96);
	longer[96] = 0;
	ck_assert_int_ne(accepted(&ka, longer, 97, &m), 0);
}
END_TEST

START_TEST(test_another_key_side_direction_alloc_or_counter_is_rejected)
{
	uint8_t inner[32], good[64], bad[64];
	struct ntm_relay_msg m;

	fill_inner(inner, sizeof(inner));
	ck_assert_int_eq(ntm_relaycap_seal(&ka, good, sizeof(good), 0, 0, 42, 3, inner, 32), 64);
	ck_assert_int_eq(accepted(&ka, good, 64, &m), 0);
	ck_assert_int_eq(accepted(&kb, good, 64, &m), -EBADMSG);
	/* the same tag with any header field changed */
	struct { uint8_t side, dir; uint32_t alloc; uint64_t ctr; } alt[] = {
		{ 1, 0, 42, 3 }, { 0, 1, 42, 3 }, { 0, 0, 43, 3 }, { 0, 0, 42, 4 },
	};
	for (size_t i = 0; i < NTM_ARRAY_SIZE(alt); i++) {
		ck_assert_int_eq(ntm_relay_encode(bad, sizeof(bad), alt[i].side, alt[i].dir,
						  alt[i].alloc, alt[i].ctr, inner, 32), 64);
		memcpy(bad + 48, good + 48, 16);
		ck_assert_msg(accepted(&ka, bad, 64, &m) == -EBADMSG, "variant %zu accepted", i);
	}
}
END_TEST

START_TEST(test_an_inner_datagram_already_in_place_is_sealed_without_copying)
{
	uint8_t inner[50], buf[100], ref[100];
	struct ntm_relay_msg m;

	fill_inner(inner, sizeof(inner));
	memcpy(buf + NTM_RELAY_HDR_LEN, inner, sizeof(inner));
	ck_assert_int_eq(ntm_relaycap_seal(&kb, buf, sizeof(buf), 1, 0, 7, 8,
					   buf + NTM_RELAY_HDR_LEN, sizeof(inner)), 82);
	ck_assert_int_eq(ntm_relaycap_seal(&kb, ref, sizeof(ref), 1, 0, 7, 8, inner, sizeof(inner)), 82);
	ck_assert_mem_eq(buf, ref, 82);
	ck_assert_int_eq(accepted(&kb, buf, 82, &m), 0);
	ck_assert_mem_eq(m.inner, inner, sizeof(inner));
	/* an inner datagram overlapping elsewhere (a received capsule being
	 * re-wrapped from an offset) is moved */
	memcpy(buf + 4, inner, sizeof(inner));
	ck_assert_int_eq(ntm_relaycap_seal(&kb, buf, sizeof(buf), 1, 0, 7, 8, buf + 4, sizeof(inner)), 82);
	ck_assert_mem_eq(buf, ref, 82);
}
END_TEST

START_TEST(test_sealing_refuses_a_small_buffer_and_invalid_fields)
{
	uint8_t inner[32], out[80];

	fill_inner(inner, sizeof(inner));
	ck_assert_int_eq(ntm_relaycap_seal(&ka, out, 63, 0, 0, 1, 0, inner, 32), -EMSGSIZE);
	ck_assert_int_eq(ntm_relaycap_seal(&ka, out, 31, 0, 0, 1, 0, NULL, 0), -EMSGSIZE);
	ck_assert_int_eq(ntm_relaycap_seal(&ka, out, sizeof(out), 2, 0, 1, 0, inner, 32), -EINVAL);
	ck_assert_int_eq(ntm_relaycap_seal(&ka, out, sizeof(out), 0, 2, 1, 0, inner, 32), -EINVAL);
	ck_assert_int_eq(ntm_relaycap_seal(&ka, out, sizeof(out), 0, 0, 0, 0, inner, 32), -EINVAL);
	ck_assert_int_eq(ntm_relaycap_seal(&ka, out, sizeof(out), 0, 0, 1, 0, inner, 31), -EINVAL);
}
END_TEST

START_TEST(test_a_zeroed_or_freed_key_verifies_nothing)
{
	struct ntm_relay_key z;
	uint8_t out[32];
	struct ntm_relay_msg m;

	memset(&z, 0, sizeof(z));
	ntm_relaycap_key_free(&z);
	ntm_relaycap_key_free(NULL);
	ck_assert_int_eq(ntm_relaycap_seal(&ka, out, sizeof(out), 0, 0, 1, 0, NULL, 0), 32);
	ck_assert_int_eq(ntm_relay_decode(out, 32, &m), 0);
	ck_assert_int_eq(ntm_relaycap_verify(&z, out, 32, &m), -EBADMSG);
	ck_assert_int_lt(ntm_relaycap_seal(&z, out, sizeof(out), 0, 0, 1, 0, NULL, 0), 0);
}
END_TEST

static TCase *capsule_tcase(void)
{
	TCase *tc = tcase_create("capsule");
	tcase_add_checked_fixture(tc, keys, keys_free);
	tcase_add_test(tc, test_a_sealed_capsule_decodes_and_verifies);
	tcase_add_test(tc, test_the_tag_is_aes_256_gcm_over_the_header_and_inner_with_the_counter_nonce);
	tcase_add_test(tc, test_an_empty_capsule_is_a_keepalive_of_32_bytes);
	tcase_add_test(tc, test_every_single_bit_flip_is_rejected);
	tcase_add_test(tc, test_another_key_side_direction_alloc_or_counter_is_rejected);
	tcase_add_test(tc, test_an_inner_datagram_already_in_place_is_sealed_without_copying);
	tcase_add_test(tc, test_sealing_refuses_a_small_buffer_and_invalid_fields);
	tcase_add_test(tc, test_a_zeroed_or_freed_key_verifies_nothing);
	return tc;
}

/* ---- the relay core (relay/relay.c) ---- */

#define ALLOC 0x0a0b0c0du
#define T0 1000000u

static struct relay rl;
static struct {
	unsigned n;
	struct relay_ep ep;
	uint8_t buf[2048];
	size_t len;
	int fail;             /* -errno to return */
} sent;

static int fake_send(void *arg, const struct relay_ep *ep, const uint8_t *buf, size_t len)
{
	(void)arg;
	sent.n++;
	sent.ep = *ep;
	ck_assert_uint_le(len, sizeof(sent.buf));
	memcpy(sent.buf, buf, len);
	sent.len = len;
	return sent.fail;
}

static struct ntm_udp_meta addr(const char *ip, uint16_t port)
{
	struct ntm_udp_meta m;
	struct sockaddr_in *sin = (struct sockaddr_in *)&m.src;

	memset(&m, 0, sizeof(m));
	sin->sin_family = AF_INET;
	sin->sin_port = htons(port);
	ck_assert_int_eq(inet_pton(AF_INET, ip, &sin->sin_addr), 1);
	m.srclen = sizeof(*sin);
	m.has_dst = true;
	m.family = AF_INET;
	inet_pton(AF_INET, "192.0.2.1", m.dst);
	return m;
}

static void core_setup_params(const struct relay_params *p)
{
	keys();
	memset(&sent, 0, sizeof(sent));
	relay_init(&rl, p, fake_send, NULL);
	ck_assert_int_eq(relay_alloc(&rl, ALLOC, 600, key_a, key_b, T0), 0);
}

static void core_setup(void)
{
	struct relay_params p;
	relay_params_default(&p);
	core_setup_params(&p);
}

static void core_teardown(void)
{
	relay_free_all(&rl);
	keys_free();
}

static uint64_t ctr_a, ctr_b;

/* A capsule from side s (sealed with key k) carrying inner_len bytes, fed
 * to the relay from ip:port at time now. */
static enum relay_verdict feed_as(uint8_t s, struct ntm_relay_key *k, uint8_t dir, uint32_t id,
				  uint64_t ctr, size_t inner_len, const char *ip, uint16_t port,
				  uint64_t now)
{
	uint8_t inner[1500], buf[1600];
	struct ntm_udp_meta m = addr(ip, port);

	ck_assert_uint_le(inner_len, sizeof(inner));
	fill_inner(inner, inner_len > 2 ? inner_len : 2);
	int len = ntm_relaycap_seal(k, buf, sizeof(buf), s, dir, id, ctr, inner_len ? inner : NULL,
				    inner_len);
	ck_assert_int_gt(len, 0);
	return relay_input(&rl, buf, (size_t)len, &m, 40 + s, now);
}

static enum relay_verdict from_a(size_t inner_len, uint64_t now)
{
	return feed_as(0, &ka, 0, ALLOC, ctr_a++, inner_len, "198.51.100.1", 4000, now);
}

static enum relay_verdict from_b(size_t inner_len, uint64_t now)
{
	return feed_as(1, &kb, 0, ALLOC, ctr_b++, inner_len, "203.0.113.7", 5000, now);
}

/* Every capsule received lands in exactly one outcome counter. */
static void check_accounting(void)
{
	const struct relay_stats *st = &rl.stats;
	uint64_t sum = st->forwarded + st->keepalives + st->drop_malformed + st->drop_unknown_alloc +
		       st->drop_bad_direction + st->drop_auth + st->drop_replay +
		       st->drop_no_peer_endpoint + st->drop_rate + st->drop_send_error + st->held;
	ck_assert_uint_eq(sum, st->rx);
}

START_TEST(test_capsules_are_forwarded_between_the_two_sides_both_ways)
{
	struct ntm_relay_msg m;

	ctr_a = ctr_b = 0;
	ck_assert_int_eq(from_a(0, T0), RELAY_KEEPALIVE);
	ck_assert_uint_eq(sent.n, 0);
	ck_assert_int_eq(from_b(100, T0), RELAY_FORWARDED);
	ck_assert_uint_eq(sent.n, 1);
	/* to A's endpoint, on A's socket, from the address A reached */
	struct sockaddr_in *to = (struct sockaddr_in *)&sent.ep.meta.src;
	ck_assert_uint_eq(ntohs(to->sin_port), 4000);
	ck_assert_int_eq(sent.ep.fd, 40);
	ck_assert_uint_eq(sent.len, 132);
	ck_assert_int_eq(accepted(&ka, sent.buf, sent.len, &m), 0);
	ck_assert_uint_eq(m.side, 0);
	ck_assert_uint_eq(m.direction, 1);
	ck_assert_uint_eq(m.alloc_id, ALLOC);
	ck_assert_uint_eq(m.counter, 0);
	uint8_t inner[100];
	fill_inner(inner, sizeof(inner));
	ck_assert_mem_eq(m.inner, inner, sizeof(inner));
	/* and back, with B's key and B's own counter */
	ck_assert_int_eq(from_a(40, T0), RELAY_FORWARDED);
	ck_assert_uint_eq(sent.n, 2);
	ck_assert_int_eq(accepted(&kb, sent.buf, sent.len, &m), 0);
	ck_assert_int_eq(accepted(&ka, sent.buf, sent.len, &m), -EBADMSG);
	ck_assert_uint_eq(m.side, 1);
	ck_assert_uint_eq(m.direction, 1);
	ck_assert_uint_eq(m.counter, 0);
	ck_assert_int_eq(sent.ep.fd, 41);
	ck_assert_int_eq(from_b(32, T0), RELAY_FORWARDED);
	ck_assert_int_eq(accepted(&ka, sent.buf, sent.len, &m), 0);
	ck_assert_uint_eq(m.counter, 1);
	ck_assert_uint_eq(rl.stats.forwarded, 3);
	ck_assert_uint_eq(rl.stats.forwarded_bytes, 172);
	check_accounting();
}
END_TEST

START_TEST(test_nothing_is_forwarded_before_the_other_side_was_heard)
{
	ctr_a = ctr_b = 0;
	/* a datagram larger than a handshake message is dropped */
	ck_assert_int_eq(from_b(RELAY_HOLD_MAX + 1, T0), RELAY_DROP_NO_PEER_ENDPOINT);
	ck_assert_uint_eq(sent.n, 0);
	ck_assert_uint_eq(rl.stats.drop_no_peer_endpoint, 1);
	/* a small one is held (the newest of them), and sent once A appears */
	ck_assert_int_eq(from_b(64, T0), RELAY_HELD);
	ck_assert_int_eq(from_b(76, T0), RELAY_HELD);
	ck_assert_uint_eq(sent.n, 0);
	ck_assert_uint_eq(rl.stats.held_dropped, 1);
	ck_assert_int_eq(from_a(0, T0), RELAY_KEEPALIVE);
	ck_assert_uint_eq(sent.n, 1);
	ck_assert_uint_eq(rl.stats.held_sent, 1);
	/* to A, re-tagged with A's key, the newest held datagram whole */
	struct ntm_relay_msg got;
	ck_assert_uint_eq(sent.len, NTM_RELAY_OVERHEAD + 76);
	ck_assert_int_eq(ntm_relay_decode(sent.buf, sent.len, &got), 0);
	ck_assert_uint_eq(got.side, 0);
	ck_assert_uint_eq(got.direction, 1);
	ck_assert_int_eq(ntm_relaycap_verify(&ka, sent.buf, sent.len, &got), 0);
	/* ... only once */
	ck_assert_int_eq(from_a(0, T0), RELAY_KEEPALIVE);
	ck_assert_uint_eq(sent.n, 1);
	check_accounting();
}
END_TEST

START_TEST(test_bad_capsules_are_dropped_counted_and_never_answered)
{
	uint8_t junk[64] = { NTM_MSG_RELAY, 1, 0, 0 };
	struct ntm_udp_meta m = addr("192.0.2.66", 666);

	ctr_a = ctr_b = 0;
	ck_assert_int_eq(from_a(0, T0), RELAY_KEEPALIVE);
	ck_assert_int_eq(from_b(0, T0), RELAY_KEEPALIVE);
	/* unknown allocation */
	ck_assert_int_eq(feed_as(0, &ka, 0, ALLOC + 1, 0, 64, "192.0.2.66", 666, T0),
			 RELAY_DROP_UNKNOWN_ALLOC);
	/* side A's header with B's key, and the reverse */
	ck_assert_int_eq(feed_as(0, &kb, 0, ALLOC, 100, 64, "192.0.2.66", 666, T0), RELAY_DROP_AUTH);
	ck_assert_int_eq(feed_as(1, &ka, 0, ALLOC, 100, 64, "192.0.2.66", 666, T0), RELAY_DROP_AUTH);
	/* a valid capsule replayed */
	ck_assert_int_eq(feed_as(0, &ka, 0, ALLOC, 7, 64, "198.51.100.1", 4000, T0), RELAY_FORWARDED);
	ck_assert_int_eq(feed_as(0, &ka, 0, ALLOC, 7, 64, "192.0.2.66", 666, T0), RELAY_DROP_REPLAY);
	/* direction 1 sent to the relay by a node, even with a valid tag */
	ck_assert_int_eq(feed_as(0, &ka, 1, ALLOC, 8, 64, "198.51.100.1", 4000, T0),
			 RELAY_DROP_BAD_DIRECTION);
	/* malformed: short, bad version, non-zero ... */
	ck_assert_int_eq(relay_input(&rl, junk, 20, &m, 9, T0), RELAY_DROP_MALFORMED);
	junk[1] = 2;
	ck_assert_int_eq(relay_input(&rl, junk, sizeof(junk), &m, 9, T0), RELAY_DROP_MALFORMED);
	ck_assert_uint_eq(sent.n, 1); /* the one valid capsule */
	ck_assert_uint_eq(rl.stats.drop_unknown_alloc, 1);
	ck_assert_uint_eq(rl.stats.drop_auth, 2);
	ck_assert_uint_eq(rl.stats.drop_replay, 1);
	ck_assert_uint_eq(rl.stats.drop_bad_direction, 1);
	ck_assert_uint_eq(rl.stats.drop_malformed, 2);
	/* none of them moved A's endpoint: B's next packet still goes to A */
	ck_assert_int_eq(from_b(64, T0), RELAY_FORWARDED);
	struct sockaddr_in *to = (struct sockaddr_in *)&sent.ep.meta.src;
	ck_assert_uint_eq(ntohs(to->sin_port), 4000);
	check_accounting();
}
END_TEST

START_TEST(test_an_authenticated_capsule_moves_the_endpoint)
{
	ctr_a = ctr_b = 0;
	ck_assert_int_eq(from_a(0, T0), RELAY_KEEPALIVE);
	ck_assert_int_eq(feed_as(0, &ka, 0, ALLOC, ctr_a++, 0, "198.51.100.99", 4100, T0),
			 RELAY_KEEPALIVE);
	ck_assert_int_eq(from_b(64, T0), RELAY_FORWARDED);
	struct sockaddr_in *to = (struct sockaddr_in *)&sent.ep.meta.src;
	ck_assert_uint_eq(ntohs(to->sin_port), 4100);
}
END_TEST

START_TEST(test_one_pair_is_held_to_its_packet_rate)
{
	struct relay_params p = { .max_allocs = 8, .pps = 3, .bytes_ps = 1000000 };

	core_teardown();
	core_setup_params(&p);
	ctr_a = ctr_b = 0;
	ck_assert_int_eq(from_a(0, T0), RELAY_KEEPALIVE);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(from_b(64, T0), RELAY_FORWARDED);
	ck_assert_int_eq(from_b(64, T0), RELAY_DROP_RATE);
	ck_assert_int_eq(from_a(64, T0 + 10), RELAY_DROP_RATE);
	ck_assert_uint_eq(sent.n, 3);
	/* a third of a second later, one more packet's worth */
	ck_assert_int_eq(from_a(64, T0 + 340), RELAY_FORWARDED);
	ck_assert_int_eq(from_a(64, T0 + 340), RELAY_DROP_RATE);
	/* keepalives are not held back */
	ck_assert_int_eq(from_a(0, T0 + 340), RELAY_KEEPALIVE);
	ck_assert_uint_eq(rl.stats.drop_rate, 3);
	/* another allocation has its own bucket */
	ck_assert_int_eq(relay_alloc(&rl, 77, 600, key_a, key_b, T0), 0);
	ck_assert_int_eq(feed_as(0, &ka, 0, 77, 0, 0, "198.51.100.1", 4000, T0 + 340), RELAY_KEEPALIVE);
	ck_assert_int_eq(feed_as(1, &kb, 0, 77, 0, 64, "203.0.113.7", 5000, T0 + 340), RELAY_FORWARDED);
	check_accounting();
}
END_TEST

START_TEST(test_one_pair_is_held_to_its_byte_rate)
{
	struct relay_params p = { .max_allocs = 8, .pps = 1000, .bytes_ps = 1000 };

	core_teardown();
	core_setup_params(&p);
	ctr_a = ctr_b = 0;
	ck_assert_int_eq(from_a(0, T0), RELAY_KEEPALIVE);
	ck_assert_int_eq(from_b(600, T0), RELAY_FORWARDED);
	ck_assert_int_eq(from_b(400, T0), RELAY_FORWARDED);
	ck_assert_int_eq(from_b(32, T0), RELAY_DROP_RATE);
	ck_assert_int_eq(from_b(32, T0 + 40), RELAY_FORWARDED);
	ck_assert_uint_eq(rl.stats.drop_rate, 1);
}
END_TEST

START_TEST(test_an_idle_allocation_expires_and_a_busy_one_does_not)
{
	ctr_a = ctr_b = 0;
	ck_assert_int_eq(relay_alloc(&rl, 2, 10, key_a, key_b, T0), 0);
	ck_assert_uint_eq(rl.stats.allocs, 2);
	ck_assert_uint_eq(relay_expire(&rl, T0 + 10000), 0);
	ck_assert_int_eq(feed_as(0, &ka, 0, 2, 0, 0, "198.51.100.1", 4000, T0 + 9000), RELAY_KEEPALIVE);
	ck_assert_uint_eq(relay_expire(&rl, T0 + 18000), 0);
	ck_assert_uint_eq(relay_expire(&rl, T0 + 19000), 0);
	ck_assert_uint_eq(relay_expire(&rl, T0 + 19001), 1);
	ck_assert(!relay_has(&rl, 2));
	ck_assert(relay_has(&rl, ALLOC));
	ck_assert_int_eq(feed_as(0, &ka, 0, 2, 1, 0, "198.51.100.1", 4000, T0 + 19002),
			 RELAY_DROP_UNKNOWN_ALLOC);
	ck_assert_uint_eq(relay_expire(&rl, T0 + 600001), 1);
	ck_assert_uint_eq(rl.stats.allocs, 0);
	ck_assert_uint_eq(rl.stats.allocs_expired, 2);
	ck_assert_int_eq(from_a(0, T0 + 600001), RELAY_DROP_UNKNOWN_ALLOC);
}
END_TEST

START_TEST(test_a_freed_allocation_forwards_nothing)
{
	ctr_a = ctr_b = 0;
	ck_assert_int_eq(from_a(0, T0), RELAY_KEEPALIVE);
	ck_assert_int_eq(relay_free(&rl, ALLOC), 0);
	ck_assert_int_eq(relay_free(&rl, ALLOC), -ENOENT);
	ck_assert_int_eq(from_b(64, T0), RELAY_DROP_UNKNOWN_ALLOC);
	ck_assert_uint_eq(sent.n, 0);
	ck_assert_uint_eq(rl.stats.allocs_freed, 1);
	ck_assert_uint_eq(rl.stats.allocs, 0);
}
END_TEST

START_TEST(test_the_table_is_bounded_and_ids_are_not_taken_over)
{
	struct relay_params p = { .max_allocs = 2, .pps = 10, .bytes_ps = 10000 };
	uint8_t other[32];

	core_teardown();
	core_setup_params(&p);
	ck_assert_int_eq(relay_alloc(&rl, 2, 600, key_a, key_b, T0), 0);
	ck_assert_int_eq(relay_alloc(&rl, 3, 600, key_a, key_b, T0), -ENOSPC);
	ck_assert_int_eq(relay_alloc(&rl, 0, 600, key_a, key_b, T0), -EINVAL);
	ck_assert_int_eq(relay_alloc(&rl, 4, 0, key_a, key_b, T0), -EINVAL);
	/* a repeat with the same keys is the same allocation; other keys are refused */
	ck_assert_int_eq(relay_alloc(&rl, 2, 600, key_a, key_b, T0), 0);
	memcpy(other, key_b, 32);
	other[0] ^= 1;
	ck_assert_int_eq(relay_alloc(&rl, 2, 600, key_a, other, T0), -EEXIST);
	ck_assert_int_eq(relay_alloc(&rl, 2, 600, key_b, key_a, T0), -EEXIST);
	ck_assert_uint_eq(rl.stats.allocs, 2);
	ck_assert_uint_eq(rl.stats.allocs_refused, 3);
	ck_assert_int_eq(relay_free(&rl, 2), 0);
	ck_assert_int_eq(relay_alloc(&rl, 3, 600, key_a, key_b, T0), 0);
}
END_TEST

START_TEST(test_a_failed_send_is_counted)
{
	ctr_a = ctr_b = 0;
	ck_assert_int_eq(from_a(0, T0), RELAY_KEEPALIVE);
	sent.fail = -ENETUNREACH;
	ck_assert_int_eq(from_b(64, T0), RELAY_DROP_SEND_ERROR);
	ck_assert_uint_eq(rl.stats.drop_send_error, 1);
	ck_assert_uint_eq(rl.stats.forwarded, 0);
	check_accounting();
}
END_TEST

/* Batched forwarding: capsules fed from buffers that stay until the flush,
 * as the daemons' receive batches. */
#define NB (RELAY_QUEUE + 8)
static uint8_t bbuf[NB][256];
static struct {
	unsigned calls;
	size_t n;                      /* datagrams seen in all calls */
	struct ntm_udp_tx tx[NB];      /* copies of them */
	uint8_t data[NB][256];
	size_t fail_at;                /* this datagram (overall index) fails; SIZE_MAX: none */
} sv;

static void fake_sendv(void *arg, struct ntm_udp_tx *tx, size_t n)
{
	(void)arg;
	sv.calls++;
	ck_assert_uint_le(n, RELAY_QUEUE);
	for (size_t i = 0; i < n; i++, sv.n++) {
		ck_assert_uint_lt(sv.n, NB);
		ck_assert_uint_le(tx[i].len, sizeof(sv.data[0]));
		tx[i].err = sv.n == sv.fail_at ? -ENOBUFS : 0;
		sv.tx[sv.n] = tx[i];
		memcpy(sv.data[sv.n], tx[i].buf, tx[i].len);
	}
}

static enum relay_verdict feed_batched(unsigned slot, uint8_t s, uint64_t ctr, size_t inner_len,
				       const char *ip, uint16_t port)
{
	uint8_t inner[128];
	struct ntm_udp_meta m = addr(ip, port);

	ck_assert_uint_le(inner_len, sizeof(inner));
	fill_inner(inner, inner_len);
	int len = ntm_relaycap_seal(s ? &kb : &ka, bbuf[slot], sizeof(bbuf[slot]), s, 0, ALLOC, ctr,
				    inner, inner_len);
	ck_assert_int_gt(len, 0);
	return relay_input(&rl, bbuf[slot], (size_t)len, &m, 40 + s, T0);
}

START_TEST(test_a_batch_is_forwarded_at_the_flush_in_order_and_a_full_queue_flushes_itself)
{
	struct ntm_relay_msg m;

	memset(&sv, 0, sizeof(sv));
	sv.fail_at = SIZE_MAX;
	relay_set_batch(&rl, fake_sendv);
	ctr_a = ctr_b = 0;
	ck_assert_int_eq(from_a(0, T0), RELAY_KEEPALIVE);
	ck_assert_int_eq(from_b(0, T0), RELAY_KEEPALIVE);
	/* NB capsules, A and B in turn: RELAY_QUEUE fill the queue, the next flushes it */
	for (unsigned i = 0; i < NB; i++) {
		uint8_t s = i & 1;
		ck_assert_int_eq(feed_batched(i, s, s ? ctr_b++ : ctr_a++, 32 + i, s ? "203.0.113.7" :
					      "198.51.100.1", s ? 5000 : 4000), RELAY_FORWARDED);
		ck_assert_uint_eq(sv.n, i < RELAY_QUEUE ? 0 : RELAY_QUEUE);
	}
	ck_assert_uint_eq(sent.n, 0);  /* nothing went through the one-by-one send */
	ck_assert_uint_eq(rl.stats.forwarded, NB);
	relay_flush(&rl);
	ck_assert_uint_eq(sv.calls, 2);
	ck_assert_uint_eq(sv.n, NB);
	relay_flush(&rl);              /* an empty queue sends nothing */
	ck_assert_uint_eq(sv.calls, 2);
	for (unsigned i = 0; i < NB; i++) {
		uint8_t to = (i & 1) ^ 1;
		struct sockaddr_in *sin = (struct sockaddr_in *)&sv.tx[i].to.src;
		ck_assert_int_eq(sv.tx[i].fd, 40 + to);
		ck_assert_uint_eq(ntohs(sin->sin_port), to ? 5000 : 4000);
		ck_assert_int_eq(accepted(to ? &kb : &ka, sv.data[i], sv.tx[i].len, &m), 0);
		ck_assert_uint_eq(m.direction, 1);
		ck_assert_uint_eq(m.counter, i / 2);      /* each side's own counter, in order */
		ck_assert_uint_eq(m.inner_len, 32 + i);
	}
	ck_assert_uint_eq(rl.stats.forwarded_bytes, NB * 32 + (NB - 1) * NB / 2);
	check_accounting();
}
END_TEST

START_TEST(test_a_batched_capsule_keeps_its_endpoint_and_a_failed_one_is_a_send_error)
{
	memset(&sv, 0, sizeof(sv));
	sv.fail_at = 1;
	relay_set_batch(&rl, fake_sendv);
	ctr_a = ctr_b = 0;
	ck_assert_int_eq(from_a(0, T0), RELAY_KEEPALIVE);
	ck_assert_int_eq(feed_batched(0, 1, ctr_b++, 40, "203.0.113.7", 5000), RELAY_FORWARDED);
	ck_assert_int_eq(feed_batched(1, 1, ctr_b++, 50, "203.0.113.7", 5000), RELAY_FORWARDED);
	/* A moves: what was queued for it still goes where A was */
	ck_assert_int_eq(feed_batched(2, 0, ctr_a++, 0, "198.51.100.9", 4100), RELAY_KEEPALIVE);
	ck_assert_int_eq(feed_batched(3, 1, ctr_b++, 60, "203.0.113.7", 5000), RELAY_FORWARDED);
	/* and an allocation freed in the middle of a batch leaves no dangling endpoint */
	ck_assert_int_eq(relay_free(&rl, ALLOC), 0);
	relay_flush(&rl);
	ck_assert_uint_eq(sv.n, 3);
	ck_assert_uint_eq(ntohs(((struct sockaddr_in *)&sv.tx[0].to.src)->sin_port), 4000);
	ck_assert_uint_eq(ntohs(((struct sockaddr_in *)&sv.tx[2].to.src)->sin_port), 4100);
	ck_assert_uint_eq(rl.stats.forwarded, 2);
	ck_assert_uint_eq(rl.stats.forwarded_bytes, 100);
	ck_assert_uint_eq(rl.stats.drop_send_error, 1);
	check_accounting();
}
END_TEST


/* ---- trains (Offload = auto): the plan, the GRO split, the flush ---- */

/* A queued datagram of len bytes to 192.0.2.<host>:port on fd. */
static struct ntm_udp_tx qd(int fd, uint8_t host, uint16_t port, size_t len)
{
	struct ntm_udp_tx t;
	struct sockaddr_in *sin = (struct sockaddr_in *)&t.to.src;

	memset(&t, 0, sizeof(t));
	t.fd = fd;
	t.len = len;
	sin->sin_family = AF_INET;
	sin->sin_port = htons(port);
	sin->sin_addr.s_addr = htonl(0xc0000200u | host);
	t.to.srclen = sizeof(*sin);
	return t;
}

/* Every datagram in exactly one train, each train to one destination and
 * of one size but a shorter last, within the limits, and each
 * destination's datagrams in their queue order. */
static void check_plan(const struct ntm_udp_tx *tx, size_t n, const uint8_t *order,
		       const struct relay_train *tr, size_t nt)
{
	unsigned seen[RELAY_QUEUE] = { 0 };
	size_t k = 0;

	for (size_t t = 0; t < nt; t++) {
		size_t bytes = 0;
		ck_assert_uint_eq(tr[t].first, k);
		ck_assert_uint_ge(tr[t].count, 1);
		ck_assert_uint_le(tr[t].count, NTM_UDP_TRAIN_MAX);
		for (size_t i = 0; i < tr[t].count; i++, k++) {
			const struct ntm_udp_tx *d = &tx[order[k]], *f = &tx[order[tr[t].first]];
			seen[order[k]]++;
			bytes += d->len;
			ck_assert_int_eq(d->fd, f->fd);
			ck_assert_int_eq(ntm_sockaddr_cmp((const struct sockaddr *)&d->to.src,
							  (const struct sockaddr *)&f->to.src), 0);
			if (i + 1 < tr[t].count)
				ck_assert_uint_eq(d->len, tr[t].seg);
			else
				ck_assert_uint_le(d->len, tr[t].seg);
		}
		if (tr[t].count > 1)
			ck_assert_uint_le(bytes, NTM_UDP_TRAIN_BYTES);
	}
	ck_assert_uint_eq(k, n);
	for (size_t i = 0; i < n; i++)
		ck_assert_uint_eq(seen[i], 1);
	/* per destination, the order of the queue */
	for (size_t a = 0; a < n; a++)
		for (size_t b = a + 1; b < n; b++) {
			const struct ntm_udp_tx *x = &tx[order[a]], *y = &tx[order[b]];
			if (x->fd == y->fd && ntm_sockaddr_cmp((const struct sockaddr *)&x->to.src,
							       (const struct sockaddr *)&y->to.src) == 0)
				ck_assert_uint_lt(order[a], order[b]);
		}
}

START_TEST(test_equal_capsules_to_one_destination_make_one_train_ended_by_a_shorter_one)
{
	struct ntm_udp_tx tx[6];
	uint8_t order[RELAY_QUEUE];
	struct relay_train tr[RELAY_QUEUE];

	for (int i = 0; i < 4; i++)
		tx[i] = qd(40, 1, 4000, 1400);
	tx[4] = qd(40, 1, 4000, 300);  /* shorter: the last of the train */
	tx[5] = qd(40, 1, 4000, 1400); /* starts the next */
	size_t nt = relay_plan_trains(tx, 6, order, tr);
	ck_assert_uint_eq(nt, 2);
	ck_assert_uint_eq(tr[0].count, 5);
	ck_assert_uint_eq(tr[0].seg, 1400);
	ck_assert_uint_eq(tr[1].count, 1);
	for (int i = 0; i < 6; i++)
		ck_assert_uint_eq(order[i], i);
	check_plan(tx, 6, order, tr, nt);
}
END_TEST

START_TEST(test_a_longer_capsule_starts_a_new_train_and_keeps_its_place)
{
	struct ntm_udp_tx tx[5] = { qd(40, 1, 4000, 500), qd(40, 1, 4000, 500), qd(40, 1, 4000, 900),
				    qd(40, 1, 4000, 900), qd(40, 1, 4000, 500) };
	uint8_t order[RELAY_QUEUE];
	struct relay_train tr[RELAY_QUEUE];

	/* 500 500 | 900 900 500 (the shorter one ends the second) */
	size_t nt = relay_plan_trains(tx, 5, order, tr);
	ck_assert_uint_eq(nt, 2);
	ck_assert_uint_eq(tr[0].count, 2);
	ck_assert_uint_eq(tr[1].count, 3);
	ck_assert_uint_eq(tr[1].seg, 900);
	check_plan(tx, 5, order, tr, nt);
}
END_TEST

START_TEST(test_interleaved_destinations_are_grouped_each_in_its_order)
{
	struct ntm_udp_tx tx[8];
	uint8_t order[RELAY_QUEUE];
	struct relay_train tr[RELAY_QUEUE];

	/* A, B, A, B, ...; then one to A's address on another socket, and one
	 * to A's address from another local address */
	for (int i = 0; i < 6; i++)
		tx[i] = qd(40, (uint8_t)(1 + (i & 1)), 4000, 1000);
	tx[6] = qd(41, 1, 4000, 1000);
	tx[7] = qd(40, 1, 4000, 1000);
	tx[7].to.has_dst = true;
	tx[7].to.family = AF_INET;
	tx[7].to.dst[0] = 10;
	size_t nt = relay_plan_trains(tx, 8, order, tr);
	ck_assert_uint_eq(nt, 4);
	ck_assert_uint_eq(tr[0].count, 3);
	ck_assert_uint_eq(tr[1].count, 3);
	const uint8_t want[8] = { 0, 2, 4, 1, 3, 5, 6, 7 };
	ck_assert_mem_eq(order, want, 8);
	check_plan(tx, 8, order, tr, nt);
}
END_TEST

START_TEST(test_a_train_stays_within_its_bytes_and_count)
{
	struct ntm_udp_tx tx[RELAY_QUEUE];
	uint8_t order[RELAY_QUEUE];
	struct relay_train tr[RELAY_QUEUE];

	for (int i = 0; i < 50; i++)
		tx[i] = qd(40, 1, 4000, 1400);
	size_t nt = relay_plan_trains(tx, 50, order, tr);
	ck_assert_uint_eq(nt, 2);
	ck_assert_uint_eq(tr[0].count, NTM_UDP_TRAIN_BYTES / 1400); /* 46 */
	check_plan(tx, 50, order, tr, nt);
	for (int i = 0; i < RELAY_QUEUE; i++)
		tx[i] = qd(40, 1, 4000, 100);
	nt = relay_plan_trains(tx, RELAY_QUEUE, order, tr);
	ck_assert_uint_eq(tr[0].count, NTM_UDP_TRAIN_MAX < RELAY_QUEUE ? NTM_UDP_TRAIN_MAX
								      : RELAY_QUEUE);
	check_plan(tx, RELAY_QUEUE, order, tr, nt);
}
END_TEST

START_TEST(test_any_queue_is_planned_completely_and_in_order)
{
	struct ntm_udp_tx tx[RELAY_QUEUE];
	uint8_t order[RELAY_QUEUE];
	struct relay_train tr[RELAY_QUEUE];
	uint32_t x = 12345;

	for (int round = 0; round < 500; round++) {
		size_t n = 1 + round % RELAY_QUEUE;
		for (size_t i = 0; i < n; i++) {
			x = x * 1103515245u + 12345u;
			static const size_t lens[] = { 0, 1, 100, 1400, 1400, 1400, 1500, 65000 };
			tx[i] = qd(40 + (int)((x >> 8) & 1), (uint8_t)((x >> 12) % 3), 4000,
				   lens[(x >> 16) % 8]);
		}
		size_t nt = relay_plan_trains(tx, n, order, tr);
		ck_assert_uint_le(nt, n);
		check_plan(tx, n, order, tr, nt);
	}
}
END_TEST

START_TEST(test_a_gro_buffer_splits_into_its_datagrams)
{
	size_t off;

	/* no GRO, or one datagram not larger than the size: itself */
	ck_assert_uint_eq(relay_gro_count(1400, 0), 1);
	ck_assert_uint_eq(relay_gro_seg(1400, 0, 0, &off), 1400);
	ck_assert_uint_eq(off, 0);
	ck_assert_uint_eq(relay_gro_count(0, 0), 1);
	ck_assert_uint_eq(relay_gro_seg(0, 0, 0, &off), 0);
	ck_assert_uint_eq(relay_gro_count(900, 1400), 1);
	ck_assert_uint_eq(relay_gro_seg(900, 1400, 0, &off), 900);
	/* equal ones */
	ck_assert_uint_eq(relay_gro_count(4200, 1400), 3);
	for (size_t i = 0; i < 3; i++) {
		ck_assert_uint_eq(relay_gro_seg(4200, 1400, i, &off), 1400);
		ck_assert_uint_eq(off, i * 1400);
	}
	/* the last shorter */
	ck_assert_uint_eq(relay_gro_count(4201, 1400), 4);
	ck_assert_uint_eq(relay_gro_seg(4201, 1400, 3, &off), 1);
	ck_assert_uint_eq(off, 4200);
	/* past the end: nothing */
	ck_assert_uint_eq(relay_gro_seg(4201, 1400, 4, &off), 0);
	ck_assert_uint_eq(relay_gro_seg(900, 0, 1, &off), 0);
	/* the largest buffer in datagrams of one byte */
	ck_assert_uint_eq(relay_gro_count(65507, 1), 65507);
}
END_TEST

static struct {
	unsigned calls;
	int fail;                      /* -errno to return */
	size_t n, seg;                 /* the last call's */
	int fd;
	struct ntm_udp_meta to;
	uint8_t data[NB][256];
	size_t len[NB];
} st;

static int fake_sendtrain(void *arg, int fd, const struct iovec *iov, size_t n, size_t seg,
			  const struct ntm_udp_meta *to)
{
	(void)arg;
	st.calls++;
	ck_assert_uint_ge(n, 2);
	ck_assert_uint_le(n, NTM_UDP_TRAIN_MAX);
	for (size_t i = 0; i < n; i++) {
		if (i + 1 < n)
			ck_assert_uint_eq(iov[i].iov_len, seg);
		else
			ck_assert_uint_le(iov[i].iov_len, seg);
	}
	if (st.fail)
		return st.fail;
	ck_assert_uint_le(n, NB);
	for (size_t i = 0; i < n; i++) {
		memcpy(st.data[i], iov[i].iov_base, iov[i].iov_len);
		st.len[i] = iov[i].iov_len;
	}
	st.n = n;
	st.seg = seg;
	st.fd = fd;
	st.to = *to;
	return 0;
}

static void trains_setup(void)
{
	core_setup();
	memset(&sv, 0, sizeof(sv));
	memset(&st, 0, sizeof(st));
	sv.fail_at = SIZE_MAX;
	relay_set_batch(&rl, fake_sendv);
	relay_set_gso(&rl, fake_sendtrain);
	ctr_a = ctr_b = 0;
	ck_assert_int_eq(from_a(0, T0), RELAY_KEEPALIVE);
	ck_assert_int_eq(from_b(0, T0), RELAY_KEEPALIVE);
}

/* What a node's UDP_SEGMENT train of n capsules (inner_len bytes each, the
 * last last_inner) looks like in the relay's receive buffer: back to back. */
static size_t gro_buffer(uint8_t *buf, size_t cap, size_t n, size_t inner_len, size_t last_inner)
{
	uint8_t inner[128];
	size_t off = 0;

	fill_inner(inner, sizeof(inner));
	for (size_t i = 0; i < n; i++) {
		size_t il = i + 1 < n ? inner_len : last_inner;
		int len = ntm_relaycap_seal(&kb, buf + off, cap - off, 1, 0, ALLOC, ctr_b++, inner, il);
		ck_assert_int_gt(len, 0);
		off += (size_t)len;
	}
	return off;
}

/* The split as the daemons do it: each datagram to relay_input. */
static void feed_gro(uint8_t *buf, size_t len, uint16_t gro, const char *ip, uint16_t port)
{
	struct ntm_udp_meta m = addr(ip, port);
	size_t off;

	m.gro_size = gro;
	for (size_t i = 0; i < relay_gro_count(len, gro); i++) {
		size_t seg = relay_gro_seg(len, gro, i, &off);
		relay_input(&rl, buf + off, seg, &m, 41, T0);
	}
}

START_TEST(test_a_gro_buffer_is_checked_capsule_by_capsule_and_leaves_as_one_train)
{
	static uint8_t buf[8192];
	struct ntm_relay_msg m;
	size_t seg = NTM_RELAY_OVERHEAD + 100;
	size_t len = gro_buffer(buf, sizeof(buf), 5, 100, 60);

	buf[2 * seg + 20] ^= 1;          /* the third capsule's tag fails */
	feed_gro(buf, len, (uint16_t)seg, "203.0.113.7", 5000);
	ck_assert_uint_eq(rl.stats.drop_auth, 1);
	ck_assert_uint_eq(rl.stats.forwarded, 4);
	relay_flush(&rl);
	/* the four good ones, to A, as one train; nothing one by one */
	ck_assert_uint_eq(st.calls, 1);
	ck_assert_uint_eq(sv.n, 0);
	ck_assert_uint_eq(st.n, 4);
	ck_assert_uint_eq(st.seg, seg);
	ck_assert_int_eq(st.fd, 40);
	ck_assert_uint_eq(ntohs(((struct sockaddr_in *)&st.to.src)->sin_port), 4000);
	for (size_t i = 0; i < 4; i++) {
		ck_assert_int_eq(accepted(&ka, st.data[i], st.len[i], &m), 0);
		ck_assert_uint_eq(m.direction, 1);
		ck_assert_uint_eq(m.counter, i);
		ck_assert_uint_eq(m.inner_len, i < 3 ? 100 : 60);
	}
	ck_assert_uint_eq(rl.stats.tx_trains, 1);
	ck_assert_uint_eq(rl.stats.tx_train_capsules, 4);
	/* a replayed buffer forwards nothing */
	len = gro_buffer(buf, sizeof(buf), 3, 100, 100);
	ctr_b -= 3;
	static uint8_t again[8192];
	ck_assert_uint_eq(gro_buffer(again, sizeof(again), 3, 100, 100), len);
	feed_gro(buf, len, (uint16_t)seg, "203.0.113.7", 5000);
	feed_gro(again, len, (uint16_t)seg, "203.0.113.7", 5000);
	ck_assert_uint_eq(rl.stats.drop_replay, 3);
	relay_flush(&rl);
	ck_assert_uint_eq(st.calls, 2);
	ck_assert_uint_eq(st.n, 3);
	check_accounting();
}
END_TEST

START_TEST(test_a_refused_train_goes_one_by_one_and_its_destination_until_it_moves)
{
	static uint8_t buf[3][8192];
	size_t len = gro_buffer(buf[0], sizeof(buf[0]), 4, 100, 100);
	size_t seg = NTM_RELAY_OVERHEAD + 100;

	st.fail = -EIO;
	feed_gro(buf[0], len, (uint16_t)seg, "203.0.113.7", 5000);
	relay_flush(&rl);
	ck_assert_uint_eq(st.calls, 1);
	ck_assert_uint_eq(sv.n, 4);      /* one by one instead */
	ck_assert_uint_eq(rl.stats.tx_gso_fallback, 1);
	ck_assert_uint_eq(rl.stats.forwarded, 4);
	/* A's endpoint is remembered: no train is tried there */
	len = gro_buffer(buf[1], sizeof(buf[1]), 4, 100, 100);
	feed_gro(buf[1], len, (uint16_t)seg, "203.0.113.7", 5000);
	relay_flush(&rl);
	ck_assert_uint_eq(st.calls, 1);
	ck_assert_uint_eq(sv.n, 8);
	/* A moves (authenticated, from a new port): trains again */
	ck_assert_int_eq(feed_as(0, &ka, 0, ALLOC, ctr_a++, 0, "198.51.100.1", 4001, T0),
			 RELAY_KEEPALIVE);
	st.fail = 0;
	len = gro_buffer(buf[2], sizeof(buf[2]), 4, 100, 100);
	feed_gro(buf[2], len, (uint16_t)seg, "203.0.113.7", 5000);
	relay_flush(&rl);
	ck_assert_uint_eq(st.calls, 2);
	ck_assert_uint_eq(st.n, 4);
	ck_assert_uint_eq(ntohs(((struct sockaddr_in *)&st.to.src)->sin_port), 4001);
	ck_assert_uint_eq(sv.n, 8);
	ck_assert_uint_eq(rl.stats.forwarded, 12);
	check_accounting();
}
END_TEST

START_TEST(test_a_train_the_kernel_drops_is_a_send_error_for_each_capsule)
{
	static uint8_t buf[8192];
	size_t len = gro_buffer(buf, sizeof(buf), 3, 100, 100);

	st.fail = -ENOBUFS;
	feed_gro(buf, len, (uint16_t)(NTM_RELAY_OVERHEAD + 100), "203.0.113.7", 5000);
	relay_flush(&rl);
	ck_assert_uint_eq(sv.n, 0);
	ck_assert_uint_eq(rl.stats.forwarded, 0);
	ck_assert_uint_eq(rl.stats.forwarded_bytes, 0);
	ck_assert_uint_eq(rl.stats.drop_send_error, 3);
	ck_assert_uint_eq(rl.stats.tx_gso_fallback, 0);
	check_accounting();
}
END_TEST

START_TEST(test_mixed_sizes_and_both_directions_keep_each_sides_order)
{
	/* B sends 3 equal capsules, A one, B a longer one then 2 more: A gets
	 * a train of 3 and then the longer one and 2 more in order; B gets
	 * one datagram. */
	static const size_t inner[6] = { 80, 80, 80, 0, 120, 120 };
	const uint8_t side[6] = { 1, 1, 1, 0, 1, 1 };
	struct ntm_relay_msg m;

	for (unsigned i = 0; i < 6; i++) {
		size_t il = side[i] ? inner[i] : 50;
		ck_assert_int_eq(feed_batched(i, side[i], side[i] ? ctr_b++ : ctr_a++, il,
					      side[i] ? "203.0.113.7" : "198.51.100.1",
					      side[i] ? 5000 : 4000), RELAY_FORWARDED);
	}
	relay_flush(&rl);
	ck_assert_uint_eq(st.calls, 2);  /* 3 x 80 and 2 x 120, to A */
	ck_assert_uint_eq(st.n, 2);
	ck_assert_uint_eq(st.seg, NTM_RELAY_OVERHEAD + 120);
	ck_assert_int_eq(accepted(&ka, st.data[1], st.len[1], &m), 0);
	ck_assert_uint_eq(m.counter, 4);   /* A's sixth: 3, then 4, then 5 */
	ck_assert_uint_eq(sv.n, 1);        /* to B, alone */
	ck_assert_int_eq(accepted(&kb, sv.data[0], sv.tx[0].len, &m), 0);
	ck_assert_uint_eq(rl.stats.tx_trains, 2);
	ck_assert_uint_eq(rl.stats.tx_train_capsules, 5);
	check_accounting();
}
END_TEST

/* ---- RELAY_PROBE (doc/protocol.md 2.11) ---- */

static const uint8_t pk1[32] = { 0x11 }, pk2[32] = { 0x22 }, pk3[32] = { 0x33 };

START_TEST(test_probe_keys_keep_the_newest_two_and_a_repeat_changes_nothing)
{
	struct relay_probe_keys ks = { 0 };

	relay_probe_keys_add(&ks, 1, pk1, 60, T0);
	relay_probe_keys_add(&ks, 1, pk1, 60, T0 + 5000);   /* repeat: keeps its age */
	ck_assert_uint_eq(ks.k[0].id, 1);
	ck_assert_uint_eq(ks.k[0].made_ms, T0);
	ck_assert_uint_eq(ks.k[1].id, 0);
	relay_probe_keys_add(&ks, 2, pk2, 60, T0 + 6000);
	ck_assert_uint_eq(ks.k[0].id, 2);
	ck_assert_uint_eq(ks.k[1].id, 1);
	relay_probe_keys_add(&ks, 3, pk3, 60, T0 + 7000);
	ck_assert_uint_eq(ks.k[0].id, 3);
	ck_assert_uint_eq(ks.k[1].id, 2);
	ck_assert_mem_eq(ks.k[1].key, pk2, 32);
	relay_probe_keys_add(&ks, 0, pk1, 60, T0);          /* id 0, lifetime 0: ignored */
	relay_probe_keys_add(&ks, 4, pk1, 0, T0);
	ck_assert_uint_eq(ks.k[0].id, 3);
	relay_probe_keys_wipe(&ks);
	ck_assert_uint_eq(ks.k[0].id, 0);
}
END_TEST

START_TEST(test_a_probe_token_is_good_under_its_key_until_its_not_after)
{
	struct relay_probe_keys dc = { 0 }, relay = { 0 };
	struct ntm_relay_token t, bad;

	/* the DC made key 7 at its T0; the relay got it 3 ms later by its clock */
	relay_probe_keys_add(&dc, 7, pk1, 60, T0);
	relay_probe_keys_add(&relay, 7, pk1, 60, 5 * T0 + 3);
	ck_assert_int_eq(relay_probe_mint(&dc.k[0], 10000, T0 + 2000, &t), 0);
	ck_assert_uint_eq(t.key_id, 7);
	ck_assert_uint_eq(t.not_after_ms, 12000);
	ck_assert_int_eq(relay_probe_check(&relay, &t, 5 * T0 + 3 + 2000), RELAY_PROBE_ECHOED);
	ck_assert_int_eq(relay_probe_check(&relay, &t, 5 * T0 + 3 + 12000), RELAY_PROBE_ECHOED);
	ck_assert_int_eq(relay_probe_check(&relay, &t, 5 * T0 + 3 + 12001), RELAY_PROBE_DROP_EXPIRED);
	for (size_t i = 0; i < sizeof(t.mac) * 8; i++) {
		bad = t;
		bad.mac[i / 8] ^= (uint8_t)(1u << (i % 8));
		ck_assert_int_eq(relay_probe_check(&relay, &bad, 5 * T0 + 2000), RELAY_PROBE_DROP_AUTH);
	}
	bad = t;
	bad.not_after_ms += 60000;              /* a longer life: the MAC says no */
	ck_assert_int_eq(relay_probe_check(&relay, &bad, 5 * T0 + 2000), RELAY_PROBE_DROP_AUTH);
	bad = t;
	bad.key_id = 8;
	ck_assert_int_eq(relay_probe_check(&relay, &bad, 5 * T0 + 2000), RELAY_PROBE_DROP_KEY);
	/* the key past its lifetime: gone, whatever the token says */
	ck_assert_int_eq(relay_probe_check(&relay, &t, 5 * T0 + 3 + 60000), RELAY_PROBE_DROP_KEY);
	/* another key with the same id: the MAC says no */
	relay_probe_keys_add(&relay, 7, pk2, 60, 5 * T0 + 10);
	ck_assert_int_eq(relay_probe_check(&relay, &t, 5 * T0 + 2000), RELAY_PROBE_DROP_AUTH);
	/* a key made later: the older one still verifies its tokens */
	relay_probe_keys_wipe(&relay);
	relay_probe_keys_add(&relay, 7, pk1, 60, 5 * T0);
	relay_probe_keys_add(&relay, 9, pk3, 60, 5 * T0 + 1000);
	ck_assert_int_eq(relay_probe_check(&relay, &t, 5 * T0 + 2000), RELAY_PROBE_ECHOED);
	relay_probe_keys_add(&relay, 10, pk2, 60, 5 * T0 + 1500);  /* a third pushes it out */
	ck_assert_int_eq(relay_probe_check(&relay, &t, 5 * T0 + 2000), RELAY_PROBE_DROP_KEY);
	/* nothing is minted under a key that is not live */
	ck_assert_int_eq(relay_probe_mint(&dc.k[1], 10000, T0, &t), -ENOKEY);
	ck_assert_int_eq(relay_probe_mint(&dc.k[0], 10000, T0 + 60000, &t), -ENOKEY);
}
END_TEST

static int probe_to(const char *ip, uint16_t port, const struct ntm_relay_token *tok, uint8_t kind,
		    size_t len, uint64_t now)
{
	struct ntm_relay_probe p = { .kind = kind, .nonce = 0x5555aaaa12345678ull, .token = *tok };
	struct ntm_udp_meta m = addr(ip, port);
	uint8_t buf[64];

	ck_assert_int_eq(ntm_relay_probe_encode(buf, sizeof(buf), &p), NTM_RELAY_PROBE_LEN);
	return relay_probe_input(&rl, buf, len, &m, 77, now);
}

static void check_probe_accounting(void)
{
	const struct relay_stats *c = &rl.stats;
	ck_assert_uint_eq(c->probe_echoes + c->probe_drop_malformed + c->probe_drop_key +
				  c->probe_drop_auth + c->probe_drop_expired + c->probe_drop_rate +
				  c->probe_drop_send_error,
			  c->probes);
	ck_assert_uint_eq(c->rx, 0);           /* probes are not capsules */
}

START_TEST(test_a_good_probe_is_echoed_in_place_to_its_source_and_a_bad_one_gets_nothing)
{
	struct ntm_relay_token t, bad;
	struct ntm_relay_probe echo;

	relay_probe_keys_add(&rl.probe_keys, 5, pk1, 60, T0);
	ck_assert_int_eq(relay_probe_mint(&rl.probe_keys.k[0], 10000, T0, &t), 0);
	ck_assert_int_eq(probe_to("203.0.113.9", 7541, &t, NTM_RELAY_PROBE_REQUEST, 36, T0 + 1),
			 RELAY_PROBE_ECHOED);
	ck_assert_uint_eq(sent.n, 1);
	ck_assert_uint_eq(sent.len, NTM_RELAY_PROBE_LEN);    /* never more than it got */
	ck_assert_int_eq(sent.ep.fd, 77);
	struct ntm_udp_meta src = addr("203.0.113.9", 7541);
	ck_assert_int_eq(ntm_sockaddr_cmp((struct sockaddr *)&sent.ep.meta.src,
					  (struct sockaddr *)&src.src), 0);
	ck_assert_int_eq(ntm_relay_probe_decode(sent.buf, sent.len, &echo), 0);
	ck_assert_uint_eq(echo.kind, NTM_RELAY_PROBE_ECHO);
	ck_assert_uint_eq(echo.nonce, 0x5555aaaa12345678ull);
	ck_assert_mem_eq(&echo.token, &t, sizeof(t));
	ck_assert_uint_eq(rl.stats.probe_echoes, 1);

	bad = t;
	bad.mac[0] ^= 1;
	ck_assert_int_eq(probe_to("203.0.113.9", 7541, &bad, NTM_RELAY_PROBE_REQUEST, 36, T0 + 2),
			 RELAY_PROBE_DROP_AUTH);
	bad = t;
	bad.key_id = 6;
	ck_assert_int_eq(probe_to("203.0.113.9", 7541, &bad, NTM_RELAY_PROBE_REQUEST, 36, T0 + 2),
			 RELAY_PROBE_DROP_KEY);
	ck_assert_int_eq(probe_to("203.0.113.9", 7541, &t, NTM_RELAY_PROBE_ECHO, 36, T0 + 2),
			 RELAY_PROBE_DROP_MALFORMED);
	ck_assert_int_eq(probe_to("203.0.113.9", 7541, &t, NTM_RELAY_PROBE_REQUEST, 35, T0 + 2),
			 RELAY_PROBE_DROP_MALFORMED);
	ck_assert_int_eq(probe_to("203.0.113.9", 7541, &t, NTM_RELAY_PROBE_REQUEST, 36, T0 + 10001),
			 RELAY_PROBE_DROP_EXPIRED);
	ck_assert_uint_eq(sent.n, 1);
	ck_assert_uint_eq(rl.stats.probe_drop_auth, 1);
	ck_assert_uint_eq(rl.stats.probe_drop_key, 1);
	ck_assert_uint_eq(rl.stats.probe_drop_malformed, 2);
	ck_assert_uint_eq(rl.stats.probe_drop_expired, 1);
	check_probe_accounting();
}
END_TEST

START_TEST(test_echoes_are_limited_per_source_and_a_failed_send_is_counted)
{
	struct ntm_relay_token t;
	unsigned echoed = 0;

	relay_probe_keys_add(&rl.probe_keys, 5, pk1, 60, T0);
	ck_assert_int_eq(relay_probe_mint(&rl.probe_keys.k[0], 10000, T0, &t), 0);
	for (int i = 0; i < 3 * RELAY_PROBE_BURST; i++)
		echoed += probe_to("203.0.113.9", (uint16_t)(7000 + i), &t, NTM_RELAY_PROBE_REQUEST,
				   36, T0 + 10) == RELAY_PROBE_ECHOED;
	ck_assert_uint_eq(echoed, RELAY_PROBE_BURST);           /* ports do not matter */
	ck_assert_uint_eq(rl.stats.probe_drop_rate, 2 * RELAY_PROBE_BURST);
	ck_assert_uint_eq(sent.n, RELAY_PROBE_BURST);
	/* another source has its own budget; the first gets tokens back in time */
	ck_assert_int_eq(probe_to("198.51.100.20", 7541, &t, NTM_RELAY_PROBE_REQUEST, 36, T0 + 10),
			 RELAY_PROBE_ECHOED);
	ck_assert_int_eq(probe_to("203.0.113.9", 7541, &t, NTM_RELAY_PROBE_REQUEST, 36, T0 + 1010),
			 RELAY_PROBE_ECHOED);
	sent.fail = -ENOBUFS;
	ck_assert_int_eq(probe_to("192.0.2.77", 7541, &t, NTM_RELAY_PROBE_REQUEST, 36, T0 + 1010),
			 RELAY_PROBE_DROP_SEND_ERROR);
	ck_assert_uint_eq(rl.stats.probe_drop_send_error, 1);
	check_probe_accounting();
}
END_TEST

static TCase *probe_tcase(void)
{
	TCase *tc = tcase_create("probe");
	tcase_add_checked_fixture(tc, core_setup, core_teardown);
	tcase_add_test(tc, test_probe_keys_keep_the_newest_two_and_a_repeat_changes_nothing);
	tcase_add_test(tc, test_a_probe_token_is_good_under_its_key_until_its_not_after);
	tcase_add_test(tc, test_a_good_probe_is_echoed_in_place_to_its_source_and_a_bad_one_gets_nothing);
	tcase_add_test(tc, test_echoes_are_limited_per_source_and_a_failed_send_is_counted);
	return tc;
}

static TCase *trains_tcase(void)
{
	TCase *tc = tcase_create("trains");
	tcase_add_test(tc, test_equal_capsules_to_one_destination_make_one_train_ended_by_a_shorter_one);
	tcase_add_test(tc, test_a_longer_capsule_starts_a_new_train_and_keeps_its_place);
	tcase_add_test(tc, test_interleaved_destinations_are_grouped_each_in_its_order);
	tcase_add_test(tc, test_a_train_stays_within_its_bytes_and_count);
	tcase_add_test(tc, test_any_queue_is_planned_completely_and_in_order);
	tcase_add_test(tc, test_a_gro_buffer_splits_into_its_datagrams);
	return tc;
}

static TCase *trains_core_tcase(void)
{
	TCase *tc = tcase_create("trains_core");
	tcase_add_checked_fixture(tc, trains_setup, core_teardown);
	tcase_add_test(tc, test_a_gro_buffer_is_checked_capsule_by_capsule_and_leaves_as_one_train);
	tcase_add_test(tc, test_a_refused_train_goes_one_by_one_and_its_destination_until_it_moves);
	tcase_add_test(tc, test_a_train_the_kernel_drops_is_a_send_error_for_each_capsule);
	tcase_add_test(tc, test_mixed_sizes_and_both_directions_keep_each_sides_order);
	return tc;
}

static TCase *core_tcase(void)
{
	TCase *tc = tcase_create("core");
	tcase_add_checked_fixture(tc, core_setup, core_teardown);
	tcase_add_test(tc, test_capsules_are_forwarded_between_the_two_sides_both_ways);
	tcase_add_test(tc, test_nothing_is_forwarded_before_the_other_side_was_heard);
	tcase_add_test(tc, test_bad_capsules_are_dropped_counted_and_never_answered);
	tcase_add_test(tc, test_an_authenticated_capsule_moves_the_endpoint);
	tcase_add_test(tc, test_one_pair_is_held_to_its_packet_rate);
	tcase_add_test(tc, test_one_pair_is_held_to_its_byte_rate);
	tcase_add_test(tc, test_an_idle_allocation_expires_and_a_busy_one_does_not);
	tcase_add_test(tc, test_a_freed_allocation_forwards_nothing);
	tcase_add_test(tc, test_the_table_is_bounded_and_ids_are_not_taken_over);
	tcase_add_test(tc, test_a_failed_send_is_counted);
	tcase_add_test(tc, test_a_batch_is_forwarded_at_the_flush_in_order_and_a_full_queue_flushes_itself);
	tcase_add_test(tc, test_a_batched_capsule_keeps_its_endpoint_and_a_failed_one_is_a_send_error);
	return tc;
}

int main(void)
{
	Suite *s = suite_create("relay");
	suite_add_tcase(s, capsule_tcase());
	suite_add_tcase(s, core_tcase());
	suite_add_tcase(s, trains_tcase());
	suite_add_tcase(s, trains_core_tcase());
	suite_add_tcase(s, probe_tcase());
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
