/* metrics.h - a STATS reply (doc/control.md 3.9) as text in the Prometheus
 * exposition format (version 0.0.4), for `ntmctl metrics` and `ntm-dcctl
 * metrics`; node_exporter's textfile collector reads it from a file.
 *
 * Each counter NAME becomes the family PREFIX_NAME_total (TYPE counter),
 * each gauge PREFIX_NAME (TYPE gauge), with one HELP and one TYPE line per
 * family. Names are sanitised to [a-zA-Z0-9_:] (anything else becomes '_'),
 * families are sorted by name, and a family that occurs twice (the codec
 * does not check that names are distinct) is printed once, with its first
 * value. HELP text has '\' and newline escaped as the format requires.
 * Pure: no I/O, no allocation; tests/unit/test_metrics.c. */
#ifndef NTM_METRICS_H
#define NTM_METRICS_H

#include <stddef.h>

#include "ctlproto.h"

/* A counter's or gauge's description for HELP, by its name in STATS. */
struct ntm_metrics_help {
	const char *name;
	const char *text;
};

#define NTM_METRICS_NAME_MAX 128      /* a family's name, with NUL */

/* Writes the exposition of st into out (cap bytes, NUL-terminated) and
 * returns its length, or -EMSGSIZE when cap is too small. prefix is e.g.
 * "ntm_tund"; daemon names the daemon in the default HELP text ("ntm-tund
 * counter rx_packets"); help (n_help entries, may be NULL) gives better
 * texts. 256 KiB holds any reply. */
int ntm_metrics_format(char *out, size_t cap, const char *prefix, const char *daemon,
		       const struct ntm_lctl_stats *st, const struct ntm_metrics_help *help,
		       size_t n_help);

/* A metric name from s: [a-zA-Z_:][a-zA-Z0-9_:]*, other bytes as '_', a
 * leading digit prefixed with '_'; truncated to fit cap (with NUL). */
void ntm_metrics_sanitize(char *out, size_t cap, const char *s);

/* HELP text with '\' as "\\" and newline as "\n"; truncated to cap. */
void ntm_metrics_escape_help(char *out, size_t cap, const char *s);

#endif
