/* ntmctl.c - ntmctl, the node's command-line tool. Key commands work
 * offline in the manner of `wg genkey | wg pubkey`; the others ask the
 * running ntm-tund over its control socket (doc/control.md). */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "crypto.h"
#include "ctlclient.h"
#include "ctlproto.h"
#include "metrics.h"
#include "ntmctl_dns.h"
#include "watchfmt.h"
#include "tund_config.h"
#include "util.h"

static const char *sock_path = NTM_TUND_SOCK;

static int cmd_genkey(void *ctx, int argc, char **argv)
{
	uint8_t priv[32], pub[32];
	char b64[NTM_KEY_B64_LEN + 1];
	struct stat st;
	(void)ctx;
	(void)argv;

	if (argc != 0)
		return -EINVAL;
	if (fstat(STDOUT_FILENO, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 077))
		fprintf(stderr, "ntmctl: warning: writing a private key to a file others can read "
			"(chmod 600 it, or run umask 077 first)\n");
	if (ntm_x25519_keygen(priv, pub) < 0) {
		fprintf(stderr, "ntmctl: cannot generate a key\n");
		return 1;
	}
	ntm_key_to_base64(b64, priv);
	printf("%s\n", b64);
	ntm_wipe(priv, sizeof(priv));
	ntm_wipe(b64, sizeof(b64));
	return 0;
}

static int cmd_pubkey(void *ctx, int argc, char **argv)
{
	char line[256];
	uint8_t priv[32], pub[32];
	(void)ctx;
	(void)argv;

	if (argc != 0)
		return -EINVAL;
	if (!fgets(line, sizeof(line), stdin)) {
		fprintf(stderr, "ntmctl: expected a private key on standard input\n");
		return 1;
	}
	line[strcspn(line, "\r\n")] = '\0';
	int ret = ntm_key_from_base64(priv, line);
	ntm_wipe(line, sizeof(line));
	if (ret < 0 || ntm_x25519_public(pub, priv) < 0) {
		fprintf(stderr, "ntmctl: standard input is not a private key (44 characters of "
			"base64, as 'ntmctl genkey' prints)\n");
		ntm_wipe(priv, sizeof(priv));
		return 1;
	}
	ntm_wipe(priv, sizeof(priv));
	char b64[NTM_KEY_B64_LEN + 1];
	ntm_key_to_base64(b64, pub);
	printf("%s\n", b64);
	return 0;
}

static ssize_t call(const void *req, size_t len, uint8_t *reply, size_t cap)
{
	return ntm_cli_call("ntmctl", "ntm-tund", sock_path, req, len, reply, cap);
}

static const char *dc_state(uint8_t s)
{
	switch (s) {
	case NTM_LCTL_DC_CONNECTING: return "connecting";
	case NTM_LCTL_DC_REGISTERED: return "registered";
	case NTM_LCTL_DC_UNREACHABLE: return "unreachable";
	case NTM_LCTL_DC_REFUSED: return "refused";
	}
	return "unknown";
}

static void fmt_endpoint(const struct ntm_lctl_endpoint *e, char *buf, size_t cap)
{
	char a[INET6_ADDRSTRLEN];
	inet_ntop(e->family == 4 ? AF_INET : AF_INET6, e->addr, a, sizeof(a));
	snprintf(buf, cap, e->family == 4 ? "%s:%u" : "[%s]:%u", a, e->port);
}

static void fmt_vip(const struct ntm_lctl_vip *v, int af, char *buf, size_t cap)
{
	char a[INET6_ADDRSTRLEN];
	if (!v->present) {
		snprintf(buf, cap, "-");
		return;
	}
	inet_ntop(af, v->addr, a, sizeof(a));
	snprintf(buf, cap, "%s/%u", a, v->plen);
}

static void fmt_addr(const struct ntm_lctl_addr *a, char *buf, size_t cap)
{
	if (!inet_ntop(a->family == 4 ? AF_INET : AF_INET6, a->addr, buf, (socklen_t)cap))
		snprintf(buf, cap, "?");
}

static void print_status_text(const struct ntm_lctl_status_info *s, const char *v4,
			      const char *v6, const char *dc, const char *obs)
{
	char age[32] = "", a[INET6_ADDRSTRLEN];

	if (s->has_ack_age)
		snprintf(age, sizeof(age), ", last answer %u s ago", s->ack_age);
	printf("node:     %s\nipv4:     %s\nipv6:     %s\ndc:       %s (%s%s)\n",
	       s->name, v4, v6, dc, dc_state(s->dc_state), age);
	if (s->dc_info[0])
		printf("          %s\n", s->dc_info);
	if (s->dc_hint[0])
		printf("          %s\n", s->dc_hint);
	/* [DC] Endpoint lists several instances: which one, of which */
	if (s->n_dc_instances > 1) {
		printf("dc list: ");
		for (unsigned i = 0; i < s->n_dc_instances; i++)
			printf(" %u. %s%s", i + 1, s->dc_instances[i],
			       i + 1 == s->dc_in_use ? " (in use)" : "");
		printf("\n");
	}
	printf("seen as:  %s\n", obs);
	printf("underlay:");
	for (unsigned i = 0; i < s->n_underlay; i++) {
		fmt_addr(&s->underlay[i], a, sizeof(a));
		printf(" %s", a);
	}
	printf("%s", s->n_underlay ? "" : " -");
	if (s->has_underlay_age)
		printf(" (changed %u s ago)", s->underlay_age);
	printf("\nzones:   ");
	for (unsigned i = 0; i < s->n_zones; i++)
		printf(" %s", s->zones[i]);
	printf("%s\n", s->n_zones ? "" : " -");
}

/* "key": "text" or "key": null */
static void json_str(const char *key, bool present, const char *v, const char *sep)
{
	if (present)
		printf("\"%s\": \"%s\"%s", key, v, sep);
	else
		printf("\"%s\": null%s", key, sep);
}

static void json_u32(const char *key, bool present, uint32_t v, const char *sep)
{
	if (present)
		printf("\"%s\": %u%s", key, v, sep);
	else
		printf("\"%s\": null%s", key, sep);
}

/* "key": "text" for free text (printable ASCII, as the codec checked):
 * quotes and backslashes escaped. */
static void json_text(const char *key, const char *v, const char *sep)
{
	printf("\"%s\": \"", key);
	for (; *v; v++)
		printf(*v == '"' || *v == '\\' ? "\\%c" : "%c", *v);
	printf("\"%s", sep);
}

/* Every other string printed is an LDH name, an address or a fixed word:
 * nothing needs JSON escaping. */
static void print_status_json(const struct ntm_lctl_status_info *s, const char *v4,
			      const char *v6, const char *dc, const char *obs)
{
	char a[INET6_ADDRSTRLEN];

	printf("{\"name\": \"%s\", ", s->name);
	json_str("ipv4", s->vip4.present, v4, ", ");
	json_str("ipv6", s->vip6.present, v6, ", ");
	printf("\"dc\": {\"address\": \"%s\", ", s->dc);
	json_str("endpoint", s->has_dc_endpoint, dc, ", ");
	printf("\"state\": \"%s\", ", dc_state(s->dc_state));
	if (s->dc_info[0])
		json_text("info", s->dc_info, ", ");
	if (s->dc_hint[0])
		json_text("hint", s->dc_hint, ", ");
	if (s->n_dc_instances) {
		printf("\"instances\": [");
		for (unsigned i = 0; i < s->n_dc_instances; i++)
			printf("%s\"%s\"", i ? ", " : "", s->dc_instances[i]);
		printf("], ");
		json_u32("instance", s->dc_in_use != 0, s->dc_in_use, ", ");
	}
	json_u32("last_answer_s", s->has_ack_age, s->ack_age, "}, ");
	json_str("observed", s->has_observed, obs, ", ");
	printf("\"underlay\": {\"addresses\": [");
	for (unsigned i = 0; i < s->n_underlay; i++) {
		fmt_addr(&s->underlay[i], a, sizeof(a));
		printf("%s\"%s\"", i ? ", " : "", a);
	}
	printf("], ");
	json_u32("changed_s", s->has_underlay_age, s->underlay_age, "}, ");
	printf("\"zones\": [");
	for (unsigned i = 0; i < s->n_zones; i++)
		printf("%s\"%s\"", i ? ", " : "", s->zones[i]);
	printf("]}\n");
}

static void print_status(const struct ntm_lctl_status_info *s, bool json)
{
	char v4[64], v6[80], obs[80] = "-", dc[NTM_LCTL_NAME_SIZE], named[2 * NTM_LCTL_NAME_SIZE + 4];

	fmt_vip(&s->vip4, AF_INET, v4, sizeof(v4));
	fmt_vip(&s->vip6, AF_INET6, v6, sizeof(v6));
	if (s->has_observed)
		fmt_endpoint(&s->observed, obs, sizeof(obs));
	if (s->has_dc_endpoint)
		fmt_endpoint(&s->dc_endpoint, dc, sizeof(dc));
	else
		snprintf(dc, sizeof(dc), "%s", s->dc);
	if (json) {
		print_status_json(s, v4, v6, dc, obs);
		return;
	}
	/* [DC] Endpoint given as a host name: the name, then the address */
	if (s->has_dc_endpoint && isalpha((unsigned char)s->dc[0])) {
		snprintf(named, sizeof(named), "%s (%s)", s->dc, dc);
		print_status_text(s, v4, v6, named, obs);
	} else {
		print_status_text(s, v4, v6, dc, obs);
	}
}

static int cmd_status(void *ctx, int argc, char **argv)
{
	static uint8_t reply[NTM_LCTL_MSG_MAX];
	uint8_t req[64];
	struct ntm_lctl_hdr h;
	struct ntm_lctl_status_info s;
	bool json = false;
	(void)ctx;

	if (ntm_cli_json_arg(argc, argv, &json) < 0)
		return -EINVAL;
	int len = ntm_lctl_req_status(req, sizeof(req), 1);
	ssize_t n = call(req, (size_t)len, reply, sizeof(reply));
	if (n < 0)
		return 1;
	if (ntm_lctl_decode_status(reply, (size_t)n, &h, &s) < 0) {
		fprintf(stderr, "ntmctl: malformed status reply from ntm-tund\n");
		return 1;
	}
	if (h.status != NTM_LCTL_OK) {
		fprintf(stderr, "ntmctl: status: %s\n", ntm_lctl_status_name(h.status));
		return 1;
	}
	print_status(&s, json);
	return 0;
}

static int cmd_reregister(void *ctx, int argc, char **argv)
{
	uint8_t req[64], reply[256];
	struct ntm_lctl_hdr h;
	(void)ctx;
	(void)argv;

	if (argc != 0)
		return -EINVAL;
	int len = ntm_lctl_req_reregister(req, sizeof(req), 1);
	ssize_t n = call(req, (size_t)len, reply, sizeof(reply));
	if (n < 0)
		return 1;
	if (ntm_lctl_decode_empty(reply, (size_t)n, NTM_LCTL_REREGISTER_REPLY, &h) < 0) {
		fprintf(stderr, "ntmctl: malformed reply from ntm-tund\n");
		return 1;
	}
	if (h.status == NTM_LCTL_DENIED) {
		fprintf(stderr, "ntmctl: reregister: permission denied (needs root or group ntm)\n");
		return 1;
	}
	if (h.status != NTM_LCTL_OK) {
		fprintf(stderr, "ntmctl: reregister: %s\n", ntm_lctl_status_name(h.status));
		return 1;
	}
	return 0;
}

/* down NAME: tear the tunnel to NAME down (privileged). */
static int cmd_down(void *ctx, int argc, char **argv)
{
	uint8_t req[512], reply[256];
	struct ntm_lctl_hdr h;
	(void)ctx;

	if (argc != 1)
		return -EINVAL;
	int len = ntm_lctl_req_down(req, sizeof(req), 1, argv[0]);
	if (len < 0) {
		fprintf(stderr, "ntmctl: down: invalid name '%s'\n", argv[0]);
		return 2;
	}
	ssize_t n = call(req, (size_t)len, reply, sizeof(reply));
	if (n < 0)
		return 1;
	if (ntm_lctl_decode_empty(reply, (size_t)n, NTM_LCTL_DOWN_REPLY, &h) < 0) {
		fprintf(stderr, "ntmctl: malformed reply from ntm-tund\n");
		return 1;
	}
	if (h.status == NTM_LCTL_DENIED) {
		fprintf(stderr, "ntmctl: down: permission denied (needs root or group ntm)\n");
		return 1;
	}
	if (h.status == NTM_LCTL_NOTFOUND) {
		fprintf(stderr, "ntmctl: down: %s: no such peer\n", argv[0]);
		return 1;
	}
	if (h.status != NTM_LCTL_OK) {
		fprintf(stderr, "ntmctl: down: %s\n", ntm_lctl_status_name(h.status));
		return 1;
	}
	return 0;
}

/* Why a RESOLVE or PING failed: the status, or for an enrolled peer that
 * is offline, "offline, last seen 3 min ago", or "forbidden by the DC's
 * policy". */
static const char *failure_text(const uint8_t *reply, size_t len, uint16_t status)
{
	static char text[96];
	uint32_t seen;
	uint8_t by;

	if (ntm_lctl_decode_forbidden(reply, len, &by) == 1)
		return ntm_lctl_forbidden_text(by);
	if (ntm_lctl_decode_offline(reply, len, &seen) != 1)
		return ntm_lctl_status_name(status);
	ntm_lctl_offline_text(text, sizeof(text), seen);
	return text;
}

static int cmd_resolve(void *ctx, int argc, char **argv)
{
	static uint8_t reply[NTM_LCTL_MSG_MAX];
	uint8_t req[512], fam = NTM_LCTL_FAM_BOTH;
	struct ntm_lctl_hdr h;
	struct ntm_lctl_resolve r;
	const char *name = NULL;
	(void)ctx;

	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "-4") == 0)
			fam = NTM_LCTL_FAM_V4;
		else if (strcmp(argv[i], "-6") == 0)
			fam = NTM_LCTL_FAM_V6;
		else if (!name)
			name = argv[i];
		else
			return -EINVAL;
	}
	if (!name)
		return -EINVAL;
	/* an address: its name (an overlay address, or a federated peer's) */
	uint8_t ip[16];
	int af = inet_pton(AF_INET, name, ip) == 1 ? AF_INET :
		 inet_pton(AF_INET6, name, ip) == 1 ? AF_INET6 : 0;
	int len = af ? ntm_lctl_req_resolve_addr(req, sizeof(req), 1, af == AF_INET ? 4 : 6, ip) :
		       ntm_lctl_req_resolve_name(req, sizeof(req), 1, name, fam, 1500);
	if (len < 0) {
		fprintf(stderr, "ntmctl: '%s' is not a valid name\n", name);
		return 1;
	}
	ssize_t n = call(req, (size_t)len, reply, sizeof(reply));
	if (n < 0)
		return 1;
	if (ntm_lctl_decode_resolve(reply, (size_t)n, &h, &r) < 0) {
		fprintf(stderr, "ntmctl: malformed reply from ntm-tund\n");
		return 1;
	}
	if (h.status != NTM_LCTL_OK) {
		fprintf(stderr, "ntmctl: %s: %s\n", name, failure_text(reply, (size_t)n, h.status));
		return 1;
	}
	if (af) {
		char text[INET6_ADDRSTRLEN];
		inet_ntop(af, ip, text, sizeof(text));
		printf("%-40s %s\n", text, r.name);
		return 0;
	}
	for (unsigned i = 0; i < r.n_addrs; i++) {
		char a[INET6_ADDRSTRLEN];
		inet_ntop(r.addrs[i].family == 4 ? AF_INET : AF_INET6, r.addrs[i].addr, a, sizeof(a));
		printf("%-40s %s\n", a, r.name);
	}
	return 0;
}

/* A JSON string of printable ASCII (as the control protocol guarantees). */
static void json_string(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			putchar('\\');
		putchar(*s);
	}
	putchar('"');
}

static void print_peer(const struct ntm_lctl_peer *e, bool json, bool first)
{
	char v4[INET_ADDRSTRLEN], v6[INET6_ADDRSTRLEN], ep[80] = "-", age[16] = "-";

	inet_ntop(AF_INET, e->vip4.addr, v4, sizeof(v4));
	inet_ntop(AF_INET6, e->vip6.addr, v6, sizeof(v6));
	if (e->has_endpoint)
		fmt_endpoint(&e->endpoint, ep, sizeof(ep));
	if (e->has_hs_age)
		snprintf(age, sizeof(age), "%us", e->hs_age);
	if (!json) {
		printf("%-28s %-15s %-26s %-24s %-8s %-9s %12llu %12llu\n", e->name, v4, v6, ep,
		       ntm_lctl_path_name(e->path), age, (unsigned long long)e->rx_bytes,
		       (unsigned long long)e->tx_bytes);
		if (e->path_info[0])
			printf("%-28s path: %s\n", "", e->path_info);
		if (e->has_moved_age)
			printf("%-28s moved %us ago: %s\n", "", e->moved_age, e->moved_why);
		if (e->lanes_ours || e->lanes_peer)
			printf("%-28s receive lanes: %u here, %u at the peer\n", "", e->lanes_ours,
			       e->lanes_peer);
		return;
	}
	printf("%s\n  {\"name\": \"%s\", \"ipv4\": \"%s\", \"ipv6\": \"%s\", \"endpoint\": ",
	       first ? "" : ",", e->name, v4, v6);
	if (e->has_endpoint)
		printf("\"%s\"", ep);
	else
		printf("null");
	printf(", \"path\": \"%s\", \"path_info\": ", ntm_lctl_path_name(e->path));
	json_string(e->path_info);
	printf(", \"last_handshake_s\": ");
	if (e->has_hs_age)
		printf("%u", e->hs_age);
	else
		printf("null");
	printf(", \"moved_s\": ");
	if (e->has_moved_age)
		printf("%u", e->moved_age);
	else
		printf("null");
	printf(", \"moved_why\": ");
	json_string(e->moved_why);
	printf(", \"lanes\": %u, \"peer_lanes\": %u", e->lanes_ours, e->lanes_peer);
	printf(", \"rx_bytes\": %llu, \"tx_bytes\": %llu}", (unsigned long long)e->rx_bytes,
	       (unsigned long long)e->tx_bytes);
}

static int cmd_peers(void *ctx, int argc, char **argv)
{
	static uint8_t reply[NTM_LCTL_MSG_MAX];
	static struct ntm_lctl_peers m;
	uint8_t req[64];
	struct ntm_lctl_hdr h;
	bool json = false;
	uint32_t offset = 0, shown = 0;
	(void)ctx;

	if (ntm_cli_json_arg(argc, argv, &json) < 0)
		return -EINVAL;
	if (json)
		printf("[");
	else
		printf("%-28s %-15s %-26s %-24s %-8s %-9s %12s %12s\n", "NAME", "IPV4", "IPV6",
		       "ENDPOINT", "PATH", "HANDSHAKE", "RX BYTES", "TX BYTES");
	do {
		int len = ntm_lctl_req_peers(req, sizeof(req), 1, offset);
		ssize_t n = call(req, (size_t)len, reply, sizeof(reply));
		if (n < 0)
			return 1;
		if (ntm_lctl_decode_peers(reply, (size_t)n, &h, &m) < 0 || h.status != NTM_LCTL_OK) {
			fprintf(stderr, "ntmctl: bad peers reply from ntm-tund\n");
			return 1;
		}
		for (unsigned i = 0; i < m.n_peers; i++, shown++)
			print_peer(&m.peers[i], json, shown == 0);
		offset += m.n_peers;
	} while (m.n_peers && offset < m.total);
	if (json)
		printf("%s]\n", shown ? "\n" : "");
	return 0;
}

/* "reply from NAME: seq=0 time=0.412 ms via relay 192.0.2.1:7542" */
static void print_echo(const char *name, const struct ntm_lctl_echo *e)
{
	char ep[80];

	fmt_endpoint(&e->from, ep, sizeof(ep));
	printf("reply from %s: seq=%u time=%.3f ms %s %s\n", name, e->seq, e->rtt_us / 1000.0,
	       e->path == NTM_LCTL_PATH_RELAY ? "via relay" : "direct to", ep);
}

static int cmd_ping(void *ctx, int argc, char **argv)
{
	static uint8_t reply[8192];
	static struct ntm_lctl_ping_result r;
	uint8_t req[512];
	struct ntm_lctl_hdr h;
	const char *name = NULL;
	unsigned long count = 3;
	(void)ctx;

	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "-c") == 0 && i + 1 < argc) {
			char *end;
			count = strtoul(argv[++i], &end, 10);
			if (*end || count < 1 || count > NTM_LCTL_PING_COUNT_MAX) {
				fprintf(stderr, "ntmctl: -c: a count of 1..%d\n", NTM_LCTL_PING_COUNT_MAX);
				return 2;
			}
		} else if (!name) {
			name = argv[i];
		} else {
			return -EINVAL;
		}
	}
	if (!name)
		return -EINVAL;
	int len = ntm_lctl_req_ping(req, sizeof(req), 1, name, (uint16_t)count);
	if (len < 0) {
		fprintf(stderr, "ntmctl: '%s' is not a valid name\n", name);
		return 1;
	}
	/* the daemon answers after the last echo, or after its deadline */
	ssize_t n = ntm_cli_call_timeout("ntmctl", "ntm-tund", sock_path, req, (size_t)len, reply,
					 sizeof(reply), (int)(5000 + count * 200));
	if (n < 0)
		return 1;
	if (ntm_lctl_decode_ping(reply, (size_t)n, &h, &r) < 0) {
		fprintf(stderr, "ntmctl: malformed reply from ntm-tund\n");
		return 1;
	}
	if (h.status != NTM_LCTL_OK) {
		fprintf(stderr, "ntmctl: ping %s: %s\n", name, failure_text(reply, (size_t)n, h.status));
		return 1;
	}
	for (unsigned i = 0; i < r.n_echoes; i++)
		print_echo(name, &r.echoes[i]);
	printf("%s: %u sent, %u received", name, r.sent, r.received);
	if (r.received)
		printf(", rtt min/avg/max = %.3f/%.3f/%.3f ms", r.rtt_min_us / 1000.0,
		       r.rtt_avg_us / 1000.0, r.rtt_max_us / 1000.0);
	printf("\n");
	return r.received ? 0 : 1;
}

/* "watch [--json]": one line per event until the daemon closes the
 * connection (or ntmctl is stopped). */
static int cmd_watch(void *ctx, int argc, char **argv)
{
	static uint8_t msg[NTM_LCTL_MSG_MAX];
	char line[NTM_WATCHFMT_LINE_MAX];
	uint8_t req[64];
	bool json;
	(void)ctx;

	if (ntm_cli_json_arg(argc, argv, &json) < 0)
		return -EINVAL;
	int len = ntm_lctl_req_watch(req, sizeof(req), 1);
	int fd = ntm_lctl_open(sock_path, req, (size_t)len, 2000);
	if (fd == -ENOENT || fd == -ECONNREFUSED) {
		fprintf(stderr, "ntmctl: ntm-tund is not running (no socket at %s)\n", sock_path);
		return 1;
	}
	if (fd < 0) {
		fprintf(stderr, "ntmctl: %s: %s\n", sock_path, strerror(-fd));
		return 1;
	}
	for (;;) {
		struct ntm_lctl_hdr h;
		struct ntm_lctl_event e;
		ssize_t n = ntm_lctl_recv(fd, msg, sizeof(msg), 3600 * 1000);
		if (n == -ETIMEDOUT)
			continue;
		if (n < 0) {
			fprintf(stderr, "ntmctl: watch: %s\n", n == -EPIPE ? "ntm-tund closed the connection"
									  : strerror((int)-n));
			break;
		}
		if (ntm_lctl_decode_watch(msg, (size_t)n, &h, &e) < 0) {
			fprintf(stderr, "ntmctl: malformed event from ntm-tund\n");
			break;
		}
		if (h.status != NTM_LCTL_OK) {
			fprintf(stderr, "ntmctl: watch: %s\n", h.status == NTM_LCTL_TRYAGAIN
				? "too many watchers (16, 4 per user): try again later"
				: ntm_lctl_status_name(h.status));
			break;
		}
		int m = json ? ntm_watchfmt_json(line, sizeof(line), &e)
			     : ntm_watchfmt_text(line, sizeof(line), &e);
		if (m > 0 && (fputs(line, stdout) == EOF || fflush(stdout) != 0))
			break;         /* nobody reads our output any more */
	}
	close(fd);
	return 1;
}

static const struct ntm_lctl_nc_family *nc_fam(const struct ntm_lctl_netcheck *m, uint8_t family)
{
	for (unsigned i = 0; i < m->n_fam; i++)
		if (m->fam[i].family == family)
			return &m->fam[i];
	return NULL;
}

static const char *tri_json(uint8_t v)
{
	return v == NTM_LCTL_NC_YES ? "true" : v == NTM_LCTL_NC_NO ? "false" : "null";
}

/* "IPv4: 203.0.113.5:41641 (NAT, port preserved: no); mapping: ..." */
static void print_nc_family_text(const struct ntm_lctl_nc_family *f, const char *label)
{
	char ep[80];

	if (!f) {
		printf("%s: not tested (no DC address of this family)", label);
		return;
	}
	if (!f->answered) {
		printf("%s: no", label);
		return;
	}
	fmt_endpoint(&f->observed, ep, sizeof(ep));
	if (f->nat == NTM_LCTL_NC_NO)
		printf("%s: %s (no NAT)", label, ep);
	else
		printf("%s: %s (NAT, port preserved: %s); mapping: %s", label, ep,
		       f->port_preserved == NTM_LCTL_NC_YES ? "yes" : "no",
		       ntm_lctl_nc_mapping_name(f->mapping));
}

static void print_nc_family_json(const struct ntm_lctl_nc_family *f, const char *key)
{
	char ep[80];

	if (!f || !f->answered) {  /* null: not tested; false: no answer */
		printf("\"%s\": %s, ", key, f ? "false" : "null");
		return;
	}
	fmt_endpoint(&f->observed, ep, sizeof(ep));
	printf("\"%s\": {\"observed\": \"%s\", \"nat\": %s, \"port_preserved\": %s, "
	       "\"mapping\": \"%s\", \"dc_rtt_ms\": ", key, ep, tri_json(f->nat),
	       tri_json(f->port_preserved), ntm_lctl_nc_mapping_name(f->mapping));
	if (f->rtt_us)
		printf("%.3f}, ", f->rtt_us / 1000.0);
	else
		printf("null}, ");
}

static const char *nc_relay_name(const struct ntm_lctl_nc_relay *r)
{
	if (r->kind == NTM_LCTL_NC_RELAY_EMBEDDED)
		return "embedded";
	return r->name[0] ? r->name : "standalone";
}

/* "; relay RTT: embedded 203.0.113.1:7542 0.4 ms, r1 198.51.100.7:7542 no answer" */
static void print_nc_relays_text(const struct ntm_lctl_netcheck *m)
{
	char ep[80];

	printf("; relay RTT:");
	if (m->n_relays == 0)
		printf(" none listed");
	for (unsigned i = 0; i < m->n_relays; i++) {
		const struct ntm_lctl_nc_relay *r = &m->relay[i];
		fmt_endpoint(&r->ep, ep, sizeof(ep));
		printf("%s %s %s ", i ? "," : "", nc_relay_name(r), ep);
		if (r->answered)
			printf("%.1f ms", r->rtt_us / 1000.0);
		else
			printf("no answer");
	}
}

static void print_nc_relays_json(const struct ntm_lctl_netcheck *m)
{
	uint32_t best = 0;
	char ep[80];

	for (unsigned i = 0; i < m->n_relays; i++)
		if (m->relay[i].rtt_us && (!best || m->relay[i].rtt_us < best))
			best = m->relay[i].rtt_us;
	if (best)
		printf("\"relay_rtt_ms\": %.3f, \"relays\": [", best / 1000.0);
	else
		printf("\"relay_rtt_ms\": null, \"relays\": [");
	for (unsigned i = 0; i < m->n_relays; i++) {
		const struct ntm_lctl_nc_relay *r = &m->relay[i];
		fmt_endpoint(&r->ep, ep, sizeof(ep));
		printf("%s{\"name\": \"%s\", \"kind\": \"%s\", \"endpoint\": \"%s\", "
		       "\"sent\": %u, \"answered\": %u, \"rtt_ms\": ", i ? ", " : "", nc_relay_name(r),
		       r->kind == NTM_LCTL_NC_RELAY_EMBEDDED ? "embedded" : "standalone", ep,
		       (unsigned)r->sent, (unsigned)r->answered);
		if (r->answered)
			printf("%.3f}", r->rtt_us / 1000.0);
		else
			printf("null}");
	}
	printf("]");
}

static void print_netcheck(const struct ntm_lctl_netcheck *m, bool json)
{
	const struct ntm_lctl_nc_family *f4 = nc_fam(m, 4), *f6 = nc_fam(m, 6);
	bool udp = (f4 && f4->answered) || (f6 && f6->answered);
	uint32_t rtt = 0;
	char alt[80] = "";

	for (unsigned i = 0; i < m->n_fam; i++)
		if (m->fam[i].rtt_us && (!rtt || m->fam[i].rtt_us < rtt))
			rtt = m->fam[i].rtt_us;
	if (m->has_alt)
		fmt_endpoint(&m->alt, alt, sizeof(alt));
	if (json) {
		printf("{\"udp\": %s, ", udp ? "true" : "false");
		print_nc_family_json(f4, "ipv4");
		print_nc_family_json(f6, "ipv6");
		json_str("dc_alt", m->has_alt, alt, ", ");
		if (rtt)
			printf("\"dc_rtt_ms\": %.3f, ", rtt / 1000.0);
		else
			printf("\"dc_rtt_ms\": null, ");
		print_nc_relays_json(m);
		printf("}\n");
		return;
	}
	printf("UDP: %s; ", udp ? "yes" : "no");
	print_nc_family_text(f4, "IPv4");
	printf("; ");
	print_nc_family_text(f6, "IPv6");
	if (rtt)
		printf("; DC RTT %.1f ms", rtt / 1000.0);
	print_nc_relays_text(m);
	printf("\n");
}

static int cmd_netcheck(void *ctx, int argc, char **argv)
{
	uint8_t req[64], reply[1024];
	struct ntm_lctl_hdr h;
	struct ntm_lctl_netcheck m;
	bool json = false;
	(void)ctx;

	if (ntm_cli_json_arg(argc, argv, &json) < 0)
		return -EINVAL;
	int len = ntm_lctl_req_netcheck(req, sizeof(req), 1);
	/* the daemon answers when every probe was echoed, or after ~1.2 s */
	ssize_t n = ntm_cli_call_timeout("ntmctl", "ntm-tund", sock_path, req, (size_t)len, reply,
					 sizeof(reply), 5000);
	if (n < 0)
		return 1;
	if (ntm_lctl_decode_netcheck(reply, (size_t)n, &h, &m) < 0) {
		fprintf(stderr, "ntmctl: malformed reply from ntm-tund\n");
		return 1;
	}
	if (h.status != NTM_LCTL_OK) {
		fprintf(stderr, "ntmctl: netcheck: %s%s\n", ntm_lctl_status_name(h.status),
			h.status == NTM_LCTL_TRYAGAIN ?
			" (not registered with the DC, or a netcheck is running)" : "");
		return 1;
	}
	print_netcheck(&m, json);
	for (unsigned i = 0; i < m.n_fam; i++)
		if (m.fam[i].answered)
			return 0;
	return 1;
}

static int cmd_stats(void *ctx, int argc, char **argv)
{
	(void)ctx;
	return ntm_cli_stats_cmd("ntmctl", "ntm-tund", sock_path, argc, argv);
}

/* HELP texts of the gauges (the counters are described in ntmctl(8)). */
static const struct ntm_metrics_help gauge_help[] = {
	{ "uptime_seconds", "seconds since ntm-tund started" },
	{ "dc_registered", "1 while registered with the DC, else 0" },
	{ "dc_state", "the DC link: 1 connecting, 2 registered, 3 unreachable, 4 refused" },
	{ "dc_ack_age_seconds", "seconds since the DC last acknowledged a registration or keepalive" },
	{ "peers", "peers with a resolved name (any path)" },
	{ "peers_resolving", "peers waiting for the DC's answer" },
	{ "peers_pending", "peers with a handshake in progress and no working session" },
	{ "peers_direct", "peers reached directly" },
	{ "peers_relay", "peers reached through a relay" },
	{ "resolves_pending", "Direction Requests outstanding" },
	{ "underlay_addresses", "the node's own underlay addresses" },
};

static int cmd_metrics(void *ctx, int argc, char **argv)
{
	(void)ctx;
	return ntm_cli_metrics_cmd("ntmctl", "ntm-tund", sock_path, "ntm_tund", gauge_help,
				   NTM_ARRAY_SIZE(gauge_help), argc, argv);
}

static int cmd_dns(void *ctx, int argc, char **argv)
{
	(void)ctx;
	return ntmctl_cmd_dns(argc, argv);
}

static const struct ntm_cli_cmd cmds[] = {
	{ "genkey", cmd_genkey, "genkey" },
	{ "pubkey", cmd_pubkey, "pubkey < PRIVATE-KEY" },
	{ "status", cmd_status, "status [--json]" },
	{ "resolve", cmd_resolve, "resolve [-4|-6] NAME | ADDRESS" },
	{ "peers", cmd_peers, "peers [--json]" },
	{ "ping", cmd_ping, "ping [-c COUNT] NAME" },
	{ "stats", cmd_stats, "stats [--json]" },
	{ "metrics", cmd_metrics, "metrics" },
	{ "watch", cmd_watch, "watch [--json]" },
	{ "netcheck", cmd_netcheck, "netcheck [--json]" },
	{ "reregister", cmd_reregister, "reregister" },
	{ "down", cmd_down, "down NAME" },
	{ "dns", cmd_dns, NTMCTL_DNS_USAGE },
};

int main(int argc, char **argv)
{
	struct ntm_cli cli = {
		.prog = "ntmctl", .cmds = cmds, .n_cmds = NTM_ARRAY_SIZE(cmds),
		.opt = "-s", .opt_synopsis = "-s SOCKET",
		.opt_help = "ntm-tund's control socket (default " NTM_TUND_SOCK ")",
		.opt_value = NTM_TUND_SOCK,
	};
	int i, ret = ntm_cli_start(&cli, argc, argv, &i);

	if (ret >= 0)
		return ret;
	sock_path = cli.opt_value;
	return ntm_cli_dispatch(&cli, NULL, argc - i, argv + i);
}
