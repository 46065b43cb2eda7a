/* noise_patterns.c - the Noise handshake patterns as data (revision 34,
 * sections 7.4, 7.5 and 18) and the psk modifiers (section 9.2).
 *
 * Each pattern is written the way the specification prints it: token words
 * separated by spaces, one string per message. ntm_noise_shape_parse turns a
 * pattern name with modifiers into the token lists the engine runs. */
#include <errno.h>
#include <string.h>

#include "noise.h"
#include "util.h"

struct pattern {
	const char *name;
	const char *pre_i;        /* initiator's pre-message: "" or "s" */
	const char *pre_r;        /* responder's pre-message */
	const char *msgs[4];      /* NULL after the last message */
};

static const struct pattern patterns[] = {
	/* one-way (7.4) */
	{ "N", "", "s", { "e es" } },
	{ "K", "s", "s", { "e es ss" } },
	{ "X", "", "s", { "e es s ss" } },
	/* interactive fundamental (7.5) */
	{ "NN", "", "", { "e", "e ee" } },
	{ "NK", "", "s", { "e es", "e ee" } },
	{ "NX", "", "", { "e", "e ee s es" } },
	{ "KN", "s", "", { "e", "e ee se" } },
	{ "KK", "s", "s", { "e es ss", "e ee se" } },
	{ "KX", "s", "", { "e", "e ee se s es" } },
	{ "XN", "", "", { "e", "e ee", "s se" } },
	{ "XK", "", "s", { "e es", "e ee", "s se" } },
	{ "XX", "", "", { "e", "e ee s es", "s se" } },
	{ "IN", "", "", { "e s", "e ee se" } },
	{ "IK", "", "s", { "e es s ss", "e ee se" } },
	{ "IX", "", "", { "e s", "e ee se s es" } },
	/* deferred (18) */
	{ "NK1", "", "s", { "e", "e ee es" } },
	{ "NX1", "", "", { "e", "e ee s", "es" } },
	{ "X1N", "", "", { "e", "e ee", "s", "se" } },
	{ "X1K", "", "s", { "e es", "e ee", "s", "se" } },
	{ "XK1", "", "s", { "e", "e ee es", "s se" } },
	{ "X1K1", "", "s", { "e", "e ee es", "s", "se" } },
	{ "X1X", "", "", { "e", "e ee s es", "s", "se" } },
	{ "XX1", "", "", { "e", "e ee s", "es s se" } },
	{ "X1X1", "", "", { "e", "e ee s", "es s", "se" } },
	{ "K1N", "s", "", { "e", "e ee", "se" } },
	{ "K1K", "s", "s", { "e es", "e ee", "se" } },
	{ "KK1", "s", "s", { "e", "e ee se es" } },
	{ "K1K1", "s", "s", { "e", "e ee es", "se" } },
	{ "K1X", "s", "", { "e", "e ee s es", "se" } },
	{ "KX1", "s", "", { "e", "e ee se s", "es" } },
	{ "K1X1", "s", "", { "e", "e ee s", "se es" } },
	{ "I1N", "", "", { "e s", "e ee", "se" } },
	{ "I1K", "", "s", { "e es s", "e ee", "se" } },
	{ "IK1", "", "s", { "e s", "e ee se es" } },
	{ "I1K1", "", "s", { "e s", "e ee es", "se" } },
	{ "I1X", "", "", { "e s", "e ee s es", "se" } },
	{ "IX1", "", "", { "e s", "e ee se s", "es" } },
	{ "I1X1", "", "", { "e s", "e ee s", "se es" } },
};

static const struct {
	const char *word;
	uint8_t tok;
} token_words[] = {
	{ "e", NTM_NOISE_TOK_E },   { "s", NTM_NOISE_TOK_S },   { "ee", NTM_NOISE_TOK_EE },
	{ "es", NTM_NOISE_TOK_ES }, { "se", NTM_NOISE_TOK_SE }, { "ss", NTM_NOISE_TOK_SS },
};

static int token_of(const char *word, size_t len)
{
	for (size_t i = 0; i < NTM_ARRAY_SIZE(token_words); i++)
		if (strlen(token_words[i].word) == len && !memcmp(token_words[i].word, word, len))
			return token_words[i].tok;
	return -EPROTONOSUPPORT;
}

/* Turn "e ee s es" into tokens, leaving room for a terminator. */
static int tokenize(uint8_t *out, size_t cap, const char *text)
{
	size_t n = 0;

	while (*text) {
		size_t len = strcspn(text, " ");
		int tok = token_of(text, len);
		if (tok < 0)
			return tok;
		if (cap - 1 - n < 1)
			return -EPROTONOSUPPORT;
		out[n++] = (uint8_t)tok;
		text += len;
		text += strspn(text, " ");
	}
	out[n] = NTM_NOISE_TOK_END;
	return 0;
}

static size_t token_count(const uint8_t *toks)
{
	size_t n = 0;
	while (toks[n] != NTM_NOISE_TOK_END)
		n++;
	return n;
}

/* psk0 goes first in the first message; pskN last in message N (9.2). */
static int add_psk(struct ntm_noise_shape *shape, unsigned where)
{
	unsigned idx = where == 0 ? 0 : where - 1;
	if (idx >= shape->nmsgs)
		return -EPROTONOSUPPORT;

	uint8_t *toks = shape->msg[idx];
	size_t n = token_count(toks);
	if (NTM_NOISE_MAX_TOKENS - 1 - n < 1)
		return -EPROTONOSUPPORT;
	if (where == 0) {
		memmove(toks + 1, toks, n + 1);
		toks[0] = NTM_NOISE_TOK_PSK;
	} else {
		toks[n] = NTM_NOISE_TOK_PSK;
		toks[n + 1] = NTM_NOISE_TOK_END;
	}
	shape->npsks++;
	return 0;
}

/* Modifiers as in "psk0+psk2": each "psk" and one decimal digit. */
static int apply_modifiers(struct ntm_noise_shape *shape, const char *mods, size_t len)
{
	size_t off = 0;

	while (off < len) {
		if (len - off < 4 || memcmp(mods + off, "psk", 3) != 0)
			return -EPROTONOSUPPORT;
		char digit = mods[off + 3];
		if (digit < '0' || digit > '9')
			return -EPROTONOSUPPORT;
		if (shape->npsks >= NTM_NOISE_MAX_PSKS)
			return -EPROTONOSUPPORT;
		int ret = add_psk(shape, (unsigned)(digit - '0'));
		if (ret)
			return ret;
		off += 4;
		if (off == len)
			break;
		if (mods[off] != '+' || len - off < 2)
			return -EPROTONOSUPPORT;
		off++;
	}
	return 0;
}

static const struct pattern *find_pattern(const char *name, size_t len)
{
	for (size_t i = 0; i < NTM_ARRAY_SIZE(patterns); i++)
		if (strlen(patterns[i].name) == len && !memcmp(patterns[i].name, name, len))
			return &patterns[i];
	return NULL;
}

static int fill_shape(struct ntm_noise_shape *shape, const struct pattern *p)
{
	int ret = tokenize(shape->pre[0], sizeof(shape->pre[0]), p->pre_i);
	if (!ret)
		ret = tokenize(shape->pre[1], sizeof(shape->pre[1]), p->pre_r);
	for (size_t i = 0; !ret && i < NTM_ARRAY_SIZE(p->msgs) && p->msgs[i]; i++) {
		ret = tokenize(shape->msg[i], NTM_NOISE_MAX_TOKENS, p->msgs[i]);
		shape->nmsgs++;
	}
	shape->one_way = shape->nmsgs == 1;
	return ret;
}

int ntm_noise_shape_parse(struct ntm_noise_shape *shape, const char *name, size_t len)
{
	/* The base name is upper case letters and digits; modifiers start at
	 * the first lower case letter. */
	size_t base = 0;
	while (base < len && !(name[base] >= 'a' && name[base] <= 'z'))
		base++;

	memset(shape, 0, sizeof(*shape));
	const struct pattern *p = find_pattern(name, base);
	if (!p)
		return -EPROTONOSUPPORT;
	int ret = fill_shape(shape, p);
	if (!ret)
		ret = apply_modifiers(shape, name + base, len - base);
	return ret;
}
