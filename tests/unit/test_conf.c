/* test_conf.c - the configuration syntax, its limits, and the typed schema. */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"

static const char *srcdir(void)
{
#ifdef NTM_TEST_SRCDIR
	return NTM_TEST_SRCDIR;
#else
	const char *d = getenv("NTM_TEST_SRCDIR");

	ck_assert_msg(d != NULL, "set NTM_TEST_SRCDIR to the tests/unit directory");
	return d;
#endif
}

static void conf_path(char *buf, size_t size, const char *name)
{
	int n = snprintf(buf, size, "%s/conf/%s", srcdir(), name);

	ck_assert(n > 0 && (size_t)n < size);
}

static void assert_error(const struct ntm_conf_error *e, const char *expect)
{
	char buf[1024];

	ntm_conf_error_format(e, buf, sizeof(buf));
	ck_assert_str_eq(buf, expect);
}

/* Parses conf/<name>; returns what the parser returned. */
static int parse_named(const char *name, struct ntm_conf **c, struct ntm_conf_error *e)
{
	char path[1024];

	conf_path(path, sizeof(path), name);
	return ntm_conf_parse_file(path, c, e);
}

/* Asserts that the error is "<path of conf/name><rest>". */
static void assert_file_error(const struct ntm_conf_error *e, const char *name, const char *rest)
{
	char path[1024], expect[2048];

	conf_path(path, sizeof(path), name);
	snprintf(expect, sizeof(expect), "%s%s", path, rest);
	assert_error(e, expect);
}

static const uint8_t key_0_31[32] = {
	0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
	16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31,
};

/* ---- the node schema, which good.conf satisfies ---- */

static struct node_conf {
	char name[32];
	uint16_t listen_port;
	bool verbose;
	uint8_t priv[32];
	uint64_t mtu;
	char tag[64];
	char comment[64];
	struct sockaddr_storage ep, ep6;
	uint8_t pub[32];
	struct ntm_conf_addr addr, pool4, pool6;
	uint16_t dc_port;
	bool dc_port_seen, tag_seen;
} nc;

static const struct ntm_conf_spec node_schema[] = {
	{ .section = "Node", .key = "Name", .type = NTM_CONF_STRING, .flags = NTM_CONF_REQUIRED,
	  .dest = nc.name, .size = sizeof(nc.name) },
	{ .section = "Node", .key = "ListenPort", .type = NTM_CONF_PORT, .dest = &nc.listen_port,
	  .def = "4700" },
	{ .section = "Node", .key = "Verbose", .type = NTM_CONF_BOOL, .dest = &nc.verbose, .def = "no" },
	{ .section = "Node", .key = "PrivateKey", .type = NTM_CONF_KEY,
	  .flags = NTM_CONF_REQUIRED | NTM_CONF_SECRET, .dest = nc.priv },
	{ .section = "Node", .key = "MTU", .type = NTM_CONF_UINT, .dest = &nc.mtu, .min = 576,
	  .max = 9000, .def = "1280" },
	{ .section = "Node", .key = "Tag", .type = NTM_CONF_STRING, .dest = nc.tag,
	  .size = sizeof(nc.tag), .seen = &nc.tag_seen },
	{ .section = "DC", .key = "Endpoint", .type = NTM_CONF_ENDPOINT, .flags = NTM_CONF_REQUIRED,
	  .dest = &nc.ep },
	{ .section = "DC", .key = "Endpoint6", .type = NTM_CONF_ENDPOINT, .dest = &nc.ep6 },
	{ .section = "DC", .key = "PublicKey", .type = NTM_CONF_KEY, .dest = nc.pub },
	{ .section = "DC", .key = "Address", .type = NTM_CONF_ADDR, .dest = &nc.addr },
	{ .section = "DC", .key = "Pool4", .type = NTM_CONF_PREFIX, .dest = &nc.pool4 },
	{ .section = "DC", .key = "Pool6", .type = NTM_CONF_PREFIX, .dest = &nc.pool6 },
	{ .section = "DC", .key = "Port", .type = NTM_CONF_PORT, .dest = &nc.dc_port, .def = "4700",
	  .seen = &nc.dc_port_seen },
	{ .section = "DC", .key = "Comment", .type = NTM_CONF_STRING, .dest = nc.comment,
	  .size = sizeof(nc.comment) },
};

#define NODE_N (sizeof(node_schema) / sizeof(node_schema[0]))

/* ---- a schema like ntm-dcd's ---- */

static struct dcd_conf {
	struct sockaddr_storage ep;
	uint16_t port;
	char zone[64];
} dc;

static const struct ntm_conf_spec dcd_schema[] = {
	{ .section = "DC", .key = "Endpoint", .type = NTM_CONF_ENDPOINT, .flags = NTM_CONF_REQUIRED,
	  .dest = &dc.ep },
	{ .section = "DC", .key = "Port", .type = NTM_CONF_PORT, .dest = &dc.port, .def = "4700" },
	{ .section = "DC", .key = "Zone", .type = NTM_CONF_STRING, .dest = dc.zone,
	  .size = sizeof(dc.zone), .def = "ntm.example.org" },
};

#define DCD_N (sizeof(dcd_schema) / sizeof(dcd_schema[0]))

/* ---- syntax ---- */

START_TEST(test_good_file_parses_into_entries_in_file_order)
{
	struct ntm_conf *c = NULL;
	struct ntm_conf_error e;
	const struct ntm_conf_entry *en;
	unsigned line = 0;

	ck_assert_int_eq(parse_named("good.conf", &c, &e), 0);
	ck_assert_uint_eq(ntm_conf_section_count(c), 2);
	ck_assert_str_eq(ntm_conf_section_at(c, 1, &line), "dc");
	ck_assert_uint_eq(line, 12);
	ck_assert_ptr_null(ntm_conf_section_at(c, 2, NULL));
	ck_assert_uint_eq(ntm_conf_count(c), 13);
	en = ntm_conf_entry_at(c, 4);
	ck_assert_str_eq(en->section, "Node");
	ck_assert_str_eq(en->key, "mtu");
	ck_assert_str_eq(en->value, "1420");
	ck_assert_uint_eq(en->line, 9);
	ck_assert_ptr_null(ntm_conf_entry_at(c, 13));
	ntm_conf_free(c);
}
END_TEST

START_TEST(test_sections_and_keys_match_case_insensitively_and_values_keep_hash_signs)
{
	struct ntm_conf *c = NULL;
	struct ntm_conf_error e;
	const struct ntm_conf_entry *en;

	ck_assert_int_eq(parse_named("good.conf", &c, &e), 0);
	en = ntm_conf_get(c, "NODE", "MTU");
	ck_assert_ptr_nonnull(en);
	ck_assert_str_eq(en->value, "1420");
	ck_assert_str_eq(ntm_conf_get(c, "node", "tag")->value, "a=b+c/d #not a comment; either");
	ck_assert_str_eq(ntm_conf_get(c, "DC", "Pool6")->value, "fd00:1234::/48");
	ck_assert_ptr_null(ntm_conf_get(c, "DC", "Name"));
	ck_assert_ptr_null(ntm_conf_get(c, "Relay", "Name"));
	ntm_conf_free(c);
}
END_TEST

START_TEST(test_crlf_bom_empty_values_and_a_missing_final_newline_are_accepted)
{
	static const char text[] = "\xEF\xBB\xBF[A]\r\nK = v \r\nEmpty =\r\nLast=x";
	struct ntm_conf *c = NULL;
	struct ntm_conf_error e;

	ck_assert_int_eq(ntm_conf_parse_mem("m.conf", text, sizeof(text) - 1, &c, &e), 0);
	ck_assert_str_eq(ntm_conf_get(c, "A", "K")->value, "v");
	ck_assert_str_eq(ntm_conf_get(c, "A", "Empty")->value, "");
	ck_assert_str_eq(ntm_conf_get(c, "A", "Last")->value, "x");
	ck_assert_uint_eq(ntm_conf_get(c, "A", "Last")->line, 4);
	ntm_conf_free(c);
}
END_TEST

START_TEST(test_empty_input_is_a_valid_empty_file)
{
	struct ntm_conf *c = NULL;
	struct ntm_conf_error e;

	ck_assert_int_eq(ntm_conf_parse_mem("m.conf", "", 0, &c, &e), 0);
	ck_assert_uint_eq(ntm_conf_count(c), 0);
	ck_assert_uint_eq(ntm_conf_section_count(c), 0);
	ntm_conf_free(c);
	ntm_conf_free(NULL);
}
END_TEST

static const struct {
	const char *file;
	const char *rest;   /* the message after the path */
} bad_files[] = {
	{ "bad-no-equals.conf", ":7: expected 'Key = Value', got 'Foo'" },
	{ "bad-unterminated-section.conf", ":3: unterminated section header '[DC'" },
	{ "bad-long-line.conf", ":12: line longer than 4096 bytes" },
	{ "bad-key-outside-section.conf", ":4: key 'Port' outside any section" },
	{ "bad-duplicate-key.conf", ":9: duplicate key 'port' in section [DC]" },
	{ "bad-empty-key.conf", ":2: empty key in '= alice'" },
	{ "bad-duplicate-section.conf", ":4: duplicate section [NODE]" },
	{ "bad-nul.conf", ":2: NUL byte at column 10" },
	{ "bad-utf8.conf", ":2: invalid UTF-8 at column 11" },
	{ "bad-control.conf", ":2: control character 0x1b at column 9" },
	{ "bad-section-name.conf", ":1: invalid section name '[D C]'" },
	{ "bad-section-trailing.conf", ":1: unexpected text after section header '[DC] # the DC'" },
	{ "bad-key-name.conf", ":2: invalid key 'Public Key'" },
	{ "bad-empty-section.conf", ":1: empty section name '[ ]'" },
};

START_TEST(test_each_bad_file_is_rejected_with_its_exact_message)
{
	struct ntm_conf *c = (struct ntm_conf *)1;
	struct ntm_conf_error e;

	ck_assert_int_eq(parse_named(bad_files[_i].file, &c, &e), -EINVAL);
	ck_assert_ptr_null(c);
	assert_file_error(&e, bad_files[_i].file, bad_files[_i].rest);
}
END_TEST

/* Parses text from memory as "m.conf" and expects ret and the message. */
static void expect_mem_error(const char *text, size_t len, int ret, const char *expect)
{
	struct ntm_conf *c = NULL;
	struct ntm_conf_error e;

	ck_assert_int_eq(ntm_conf_parse_mem("m.conf", text, len, &c, &e), ret);
	ck_assert_ptr_null(c);
	assert_error(&e, expect);
}

START_TEST(test_long_quotes_are_cut_at_a_character_boundary_with_an_ellipsis)
{
	char text[200];

	/* 63 ASCII bytes then U+00E9 (2 bytes): byte 64 would split it. */
	memset(text, 'a', 63);
	strcpy(text + 63, "\xC3\xA9zzzzzz\n");
	expect_mem_error(text, strlen(text), -EINVAL,
			 "m.conf:1: expected 'Key = Value', got "
			 "'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...'");
}
END_TEST

START_TEST(test_a_file_over_one_mebibyte_is_refused_before_parsing)
{
	size_t len = NTM_CONF_MAX_FILE + 1;
	char *big = malloc(len);
	struct ntm_conf *c = NULL;
	struct ntm_conf_error e;

	ck_assert_ptr_nonnull(big);
	memset(big, '\n', len);
	expect_mem_error(big, len, -EFBIG, "m.conf: file larger than 1048576 bytes");
	ck_assert_int_eq(ntm_conf_parse_mem("m.conf", big, len - 1, &c, &e), 0);
	ntm_conf_free(c);
	free(big);
}
END_TEST

START_TEST(test_more_sections_or_keys_than_the_limits_are_refused)
{
	char *text = malloc(64 * 1024);
	size_t off = 0;
	unsigned i;

	ck_assert_ptr_nonnull(text);
	for (i = 0; i <= NTM_CONF_MAX_SECTIONS; i++)
		off += (size_t)sprintf(text + off, "[S%u]\n", i);
	expect_mem_error(text, off, -E2BIG, "m.conf:65: more than 64 sections");

	off = (size_t)sprintf(text, "[S]\n");
	for (i = 0; i <= NTM_CONF_MAX_ENTRIES; i++)
		off += (size_t)sprintf(text + off, "K%u=1\n", i);
	expect_mem_error(text, off, -E2BIG, "m.conf:1026: more than 1024 keys");
	free(text);
}
END_TEST

START_TEST(test_overlong_and_surrogate_utf8_are_invalid)
{
	expect_mem_error("[A]\nK = \xC0\xAF\n", 10, -EINVAL, "m.conf:2: invalid UTF-8 at column 5");
	expect_mem_error("[A]\nK = \xED\xA0\x80\n", 11, -EINVAL, "m.conf:2: invalid UTF-8 at column 5");
	expect_mem_error("[A]\nK = \xF4\x90\x80\x80\n", 12, -EINVAL,
			 "m.conf:2: invalid UTF-8 at column 5");
	expect_mem_error("[A]\nK = \xE2\x98", 10, -EINVAL, "m.conf:2: invalid UTF-8 at column 5");
}
END_TEST

START_TEST(test_a_carriage_return_inside_a_line_is_a_control_character)
{
	expect_mem_error("[A]\nK = a\rb\n", 12, -EINVAL,
			 "m.conf:2: control character 0x0d at column 6");
}
END_TEST

START_TEST(test_a_missing_file_and_a_directory_are_reported_by_path)
{
	struct ntm_conf *c = NULL;
	struct ntm_conf_error e;
	char path[1024], expect[2048];

	ck_assert_int_eq(parse_named("no-such.conf", &c, &e), -ENOENT);
	assert_file_error(&e, "no-such.conf", ": cannot read: No such file or directory");
	conf_path(path, sizeof(path), "");
	ck_assert_int_eq(ntm_conf_parse_file(path, &c, &e), -EINVAL);
	snprintf(expect, sizeof(expect), "%s: not a regular file", path);
	assert_error(&e, expect);
	ck_assert_ptr_null(c);
}
END_TEST

/* ---- schema ---- */

START_TEST(test_good_file_fills_every_typed_destination)
{
	struct ntm_conf *c = NULL;
	struct ntm_conf_error e;
	struct sockaddr_in *sin = (struct sockaddr_in *)&nc.ep;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&nc.ep6;
	char a[INET6_ADDRSTRLEN];

	memset(&nc, 0, sizeof(nc));
	ck_assert_int_eq(parse_named("good.conf", &c, &e), 0);
	ck_assert_int_eq(ntm_conf_apply(c, node_schema, NODE_N, &e), 0);
	ck_assert_str_eq(nc.name, "alice");
	ck_assert_uint_eq(nc.listen_port, 51820);
	ck_assert(nc.verbose);
	ck_assert_uint_eq(nc.priv[0], 0xe0);
	ck_assert_uint_eq(nc.priv[31], 0xff);
	ck_assert_uint_eq(nc.mtu, 1420);
	ck_assert_str_eq(nc.tag, "a=b+c/d #not a comment; either");
	ck_assert_int_eq(sin->sin_family, AF_INET);
	ck_assert_uint_eq(ntohs(sin->sin_port), 4700);
	ck_assert_str_eq(inet_ntop(AF_INET, &sin->sin_addr, a, sizeof(a)), "203.0.113.1");
	ck_assert_int_eq(sin6->sin6_family, AF_INET6);
	ck_assert_uint_eq(ntohs(sin6->sin6_port), 4700);
	ck_assert_str_eq(inet_ntop(AF_INET6, &sin6->sin6_addr, a, sizeof(a)), "2001:db8::1");
	ck_assert_mem_eq(nc.pub, key_0_31, 32);
	ck_assert_int_eq(nc.addr.family, AF_INET6);
	ck_assert_uint_eq(nc.addr.plen, 128);
	ck_assert_int_eq(nc.pool4.family, AF_INET);
	ck_assert_uint_eq(nc.pool4.plen, 10);
	ck_assert_str_eq(inet_ntop(AF_INET, &nc.pool4.u.v4, a, sizeof(a)), "100.64.0.0");
	ck_assert_uint_eq(nc.pool6.plen, 48);
	ck_assert_str_eq(nc.comment, "caf\u00e9 \u2603 \U0001F600");
	ntm_conf_free(c);
}
END_TEST

START_TEST(test_absent_keys_take_their_defaults_and_report_not_seen)
{
	static const char text[] = "[Node]\nName=n\nPrivateKey=AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n"
				   "[DC]\nEndpoint=[::1]:1\n";
	struct ntm_conf *c = NULL;
	struct ntm_conf_error e;

	memset(&nc, 0xAA, sizeof(nc));
	strcpy(nc.tag, "untouched");
	ck_assert_int_eq(ntm_conf_parse_mem("m.conf", text, sizeof(text) - 1, &c, &e), 0);
	ck_assert_int_eq(ntm_conf_apply(c, node_schema, NODE_N, &e), 0);
	ck_assert_uint_eq(nc.listen_port, 4700);
	ck_assert(!nc.verbose);
	ck_assert_uint_eq(nc.mtu, 1280);
	ck_assert_uint_eq(nc.dc_port, 4700);
	ck_assert(!nc.dc_port_seen);
	ck_assert(!nc.tag_seen);
	ck_assert_str_eq(nc.tag, "untouched");
	ntm_conf_free(c);
}
END_TEST

static const struct {
	const char *file;
	const char *rest;
} bad_schema_files[] = {
	{ "bad-unknown-key.conf", ":5: unknown key 'Prot' in section [DC]" },
	{ "bad-port.conf", ":6: Port: '70000' is not a number in 1..65535" },
	{ "bad-unknown-section.conf", ":3: unknown section [Relay]" },
	{ "bad-missing-required.conf", ": missing required key 'Endpoint' in section [DC]" },
	{ "bad-inline-comment.conf", ":3: Port: '4700 # default' is not a number in 1..65535" },
};

START_TEST(test_each_file_the_schema_rejects_gets_its_exact_message)
{
	struct ntm_conf *c = NULL;
	struct ntm_conf_error e;

	ck_assert_int_eq(parse_named(bad_schema_files[_i].file, &c, &e), 0);
	ck_assert_int_eq(ntm_conf_apply(c, dcd_schema, DCD_N, &e), -EINVAL);
	assert_file_error(&e, bad_schema_files[_i].file, bad_schema_files[_i].rest);
	ntm_conf_free(c);
}
END_TEST

/* ntm_conf_load: the same messages, formatted "path:line: ...", and no
 * parsed file handed back on error. */
START_TEST(test_load_formats_the_same_message_and_returns_nothing_on_error)
{
	char path[512], msg[512];
	struct ntm_conf *c = (struct ntm_conf *)&c; /* must be left alone */

	conf_path(path, sizeof(path), bad_schema_files[_i].file);
	ck_assert_int_eq(ntm_conf_load(path, dcd_schema, DCD_N, &c, msg, sizeof(msg)), -EINVAL);
	ck_assert_ptr_eq(c, (struct ntm_conf *)&c);
	ck_assert_msg(strncmp(msg, path, strlen(path)) == 0, "message '%s' lacks the path", msg);
	ck_assert_str_eq(msg + strlen(path), bad_schema_files[_i].rest);
}
END_TEST

START_TEST(test_load_of_a_missing_file_names_it)
{
	char msg[512];
	struct ntm_conf *c = NULL;

	ck_assert_int_eq(ntm_conf_load("/nonexistent/ntm.conf", dcd_schema, DCD_N, &c, msg,
				       sizeof(msg)), -ENOENT);
	ck_assert_ptr_null(c);
	ck_assert_msg(strstr(msg, "/nonexistent/ntm.conf") != NULL, "message '%s'", msg);
}
END_TEST

/* One [N] K = value line checked against one spec of the given type. */
static const struct {
	enum ntm_conf_type type;
	const char *value;
	const char *msg;     /* NULL: accepted */
} values[] = {
	{ NTM_CONF_UINT, "10", NULL },
	{ NTM_CONF_UINT, "100", NULL },
	{ NTM_CONF_UINT, "9", "K: '9' is not a number in 10..100" },
	{ NTM_CONF_UINT, "101", "K: '101' is not a number in 10..100" },
	{ NTM_CONF_UINT, "+50", "K: '+50' is not a number in 10..100" },
	{ NTM_CONF_UINT, "-50", "K: '-50' is not a number in 10..100" },
	{ NTM_CONF_UINT, "050", "K: '050' is not a number in 10..100" },
	{ NTM_CONF_UINT, "0x20", "K: '0x20' is not a number in 10..100" },
	{ NTM_CONF_UINT, "5 0", "K: '5 0' is not a number in 10..100" },
	{ NTM_CONF_UINT, "50k", "K: '50k' is not a number in 10..100" },
	{ NTM_CONF_UINT, "99999999999999999999", "K: '99999999999999999999' is not a number in 10..100" },
	{ NTM_CONF_UINT, "", "K: empty value" },
	{ NTM_CONF_BOOL, "On", NULL },
	{ NTM_CONF_BOOL, "FALSE", NULL },
	{ NTM_CONF_BOOL, "0", NULL },
	{ NTM_CONF_BOOL, "maybe", "K: 'maybe' is not a boolean (yes/no, true/false, on/off, 1/0)" },
	{ NTM_CONF_BOOL, "y", "K: 'y' is not a boolean (yes/no, true/false, on/off, 1/0)" },
	{ NTM_CONF_PORT, "65535", NULL },
	{ NTM_CONF_PORT, "0", "K: '0' is not a number in 1..65535" },
	{ NTM_CONF_PORT, "65536", "K: '65536' is not a number in 1..65535" },
	{ NTM_CONF_ADDR, "192.0.2.1", NULL },
	{ NTM_CONF_ADDR, "::ffff:192.0.2.1", NULL },
	{ NTM_CONF_ADDR, "192.0.2", "K: '192.0.2' is not an IPv4 or IPv6 address" },
	{ NTM_CONF_ADDR, "192.0.2.010", "K: '192.0.2.010' is not an IPv4 or IPv6 address" },
	{ NTM_CONF_ADDR, "host.example", "K: 'host.example' is not an IPv4 or IPv6 address" },
	{ NTM_CONF_ADDR, "2001:db8::1::2", "K: '2001:db8::1::2' is not an IPv4 or IPv6 address" },
	{ NTM_CONF_PREFIX, "0.0.0.0/0", NULL },
	{ NTM_CONF_PREFIX, "10.0.0.0/8", NULL },
	{ NTM_CONF_PREFIX, "2001:db8::/32", NULL },
	{ NTM_CONF_PREFIX, "10.0.0.1/8", "K: '10.0.0.1/8' has bits set after the prefix length" },
	{ NTM_CONF_PREFIX, "2001:db8::1/127", "K: '2001:db8::1/127' has bits set after the prefix length" },
	{ NTM_CONF_PREFIX, "10.0.0.0/33", "K: '10.0.0.0/33' is not a prefix 'a.b.c.d/len' or 'x:x::x/len'" },
	{ NTM_CONF_PREFIX, "10.0.0.0", "K: '10.0.0.0' is not a prefix 'a.b.c.d/len' or 'x:x::x/len'" },
	{ NTM_CONF_PREFIX, "10.0.0.0/08", "K: '10.0.0.0/08' is not a prefix 'a.b.c.d/len' or 'x:x::x/len'" },
	{ NTM_CONF_PREFIX, "::/129", "K: '::/129' is not a prefix 'a.b.c.d/len' or 'x:x::x/len'" },
	{ NTM_CONF_ENDPOINT, "198.51.100.7:1", NULL },
	{ NTM_CONF_ENDPOINT, "[::]:65535", NULL },
	{ NTM_CONF_ENDPOINT, "198.51.100.7", "K: '198.51.100.7' is not an endpoint 'a.b.c.d:port' or '[x:x::x]:port'" },
	{ NTM_CONF_ENDPOINT, "198.51.100.7:0", "K: '198.51.100.7:0' is not an endpoint 'a.b.c.d:port' or '[x:x::x]:port'" },
	{ NTM_CONF_ENDPOINT, "2001:db8::1:80", "K: '2001:db8::1:80' is not an endpoint 'a.b.c.d:port' or '[x:x::x]:port'" },
	{ NTM_CONF_ENDPOINT, "[192.0.2.1]:80", "K: '[192.0.2.1]:80' is not an endpoint 'a.b.c.d:port' or '[x:x::x]:port'" },
	{ NTM_CONF_ENDPOINT, "[fe80::1%eth0]:80", "K: '[fe80::1%eth0]:80' is not an endpoint 'a.b.c.d:port' or '[x:x::x]:port'" },
	{ NTM_CONF_ENDPOINT, "dc.example:80", "K: 'dc.example:80' is not an endpoint 'a.b.c.d:port' or '[x:x::x]:port'" },
	{ NTM_CONF_ENDPOINT, "[::1]80", "K: '[::1]80' is not an endpoint 'a.b.c.d:port' or '[x:x::x]:port'" },
	{ NTM_CONF_KEY, "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", NULL },
	{ NTM_CONF_KEY, "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh9=",
	  "K: 'AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh9=' is not a base64-encoded 32-byte key" },
	{ NTM_CONF_KEY, "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8",
	  "K: 'AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8' is not a base64-encoded 32-byte key" },
	{ NTM_CONF_KEY, "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh==",
	  "K: 'AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh==' is not a base64-encoded 32-byte key" },
	{ NTM_CONF_KEY, "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd-h8=",
	  "K: 'AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd-h8=' is not a base64-encoded 32-byte key" },
	{ NTM_CONF_STRING, "1234567", NULL },
	{ NTM_CONF_STRING, "12345678", "K: '12345678' is longer than 7 bytes" },
};

START_TEST(test_each_value_type_accepts_and_rejects_as_specified)
{
	union {
		uint64_t u;
		bool b;
		uint16_t port;
		struct ntm_conf_addr addr;
		struct sockaddr_storage ss;
		uint8_t key[32];
		char str[8];
	} dest;
	struct ntm_conf_spec spec = { .section = "N", .key = "K", .type = values[_i].type,
				      .dest = &dest, .size = 8, .min = 10, .max = 100 };
	struct ntm_conf *c = NULL;
	struct ntm_conf_error e;
	char text[256], expect[512];
	int n = snprintf(text, sizeof(text), "[N]\nK = %s\n", values[_i].value);

	ck_assert_int_eq(ntm_conf_parse_mem("v.conf", text, (size_t)n, &c, &e), 0);
	if (!values[_i].msg) {
		ck_assert_msg(ntm_conf_apply(c, &spec, 1, &e) == 0, "'%s' rejected: %s",
			      values[_i].value, e.msg);
	} else {
		ck_assert_int_eq(ntm_conf_apply(c, &spec, 1, &e), -EINVAL);
		snprintf(expect, sizeof(expect), "v.conf:2: %s", values[_i].msg);
		assert_error(&e, expect);
	}
	ntm_conf_free(c);
}
END_TEST

START_TEST(test_a_bad_secret_is_reported_without_its_value)
{
	static const char text[] = "[Node]\nName=n\nPrivateKey = hunter2\n[DC]\nEndpoint=[::1]:1\n";
	struct ntm_conf *c = NULL;
	struct ntm_conf_error e;

	ck_assert_int_eq(ntm_conf_parse_mem("tund.conf", text, sizeof(text) - 1, &c, &e), 0);
	ck_assert_int_eq(ntm_conf_apply(c, node_schema, NODE_N, &e), -EINVAL);
	assert_error(&e, "tund.conf:3: PrivateKey: value is not a base64-encoded 32-byte key");
	ck_assert_ptr_null(strstr(e.msg, "hunter2"));
	ntm_conf_free(c);
}
END_TEST

START_TEST(test_a_default_that_does_not_parse_is_reported_as_a_table_bug)
{
	uint16_t port;
	struct ntm_conf_spec spec = { .section = "DC", .key = "Port", .type = NTM_CONF_PORT,
				      .dest = &port, .def = "0" };
	struct ntm_conf *c = NULL;
	struct ntm_conf_error e;

	ck_assert_int_eq(ntm_conf_parse_mem("dcd.conf", "[DC]\n", 5, &c, &e), 0);
	ck_assert_int_eq(ntm_conf_apply(c, &spec, 1, &e), -EINVAL);
	assert_error(&e, "dcd.conf: default of [DC] Port: '0' is not a number in 1..65535");
	ntm_conf_free(c);
}
END_TEST

START_TEST(test_the_first_error_in_file_order_is_the_one_reported)
{
	static const char text[] = "[DC]\nPort = 0\nEndpoint = x\n[Bogus]\n";
	struct ntm_conf *c = NULL;
	struct ntm_conf_error e;

	ck_assert_int_eq(ntm_conf_parse_mem("dcd.conf", text, sizeof(text) - 1, &c, &e), 0);
	ck_assert_int_eq(ntm_conf_apply(c, dcd_schema, DCD_N, &e), -EINVAL);
	assert_error(&e, "dcd.conf:2: Port: '0' is not a number in 1..65535");
	ntm_conf_free(c);
}
END_TEST

START_TEST(test_number_parser_takes_the_full_uint64_range_and_nothing_beyond)
{
	uint64_t v = 7;

	ck_assert_int_eq(ntm_conf_parse_uint("18446744073709551615", 0, UINT64_MAX, &v), 0);
	ck_assert_uint_eq(v, UINT64_MAX);
	ck_assert_int_eq(ntm_conf_parse_uint("18446744073709551616", 0, UINT64_MAX, &v), -ERANGE);
	ck_assert_int_eq(ntm_conf_parse_uint("0", 0, 0, &v), 0);
	ck_assert_uint_eq(v, 0);
	ck_assert_int_eq(ntm_conf_parse_uint(" 1", 0, 9, &v), -EINVAL);
	ck_assert_int_eq(ntm_conf_parse_uint("", 0, 9, &v), -EINVAL);
	ck_assert_uint_eq(v, 0);
}
END_TEST

START_TEST(test_error_format_omits_a_zero_line_and_truncates_safely)
{
	struct ntm_conf_error e;
	char small[8];

	ntm_conf_error_set(&e, "x.conf", 0, "bad %s", "thing");
	assert_error(&e, "x.conf: bad thing");
	ntm_conf_error_set(&e, NULL, 3, "oops");
	assert_error(&e, "-:3: oops");
	ck_assert_int_eq(ntm_conf_error_format(&e, small, sizeof(small)), 9);
	ck_assert_str_eq(small, "-:3: oo");
	ck_assert(ntm_conf_name_eq("ListenPort", "LISTENport"));
	ck_assert(!ntm_conf_name_eq("Port", "Ports"));
}
END_TEST

/* ntm-relayd's and ntm-dcd's [Relay] Offload = auto | off. */
START_TEST(test_the_offload_setting)
{
	static const char text[] = "[Relay]\nOffload = on\n";
	struct ntm_conf *c = NULL;
	struct ntm_conf_error err;
	char msg[256];
	bool on = false;

	ck_assert_int_eq(ntm_conf_offload(NULL, "r.conf", "Relay", "auto", &on, msg, sizeof(msg)), 0);
	ck_assert(on);
	ck_assert_int_eq(ntm_conf_offload(NULL, "r.conf", "Relay", "OFF", &on, msg, sizeof(msg)), 0);
	ck_assert(!on);
	ck_assert_int_eq(ntm_conf_offload(NULL, "r.conf", "Relay", "Auto", &on, msg, sizeof(msg)), 0);
	ck_assert(on);
	ck_assert_int_eq(ntm_conf_parse_mem("r.conf", text, sizeof(text) - 1, &c, &err), 0);
	ck_assert_int_eq(ntm_conf_offload(c, "r.conf", "Relay", "on", &on, msg, sizeof(msg)), -EINVAL);
	ck_assert_str_eq(msg, "r.conf:2: Offload: 'on' is not auto or off");
	ck_assert(on); /* unchanged */
	ntm_conf_free(c);
}
END_TEST

static Suite *conf_suite(void)
{
	Suite *s = suite_create("conf");
	TCase *syntax = tcase_create("syntax");
	TCase *schema = tcase_create("schema");

	tcase_add_test(syntax, test_good_file_parses_into_entries_in_file_order);
	tcase_add_test(syntax, test_sections_and_keys_match_case_insensitively_and_values_keep_hash_signs);
	tcase_add_test(syntax, test_crlf_bom_empty_values_and_a_missing_final_newline_are_accepted);
	tcase_add_test(syntax, test_empty_input_is_a_valid_empty_file);
	tcase_add_loop_test(syntax, test_each_bad_file_is_rejected_with_its_exact_message, 0,
			    sizeof(bad_files) / sizeof(bad_files[0]));
	tcase_add_test(syntax, test_long_quotes_are_cut_at_a_character_boundary_with_an_ellipsis);
	tcase_add_test(syntax, test_a_file_over_one_mebibyte_is_refused_before_parsing);
	tcase_add_test(syntax, test_more_sections_or_keys_than_the_limits_are_refused);
	tcase_add_test(syntax, test_overlong_and_surrogate_utf8_are_invalid);
	tcase_add_test(syntax, test_a_carriage_return_inside_a_line_is_a_control_character);
	tcase_add_test(syntax, test_a_missing_file_and_a_directory_are_reported_by_path);
	tcase_add_test(syntax, test_error_format_omits_a_zero_line_and_truncates_safely);
	suite_add_tcase(s, syntax);

	tcase_add_test(schema, test_good_file_fills_every_typed_destination);
	tcase_add_test(schema, test_absent_keys_take_their_defaults_and_report_not_seen);
	tcase_add_loop_test(schema, test_load_formats_the_same_message_and_returns_nothing_on_error, 0,
			    (int)(sizeof(bad_schema_files) / sizeof(bad_schema_files[0])));
	tcase_add_test(schema, test_load_of_a_missing_file_names_it);
	tcase_add_loop_test(schema, test_each_file_the_schema_rejects_gets_its_exact_message, 0,
			    sizeof(bad_schema_files) / sizeof(bad_schema_files[0]));
	tcase_add_loop_test(schema, test_each_value_type_accepts_and_rejects_as_specified, 0,
			    sizeof(values) / sizeof(values[0]));
	tcase_add_test(schema, test_a_bad_secret_is_reported_without_its_value);
	tcase_add_test(schema, test_a_default_that_does_not_parse_is_reported_as_a_table_bug);
	tcase_add_test(schema, test_the_first_error_in_file_order_is_the_one_reported);
	tcase_add_test(schema, test_number_parser_takes_the_full_uint64_range_and_nothing_beyond);
	tcase_add_test(schema, test_the_offload_setting);
	suite_add_tcase(s, schema);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(conf_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
