/* underlay.c - the node's underlay: snapshot decisions (pure), the scan and
 * the rtnetlink watcher; see underlay.h. */
#include "underlay.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_addr.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <netlink/addr.h>
#include <netlink/cache.h>
#include <netlink/errno.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/socket.h>

#define READ_BATCH 64

/* ---- pure ---- */

static bool usable(const struct underlay *u, unsigned configured, int f)
{
	return f >= 0 && f < UL_NFAM && (configured & UL_BIT(f)) && u->routable[f];
}

int underlay_pick(const struct underlay *u, unsigned configured, int cur)
{
	if (usable(u, configured, cur))
		return cur;
	if (usable(u, configured, UL_V6))
		return UL_V6;
	if (usable(u, configured, UL_V4))
		return UL_V4;
	if (cur >= 0 && cur < UL_NFAM && (configured & UL_BIT(cur)))
		return cur;
	return (configured & UL_BIT(UL_V6)) ? UL_V6 : UL_V4;
}

int underlay_pick_after_timeout(const struct underlay *u, unsigned configured, int cur)
{
	int other = cur == UL_V6 ? UL_V4 : UL_V6;

	return usable(u, configured, other) ? other : underlay_pick(u, configured, cur);
}

static bool has_addr(const struct underlay *u, const struct underlay_addr *a)
{
	size_t n = a->fam == UL_V4 ? 4 : 16;

	for (unsigned i = 0; i < u->naddrs; i++)
		if (u->addrs[i].fam == a->fam && memcmp(u->addrs[i].addr, a->addr, n) == 0)
			return true;
	return false;
}

/* Every address of a is in b. */
static bool addrs_within(const struct underlay *a, const struct underlay *b)
{
	for (unsigned i = 0; i < a->naddrs; i++)
		if (!has_addr(b, &a->addrs[i]))
			return false;
	return true;
}

bool underlay_same_addrs(const struct underlay *a, const struct underlay *b)
{
	return addrs_within(a, b) && addrs_within(b, a);
}

bool underlay_equal(const struct underlay *a, const struct underlay *b)
{
	if (!underlay_same_addrs(a, b))
		return false;
	for (int f = 0; f < UL_NFAM; f++) {
		if (a->routable[f] != b->routable[f])
			return false;
		if (a->routable[f] && memcmp(a->src[f], b->src[f], 16) != 0)
			return false;
	}
	return true;
}

static unsigned families(const struct underlay *u)
{
	unsigned m = 0;

	for (unsigned i = 0; i < u->naddrs; i++)
		m |= UL_BIT(u->addrs[i].fam);
	return m;
}

struct underlay_decision underlay_decide(const struct underlay *old, const struct underlay *now,
					 unsigned configured, int cur, bool have_session)
{
	struct underlay_decision d = { 0 };
	unsigned before = families(old), after = families(now);

	d.use = underlay_pick(now, configured, cur);
	d.changed = !underlay_equal(old, now);
	d.gained = after & ~before;
	d.lost = before & ~after;
	if (d.changed)
		d.action = have_session ? UL_REREGISTER : UL_HANDSHAKE;
	return d;
}

bool underlay_keep(int family, const uint8_t *addr, unsigned ifa_flags, unsigned if_flags,
		   const char *ifname, const char *skip)
{
	if (!(if_flags & IFF_UP) || (if_flags & IFF_LOOPBACK))
		return false;
	if (ifname && skip && strcmp(ifname, skip) == 0)
		return false;
	if (family == AF_INET)
		return addr[0] != 127 && !(addr[0] == 169 && addr[1] == 254);
	if (family != AF_INET6)
		return false;
	const struct in6_addr *a6 = (const struct in6_addr *)(const void *)addr;
	if (IN6_IS_ADDR_LINKLOCAL(a6) || IN6_IS_ADDR_LOOPBACK(a6) || IN6_IS_ADDR_UNSPECIFIED(a6))
		return false;
	return !(ifa_flags & (IFA_F_TENTATIVE | IFA_F_DADFAILED | IFA_F_DEPRECATED));
}

const char *underlay_format(const struct underlay *u, char *buf, size_t cap)
{
	size_t off = 0;

	if (cap == 0)
		return buf;
	snprintf(buf, cap, "none");
	for (unsigned i = 0; i < u->naddrs; i++) {
		char a[INET6_ADDRSTRLEN];
		inet_ntop(u->addrs[i].fam == UL_V4 ? AF_INET : AF_INET6, u->addrs[i].addr, a, sizeof(a));
		int n = snprintf(buf + off, cap - off, "%s%s", i ? " " : "", a);
		if (n < 0 || (size_t)n >= cap - off) {
			if (cap >= 4)
				memcpy(buf + cap - 4, "...", 4);
			break;
		}
		off += (size_t)n;
	}
	return buf;
}

/* ---- the scan ---- */

struct scan_ctx {
	struct nl_cache *links;
	const char *skip;
	struct underlay *out;
};

static void add_addr(struct nl_object *obj, void *arg)
{
	struct rtnl_addr *ra = (struct rtnl_addr *)obj;
	struct scan_ctx *c = arg;
	struct nl_addr *local = rtnl_addr_get_local(ra);
	int family = rtnl_addr_get_family(ra);
	size_t len = family == AF_INET ? 4 : 16;

	if (!local || c->out->naddrs >= UNDERLAY_MAX_ADDRS || nl_addr_get_len(local) != len)
		return;
	struct rtnl_link *link = rtnl_link_get(c->links, rtnl_addr_get_ifindex(ra));
	if (!link)
		return;
	const uint8_t *bytes = nl_addr_get_binary_addr(local);
	bool keep = underlay_keep(family, bytes, rtnl_addr_get_flags(ra), rtnl_link_get_flags(link),
				  rtnl_link_get_name(link), c->skip);
	rtnl_link_put(link);
	if (!keep)
		return;
	struct underlay_addr *a = &c->out->addrs[c->out->naddrs];
	a->fam = family == AF_INET ? UL_V4 : UL_V6;
	memcpy(a->addr, bytes, len);
	if (!has_addr(c->out, a))
		c->out->naddrs++;
}

static int nl_to_errno(int nle)
{
	return nle == -NLE_NOMEM ? -ENOMEM : -EIO;
}

static int scan_addrs(const char *skip, struct underlay *out)
{
	struct nl_sock *sk = nl_socket_alloc();
	struct nl_cache *links = NULL, *addrs = NULL;
	int ret;

	if (!sk)
		return -ENOMEM;
	ret = nl_connect(sk, NETLINK_ROUTE);
	if (ret < 0)
		goto free_sock;
	ret = rtnl_link_alloc_cache(sk, AF_UNSPEC, &links);
	if (ret < 0)
		goto free_sock;
	ret = rtnl_addr_alloc_cache(sk, &addrs);
	if (ret < 0)
		goto free_links;
	struct scan_ctx c = { .links = links, .skip = skip, .out = out };
	nl_cache_foreach(addrs, add_addr, &c);
	nl_cache_free(addrs);
free_links:
	nl_cache_free(links);
free_sock:
	nl_socket_free(sk);
	return ret < 0 ? nl_to_errno(ret) : 0;
}

/* connect() on a UDP socket only looks the route up: no datagram leaves. */
static void route_to(const struct sockaddr_storage *dc, int f, struct underlay *out)
{
	struct sockaddr_storage src;
	socklen_t len = sizeof(src);
	int fd = socket(dc->ss_family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	if (fd < 0)
		return;
	socklen_t dlen = f == UL_V4 ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
	if (connect(fd, (const struct sockaddr *)dc, dlen) == 0 &&
	    getsockname(fd, (struct sockaddr *)&src, &len) == 0 && src.ss_family == dc->ss_family) {
		if (f == UL_V4) {
			memcpy(out->src[f], &((struct sockaddr_in *)&src)->sin_addr, 4);
			out->routable[f] = true;
		} else {
			const struct in6_addr *a = &((struct sockaddr_in6 *)&src)->sin6_addr;
			memcpy(out->src[f], a, 16);
			out->routable[f] = !IN6_IS_ADDR_LINKLOCAL(a);
		}
	}
	close(fd);
}

int underlay_scan(const char *skip, const struct sockaddr_storage dc[UL_NFAM],
		  struct underlay *out)
{
	static const int family[UL_NFAM] = { AF_INET, AF_INET6 };
	int ret;

	memset(out, 0, sizeof(*out));
	ret = scan_addrs(skip, out);
	if (ret < 0)
		return ret;
	for (int f = 0; f < UL_NFAM; f++)
		if (dc[f].ss_family == family[f])
			route_to(&dc[f], f, out);
	return 0;
}

/* ---- the watcher ---- */

static void on_debounce(struct ntm_timer *tm, void *arg)
{
	struct underlay_watch *w = arg;
	struct underlay u;
	(void)tm;

	int ret = underlay_scan(w->skip, w->dc, &u);
	w->fn(w->arg, ret < 0 ? NULL : &u, ret);
}

/* The content does not matter: any message from the kernel means "look
 * again". Read at most a batch per wakeup (level-triggered: the rest next). */
static void on_readable(struct ntm_io *io, uint32_t events, void *arg)
{
	struct underlay_watch *w = arg;
	uint8_t buf[8192];
	bool any = false;
	(void)io;
	(void)events;

	for (int i = 0; i < READ_BATCH; i++) {
		struct sockaddr_nl from;
		socklen_t flen = sizeof(from);
		ssize_t n = recvfrom(w->fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &flen);
		if (n < 0 && errno == ENOBUFS) {
			w->overruns++;   /* messages lost: the scan sees their effect anyway */
			any = true;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		if (flen == sizeof(from) && from.nl_pid == 0)
			any = true;   /* from the kernel */
	}
	if (any && !ntm_timer_armed(&w->debounce))
		ntm_timer_arm(&w->debounce, UNDERLAY_DEBOUNCE_MS, 0);
}

int underlay_watch_open(struct underlay_watch *w, struct ntm_loop *l, const char *skip,
			const struct sockaddr_storage dc[UL_NFAM], underlay_fn fn, void *arg)
{
	struct sockaddr_nl sa = {
		.nl_family = AF_NETLINK,
		.nl_groups = RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR |
			     RTMGRP_IPV4_ROUTE | RTMGRP_IPV6_ROUTE,
	};
	int ret;

	memset(w, 0, sizeof(*w));
	w->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE);
	if (w->fd < 0)
		return -errno;
	if (bind(w->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		ret = -errno;
		goto close_fd;
	}
	snprintf(w->skip, sizeof(w->skip), "%s", skip);
	memcpy(w->dc, dc, sizeof(w->dc));
	w->fn = fn;
	w->arg = arg;
	ntm_timer_init(&w->debounce, l, on_debounce, w);
	ntm_io_init(&w->io, l, w->fd, on_readable, w);
	ret = ntm_io_add(&w->io, EPOLLIN);
	if (ret < 0)
		goto close_fd;
	return 0;
close_fd:
	close(w->fd);
	w->fd = -1;
	return ret;
}

void underlay_watch_close(struct underlay_watch *w)
{
	if (w->fd < 0)
		return;
	ntm_timer_cancel(&w->debounce);
	ntm_io_remove(&w->io);
	close(w->fd);
	w->fd = -1;
}

void underlay_watch_set_dc(struct underlay_watch *w, const struct sockaddr_storage dc[UL_NFAM])
{
	memcpy(w->dc, dc, sizeof(w->dc));
}
