/* fuzz_conf.c - libFuzzer target: the config syntax, the schema check with
 * a table holding every value type, and the single-value parsers.
 *
 *   clang -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined \
 *         -Ilib lib/conf.c lib/conf_schema.c tests/fuzz/fuzz_conf.c -o fuzz_conf
 *   ./fuzz_conf -max_total_time=60 tests/fuzz/corpus/conf
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"

static struct {
	char name[32];
	uint16_t port;
	bool verbose;
	uint8_t priv[32], pub[32];
	uint64_t mtu;
	struct sockaddr_storage ep, ep6;
	struct ntm_conf_addr addr, pool4, pool6;
	bool port_seen;
} dst;

static const struct ntm_conf_spec schema[] = {
	{ .section = "Node", .key = "Name", .type = NTM_CONF_STRING, .flags = NTM_CONF_REQUIRED,
	  .dest = dst.name, .size = sizeof(dst.name) },
	{ .section = "Node", .key = "ListenPort", .type = NTM_CONF_PORT, .dest = &dst.port,
	  .def = "4700", .seen = &dst.port_seen },
	{ .section = "Node", .key = "Verbose", .type = NTM_CONF_BOOL, .dest = &dst.verbose, .def = "no" },
	{ .section = "Node", .key = "PrivateKey", .type = NTM_CONF_KEY, .flags = NTM_CONF_SECRET,
	  .dest = dst.priv },
	{ .section = "Node", .key = "MTU", .type = NTM_CONF_UINT, .dest = &dst.mtu, .min = 576,
	  .max = 9000, .def = "1420" },
	{ .section = "DC", .key = "Endpoint", .type = NTM_CONF_ENDPOINT, .dest = &dst.ep },
	{ .section = "DC", .key = "Endpoint6", .type = NTM_CONF_ENDPOINT, .dest = &dst.ep6 },
	{ .section = "DC", .key = "PublicKey", .type = NTM_CONF_KEY, .dest = dst.pub },
	{ .section = "DC", .key = "Address", .type = NTM_CONF_ADDR, .dest = &dst.addr },
	{ .section = "DC", .key = "Pool4", .type = NTM_CONF_PREFIX, .dest = &dst.pool4 },
	{ .section = "DC", .key = "Pool6", .type = NTM_CONF_PREFIX, .dest = &dst.pool6 },
};

/* Invariants of a successful parse that the rest of ntm relies on. */
static void check_entries(const struct ntm_conf *c)
{
	for (size_t i = 0; i < ntm_conf_count(c); i++) {
		const struct ntm_conf_entry *e = ntm_conf_entry_at(c, i);
		size_t n = strlen(e->value);

		if (!e->key[0] || strlen(e->key) >= NTM_CONF_NAME_MAX)
			abort();
		if (n && (e->value[0] == ' ' || e->value[n - 1] == ' ' || e->value[n - 1] == '\t'))
			abort();
		if (ntm_conf_get(c, e->section, e->key) != e)
			abort();   /* duplicates must have been refused */
	}
}

static void value_parsers(const uint8_t *data, size_t size)
{
	char s[128];
	uint8_t key[NTM_CONF_KEY_LEN];
	struct sockaddr_storage ss;
	struct ntm_conf_addr a;
	uint64_t u;
	bool b;

	if (size >= sizeof(s))
		size = sizeof(s) - 1;
	memcpy(s, data, size);
	s[size] = '\0';
	ntm_conf_parse_uint(s, 0, UINT64_MAX, &u);
	ntm_conf_parse_bool(s, &b);
	ntm_conf_parse_addr(s, &a);
	ntm_conf_parse_prefix(s, &a);
	ntm_conf_parse_endpoint(s, &ss);
	ntm_conf_parse_key(s, key);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ntm_conf *c = NULL;
	struct ntm_conf_error err;
	char line[1024];

	value_parsers(data, size);
	if (ntm_conf_parse_mem("fuzz.conf", data, size, &c, &err) == 0) {
		check_entries(c);
		if (ntm_conf_apply(c, schema, sizeof(schema) / sizeof(schema[0]), &err))
			ntm_conf_error_format(&err, line, sizeof(line));
	} else {
		ntm_conf_error_format(&err, line, sizeof(line));
	}
	if (strnlen(err.msg, sizeof(err.msg)) == sizeof(err.msg))
		abort();
	ntm_conf_free(c);
	return 0;
}
