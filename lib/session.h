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

#define NTM_SESSION_MT_MAX 16
struct ntm_session_mt;

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
	/* The peer's receive lanes (LANES, protocol.md 5.18): the indices it
	 * opens this session's DATA under, thread q of ours using
	 * lane_remote[q mod nlanes_remote]. Taken once per session; used only
	 * when the session is shared by threads (mt), so a node with one
	 * thread keeps remote_index. */
	uint32_t lane_remote[NTM_SESSION_MT_MAX];
	uint8_t nlanes_remote;
	/* Shared by threads (ntm_session_mt_new): when set, the counter and
	 * the window here are unused and mt's hold the truth. Not owned:
	 * ntm_session_clear leaves it to whoever made it. */
	struct ntm_session_mt *mt;
};

void ntm_session_clear(struct ntm_session *s);

/* A session several threads seal and open at once (ntm-tund's workers):
 * one counter (ntm_counter_next_mt) and one window (struct ntm_replay_mt)
 * for all of them, and a cipher context per thread (a GnuTLS handle is
 * not for two threads at once). The owner of s keeps using s (its own
 * contexts, the shared counter and window through s->mt); thread i uses
 * ntm_session_mt_seal/open with i. Allocated once per session, never per
 * packet; immutable after ntm_session_mt_new but for the atomics. */
struct ntm_session_mt {
	_Atomic uint64_t tx_next;
	struct ntm_replay_mt replay;
	uint32_t local_index, remote_index;
	/* Our receive lanes: the receiver indices besides local_index this
	 * session is opened under (one per thread; set by the owner before the
	 * session is shared, immutable after). */
	uint32_t lane_local[NTM_SESSION_MT_MAX];
	unsigned nlanes_local;
	/* The peer's, as s->lane_remote (written once, count last). */
	_Atomic uint32_t lane_remote[NTM_SESSION_MT_MAX];
	_Atomic unsigned nlanes_remote;
	bool confirmed;                      /* as the session's, when shared */
	unsigned nthreads;
	struct ntm_noise_cs tx[NTM_SESSION_MT_MAX], rx[NTM_SESSION_MT_MAX];
};

/* Share s with nthreads threads (1..NTM_SESSION_MT_MAX): s->mt is set, its
 * counter and window carried over. 0, -EINVAL, -ENOMEM. */
int ntm_session_mt_new(struct ntm_session *s, unsigned nthreads);
/* Free what ntm_session_mt_new made (after every thread is done with it). */
void ntm_session_mt_free(struct ntm_session_mt *m);
/* As ntm_session_seal and ntm_session_open, by thread thr (< nthreads);
 * *newest as roam_open's. */
int ntm_session_mt_seal(struct ntm_session_mt *m, unsigned thr, uint8_t *buf, size_t ptlen);
int ntm_session_mt_open(struct ntm_session_mt *m, unsigned thr, uint8_t *buf, size_t len,
			size_t *ptlen, bool *newest);
/* The peer's receive lanes for s (LANES, n = 1..NTM_SESSION_MT_MAX indices,
 * each non-zero), from then on put in the DATA s's threads seal when s is
 * shared: thread q uses idx[q mod n]. 0 when taken (or the same lanes again),
 * -EEXIST when s already has different ones (the first stay), -EINVAL. */
int ntm_session_set_lanes(struct ntm_session *s, const uint32_t *idx, unsigned n);
/* Does DATA with receiver index idx belong to m (its own index or a lane)? */
bool ntm_session_mt_has_index(const struct ntm_session_mt *m, uint32_t idx);
/* The next counter s sends with (shared or not). */
uint64_t ntm_session_tx_next(const struct ntm_session *s);
/* One more than the highest counter s accepted (0: none yet). */
uint64_t ntm_session_rx_top(const struct ntm_session *s);

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
