/* fuzz_ctlframe.c - libFuzzer target for the control socket's framing
 * check, ntm_ctlsrv_partial (lib/ctlserver.c), which decides whether a
 * connection's input holds a request in progress and so runs the 2 s
 * request deadline (doc/control.md 1.1).
 *
 * The server reads with ntm_lctl_header_parse (process() in ctlserver.c);
 * ntm_ctlsrv_partial reads the header bytes itself. They must agree, or a
 * client could hold a connection with bytes the deadline does not see (or
 * have a sound pipeline cut). Checked on the input and on its prefixes:
 *   - partial is true exactly when the server's walk (whole messages
 *     skipped as process() skips them) ends inside a message or at a
 *     header it closes the connection on;
 *   - at every boundary between whole messages it is false, one byte
 *     before or after a boundary it is true;
 *   - whole messages followed by one more byte are partial. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ctlproto.h"
#include "ctlserver.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x) do { if (!(x)) __builtin_trap(); } while (0)
#define MAX_BOUNDS 256

/* The server's walk over len bytes: the ends of the whole messages it would
 * take in order (at most MAX_BOUNDS are recorded, *n counts them all), and
 * whether it stops inside a message or at a header it closes on (true) or
 * at the end of the last whole message (false). */
static bool server_walk(const uint8_t *in, size_t len, size_t *bounds, size_t *n)
{
	size_t off = 0;
	struct ntm_lctl_hdr h;

	*n = 0;
	while (off < len) {
		if (len - off < NTM_LCTL_HDR_LEN)
			return true;
		int hr = ntm_lctl_header_parse(in + off, len - off, &h);
		if (hr == -EPROTONOSUPPORT || hr == -EMSGSIZE || h.body_len > NTM_CTLSRV_MAX_REQUEST)
			return true; /* process() closes the connection here */
		size_t need = NTM_LCTL_HDR_LEN + h.body_len;
		if (len - off < need)
			return true;
		off += need;
		if (*n < MAX_BOUNDS)
			bounds[*n] = off;
		(*n)++;
	}
	return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static size_t bounds[MAX_BOUNDS];
	size_t n;

	bool partial = ntm_ctlsrv_partial(data, size);
	CHECK(partial == server_walk(data, size, bounds, &n));
	CHECK(!ntm_ctlsrv_partial(data, 0));

	/* around each boundary of the whole messages the server would take */
	size_t prev = 0;
	for (size_t i = 0; i < n && i < MAX_BOUNDS; i++) {
		size_t b = bounds[i];
		CHECK(!ntm_ctlsrv_partial(data, b));
		CHECK(ntm_ctlsrv_partial(data, b - 1));    /* the last byte missing */
		if (b - prev > 1)
			CHECK(ntm_ctlsrv_partial(data, prev + 1)); /* one byte of it */
		if (b < size)
			CHECK(ntm_ctlsrv_partial(data, b + 1));
		prev = b;
	}

	/* one byte after whole messages starts a request */
	if (!partial && size < NTM_CTLSRV_MAX_REQUEST * 8) {
		uint8_t *more = malloc(size + 1);
		if (more) {
			memcpy(more, data, size);
			more[size] = NTM_LCTL_VERSION;
			CHECK(ntm_ctlsrv_partial(more, size + 1));
			free(more);
		}
	}
	return 0;
}
