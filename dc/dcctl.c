/* dcctl.c - ntm-dcctl, the DC's command-line tool. Enrolment commands work
 * on the registry database directly (SQLite in WAL mode with a busy
 * timeout, so it is safe while ntm-dcd runs; the DC re-reads a node's
 * enrolment on every handshake, REGISTER and KEEPALIVE, so a change takes
 * effect within one keepalive interval). */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "crypto.h"
#include "dc_config.h"
#include "keyfile.h"
#include "store.h"
#include "util.h"

struct cmd {
	const char *name;
	int (*fn)(const struct dc_config *cfg, int argc, char **argv);
	const char *usage;
};

static int open_store(const struct dc_config *cfg, struct ntm_store **st)
{
	struct ntm_store_params p = { .v4 = cfg->prefix4, .v6 = cfg->prefix6 };
	char err[512];
	int ret = ntm_store_open(st, cfg->database, &p, err, sizeof(err));

	if (ret < 0)
		fprintf(stderr, "ntm-dcctl: %s\n", err);
	return ret;
}

static int cmd_show_key(const struct dc_config *cfg, int argc, char **argv)
{
	uint8_t priv[32], pub[32];
	char msg[512], b64[NTM_KEY_B64_LEN + 1];
	(void)argv;

	if (argc != 0)
		return -EINVAL;
	if (ntm_keyfile_read(cfg->key_file, priv, msg, sizeof(msg)) < 0) {
		fprintf(stderr, "ntm-dcctl: %s\n", msg);
		return 1;
	}
	int ret = ntm_x25519_public(pub, priv);
	ntm_wipe(priv, sizeof(priv));
	if (ret < 0)
		return 1;
	ntm_key_to_base64(b64, pub);
	printf("%s\n", b64);
	return 0;
}

static int node_add(const struct dc_config *cfg, int argc, char **argv)
{
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
	ntm_store_close(st);
	return ret < 0 ? 1 : 0;
}

static int node_del(const struct dc_config *cfg, int argc, char **argv)
{
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
	ntm_store_close(st);
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

static int node_list(const struct dc_config *cfg, int argc, char **argv)
{
	struct list_ctx ctx = { 0 };
	struct ntm_store *st;
	int ret;

	if (argc == 1 && strcmp(argv[0], "--json") == 0)
		ctx.json = true;
	else if (argc != 0)
		return -EINVAL;
	if (open_store(cfg, &st) < 0)
		return 1;
	if (ctx.json)
		printf("[");
	else
		printf("%-32s %-44s %-15s %s\n", "NAME", "PUBLIC KEY", "IPV4", "IPV6");
	ret = ntm_store_node_list(st, print_node, &ctx);
	if (ctx.json)
		printf("%s]\n", ctx.n ? "\n" : "");
	if (ret < 0)
		fprintf(stderr, "ntm-dcctl: listing nodes: %s\n", ntm_store_errmsg(st));
	ntm_store_close(st);
	return ret < 0 ? 1 : 0;
}

static const struct cmd node_cmds[] = {
	{ "add", node_add, "node add NAME PUBKEY" },
	{ "del", node_del, "node del NAME" },
	{ "list", node_list, "node list [--json]" },
};

static int cmd_node(const struct dc_config *cfg, int argc, char **argv)
{
	if (argc < 1)
		return -EINVAL;
	for (size_t i = 0; i < NTM_ARRAY_SIZE(node_cmds); i++)
		if (strcmp(argv[0], node_cmds[i].name) == 0)
			return node_cmds[i].fn(cfg, argc - 1, argv + 1);
	return -EINVAL;
}

static int cmd_stats(const struct dc_config *cfg, int argc, char **argv)
{
	if (argc == 1 && strcmp(argv[0], "--json") == 0)
		return ntm_cli_stats("ntm-dcctl", "ntm-dcd", cfg->control_socket, true);
	if (argc != 0)
		return -EINVAL;
	return ntm_cli_stats("ntm-dcctl", "ntm-dcd", cfg->control_socket, false);
}

static const struct cmd cmds[] = {
	{ "show-key", cmd_show_key, "show-key" },
	{ "node", cmd_node, "node add NAME PUBKEY | node del NAME | node list [--json]" },
	{ "stats", cmd_stats, "stats [--json]" },
};

static void usage(FILE *f)
{
	fprintf(f, "usage: ntm-dcctl [-c FILE] COMMAND\n");
	for (size_t i = 0; i < NTM_ARRAY_SIZE(cmds); i++)
		fprintf(f, "  ntm-dcctl %s\n", cmds[i].usage);
	fprintf(f, "  -c FILE  the DC's configuration (default " NTM_DCD_CONF ")\n");
}

int main(int argc, char **argv)
{
	const char *conf = NTM_DCD_CONF;
	struct dc_config cfg;
	char msg[1024];
	int i = 1;

	setenv("NTM_NSS_BYPASS", "1", 1);
	if (argc > 2 && strcmp(argv[1], "-c") == 0) {
		conf = argv[2];
		i = 3;
	}
	if (i >= argc || strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
		usage(i >= argc ? stderr : stdout);
		return i >= argc ? 2 : 0;
	}
	if (dc_config_load(conf, &cfg, msg, sizeof(msg)) < 0) {
		fprintf(stderr, "ntm-dcctl: %s\n", msg);
		return 1;
	}
	for (size_t k = 0; k < NTM_ARRAY_SIZE(cmds); k++) {
		if (strcmp(argv[i], cmds[k].name) != 0)
			continue;
		int ret = cmds[k].fn(&cfg, argc - i - 1, argv + i + 1);
		if (ret == -EINVAL) {
			fprintf(stderr, "usage: ntm-dcctl %s\n", cmds[k].usage);
			return 2;
		}
		return ret;
	}
	fprintf(stderr, "ntm-dcctl: unknown command '%s'\n", argv[i]);
	usage(stderr);
	return 2;
}
