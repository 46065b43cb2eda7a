/* dclink.c - the node's session with its DC (doc/protocol.md sections 3,
 * 5.1-5.4, 7): an IK handshake from the node's one UDP socket, REGISTER
 * until a REGISTER_ACK arrives, then KEEPALIVE every interval. Silence is
 * handled in one place, the timer: an unanswered handshake is retried with
 * exponential backoff (1 s doubling to 30 s, plus up to 10% jitter),
 * REGISTER is resent every 2 s up to 3 times, and DC_MISSED_ACKS
 * keepalives without an answer mean the DC lost our session (a restart),
 * so the node starts over with a new handshake. */
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "netif.h"
#include "tund.h"
#include "util.h"

enum { PH_HANDSHAKE, PH_REGISTER, PH_KEEPALIVE };
static int phase; /* one DC link per process */

static void arm(struct tund *t, int ph, uint64_t ms)
{
	phase = ph;
	ntm_timer_arm(&t->dc_timer, ms, 0);
}

static uint64_t jitter(uint64_t ms)
{
	uint32_t r = 0;
	ntm_random(&r, sizeof(r));
	return ms + (ms / 10) * (r % 1000) / 1000;
}

static void send_dc(struct tund *t, const uint8_t *buf, size_t len)
{
	ssize_t r = ntm_udp_send(t->udp_fd, buf, len, (struct sockaddr *)&t->dc_addr,
				 t->dc_addrlen, NULL);
	if (r < 0)
		log_debug_errno((int)-r, "send to DC");
	else
		t->stats.tx_packets++;
}

static void send_handshake(struct tund *t)
{
	uint8_t pkt[NTM_HS_INIT_LEN];
	uint32_t idx = 0;
	int len;

	if (t->dc_hs.active)
		ntm_noise_hs_clear(&t->dc_hs.hs);
	while (idx == 0)
		ntm_random(&idx, sizeof(idx));
	len = ntm_hs_initiate(&t->dc_hs, &t->id, t->cfg.dc_pub, (uint8_t)t->cfg.suite,
			      NTM_PURPOSE_DC, idx, 0, pkt, sizeof(pkt));
	if (len < 0) {
		log_err_errno(-len, "building handshake");
		return;
	}
	send_dc(t, pkt, (size_t)len);
	arm(t, PH_HANDSHAKE, jitter(t->dc_backoff_ms));
}

/* The node's own addresses, reported to the DC as LAN candidates: every
 * up, non-loopback interface's IPv4 and global IPv6, except our TUN. */
static uint8_t local_addrs(struct tund *t, struct ntm_endpoint *out, uint8_t max)
{
	struct ifaddrs *ifa, *i;
	uint8_t n = 0;

	if (getifaddrs(&ifa) < 0)
		return 0;
	for (i = ifa; i && n < max; i = i->ifa_next) {
		if (!i->ifa_addr || !(i->ifa_flags & IFF_UP) || (i->ifa_flags & IFF_LOOPBACK))
			continue;
		if (strcmp(i->ifa_name, t->ifname) == 0)
			continue;
		if (i->ifa_addr->sa_family == AF_INET6) {
			const struct in6_addr *a = &((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr;
			if (IN6_IS_ADDR_LINKLOCAL(a) || IN6_IS_ADDR_LOOPBACK(a))
				continue;
		} else if (i->ifa_addr->sa_family != AF_INET) {
			continue;
		}
		struct sockaddr_storage ss = { 0 };
		memcpy(&ss, i->ifa_addr, i->ifa_addr->sa_family == AF_INET ? sizeof(struct sockaddr_in)
									  : sizeof(struct sockaddr_in6));
		if (ss.ss_family == AF_INET)
			((struct sockaddr_in *)&ss)->sin_port = htons(t->cfg.port);
		else
			((struct sockaddr_in6 *)&ss)->sin6_port = htons(t->cfg.port);
		if (ntm_endpoint_from_sockaddr(&out[n], (struct sockaddr *)&ss) == 0)
			n++;
	}
	freeifaddrs(ifa);
	return n;
}

void dclink_send(struct tund *t, const struct ntm_ctl *m)
{
	uint8_t pkt[NTM_DATA_HDR_LEN + 1024 + NTM_TAG_LEN];
	int len = ntm_ctl_encode(m, pkt + NTM_DATA_HDR_LEN, 1024);

	if (len < 0) {
		log_err_errno(-len, "encoding %s", ntm_ctl_type_name(m->type));
		return;
	}
	len = ntm_session_seal(&t->dc_sess, pkt, (size_t)len);
	if (len < 0) {
		log_debug_errno(-len, "sealing for the DC");
		return;
	}
	send_dc(t, pkt, (size_t)len);
}

static void send_register(struct tund *t)
{
	struct ntm_ctl m = { .type = NTM_CTL_REGISTER };

	m.u.reg.req_id = ++t->dc_req_id;
	m.u.reg.listen_port = t->cfg.port;
	ntm_name_set(&m.u.reg.name, t->cfg.name);
	m.u.reg.naddrs = local_addrs(t, m.u.reg.addrs, NTM_MAX_ADDRS);
	dclink_send(t, &m);
	arm(t, PH_REGISTER, DC_REGISTER_RETRY_MS);
}

static uint64_t ack_timeout(const struct tund *t)
{
	return t->keepalive_ms < DC_ACK_TIMEOUT_MAX_MS ? t->keepalive_ms : DC_ACK_TIMEOUT_MAX_MS;
}

static void send_keepalive(struct tund *t)
{
	struct ntm_ctl m = { .type = NTM_CTL_KEEPALIVE };

	m.u.ka.seq = ++t->ka_seq;
	m.u.ka.naddrs = local_addrs(t, m.u.ka.addrs, NTM_MAX_ADDRS);
	dclink_send(t, &m);
	t->ka_waiting = true;
	arm(t, PH_KEEPALIVE, ack_timeout(t));
}

/* Start over: a new handshake now, backoff reset unless we keep failing. */
static void restart(struct tund *t, const char *why)
{
	log_notice("DC link: %s; starting a new handshake", why);
	if (t->dc_state == DC_REGISTERED)
		t->dc_state = DC_CONNECTING;
	ntm_session_clear(&t->dc_sess);
	t->ka_waiting = false;
	t->ka_missed = 0;
	send_handshake(t);
}

static void fail(struct tund *t)
{
	t->dc_failures++;
	if (t->dc_failures >= 2 && t->dc_state != DC_REFUSED)
		t->dc_state = DC_UNREACHABLE;
	t->dc_backoff_ms *= 2;
	if (t->dc_backoff_ms > DC_RETRY_MAX_MS)
		t->dc_backoff_ms = DC_RETRY_MAX_MS;
}

static void on_timer(struct ntm_timer *tm, void *arg)
{
	struct tund *t = arg;
	(void)tm;

	switch (phase) {
	case PH_HANDSHAKE:
		fail(t);
		if (t->dc_failures == 2)
			log_warn("DC %s does not answer; retrying every %llu s at most",
				 ntm_sockaddr_str((struct sockaddr *)&t->dc_addr, (char[64]){ 0 }, 64),
				 (unsigned long long)DC_RETRY_MAX_MS / 1000);
		send_handshake(t);
		break;
	case PH_REGISTER:
		if (++t->reg_tries < 3) {
			send_register(t);
		} else {
			fail(t);
			restart(t, "no answer to REGISTER");
		}
		break;
	case PH_KEEPALIVE:
		if (t->ka_waiting && ++t->ka_missed >= DC_MISSED_ACKS) {
			t->dc_backoff_ms = DC_RETRY_MIN_MS;
			restart(t, "keepalives unanswered (DC restarted or unreachable)");
		} else if (ntm_loop_now_ms() - t->dc_sess_ms >= REKEY_AFTER_TIME_MS) {
			/* Rekey: the DC replaces our session when the handshake
			 * completes, and we register again on the new one. */
			t->ka_waiting = false;
			send_handshake(t);
		} else {
			send_keepalive(t);
		}
		break;
	}
}

static void on_hs_resp(struct tund *t, const uint8_t *buf, size_t len)
{
	struct ntm_session s;
	int ret = ntm_hs_complete(&t->dc_hs, &t->id, buf, len, &s);

	if (ret < 0) {
		t->stats.drop_auth++;
		return;
	}
	ntm_session_clear(&t->dc_sess);
	t->dc_sess = s;
	t->dc_sess_ms = ntm_loop_now_ms();
	t->stats.dc_handshakes++;
	t->reg_tries = 0;
	send_register(t);
}

static void configure_if(struct tund *t)
{
	int ret = ntm_netif_configure(t->ifname, t->vip4, t->plen4, t->vip6, t->plen6,
				      (unsigned)t->cfg.mtu);
	char a4[INET_ADDRSTRLEN], a6[INET6_ADDRSTRLEN];

	inet_ntop(AF_INET, t->vip4, a4, sizeof(a4));
	inet_ntop(AF_INET6, t->vip6, a6, sizeof(a6));
	if (ret < 0) {
		log_err_errno(-ret, "%s: cannot set %s/%u and %s/%u", t->ifname, a4, t->plen4, a6,
			      t->plen6);
		t->configured = false;
		return;
	}
	t->configured = true;
	log_notice("%s: %s/%u %s/%u mtu %llu", t->ifname, a4, t->plen4, a6, t->plen6,
		   (unsigned long long)t->cfg.mtu);
}

static const char *register_refusal(uint8_t status)
{
	switch (status) {
	case NTM_REG_NAME_MISMATCH:
		return "the name is enrolled with another key, or this key with another name";
	case NTM_REG_NO_ADDRESS:
		return "no virtual address left";
	case NTM_REG_INTERNAL:
		return "an internal error in the DC";
	default:
		return "unknown status";
	}
}

static void on_register_ack(struct tund *t, const struct ntm_ctl_register_ack *a)
{
	if (phase != PH_REGISTER || a->req_id != t->dc_req_id)
		return;
	if (a->status != NTM_REG_OK) {
		if (t->dc_state != DC_REFUSED)
			log_err("DC refused the registration of %s: %s", t->cfg.name,
				register_refusal(a->status));
		t->dc_state = DC_REFUSED;
		ntm_session_clear(&t->dc_sess);
		t->dc_backoff_ms = DC_RETRY_MAX_MS;
		arm(t, PH_HANDSHAKE, jitter(t->dc_backoff_ms));
		return;
	}
	bool changed = !t->configured || memcmp(t->vip4, a->vip4, 4) || t->plen4 != a->plen4 ||
		       memcmp(t->vip6, a->vip6, 16) || t->plen6 != a->plen6;
	memcpy(t->vip4, a->vip4, 4);
	t->plen4 = a->plen4;
	memcpy(t->vip6, a->vip6, 16);
	t->plen6 = a->plen6;
	memcpy(t->fqdn, a->fqdn.s, (size_t)a->fqdn.len + 1);
	t->nzones = a->nzones;
	for (uint8_t i = 0; i < a->nzones; i++)
		memcpy(t->zones[i], a->zones[i].s, (size_t)a->zones[i].len + 1);
	t->observed = a->observed;
	t->keepalive_ms = (uint64_t)a->keepalive_s * 1000;
	if (changed) {
		configure_if(t);
		nssfile_write(t);
	}
	if (t->dc_state != DC_REGISTERED)
		log_notice("registered as %s with DC %s", t->fqdn,
			   ntm_sockaddr_str((struct sockaddr *)&t->dc_addr, (char[64]){ 0 }, 64));
	t->dc_state = DC_REGISTERED;
	t->stats.registrations++;
	t->dc_failures = 0;
	t->dc_backoff_ms = DC_RETRY_MIN_MS;
	t->dc_last_ack_ms = ntm_loop_now_ms();
	t->ka_waiting = false;
	t->ka_missed = 0;
	arm(t, PH_KEEPALIVE, t->keepalive_ms);
}

static void on_keepalive_ack(struct tund *t, const struct ntm_ctl_keepalive_ack *a)
{
	if (!t->ka_waiting || a->seq != t->ka_seq)
		return;
	if (memcmp(&a->observed, &t->observed, sizeof(a->observed)) != 0) {
		char buf[64];
		ntm_endpoint_format(&a->observed, buf, sizeof(buf));
		log_info("the DC now sees this node at %s", buf);
		t->observed = a->observed;
	}
	t->ka_waiting = false;
	t->ka_missed = 0;
	t->dc_state = DC_REGISTERED;
	t->dc_last_ack_ms = ntm_loop_now_ms();
	arm(t, PH_KEEPALIVE, t->keepalive_ms);
}

static void on_data(struct tund *t, uint8_t *buf, size_t len)
{
	struct ntm_data d;
	struct ntm_ctl c;
	size_t ptlen;
	int ret;

	if (ntm_data_decode(buf, len, &d) < 0) {
		t->stats.drop_malformed++;
		return;
	}
	if (!t->dc_sess.valid || d.receiver != t->dc_sess.local_index) {
		t->stats.drop_unknown++;
		return;
	}
	ret = ntm_session_open(&t->dc_sess, buf, len, &ptlen);
	if (ret < 0) {
		if (ret == -EALREADY)
			t->stats.drop_replay++;
		else
			t->stats.drop_auth++;
		return;
	}
	if (ptlen == 0)
		return;
	if (ntm_ctl_decode(buf + NTM_DATA_HDR_LEN, ptlen, &c) < 0) {
		t->stats.drop_malformed++;
		return;
	}
	if (c.type == NTM_CTL_REGISTER_ACK)
		on_register_ack(t, &c.u.reg_ack);
	else if (c.type == NTM_CTL_KEEPALIVE_ACK)
		on_keepalive_ack(t, &c.u.ka_ack);
	else if (c.type == NTM_CTL_ROUTE_DIRECTION)
		peer_on_route(t, &c.u.route);
	else if (c.type == NTM_CTL_DIRECTION_NAK)
		peer_on_nak(t, &c.u.nak);
	else
		t->stats.drop_malformed++;
}

void dclink_on_datagram(struct tund *t, uint8_t *buf, size_t len)
{
	switch (ntm_wire_type(buf, len)) {
	case NTM_MSG_HS_RESP:
		on_hs_resp(t, buf, len);
		break;
	case NTM_MSG_DATA:
		on_data(t, buf, len);
		break;
	default:
		t->stats.drop_malformed++;
	}
}

void dclink_start(struct tund *t)
{
	t->dc_state = DC_CONNECTING;
	t->dc_backoff_ms = DC_RETRY_MIN_MS;
	ntm_timer_init(&t->dc_timer, t->loop, on_timer, t);
	send_handshake(t);
}

void dclink_reregister(struct tund *t)
{
	t->dc_backoff_ms = DC_RETRY_MIN_MS;
	t->dc_failures = 0;
	restart(t, "re-registration requested");
}

void dclink_stop(struct tund *t)
{
	ntm_timer_cancel(&t->dc_timer);
	if (t->dc_hs.active)
		ntm_noise_hs_clear(&t->dc_hs.hs);
	ntm_session_clear(&t->dc_sess);
}
