/* fuzz_tund_rx.c - libFuzzer harness for ntm-tund's datagram path
 * (tund/data.c, tund/path.c, tund/peer.c): everything a node does with a
 * UDP datagram from the network.
 *
 * One node with one resolved peer (a route with fixed keys, candidates and
 * a relay on loopback addresses). The first input byte picks how the rest
 * is delivered:
 *   0  as a raw datagram from a fuzzed loopback source;
 *   1  as fields of a PROBE that the harness tags with the route's real
 *      probe key (so acceptance, replay and candidate learning run);
 *   2  as the inner datagram of a RELAY capsule with a valid tag from the
 *      relay's address (so the relayed dispatch runs).
 * Nothing may crash, hang, leak or trip a sanitizer; datagrams the node
 * sends go to loopback addresses only. */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "peer.h"
#include "relaycap.h"
#include "tund.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ROUTE_ID 0x1122334455667788ull
#define ALLOC_ID 0x01020304u

static struct tund *t;
static struct ntm_identity peer_id;
static uint8_t relay_key[32];
static struct ntm_relay_key rk;
static uint64_t relay_ctr;

/* The daemon's socket reader is not part of this harness. */
void tund_on_udp(struct ntm_io *io, uint32_t events, void *arg)
{
	(void)io;
	(void)events;
	(void)arg;
}

/* Nor is systemd-resolved (no bus here: the daemon's call does nothing). */
void resolvedlink_update(struct tund *tt)
{
	(void)tt;
}

static void ep4(struct ntm_endpoint *e, uint8_t last, uint16_t port)
{
	memset(e, 0, sizeof(*e));
	e->family = 4;
	e->port = port;
	e->addr[0] = 127;
	e->addr[3] = last;
}

static void setup(void)
{
	uint8_t priv[32];

	ntm_log_init("fuzz_tund_rx", true, 0);
	t = calloc(1, sizeof(*t));
	ntm_loop_new(&t->loop);
	memset(priv, 1, sizeof(priv));
	ntm_identity_init(&t->id, priv);
	memset(priv, 2, sizeof(priv));
	ntm_identity_init(&peer_id, priv);
	t->cfg.mtu = 1388;
	t->cfg.nat_keepalive_s = 15;
	snprintf(t->cfg.name, sizeof(t->cfg.name), "a");
	t->udp_fd = ntm_udp_open(AF_INET, NULL, 0, false);
	t->udp_family = AF_INET;
	t->tun_fd = -1;
	t->configured = true;
	memcpy(t->vip4, (uint8_t[]){ 198, 18, 0, 1 }, 4);
	t->plen4 = 15;
	t->vip6[0] = 0xfd;
	t->plen6 = 48;
	static const struct ntm_hsgate_conf gate = {
		.global_rate = 1000000, .reserve_pct = 25, .src_rate = 1000000,
		.proven_rate = 1000000, .cookie_rate = 1000000, .cookie_global = 1000000,
		.recent_ms = 600000,
	};
	ntm_hsgate_init(&t->gate, &gate, t->id.pub, 1);
	peers_init(t);

	struct ntm_ctl_route_direction r;
	memset(&r, 0, sizeof(r));
	r.route_id = ROUTE_ID;
	r.role = NTM_ROLE_INITIATOR;
	r.suite = NTM_SUITE_AESGCM;
	memcpy(r.peer_key, peer_id.pub, 32);
	memcpy(r.peer_vip4, (uint8_t[]){ 198, 18, 0, 2 }, 4);
	r.peer_vip6[0] = 0xfd;
	r.peer_vip6[15] = 2;
	ntm_name_set(&r.peer_name, "b.ntm.example.org");
	r.ncands = 2;
	r.cands[0].kind = NTM_CAND_LAN;
	r.cands[0].priority = 20;
	ep4(&r.cands[0].ep, 2, 9);
	r.cands[1].kind = NTM_CAND_NAT;
	r.cands[1].priority = 10;
	ep4(&r.cands[1].ep, 3, 9);
	r.has_relay = true;
	ep4(&r.relay_ep, 4, 9);
	r.relay_alloc_id = ALLOC_ID;
	r.relay_side = 0;
	memset(relay_key, 7, sizeof(relay_key));
	memcpy(r.relay_key, relay_key, 32);
	peer_on_route(t, &r);
	ntm_relaycap_key_init(&rk, relay_key);
}

static void deliver(uint8_t *buf, size_t len, uint8_t src_last, uint16_t port)
{
	struct ntm_udp_meta m;
	struct sockaddr_in *sin = (struct sockaddr_in *)&m.src;

	memset(&m, 0, sizeof(m));
	sin->sin_family = AF_INET;
	sin->sin_port = htons(port ? port : 9);
	sin->sin_addr.s_addr = htonl(0x7f000000u | src_last);
	m.srclen = sizeof(*sin);
	m.fd = t->udp_fd;
	data_on_udp(t, buf, len, &m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t buf[NTM_MAX_DATAGRAM + 64];
	struct peer *p;

	if (!t)
		setup();
	if (size < 1 || size > 4096)
		return 0;
	uint8_t mode = data[0] % 3;
	data++;
	size--;
	switch (mode) {
	case 0:
		if (size < 3)
			return 0;
		memcpy(buf, data + 3, size - 3);
		deliver(buf, size - 3, (uint8_t)(1 + data[0] % 8), ntm_get_be16(data + 1));
		break;
	case 1: {
		if (size < 27)
			return 0;
		struct ntm_probe pr = {
			.kind = (uint8_t)(1 + data[0] % 2), .role = (uint8_t)(1 + data[1] % 2),
			.route_id = data[2] & 1 ? ROUTE_ID : ntm_get_be64(data + 3) | 1,
			.seq = ntm_get_be64(data + 11) | 1,
		};
		pr.echo = pr.kind == NTM_PROBE_REPLY ? ntm_get_be64(data + 19) | 1 : 0;
		p = peer_by_name(t, "b.ntm.example.org");
		if (!p || ntm_probe_encode(buf, sizeof(buf), &pr) < 0)
			return 0;
		ntm_probe_sign(p->probe_key, buf);
		deliver(buf, NTM_PROBE_LEN, (uint8_t)(1 + data[0] % 8), (uint16_t)(1 + data[1]));
		break;
	}
	case 2: {
		int n = ntm_relaycap_seal(&rk, buf, sizeof(buf), 0, 1, ALLOC_ID, relay_ctr++, data,
					  size >= 32 ? size : 0);
		if (n < 0)
			return 0;
		deliver(buf, (size_t)n, 4, 9);
		break;
	}
	}
	return 0;
}
