/* conf_schema.c - typed values and the schema check of ntm's configuration
 * files (see conf.h). Every parser here is strict and locale-free, and
 * writes its output only on success. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "conf.h"
#include "util.h"

int ntm_conf_parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	if (s[0] == '0' && s[1])
		return -EINVAL;   /* no leading zeros: "010" is not 8 or 10 */
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -EINVAL;
		unsigned d = (unsigned)(*s - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -ERANGE;
		v = v * 10 + d;
	}
	if (v < min || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

int ntm_conf_parse_bool(const char *s, bool *out)
{
	static const struct { const char *word; bool val; } words[] = {
		{ "yes", true }, { "no", false }, { "true", true }, { "false", false },
		{ "on", true }, { "off", false }, { "1", true }, { "0", false },
	};

	for (size_t i = 0; i < NTM_ARRAY_SIZE(words); i++) {
		if (ntm_conf_name_eq(s, words[i].word)) {
			*out = words[i].val;
			return 0;
		}
	}
	return -EINVAL;
}

int ntm_conf_offload(const struct ntm_conf *c, const char *path, const char *section,
		     const char *text, bool *on, char *msg, size_t msglen)
{
	char q[NTM_CONF_QUOTE_BUF];

	if (ntm_conf_name_eq(text, "auto") || ntm_conf_name_eq(text, "off")) {
		*on = ntm_conf_name_eq(text, "auto");
		return 0;
	}
	const struct ntm_conf_entry *e = c ? ntm_conf_get(c, section, "Offload") : NULL;
	snprintf(msg, msglen, "%s:%u: Offload: '%s' is not auto or off", path, e ? e->line : 0,
		 ntm_conf_quote(q, text));
	return -EINVAL;
}

static int parse_port(const char *s, uint16_t *out)
{
	uint64_t v;
	int ret = ntm_conf_parse_uint(s, 1, 65535, &v);

	if (ret)
		return ret;
	*out = (uint16_t)v;
	return 0;
}

/* Copies s[0..n) into buf (size bytes) as a C string; -EINVAL if too long. */
static int copy_part(char *buf, size_t size, const char *s, size_t n)
{
	if (n >= size)
		return -EINVAL;
	memcpy(buf, s, n);
	buf[n] = '\0';
	return 0;
}

/* inet_pton with the family chosen by the text, so "::1" is never tried as
 * IPv4. glibc's inet_pton takes only four dotted decimal parts for IPv4,
 * without leading zeros (no "010.1" octal surprises), and is locale-free. */
int ntm_conf_parse_addr(const char *s, struct ntm_conf_addr *out)
{
	struct ntm_conf_addr a = { 0 };

	if (strchr(s, ':')) {
		a.family = AF_INET6;
		a.plen = 128;
		if (inet_pton(AF_INET6, s, &a.u.v6) != 1)
			return -EINVAL;
	} else {
		a.family = AF_INET;
		a.plen = 32;
		if (inet_pton(AF_INET, s, &a.u.v4) != 1)
			return -EINVAL;
	}
	*out = a;
	return 0;
}

/* True if any bit at position >= plen is set in the n-byte address a. */
static bool host_bits_set(const uint8_t *a, size_t n, unsigned plen)
{
	size_t i = plen / 8;

	if (plen % 8 && (a[i++] & (0xFFu >> (plen % 8))))
		return true;
	for (; i < n; i++)
		if (a[i])
			return true;
	return false;
}

int ntm_conf_parse_prefix(const char *s, struct ntm_conf_addr *out)
{
	char host[INET6_ADDRSTRLEN];
	struct ntm_conf_addr a;
	const char *slash = strchr(s, '/');
	uint64_t plen;

	if (!slash || copy_part(host, sizeof(host), s, (size_t)(slash - s)))
		return -EINVAL;
	if (ntm_conf_parse_addr(host, &a))
		return -EINVAL;
	if (ntm_conf_parse_uint(slash + 1, 0, a.plen, &plen))
		return -EINVAL;
	a.plen = (uint8_t)plen;
	if (a.family == AF_INET ? host_bits_set((const uint8_t *)&a.u.v4, 4, a.plen)
				: host_bits_set(a.u.v6.s6_addr, 16, a.plen))
		return -EDOM;
	*out = a;
	return 0;
}

/* Splits "host:port" or "[host]:port" into host (copied) and port text. */
static int split_endpoint(const char *s, char *host, size_t size, const char **port, bool *v6)
{
	const char *colon;

	*v6 = s[0] == '[';
	if (*v6) {
		const char *close = strchr(s, ']');

		if (!close || close[1] != ':')
			return -EINVAL;
		*port = close + 2;
		return copy_part(host, size, s + 1, (size_t)(close - s - 1));
	}
	colon = strchr(s, ':');
	if (!colon || strchr(colon + 1, ':'))
		return -EINVAL;   /* no port, or an IPv6 address without brackets */
	*port = colon + 1;
	return copy_part(host, size, s, (size_t)(colon - s));
}

int ntm_conf_parse_endpoint(const char *s, struct sockaddr_storage *out)
{
	struct sockaddr_storage ss = { 0 };
	char host[INET6_ADDRSTRLEN];
	const char *port_text;
	struct ntm_conf_addr a;
	uint16_t port;
	bool v6;

	if (split_endpoint(s, host, sizeof(host), &port_text, &v6))
		return -EINVAL;
	if (ntm_conf_parse_addr(host, &a) || (a.family == AF_INET6) != v6)
		return -EINVAL;
	if (parse_port(port_text, &port))
		return -EINVAL;
	if (v6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		sin6->sin6_addr = a.u.v6;
	} else {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		sin->sin_addr = a.u.v4;
	}
	*out = ss;
	return 0;
}

static int b64_value(char ch)
{
	if (ch >= 'A' && ch <= 'Z')
		return ch - 'A';
	if (ch >= 'a' && ch <= 'z')
		return ch - 'a' + 26;
	if (ch >= '0' && ch <= '9')
		return ch - '0' + 52;
	if (ch == '+')
		return 62;
	if (ch == '/')
		return 63;
	return -1;
}

/* 32 bytes are 10 groups of 3 plus 2: 44 characters ending in one '='. The
 * last data character carries 2 unused bits, which must be zero, so each
 * key has exactly one accepted spelling. */
int ntm_conf_parse_key(const char *s, uint8_t out[NTM_CONF_KEY_LEN])
{
	uint8_t k[NTM_CONF_KEY_LEN];
	int ret = -EINVAL;

	if (strnlen(s, 45) != 44 || s[43] != '=')
		return -EINVAL;
	for (size_t g = 0; g < 11; g++) {
		uint32_t acc = 0;

		for (size_t j = 0; j < 4; j++) {
			int v = (g == 10 && j == 3) ? 0 : b64_value(s[4 * g + j]);

			if (v < 0)
				goto wipe;
			acc = acc << 6 | (uint32_t)v;
		}
		if (g == 10 && (acc & 0xFF))
			goto wipe;
		k[3 * g] = (uint8_t)(acc >> 16);
		k[3 * g + 1] = (uint8_t)(acc >> 8);
		if (g < 10)
			k[3 * g + 2] = (uint8_t)acc;
	}
	memcpy(out, k, sizeof(k));
	ret = 0;
wipe:
	ntm_wipe(k, sizeof(k));
	return ret;
}

static int store_string(const struct ntm_conf_spec *sp, const char *v)
{
	size_t n = strlen(v);

	if (n >= sp->size)
		return -ERANGE;
	memcpy(sp->dest, v, n + 1);
	return 0;
}

/* Converts v and stores it through sp->dest; 0 or a negative errno. */
static int store(const struct ntm_conf_spec *sp, const char *v)
{
	if (!v[0])
		return -ENODATA;
	switch (sp->type) {
	case NTM_CONF_STRING:
		return store_string(sp, v);
	case NTM_CONF_UINT:
		return ntm_conf_parse_uint(v, sp->min, sp->max, sp->dest);
	case NTM_CONF_BOOL:
		return ntm_conf_parse_bool(v, sp->dest);
	case NTM_CONF_PORT:
		return parse_port(v, sp->dest);
	case NTM_CONF_ADDR:
		return ntm_conf_parse_addr(v, sp->dest);
	case NTM_CONF_PREFIX:
		return ntm_conf_parse_prefix(v, sp->dest);
	case NTM_CONF_ENDPOINT:
		return ntm_conf_parse_endpoint(v, sp->dest);
	case NTM_CONF_KEY:
		return ntm_conf_parse_key(v, sp->dest);
	}
	return -ENOTSUP;
}

/* What a value of sp's type must be, completing "'v' ..." in a message. */
static void describe(const struct ntm_conf_spec *sp, int ret, char *buf, size_t size)
{
	switch (sp->type) {
	case NTM_CONF_STRING:
		snprintf(buf, size, "is longer than %zu bytes", sp->size ? sp->size - 1 : 0);
		return;
	case NTM_CONF_UINT:
		snprintf(buf, size, "is not a number in %llu..%llu",
			 (unsigned long long)sp->min, (unsigned long long)sp->max);
		return;
	case NTM_CONF_BOOL:
		snprintf(buf, size, "is not a boolean (yes/no, true/false, on/off, 1/0)");
		return;
	case NTM_CONF_PORT:
		snprintf(buf, size, "is not a number in 1..65535");
		return;
	case NTM_CONF_ADDR:
		snprintf(buf, size, "is not an IPv4 or IPv6 address");
		return;
	case NTM_CONF_PREFIX:
		snprintf(buf, size, ret == -EDOM ? "has bits set after the prefix length"
			 : "is not a prefix 'a.b.c.d/len' or 'x:x::x/len'");
		return;
	case NTM_CONF_ENDPOINT:
		snprintf(buf, size, "is not an endpoint 'a.b.c.d:port' or '[x:x::x]:port'");
		return;
	case NTM_CONF_KEY:
		snprintf(buf, size, "is not a base64-encoded %u-byte key", NTM_CONF_KEY_LEN);
		return;
	}
	snprintf(buf, size, "has type %d, which ntm does not know", (int)sp->type);
}

/* Builds "Key: 'value' is not ..." (value hidden for secrets) into buf. */
static void explain(const struct ntm_conf_spec *sp, const char *v, int ret, char *buf, size_t size)
{
	char q[NTM_CONF_QUOTE_BUF], what[96];

	if (ret == -ENODATA) {
		snprintf(buf, size, "%s: empty value", sp->key);
		return;
	}
	describe(sp, ret, what, sizeof(what));
	if (sp->flags & NTM_CONF_SECRET)
		snprintf(buf, size, "%s: value %s", sp->key, what);
	else
		snprintf(buf, size, "%s: '%s' %s", sp->key, ntm_conf_quote(q, v), what);
}

static const struct ntm_conf_spec *find_spec(const struct ntm_conf_spec *spec, size_t n,
					     const char *section, const char *key)
{
	for (size_t i = 0; i < n; i++)
		if (ntm_conf_name_eq(spec[i].section, section) &&
		    (!key || ntm_conf_name_eq(spec[i].key, key)))
			return &spec[i];
	return NULL;
}

static int apply_entry(const struct ntm_conf *c, const struct ntm_conf_entry *e,
		       const struct ntm_conf_spec *spec, size_t n, struct ntm_conf_error *err)
{
	const struct ntm_conf_spec *sp = find_spec(spec, n, e->section, e->key);
	char q[NTM_CONF_QUOTE_BUF], msg[sizeof(err->msg)];
	int ret;

	if (!sp) {
		ntm_conf_error_set(err, ntm_conf_name(c), e->line, "unknown key '%s' in section [%s]",
				   ntm_conf_quote(q, e->key), e->section);
		return -EINVAL;
	}
	ret = store(sp, e->value);
	if (ret) {
		explain(sp, e->value, ret, msg, sizeof(msg));
		ntm_conf_error_set(err, ntm_conf_name(c), e->line, "%s", msg);
		return -EINVAL;
	}
	return 0;
}

/* Pass one, in file order: each section is checked at its header, then
 * its entries (which follow it contiguously in the entry list). */
static int apply_file(const struct ntm_conf *c, const struct ntm_conf_spec *spec, size_t n,
		      struct ntm_conf_error *err)
{
	size_t j = 0;

	for (size_t i = 0; i < ntm_conf_section_count(c); i++) {
		unsigned line;
		const char *name = ntm_conf_section_at(c, i, &line);

		if (!find_spec(spec, n, name, NULL)) {
			ntm_conf_error_set(err, ntm_conf_name(c), line, "unknown section [%s]", name);
			return -EINVAL;
		}
		for (; j < ntm_conf_count(c) && ntm_conf_entry_at(c, j)->section == name; j++) {
			int ret = apply_entry(c, ntm_conf_entry_at(c, j), spec, n, err);

			if (ret)
				return ret;
		}
	}
	return 0;
}

/* Pass two, in table order: keys the file did not set. */
static int apply_absent(const struct ntm_conf *c, const struct ntm_conf_spec *sp,
			struct ntm_conf_error *err)
{
	char msg[sizeof(err->msg)];
	bool present = ntm_conf_get(c, sp->section, sp->key) != NULL;
	int ret;

	if (sp->seen)
		*sp->seen = present;
	if (present)
		return 0;
	if (sp->flags & NTM_CONF_REQUIRED) {
		ntm_conf_error_set(err, ntm_conf_name(c), 0,
				   "missing required key '%s' in section [%s]", sp->key, sp->section);
		return -EINVAL;
	}
	if (!sp->def)
		return 0;
	ret = store(sp, sp->def);
	if (ret) {
		explain(sp, sp->def, ret, msg, sizeof(msg));
		ntm_conf_error_set(err, ntm_conf_name(c), 0, "default of [%s] %s", sp->section, msg);
		return -EINVAL;
	}
	return 0;
}

int ntm_conf_apply(const struct ntm_conf *c, const struct ntm_conf_spec *spec, size_t n,
		   struct ntm_conf_error *err)
{
	int ret;

	memset(err, 0, sizeof(*err));
	ret = apply_file(c, spec, n, err);
	if (ret)
		return ret;
	for (size_t i = 0; i < n; i++) {
		ret = apply_absent(c, &spec[i], err);
		if (ret)
			return ret;
	}
	return 0;
}

int ntm_conf_load(const char *path, const struct ntm_conf_spec *spec, size_t n,
		  struct ntm_conf **out, char *msg, size_t msglen)
{
	struct ntm_conf_error err = { 0 };
	struct ntm_conf *c = NULL;
	int ret = ntm_conf_parse_file(path, &c, &err);

	if (ret == 0)
		ret = ntm_conf_apply(c, spec, n, &err);
	if (ret < 0) {
		ntm_conf_error_format(&err, msg, msglen);
		ntm_conf_free(c);
		return ret;
	}
	*out = c;
	return 0;
}
