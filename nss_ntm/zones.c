/* zones.c - the overlay description the NSS module reads once per process,
 * and the tests "is this name / address ours?" that run on every call
 * without a system call.
 *
 * THE FILE: @runstatedir@/ntm/nss (NTM_NSS_FILE_DEFAULT), written by ntm-tund.
 *
 *     # written by ntm-tund; read by libnss_ntm.so.2, see nss_ntm(8)
 *     version 1
 *     zone ntm.example.org
 *     prefix4 198.18.0.0/15
 *     prefix6 fd12:3456:789a::/48
 *     socket /run/ntm/tund.sock
 *     timeout_ms 1000
 *     end
 *
 * - ASCII text, at most 4096 bytes, no NUL byte. Lines end with '\n' (the
 *   last one may lack it). Blank lines and lines whose first non-blank byte
 *   is '#' are ignored. Other lines are a keyword and a value separated by
 *   spaces or tabs; leading and trailing blanks are ignored.
 * - "version 1" must be the first directive and "end" the last one. A file
 *   without "end" is a truncated file and is rejected, so a reader racing a
 *   writer never takes half a zone list for the whole one. (The writer
 *   should still replace the file atomically: write a temporary file in the
 *   same directory, then rename(2) it.)
 * - zone NAME: 0-8 times. A DNS name (letters, digits, '-', labels of 1-63
 *   bytes, at most 253 bytes, one trailing dot allowed), compared without
 *   regard to case. Names strictly below a zone are overlay names; the apex
 *   itself is not (it falls through to the next source).
 * - prefix4 A.B.C.D/LEN (LEN 1-32) and prefix6 X:X::X/LEN (LEN 1-128):
 *   0-8 times each, no bit set after LEN. Addresses inside are overlay
 *   addresses (reverse lookups).
 * - socket PATH: at most once; absolute, shorter than 108 bytes. Default
 *   @runstatedir@/ntm/tund.sock.
 * - timeout_ms N: at most once; 50-30000; default 1000. The deadline of one
 *   whole lookup (connect, send, receive). The module asks the daemon to
 *   answer TRYAGAIN before it: WAIT_MS = N - min(200, N / 2).
 * - Anything else (unknown keyword, second value, repeated socket/timeout_ms
 *   or version, directive after "end") makes the file malformed.
 *
 * Trust: the path is fixed at build time (setuid programs ignore
 * NTM_NSS_FILE, see nss_ntm.c), so only root chooses what is read. The
 * module still refuses a file that is not a regular file, or that is
 * writable by group or others, or whose directory is: a lookup must not be
 * steered by whoever could write there. It does not check the owner, so
 * the daemon may keep the file (or a symlink's target) in a directory of
 * its own user after dropping privileges. The socket named here is checked
 * separately before any reply is trusted (lib/ctlclient.c).
 *
 * A missing or malformed file means "no zones, no prefixes": every query is
 * answered UNAVAIL and the lookup continues with the next source. The file
 * is read once per process (pthread_once in nss_ntm.c): a process started
 * before the file existed sees no zones until it restarts, and its overlay
 * lookups go to "dns", i.e. ntm's stub resolver. */
#include "nss_ntm.h"
#include "namemap.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char ascii_lower(char ch)
{
	return ch >= 'A' && ch <= 'Z' ? (char)(ch - 'A' + 'a') : ch;
}

static bool ldh(char ch)
{
	ch = ascii_lower(ch);
	return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-';
}

bool ntm_nss_name_ok(const char *name, size_t len)
{
	size_t label = 0;

	if (len == 0 || len > NTM_LCTL_NAME_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (name[i] == '.') {
			if (label == 0 || name[i - 1] == '-')
				return false;
			label = 0;
			continue;
		}
		if (!ldh(name[i]) || (label == 0 && name[i] == '-') || ++label > 63)
			return false;
	}
	return label > 0 && name[len - 1] != '-';
}

bool ntm_nss_in_zone(const struct ntm_nss_conf *c, const char *name, size_t len)
{
	for (unsigned z = 0; z < c->n_zones; z++) {
		size_t zl = c->zone_len[z];
		const char *tail;
		size_t i;

		if (len <= zl + 1)
			continue; /* the apex, or shorter */
		tail = name + (len - zl);
		if (tail[-1] != '.')
			continue;
		for (i = 0; i < zl && ascii_lower(tail[i]) == c->zones[z][i]; i++)
			;
		if (i == zl)
			return true;
	}
	return false;
}

static bool prefix_match(const struct ntm_nss_prefix *p, const uint8_t *a)
{
	unsigned full = p->plen / 8, rest = p->plen % 8;

	if (memcmp(p->addr, a, full) != 0)
		return false;
	return rest == 0 || ((p->addr[full] ^ a[full]) & (uint8_t)(0xff << (8 - rest))) == 0;
}

bool ntm_nss_in_prefix(const struct ntm_nss_conf *c, int af, const void *addr)
{
	const struct ntm_nss_prefix *p = af == AF_INET ? c->p4 : c->p6;
	unsigned n = af == AF_INET ? c->n_p4 : af == AF_INET6 ? c->n_p6 : 0;

	for (unsigned i = 0; i < n; i++)
		if (prefix_match(&p[i], addr))
			return true;
	return false;
}

/* ---- parser ---- */

static bool blank(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r';
}

/* Splits one line into at most two NUL-terminated words. Returns the number
 * of words (0-2), or -1 for a third word or a word that does not fit. */
static int split_line(const char *s, size_t len, char *key, size_t ksize, char *val, size_t vsize)
{
	char *out[2] = { key, val };
	size_t size[2] = { ksize, vsize };
	size_t i = 0;
	int n = 0;

	key[0] = val[0] = '\0';
	for (;;) {
		size_t start;

		while (i < len && blank(s[i]))
			i++;
		if (i == len)
			return n;
		if (n == 2)
			return -1;
		start = i;
		while (i < len && !blank(s[i]))
			i++;
		if (i - start >= size[n])
			return -1;
		memcpy(out[n], s + start, i - start);
		out[n][i - start] = '\0';
		n++;
	}
}

static int parse_uint(const char *s, unsigned long min, unsigned long max, unsigned long *v)
{
	unsigned long x = 0;

	if (!*s || strlen(s) > 5)
		return -EINVAL;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -EINVAL;
		x = x * 10 + (unsigned long)(*s - '0');
	}
	if (x < min || x > max)
		return -EINVAL;
	*v = x;
	return 0;
}

static int parse_zone(struct ntm_nss_conf *c, char *v)
{
	size_t len = strlen(v);

	if (len > 1 && v[len - 1] == '.')
		v[--len] = '\0';
	if (c->n_zones == NTM_NSS_MAX_ZONES || !ntm_nss_name_ok(v, len))
		return -EINVAL;
	for (size_t i = 0; i <= len; i++)
		c->zones[c->n_zones][i] = ascii_lower(v[i]);
	c->zone_len[c->n_zones++] = len;
	return 0;
}

static int parse_prefix(struct ntm_nss_conf *c, int af, char *v)
{
	struct ntm_nss_prefix p = { 0 };
	unsigned max = af == AF_INET ? 32 : 128;
	unsigned *n = af == AF_INET ? &c->n_p4 : &c->n_p6;
	char *slash = strchr(v, '/');
	unsigned long plen;

	if (!slash || *n == NTM_NSS_MAX_PREFIXES)
		return -EINVAL;
	*slash = '\0';
	if (inet_pton(af, v, p.addr) != 1 || parse_uint(slash + 1, 1, max, &plen) < 0)
		return -EINVAL;
	p.plen = (uint8_t)plen;
	for (unsigned bit = p.plen; bit < max; bit++)
		if (p.addr[bit / 8] & (0x80 >> (bit % 8)))
			return -EINVAL; /* host bits set: a typo, not a prefix */
	(af == AF_INET ? c->p4 : c->p6)[(*n)++] = p;
	return 0;
}

enum { SEEN_VERSION = 1, SEEN_SOCKET = 2, SEEN_TIMEOUT = 4, SEEN_END = 8 };

/* One directive. seen: SEEN_* bits so far. */
static int directive(struct ntm_nss_conf *c, unsigned *seen, const char *key, char *val, int words)
{
	unsigned long n;

	if (*seen & SEEN_END)
		return -EINVAL;
	if (!(*seen & SEEN_VERSION)) {
		if (words != 2 || strcmp(key, "version") != 0 || strcmp(val, "1") != 0)
			return -EINVAL;
		*seen |= SEEN_VERSION;
		return 0;
	}
	if (words == 1) {
		if (strcmp(key, "end") != 0)
			return -EINVAL;
		*seen |= SEEN_END;
		return 0;
	}
	if (strcmp(key, "zone") == 0)
		return parse_zone(c, val);
	if (strcmp(key, "prefix4") == 0)
		return parse_prefix(c, AF_INET, val);
	if (strcmp(key, "prefix6") == 0)
		return parse_prefix(c, AF_INET6, val);
	if (strcmp(key, "socket") == 0) {
		if ((*seen & SEEN_SOCKET) || val[0] != '/' || strlen(val) >= sizeof(c->socket))
			return -EINVAL;
		*seen |= SEEN_SOCKET;
		memcpy(c->socket, val, strlen(val) + 1);
		return 0;
	}
	if (strcmp(key, "timeout_ms") == 0) {
		if ((*seen & SEEN_TIMEOUT) ||
		    parse_uint(val, NTM_NSS_TIMEOUT_MIN, NTM_NSS_TIMEOUT_MAX, &n) < 0)
			return -EINVAL;
		*seen |= SEEN_TIMEOUT;
		c->timeout_ms = (int)n;
		return 0;
	}
	return -EINVAL;
}

int ntm_nss_conf_parse(const char *text, size_t len, struct ntm_nss_conf *c, unsigned *line)
{
	char key[16], val[NTM_LCTL_NAME_SIZE + 8];
	unsigned seen = 0;
	size_t off = 0;

	memset(c, 0, sizeof(*c));
	*line = 0;
	if (len > NTM_NSS_FILE_MAX || memchr(text, '\0', len))
		goto bad;
	while (off < len) {
		const char *s = text + off, *nl = memchr(s, '\n', len - off);
		size_t n = nl ? (size_t)(nl - s) : len - off;

		size_t b = 0;
		int words;

		off += n + (nl != NULL);
		++*line;
		while (b < n && blank(s[b]))
			b++;
		if (b == n || s[b] == '#')
			continue; /* blank line or comment */
		words = split_line(s, n, key, sizeof(key), val, sizeof(val));
		if (words < 1 || directive(c, &seen, key, val, words) < 0)
			goto bad;
	}
	*line = 0;
	if (!(seen & SEEN_END))
		goto bad;
	if (!(seen & SEEN_SOCKET))
		memcpy(c->socket, NTM_NSS_SOCKET_DEFAULT, sizeof(NTM_NSS_SOCKET_DEFAULT));
	if (!(seen & SEEN_TIMEOUT))
		c->timeout_ms = NTM_NSS_TIMEOUT_DEFAULT;
	return 0;
bad:
	memset(c, 0, sizeof(*c));
	return -EINVAL;
}

/* ---- loader ---- */

/* The directory holding path must not be writable by group or others. */
int ntm_nss_check_dir(const char *path)
{
	return ntm_namemap_dir_ok(path);
}

/* Reads the whole file (at most max bytes) into buf. Returns its length. */
static ssize_t read_all(int fd, char *buf, size_t max)
{
	size_t len = 0;

	for (;;) {
		ssize_t n = read(fd, buf + len, max + 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return (ssize_t)len;
		len += (size_t)n;
		if (len > max)
			return -EFBIG;
	}
}

int ntm_nss_conf_load(const char *path, struct ntm_nss_conf *c)
{
	char text[NTM_NSS_FILE_MAX + 1];
	struct stat st;
	unsigned line;
	ssize_t len;
	int fd, ret;

	memset(c, 0, sizeof(*c));
	ret = ntm_nss_check_dir(path);
	if (ret < 0)
		return ret;
	/* O_NONBLOCK: a FIFO at the path must not block the lookup. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		ret = -errno;
	else if (!S_ISREG(st.st_mode) || (st.st_mode & (S_IWGRP | S_IWOTH)))
		ret = -EPERM;
	else if ((len = read_all(fd, text, NTM_NSS_FILE_MAX)) < 0)
		ret = (int)len;
	else
		ret = ntm_nss_conf_parse(text, (size_t)len, c, &line);
	close(fd);
	return ret;
}
