/* cli.c - see cli.h. */
#include "cli.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ctlclient.h"
#include "ctlproto.h"

#define CALL_TIMEOUT_MS 2000

ssize_t ntm_cli_call(const char *prog, const char *daemon, const char *sock, const void *req,
		     size_t len, uint8_t *reply, size_t cap)
{
	return ntm_cli_call_timeout(prog, daemon, sock, req, len, reply, cap, CALL_TIMEOUT_MS);
}

ssize_t ntm_cli_call_timeout(const char *prog, const char *daemon, const char *sock,
			     const void *req, size_t len, uint8_t *reply, size_t cap, int timeout_ms)
{
	ssize_t n = ntm_lctl_call(sock, req, len, reply, cap, timeout_ms);

	if (n == -ENOENT || n == -ECONNREFUSED)
		fprintf(stderr, "%s: %s is not running (no socket at %s)\n", prog, daemon, sock);
	else if (n == -EPERM)
		fprintf(stderr, "%s: %s failed the ownership checks; not trusting it\n", prog, sock);
	else if (n < 0)
		fprintf(stderr, "%s: %s: %s\n", prog, sock, strerror((int)-n));
	return n;
}

int ntm_cli_stats(const char *prog, const char *daemon, const char *sock, bool json)
{
	static uint8_t reply[NTM_LCTL_MSG_MAX];
	static struct ntm_lctl_stats st;
	struct ntm_lctl_hdr h;
	uint8_t req[64];

	int len = ntm_lctl_req_stats(req, sizeof(req), 1);
	ssize_t n = ntm_cli_call(prog, daemon, sock, req, (size_t)len, reply, sizeof(reply));
	if (n < 0)
		return 1;
	if (ntm_lctl_decode_stats(reply, (size_t)n, &h, &st) < 0) {
		fprintf(stderr, "%s: malformed reply from %s\n", prog, daemon);
		return 1;
	}
	if (h.status != NTM_LCTL_OK) {
		fprintf(stderr, "%s: stats: %s\n", prog, ntm_lctl_status_name(h.status));
		return 1;
	}
	/* counter names are [a-z0-9_]: no JSON escaping needed */
	if (json)
		printf("{");
	for (unsigned i = 0; i < st.n; i++) {
		if (json)
			printf("%s\"%s\": %llu", i ? ", " : "", st.c[i].name,
			       (unsigned long long)st.c[i].value);
		else
			printf("%-20s %llu\n", st.c[i].name, (unsigned long long)st.c[i].value);
	}
	if (json)
		printf("}\n");
	return 0;
}
