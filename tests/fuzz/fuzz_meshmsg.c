/* fuzz_meshmsg.c - libFuzzer target: what a DC instance reads from the
 * shared PostgreSQL registry (dc/meshmsg.c): presence rows, Mesh
 * Directions and their NOTIFY hex text. Whatever decodes must encode back
 * to the same bytes (the encodings are canonical), and nothing may read
 * out of bounds.
 *
 *   clang -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined \
 *         -Ilib -Idc dc/meshmsg.c tests/fuzz/fuzz_meshmsg.c -o fuzz_meshmsg
 *   ./fuzz_meshmsg -max_total_time=60 tests/fuzz/corpus/meshmsg
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "meshmsg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ntm_mesh_presence p;
	struct ntm_mesh_direct d, e;
	uint8_t out[NTM_MESH_DIRECT_MAX > NTM_MESH_PRESENCE_MAX ? NTM_MESH_DIRECT_MAX :
		    NTM_MESH_PRESENCE_MAX];
	char text[NTM_MESH_TEXT_MAX + 64];
	int n;

	if (ntm_mesh_presence_decode(data, size, &p) == 0) {
		n = ntm_mesh_presence_encode(&p, out, sizeof(out));
		if (n < 0 || (size_t)n != size || memcmp(out, data, size))
			abort();
		struct ntm_candidate c[NTM_MAX_CANDS];
		if (ntm_mesh_cands(&p, c) > NTM_MAX_CANDS)
			abort();
	}
	if (ntm_mesh_direct_decode(data, size, &d) == 0) {
		n = ntm_mesh_direct_encode(&d, out, sizeof(out));
		if (n < 0 || (size_t)n != size || memcmp(out, data, size))
			abort();
		if (ntm_mesh_direct_to_text(&d, text, sizeof(text)) != 2 * n ||
		    ntm_mesh_direct_from_text(text, &e) != 0 || memcmp(&d, &e, sizeof(d)))
			abort();
	}
	/* the input as NOTIFY text */
	if (size < sizeof(text)) {
		memcpy(text, data, size);
		text[size] = '\0';
		(void)ntm_mesh_direct_from_text(text, &d);
	}
	return 0;
}
