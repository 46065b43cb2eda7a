/* policy.h - the access policy: which node may reach which (ntm-policy(5)).
 *
 * A policy file is lines of text; '#' starts a comment line, blank lines
 * are skipped, blanks (space, tab) separate words:
 *
 *	group NAME = PATTERN [PATTERN...]
 *	allow SET <-> SET        either side may initiate to the other
 *	allow SET -> SET         the left side may initiate to the right
 *
 * A PATTERN is a full node name (alice.ntm.example.org: that name only),
 * "*.SUFFIX" (every name with one or more labels before SUFFIX, not SUFFIX
 * itself) or "*" (every name). A SET is a PATTERN or "@NAME", a group
 * defined on an earlier line. Names are DNS names as doc/protocol.md
 * allows them, compared without case and without a trailing dot; they may
 * be in any zone.
 *
 * "A initiates to B": A asked for B (a Direction Request, a lookup of B's
 * name). A session set up so carries traffic both ways. With a policy,
 * everything no rule allows is denied; with none (a NULL policy) everything
 * is allowed.
 *
 * Pure: parsing and evaluation only, no logging, no global state. */
#ifndef NTM_POLICY_H
#define NTM_POLICY_H

#include <stdbool.h>
#include <stddef.h>

#include "conf.h"

#define NTM_POLICY_MAX_FILE (1024u * 1024u)
#define NTM_POLICY_MAX_LINE 4096u
#define NTM_POLICY_MAX_GROUPS 256u
#define NTM_POLICY_MAX_PATTERNS 4096u   /* in all groups together */
#define NTM_POLICY_MAX_RULES 1024u
#define NTM_POLICY_GROUP_MAX 63u        /* bytes of a group's name: [A-Za-z0-9_.-] */

struct ntm_policy;

/* Parses len bytes at buf as the policy file called name (for messages).
 * 0 and a new policy in *out, or -EINVAL (syntax), -EFBIG, -E2BIG (limits)
 * with *err filled ("name:line: ...", quoting the bad word), -ENOMEM. */
int ntm_policy_parse_mem(const char *name, const void *buf, size_t len, struct ntm_policy **out,
			 struct ntm_conf_error *err);
/* Reads the regular file at path and parses it; also the -errno of the
 * read ("cannot read: ..."). */
int ntm_policy_parse_file(const char *path, struct ntm_policy **out, struct ntm_conf_error *err);
/* Accepts NULL. */
void ntm_policy_free(struct ntm_policy *p);

/* May `from` initiate to `to` (full names, any case, trailing dot or
 * not)? A NULL policy allows everything (*rule = 0). Otherwise true with
 * the 1-based index of the first rule that allows it in *rule (rule may be
 * NULL), or false (*rule = 0). A name that is not valid is never
 * allowed. */
bool ntm_policy_allows(const struct ntm_policy *p, const char *from, const char *to,
		       unsigned *rule);

/* A node's verdict on a peer it has a route to (ntm-tund drops the inner
 * packets of a peer without it): the peer may initiate to self, or self
 * asked for the peer (asked) and may initiate to it. A NULL policy: yes. */
bool ntm_policy_peer_ok(const struct ntm_policy *p, const char *self, const char *peer,
			bool asked);

/* For ntm-dcctl policy show and check: the counts, and the n-th (0-based)
 * group or rule as one canonical line ("group eng = *.eng.example.org",
 * "allow @eng <-> db.example.org"), with its line in the file in *line.
 * Return the length snprintf would write, or -1 for n out of range. */
size_t ntm_policy_ngroups(const struct ntm_policy *p);
size_t ntm_policy_nrules(const struct ntm_policy *p);
int ntm_policy_group_text(const struct ntm_policy *p, size_t n, char *buf, size_t cap,
			  unsigned *line);
int ntm_policy_rule_text(const struct ntm_policy *p, size_t n, char *buf, size_t cap,
			 unsigned *line);

#endif
