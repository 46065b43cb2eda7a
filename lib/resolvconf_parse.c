/* resolvconf_parse.c - the resolv.conf parser, the nameserver address
 * parser and the loop guard (resolvconf.h, part 1). Pure: no file, no
 * clock, no allocation; everything it reads is bounded by the caps in
 * resolvconf.h. tests/fuzz/fuzz_resolvconf.c compiles this file alone. */
#include "resolvconf.h"
#include "resolvconf_internal.h"
#include "util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define QUOTE_MAX 48

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
bool ntm_resolv_valid_name(const char *s, size_t n)
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

bool ntm_resolv_valid_scope(const char *s)
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
		if (!ntm_resolv_valid_scope(pct + 1))
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

		if (!ntm_resolv_valid_name(tok, n))
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
