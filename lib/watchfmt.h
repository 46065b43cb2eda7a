/* watchfmt.h - a WATCH event (doc/control.md 3.12) as one line of text
 * or one JSON object, for `ntmctl watch [--json]`. Pure: no I/O;
 * tests/unit/test_watch.c. */
#ifndef NTM_WATCHFMT_H
#define NTM_WATCHFMT_H

#include <stddef.h>

#include "ctlproto.h"

#define NTM_WATCHFMT_LINE_MAX 1024     /* any event fits, with its newline and NUL */

/* "2026-12-06T01:40:00.123Z peer b.ntm.example.org path relay 192.0.2.10:7542
 * (no direct candidate answered the probes)\n". Returns the length, or
 * -EMSGSIZE (out holds "" then). */
int ntm_watchfmt_text(char *out, size_t cap, const struct ntm_lctl_event *e);
/* {"time": "...", "time_ms": N, "event": "path", "peer": "...", ...}\n: only
 * the fields the event has. */
int ntm_watchfmt_json(char *out, size_t cap, const struct ntm_lctl_event *e);
/* A JSON string with its quotes: '"' and '\' escaped, control bytes and
 * bytes above 0x7e as \u00XX. Returns the length, or -EMSGSIZE. */
int ntm_watchfmt_json_string(char *out, size_t cap, const char *s);
/* "start", "dc", "up", "down", "path", "endpoint", "rekey", "dropped". */
const char *ntm_watchfmt_kind(unsigned kind);

#endif
