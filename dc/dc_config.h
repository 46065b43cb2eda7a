/* dc_config.h - /etc/ntm/dcd.conf, read by ntm-dcd and ntm-dcctl.
 * The man page ntm-dcd.conf(5) documents every key listed here. */
#ifndef NTM_DC_CONFIG_H
#define NTM_DC_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "conf.h"
#include "paths.h"
#include "sandbox.h"
#include "store.h"
#include "wire.h"


#define NTM_DCD_CONF NTM_SYSCONFDIR "/ntm/dcd.conf"

/* A standalone relay (ntm-relayd) the DC may assign: a [Relay.NAME]
 * section. The DC's own session with it uses the IPv4 endpoint when there
 * is one, else the IPv6 one. */
#define DC_MAX_RELAYS 8
struct dc_relay_conf {
	char name[64];                        /* NAME of [Relay.NAME] */
	bool has_ep4, has_ep6;
	struct sockaddr_storage ep4, ep6;     /* EndpointIPv4, EndpointIPv6 */
	uint8_t pub[32];                      /* PublicKey */
};

/* A federated zone (a [Federation.ZONE] section, doc/protocol.md 10): the
 * zone's DC is known by this pinned key only; its endpoint comes from
 * Endpoint when set, else from DNS (SRV _ntm-dc._udp.ZONE). */
#define DC_MAX_FED 7   /* with our own zone: NTM_MAX_ZONES in REGISTER_ACK */
struct dc_fed_conf {
	char zone[NTM_NAME_MAX + 1];          /* normalized */
	uint8_t pub[32];                      /* PublicKey */
	bool has_ep;
	struct sockaddr_storage ep;           /* Endpoint */
};

struct dc_config {
	char zone[NTM_NAME_MAX + 1];          /* normalized */
	uint16_t port;
	bool has_listen4, has_listen6;
	struct ntm_conf_addr listen4, listen6; /* default: any */
	bool has_alt;
	struct sockaddr_storage alt;          /* AltEndpoint: a second address of this DC,
					       * told to nodes for ntmctl netcheck */
	char key_file[4096];
	char database[4096];                  /* [DC] Database: the SQLite file */
	enum ntm_store_backend backend;       /* [Registry] Backend */
	char conninfo[4096];                  /* [Registry] Conninfo (PostgreSQL) */
	uint64_t instance;                    /* [Registry] Instance: 1..255, this DC among
					       * those sharing the PostgreSQL registry */
	char control_socket[108];
	struct ntm_conf_addr prefix4, prefix6; /* family 0: not configured */
	uint64_t keepalive_s, lifetime_s;
	char user[64];                        /* drop privileges to (default "ntm", else nobody) */
	enum ntm_sandbox_mode seccomp;        /* [DC] Seccomp */
	bool refuse_unenrolled;               /* [DC] RefuseUnenrolled */
	/* [Relay]: the embedded relay and what every allocation gets */
	bool embedded_relay;
	uint16_t relay_port;
	uint64_t relay_max_allocs, relay_pps, relay_mbit;
	uint64_t relay_lifetime_s;            /* idle lifetime of an allocation */
	bool relay_offload;                   /* Offload = auto: UDP GRO/GSO */
	char policy_file[4096];               /* [Policy] File: ntm-policy(5); "": none */
	/* [Relay.NAME] sections */
	size_t nrelays;
	struct dc_relay_conf relays[DC_MAX_RELAYS];
	/* [Federation] and [Federation.ZONE] sections */
	bool has_fed_resolver;
	struct sockaddr_storage fed_resolver; /* [Federation] Resolver; else resolv.conf */
	size_t nfed;
	struct dc_fed_conf fed[DC_MAX_FED];
};

/* Read and validate path into *cfg (defaults filled). On error returns
 * -errno and writes "file:line: message" into msg. */
int dc_config_load(const char *path, struct dc_config *cfg, char *msg, size_t msglen);

/* Where the registry is: cfg->conninfo for PostgreSQL, else the
 * database file. */
const char *dc_registry_location(const struct dc_config *cfg);

/* Turn a node name as an operator writes it ("alice" or
 * "alice.ntm.example.org") into the FQDN under zone. -EINVAL for an
 * invalid name or one under another domain. */
int dc_qualify_name(const char *zone, const char *name, char out[NTM_NAME_MAX + 1]);

#endif
