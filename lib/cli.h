/* cli.h - pieces shared by the command-line tools (ntmctl, ntm-dcctl). */
#ifndef NTM_CLI_H
#define NTM_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* One request/reply with the daemon at sock; on failure prints why on
 * stderr, prefixed with prog, and returns a negative value. */
ssize_t ntm_cli_call(const char *prog, const char *daemon, const char *sock, const void *req,
		     size_t len, uint8_t *reply, size_t cap);

/* The same with a deadline other than the default 2 s. */
ssize_t ntm_cli_call_timeout(const char *prog, const char *daemon, const char *sock,
			     const void *req, size_t len, uint8_t *reply, size_t cap, int timeout_ms);

/* Ask the daemon at sock for its counters and print them, one per line,
 * or as a JSON object. Returns the process exit status. */
int ntm_cli_stats(const char *prog, const char *daemon, const char *sock, bool json);

#endif
