/* test_offline.c - an enrolled peer that is offline: the DC's DIRECTION_NAK
 * with its last-seen field (lib/wire_ctl.c, doc/protocol.md 5.8), the
 * control reply's OFFLINE attribute (lib/ctlproto.c, doc/control.md) and
 * the text ntmctl prints; and a peer an access policy forbids: the NAK's
 * FORBIDDEN status and the reply's FORBIDDEN attribute. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ctlproto.h"
#include "util.h"
#include "wire.h"

static int nak_round_trip(const struct ntm_ctl *in, struct ntm_ctl *out, uint8_t *buf, size_t cap)
{
	int n = ntm_ctl_encode(in, buf, cap);
	if (n < 0)
		return n;
	return ntm_ctl_decode(buf, (size_t)n, out) < 0 ? -EBADMSG : n;
}

START_TEST(test_a_nak_without_last_seen_is_5_bytes_as_before)
{
	struct ntm_ctl m = { .type = NTM_CTL_DIRECTION_NAK }, out;
	uint8_t buf[64];

	m.u.nak.req_id = 0x01020304;
	m.u.nak.status = NTM_NAK_OFFLINE;
	int n = nak_round_trip(&m, &out, buf, sizeof(buf));
	ck_assert_int_eq(n, 2 + 5);
	ck_assert_uint_eq(out.u.nak.req_id, 0x01020304);
	ck_assert_uint_eq(out.u.nak.status, NTM_NAK_OFFLINE);
	ck_assert(!out.u.nak.has_last_seen);
}
END_TEST

START_TEST(test_an_offline_nak_carries_last_seen_in_4_more_bytes)
{
	struct ntm_ctl m = { .type = NTM_CTL_DIRECTION_NAK }, out;
	uint8_t buf[64];

	m.u.nak.req_id = 7;
	m.u.nak.status = NTM_NAK_OFFLINE;
	m.u.nak.has_last_seen = true;
	m.u.nak.last_seen_s = 185;
	int n = nak_round_trip(&m, &out, buf, sizeof(buf));
	ck_assert_int_eq(n, 2 + 9);
	ck_assert_uint_eq(ntm_get_be32(buf + 2 + 5), 185);
	ck_assert(out.u.nak.has_last_seen);
	ck_assert_uint_eq(out.u.nak.last_seen_s, 185);

	m.u.nak.last_seen_s = NTM_NAK_LAST_SEEN_UNKNOWN;
	ck_assert_int_eq(nak_round_trip(&m, &out, buf, sizeof(buf)), 2 + 9);
	ck_assert_uint_eq(out.u.nak.last_seen_s, NTM_NAK_LAST_SEEN_UNKNOWN);
}
END_TEST

START_TEST(test_last_seen_on_another_status_or_a_partial_field_is_rejected)
{
	struct ntm_ctl m = { .type = NTM_CTL_DIRECTION_NAK }, out;
	uint8_t buf[64];

	m.u.nak.req_id = 7;
	m.u.nak.status = NTM_NAK_NOT_FOUND;
	m.u.nak.has_last_seen = true;
	ck_assert_int_eq(ntm_ctl_encode(&m, buf, sizeof(buf)), -EINVAL);

	m.u.nak.status = NTM_NAK_OFFLINE;
	int n = ntm_ctl_encode(&m, buf, sizeof(buf));
	ck_assert_int_eq(n, 11);
	buf[2 + 4] = NTM_NAK_BUSY;                       /* a decoder refuses it too */
	ck_assert_int_eq(ntm_ctl_decode(buf, (size_t)n, &out), -EBADMSG);
	buf[2 + 4] = NTM_NAK_OFFLINE;
	for (size_t len = 8; len < 11; len++)            /* 1..3 bytes of the field */
		ck_assert_int_eq(ntm_ctl_decode(buf, len, &out), -EBADMSG);
	buf[11] = 0;                                     /* and a byte too many */
	ck_assert_int_eq(ntm_ctl_decode(buf, 12, &out), -EBADMSG);
	ck_assert_int_eq(ntm_ctl_decode(buf, 11, &out), 0);
}
END_TEST

START_TEST(test_the_control_reply_is_tryagain_with_offline_for_any_client)
{
	uint8_t buf[128];
	struct ntm_lctl_hdr h;
	struct ntm_lctl_resolve r;
	static struct ntm_lctl_ping_result p;
	uint32_t seen = 1;

	int n = ntm_lctl_reply_offline(buf, sizeof(buf), NTM_LCTL_RESOLVE_NAME, 42, 600);
	ck_assert_int_eq(n, NTM_LCTL_HDR_LEN + 8);
	ck_assert_int_eq(ntm_lctl_decode_offline(buf, (size_t)n, &seen), 1);
	ck_assert_uint_eq(seen, 600);
	/* the RESOLVE decoder, as in nss_ntm and older clients: TRYAGAIN, OFFLINE skipped */
	ck_assert_int_eq(ntm_lctl_decode_resolve(buf, (size_t)n, &h, &r), 0);
	ck_assert_uint_eq(h.status, NTM_LCTL_TRYAGAIN);
	ck_assert_uint_eq(h.req_id, 42);
	ck_assert_uint_eq(h.type, NTM_LCTL_RESOLVE_NAME_REPLY);

	n = ntm_lctl_reply_offline(buf, sizeof(buf), NTM_LCTL_PING, 43, NTM_LCTL_LAST_SEEN_UNKNOWN);
	ck_assert_int_gt(n, 0);
	ck_assert_int_eq(ntm_lctl_decode_ping(buf, (size_t)n, &h, &p), 0);
	ck_assert_uint_eq(h.status, NTM_LCTL_TRYAGAIN);
	ck_assert_int_eq(ntm_lctl_decode_offline(buf, (size_t)n, &seen), 1);
	ck_assert_uint_eq(seen, NTM_LCTL_LAST_SEEN_UNKNOWN);

	ck_assert_int_eq(ntm_lctl_reply_offline(buf, sizeof(buf), NTM_LCTL_STATUS, 1, 5), -EINVAL);
	ck_assert_int_eq(ntm_lctl_reply_offline(buf, 10, NTM_LCTL_PING, 1, 5), -EMSGSIZE);
}
END_TEST

START_TEST(test_a_reply_without_offline_or_a_bad_one_says_so)
{
	uint8_t buf[128];
	uint32_t seen = 9;

	int n = ntm_lctl_reply_empty(buf, sizeof(buf), NTM_LCTL_RESOLVE_NAME, 1, NTM_LCTL_TRYAGAIN);
	ck_assert_int_eq(ntm_lctl_decode_offline(buf, (size_t)n, &seen), 0);
	ck_assert_uint_eq(seen, 0);
	n = ntm_lctl_reply_empty(buf, sizeof(buf), NTM_LCTL_RESOLVE_NAME, 1, NTM_LCTL_NOTFOUND);
	ck_assert_int_eq(ntm_lctl_decode_offline(buf, (size_t)n, &seen), 0);

	n = ntm_lctl_reply_offline(buf, sizeof(buf), NTM_LCTL_RESOLVE_ADDR, 1, 5);
	ntm_put_be16(buf + NTM_LCTL_HDR_LEN + 2, 3);            /* OFFLINE of 3 bytes */
	ck_assert_int_eq(ntm_lctl_decode_offline(buf, (size_t)n - 1, &seen), -EBADMSG);
	n = ntm_lctl_reply_offline(buf, sizeof(buf), NTM_LCTL_RESOLVE_ADDR, 1, 5);
	ck_assert_int_eq(ntm_lctl_decode_offline(buf, (size_t)n - 1, &seen), -EBADMSG);
	/* two OFFLINE attributes */
	uint8_t two[64];
	memcpy(two, buf, (size_t)n);
	memcpy(two + n, buf + NTM_LCTL_HDR_LEN, 8);
	ntm_put_be32(two + 8, 16);
	ck_assert_int_eq(ntm_lctl_decode_offline(two, (size_t)n + 8, &seen), -EBADMSG);
}
END_TEST

START_TEST(test_the_message_says_how_long_ago_in_a_readable_unit)
{
	char b[96];
	ntm_lctl_offline_text(b, sizeof(b), 0);
	ck_assert_str_eq(b, "offline, last seen 0 s ago");
	ntm_lctl_offline_text(b, sizeof(b), 119);
	ck_assert_str_eq(b, "offline, last seen 119 s ago");
	ntm_lctl_offline_text(b, sizeof(b), 120);
	ck_assert_str_eq(b, "offline, last seen 2 min ago");
	ntm_lctl_offline_text(b, sizeof(b), 7199);
	ck_assert_str_eq(b, "offline, last seen 119 min ago");
	ntm_lctl_offline_text(b, sizeof(b), 7200);
	ck_assert_str_eq(b, "offline, last seen 2 h ago");
	ntm_lctl_offline_text(b, sizeof(b), 3 * 86400 + 5);
	ck_assert_str_eq(b, "offline, last seen 3 days ago");
	ntm_lctl_offline_text(b, sizeof(b), NTM_LCTL_LAST_SEEN_UNKNOWN);
	ck_assert_str_eq(b, "offline, not seen since the DC started");
	ntm_lctl_offline_text(b, 8, 600);
	ck_assert_str_eq(b, "offline");
}
END_TEST

START_TEST(test_a_forbidden_nak_is_5_bytes_and_status_6_is_not_one)
{
	struct ntm_ctl m = { .type = NTM_CTL_DIRECTION_NAK }, out;
	uint8_t buf[64];

	m.u.nak.req_id = 7;
	m.u.nak.status = NTM_NAK_FORBIDDEN;
	ck_assert_int_eq(nak_round_trip(&m, &out, buf, sizeof(buf)), 2 + 5);
	ck_assert_uint_eq(out.u.nak.status, NTM_NAK_FORBIDDEN);
	m.u.nak.has_last_seen = true; /* only OFFLINE carries it */
	ck_assert_int_lt(ntm_ctl_encode(&m, buf, sizeof(buf)), 0);
	m.u.nak.has_last_seen = false;
	ck_assert_int_eq(ntm_ctl_encode(&m, buf, sizeof(buf)), 7);
	buf[6] = 6;
	ck_assert_int_lt(ntm_ctl_decode(buf, 7, &out), 0);
}
END_TEST

START_TEST(test_the_control_reply_is_notfound_with_forbidden_for_any_client)
{
	uint8_t buf[128];
	struct ntm_lctl_hdr h;
	static struct ntm_lctl_resolve r;
	static struct ntm_lctl_ping_result p;
	uint8_t by = 9;
	uint32_t seen;

	int n = ntm_lctl_reply_forbidden(buf, sizeof(buf), NTM_LCTL_RESOLVE_NAME, 42,
					 NTM_LCTL_FORBIDDEN_DC);
	ck_assert_int_eq(n, NTM_LCTL_HDR_LEN + 5);
	ck_assert_int_eq(ntm_lctl_decode_forbidden(buf, (size_t)n, &by), 1);
	ck_assert_uint_eq(by, NTM_LCTL_FORBIDDEN_DC);
	ck_assert_str_eq(ntm_lctl_forbidden_text(by), "forbidden by the DC's policy");
	ck_assert_int_eq(ntm_lctl_decode_offline(buf, (size_t)n, &seen), 0);
	/* nss_ntm and older clients: NOTFOUND, FORBIDDEN skipped */
	ck_assert_int_eq(ntm_lctl_decode_resolve(buf, (size_t)n, &h, &r), 0);
	ck_assert_uint_eq(h.status, NTM_LCTL_NOTFOUND);
	ck_assert_uint_eq(h.req_id, 42);

	n = ntm_lctl_reply_forbidden(buf, sizeof(buf), NTM_LCTL_PING, 43, NTM_LCTL_FORBIDDEN_NODE);
	ck_assert_int_eq(ntm_lctl_decode_ping(buf, (size_t)n, &h, &p), 0);
	ck_assert_uint_eq(h.status, NTM_LCTL_NOTFOUND);
	ck_assert_int_eq(ntm_lctl_decode_forbidden(buf, (size_t)n, &by), 1);
	ck_assert_str_eq(ntm_lctl_forbidden_text(by), "forbidden by this node's policy");

	/* a plain NOTFOUND has none; a bad value or request type is refused */
	n = ntm_lctl_reply_empty(buf, sizeof(buf), NTM_LCTL_RESOLVE_NAME, 1, NTM_LCTL_NOTFOUND);
	ck_assert_int_eq(ntm_lctl_decode_forbidden(buf, (size_t)n, &by), 0);
	ck_assert_int_eq(ntm_lctl_reply_forbidden(buf, sizeof(buf), NTM_LCTL_STATUS, 1, 1), -EINVAL);
	ck_assert_int_eq(ntm_lctl_reply_forbidden(buf, sizeof(buf), NTM_LCTL_PING, 1, 3), -EINVAL);
	n = ntm_lctl_reply_forbidden(buf, sizeof(buf), NTM_LCTL_PING, 1, NTM_LCTL_FORBIDDEN_DC);
	buf[n - 1] = 3;
	ck_assert_int_eq(ntm_lctl_decode_forbidden(buf, (size_t)n, &by), -EBADMSG);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("offline");
	TCase *tc = tcase_create("offline");
	tcase_add_test(tc, test_a_nak_without_last_seen_is_5_bytes_as_before);
	tcase_add_test(tc, test_an_offline_nak_carries_last_seen_in_4_more_bytes);
	tcase_add_test(tc, test_last_seen_on_another_status_or_a_partial_field_is_rejected);
	tcase_add_test(tc, test_the_control_reply_is_tryagain_with_offline_for_any_client);
	tcase_add_test(tc, test_a_reply_without_offline_or_a_bad_one_says_so);
	tcase_add_test(tc, test_the_message_says_how_long_ago_in_a_readable_unit);
	tcase_add_test(tc, test_a_forbidden_nak_is_5_bytes_and_status_6_is_not_one);
	tcase_add_test(tc, test_the_control_reply_is_notfound_with_forbidden_for_any_client);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
