/* resolverd.c - ntm-resolverd, the stub resolver for programs that do not
 * use NSS: options, configuration, the overlay's zones (from ntm-tund's nss
 * file, re-read when it changes; zones once learned are kept, so an
 * overlay name is never forwarded even while ntm-tund is down), upstream
 * servers (from the saved original resolv.conf), the event loop. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "crypto.h"
#include "daemon.h"
#include "log.h"
#include "notify.h"
#include "nss_ntm.h"
#include "paths.h"
#include "privs.h"
#include "resolvconf.h"
#include "sandbox.h"
#include "resolverd.h"
#include "util.h"

#define RESOLVERD_CONF NTM_SYSCONFDIR "/ntm/resolverd.conf"
#define NSS_POLL_MS 2000

static int load_config(const char *path, bool must_exist, struct rs_config *cfg, char *msg,
		       size_t msglen)
{
	struct ntm_conf *c = NULL;
	struct ntm_conf_error err = { 0 };
	struct ntm_conf_addr a4, a6;
	uint16_t port;
	bool v6;
	char seccomp[16] = "";
	int ret;

	memset(cfg, 0, sizeof(*cfg));
	const struct ntm_conf_spec spec[] = {
		{ "Resolver", "ListenAddress", NTM_CONF_ADDR, 0, &a4, 0, 0, 0, "127.0.0.77", NULL },
		{ "Resolver", "ListenPort", NTM_CONF_PORT, 0, &port, 0, 0, 0, "53", NULL },
		{ "Resolver", "ListenIPv6", NTM_CONF_BOOL, 0, &v6, 0, 0, 0, "no", NULL },
		{ "Resolver", "UpstreamsFrom", NTM_CONF_STRING, 0, cfg->upstreams_file,
		  sizeof(cfg->upstreams_file), 0, 0, NTM_SYSCONFDIR "/resolv.conf.ntm-orig", NULL },
		{ "Resolver", "NssFile", NTM_CONF_STRING, 0, cfg->nss_file, sizeof(cfg->nss_file), 0, 0,
		  NTM_RUNSTATEDIR "/ntm/nss", NULL },
		{ "Resolver", "Zones", NTM_CONF_STRING, 0, cfg->zones, sizeof(cfg->zones), 0, 0, NULL, NULL },
		{ "Resolver", "CacheEntries", NTM_CONF_UINT, 0, &cfg->cache_entries, 0, 0, 1000000,
		  "10000", NULL },
		{ "Resolver", "RefusePrivateReverse", NTM_CONF_BOOL, 0, &cfg->refuse_private_reverse, 0,
		  0, 0, "no", NULL },
		{ "Resolver", "OverlayCache", NTM_CONF_BOOL, 0, &cfg->overlay_cache, 0, 0, 0, "yes",
		  NULL },
		{ "Resolver", "OverlayMap", NTM_CONF_BOOL, 0, &cfg->overlay_map, 0, 0, 0, "yes", NULL },
		{ "Resolver", "User", NTM_CONF_STRING, 0, cfg->user, sizeof(cfg->user), 0, 0, "ntm", NULL },
		{ "Resolver", "Seccomp", NTM_CONF_STRING, 0, seccomp, sizeof(seccomp), 0, 0, "enforce",
		  NULL },
	};
	struct stat st;

	if (!must_exist && stat(path, &st) < 0 && errno == ENOENT)
		ret = ntm_conf_parse_mem(path, "", 0, &c, &err);
	else
		ret = ntm_conf_parse_file(path, &c, &err);
	if (ret == 0)
		ret = ntm_conf_apply(c, spec, NTM_ARRAY_SIZE(spec), &err);
	if (ret < 0) {
		ntm_conf_free(c);
		ntm_conf_error_format(&err, msg, msglen);
		return ret;
	}
	ret = ntm_sandbox_conf_mode(c, path, "Resolver", seccomp, &cfg->seccomp, msg, msglen);
	ntm_conf_free(c);
	if (ret < 0)
		return ret;
	if (a4.family != AF_INET) {
		snprintf(msg, msglen, "%s: ListenAddress must be an IPv4 address", path);
		return -EINVAL;
	}
	struct sockaddr_in *sin = (struct sockaddr_in *)&cfg->listen[0];
	sin->sin_family = AF_INET;
	sin->sin_port = htons(port);
	sin->sin_addr = a4.u.v4;
	cfg->nlisten = 1;
	if (v6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&cfg->listen[1];
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		sin6->sin6_addr = in6addr_loopback;
		cfg->nlisten = 2;
	}
	(void)a6;
	return 0;
}

/* Add zone (lower case, no trailing dot) unless known. */
static void learn_zone(struct resolverd *r, const char *zone)
{
	for (unsigned i = 0; i < r->ov.nzones; i++)
		if (strcmp(r->ov.zones[i], zone) == 0)
			return;
	if (r->ov.nzones == NTM_DNS_MAX_ZONES)
		return;
	snprintf(r->ov.zones[r->ov.nzones++], sizeof(r->ov.zones[0]), "%s", zone);
	log_info("overlay zone %s", zone);
}

/* Re-read ntm-tund's nss file when it changed. Zones and prefixes only
 * accumulate: forgetting one would forward its names upstream. */
static void read_nss(struct resolverd *r)
{
	struct ntm_nss_conf c;
	struct stat st;

	if (stat(r->cfg.nss_file, &st) < 0)
		return;
	int64_t m = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
	if (m == r->nss_mtime && (uint64_t)st.st_ino == r->nss_ino)
		return;
	if (ntm_nss_conf_load(r->cfg.nss_file, &c) < 0)
		return;
	r->nss_mtime = m;
	r->nss_ino = (uint64_t)st.st_ino;
	/* ntm-tund (re)started or re-registered: forget its answers, and
	 * connect again at once if a connect was failing */
	tundq_changed(r);
	for (unsigned i = 0; i < c.n_zones; i++)
		learn_zone(r, c.zones[i]);
	for (unsigned i = 0; i < c.n_p4 && r->ov.nprefix4 < NTM_DNS_MAX_PREFIXES; i++) {
		bool known = false;
		for (unsigned k = 0; k < r->ov.nprefix4; k++)
			known |= memcmp(r->ov.prefix4[k].addr, c.p4[i].addr, 4) == 0 &&
				 r->ov.prefix4[k].plen == c.p4[i].plen;
		if (known)
			continue;
		memcpy(r->ov.prefix4[r->ov.nprefix4].addr, c.p4[i].addr, 4);
		r->ov.prefix4[r->ov.nprefix4++].plen = (uint8_t)c.p4[i].plen;
	}
	for (unsigned i = 0; i < c.n_p6 && r->ov.nprefix6 < NTM_DNS_MAX_PREFIXES; i++) {
		bool known = false;
		for (unsigned k = 0; k < r->ov.nprefix6; k++)
			known |= memcmp(r->ov.prefix6[k].addr, c.p6[i].addr, 16) == 0 &&
				 r->ov.prefix6[k].plen == c.p6[i].plen;
		if (known)
			continue;
		memcpy(r->ov.prefix6[r->ov.nprefix6].addr, c.p6[i].addr, 16);
		r->ov.prefix6[r->ov.nprefix6++].plen = (uint8_t)c.p6[i].plen;
	}
	snprintf(r->tund_socket, sizeof(r->tund_socket), "%s", c.socket);
}

static int open_upstreams(struct resolverd *r);

static int64_t mtime_of(const char *path)
{
	struct stat st;
	return stat(path, &st) < 0 ? -1 : (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
}

/* The saved resolv.conf changed (ntmctl dns enable wrote a new backup, or
 * an administrator edited it): new upstreams, an empty cache, and every
 * query starts again at the first server. The queries in flight get
 * SERVFAIL from ups_free; while it answers them r->ups still names the old
 * engine, on purpose: a TCP client closed by one answer has its other
 * queries cancelled there (handle_cancel), which upstream.h allows, and a
 * query started meanwhile is refused (-ESHUTDOWN, SERVFAIL). */
static void check_upstreams(struct resolverd *r)
{
	int64_t m = mtime_of(r->cfg.upstreams_file);

	if (m == r->ups_mtime)
		return;
	log_notice("%s changed: reading the upstream servers again", r->cfg.upstreams_file);
	ups_free(r->ups);
	r->ups = NULL;
	if (r->cache)
		cache_flush(r->cache);
	open_upstreams(r);
}

static void on_nss_timer(struct ntm_timer *t, void *arg)
{
	(void)t;
	read_nss(arg);
	check_upstreams(arg);
}

static int open_upstreams(struct resolverd *r)
{
	struct ntm_resolv rc;
	struct ntm_resolv_ns ns[NTM_RESOLV_MAX_NS];
	struct sockaddr_storage servers[NTM_RESOLV_MAX_NS];
	char err[256], self[2][INET6_ADDRSTRLEN];
	const char *listen[2];
	int ret;

	for (unsigned i = 0; i < r->cfg.nlisten; i++) {
		const struct sockaddr_storage *ss = &r->cfg.listen[i];
		if (ss->ss_family == AF_INET)
			inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr, self[i], sizeof(self[i]));
		else
			inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)ss)->sin6_addr, self[i], sizeof(self[i]));
		listen[i] = self[i];
	}
	r->ups_mtime = mtime_of(r->cfg.upstreams_file);
	ret = ntm_resolv_read_file(r->cfg.upstreams_file, &rc, err, sizeof(err));
	if (ret < 0) {
		log_warn("%s; names outside the overlay will get SERVFAIL", err);
		return 0;
	}
	int n = ntm_resolv_upstreams(&rc, listen, r->cfg.nlisten, ns, NTM_RESOLV_MAX_NS);
	if (n <= 0) {
		log_warn("%s: no upstream server (other than this stub); names outside the overlay "
			 "will get SERVFAIL", r->cfg.upstreams_file);
		return 0;
	}
	for (int i = 0; i < n; i++) {
		memset(&servers[i], 0, sizeof(servers[i]));
		if (ns[i].family == AF_INET) {
			struct sockaddr_in *s = (struct sockaddr_in *)&servers[i];
			s->sin_family = AF_INET;
			s->sin_port = htons(53);
			s->sin_addr = ns[i].addr.v4;
		} else {
			struct sockaddr_in6 *s = (struct sockaddr_in6 *)&servers[i];
			s->sin6_family = AF_INET6;
			s->sin6_port = htons(53);
			s->sin6_addr = ns[i].addr.v6;
		}
		log_info("upstream %s", ns[i].text);
	}
	struct ups_params p = { .listen = r->cfg.listen, .nlisten = r->cfg.nlisten };
	ret = ups_new(&r->ups, r->loop, servers, (size_t)n, &p);
	if (ret < 0)
		log_err_errno(-ret, "upstream servers");
	return ret;
}

static void log_stats(void *arg)
{
	const struct resolverd *r = arg;
#define X(n) log_notice("%-18s %llu", #n, (unsigned long long)r->stats.n);
	RS_STATS(X)
#undef X
}

static int run(struct resolverd *r)
{
	struct ntm_daemon_signals sig;
	struct ntm_privs_target who;
	int ret = ntm_loop_new(&r->loop);

	if (ret < 0)
		return ret;
	ntm_random(&r->hash_key, sizeof(r->hash_key));
	for (char *z = strtok(r->cfg.zones, " \t"); z; z = strtok(NULL, " \t"))
		learn_zone(r, z);
	snprintf(r->tund_socket, sizeof(r->tund_socket), NTM_RUNSTATEDIR "/ntm/tund.sock");
	r->ov.refuse_private_reverse = r->cfg.refuse_private_reverse;
	if ((ret = tundq_init(r)) < 0)
		goto out;
	if (r->cfg.overlay_map) /* before the sandbox: it installs a signal handler */
		r->mf = mapfile_new(r->cfg.nss_file);
	read_nss(r);
	if (r->cfg.cache_entries) {
		struct cache_params cp = { .max_entries = r->cfg.cache_entries };
		if (cache_new(&r->cache, &cp) < 0)
			goto out;
	}
	if ((ret = server_open(r)) < 0 || (ret = open_upstreams(r)) < 0)
		goto out;
	/* any User= that does not resolve falls back to nobody */
	if (ntm_privs_target(r->cfg.user, sizeof(r->cfg.user), &who) < 0)
		snprintf(r->cfg.user, sizeof(r->cfg.user), "nobody");
	if (who.drop) {
		ret = ntm_privs_drop(r->cfg.user, 0);
		if (ret < 0) {
			log_err_errno(-ret, "cannot drop privileges to %s", r->cfg.user);
			goto out;
		}
	}
	ret = ntm_daemon_signals_add(&sig, r->loop, log_stats, r);
	if (ret < 0) {
		log_err_errno(-ret, "signals");
		goto out;
	}
	/* set-up is over: from here on, only what ntm-resolverd(8) SANDBOX lists */
	if ((ret = ntm_sandbox_enter(NTM_SANDBOX_RESOLVERD, r->cfg.seccomp)) < 0)
		goto out;
	ntm_timer_init(&r->nss_timer, r->loop, on_nss_timer, r);
	ntm_timer_arm(&r->nss_timer, NSS_POLL_MS, NSS_POLL_MS);
	char buf[80];
	log_notice("listening on %s (UDP and TCP), %u overlay zone(s)",
		   ntm_sockaddr_str((struct sockaddr *)&r->cfg.listen[0], buf, sizeof(buf)), r->ov.nzones);
	ntm_notify_ready("listening on %s (UDP and TCP), %u overlay zone(s)", buf, r->ov.nzones);
	ret = ntm_loop_run(r->loop);
	if (sig.stopped_by) {
		log_notice("signal %d: stopping", sig.stopped_by);
		ntm_notify_stopping("stopping (signal %d)", sig.stopped_by);
	}
out:
	tundq_free(r);
	mapfile_free(r->mf);
	ups_free(r->ups);
	cache_free(r->cache);
	server_close(r);
	rq_pool_free(r);
	ntm_loop_free(r->loop);
	return ret;
}

int main(int argc, char **argv)
{
	struct ntm_daemon_opts o;
	char msg[1024];
	static struct resolverd r;
	int ret = ntm_daemon_start(argc, argv, "ntm-resolverd", RESOLVERD_CONF, &o);

	if (ret >= 0)
		return ret;
	/* the configuration file is optional unless named with -c */
	if (load_config(o.conf, o.conf_given, &r.cfg, msg, sizeof(msg)) < 0) {
		log_err("%s", msg);
		return 1;
	}
	if (o.check_only) {
		printf("%s: ok\n", o.conf);
		return 0;
	}
	return run(&r) < 0 ? 1 : 0;
}
