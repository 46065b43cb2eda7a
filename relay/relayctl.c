/* relayctl.c - ntm-relayctl: show-key (the relay's public key, for the
 * DC's configuration) and stats (ntm-relayd's counters). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "crypto.h"
#include "keyfile.h"
#include "relay_config.h"
#include "session.h"
#include "util.h"

struct cmd {
	const char *name;
	int (*fn)(const struct relayd_config *cfg, int argc, char **argv);
	const char *usage;
};

static int cmd_show_key(const struct relayd_config *cfg, int argc, char **argv)
{
	uint8_t priv[32], pub[32];
	char msg[512], b64[NTM_KEY_B64_LEN + 1];
	(void)argv;

	if (argc != 0)
		return -EINVAL;
	if (ntm_keyfile_read(cfg->key_file, priv, msg, sizeof(msg)) < 0) {
		fprintf(stderr, "ntm-relayctl: %s\n", msg);
		return 1;
	}
	int ret = ntm_x25519_public(pub, priv);
	ntm_wipe(priv, sizeof(priv));
	if (ret < 0) {
		fprintf(stderr, "ntm-relayctl: %s: %s\n", cfg->key_file, strerror(-ret));
		return 1;
	}
	ntm_key_to_base64(b64, pub);
	printf("%s\n", b64);
	return 0;
}

static int cmd_stats(const struct relayd_config *cfg, int argc, char **argv)
{
	if (argc == 1 && strcmp(argv[0], "--json") == 0)
		return ntm_cli_stats("ntm-relayctl", "ntm-relayd", cfg->control_socket, true);
	if (argc != 0)
		return -EINVAL;
	return ntm_cli_stats("ntm-relayctl", "ntm-relayd", cfg->control_socket, false);
}

static const struct cmd cmds[] = {
	{ "show-key", cmd_show_key, "show-key" },
	{ "stats", cmd_stats, "stats [--json]" },
};

static void usage(FILE *f)
{
	fprintf(f, "usage: ntm-relayctl [-c FILE] COMMAND\n");
	for (size_t i = 0; i < NTM_ARRAY_SIZE(cmds); i++)
		fprintf(f, "  ntm-relayctl %s\n", cmds[i].usage);
	fprintf(f, "  -c FILE  the relay's configuration (default " NTM_RELAYD_CONF ")\n");
}

int main(int argc, char **argv)
{
	const char *conf = NTM_RELAYD_CONF;
	struct relayd_config cfg;
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
	if (relayd_config_load(conf, &cfg, msg, sizeof(msg)) < 0) {
		fprintf(stderr, "ntm-relayctl: %s\n", msg);
		return 1;
	}
	for (size_t k = 0; k < NTM_ARRAY_SIZE(cmds); k++) {
		if (strcmp(argv[i], cmds[k].name) != 0)
			continue;
		int ret = cmds[k].fn(&cfg, argc - i - 1, argv + i + 1);
		if (ret == -EINVAL) {
			fprintf(stderr, "usage: ntm-relayctl %s\n", cmds[k].usage);
			return 2;
		}
		return ret;
	}
	fprintf(stderr, "ntm-relayctl: unknown command '%s'\n", argv[i]);
	usage(stderr);
	return 2;
}
