/* relayd.h - ntm-relayd's state, shared by its files:
 *   relayd.c        main: options, configuration, key, sockets, event loop,
 *                   control socket
 *   relayd_proto.c  datagrams: the DC's handshakes and session (RELAY_ALLOC,
 *                   RELAY_FREE), and RELAY capsules for the core
 *   relay.c         the relay core (allocations and forwarding) */
#ifndef NTM_RELAYD_H
#define NTM_RELAYD_H

#include <stdbool.h>
#include <stdint.h>

#include "ctlserver.h"
#include "evloop.h"
#include "hsgate.h"
#include "relay.h"
#include "relay_config.h"
#include "session.h"
#include "udp.h"

/* Handshake admission (doc/protocol.md 7): only the DC handshakes with a
 * relay, about once per REKEY_AFTER_TIME, so small budgets. */
#define RELAYD_HSGATE_CONF { .global_rate = 200, .reserve_pct = 25, .src_rate = 50, \
			     .proven_rate = 50, .cookie_rate = 20, .cookie_global = 2000, \
			     .recent_ms = 600000 }

/* Every datagram is counted once in rx_packets and, unless it is a RELAY
 * capsule (counted by the core, relay_* counters) or led to a state
 * change, in exactly one drop counter. None of the drops is answered. */
#define RELAYD_STATS(X) \
	X(rx_packets, "datagrams received") \
	X(tx_packets, "datagrams sent to the DC") \
	X(handshakes, "handshakes with the DC completed") \
	X(alloc_requests, "RELAY_ALLOC received from the DC") \
	X(free_requests, "RELAY_FREE received from the DC") \
	X(probe_keys, "RELAY_PROBE_KEY received from the DC") \
	X(drop_malformed, "dropped: malformed or unknown message") \
	X(drop_bad_mac, "dropped: handshake with a wrong mac1 (not for us; costs nothing)") \
	X(cookies_sent, "COOKIE_REPLY sent: under load, a handshake without a valid mac2") \
	X(drop_ratelimit, "dropped: handshake over its source's limit, or its cookie reply over the reply limits") \
	X(drop_overload, "dropped: handshake over the relay's global handshake budget") \
	X(drop_unauth, "dropped: handshake failed authentication") \
	X(drop_not_dc, "dropped: handshake from a key other than the DC's, or not for a relay") \
	X(drop_replayed_hs, "dropped: handshake timestamp not newer (replay)") \
	X(drop_unknown_index, "dropped: DATA for an unknown session") \
	X(drop_data_auth, "dropped: DATA failed authentication") \
	X(drop_data_replay, "dropped: DATA counter replayed or too old") \
	X(drop_bad_control, "dropped: control message malformed or not for a relay")

struct relayd_stats {
#define X(name, text) uint64_t name;
	RELAYD_STATS(X)
#undef X
};

/* A session with the DC. The newest and the one before it are kept, so
 * that a RELAY_ALLOC sent just before a rekey is still answered. */
struct relayd_dc_sess {
	struct ntm_session s;
	uint64_t created_ms;
};

struct relayd {
	struct relayd_config cfg;
	struct ntm_identity id;
	struct ntm_loop *loop;
	int fd4, fd6;
	struct ntm_io io4, io6;
	struct relay core;
	struct ntm_hsgate gate;          /* handshake admission (lib/hsgate.h) */
	struct relayd_dc_sess sess[2];   /* [0] newest */
	uint8_t last_ts[12];             /* newest HANDSHAKE_INIT timestamp from the DC */
	struct ntm_udp_meta dc_ep;       /* the DC's last authenticated source */
	int dc_fd;
	struct ntm_timer sweep;
	struct relayd_stats stats;
	struct ntm_ctlsrv *ctl;
	struct ntm_udp_rxbatch rx;       /* receive headers over bufs */
	uint8_t bufs[NTM_UDP_BATCH][NTM_MAX_DATAGRAM + 64];
};

/* relayd_proto.c */
void relayd_on_readable(struct ntm_io *io, uint32_t events, void *arg);
void relayd_sweep(struct ntm_timer *t, void *arg);
void relayd_clear_sessions(struct relayd *rd);
void relayd_log_stats(const struct relayd *rd);

#endif
