/* relay_config.h - /etc/ntm/relayd.conf, read by ntm-relayd and
 * ntm-relayctl. The man page ntm-relayd.conf(5) documents every key. */
#ifndef NTM_RELAY_CONFIG_H
#define NTM_RELAY_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf.h"
#include "paths.h"
#include "relay.h"
#include "sandbox.h"

#define NTM_RELAYD_CONF NTM_SYSCONFDIR "/ntm/relayd.conf"

struct relayd_config {
	uint16_t port;
	bool has_listen4, has_listen6;
	struct ntm_conf_addr listen4, listen6; /* default: any */
	char key_file[4096];
	uint8_t dc_pub[32];                    /* the only initiator answered */
	char control_socket[108];
	char user[64];
	enum ntm_sandbox_mode seccomp; /* [Relay] Seccomp */
	struct relay_params params;
	bool offload;                          /* [Relay] Offload = auto: UDP GRO/GSO */
};

/* Read and validate path into *cfg (defaults filled). On error returns
 * -errno and writes "file:line: message" into msg. */
int relayd_config_load(const char *path, struct relayd_config *cfg, char *msg, size_t msglen);

#endif
