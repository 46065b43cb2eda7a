/* fuzz_policy.c - libFuzzer target: the access policy parser (lib/policy.c)
 * and, for a policy that parses, its evaluation and description.
 *
 *   make fuzz FUZZ_TARGETS=fuzz_policy
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *names[] = { "a.ntm.example.org", "b.eng.ntm.example.org",
				       "x.other.example.net", "eng.ntm.example.org" };
	struct ntm_policy *p = NULL;
	struct ntm_conf_error err;
	char line[1024];
	unsigned rule;

	if (ntm_policy_parse_mem("fuzz.policy", data, size, &p, &err) < 0) {
		ntm_conf_error_format(&err, line, sizeof(line));
		if (p || strnlen(err.msg, sizeof(err.msg)) == sizeof(err.msg))
			abort();
		return 0;
	}
	for (size_t i = 0; i < 4; i++)
		for (size_t j = 0; j < 4; j++)
			if (ntm_policy_allows(p, names[i], names[j], &rule) !=
			    (rule > 0 && rule <= ntm_policy_nrules(p)))
				abort();
			else if (ntm_policy_peer_ok(p, names[i], names[j], false) &&
				 !ntm_policy_peer_ok(p, names[i], names[j], true))
				abort(); /* asking never takes a peer away */
	for (size_t i = 0; i <= ntm_policy_ngroups(p); i++)
		ntm_policy_group_text(p, i, line, sizeof(line), NULL);
	for (size_t i = 0; i <= ntm_policy_nrules(p); i++)
		ntm_policy_rule_text(p, i, line, sizeof(line), NULL);
	ntm_policy_free(p);
	return 0;
}
