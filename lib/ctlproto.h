/* ctlproto.h - the local control-socket protocol between ntm-tund and its
 * clients (ntmctl, libnss_ntm.so.2, the stub resolver). doc/control.md is the
 * specification; this codec follows it field by field.
 *
 * The prefix is ntm_lctl_ ("local control") because ntm_ctl_ already names
 * the node-DC control messages of wire.h, and the daemon includes both.
 *
 * ctlproto.c depends on libc only: the NSS module compiles the same file
 * into a library that runs inside every process. Nothing here allocates,
 * logs, or keeps state; every function is thread-safe.
 *
 * Message = 12-byte header + body of TLV attributes. Builders write a whole
 * message into the caller's buffer and return its length, -EMSGSIZE when cap
 * is too small, or -EINVAL for arguments that break the specification (so
 * whatever ntm sends, ntm accepts). Decoders take a whole message (header and
 * body, exactly 12 + body_len bytes), check every length, count, family, enum
 * and name, require it to be consumed whole, and return 0 or -EBADMSG (header
 * errors as in ntm_lctl_header_parse). */
#ifndef NTM_CTLPROTO_H
#define NTM_CTLPROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>


#define NTM_LCTL_VERSION 1
#define NTM_LCTL_HDR_LEN 12
#define NTM_LCTL_MSG_MAX 65536                        /* header + body */
#define NTM_LCTL_BODY_MAX (NTM_LCTL_MSG_MAX - NTM_LCTL_HDR_LEN)
/* The daemon never sends a RESOLVE reply longer than this, so a resolver
 * client may read it into a small stack buffer and reject anything longer. */
#define NTM_LCTL_RESOLVE_MSG_MAX 2048

#define NTM_LCTL_NAME_MAX 253                         /* bytes, without NUL */
#define NTM_LCTL_NAME_SIZE (NTM_LCTL_NAME_MAX + 1)
#define NTM_LCTL_INFO_SIZE 128                        /* path info text, with NUL */
#define NTM_LCTL_HINT_SIZE 256                        /* DC hint text, with NUL */
#define NTM_LCTL_MAX_ADDRS 16
#define NTM_LCTL_MAX_ZONES 8
#define NTM_LCTL_MAX_DC_INSTANCES 8  /* TUND_DC_MAX */
#define NTM_LCTL_MAX_PEERS 64                         /* per PEERS reply */
#define NTM_LCTL_WAIT_MS_MAX 60000
#define NTM_LCTL_WAIT_DEFAULT UINT32_MAX              /* builder: omit WAIT_MS */
#define NTM_LCTL_PING_COUNT_MAX 100
#define NTM_LCTL_MAX_COUNTERS 128                     /* per STATS reply */
#define NTM_LCTL_COUNTER_NAME_MAX 63                  /* bytes, without NUL */
#define NTM_LCTL_MAX_GAUGES 32                        /* per STATS reply */

/* Message types. Requests 0x01-0x3f are queries any local user may send;
 * 0x40-0x7f change state and need uid 0 or group ntm. A reply's type is its
 * request's type with bit 0x80 set. */
enum ntm_lctl_type {
	NTM_LCTL_STATUS = 0x01,
	NTM_LCTL_RESOLVE_NAME = 0x02,
	NTM_LCTL_RESOLVE_ADDR = 0x03,
	NTM_LCTL_PEERS = 0x04,
	NTM_LCTL_PING = 0x05,
	NTM_LCTL_STATS = 0x06,         /* query: no attributes; any local user */
	NTM_LCTL_RELOAD = 0x07,        /* ntm-dcd: re-read the registry if it changed; any user */
	NTM_LCTL_WATCH = 0x0a,         /* stream events on this connection; any user */
	NTM_LCTL_NETCHECK = 0x0b,      /* ntm-tund: test the underlay with the DC; no attributes */
	NTM_LCTL_REREGISTER = 0x40,
	NTM_LCTL_DOWN = 0x41,          /* ntm-tund: tear a peer's tunnel down (NAME) */
	NTM_LCTL_REPLY = 0x80,
	NTM_LCTL_STATUS_REPLY = 0x81,
	NTM_LCTL_RESOLVE_NAME_REPLY = 0x82,
	NTM_LCTL_RESOLVE_ADDR_REPLY = 0x83,
	NTM_LCTL_PEERS_REPLY = 0x84,
	NTM_LCTL_PING_REPLY = 0x85,
	NTM_LCTL_STATS_REPLY = 0x86,
	NTM_LCTL_RELOAD_REPLY = 0x87,
	NTM_LCTL_WATCH_REPLY = 0x8a,   /* one per event, for as long as the connection lasts */
	NTM_LCTL_NETCHECK_REPLY = 0x8b,
	NTM_LCTL_REREGISTER_REPLY = 0xc0,
	NTM_LCTL_DOWN_REPLY = 0xc1,
};
#define NTM_LCTL_PRIVILEGED 0x40                      /* bit of a request type */

/* Reply status, header bytes 2-3 (0 in every request). */
enum ntm_lctl_status {
	NTM_LCTL_OK = 0,
	NTM_LCTL_NOTFOUND = 1,         /* name or address unknown */
	NTM_LCTL_NODATA = 2,           /* name known, no address of that family */
	NTM_LCTL_TRYAGAIN = 3,         /* tunnel being set up, DC unreachable */
	NTM_LCTL_DENIED = 4,           /* caller may not change state */
	NTM_LCTL_BADREQ = 5,           /* malformed or unknown request */
	NTM_LCTL_INTERNAL = 6,         /* daemon failure */
	NTM_LCTL_STATUS_MAX = 6,
};

/* Attribute types. Bit 0x8000 marks an attribute a receiver that does not
 * expect it in this message skips; without the bit it rejects the message. */
#define NTM_LCTL_ATTR_OPTIONAL 0x8000
enum ntm_lctl_attr {
	NTM_LCTL_A_NAME = 0x0001,          /* 1..253 bytes, 0x21..0x7e */
	NTM_LCTL_A_FAMILIES = 0x0002,      /* u8: NTM_LCTL_FAM_* bits */
	NTM_LCTL_A_WAIT_MS = 0x0003,       /* u32 <= NTM_LCTL_WAIT_MS_MAX */
	NTM_LCTL_A_ADDR = 0x0004,          /* family u8 (4|6) + 4|16 bytes */
	NTM_LCTL_A_TTL = 0x0005,           /* u32 seconds */
	NTM_LCTL_A_VIP4 = 0x0006,          /* 4 bytes + prefix length u8 <= 32 */
	NTM_LCTL_A_VIP6 = 0x0007,          /* 16 bytes + prefix length u8 <= 128 */
	NTM_LCTL_A_DC = 0x0008,            /* DC address as configured, name rules */
	NTM_LCTL_A_DC_ENDPOINT = 0x0009,   /* endpoint */
	NTM_LCTL_A_DC_STATE = 0x000a,      /* u8: enum ntm_lctl_dc_state */
	NTM_LCTL_A_OBSERVED = 0x000b,      /* endpoint the DC observes */
	NTM_LCTL_A_ACK_AGE = 0x000c,       /* u32 seconds since last DC ack */
	NTM_LCTL_A_ZONE = 0x000d,          /* name */
	NTM_LCTL_A_PEER = 0x000e,          /* nested attributes: one peer */
	NTM_LCTL_A_ENDPOINT = 0x000f,      /* endpoint */
	NTM_LCTL_A_HS_AGE = 0x0010,        /* u32 seconds since last handshake */
	NTM_LCTL_A_RX_BYTES = 0x0011,      /* u64 */
	NTM_LCTL_A_TX_BYTES = 0x0012,      /* u64 */
	NTM_LCTL_A_PATH = 0x0013,          /* u8: enum ntm_lctl_path */
	NTM_LCTL_A_OFFSET = 0x0014,        /* u32 */
	NTM_LCTL_A_TOTAL = 0x0015,         /* u32 */
	NTM_LCTL_A_COUNT = 0x0016,         /* u16 1..NTM_LCTL_PING_COUNT_MAX */
	NTM_LCTL_A_PING_RESULT = 0x0017,   /* 16 bytes, see struct */
	NTM_LCTL_A_PATH_INFO = 0x0019,     /* text, 1..127 bytes of 0x20..0x7e: which path and why */
	NTM_LCTL_A_COUNTER = 0x0018,       /* u64 value (big-endian) followed by the
					    * counter's name: 1..63 bytes of [a-z0-9_] */
	NTM_LCTL_A_MOVED_AGE = 0x0030,     /* u32 seconds since the peer's path or endpoint last changed */
	NTM_LCTL_A_MOVED_WHY = 0x0031,     /* text as PATH_INFO: why it changed */
	/* WATCH replies (events) */
	NTM_LCTL_A_EV_KIND = 0x0050,       /* u8: enum ntm_lctl_event_kind */
	NTM_LCTL_A_EV_TIME = 0x0051,       /* u64: ms since the Unix epoch, the daemon's clock */
	NTM_LCTL_A_EV_PEER = 0x0052,       /* text: the peer's name */
	NTM_LCTL_A_EV_PATH = 0x0053,       /* u8: enum ntm_lctl_path */
	NTM_LCTL_A_EV_ENDPOINT = 0x0054,   /* endpoint: the peer's, or the relay's */
	NTM_LCTL_A_EV_REASON = 0x0055,     /* text as PATH_INFO: why */
	NTM_LCTL_A_EV_DC_STATE = 0x0056,   /* u8: enum ntm_lctl_dc_state */
	NTM_LCTL_A_EV_DROPPED = 0x0057,    /* u32: events this watcher lost (queue full) */
	/* optional: an older ntmctl skips them */
	NTM_LCTL_A_UNDERLAY = 0x801a,      /* addr: one of the node's own underlay addresses */
	NTM_LCTL_A_UNDERLAY_AGE = 0x801b,  /* u32 seconds since they last changed */
	NTM_LCTL_A_DC_INFO = 0x801c,       /* text as PATH_INFO: why the DC refused us, or
					    * does not answer */
	NTM_LCTL_A_DC_HINT = 0x8043,       /* text, 1..255 bytes of 0x20..0x7e: what to do
					    * about DC_INFO */
	NTM_LCTL_A_GAUGE = 0x8040,         /* counter format: a value that goes up and down */
	NTM_LCTL_A_ECHO = 0x8041,          /* one echo's reply: seq u16, path u8, rtt_us u32, endpoint */
	NTM_LCTL_A_OFFLINE = 0x8042,       /* u32 s since the DC last saw the peer (TRYAGAIN replies) */
	NTM_LCTL_A_NC_FAMILY = 0x8048,     /* NETCHECK: 28 bytes, one family's result (struct below) */
	NTM_LCTL_A_NC_ALT = 0x8049,        /* NETCHECK: endpoint, the DC's second address */
	NTM_LCTL_A_DC_INSTANCE = 0x804a,   /* STATUS: one DC instance as configured, name rules;
					    * as many as [DC] Endpoint lists, in its order */
	NTM_LCTL_A_DC_IN_USE = 0x804b,     /* STATUS: u8, 1..: the DC_INSTANCE in use */
	NTM_LCTL_A_FORBIDDEN = 0x804c,     /* u8 enum ntm_lctl_forbidden_by (NOTFOUND replies) */
	NTM_LCTL_A_LANES = 0x804e,         /* PEERS: u16, receive lanes: ours << 8 | the peer's (each 0..16) */
	NTM_LCTL_A_NC_RELAY = 0x804d,      /* NETCHECK: one relay's probes (struct below) */
};

#define NTM_LCTL_FAM_V4 0x01
#define NTM_LCTL_FAM_V6 0x02
#define NTM_LCTL_FAM_BOTH (NTM_LCTL_FAM_V4 | NTM_LCTL_FAM_V6)

enum ntm_lctl_dc_state {
	NTM_LCTL_DC_CONNECTING = 1,
	NTM_LCTL_DC_REGISTERED = 2,
	NTM_LCTL_DC_UNREACHABLE = 3,
	NTM_LCTL_DC_REFUSED = 4,       /* the DC answered and refused the registration */
};

enum ntm_lctl_event_kind {
	NTM_LCTL_EV_START = 1,         /* first event: the watch is on; DC_STATE now */
	NTM_LCTL_EV_DC = 2,            /* registration state changed: DC_STATE, REASON */
	NTM_LCTL_EV_PEER_UP = 3,       /* a tunnel came up: PEER, PATH, ENDPOINT */
	NTM_LCTL_EV_PEER_DOWN = 4,     /* a tunnel went down: PEER, REASON */
	NTM_LCTL_EV_PATH = 5,          /* direct <-> relay: PEER, PATH, ENDPOINT, REASON */
	NTM_LCTL_EV_ENDPOINT = 6,      /* the peer's endpoint moved: PEER, ENDPOINT, REASON */
	NTM_LCTL_EV_REKEY = 7,         /* a new session replaced the old one: PEER */
	NTM_LCTL_EV_DROPPED = 8,       /* DROPPED events were lost before this one */
	NTM_LCTL_EV_MAX = 8,
};

enum ntm_lctl_path {
	NTM_LCTL_PATH_PENDING = 1,     /* handshake in progress */
	NTM_LCTL_PATH_DIRECT = 2,
	NTM_LCTL_PATH_RELAY = 3,
};

struct ntm_lctl_hdr {
	uint8_t version;
	uint8_t type;
	uint16_t status;               /* enum ntm_lctl_status; 0 in requests */
	uint32_t req_id;               /* chosen by the client, echoed */
	uint32_t body_len;             /* <= NTM_LCTL_BODY_MAX */
};

/* An address: family 4 or 6 (not AF_*), addr[0..3] used for family 4. */
struct ntm_lctl_addr {
	uint8_t family;
	uint8_t addr[16];
};

struct ntm_lctl_endpoint {
	uint8_t family;                /* 4 or 6 */
	uint16_t port;                 /* host order, 1..65535 */
	uint8_t addr[16];
};

/* A virtual address with its prefix length (vip4 uses addr[0..3]). */
struct ntm_lctl_vip {
	bool present;
	uint8_t plen;
	uint8_t addr[16];
};

/* Any request, decoded. Fields not used by hdr.type are zero. */
struct ntm_lctl_req {
	struct ntm_lctl_hdr hdr;
	char name[NTM_LCTL_NAME_SIZE];     /* RESOLVE_NAME, PING */
	uint8_t families;                  /* RESOLVE_NAME: NTM_LCTL_FAM_* */
	bool has_wait_ms;                  /* RESOLVE_NAME */
	uint32_t wait_ms;
	struct ntm_lctl_addr addr;         /* RESOLVE_ADDR */
	uint32_t offset;                   /* PEERS: index of the first peer */
	uint16_t count;                    /* PING: echo requests to send */
};

/* RESOLVE_NAME and RESOLVE_ADDR replies. */
struct ntm_lctl_resolve {
	char name[NTM_LCTL_NAME_SIZE];     /* canonical name */
	uint32_t ttl;
	unsigned n_addrs;                  /* RESOLVE_NAME: 1..16; ADDR: 0..16 */
	struct ntm_lctl_addr addrs[NTM_LCTL_MAX_ADDRS];
};

struct ntm_lctl_status_info {
	char name[NTM_LCTL_NAME_SIZE];     /* node FQDN (configured name before registration) */
	struct ntm_lctl_vip vip4, vip6;
	char dc[NTM_LCTL_NAME_SIZE];       /* DC endpoints as configured, e.g.
					      "192.0.2.1:7540,[2001:db8::1]:7540" */
	bool has_dc_endpoint;
	struct ntm_lctl_endpoint dc_endpoint;  /* the DC address in use */
	uint8_t dc_state;                  /* enum ntm_lctl_dc_state */
	bool has_observed;
	struct ntm_lctl_endpoint observed; /* this node as the DC sees it */
	bool has_ack_age;
	uint32_t ack_age;                  /* s since last registration/keepalive ack */
	unsigned n_underlay;               /* 0..NTM_LCTL_MAX_ADDRS */
	struct ntm_lctl_addr underlay[NTM_LCTL_MAX_ADDRS]; /* the node's own addresses */
	bool has_underlay_age;
	uint32_t underlay_age;             /* s since the underlay last changed */
	unsigned n_zones;
	char zones[NTM_LCTL_MAX_ZONES][NTM_LCTL_NAME_SIZE];
	char dc_info[NTM_LCTL_INFO_SIZE];  /* why the DC refused us or is silent, "" when absent */
	char dc_hint[NTM_LCTL_HINT_SIZE];  /* what to do about it, "" when absent */
	unsigned n_dc_instances;           /* 0..NTM_LCTL_MAX_DC_INSTANCES ([DC] Endpoint) */
	char dc_instances[NTM_LCTL_MAX_DC_INSTANCES][NTM_LCTL_NAME_SIZE];
	uint8_t dc_in_use;                 /* 1..n_dc_instances: the one in use; 0: not told */
};

struct ntm_lctl_peer {
	char name[NTM_LCTL_NAME_SIZE];
	struct ntm_lctl_vip vip4, vip6;
	bool has_endpoint;
	struct ntm_lctl_endpoint endpoint;
	bool has_hs_age;
	uint32_t hs_age;                   /* s since last completed handshake */
	uint64_t rx_bytes, tx_bytes;
	uint8_t path;                      /* enum ntm_lctl_path */
	char path_info[NTM_LCTL_INFO_SIZE]; /* "" when absent */
	bool has_moved_age;
	uint32_t moved_age;                /* s since the path or endpoint last changed */
	char moved_why[NTM_LCTL_INFO_SIZE]; /* "" when absent */
	/* receive lanes of the current session (ntm-tund(8) THREADS): how
	 * many this node gave it, how many the peer named; both 0 (the
	 * attribute absent) when neither */
	uint8_t lanes_ours, lanes_peer;
};
#define NTM_LCTL_LANES_MAX 16

struct ntm_lctl_peers {
	uint32_t total;                    /* peers the daemon has in all */
	unsigned n_peers;                  /* in this reply, <= 64 and <= total */
	struct ntm_lctl_peer peers[NTM_LCTL_MAX_PEERS];
};

/* One echo that came back (PING reply, optional ECHO attribute): which
 * request, which path its reply took and where it came from (the peer's
 * endpoint when direct, the relay's when relayed). */
struct ntm_lctl_echo {
	uint16_t seq;                      /* < sent */
	uint8_t path;                      /* NTM_LCTL_PATH_DIRECT or _RELAY */
	uint32_t rtt_us;
	struct ntm_lctl_endpoint from;
};

struct ntm_lctl_ping_result {
	uint16_t sent, received;           /* received <= sent */
	uint32_t rtt_min_us, rtt_avg_us, rtt_max_us;  /* min <= avg <= max; 0 if none received */
	unsigned n_echoes;                 /* 0..received: older daemons send none */
	struct ntm_lctl_echo echoes[NTM_LCTL_PING_COUNT_MAX];
};

/* NETCHECK reply (doc/control.md): per family the DC answered or was
 * asked on, what the echoes showed. */
enum ntm_lctl_nc_tri { NTM_LCTL_NC_UNKNOWN = 0, NTM_LCTL_NC_NO = 1, NTM_LCTL_NC_YES = 2 };
enum ntm_lctl_nc_mapping {
	NTM_LCTL_MAP_NO_ANSWER = 0,    /* no echo: nothing known */
	NTM_LCTL_MAP_NO_NAT = 1,       /* the DC sees our own address and port */
	NTM_LCTL_MAP_EIM = 2,          /* one mapping for both DC addresses */
	NTM_LCTL_MAP_EDM = 3,          /* another mapping per destination (symmetric) */
	NTM_LCTL_MAP_ONE_ADDR = 4,     /* the DC has one address of this family: not tested */
	NTM_LCTL_MAP_ALT_SILENT = 5,   /* the DC's second address did not answer */
	NTM_LCTL_MAP_MAX = 5,
};
#define NTM_LCTL_NC_MAX_FAM 2
struct ntm_lctl_nc_family {
	uint8_t family;                /* 4 or 6 */
	bool answered;                 /* some probe of this family was echoed */
	uint8_t nat;                   /* enum ntm_lctl_nc_tri: a NAT changes our address or port */
	uint8_t port_preserved;        /* enum ntm_lctl_nc_tri: the NAT kept our source port */
	uint8_t mapping;               /* enum ntm_lctl_nc_mapping */
	struct ntm_lctl_endpoint observed; /* where the DC saw us (answered only) */
	uint32_t rtt_us;               /* round trip to the DC from the main socket, 0: none */
};
/* One relay the DC listed, and how its RELAY_PROBEs fared: kind u8, sent
 * u8, answered u8, name length u8, rtt u32, family u8, port u16, address
 * 16 (IPv4 in the first 4), name (0..32 bytes of [A-Za-z0-9._-]). */
#define NTM_LCTL_NC_MAX_RELAYS 4
#define NTM_LCTL_NC_RELAY_NAME_MAX 32
enum { NTM_LCTL_NC_RELAY_EMBEDDED = 0, NTM_LCTL_NC_RELAY_STANDALONE = 1 };
struct ntm_lctl_nc_relay {
	uint8_t kind;                  /* NTM_LCTL_NC_RELAY_* */
	uint8_t sent, answered;        /* probes; answered <= sent */
	char name[NTM_LCTL_NC_RELAY_NAME_MAX + 1]; /* "" for the embedded one */
	struct ntm_lctl_endpoint ep;
	uint32_t rtt_us;               /* median of the answered, 0 iff none */
};
struct ntm_lctl_netcheck {
	unsigned n_fam;                /* 0..NTM_LCTL_NC_MAX_FAM, distinct families */
	struct ntm_lctl_nc_family fam[NTM_LCTL_NC_MAX_FAM];
	bool has_alt;
	struct ntm_lctl_endpoint alt;  /* the DC's second address, as it told us */
	unsigned n_relays;             /* 0..NTM_LCTL_NC_MAX_RELAYS */
	struct ntm_lctl_nc_relay relay[NTM_LCTL_NC_MAX_RELAYS];
};
/* Constant text for a mapping ("endpoint-independent", ...), or "unknown". */
const char *ntm_lctl_nc_mapping_name(unsigned mapping);

/* One named counter of a STATS reply. name: 1..63 bytes of [a-z0-9_], NUL-terminated. */
struct ntm_lctl_counter {
	char name[NTM_LCTL_COUNTER_NAME_MAX + 1];
	uint64_t value;
};

/* STATS reply: the counters in the order sent (decode preserves it), then
 * the gauges (optional attributes: an older client skips them). */
struct ntm_lctl_stats {
	unsigned n;                        /* 0..NTM_LCTL_MAX_COUNTERS */
	struct ntm_lctl_counter c[NTM_LCTL_MAX_COUNTERS];
	unsigned n_gauges;                 /* 0..NTM_LCTL_MAX_GAUGES */
	struct ntm_lctl_counter g[NTM_LCTL_MAX_GAUGES];
};

/* One WATCH event (reply 0x8a). Fields a kind does not use are zero/"". */
struct ntm_lctl_event {
	uint8_t kind;                      /* enum ntm_lctl_event_kind */
	uint64_t time_ms;                  /* ms since the Unix epoch */
	char peer[NTM_LCTL_NAME_SIZE];     /* "" when absent */
	uint8_t path;                      /* 0 when absent */
	bool has_endpoint;
	struct ntm_lctl_endpoint endpoint;
	char reason[NTM_LCTL_INFO_SIZE];   /* "" when absent */
	uint8_t dc_state;                  /* 0 when absent */
	uint32_t dropped;
};

/* ---- names ---- */

/* Constant English text for a status ("ok", "not found", ...), "unknown" otherwise. */
const char *ntm_lctl_status_name(unsigned status);
/* Constant text for a peer's path ("pending", "direct", "relay"), or "unknown". */
const char *ntm_lctl_path_name(unsigned path);
/* Constant text for a message type ("STATUS", "RESOLVE_NAME reply", ...), or "unknown". */
const char *ntm_lctl_type_name(unsigned type);
/* True for a request type that needs uid 0 or group ntm (bit 0x40). */
bool ntm_lctl_type_is_privileged(unsigned type);

/* ---- header ---- */

/* Parses the first NTM_LCTL_HDR_LEN bytes of buf (len may be larger). Returns
 * 0; -EBADMSG when len < 12, a request's status is not 0 or a reply's status
 * is unknown; -EPROTONOSUPPORT for another version; -EMSGSIZE when body_len
 * exceeds NTM_LCTL_BODY_MAX; -EOPNOTSUPP for an unknown type. After
 * -EOPNOTSUPP (and -EBADMSG with len >= 12), *h is filled so that the daemon
 * can read and discard body_len bytes and answer BADREQ. */
int ntm_lctl_header_parse(const void *buf, size_t len, struct ntm_lctl_hdr *h);

/* ---- requests: builders (client) and decoder (daemon) ---- */

int ntm_lctl_req_status(void *buf, size_t cap, uint32_t req_id);
/* families: NTM_LCTL_FAM_* bits, not 0; wait_ms <= NTM_LCTL_WAIT_MS_MAX or
 * NTM_LCTL_WAIT_DEFAULT to let the daemon choose. */
int ntm_lctl_req_resolve_name(void *buf, size_t cap, uint32_t req_id, const char *name,
			      uint8_t families, uint32_t wait_ms);
/* family 4 (addr has 4 bytes) or 6 (16 bytes). */
int ntm_lctl_req_resolve_addr(void *buf, size_t cap, uint32_t req_id, uint8_t family,
			      const void *addr);
int ntm_lctl_req_peers(void *buf, size_t cap, uint32_t req_id, uint32_t offset);
int ntm_lctl_req_ping(void *buf, size_t cap, uint32_t req_id, const char *name, uint16_t count);
int ntm_lctl_req_reregister(void *buf, size_t cap, uint32_t req_id);
/* ntm-tund: tear the tunnel to the peer called name down (ntmctl down). */
int ntm_lctl_req_down(void *buf, size_t cap, uint32_t req_id, const char *name);
/* Served by ntm-tund and, with the same framing, by ntm-dcd on its own socket. */
int ntm_lctl_req_stats(void *buf, size_t cap, uint32_t req_id);
/* ntm-tund: keep the connection and send an event (WATCH reply) at each
 * change; no attributes. */
int ntm_lctl_req_watch(void *buf, size_t cap, uint32_t req_id);
/* ntm-dcd only (ntm-dcctl after it wrote the registry): no attributes. */
int ntm_lctl_req_reload(void *buf, size_t cap, uint32_t req_id);

int ntm_lctl_req_netcheck(void *buf, size_t cap, uint32_t req_id);

/* Decodes any known request. */
int ntm_lctl_req_decode(const void *msg, size_t len, struct ntm_lctl_req *req);

/* ---- replies: encoders (daemon) and decoders (clients) ---- */

/* A reply with an empty body to request type req_type (which may be one this
 * codec does not know, for BADREQ): any non-OK status, or OK to REREGISTER,
 * DOWN and RELOAD. */
int ntm_lctl_reply_empty(void *buf, size_t cap, uint8_t req_type, uint32_t req_id,
			 uint16_t status);
/* The error reply (status BADREQ or DENIED) to a request whose framing
 * was intact but which could not be taken: any type byte, even a reply's,
 * answered with type | NTM_LCTL_REPLY (doc/control.md section 1). */
int ntm_lctl_reply_refusal(void *buf, size_t cap, uint8_t type, uint32_t req_id,
			   uint16_t status);
/* OK replies. req_type is NTM_LCTL_RESOLVE_NAME or NTM_LCTL_RESOLVE_ADDR. */
int ntm_lctl_reply_resolve(void *buf, size_t cap, uint8_t req_type, uint32_t req_id,
			   const struct ntm_lctl_resolve *m);
int ntm_lctl_reply_status(void *buf, size_t cap, uint32_t req_id,
			  const struct ntm_lctl_status_info *m);
int ntm_lctl_reply_peers(void *buf, size_t cap, uint32_t req_id, const struct ntm_lctl_peers *m);
int ntm_lctl_reply_ping(void *buf, size_t cap, uint32_t req_id,
			const struct ntm_lctl_ping_result *m);
/* -EINVAL for m->n > NTM_LCTL_MAX_COUNTERS, m->n_gauges > NTM_LCTL_MAX_GAUGES
 * or a name outside [a-z0-9_]{1,63}. */
int ntm_lctl_reply_stats(void *buf, size_t cap, uint32_t req_id, const struct ntm_lctl_stats *m);
int ntm_lctl_reply_netcheck(void *buf, size_t cap, uint32_t req_id,
			    const struct ntm_lctl_netcheck *m);

/* One event of a WATCH. -EINVAL when a field the kind needs is missing
 * (PEER for peer events, DC_STATE for START and DC, PATH for PEER_UP and
 * PATH, DROPPED > 0 for DROPPED) or a value is out of range. */
int ntm_lctl_reply_watch(void *buf, size_t cap, uint32_t req_id, const struct ntm_lctl_event *m);

/* The peer is enrolled but offline (TRYAGAIN to RESOLVE_NAME,
 * RESOLVE_ADDR or PING, with the optional OFFLINE attribute): last_seen_s
 * is how long ago the DC last heard from it, NTM_LCTL_LAST_SEEN_UNKNOWN
 * when not since the DC started. */
#define NTM_LCTL_LAST_SEEN_UNKNOWN UINT32_MAX
int ntm_lctl_reply_offline(void *buf, size_t cap, uint8_t req_type, uint32_t req_id,
			   uint32_t last_seen_s);
/* A reply's OFFLINE attribute (any reply type): 1 and *last_seen_s when a
 * TRYAGAIN reply carries one, 0 when it carries none (or is another
 * status), -EBADMSG for a malformed message or OFFLINE. */
int ntm_lctl_decode_offline(const void *msg, size_t len, uint32_t *last_seen_s);
/* An access policy forbids it (NOTFOUND to RESOLVE_NAME, RESOLVE_ADDR or
 * PING, with the optional FORBIDDEN attribute): whose policy. */
enum ntm_lctl_forbidden_by {
	NTM_LCTL_FORBIDDEN_DC = 1,     /* the DC's (DIRECTION_NAK FORBIDDEN) */
	NTM_LCTL_FORBIDDEN_NODE = 2,   /* this node's own [Policy] File */
};
int ntm_lctl_reply_forbidden(void *buf, size_t cap, uint8_t req_type, uint32_t req_id,
			     uint8_t by);
/* A reply's FORBIDDEN attribute: 1 and *by when a NOTFOUND reply has one,
 * 0 when it has none (or another status), -EBADMSG for a malformed
 * message or attribute. */
int ntm_lctl_decode_forbidden(const void *msg, size_t len, uint8_t *by);
/* For people: "forbidden by the DC's policy", "forbidden by this node's
 * policy". */
const char *ntm_lctl_forbidden_text(uint8_t by);
/* For people: "offline, last seen 42 s ago", "... 3 min ago", "... 5 h ago",
 * "... 3 days ago", or "offline, not seen since the DC started". */
void ntm_lctl_offline_text(char *buf, size_t cap, uint32_t last_seen_s);

/* Each reply decoder checks the type (resolve accepts both RESOLVE replies),
 * leaves the caller to compare hdr->req_id with its request, and fills *m
 * only when hdr->status is OK; a non-OK reply has an empty body (attributes
 * with the optional bit are skipped) and leaves *m zeroed. */
int ntm_lctl_decode_empty(const void *msg, size_t len, uint8_t reply_type,
			  struct ntm_lctl_hdr *hdr);
int ntm_lctl_decode_resolve(const void *msg, size_t len, struct ntm_lctl_hdr *hdr,
			    struct ntm_lctl_resolve *m);
int ntm_lctl_decode_status(const void *msg, size_t len, struct ntm_lctl_hdr *hdr,
			   struct ntm_lctl_status_info *m);
int ntm_lctl_decode_peers(const void *msg, size_t len, struct ntm_lctl_hdr *hdr,
			  struct ntm_lctl_peers *m);
int ntm_lctl_decode_ping(const void *msg, size_t len, struct ntm_lctl_hdr *hdr,
			 struct ntm_lctl_ping_result *m);
int ntm_lctl_decode_stats(const void *msg, size_t len, struct ntm_lctl_hdr *hdr,
			  struct ntm_lctl_stats *m);
int ntm_lctl_decode_watch(const void *msg, size_t len, struct ntm_lctl_hdr *hdr,
			  struct ntm_lctl_event *m);
int ntm_lctl_decode_netcheck(const void *msg, size_t len, struct ntm_lctl_hdr *hdr,
			     struct ntm_lctl_netcheck *m);

#endif
