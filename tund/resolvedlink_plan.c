/* resolvedlink_plan.c - what ntm-tund tells systemd-resolved about its
 * link (resolvedlink.h): pure, unit-tested by test_resolvedlink. */
#include "resolvedlink.h"

#include <errno.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

static int add_domain(struct rl_plan *p, const char *name)
{
	size_t len = strlen(name);

	if (len > 1 && name[len - 1] == '.')
		len--;
	if (len == 0 || len > NTM_NAME_MAX || name[0] == '.')
		return -EINVAL;
	for (size_t i = 0; i < p->ndomains; i++)
		if (strlen(p->domains[i].name) == len &&
		    strncasecmp(p->domains[i].name, name, len) == 0)
			return 0;
	if (p->ndomains == RL_MAX_DOMAINS)
		return -E2BIG;
	memcpy(p->domains[p->ndomains].name, name, len);
	p->domains[p->ndomains].name[len] = '\0';
	p->domains[p->ndomains].routing_only = true;
	p->ndomains++;
	return 0;
}

int resolvedlink_plan(struct rl_plan *p, int server_af, const uint8_t *server,
		      const char *const *zones, size_t nzones, const struct rl_prefix *pfx,
		      size_t npfx)
{
	char rev[NTM_REVZONE_MAX][NTM_REVZONE_SIZE];
	int ret;

	memset(p, 0, sizeof(*p));
	if (server_af != AF_INET && server_af != AF_INET6)
		return -EINVAL;
	if (npfx > RL_MAX_PREFIXES)
		return -E2BIG;
	p->server_af = server_af;
	memcpy(p->server, server, server_af == AF_INET ? 4 : 16);
	for (size_t i = 0; i < nzones; i++)
		if ((ret = add_domain(p, zones[i])) < 0)
			return ret;
	for (size_t i = 0; i < npfx; i++) {
		size_t n = ntm_reverse_zones(pfx[i].af, pfx[i].addr, pfx[i].plen, rev,
					     NTM_REVZONE_MAX);
		for (size_t k = 0; k < n; k++)
			if ((ret = add_domain(p, rev[k])) < 0)
				return ret;
	}
	p->default_route = false;
	return 0;
}
