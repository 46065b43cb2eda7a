/* dclink.c - the node's session with its DC (doc/protocol.md sections 3,
 * 5.1-5.4, 7): an IK handshake from the node's one UDP socket, REGISTER
 * until a REGISTER_ACK arrives, then KEEPALIVE every interval. Silence is
 * handled in one place, the timer: an unanswered handshake is retried with
 * exponential backoff (500 ms doubling to 30 s, plus up to 10% jitter),
 * REGISTER is resent every 2 s up to 3 times, and DC_MISSED_ACKS
 * keepalives in a row without an answer (each waited for up to the
 * interval with one DC; with several instances as the round trip says,
 * dcpick_ack_timeout) mean the DC lost our session (a restart) or is
 * gone, so the node starts over with a new handshake, with the next
 * instance if there are several; there an ICMP error answering the
 * keepalive (dcicmp.c) moves the node at once.
 *
 * [DC] Endpoint may name several instances of the zone's DC (one key, one
 * registry): dcpick.c decides which one the node talks to and when it
 * gives up on one; here the chosen one's endpoints become t->cfg.dc_endpoint
 * (switch_dc) and the link starts over with a handshake.
 *
 * The DC may have an endpoint of each family; the one in use is the one in
 * use while it stays routable, else a routable one, IPv6 first
 * (underlay_pick). When our underlay changes (underlay.c tells us) the
 * node REGISTERs again at once on the session it has, from wherever it is
 * now (the DC moves a node's endpoint on its first authenticated datagram),
 * or without a session starts a handshake at once; then peer.c hears of it. */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "dcdiag.h"
#include "dcpick.h"
#include "log.h"
#include "netif.h"
#include "notify.h"
#include "tund.h"
#include "watch.h"
#include "util.h"

enum { PH_HANDSHAKE, PH_REGISTER, PH_KEEPALIVE };

static void arm(struct tund *t, int ph, uint64_t ms)
{
	t->dc.phase = ph;
	ntm_timer_arm(&t->dc.timer, ms, 0);
}

/* The DC endpoint f as configured (not v4-mapped), for messages. */
static const char *ep_str(const struct tund *t, int f, char *buf, size_t cap)
{
	return ntm_sockaddr_str((const struct sockaddr *)&t->cfg.dc_endpoint[f], buf, cap);
}

static uint16_t ep_port(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)ss)->sin_port);
	if (ss->ss_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
	return 0;
}

static uint64_t jitter(uint64_t ms)
{
	uint32_t r = 0;
	ntm_random(&r, sizeof(r));
	return ms + (ms / 10) * (r % 1000) / 1000;
}

static void send_dc(struct tund *t, const uint8_t *buf, size_t len)
{
	const struct dclink *d = &t->dc;
	ssize_t r = ntm_udp_send(t->udp_fd, buf, len, (const struct sockaddr *)&d->ep[d->use],
				 d->eplen[d->use], NULL);
	if (r < 0)
		log_debug_errno((int)-r, "send to DC");
	else
		t->stats.tx_packets++;
}

/* Our HANDSHAKE_INIT to the DC endpoint in use, with the mac2 of its
 * cookie if we hold a fresh one (doc/protocol.md 2.9). */
static void send_dc_hs(struct tund *t)
{
	const struct dclink *d = &t->dc;
	uint8_t pkt[NTM_HS_INIT_LEN];

	memcpy(pkt, d->hs_pkt, sizeof(pkt));
	ntm_cookie_jar_stamp(&t->jar, pkt, (const struct sockaddr *)&d->ep[d->use], ntm_loop_now_ms());
	send_dc(t, pkt, sizeof(pkt));
}

static void send_handshake(struct tund *t)
{
	uint8_t pkt[NTM_HS_INIT_LEN];
	uint32_t idx = 0;
	int len;

	if (t->dc.hs.active)
		ntm_noise_hs_clear(&t->dc.hs.hs);
	while (idx == 0)
		ntm_random(&idx, sizeof(idx));
	len = ntm_hs_initiate(&t->dc.hs, &t->id, t->cfg.dc_pub, (uint8_t)t->cfg.suite,
			      NTM_PURPOSE_DC, idx, 0, pkt, sizeof(pkt));
	if (len < 0) {
		log_err_errno(-len, "building handshake");
		return;
	}
	memcpy(t->dc.hs_pkt, pkt, sizeof(t->dc.hs_pkt));
	t->dc.hs_cookie_resent = false;
	t->dc.hs_answered = false;
	send_dc_hs(t);
	arm(t, PH_HANDSHAKE, jitter(t->dc.backoff_ms));
}

/* The node's own addresses, reported to the DC as LAN candidates: the
 * underlay snapshot (up, non-loopback interfaces but our TUN, no link-local
 * or unusable IPv6 addresses) with our port. */
static uint8_t local_addrs(const struct tund *t, struct ntm_endpoint *out, uint8_t max)
{
	const struct underlay *u = &t->dc.ul;
	uint8_t n = 0;

	for (unsigned i = 0; i < u->naddrs && n < max; i++) {
		out[n].family = u->addrs[i].fam == UL_V4 ? 4 : 6;
		out[n].port = t->cfg.port;
		memset(out[n].addr, 0, sizeof(out[n].addr));
		memcpy(out[n].addr, u->addrs[i].addr, u->addrs[i].fam == UL_V4 ? 4 : 16);
		n++;
	}
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
	len = ntm_session_seal(&t->dc.sess, pkt, (size_t)len);
	if (len < 0) {
		log_debug_errno(-len, "sealing for the DC");
		return;
	}
	send_dc(t, pkt, (size_t)len);
}

static void send_register(struct tund *t)
{
	struct ntm_ctl m = { .type = NTM_CTL_REGISTER };

	m.u.reg.req_id = t->dc.reg_id = ++t->dc.req_id;
	m.u.reg.listen_port = t->cfg.port;
	ntm_name_set(&m.u.reg.name, t->cfg.name);
	m.u.reg.naddrs = local_addrs(t, m.u.reg.addrs, NTM_MAX_ADDRS);
	m.u.reg.incarnation = t->dc.incarnation;
	m.u.reg.nroutes = (uint8_t)peer_live_routes(t, m.u.reg.routes, NTM_MAX_LIVE_ROUTES);
	dclink_send(t, &m);
	arm(t, PH_REGISTER, DC_REGISTER_RETRY_MS);
}

static uint64_t ack_timeout(const struct tund *t)
{
	return dcpick_ack_timeout(t->cfg.ndcs, t->dc.keepalive_ms, DC_ACK_TIMEOUT_MAX_MS,
				  t->dc.srtt_ms);
}

static void send_keepalive(struct tund *t)
{
	struct ntm_ctl m = { .type = NTM_CTL_KEEPALIVE };

	m.u.ka.seq = ++t->dc.ka_seq;
	m.u.ka.naddrs = local_addrs(t, m.u.ka.addrs, NTM_MAX_ADDRS);
	m.u.ka.nroutes = (uint8_t)peer_live_routes(t, m.u.ka.routes, NTM_MAX_LIVE_ROUTES);
	/* with other instances to go to, an instance whose port is closed
	 * (ICMP) is left at once: errors are asked for while the ack is
	 * awaited (dcicmp.c) */
	if (t->cfg.ndcs > 1)
		tund_icmp_watch(t, true);
	dclink_send(t, &m);
	t->dc.ka_waiting = true;
	t->dc.ka_sent_ms = ntm_loop_now_ms();
	arm(t, PH_KEEPALIVE, ack_timeout(t));
}

/* Start over: a new handshake now, backoff reset unless we keep failing. */
static void restart(struct tund *t, const char *why)
{
	log_notice("DC link: %s; starting a new handshake", why);
	if (t->dc.state == DC_REGISTERED)
		t->dc.state = DC_CONNECTING;
	watch_dc(t, why);
	ntm_session_clear(&t->dc.sess);
	t->dc.ka_waiting = false;
	t->dc.ka_missed = 0;
	send_handshake(t);
}

static void fail(struct tund *t, bool double_backoff)
{
	struct dclink *d = &t->dc;

	d->failures++;
	if (d->failures >= 2 && d->state != DC_REFUSED)
		d->state = DC_UNREACHABLE;
	tund_icmp_watch(t, true);       /* the next attempt's ICMP error, if any */
	watch_dc(t, "the DC does not answer");
	if (!double_backoff)
		return;
	d->backoff_ms *= 2;
	if (d->backoff_ms > DC_RETRY_MAX_MS)
		d->backoff_ms = DC_RETRY_MAX_MS;
}

static int set_endpoints(struct tund *t);

/* "192.0.2.1:7540" or "dc.example.org:7540" for DC instance i. */
static const char *instance_str(const struct tund *t, unsigned i, char *buf, size_t cap)
{
	const struct tund_dc *dc = &t->cfg.dcs[i];

	if (dc->host[0]) {
		snprintf(buf, cap, "%s:%u", dc->host, dc->host_port);
		return buf;
	}
	int f = dc->endpoint[UL_V6].ss_family && !dc->endpoint[UL_V4].ss_family ? UL_V6 : UL_V4;
	return ntm_sockaddr_str((const struct sockaddr *)&dc->endpoint[f], buf, cap);
}

/* dcpick chose another instance: its endpoints become the ones in use,
 * the underlay is scanned for routes to them, and the caller starts a
 * handshake (the session with the old instance is of no use to the new). */
static void switch_dc(struct tund *t, unsigned from, unsigned to, const char *why)
{
	struct dclink *d = &t->dc;
	char a[NTM_NAME_MAX + 8], b[NTM_NAME_MAX + 8];

	log_notice("DC link: %s; moving from DC instance %u (%s) to %u (%s)", why, from + 1,
		   instance_str(t, from, a, sizeof(a)), to + 1, instance_str(t, to, b, sizeof(b)));
	tund_config_use_dc(&t->cfg, to);
	if (set_endpoints(t) < 0)
		return; /* not in dcpick's have mask: cannot happen */
	int ret = underlay_scan(t->ifname, t->cfg.dc_endpoint, &d->ul);
	if (ret < 0)
		log_warn_errno(-ret, "underlay: cannot list this host's addresses");
	underlay_watch_set_dc(&t->ulw, t->cfg.dc_endpoint);
	d->use = underlay_pick(&d->ul, d->usable, -1);
	d->resolved_ms = 0;
	t->stats.dc_switches++;
}

/* The DC does not answer: if it is known by a host name, the name may
 * point elsewhere now (at most every DC_RESOLVE_MIN_MS). */
static void reresolve(struct tund *t)
{
	struct dclink *d = &t->dc;
	uint64_t ms = ntm_loop_now_ms();

	if (!t->cfg.dc_host[0] || (d->resolved_ms && ms - d->resolved_ms < DC_RESOLVE_MIN_MS))
		return;
	d->resolved_ms = ms;
	if (dclink_resolve(t) <= 0)
		return;
	if (set_endpoints(t) < 0)
		return;
	int ret = underlay_scan(t->ifname, t->cfg.dc_endpoint, &d->ul);
	if (ret < 0)
		log_warn_errno(-ret, "underlay: cannot list this host's addresses");
	d->use = underlay_pick(&d->ul, d->usable, -1);
}

/* An unanswered handshake: back off, and try the DC's other endpoint when
 * it is routable (a route is no proof the path works). */
static void handshake_timeout(struct tund *t)
{
	struct dclink *d = &t->dc;
	char ep[64];

	/* a refusal tells only about the attempt it answered */
	if (!d->hs_answered && d->refused) {
		d->refused = false;
		d->failures = 0;
		if (d->state == DC_REFUSED)
			d->state = DC_CONNECTING;
	}
	unsigned from = d->pick.cur;
	struct dcpick_out o = { .use = from };
	if (d->hs_answered) {
		fail(t, true);  /* refused: the instance answers, stay with it */
	} else {
		o = dcpick_on(&d->pick, DCP_HS_SILENT, ntm_loop_now_ms());
		fail(t, o.double_backoff);
	}
	if (d->failures == 2) {
		char info[DCDIAG_INFO_MAX], hint[DCDIAG_HINT_MAX];
		dclink_diag(t, info, sizeof(info), hint, sizeof(hint));
		if (d->state != DC_REFUSED)
			log_warn("%s; %s (retrying every %llu s at most)", info, hint,
				 (unsigned long long)DC_RETRY_MAX_MS / 1000);
		/* systemd: started all the same, so that boot goes on and the
		 * unit is not killed and restarted; the status says what is
		 * missing (ntm-tund(8) SYSTEMD) */
		if (info[0])
			ntm_notify_ready("not registered: %s; retrying", info);
		else
			ntm_notify_ready("not registered: DC %s does not answer or refuses this "
					 "node; retrying", ep_str(t, d->use, ep, sizeof(ep)));
	}
	if (o.switched) {
		switch_dc(t, from, o.use, "no answer to the handshake");
	} else {
		d->use = underlay_pick_after_timeout(&d->ul, d->usable, d->use);
		if (d->failures >= 2)
			reresolve(t);
	}
	send_handshake(t);
}

/* The instance in use answered a handshake, then stopped answering: the
 * same one again (a single DC restarted) or the next (dcpick.c). */
static void lost(struct tund *t, enum dcpick_event ev, const char *why)
{
	struct dclink *d = &t->dc;
	unsigned from = d->pick.cur;
	struct dcpick_out o = dcpick_on(&d->pick, ev, ntm_loop_now_ms());

	if (ev == DCP_REGISTER_LOST)
		fail(t, o.double_backoff);
	if (o.reset_backoff)
		d->backoff_ms = DC_RETRY_MIN_MS;
	if (o.switched) {
		char in[NTM_NAME_MAX + 8], r[NTM_LCTL_INFO_SIZE];
		switch_dc(t, from, o.use, why);
		/* the watchers' event says where to */
		snprintf(r, sizeof(r), "%s; moving to DC instance %u (%.64s)", why, o.use + 1,
			 instance_str(t, o.use, in, sizeof(in)));
		restart(t, r);
		return;
	}
	restart(t, why);
}

static void on_timer(struct ntm_timer *tm, void *arg)
{
	struct tund *t = arg;
	struct dclink *d = &t->dc;
	(void)tm;

	switch (d->phase) {
	case PH_HANDSHAKE:
		handshake_timeout(t);
		break;
	case PH_REGISTER:
		if (++d->reg_tries < 3)
			send_register(t);
		else
			lost(t, DCP_REGISTER_LOST, "no answer to REGISTER");
		break;
	case PH_KEEPALIVE:
		if (d->ka_waiting && ++d->ka_missed >= DC_MISSED_ACKS) {
			lost(t, DCP_KEEPALIVES_LOST,
			     t->cfg.ndcs > 1 ? "keepalives unanswered (DC instance down or unreachable)"
					     : "keepalives unanswered (DC restarted or unreachable)");
		} else if (ntm_loop_now_ms() - d->sess_ms >= REKEY_AFTER_TIME_MS) {
			/* Rekey: the DC replaces our session when the handshake
			 * completes, and we register again on the new one. */
			d->ka_waiting = false;
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
	int ret = ntm_hs_complete(&t->dc.hs, &t->id, buf, len, &s);

	if (ret < 0) {
		t->stats.drop_auth++;
		return;
	}
	ntm_session_clear(&t->dc.sess);
	t->dc.sess = s;
	t->dc.sess_ms = t->dc.last_heard_ms = ntm_loop_now_ms();
	t->dc.refused = false;
	t->stats.dc_handshakes++;
	t->dc.reg_tries = 0;
	send_register(t);
}

/* The DC refused our pending handshake for its timestamp or because our
 * key is not enrolled (protocol.md 2.10). Authentic: only the DC can seal
 * it to our init's ephemeral key. Say what is wrong and what to do
 * (dcdiag.c), in the log (at most once a
 * minute) and in ntmctl status; the timer's retry (with backoff) tries
 * again, and succeeds once the clock is right. */
static void on_hs_refuse(struct tund *t, const uint8_t *buf, size_t len)
{
	struct dclink *d = &t->dc;
	struct ntm_refuse why;
	uint8_t now[12];
	uint64_t ms = ntm_loop_now_ms();
	int ret = ntm_hs_read_refuse(&d->hs, &t->id, buf, len, &why);

	if (ret < 0) {
		t->stats.drop_auth++;
		return;
	}
	t->stats.dc_refusals++;
	ntm_tai64n_now(now);  /* our init's stamp, within the round trip */
	bool same = d->refused && d->why.reason == why.reason;
	d->why = why;
	memcpy(d->why_ours, now, sizeof(d->why_ours));
	d->refused = d->hs_answered = true;
	d->last_heard_ms = ms;
	d->state = DC_REFUSED;
	char info[DCDIAG_INFO_MAX], hint[DCDIAG_HINT_MAX];
	dclink_diag(t, info, sizeof(info), hint, sizeof(hint));
	if (!same || !d->refusal_log_ms || ms - d->refusal_log_ms >= 60000) {
		log_err("%s; %s", info, hint);
		d->refusal_log_ms = ms;
	}
	watch_dc(t, info);
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

static void registered(struct tund *t, const struct ntm_ctl_register_ack *a)
{
	struct dclink *d = &t->dc;
	char ep[64];

	d->observed = a->observed;
	d->keepalive_ms = (uint64_t)a->keepalive_s * 1000;
	dcpick_on(&d->pick, DCP_REGISTERED, ntm_loop_now_ms());
	if (d->state != DC_REGISTERED && t->cfg.ndcs > 1) {
		char in[NTM_NAME_MAX + 8];
		log_notice("registered as %s with DC %s (instance %u of %u: %s)", t->fqdn,
			   ep_str(t, d->use, ep, sizeof(ep)), d->pick.cur + 1, t->cfg.ndcs,
			   instance_str(t, d->pick.cur, in, sizeof(in)));
		ntm_notify_ready("registered as %s with DC %s", t->fqdn, ep);
	} else if (d->state != DC_REGISTERED) {
		log_notice("registered as %s with DC %s", t->fqdn, ep_str(t, d->use, ep, sizeof(ep)));
		/* systemd: started (ntm-tund(8) SYSTEMD) */
		ntm_notify_ready("registered as %s with DC %s", t->fqdn, ep);
	}
	/* Names the DC denied may have been enrolled since (the DC tells no
	 * one): ask again rather than wait out NEGCACHE_TTL_MS. Only the DC's
	 * answers bring this here, so a local user cannot empty the cache. */
	negcache_flush(&t->neg);
	d->state = DC_REGISTERED;
	if (t->cfg.ndcs > 1) {
		char in[NTM_NAME_MAX + 8], r[NTM_LCTL_INFO_SIZE];
		snprintf(r, sizeof(r), "registration acknowledged by DC instance %u (%.64s)",
			 d->pick.cur + 1, instance_str(t, d->pick.cur, in, sizeof(in)));
		watch_dc(t, r);
	} else {
		watch_dc(t, "registration acknowledged");
	}
	t->stats.registrations++;
	d->failures = 0;
	d->backoff_ms = DC_RETRY_MIN_MS;
	d->last_ack_ms = d->last_heard_ms = ntm_loop_now_ms();
	d->ka_waiting = false;
	d->ka_missed = 0;
	arm(t, PH_KEEPALIVE, d->keepalive_ms);
}

static void on_register_ack(struct tund *t, const struct ntm_ctl_register_ack *a)
{
	struct dclink *d = &t->dc;

	if (d->phase != PH_REGISTER || a->req_id != d->reg_id)
		return;
	if (a->status != NTM_REG_OK) {
		if (d->state != DC_REFUSED)
			log_err("DC refused the registration of %s: %s", t->cfg.name,
				register_refusal(a->status));
		d->state = DC_REFUSED;
		watch_dc(t, register_refusal(a->status));
		ntm_session_clear(&d->sess);
		d->backoff_ms = DC_RETRY_MAX_MS;
		arm(t, PH_HANDSHAKE, jitter(d->backoff_ms));
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
	if (changed) {
		configure_if(t);
		nssfile_write(t);
	}
	resolvedlink_update(t);
	registered(t, a);
}

static void on_keepalive_ack(struct tund *t, const struct ntm_ctl_keepalive_ack *a)
{
	struct dclink *d = &t->dc;

	if (!d->ka_waiting || a->seq != d->ka_seq)
		return;
	if (memcmp(&a->observed, &d->observed, sizeof(a->observed)) != 0) {
		char buf[64];
		ntm_endpoint_format(&a->observed, buf, sizeof(buf));
		log_info("the DC now sees this node at %s", buf);
		d->observed = a->observed;
	}
	d->ka_waiting = false;
	d->ka_missed = 0;
	d->state = DC_REGISTERED;
	watch_dc(t, "keepalive acknowledged");
	d->last_ack_ms = d->last_heard_ms = ntm_loop_now_ms();
	d->srtt_ms = dcpick_srtt(d->srtt_ms, d->last_ack_ms - d->ka_sent_ms);
	tund_icmp_watch(t, false);
	arm(t, PH_KEEPALIVE, d->keepalive_ms);
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
	if (!t->dc.sess.valid || d.receiver != t->dc.sess.local_index) {
		t->stats.drop_unknown++;
		return;
	}
	ret = ntm_session_open(&t->dc.sess, buf, len, &ptlen);
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
	else if (c.type == NTM_CTL_NETCHECK_ECHO)
		netcheck_on_echo(t, &c.u.nc_echo);
	else if (c.type == NTM_CTL_NETCHECK_RELAYS)
		netcheck_on_relays(t, &c.u.nc_relays);
	else
		t->stats.drop_malformed++;
}

/* The DC is under load and wants proof that we receive at our address:
 * keep its cookie for the endpoint, and send the pending initiation again
 * at once with mac2 (once per initiation, so replies cannot make us loop). */
static void on_cookie_reply(struct tund *t, const uint8_t *buf, size_t len)
{
	struct dclink *d = &t->dc;
	struct ntm_cookie_reply m;
	uint8_t key[32], cookie[NTM_COOKIE_LEN];

	if (ntm_cookie_reply_decode(buf, len, &m) < 0 || !d->hs.active ||
	    m.receiver != d->hs.local_index || ntm_cookie_reply_key(key, t->cfg.dc_pub) < 0 ||
	    ntm_cookie_reply_open(&m, key, d->hs_pkt + NTM_HS_INIT_MAC1_OFF, cookie) < 0) {
		t->stats.drop_unknown++;
		return;
	}
	t->stats.cookies_received++;
	ntm_cookie_jar_put(&t->jar, (const struct sockaddr *)&d->ep[d->use], cookie, ntm_loop_now_ms());
	ntm_wipe(cookie, sizeof(cookie));
	if (!d->hs_cookie_resent) {
		d->hs_cookie_resent = true;
		log_debug("DC is under load: handshake again with its cookie");
		send_dc_hs(t);
	}
}

void dclink_on_datagram(struct tund *t, uint8_t *buf, size_t len)
{
	switch (ntm_wire_type(buf, len)) {
	case NTM_MSG_HS_RESP:
		on_hs_resp(t, buf, len);
		break;
	case NTM_MSG_HS_REFUSE:
		on_hs_refuse(t, buf, len);
		break;
	case NTM_MSG_DATA:
		on_data(t, buf, len);
		break;
	case NTM_MSG_COOKIE_REPLY:
		on_cookie_reply(t, buf, len);
		break;
	default:
		t->stats.drop_malformed++;
	}
}

/* [DC] Endpoint given as a host name: resolve it into t->cfg.dc_endpoint
 * (the first address of each family). The time it may take is bounded by
 * the resolver's options (ntm-tund sets RES_OPTIONS "timeout:1 attempts:2"
 * unless the environment has some: a few seconds with no name server
 * answering). 1 when the addresses changed, 0 when not, -errno when the
 * name did not resolve (the addresses stay). */
int dclink_resolve(struct tund *t)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_DGRAM,
				  .ai_protocol = IPPROTO_UDP };
	struct sockaddr_storage now[UL_NFAM];
	struct addrinfo *ai = NULL;
	char a[64], b[64];
	int ret;

	if (!t->cfg.dc_host[0])
		return 0;
	ret = getaddrinfo(t->cfg.dc_host, NULL, &hints, &ai);
	if (ret != 0) {
		log_warn("[DC] Endpoint: cannot resolve %s: %s", t->cfg.dc_host,
			 ret == EAI_SYSTEM ? strerror(errno) : gai_strerror(ret));
		return ret == EAI_NONAME || ret == EAI_NODATA ? -ENOENT : -EAGAIN;
	}
	ret = tund_config_pick_addrs(ai, t->cfg.dc_host_port, now);
	freeaddrinfo(ai);
	if (ret < 0) {
		log_warn("[DC] Endpoint: %s has no IPv4 or IPv6 address", t->cfg.dc_host);
		return ret;
	}
	if (memcmp(now, t->cfg.dc_endpoint, sizeof(now)) == 0)
		return 0;
	for (int f = 0; f < UL_NFAM; f++)
		if (now[f].ss_family)
			ntm_sockaddr_str((const struct sockaddr *)&now[f], f == UL_V4 ? a : b, 64);
	log_notice("[DC] Endpoint: %s is %s%s%s", t->cfg.dc_host, now[UL_V4].ss_family ? a : "",
		   now[UL_V4].ss_family && now[UL_V6].ss_family ? " and " : "",
		   now[UL_V6].ss_family ? b : "");
	memcpy(t->cfg.dc_endpoint, now, sizeof(now));
	memcpy(t->cfg.dcs[t->dc.pick.cur].endpoint, now, sizeof(now));
	return 1;
}

/* The configured endpoints as our socket uses them: IPv4 v4-mapped on a
 * dual-stack socket, IPv6 only if the socket is IPv6. */
static int set_endpoints(struct tund *t)
{
	struct dclink *d = &t->dc;
	char ep[64];

	d->usable = 0;
	memset(d->ep, 0, sizeof(d->ep));
	for (int f = 0; f < UL_NFAM; f++) {
		if (!t->cfg.dc_endpoint[f].ss_family)
			continue;
		if (f == UL_V6 && t->udp_family != AF_INET6) {
			log_info("DC endpoint %s not used: this host has no IPv6",
				 ep_str(t, f, ep, sizeof(ep)));
			continue;
		}
		d->ep[f] = t->cfg.dc_endpoint[f];
		d->eplen[f] = f == UL_V4 ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
		if (f == UL_V4 && t->udp_family == AF_INET6)
			ntm_sockaddr_map(&d->ep[f], &d->eplen[f]);
		d->usable |= UL_BIT(f);
	}
	if (!d->usable) {
		log_err("the DC has an IPv6 address only but this host has no IPv6");
		return -EAFNOSUPPORT;
	}
	return 0;
}

/* Instances we can send to: an IPv4 endpoint, or IPv6 on a dual-stack
 * socket (a host name that did not resolve has neither). */
static unsigned usable_instances(const struct tund *t)
{
	unsigned have = 0;

	for (unsigned i = 0; i < t->cfg.ndcs; i++) {
		const struct tund_dc *dc = &t->cfg.dcs[i];
		if (dc->endpoint[UL_V4].ss_family ||
		    (dc->endpoint[UL_V6].ss_family && t->udp_family == AF_INET6))
			have |= 1u << i;
	}
	return have;
}

int dclink_start(struct tund *t)
{
	struct dclink *d = &t->dc;
	char addrs[256];
	unsigned have = usable_instances(t);

	/* with several instances, start with the first we can send to; one
	 * that cannot be used is reported by set_endpoints as before */
	dcpick_init(&d->pick, t->cfg.ndcs, have ? have : 1, ntm_loop_now_ms());
	tund_config_use_dc(&t->cfg, d->pick.cur);
	underlay_watch_set_dc(&t->ulw, t->cfg.dc_endpoint);
	int ret = set_endpoints(t);

	if (ret < 0)
		return ret;
	ret = underlay_scan(t->ifname, t->cfg.dc_endpoint, &d->ul);
	if (ret < 0)
		log_warn_errno(-ret, "underlay: cannot list this host's addresses");
	d->ul_changed_ms = ntm_loop_now_ms();
	d->use = underlay_pick(&d->ul, d->usable, -1);
	log_info("underlay: %s", underlay_format(&d->ul, addrs, sizeof(addrs)));
	d->state = DC_CONNECTING;
	watch_dc(t, "starting");
	d->backoff_ms = DC_RETRY_MIN_MS;
	/* Tells the DC this process is new (it restarted: routes start over). */
	while (d->incarnation == 0)
		if (ntm_random(&d->incarnation, sizeof(d->incarnation)) < 0)
			d->incarnation = ntm_loop_now_ms(); /* differs after a restart */
	ntm_timer_init(&d->timer, t->loop, on_timer, t);
	send_handshake(t);
	return 0;
}

bool dclink_is_dc(const struct tund *t, const struct sockaddr *src)
{
	for (int f = 0; f < UL_NFAM; f++)
		if ((t->dc.usable & UL_BIT(f)) &&
		    ntm_sockaddr_cmp(src, (const struct sockaddr *)&t->dc.ep[f]) == 0)
			return true;
	return netcheck_from_alt(t, src);
}

/* One line per change: "underlay: 10.1.0.2 -> 10.2.0.2; re-registering
 * with DC 192.0.2.1:7540". */
static void log_change(struct tund *t, const struct underlay *before, const struct underlay *now,
		       const struct underlay_decision *dec)
{
	char a[256], b[256], ep[64];

	underlay_format(before, a, sizeof(a));
	if (underlay_same_addrs(before, now))
		snprintf(b, sizeof(b), "(routes changed)");
	else
		underlay_format(now, b, sizeof(b));
	log_notice("underlay: %s %s%s; %s DC %s%s", a, underlay_same_addrs(before, now) ? "" : "-> ",
		   b, dec->action == UL_REREGISTER ? "re-registering with" : "new handshake with",
		   ep_str(t, dec->use, ep, sizeof(ep)),
		   now->routable[dec->use] ? "" : " (no route to it yet)");
}

void dclink_on_underlay(void *arg, const struct underlay *now, int err)
{
	struct tund *t = arg;
	struct dclink *d = &t->dc;

	t->stats.underlay_overruns = t->ulw.overruns;
	if (err < 0) {
		log_warn_errno(-err, "underlay: cannot list this host's addresses; keeping the last list");
		return;
	}
	struct underlay_decision dec = underlay_decide(&d->ul, now, d->usable, d->use,
						       d->sess.valid);
	if (dec.action == UL_NOTHING)
		return;
	log_change(t, &d->ul, now, &dec);
	d->ul = *now;
	d->ul_changed_ms = ntm_loop_now_ms();
	d->use = dec.use;
	t->stats.underlay_changes++;
	if (dec.action == UL_REREGISTER) {
		d->reg_tries = 0;
		d->ka_waiting = false;
		send_register(t);
	} else {
		d->backoff_ms = DC_RETRY_MIN_MS;
		d->failures = 0;
		send_handshake(t);
	}
	peer_on_underlay_change(t);
}

void dclink_diag(const struct tund *t, char *info, size_t info_cap, char *hint, size_t hint_cap)
{
	const struct dclink *d = &t->dc;
	char ep[64], key[NTM_KEY_B64_LEN + 1];
	struct dcdiag_in in = {
		.registered = d->state == DC_REGISTERED,
		.failures = d->failures,
		.refused = d->refused,
		.why = d->why,
		.last_heard_ms = d->last_heard_ms,
		.now_ms = ntm_loop_now_ms(),
		.now_wall = time(NULL),
		.endpoint = ep_str(t, d->use, ep, sizeof(ep)),
		.host = t->cfg.dc_host[0] ? t->cfg.dc_host : NULL,
		.port = ep_port(&t->cfg.dc_endpoint[d->use]),
		.name = t->cfg.name,
		.key = key,
		.icmp = (enum dcdiag_icmp)d->icmp,
		.icmp_ms = d->icmp_ms,
		.icmp_from = d->icmp_from[0] ? d->icmp_from : NULL,
	};

	memcpy(in.ours, d->why_ours, sizeof(in.ours));
	ntm_key_to_base64(key, t->id.pub);
	dcdiag_describe(&in, info, info_cap, hint, hint_cap);
}

void dclink_icmp(struct tund *t, const char *what)
{
	struct dclink *d = &t->dc;
	char why[160];

	/* only for the keepalive awaited now (an error about an older one
	 * was that one's), and only where another instance is there */
	if (t->cfg.ndcs < 2 || d->state != DC_REGISTERED || !d->ka_waiting)
		return;
	t->stats.dc_icmp_moves++;
	snprintf(why, sizeof(why), "keepalive answered by ICMP (%s): DC instance down", what);
	d->ka_waiting = false;
	lost(t, DCP_KEEPALIVES_LOST, why);
}

void dclink_reregister(struct tund *t)
{
	t->dc.backoff_ms = DC_RETRY_MIN_MS;
	t->dc.failures = 0;
	restart(t, "re-registration requested");
}

void dclink_stop(struct tund *t)
{
	ntm_timer_cancel(&t->dc.timer);
	if (t->dc.hs.active)
		ntm_noise_hs_clear(&t->dc.hs.hs);
	ntm_session_clear(&t->dc.sess);
}
