/* dcicmp.c - ICMP errors on ntm-tund's main socket, so that a DC whose host
 * says nothing listens on its port is told from a DC that stays silent
 * (dcdiag.h), and, with several DC instances, a keepalive to a dead
 * instance moves the node at once (dclink_icmp). Asked for (IP_RECVERR,
 * IPV6_RECVERR) only while the DC does not answer, or while a keepalive to
 * one of several instances awaits its ack (a round trip): a queued error
 * also fails the socket's next send once, which costs little then and
 * would cost a peer's datagram otherwise; read on EPOLLERR, and the queue
 * always emptied. */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "dcdiag.h"
#include "log.h"
#include "tund.h"

void tund_icmp_watch(struct tund *t, bool on)
{
	if (t->udp_fd < 0 || t->dc.icmp_watch == on)
		return;
	int ret = ntm_udp_set_recverr(t->udp_fd, on);
	if (ret < 0) {
		log_debug_errno(-ret, "IP_RECVERR %s", on ? "on" : "off");
		return;
	}
	t->dc.icmp_watch = on;
}

/* Is dst one of the DC's endpoints (as our socket addresses them)? */
static bool is_dc_endpoint(const struct tund *t, const struct sockaddr_storage *dst)
{
	for (int f = 0; f < UL_NFAM; f++) {
		struct sockaddr_storage ep = t->dc.ep[f];
		socklen_t len = t->dc.eplen[f];
		if (!(t->dc.usable & UL_BIT(f)))
			continue;
		ntm_sockaddr_unmap(&ep, &len);
		if (ntm_sockaddr_cmp((const struct sockaddr *)&ep, (const struct sockaddr *)dst) == 0)
			return true;
	}
	return false;
}

/* EPOLLERR on the main socket: empty its error queue (epoll reports it
 * until it is empty). An ICMP error about a datagram to the DC is kept for
 * dcdiag.c; those about peers' endpoints are only counted (a peer's path
 * is judged by what authenticates, path.c). Once registered, the errors
 * are no longer asked for, but while a keepalive to one of several
 * instances is awaited, when one about it moves the node on. */
void tund_icmp_drain(struct tund *t, int fd)
{
	struct ntm_udp_err e;
	bool moved = false;
	int err = 0;
	socklen_t len = sizeof(err);

	for (int i = 0; i < 64 && ntm_udp_recv_err(fd, &e) == 0; i++) {
		t->stats.icmp_errors++;
		uint8_t kind = (uint8_t)dcdiag_icmp_kind(e.origin, e.type, e.code);
		if (kind == DCDIAG_ICMP_NONE || !is_dc_endpoint(t, &e.dst))
			continue;
		t->dc.icmp = kind;
		t->dc.icmp_ms = ntm_loop_now_ms();
		moved = true;
		/* who sent it, without a port (ICMP has none) */
		const struct sockaddr_in *f4 = (const struct sockaddr_in *)&e.from;
		const struct sockaddr_in6 *f6 = (const struct sockaddr_in6 *)&e.from;
		const void *a = e.from.ss_family == AF_INET ? (const void *)&f4->sin_addr
				: (const void *)&f6->sin6_addr;
		if (!e.from.ss_family ||
		    !inet_ntop(e.from.ss_family, a, t->dc.icmp_from, sizeof(t->dc.icmp_from)))
			t->dc.icmp_from[0] = '\0';
	}
	/* a pending socket error (the queue's last) would fail the next send */
	(void)getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
	if (moved)
		dclink_icmp(t, t->dc.icmp == DCDIAG_ICMP_PORT ? "port unreachable" :
			       t->dc.icmp == DCDIAG_ICMP_HOST ? "host unreachable" :
			       "administratively prohibited");
	if (t->dc.state == DC_REGISTERED && !t->dc.ka_waiting)
		tund_icmp_watch(t, false);
}
