/* daemon.c - see daemon.h. */
#include "daemon.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctlproto.h"
#include "keyfile.h"
#include "log.h"
#include "session.h"
#include "util.h"

#ifndef NTM_VERSION
#define NTM_VERSION "unknown"
#endif

static void usage(FILE *f, const char *ident, const char *default_conf)
{
	fprintf(f, "usage: %s [-f] [-n] [-d] [-c FILE] | --version\n"
		   "  -c FILE  configuration file (default %s)\n"
		   "  -f       log to stderr instead of syslog (the daemon never forks)\n"
		   "  -n       check the configuration and exit\n"
		   "  -d       debug logging\n"
		   "  --version  print the name and version and exit\n", ident, default_conf);
}

int ntm_daemon_start(int argc, char **argv, const char *ident, const char *default_conf,
		     struct ntm_daemon_opts *o)
{
	static const struct option longopts[] = {
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	memset(o, 0, sizeof(*o));
	o->conf = default_conf;
	o->level = NTM_LOG_INFO;
	/* Our own lookups must never go through nss_ntm (doc/names.md N14). */
	setenv("NTM_NSS_BYPASS", "1", 1);
	while ((c = getopt_long(argc, argv, "c:fndh", longopts, NULL)) != -1) {
		switch (c) {
		case 'c': o->conf = optarg; o->conf_given = true; break;
		case 'f': o->foreground = true; break;
		case 'n': o->check_only = true; break;
		case 'd': o->level = NTM_LOG_DEBUG; break;
		case 'h': usage(stdout, ident, default_conf); return 0;
		case 'V': printf("%s %s\n", ident, NTM_VERSION); return 0;
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

int ntm_daemon_load_identity(const char *key_file, struct ntm_identity *id, bool *created,
			     char *msg, size_t msglen)
{
	uint8_t priv[32];
	int made = 0;
	int ret = ntm_mkdir_parent(key_file);

	if (ret < 0) {
		snprintf(msg, msglen, "%s: cannot create its directory: %s", key_file,
			 strerror(-ret));
		return ret;
	}
	ret = ntm_keyfile_load_or_create(key_file, priv, &made, msg, msglen);
	if (ret < 0)
		return ret;
	ret = ntm_identity_init(id, priv);
	ntm_wipe(priv, sizeof(priv));
	if (ret < 0) {
		snprintf(msg, msglen, "%s: %s", key_file, strerror(-ret));
		return ret;
	}
	*created = made != 0;
	return 0;
}

static void on_stop(struct ntm_signal *sig, int signo, void *arg)
{
	struct ntm_daemon_signals *s = arg;

	(void)sig;
	s->stopped_by = signo;
	ntm_loop_stop(s->loop);
}

static void on_usr1(struct ntm_signal *sig, int signo, void *arg)
{
	struct ntm_daemon_signals *s = arg;
	(void)sig;
	(void)signo;

	s->on_usr1(s->arg);
}

int ntm_daemon_signals_add(struct ntm_daemon_signals *s, struct ntm_loop *l,
			   void (*usr1)(void *arg), void *arg)
{
	int ret;

	*s = (struct ntm_daemon_signals){ .loop = l, .on_usr1 = usr1, .arg = arg };
	signal(SIGPIPE, SIG_IGN);
	if ((ret = ntm_signal_add(&s->term, l, SIGTERM, on_stop, s)) < 0 ||
	    (ret = ntm_signal_add(&s->intr, l, SIGINT, on_stop, s)) < 0 ||
	    (ret = ntm_signal_add(&s->usr1, l, SIGUSR1, on_usr1, s)) < 0)
		return ret;
	return 0;
}

int ntm_daemon_stats_reply(uint8_t *buf, size_t cap, uint32_t req_id, const void *stats,
			   const struct ntm_counter_def *defs, size_t n,
			   const struct ntm_lctl_counter *gauges, size_t n_gauges)
{
	struct ntm_lctl_stats *m = calloc(1, sizeof(*m));
	int ret;

	if (!m)
		return -ENOMEM;
	if (n > NTM_LCTL_MAX_COUNTERS) /* the tables are checked at compile time */
		n = NTM_LCTL_MAX_COUNTERS;
	for (size_t i = 0; i < n; i++) {
		snprintf(m->c[i].name, sizeof(m->c[i].name), "%s", defs[i].name);
		memcpy(&m->c[i].value, (const uint8_t *)stats + defs[i].off, sizeof(uint64_t));
		m->n++;
	}
	for (size_t i = 0; i < n_gauges && i < NTM_LCTL_MAX_GAUGES; i++)
		m->g[m->n_gauges++] = gauges[i];
	ret = ntm_lctl_reply_stats(buf, cap, req_id, m);
	free(m);
	return ret;
}
