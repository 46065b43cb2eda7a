/* resolvconf_resolvectl.c - systemd-resolved per-link split DNS
 * (resolvconf.h, part 3): builders of the resolvectl argv the caller runs.
 * Nothing here runs a program or touches a file. */
#include "resolvconf.h"
#include "resolvconf_internal.h"

#include <errno.h>
#include <stdio.h>
#include <sys/socket.h>
#include <string.h>

static bool valid_ifname(const char *s)
{
	return s && ntm_resolv_valid_scope(s) && strcmp(s, ".") && strcmp(s, "..") &&
	       !strchr(s, ':');
}

static int cmd_push(struct ntm_resolvectl_cmd *cmd, const char *a, const char *b)
{
	size_t na = strlen(a), nb = b ? strlen(b) : 0;

	if (cmd->argc >= NTM_RESOLVECTL_MAX_ARGS || sizeof(cmd->buf) - cmd->used < na + nb + 1)
		return -E2BIG;
	cmd->argv[cmd->argc] = cmd->buf + cmd->used;
	memcpy(cmd->buf + cmd->used, a, na);
	if (b)
		memcpy(cmd->buf + cmd->used + na, b, nb);
	cmd->buf[cmd->used + na + nb] = '\0';
	cmd->used += na + nb + 1;
	cmd->argv[++cmd->argc] = NULL;
	return 0;
}

static int cmd_start(struct ntm_resolvectl_cmd *cmd, const char *verb, const char *ifname)
{
	memset(cmd, 0, sizeof(*cmd));
	if (!valid_ifname(ifname))
		return -EINVAL;
	cmd_push(cmd, "resolvectl", NULL);
	cmd_push(cmd, verb, NULL);
	return cmd_push(cmd, ifname, NULL);
}

int ntm_resolvectl_dns(struct ntm_resolvectl_cmd *cmd, const char *ifname,
		       const char *const *servers, size_t nservers)
{
	struct ntm_resolv_ns ns;
	int r = cmd_start(cmd, "dns", ifname);

	for (size_t i = 0; !r && i < nservers; i++) {
		r = ntm_resolv_parse_addr(servers[i], &ns);
		if (!r)
			r = cmd_push(cmd, servers[i], NULL);
	}
	return r ? r : (nservers ? 0 : -EINVAL);
}

int ntm_resolvectl_domain(struct ntm_resolvectl_cmd *cmd, const char *ifname,
			  const char *const *zones, size_t nzones)
{
	int r = cmd_start(cmd, "domain", ifname);

	for (size_t i = 0; !r && i < nzones; i++) {
		const char *z = zones[i];

		if (!ntm_resolv_valid_name(z, strlen(z)) || !strcmp(z, "."))
			return -EINVAL;
		r = cmd_push(cmd, "~", z);
	}
	return r ? r : (nzones ? 0 : -EINVAL);
}

int ntm_resolvectl_default_route(struct ntm_resolvectl_cmd *cmd, const char *ifname, bool on)
{
	int r = cmd_start(cmd, "default-route", ifname);

	return r ? r : cmd_push(cmd, on ? "true" : "false", NULL);
}

int ntm_resolvectl_revert(struct ntm_resolvectl_cmd *cmd, const char *ifname)
{
	return cmd_start(cmd, "revert", ifname);
}

size_t ntm_reverse_zones(int af, const uint8_t *addr, unsigned plen,
			 char (*out)[NTM_REVZONE_SIZE], size_t cap)
{
	unsigned unit = af == AF_INET ? 8 : 4, nunits = af == AF_INET ? 4 : 32;
	unsigned full = plen / unit, rem = plen % unit, count = rem ? 1u << (unit - rem) : 1;
	size_t made = 0;

	if ((af != AF_INET && af != AF_INET6) || plen == 0 || plen > nunits * unit)
		return 0;
	if (count > NTM_REVZONE_MAX)
		count = 1, rem = 0;
	if (full == 0 && rem == 0)
		return 0; /* the whole address family: not a zone to route */
	for (unsigned v = 0; v < count && made < cap; v++) {
		char *z = out[made++];
		size_t n = 0;
		unsigned labels = rem ? full + 1 : full;
		for (unsigned i = labels; i-- > 0;) {
			unsigned val;
			if (af == AF_INET)
				val = addr[i];
			else
				val = i % 2 ? addr[i / 2] & 0x0f : addr[i / 2] >> 4;
			if (i == full && rem)
				val = (val & ~((1u << (unit - rem)) - 1) & ((1u << unit) - 1)) + v;
			n += (size_t)snprintf(z + n, NTM_REVZONE_SIZE - n,
					      af == AF_INET ? "%u." : "%x.", val);
		}
		snprintf(z + n, NTM_REVZONE_SIZE - n, "%s", af == AF_INET ? "in-addr.arpa" : "ip6.arpa");
	}
	return made;
}
