/* test_dnswalk.c - unit tests for resolver/dnswalk.c: which DNS messages
 * the walk lets through to ldns and what it says about the rest. Messages
 * are assembled byte by byte so each can be wrong in exactly one way. */
#include <check.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "dnswalk.h"

#define T_A 1
#define T_CNAME 5
#define T_MX 15
#define T_OPT 41
#define T_TSIG 250

static uint8_t m[70000];
static size_t n;
static struct dnswalk w;

static void u8(uint8_t v)
{
	m[n++] = v;
}

static void u16(uint16_t v)
{
	u8((uint8_t)(v >> 8));
	u8((uint8_t)v);
}

static void hdr(uint16_t qd, uint16_t an, uint16_t ns, uint16_t ar)
{
	n = 0;
	u16(0x1234);
	u16(0x0100);            /* QUERY, RD */
	u16(qd);
	u16(an);
	u16(ns);
	u16(ar);
}

/* Dotted text as uncompressed labels; "" is the root. */
static void name(const char *s)
{
	while (*s) {
		const char *dot = strchr(s, '.');
		size_t l = dot ? (size_t)(dot - s) : strlen(s);
		u8((uint8_t)l);
		memcpy(m + n, s, l);
		n += l;
		s += l + (dot ? 1 : 0);
	}
	u8(0);
}

static void ptr(uint16_t to)
{
	u16((uint16_t)(0xc000 | to));
}

static void question(const char *s)
{
	name(s);
	u16(T_A);
	u16(1);
}

/* Type, class, TTL and rdlength after an owner the caller wrote. */
static void fixed(uint16_t type, uint16_t rdlen)
{
	u16(type);
	u16(1);
	u16(0);
	u16(300);
	u16(rdlen);
}

/* A record owned by the root with rdlen zero bytes of data. */
static void rr(uint16_t type, uint16_t rdlen)
{
	u8(0);
	fixed(type, rdlen);
	memset(m + n, 0, rdlen);
	n += rdlen;
}

static enum dnswalk_verdict walk(void)
{
	return dnswalk(m, n, &w);
}

START_TEST(test_a_plain_query_passes_and_its_question_end_is_reported)
{
	hdr(1, 0, 0, 0);
	question("example.com");
	ck_assert_int_eq(walk(), DNSWALK_OK);
	ck_assert_uint_eq(w.question_end, n);
	ck_assert_uint_eq(w.count[DNSWALK_QD], 1);
	ck_assert_uint_eq(w.opt, 0);
	ck_assert_uint_eq(w.tsig, 0);
}
END_TEST

START_TEST(test_a_query_with_one_opt_passes_and_the_opt_is_found)
{
	hdr(1, 0, 0, 1);
	question("example.com");
	size_t opt = n + 1;
	rr(T_OPT, 0);
	ck_assert_int_eq(walk(), DNSWALK_OK);
	ck_assert_uint_eq(w.opt, opt);
}
END_TEST

START_TEST(test_the_ldns_leaking_query_is_refused)
{
	/* what fuzz_dnsq found: ARCOUNT 5 over type-0 records, two TSIGs and
	 * a record cut off after its TTL (tests/fuzz/corpus/dnsq) */
	hdr(1, 0, 0, 5);
	question("example.com");
	rr(0, 0);
	size_t first_tsig = n;
	rr(T_TSIG, 0);
	rr(T_TSIG, 0);
	rr(0, 0);
	u8(0);
	u16(0);
	u16(1);
	u16(0);
	u16(0);
	ck_assert_uint_eq(n, 82);
	ck_assert_int_eq(walk(), DNSWALK_TSIG);
	/* without the TSIGs the cut-off record is what stops it */
	m[first_tsig + 2] = 0;
	m[first_tsig + 11 + 2] = 0;
	ck_assert_int_eq(walk(), DNSWALK_SHORT);
}
END_TEST

START_TEST(test_a_record_cut_short_is_refused)
{
	hdr(1, 0, 0, 1);
	question("example.com");
	rr(T_A, 4);
	n -= 2;                 /* rdlength says 4, 2 bytes there */
	ck_assert_int_eq(walk(), DNSWALK_SHORT);
	n -= 7;                 /* cut inside the fixed fields */
	ck_assert_int_eq(walk(), DNSWALK_SHORT);
}
END_TEST

START_TEST(test_every_truncation_of_a_valid_reply_is_refused)
{
	hdr(1, 1, 0, 1);
	question("www.example.com");
	ptr(12);
	fixed(T_CNAME, 6);
	u8(3); memcpy(m + n, "web", 3); n += 3;
	ptr(16);
	rr(T_OPT, 0);
	size_t full = n;
	ck_assert_int_eq(walk(), DNSWALK_OK);
	for (size_t len = 0; len < full; len++)
		ck_assert_int_ne(dnswalk(m, len, &w), DNSWALK_OK);
}
END_TEST

START_TEST(test_a_pointer_to_itself_is_refused)
{
	hdr(1, 1, 0, 0);
	question("example.com");
	size_t here = n;
	ptr((uint16_t)here);
	fixed(T_A, 0);
	ck_assert_int_eq(walk(), DNSWALK_POINTER);
}
END_TEST

START_TEST(test_two_names_pointing_at_each_other_are_refused)
{
	/* owner 1 = "a" + pointer to owner 2; owner 2 = pointer to owner 1 */
	hdr(1, 2, 0, 0);
	question("example.com");
	size_t first = n;
	u8(1); u8('a');
	ptr((uint16_t)(first + 4 + 10));
	fixed(T_A, 0);
	ptr((uint16_t)first);
	fixed(T_A, 0);
	ck_assert_int_eq(walk(), DNSWALK_POINTER);
}
END_TEST

START_TEST(test_a_pointer_forward_or_into_the_header_is_refused)
{
	hdr(1, 1, 0, 0);
	question("example.com");
	ptr((uint16_t)(n + 2));
	fixed(T_A, 0);
	ck_assert_int_eq(walk(), DNSWALK_POINTER);
	m[n - 12] = 0xc0;
	m[n - 11] = 4;          /* the header's QDCOUNT */
	ck_assert_int_eq(walk(), DNSWALK_POINTER);
	m[n - 11] = 12;         /* the question: fine */
	ck_assert_int_eq(walk(), DNSWALK_OK);
}
END_TEST

START_TEST(test_127_pointer_hops_pass_and_128_are_refused)
{
	for (unsigned records = 127; records <= 128; records++) {
		hdr(1, (uint16_t)records, 0, 0);
		question("");           /* the root: owners below chain to it */
		size_t prev = 12;
		for (unsigned i = 0; i < records; i++) {
			size_t here = n;
			ptr((uint16_t)prev);
			fixed(T_A, 0);
			prev = here;
		}
		ck_assert_int_eq(walk(), records == 127 ? DNSWALK_OK : DNSWALK_POINTER);
	}
}
END_TEST

START_TEST(test_a_name_of_255_bytes_passes_and_256_is_refused)
{
	char s[260];

	/* 63+1 three times = 192, then a label of 61: 192 + 62 + 1 = 255 */
	memset(s, 'a', sizeof(s));
	s[63] = s[127] = s[191] = '.';
	s[253] = '\0';
	hdr(1, 0, 0, 0);
	question(s);
	ck_assert_int_eq(walk(), DNSWALK_OK);
	s[253] = 'a';
	s[254] = '\0';
	hdr(1, 0, 0, 0);
	question(s);
	ck_assert_int_eq(walk(), DNSWALK_LABEL);
}
END_TEST

START_TEST(test_a_long_name_built_from_pointers_is_refused)
{
	/* each owner adds a 63-byte label in front of the one before:
	 * 64 + 64 + 64 + 64 + 1 = 257 */
	char label[64];

	memset(label, 'x', sizeof(label));
	hdr(1, 4, 0, 0);
	question("");
	size_t prev = 12;
	for (unsigned i = 0; i < 4; i++) {
		size_t here = n;
		u8(63);
		memcpy(m + n, label, 63);
		n += 63;
		ptr((uint16_t)prev);
		fixed(T_A, 0);
		prev = here;
	}
	ck_assert_int_eq(walk(), DNSWALK_LABEL);
	m[7] = 3;               /* three owners: 193 bytes, fine */
	n -= 64 + 2 + 10;
	ck_assert_int_eq(walk(), DNSWALK_OK);
}
END_TEST

START_TEST(test_label_types_01_and_10_are_refused)
{
	for (uint8_t t = 0x40; t != 0xc0; t += 0x40) {
		hdr(1, 0, 0, 0);
		question("example.com");
		m[12] = t | 1;
		ck_assert_int_eq(walk(), DNSWALK_LABEL);
	}
}
END_TEST

START_TEST(test_counts_larger_than_the_data_are_refused)
{
	hdr(1, 0, 0, 0);
	question("example.com");
	m[7] = 2;               /* two answers, no bytes for them */
	ck_assert_int_eq(walk(), DNSWALK_COUNT);
	hdr(0xffff, 0xffff, 0xffff, 0xffff);
	ck_assert_int_eq(walk(), DNSWALK_COUNT);
	m[4] = 0;
	m[5] = 2;               /* two questions, one there */
	m[6] = m[7] = m[8] = m[9] = m[10] = m[11] = 0;
	question("example.com");
	ck_assert_int_eq(walk(), DNSWALK_SHORT);
}
END_TEST

START_TEST(test_bytes_after_the_last_record_are_refused)
{
	hdr(1, 0, 0, 1);
	question("example.com");
	rr(T_OPT, 0);
	u8(0);
	ck_assert_int_eq(walk(), DNSWALK_TRAILING);
}
END_TEST

START_TEST(test_a_second_opt_or_one_outside_additional_is_refused)
{
	hdr(1, 0, 0, 2);
	question("example.com");
	rr(T_OPT, 0);
	rr(T_OPT, 0);
	ck_assert_int_eq(walk(), DNSWALK_OPT);
	hdr(1, 1, 0, 0);
	question("example.com");
	rr(T_OPT, 0);
	ck_assert_int_eq(walk(), DNSWALK_OPT);
	hdr(1, 0, 0, 1);
	question("example.com");
	ptr(12);                /* owner example.com, not the root */
	fixed(T_OPT, 0);
	ck_assert_int_eq(walk(), DNSWALK_OPT);
}
END_TEST

START_TEST(test_one_tsig_passes_only_as_the_last_additional_record)
{
	hdr(1, 0, 0, 2);
	question("example.com");
	rr(T_OPT, 0);
	size_t tsig = n;
	rr(T_TSIG, 0);
	ck_assert_int_eq(walk(), DNSWALK_OK);
	ck_assert_uint_eq(w.tsig, tsig);
	hdr(1, 0, 0, 2);
	question("example.com");
	rr(T_TSIG, 0);
	rr(T_OPT, 0);
	ck_assert_int_eq(walk(), DNSWALK_TSIG);
	hdr(1, 1, 0, 0);
	question("example.com");
	rr(T_TSIG, 0);
	ck_assert_int_eq(walk(), DNSWALK_TSIG);
}
END_TEST

START_TEST(test_names_in_record_data_must_fill_it_exactly)
{
	hdr(1, 1, 0, 0);
	question("example.com");
	ptr(12);
	fixed(T_MX, 4);
	u16(10);
	ptr(12);
	ck_assert_int_eq(walk(), DNSWALK_OK);
	m[n - 5] = 5;           /* rdlength 5: a byte after the name */
	u8(0);
	ck_assert_int_eq(walk(), DNSWALK_RDATA);
	m[n - 6] = 3;           /* rdlength 3: the pointer cut in half */
	n -= 2;
	ck_assert_int_eq(walk(), DNSWALK_RDATA);
	m[n - 4] = 4;           /* a pointer inside data may not point forward either */
	n += 1;
	m[n - 2] = 0xc0;
	m[n - 1] = (uint8_t)n;
	ck_assert_int_eq(walk(), DNSWALK_POINTER);
}
END_TEST

static Suite *dnswalk_suite(void)
{
	Suite *s = suite_create("dnswalk");
	TCase *tc = tcase_create("walk");

	tcase_add_test(tc, test_a_plain_query_passes_and_its_question_end_is_reported);
	tcase_add_test(tc, test_a_query_with_one_opt_passes_and_the_opt_is_found);
	tcase_add_test(tc, test_the_ldns_leaking_query_is_refused);
	tcase_add_test(tc, test_a_record_cut_short_is_refused);
	tcase_add_test(tc, test_every_truncation_of_a_valid_reply_is_refused);
	tcase_add_test(tc, test_a_pointer_to_itself_is_refused);
	tcase_add_test(tc, test_two_names_pointing_at_each_other_are_refused);
	tcase_add_test(tc, test_a_pointer_forward_or_into_the_header_is_refused);
	tcase_add_test(tc, test_127_pointer_hops_pass_and_128_are_refused);
	tcase_add_test(tc, test_a_name_of_255_bytes_passes_and_256_is_refused);
	tcase_add_test(tc, test_a_long_name_built_from_pointers_is_refused);
	tcase_add_test(tc, test_label_types_01_and_10_are_refused);
	tcase_add_test(tc, test_counts_larger_than_the_data_are_refused);
	tcase_add_test(tc, test_bytes_after_the_last_record_are_refused);
	tcase_add_test(tc, test_a_second_opt_or_one_outside_additional_is_refused);
	tcase_add_test(tc, test_one_tsig_passes_only_as_the_last_additional_record);
	tcase_add_test(tc, test_names_in_record_data_must_fill_it_exactly);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(dnswalk_suite());

	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
