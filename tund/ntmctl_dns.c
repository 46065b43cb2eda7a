/* ntmctl_dns.c - `ntmctl dns enable|disable|status`: make programs that
 * read resolv.conf themselves (static Go and musl binaries, dig) use
 * ntm-resolverd. The work is done by lib/resolvconf_*.c; this file parses the
 * options, picks the mode and reports. Where systemd-resolved owns
 * resolv.conf the file is left alone and the resolvectl commands for
 * per-link split DNS are printed, and run only with --resolved. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "nss_ntm.h"
#include "ntmctl_dns.h"
#include "resolvconf.h"
#include "util.h"

/* resolv.conf is at a fixed place for every libc, whatever the prefix. */
#define DNS_RESOLV_CONF "/etc/resolv.conf"
#define DNS_BACKUP      "/etc/resolv.conf.ntm-orig"
#define DNS_STUB        "127.0.0.77"     /* ntm-resolverd's ListenAddress */
#define DNS_LINK        "ntm0"           /* ntm-tund's Interface */
#define DNS_MAX_ZONES   16
#define DNS_ZONE_SIZE   80               /* the longest reverse zone is 73 bytes */

/* which options a verb takes */
#define OPT_ZONE     0x01u
#define OPT_STUB     0x02u
#define OPT_RESOLVED 0x04u
#define OPT_LINK     0x08u
#define OPT_JSON     0x10u
#define OPT_DISCARD  0x20u
#define OPT_PATHS    0x40u
#define OPT_NSS      0x80u

struct dns_opts {
	const char *path, *backup, *stub, *link, *nss_file;
	const char *zones[DNS_MAX_ZONES];
	size_t nzones;
	bool json, resolved, discard;
	/* zones learned from the nss file when no --zone is given */
	char auto_zones[DNS_MAX_ZONES][DNS_ZONE_SIZE];
};

/* Fills *o from argv; prints what was wrong and returns -EINVAL. */
static int parse_opts(const char *verb, unsigned allowed, int argc, char **argv,
		      struct dns_opts *o)
{
	static const struct { const char *name; unsigned bit; bool value; } opts[] = {
		{ "--zone", OPT_ZONE, true }, { "--stub", OPT_STUB, true },
		{ "--resolved", OPT_RESOLVED, false }, { "--link", OPT_LINK, true },
		{ "--json", OPT_JSON, false }, { "--discard-backup", OPT_DISCARD, false },
		{ "--resolv-conf", OPT_PATHS, true }, { "--backup", OPT_PATHS, true },
		{ "--nss-file", OPT_NSS, true },
	};

	memset(o, 0, sizeof(*o));
	o->path = DNS_RESOLV_CONF;
	o->backup = DNS_BACKUP;
	o->stub = DNS_STUB;
	o->link = DNS_LINK;
	o->nss_file = NTM_NSS_FILE_DEFAULT;
	for (int i = 0; i < argc; i++) {
		size_t k = 0;
		while (k < NTM_ARRAY_SIZE(opts) && strcmp(argv[i], opts[k].name) != 0)
			k++;
		if (k == NTM_ARRAY_SIZE(opts) || !(allowed & opts[k].bit)) {
			fprintf(stderr, "ntmctl: dns %s: unknown option '%s'\n", verb, argv[i]);
			return -EINVAL;
		}
		const char *v = NULL;
		if (opts[k].value) {
			if (i + 1 >= argc || argv[i + 1][0] == '\0') {
				fprintf(stderr, "ntmctl: dns %s: %s needs a value\n", verb, argv[i]);
				return -EINVAL;
			}
			v = argv[++i];
		}
		switch (opts[k].bit) {
		case OPT_ZONE:
			if (o->nzones == DNS_MAX_ZONES) {
				fprintf(stderr, "ntmctl: dns %s: more than %d zones\n", verb, DNS_MAX_ZONES);
				return -EINVAL;
			}
			o->zones[o->nzones++] = v;
			break;
		case OPT_STUB: o->stub = v; break;
		case OPT_RESOLVED: o->resolved = true; break;
		case OPT_LINK: o->link = v; break;
		case OPT_NSS: o->nss_file = v; break;
		case OPT_JSON: o->json = true; break;
		case OPT_DISCARD: o->discard = true; break;
		case OPT_PATHS:
			if (strcmp(opts[k].name, "--backup") == 0)
				o->backup = v;
			else
				o->path = v;
			break;
		}
	}
	return 0;
}

/* ---- systemd-resolved mode --------------------------------------------- */

/* One argument as a shell would need it: the "~" of a routing-only domain
 * must not be expanded. Arguments were validated (names, addresses). */
static void print_cmd(const char *prefix, const struct ntm_resolvectl_cmd *c)
{
	printf("%s", prefix);
	for (int i = 0; i < c->argc; i++) {
		const char *a = c->argv[i];
		bool plain = strspn(a, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
				       "0123456789._-:%/") == strlen(a);
		printf(plain ? "%s%s" : "%s'%s'", i ? " " : "", a);
	}
	printf("\n");
}

/* fork + execvp, no shell. Returns 0 when the command exited 0. */
static int run_cmd(const struct ntm_resolvectl_cmd *c)
{
	int status;
	pid_t pid;

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0) {
		fprintf(stderr, "ntmctl: cannot fork: %s\n", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		execvp(c->argv[0], c->argv);
		fprintf(stderr, "ntmctl: cannot run %s: %s\n", c->argv[0], strerror(errno));
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			fprintf(stderr, "ntmctl: waiting for %s: %s\n", c->argv[0], strerror(errno));
			return -1;
		}
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (WIFEXITED(status))
		fprintf(stderr, "ntmctl: %s %s failed (exit status %d)\n", c->argv[0], c->argv[1],
			WEXITSTATUS(status));
	else
		fprintf(stderr, "ntmctl: %s %s killed by signal %d\n", c->argv[0], c->argv[1],
			WTERMSIG(status));
	return -1;
}

/* Runs cmds in order (with --resolved), or prints them and changes
 * nothing (exit 1: DNS was not switched). */
static int run_or_print(const struct dns_opts *o, const char *verb,
			const struct ntm_resolvectl_cmd *cmds, size_t n)
{
	if (!o->resolved) {
		fprintf(stderr, "ntmctl: dns %s: %s is managed by systemd-resolved; ntmctl leaves "
			"it alone. It would configure the link %s instead:\n", verb, o->path, o->link);
		for (size_t i = 0; i < n; i++)
			print_cmd("", &cmds[i]);
		fflush(stdout);
		fprintf(stderr, "ntmctl: dns %s: nothing changed; add --resolved to run these "
			"commands\n", verb);
		return 1;
	}
	for (size_t i = 0; i < n; i++) {
		print_cmd("running: ", &cmds[i]);
		if (run_cmd(&cmds[i]) < 0)
			return 1;
	}
	return 0;
}

/* The reverse zones of a prefix (ntm_reverse_zones), those not named yet. */
static void add_reverse_zones(struct dns_opts *o, int af, const uint8_t *addr, unsigned plen)
{
	char z[NTM_REVZONE_MAX][NTM_REVZONE_SIZE];
	size_t n = ntm_reverse_zones(af, addr, plen, z, NTM_REVZONE_MAX);

	for (size_t v = 0; v < n && o->nzones < DNS_MAX_ZONES; v++) {
		bool dup = false;
		for (size_t k = 0; k < o->nzones; k++)
			dup |= strcmp(o->zones[k], z[v]) == 0;
		if (dup)
			continue;
		memcpy(o->auto_zones[o->nzones], z[v], strlen(z[v]) + 1);
		o->zones[o->nzones] = o->auto_zones[o->nzones];
		o->nzones++;
	}
}

/* Without --zone: the overlay zones and the reverse zones of the overlay
 * prefixes, from the file ntm-tund keeps for nss_ntm. */
static int zones_from_nss(struct dns_opts *o)
{
	struct ntm_nss_conf c;
	int r = ntm_nss_conf_load(o->nss_file, &c);

	if (r < 0) {
		fprintf(stderr, "ntmctl: dns enable: cannot read the overlay zones from %s (%s): is "
			"ntm-tund running? Or name them with --zone\n", o->nss_file, strerror(-r));
		return r;
	}
	for (unsigned i = 0; i < c.n_zones && o->nzones < DNS_MAX_ZONES; i++) {
		snprintf(o->auto_zones[o->nzones], DNS_ZONE_SIZE, "%s", c.zones[i]);
		o->zones[o->nzones] = o->auto_zones[o->nzones];
		o->nzones++;
	}
	for (unsigned i = 0; i < c.n_p4; i++)
		add_reverse_zones(o, AF_INET, c.p4[i].addr, c.p4[i].plen);
	for (unsigned i = 0; i < c.n_p6; i++)
		add_reverse_zones(o, AF_INET6, c.p6[i].addr, c.p6[i].plen);
	if (c.n_zones == 0) {
		fprintf(stderr, "ntmctl: dns enable: %s names no overlay zone yet (not registered?); "
			"name it with --zone\n", o->nss_file);
		return -ENOENT;
	}
	return 0;
}

/* Builds the domain command, naming the zone the builder refuses. */
static int build_domain(const struct dns_opts *o, struct ntm_resolvectl_cmd *c)
{
	int r = ntm_resolvectl_domain(c, o->link, o->zones, o->nzones);

	if (r == -E2BIG) {
		fprintf(stderr, "ntmctl: dns enable: too many zones for one resolvectl command\n");
		return r;
	}
	for (size_t i = 0; r < 0 && i < o->nzones; i++) {
		if (ntm_resolvectl_domain(c, o->link, &o->zones[i], 1) < 0) {
			fprintf(stderr, "ntmctl: dns enable: --zone '%s' is not a DNS name\n",
				o->zones[i]);
			return r;
		}
	}
	return r;
}

/* systemd-resolved (252.3 and later, which talks to a link's loopback
 * servers over the loopback interface rather than out of the link) routes
 * the zones to the stub; the other names keep their servers. */
static int resolved_enable(struct dns_opts *o)
{
	struct ntm_resolvectl_cmd cmds[3];

	if (ntm_resolvectl_revert(&cmds[0], o->link) < 0) {
		fprintf(stderr, "ntmctl: dns enable: --link '%s' is not an interface name\n", o->link);
		return 2;
	}
	if (ntm_resolvectl_dns(&cmds[0], o->link, &o->stub, 1) < 0) {
		fprintf(stderr, "ntmctl: dns enable: --stub '%s' is not an IP address\n", o->stub);
		return 2;
	}
	if (o->nzones == 0 && zones_from_nss(o) < 0)
		return 1;
	if (build_domain(o, &cmds[1]) < 0)
		return 2;
	ntm_resolvectl_default_route(&cmds[2], o->link, false);
	return run_or_print(o, "enable", cmds, NTM_ARRAY_SIZE(cmds));
}

static int resolved_disable(const struct dns_opts *o)
{
	struct ntm_resolvectl_cmd cmd;

	if (ntm_resolvectl_revert(&cmd, o->link) < 0) {
		fprintf(stderr, "ntmctl: dns disable: --link '%s' is not an interface name\n", o->link);
		return 2;
	}
	return run_or_print(o, "disable", &cmd, 1);
}

/* ---- resolv.conf mode -------------------------------------------------- */

static int inspect(const char *verb, const struct ntm_resolvconf_env *env,
		   struct ntm_resolvconf_status *st)
{
	int r = ntm_resolvconf_status_env(env, st);

	if (r < 0)
		fprintf(stderr, "ntmctl: dns %s: cannot inspect %s or %s: %s\n", verb, env->path,
			env->backup_path, strerror(-r));
	return r;
}

static int dns_enable(struct dns_opts *o)
{
	struct ntm_resolvconf_env env = { .path = o->path, .backup_path = o->backup };
	struct ntm_resolvconf_status st;
	char err[512];

	if (inspect("enable", &env, &st) < 0)
		return 1;
	if (o->resolved || st.owner == NTM_RESOLVCONF_OWNER_RESOLVED)
		return resolved_enable(o);
	if (o->nzones > 1) {
		fprintf(stderr, "ntmctl: dns enable: resolv.conf takes one --zone (its search "
			"list); more are for the systemd-resolved mode\n");
		return 2;
	}
	if (ntm_resolvconf_enable_env(&env, o->stub, o->nzones ? o->zones[0] : NULL, err,
				      sizeof(err)) < 0) {
		fprintf(stderr, "ntmctl: dns enable: %s\n", err);
		return 1;
	}
	if (st.state == NTM_RESOLVCONF_ENABLED)
		printf("%s: already enabled; regenerated from %s with nameserver %s\n", o->path,
		       o->backup, o->stub);
	else
		printf("%s: now uses the stub resolver %s; the original is saved in %s\n", o->path,
		       o->stub, o->backup);
	return 0;
}

static int dns_disable(struct dns_opts *o)
{
	struct ntm_resolvconf_env env = { .path = o->path, .backup_path = o->backup };
	struct ntm_resolvconf_status st;
	char err[512];

	if (inspect("disable", &env, &st) < 0)
		return 1;
	if (o->resolved || (st.owner == NTM_RESOLVCONF_OWNER_RESOLVED && !st.backup_exists))
		return resolved_disable(o);
	if (o->discard)
		env.flags |= NTM_RESOLVCONF_DISCARD_STALE_BACKUP;
	int r = ntm_resolvconf_disable_env(&env, err, sizeof(err));
	if (r < 0) {
		fprintf(stderr, "ntmctl: dns disable: %s\n", err);
		if (r == -ESTALE)
			fprintf(stderr, "ntmctl: dns disable: to keep %s as it is and forget the "
				"backup, run it with --discard-backup\n", o->path);
		return 1;
	}
	if (r == 1)
		printf("%s: not enabled by ntm (no marker, no %s); nothing to do\n", o->path,
		       o->backup);
	else if (st.state == NTM_RESOLVCONF_OVERWRITTEN)
		printf("%s: left as %s wrote it; removed the stale backup %s\n", o->path,
		       ntm_resolvconf_owner_name(st.owner), o->backup);
	else
		printf("%s: restored from %s (backup removed)\n", o->path, o->backup);
	return 0;
}

/* ---- status: one printer table for both forms -------------------------- */

struct field {
	const char *label;      /* human form */
	const char *key;        /* JSON key */
	const char *str;        /* a string value, or NULL for the boolean */
	bool boolean;
};

static void json_string(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '"' || ch == '\\')
			printf("\\%c", ch);
		else if (ch < 0x20 || ch == 0x7f)
			printf("\\u%04x", ch);
		else
			putchar(ch);
	}
	putchar('"');
}

static void print_fields(const struct field *f, size_t n, bool json)
{
	for (size_t i = 0; i < n; i++) {
		if (!json) {
			printf("%-14s %s\n", f[i].label, f[i].str ? f[i].str : f[i].boolean ? "yes" : "no");
			continue;
		}
		printf("%s\"%s\": ", i ? ", " : "{", f[i].key);
		if (f[i].str)
			json_string(f[i].str);
		else
			printf("%s", f[i].boolean ? "true" : "false");
	}
	if (json)
		printf("}\n");
}

static const char *status_hint(const struct ntm_resolvconf_status *st)
{
	if (st->owner == NTM_RESOLVCONF_OWNER_RESOLVED && st->state == NTM_RESOLVCONF_DISABLED)
		return "systemd-resolved manages the file: see 'ntmctl dns enable --resolved'";
	switch (st->state) {
	case NTM_RESOLVCONF_OVERWRITTEN:
		return "rewritten since 'ntmctl dns enable': programs no longer use the stub; "
		       "'ntmctl dns disable --discard-backup' forgets the old backup";
	case NTM_RESOLVCONF_BACKUP_LOST:
		return "the backup is gone: restore the original file by hand";
	default:
		return NULL;
	}
}

static int dns_status(struct dns_opts *o)
{
	struct ntm_resolvconf_env env = { .path = o->path, .backup_path = o->backup };
	struct ntm_resolvconf_status st;

	if (inspect("status", &env, &st) < 0)
		return 1;
	const struct field f[] = {
		{ "resolv.conf:", "resolv_conf", o->path, false },
		{ "managed by:", "owner", ntm_resolvconf_owner_name(st.owner), false },
		{ "state:", "state", ntm_resolvconf_state_name(st.state), false },
		{ "backup:", "backup", o->backup, false },
		{ "backup exists:", "backup_exists", NULL, st.backup_exists },
	};
	print_fields(f, NTM_ARRAY_SIZE(f), o->json);
	const char *hint = status_hint(&st);
	if (hint && !o->json)
		printf("note:          %s\n", hint);
	return 0;
}

int ntmctl_cmd_dns(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(struct dns_opts *o);
		unsigned opts;
	} verbs[] = {
		{ "enable", dns_enable, OPT_ZONE | OPT_STUB | OPT_RESOLVED | OPT_LINK | OPT_PATHS | OPT_NSS },
		{ "disable", dns_disable, OPT_DISCARD | OPT_RESOLVED | OPT_LINK | OPT_PATHS },
		{ "status", dns_status, OPT_JSON | OPT_PATHS },
	};
	struct dns_opts o;

	if (argc < 1)
		return -EINVAL;
	for (size_t k = 0; k < NTM_ARRAY_SIZE(verbs); k++) {
		if (strcmp(argv[0], verbs[k].name) != 0)
			continue;
		if (parse_opts(verbs[k].name, verbs[k].opts, argc - 1, argv + 1, &o) < 0)
			return -EINVAL;
		return verbs[k].fn(&o);
	}
	fprintf(stderr, "ntmctl: dns: unknown subcommand '%s'\n", argv[0]);
	return -EINVAL;
}
