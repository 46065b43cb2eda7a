/* fuzz_nss_conf.c - libFuzzer target: the nss file parser of libnss_ntm.so.2
 * (nss_ntm/zones.c) and the zone and prefix tests run on what it accepts.
 *
 *   clang -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined \
 *         -Ilib -Inss_ntm nss_ntm/zones.c tests/fuzz/fuzz_nss_conf.c -o fuzz_nss_conf
 *   ./fuzz_nss_conf -max_total_time=60 tests/fuzz/corpus/nss_conf
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nss_ntm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t a16[16] = { 198, 18, 0, 7, 0xfd, 0x12 };
	struct ntm_nss_conf c;
	unsigned line;
	char *copy = malloc(size ? size : 1); /* exact size: reads past it are caught */

	if (!copy)
		return 0;
	memcpy(copy, data, size);
	if (ntm_nss_conf_parse(copy, size, &c, &line) == 0) {
		if (c.n_zones > NTM_NSS_MAX_ZONES || c.n_p4 > NTM_NSS_MAX_PREFIXES ||
		    c.n_p6 > NTM_NSS_MAX_PREFIXES || c.socket[0] != '/' ||
		    c.timeout_ms < NTM_NSS_TIMEOUT_MIN || c.timeout_ms > NTM_NSS_TIMEOUT_MAX)
			abort();
		for (unsigned z = 0; z < c.n_zones; z++)
			if (strlen(c.zones[z]) != c.zone_len[z] ||
			    !ntm_nss_name_ok(c.zones[z], c.zone_len[z]))
				abort();
		(void)ntm_nss_in_zone(&c, copy, size > NTM_LCTL_NAME_MAX ? 0 : strnlen(copy, size));
		(void)ntm_nss_in_prefix(&c, AF_INET, a16);
		(void)ntm_nss_in_prefix(&c, AF_INET6, a16);
	}
	free(copy);
	return 0;
}
