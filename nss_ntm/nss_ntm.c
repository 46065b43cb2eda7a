/* nss_ntm.c - libnss_ntm.so.2: glibc "hosts" lookups of overlay names and
 * virtual addresses, answered by ntm-tund over its control socket
 * (doc/control.md). The contract is doc/names.md, section 1.
 *
 * Live names and addresses are answered from ntm-tund's names map
 * (mapped.c, doc/namemap.md) without a system call but the vDSO's
 * clock_gettime; anything the map cannot answer (first contact, expired,
 * torn, no map) goes to the daemon as before.
 *
 * This code runs inside every resolving process (setuid programs, threaded
 * programs, nscd), so: no threads, no TLS, no allocation, no stdio or
 * syslog, no abort on input; one connection per lookup under one deadline
 * (lib/ctlclient.c); the only global state is the overlay description,
 * read once with pthread_once (zones.c). A name outside every zone and an
 * address outside every prefix are answered UNAVAIL before any system call,
 * so "hosts: files ntm [!UNAVAIL=return] dns" costs other names nothing.
 *
 * Every failure leaves through give(): *h_errnop first, then *errnop last,
 * because errnop is &errno in dynamically linked callers and nothing may
 * run after it. Success sets *h_errnop = NETDB_SUCCESS and leaves *errnop.
 *
 * gethostbyname_r does not honour RES_USE_INET6 (systemd's module does):
 * glibc 2.36 deprecated the option, and reading _res would drag resolver
 * state into the module. It is 3_r(AF_INET), as glibc's own fallback. */
#include "nss_ntm.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <stddef.h>
#include <time.h>

#include "ctlclient.h"

#define EXPORT __attribute__((visibility("default")))

/* The margin between the daemon's wait (WAIT_MS) and our deadline, so that
 * a tunnel still being set up comes back as TRYAGAIN, not as a timeout. */
#define WAIT_MARGIN_MS 200

static pthread_once_t conf_once = PTHREAD_ONCE_INIT;
static struct ntm_nss_conf conf;   /* written only by conf_init, once */

static void conf_init(void)
{
	/* secure_getenv: a setuid program must not be pointed elsewhere. */
	const char *path = secure_getenv("NTM_NSS_FILE");

	if (!path || !*path)
		path = NTM_NSS_FILE_DEFAULT;
	if (ntm_nss_conf_load(path, &conf) == 0) /* failure leaves conf all zero */
		ntm_nss_map_init(path);
}

static const struct ntm_nss_conf *get_conf(void)
{
	pthread_once(&conf_once, conf_init);
	return &conf;
}

/* NTM_NSS_BYPASS=1 (any value but empty or "0"): the ntm daemons set it so
 * that their own lookups never come back to themselves. Plain getenv, read
 * on every call: a daemon started with file capabilities runs with
 * AT_SECURE, where secure_getenv would hide it; and the bypass can only
 * make the module step aside, never steer it. */
static bool bypassed(void)
{
	const char *v = getenv("NTM_NSS_BYPASS");

	return v && *v && strcmp(v, "0") != 0;
}

/* ---- statuses: every outcome in one place (doc/control.md section 5) ---- */

struct verdict {
	enum nss_status status;
	int err;                       /* *errnop */
	int herr;                      /* *h_errnop */
};

#define UNAVAIL(e) ((struct verdict){ NSS_STATUS_UNAVAIL, (e), NO_RECOVERY })
/* An overlay name or address whose daemon cannot be asked (not running,
 * hung, garbled): NOTFOUND, so "[!UNAVAIL=return]" ends the lookup here and
 * the name never reaches ordinary DNS; TRY_AGAIN, so getaddrinfo says
 * EAI_AGAIN ("temporary failure"), not "no such name"; errno says why. */
#define DOWN(e) ((struct verdict){ NSS_STATUS_NOTFOUND, (e), TRY_AGAIN })
static const struct verdict v_notfound = { NSS_STATUS_NOTFOUND, ENOENT, HOST_NOT_FOUND };
static const struct verdict v_nodata = { NSS_STATUS_NOTFOUND, ENOENT, NO_DATA };
static const struct verdict v_tryagain = { NSS_STATUS_TRYAGAIN, EAGAIN, TRY_AGAIN };
/* The only use of NETDB_INTERNAL: glibc grows the buffer and calls again
 * only when all three are exactly these. */
static const struct verdict v_erange = { NSS_STATUS_TRYAGAIN, ERANGE, NETDB_INTERNAL };

static enum nss_status give(struct verdict v, int *errnop, int *h_errnop)
{
	*h_errnop = v.herr;
	*errnop = v.err; /* last: errnop may be &errno */
	return v.status;
}

/* A failed exchange (ntm_lctl_call's -errno). */
static struct verdict transport_verdict(int err)
{
	switch (err) {
	case ETIMEDOUT:
		return DOWN(ETIMEDOUT);
	case EBADMSG:
	case EMSGSIZE:
	case EPROTO:
	case ECONNRESET:
	case EPIPE:
		return DOWN(EBADMSG); /* no whole, well-formed reply */
	case EMFILE:
	case ENFILE:
	case ENOMEM:
	case ENOBUFS:
		return v_tryagain; /* our process is short of resources, not the daemon gone */
	default:
		/* ENOENT, ECONNREFUSED, EPERM (ownership checks), EIO, ... */
		return DOWN(ECONNREFUSED);
	}
}

static struct verdict status_verdict(uint16_t status)
{
	switch (status) {
	case NTM_LCTL_NOTFOUND:
		return v_notfound;
	case NTM_LCTL_NODATA:
		return v_nodata;
	case NTM_LCTL_TRYAGAIN:
		return v_tryagain;
	default:
		return DOWN(EBADMSG); /* DENIED, BADREQ, INTERNAL: not expected */
	}
}

/* ---- one exchange with ntm-tund ---- */

static uint32_t new_req_id(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint32_t)ts.tv_nsec ^ ((uint32_t)ts.tv_sec << 20);
}

/* Sends req (type req_type, id req_id) and decodes the reply into *res.
 * Returns 0 for an OK reply; otherwise -1 with *v set. */
static int ask(const struct ntm_nss_conf *c, const uint8_t *req, int reqlen, uint8_t req_type,
	       uint32_t req_id, struct ntm_lctl_resolve *res, struct verdict *v)
{
	uint8_t reply[NTM_LCTL_RESOLVE_MSG_MAX];
	struct ntm_lctl_hdr h;
	ssize_t n;

	if (reqlen < 0) {
		*v = DOWN(EINVAL); /* cannot happen: names are checked first */
		return -1;
	}
	n = ntm_lctl_call_taken(c->socket, req, (size_t)reqlen, reply, sizeof(reply), c->timeout_ms,
				NTM_NSS_TAKEN_MS);
	if (n < 0) {
		*v = transport_verdict((int)-n);
		return -1;
	}
	if (ntm_lctl_decode_resolve(reply, (size_t)n, &h, res) < 0 ||
	    h.type != (req_type | NTM_LCTL_REPLY) || h.req_id != req_id) {
		*v = DOWN(EBADMSG);
		return -1;
	}
	if (h.status != NTM_LCTL_OK) {
		*v = status_verdict(h.status);
		return -1;
	}
	return 0;
}

/* WAIT_MS for the daemon: a little less than our own deadline. */
static uint32_t wait_ms(const struct ntm_nss_conf *c)
{
	int margin = c->timeout_ms / 2 < WAIT_MARGIN_MS ? c->timeout_ms / 2 : WAIT_MARGIN_MS;

	return (uint32_t)(c->timeout_ms - margin);
}

/* ---- the names map ---- */

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts); /* the vDSO: no system call */
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* r as a RESOLVE reply with the families asked for (4_r: both). */
static bool from_map(const struct ntm_namemap *m, const struct ntm_namemap_rec *r,
		     uint8_t families, struct ntm_lctl_resolve *res)
{
	memset(res, 0, offsetof(struct ntm_lctl_resolve, addrs));
	if ((families & NTM_LCTL_FAM_V4) && r->has4) {
		res->addrs[res->n_addrs].family = 4;
		memcpy(res->addrs[res->n_addrs++].addr, r->v4, 4);
	}
	if ((families & NTM_LCTL_FAM_V6) && r->has6) {
		res->addrs[res->n_addrs].family = 6;
		memcpy(res->addrs[res->n_addrs++].addr, r->v6, 16);
	}
	if (res->n_addrs == 0)
		return false; /* not the family asked: let the daemon say NODATA */
	memcpy(res->name, r->name, r->name_len + 1);
	res->ttl = m->answer_ttl;
	return true;
}

/* A live name from the map: true with *res filled. One more try after a
 * torn read (the writer was in that entry); any other miss: false, and the
 * caller asks the daemon. */
static bool map_name(const char *name, size_t len, uint8_t families, struct ntm_lctl_resolve *res)
{
	const struct ntm_namemap *m = ntm_nss_map();
	struct ntm_namemap_rec r;
	enum ntm_namemap_res got = NTM_NAMEMAP_MISS;

	for (int i = 0; m && i < 2; i++) {
		got = ntm_namemap_find_name(m, name, len, mono_ms(), &r);
		if (got != NTM_NAMEMAP_TORN)
			break;
	}
	if (got == NTM_NAMEMAP_HIT && from_map(m, &r, families, res))
		return true;
	ntm_nss_map_refresh(); /* a new daemon may have made a new map */
	return false;
}

/* The map's name for addr, if it has one now (no system call). */
static bool map_addr_only(int af, const void *addr, struct ntm_lctl_resolve *res)
{
	const struct ntm_namemap *m = ntm_nss_map();
	struct ntm_namemap_rec r;
	enum ntm_namemap_res got = NTM_NAMEMAP_MISS;

	for (int i = 0; m && i < 2; i++) {
		got = ntm_namemap_find_addr(m, af == AF_INET ? 4 : 6, addr, mono_ms(), &r);
		if (got != NTM_NAMEMAP_TORN)
			break;
	}
	if (got != NTM_NAMEMAP_HIT)
		return false;
	memset(res, 0, offsetof(struct ntm_lctl_resolve, addrs));
	memcpy(res->name, r.name, r.name_len + 1);
	res->ttl = m->answer_ttl;
	return true;
}

/* As map_addr_only; a miss also checks whether ntm-tund made a new map. */
static bool map_addr(int af, const void *addr, struct ntm_lctl_resolve *res)
{
	if (map_addr_only(af, addr, res))
		return true;
	ntm_nss_map_refresh();
	return false;
}

/* Resolves an overlay name. Returns 0 with *res filled, or -1 with *v set
 * (UNAVAIL/ENOENT for a name outside every zone, without a system call). */
static int lookup_name(const char *name, uint8_t families, struct ntm_lctl_resolve *res,
		       struct verdict *v)
{
	uint8_t req[NTM_LCTL_HDR_LEN + 4 + NTM_LCTL_NAME_MAX + 5 + 8];
	char q[NTM_LCTL_NAME_SIZE];
	const struct ntm_nss_conf *c;
	uint32_t id;
	size_t len;
	int reqlen;

	*v = UNAVAIL(ENOENT);
	if (bypassed() || !name)
		return -1;
	c = get_conf();
	len = strlen(name);
	if (len > 1 && name[len - 1] == '.')
		len--;
	if (!ntm_nss_in_zone(c, name, len))
		return -1;
	if (!ntm_nss_name_ok(name, len)) {
		*v = v_notfound; /* ours, and no host can have this name */
		return -1;
	}
	if (map_name(name, len, families, res))
		return 0;
	memcpy(q, name, len);
	q[len] = '\0';
	id = new_req_id();
	reqlen = ntm_lctl_req_resolve_name(req, sizeof(req), id, q, families, wait_ms(c));
	return ask(c, req, reqlen, NTM_LCTL_RESOLVE_NAME, id, res, v);
}

/* ---- filling the caller's buffer: size first, then write ---- */

/* Bytes to skip so that buffer + pad is aligned to align (a power of 2):
 * callers of gethostbyname_r may pass any char array. */
static size_t pad_for(const char *buffer, size_t align)
{
	return (size_t)(-(uintptr_t)buffer) & (align - 1);
}

static size_t fam_len(int af)
{
	return af == AF_INET ? 4 : 16;
}

/* hostent layout: aliases {NULL}, h_addr_list (n + 1 pointers), the n
 * addresses, then the name. Pointer alignment at the start gives the
 * addresses in6_addr alignment. */
static enum nss_status fill_hostent(const char *hname, int af, const uint8_t (*addrs)[16],
				    unsigned n, struct hostent *host, char *buffer, size_t buflen,
				    int *errnop, int *h_errnop)
{
	size_t alen = fam_len(af), nlen = strlen(hname) + 1;
	size_t pad = pad_for(buffer, _Alignof(char *));
	size_t need = pad + (n + 2) * sizeof(char *) + n * alen + nlen;
	char **aliases, **list, *a, *nm;

	if (buflen < need)
		return give(v_erange, errnop, h_errnop);
	aliases = (char **)(void *)(buffer + pad);
	list = aliases + 1;
	a = (char *)(list + n + 1);
	nm = a + n * alen;
	aliases[0] = NULL;
	for (unsigned i = 0; i < n; i++) {
		memcpy(a + i * alen, addrs[i], alen);
		list[i] = a + i * alen;
	}
	list[n] = NULL;
	memcpy(nm, hname, nlen);
	host->h_name = nm;
	host->h_aliases = aliases;
	host->h_addrtype = af;
	host->h_length = (int)alen;
	host->h_addr_list = list;
	*h_errnop = NETDB_SUCCESS;
	return NSS_STATUS_SUCCESS;
}

/* gaih_addrtuple chain: n tuples, then the name they share. */
static enum nss_status fill_tuples(const struct ntm_lctl_resolve *r, struct gaih_addrtuple **pat,
				   char *buffer, size_t buflen, int *errnop, int *h_errnop)
{
	size_t nlen = strlen(r->name) + 1;
	size_t pad = pad_for(buffer, _Alignof(struct gaih_addrtuple));
	size_t need = pad + r->n_addrs * sizeof(struct gaih_addrtuple) + nlen;
	struct gaih_addrtuple *t;
	char *nm;

	if (r->n_addrs == 0)
		return give(v_nodata, errnop, h_errnop); /* the decoder already refuses this */
	if (buflen < need)
		return give(v_erange, errnop, h_errnop);
	t = (struct gaih_addrtuple *)(void *)(buffer + pad);
	nm = (char *)(t + r->n_addrs);
	memcpy(nm, r->name, nlen);
	for (unsigned i = 0; i < r->n_addrs; i++) {
		int af = r->addrs[i].family == 4 ? AF_INET : AF_INET6;

		memset(&t[i], 0, sizeof(t[i]));
		t[i].next = i + 1 < r->n_addrs ? &t[i + 1] : NULL;
		t[i].name = nm;
		t[i].family = af;
		memcpy(t[i].addr, r->addrs[i].addr, fam_len(af));
		/* scopeid stays 0: overlay addresses are never link-local. */
	}
	/* nscd passes its own tuple in *pat and wants the first one copied. */
	if (*pat)
		**pat = t[0];
	else
		*pat = t;
	*h_errnop = NETDB_SUCCESS;
	return NSS_STATUS_SUCCESS;
}

static void put_ttl(int32_t *ttlp, uint32_t ttl)
{
	if (ttlp)
		*ttlp = ttl > INT32_MAX ? INT32_MAX : (int32_t)ttl;
}

/* ---- entry points ---- */

EXPORT enum nss_status _nss_ntm_gethostbyname4_r(const char *name, struct gaih_addrtuple **pat,
						 char *buffer, size_t buflen, int *errnop,
						 int *h_errnop, int32_t *ttlp)
{
	struct ntm_lctl_resolve res;
	struct verdict v;
	enum nss_status st;

	if (!pat) /* glibc never passes NULL */
		return give(UNAVAIL(EINVAL), errnop, h_errnop);
	if (lookup_name(name, NTM_LCTL_FAM_BOTH, &res, &v) < 0)
		return give(v, errnop, h_errnop);
	st = fill_tuples(&res, pat, buffer, buflen, errnop, h_errnop);
	if (st == NSS_STATUS_SUCCESS)
		put_ttl(ttlp, res.ttl);
	return st;
}

EXPORT enum nss_status _nss_ntm_gethostbyname3_r(const char *name, int af, struct hostent *host,
						 char *buffer, size_t buflen, int *errnop,
						 int *h_errnop, int32_t *ttlp, char **canonp)
{
	uint8_t addrs[NTM_LCTL_MAX_ADDRS][16];
	struct ntm_lctl_resolve res;
	struct verdict v;
	enum nss_status st;
	unsigned n = 0;
	uint8_t fam;

	if (bypassed())
		return give(UNAVAIL(ENOENT), errnop, h_errnop);
	if (af == AF_UNSPEC)
		af = AF_INET; /* one hostent holds one family */
	if (af != AF_INET && af != AF_INET6)
		return give(UNAVAIL(EAFNOSUPPORT), errnop, h_errnop);
	fam = af == AF_INET ? 4 : 6;
	if (lookup_name(name, fam == 4 ? NTM_LCTL_FAM_V4 : NTM_LCTL_FAM_V6, &res, &v) < 0)
		return give(v, errnop, h_errnop);
	for (unsigned i = 0; i < res.n_addrs; i++)
		if (res.addrs[i].family == fam)
			memcpy(addrs[n++], res.addrs[i].addr, 16);
	if (n == 0)
		return give(v_nodata, errnop, h_errnop); /* OK, but not of this family */
	st = fill_hostent(res.name, af, (const uint8_t (*)[16])addrs, n, host, buffer, buflen,
			  errnop, h_errnop);
	if (st != NSS_STATUS_SUCCESS)
		return st;
	put_ttl(ttlp, res.ttl);
	if (canonp)
		*canonp = host->h_name;
	return st;
}

EXPORT enum nss_status _nss_ntm_gethostbyname2_r(const char *name, int af, struct hostent *host,
						 char *buffer, size_t buflen, int *errnop,
						 int *h_errnop)
{
	return _nss_ntm_gethostbyname3_r(name, af, host, buffer, buflen, errnop, h_errnop, NULL,
					 NULL);
}

EXPORT enum nss_status _nss_ntm_gethostbyname_r(const char *name, struct hostent *host,
						char *buffer, size_t buflen, int *errnop,
						int *h_errnop)
{
	return _nss_ntm_gethostbyname3_r(name, AF_INET, host, buffer, buflen, errnop, h_errnop,
					 NULL, NULL);
}

EXPORT enum nss_status _nss_ntm_gethostbyaddr2_r(const void *addr, socklen_t len, int af,
						 struct hostent *host, char *buffer, size_t buflen,
						 int *errnop, int *h_errnop, int32_t *ttlp)
{
	uint8_t req[NTM_LCTL_HDR_LEN + 4 + 17];
	uint8_t a[1][16] = { { 0 } };
	const struct ntm_nss_conf *c;
	struct ntm_lctl_resolve res;
	struct verdict v;
	enum nss_status st;
	uint32_t id;
	int reqlen;

	if (bypassed())
		return give(UNAVAIL(ENOENT), errnop, h_errnop);
	if (af != AF_INET && af != AF_INET6)
		return give(UNAVAIL(EAFNOSUPPORT), errnop, h_errnop);
	if (!addr || len != fam_len(af))
		return give(UNAVAIL(EINVAL), errnop, h_errnop);
	c = get_conf();
	memcpy(a[0], addr, len);
	if (!ntm_nss_in_prefix(c, af, addr)) {
		/* a federated zone's peer is named while its tunnel lives, from
		 * the map only: any other address costs no system call here
		 * (but a stat while no map is attached: ntm-tund may have
		 * started since) */
		if (!ntm_nss_map())
			ntm_nss_map_refresh();
		if (!map_addr_only(af, addr, &res))
			return give(UNAVAIL(ENOENT), errnop, h_errnop);
	} else if (!map_addr(af, addr, &res)) {
		id = new_req_id();
		reqlen = ntm_lctl_req_resolve_addr(req, sizeof(req), id, af == AF_INET ? 4 : 6,
						   a[0]);
		if (ask(c, req, reqlen, NTM_LCTL_RESOLVE_ADDR, id, &res, &v) < 0)
			return give(v, errnop, h_errnop);
	}
	/* h_addr_list holds the address asked for, as nss_dns does; the
	 * reply's other addresses belong to forward lookups. */
	st = fill_hostent(res.name, af, (const uint8_t (*)[16])a, 1, host, buffer, buflen, errnop,
			  h_errnop);
	if (st == NSS_STATUS_SUCCESS)
		put_ttl(ttlp, res.ttl);
	return st;
}

EXPORT enum nss_status _nss_ntm_gethostbyaddr_r(const void *addr, socklen_t len, int af,
						struct hostent *host, char *buffer, size_t buflen,
						int *errnop, int *h_errnop)
{
	return _nss_ntm_gethostbyaddr2_r(addr, len, af, host, buffer, buflen, errnop, h_errnop,
					 NULL);
}
