/* session.h - ntm's Noise IK handshake as framed in doc/protocol.md
 * (HANDSHAKE_INIT / HANDSHAKE_RESP with prologue and mac1), and the
 * resulting transport session: sealing and opening DATA capsules with the
 * counter nonce and the anti-replay window.
 *
 * One struct ntm_session per established session; one struct ntm_hs_pending
 * per handshake in flight. Neither allocates. Every function returns 0 (or a
 * length) or a negative errno and never logs: the caller counts drops. */
#ifndef NTM_SESSION_H
#define NTM_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto.h"
#include "noise.h"
#include "replay.h"
#include "wire.h"

/* A node's, DC's or relay's long-term identity. */
struct ntm_identity {
	uint8_t priv[NTM_DH_LEN];
	uint8_t pub[NTM_DH_LEN];
};

/* Derive pub from priv. */
int ntm_identity_init(struct ntm_identity *id, const uint8_t priv[NTM_DH_LEN]);
void ntm_identity_clear(struct ntm_identity *id);

/* TAI64N timestamp of CLOCK_REALTIME (12 bytes, big-endian). */
void ntm_tai64n_now(uint8_t out[12]);

struct ntm_session {
	struct ntm_noise_cs tx, rx;
	uint32_t local_index;         /* index peers put in DATA to reach us */
	uint32_t remote_index;        /* index we put in DATA to reach them */
	uint64_t tx_next;             /* next counter to send */
	struct ntm_replay replay;
	uint8_t remote_pub[NTM_DH_LEN];
	uint8_t suite, purpose;
	bool initiator;
	bool confirmed;               /* initiator: always; responder: after first valid DATA */
	bool valid;
};

void ntm_session_clear(struct ntm_session *s);

/* Handshake in flight, initiator side. */
struct ntm_hs_pending {
	struct ntm_noise_hs hs;
	uint32_t local_index;
	uint8_t suite, purpose;
	uint8_t remote_pub[NTM_DH_LEN];
	bool active;
};

/* Start a handshake to remote_pub: fills p and writes a HANDSHAKE_INIT of
 * NTM_HS_INIT_LEN bytes to out (cap >= NTM_HS_INIT_LEN). route_id goes into
 * the payload (0 for DC and relay sessions). Returns the length. */
int ntm_hs_initiate(struct ntm_hs_pending *p, const struct ntm_identity *me,
		    const uint8_t remote_pub[NTM_DH_LEN], uint8_t suite, uint8_t purpose,
		    uint32_t local_index, uint64_t route_id, uint8_t *out, size_t cap);

/* Initiator: process the HANDSHAKE_RESP in buf. On success the session is
 * established (confirmed) and p is cleared. -EBADMSG when the message is
 * malformed, not for this handshake (receiver index) or fails mac1: p stays
 * usable. -EPROTO when it passed mac1 but failed the Noise read: p is then
 * spent (Noise state cannot be rewound) and the caller retries later. */
int ntm_hs_complete(struct ntm_hs_pending *p, const struct ntm_identity *me,
		    const uint8_t *buf, size_t len, struct ntm_session *s);

/* Responder, step 1: check mac1 and read a HANDSHAKE_INIT. On success the
 * initiator's static key, timestamp and route ID are in *info, and r holds
 * the state for step 2. The caller must now decide whether to answer (key
 * enrolled / expected, timestamp newer than the last one from that key); if
 * not, it calls ntm_hs_responder_clear and sends nothing. */
struct ntm_hs_init_info {
	uint8_t initiator_pub[NTM_DH_LEN];
	uint8_t timestamp[12];
	uint64_t route_id;
	uint32_t sender_index;
	uint8_t suite, purpose;
};
struct ntm_hs_responder {
	struct ntm_noise_hs hs;
	struct ntm_hs_init_info info;
};
int ntm_hs_respond_begin(struct ntm_hs_responder *r, const struct ntm_identity *me,
			 const uint8_t *buf, size_t len);
/* Responder, step 2: write the HANDSHAKE_RESP (NTM_HS_RESP_LEN bytes) and
 * establish the session (unconfirmed until the first DATA arrives). r is
 * wiped, r->info included: copy what you keep from it (the timestamp)
 * before calling. */
int ntm_hs_respond_finish(struct ntm_hs_responder *r, uint32_t local_index,
			  uint8_t *out, size_t cap, struct ntm_session *s);
void ntm_hs_responder_clear(struct ntm_hs_responder *r);

/* Responder, instead of step 2: HANDSHAKE_REFUSE (protocol.md 2.10), why
 * encrypted as the payload of Noise IK message 2, so only the holder of
 * the init's ephemeral and static private keys reads it; mac1 as on
 * HANDSHAKE_RESP. No session results. r is wiped. Returns
 * NTM_HS_REFUSE_LEN or -errno. */
int ntm_hs_refuse(struct ntm_hs_responder *r, const struct ntm_refuse *why, uint8_t *out,
		  size_t cap);

/* Initiator: read a HANDSHAKE_REFUSE. -EBADMSG when it is malformed, not
 * for p (receiver index) or fails mac1: p stays usable. -EPROTO when the
 * Noise read failed: p is spent, as in ntm_hs_complete. 0 with *why
 * filled: the DC refused this handshake, and p is cleared. */
int ntm_hs_read_refuse(struct ntm_hs_pending *p, const struct ntm_identity *me,
		       const uint8_t *buf, size_t len, struct ntm_refuse *why);

/* Handshake timestamps (TAI64N labels, 12 bytes). The DC's decision for
 * an init stamped ts from a key whose newest accepted init was stamped
 * last (all zero: none), with its own clock at now: accept only what is
 * newer than last and at most max_ahead_s seconds ahead of now. */
enum ntm_ts_verdict { NTM_TS_ACCEPT, NTM_TS_OLD, NTM_TS_AHEAD };
enum ntm_ts_verdict ntm_hs_ts_check(const uint8_t ts[12], const uint8_t last[12],
				    const uint8_t now[12], uint32_t max_ahead_s);
/* a - b in whole seconds (nanoseconds ignored), saturating. */
int64_t ntm_tai64n_diff_s(const uint8_t a[12], const uint8_t b[12]);
/* The operator's line for a refusal of our init stamped ours: which clock
 * is off by how much, and what to do. Fits NTM_REFUSE_TEXT_MAX. */
#define NTM_REFUSE_TEXT_MAX 127
void ntm_refuse_describe(const struct ntm_refuse *why, const uint8_t ours[12], char *buf,
			 size_t cap);

/* Seal plaintext already placed at buf + NTM_DATA_HDR_LEN (ptlen bytes; buf
 * has room for ptlen + NTM_DATA_OVERHEAD): writes the header and tag in
 * place. Returns the datagram length, or -EKEYEXPIRED once the counter limit
 * is reached (the session must be replaced), -EPROTO for an unconfirmed
 * responder session. */
int ntm_session_seal(struct ntm_session *s, uint8_t *buf, size_t ptlen);

/* Open a DATA datagram addressed to this session (receiver index already
 * matched by the caller), in place: the plaintext is at buf +
 * NTM_DATA_HDR_LEN, its length in *ptlen. Checks counter limit and replay
 * window before and after authentication; records the counter only after
 * the tag verified. -EBADMSG (malformed or forged), -EALREADY (replay or too
 * old). A responder session becomes confirmed on its first success. */
int ntm_session_open(struct ntm_session *s, uint8_t *buf, size_t len, size_t *ptlen);

/* Protocol name for a suite byte, or NULL. */
const char *ntm_suite_protocol(uint8_t suite);

/* PROBE messages (doc/protocol.md 2.6). The probe key of a route is
 * HKDF-SHA256(salt "ntm1-probe", ikm X25519(own private, peer public),
 * info route ID big-endian): both nodes compute the same key from what the
 * DC's Route Direction told them, nobody else (the DC included) can. */
int ntm_probe_key(uint8_t key[32], const struct ntm_identity *me, const uint8_t peer_pub[32],
		  uint64_t route_id);
/* The tag: the first 16 bytes of HMAC-SHA256(key, the 28 header bytes),
 * written into msg (NTM_PROBE_LEN bytes). */
void ntm_probe_sign(const uint8_t key[32], uint8_t *msg);
/* Constant-time check of a received PROBE's tag. */
bool ntm_probe_verify(const uint8_t key[32], const uint8_t *msg);

#endif
