/* tun.h - the node's TUN device: open it, read and write whole IP packets.
 *
 * The device is created by the open and lives as long as the fd: ntm never makes it
 * persistent (TUNSETPERSIST), so a crashed daemon leaves no stale ntm0 behind and a
 * restart simply creates it again.
 *
 * Every function returns 0 (or a byte count) on success and a negative errno on
 * failure; none of them logs. The caller logs once, quoting the device name.
 */
#ifndef NTM_TUN_H
#define NTM_TUN_H

#include <linux/if_tun.h>
#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* The interface flags given to TUNSETIFF, kept in this one place.
 *
 * IFF_TUN:    layer 3; each read/write is one IPv4 or IPv6 packet, no Ethernet header.
 * IFF_NO_PI:  no 4-byte packet-information prefix; the IP version nibble tells the
 *             family, so the prefix would only cost a copy.
 *
 * With Offload = auto (ntm_tun_open_offload) it grows by:
 * IFF_VNET_HDR:    a struct virtio_net_hdr (lib/gso.h) in front of each packet read
 *                  and written, followed by TUNSETVNETHDRSZ and TUNSETOFFLOAD on the
 *                  same fd, right after TUNSETIFF.
 * With Workers > 1 (ntm_tun_open_queues), IFF_MULTI_QUEUE: one fd (queue) of the same
 * device per worker, each with the same flags and offloads.
 * Both must be decided before the first open: the kernel refuses (-EINVAL) to attach a
 * queue whose flags differ from the device's. */
#define NTM_TUN_IFF_FLAGS (IFF_TUN | IFF_NO_PI)

/* Largest IP packet a TUN read can return (the device's maximum MTU). */
#define NTM_TUN_MAX_PACKET 65535

/* The virtio_net_hdr of an IFF_VNET_HDR device (lib/gso.h NTM_VNET_HDR_LEN). */
#define NTM_TUN_VNET_HDR_LEN 10

/* Create (or attach to) the TUN device `name` and return its fd in *fd, opened
 * O_RDWR | O_CLOEXEC | O_NONBLOCK for the event loop. `name` may contain one "%d"
 * for the kernel to number (e.g. "ntm%d"); NULL or "" means "tun%d". The name the
 * kernel actually gave is copied to actual_name (NUL-terminated).
 *
 * Errors:
 *   -EINVAL   name is IFNAMSIZ bytes or longer, or not a valid interface name
 *             ('/', ':', whitespace, "." or "..")
 *   -ENOENT   no /dev/net/tun (no device node: container without it, or no udev)
 *   -ENODEV   /dev/net/tun exists but the tun driver is not loaded
 *   -EPERM    the device node is not accessible to us, or we lack CAP_NET_ADMIN
 *   -EBUSY    a TUN device of that name exists and already has its (single) queue
 *             attached, i.e. another process (or another ntm-tund) owns it
 *   -EEXIST   the name is taken by an interface that is not a TUN device (a TAP,
 *             a veth, ...)
 *   other     as returned by open(2) or ioctl(2)
 * On failure *fd is left untouched and no fd is leaked. */
int ntm_tun_open(const char *name, char actual_name[IFNAMSIZ], int *fd);

/* Offloads ntm_tun_open_offload asks for (linux/if_tun.h; USO since Linux 6.2,
 * defined here for older headers). */
#ifndef TUN_F_USO4
#define TUN_F_USO4 0x20
#define TUN_F_USO6 0x40
#endif
#define NTM_TUN_OFFLOADS \
	(TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN | TUN_F_USO4 | TUN_F_USO6)

/* As ntm_tun_open, with IFF_VNET_HDR: every read and write then starts with a
 * virtio_net_hdr (NTM_VNET_HDR_LEN bytes). Then asks the kernel for
 * NTM_TUN_OFFLOADS, and for less where it refuses (EINVAL: a kernel without
 * USO, then without TSO); *offloads gets the TUN_F_* bits granted, possibly 0
 * (the header stays, all zero, and packets come whole). Errors as ntm_tun_open,
 * and -ENOTSUP when the kernel refuses the header's size; on any error no fd
 * is left open, and the caller may open without IFF_VNET_HDR. */
int ntm_tun_open_offload(const char *name, char actual_name[IFNAMSIZ], int *fd,
			 unsigned *offloads);

/* n queues (fds[0..n-1]) of one device with IFF_MULTI_QUEUE (and
 * IFF_VNET_HDR when vnet, every queue with the offloads the first was
 * granted, in *offloads). Errors as ntm_tun_open_offload; -EINVAL also
 * when the kernel refuses IFF_MULTI_QUEUE. On error nothing stays open. */
int ntm_tun_open_queues(const char *name, char actual_name[IFNAMSIZ], int *fds, unsigned n,
			bool vnet, unsigned *offloads);

/* Read one packet into buf (with IFF_VNET_HDR: its header, then the packet). Returns its length, or -EAGAIN when none is queued (the fd
 * is nonblocking), or another -errno. The kernel cuts a packet longer than cap and
 * drops the rest; that packet is reported as -EMSGSIZE (found from its IP header),
 * so pass a buffer of at least the MTU. No allocation; for the packet loop. */
ssize_t ntm_tun_read(int fd, void *buf, size_t cap);

/* Write one whole IP packet (with IFF_VNET_HDR: its header, then the packet). Returns 0, or -EAGAIN if the device queue is full (the
 * packet is dropped, as a router would), -EINVAL for something that is not an IP
 * packet, or another -errno. A short write is reported as -EIO. */
int ntm_tun_write(int fd, const void *pkt, size_t len);

/* Close *fd if it is open and set it to -1; accepts -1. Closing the last fd of the
 * device removes the interface with its addresses and routes. */
void ntm_tun_close(int *fd);

#endif
