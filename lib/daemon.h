/* daemon.h - what ntm's daemons share around their main(): the same
 * options (-c FILE, -f, -n, -d, -h), the same start (NTM_NSS_BYPASS so the
 * daemon's own lookups never re-enter nss_ntm, logging set up once), the
 * key pair loaded or created, the same signals, and counters exported on
 * the control socket as a STATS reply. Who the daemon runs as is in
 * privs.h. Nothing here logs: errors are returned (-errno, with a message
 * where the cause needs more words) for the daemon to log. */
#ifndef NTM_DAEMON_H
#define NTM_DAEMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ctlproto.h"
#include "evloop.h"

struct ntm_identity;

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

/* The daemon's key pair from key_file, which is created (mode 0600, in a
 * directory made 0700) when it does not exist; *created says whether it
 * was. 0, or -errno with msg naming the file and what was wrong. */
int ntm_daemon_load_identity(const char *key_file, struct ntm_identity *id, bool *created,
			     char *msg, size_t msglen);

/* The signals every daemon handles, through its loop: SIGTERM and SIGINT
 * stop the loop (stopped_by records the signal, for the daemon to log once
 * the loop returns), SIGUSR1 calls on_usr1(arg) (the daemon logs its
 * counters), and SIGPIPE is ignored (a client that hangs up is an error
 * return, not death). s must live as long as the loop. */
struct ntm_daemon_signals {
	struct ntm_signal term, intr, usr1;
	struct ntm_loop *loop;
	int stopped_by;         /* SIGTERM or SIGINT once one stopped the loop, else 0 */
	void (*on_usr1)(void *arg);
	void *arg;
};

/* 0 or -errno (from signalfd). */
int ntm_daemon_signals_add(struct ntm_daemon_signals *s, struct ntm_loop *l,
			   void (*on_usr1)(void *arg), void *arg);

/* A counter table: names and offsets of uint64_t fields in a stats struct. */
struct ntm_counter_def {
	const char *name;
	size_t off;
};

/* Build the STATS reply for the counters in stats (table of n entries) and
 * n_gauges gauges (at most NTM_LCTL_MAX_GAUGES; gauges may be NULL when 0). */
int ntm_daemon_stats_reply(uint8_t *buf, size_t cap, uint32_t req_id, const void *stats,
			   const struct ntm_counter_def *defs, size_t n,
			   const struct ntm_lctl_counter *gauges, size_t n_gauges);

#endif
