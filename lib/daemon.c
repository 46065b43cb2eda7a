/* daemon.c - see daemon.h. */
#include "daemon.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctlproto.h"
#include "log.h"

static void usage(FILE *f, const char *ident, const char *default_conf)
{
	fprintf(f, "usage: %s [-f] [-n] [-d] [-c FILE]\n"
		   "  -c FILE  configuration file (default %s)\n"
		   "  -f       log to stderr instead of syslog (the daemon never forks)\n"
		   "  -n       check the configuration and exit\n"
		   "  -d       debug logging\n", ident, default_conf);
}

int ntm_daemon_start(int argc, char **argv, const char *ident, const char *default_conf,
		     struct ntm_daemon_opts *o)
{
	int c;

	memset(o, 0, sizeof(*o));
	o->conf = default_conf;
	o->level = NTM_LOG_INFO;
	/* Our own lookups must never go through nss_ntm (doc/names.md N14). */
	setenv("NTM_NSS_BYPASS", "1", 1);
	while ((c = getopt(argc, argv, "c:fndh")) != -1) {
		switch (c) {
		case 'c': o->conf = optarg; o->conf_given = true; break;
		case 'f': o->foreground = true; break;
		case 'n': o->check_only = true; break;
		case 'd': o->level = NTM_LOG_DEBUG; break;
		case 'h': usage(stdout, ident, default_conf); return 0;
		default: usage(stderr, ident, default_conf); return 2;
		}
	}
	if (optind != argc) {
		usage(stderr, ident, default_conf);
		return 2;
	}
	ntm_log_init(ident, o->foreground || o->check_only, o->level);
	return -1;
}

int ntm_daemon_stats_reply(uint8_t *buf, size_t cap, uint32_t req_id, const void *stats,
			   const struct ntm_counter_def *defs, size_t n)
{
	struct ntm_lctl_stats *m = calloc(1, sizeof(*m));
	int ret;

	if (!m)
		return -ENOMEM;
	for (size_t i = 0; i < n && i < NTM_LCTL_MAX_COUNTERS; i++) {
		snprintf(m->c[i].name, sizeof(m->c[i].name), "%s", defs[i].name);
		memcpy(&m->c[i].value, (const uint8_t *)stats + defs[i].off, sizeof(uint64_t));
		m->n++;
	}
	ret = ntm_lctl_reply_stats(buf, cap, req_id, m);
	free(m);
	return ret;
}
