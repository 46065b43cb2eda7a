/* fuzz_resolvconf.c - libFuzzer target: the resolv.conf parser, the loop
 * guard and the address parser, with invariants of a successful parse.
 *
 *   clang -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined \
 *         -Ilib lib/resolvconf_parse.c tests/fuzz/fuzz_resolvconf.c -o fuzz_resolvconf
 *   ./fuzz_resolvconf -max_total_time=60 tests/fuzz/corpus/resolvconf
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "resolvconf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct ntm_resolv rc;

static void check_parsed(const struct ntm_resolv *r)
{
	static const char *const listen[] = { "127.0.0.53", "::1" };
	struct ntm_resolv_ns up[NTM_RESOLV_MAXNS], again;
	int n;

	if (r->nns > NTM_RESOLV_MAX_NS || r->nsearch > NTM_RESOLV_MAX_SEARCH ||
	    r->nkept > NTM_RESOLV_MAX_KEPT || r->search_line >= (int)r->nkept)
		abort();
	for (size_t i = 0; i < r->nns; i++) {
		/* what the parser kept parses again to the same thing */
		if (ntm_resolv_parse_addr(r->ns[i].text, &again) < 0 ||
		    memcmp(&again, &r->ns[i], sizeof(again)))
			abort();
	}
	for (size_t i = 0; i < r->nkept; i++)
		if (strlen(r->kept[i]) > NTM_RESOLV_MAX_LINE || strchr(r->kept[i], '\n'))
			abort();
	n = ntm_resolv_upstreams(r, listen, 2, up, NTM_RESOLV_MAXNS);
	if (n < 0 || n > NTM_RESOLV_MAXNS)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ntm_resolv_error err;
	struct ntm_resolv_ns ns;
	char line[256], addr[NTM_RESOLV_ADDR_MAX + 8];
	size_t k = size < sizeof(addr) - 1 ? size : sizeof(addr) - 1;

	memcpy(addr, data, k);
	addr[k] = '\0';
	ntm_resolv_parse_addr(addr, &ns);
	if (ntm_resolv_parse((const char *)data, size, &rc, &err) == 0)
		check_parsed(&rc);
	else if (strnlen(err.msg, sizeof(err.msg)) == sizeof(err.msg) || !err.msg[0])
		abort();
	ntm_resolv_error_format(&err, line, sizeof(line));
	return 0;
}
