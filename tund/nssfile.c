/* nssfile.c - the file that tells nss_ntm which names and addresses are
 * the overlay's (format: nss_ntm/zones.c and nss_ntm(8)). Written after
 * each registration that changes it, atomically (temporary file in the
 * same directory, then rename), so a process reading it never sees half.
 * Kept when ntm-tund stops: the zones stay known, so an overlay name still
 * ends at nss_ntm (NOTFOUND) and never reaches ordinary DNS (nss_ntm(8)). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "tund.h"

#define NSS_TIMEOUT_MS 1000

static void masked(uint8_t *out, const uint8_t *a, size_t len, unsigned plen)
{
	for (size_t i = 0; i < len; i++) {
		unsigned bits = plen > i * 8 ? plen - (unsigned)i * 8 : 0;
		uint8_t mask = bits >= 8 ? 0xff : (uint8_t)(0xff << (8 - bits));
		out[i] = a[i] & mask;
	}
}

void nssfile_write(struct tund *t)
{
	char tmp[4200], body[4096], p4[INET_ADDRSTRLEN], p6[INET6_ADDRSTRLEN];
	uint8_t m4[4], m6[16];
	int n = 0, fd;

	masked(m4, t->vip4, 4, t->plen4);
	masked(m6, t->vip6, 16, t->plen6);
	inet_ntop(AF_INET, m4, p4, sizeof(p4));
	inet_ntop(AF_INET6, m6, p6, sizeof(p6));
	n += snprintf(body + n, sizeof(body) - (size_t)n,
		      "# written by ntm-tund; read by libnss_ntm.so.2, see nss_ntm(8)\nversion 1\n");
	for (uint8_t i = 0; i < t->nzones; i++)
		n += snprintf(body + n, sizeof(body) - (size_t)n, "zone %s\n", t->zones[i]);
	/* a length of 0 would be "everything": nss_ntm rejects it, rightly */
	if (t->plen4)
		n += snprintf(body + n, sizeof(body) - (size_t)n, "prefix4 %s/%u\n", p4, t->plen4);
	if (t->plen6)
		n += snprintf(body + n, sizeof(body) - (size_t)n, "prefix6 %s/%u\n", p6, t->plen6);
	n += snprintf(body + n, sizeof(body) - (size_t)n, "socket %s\ntimeout_ms %d\nend\n",
		      t->cfg.control_socket, NSS_TIMEOUT_MS);
	if (n >= (int)sizeof(body))
		return;
	snprintf(tmp, sizeof(tmp), "%s.tmp", t->cfg.nss_file);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	int err = 0;
	if (fd < 0 || write(fd, body, (size_t)n) != n || fsync(fd) < 0)
		err = errno ? errno : EIO;
	if (fd >= 0 && close(fd) < 0 && !err)
		err = errno;
	if (!err && rename(tmp, t->cfg.nss_file) < 0)
		err = errno;
	if (err) {
		unlink(tmp);
		log_warn("%s: cannot write it (%s): programs will not know the overlay's names "
			 "through nss_ntm", t->cfg.nss_file, strerror(err));
	}
}
