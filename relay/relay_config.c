/* relay_config.c - relayd.conf schema; see relay_config.h. */
#include "relay_config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int relayd_config_load(const char *path, struct relayd_config *cfg, char *msg, size_t msglen)
{
	struct ntm_conf *c = NULL;
	uint64_t max_allocs, pps, mbit;
	char seccomp[16] = "", offload[16] = "";
	int ret;

	memset(cfg, 0, sizeof(*cfg));
	const struct ntm_conf_spec spec[] = {
		{ "Relay", "ListenPort", NTM_CONF_PORT, 0, &cfg->port, 0, 0, 0, "7542", NULL },
		{ "Relay", "ListenAddressIPv4", NTM_CONF_ADDR, 0, &cfg->listen4, 0, 0, 0, NULL,
		  &cfg->has_listen4 },
		{ "Relay", "ListenAddressIPv6", NTM_CONF_ADDR, 0, &cfg->listen6, 0, 0, 0, NULL,
		  &cfg->has_listen6 },
		{ "Relay", "PrivateKeyFile", NTM_CONF_STRING, 0, cfg->key_file, sizeof(cfg->key_file),
		  0, 0, NTM_LOCALSTATEDIR "/lib/ntm/relay.key", NULL },
		{ "Relay", "DCPublicKey", NTM_CONF_KEY, NTM_CONF_REQUIRED, cfg->dc_pub, 0, 0, 0, NULL,
		  NULL },
		{ "Relay", "ControlSocket", NTM_CONF_STRING, 0, cfg->control_socket,
		  sizeof(cfg->control_socket), 0, 0, NTM_RUNSTATEDIR "/ntm/relayd.sock", NULL },
		{ "Relay", "User", NTM_CONF_STRING, 0, cfg->user, sizeof(cfg->user), 0, 0, "ntm", NULL },
		{ "Relay", "Seccomp", NTM_CONF_STRING, 0, seccomp, sizeof(seccomp), 0, 0, "enforce",
		  NULL },
		{ "Relay", "MaxAllocations", NTM_CONF_UINT, 0, &max_allocs, 0, 1, 1000000, "4096", NULL },
		{ "Relay", "PairPacketRate", NTM_CONF_UINT, 0, &pps, 0, 1, 10000000, "20000", NULL },
		{ "Relay", "PairMbitRate", NTM_CONF_UINT, 0, &mbit, 0, 1, 100000, "200", NULL },
		{ "Relay", "Offload", NTM_CONF_STRING, 0, offload, sizeof(offload), 0, 0, "auto",
		  NULL },
	};

	ret = ntm_conf_load(path, spec, sizeof(spec) / sizeof(spec[0]), &c, msg, msglen);
	if (ret < 0)
		return ret;
	if (cfg->has_listen4 && cfg->listen4.family != AF_INET) {
		const struct ntm_conf_entry *e = ntm_conf_get(c, "Relay", "ListenAddressIPv4");
		snprintf(msg, msglen, "%s:%u: ListenAddressIPv4: not an IPv4 address", path,
			 e ? e->line : 0);
		ret = -EINVAL;
		goto out;
	}
	if (cfg->has_listen6 && cfg->listen6.family != AF_INET6) {
		const struct ntm_conf_entry *e = ntm_conf_get(c, "Relay", "ListenAddressIPv6");
		snprintf(msg, msglen, "%s:%u: ListenAddressIPv6: not an IPv6 address", path,
			 e ? e->line : 0);
		ret = -EINVAL;
		goto out;
	}
	ret = ntm_sandbox_conf_mode(c, path, "Relay", seccomp, &cfg->seccomp, msg, msglen);
	if (ret < 0)
		goto out;
	ret = ntm_conf_offload(c, path, "Relay", offload, &cfg->offload, msg, msglen);
	if (ret < 0)
		goto out;
	cfg->params.max_allocs = (uint32_t)max_allocs;
	cfg->params.pps = pps;
	cfg->params.bytes_ps = mbit * 125000u;
out:
	ntm_conf_free(c);
	return ret;
}
