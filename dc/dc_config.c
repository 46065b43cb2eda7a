/* dc_config.c - dcd.conf schema; see dc_config.h. */
#include "dc_config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int dc_qualify_name(const char *zone, const char *name, char out[NTM_NAME_MAX + 1])
{
	struct ntm_name n, z;
	size_t nl, zl;

	if (ntm_name_set(&n, name) < 0 || ntm_name_set(&z, zone) < 0)
		return -EINVAL;
	nl = n.len;
	zl = z.len;
	if (nl > zl && n.s[nl - zl - 1] == '.' && memcmp(n.s + nl - zl, z.s, zl) == 0) {
		memcpy(out, n.s, nl + 1);
		return 0;
	}
	if (strchr(n.s, '.'))
		return -EINVAL; /* a dotted name outside the zone */
	if (nl + 1 + zl > NTM_NAME_MAX)
		return -EINVAL;
	memcpy(out, n.s, nl);
	out[nl] = '.';
	memcpy(out + nl + 1, z.s, zl + 1);
	return 0;
}

int dc_config_load(const char *path, struct dc_config *cfg, char *msg, size_t msglen)
{
	struct ntm_conf *c = NULL;
	char zone[NTM_NAME_MAX + 2] = "";
	struct ntm_name z;
	bool seen4 = false, seen6 = false;
	int ret;

	memset(cfg, 0, sizeof(*cfg));
	const struct ntm_conf_spec spec[] = {
		{ "DC", "Zone", NTM_CONF_STRING, NTM_CONF_REQUIRED, zone, sizeof(zone), 0, 0, NULL, NULL },
		{ "DC", "ListenPort", NTM_CONF_PORT, 0, &cfg->port, 0, 0, 0, "7540", NULL },
		{ "DC", "ListenAddressIPv4", NTM_CONF_ADDR, 0, &cfg->listen4, 0, 0, 0, NULL, &cfg->has_listen4 },
		{ "DC", "ListenAddressIPv6", NTM_CONF_ADDR, 0, &cfg->listen6, 0, 0, 0, NULL, &cfg->has_listen6 },
		{ "DC", "PrivateKeyFile", NTM_CONF_STRING, 0, cfg->key_file, sizeof(cfg->key_file), 0, 0,
		  NTM_LOCALSTATEDIR "/lib/ntm/dc.key", NULL },
		{ "DC", "Database", NTM_CONF_STRING, 0, cfg->database, sizeof(cfg->database), 0, 0,
		  NTM_LOCALSTATEDIR "/lib/ntm/db/dc.db", NULL },
		{ "DC", "ControlSocket", NTM_CONF_STRING, 0, cfg->control_socket,
		  sizeof(cfg->control_socket), 0, 0, NTM_RUNSTATEDIR "/ntm/dcd.sock", NULL },
		{ "DC", "IPv4Prefix", NTM_CONF_PREFIX, 0, &cfg->prefix4, 0, 0, 0, NULL, &seen4 },
		{ "DC", "IPv6Prefix", NTM_CONF_PREFIX, 0, &cfg->prefix6, 0, 0, 0, NULL, &seen6 },
		{ "DC", "KeepaliveInterval", NTM_CONF_UINT, 0, &cfg->keepalive_s, 0, 1, 3600, "20", NULL },
		{ "DC", "NodeLifetime", NTM_CONF_UINT, 0, &cfg->lifetime_s, 0, 3, 65535, "90", NULL },
		{ "DC", "User", NTM_CONF_STRING, 0, cfg->user, sizeof(cfg->user), 0, 0, "ntm", NULL },
	};

	ret = ntm_conf_load(path, spec, sizeof(spec) / sizeof(spec[0]), &c, msg, msglen);
	if (ret < 0)
		return ret;
	const struct ntm_conf_entry *e = ntm_conf_get(c, "DC", "Zone");
	if (ntm_name_set(&z, zone) < 0) {
		snprintf(msg, msglen, "%s:%u: Zone: '%s' is not a valid DNS name", path,
			 e ? e->line : 0, zone);
		ret = -EINVAL;
		goto out;
	}
	memcpy(cfg->zone, z.s, (size_t)z.len + 1);
	if (seen4 && cfg->prefix4.family != AF_INET) {
		e = ntm_conf_get(c, "DC", "IPv4Prefix");
		snprintf(msg, msglen, "%s:%u: IPv4Prefix: not an IPv4 prefix", path, e ? e->line : 0);
		ret = -EINVAL;
		goto out;
	}
	if (seen6 && cfg->prefix6.family != AF_INET6) {
		e = ntm_conf_get(c, "DC", "IPv6Prefix");
		snprintf(msg, msglen, "%s:%u: IPv6Prefix: not an IPv6 prefix", path, e ? e->line : 0);
		ret = -EINVAL;
		goto out;
	}
	if (cfg->has_listen4 && cfg->listen4.family != AF_INET) {
		snprintf(msg, msglen, "%s: ListenAddressIPv4 is not an IPv4 address", path);
		ret = -EINVAL;
		goto out;
	}
	if (cfg->has_listen6 && cfg->listen6.family != AF_INET6) {
		snprintf(msg, msglen, "%s: ListenAddressIPv6 is not an IPv6 address", path);
		ret = -EINVAL;
		goto out;
	}
	if (cfg->lifetime_s <= cfg->keepalive_s) {
		e = ntm_conf_get(c, "DC", "NodeLifetime");
		snprintf(msg, msglen, "%s:%u: NodeLifetime (%llu s) must be longer than "
			 "KeepaliveInterval (%llu s)", path, e ? e->line : 0,
			 (unsigned long long)cfg->lifetime_s, (unsigned long long)cfg->keepalive_s);
		ret = -EINVAL;
		goto out;
	}
out:
	ntm_conf_free(c);
	return ret;
}
