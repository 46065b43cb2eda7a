/* test_udp.c - lib/udp.c: batches (recvmmsg/sendmmsg) and trains; a datagram sent with its own TTL or hop limit
 * (the opening probe, doc/protocol.md 2.7) leaves with that TTL, for
 * native IPv4, for IPv4 mapped on a dual-stack socket and for IPv6, and
 * only that datagram: the socket's own TTL is untouched. Over loopback,
 * which does not decrement it. */
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "udp.h"

/* A receiver on loopback of this family that reports the TTL or hop limit
 * of what arrives; its address in *to (mapped: as ::ffff:127.0.0.1). */
static int receiver(int family, bool mapped, struct sockaddr_storage *to, socklen_t *tolen)
{
	int fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0), on = 1;
	struct sockaddr_storage ss = { 0 };
	socklen_t sl = sizeof(ss);

	ck_assert_int_ge(fd, 0);
	if (family == AF_INET) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
		s4->sin_family = AF_INET;
		s4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		ck_assert_int_eq(setsockopt(fd, IPPROTO_IP, IP_RECVTTL, &on, sizeof(on)), 0);
	} else {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
		s6->sin6_family = AF_INET6;
		s6->sin6_addr = in6addr_loopback;
		ck_assert_int_eq(setsockopt(fd, IPPROTO_IPV6, IPV6_RECVHOPLIMIT, &on, sizeof(on)), 0);
	}
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&ss, family == AF_INET ? sizeof(struct sockaddr_in)
									: sizeof(struct sockaddr_in6)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&ss, &sl), 0);
	*to = ss;
	*tolen = sl;
	if (mapped)
		ntm_sockaddr_map(to, tolen);
	return fd;
}

/* The TTL or hop limit of the next datagram on fd (-1: none reported). */
static int ttl_of_next(int fd)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} ctl;
	char data[64];
	struct iovec iov = { .iov_base = data, .iov_len = sizeof(data) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf,
			     .msg_controllen = sizeof(ctl.buf) };
	int ttl = -1;

	ck_assert_int_gt(recvmsg(fd, &mh, 0), 0);
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
		if ((c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_TTL) ||
		    (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_HOPLIMIT))
			memcpy(&ttl, CMSG_DATA(c), sizeof(ttl));
	return ttl;
}

/* One datagram with ttl, then one without: the first arrives with ttl, the
 * second with the socket's default (not ttl). */
static void check_family(int sfamily, int rfamily, bool mapped)
{
	struct sockaddr_storage to;
	socklen_t tolen;
	int r = receiver(rfamily, mapped, &to, &tolen);
	int s = ntm_udp_open(sfamily, NULL, 0, false);

	ck_assert_int_ge(s, 0);
	ck_assert_int_eq(ntm_udp_send_ttl(s, "open", 4, (struct sockaddr *)&to, tolen, 2), 4);
	ck_assert_int_eq(ttl_of_next(r), 2);
	ck_assert_int_eq(ntm_udp_send(s, "plain", 5, (struct sockaddr *)&to, tolen, NULL), 5);
	int ttl = ttl_of_next(r);
	ck_assert_int_gt(ttl, 2);
	close(s);
	close(r);
}

START_TEST(test_an_ipv4_datagram_leaves_with_its_own_ttl_and_the_next_with_the_default)
{
	check_family(AF_INET, AF_INET, false);
}
END_TEST

START_TEST(test_an_ipv4_datagram_mapped_on_a_dual_stack_socket_leaves_with_its_own_ttl)
{
	check_family(AF_INET6, AF_INET, true);
}
END_TEST

START_TEST(test_an_ipv6_datagram_leaves_with_its_own_hop_limit)
{
	check_family(AF_INET6, AF_INET6, false);
}
END_TEST

START_TEST(test_a_ttl_outside_1_to_255_is_refused_without_sending)
{
	struct sockaddr_storage to;
	socklen_t tolen;
	int r = receiver(AF_INET, false, &to, &tolen);
	int s = ntm_udp_open(AF_INET, NULL, 0, false);

	ck_assert_int_eq(ntm_udp_send_ttl(s, "x", 1, (struct sockaddr *)&to, tolen, 0), -EINVAL);
	ck_assert_int_eq(ntm_udp_send_ttl(s, "x", 1, (struct sockaddr *)&to, tolen, 256), -EINVAL);
	char b[4];
	ck_assert_int_eq(recv(r, b, sizeof(b), MSG_DONTWAIT), -1);
	ck_assert_int_eq(errno, EAGAIN);
	close(s);
	close(r);
}
END_TEST

/* Receive on fd until 'want' bytes came, splitting UDP_GRO trains: the
 * datagrams' sizes into sizes[], their bytes back to back into out. */
static size_t recv_split(int fd, uint8_t *out, size_t want, size_t *sizes, size_t max)
{
	static uint8_t buf[65536];
	size_t got = 0, n = 0;
	struct ntm_udp_meta m;

	while (got < want) {
		ssize_t r = ntm_udp_recv(fd, buf, sizeof(buf), &m);
		if (r == -EAGAIN) {
			usleep(1000);
			continue;
		}
		ck_assert_int_gt(r, 0);
		size_t seg = m.gro_size ? m.gro_size : (size_t)r;
		for (size_t off = 0; off < (size_t)r; off += seg) {
			size_t len = (size_t)r - off < seg ? (size_t)r - off : seg;
			ck_assert_uint_lt(n, max);
			sizes[n++] = len;
			memcpy(out + got, buf + off, len);
			got += len;
		}
	}
	return n;
}

START_TEST(test_a_train_arrives_as_its_datagrams_with_and_without_udp_segment)
{
	static const uint8_t lo4[4] = { 127, 0, 0, 1 };
	uint8_t train[1000], back[1000];
	size_t sizes[16];
	struct sockaddr_storage to;
	socklen_t tolen = sizeof(to);
	int rx = ntm_udp_open(AF_INET, lo4, 0, false), tx = ntm_udp_open(AF_INET6, NULL, 0, false);

	ck_assert_int_ge(rx, 0);
	ck_assert_int_ge(tx, 0);
	ck_assert_int_eq(ntm_udp_set_gro(rx), 0);
	ck_assert_int_eq(getsockname(rx, (struct sockaddr *)&to, &tolen), 0);
	ntm_sockaddr_map(&to, &tolen); /* a dual-stack sender, as ntm-tund's */
	for (size_t i = 0; i < sizeof(train); i++)
		train[i] = (uint8_t)(i * 13);
	for (int gso = 1; gso >= 0; gso--) {
		ck_assert_int_eq(ntm_udp_send_train(tx, train, 237, 100, (struct sockaddr *)&to, tolen,
						    gso), 3);
		memset(back, 0, sizeof(back));
		ck_assert_uint_eq(recv_split(rx, back, 237, sizes, 16), 3);
		ck_assert_uint_eq(sizes[0], 100);
		ck_assert_uint_eq(sizes[1], 100);
		ck_assert_uint_eq(sizes[2], 37);
		ck_assert_mem_eq(back, train, 237);
	}
	/* one datagram; then what no call may carry */
	ck_assert_int_eq(ntm_udp_send_train(tx, train, 50, 100, (struct sockaddr *)&to, tolen, true), 1);
	ck_assert_uint_eq(recv_split(rx, back, 50, sizes, 16), 1);
	ck_assert_int_eq(ntm_udp_send_train(tx, train, 65, 1, (struct sockaddr *)&to, tolen, true),
			 -EINVAL);
	ck_assert_int_eq(ntm_udp_send_train(tx, train, 0, 100, (struct sockaddr *)&to, tolen, true),
			 -EINVAL);
	close(rx);
	close(tx);
}
END_TEST

/* Batches: 40 datagrams out with ntm_udp_send_batch (one refused on the
 * way, the rest still sent), in with ntm_udp_recv_batch 32 at most per
 * call, in order, with their source and local address; a datagram larger
 * than the buffer is flagged. */
START_TEST(test_a_batch_goes_out_and_comes_in_in_order_with_a_refused_one_skipped)
{
	static const uint8_t lo4[4] = { 127, 0, 0, 1 };
	static uint8_t data[40][64], bufs[NTM_UDP_BATCH][64];
	static struct ntm_udp_tx out[40];
	static struct ntm_udp_rxbatch b;
	struct sockaddr_storage to, from;
	socklen_t tolen = sizeof(to), fromlen = sizeof(from);
	int rx = ntm_udp_open(AF_INET, lo4, 0, false), tx = ntm_udp_open(AF_INET, lo4, 0, false);

	ck_assert_int_ge(rx, 0);
	ck_assert_int_ge(tx, 0);
	ck_assert_int_eq(getsockname(rx, (struct sockaddr *)&to, &tolen), 0);
	ck_assert_int_eq(getsockname(tx, (struct sockaddr *)&from, &fromlen), 0);
	for (size_t i = 0; i < 40; i++) {
		memset(data[i], (int)i, sizeof(data[i]));
		out[i].fd = tx;
		out[i].buf = data[i];
		out[i].len = 10 + i;
		memset(&out[i].to, 0, sizeof(out[i].to));
		memcpy(&out[i].to.src, &to, tolen);
		out[i].to.srclen = tolen;
		out[i].to.has_dst = true;          /* leave from 127.0.0.1, as a reply would */
		out[i].to.family = AF_INET;
		memcpy(out[i].to.dst, lo4, 4);
		out[i].err = 1;
	}
	/* an IPv6 destination on an IPv4 socket: refused */
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&out[5].to.src;
	s6->sin6_family = AF_INET6;
	s6->sin6_addr = in6addr_loopback;
	out[5].to.srclen = sizeof(*s6);
	out[5].to.has_dst = false;
	ck_assert_uint_eq(ntm_udp_send_batch(out, 40), 39);
	for (size_t i = 0; i < 40; i++)
		if (i == 5)
			ck_assert_int_lt(out[i].err, 0);
		else
			ck_assert_int_eq(out[i].err, 0);

	ntm_udp_rxbatch_init(&b, &bufs[0][0], sizeof(bufs[0]));
	size_t got = 0;
	while (got < 39) {
		ssize_t n = ntm_udp_recv_batch(rx, &b, NTM_UDP_BATCH);
		if (n == -EAGAIN) {
			usleep(1000);
			continue;
		}
		ck_assert_int_gt(n, 0);
		ck_assert_int_le(n, NTM_UDP_BATCH);
		for (ssize_t i = 0; i < n; i++, got++) {
			size_t want = got < 5 ? got : got + 1; /* 5 never left */
			ck_assert(!b.trunc[i]);
			ck_assert_uint_eq(b.len[i], 10 + want);
			ck_assert_uint_eq(b.buf[i][0], want);
			ck_assert_int_eq(ntm_sockaddr_cmp((struct sockaddr *)&b.meta[i].src,
							  (struct sockaddr *)&from), 0);
			ck_assert(b.meta[i].has_dst);
			ck_assert_int_eq(b.meta[i].fd, rx);
			ck_assert_mem_eq(b.meta[i].dst, lo4, 4);
		}
	}
	ck_assert_int_eq(ntm_udp_recv_batch(rx, &b, NTM_UDP_BATCH), -EAGAIN);
	ck_assert_int_eq(ntm_udp_recv_batch(rx, &b, 0), -EINVAL);
	ck_assert_int_eq(ntm_udp_recv_batch(rx, &b, NTM_UDP_BATCH + 1), -EINVAL);

	/* larger than the 64-byte buffers */
	uint8_t big[100] = { 0 };
	ck_assert_int_eq(ntm_udp_send(tx, big, sizeof(big), (struct sockaddr *)&to, tolen, NULL), 100);
	ssize_t n;
	while ((n = ntm_udp_recv_batch(rx, &b, NTM_UDP_BATCH)) == -EAGAIN)
		usleep(1000);
	ck_assert_int_eq(n, 1);
	ck_assert(b.trunc[0]);
	close(rx);
	close(tx);
}
END_TEST

/* ntm_udp_send_segments: datagrams in separate buffers leave as one
 * UDP_SEGMENT train from the local address asked for, and arrive (UDP_GRO
 * or not) as those datagrams, in order. */
START_TEST(test_scattered_segments_leave_as_one_train_from_the_given_address)
{
	static const uint8_t lo4[4] = { 127, 0, 0, 1 };
	static uint8_t seg[3][300], back[900];
	struct iovec iov[3];
	size_t sizes[16];
	struct ntm_udp_meta to;
	socklen_t tolen = sizeof(to.src);
	int rx = ntm_udp_open(AF_INET, lo4, 0, false), tx = ntm_udp_open(AF_INET, NULL, 0, false);

	ck_assert_int_ge(rx, 0);
	ck_assert_int_ge(tx, 0);
	memset(&to, 0, sizeof(to));
	ck_assert_int_eq(getsockname(rx, (struct sockaddr *)&to.src, &tolen), 0);
	to.srclen = tolen;
	to.has_dst = true;
	to.family = AF_INET;
	memcpy(to.dst, lo4, 4);
	for (int i = 0; i < 3; i++) {
		memset(seg[i], 'a' + i, sizeof(seg[i]));
		iov[i].iov_base = seg[i];
		iov[i].iov_len = i < 2 ? 300 : 120;
	}
	for (int gro = 0; gro < 2; gro++) {
		if (gro)
			ck_assert_int_eq(ntm_udp_set_gro(rx), 0);
		ck_assert_int_eq(ntm_udp_send_segments(tx, iov, 3, 300, &to), 720);
		ck_assert_uint_eq(recv_split(rx, back, 720, sizes, 16), 3);
		ck_assert_uint_eq(sizes[0], 300);
		ck_assert_uint_eq(sizes[1], 300);
		ck_assert_uint_eq(sizes[2], 120);
		ck_assert_mem_eq(back, seg[0], 300);
		ck_assert_mem_eq(back + 300, seg[1], 300);
		ck_assert_mem_eq(back + 600, seg[2], 120);
	}
	/* a segment over the size given, and counts no call may carry */
	iov[2].iov_len = 301;
	ck_assert_int_eq(ntm_udp_send_segments(tx, iov, 3, 300, &to), -EINVAL);
	ck_assert_int_eq(ntm_udp_send_segments(tx, iov, 0, 300, &to), -EINVAL);
	ck_assert_int_eq(ntm_udp_send_segments(tx, iov, NTM_UDP_TRAIN_MAX + 1, 300, &to), -EINVAL);
	ck_assert_int_eq(ntm_udp_send_segments(tx, iov, 1, 0, &to), -EINVAL);
	close(rx);
	close(tx);
}
END_TEST

/* A datagram to a loopback port nothing listens on draws an ICMP port
 * unreachable: with the errors asked for it is on the error queue, naming
 * the datagram's destination (IPv4 as such on a dual-stack socket); off,
 * the queue is empty and nothing more is queued. */
static void port_unreachable(int family, bool mapped)
{
	struct sockaddr_storage to = { 0 };
	socklen_t tolen;
	struct ntm_udp_err e;
	int fd = ntm_udp_open(family, NULL, 0, false), closed;
	struct sockaddr_in *s4 = (struct sockaddr_in *)&to;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&to;

	ck_assert_int_ge(fd, 0);
	/* a port that was just free and is closed again */
	closed = ntm_udp_open(mapped ? AF_INET : family, NULL, 0, false);
	ck_assert_int_ge(closed, 0);
	tolen = sizeof(to);
	ck_assert_int_eq(getsockname(closed, (struct sockaddr *)&to, &tolen), 0);
	close(closed);
	if (to.ss_family == AF_INET)
		s4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	else
		s6->sin6_addr = in6addr_loopback;
	struct sockaddr_storage want = to;
	if (mapped)
		ntm_sockaddr_map(&to, &tolen);

	ck_assert_int_eq(ntm_udp_recv_err(fd, &e), -EAGAIN);
	ck_assert_int_eq(ntm_udp_set_recverr(fd, true), 0);
	ck_assert_int_eq(ntm_udp_send(fd, "x", 1, (struct sockaddr *)&to, tolen, NULL), 1);
	struct pollfd p = { .fd = fd, .events = 0 };
	ck_assert_int_eq(poll(&p, 1, 2000), 1);
	ck_assert(p.revents & POLLERR);
	ck_assert_int_eq(ntm_udp_recv_err(fd, &e), 0);
	ck_assert_uint_eq(e.origin, want.ss_family == AF_INET ? 2 : 3);
	ck_assert_uint_eq(e.type, want.ss_family == AF_INET ? 3 : 1);
	ck_assert_uint_eq(e.code, want.ss_family == AF_INET ? 3 : 4);
	ck_assert_int_eq(ntm_sockaddr_cmp((struct sockaddr *)&e.dst, (struct sockaddr *)&want), 0);
	ck_assert_int_eq(ntm_udp_recv_err(fd, &e), -EAGAIN);

	ck_assert_int_eq(ntm_udp_set_recverr(fd, false), 0);
	int err = 0;
	socklen_t el = sizeof(err);
	getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el);
	ntm_udp_send(fd, "x", 1, (struct sockaddr *)&to, tolen, NULL);
	ck_assert_int_eq(poll(&p, 1, 200), 0);
	ck_assert_int_eq(ntm_udp_recv_err(fd, &e), -EAGAIN);
	close(fd);
}

START_TEST(test_an_icmp_port_unreachable_is_read_off_the_error_queue)
{
	port_unreachable(AF_INET, false);
	port_unreachable(AF_INET6, true);
	port_unreachable(AF_INET6, false);
}
END_TEST

static Suite *udp_suite(void)
{
	Suite *s = suite_create("udp");
	TCase *tc = tcase_create("ttl");
	tcase_add_test(tc, test_an_ipv4_datagram_leaves_with_its_own_ttl_and_the_next_with_the_default);
	tcase_add_test(tc, test_an_ipv4_datagram_mapped_on_a_dual_stack_socket_leaves_with_its_own_ttl);
	tcase_add_test(tc, test_an_ipv6_datagram_leaves_with_its_own_hop_limit);
	tcase_add_test(tc, test_a_ttl_outside_1_to_255_is_refused_without_sending);
	tcase_add_test(tc, test_a_train_arrives_as_its_datagrams_with_and_without_udp_segment);
	tcase_add_test(tc, test_a_batch_goes_out_and_comes_in_in_order_with_a_refused_one_skipped);
	tcase_add_test(tc, test_scattered_segments_leave_as_one_train_from_the_given_address);
	tcase_add_test(tc, test_an_icmp_port_unreachable_is_read_off_the_error_queue);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(udp_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
