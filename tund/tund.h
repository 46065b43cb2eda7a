/* tund.h - ntm-tund's state, shared by its files:
 *   tund.c     main: options, configuration, key, TUN, sockets, privileges
 *   dclink.c   the session with the DC: handshake, REGISTER, KEEPALIVE,
 *              backoff and re-registration, underlay changes
 *   underlay.c our own addresses and routes, watched through rtnetlink
 *   peer.c     peers: Route Directions, handshakes, sessions, the sweep
 *   data.c     the packet paths TUN <-> UDP
 *   resolve.c  RESOLVE_NAME/ADDR and PEERS on the control socket
 *   ping.c     overlay ping
 *   nssfile.c  the zone file nss_ntm reads
 *   ctl.c      the control socket's request dispatch */
#ifndef NTM_TUND_H
#define NTM_TUND_H

#include <stdbool.h>
#include <stdint.h>

#include "ctlserver.h"
#include "evloop.h"
#include "idmap.h"
#include "peer.h"
#include "policy.h"
#include "resolvedlink.h"
#include "cookie.h"
#include "dcpick.h"
#include "gro.h"
#include "hsgate.h"
#include "session.h"
#include "tund_config.h"
#include "udp.h"
#include "underlay.h"

enum dc_state {
	DC_CONNECTING = 1,   /* handshake or REGISTER in flight, not yet answered */
	DC_REGISTERED = 2,   /* REGISTER_ACK OK and keepalives answered */
	DC_UNREACHABLE = 3,  /* attempts keep failing; retrying with backoff */
	DC_REFUSED = 4,      /* the DC refused the registration (name/key) */
};

/* Timers of the DC link (doc/protocol.md section 7). */
#define DC_RETRY_MIN_MS 500
#define DC_RETRY_MAX_MS 30000
#define DC_REGISTER_RETRY_MS 2000
#define DC_ACK_TIMEOUT_MAX_MS 5000
#define DC_MISSED_ACKS 2
#define DC_RESOLVE_MIN_MS 5000     /* a host-name Endpoint resolved again at most this often */
#define REKEY_AFTER_TIME_MS 120000
#define REJECT_AFTER_TIME_MS 180000

/* Admission of peers' HANDSHAKE_INITs (doc/protocol.md 7): a node answers
 * a few peers, so small budgets; a DC-sized cookie budget is not needed. */
#define TUND_HSGATE_CONF { .global_rate = 500, .reserve_pct = 25, .src_rate = 50, \
			   .proven_rate = 50, .cookie_rate = 20, .cookie_global = 5000, \
			   .recent_ms = 600000 }

/* Counters shown by `ntmctl stats` (names as printed). */
#define TUND_STATS(X) \
	X(rx_packets) X(tx_packets) X(rx_data_bytes) X(tx_data_bytes) \
	X(drop_malformed) X(drop_unknown) X(drop_auth) X(drop_replay) \
	X(drop_bad_mac) X(cookies_sent) X(drop_ratelimit) X(drop_overload) X(cookies_received) \
	X(drop_unknown_peer) X(drop_inner_src) X(drop_bad_inner) X(policy_drops) X(policy_refused) \
	X(drop_hs_duplicate) X(tx_seal_failed) X(tx_no_path) X(tx_send_failed) \
	X(tun_rx_packets) X(tun_tx_packets) X(tun_no_peer) X(tun_queue_full) X(tun_queue_dropped) \
	X(tun_queue_nomem) \
	X(registrations) X(dc_switches) X(dc_icmp_moves) X(dc_handshakes) X(dc_refusals) X(peer_handshakes) X(peer_handshakes_sent) \
	X(hs_early_answered) \
	X(probes_sent) X(probes_received) X(relay_tx) X(relay_rx) X(path_upgrades) \
	X(bday_started) X(bday_succeeded) X(bday_failed) \
	X(table_put_failed) \
	X(underlay_changes) X(underlay_overruns) \
	X(ctl_refused) X(ctl_deadline) X(ctl_idle) X(ctl_accept_nofd) \
	X(resolve_negative_hits) X(resolve_refused_pending) X(peers_refused_max) \
	X(peers_forgotten) X(hs_deferred) \
	X(tun_gso_packets) X(tun_gso_segments) X(tun_gso_bad) X(tx_trains) X(tx_relay_trains) X(tx_gso_fallback) \
	X(rx_gro_trains) X(tun_gro_merged) X(tun_gro_packets) X(tun_write_failed) \
	X(tun_txq_drops) X(udp_socket_drops) \
	X(resolve_requests) X(namemap_full) X(peers_downed) \
	X(workers) X(worker_rx) X(worker_tun_rx) X(worker_to_main) X(worker_ring_full) \
	X(lanes_sent) X(lanes_received) X(lanes_refused) X(rx_lane_data) \
	X(icmp_errors)

/* The node's link with its DC. dclink.c alone writes it, except req_id,
 * which peer.c also draws DIRECTION_REQ ids from; others read state, sess
 * (its local index is taken) and, for status, the rest. */
struct dclink {
	enum dc_state state;
	int phase;                         /* what the timer waits for (dclink.c) */
	/* The DC's endpoints as used on our (dual-stack) socket, v4 mapped
	 * there; indexed UL_V4/UL_V6, ss_family 0 where there is none. */
	struct sockaddr_storage ep[UL_NFAM];
	socklen_t eplen[UL_NFAM];
	unsigned usable;                   /* UL_BIT()s of ep[] that are set */
	int use;                           /* the endpoint in use */
	struct ntm_hs_pending hs;
	uint8_t hs_pkt[NTM_HS_INIT_LEN];   /* hs's HANDSHAKE_INIT (mac2 zero) */
	bool hs_cookie_resent;             /* it went again at once with a new cookie's mac2 */
	struct ntm_session sess;
	uint64_t sess_ms;                  /* when sess was established */
	struct ntm_timer timer;            /* retries, REGISTER resend, keepalive */
	uint64_t backoff_ms;
	unsigned failures;
	uint32_t req_id;                   /* last id drawn (REGISTER, DIRECTION_REQ) */
	uint32_t reg_id;                   /* the REGISTER awaiting its ack */
	uint32_t ka_seq;
	uint64_t incarnation;              /* random per process start, non-zero (REGISTER) */
	unsigned ka_missed, reg_tries;
	bool ka_waiting;
	uint64_t ka_sent_ms;               /* when the keepalive waited for went */
	uint32_t srtt_ms;                  /* smoothed KEEPALIVE round trip, 0: none yet */
	uint64_t last_ack_ms;              /* last REGISTER_ACK or KEEPALIVE_ACK */
	uint64_t keepalive_ms;
	struct ntm_endpoint observed;      /* this node as the DC sees it */
	bool refused;                      /* the DC's last answer was a HANDSHAKE_REFUSE */
	bool hs_answered;                  /* the pending handshake got an answer */
	struct ntm_refuse why;             /* that refusal (dcdiag.h) */
	/* ICMP errors on the main socket (IP_RECVERR, asked for while the DC
	 * does not answer): the last one about a DC endpoint (dcdiag.h) */
	bool icmp_watch;
	uint8_t icmp;                      /* enum dcdiag_icmp */
	uint64_t icmp_ms;
	char icmp_from[64];
	uint8_t why_ours[12];              /* our clock when it came */
	uint64_t refusal_log_ms;           /* when a refusal was last logged */
	uint64_t last_heard_ms;            /* last authenticated datagram from the DC */
	uint64_t resolved_ms;              /* [DC] Endpoint's name last resolved again */
	struct dcpick pick;                /* which DC instance is in use (dcpick.c) */
	struct underlay ul;                /* our underlay as last scanned */
	uint64_t ul_changed_ms;            /* when it last changed (first: at start) */
};

/* The offload data path (Offload = auto; data.c). Its buffers and the
 * coalescer belong to the thread that moves packets: with several queues
 * (IFF_MULTI_QUEUE, one thread each) there is one of these per queue. */
#define NTM_TUN_MAX_READ 65536        /* a GSO super-packet: the TUN's gso_max_size */
#define TUND_TUNBUF (NTM_DATA_HDR_LEN + NTM_TUN_MAX_READ + 64)
struct tund_dp {
	bool vnet;                         /* ntm0 carries virtio_net_hdrs (IFF_VNET_HDR) */
	unsigned tun_offloads;             /* TUN_F_* the kernel granted */
	bool udp_gso;                      /* send trains with UDP_SEGMENT (off after an EIO) */
	bool udp_gro;                      /* UDP_GRO is on on the main socket */
	struct ntm_gro gro;                /* decrypted TCP segments -> super-packets */
	/* TUN reads: the packet at +NTM_DATA_HDR_LEN, its virtio_net_hdr just before */
	uint8_t tunbuf[TUND_TUNBUF];
	/* a train of sealed segments of one super-packet, back to back */
	uint8_t train[NTM_MAX_DATAGRAM + 64];
	/* the same train in RELAY capsules, when the path is the relay (path.c) */
	uint8_t relay_train[NTM_MAX_DATAGRAM + 64];
	/* the main socket's receive batch when UDP_GRO is off (tund.c) */
	struct ntm_udp_rxbatch rx;
	uint8_t rxbufs[NTM_UDP_BATCH][NTM_MAX_DATAGRAM + 64];
};

struct tund_stats {
#define X(name) uint64_t name;
	TUND_STATS(X)
#undef X
};

/* ntm0's split DNS on systemd-resolved (resolvedlink.c) */
struct sd_bus;
struct tund_rlink {
	struct sd_bus *bus;                /* NULL: not in use */
	struct ntm_io io;
	struct ntm_timer timer;
	int ifindex;
	bool set;                          /* something set: RevertLink at stop */
	struct rl_plan last;               /* what was sent */
};

struct tund {
	struct tund_config cfg;
	struct ntm_identity id;
	struct ntm_loop *loop;
	int udp_fd;
	struct ntm_io udp_io;
	int tun_fd;
	struct ntm_io tun_io;
	char ifname[16];
	struct tund_stats stats;
	uint64_t started_ms;               /* the loop's clock at start (uptime gauge) */
	struct ntm_policy *policy;         /* [Policy] File, read at start; NULL: none */

	struct dclink dc;                  /* the session with the DC (dclink.c) */
	struct underlay_watch ulw;         /* rtnetlink: tells dclink.c of changes */
	/* what the last REGISTER_ACK gave us */
	bool configured;                   /* ntm0 carries the addresses */
	uint8_t vip4[4], plen4, vip6[16], plen6;
	char fqdn[NTM_NAME_MAX + 1];
	uint8_t nzones;
	char zones[NTM_MAX_ZONES][NTM_NAME_MAX + 1];

	struct tund_rlink rl;           /* [DNS] Resolved (resolvedlink.c) */
	struct ntm_ctlsrv *ctl;            /* control socket */
	struct namemap_w *nmap;            /* the names map (namemap.c); NULL: none */

	/* peers (peer.c) */
	int udp_family;                    /* AF_INET6 (dual-stack) or AF_INET */
	struct ntm_hsgate gate;            /* admission of peers' HANDSHAKE_INITs */
	struct ntm_cookie_jar jar;         /* cookies the DC and peers gave us, per endpoint */
	struct ntm_idmap peers_all;        /* pointer -> peer */
	struct ntm_idmap peers_name, peers_v4, peers_v6, peers_key;
	struct ntm_idmap sess_index;       /* local session index -> peer */
	struct ntm_idmap peers_route;      /* route ID -> peer (probes) */
	struct ntm_idmap peers_relay;      /* relay allocation ID -> peer */
	struct ntm_timer peer_timer;
	struct ping_job *pings;
	struct watcher *watchers;          /* WATCH connections (watch.c) */
	uint8_t watch_dc_last;             /* the DC state last told them */
	struct netcheck *netcheck;         /* the netcheck running, NULL: none (netcheck.c) */
	struct early_hs early[EARLY_HS];
	struct peer *bday_peer;            /* the one peer a birthday search runs for */
	/* bounded work per local user (peerlimits.h, doc/control.md 1.2) */
	struct negcache neg;               /* names and addresses the DC said are not enrolled */
	unsigned pending;                  /* peers with a Direction Request outstanding */
	struct uidcount pending_uid;       /* of those, per control-socket uid */
	struct hs_budget hs_budget;        /* initiations for peers without a session */
	uint64_t cap_log_ms;               /* last log line about a limit */
	uint64_t cap_log_quiet;            /* limit refusals not logged since */
	unsigned early_next;

	/* packet threads (worker.c): nworkers counts the main thread; 1: none */
	unsigned nworkers;
	unsigned index_rr;                 /* the worker the next session index is for */
	struct tund_workers *w;
	void (*sessions_changed)(struct tund *t); /* NULL with one worker */

	struct tund_dp dp;                       /* Offload = auto (data.c) */
	uint8_t buf[NTM_MAX_DATAGRAM + 64];      /* receive (UDP, TUN) */
	uint8_t sendbuf[NTM_MAX_DATAGRAM + 64];  /* queued packets, control replies */
	uint8_t relaybuf[NTM_MAX_DATAGRAM + 64]; /* capsules to the relay */
};

/* netcheck.c: `ntmctl netcheck` (deferred reply; TRYAGAIN while one runs
 * or the node is not registered) */
int netcheck_request(struct tund *t, struct ntm_ctlconn *c, const struct ntm_lctl_req *req,
		     uint8_t *out, size_t cap);
void netcheck_on_echo(struct tund *t, const struct ntm_ctl_netcheck_echo *e);
/* NETCHECK_RELAYS from the DC, and a RELAY_PROBE (echo) from a relay. */
void netcheck_on_relays(struct tund *t, const struct ntm_ctl_netcheck_relays *m);
void netcheck_on_relay_echo(struct tund *t, const uint8_t *buf, size_t len,
			    const struct ntm_udp_meta *m);
/* Is src the DC's second address, while a netcheck probes it? */
bool netcheck_from_alt(const struct tund *t, const struct sockaddr *src);
void netcheck_free(struct tund *t);

/* dcicmp.c: ICMP errors on the main socket, asked for (on) while the DC
 * does not answer; tund_icmp_drain reads them when epoll says EPOLLERR,
 * and asks for none any more once registered (the queue is emptied). */
void tund_icmp_watch(struct tund *t, bool on);
void tund_icmp_drain(struct tund *t, int fd);

/* tund.c: reads datagrams from one of our UDP sockets (arg: the tund) */
void tund_on_udp(struct ntm_io *io, uint32_t events, void *arg);
/* One datagram, or each of a UDP_GRO train, to its handler (main thread). */
void tund_on_datagrams(struct tund *t, uint8_t *buf, size_t n, const struct ntm_udp_meta *m);

/* dclink.c */
/* Takes the first underlay snapshot and starts the handshake; 0, or -errno
 * when no configured DC endpoint can be used from our socket (logged). */
int dclink_start(struct tund *t);
int dclink_resolve(struct tund *t);
void dclink_stop(struct tund *t);
/* Whether a datagram from src (as received on our socket) is the DC's:
 * from either of its endpoints. */
bool dclink_is_dc(const struct tund *t, const struct sockaddr *src);
/* A datagram from the DC's address (already read into buf). */
void dclink_on_datagram(struct tund *t, uint8_t *buf, size_t len);
/* Force a new handshake and registration now (ntmctl reregister). */
void dclink_reregister(struct tund *t);
/* An ICMP error (what: its kind, in words) about a datagram to the DC
 * instance in use: with several instances, while a keepalive is awaited,
 * the node moves to the next at once (dcicmp.c calls it). */
void dclink_icmp(struct tund *t, const char *what);
/* Why we are not registered, for ntmctl status (dcdiag.h); "" when we are. */
void dclink_diag(const struct tund *t, char *info, size_t info_cap, char *hint, size_t hint_cap);
/* Seal a control message into the DC session and send it. */
void dclink_send(struct tund *t, const struct ntm_ctl *m);
/* The underlay watcher's callback (arg: the tund): on a change, log it,
 * REGISTER again or handshake at once, then peer_on_underlay_change. */
void dclink_on_underlay(void *arg, const struct underlay *now, int err);

/* nssfile.c */
void nssfile_write(struct tund *t);

/* namemap.c: the names map nss_ntm reads live names from (doc/namemap.md) */
void namemap_open(struct tund *t);   /* at start, before the sandbox; failure is logged */
void namemap_sync(struct tund *t);   /* each peer sweep: publish, renew, remove */
void namemap_close(struct tund *t);  /* at exit: CLOSED, unlinked */

/* ctl.c */
int ctl_open(struct tund *t, uid_t owner, gid_t group);
void ctl_close(struct tund *t);

#endif
