/* json.c - a minimal, strict JSON reader (RFC 8259) for the vector files.
 *
 * Test-only code. The whole file is read into memory and parsed by recursive
 * descent through a cursor with a sticky error: the first error records its
 * offset and message, and every later step is a no-op. Strictness: no trailing
 * commas, no comments, no leading zeros, no control characters or invalid
 * UTF-8 in strings, no lone surrogates, no duplicate keys, exactly one value
 * in the document. Numbers are converted with strtod, so the test programs
 * must not switch LC_NUMERIC away from "C". */
#include "json.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef NTM_VECTORS_DIR
#define NTM_VECTORS_DIR "tests/vectors"
#endif

#define JSON_MAX_DEPTH 64
#define JSON_MAX_FILE (64u << 20) /* the largest vector file is ~250 KiB */

struct cursor {
	const char *s;
	size_t len;
	size_t off;
	const char *err;     /* first error, or NULL */
	size_t err_off;
};

static void fail(struct cursor *c, const char *msg)
{
	if (!c->err) {
		c->err = msg;
		c->err_off = c->off;
	}
}

static int peek(const struct cursor *c)
{
	return c->off < c->len ? (unsigned char)c->s[c->off] : -1;
}

static void skip_ws(struct cursor *c)
{
	while (c->off < c->len) {
		char ch = c->s[c->off];
		if (ch != ' ' && ch != '\t' && ch != '\n' && ch != '\r')
			break;
		c->off++;
	}
}

static int expect_word(struct cursor *c, const char *w)
{
	size_t n = strlen(w);
	if (c->len - c->off < n || memcmp(c->s + c->off, w, n) != 0) {
		fail(c, "invalid literal");
		return -1;
	}
	c->off += n;
	return 0;
}

/* A growable byte buffer for unescaped strings. */
struct sbuf {
	char *p;
	size_t n, cap;
	int oom;
};

static void sbuf_put(struct sbuf *b, const char *src, size_t n)
{
	if (b->oom)
		return;
	if (b->cap - b->n < n + 1) {
		size_t cap = b->cap ? b->cap : 32;
		while (cap - b->n < n + 1)
			cap *= 2;
		char *p = realloc(b->p, cap);
		if (!p) {
			b->oom = 1;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->n, src, n);
	b->n += n;
	b->p[b->n] = '\0';
}

static void put_utf8(struct sbuf *b, uint32_t cp)
{
	char u[4];
	size_t n;
	if (cp < 0x80) {
		u[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		u[0] = (char)(0xc0 | cp >> 6);
		u[1] = (char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		u[0] = (char)(0xe0 | cp >> 12);
		u[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		u[2] = (char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		u[0] = (char)(0xf0 | cp >> 18);
		u[1] = (char)(0x80 | (cp >> 12 & 0x3f));
		u[2] = (char)(0x80 | (cp >> 6 & 0x3f));
		u[3] = (char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	sbuf_put(b, u, n);
}

static int hexval(int ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* Four hex digits after "\u"; -1 (error set) when malformed. */
static long read_hex4(struct cursor *c)
{
	long v = 0;
	if (c->len - c->off < 4) {
		fail(c, "truncated \\u escape");
		return -1;
	}
	for (int i = 0; i < 4; i++) {
		int d = hexval((unsigned char)c->s[c->off + i]);
		if (d < 0) {
			fail(c, "bad hex digit in \\u escape");
			return -1;
		}
		v = v << 4 | d;
	}
	c->off += 4;
	return v;
}

/* After the backslash of a \u escape: one code point, pairing surrogates. */
static void read_u_escape(struct cursor *c, struct sbuf *b)
{
	long hi = read_hex4(c);
	if (hi < 0)
		return;
	if (hi >= 0xdc00 && hi <= 0xdfff) {
		fail(c, "lone low surrogate");
		return;
	}
	if (hi < 0xd800 || hi > 0xdbff) {
		put_utf8(b, (uint32_t)hi);
		return;
	}
	if (c->len - c->off < 2 || c->s[c->off] != '\\' || c->s[c->off + 1] != 'u') {
		fail(c, "lone high surrogate");
		return;
	}
	c->off += 2;
	long lo = read_hex4(c);
	if (lo < 0)
		return;
	if (lo < 0xdc00 || lo > 0xdfff) {
		fail(c, "high surrogate not followed by a low one");
		return;
	}
	put_utf8(b, (uint32_t)(0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00)));
}

static void read_escape(struct cursor *c, struct sbuf *b)
{
	static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
	int ch = peek(c);
	if (ch < 0) {
		fail(c, "truncated escape");
		return;
	}
	c->off++;
	if (ch == 'u') {
		read_u_escape(c, b);
		return;
	}
	const char *p = ch ? strchr(from, ch) : NULL;
	if (!p) {
		c->off--;
		fail(c, "invalid escape");
		return;
	}
	sbuf_put(b, &to[p - from], 1);
}

/* Length of the well-formed UTF-8 sequence at the cursor (lead byte >= 0x80),
 * or 0 when it is malformed, overlong, a surrogate or beyond U+10FFFF. */
static size_t utf8_seq_len(const struct cursor *c)
{
	const unsigned char *p = (const unsigned char *)c->s + c->off;
	size_t avail = c->len - c->off;
	unsigned char b0 = p[0];
	size_t n;
	unsigned char lo = 0x80, hi = 0xbf;
	if (b0 >= 0xc2 && b0 <= 0xdf)
		n = 2;
	else if (b0 >= 0xe0 && b0 <= 0xef)
		n = 3;
	else if (b0 >= 0xf0 && b0 <= 0xf4)
		n = 4;
	else
		return 0;
	if (b0 == 0xe0)
		lo = 0xa0;
	else if (b0 == 0xed)
		hi = 0x9f;
	else if (b0 == 0xf0)
		lo = 0x90;
	else if (b0 == 0xf4)
		hi = 0x8f;
	if (avail < n || p[1] < lo || p[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	return n;
}

/* At the opening quote; returns a malloc'd NUL-terminated string or NULL. */
static char *read_string(struct cursor *c)
{
	struct sbuf b = { 0 };
	c->off++; /* opening quote */
	sbuf_put(&b, "", 0);
	while (!c->err) {
		int ch = peek(c);
		if (ch < 0) {
			fail(c, "unterminated string");
		} else if (ch == '"') {
			c->off++;
			break;
		} else if (ch == '\\') {
			c->off++;
			read_escape(c, &b);
		} else if (ch < 0x20) {
			fail(c, "control character in string");
		} else if (ch < 0x80) {
			sbuf_put(&b, c->s + c->off, 1);
			c->off++;
		} else {
			size_t n = utf8_seq_len(c);
			if (!n) {
				fail(c, "invalid UTF-8 in string");
				break;
			}
			sbuf_put(&b, c->s + c->off, n);
			c->off += n;
		}
	}
	if (b.oom)
		fail(c, "out of memory");
	if (c->err) {
		free(b.p);
		return NULL;
	}
	return b.p;
}

static void skip_digits(struct cursor *c)
{
	while (peek(c) >= '0' && peek(c) <= '9')
		c->off++;
}

/* Check the RFC 8259 number grammar, then convert the span with strtod. */
static void read_number(struct cursor *c, struct json *j)
{
	size_t start = c->off;
	if (peek(c) == '-')
		c->off++;
	if (peek(c) == '0') {
		c->off++;
	} else if (peek(c) >= '1' && peek(c) <= '9') {
		skip_digits(c);
	} else {
		fail(c, "invalid number");
		return;
	}
	if (peek(c) == '.') {
		c->off++;
		if (!(peek(c) >= '0' && peek(c) <= '9')) {
			fail(c, "digit expected after decimal point");
			return;
		}
		skip_digits(c);
	}
	if (peek(c) == 'e' || peek(c) == 'E') {
		c->off++;
		if (peek(c) == '+' || peek(c) == '-')
			c->off++;
		if (!(peek(c) >= '0' && peek(c) <= '9')) {
			fail(c, "digit expected in exponent");
			return;
		}
		skip_digits(c);
	}
	char tmp[64];
	size_t n = c->off - start;
	if (n >= sizeof(tmp)) {
		fail(c, "number too long");
		return;
	}
	memcpy(tmp, c->s + start, n);
	tmp[n] = '\0';
	j->num = strtod(tmp, NULL);
}

static struct json *parse_value(struct cursor *c, int depth);

/* Append a child (and its key, for objects); frees child on failure. */
static int add_child(struct cursor *c, struct json *j, char *key, struct json *child)
{
	if ((j->n & (j->n - 1)) == 0) { /* n is 0 or a power of two: grow */
		size_t cap = j->n ? j->n * 2 : 1;
		struct json **items = realloc(j->items, cap * sizeof(*items));
		if (items)
			j->items = items;
		char **keys = items && key ? realloc(j->keys, cap * sizeof(*keys)) : NULL;
		if (keys)
			j->keys = keys;
		if (!items || (key && !keys)) {
			free(key);
			json_free(child);
			fail(c, "out of memory");
			return -1;
		}
	}
	j->items[j->n] = child;
	if (key)
		j->keys[j->n] = key;
	j->n++;
	return 0;
}

static int has_key(const struct json *j, const char *key)
{
	for (size_t i = 0; i < j->n; i++)
		if (strcmp(j->keys[i], key) == 0)
			return 1;
	return 0;
}

static void parse_array(struct cursor *c, struct json *j, int depth)
{
	c->off++; /* '[' */
	skip_ws(c);
	if (peek(c) == ']') {
		c->off++;
		return;
	}
	while (!c->err) {
		struct json *child = parse_value(c, depth + 1);
		if (!child || add_child(c, j, NULL, child) < 0)
			return;
		skip_ws(c);
		if (peek(c) == ']') {
			c->off++;
			return;
		}
		if (peek(c) != ',') {
			fail(c, "',' or ']' expected");
			return;
		}
		c->off++;
	}
}

static void parse_object(struct cursor *c, struct json *j, int depth)
{
	c->off++; /* '{' */
	skip_ws(c);
	if (peek(c) == '}') {
		c->off++;
		return;
	}
	while (!c->err) {
		skip_ws(c);
		if (peek(c) != '"') {
			fail(c, "string key expected");
			return;
		}
		size_t key_off = c->off;
		char *key = read_string(c);
		if (!key)
			return;
		if (has_key(j, key)) {
			c->off = key_off;
			fail(c, "duplicate key");
			free(key);
			return;
		}
		skip_ws(c);
		if (peek(c) != ':') {
			fail(c, "':' expected");
			free(key);
			return;
		}
		c->off++;
		struct json *child = parse_value(c, depth + 1);
		if (!child) {
			free(key);
			return;
		}
		if (add_child(c, j, key, child) < 0)
			return;
		skip_ws(c);
		if (peek(c) == '}') {
			c->off++;
			return;
		}
		if (peek(c) != ',') {
			fail(c, "',' or '}' expected");
			return;
		}
		c->off++;
	}
}

static struct json *parse_value(struct cursor *c, int depth)
{
	if (depth > JSON_MAX_DEPTH) {
		fail(c, "nesting too deep");
		return NULL;
	}
	skip_ws(c);
	struct json *j = calloc(1, sizeof(*j));
	if (!j) {
		fail(c, "out of memory");
		return NULL;
	}
	int ch = peek(c);
	switch (ch) {
	case '{': j->type = JSON_OBJECT; parse_object(c, j, depth); break;
	case '[': j->type = JSON_ARRAY; parse_array(c, j, depth); break;
	case '"': j->type = JSON_STRING; j->str = read_string(c); break;
	case 't': j->type = JSON_BOOL; j->num = 1; expect_word(c, "true"); break;
	case 'f': j->type = JSON_BOOL; expect_word(c, "false"); break;
	case 'n': j->type = JSON_NULL; expect_word(c, "null"); break;
	default:
		if (ch == '-' || (ch >= '0' && ch <= '9')) {
			j->type = JSON_NUMBER;
			read_number(c, j);
		} else {
			fail(c, ch < 0 ? "unexpected end of input" : "value expected");
		}
	}
	if (c->err) {
		json_free(j);
		return NULL;
	}
	return j;
}

/* Read the whole file into a malloc'd buffer; -errno on failure. */
static int read_file(const char *path, char **out, size_t *outlen)
{
	int ret = -1;
	char *buf = NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	struct stat st;
	if (fstat(fd, &st) < 0) {
		ret = -errno;
		goto close_fd;
	}
	if (!S_ISREG(st.st_mode) || (uintmax_t)st.st_size > JSON_MAX_FILE) {
		ret = -EFBIG;
		goto close_fd;
	}
	size_t size = (size_t)st.st_size, got = 0;
	buf = malloc(size ? size : 1);
	if (!buf) {
		ret = -ENOMEM;
		goto close_fd;
	}
	while (got < size) {
		ssize_t r = read(fd, buf + got, size - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			ret = r < 0 ? -errno : -EIO;
			free(buf);
			goto close_fd;
		}
		got += (size_t)r;
	}
	*out = buf;
	*outlen = size;
	ret = 0;
close_fd:
	close(fd);
	return ret;
}

struct json *json_load_file(const char *path)
{
	char *buf = NULL;
	size_t len = 0;
	int r = read_file(path, &buf, &len);
	if (r < 0) {
		fprintf(stderr, "%s: %s\n", path, strerror(-r));
		return NULL;
	}
	struct cursor c = { .s = buf, .len = len };
	struct json *j = parse_value(&c, 0);
	if (j) {
		skip_ws(&c);
		if (c.off != c.len)
			fail(&c, "trailing data after the document");
	}
	if (c.err) {
		fprintf(stderr, "%s: offset %zu: %s\n", path, c.err_off, c.err);
		json_free(j);
		j = NULL;
	}
	free(buf);
	return j;
}

void json_free(struct json *j)
{
	if (!j)
		return;
	for (size_t i = 0; i < j->n; i++) {
		json_free(j->items[i]);
		if (j->keys)
			free(j->keys[i]);
	}
	free(j->items);
	free(j->keys);
	free(j->str);
	free(j);
}

const struct json *json_get(const struct json *obj, const char *key)
{
	if (!obj || obj->type != JSON_OBJECT || !key)
		return NULL;
	for (size_t i = 0; i < obj->n; i++)
		if (strcmp(obj->keys[i], key) == 0)
			return obj->items[i];
	return NULL;
}

const char *json_get_str(const struct json *obj, const char *key)
{
	const struct json *v = json_get(obj, key);
	return v && v->type == JSON_STRING ? v->str : NULL;
}

uint8_t *json_hex(const char *hex, size_t *len)
{
	if (!hex)
		return NULL;
	size_t n = strlen(hex);
	if (n % 2)
		return NULL;
	uint8_t *out = malloc(n / 2 ? n / 2 : 1);
	if (!out)
		return NULL;
	for (size_t i = 0; i < n / 2; i++) {
		int hi = hexval((unsigned char)hex[2 * i]);
		int lo = hexval((unsigned char)hex[2 * i + 1]);
		if (hi < 0 || lo < 0) {
			free(out);
			return NULL;
		}
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	*len = n / 2;
	return out;
}

const char *json_vector_path(const char *name, char *buf, size_t buflen)
{
	const char *dir = getenv("NTM_VECTORS_DIR");
	if (!dir || !*dir)
		dir = NTM_VECTORS_DIR;
	int n = snprintf(buf, buflen, "%s/%s", dir, name);
	if (n < 0 || (size_t)n >= buflen)
		return NULL;
	return buf;
}
