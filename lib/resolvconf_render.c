/* resolvconf_render.c - the text of the resolv.conf ntm writes: the
 * marker, the original search/domain/options/sortlist lines (the zone
 * added to the search list within glibc's limits) and "nameserver STUB".
 * Pure: builds text into a caller's buffer, touches no file. */
#include "resolvconf.h"
#include "resolvconf_internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static void __attribute__((format(printf, 2, 3)))
sb_printf(struct ntm_resolv_sbuf *b, const char *fmt, ...)
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
	struct ntm_resolv_sbuf b = { .p = line, .cap = size };
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

int ntm_resolv_render(const struct ntm_resolv *rc, const char *backup_path, const char *stub,
		      const char *zone, struct ntm_resolv_sbuf *b, char *err, size_t errlen)
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
