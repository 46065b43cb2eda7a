/* wire.h - encoder and decoder for every ntm datagram and control message.
 * doc/protocol.md is the specification; this file follows it field by field.
 *
 * Decoders take untrusted bytes, read them through a bounded cursor
 * (cursor.h), check every length, count, enum and reserved field, require the
 * message to be consumed whole, and return 0 or -EBADMSG. Decoded slices
 * (noise bytes, ciphertext, inner datagram) point into the caller's buffer.
 * Encoders return the encoded length or -EMSGSIZE when cap is too small, and
 * -EINVAL for a struct that breaks the specification (e.g. a bad name).
 * No function allocates or logs. */
#ifndef NTM_WIRE_H
#define NTM_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NTM_WIRE_VERSION 1
#define NTM_MAX_DATAGRAM 65507
#define NTM_DC_PORT 7540
#define NTM_NODE_PORT 7541
#define NTM_RELAY_PORT 7542

enum ntm_msg_type {
	NTM_MSG_HS_INIT = 1,
	NTM_MSG_HS_RESP = 2,
	NTM_MSG_PROBE = 3,
	NTM_MSG_DATA = 4,
	NTM_MSG_RELAY = 5,
	NTM_MSG_COOKIE_REPLY = 6,
	NTM_MSG_HS_REFUSE = 7,
	NTM_MSG_RELAY_PROBE = 8,
};

enum ntm_suite { NTM_SUITE_AESGCM = 1, NTM_SUITE_CHACHAPOLY = 2 };
enum ntm_purpose { NTM_PURPOSE_DC = 1, NTM_PURPOSE_PEER = 2, NTM_PURPOSE_RELAY = 3, NTM_PURPOSE_FED = 4 };

#define NTM_HS_INIT_LEN 156
#define NTM_HS_INIT_MAC1_OFF 124       /* mac1 covers bytes 0..123 */
#define NTM_HS_INIT_MAC2_OFF 140       /* mac2 covers bytes 0..139 (mac1 included) */
#define NTM_HS_INIT_NOISE_LEN 116      /* e 32 + s 48 + payload 36 */
#define NTM_HS_INIT_PAYLOAD_LEN 20     /* timestamp 12 + route id 8 */
#define NTM_HS_RESP_LEN 76
#define NTM_HS_RESP_NOISE_LEN 48       /* e 32 + empty payload 16 */
#define NTM_HS_REFUSE_LEN 100
#define NTM_HS_REFUSE_NOISE_LEN 76     /* e 32 + payload 28 + tag 16 */
#define NTM_REFUSE_PAYLOAD_LEN 28      /* reason 1 + reserved 3 + 2 timestamps */
#define NTM_MAC1_LEN 16
#define NTM_MAC2_LEN 16
#define NTM_COOKIE_LEN 16
#define NTM_COOKIE_NONCE_LEN 24
#define NTM_COOKIE_REPLY_LEN 64        /* header 8 + nonce 24 + cookie 16 + tag 16 */
#define NTM_DATA_HDR_LEN 16
#define NTM_DATA_OVERHEAD 32           /* header + tag */
#define NTM_RELAY_HDR_LEN 16
#define NTM_RELAY_OVERHEAD 32
#define NTM_PROBE_LEN 44               /* header 28 + tag 16 */
#define NTM_PROBE_TAG_OFF 28
#define NTM_RELAY_PROBE_LEN 36         /* header 4 + nonce 8 + token 24 */
#define NTM_RELAY_TOKEN_LEN 24         /* key id 4 + not-after 4 + mac 16 */
#define NTM_RELAY_TOKEN_MAC_LEN 16
#define NTM_PROLOGUE_LEN 12            /* "ntm1" + HS_INIT bytes 0..7 */

#define NTM_NAME_MAX 253
#define NTM_MAX_ADDRS 16
#define NTM_MAX_CANDS 16
#define NTM_MAX_ZONES 8
#define NTM_MAX_LIVE_ROUTES 32         /* route IDs in one REGISTER or KEEPALIVE */

/* A transport address as carried on the wire (family 4 or 6). */
struct ntm_endpoint {
	uint8_t family;                /* 4 or 6 */
	uint16_t port;                 /* host order, 1..65535 */
	uint8_t addr[16];              /* first 4 bytes used for family 4 */
};

struct ntm_name {
	uint8_t len;                   /* 1..253 */
	char s[NTM_NAME_MAX + 1];      /* NUL-terminated */
};

/* ---- outer datagrams ---- */

/* Type of a datagram after checking type and version only; -EBADMSG for
 * anything shorter than 4 bytes, an unknown type or another version. */
int ntm_wire_type(const uint8_t *buf, size_t len);

struct ntm_hs_init {
	uint8_t suite, purpose;
	uint32_t sender;
	const uint8_t *noise;          /* NTM_HS_INIT_NOISE_LEN bytes at offset 8 */
	const uint8_t *mac1;           /* NTM_MAC1_LEN bytes at NTM_HS_INIT_MAC1_OFF */
	const uint8_t *mac2;           /* NTM_MAC2_LEN bytes at NTM_HS_INIT_MAC2_OFF */
};
int ntm_hs_init_decode(const uint8_t *buf, size_t len, struct ntm_hs_init *m);
/* Writes header and noise bytes; mac1 (ntm_mac1_put over the first
 * NTM_HS_INIT_MAC2_OFF bytes) and mac2 (cookie.h) are left zero. */
int ntm_hs_init_encode(uint8_t *buf, size_t cap, uint8_t suite, uint8_t purpose,
		       uint32_t sender, const uint8_t noise[NTM_HS_INIT_NOISE_LEN]);
/* Noise prologue for an init message: "ntm1" + bytes 0..7 of the message. */
void ntm_hs_prologue(uint8_t out[NTM_PROLOGUE_LEN], uint8_t suite, uint8_t purpose, uint32_t sender);

struct ntm_hs_resp {
	uint32_t sender, receiver;
	const uint8_t *noise;          /* NTM_HS_RESP_NOISE_LEN bytes */
	const uint8_t *mac1;
};
int ntm_hs_resp_decode(const uint8_t *buf, size_t len, struct ntm_hs_resp *m);
int ntm_hs_resp_encode(uint8_t *buf, size_t cap, uint32_t sender, uint32_t receiver,
		       const uint8_t noise[NTM_HS_RESP_NOISE_LEN]);

/* HANDSHAKE_REFUSE (protocol.md 2.10): the DC's answer to an authentic
 * HANDSHAKE_INIT it will not accept, sealed to that init's ephemeral key. */
struct ntm_hs_refuse {
	uint32_t receiver;             /* the init's sender index */
	const uint8_t *noise;          /* NTM_HS_REFUSE_NOISE_LEN bytes */
	const uint8_t *mac1;
};
int ntm_hs_refuse_decode(const uint8_t *buf, size_t len, struct ntm_hs_refuse *m);
int ntm_hs_refuse_encode(uint8_t *buf, size_t cap, uint32_t receiver,
			 const uint8_t noise[NTM_HS_REFUSE_NOISE_LEN]);

/* Its payload, once decrypted. */
enum ntm_refuse_reason {
	NTM_REFUSE_TS_OLD = 1,         /* timestamp not newer than the last accepted */
	NTM_REFUSE_TS_AHEAD = 2,       /* timestamp too far ahead of the DC's clock */
	NTM_REFUSE_NOT_ENROLLED = 3,   /* the initiator's static key is not enrolled */
};
struct ntm_refuse {
	uint8_t reason;                /* enum ntm_refuse_reason */
	uint8_t dc_time[12];           /* TAI64N: the DC's clock when it refused */
	uint8_t last_ts[12];           /* TAI64N: the last init timestamp it accepted
					* from this key, all zero if none */
};
int ntm_refuse_decode(const uint8_t *buf, size_t len, struct ntm_refuse *r);
int ntm_refuse_encode(uint8_t *buf, size_t cap, const struct ntm_refuse *r);

/* mac1 over msg[0 .. len-16) keyed by the receiver's static public key.
 * put writes the last 16 bytes; check returns 0 when they match (constant time).
 * For a HANDSHAKE_INIT, len is NTM_HS_INIT_MAC2_OFF (mac1 is not its last field). */
int ntm_mac1_put(uint8_t *msg, size_t len, const uint8_t receiver_pub[32]);
int ntm_mac1_check(const uint8_t *msg, size_t len, const uint8_t receiver_pub[32]);

/* COOKIE_REPLY (2.9): the responder's answer, under load, to a
 * HANDSHAKE_INIT without a valid mac2. */
struct ntm_cookie_reply {
	uint32_t receiver;             /* the init's sender index */
	const uint8_t *nonce;          /* NTM_COOKIE_NONCE_LEN bytes */
	const uint8_t *sealed;         /* NTM_COOKIE_LEN + 16 bytes: cookie and tag */
};
int ntm_cookie_reply_decode(const uint8_t *buf, size_t len, struct ntm_cookie_reply *m);
/* Writes the 8 header bytes only; returns NTM_COOKIE_REPLY_LEN (cookie.c fills the rest). */
int ntm_cookie_reply_header(uint8_t *buf, size_t cap, uint32_t receiver);

struct ntm_data {
	uint32_t receiver;
	uint64_t counter;
	const uint8_t *header;         /* the 16 header bytes (the AEAD's AD) */
	const uint8_t *ct;             /* ciphertext + tag */
	size_t ct_len;                 /* >= 16 */
};
int ntm_data_decode(const uint8_t *buf, size_t len, struct ntm_data *m);
/* Writes the 16-byte header only (the caller seals the payload after it). */
int ntm_data_header_encode(uint8_t *buf, size_t cap, uint32_t receiver, uint64_t counter);

struct ntm_relay_msg {
	uint8_t side, direction;
	uint32_t alloc_id;
	uint64_t counter;
	const uint8_t *inner;          /* inner datagram, NULL when inner_len == 0 */
	size_t inner_len;              /* 0 or >= 32 */
	const uint8_t *tag;            /* 16 bytes */
	size_t ad_len;                 /* 16 + inner_len: bytes covered by the tag */
};
int ntm_relay_decode(const uint8_t *buf, size_t len, struct ntm_relay_msg *m);
/* Writes header + inner (tag space reserved, not computed). Returns 32 + inner_len. */
int ntm_relay_encode(uint8_t *buf, size_t cap, uint8_t side, uint8_t direction,
		     uint32_t alloc_id, uint64_t counter, const uint8_t *inner, size_t inner_len);

/* PROBE (2.6): a path check between the two nodes of a route. */
enum { NTM_PROBE_REQUEST = 1, NTM_PROBE_REPLY = 2 };
struct ntm_probe {
	uint8_t kind;                  /* NTM_PROBE_REQUEST or _REPLY */
	uint8_t role;                  /* the sender's role in the route: 1 initiator, 2 responder */
	uint64_t route_id;             /* non-zero */
	uint64_t seq;                  /* non-zero, the sender's probe sequence number */
	uint64_t echo;                 /* request: 0; reply: the seq of the request answered */
	const uint8_t *tag;            /* 16 bytes (decode only) */
};
int ntm_probe_decode(const uint8_t *buf, size_t len, struct ntm_probe *p);
/* Writes the 28 header bytes and zeroes the tag (the caller computes it).
 * Returns NTM_PROBE_LEN. */
int ntm_probe_encode(uint8_t *buf, size_t cap, const struct ntm_probe *p);

/* A relay probe token (2.11): minted by the DC, checked by the relay. */
struct ntm_relay_token {
	uint32_t key_id;               /* non-zero: the probe key that made mac */
	uint32_t not_after_ms;         /* ms after the key was made; later: expired */
	uint8_t mac[NTM_RELAY_TOKEN_MAC_LEN];
};

/* RELAY_PROBE (2.11): a node measures its round trip to a relay. */
enum { NTM_RELAY_PROBE_REQUEST = 1, NTM_RELAY_PROBE_ECHO = 2 };
struct ntm_relay_probe {
	uint8_t kind;                  /* NTM_RELAY_PROBE_REQUEST or _ECHO */
	uint64_t nonce;                /* the node's, echoed */
	struct ntm_relay_token token;
};
int ntm_relay_probe_decode(const uint8_t *buf, size_t len, struct ntm_relay_probe *p);
/* Returns NTM_RELAY_PROBE_LEN. */
int ntm_relay_probe_encode(uint8_t *buf, size_t cap, const struct ntm_relay_probe *p);

/* ---- control messages (DATA plaintext starting with 0x00) ---- */

enum ntm_ctl_type {
	NTM_CTL_REGISTER = 1,
	NTM_CTL_REGISTER_ACK = 2,
	NTM_CTL_KEEPALIVE = 3,
	NTM_CTL_KEEPALIVE_ACK = 4,
	NTM_CTL_DIRECTION_REQ = 5,
	NTM_CTL_ROUTE_DIRECTION = 6,
	NTM_CTL_ROUTE_DIRECTION_ACK = 7,
	NTM_CTL_DIRECTION_NAK = 8,
	NTM_CTL_RELAY_ALLOC = 9,
	NTM_CTL_RELAY_ALLOC_ACK = 10,
	NTM_CTL_RELAY_FREE = 11,
	NTM_CTL_PING = 12,
	NTM_CTL_PONG = 13,
	NTM_CTL_NETCHECK_PROBE = 14,
	NTM_CTL_NETCHECK_ECHO = 15,
	NTM_CTL_RELAY_PROBE_KEY = 16,
	NTM_CTL_NETCHECK_RELAYS_REQ = 17,
	NTM_CTL_NETCHECK_RELAYS = 18,
	NTM_CTL_LANES = 19,
	NTM_CTL_MAX = 19,
};

struct ntm_ctl_register {
	uint32_t req_id;
	uint16_t listen_port;
	uint64_t incarnation;          /* random per process start, non-zero */
	struct ntm_name name;
	uint8_t naddrs;
	struct ntm_endpoint addrs[NTM_MAX_ADDRS];
	uint8_t nroutes;               /* live routes (5.3), each ID non-zero */
	uint64_t routes[NTM_MAX_LIVE_ROUTES];
};

/* The status byte of each reply, as on the wire (doc/protocol.md section 5):
 * every number a status can take is named here and nowhere else. */
enum ntm_register_status {
	NTM_REG_OK = 0,
	NTM_REG_NAME_MISMATCH = 1,     /* the name is not the key's enrolment */
	NTM_REG_NO_ADDRESS = 2,        /* no virtual address left */
	NTM_REG_INTERNAL = 3,
	NTM_REG_STATUS_MAX = 3,
};

struct ntm_ctl_register_ack {
	uint32_t req_id;
	uint8_t status;                /* enum ntm_register_status */
	uint16_t keepalive_s, lifetime_s;
	uint8_t vip4[4], plen4;
	uint8_t vip6[16], plen6;
	struct ntm_endpoint observed;
	struct ntm_name fqdn;
	uint8_t nzones;
	struct ntm_name zones[NTM_MAX_ZONES];
};

struct ntm_ctl_keepalive {
	uint32_t seq;
	uint8_t naddrs;
	struct ntm_endpoint addrs[NTM_MAX_ADDRS];
	uint8_t nroutes;               /* routes with a live session, each ID non-zero */
	uint64_t routes[NTM_MAX_LIVE_ROUTES];
};

struct ntm_ctl_keepalive_ack {
	uint32_t seq;
	struct ntm_endpoint observed;
};

enum { NTM_DIR_BY_NAME = 1, NTM_DIR_BY_ADDR = 2 };
struct ntm_ctl_direction_req {
	uint32_t req_id;
	uint8_t kind;
	struct ntm_name name;          /* kind 1 */
	uint8_t family;                /* kind 2: 4 or 6 */
	uint8_t addr[16];
};

enum { NTM_CAND_LAN = 1, NTM_CAND_NAT = 2, NTM_CAND_V6 = 3, NTM_CAND_RELAY = 4 };
struct ntm_candidate {
	uint8_t kind, priority;
	struct ntm_endpoint ep;
};

enum { NTM_ROLE_INITIATOR = 1, NTM_ROLE_RESPONDER = 2 };
struct ntm_ctl_route_direction {
	uint32_t req_id;
	uint64_t route_id;
	uint8_t role, suite;
	uint8_t peer_key[32];
	uint8_t peer_vip4[4], peer_vip6[16];
	struct ntm_name peer_name;
	uint8_t ncands;
	struct ntm_candidate cands[NTM_MAX_CANDS];
	bool has_relay;
	struct ntm_endpoint relay_ep;
	uint32_t relay_alloc_id;
	uint8_t relay_side;
	uint8_t relay_key[32];
};

enum ntm_route_ack_status {
	NTM_ROUTE_ACK_OK = 0,
	NTM_ROUTE_ACK_REFUSED = 1,     /* policy */
	NTM_ROUTE_ACK_NO_RESOURCES = 2,
	NTM_ROUTE_ACK_STATUS_MAX = 2,
};

struct ntm_ctl_route_direction_ack {
	uint64_t route_id;
	uint8_t status;                /* enum ntm_route_ack_status */
};

enum ntm_nak_status {              /* there is no OK: a NAK is a refusal */
	NTM_NAK_NOT_FOUND = 1,         /* no such name or address enrolled */
	NTM_NAK_OFFLINE = 2,           /* enrolled, not registered now */
	NTM_NAK_REFUSED = 3,           /* policy (e.g. a direction to oneself) */
	NTM_NAK_BUSY = 4,              /* the DC could not make a route now */
	NTM_NAK_FORBIDDEN = 5,         /* the DC's access policy does not allow it */
	NTM_NAK_STATUS_MIN = 1,
	NTM_NAK_STATUS_MAX = 5,
};

/* DIRECTION_NAK's optional last field (OFFLINE only): seconds since the DC
 * last heard from the peer; this value when not since the DC started. */
#define NTM_NAK_LAST_SEEN_UNKNOWN UINT32_MAX
struct ntm_ctl_direction_nak {
	uint32_t req_id;
	uint8_t status;                /* enum ntm_nak_status */
	bool has_last_seen;            /* only with NTM_NAK_OFFLINE */
	uint32_t last_seen_s;
};

struct ntm_ctl_relay_alloc {
	uint32_t alloc_id;
	uint16_t lifetime_s;
	uint8_t key_a[32], key_b[32];
};

enum ntm_alloc_status {
	NTM_ALLOC_OK = 0,
	NTM_ALLOC_FULL = 1,            /* the relay's allocation limit */
	NTM_ALLOC_DUPLICATE = 2,       /* the ID is in use */
	NTM_ALLOC_STATUS_MAX = 2,
};

struct ntm_ctl_relay_alloc_ack {
	uint32_t alloc_id;
	uint8_t status;                /* enum ntm_alloc_status */
};

struct ntm_ctl_relay_free {
	uint32_t alloc_id;
};

struct ntm_ctl_ping {               /* PING and PONG */
	uint32_t ident, seq;
	uint64_t timestamp_ns;
};

/* NETCHECK_PROBE (5.13): the node asks the DC where a datagram came from.
 * The padding makes the probe at least as large as the echo. */
#define NTM_NETCHECK_PAD 40
struct ntm_ctl_netcheck_probe {
	uint64_t token;                /* non-zero, chosen by the node */
};

/* NETCHECK_ECHO (5.14): the DC's answer, sent to the probe's source. */
struct ntm_ctl_netcheck_echo {
	uint64_t token;                /* the probe's */
	struct ntm_endpoint observed;  /* the probe's source address and port */
	bool has_alt;
	struct ntm_endpoint alt;       /* the DC's second address (AltEndpoint) */
};

/* RELAY_PROBE_KEY (5.15): the DC gives a relay the key its probe tokens
 * are made with. */
#define NTM_PROBE_KEY_LIFETIME_MAX 3600
struct ntm_ctl_relay_probe_key {
	uint32_t key_id;               /* non-zero */
	uint16_t lifetime_s;           /* 1..NTM_PROBE_KEY_LIFETIME_MAX */
	uint8_t key[32];
};

/* NETCHECK_RELAYS_REQ (5.16): the node asks which relays to probe; padded
 * to the largest NETCHECK_RELAYS. */
#define NTM_NC_RELAYS_MAX 4
#define NTM_NC_RELAY_NAME_MAX 32
#define NTM_NC_RELAYS_PAD 312
struct ntm_ctl_netcheck_relays_req {
	uint64_t token;                /* non-zero, chosen by the node */
};

/* NETCHECK_RELAYS (5.17): the relays the DC would use for the node, each
 * with a probe token. */
enum { NTM_NC_RELAY_EMBEDDED = 0, NTM_NC_RELAY_STANDALONE = 1 };
struct ntm_nc_relay {
	uint8_t kind;                  /* NTM_NC_RELAY_EMBEDDED or _STANDALONE */
	uint8_t name_len;              /* 0..NTM_NC_RELAY_NAME_MAX, [A-Za-z0-9._-] */
	char name[NTM_NC_RELAY_NAME_MAX + 1];
	struct ntm_endpoint ep;
	struct ntm_relay_token token;
};
struct ntm_ctl_netcheck_relays {
	uint64_t token;                /* the request's */
	uint8_t count;                 /* 0..NTM_NC_RELAYS_MAX */
	struct ntm_nc_relay relay[NTM_NC_RELAYS_MAX];
};

/* LANES (5.18): in a node-node session, the receiver indices the sender of
 * the message opens this session's DATA under, one per receive lane: the
 * peer's sending thread q puts index[q mod count] in its DATA headers. */
#define NTM_LANES_MAX 16
struct ntm_ctl_lanes {
	uint8_t count;                 /* 1..NTM_LANES_MAX */
	uint32_t index[NTM_LANES_MAX]; /* each non-zero, all distinct */
};

struct ntm_ctl {
	uint8_t type;                  /* enum ntm_ctl_type */
	union {
		struct ntm_ctl_register reg;
		struct ntm_ctl_register_ack reg_ack;
		struct ntm_ctl_keepalive ka;
		struct ntm_ctl_keepalive_ack ka_ack;
		struct ntm_ctl_direction_req dir_req;
		struct ntm_ctl_route_direction route;
		struct ntm_ctl_route_direction_ack route_ack;
		struct ntm_ctl_direction_nak nak;
		struct ntm_ctl_relay_alloc alloc;
		struct ntm_ctl_relay_alloc_ack alloc_ack;
		struct ntm_ctl_relay_free free;
		struct ntm_ctl_ping ping;  /* PING and PONG */
		struct ntm_ctl_netcheck_probe nc_probe;
		struct ntm_ctl_netcheck_echo nc_echo;
		struct ntm_ctl_relay_probe_key probe_key;
		struct ntm_ctl_netcheck_relays_req nc_relays_req;
		struct ntm_ctl_netcheck_relays nc_relays;
		struct ntm_ctl_lanes lanes;
	} u;
};

/* Encode m (marker byte, type and body) into buf; returns the length. */
int ntm_ctl_encode(const struct ntm_ctl *m, uint8_t *buf, size_t cap);
/* Decode a whole control message (starting with the 0x00 marker). */
int ntm_ctl_decode(const uint8_t *buf, size_t len, struct ntm_ctl *m);

/* Name helpers: validate/normalize presentation text (no trailing dot
 * required; a single trailing dot is accepted and dropped; upper case is
 * folded to lower case). -EINVAL when not a valid name per doc/protocol.md. */
int ntm_name_set(struct ntm_name *n, const char *text);
/* Endpoint <-> sockaddr conversions, and text "a.b.c.d:port" / "[v6]:port". */
struct sockaddr;
int ntm_endpoint_from_sockaddr(struct ntm_endpoint *ep, const struct sockaddr *sa);
int ntm_endpoint_to_sockaddr(const struct ntm_endpoint *ep, void *ss, unsigned *salen);
int ntm_endpoint_format(const struct ntm_endpoint *ep, char *buf, size_t cap);

/* Human-readable name of a message type / control type, for logs and counters. */
const char *ntm_msg_type_name(int type);
const char *ntm_ctl_type_name(int type);

#endif
