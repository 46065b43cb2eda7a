/* metrics.c - see metrics.h. */
#include "metrics.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ENTRIES_MAX (NTM_LCTL_MAX_COUNTERS + NTM_LCTL_MAX_GAUGES)
#define HELP_MAX 512

struct entry {
	char family[NTM_METRICS_NAME_MAX];
	const struct ntm_lctl_counter *c;
	bool gauge;
	unsigned order;                /* as received: the tie-break */
};

static bool name_char(char c, bool first)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
	       (!first && c >= '0' && c <= '9');
}

void ntm_metrics_sanitize(char *out, size_t cap, const char *s)
{
	size_t o = 0;

	if (cap == 0)
		return;
	if (s[0] >= '0' && s[0] <= '9' && o + 1 < cap)
		out[o++] = '_';
	for (size_t i = 0; s[i] && o + 1 < cap; i++) {
		out[o] = name_char(s[i], o == 0) ? s[i] : '_';
		o++;
	}
	if (o == 0 && cap > 1)
		out[o++] = '_';
	out[o] = '\0';
}

void ntm_metrics_escape_help(char *out, size_t cap, const char *s)
{
	size_t o = 0;

	if (cap == 0)
		return;
	for (size_t i = 0; s[i]; i++) {
		const char *rep = s[i] == '\\' ? "\\\\" : s[i] == '\n' ? "\\n" : NULL;
		size_t n = rep ? 2 : 1;
		if (o + n >= cap)
			break;
		if (rep)
			memcpy(out + o, rep, 2);
		else
			out[o] = s[i];
		o += n;
	}
	out[o] = '\0';
}

static int cmp_entry(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;
	int c = strcmp(x->family, y->family);

	if (c)
		return c;
	return x->order < y->order ? -1 : x->order > y->order;
}

static const char *help_for(const char *name, const struct ntm_metrics_help *help, size_t n)
{
	for (size_t i = 0; help && i < n; i++)
		if (strcmp(help[i].name, name) == 0)
			return help[i].text;
	return NULL;
}

/* Appends to out at *off; false (and *off unchanged) when it does not fit. */
static bool put(char *out, size_t cap, size_t *off, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(out + *off, cap - *off, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= cap - *off)
		return false;
	*off += (size_t)n;
	return true;
}

static void family_of(struct entry *e, const char *prefix)
{
	char raw[NTM_METRICS_NAME_MAX];
	size_t n = strlen(e->c->name);
	bool has_total = n >= 6 && strcmp(e->c->name + n - 6, "_total") == 0;

	snprintf(raw, sizeof(raw), "%s_%s%s", prefix, e->c->name,
		 e->gauge || has_total ? "" : "_total");
	ntm_metrics_sanitize(e->family, sizeof(e->family), raw);
}

static bool put_entry(char *out, size_t cap, size_t *off, const struct entry *e,
		      const char *daemon, const struct ntm_metrics_help *help, size_t n_help)
{
	char text[HELP_MAX], esc[2 * HELP_MAX];
	const char *h = help_for(e->c->name, help, n_help);

	if (h)
		snprintf(text, sizeof(text), "%s", h);
	else
		snprintf(text, sizeof(text), "%s %s %s", daemon, e->gauge ? "gauge" : "counter",
			 e->c->name);
	ntm_metrics_escape_help(esc, sizeof(esc), text);
	return put(out, cap, off, "# HELP %s %s\n# TYPE %s %s\n%s %" PRIu64 "\n", e->family, esc,
		   e->family, e->gauge ? "gauge" : "counter", e->family, e->c->value);
}

int ntm_metrics_format(char *out, size_t cap, const char *prefix, const char *daemon,
		       const struct ntm_lctl_stats *st, const struct ntm_metrics_help *help,
		       size_t n_help)
{
	struct entry e[ENTRIES_MAX];
	size_t n = 0, off = 0;

	if (cap == 0)
		return -EMSGSIZE;
	out[0] = '\0';
	for (unsigned i = 0; i < st->n && i < NTM_LCTL_MAX_COUNTERS; i++, n++)
		e[n] = (struct entry){ .c = &st->c[i], .order = (unsigned)n };
	for (unsigned i = 0; i < st->n_gauges && i < NTM_LCTL_MAX_GAUGES; i++, n++)
		e[n] = (struct entry){ .c = &st->g[i], .gauge = true, .order = (unsigned)n };
	for (size_t i = 0; i < n; i++)
		family_of(&e[i], prefix);
	qsort(e, n, sizeof(e[0]), cmp_entry);
	for (size_t i = 0; i < n; i++) {
		if (i > 0 && strcmp(e[i].family, e[i - 1].family) == 0)
			continue;                     /* one family, one TYPE */
		if (!put_entry(out, cap, &off, &e[i], daemon, help, n_help)) {
			out[0] = '\0';
			return -EMSGSIZE;
		}
	}
	return (int)off;
}
