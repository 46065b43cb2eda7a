/* cli.c - see cli.h. */
#include "cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "ctlclient.h"
#include "ctlproto.h"
#include "keyfile.h"
#include "metrics.h"
#include "util.h"

#ifndef NTM_VERSION
#define NTM_VERSION "unknown"
#endif

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

/* STATS into *st; 0, or -1 after saying why on stderr. */
static int get_stats(const char *prog, const char *daemon, const char *sock,
		     struct ntm_lctl_stats *st)
{
	static uint8_t reply[NTM_LCTL_MSG_MAX];
	struct ntm_lctl_hdr h;
	uint8_t req[64];

	int len = ntm_lctl_req_stats(req, sizeof(req), 1);
	ssize_t n = ntm_cli_call(prog, daemon, sock, req, (size_t)len, reply, sizeof(reply));
	if (n < 0)
		return -1;
	if (ntm_lctl_decode_stats(reply, (size_t)n, &h, st) < 0) {
		fprintf(stderr, "%s: malformed reply from %s\n", prog, daemon);
		return -1;
	}
	if (h.status != NTM_LCTL_OK) {
		fprintf(stderr, "%s: stats: %s\n", prog, ntm_lctl_status_name(h.status));
		return -1;
	}
	return 0;
}

int ntm_cli_metrics_cmd(const char *prog, const char *daemon, const char *sock,
			const char *prefix, const struct ntm_metrics_help *help, size_t n_help,
			int argc, char **argv)
{
	static struct ntm_lctl_stats st;
	static char out[256 * 1024];
	(void)argv;

	if (argc != 0)
		return -EINVAL;
	if (get_stats(prog, daemon, sock, &st) < 0)
		return NTM_CLI_FAIL;
	int n = ntm_metrics_format(out, sizeof(out), prefix, daemon, &st, help, n_help);
	if (n < 0) {
		fprintf(stderr, "%s: metrics: %s\n", prog, strerror(-n));
		return NTM_CLI_FAIL;
	}
	if (fwrite(out, 1, (size_t)n, stdout) != (size_t)n || fflush(stdout) != 0) {
		fprintf(stderr, "%s: metrics: %s\n", prog, strerror(errno));
		return NTM_CLI_FAIL;
	}
	return NTM_CLI_OK;
}

int ntm_cli_stats(const char *prog, const char *daemon, const char *sock, bool json)
{
	static struct ntm_lctl_stats st;

	if (get_stats(prog, daemon, sock, &st) < 0)
		return 1;
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

void ntm_cli_usage(const struct ntm_cli *cli, FILE *f)
{
	fprintf(f, "usage: %s [%s] COMMAND\n", cli->prog, cli->opt_synopsis);
	for (size_t i = 0; i < cli->n_cmds; i++)
		fprintf(f, "  %s %s\n", cli->prog, cli->cmds[i].usage);
	fprintf(f, "  %s  %s\n", cli->opt_synopsis, cli->opt_help);
	fprintf(f, "  --version  print the name and version and exit\n");
}

int ntm_cli_start(struct ntm_cli *cli, int argc, char **argv, int *cmd_at)
{
	int i = 1;

	setenv("NTM_NSS_BYPASS", "1", 1);
	if (argc > 2 && strcmp(argv[1], cli->opt) == 0) {
		cli->opt_value = argv[2];
		i = 3;
	}
	if (i >= argc) {
		ntm_cli_usage(cli, stderr);
		return NTM_CLI_USAGE;
	}
	if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
		ntm_cli_usage(cli, stdout);
		return NTM_CLI_OK;
	}
	if (strcmp(argv[i], "--version") == 0) {
		printf("%s %s\n", cli->prog, NTM_VERSION);
		return NTM_CLI_OK;
	}
	*cmd_at = i;
	return -1;
}

const struct ntm_cli_cmd *ntm_cli_find(const struct ntm_cli_cmd *cmds, size_t n,
				       const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(name, cmds[i].name) == 0)
			return &cmds[i];
	return NULL;
}

int ntm_cli_dispatch(const struct ntm_cli *cli, void *ctx, int argc, char **argv)
{
	const struct ntm_cli_cmd *c = argc > 0 ? ntm_cli_find(cli->cmds, cli->n_cmds, argv[0])
					       : NULL;
	int ret;

	if (!c) {
		fprintf(stderr, "%s: unknown command '%s'\n", cli->prog, argc > 0 ? argv[0] : "");
		ntm_cli_usage(cli, stderr);
		return NTM_CLI_USAGE;
	}
	ret = c->fn(ctx, argc - 1, argv + 1);
	if (ret == -EINVAL) {
		fprintf(stderr, "usage: %s %s\n", cli->prog, c->usage);
		return NTM_CLI_USAGE;
	}
	return ret;
}

int ntm_cli_json_arg(int argc, char **argv, bool *json)
{
	*json = argc == 1 && strcmp(argv[0], "--json") == 0;
	return *json || argc == 0 ? 0 : -EINVAL;
}

int ntm_cli_stats_cmd(const char *prog, const char *daemon, const char *sock, int argc,
		      char **argv)
{
	bool json;

	if (ntm_cli_json_arg(argc, argv, &json) < 0)
		return -EINVAL;
	return ntm_cli_stats(prog, daemon, sock, json);
}

int ntm_cli_show_key_cmd(const char *prog, const char *key_file, int argc, char **argv)
{
	uint8_t priv[32], pub[32];
	char msg[512], b64[NTM_KEY_B64_LEN + 1];
	int ret;
	(void)argv;

	if (argc != 0)
		return -EINVAL;
	if (ntm_keyfile_read(key_file, priv, msg, sizeof(msg)) < 0) {
		fprintf(stderr, "%s: %s\n", prog, msg);
		return NTM_CLI_FAIL;
	}
	ret = ntm_x25519_public(pub, priv);
	ntm_wipe(priv, sizeof(priv));
	if (ret < 0) {
		fprintf(stderr, "%s: %s: %s\n", prog, key_file, strerror(-ret));
		return NTM_CLI_FAIL;
	}
	ntm_key_to_base64(b64, pub);
	printf("%s\n", b64);
	return NTM_CLI_OK;
}
