/* resolvconf.c - the resolv.conf parser, owner detection, enable/disable
 * and the resolvectl argv builders (see resolvconf.h for the contracts). */
#include "resolvconf.h"
#include "util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define QUOTE_MAX 48
#define MAX_HOPS 8

static const char *const default_resolved_dirs[] = { "/run/systemd/resolve", NULL };
static const char *const default_resolvconf_dirs[] = { "/run/resolvconf", "/etc/resolvconf", NULL };

/* ---- errors ----------------------------------------------------------- */

static void __attribute__((format(printf, 3, 4)))
errf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static int __attribute__((format(printf, 4, 5)))
perr(struct ntm_resolv_error *e, unsigned line, int ret, const char *fmt, ...)
{
	va_list ap;

	e->line = line;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return ret;
}

/* Copies at most QUOTE_MAX bytes of s[0..n) into q, adding "..." if cut. */
static const char *quote(char q[QUOTE_MAX + 4], const char *s, size_t n)
{
	size_t k = n > QUOTE_MAX ? QUOTE_MAX : n;

	memcpy(q, s, k);
	strcpy(q + k, n > QUOTE_MAX ? "..." : "");
	return q;
}

void ntm_resolv_error_format(const struct ntm_resolv_error *e, char *buf, size_t size)
{
	if (e->line)
		snprintf(buf, size, "line %u: %s", e->line, e->msg);
	else
		snprintf(buf, size, "%s", e->msg);
}

/* ---- parser ------------------------------------------------------------ */

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static bool is_ldh(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_';
}

/* A host name: labels of [A-Za-z0-9_-] (1..63), 253 bytes without the
 * optional final dot; or "." alone (systemd-resolved writes "search ."). */
static bool valid_name(const char *s, size_t n)
{
	size_t label = 0;

	if (n == 1 && s[0] == '.')
		return true;
	if (n == 0 || n - (s[n - 1] == '.') > 253)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '.') {
			if (label == 0)
				return false;
			label = 0;
		} else if (!is_ldh(s[i]) || ++label > 63) {
			return false;
		}
	}
	return true;
}

static bool valid_scope(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n >= IF_NAMESIZE)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] <= ' ' || (unsigned char)s[i] >= 0x7f || s[i] == '/')
			return false;
	return true;
}

int ntm_resolv_parse_addr(const char *s, struct ntm_resolv_ns *ns)
{
	size_t n = strlen(s);
	char a[NTM_RESOLV_ADDR_MAX];
	char *pct;

	memset(ns, 0, sizeof(*ns));
	if (n == 0 || n >= sizeof(a))
		return -EINVAL;
	memcpy(a, s, n + 1);
	pct = strchr(a, '%');
	if (pct) {
		*pct = '\0';
		if (!valid_scope(pct + 1))
			return -EINVAL;
	}
	if (inet_pton(AF_INET, a, &ns->addr.v4) == 1) {
		if (pct)
			return -EINVAL;   /* glibc takes scope ids on IPv6 only */
		ns->family = AF_INET;
	} else if (inet_pton(AF_INET6, a, &ns->addr.v6) == 1) {
		ns->family = AF_INET6;
		if (pct)
			memcpy(ns->scope, pct + 1, strlen(pct + 1) + 1);
	} else {
		return -EINVAL;
	}
	memcpy(ns->text, s, n + 1);
	return 0;
}

/* Splits off the first blank-separated token of *p (advancing *p past it
 * and the blanks after it). */
static size_t next_token(const char **p, const char **tok)
{
	const char *s = *p;
	size_t n = 0;

	while (s[n] && !is_blank(s[n]))
		n++;
	*tok = s;
	s += n;
	while (is_blank(*s))
		s++;
	*p = s;
	return n;
}

static int keep_line(struct ntm_resolv *rc, const char *line, size_t n, unsigned lineno,
		     struct ntm_resolv_error *e)
{
	if (rc->nkept == NTM_RESOLV_MAX_KEPT)
		return perr(e, lineno, -E2BIG, "more than %d search/domain/options/sortlist lines",
			    NTM_RESOLV_MAX_KEPT);
	memcpy(rc->kept[rc->nkept], line, n);
	rc->kept[rc->nkept][n] = '\0';
	rc->nkept++;
	return 0;
}

static int parse_nameserver(struct ntm_resolv *rc, const char *rest, unsigned lineno,
			    struct ntm_resolv_error *e)
{
	char q[QUOTE_MAX + 4], a[NTM_RESOLV_ADDR_MAX];
	const char *tok;
	size_t n = next_token(&rest, &tok);

	/* glibc cuts the address at '#' or ';': allow a comment after it. */
	if (*rest && *rest != '#' && *rest != ';')
		return perr(e, lineno, -EINVAL, "trailing text '%s' after nameserver address",
			    quote(q, rest, strlen(rest)));
	if (rc->nns == NTM_RESOLV_MAX_NS)
		return perr(e, lineno, -E2BIG, "more than %d nameservers", NTM_RESOLV_MAX_NS);
	if (n >= sizeof(a))
		return perr(e, lineno, -EINVAL, "'%s' is not an IPv4 or IPv6 address",
			    quote(q, tok, n));
	memcpy(a, tok, n);
	a[n] = '\0';
	if (ntm_resolv_parse_addr(a, &rc->ns[rc->nns]) < 0)
		return perr(e, lineno, -EINVAL, "'%s' is not an IPv4 or IPv6 address",
			    quote(q, tok, n));
	rc->nns++;
	return 0;
}

/* search/domain: every token a name; the line becomes the search list. */
static int parse_search(struct ntm_resolv *rc, const char *rest, bool single, unsigned lineno,
			struct ntm_resolv_error *e)
{
	char q[QUOTE_MAX + 4];
	size_t count = 0;

	while (*rest) {
		const char *tok;
		size_t n = next_token(&rest, &tok);

		if (!valid_name(tok, n))
			return perr(e, lineno, -EINVAL, "'%s' is not a domain name", quote(q, tok, n));
		if (single && *rest)
			return perr(e, lineno, -EINVAL, "trailing text '%s' after domain",
				    quote(q, rest, strlen(rest)));
		if (count == NTM_RESOLV_MAX_SEARCH)
			return perr(e, lineno, -E2BIG, "more than %d search domains",
				    NTM_RESOLV_MAX_SEARCH);
		memcpy(rc->search[count], tok, n);
		rc->search[count][n] = '\0';
		count++;
	}
	rc->nsearch = count;
	rc->search_line = (int)rc->nkept;
	return 0;
}

static int parse_line(struct ntm_resolv *rc, const char *line, size_t n, unsigned lineno,
		      struct ntm_resolv_error *e)
{
	char q[QUOTE_MAX + 4], kw[16];
	const char *rest = line, *tok;
	size_t i, kwlen;
	int r;

	for (i = 0; i < n && is_blank(line[i]); i++)
		;
	if (i == n)
		return 0;
	if (line[i] == '#' || line[i] == ';') {   /* glibc: column 0 only; harmless */
		if (!strncmp(line, NTM_RESOLV_MARKER, strlen(NTM_RESOLV_MARKER)))
			rc->ntm_marker = true;
		return 0;
	}
	if (i > 0)
		return perr(e, lineno, -EINVAL, "line starts with a blank (glibc ignores it)");
	kwlen = next_token(&rest, &tok);
	if (kwlen >= sizeof(kw))
		return perr(e, lineno, -EINVAL, "unknown keyword '%s'", quote(q, tok, kwlen));
	memcpy(kw, tok, kwlen);
	kw[kwlen] = '\0';
	if (strcmp(kw, "nameserver") && strcmp(kw, "search") && strcmp(kw, "domain") &&
	    strcmp(kw, "options") && strcmp(kw, "sortlist"))
		return perr(e, lineno, -EINVAL, "unknown keyword '%s'", kw);
	for (size_t k = strlen(rest); k > 0 && is_blank(rest[k - 1]); k--)
		n--;   /* trailing blanks: out of the kept copy too */
	if (!*rest)
		return perr(e, lineno, -EINVAL, "'%s' without a value", kw);
	if (!strcmp(kw, "nameserver"))
		return parse_nameserver(rc, rest, lineno, e);
	if (!strcmp(kw, "search") || !strcmp(kw, "domain")) {
		char v[NTM_RESOLV_MAX_LINE + 1];

		memcpy(v, rest, (size_t)(line + n - rest));
		v[line + n - rest] = '\0';
		r = parse_search(rc, v, kw[0] == 'd', lineno, e);
		if (r < 0)
			return r;
	}
	return keep_line(rc, line, n, lineno, e);
}

/* Control bytes other than tab are refused (the '\r' of CRLF is gone). */
static int check_bytes(const char *s, size_t n, unsigned lineno, struct ntm_resolv_error *e)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == 0)
			return perr(e, lineno, -EINVAL, "NUL byte");
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return perr(e, lineno, -EINVAL, "control character 0x%02x", c);
	}
	return 0;
}

int ntm_resolv_parse(const char *text, size_t len, struct ntm_resolv *rc,
		     struct ntm_resolv_error *e)
{
	size_t off = 0;
	unsigned lineno = 0;
	int r;

	memset(rc, 0, sizeof(*rc));
	rc->search_line = -1;
	e->line = 0;
	e->msg[0] = '\0';
	if (len > NTM_RESOLV_MAX_FILE)
		return perr(e, 0, -EFBIG, "file is larger than %d bytes", NTM_RESOLV_MAX_FILE);
	while (len - off > 0) {
		char line[NTM_RESOLV_MAX_LINE + 1];
		const char *nl = memchr(text + off, '\n', len - off);
		size_t n = nl ? (size_t)(nl - (text + off)) : len - off;
		size_t next = off + n + (nl != NULL);

		lineno++;
		if (n > 0 && text[off + n - 1] == '\r')
			n--;
		if (n > NTM_RESOLV_MAX_LINE)
			return perr(e, lineno, -EINVAL, "line longer than %d bytes",
				    NTM_RESOLV_MAX_LINE);
		r = check_bytes(text + off, n, lineno, e);
		if (r < 0)
			return r;
		memcpy(line, text + off, n);
		line[n] = '\0';
		r = parse_line(rc, line, n, lineno, e);
		if (r < 0)
			return r;
		off = next;
	}
	return 0;
}

static bool same_addr(const struct ntm_resolv_ns *a, const struct ntm_resolv_ns *b)
{
	if (a->family != b->family)
		return false;
	if (a->family == AF_INET)
		return a->addr.v4.s_addr == b->addr.v4.s_addr;
	return !memcmp(&a->addr.v6, &b->addr.v6, sizeof(a->addr.v6));
}

static bool unspecified(const struct ntm_resolv_ns *a)
{
	if (a->family == AF_INET)
		return a->addr.v4.s_addr == htonl(INADDR_ANY);
	return IN6_IS_ADDR_UNSPECIFIED(&a->addr.v6);
}

int ntm_resolv_upstreams(const struct ntm_resolv *rc, const char *const *listen,
			 size_t nlisten, struct ntm_resolv_ns *out, size_t max)
{
	struct ntm_resolv_ns self[8];
	size_t nself = 0, count = 0;

	for (size_t i = 0; i < nlisten; i++) {
		struct ntm_resolv_ns tmp;

		if (ntm_resolv_parse_addr(listen[i], &tmp) < 0)
			return -EINVAL;
		if (nself == NTM_ARRAY_SIZE(self))
			return -E2BIG;
		self[nself++] = tmp;
	}
	for (size_t i = 0; i < rc->nns && i < NTM_RESOLV_MAXNS; i++) {
		bool ours = unspecified(&rc->ns[i]);

		for (size_t k = 0; k < nself && !ours; k++)
			ours = same_addr(&rc->ns[i], &self[k]);
		if (!ours && count < max)
			out[count++] = rc->ns[i];
	}
	return (int)count;
}

/* ---- files ------------------------------------------------------------- */

/* Reads at most max bytes of path into a NUL-terminated malloc'd buffer;
 * -EFBIG if longer. */
static int slurp(const char *path, size_t max, char **out, size_t *outlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY), ret = 0;
	char *buf = NULL;
	size_t len = 0;

	if (fd < 0)
		return -errno;
	buf = malloc(max + 2);
	if (!buf) {
		ret = -ENOMEM;
		goto out_close;
	}
	for (;;) {
		ssize_t k = read(fd, buf + len, max + 1 - len);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			ret = -errno;
			goto out_close;
		}
		if (k == 0)
			break;
		len += (size_t)k;
		if (len > max) {
			ret = -EFBIG;
			goto out_close;
		}
	}
	buf[len] = '\0';
	*out = buf;
	*outlen = len;
	buf = NULL;
out_close:
	free(buf);
	close(fd);
	return ret;
}

int ntm_resolv_read_file(const char *path, struct ntm_resolv *rc, char *err, size_t errlen)
{
	struct ntm_resolv_error e;
	char *buf = NULL;
	size_t len = 0;
	int r = slurp(path, NTM_RESOLV_MAX_FILE, &buf, &len);

	if (r == -EFBIG) {
		errf(err, errlen, "%s: file is larger than %d bytes", path, NTM_RESOLV_MAX_FILE);
		return r;
	}
	if (r < 0) {
		errf(err, errlen, "%s: %s", path, strerror(-r));
		return r;
	}
	r = ntm_resolv_parse(buf, len, rc, &e);
	if (r < 0 && e.line)
		errf(err, errlen, "%s:%u: %s", path, e.line, e.msg);
	else if (r < 0)
		errf(err, errlen, "%s: %s", path, e.msg);
	free(buf);
	return r;
}

static int write_full(int fd, const char *p, size_t len, off_t at)
{
	while (len > 0) {
		ssize_t k = pwrite(fd, p, len, at);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -errno;
		p += k;
		len -= (size_t)k;
		at += k;
	}
	return 0;
}

/* fsync of the directory holding path, so a rename or unlink is durable. */
static int fsync_dir_of(const char *path)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	int fd, r = 0;

	if (!slash)
		strcpy(dir, ".");
	else if (slash == path)
		strcpy(dir, "/");
	else if ((size_t)(slash - path) < sizeof(dir))
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	else
		return -ENAMETOOLONG;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0 && errno != EINVAL)
		r = -errno;
	close(fd);
	return r;
}

/* Creates "<path>.ntm-XXXXXX" with data, mode, fsynced. */
static int write_temp(const char *path, const char *data, size_t len, mode_t mode,
		      char tmp[PATH_MAX])
{
	int fd, r;

	if (snprintf(tmp, PATH_MAX, "%s.ntm-XXXXXX", path) >= PATH_MAX)
		return -ENAMETOOLONG;
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return -errno;
	r = write_full(fd, data, len, 0);
	if (!r && fchmod(fd, mode) < 0)
		r = -errno;
	if (!r && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && !r)
		r = -errno;
	if (r)
		unlink(tmp);
	return r;
}

/* The bind-mount fallback: rewrite the file where it is. Written first and
 * truncated after, so a reader never sees an empty file. Not atomic. */
static int write_in_place(const char *path, const char *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY), r;

	if (fd < 0)
		return -errno;
	r = write_full(fd, data, len, 0);
	if (!r && ftruncate(fd, (off_t)len) < 0)
		r = -errno;
	if (!r && fsync(fd) < 0)
		r = -errno;
	close(fd);
	return r;
}

static int write_atomic(const char *path, const char *data, size_t len, mode_t mode,
			unsigned flags)
{
	char tmp[PATH_MAX];
	int r = write_temp(path, data, len, mode, tmp);

	if (r < 0)
		return r;
	if (flags & NTM_RESOLVCONF_TEST_RENAME_EXDEV)
		r = -EXDEV;
	else if (rename(tmp, path) < 0)
		r = -errno;
	if (r == -EXDEV || r == -EBUSY) {
		unlink(tmp);
		return write_in_place(path, data, len);
	}
	if (r < 0) {
		unlink(tmp);
		return r;
	}
	return fsync_dir_of(path);
}

/* Replaces path by a symlink to target, atomically. */
static int symlink_atomic(const char *target, const char *path)
{
	char tmp[PATH_MAX];
	int fd, r;

	for (int tries = 0; tries < 16; tries++) {
		if (snprintf(tmp, sizeof(tmp), "%s.ntm-XXXXXX", path) >= (int)sizeof(tmp))
			return -ENAMETOOLONG;
		fd = mkostemp(tmp, O_CLOEXEC);   /* reserve a fresh name */
		if (fd < 0)
			return -errno;
		close(fd);
		unlink(tmp);
		if (symlink(target, tmp) == 0)
			break;
		if (errno != EEXIST)
			return -errno;
		tmp[0] = '\0';
	}
	if (!tmp[0])
		return -EEXIST;
	if (rename(tmp, path) < 0) {
		r = -errno;
		unlink(tmp);
		return r;
	}
	return fsync_dir_of(path);
}

/* ---- owner detection --------------------------------------------------- */

/* Lexically normalises a path (shorter than PATH_MAX) in place: collapses
 * "//", "." and "..". */
static void normalize(char *p)
{
	char out[PATH_MAX];
	const char *in = p;
	size_t len = 0;
	bool abs = *p == '/';

	if (abs)
		out[len++] = '/';
	while (*in) {
		const char *seg = in;
		size_t n = strcspn(in, "/");

		in += n;
		if (*in == '/')
			in++;
		if (n == 0 || (n == 1 && seg[0] == '.'))
			continue;
		if (n == 2 && seg[0] == '.' && seg[1] == '.' && len > (size_t)abs) {
			/* drop the last segment, unless it is itself ".." */
			size_t k = len;

			while (k > (size_t)abs && out[k - 1] != '/')
				k--;
			if (!(len - k == 2 && out[k] == '.' && out[k + 1] == '.')) {
				len = k > (size_t)abs ? k - 1 : k;
				continue;
			}
		} else if (n == 2 && seg[0] == '.' && seg[1] == '.' && abs) {
			continue;   /* "/.." is "/" */
		}
		if (len > (size_t)abs)
			out[len++] = '/';
		memcpy(out + len, seg, n);
		len += n;
	}
	if (len == 0)
		out[len++] = '.';
	out[len] = '\0';
	memcpy(p, out, len + 1);
}

/* Follows symlinks from path lexically (up to MAX_HOPS), without needing
 * the final target to exist. *hops is how many links were followed. */
static int follow(const char *path, char final[PATH_MAX], int *hops)
{
	char t[PATH_MAX], next[PATH_MAX];
	struct stat st;

	if (strlen(path) >= PATH_MAX)
		return -ENAMETOOLONG;
	strcpy(final, path);
	normalize(final);
	for (*hops = 0; *hops < MAX_HOPS; (*hops)++) {
		ssize_t n;
		char *slash;

		if (lstat(final, &st) < 0)
			return errno == ENOENT && *hops ? 0 : -errno;
		if (!S_ISLNK(st.st_mode))
			return 0;
		n = readlink(final, t, sizeof(t) - 1);
		if (n < 0)
			return -errno;
		t[n] = '\0';
		slash = strrchr(final, '/');
		if (t[0] == '/' || !slash)
			strcpy(next, t);
		else if (snprintf(next, sizeof(next), "%.*s/%s", (int)(slash - final), final, t) >=
			 (int)sizeof(next))
			return -ENAMETOOLONG;
		normalize(next);
		strcpy(final, next);
	}
	return -ELOOP;
}

static bool under(const char *path, const char *const *dirs)
{
	char d[PATH_MAX];

	for (; dirs && *dirs; dirs++) {
		size_t n = strlen(*dirs);

		if (n >= sizeof(d))
			continue;
		memcpy(d, *dirs, n + 1);
		normalize(d);
		n = strlen(d);
		if (!strncmp(path, d, n) && (path[n] == '/' || path[n] == '\0'))
			return true;
	}
	return false;
}

static bool has_marker(const char *s, size_t len)
{
	size_t m = strlen(NTM_RESOLV_MARKER);

	for (size_t off = 0; off < len;) {
		const char *nl = memchr(s + off, '\n', len - off);
		size_t n = nl ? (size_t)(nl - s - off) : len - off;

		if (n >= m && !memcmp(s + off, NTM_RESOLV_MARKER, m))
			return true;
		off += n + 1;
	}
	return false;
}

int ntm_resolvconf_detect_owner(const struct ntm_resolvconf_env *env,
				enum ntm_resolvconf_owner *owner)
{
	const char *const *rd = env->resolved_dirs ? env->resolved_dirs : default_resolved_dirs;
	const char *const *rc = env->resolvconf_dirs ? env->resolvconf_dirs : default_resolvconf_dirs;
	char final[PATH_MAX], *buf = NULL;
	size_t len = 0;
	int hops, r = follow(env->path, final, &hops);

	*owner = NTM_RESOLVCONF_OWNER_NONE;
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	if (hops && under(final, rd)) {
		*owner = NTM_RESOLVCONF_OWNER_RESOLVED;
		return 0;
	}
	if (hops && under(final, rc)) {
		*owner = NTM_RESOLVCONF_OWNER_RESOLVCONF;
		return 0;
	}
	r = slurp(env->path, NTM_RESOLV_MAX_FILE, &buf, &len);
	if (r == -ENOENT)
		return 0;      /* a dangling symlink elsewhere */
	if (r == -EFBIG) {
		*owner = NTM_RESOLVCONF_OWNER_PLAIN;
		return 0;
	}
	if (r < 0)
		return r;
	if (has_marker(buf, len))
		*owner = NTM_RESOLVCONF_OWNER_NTM;
	else if (memmem(buf, len, "Generated by NetworkManager", 27))
		*owner = NTM_RESOLVCONF_OWNER_NETWORKMANAGER;
	else
		*owner = NTM_RESOLVCONF_OWNER_PLAIN;
	free(buf);
	return 0;
}

const char *ntm_resolvconf_owner_name(enum ntm_resolvconf_owner owner)
{
	switch (owner) {
	case NTM_RESOLVCONF_OWNER_PLAIN: return "plain file";
	case NTM_RESOLVCONF_OWNER_RESOLVED: return "systemd-resolved";
	case NTM_RESOLVCONF_OWNER_NETWORKMANAGER: return "NetworkManager";
	case NTM_RESOLVCONF_OWNER_RESOLVCONF: return "resolvconf";
	case NTM_RESOLVCONF_OWNER_NTM: return "ntm";
	case NTM_RESOLVCONF_OWNER_NONE: return "none";
	}
	return "?";
}

const char *ntm_resolvconf_state_name(enum ntm_resolvconf_state state)
{
	switch (state) {
	case NTM_RESOLVCONF_DISABLED: return "disabled";
	case NTM_RESOLVCONF_ENABLED: return "enabled";
	case NTM_RESOLVCONF_OVERWRITTEN: return "overwritten";
	case NTM_RESOLVCONF_BACKUP_LOST: return "backup-lost";
	}
	return "?";
}

/* ---- rendering the generated file -------------------------------------- */

struct sbuf {
	char *p;
	size_t len, cap;
	bool full;
};

static void __attribute__((format(printf, 2, 3))) sb_printf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->full)
		return;
	va_start(ap, fmt);
	n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= b->cap - b->len)
		b->full = true;
	else
		b->len += (size_t)n;
}

static bool name_eq(const char *a, const char *b)
{
	size_t na = strlen(a), nb = strlen(b);

	na -= na > 1 && a[na - 1] == '.';
	nb -= nb > 1 && b[nb - 1] == '.';
	return na == nb && !strncasecmp(a, b, na);
}

/* The effective search line with zone appended, into line; 0 if it is
 * already there (line[0] == '\0'), -ENOSPC past the glibc limits. */
static int extend_search(const struct ntm_resolv *rc, const char *zone, char *line, size_t size,
			 char *err, size_t errlen)
{
	struct sbuf b = { .p = line, .cap = size };
	size_t count = 1, bytes = strlen(zone) + 1;
	bool root_only = rc->nsearch == 1 && !strcmp(rc->search[0], ".");

	line[0] = '\0';
	for (size_t i = 0; i < rc->nsearch; i++)
		if (name_eq(rc->search[i], zone))
			return 0;
	for (size_t i = 0; i < rc->nsearch && !root_only; i++) {
		count++;
		bytes += strlen(rc->search[i]) + 1;
	}
	if (count > NTM_RESOLV_GLIBC_MAXDNSRCH || bytes > NTM_RESOLV_GLIBC_SEARCH_BYTES) {
		errf(err, errlen, "adding '%s' would make the search list %zu domains, %zu bytes "
		     "(limits: %d, %d); drop a domain or rely on NSS for the zone", zone, count,
		     bytes, NTM_RESOLV_GLIBC_MAXDNSRCH, NTM_RESOLV_GLIBC_SEARCH_BYTES);
		return -ENOSPC;
	}
	sb_printf(&b, "search");
	for (size_t i = 0; i < rc->nsearch && !root_only; i++)
		sb_printf(&b, " %s", rc->search[i]);
	sb_printf(&b, " %s", zone);
	return b.full ? -E2BIG : 0;
}

static int render(const struct ntm_resolv *rc, const char *backup_path, const char *stub,
		  const char *zone, struct sbuf *b, char *err, size_t errlen)
{
	char search[NTM_RESOLV_MAX_LINE + 1] = "";
	int r;

	if (zone) {
		r = extend_search(rc, zone, search, sizeof(search), err, errlen);
		if (r < 0)
			return r;
	}
	sb_printf(b, "%s; original saved in %s\n", NTM_RESOLV_MARKER, backup_path);
	for (size_t i = 0; i < rc->nkept; i++) {
		bool replace = search[0] && (int)i == rc->search_line;

		sb_printf(b, "%s\n", replace ? search : rc->kept[i]);
	}
	if (search[0] && rc->search_line < 0)
		sb_printf(b, "%s\n", search);
	sb_printf(b, "nameserver %s\n", stub);
	if (b->full) {
		errf(err, errlen, "generated file too large");
		return -E2BIG;
	}
	return 0;
}

/* ---- enable / disable / status ----------------------------------------- */

static int check_args(const struct ntm_resolvconf_env *env, const char *stub, const char *zone,
		      char *err, size_t errlen)
{
	struct ntm_resolv_ns ns;

	if (!env->path || !env->backup_path || strchr(env->backup_path, '\n')) {
		errf(err, errlen, "bad resolv.conf or backup path");
		return -EINVAL;
	}
	if (!stub || ntm_resolv_parse_addr(stub, &ns) < 0) {
		errf(err, errlen, "stub address '%s' is not an IPv4 or IPv6 address",
		     stub ? stub : "(null)");
		return -EINVAL;
	}
	if (zone && (!valid_name(zone, strlen(zone)) || !strcmp(zone, "."))) {
		errf(err, errlen, "zone '%s' is not a domain name", zone);
		return -EINVAL;
	}
	return 0;
}

static int backup_exists(const char *backup, bool *exists)
{
	struct stat st;

	*exists = lstat(backup, &st) == 0;
	return *exists || errno == ENOENT ? 0 : -errno;
}

/* Saves the original once: a regular file's bytes via temp + link() (which
 * never replaces an existing backup), a symlink as a symlink to its
 * absolute, fully followed target. */
static int make_backup(const struct ntm_resolvconf_env *env, const char *data, size_t len)
{
	char tmp[PATH_MAX], final[PATH_MAX];
	struct stat st;
	int hops, r;

	if (lstat(env->path, &st) < 0)
		return -errno;
	if (S_ISLNK(st.st_mode)) {
		r = follow(env->path, final, &hops);
		if (r < 0)
			return r;
		if (symlink(final, env->backup_path) < 0)
			return -errno;
		return fsync_dir_of(env->backup_path);
	}
	r = write_temp(env->backup_path, data, len, st.st_mode & 07777, tmp);
	if (r < 0)
		return r;
	r = link(tmp, env->backup_path) < 0 ? -errno : 0;
	unlink(tmp);
	return r ? r : fsync_dir_of(env->backup_path);
}

/* First enable: parse the current file, save it, render from it. */
static int enable_first(const struct ntm_resolvconf_env *env, struct ntm_resolv *rc,
			char *err, size_t errlen)
{
	struct ntm_resolv_error e;
	char *cur = NULL;
	size_t len = 0;
	int r = slurp(env->path, NTM_RESOLV_MAX_FILE, &cur, &len);

	if (r < 0) {
		errf(err, errlen, "%s: %s", env->path,
		     r == -EFBIG ? "file too large" : strerror(-r));
		return r;
	}
	r = ntm_resolv_parse(cur, len, rc, &e);
	if (r < 0) {
		errf(err, errlen, "%s:%u: %s", env->path, e.line, e.msg);
		goto out;
	}
	r = make_backup(env, cur, len);
	if (r < 0)
		errf(err, errlen, "cannot save %s to %s: %s", env->path, env->backup_path,
		     strerror(-r));
out:
	free(cur);
	return r;
}

/* Writes out unless the file already holds exactly that. */
static int write_if_changed(const struct ntm_resolvconf_env *env, const struct sbuf *b)
{
	char *cur = NULL;
	size_t len = 0;
	bool same = slurp(env->path, NTM_RESOLV_MAX_FILE, &cur, &len) == 0 &&
		    len == b->len && !memcmp(cur, b->p, len);

	free(cur);
	return same ? 0 : write_atomic(env->path, b->p, b->len, 0644, env->flags);
}

/* Which state enable starts from: -errno with err, or 0 and *again. */
static int enable_precheck(const struct ntm_resolvconf_env *env, bool *again, char *err,
			   size_t errlen)
{
	enum ntm_resolvconf_owner owner;
	bool have_backup;
	int r = ntm_resolvconf_detect_owner(env, &owner);

	if (!r)
		r = backup_exists(env->backup_path, &have_backup);
	if (r < 0) {
		errf(err, errlen, "cannot inspect %s: %s", env->path, strerror(-r));
		return r;
	}
	*again = owner == NTM_RESOLVCONF_OWNER_NTM;
	if (owner == NTM_RESOLVCONF_OWNER_NONE) {
		errf(err, errlen, "%s does not exist", env->path);
		return -ENOENT;
	}
	if (owner == NTM_RESOLVCONF_OWNER_RESOLVED) {
		errf(err, errlen, "%s is managed by systemd-resolved; use the resolvectl "
		     "(per-link split DNS) mode instead", env->path);
		return -EBUSY;
	}
	if (*again && !have_backup) {
		errf(err, errlen, "%s carries the ntm marker but the backup %s is missing; "
		     "restore the original by hand", env->path, env->backup_path);
		return -ENOENT;
	}
	if (!*again && have_backup) {
		errf(err, errlen, "%s exists but %s does not carry the ntm marker (rewritten by "
		     "%s?); run disable first", env->backup_path, env->path,
		     ntm_resolvconf_owner_name(owner));
		return -EEXIST;
	}
	return 0;
}

int ntm_resolvconf_enable_env(const struct ntm_resolvconf_env *env, const char *stub,
			      const char *zone, char *err, size_t errlen)
{
	struct ntm_resolv *rc = NULL;
	struct sbuf b = { 0 };
	bool again = false, made_backup = false;
	int r = check_args(env, stub, zone, err, errlen);

	if (!r)
		r = enable_precheck(env, &again, err, errlen);
	if (r < 0)
		return r;
	rc = malloc(sizeof(*rc));
	b.cap = (size_t)NTM_RESOLV_MAX_KEPT * (NTM_RESOLV_MAX_LINE + 1) + PATH_MAX + 2048;
	b.p = malloc(b.cap);
	if (!rc || !b.p) {
		r = -ENOMEM;
		goto out_free;
	}
	r = again ? ntm_resolv_read_file(env->backup_path, rc, err, errlen)
		  : enable_first(env, rc, err, errlen);
	if (r < 0)
		goto out_free;
	made_backup = !again;
	r = render(rc, env->backup_path, stub, zone, &b, err, errlen);
	if (!r) {
		r = write_if_changed(env, &b);
		if (r < 0)
			errf(err, errlen, "cannot write %s: %s", env->path, strerror(-r));
	}
	if (r < 0 && made_backup)
		unlink(env->backup_path);   /* we made it just now; the file is untouched */
out_free:
	free(b.p);
	free(rc);
	return r;
}

int ntm_resolvconf_enable(const char *path, const char *backup_path, const char *stub,
			  const char *zone, char *err, size_t errlen)
{
	struct ntm_resolvconf_env env = { .path = path, .backup_path = backup_path };

	return ntm_resolvconf_enable_env(&env, stub, zone, err, errlen);
}

/* Puts the backup back at env->path (a symlink as a symlink). */
static int restore(const struct ntm_resolvconf_env *env)
{
	char target[PATH_MAX], *data = NULL;
	struct stat st;
	size_t len = 0;
	ssize_t n;
	int r;

	if (lstat(env->backup_path, &st) < 0)
		return -errno;
	if (S_ISLNK(st.st_mode)) {
		n = readlink(env->backup_path, target, sizeof(target) - 1);
		if (n < 0)
			return -errno;
		target[n] = '\0';
		return symlink_atomic(target, env->path);
	}
	r = slurp(env->backup_path, NTM_RESOLV_MAX_FILE, &data, &len);
	if (r < 0)
		return r;
	r = write_atomic(env->path, data, len, st.st_mode & 07777, env->flags);
	free(data);
	return r;
}

int ntm_resolvconf_disable_env(const struct ntm_resolvconf_env *env, char *err, size_t errlen)
{
	struct ntm_resolvconf_status st;
	int r = ntm_resolvconf_status_env(env, &st);

	if (r < 0) {
		errf(err, errlen, "cannot inspect %s: %s", env->path, strerror(-r));
		return r;
	}
	switch (st.state) {
	case NTM_RESOLVCONF_DISABLED:
		return 1;
	case NTM_RESOLVCONF_BACKUP_LOST:
		errf(err, errlen, "%s carries the ntm marker but the backup %s is missing; "
		     "restore the original by hand", env->path, env->backup_path);
		return -ENOENT;
	case NTM_RESOLVCONF_OVERWRITTEN:
		if (!(env->flags & NTM_RESOLVCONF_DISCARD_STALE_BACKUP)) {
			errf(err, errlen, "%s was rewritten by %s since ntm enabled it; left it "
			     "alone; the old original is still in %s", env->path,
			     ntm_resolvconf_owner_name(st.owner), env->backup_path);
			return -ESTALE;
		}
		break;
	case NTM_RESOLVCONF_ENABLED:
		r = restore(env);
		if (r < 0) {
			errf(err, errlen, "cannot restore %s from %s: %s", env->path,
			     env->backup_path, strerror(-r));
			return r;
		}
		break;
	}
	if (unlink(env->backup_path) < 0) {
		r = -errno;
		errf(err, errlen, "cannot remove %s: %s", env->backup_path, strerror(-r));
		return r;
	}
	fsync_dir_of(env->backup_path);
	return 0;
}

int ntm_resolvconf_disable(const char *path, const char *backup_path, char *err, size_t errlen)
{
	struct ntm_resolvconf_env env = { .path = path, .backup_path = backup_path };

	return ntm_resolvconf_disable_env(&env, err, errlen);
}

int ntm_resolvconf_status_env(const struct ntm_resolvconf_env *env,
			      struct ntm_resolvconf_status *st)
{
	int r;

	memset(st, 0, sizeof(*st));
	r = ntm_resolvconf_detect_owner(env, &st->owner);
	if (!r)
		r = backup_exists(env->backup_path, &st->backup_exists);
	if (r < 0)
		return r;
	if (st->owner == NTM_RESOLVCONF_OWNER_NTM)
		st->state = st->backup_exists ? NTM_RESOLVCONF_ENABLED : NTM_RESOLVCONF_BACKUP_LOST;
	else
		st->state = st->backup_exists ? NTM_RESOLVCONF_OVERWRITTEN : NTM_RESOLVCONF_DISABLED;
	return 0;
}

int ntm_resolvconf_status(const char *path, const char *backup_path,
			  struct ntm_resolvconf_status *st)
{
	struct ntm_resolvconf_env env = { .path = path, .backup_path = backup_path };

	return ntm_resolvconf_status_env(&env, st);
}

/* ---- resolvectl argv ---------------------------------------------------- */

static bool valid_ifname(const char *s)
{
	return s && valid_scope(s) && strcmp(s, ".") && strcmp(s, "..") && !strchr(s, ':');
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

		if (!valid_name(z, strlen(z)) || !strcmp(z, "."))
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
