/* dc_config.c - dcd.conf schema; see dc_config.h. */
#include "dc_config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

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

#define RELAY_SECTION "Relay."
#define FED_SECTION "Federation."
#define DC_FIXED_KEYS 27
#define DC_FED_KEYS 2
#define DC_RELAY_KEYS 3

/* The [Relay.NAME] sections of c: name them in cfg->relays and add their
 * keys to spec (room for DC_RELAY_KEYS each). Returns the number of specs
 * added, or -E2BIG with a message. */
static int relay_sections(const char *path, const struct ntm_conf *c, struct dc_config *cfg,
			  struct ntm_conf_spec *spec, bool seen[][DC_RELAY_KEYS], unsigned *lines,
			  char *msg, size_t msglen)
{
	size_t pre = strlen(RELAY_SECTION), n = 0;
	unsigned line;

	for (size_t i = 0; i < ntm_conf_section_count(c); i++) {
		const char *sec = ntm_conf_section_at(c, i, &line);
		if (strncasecmp(sec, RELAY_SECTION, pre) != 0 || sec[pre] == '\0')
			continue;
		if (cfg->nrelays == DC_MAX_RELAYS) {
			snprintf(msg, msglen, "%s:%u: more than %d [Relay.NAME] sections", path, line,
				 DC_MAX_RELAYS);
			return -E2BIG;
		}
		struct dc_relay_conf *r = &cfg->relays[cfg->nrelays];
		snprintf(r->name, sizeof(r->name), "%s", sec + pre);
		lines[cfg->nrelays] = line;
		const struct ntm_conf_spec s[DC_RELAY_KEYS] = {
			{ sec, "EndpointIPv4", NTM_CONF_ENDPOINT, 0, &r->ep4, 0, 0, 0, NULL,
			  &seen[cfg->nrelays][0] },
			{ sec, "EndpointIPv6", NTM_CONF_ENDPOINT, 0, &r->ep6, 0, 0, 0, NULL,
			  &seen[cfg->nrelays][1] },
			{ sec, "PublicKey", NTM_CONF_KEY, NTM_CONF_REQUIRED, r->pub, 0, 0, 0, NULL,
			  &seen[cfg->nrelays][2] },
		};
		memcpy(spec + n, s, sizeof(s));
		n += DC_RELAY_KEYS;
		cfg->nrelays++;
	}
	return (int)n;
}

/* Each relay needs an endpoint, of the family its key names. */
static int check_relays(const char *path, struct dc_config *cfg, bool seen[][DC_RELAY_KEYS],
			const unsigned *lines, char *msg, size_t msglen)
{
	for (size_t i = 0; i < cfg->nrelays; i++) {
		struct dc_relay_conf *r = &cfg->relays[i];
		r->has_ep4 = seen[i][0];
		r->has_ep6 = seen[i][1];
		if (!r->has_ep4 && !r->has_ep6) {
			snprintf(msg, msglen, "%s:%u: [Relay.%s] needs EndpointIPv4 or EndpointIPv6",
				 path, lines[i], r->name);
			return -EINVAL;
		}
		if (r->has_ep4 && r->ep4.ss_family != AF_INET) {
			snprintf(msg, msglen, "%s:%u: [Relay.%s] EndpointIPv4 is not an IPv4 endpoint",
				 path, lines[i], r->name);
			return -EINVAL;
		}
		if (r->has_ep6 && r->ep6.ss_family != AF_INET6) {
			snprintf(msg, msglen, "%s:%u: [Relay.%s] EndpointIPv6 is not an IPv6 endpoint",
				 path, lines[i], r->name);
			return -EINVAL;
		}
	}
	return 0;
}

/* The [Federation.ZONE] sections of c, as relay_sections. */
static int fed_sections(const char *path, const struct ntm_conf *c, struct dc_config *cfg,
			struct ntm_conf_spec *spec, bool *has_ep, char *msg, size_t msglen)
{
	size_t pre = strlen(FED_SECTION), n = 0;
	unsigned line;
	struct ntm_name z;

	for (size_t i = 0; i < ntm_conf_section_count(c); i++) {
		const char *sec = ntm_conf_section_at(c, i, &line);
		if (strncasecmp(sec, FED_SECTION, pre) != 0 || sec[pre] == '\0')
			continue;
		if (cfg->nfed == DC_MAX_FED) {
			snprintf(msg, msglen, "%s:%u: more than %d [Federation.ZONE] sections", path,
				 line, DC_MAX_FED);
			return -E2BIG;
		}
		if (ntm_name_set(&z, sec + pre) < 0 || !strchr(z.s, '.')) {
			snprintf(msg, msglen, "%s:%u: [%s]: '%s' is not a zone name (a DNS name with "
				 "a dot)", path, line, sec, sec + pre);
			return -EINVAL;
		}
		if (strcmp(z.s, cfg->zone) == 0) {
			snprintf(msg, msglen, "%s:%u: [%s]: that is this DC's own zone", path, line,
				 sec);
			return -EINVAL;
		}
		for (size_t k = 0; k < cfg->nfed; k++) {
			if (strcmp(cfg->fed[k].zone, z.s) == 0) {
				snprintf(msg, msglen, "%s:%u: [%s]: zone %s named twice", path, line,
					 sec, z.s);
				return -EINVAL;
			}
		}
		struct dc_fed_conf *f = &cfg->fed[cfg->nfed];
		memcpy(f->zone, z.s, (size_t)z.len + 1);
		const struct ntm_conf_spec s[DC_FED_KEYS] = {
			{ sec, "PublicKey", NTM_CONF_KEY, NTM_CONF_REQUIRED, f->pub, 0, 0, 0, NULL, NULL },
			{ sec, "Endpoint", NTM_CONF_ENDPOINT, 0, &f->ep, 0, 0, 0, NULL,
			  &has_ep[cfg->nfed] },
		};
		memcpy(spec + n, s, sizeof(s));
		n += DC_FED_KEYS;
		cfg->nfed++;
	}
	return (int)n;
}

const char *dc_registry_location(const struct dc_config *cfg)
{
	return cfg->backend == NTM_STORE_POSTGRESQL ? cfg->conninfo : cfg->database;
}

/* [Registry] Backend = sqlite | postgresql, and Conninfo with (only with)
 * postgresql. */
static int registry_backend(const char *path, const struct ntm_conf *c, struct dc_config *cfg,
			    const char *backend, bool has_conninfo, char *msg, size_t msglen)
{
	const struct ntm_conf_entry *e = ntm_conf_get(c, "Registry", "Backend");
	char q[NTM_CONF_QUOTE_BUF];

	if (!strcasecmp(backend, "sqlite")) {
		cfg->backend = NTM_STORE_SQLITE;
	} else if (!strcasecmp(backend, "postgresql")) {
		cfg->backend = NTM_STORE_POSTGRESQL;
	} else {
		snprintf(msg, msglen, "%s:%u: Backend: '%s' is not sqlite or postgresql", path,
			 e ? e->line : 0, ntm_conf_quote(q, backend));
		return -EINVAL;
	}
	if (cfg->backend == NTM_STORE_POSTGRESQL && !has_conninfo) {
		snprintf(msg, msglen, "%s:%u: Backend = postgresql needs Conninfo (a libpq connection "
			 "string, e.g. host=/run/postgresql dbname=ntm)", path, e ? e->line : 0);
		return -EINVAL;
	}
	if (cfg->backend == NTM_STORE_SQLITE && has_conninfo) {
		e = ntm_conf_get(c, "Registry", "Conninfo");
		snprintf(msg, msglen, "%s:%u: Conninfo is for Backend = postgresql (the SQLite "
			 "registry is [DC] Database)", path, e ? e->line : 0);
		return -EINVAL;
	}
	return 0;
}

int dc_config_load(const char *path, struct dc_config *cfg, char *msg, size_t msglen)
{
	struct ntm_conf *c = NULL;
	struct ntm_conf_error err = { 0 };
	char zone[NTM_NAME_MAX + 2] = "", seccomp[16] = "", offload[16] = "", backend[16] = "";
	bool has_conninfo = false;
	struct ntm_name z;
	bool seen4 = false, seen6 = false, rseen[DC_MAX_RELAYS][DC_RELAY_KEYS];
	unsigned rlines[DC_MAX_RELAYS] = { 0 };
	struct ntm_conf_spec spec[DC_FIXED_KEYS + DC_MAX_RELAYS * DC_RELAY_KEYS +
				 DC_MAX_FED * DC_FED_KEYS];
	bool fed_ep[DC_MAX_FED] = { false };
	int ret, nrel, nfed;

	memset(cfg, 0, sizeof(*cfg));
	memset(rseen, 0, sizeof(rseen));
	const struct ntm_conf_spec fixed[] = {
		{ "DC", "Zone", NTM_CONF_STRING, NTM_CONF_REQUIRED, zone, sizeof(zone), 0, 0, NULL, NULL },
		{ "DC", "ListenPort", NTM_CONF_PORT, 0, &cfg->port, 0, 0, 0, "7540", NULL },
		{ "DC", "ListenAddressIPv4", NTM_CONF_ADDR, 0, &cfg->listen4, 0, 0, 0, NULL, &cfg->has_listen4 },
		{ "DC", "ListenAddressIPv6", NTM_CONF_ADDR, 0, &cfg->listen6, 0, 0, 0, NULL, &cfg->has_listen6 },
		{ "DC", "AltEndpoint", NTM_CONF_ENDPOINT, 0, &cfg->alt, 0, 0, 0, NULL, &cfg->has_alt },
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
		{ "DC", "Seccomp", NTM_CONF_STRING, 0, seccomp, sizeof(seccomp), 0, 0, "enforce", NULL },
		{ "DC", "RefuseUnenrolled", NTM_CONF_BOOL, 0, &cfg->refuse_unenrolled, 0, 0, 0, "yes",
		  NULL },
		{ "Relay", "EmbeddedRelay", NTM_CONF_BOOL, 0, &cfg->embedded_relay, 0, 0, 0, "yes", NULL },
		{ "Relay", "ListenPort", NTM_CONF_PORT, 0, &cfg->relay_port, 0, 0, 0, "7542", NULL },
		{ "Relay", "MaxAllocations", NTM_CONF_UINT, 0, &cfg->relay_max_allocs, 0, 1, 1000000,
		  "4096", NULL },
		{ "Relay", "PairPacketRate", NTM_CONF_UINT, 0, &cfg->relay_pps, 0, 1, 10000000, "20000",
		  NULL },
		{ "Relay", "PairMbitRate", NTM_CONF_UINT, 0, &cfg->relay_mbit, 0, 1, 100000, "200", NULL },
		{ "Relay", "AllocationLifetime", NTM_CONF_UINT, 0, &cfg->relay_lifetime_s, 0, 10, 65535,
		  "600", NULL },
		{ "Relay", "Offload", NTM_CONF_STRING, 0, offload, sizeof(offload), 0, 0, "auto", NULL },
		{ "Registry", "Backend", NTM_CONF_STRING, 0, backend, sizeof(backend), 0, 0, "sqlite",
		  NULL },
		{ "Registry", "Conninfo", NTM_CONF_STRING, NTM_CONF_SECRET, cfg->conninfo,
		  sizeof(cfg->conninfo), 0, 0, NULL, &has_conninfo },
		{ "Registry", "Instance", NTM_CONF_UINT, 0, &cfg->instance, 0, 1, 255, "1", NULL },
		{ "Policy", "File", NTM_CONF_STRING, 0, cfg->policy_file, sizeof(cfg->policy_file), 0,
		  0, NULL, NULL },
		{ "Federation", "Resolver", NTM_CONF_ENDPOINT, 0, &cfg->fed_resolver, 0, 0, 0, NULL,
		  &cfg->has_fed_resolver },
	};
	_Static_assert(sizeof(fixed) / sizeof(fixed[0]) == DC_FIXED_KEYS,
		       "DC_FIXED_KEYS counts the keys of fixed[]");

	ret = ntm_conf_parse_file(path, &c, &err);
	if (ret < 0) {
		ntm_conf_error_format(&err, msg, msglen);
		return ret;
	}
	memcpy(spec, fixed, sizeof(fixed));
	nrel = relay_sections(path, c, cfg, spec + DC_FIXED_KEYS, rseen, rlines, msg, msglen);
	if (nrel < 0) {
		ret = nrel;
		goto out;
	}
	/* the zone first: a [Federation.ZONE] must not be our own */
	if (ntm_conf_get(c, "DC", "Zone") &&
	    ntm_name_set(&z, ntm_conf_get(c, "DC", "Zone")->value) == 0)
		memcpy(cfg->zone, z.s, (size_t)z.len + 1);
	nfed = fed_sections(path, c, cfg, spec + DC_FIXED_KEYS + nrel, fed_ep, msg, msglen);
	if (nfed < 0) {
		ret = nfed;
		goto out;
	}
	ret = ntm_conf_apply(c, spec, DC_FIXED_KEYS + (size_t)nrel + (size_t)nfed, &err);
	if (ret < 0) {
		ntm_conf_error_format(&err, msg, msglen);
		goto out;
	}
	for (size_t i = 0; i < cfg->nfed; i++)
		cfg->fed[i].has_ep = fed_ep[i];
	if ((ret = check_relays(path, cfg, rseen, rlines, msg, msglen)) < 0 ||
	    (ret = ntm_sandbox_conf_mode(c, path, "DC", seccomp, &cfg->seccomp, msg, msglen)) < 0 ||
	    (ret = ntm_conf_offload(c, path, "Relay", offload, &cfg->relay_offload, msg, msglen)) < 0)
		goto out;
	if ((ret = registry_backend(path, c, cfg, backend, has_conninfo, msg, msglen)) < 0)
		goto out;
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
