/* sandbox_conf.c - the Seccomp setting of the daemons' configuration (see
 * sandbox.h); apart from sandbox.c so that the tools reading the same
 * files (ntm-dcctl, ntm-relayctl) need no libseccomp. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "conf.h"
#include "sandbox.h"
#include "util.h"

int ntm_sandbox_mode_parse(const char *text, enum ntm_sandbox_mode *m)
{
	static const char *const names[] = { "enforce", "log", "off" };

	for (size_t i = 0; i < NTM_ARRAY_SIZE(names); i++) {
		if (strcmp(text, names[i]) == 0) {
			*m = (enum ntm_sandbox_mode)i;
			return 0;
		}
	}
	return -EINVAL;
}

const char *ntm_sandbox_mode_name(enum ntm_sandbox_mode m)
{
	switch (m) {
	case NTM_SANDBOX_ENFORCE: return "enforce";
	case NTM_SANDBOX_LOG: return "log";
	case NTM_SANDBOX_OFF: return "off";
	}
	return "?";
}

int ntm_sandbox_conf_mode(const struct ntm_conf *c, const char *path, const char *section,
			  const char *text, enum ntm_sandbox_mode *m, char *msg, size_t msglen)
{
	char q[NTM_CONF_QUOTE_BUF];

	if (ntm_sandbox_mode_parse(text, m) == 0)
		return 0;
	const struct ntm_conf_entry *e = c ? ntm_conf_get(c, section, "Seccomp") : NULL;
	snprintf(msg, msglen, "%s:%u: Seccomp: '%s' is not enforce, log or off", path,
		 e ? e->line : 0, ntm_conf_quote(q, text));
	return -EINVAL;
}
