/* dc_diag.h - what the DC tells its operator about handshakes it cannot
 * take (doc/protocol.md 2.10): a bad mac1 (the node holds another DC
 * public key), a key that is not enrolled (the command that enrols it),
 * a timestamp off the DC's clock. Pure: state, time and input in, a
 * verdict or a line of text out; dc_proto.c logs and sends.
 *
 * Log lines are rate limited per source and kind (one a minute) and in all
 * (DC_DIAG_LOG_BURST lines, then DC_DIAG_LOG_RATE a minute), so a flood of
 * bad packets from many addresses costs a few lines. Refusals of unenrolled
 * keys are limited in all to DC_DIAG_REFUSE_RATE a second. */
#ifndef NTM_DC_DIAG_H
#define NTM_DC_DIAG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

enum dc_diag_kind { DC_DIAG_BAD_MAC, DC_DIAG_UNENROLLED, DC_DIAG_SKEW, DC_DIAG_NKINDS };

#define DC_DIAG_SLOTS 256             /* per-source memory: DC_DIAG_WAYS-way sets */
#define DC_DIAG_WAYS 4                /* a source is forgotten early only when 4 others share its set */
#define DC_DIAG_PER_SOURCE_MS 60000   /* one line per source and kind this often */
#define DC_DIAG_LOG_BURST 20          /* lines in all, at once */
#define DC_DIAG_LOG_RATE 20           /* lines in all, per minute after the burst */
#define DC_DIAG_REFUSE_RATE 10        /* HANDSHAKE_REFUSEs to unenrolled keys, per second */

struct dc_diag {
	uint64_t seed;
	struct { uint64_t key; uint64_t last_ms; } slot[DC_DIAG_SLOTS];
	uint64_t log_tokens_ms;       /* global log bucket: time of the last refill */
	uint32_t log_tokens;
	uint64_t refuse_ms;           /* global refusal bucket */
	uint32_t refuse_tokens;
	uint64_t suppressed;          /* lines not logged since the last one logged */
};

void dc_diag_init(struct dc_diag *g, uint64_t seed);

/* May a line of this kind about this source be logged now? Takes the
 * source's slot and a global token when so; otherwise counts it in
 * g->suppressed. */
bool dc_diag_log_allow(struct dc_diag *g, enum dc_diag_kind k, const struct sockaddr *src,
		       uint64_t now_ms);

/* May the DC send a HANDSHAKE_REFUSE to an unenrolled key now? */
bool dc_diag_refuse_allow(struct dc_diag *g, uint64_t now_ms);

/* The lines (src: the source as text, key: base64). The unenrolled line
 * carries the command that enrols the key, NAME to be chosen. */
void dc_diag_fmt_bad_mac(char *buf, size_t cap, const char *src, const char *dc_key);
void dc_diag_fmt_unenrolled(char *buf, size_t cap, const char *src, const char *key,
			    bool refused);
void dc_diag_fmt_skew(char *buf, size_t cap, const char *node, const char *src, int64_t ahead_s,
		      bool ahead);

#endif
