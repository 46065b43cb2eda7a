/* tund_config.c - tund.conf schema; see tund_config.h. */
#include "tund_config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* "host.name:port", alone: a DNS name (not an address) and a port, both
 * checked here; 1 when the text is no host name at all (an address, or
 * text to be reported as no endpoint), 0 when it is a good one, -EINVAL
 * with a message when it is a bad one. */
static int parse_host(struct tund_dc *dc, const char *t, const char *path, unsigned line,
		      char *msg, size_t msglen)
{
	char q[NTM_CONF_QUOTE_BUF], host[TUND_DC_TEXT];
	const char *colon = strrchr(t, ':');
	struct ntm_name n;
	char *end;

	if (strchr(t, ',') || strchr(t, '[') || strchr(t, ' ') || strchr(t, '\t'))
		return 1;
	if (!colon || strchr(t, ':') != colon) {
		/* a name without a port (an IPv6 address has several colons) */
		if (colon || !strpbrk(t, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"))
			return 1;
		snprintf(msg, msglen, "%s:%u: Endpoint: '%s' has no port (write %s:7540)", path,
			 line, ntm_conf_quote(q, t), ntm_conf_quote(q, t));
		return -EINVAL;
	}
	snprintf(host, sizeof(host), "%.*s", (int)(colon - t), t);
	/* all digits and dots: an IPv4 address, the address parser's to judge */
	if (host[strspn(host, "0123456789.")] == '\0')
		return 1;
	errno = 0;
	unsigned long port = strtoul(colon + 1, &end, 10);
	if (!colon[1] || *end || errno || port == 0 || port > 65535 || colon[1] == '+' ||
	    colon[1] == '-') {
		snprintf(msg, msglen, "%s:%u: Endpoint: '%s' is not a port", path, line,
			 ntm_conf_quote(q, colon + 1));
		return -EINVAL;
	}
	if (ntm_name_set(&n, host) < 0 || strchr(host, '_')) {
		snprintf(msg, msglen, "%s:%u: Endpoint: '%s' is not a valid host name", path, line,
			 ntm_conf_quote(q, host));
		return -EINVAL;
	}
	memcpy(dc->host, n.s, (size_t)n.len + 1);
	dc->host_port = (uint16_t)port;
	return 0;
}

int tund_config_pick_addrs(const struct addrinfo *ai, uint16_t port,
			   struct sockaddr_storage out[UL_NFAM])
{
	memset(out, 0, sizeof(out[0]) * UL_NFAM);
	for (; ai; ai = ai->ai_next) {
		if (ai->ai_family == AF_INET && !out[UL_V4].ss_family &&
		    ai->ai_addrlen >= sizeof(struct sockaddr_in)) {
			struct sockaddr_in *sin = (struct sockaddr_in *)&out[UL_V4];
			memcpy(sin, ai->ai_addr, sizeof(*sin));
			sin->sin_port = htons(port);
		} else if (ai->ai_family == AF_INET6 && !out[UL_V6].ss_family &&
			   ai->ai_addrlen >= sizeof(struct sockaddr_in6)) {
			struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&out[UL_V6];
			memcpy(sin6, ai->ai_addr, sizeof(*sin6));
			sin6->sin6_port = htons(port);
			sin6->sin6_flowinfo = 0;
		}
	}
	return out[UL_V4].ss_family || out[UL_V6].ss_family ? 0 : -ENOENT;
}

/* One DC instance: "a.b.c.d:port", "[x:x::x]:port" or both, separated by
 * a comma (blanks around it allowed): its endpoint of each family; or
 * "host.name:port" alone, resolved later. */
static int parse_instance(struct tund_dc *dc, const char *text, const char *path, unsigned line,
			  char *msg, size_t msglen)
{
	static const char *const fam[UL_NFAM] = { "IPv4", "IPv6" };
	char q[NTM_CONF_QUOTE_BUF], item[TUND_DC_TEXT];
	const char *p = text;
	int ret = parse_host(dc, text, path, line, msg, msglen);

	if (ret <= 0)
		return ret;

	for (;;) {
		const char *start = p, *end = p + strcspn(p, ",");
		struct sockaddr_storage ss;
		while (*start == ' ' || *start == '\t')
			start++;
		while (end > start && (end[-1] == ' ' || end[-1] == '\t'))
			end--;
		snprintf(item, sizeof(item), "%.*s", (int)(end - start), start);
		if (ntm_conf_parse_endpoint(item, &ss) < 0) {
			snprintf(msg, msglen, "%s:%u: Endpoint: '%s' is not an endpoint 'a.b.c.d:port', "
				 "'[x:x::x]:port' or 'host.name:port'", path, line,
				 ntm_conf_quote(q, item));
			return -EINVAL;
		}
		int f = ss.ss_family == AF_INET ? UL_V4 : UL_V6;
		if (dc->endpoint[f].ss_family) {
			snprintf(msg, msglen, "%s:%u: Endpoint: two %s endpoints in one DC instance; "
				 "give at most one of each family, and separate instances with ';'",
				 path, line, fam[f]);
			return -EINVAL;
		}
		dc->endpoint[f] = ss;
		p += strcspn(p, ",");
		if (!*p)
			return 0;
		p++;
	}
}

/* [DC] Endpoint: one or more DC instances of the zone, separated by ';'
 * (blanks around it allowed), in the order the node tries them; each as
 * parse_instance reads it. The first becomes the instance in use. */
static int parse_endpoints(struct tund_config *cfg, const char *path,
			   const struct ntm_conf_entry *e, char *msg, size_t msglen)
{
	char q[NTM_CONF_QUOTE_BUF], item[TUND_DC_TEXT];
	const char *p = cfg->dc_text;
	unsigned line = e ? e->line : 0;

	for (;;) {
		const char *start = p, *end = p + strcspn(p, ";");
		while (*start == ' ' || *start == '\t')
			start++;
		while (end > start && (end[-1] == ' ' || end[-1] == '\t'))
			end--;
		snprintf(item, sizeof(item), "%.*s", (int)(end - start), start);
		if (cfg->ndcs == TUND_DC_MAX) {
			snprintf(msg, msglen, "%s:%u: Endpoint: more than %d DC instances (at '%s')",
				 path, line, TUND_DC_MAX, ntm_conf_quote(q, item));
			return -EINVAL;
		}
		int ret = parse_instance(&cfg->dcs[cfg->ndcs], item, path, line, msg, msglen);
		if (ret < 0)
			return ret;
		cfg->ndcs++;
		p += strcspn(p, ";");
		if (!*p)
			break;
		p++;
	}
	tund_config_use_dc(cfg, 0);
	return 0;
}

void tund_config_use_dc(struct tund_config *cfg, unsigned i)
{
	const struct tund_dc *dc = &cfg->dcs[i];

	memcpy(cfg->dc_endpoint, dc->endpoint, sizeof(cfg->dc_endpoint));
	memcpy(cfg->dc_host, dc->host, sizeof(cfg->dc_host));
	cfg->dc_host_port = dc->host_port;
}

/* Workers = N (1..TUND_WORKERS_MAX) or auto (0). */
static int parse_workers(struct tund_config *cfg, const char *path, const char *v,
			 const struct ntm_conf_entry *e, char *msg, size_t msglen)
{
	char *end;
	unsigned long n;

	if (strcasecmp(v, "auto") == 0) {
		cfg->workers = 0;
		return 0;
	}
	errno = 0;
	n = strtoul(v, &end, 10);
	if (v[0] >= '0' && v[0] <= '9' && !*end && !errno && n >= 1 && n <= TUND_WORKERS_MAX) {
		cfg->workers = (unsigned)n;
		return 0;
	}
	char q[NTM_CONF_QUOTE_BUF];
	snprintf(msg, msglen, "%s:%u: Workers: '%s' is not auto or a number from 1 to %d", path,
		 e ? e->line : 0, ntm_conf_quote(q, v), TUND_WORKERS_MAX);
	return -EINVAL;
}

/* [DNS] Resolved = auto|yes|no and Server = an IPv4 or IPv6 address. */
static int parse_dns(struct tund_config *cfg, const char *path, const struct ntm_conf *c,
		     const char *resolved, char *msg, size_t msglen)
{
	static const char *const modes[] = { "auto", "yes", "no" };
	char q[NTM_CONF_QUOTE_BUF];
	const struct ntm_conf_entry *e;
	size_t m = 0;

	while (m < sizeof(modes) / sizeof(modes[0]) && strcasecmp(resolved, modes[m]) != 0)
		m++;
	if (m == sizeof(modes) / sizeof(modes[0])) {
		e = ntm_conf_get(c, "DNS", "Resolved");
		snprintf(msg, msglen, "%s:%u: Resolved: '%s' is not auto, yes or no", path,
			 e ? e->line : 0, ntm_conf_quote(q, resolved));
		return -EINVAL;
	}
	cfg->resolved = (enum tund_resolved)m;
	if (inet_pton(AF_INET, cfg->dns_server_text, cfg->dns_server) == 1) {
		cfg->dns_family = AF_INET;
	} else if (inet_pton(AF_INET6, cfg->dns_server_text, cfg->dns_server) == 1) {
		cfg->dns_family = AF_INET6;
	} else {
		e = ntm_conf_get(c, "DNS", "Server");
		snprintf(msg, msglen, "%s:%u: Server: '%s' is not an IPv4 or IPv6 address", path,
			 e ? e->line : 0, ntm_conf_quote(q, cfg->dns_server_text));
		return -EINVAL;
	}
	return 0;
}

int tund_config_load(const char *path, struct tund_config *cfg, char *msg, size_t msglen)
{
	struct ntm_conf *c = NULL;
	char name[NTM_NAME_MAX + 2] = "", suite[16] = "", seccomp[16] = "", offload[16] = "",
	     workers[16] = "",
	     resolved[16] = "";
	bool nss_seen = false;
	struct ntm_name n;
	int ret;

	memset(cfg, 0, sizeof(*cfg));
	const struct ntm_conf_spec spec[] = {
		{ "Node", "Name", NTM_CONF_STRING, NTM_CONF_REQUIRED, name, sizeof(name), 0, 0, NULL, NULL },
		{ "Node", "PrivateKeyFile", NTM_CONF_STRING, 0, cfg->key_file, sizeof(cfg->key_file), 0,
		  0, NTM_LOCALSTATEDIR "/lib/ntm/node.key", NULL },
		{ "Node", "ListenPort", NTM_CONF_PORT, 0, &cfg->port, 0, 0, 0, "7541", NULL },
		{ "Node", "Interface", NTM_CONF_STRING, 0, cfg->ifname, sizeof(cfg->ifname), 0, 0, "ntm0", NULL },
		{ "Node", "MTU", NTM_CONF_UINT, 0, &cfg->mtu, 0, 1280, 65535 - 32 - 48, "1388", NULL },
		{ "Node", "User", NTM_CONF_STRING, 0, cfg->user, sizeof(cfg->user), 0, 0, "ntm", NULL },
		{ "Node", "ControlSocket", NTM_CONF_STRING, 0, cfg->control_socket,
		  sizeof(cfg->control_socket), 0, 0, NTM_TUND_SOCK, NULL },
		{ "Node", "NssFile", NTM_CONF_STRING, 0, cfg->nss_file, sizeof(cfg->nss_file), 0, 0,
		  NULL, &nss_seen },
		{ "Node", "NatKeepalive", NTM_CONF_UINT, 0, &cfg->nat_keepalive_s, 0, 1, 25, "15", NULL },
		{ "Node", "MaxPeers", NTM_CONF_UINT, 0, &cfg->max_peers, 0, 16, 1048576, "1024", NULL },
		{ "Node", "MaxPendingResolves", NTM_CONF_UINT, 0, &cfg->max_pending, 0, 1, 65536, "256",
		  NULL },
		{ "Node", "MaxPendingResolvesPerUser", NTM_CONF_UINT, 0, &cfg->max_pending_uid, 0, 1,
		  65536, "64", NULL },
		{ "Node", "HandshakeRate", NTM_CONF_UINT, 0, &cfg->hs_rate, 0, 1, 100000, "50", NULL },
		{ "Node", "Suite", NTM_CONF_STRING, 0, suite, sizeof(suite), 0, 0, "aesgcm", NULL },
		{ "Node", "Seccomp", NTM_CONF_STRING, 0, seccomp, sizeof(seccomp), 0, 0, "enforce", NULL },
		{ "Interface", "Offload", NTM_CONF_STRING, 0, offload, sizeof(offload), 0, 0, "auto",
		  NULL },
		{ "Interface", "Workers", NTM_CONF_STRING, 0, workers, sizeof(workers), 0, 0, "1",
		  NULL },
		{ "Interface", "Lanes", NTM_CONF_BOOL, 0, &cfg->lanes, 0, 0, 0, "yes", NULL },
		{ "DNS", "Resolved", NTM_CONF_STRING, 0, resolved, sizeof(resolved), 0, 0, "auto", NULL },
		{ "DNS", "Server", NTM_CONF_STRING, 0, cfg->dns_server_text, sizeof(cfg->dns_server_text),
		  0, 0, "127.0.0.77", NULL },
		{ "DC", "Endpoint", NTM_CONF_STRING, NTM_CONF_REQUIRED, cfg->dc_text,
		  sizeof(cfg->dc_text), 0, 0, NULL, NULL },
		{ "DC", "PublicKey", NTM_CONF_KEY, NTM_CONF_REQUIRED, cfg->dc_pub, 0, 0, 0, NULL, NULL },
		{ "Policy", "File", NTM_CONF_STRING, 0, cfg->policy_file, sizeof(cfg->policy_file), 0,
		  0, NULL, NULL },
	};

	ret = ntm_conf_load(path, spec, sizeof(spec) / sizeof(spec[0]), &c, msg, msglen);
	if (ret < 0)
		return ret;
	const struct ntm_conf_entry *e = ntm_conf_get(c, "Node", "Name");
	if (ntm_name_set(&n, name) < 0) {
		snprintf(msg, msglen, "%s:%u: Name: '%s' is not a valid DNS name", path,
			 e ? e->line : 0, name);
		ret = -EINVAL;
		goto out;
	}
	memcpy(cfg->name, n.s, (size_t)n.len + 1);
	ret = parse_endpoints(cfg, path, ntm_conf_get(c, "DC", "Endpoint"), msg, msglen);
	if (ret < 0)
		goto out;
	if (strcasecmp(suite, "aesgcm") == 0) {
		cfg->suite = NTM_SUITE_AESGCM;
	} else if (strcasecmp(suite, "chachapoly") == 0) {
		cfg->suite = NTM_SUITE_CHACHAPOLY;
	} else {
		e = ntm_conf_get(c, "Node", "Suite");
		snprintf(msg, msglen, "%s:%u: Suite: '%s' is not aesgcm or chachapoly", path,
			 e ? e->line : 0, suite);
		ret = -EINVAL;
		goto out;
	}
	if (strcasecmp(offload, "auto") == 0) {
		cfg->offload = true;
	} else if (strcasecmp(offload, "off") == 0) {
		cfg->offload = false;
	} else {
		char q[NTM_CONF_QUOTE_BUF];
		e = ntm_conf_get(c, "Interface", "Offload");
		snprintf(msg, msglen, "%s:%u: Offload: '%s' is not auto or off", path,
			 e ? e->line : 0, ntm_conf_quote(q, offload));
		ret = -EINVAL;
		goto out;
	}
	ret = parse_workers(cfg, path, workers, ntm_conf_get(c, "Interface", "Workers"), msg, msglen);
	if (ret < 0)
		goto out;
	ret = parse_dns(cfg, path, c, resolved, msg, msglen);
	if (ret < 0)
		goto out;
	ret = ntm_sandbox_conf_mode(c, path, "Node", seccomp, &cfg->seccomp, msg, msglen);
	if (ret < 0)
		goto out;
	/* By default the nss file sits beside the control socket. */
	if (!nss_seen) {
		const char *slash = strrchr(cfg->control_socket, '/');
		int dl = slash ? (int)(slash - cfg->control_socket) : 0;
		snprintf(cfg->nss_file, sizeof(cfg->nss_file), "%.*s/nss", dl, cfg->control_socket);
	}
out:
	ntm_conf_free(c);
	return ret;
}
