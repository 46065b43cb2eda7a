/* daemon.h - what ntm's daemons share around their main(): the same
 * options (-c FILE, -f, -n, -d, -h), the same start (NTM_NSS_BYPASS so the
 * daemon's own lookups never re-enter nss_ntm, logging set up once), and
 * counters exported on the control socket as a STATS reply. */
#ifndef NTM_DAEMON_H
#define NTM_DAEMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ntm_daemon_opts {
	const char *conf;       /* -c FILE, or the default passed in */
	bool conf_given;        /* -c was used */
	bool check_only;        /* -n */
	bool foreground;        /* -f */
	int level;              /* NTM_LOG_INFO, or DEBUG with -d */
};

/* Parse argv. Prints the usage (name, default config) and returns the exit
 * status to use (0 for -h, 2 for a bad option) when main must stop, or -1
 * to go on; on -1 logging is initialized as ident. */
int ntm_daemon_start(int argc, char **argv, const char *ident, const char *default_conf,
		     struct ntm_daemon_opts *o);

/* A counter table: names and offsets of uint64_t fields in a stats struct. */
struct ntm_counter_def {
	const char *name;
	size_t off;
};

/* Build the STATS reply for the counters in stats (table of n entries). */
int ntm_daemon_stats_reply(uint8_t *buf, size_t cap, uint32_t req_id, const void *stats,
			   const struct ntm_counter_def *defs, size_t n);

#endif
