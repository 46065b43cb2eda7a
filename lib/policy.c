/* policy.c - the access policy file and its evaluation; see policy.h. */
#include "policy.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "wire.h"

enum pat_kind { PAT_EXACT = 1, PAT_SUFFIX, PAT_ANY };

struct pat {
	enum pat_kind kind;
	uint8_t len;                  /* of s */
	char s[NTM_NAME_MAX + 1];     /* EXACT: the name; SUFFIX: after "*." */
};

struct set {
	int group;                    /* index into groups, or -1: pat */
	struct pat pat;
};

struct group {
	char name[NTM_POLICY_GROUP_MAX + 1];
	unsigned line;
	size_t first, n;              /* into pats */
};

struct rule {
	struct set from, to;
	bool both;                    /* <-> */
	unsigned line;
};

struct ntm_policy {
	struct group *groups;
	size_t ngroups, groups_cap;
	struct pat *pats;
	size_t npats, pats_cap;
	struct rule *rules;
	size_t nrules, rules_cap;
};

/* The array a (capacity *cap elements of size) with room for need: a
 * itself, or a larger copy (doubled, up to max, which the callers check
 * need against). NULL when out of memory, a then unchanged. */
static void *grow(void *a, size_t *cap, size_t need, size_t size, size_t max)
{
	size_t n = *cap ? *cap : 8;

	if (need <= *cap)
		return a;
	while (n < need)
		n *= 2;
	if (n > max)
		n = max;
	void *p = realloc(a, n * size);
	if (p)
		*cap = n;
	return p;
}

/* ---- parsing ---- */

struct parser {
	const char *file;
	unsigned line;
	struct ntm_conf_error *err;
	struct ntm_policy *p;
};

static int fail(struct parser *ps, int ret, const char *fmt, const char *word)
{
	char q[NTM_CONF_QUOTE_BUF];

	ntm_conf_error_set(ps->err, ps->file, ps->line, fmt, word ? ntm_conf_quote(q, word) : "");
	return ret;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* Splits line (NUL-terminated, changed in place) into at most max words. */
static size_t split(char *line, char **w, size_t max)
{
	size_t n = 0;

	for (char *s = line;;) {
		while (is_blank(*s))
			s++;
		if (!*s)
			return n;
		if (n == max)
			return max + 1;
		w[n++] = s;
		while (*s && !is_blank(*s))
			s++;
		if (*s)
			*s++ = '\0';
	}
}

static int parse_pat(struct parser *ps, const char *word, struct pat *out)
{
	struct ntm_name n;
	const char *s = word;

	memset(out, 0, sizeof(*out));
	if (strcmp(word, "*") == 0) {
		out->kind = PAT_ANY;
		return 0;
	}
	out->kind = PAT_EXACT;
	if (strncmp(word, "*.", 2) == 0) {
		out->kind = PAT_SUFFIX;
		s = word + 2;
	}
	if (strchr(s, '*') || ntm_name_set(&n, s) < 0)
		return fail(ps, -EINVAL, "'%s' is not a name, *.SUFFIX or *", word);
	out->len = n.len;
	memcpy(out->s, n.s, (size_t)n.len + 1);
	return 0;
}

static int find_group(const struct ntm_policy *p, const char *name)
{
	for (size_t i = 0; i < p->ngroups; i++)
		if (ntm_conf_name_eq(p->groups[i].name, name))
			return (int)i;
	return -1;
}

static int parse_set(struct parser *ps, const char *word, struct set *out)
{
	if (word[0] != '@') {
		out->group = -1;
		return parse_pat(ps, word, &out->pat);
	}
	out->group = find_group(ps->p, word + 1);
	if (out->group < 0)
		return fail(ps, -EINVAL, "unknown group '%s' (define it on an earlier line)", word);
	return 0;
}

static bool group_name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > NTM_POLICY_GROUP_MAX)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '_' || *s == '.' || *s == '-'))
			return false;
	return true;
}

#define MAX_WORDS (NTM_POLICY_MAX_LINE / 2 + 2)

static int parse_group(struct parser *ps, char **w, size_t n)
{
	struct ntm_policy *p = ps->p;

	if (n < 4 || strcmp(w[2], "=") != 0)
		return fail(ps, -EINVAL, "expected 'group NAME = PATTERN...', got '%s'",
			    n >= 3 ? w[2] : w[n - 1]);
	if (!group_name_ok(w[1]))
		return fail(ps, -EINVAL, "'%s' is not a group name (1..63 of A-Z a-z 0-9 _ . -)",
			    w[1]);
	if (find_group(p, w[1]) >= 0)
		return fail(ps, -EINVAL, "group '%s' is defined twice", w[1]);
	if (p->ngroups == NTM_POLICY_MAX_GROUPS)
		return fail(ps, -E2BIG, "more than 256 groups%s", NULL);
	if (p->npats + (n - 3) > NTM_POLICY_MAX_PATTERNS)
		return fail(ps, -E2BIG, "more than 4096 patterns in all groups%s", NULL);
	struct group *gs = grow(p->groups, &p->groups_cap, p->ngroups + 1, sizeof(*gs),
				NTM_POLICY_MAX_GROUPS);
	if (!gs)
		return -ENOMEM;
	p->groups = gs;
	struct pat *pt = grow(p->pats, &p->pats_cap, p->npats + n - 3, sizeof(*pt),
			       NTM_POLICY_MAX_PATTERNS);
	if (!pt)
		return -ENOMEM;
	p->pats = pt;
	for (size_t i = 3; i < n; i++) {
		int ret = parse_pat(ps, w[i], &p->pats[p->npats + i - 3]);
		if (ret < 0)
			return ret;
	}
	struct group *g = &p->groups[p->ngroups++];
	snprintf(g->name, sizeof(g->name), "%s", w[1]);
	g->line = ps->line;
	g->first = p->npats;
	g->n = n - 3;
	p->npats += n - 3;
	return 0;
}

static int parse_allow(struct parser *ps, char **w, size_t n)
{
	struct ntm_policy *p = ps->p;
	struct rule r = { .line = ps->line };
	int ret;

	if (n != 4)
		return fail(ps, -EINVAL, "expected 'allow SET <-> SET' or 'allow SET -> SET', got "
			    "'%s'", n > 4 ? w[4] : w[n - 1]);
	if (strcmp(w[2], "<->") == 0)
		r.both = true;
	else if (strcmp(w[2], "->") != 0)
		return fail(ps, -EINVAL, "'%s' is not <-> or ->", w[2]);
	if ((ret = parse_set(ps, w[1], &r.from)) < 0 || (ret = parse_set(ps, w[3], &r.to)) < 0)
		return ret;
	if (p->nrules == NTM_POLICY_MAX_RULES)
		return fail(ps, -E2BIG, "more than 1024 rules%s", NULL);
	struct rule *rs = grow(p->rules, &p->rules_cap, p->nrules + 1, sizeof(*rs),
			       NTM_POLICY_MAX_RULES);
	if (!rs)
		return -ENOMEM;
	p->rules = rs;
	p->rules[p->nrules++] = r;
	return 0;
}

static int parse_line(struct parser *ps, char *line, char **w)
{
	size_t n = split(line, w, MAX_WORDS);

	if (n == 0 || w[0][0] == '#')
		return 0;
	if (strcmp(w[0], "group") == 0)
		return parse_group(ps, w, n);
	if (strcmp(w[0], "allow") == 0)
		return parse_allow(ps, w, n);
	return fail(ps, -EINVAL, "expected 'group' or 'allow', got '%s'", w[0]);
}

/* Printable ASCII and tab only: names are ASCII, and a message can quote
 * any of it. */
static int check_bytes(struct parser *ps, const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '\t' || (c >= 0x20 && c < 0x7f) || (c == '\r' && i + 1 == len))
			continue;
		char hex[8];
		snprintf(hex, sizeof(hex), "0x%02x", c);
		return fail(ps, -EINVAL, "byte %s is not printable ASCII", hex);
	}
	return 0;
}

int ntm_policy_parse_mem(const char *name, const void *buf, size_t len, struct ntm_policy **out,
			 struct ntm_conf_error *err)
{
	struct parser ps = { .file = name ? name : "-", .err = err };
	const char *s = buf, *end = s + len;
	char *line = NULL, **w = NULL;
	int ret;

	*out = NULL;
	if (len > NTM_POLICY_MAX_FILE)
		return fail(&ps, -EFBIG, "larger than 1 MiB%s", NULL);
	ps.p = calloc(1, sizeof(*ps.p));
	line = malloc(NTM_POLICY_MAX_LINE + 1);
	w = calloc(MAX_WORDS + 1, sizeof(*w));
	if (!ps.p || !line || !w) {
		ret = -ENOMEM;
		goto out;
	}
	while (s < end) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		size_t n = nl ? (size_t)(nl - s) : (size_t)(end - s);
		ps.line++;
		if (n > NTM_POLICY_MAX_LINE) {
			ret = fail(&ps, -EINVAL, "line longer than 4096 bytes%s", NULL);
			goto out;
		}
		if ((ret = check_bytes(&ps, s, n)) < 0)
			goto out;
		memcpy(line, s, n);
		line[n] = '\0';
		if (n && line[n - 1] == '\r')
			line[n - 1] = '\0';
		if ((ret = parse_line(&ps, line, w)) < 0)
			goto out;
		s += n + (nl ? 1 : 0);
	}
	*out = ps.p;
	ps.p = NULL;
	ret = 0;
out:
	ntm_policy_free(ps.p);
	free(line);
	free(w);
	return ret;
}

int ntm_policy_parse_file(const char *path, struct ntm_policy **out, struct ntm_conf_error *err)
{
	struct stat st;
	char *buf = NULL;
	size_t len = 0;
	int fd, ret;

	*out = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0 || fstat(fd, &st) < 0) {
		ret = -errno;
		ntm_conf_error_set(err, path, 0, "cannot read: %s", strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		ntm_conf_error_set(err, path, 0, "not a regular file");
		ret = -EINVAL;
		goto out;
	}
	if (st.st_size > (off_t)NTM_POLICY_MAX_FILE) {
		ntm_conf_error_set(err, path, 0, "larger than 1 MiB");
		ret = -EFBIG;
		goto out;
	}
	buf = malloc(NTM_POLICY_MAX_FILE + 1);
	if (!buf) {
		ret = -ENOMEM;
		goto out;
	}
	for (;;) {
		ssize_t n = read(fd, buf + len, NTM_POLICY_MAX_FILE + 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = -errno;
			ntm_conf_error_set(err, path, 0, "cannot read: %s", strerror(errno));
			goto out;
		}
		if (n == 0 || (len += (size_t)n) > NTM_POLICY_MAX_FILE)
			break;
	}
	ret = ntm_policy_parse_mem(path, buf, len, out, err);
out:
	free(buf);
	if (fd >= 0)
		close(fd);
	return ret;
}

void ntm_policy_free(struct ntm_policy *p)
{
	if (!p)
		return;
	free(p->groups);
	free(p->pats);
	free(p->rules);
	free(p);
}

/* ---- evaluation ---- */

static bool pat_match(const struct pat *pt, const struct ntm_name *n)
{
	switch (pt->kind) {
	case PAT_ANY:
		return true;
	case PAT_EXACT:
		return n->len == pt->len && memcmp(n->s, pt->s, pt->len) == 0;
	case PAT_SUFFIX:
		return n->len > pt->len + 1 && n->s[n->len - pt->len - 1] == '.' &&
		       memcmp(n->s + n->len - pt->len, pt->s, pt->len) == 0;
	}
	return false;
}

static bool set_match(const struct ntm_policy *p, const struct set *st, const struct ntm_name *n)
{
	if (st->group < 0)
		return pat_match(&st->pat, n);
	const struct group *g = &p->groups[st->group];
	for (size_t i = 0; i < g->n; i++)
		if (pat_match(&p->pats[g->first + i], n))
			return true;
	return false;
}

bool ntm_policy_allows(const struct ntm_policy *p, const char *from, const char *to,
		       unsigned *rule)
{
	struct ntm_name a, b;

	if (rule)
		*rule = 0;
	if (!p)
		return true;
	if (ntm_name_set(&a, from) < 0 || ntm_name_set(&b, to) < 0)
		return false;
	for (size_t i = 0; i < p->nrules; i++) {
		const struct rule *r = &p->rules[i];
		if ((set_match(p, &r->from, &a) && set_match(p, &r->to, &b)) ||
		    (r->both && set_match(p, &r->from, &b) && set_match(p, &r->to, &a))) {
			if (rule)
				*rule = (unsigned)i + 1;
			return true;
		}
	}
	return false;
}

bool ntm_policy_peer_ok(const struct ntm_policy *p, const char *self, const char *peer,
			bool asked)
{
	return ntm_policy_allows(p, peer, self, NULL) ||
	       (asked && ntm_policy_allows(p, self, peer, NULL));
}

/* ---- description ---- */

size_t ntm_policy_ngroups(const struct ntm_policy *p)
{
	return p ? p->ngroups : 0;
}

size_t ntm_policy_nrules(const struct ntm_policy *p)
{
	return p ? p->nrules : 0;
}

static const char *pat_text(const struct pat *pt, char *buf, size_t cap)
{
	if (pt->kind == PAT_ANY)
		snprintf(buf, cap, "*");
	else
		snprintf(buf, cap, "%s%s", pt->kind == PAT_SUFFIX ? "*." : "", pt->s);
	return buf;
}

static const char *set_text(const struct ntm_policy *p, const struct set *st, char *buf,
			    size_t cap)
{
	if (st->group < 0)
		return pat_text(&st->pat, buf, cap);
	snprintf(buf, cap, "@%s", p->groups[st->group].name);
	return buf;
}

int ntm_policy_group_text(const struct ntm_policy *p, size_t n, char *buf, size_t cap,
			  unsigned *line)
{
	char pb[NTM_NAME_MAX + 3];
	size_t len;

	if (!p || n >= p->ngroups)
		return -1;
	const struct group *g = &p->groups[n];
	if (line)
		*line = g->line;
	len = (size_t)snprintf(buf, cap, "group %s =", g->name);
	for (size_t i = 0; i < g->n; i++) {
		pat_text(&p->pats[g->first + i], pb, sizeof(pb));
		len += (size_t)snprintf(len < cap ? buf + len : NULL, len < cap ? cap - len : 0,
					" %s", pb);
	}
	return (int)len;
}

int ntm_policy_rule_text(const struct ntm_policy *p, size_t n, char *buf, size_t cap,
			 unsigned *line)
{
	char a[NTM_NAME_MAX + 3], b[NTM_NAME_MAX + 3];

	if (!p || n >= p->nrules)
		return -1;
	const struct rule *r = &p->rules[n];
	if (line)
		*line = r->line;
	return snprintf(buf, cap, "allow %s %s %s", set_text(p, &r->from, a, sizeof(a)),
			r->both ? "<->" : "->", set_text(p, &r->to, b, sizeof(b)));
}
