/* fuzz_feddns.c - libFuzzer target: what a resolver sends a federating DC
 * (dc/feddns.c, doc/protocol.md 10.2). The first byte picks the step
 * (SRV, A or AAAA of a target); the ID asked is the input's own (bytes 1-2
 * once past the step byte), so answers get past the ID check and into the
 * record walks. Nothing may read out of bounds, and a found endpoint has a
 * family, a length to match and a port. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "feddns.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct feddns l;
	uint8_t q[512];

	if (size < 3)
		return 0;
	if (feddns_start(&l, "ntm.b.example", 3600) < 0)
		abort();
	l.step = (uint8_t)(1 + data[0] % 3);
	if (l.step != FEDDNS_SRV) {     /* as after an SRV answer without addresses */
		memcpy(l.qname, "dc.b.example.", sizeof("dc.b.example."));
		l.port = 7540;
	}
	if (feddns_query(&l, (uint16_t)(data[1] << 8 | data[2]), q, sizeof(q)) < 0)
		abort();
	switch (feddns_answer(&l, data + 1, size - 1)) {
	case FEDDNS_FOUND:
		if (!((l.ep.ss_family == AF_INET && l.eplen == 16) ||
		      (l.ep.ss_family == AF_INET6 && l.eplen == 28)) || l.port == 0)
			abort();
		break;
	case FEDDNS_NEXT:
		if (l.step != FEDDNS_A && l.step != FEDDNS_AAAA)
			abort();
		if (feddns_query(&l, 1, q, sizeof(q)) < 0 && strlen(l.qname) < 256)
			abort();
		break;
	case FEDDNS_FAIL:
		if (!l.why)
			abort();
		break;
	case FEDDNS_IGNORE:
		break;
	}
	return 0;
}
