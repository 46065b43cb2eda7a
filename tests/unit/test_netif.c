/* test_netif.c - the TUN device, its addresses, MTU and link state, and dropping
 * privileges while keeping CAP_NET_ADMIN; txqueuelen and the queue's drops.
 *
 * Needs root and /dev/net/tun, else it exits 77 (skip). main() moves the whole
 * process into a fresh network namespace before any test runs, so every device and
 * address here is private to it and vanishes with it; forked tests (CK_FORK=yes, the
 * default) inherit the namespace, and CK_FORK=no runs in it directly.
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "netif.h"
#include "privs.h"
#include "tun.h"

#define TUN_NAME "ntmtest0"
#define MTU 1388
#define DEADLINE_MS 3000
#define MAX_ADDRS 16

/* A first allocation and the one that replaces it. */
static const uint8_t v4a[4] = { 198, 18, 0, 5 };
static const uint8_t v6a[16] = { 0xfd, 0x12, 0x34, 0x56, 0x78, 0x9a, [15] = 5 };
static const uint8_t v4b[4] = { 198, 19, 7, 7 };
static const uint8_t v6b[16] = { 0xfd, 0x12, 0x34, 0x56, 0x78, 0x9b, [15] = 7 };
/* Peers inside the first prefixes; nothing answers there, the TUN fd sees it all. */
static const uint8_t peer4[4] = { 198, 18, 0, 9 };
static const uint8_t peer6[16] = { 0xfd, 0x12, 0x34, 0x56, 0x78, 0x9a, [15] = 9 };

static int tun_fd = -1;

static void open_tun(void)
{
	char name[IFNAMSIZ];
	int ret = ntm_tun_open(TUN_NAME, name, &tun_fd);

	ck_assert_msg(ret == 0, "opening TUN %s: %s", TUN_NAME, strerror(-ret));
	ck_assert_str_eq(name, TUN_NAME);
}

static void close_tun(void)
{
	ntm_tun_close(&tun_fd);
}

static void configure(const uint8_t *v4, uint8_t p4, const uint8_t *v6, uint8_t p6)
{
	int ret = ntm_netif_configure(TUN_NAME, v4, p4, v6, p6, MTU);

	ck_assert_msg(ret == 0, "configuring %s: %s", TUN_NAME, strerror(-ret));
}

/* How many addresses of `family` (other than link-local) are on the TUN, and whether
 * addr/plen is one of them. */
static size_t count_addrs(int family, const uint8_t *addr, uint8_t plen, bool *found)
{
	struct ntm_netif_addr list[MAX_ADDRS];
	size_t n, len = family == AF_INET ? 4 : 16, count = 0;
	int ret = ntm_netif_get_addrs(TUN_NAME, list, MAX_ADDRS, &n);

	ck_assert_msg(ret == 0, "listing addresses: %s", strerror(-ret));
	ck_assert_uint_le(n, MAX_ADDRS);
	*found = false;
	for (size_t i = 0; i < n; i++) {
		if (list[i].family != family || list[i].scope == RT_SCOPE_LINK)
			continue;
		count++;
		if (list[i].plen == plen && memcmp(list[i].addr, addr, len) == 0)
			*found = true;
	}
	return count;
}

/* The TUN carries exactly v4/p4 and v6/p6 (plus link-local). */
static void assert_only(const uint8_t *v4, uint8_t p4, const uint8_t *v6, uint8_t p6)
{
	char s4[INET_ADDRSTRLEN], s6[INET6_ADDRSTRLEN];
	bool found;

	inet_ntop(AF_INET, v4, s4, sizeof(s4));
	inet_ntop(AF_INET6, v6, s6, sizeof(s6));
	ck_assert_uint_eq(count_addrs(AF_INET, v4, p4, &found), 1);
	ck_assert_msg(found, "%s/%u is not on %s", s4, p4, TUN_NAME);
	ck_assert_uint_eq(count_addrs(AF_INET6, v6, p6, &found), 1);
	ck_assert_msg(found, "%s/%u is not on %s", s6, p6, TUN_NAME);
}

static int ms_left(const struct timespec *start)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	long ms = (now.tv_sec - start->tv_sec) * 1000 + (now.tv_nsec - start->tv_nsec) / 1000000;
	return ms >= DEADLINE_MS ? 0 : (int)(DEADLINE_MS - ms);
}

/* Read packets from the TUN until one of IP `version` and UDP goes to `dst`
 * (others, like IPv6 router solicitations, are skipped), within the deadline.
 * Returns its length. */
static size_t wait_udp_packet(uint8_t *buf, size_t cap, int version, const uint8_t *dst)
{
	struct pollfd p = { .fd = tun_fd, .events = POLLIN };
	struct timespec start;
	int left;

	clock_gettime(CLOCK_MONOTONIC, &start);
	while ((left = ms_left(&start)) > 0) {
		if (poll(&p, 1, left) <= 0)
			continue;
		ssize_t n = ntm_tun_read(tun_fd, buf, cap);
		if (n == -EAGAIN)
			continue;
		ck_assert_msg(n > 0, "reading the TUN: %s", strerror((int)-n));
		if (version == 4 && n >= 20 && buf[0] >> 4 == 4 && buf[9] == IPPROTO_UDP &&
		    memcmp(buf + 16, dst, 4) == 0)
			return (size_t)n;
		if (version == 6 && n >= 40 && buf[0] >> 4 == 6 && buf[6] == IPPROTO_UDP &&
		    memcmp(buf + 24, dst, 16) == 0)
			return (size_t)n;
	}
	ck_abort_msg("no IPv%d UDP packet came out of the TUN within %d ms", version,
		     DEADLINE_MS);
	return 0;
}

static void send_udp(int family, const uint8_t *dst)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	int s = socket(family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	ck_assert_int_ge(s, 0);
	memset(&ss, 0, sizeof(ss));
	if (family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
		sin->sin_family = AF_INET;
		sin->sin_port = htons(4242);
		memcpy(&sin->sin_addr, dst, 4);
		sl = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(4242);
		memcpy(&sin6->sin6_addr, dst, 16);
		sl = sizeof(*sin6);
	}
	ssize_t n = sendto(s, "ntm", 3, 0, (struct sockaddr *)&ss, sl);
	int err = errno;
	close(s);
	ck_assert_msg(n == 3, "sendto: %s", strerror(err));
}

START_TEST(test_a_tun_opens_under_its_name_and_goes_away_when_closed)
{
	unsigned ifindex;
	int flags;

	open_tun();
	flags = fcntl(tun_fd, F_GETFL);
	ck_assert(flags & O_NONBLOCK);
	ck_assert(fcntl(tun_fd, F_GETFD) & FD_CLOEXEC);
	ck_assert_int_eq(ntm_netif_ifindex(TUN_NAME, &ifindex), 0);
	ck_assert_uint_gt(ifindex, 0);
	close_tun();
	ck_assert_int_eq(tun_fd, -1);
	ck_assert_int_eq(ntm_netif_ifindex(TUN_NAME, &ifindex), -ENODEV);
}
END_TEST

START_TEST(test_a_name_too_long_or_malformed_is_rejected_with_einval)
{
	char name[IFNAMSIZ];
	int fd = -7;

	ck_assert_int_eq(ntm_tun_open("ntmtest0123456789", name, &fd), -EINVAL);
	ck_assert_int_eq(ntm_tun_open("ntmtest012345678", name, &fd), -EINVAL); /* 16 */
	ck_assert_int_eq(ntm_tun_open("ntm/0", name, &fd), -EINVAL);
	ck_assert_int_eq(ntm_tun_open("ntm 0", name, &fd), -EINVAL);
	ck_assert_int_eq(ntm_tun_open("..", name, &fd), -EINVAL);
	ck_assert_int_eq(fd, -7);
	/* 15 bytes is the longest name that fits. */
	ck_assert_int_eq(ntm_tun_open("ntmtest01234567", name, &fd), 0);
	ck_assert_str_eq(name, "ntmtest01234567");
	ntm_tun_close(&fd);
}
END_TEST

START_TEST(test_a_name_in_use_is_busy_or_taken)
{
	char name[IFNAMSIZ];
	int fd = -1;

	open_tun();
	ck_assert_int_eq(ntm_tun_open(TUN_NAME, name, &fd), -EBUSY);
	ck_assert_int_eq(ntm_tun_open("lo", name, &fd), -EEXIST);
	ck_assert_int_eq(fd, -1);
}
END_TEST

START_TEST(test_a_template_name_is_numbered_by_the_kernel)
{
	char name[IFNAMSIZ];
	int fd = -1;

	ck_assert_int_eq(ntm_tun_open("ntmtpl%d", name, &fd), 0);
	ck_assert_str_eq(name, "ntmtpl0");
	ntm_tun_close(&fd);
}
END_TEST

START_TEST(test_configure_sets_both_addresses_the_mtu_and_brings_the_link_up)
{
	struct ntm_netif_link link;
	struct ntm_netif_addr list[MAX_ADDRS];
	size_t n;

	configure(v4a, 15, v6a, 48);
	assert_only(v4a, 15, v6a, 48);
	ck_assert_int_eq(ntm_netif_get_link(TUN_NAME, &link), 0);
	ck_assert_uint_eq(link.mtu, MTU);
	ck_assert(link.up);
	ck_assert_int_eq(ntm_netif_get_addrs(TUN_NAME, list, MAX_ADDRS, &n), 0);
	for (size_t i = 0; i < n; i++)
		if (list[i].family == AF_INET6 && list[i].scope != RT_SCOPE_LINK)
			ck_assert_msg(list[i].flags & IFA_F_NODAD, "IPv6 address lacks NODAD");
}
END_TEST

/* SIOCSIFTXQLEN, as `ip link set ... txqueuelen` would. */
static void set_txqlen(unsigned qlen)
{
	struct ifreq ifr;
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(s, 0);
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", TUN_NAME);
	ifr.ifr_qlen = (int)qlen;
	ck_assert_int_eq(ioctl(s, SIOCSIFTXQLEN, &ifr), 0);
	close(s);
}

/* txqueuelen is raised from the kernel's 500, put back after a change and
 * left alone when set higher by hand; a full queue (nobody reading the TUN
 * fd) counts its drops in tx_dropped, which tun_txq_drops reports. */
START_TEST(test_configure_raises_txqueuelen_and_a_full_queue_counts_its_drops)
{
	struct ntm_netif_link link;

	ck_assert_int_eq(ntm_netif_get_link(TUN_NAME, &link), 0);
	ck_assert_uint_lt(link.txqlen, NTM_TUN_TXQLEN);
	configure(v4a, 15, v6a, 48);
	ck_assert_int_eq(ntm_netif_get_link(TUN_NAME, &link), 0);
	ck_assert_uint_eq(link.txqlen, NTM_TUN_TXQLEN);
	ck_assert_uint_eq(link.tx_dropped, 0);

	set_txqlen(16);
	for (int i = 0; i < 100; i++)
		send_udp(AF_INET, peer4);
	ck_assert_int_eq(ntm_netif_get_link(TUN_NAME, &link), 0);
	ck_assert_uint_ge(link.tx_dropped, 100 - 16);

	configure(v4a, 15, v6a, 48);
	ck_assert_int_eq(ntm_netif_get_link(TUN_NAME, &link), 0);
	ck_assert_uint_eq(link.txqlen, NTM_TUN_TXQLEN);
	set_txqlen(NTM_TUN_TXQLEN * 2);
	configure(v4a, 15, v6a, 48);
	ck_assert_int_eq(ntm_netif_get_link(TUN_NAME, &link), 0);
	ck_assert_uint_eq(link.txqlen, NTM_TUN_TXQLEN * 2);
}
END_TEST

START_TEST(test_the_address_list_reports_its_full_size_when_cut)
{
	struct ntm_netif_addr one;
	size_t n = 99;

	configure(v4a, 15, v6a, 48);
	ck_assert_int_eq(ntm_netif_get_addrs(TUN_NAME, NULL, 0, &n), 0);
	ck_assert_uint_ge(n, 2);
	ck_assert_int_eq(ntm_netif_get_addrs(TUN_NAME, &one, 1, &n), 0);
	ck_assert_uint_ge(n, 2);
}
END_TEST

START_TEST(test_configuring_twice_with_the_same_values_succeeds_and_changes_nothing)
{
	configure(v4a, 15, v6a, 48);
	configure(v4a, 15, v6a, 48);
	assert_only(v4a, 15, v6a, 48);
}
END_TEST

START_TEST(test_reconfiguring_replaces_the_old_addresses_with_the_new)
{
	configure(v4a, 15, v6a, 48);
	configure(v4b, 16, v6b, 64);
	assert_only(v4b, 16, v6b, 64);
	/* Only the prefix lengths change: the address must come back with the new one. */
	configure(v4b, 24, v6b, 56);
	assert_only(v4b, 24, v6b, 56);
}
END_TEST

START_TEST(test_bad_arguments_are_rejected_and_a_missing_link_is_enodev)
{
	ck_assert_int_eq(ntm_netif_configure(TUN_NAME, v4a, 33, v6a, 48, MTU), -EINVAL);
	ck_assert_int_eq(ntm_netif_configure(TUN_NAME, v4a, 15, v6a, 129, MTU), -EINVAL);
	ck_assert_int_eq(ntm_netif_configure(TUN_NAME, v4a, 15, v6a, 48, 1279), -EINVAL);
	ck_assert_int_eq(ntm_netif_configure(TUN_NAME, v4a, 15, v6a, 48, 65536), -EINVAL);
	ck_assert_int_eq(ntm_netif_configure(TUN_NAME, NULL, 15, v6a, 48, MTU), -EINVAL);
	ck_assert_int_eq(ntm_netif_configure("", v4a, 15, v6a, 48, MTU), -EINVAL);
	ck_assert_int_eq(ntm_netif_configure("ntmnosuch0", v4a, 15, v6a, 48, MTU), -ENODEV);
}
END_TEST

START_TEST(test_an_ipv4_datagram_to_the_prefix_comes_out_of_the_tun_fd)
{
	uint8_t buf[NTM_TUN_MAX_PACKET];
	size_t n, ihl;

	configure(v4a, 15, v6a, 48);
	send_udp(AF_INET, peer4);
	n = wait_udp_packet(buf, sizeof(buf), 4, peer4);
	ihl = (size_t)(buf[0] & 15) * 4;
	ck_assert_uint_ge(n, ihl + 8 + 3);
	ck_assert_mem_eq(buf + 12, v4a, 4);
	ck_assert_uint_eq((unsigned)(buf[ihl + 2] << 8 | buf[ihl + 3]), 4242);
	ck_assert_mem_eq(buf + ihl + 8, "ntm", 3);
}
END_TEST

START_TEST(test_an_ipv6_datagram_leaves_at_once_from_the_nodad_address)
{
	uint8_t buf[NTM_TUN_MAX_PACKET];
	size_t n;

	configure(v4a, 15, v6a, 48);
	/* No wait after configuring: a tentative address would not be picked as the
	 * source. */
	send_udp(AF_INET6, peer6);
	n = wait_udp_packet(buf, sizeof(buf), 6, peer6);
	ck_assert_uint_ge(n, 40 + 8 + 3);
	ck_assert_mem_eq(buf + 8, v6a, 16);
	ck_assert_mem_eq(buf + 48, "ntm", 3);
}
END_TEST

START_TEST(test_a_packet_longer_than_the_read_buffer_is_reported_as_emsgsize)
{
	uint8_t buf[150], payload[400] = { 0 };
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(4242) };
	struct pollfd p = { .fd = tun_fd, .events = POLLIN };
	struct timespec start;
	ssize_t n = 0;
	int s, left;

	configure(v4a, 15, v6a, 48);
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	ck_assert_int_ge(s, 0);
	memcpy(&to.sin_addr, peer4, 4);
	n = sendto(s, payload, sizeof(payload), 0, (struct sockaddr *)&to, sizeof(to));
	close(s);
	ck_assert_int_eq(n, sizeof(payload));
	/* Smaller packets (IPv6 router solicitations, MLD reports) fit and are skipped. */
	clock_gettime(CLOCK_MONOTONIC, &start);
	while ((left = ms_left(&start)) > 0 && n != -EMSGSIZE) {
		if (poll(&p, 1, left) == 1)
			n = ntm_tun_read(tun_fd, buf, sizeof(buf));
		ck_assert_msg(n > 0 || n == -EAGAIN || n == -EMSGSIZE, "reading the TUN: %s",
			      strerror((int)-n));
	}
	ck_assert_int_eq(n, -EMSGSIZE);
}
END_TEST

static uint16_t ip_checksum(const uint8_t *p, size_t len)
{
	uint32_t sum = 0;

	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

START_TEST(test_a_packet_written_to_the_tun_fd_reaches_a_local_socket)
{
	struct sockaddr_in me = { .sin_family = AF_INET }, from;
	socklen_t sl = sizeof(me);
	struct pollfd p = { .events = POLLIN };
	uint8_t pkt[20 + 8 + 3] = {
		0x45, 0, 0, sizeof(pkt), 0, 0, 0x40, 0, 64, IPPROTO_UDP, 0, 0,
	};
	char got[8];
	int s;

	configure(v4a, 15, v6a, 48);
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	ck_assert_int_ge(s, 0);
	memcpy(&me.sin_addr, v4a, 4);
	ck_assert_int_eq(bind(s, (struct sockaddr *)&me, sizeof(me)), 0);
	ck_assert_int_eq(getsockname(s, (struct sockaddr *)&me, &sl), 0);

	memcpy(pkt + 12, peer4, 4);
	memcpy(pkt + 16, v4a, 4);
	uint16_t sum = ip_checksum(pkt, 20);
	pkt[10] = (uint8_t)(sum >> 8);
	pkt[11] = (uint8_t)sum;
	pkt[20] = 0x10; /* source port 4096 */
	memcpy(pkt + 22, &me.sin_port, 2);
	pkt[25] = 8 + 3; /* UDP length; checksum 0 = none, allowed over IPv4 */
	memcpy(pkt + 28, "ntm", 3);
	ck_assert_int_eq(ntm_tun_write(tun_fd, pkt, sizeof(pkt)), 0);

	p.fd = s;
	ck_assert_msg(poll(&p, 1, DEADLINE_MS) == 1, "nothing arrived within %d ms",
		      DEADLINE_MS);
	sl = sizeof(from);
	ssize_t n = recvfrom(s, got, sizeof(got), 0, (struct sockaddr *)&from, &sl);
	close(s);
	ck_assert_int_eq(n, 3);
	ck_assert_mem_eq(got, "ntm", 3);
	ck_assert_mem_eq(&from.sin_addr, peer4, 4);
}
END_TEST

/* Run fn in a child process. fn returns NULL when all its checks passed, or a
 * description of the first that failed, which the parent asserts on. */
static void in_child(const char *(*fn)(char *msg, size_t len))
{
	char msg[256] = "";
	int fds[2], status;
	pid_t pid;

	ck_assert_int_eq(pipe2(fds, O_CLOEXEC), 0);
	fflush(NULL); /* the child exits through exit(), which flushes stdio again */
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		char cmsg[256] = "";
		const char *err = fn(cmsg, sizeof(cmsg));
		if (err && write(fds[1], err, strlen(err)) < 0)
			exit(3);
		/* exit(), not _exit(): libraries' destructors run as at any normal exit,
		 * so valgrind in the child reports only real leaks. */
		exit(err ? 1 : 0);
	}
	close(fds[1]);
	ssize_t n = read(fds[0], msg, sizeof(msg) - 1);
	close(fds[0]);
	msg[n > 0 ? n : 0] = '\0';
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(msg[0] == '\0', "child: %s", msg);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "child ended with status %#x", status);
}

static const char *keeps_net_admin(char *msg, size_t len)
{
	int ret = ntm_privs_drop("nobody", NTM_TUND_KEEP_CAPS);

	if (ret < 0) {
		snprintf(msg, len, "dropping to nobody: %s", strerror(-ret));
		return msg;
	}
	if (getuid() == 0 || geteuid() == 0)
		return "still uid 0";
	if (ntm_privs_have_cap(CAP_NET_ADMIN) != 1)
		return "CAP_NET_ADMIN is not effective";
	if (ntm_privs_have_cap(CAP_SYS_ADMIN) != 0)
		return "CAP_SYS_ADMIN is still effective";
	if (ntm_privs_have_cap(CAP_SETUID) != 0)
		return "CAP_SETUID is still effective";
	ret = ntm_netif_configure(TUN_NAME, v4b, 16, v6b, 64, MTU);
	if (ret < 0) {
		snprintf(msg, len, "configuring with CAP_NET_ADMIN kept: %s", strerror(-ret));
		return msg;
	}
	return NULL;
}

START_TEST(test_a_child_dropped_to_nobody_keeping_net_admin_can_still_change_addresses)
{
	configure(v4a, 15, v6a, 48);
	in_child(keeps_net_admin);
	assert_only(v4b, 16, v6b, 64);
}
END_TEST

static const char *keeps_nothing(char *msg, size_t len)
{
	int ret = ntm_privs_drop("65534:65534", 0);

	if (ret < 0) {
		snprintf(msg, len, "dropping to 65534:65534: %s", strerror(-ret));
		return msg;
	}
	if (getuid() != 65534 || getgid() != 65534)
		return "ids are not 65534:65534";
	if (ntm_privs_have_cap(CAP_NET_ADMIN) != 0)
		return "CAP_NET_ADMIN is still effective";
	ret = ntm_netif_configure(TUN_NAME, v4b, 16, v6b, 64, MTU);
	if (ret != -EPERM) {
		snprintf(msg, len, "configuring without caps gave %d (%s), not -EPERM", ret,
			 strerror(-ret));
		return msg;
	}
	return NULL;
}

START_TEST(test_a_child_dropped_with_no_caps_cannot_change_addresses)
{
	configure(v4a, 15, v6a, 48);
	in_child(keeps_nothing);
	assert_only(v4a, 15, v6a, 48);
}
END_TEST

START_TEST(test_bad_users_and_masks_are_refused_before_anything_changes)
{
	ck_assert_int_eq(ntm_privs_drop("0:0", 0), -EINVAL);
	ck_assert_int_eq(ntm_privs_drop("root", 0), -EINVAL);
	ck_assert_int_eq(ntm_privs_drop("", 0), -EINVAL);
	ck_assert_int_eq(ntm_privs_drop("65534:", 0), -EINVAL);
	ck_assert_int_eq(ntm_privs_drop("65534:+1", 0), -EINVAL);
	ck_assert_int_eq(ntm_privs_drop("4294967295:1", 0), -EINVAL);
	ck_assert_int_eq(ntm_privs_drop("ntm-no-such-user", 0), -ENOENT);
	ck_assert_int_eq(ntm_privs_drop("nobody", NTM_CAP(63)), -EINVAL);
	ck_assert_int_eq(getuid(), 0);
	ck_assert_int_eq(ntm_privs_have_cap(CAP_SYS_ADMIN), 1);
	ck_assert_int_eq(ntm_privs_have_cap(64), -EINVAL);
}
END_TEST

static Suite *netif_suite(void)
{
	Suite *s = suite_create("netif");
	TCase *tun = tcase_create("tun");
	TCase *conf = tcase_create("configure");
	TCase *privs = tcase_create("privs");

	tcase_add_checked_fixture(tun, NULL, close_tun);
	tcase_add_test(tun, test_a_tun_opens_under_its_name_and_goes_away_when_closed);
	tcase_add_test(tun, test_a_name_too_long_or_malformed_is_rejected_with_einval);
	tcase_add_test(tun, test_a_name_in_use_is_busy_or_taken);
	tcase_add_test(tun, test_a_template_name_is_numbered_by_the_kernel);
	suite_add_tcase(s, tun);

	tcase_add_checked_fixture(conf, open_tun, close_tun);
	tcase_add_test(conf, test_configure_sets_both_addresses_the_mtu_and_brings_the_link_up);
	tcase_add_test(conf, test_the_address_list_reports_its_full_size_when_cut);
	tcase_add_test(conf, test_configure_raises_txqueuelen_and_a_full_queue_counts_its_drops);
	tcase_add_test(conf, test_configuring_twice_with_the_same_values_succeeds_and_changes_nothing);
	tcase_add_test(conf, test_reconfiguring_replaces_the_old_addresses_with_the_new);
	tcase_add_test(conf, test_bad_arguments_are_rejected_and_a_missing_link_is_enodev);
	tcase_add_test(conf, test_an_ipv4_datagram_to_the_prefix_comes_out_of_the_tun_fd);
	tcase_add_test(conf, test_an_ipv6_datagram_leaves_at_once_from_the_nodad_address);
	tcase_add_test(conf, test_a_packet_written_to_the_tun_fd_reaches_a_local_socket);
	tcase_add_test(conf, test_a_packet_longer_than_the_read_buffer_is_reported_as_emsgsize);
	suite_add_tcase(s, conf);

	tcase_add_checked_fixture(privs, open_tun, close_tun);
	tcase_add_test(privs, test_a_child_dropped_to_nobody_keeping_net_admin_can_still_change_addresses);
	tcase_add_test(privs, test_a_child_dropped_with_no_caps_cannot_change_addresses);
	tcase_add_test(privs, test_bad_users_and_masks_are_refused_before_anything_changes);
	suite_add_tcase(s, privs);
	return s;
}

int main(void)
{
	if (geteuid() != 0) {
		printf("test_netif: skipped: needs root to create TUN devices\n");
		return 77;
	}
	if (access("/dev/net/tun", R_OK | W_OK) != 0) {
		printf("test_netif: skipped: /dev/net/tun: %s\n", strerror(errno));
		return 77;
	}
	/* Everything below happens in a private, throw-away network namespace. */
	if (unshare(CLONE_NEWNET) != 0) {
		printf("test_netif: skipped: unshare(CLONE_NEWNET): %s\n", strerror(errno));
		return 77;
	}
	SRunner *sr = srunner_create(netif_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
