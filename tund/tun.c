/* tun.c - open the TUN device and move packets through it. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "tun.h"

#define TUN_PATH "/dev/net/tun"

/* The kernel's dev_valid_name(), checked here so that a bad name gets -EINVAL with
 * certainty instead of whatever TUNSETIFF happens to say about it. */
static int valid_ifname(const char *name)
{
	size_t len = strnlen(name, IFNAMSIZ);

	if (len == 0 || len >= IFNAMSIZ)
		return 0;
	if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];
		if (c == '/' || c == ':' || c == ' ' || (c >= '\t' && c <= '\r'))
			return 0;
	}
	return 1;
}

/* Turn TUNSETIFF's errno into the documented, more telling one. */
static int setiff_error(int err, const char *name)
{
	/* EINVAL for a valid name means the name belongs to another kind of device
	 * (tun_set_iff: neither a TUN nor a TAP of ours). */
	if (err == EINVAL && name[0] && !strchr(name, '%') && if_nametoindex(name) != 0)
		return -EEXIST;
	return -err;
}

static int tun_open(const char *name, int flags, char actual_name[IFNAMSIZ], int *fd)
{
	struct ifreq ifr;
	int tfd, ret;

	if (!name)
		name = "";
	if (name[0] && !valid_ifname(name))
		return -EINVAL;

	tfd = open(TUN_PATH, O_RDWR | O_CLOEXEC | O_NONBLOCK);
	if (tfd < 0)
		return errno == EACCES ? -EPERM : -errno;

	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = (short)flags;
	memcpy(ifr.ifr_name, name, strlen(name)); /* < IFNAMSIZ, NUL stays from memset */
	if (ioctl(tfd, TUNSETIFF, &ifr) < 0) {
		ret = setiff_error(errno, name);
		goto close_fd;
	}

	memcpy(actual_name, ifr.ifr_name, IFNAMSIZ);
	actual_name[IFNAMSIZ - 1] = '\0';
	*fd = tfd;
	return 0;

close_fd:
	close(tfd);
	return ret;
}

int ntm_tun_open(const char *name, char actual_name[IFNAMSIZ], int *fd)
{
	return tun_open(name, NTM_TUN_IFF_FLAGS, actual_name, fd);
}

/* IFF_VNET_HDR's header size and the best offloads the kernel grants
 * (stepping down from NTM_TUN_OFFLOADS), or exactly *offloads. */
static int vnet_setup(int tfd, bool exact, unsigned *offloads)
{
	/* each step down drops what an older kernel may not know */
	static const unsigned try[] = {
		NTM_TUN_OFFLOADS,
		TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN,
		TUN_F_CSUM,
		0,
	};
	int hdrsz = NTM_TUN_VNET_HDR_LEN;

	if (ioctl(tfd, TUNSETVNETHDRSZ, &hdrsz) < 0)
		return -ENOTSUP;
	if (exact)
		return ioctl(tfd, TUNSETOFFLOAD, (unsigned long)*offloads) < 0 ? -errno : 0;
	for (size_t i = 0; i < sizeof(try) / sizeof(try[0]); i++) {
		if (ioctl(tfd, TUNSETOFFLOAD, (unsigned long)try[i]) == 0) {
			*offloads = try[i];
			return 0;
		}
		if (errno != EINVAL)
			break;
	}
	return -errno;
}

int ntm_tun_open_offload(const char *name, char actual_name[IFNAMSIZ], int *fd,
			 unsigned *offloads)
{
	int tfd, ret;

	ret = tun_open(name, NTM_TUN_IFF_FLAGS | IFF_VNET_HDR, actual_name, &tfd);
	if (ret < 0)
		return ret;
	ret = vnet_setup(tfd, false, offloads);
	if (ret < 0) {
		close(tfd);
		return ret;
	}
	*fd = tfd;
	return 0;
}

int ntm_tun_open_queues(const char *name, char actual_name[IFNAMSIZ], int *fds, unsigned n,
			bool vnet, unsigned *offloads)
{
	int flags = NTM_TUN_IFF_FLAGS | IFF_MULTI_QUEUE | (vnet ? IFF_VNET_HDR : 0);
	unsigned got = 0;
	int ret = 0;

	*offloads = 0;
	for (; got < n; got++) {
		/* the first queue creates the device under a name the kernel
		 * may number; the others attach to that name */
		ret = tun_open(got ? actual_name : name, flags, actual_name, &fds[got]);
		if (ret < 0)
			goto fail;
		if (vnet && (ret = vnet_setup(fds[got], got > 0, offloads)) < 0) {
			close(fds[got]);
			goto fail;
		}
	}
	return 0;
fail:
	while (got > 0)
		close(fds[--got]);
	return ret;
}

/* Length of the IP packet starting at p as its header states; 0 if unknown. */
static size_t ip_length(const uint8_t *p, size_t len)
{
	if (len >= 4 && p[0] >> 4 == 4)
		return (size_t)(p[2] << 8 | p[3]);
	if (len >= 6 && p[0] >> 4 == 6)
		return 40 + (size_t)(p[4] << 8 | p[5]);
	return 0;
}

ssize_t ntm_tun_read(int fd, void *buf, size_t cap)
{
	ssize_t n;

	do
		n = read(fd, buf, cap);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	/* With IFF_NO_PI the kernel cuts a packet that does not fit without a word;
	 * a cut is only possible when the buffer came back full, and then the IP
	 * header tells. */
	if ((size_t)n == cap && ip_length(buf, cap) > cap)
		return -EMSGSIZE;
	return n;
}

int ntm_tun_write(int fd, const void *pkt, size_t len)
{
	ssize_t n;

	do
		n = write(fd, pkt, len);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	if ((size_t)n != len)
		return -EIO;
	return 0;
}

void ntm_tun_close(int *fd)
{
	if (*fd >= 0) {
		close(*fd);
		*fd = -1;
	}
}
