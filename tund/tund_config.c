/* tund_config.c - tund.conf schema; see tund_config.h. */
#include "tund_config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* "a.b.c.d:port", "[x:x::x]:port" or both, separated by a comma (blanks
 * around it allowed): the DC's endpoint of each family. */
static int parse_endpoints(struct tund_config *cfg, const char *path,
			   const struct ntm_conf_entry *e, char *msg, size_t msglen)
{
	static const char *const fam[UL_NFAM] = { "IPv4", "IPv6" };
	char q[NTM_CONF_QUOTE_BUF], item[sizeof(cfg->dc_text)];
	const char *p = cfg->dc_text;
	unsigned line = e ? e->line : 0;

	for (;;) {
		const char *start = p, *end = p + strcspn(p, ",");
		struct sockaddr_storage ss;
		while (*start == ' ' || *start == '\t')
			start++;
		while (end > start && (end[-1] == ' ' || end[-1] == '\t'))
			end--;
		snprintf(item, sizeof(item), "%.*s", (int)(end - start), start);
		if (ntm_conf_parse_endpoint(item, &ss) < 0) {
			snprintf(msg, msglen, "%s:%u: Endpoint: '%s' is not an endpoint 'a.b.c.d:port' "
				 "or '[x:x::x]:port'", path, line, ntm_conf_quote(q, item));
			return -EINVAL;
		}
		int f = ss.ss_family == AF_INET ? UL_V4 : UL_V6;
		if (cfg->dc_endpoint[f].ss_family) {
			snprintf(msg, msglen, "%s:%u: Endpoint: two %s endpoints; give at most one of "
				 "each family", path, line, fam[f]);
			return -EINVAL;
		}
		cfg->dc_endpoint[f] = ss;
		p += strcspn(p, ",");
		if (!*p)
			return 0;
		p++;
	}
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
		{ "DNS", "Resolved", NTM_CONF_STRING, 0, resolved, sizeof(resolved), 0, 0, "auto", NULL },
		{ "DNS", "Server", NTM_CONF_STRING, 0, cfg->dns_server_text, sizeof(cfg->dns_server_text),
		  0, 0, "127.0.0.77", NULL },
		{ "DC", "Endpoint", NTM_CONF_STRING, NTM_CONF_REQUIRED, cfg->dc_text,
		  sizeof(cfg->dc_text), 0, 0, NULL, NULL },
		{ "DC", "PublicKey", NTM_CONF_KEY, NTM_CONF_REQUIRED, cfg->dc_pub, 0, 0, 0, NULL, NULL },
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
