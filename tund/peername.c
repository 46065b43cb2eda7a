/* peername.c - see peername.h. */
#include "peername.h"

#include <errno.h>
#include <string.h>

static int below(const struct ntm_name *n, const char *zone)
{
	size_t zl = strlen(zone);

	return n->len > zl + 1 && n->s[n->len - zl - 1] == '.' && strcmp(n->s + n->len - zl, zone) == 0;
}

int peername_check(const char *in, const char (*zones)[NTM_NAME_MAX + 1], uint8_t nzones,
		   struct ntm_name *out)
{
	if (ntm_name_set(out, in) < 0)
		return -EINVAL;
	if (!strchr(out->s, '.'))
		return -ENOENT; /* "bob": not ours to qualify */
	if (!nzones)
		return 0;
	for (uint8_t i = 0; i < nzones; i++) {
		if (below(out, zones[i]))
			return 0;
	}
	return -ENOENT;
}
