/* conf.c - the INI-style syntax of ntm's configuration files (see conf.h).
 *
 * The input is copied once into c->text and split in place: every line end
 * and every name or value end is overwritten with a NUL, so sections, keys
 * and values point into that one buffer and freeing it frees them all. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "util.h"

struct conf_section {
	const char *name;
	unsigned line;
};

struct ntm_conf {
	char *name;
	char *text;
	size_t textlen;
	struct conf_section sec[NTM_CONF_MAX_SECTIONS];
	size_t nsec;
	struct ntm_conf_entry *ent;
	size_t nent, cap;
};

struct parser {
	struct ntm_conf *c;
	struct ntm_conf_error *err;
	unsigned line;
	const struct conf_section *cur;  /* NULL before the first header */
};

void ntm_conf_error_set(struct ntm_conf_error *e, const char *file, unsigned line,
			const char *fmt, ...)
{
	va_list ap;

	snprintf(e->file, sizeof(e->file), "%s", file ? file : "-");
	e->line = line;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
}

int ntm_conf_error_format(const struct ntm_conf_error *e, char *buf, size_t size)
{
	if (e->line)
		return snprintf(buf, size, "%s:%u: %s", e->file, e->line, e->msg);
	return snprintf(buf, size, "%s: %s", e->file, e->msg);
}

char *ntm_conf_quote(char out[NTM_CONF_QUOTE_BUF], const char *s)
{
	size_t n = strnlen(s, NTM_CONF_QUOTE_MAX + 1);

	if (n <= NTM_CONF_QUOTE_MAX) {
		memcpy(out, s, n + 1);
		return out;
	}
	n = NTM_CONF_QUOTE_MAX;
	/* s[n] is the first byte left out: never split a character before it. */
	while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
		n--;
	memcpy(out, s, n);
	memcpy(out + n, "...", 4);
	return out;
}

bool ntm_conf_name_eq(const char *a, const char *b)
{
	for (;; a++, b++) {
		unsigned char x = (unsigned char)*a, y = (unsigned char)*b;

		if (x >= 'A' && x <= 'Z')
			x += 'a' - 'A';
		if (y >= 'A' && y <= 'Z')
			y += 'a' - 'A';
		if (x != y)
			return false;
		if (!x)
			return true;
	}
}

static int perr(struct parser *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Reports a syntax error at the current line; returns -EINVAL. */
static int perr(struct parser *p, const char *fmt, ...)
{
	va_list ap;

	snprintf(p->err->file, sizeof(p->err->file), "%s", p->c->name);
	p->err->line = p->line;
	va_start(ap, fmt);
	vsnprintf(p->err->msg, sizeof(p->err->msg), fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static bool is_blank(char ch)
{
	return ch == ' ' || ch == '\t';
}

static bool is_name_char(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	       (ch >= '0' && ch <= '9') || ch == '_' || ch == '-' || ch == '.';
}

/* Trims blanks around s[0..*n), NUL-terminates the result and returns it. */
static char *trim(char *s, size_t *n)
{
	size_t len = *n;

	while (len && is_blank(*s)) {
		s++;
		len--;
	}
	while (len && is_blank(s[len - 1]))
		len--;
	s[len] = '\0';
	*n = len;
	return s;
}

/* Length of the well-formed UTF-8 sequence at s (n > 0 bytes left), or 0.
 * Ranges from RFC 3629 section 4: no overlongs, surrogates or > U+10FFFF. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	unsigned char lo = 0x80, hi = 0xBF;
	size_t k;

	if (s[0] >= 0xC2 && s[0] <= 0xDF)
		k = 2;
	else if (s[0] >= 0xE0 && s[0] <= 0xEF)
		k = 3;
	else if (s[0] >= 0xF0 && s[0] <= 0xF4)
		k = 4;
	else
		return 0;
	if (s[0] == 0xE0)
		lo = 0xA0;
	else if (s[0] == 0xED)
		hi = 0x9F;
	else if (s[0] == 0xF0)
		lo = 0x90;
	else if (s[0] == 0xF4)
		hi = 0x8F;
	if (n < k || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < k; i++)
		if ((s[i] & 0xC0) != 0x80)
			return 0;
	return k;
}

/* Every byte of the raw line must be text: UTF-8 without NUL or controls. */
static int check_bytes(struct parser *p, const char *line, size_t n)
{
	const unsigned char *s = (const unsigned char *)line;

	for (size_t i = 0; i < n;) {
		if (s[i] == 0)
			return perr(p, "NUL byte at column %zu", i + 1);
		if ((s[i] < 0x20 && s[i] != '\t') || s[i] == 0x7F)
			return perr(p, "control character 0x%02x at column %zu", s[i], i + 1);
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		size_t k = utf8_len(s + i, n - i);
		if (!k)
			return perr(p, "invalid UTF-8 at column %zu", i + 1);
		i += k;
	}
	return 0;
}

static bool valid_name(const char *s, size_t n)
{
	if (n == 0 || n >= NTM_CONF_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!is_name_char(s[i]))
			return false;
	return true;
}

/* s is the trimmed line "[...]" of n bytes. */
static int parse_section(struct parser *p, char *s, size_t n)
{
	struct ntm_conf *c = p->c;
	char q[NTM_CONF_QUOTE_BUF];
	char *close = memchr(s, ']', n);
	size_t len;

	ntm_conf_quote(q, s);
	if (!close)
		return perr(p, "unterminated section header '%s'", q);
	if (close != s + n - 1)
		return perr(p, "unexpected text after section header '%s'", q);
	len = (size_t)(close - s - 1);
	char *name = trim(s + 1, &len);
	if (len == 0)
		return perr(p, "empty section name '%s'", q);
	if (!valid_name(name, len))
		return perr(p, "invalid section name '%s'", q);
	for (size_t i = 0; i < c->nsec; i++)
		if (ntm_conf_name_eq(c->sec[i].name, name))
			return perr(p, "duplicate section [%s]", name);
	if (c->nsec == NTM_CONF_MAX_SECTIONS) {
		perr(p, "more than %u sections", NTM_CONF_MAX_SECTIONS);
		return -E2BIG;
	}
	c->sec[c->nsec] = (struct conf_section){ .name = name, .line = p->line };
	p->cur = &c->sec[c->nsec++];
	return 0;
}

/* Entries of one section are contiguous (a section cannot reopen), so a
 * duplicate can only be among the trailing entries that share cur->name. */
static bool key_in_section(const struct parser *p, const char *key)
{
	const struct ntm_conf *c = p->c;

	for (size_t i = c->nent; i > 0 && c->ent[i - 1].section == p->cur->name; i--)
		if (ntm_conf_name_eq(c->ent[i - 1].key, key))
			return true;
	return false;
}

static int add_entry(struct parser *p, const char *key, const char *value)
{
	struct ntm_conf *c = p->c;

	if (c->nent == NTM_CONF_MAX_ENTRIES) {
		perr(p, "more than %u keys", NTM_CONF_MAX_ENTRIES);
		return -E2BIG;
	}
	if (c->nent == c->cap) {
		size_t cap = c->cap ? 2 * c->cap : 16;
		struct ntm_conf_entry *e = reallocarray(c->ent, cap, sizeof(*e));

		if (!e)
			return -ENOMEM;
		c->ent = e;
		c->cap = cap;
	}
	c->ent[c->nent++] = (struct ntm_conf_entry){
		.section = p->cur->name, .key = key, .value = value, .line = p->line,
	};
	return 0;
}

/* s is the trimmed line of n bytes, not a section header or comment. */
static int parse_entry(struct parser *p, char *s, size_t n)
{
	char q[NTM_CONF_QUOTE_BUF];
	char *eq = memchr(s, '=', n);
	size_t klen, vlen;

	ntm_conf_quote(q, s);
	if (!eq)
		return perr(p, "expected 'Key = Value', got '%s'", q);
	klen = (size_t)(eq - s);
	vlen = n - klen - 1;
	char *value = trim(eq + 1, &vlen);
	char *key = trim(s, &klen);   /* writes the NUL over '=' or a blank */
	if (klen == 0)
		return perr(p, "empty key in '%s'", q);
	ntm_conf_quote(q, key);
	if (!valid_name(key, klen))
		return perr(p, "invalid key '%s'", q);
	if (!p->cur)
		return perr(p, "key '%s' outside any section", key);
	if (key_in_section(p, key))
		return perr(p, "duplicate key '%s' in section [%s]", key, p->cur->name);
	return add_entry(p, key, value);
}

/* line holds n bytes and is NUL-terminated at line[n]. */
static int parse_line(struct parser *p, char *line, size_t n)
{
	int ret;

	if (n && line[n - 1] == '\r')
		line[--n] = '\0';
	if (n > NTM_CONF_MAX_LINE)
		return perr(p, "line longer than %u bytes", NTM_CONF_MAX_LINE);
	ret = check_bytes(p, line, n);
	if (ret)
		return ret;
	char *s = trim(line, &n);
	if (n == 0 || s[0] == '#' || s[0] == ';')
		return 0;
	if (s[0] == '[')
		return parse_section(p, s, n);
	return parse_entry(p, s, n);
}

static int parse_text(struct ntm_conf *c, struct ntm_conf_error *err)
{
	struct parser p = { .c = c, .err = err };
	size_t off = 0, len = c->textlen;

	if (len >= 3 && memcmp(c->text, "\xEF\xBB\xBF", 3) == 0)
		off = 3;
	while (off < len) {
		char *line = c->text + off;
		char *nl = memchr(line, '\n', len - off);
		size_t n = nl ? (size_t)(nl - line) : len - off;
		int ret;

		off += n + (nl != NULL);
		p.line++;
		line[n] = '\0';   /* the '\n', or the terminator after the text */
		ret = parse_line(&p, line, n);
		if (ret)
			return ret;
	}
	return 0;
}

static int conf_new(const char *name, const void *buf, size_t len, struct ntm_conf **out)
{
	struct ntm_conf *c = calloc(1, sizeof(*c));

	if (!c)
		return -ENOMEM;
	c->name = strdup(name ? name : "-");
	c->text = malloc(len + 1);
	if (!c->name || !c->text) {
		ntm_conf_free(c);
		return -ENOMEM;
	}
	if (len)
		memcpy(c->text, buf, len);
	c->text[len] = '\0';
	c->textlen = len;
	*out = c;
	return 0;
}

int ntm_conf_parse_mem(const char *name, const void *buf, size_t len,
		       struct ntm_conf **out, struct ntm_conf_error *err)
{
	struct ntm_conf *c = NULL;
	int ret;

	*out = NULL;
	memset(err, 0, sizeof(*err));
	if (len > NTM_CONF_MAX_FILE) {
		ntm_conf_error_set(err, name, 0, "file larger than %u bytes", NTM_CONF_MAX_FILE);
		return -EFBIG;
	}
	ret = conf_new(name, buf, len, &c);
	if (ret)
		goto fail;
	ret = parse_text(c, err);
	if (ret)
		goto fail;
	*out = c;
	return 0;
fail:
	if (ret == -ENOMEM)
		ntm_conf_error_set(err, name, 0, "out of memory");
	ntm_conf_free(c);
	return ret;
}

/* Reads the whole regular file behind fd into *buf (at most MAX_FILE + 1
 * bytes, so an oversized file is detected without reading all of it). */
static int read_fd(int fd, char **buf, size_t *len)
{
	size_t cap = NTM_CONF_MAX_FILE + 1, off = 0;
	char *b = malloc(cap);
	int ret = 0;

	if (!b)
		return -ENOMEM;
	while (off < cap) {
		ssize_t r = read(fd, b + off, cap - off);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			ret = -errno;
			break;
		}
		if (r == 0)
			break;
		off += (size_t)r;
	}
	if (ret) {
		ntm_wipe(b, off);
		free(b);
		return ret;
	}
	*buf = b;
	*len = off;
	return 0;
}

static int read_error(struct ntm_conf_error *err, const char *path, int ret)
{
	char ebuf[128];

	ntm_conf_error_set(err, path, 0, "cannot read: %s", strerror_r(-ret, ebuf, sizeof(ebuf)));
	return ret;
}

int ntm_conf_parse_file(const char *path, struct ntm_conf **out, struct ntm_conf_error *err)
{
	struct stat st;
	char *buf = NULL;
	size_t len = 0;
	int ret, fd;

	*out = NULL;
	memset(err, 0, sizeof(*err));
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return read_error(err, path, -errno);
	if (fstat(fd, &st) < 0) {
		ret = read_error(err, path, -errno);
		goto close_fd;
	}
	if (!S_ISREG(st.st_mode)) {
		ntm_conf_error_set(err, path, 0, "not a regular file");
		ret = -EINVAL;
		goto close_fd;
	}
	ret = read_fd(fd, &buf, &len);
	if (ret) {
		read_error(err, path, ret);
		goto close_fd;
	}
	ret = ntm_conf_parse_mem(path, buf, len, out, err);
	ntm_wipe(buf, len);   /* the file may hold a private key */
	free(buf);
close_fd:
	close(fd);
	return ret;
}

void ntm_conf_free(struct ntm_conf *c)
{
	if (!c)
		return;
	if (c->text)
		ntm_wipe(c->text, c->textlen + 1);
	free(c->text);
	free(c->name);
	free(c->ent);
	free(c);
}

const char *ntm_conf_name(const struct ntm_conf *c)
{
	return c->name;
}

size_t ntm_conf_count(const struct ntm_conf *c)
{
	return c->nent;
}

const struct ntm_conf_entry *ntm_conf_entry_at(const struct ntm_conf *c, size_t i)
{
	return i < c->nent ? &c->ent[i] : NULL;
}

size_t ntm_conf_section_count(const struct ntm_conf *c)
{
	return c->nsec;
}

const char *ntm_conf_section_at(const struct ntm_conf *c, size_t i, unsigned *line)
{
	if (i >= c->nsec)
		return NULL;
	if (line)
		*line = c->sec[i].line;
	return c->sec[i].name;
}

const struct ntm_conf_entry *ntm_conf_get(const struct ntm_conf *c, const char *section,
					  const char *key)
{
	for (size_t i = 0; i < c->nent; i++)
		if (ntm_conf_name_eq(c->ent[i].section, section) &&
		    ntm_conf_name_eq(c->ent[i].key, key))
			return &c->ent[i];
	return NULL;
}
