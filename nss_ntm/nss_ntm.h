/* nss_ntm.h - internals of libnss_ntm.so.2 shared by its files (and by
 * tests/unit/test_nss.c, which compiles zones.c to test the parser). Nothing
 * here is exported: the version script nss_ntm.sym exports only the six
 * _nss_ntm_* entry points. */
#ifndef NTM_NSS_NTM_H
#define NTM_NSS_NTM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <netdb.h>
#include <nss.h>
#include <sys/socket.h>

#include "ctlproto.h"

#include "paths.h"
/* Where ntm-tund describes the overlay for the module (format: zones.c). */
#define NTM_NSS_FILE_DEFAULT NTM_RUNSTATEDIR "/ntm/nss"
#define NTM_NSS_SOCKET_DEFAULT NTM_RUNSTATEDIR "/ntm/tund.sock"

#define NTM_NSS_FILE_MAX 4096          /* bytes; a longer file is malformed */
#define NTM_NSS_MAX_ZONES NTM_LCTL_MAX_ZONES
#define NTM_NSS_MAX_PREFIXES 8         /* per family */
#define NTM_NSS_SOCKET_SIZE 108        /* sizeof(sockaddr_un.sun_path) */
#define NTM_NSS_TIMEOUT_DEFAULT 1000   /* ms, whole exchange */
#define NTM_NSS_TIMEOUT_MIN 50
#define NTM_NSS_TIMEOUT_MAX 30000

struct ntm_nss_prefix {
	uint8_t addr[16];              /* network order; [0..3] for IPv4 */
	uint8_t plen;
};

/* What the module knows about the overlay. All zero (no zones, no prefixes)
 * means "answer UNAVAIL to everything". */
struct ntm_nss_conf {
	unsigned n_zones;
	char zones[NTM_NSS_MAX_ZONES][NTM_LCTL_NAME_SIZE];  /* lower case, no trailing dot */
	size_t zone_len[NTM_NSS_MAX_ZONES];
	unsigned n_p4, n_p6;
	struct ntm_nss_prefix p4[NTM_NSS_MAX_PREFIXES], p6[NTM_NSS_MAX_PREFIXES];
	char socket[NTM_NSS_SOCKET_SIZE];
	int timeout_ms;
};

/* Parses the text of an nss file (len bytes, no NUL needed). Returns 0 and
 * fills *c, or -EINVAL and sets *line to the offending line (0 for a missing
 * "version" or "end"); *c is then all zero. */
int ntm_nss_conf_parse(const char *text, size_t len, struct ntm_nss_conf *c, unsigned *line);

/* Reads and parses path. On any failure (missing, unreadable, writable by
 * group or others, too long, malformed) *c is all zero and -errno is
 * returned. Uses open/fstat/read/close only. */
int ntm_nss_conf_load(const char *path, struct ntm_nss_conf *c);

/* True when name (len bytes, one trailing dot already removed) lies strictly
 * below one of the zones, case-insensitively. The apex itself is not. */
bool ntm_nss_in_zone(const struct ntm_nss_conf *c, const char *name, size_t len);

/* True when name (len bytes, no trailing dot) is a DNS host name the
 * daemon can hold: labels of 1-63 letters, digits and '-', not starting or
 * ending with '-', at most 253 bytes (doc/protocol.md section 4, any case). */
bool ntm_nss_name_ok(const char *name, size_t len);

/* 0 when the directory holding path is not writable by group or others,
 * else -errno (-EPERM). One stat. */
int ntm_nss_check_dir(const char *path);

/* ---- mapped.c: ntm-tund's names map (doc/namemap.md), per process ---- */
#include "namemap.h"

#define NTM_NSS_MAPS_MAX 16     /* mappings a process makes in its life (never unmapped) */
/* A daemon that has not read our request this soon is hung (ctlclient.h). */
#define NTM_NSS_TAKEN_MS 250

/* Sets the map's path from the nss file's (its directory + names.map) and
 * maps it if it is there. Called once, under the module's pthread_once. */
void ntm_nss_map_init(const char *nss_file);
/* The current map, or NULL. No system call. */
const struct ntm_namemap *ntm_nss_map(void);
/* After a miss: maps the file again if another has taken its name (one
 * stat; skipped while another thread does it). */
void ntm_nss_map_refresh(void);

/* True when addr (4 bytes for AF_INET, 16 for AF_INET6) is in a prefix. */
bool ntm_nss_in_prefix(const struct ntm_nss_conf *c, int af, const void *addr);

/* The entry points (doc/names.md N1, N2), the only exported symbols. */
enum nss_status _nss_ntm_gethostbyname4_r(const char *name, struct gaih_addrtuple **pat,
					  char *buffer, size_t buflen, int *errnop,
					  int *h_errnop, int32_t *ttlp);
enum nss_status _nss_ntm_gethostbyname3_r(const char *name, int af, struct hostent *host,
					  char *buffer, size_t buflen, int *errnop,
					  int *h_errnop, int32_t *ttlp, char **canonp);
enum nss_status _nss_ntm_gethostbyname2_r(const char *name, int af, struct hostent *host,
					  char *buffer, size_t buflen, int *errnop,
					  int *h_errnop);
enum nss_status _nss_ntm_gethostbyname_r(const char *name, struct hostent *host,
					 char *buffer, size_t buflen, int *errnop,
					 int *h_errnop);
enum nss_status _nss_ntm_gethostbyaddr2_r(const void *addr, socklen_t len, int af,
					  struct hostent *host, char *buffer, size_t buflen,
					  int *errnop, int *h_errnop, int32_t *ttlp);
enum nss_status _nss_ntm_gethostbyaddr_r(const void *addr, socklen_t len, int af,
					 struct hostent *host, char *buffer, size_t buflen,
					 int *errnop, int *h_errnop);

#endif
