/* relayctl.c - ntm-relayctl: show-key (the relay's public key, for the
 * DC's configuration) and stats (ntm-relayd's counters). */
#include <stdio.h>

#include "cli.h"
#include "relay_config.h"
#include "util.h"

static int cmd_show_key(void *ctx, int argc, char **argv)
{
	const struct relayd_config *cfg = ctx;

	return ntm_cli_show_key_cmd("ntm-relayctl", cfg->key_file, argc, argv);
}

static int cmd_stats(void *ctx, int argc, char **argv)
{
	const struct relayd_config *cfg = ctx;

	return ntm_cli_stats_cmd("ntm-relayctl", "ntm-relayd", cfg->control_socket, argc, argv);
}

static const struct ntm_cli_cmd cmds[] = {
	{ "show-key", cmd_show_key, "show-key" },
	{ "stats", cmd_stats, "stats [--json]" },
};

int main(int argc, char **argv)
{
	struct ntm_cli cli = {
		.prog = "ntm-relayctl", .cmds = cmds, .n_cmds = NTM_ARRAY_SIZE(cmds),
		.opt = "-c", .opt_synopsis = "-c FILE",
		.opt_help = "the relay's configuration (default " NTM_RELAYD_CONF ")",
		.opt_value = NTM_RELAYD_CONF,
	};
	struct relayd_config cfg;
	char msg[1024];
	int i, ret = ntm_cli_start(&cli, argc, argv, &i);

	if (ret >= 0)
		return ret;
	if (relayd_config_load(cli.opt_value, &cfg, msg, sizeof(msg)) < 0) {
		fprintf(stderr, "ntm-relayctl: %s\n", msg);
		return NTM_CLI_FAIL;
	}
	return ntm_cli_dispatch(&cli, &cfg, argc - i, argv + i);
}
