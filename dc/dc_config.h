/* dc_config.h - /etc/ntm/dcd.conf, read by ntm-dcd and ntm-dcctl.
 * The man page ntm-dcd.conf(5) documents every key listed here. */
#ifndef NTM_DC_CONFIG_H
#define NTM_DC_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "conf.h"
#include "paths.h"
#include "wire.h"


#define NTM_DCD_CONF NTM_SYSCONFDIR "/ntm/dcd.conf"

struct dc_config {
	char zone[NTM_NAME_MAX + 1];          /* normalized */
	uint16_t port;
	bool has_listen4, has_listen6;
	struct ntm_conf_addr listen4, listen6; /* default: any */
	char key_file[4096];
	char database[4096];
	char control_socket[108];
	struct ntm_conf_addr prefix4, prefix6; /* family 0: not configured */
	uint64_t keepalive_s, lifetime_s;
	char user[64];                        /* drop privileges to (default "ntm", else nobody) */
};

/* Read and validate path into *cfg (defaults filled). On error returns
 * -errno and writes "file:line: message" into msg. */
int dc_config_load(const char *path, struct dc_config *cfg, char *msg, size_t msglen);

/* Turn a node name as an operator writes it ("alice" or
 * "alice.ntm.example.org") into the FQDN under zone. -EINVAL for an
 * invalid name or one under another domain. */
int dc_qualify_name(const char *zone, const char *name, char out[NTM_NAME_MAX + 1]);

#endif
