/* netif.h - configure and inspect the TUN interface through rtnetlink (libnl-route-3).
 *
 * Each call opens its own netlink socket (libnl creates it SOCK_CLOEXEC), does its
 * requests synchronously and closes it again. These calls are rare (start-up, a new
 * registration answer, `ntmctl status`), so a shared socket would save nothing and
 * would bring shared state: with one socket per call the functions are reentrant and
 * thread-safe, and an interrupted call leaves no half-read replies behind for the next
 * one. The socket is blocking on purpose: the kernel answers these requests at once,
 * and none of them runs inside the packet path. Address-change *events* (for
 * mobility) need a long-lived subscribed socket in the event loop; that is a separate
 * module, not this one.
 *
 * Every function returns 0 or a negative errno and never logs. libnl's own error codes
 * are translated back to errno values (libnl folds a few together, e.g. EEXIST and
 * EADDRINUSE both come back as -EEXIST).
 */
#ifndef NTM_NETIF_H
#define NTM_NETIF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The TUN device's transmit queue length (txqueuelen), in packets: the ring
 * the kernel fills towards ntm-tund's reads. The kernel's default of 500
 * dropped TCP segments whenever ntm-tund fell a few hundred packets behind
 * (measured with bench/tunnel.sh: every retransmission was a drop there; 5000 gave +8 % on one
 * stream, +22 % on four, and none). 5000 full-sized packets are 7.5 MB, a
 * 25 ms burst at 2.4 Gbit/s, absorbed instead of dropped; with offload a
 * slot may hold a 64 KiB super-packet, but TCP's own small-queue limits
 * keep a flow's bytes in flight far below that. A larger value set by hand
 * is left alone. */
#define NTM_TUN_TXQLEN 5000

/* Give `ifname` exactly one IPv4 address vip4/plen4 and one IPv6 address vip6/plen6
 * (besides any link-local address), set its MTU, raise its txqueuelen to at least
 * NTM_TUN_TXQLEN and bring it up.
 *
 * Idempotent: what is already right is left alone (no netlink write, no event), so
 * running it again with the same values returns 0 and changes nothing. When the link
 * carries other IPv4 or IPv6 addresses of global, site or host scope (an old
 * allocation, or the same address with another prefix length), they are removed first:
 * the TUN device belongs to ntm, so anything on it that is not the current allocation
 * is ntm's own stale state. Link-local addresses are kept.
 *
 * The IPv6 address is added with IFA_F_NODAD, see netif.c for why.
 *
 * Arguments: plen4 <= 32, plen6 <= 128, 1280 <= mtu <= 65535 (IPv6 needs 1280; the
 * kernel would silently remove the IPv6 address below it), else -EINVAL.
 * Errors: -ENODEV no such interface, -EPERM without CAP_NET_ADMIN, -EACCES when IPv6
 * is disabled on the link (disable_ipv6), other -errno from the kernel. On error the
 * link may be partly configured; calling again converges. */
int ntm_netif_configure(const char *ifname, const uint8_t vip4[4], uint8_t plen4,
			const uint8_t vip6[16], uint8_t plen6, unsigned mtu);

/* Route addr/plen (family AF_INET or AF_INET6) to `ifname` in the main
 * table (replacing a route to the same prefix). For a peer of a federated
 * zone, whose address is outside the link's own prefix. 0 or -errno. */
int ntm_netif_route_add(const char *ifname, int family, const uint8_t *addr, uint8_t plen);

/* One address on an interface, as the kernel reports it. */
struct ntm_netif_addr {
	int family;           /* AF_INET or AF_INET6 */
	uint8_t addr[16];     /* the first 4 bytes for AF_INET */
	uint8_t plen;         /* prefix length */
	uint8_t scope;        /* RT_SCOPE_UNIVERSE, RT_SCOPE_LINK, ... */
	uint32_t flags;       /* IFA_F_* (NODAD, TENTATIVE, PERMANENT, ...) */
};

/* The addresses (IPv4 and IPv6, any scope) on `ifname`, in the kernel's order.
 * Fills at most `max` entries of `out` and sets *count to how many there are in all,
 * as snprintf does: *count > max means the array was too small and the list is cut.
 * out may be NULL when max is 0. Errors: -ENODEV, -EINVAL (bad name), other -errno. */
int ntm_netif_get_addrs(const char *ifname, struct ntm_netif_addr *out, size_t max,
			size_t *count);

/* Link state of an interface. */
struct ntm_netif_link {
	unsigned ifindex;
	unsigned mtu;
	unsigned flags;       /* IFF_* from <net/if.h> */
	bool up;              /* administratively up (IFF_UP) */
	unsigned txqlen;      /* transmit queue length, packets */
	uint64_t tx_dropped;  /* packets dropped on transmit (for a TUN device: its
			       * queue towards the reader was full) */
};

/* State of `ifname`. Errors: -ENODEV, -EINVAL (bad name), other -errno. */
int ntm_netif_get_link(const char *ifname, struct ntm_netif_link *out);

/* Interface index of `ifname` in *ifindex. Errors: -ENODEV, -EINVAL, other -errno. */
int ntm_netif_ifindex(const char *ifname, unsigned *ifindex);

#endif
