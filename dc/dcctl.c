/* dcctl.c - ntm-dcctl, the DC's command-line tool. Enrolment, backup and
 * restore work on the registry database directly (SQLite in WAL mode with
 * a busy timeout, or the PostgreSQL database of [Registry], so it is safe
 * while ntm-dcd runs). migrate copies the SQLite registry into a
 * PostgreSQL database. After a change it
 * sends RELOAD to the DC's control socket, so a running DC holds the new
 * set of enrolled keys when the command returns (else within a second:
 * the DC also checks the database every second). */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "crypto.h"
#include "ctlclient.h"
#include "ctlproto.h"
#include "dc.h"
#include "dc_config.h"
#include "metrics.h"
#include "privs.h"
#include "store.h"
#include "util.h"

static int open_store(const struct dc_config *cfg, struct ntm_store **st)
{
	struct ntm_store_params p = { .v4 = cfg->prefix4, .v6 = cfg->prefix6 };
	char err[512];
	int ret = ntm_store_open_backend(st, cfg->backend, dc_registry_location(cfg), &p, err,
					 sizeof(err));

	if (ret < 0)
		fprintf(stderr, "ntm-dcctl: %s\n", err);
	else if (ntm_store_notice(*st)[0])
		fprintf(stderr, "ntm-dcctl: warning: %s\n", ntm_store_notice(*st));
	return ret;
}

/* Closes the registry; run as root, hands its files to the user ntm-dcd
 * runs as (User=), so that a registry made here before the DC first started
 * (under its systemd unit the DC starts as that user and cannot take them
 * over itself) stays writable by the DC. */
static void close_store(const struct dc_config *cfg, struct ntm_store *st)
{
	struct ntm_privs_target who;
	char user[sizeof(cfg->user)], err[PATH_MAX + 128];

	ntm_store_close(st);
	if (geteuid() != 0 || cfg->backend != NTM_STORE_SQLITE)
		return;
	snprintf(user, sizeof(user), "%s", cfg->user);
	if (ntm_privs_target(user, sizeof(user), &who) < 0 || !who.drop)
		return;
	if (ntm_store_hand_over(cfg->database, who.uid, who.gid, err, sizeof(err)) < 0)
		fprintf(stderr, "ntm-dcctl: warning: %s\n", err);
}

/* Tells a running DC that the registry changed. A DC that is not running
 * needs no telling; one that does not answer picks the change up within
 * a second by itself, so only that is said. */
static void poke_dc(const struct dc_config *cfg)
{
	uint8_t req[64], reply[64];
	struct ntm_lctl_hdr h;
	int len = ntm_lctl_req_reload(req, sizeof(req), 1);
	ssize_t n = ntm_lctl_call(cfg->control_socket, req, (size_t)len, reply, sizeof(reply), 2000);

	if (n == -ENOENT || n == -ECONNREFUSED)
		return;
	if (n < 0 || ntm_lctl_decode_empty(reply, (size_t)n, NTM_LCTL_RELOAD_REPLY, &h) < 0 ||
	    h.status != NTM_LCTL_OK)
		fprintf(stderr, "ntm-dcctl: note: ntm-dcd at %s did not confirm it re-read the "
			"registry (%s); it does so within a second by itself\n", cfg->control_socket,
			n < 0 ? strerror((int)-n) : "no OK");
}

static int cmd_show_key(void *ctx, int argc, char **argv)
{
	const struct dc_config *cfg = ctx;

	return ntm_cli_show_key_cmd("ntm-dcctl", cfg->key_file, argc, argv);
}

static int node_add(void *ctx, int argc, char **argv)
{
	const struct dc_config *cfg = ctx;
	struct ntm_store *st;
	struct ntm_node_rec rec;
	char fqdn[NTM_NAME_MAX + 1], a4[INET_ADDRSTRLEN], a6[INET6_ADDRSTRLEN];
	uint8_t key[32];
	int ret;

	if (argc != 2)
		return -EINVAL;
	if (dc_qualify_name(cfg->zone, argv[0], fqdn) < 0) {
		fprintf(stderr, "ntm-dcctl: '%s' is not a valid name in zone %s\n", argv[0], cfg->zone);
		return 1;
	}
	if (ntm_key_from_base64(key, argv[1]) < 0) {
		fprintf(stderr, "ntm-dcctl: '%s' is not a public key (44 characters of base64, "
			"as printed by 'ntmctl pubkey')\n", argv[1]);
		return 1;
	}
	if (open_store(cfg, &st) < 0)
		return 1;
	ret = ntm_store_node_add(st, fqdn, key, &rec);
	if (ret == -EEXIST)
		fprintf(stderr, "ntm-dcctl: %s: the name or the key is already enrolled "
			"(one name, one key; 'ntm-dcctl node list' shows them)\n", fqdn);
	else if (ret == -ENOSPC)
		fprintf(stderr, "ntm-dcctl: %s: no virtual address left in the IPv4 prefix\n", fqdn);
	else if (ret < 0)
		fprintf(stderr, "ntm-dcctl: %s: %s (%s)\n", fqdn, strerror(-ret), ntm_store_errmsg(st));
	else
		printf("%s %s %s\n", rec.name, inet_ntop(AF_INET, rec.vip4, a4, sizeof(a4)),
		       inet_ntop(AF_INET6, rec.vip6, a6, sizeof(a6)));
	close_store(cfg, st);
	if (ret == 0)
		poke_dc(cfg);
	return ret < 0 ? 1 : 0;
}

static int node_del(void *ctx, int argc, char **argv)
{
	const struct dc_config *cfg = ctx;
	struct ntm_store *st;
	char fqdn[NTM_NAME_MAX + 1];
	int ret;

	if (argc != 1)
		return -EINVAL;
	if (dc_qualify_name(cfg->zone, argv[0], fqdn) < 0) {
		fprintf(stderr, "ntm-dcctl: '%s' is not a valid name in zone %s\n", argv[0], cfg->zone);
		return 1;
	}
	if (open_store(cfg, &st) < 0)
		return 1;
	ret = ntm_store_node_del(st, fqdn);
	if (ret == -ENOENT)
		fprintf(stderr, "ntm-dcctl: %s is not enrolled\n", fqdn);
	else if (ret < 0)
		fprintf(stderr, "ntm-dcctl: %s: %s (%s)\n", fqdn, strerror(-ret), ntm_store_errmsg(st));
	close_store(cfg, st);
	if (ret == 0)
		poke_dc(cfg);
	return ret < 0 ? 1 : 0;
}

struct list_ctx {
	bool json;
	unsigned n;
};

static int print_node(const struct ntm_node_rec *rec, void *arg)
{
	struct list_ctx *ctx = arg;
	char a4[INET_ADDRSTRLEN], a6[INET6_ADDRSTRLEN], key[NTM_KEY_B64_LEN + 1];

	inet_ntop(AF_INET, rec->vip4, a4, sizeof(a4));
	inet_ntop(AF_INET6, rec->vip6, a6, sizeof(a6));
	ntm_key_to_base64(key, rec->pubkey);
	/* Names are LDH-only (validated by the store), keys base64: no JSON escaping needed. */
	if (ctx->json)
		printf("%s\n  {\"name\": \"%s\", \"public_key\": \"%s\", \"ipv4\": \"%s\", "
		       "\"ipv6\": \"%s\", \"created\": %lld}", ctx->n ? "," : "", rec->name, key, a4,
		       a6, (long long)rec->created);
	else
		printf("%-32s %-44s %-15s %s\n", rec->name, key, a4, a6);
	ctx->n++;
	return 0;
}

static int node_list(void *ctx, int argc, char **argv)
{
	const struct dc_config *cfg = ctx;
	struct list_ctx list = { 0 };
	struct ntm_store *st;
	int ret;

	if (ntm_cli_json_arg(argc, argv, &list.json) < 0)
		return -EINVAL;
	if (open_store(cfg, &st) < 0)
		return 1;
	if (list.json)
		printf("[");
	else
		printf("%-32s %-44s %-15s %s\n", "NAME", "PUBLIC KEY", "IPV4", "IPV6");
	ret = ntm_store_node_list(st, print_node, &list);
	if (list.json)
		printf("%s]\n", list.n ? "\n" : "");
	if (ret < 0)
		fprintf(stderr, "ntm-dcctl: listing nodes: %s\n", ntm_store_errmsg(st));
	close_store(cfg, st);
	return ret < 0 ? 1 : 0;
}

static const struct ntm_cli_cmd node_cmds[] = {
	{ "add", node_add, "node add NAME PUBKEY" },
	{ "del", node_del, "node del NAME" },
	{ "list", node_list, "node list [--json]" },
};

static int cmd_node(void *ctx, int argc, char **argv)
{
	const struct ntm_cli_cmd *c = NULL;

	if (argc >= 1)
		c = ntm_cli_find(node_cmds, NTM_ARRAY_SIZE(node_cmds), argv[0]);
	if (!c)
		return -EINVAL;
	return c->fn(ctx, argc - 1, argv + 1);
}

/* backup FILE copies the registry out; restore FILE replaces it (both safe
 * while the DC runs: lib/store.c copies with SQLite's backup API). */
static int copy_registry(const struct dc_config *cfg, int argc, char **argv, bool restore)
{
	struct ntm_store *st;
	uint32_t mark = 0;
	char err[512];
	int ret;

	if (argc != 1)
		return -EINVAL;
	if (open_store(cfg, &st) < 0)
		return 1;
	ret = restore ? ntm_store_restore(st, argv[0], err, sizeof(err))
		      : ntm_store_backup(st, argv[0], err, sizeof(err));
	if (ret < 0) {
		fprintf(stderr, "ntm-dcctl: %s: %s\n", restore ? "restore" : "backup", err);
	} else {
		if (restore && ntm_store_notice(st)[0])
			fprintf(stderr, "ntm-dcctl: warning: %s\n", ntm_store_notice(st));
		if (ntm_store_mark(st, &mark) == 0 && !restore)
			printf("%s: registry copied; host indices handed out up to %u\n", argv[0],
			       (unsigned)mark);
		else if (restore)
			printf("%s restored from %s; new enrolments get host indices above %u\n",
			       cfg->database, argv[0], (unsigned)mark);
	}
	close_store(cfg, st);
	if (restore && ret == 0)
		poke_dc(cfg);
	return ret < 0 ? 1 : 0;
}

static int cmd_backup(void *ctx, int argc, char **argv)
{
	return copy_registry(ctx, argc, argv, false);
}

static int cmd_restore(void *ctx, int argc, char **argv)
{
	return copy_registry(ctx, argc, argv, true);
}

static int count_cb(const struct ntm_node_rec *rec, void *ctx)
{
	(void)rec;
	(*(size_t *)ctx)++;
	return 0;
}

/* migrate --to CONNINFO: the SQLite registry ([DC] Database) into an empty
 * PostgreSQL database, in one transaction of the target's. */
static int cmd_migrate(void *ctx, int argc, char **argv)
{
	const struct dc_config *cfg = ctx;
	struct ntm_store_params p = { .v4 = cfg->prefix4, .v6 = cfg->prefix6 };
	struct ntm_store *from = NULL, *to = NULL;
	size_t nodes = 0;
	uint32_t mark = 0;
	char err[512] = "";
	int ret;

	if (argc != 2 || strcmp(argv[0], "--to") != 0 || !argv[1][0])
		return -EINVAL;
	/* opening a missing file would make a new, empty registry */
	if (access(cfg->database, F_OK) < 0) {
		fprintf(stderr, "ntm-dcctl: migrate: %s: %s (the SQLite registry to copy is [DC] "
			"Database)\n", cfg->database, strerror(errno));
		return 1;
	}
	ret = ntm_store_open_backend(&from, NTM_STORE_SQLITE, cfg->database, &p, err, sizeof(err));
	if (ret == 0)
		ret = ntm_store_open_backend(&to, NTM_STORE_POSTGRESQL, argv[1], &p, err,
					     sizeof(err));
	if (ret == 0)
		ret = ntm_store_migrate(from, to, err, sizeof(err));
	if (ret == 0)
		ret = ntm_store_node_list(to, count_cb, &nodes);
	if (ret == 0)
		ret = ntm_store_mark(to, &mark);
	if (ret < 0)
		fprintf(stderr, "ntm-dcctl: migrate: %s\n", err[0] ? err : strerror(-ret));
	else
		printf("%s migrated into PostgreSQL: %zu enrolled node(s), host indices handed out up "
		       "to %u; set [Registry] Backend = postgresql and Conninfo to use it\n",
		       cfg->database, nodes, (unsigned)mark);
	ntm_store_close(to);
	if (from)
		close_store(cfg, from);
	return ret < 0 ? 1 : 0;
}

/* ---- policy: the access policy file (ntm-policy(5)) ---- */

/* The policy in file, or [Policy] File: 0 with *p (NULL and *file NULL:
 * none configured), or 1 after an error message. */
static int policy_read(const struct dc_config *cfg, const char *file, const char **used,
		       struct ntm_policy **p)
{
	struct ntm_conf_error err = { 0 };
	char msg[1024];

	*p = NULL;
	*used = file ? file : cfg->policy_file[0] ? cfg->policy_file : NULL;
	if (!*used)
		return 0;
	if (ntm_policy_parse_file(*used, p, &err) < 0) {
		ntm_conf_error_format(&err, msg, sizeof(msg));
		fprintf(stderr, "ntm-dcctl: %s\n", msg);
		return 1;
	}
	return 0;
}

static int policy_show(const struct dc_config *cfg, const char *file)
{
	struct ntm_policy *p;
	const char *used;
	char line[8192];
	unsigned at;

	if (policy_read(cfg, file, &used, &p))
		return 1;
	if (!used) {
		printf("no policy ([Policy] File is not set): every node may reach every other\n");
		return 0;
	}
	printf("# %s: %zu group(s), %zu rule(s); what no rule allows is denied\n", used,
	       ntm_policy_ngroups(p), ntm_policy_nrules(p));
	for (size_t i = 0; ntm_policy_group_text(p, i, line, sizeof(line), &at) >= 0; i++)
		printf("%s\t# line %u\n", line, at);
	for (size_t i = 0; ntm_policy_rule_text(p, i, line, sizeof(line), &at) >= 0; i++)
		printf("%s\t# rule %zu, line %u\n", line, i + 1, at);
	ntm_policy_free(p);
	return 0;
}

/* A name as the operator writes it: "alice" is in the DC's zone, a dotted
 * name is taken as it is (it may be in another zone). */
static int policy_name(const struct dc_config *cfg, const char *in, char out[NTM_NAME_MAX + 1])
{
	struct ntm_name n;

	if (dc_qualify_name(cfg->zone, in, out) == 0)
		return 0;
	if (!strchr(in, '.') || ntm_name_set(&n, in) < 0) {
		fprintf(stderr, "ntm-dcctl: '%s' is not a valid name\n", in);
		return -1;
	}
	memcpy(out, n.s, (size_t)n.len + 1);
	return 0;
}

/* 0: allowed, 1: denied (or an error, said on stderr). */
static int policy_check(const struct dc_config *cfg, const char *a, const char *b)
{
	char from[NTM_NAME_MAX + 1], to[NTM_NAME_MAX + 1], line[8192];
	struct ntm_policy *p;
	const char *used;
	unsigned rule, at;

	if (policy_name(cfg, a, from) < 0 || policy_name(cfg, b, to) < 0 ||
	    policy_read(cfg, NULL, &used, &p))
		return 1;
	if (!used) {
		printf("allowed: %s -> %s (no policy: [Policy] File is not set)\n", from, to);
		return 0;
	}
	bool ok = ntm_policy_allows(p, from, to, &rule);
	if (ok) {
		ntm_policy_rule_text(p, rule - 1, line, sizeof(line), &at);
		printf("allowed: %s -> %s by rule %u (%s:%u): %s\n", from, to, rule, used, at, line);
	} else {
		printf("denied: %s -> %s: no rule of %s allows it\n", from, to, used);
	}
	ntm_policy_free(p);
	return ok ? 0 : 1;
}

/* RELOAD: the DC reads its policy file again (and the registry, if it
 * changed). */
static int policy_reload(const struct dc_config *cfg)
{
	uint8_t req[64], reply[64];
	struct ntm_lctl_hdr h;
	int len = ntm_lctl_req_reload(req, sizeof(req), 1);
	ssize_t n = ntm_lctl_call(cfg->control_socket, req, (size_t)len, reply, sizeof(reply), 2000);

	if (n < 0) {
		fprintf(stderr, "ntm-dcctl: %s: %s\n", cfg->control_socket, strerror((int)-n));
		return 1;
	}
	if (ntm_lctl_decode_empty(reply, (size_t)n, NTM_LCTL_RELOAD_REPLY, &h) < 0 ||
	    h.status != NTM_LCTL_OK) {
		fprintf(stderr, "ntm-dcctl: ntm-dcd could not read its policy or registry (its log "
			"says why); it keeps what it had\n");
		return 1;
	}
	return 0;
}

static int cmd_policy(void *ctx, int argc, char **argv)
{
	const struct dc_config *cfg = ctx;

	if (argc >= 1 && argc <= 2 && strcmp(argv[0], "show") == 0)
		return policy_show(cfg, argc == 2 ? argv[1] : NULL);
	if (argc == 3 && strcmp(argv[0], "check") == 0)
		return policy_check(cfg, argv[1], argv[2]);
	if (argc == 1 && strcmp(argv[0], "reload") == 0)
		return policy_reload(cfg);
	return -EINVAL;
}

static int cmd_stats(void *ctx, int argc, char **argv)
{
	const struct dc_config *cfg = ctx;

	return ntm_cli_stats_cmd("ntm-dcctl", "ntm-dcd", cfg->control_socket, argc, argv);
}

/* HELP texts: the DC's counters (dc.h), the embedded relay's, the gauges. */
#define XD(name, text) { #name, text },
#define XR(name, text) { "relay_" #name, "embedded relay: " text },
static const struct ntm_metrics_help metrics_help[] = {
	DC_STATS(XD) RELAY_STATS(XR)
	{ "uptime_seconds", "seconds since ntm-dcd started" },
	{ "nodes_enrolled", "keys enrolled in the registry (as last read)" },
	{ "nodes_known", "enrolled nodes the DC has had a session with" },
	{ "nodes_registered", "nodes registered now" },
	{ "routes", "routes held (made or kept alive within the reuse time)" },
	{ "relays", "standalone relays configured" },
	{ "relays_up", "standalone relays with a working session" },
};
#undef XD
#undef XR

static int cmd_metrics(void *ctx, int argc, char **argv)
{
	const struct dc_config *cfg = ctx;

	return ntm_cli_metrics_cmd("ntm-dcctl", "ntm-dcd", cfg->control_socket, "ntm_dcd",
				   metrics_help, NTM_ARRAY_SIZE(metrics_help), argc, argv);
}

static const struct ntm_cli_cmd cmds[] = {
	{ "show-key", cmd_show_key, "show-key" },
	{ "node", cmd_node, "node add NAME PUBKEY | node del NAME | node list [--json]" },
	{ "backup", cmd_backup, "backup FILE" },
	{ "restore", cmd_restore, "restore FILE" },
	{ "migrate", cmd_migrate, "migrate --to CONNINFO" },
	{ "policy", cmd_policy, "policy show [FILE] | policy check NAME1 NAME2 | policy reload" },
	{ "stats", cmd_stats, "stats [--json]" },
	{ "metrics", cmd_metrics, "metrics" },
};

int main(int argc, char **argv)
{
	struct ntm_cli cli = {
		.prog = "ntm-dcctl", .cmds = cmds, .n_cmds = NTM_ARRAY_SIZE(cmds),
		.opt = "-c", .opt_synopsis = "-c FILE",
		.opt_help = "the DC's configuration (default " NTM_DCD_CONF ")",
		.opt_value = NTM_DCD_CONF,
	};
	struct dc_config cfg;
	char msg[1024];
	int i, ret = ntm_cli_start(&cli, argc, argv, &i);

	if (ret >= 0)
		return ret;
	if (dc_config_load(cli.opt_value, &cfg, msg, sizeof(msg)) < 0) {
		fprintf(stderr, "ntm-dcctl: %s\n", msg);
		return NTM_CLI_FAIL;
	}
	return ntm_cli_dispatch(&cli, &cfg, argc - i, argv + i);
}
