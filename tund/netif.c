/* netif.c - addresses, MTU and link state of the TUN interface via libnl-route-3.
 *
 * Why IFA_F_NODAD on the IPv6 address: while Duplicate Address Detection runs (about
 * a second, longer with retransmits) an address is tentative: nothing may bind to it
 * and the kernel will not pick it as a source, so the first connections after start-up
 * would fail or leave from the wrong address. DAD has nothing to find here anyway: the
 * DC hands each virtual address to exactly one key, forever, and a TUN link has no
 * neighbours to answer probes. Today's kernels already skip DAD on a TUN because it is
 * IFF_NOARP; the flag says so explicitly, so the address is usable at once whatever the
 * link flags or the accept_dad sysctls are (a TAP mode, a future kernel), and
 * `ip -6 addr` shows "nodad" to whoever wonders.
 */
#include <errno.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netinet/in.h>
#include <string.h>

#include <netlink/addr.h>
#include <netlink/cache.h>
#include <netlink/errno.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/route.h>
#include <netlink/socket.h>

#include "netif.h"

#define MIN_MTU_IPV6 1280u
#define MAX_MTU_TUN 65535u

/* The address ntm wants of one family, and whether the link already has it. */
struct want {
	int family;
	const uint8_t *bytes;
	unsigned len;
	uint8_t plen;
	bool present;
};

/* libnl reports errors as negative NLE_* codes; give callers errno values back. */
static int nl_errno(int nle)
{
	switch (nle < 0 ? -nle : nle) {
	case NLE_SUCCESS:        return 0;
	case NLE_INTR:           return -EINTR;
	case NLE_BAD_SOCK:       return -EBADF;
	case NLE_AGAIN:          return -EAGAIN;
	case NLE_NOMEM:          return -ENOMEM;
	case NLE_EXIST:          return -EEXIST;
	case NLE_INVAL:          return -EINVAL;
	case NLE_RANGE:          return -ERANGE;
	case NLE_MSGSIZE:        return -EMSGSIZE;
	case NLE_OPNOTSUPP:      return -EOPNOTSUPP;
	case NLE_AF_NOSUPPORT:   return -EAFNOSUPPORT;
	case NLE_OBJ_NOTFOUND:   return -ENOENT;
	case NLE_NOADDR:         return -EADDRNOTAVAIL;
	case NLE_BUSY:           return -EBUSY;
	case NLE_PROTO_MISMATCH: return -EPROTONOSUPPORT;
	case NLE_NOACCESS:       return -EACCES;
	case NLE_PERM:           return -EPERM;
	case NLE_NODEV:          return -ENODEV;
	case NLE_MSG_TRUNC:      return -EMSGSIZE;
	case NLE_DUMP_INTR:      return -EAGAIN;
	default:                 return -EIO;
	}
}

static int valid_ifname(const char *ifname)
{
	size_t len = ifname ? strnlen(ifname, IFNAMSIZ) : 0;

	return len > 0 && len < IFNAMSIZ;
}

static int open_sock(struct nl_sock **out)
{
	struct nl_sock *sk = nl_socket_alloc();
	int ret;

	if (!sk)
		return -ENOMEM;
	/* libnl creates the socket with SOCK_CLOEXEC. */
	ret = nl_connect(sk, NETLINK_ROUTE);
	if (ret < 0) {
		nl_socket_free(sk);
		return nl_errno(ret);
	}
	*out = sk;
	return 0;
}

static int get_link(struct nl_sock *sk, const char *ifname, struct rtnl_link **out)
{
	int ret = rtnl_link_get_kernel(sk, 0, ifname, out);

	/* A missing device is ENODEV from the kernel; keep it that whatever libnl calls it. */
	if (ret == -NLE_OBJ_NOTFOUND || ret == -NLE_NODEV)
		return -ENODEV;
	return nl_errno(ret);
}

/* Set the MTU, the txqueuelen (raised to NTM_TUN_TXQLEN, never lowered) and
 * IFF_UP in one request, but only if one of them is not right yet. */
static int set_link(struct nl_sock *sk, struct rtnl_link *link, unsigned mtu)
{
	struct rtnl_link *change;
	unsigned txqlen = rtnl_link_get_txqlen(link);
	int ret;

	if (txqlen < NTM_TUN_TXQLEN)
		txqlen = NTM_TUN_TXQLEN;
	if (rtnl_link_get_mtu(link) == mtu && (rtnl_link_get_flags(link) & IFF_UP) &&
	    rtnl_link_get_txqlen(link) == txqlen)
		return 0;
	change = rtnl_link_alloc();
	if (!change)
		return -ENOMEM;
	rtnl_link_set_mtu(change, mtu);
	rtnl_link_set_txqlen(change, txqlen);
	rtnl_link_set_flags(change, IFF_UP);
	ret = nl_errno(rtnl_link_change(sk, link, change, 0));
	rtnl_link_put(change);
	return ret;
}

static bool addr_is(struct rtnl_addr *a, const struct want *w)
{
	struct nl_addr *local = rtnl_addr_get_local(a);

	return local && rtnl_addr_get_family(a) == w->family &&
	       nl_addr_get_len(local) == w->len &&
	       rtnl_addr_get_prefixlen(a) == w->plen &&
	       memcmp(nl_addr_get_binary_addr(local), w->bytes, w->len) == 0;
}

/* Delete every IPv4/IPv6 address on the link that is not wanted (link-local ones
 * stay), and note which wanted ones are already there. */
static int prune_addrs(struct nl_sock *sk, int ifindex, struct want w[2])
{
	struct nl_cache *cache;
	struct nl_object *obj;
	int ret;

	ret = rtnl_addr_alloc_cache(sk, &cache);
	if (ret < 0)
		return nl_errno(ret);
	for (obj = nl_cache_get_first(cache); obj; obj = nl_cache_get_next(obj)) {
		struct rtnl_addr *a = (struct rtnl_addr *)obj;
		int family = rtnl_addr_get_family(a);

		if (rtnl_addr_get_ifindex(a) != ifindex ||
		    (family != AF_INET && family != AF_INET6))
			continue;
		if (addr_is(a, &w[0]) || addr_is(a, &w[1])) {
			w[family == AF_INET ? 0 : 1].present = true;
			continue;
		}
		if (rtnl_addr_get_scope(a) == RT_SCOPE_LINK)
			continue;
		ret = rtnl_addr_delete(sk, a, 0);
		/* Deleting a primary IPv4 address may take its secondaries with it. */
		if (ret < 0 && ret != -NLE_NOADDR && ret != -NLE_OBJ_NOTFOUND) {
			ret = nl_errno(ret);
			goto free_cache;
		}
	}
	ret = 0;

free_cache:
	nl_cache_free(cache);
	return ret;
}

static int add_addr(struct nl_sock *sk, int ifindex, const struct want *w)
{
	struct rtnl_addr *a;
	struct nl_addr *local;
	int ret = -ENOMEM;

	a = rtnl_addr_alloc();
	if (!a)
		return -ENOMEM;
	local = nl_addr_build(w->family, w->bytes, w->len);
	if (!local)
		goto put_addr;
	nl_addr_set_prefixlen(local, w->plen);
	ret = nl_errno(rtnl_addr_set_local(a, local));
	nl_addr_put(local);
	if (ret < 0)
		goto put_addr;
	rtnl_addr_set_ifindex(a, ifindex);
	rtnl_addr_set_prefixlen(a, w->plen);
	if (w->family == AF_INET6)
		rtnl_addr_set_flags(a, IFA_F_NODAD); /* why: top of this file */
	ret = nl_errno(rtnl_addr_add(sk, a, 0));
	if (ret == -EEXIST)
		ret = 0;

put_addr:
	rtnl_addr_put(a);
	return ret;
}

int ntm_netif_configure(const char *ifname, const uint8_t vip4[4], uint8_t plen4,
			const uint8_t vip6[16], uint8_t plen6, unsigned mtu)
{
	struct want w[2] = {
		{ .family = AF_INET, .bytes = vip4, .len = 4, .plen = plen4 },
		{ .family = AF_INET6, .bytes = vip6, .len = 16, .plen = plen6 },
	};
	struct nl_sock *sk;
	struct rtnl_link *link = NULL;
	int ret, ifindex;

	if (!valid_ifname(ifname) || !vip4 || !vip6 || plen4 > 32 || plen6 > 128 ||
	    mtu < MIN_MTU_IPV6 || mtu > MAX_MTU_TUN)
		return -EINVAL;
	ret = open_sock(&sk);
	if (ret < 0)
		return ret;
	ret = get_link(sk, ifname, &link);
	if (ret < 0)
		goto free_sock;
	ifindex = rtnl_link_get_ifindex(link);

	/* MTU first: IPv6 addresses cannot live on a link below 1280. */
	ret = set_link(sk, link, mtu);
	if (ret < 0)
		goto free_sock;
	/* Remove stale addresses before adding: an IPv6 address that is only changing
	 * its prefix length must go before it can come back with the new one. */
	ret = prune_addrs(sk, ifindex, w);
	for (size_t i = 0; ret == 0 && i < 2; i++)
		if (!w[i].present)
			ret = add_addr(sk, ifindex, &w[i]);

free_sock:
	if (link)
		rtnl_link_put(link);
	nl_socket_free(sk);
	return ret;
}

static void copy_addr(struct rtnl_addr *a, struct ntm_netif_addr *out)
{
	struct nl_addr *local = rtnl_addr_get_local(a);
	unsigned len = nl_addr_get_len(local);

	memset(out, 0, sizeof(*out));
	out->family = rtnl_addr_get_family(a);
	memcpy(out->addr, nl_addr_get_binary_addr(local), len < 16 ? len : 16);
	out->plen = (uint8_t)rtnl_addr_get_prefixlen(a);
	out->scope = (uint8_t)rtnl_addr_get_scope(a);
	out->flags = rtnl_addr_get_flags(a);
}

static int list_addrs(struct nl_sock *sk, int ifindex, struct ntm_netif_addr *out,
		      size_t max, size_t *count)
{
	struct nl_cache *cache;
	struct nl_object *obj;
	size_t n = 0;
	int ret;

	ret = rtnl_addr_alloc_cache(sk, &cache);
	if (ret < 0)
		return nl_errno(ret);
	for (obj = nl_cache_get_first(cache); obj; obj = nl_cache_get_next(obj)) {
		struct rtnl_addr *a = (struct rtnl_addr *)obj;
		int family = rtnl_addr_get_family(a);

		if (rtnl_addr_get_ifindex(a) != ifindex || !rtnl_addr_get_local(a) ||
		    (family != AF_INET && family != AF_INET6))
			continue;
		if (n < max)
			copy_addr(a, &out[n]);
		n++;
	}
	nl_cache_free(cache);
	*count = n;
	return 0;
}

int ntm_netif_get_addrs(const char *ifname, struct ntm_netif_addr *out, size_t max,
			size_t *count)
{
	struct nl_sock *sk;
	struct rtnl_link *link = NULL;
	int ret;

	if (!valid_ifname(ifname) || (!out && max))
		return -EINVAL;
	ret = open_sock(&sk);
	if (ret < 0)
		return ret;
	ret = get_link(sk, ifname, &link);
	if (ret == 0)
		ret = list_addrs(sk, rtnl_link_get_ifindex(link), out, max, count);
	if (link)
		rtnl_link_put(link);
	nl_socket_free(sk);
	return ret;
}

int ntm_netif_get_link(const char *ifname, struct ntm_netif_link *out)
{
	struct nl_sock *sk;
	struct rtnl_link *link = NULL;
	int ret;

	if (!valid_ifname(ifname))
		return -EINVAL;
	ret = open_sock(&sk);
	if (ret < 0)
		return ret;
	ret = get_link(sk, ifname, &link);
	if (ret == 0) {
		out->ifindex = (unsigned)rtnl_link_get_ifindex(link);
		out->mtu = rtnl_link_get_mtu(link);
		out->flags = rtnl_link_get_flags(link);
		out->up = (out->flags & IFF_UP) != 0;
		out->txqlen = rtnl_link_get_txqlen(link);
		out->tx_dropped = rtnl_link_get_stat(link, RTNL_LINK_TX_DROPPED);
		rtnl_link_put(link);
	}
	nl_socket_free(sk);
	return ret;
}

int ntm_netif_ifindex(const char *ifname, unsigned *ifindex)
{
	struct ntm_netif_link link;
	int ret = ntm_netif_get_link(ifname, &link);

	if (ret == 0)
		*ifindex = link.ifindex;
	return ret;
}

int ntm_netif_route_add(const char *ifname, int family, const uint8_t *addr, uint8_t plen)
{
	unsigned len = family == AF_INET ? 4 : 16;
	struct nl_sock *sk;
	struct rtnl_link *link = NULL;
	struct rtnl_route *rt = NULL;
	struct rtnl_nexthop *nh = NULL;
	struct nl_addr *dst = NULL;
	int ret;

	if (!valid_ifname(ifname) || (family != AF_INET && family != AF_INET6) || plen > len * 8)
		return -EINVAL;
	ret = open_sock(&sk);
	if (ret < 0)
		return ret;
	ret = get_link(sk, ifname, &link);
	if (ret < 0)
		goto out;
	ret = -ENOMEM;
	if (!(rt = rtnl_route_alloc()) || !(nh = rtnl_route_nh_alloc()) ||
	    !(dst = nl_addr_build(family, addr, len)))
		goto out;
	nl_addr_set_prefixlen(dst, plen);
	rtnl_route_set_family(rt, (uint8_t)family);
	rtnl_route_set_table(rt, RT_TABLE_MAIN);
	rtnl_route_set_scope(rt, RT_SCOPE_LINK);
	rtnl_route_set_protocol(rt, RTPROT_STATIC);
	if ((ret = nl_errno(rtnl_route_set_dst(rt, dst))) < 0)
		goto out;
	rtnl_route_nh_set_ifindex(nh, rtnl_link_get_ifindex(link));
	rtnl_route_add_nexthop(rt, nh);
	nh = NULL; /* the route owns it now */
	ret = nl_errno(rtnl_route_add(sk, rt, NLM_F_CREATE | NLM_F_REPLACE));
out:
	if (nh)
		rtnl_route_nh_free(nh);
	if (dst)
		nl_addr_put(dst);
	if (rt)
		rtnl_route_put(rt);
	if (link)
		rtnl_link_put(link);
	nl_socket_free(sk);
	return ret;
}
