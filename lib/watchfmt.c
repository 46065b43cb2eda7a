/* watchfmt.c - see watchfmt.h. */
#include "watchfmt.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

const char *ntm_watchfmt_kind(unsigned kind)
{
	switch (kind) {
	case NTM_LCTL_EV_START: return "start";
	case NTM_LCTL_EV_DC: return "dc";
	case NTM_LCTL_EV_PEER_UP: return "up";
	case NTM_LCTL_EV_PEER_DOWN: return "down";
	case NTM_LCTL_EV_PATH: return "path";
	case NTM_LCTL_EV_ENDPOINT: return "endpoint";
	case NTM_LCTL_EV_REKEY: return "rekey";
	case NTM_LCTL_EV_DROPPED: return "dropped";
	}
	return "unknown";
}

static const char *dc_state(unsigned s)
{
	switch (s) {
	case NTM_LCTL_DC_CONNECTING: return "connecting";
	case NTM_LCTL_DC_REGISTERED: return "registered";
	case NTM_LCTL_DC_UNREACHABLE: return "unreachable";
	case NTM_LCTL_DC_REFUSED: return "refused";
	}
	return "unknown";
}

/* A bounded writer: once something did not fit, everything fails. */
struct out {
	char *b;
	size_t cap, len;
	bool full;
};

static void put(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (o->full)
		return;
	va_start(ap, fmt);
	n = vsnprintf(o->b + o->len, o->cap - o->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= o->cap - o->len)
		o->full = true;
	else
		o->len += (size_t)n;
}

static int finish(struct out *o)
{
	if (o->full) {
		if (o->cap)
			o->b[0] = '\0';
		return -EMSGSIZE;
	}
	return (int)o->len;
}

static void put_time(struct out *o, uint64_t ms)
{
	time_t s = (time_t)(ms / 1000);
	struct tm tm;

	if (!gmtime_r(&s, &tm)) {
		put(o, "@%" PRIu64, ms);
		return;
	}
	put(o, "%04d-%02d-%02dT%02d:%02d:%02d.%03uZ", tm.tm_year + 1900, tm.tm_mon + 1,
	    tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (unsigned)(ms % 1000));
}

static void endpoint_text(char *buf, size_t cap, const struct ntm_lctl_endpoint *e)
{
	char a[INET6_ADDRSTRLEN];

	inet_ntop(e->family == 4 ? AF_INET : AF_INET6, e->addr, a, sizeof(a));
	snprintf(buf, cap, e->family == 4 ? "%s:%u" : "[%s]:%u", a, e->port);
}

int ntm_watchfmt_text(char *out, size_t cap, const struct ntm_lctl_event *e)
{
	struct out o = { .b = out, .cap = cap, .full = cap == 0 };
	char ep[80] = "";

	if (e->has_endpoint)
		endpoint_text(ep, sizeof(ep), &e->endpoint);
	put_time(&o, e->time_ms);
	switch (e->kind) {
	case NTM_LCTL_EV_START:
		put(&o, " watching: dc %s", dc_state(e->dc_state));
		break;
	case NTM_LCTL_EV_DC:
		put(&o, " dc %s", dc_state(e->dc_state));
		break;
	case NTM_LCTL_EV_DROPPED:
		put(&o, " dropped %" PRIu32 " events", e->dropped);
		break;
	default:
		put(&o, " peer %s %s", e->peer, ntm_watchfmt_kind(e->kind));
		if (e->path)
			put(&o, " %s", ntm_lctl_path_name(e->path));
		if (ep[0])
			put(&o, " %s", ep);
	}
	if (e->reason[0])
		put(&o, " (%s)", e->reason);
	put(&o, "\n");
	return finish(&o);
}

int ntm_watchfmt_json_string(char *out, size_t cap, const char *s)
{
	struct out o = { .b = out, .cap = cap, .full = cap == 0 };

	put(&o, "\"");
	for (const unsigned char *p = (const unsigned char *)s; *p && !o.full; p++) {
		if (*p == '"' || *p == '\\')
			put(&o, "\\%c", *p);
		else if (*p < 0x20 || *p > 0x7e)
			put(&o, "\\u%04x", *p);
		else
			put(&o, "%c", *p);
	}
	put(&o, "\"");
	return finish(&o);
}

static void put_json_field(struct out *o, const char *key, const char *val)
{
	char q[2 * 6 * NTM_LCTL_NAME_SIZE];

	if (ntm_watchfmt_json_string(q, sizeof(q), val) < 0)
		o->full = true;
	else
		put(o, ", \"%s\": %s", key, q);
}

int ntm_watchfmt_json(char *out, size_t cap, const struct ntm_lctl_event *e)
{
	struct out o = { .b = out, .cap = cap, .full = cap == 0 };
	char ts[40], ep[80];
	struct out t = { .b = ts, .cap = sizeof(ts) };

	put_time(&t, e->time_ms);
	put(&o, "{\"time\": \"%s\", \"time_ms\": %" PRIu64 ", \"event\": \"%s\"", ts, e->time_ms,
	    ntm_watchfmt_kind(e->kind));
	if (e->peer[0])
		put_json_field(&o, "peer", e->peer);
	if (e->dc_state)
		put(&o, ", \"dc\": \"%s\"", dc_state(e->dc_state));
	if (e->path)
		put(&o, ", \"path\": \"%s\"", ntm_lctl_path_name(e->path));
	if (e->has_endpoint) {
		endpoint_text(ep, sizeof(ep), &e->endpoint);
		put(&o, ", \"endpoint\": \"%s\"", ep);
	}
	if (e->reason[0])
		put_json_field(&o, "reason", e->reason);
	if (e->kind == NTM_LCTL_EV_DROPPED)
		put(&o, ", \"dropped\": %" PRIu32, e->dropped);
	put(&o, "}\n");
	return finish(&o);
}
