/* dcd.c - ntm-dcd, the Direction Coordinator: options, configuration,
 * identity, registry, sockets and the event loop. The protocol lives in
 * dc_proto.c, the control socket in dc_ctl.c. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dc.h"
#include "daemon.h"
#include "keyfile.h"
#include "log.h"
#include "notify.h"
#include "privs.h"
#include "util.h"

#define DC_SWEEP_MS 1000

static int load_identity(struct dc *dc)
{
	char msg[512], b64[NTM_KEY_B64_LEN + 1];
	bool created;
	int ret = ntm_daemon_load_identity(dc->cfg.key_file, &dc->id, &created, msg, sizeof(msg));

	if (ret < 0) {
		log_err("%s", msg);
		return ret;
	}
	ntm_key_to_base64(b64, dc->id.pub);
	if (created)
		log_notice("created DC key %s; public key %s", dc->cfg.key_file, b64);
	else
		log_info("DC public key %s", b64);
	static const struct ntm_hsgate_conf gate = DC_HSGATE_CONF;
	ret = ntm_hsgate_init(&dc->gate, &gate, dc->id.pub, ntm_loop_now_ms());
	if (ret < 0) {
		log_err_errno(-ret, "handshake admission");
		return ret;
	}
	uint64_t seed = 0;
	ntm_random(&seed, sizeof(seed));
	dc_diag_init(&dc->diag, seed);
	return ret;
}

/* The registry: the SQLite file (its directory made first), or the
 * PostgreSQL database ([Registry] Conninfo, never logged: it may hold a
 * password). */
static int open_store(struct dc *dc)
{
	struct ntm_store_params p = { .v4 = dc->cfg.prefix4, .v6 = dc->cfg.prefix6 };
	bool pg = dc->cfg.backend == NTM_STORE_POSTGRESQL;
	const char *what = pg ? "PostgreSQL" : dc->cfg.database;
	char err[512];
	int ret = pg ? 0 : ntm_mkdir_parent(dc->cfg.database);

	if (ret < 0) {
		log_err_errno(-ret, "%s: cannot create its directory", dc->cfg.database);
		return ret;
	}
	ret = ntm_store_open_backend(&dc->store, dc->cfg.backend, dc_registry_location(&dc->cfg),
				     &p, err, sizeof(err));
	if (ret < 0) {
		log_err("%s", err);
		return ret;
	}
	if (ntm_store_notice(dc->store)[0])
		log_warn("%s", ntm_store_notice(dc->store));
	ret = dc_registry_sync(dc);
	if (ret == 0)
		log_info("registry %s: %zu enrolled node(s)", what, dc->keys.len);
	return ret;
}

static int open_sockets(struct dc *dc)
{
	const void *a4 = dc->cfg.has_listen4 ? (const void *)&dc->cfg.listen4.u.v4 : NULL;
	const void *a6 = dc->cfg.has_listen6 ? (const void *)&dc->cfg.listen6.u.v6 : NULL;

	dc->fd4 = ntm_udp_open(AF_INET, a4, dc->cfg.port, false);
	if (dc->fd4 < 0) {
		log_err_errno(-dc->fd4, "UDP port %u (IPv4)", dc->cfg.port);
		return dc->fd4;
	}
	dc->fd6 = ntm_udp_open(AF_INET6, a6, dc->cfg.port, true);
	if (dc->fd6 < 0) {
		if (dc->fd6 != -EAFNOSUPPORT && dc->cfg.has_listen6) {
			log_err_errno(-dc->fd6, "UDP port %u (IPv6)", dc->cfg.port);
			return dc->fd6;
		}
		log_warn("no IPv6 (%s); serving IPv4 only", strerror(-dc->fd6));
	}
	ntm_io_init(&dc->io4, dc->loop, dc->fd4, dc_on_readable, dc);
	if (ntm_io_add(&dc->io4, EPOLLIN) < 0)
		return -EIO;
	if (dc->fd6 >= 0) {
		ntm_io_init(&dc->io6, dc->loop, dc->fd6, dc_on_readable, dc);
		if (ntm_io_add(&dc->io6, EPOLLIN) < 0)
			return -EIO;
	}
	log_notice("zone %s, listening on UDP port %u", dc->cfg.zone, dc->cfg.port);
	return 0;
}

/* The unprivileged DC must own the registry's files (ntm_store_hand_over).
 * The key file stays root's (it was read already). */
static int hand_over_state(struct dc *dc, uid_t uid, gid_t gid)
{
	char err[PATH_MAX + 128];
	int ret;

	if (dc->cfg.backend != NTM_STORE_SQLITE)
		return 0;               /* no files: the server keeps the registry */
	ret = ntm_store_hand_over(dc->cfg.database, uid, gid, err, sizeof(err));
	if (ret < 0)
		log_err("%s", err);
	return ret;
}

static void log_stats(void *arg)
{
	dc_log_stats(arg);
}

static int run(struct dc *dc, bool foreground)
{
	struct ntm_daemon_signals sig;
	struct ntm_privs_target who;
	bool pg = dc->cfg.backend == NTM_STORE_POSTGRESQL;
	int ret;

	(void)foreground;
	ntm_idmap_init(&dc->by_index);
	ntm_idmap_init(&dc->by_host);
	dc_nodeidx_init(&dc->registered);
	ntm_idmap_init(&dc->routes);
	ntm_idmap_init(&dc->routes_by_id);
	dc->fd4 = dc->fd6 = dc->rfd4 = dc->rfd6 = dc->mesh.fd = -1;
	ret = ntm_loop_new(&dc->loop);
	if (ret < 0)
		return ret;
	dc->started_ms = ntm_loop_now_ms();
	ret = ntm_privs_target(dc->cfg.user, sizeof(dc->cfg.user), &who);
	if (ret == 1)
		log_info("no user 'ntm'; running as 'nobody' after setup");
	if (ret < 0) {
		log_err("User=%s: %s", dc->cfg.user, ret == -ENOENT ? "no such user" : strerror(-ret));
		goto out;
	}
	if ((ret = load_identity(dc)) < 0 || (!pg && (ret = open_store(dc)) < 0) ||
	    (ret = open_sockets(dc)) < 0 || (ret = dc_relays_open(dc)) < 0 ||
	    (ret = dc_ctl_open(dc, who.uid, who.gid)) < 0)
		goto out;
	/* before dropping privileges: a file only root reads is read at start
	 * (reloads then keep it, logging why) */
	if ((ret = dc_policy_load(dc)) < 0)
		goto out;
	dc_fed_open(dc);
	if (who.drop && (ret = hand_over_state(dc, who.uid, who.gid)) < 0)
		goto out;
	if (who.drop) {
		ret = ntm_privs_drop(dc->cfg.user, 0);
		if (ret < 0) {
			log_err_errno(-ret, "cannot drop privileges to user %s", dc->cfg.user);
			goto out;
		}
		log_info("running as user %s without capabilities", dc->cfg.user);
	}
	/* PostgreSQL: connected to as the user the DC runs as, so the first
	 * connection authenticates as every later one does (peer
	 * authentication on the Unix socket, the user's password file) */
	if (pg && (ret = open_store(dc)) < 0)
		goto out;
	if ((ret = dc_mesh_open(dc)) < 0)
		goto out;
	ret = ntm_daemon_signals_add(&sig, dc->loop, log_stats, dc);
	if (ret < 0) {
		log_err_errno(-ret, "signals");
		goto out;
	}
	if ((ret = dc_policy_signal(dc)) < 0) {
		log_err_errno(-ret, "SIGHUP");
		goto out;
	}
	/* set-up is over: from here on, only what ntm-dcd(8) SANDBOX lists */
	/* PostgreSQL's list has what federation needs (UDP, poll) */
	if ((ret = ntm_sandbox_enter(dc->cfg.backend == NTM_STORE_POSTGRESQL ? NTM_SANDBOX_DCD_PG :
				     dc->cfg.nfed ? NTM_SANDBOX_DCD_FED : NTM_SANDBOX_DCD,
				     dc->cfg.seccomp)) < 0)
		goto out;
	ntm_timer_init(&dc->sweep, dc->loop, dc_sweep, dc);
	ntm_timer_arm(&dc->sweep, DC_SWEEP_MS, DC_SWEEP_MS);
	ntm_timer_init(&dc->push_timer, dc->loop, dc_push_tick, dc);
	ntm_notify_ready("zone %s, listening on UDP port %u", dc->cfg.zone, dc->cfg.port);
	ret = ntm_loop_run(dc->loop);
	if (sig.stopped_by) {
		log_notice("signal %d: stopping", sig.stopped_by);
		ntm_notify_stopping("stopping (signal %d)", sig.stopped_by);
	}
	dc_log_stats(dc);
out:
	dc_mesh_close(dc);
	dc_ctl_close(dc);
	dc_fed_close(dc);
	dc_relays_close(dc);
	dc_free_nodes(dc);
	dc_free_routes(dc);
	dc_registry_free(dc);
	dc_policy_free(dc);
	if (dc->fd4 >= 0)
		close(dc->fd4);
	if (dc->fd6 >= 0)
		close(dc->fd6);
	ntm_store_close(dc->store);
	ntm_loop_free(dc->loop);
	ntm_identity_clear(&dc->id);
	return ret;
}

int main(int argc, char **argv)
{
	struct ntm_daemon_opts o;
	char msg[1024];
	int ret = ntm_daemon_start(argc, argv, "ntm-dcd", NTM_DCD_CONF, &o);

	if (ret >= 0)
		return ret;
	static struct dc dc; /* large: holds the receive buffer */
	if (dc_config_load(o.conf, &dc.cfg, msg, sizeof(msg)) < 0) {
		log_err("%s", msg);
		return 1;
	}
	if (o.check_only) {
		struct ntm_policy *p = NULL;
		struct ntm_conf_error err = { 0 };
		if (dc.cfg.policy_file[0] &&
		    ntm_policy_parse_file(dc.cfg.policy_file, &p, &err) < 0) {
			ntm_conf_error_format(&err, msg, sizeof(msg));
			log_err("%s", msg);
			return 1;
		}
		ntm_policy_free(p);
		printf("%s: ok\n", o.conf);
		return 0;
	}
	return run(&dc, o.foreground) < 0 ? 1 : 0;
}
