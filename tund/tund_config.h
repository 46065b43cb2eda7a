/* tund_config.h - /etc/ntm/tund.conf, documented in ntm-tund.conf(5). */
#ifndef NTM_TUND_CONFIG_H
#define NTM_TUND_CONFIG_H

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "conf.h"
#include "paths.h"
#include "sandbox.h"
#include "underlay.h"
#include "wire.h"

#define NTM_TUND_CONF NTM_SYSCONFDIR "/ntm/tund.conf"
#define NTM_TUND_SOCK NTM_RUNSTATEDIR "/ntm/tund.sock"
#define NTM_TUND_DEFAULT_MTU 1388   /* doc/protocol.md section 8 */

#define TUND_WORKERS_MAX 16          /* NTM_SESSION_MT_MAX */

#define TUND_DC_MAX 8                /* DC instances in [DC] Endpoint */
#define TUND_DC_TEXT 2048            /* [DC] Endpoint's value, bytes */

/* One DC instance as configured: its endpoint of each family (indexed
 * UL_V4 / UL_V6, ss_family 0 where none), or a host name and port whose
 * addresses are filled in by resolving it. */
struct tund_dc {
	struct sockaddr_storage endpoint[UL_NFAM];
	char host[NTM_NAME_MAX + 1];  /* "" when the endpoints are addresses */
	uint16_t host_port;
};

struct tund_config {
	char name[NTM_NAME_MAX + 1];
	char key_file[4096];
	uint16_t port;
	char ifname[IFNAMSIZ];
	uint64_t mtu;
	char user[64];
	char control_socket[108];
	char nss_file[4096];          /* zones for nss_ntm; default: beside the socket */
	/* [DC] Endpoint: 1..TUND_DC_MAX instances of the zone's DC (sharing
	 * its key and registry), in the order the node tries them. */
	struct tund_dc dcs[TUND_DC_MAX];
	unsigned ndcs;
	/* The instance in use (a copy of dcs[i], tund_config_use_dc): at most
	 * one endpoint per family, indexed UL_V4 / UL_V6; ss_family 0 where
	 * there is none (at least one is given, or a host name). */
	struct sockaddr_storage dc_endpoint[UL_NFAM];
	char dc_text[TUND_DC_TEXT];   /* the value as written (parsed into dcs) */
	/* [DC] Endpoint as "host.name:port": dc_endpoint is filled by
	 * resolving it (dclink_resolve), at start and again while the DC
	 * does not answer. "" when the endpoints are addresses. */
	char dc_host[NTM_NAME_MAX + 1];
	uint16_t dc_host_port;
	uint8_t dc_pub[32];
	uint64_t suite;
	uint64_t nat_keepalive_s;     /* keepalive period of live tunnels and relay use */
	/* bounded work per local user (doc/control.md section 1.2) */
	uint64_t max_peers;           /* peer entries in all */
	uint64_t max_pending;         /* Direction Requests outstanding, node-wide */
	uint64_t max_pending_uid;     /* of those, started by one uid */
	uint64_t hs_rate;             /* handshake initiations per second (burst: 2 s) */
	enum ntm_sandbox_mode seccomp; /* [Node] Seccomp */
	bool offload;                 /* [Interface] Offload: auto (true) or off */
	unsigned workers;             /* [Interface] Workers: 1..16, 0 for auto */
	bool lanes;                   /* [Interface] Lanes: offer and use receive lanes */
	/* [DNS]: ntm0's split DNS on systemd-resolved (resolvedlink.c) */
	enum tund_resolved { TUND_RESOLVED_AUTO, TUND_RESOLVED_YES, TUND_RESOLVED_NO } resolved;
	int dns_family;               /* [DNS] Server: AF_INET or AF_INET6 */
	uint8_t dns_server[16];
	char dns_server_text[64];
	char policy_file[4096];       /* [Policy] File: ntm-policy(5); "": none */
};

int tund_config_load(const char *path, struct tund_config *cfg, char *msg, size_t msglen);

/* Makes dcs[i] the instance in use: copies it into dc_endpoint, dc_host
 * and dc_host_port. */
void tund_config_use_dc(struct tund_config *cfg, unsigned i);

struct addrinfo;
/* The first address of each family in a getaddrinfo() answer, with port,
 * into out[UL_V4] and out[UL_V6] (ss_family 0 where none). -ENOENT when
 * there is neither. */
int tund_config_pick_addrs(const struct addrinfo *ai, uint16_t port,
			   struct sockaddr_storage out[UL_NFAM]);

#endif
