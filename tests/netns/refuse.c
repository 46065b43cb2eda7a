/* refuse.c - LD_PRELOAD shim for offload.sh and relay_offload.sh: ntm-tund
 * (or ntm-dcd) sees a kernel that
 * lacks offload features this one has, so its fallbacks run. Never
 * installed. NTM_TEST_REFUSE is a comma-separated list of:
 *   uso   TUNSETOFFLOAD with TUN_F_USO4 or TUN_F_USO6 fails EINVAL (kernels
 *         before 6.2)
 *   tso   TUNSETOFFLOAD with TUN_F_TSO4, TUN_F_TSO6 or TUN_F_TSO_ECN fails
 *         EINVAL
 *   csum  TUNSETOFFLOAD with any flag fails EINVAL
 *   gro   setsockopt(IPPROTO_UDP, UDP_GRO) fails ENOPROTOOPT (before 5.0)
 *   gso   sendmsg or sendmmsg with a UDP_SEGMENT control message fails EIO,
 *         as a kernel before 6.11 answers when the underlay device has no
 *         checksum offload
 *   mq    TUNSETIFF with IFF_MULTI_QUEUE fails EINVAL (a kernel or device
 *         without multi-queue TUN)
 *   bpf   setsockopt(SO_ATTACH_REUSEPORT_CBPF) fails ENOPROTOOPT (before 4.5)
 * The real functions are looked up before main, so nothing here runs
 * outside ntm-tund's system-call allow-list. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <errno.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
#ifndef UDP_GRO
#define UDP_GRO 104
#endif
#ifndef TUN_F_USO4
#define TUN_F_USO4 0x20
#define TUN_F_USO6 0x40
#endif

static int (*real_ioctl)(int, unsigned long, ...);
static int (*real_setsockopt)(int, int, int, const void *, socklen_t);
static ssize_t (*real_sendmsg)(int, const struct msghdr *, int);
static int (*real_sendmmsg)(int, struct mmsghdr *, unsigned, int);
static unsigned long refused_tun;       /* TUN_F_* flags refused */
static bool refuse_gro, refuse_gso, refuse_mq, refuse_bpf;

static bool listed(const char *list, const char *word)
{
	size_t n = strlen(word);

	for (const char *p = list; p && *p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL)
		if (strncmp(p, word, n) == 0 && (p[n] == ',' || p[n] == '\0'))
			return true;
	return false;
}

__attribute__((constructor)) static void init(void)
{
	const char *l = getenv("NTM_TEST_REFUSE");

	real_ioctl = (int (*)(int, unsigned long, ...))dlsym(RTLD_NEXT, "ioctl");
	real_setsockopt = (int (*)(int, int, int, const void *, socklen_t))dlsym(RTLD_NEXT, "setsockopt");
	real_sendmsg = (ssize_t (*)(int, const struct msghdr *, int))dlsym(RTLD_NEXT, "sendmsg");
	real_sendmmsg = (int (*)(int, struct mmsghdr *, unsigned, int))dlsym(RTLD_NEXT, "sendmmsg");
	if (listed(l, "uso"))
		refused_tun |= TUN_F_USO4 | TUN_F_USO6;
	if (listed(l, "tso"))
		refused_tun |= TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN;
	if (listed(l, "csum"))
		refused_tun = ~0UL;
	refuse_gro = listed(l, "gro");
	refuse_gso = listed(l, "gso");
	refuse_mq = listed(l, "mq");
	refuse_bpf = listed(l, "bpf");
}

int ioctl(int fd, unsigned long req, ...)
{
	va_list ap;
	unsigned long arg;

	va_start(ap, req);
	arg = va_arg(ap, unsigned long);
	va_end(ap);
	if (req == TUNSETOFFLOAD && (arg & refused_tun)) {
		errno = EINVAL;
		return -1;
	}
	if (refuse_mq && req == TUNSETIFF && (((struct ifreq *)arg)->ifr_flags & IFF_MULTI_QUEUE)) {
		errno = EINVAL;
		return -1;
	}
	return real_ioctl(fd, req, arg);
}

int setsockopt(int fd, int level, int name, const void *val, socklen_t len)
{
	if (refuse_gro && level == IPPROTO_UDP && name == UDP_GRO) {
		errno = ENOPROTOOPT;
		return -1;
	}
	if (refuse_bpf && level == SOL_SOCKET && name == SO_ATTACH_REUSEPORT_CBPF) {
		errno = ENOPROTOOPT;
		return -1;
	}
	return real_setsockopt(fd, level, name, val, len);
}

static bool segmented(const struct msghdr *m)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(m); c; c = CMSG_NXTHDR((struct msghdr *)m, c))
		if (c->cmsg_level == IPPROTO_UDP && c->cmsg_type == UDP_SEGMENT)
			return true;
	return false;
}

ssize_t sendmsg(int fd, const struct msghdr *m, int flags)
{
	if (refuse_gso && segmented(m)) {
		errno = EIO;
		return -1;
	}
	return real_sendmsg(fd, m, flags);
}

/* The kernel sends the messages before the one it refuses. */
int sendmmsg(int fd, struct mmsghdr *v, unsigned n, int flags)
{
	for (unsigned i = 0; refuse_gso && i < n; i++) {
		if (!segmented(&v[i].msg_hdr))
			continue;
		if (i == 0) {
			errno = EIO;
			return -1;
		}
		return real_sendmmsg(fd, v, i, flags);
	}
	return real_sendmmsg(fd, v, n, flags);
}
