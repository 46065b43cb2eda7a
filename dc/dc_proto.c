/* dc_proto.c - the DC's datagram handling: IK handshakes from enrolled
 * nodes (refused with HANDSHAKE_REFUSE for their timestamp; authentic ones
 * from keys not enrolled refused too, rate limited; dc_diag.h says what to
 * log about each), their DATA
 * sessions, REGISTER and KEEPALIVE (doc/protocol.md
 * sections 2, 3, 5.1-5.4; what they report goes on to dc_push.c). Nothing
 * here ever answers a datagram that did not authenticate (every failure is
 * a counter increment), but for the COOKIE_REPLY to a HANDSHAKE_INIT with a
 * valid mac1 under load (lib/hsgate.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dc.h"
#include "log.h"
#include "util.h"

#define DC_BATCH 64   /* datagrams per readable event before yielding */

static void send_to_node(struct dc *dc, struct dc_node *n, const uint8_t *buf, size_t len)
{
	ssize_t r = ntm_udp_send(n->fd, buf, len, (struct sockaddr *)&n->ep, n->eplen, &n->via);
	if (r < 0)
		log_debug_errno((int)-r, "send to %s", n->rec.name);
	else
		dc->stats.tx_packets++;
}

/* Seal a control message to n's session and send it. */
void dc_send_ctl(struct dc *dc, struct dc_node *n, const struct ntm_ctl *m)
{
	uint8_t pkt[NTM_DATA_HDR_LEN + 1024 + NTM_TAG_LEN];
	int len = ntm_ctl_encode(m, pkt + NTM_DATA_HDR_LEN, 1024);

	if (len < 0) {
		log_err_errno(-len, "encoding %s for %s", ntm_ctl_type_name(m->type), n->rec.name);
		return;
	}
	len = ntm_session_seal(&n->sess, pkt, (size_t)len);
	if (len < 0) {
		log_debug_errno(-len, "sealing for %s", n->rec.name);
		return;
	}
	send_to_node(dc, n, pkt, (size_t)len);
}

void dc_node_forget(struct dc *dc, struct dc_node *n)
{
	dc_mesh_absent(dc, n);
	if (n->sess.valid)
		ntm_idmap_del(&dc->by_index, n->sess.local_index);
	ntm_session_clear(&n->sess);
	n->registered_ms = 0;
}

/* A candidate from the index is taken only if it is live under exactly
 * what was asked (nodeidx.h: the index is a cache). */
int dc_find_by_name(struct dc *dc, const char *fqdn, struct ntm_node_rec *rec)
{
	const struct dc_node *n = dc_nodeidx_by_name(&dc->registered, fqdn);

	if (dc_node_live(n) && strcmp(n->rec.name, fqdn) == 0) {
		*rec = n->rec;
		dc->stats.lookups_memory++;
		return 0;
	}
	return ntm_store_node_by_name(dc->store, fqdn, rec);
}

int dc_find_by_addr(struct dc *dc, int family, const uint8_t *addr, struct ntm_node_rec *rec)
{
	const struct dc_node *n = dc_nodeidx_by_addr(&dc->registered, family, addr);

	if (dc_node_live(n) &&
	    (family == 4 ? memcmp(n->rec.vip4, addr, 4) : memcmp(n->rec.vip6, addr, 16)) == 0) {
		*rec = n->rec;
		dc->stats.lookups_memory++;
		return 0;
	}
	return ntm_store_node_by_addr(dc->store, family == 4 ? AF_INET : AF_INET6, addr, rec);
}

void dc_free_nodes(struct dc *dc)
{
	size_t pos = 0;
	struct dc_node *n;

	while ((n = ntm_idmap_next(&dc->by_host, &pos, NULL))) {
		ntm_session_clear(&n->sess);
		free(n);
	}
	ntm_idmap_free(&dc->by_host);
	ntm_idmap_free(&dc->by_index);
	dc_nodeidx_free(&dc->registered);
}

static uint32_t new_index(struct dc *dc)
{
	uint32_t idx;

	do {
		if (ntm_random(&idx, sizeof(idx)) < 0)
			idx = (uint32_t)ntm_loop_now_ms() * 2654435761u;
	} while (idx == 0 || ntm_idmap_get(&dc->by_index, idx) || dc_fed_index_used(dc, idx));
	return idx;
}

static struct dc_node *node_for(struct dc *dc, const struct ntm_node_rec *rec)
{
	struct dc_node *n = ntm_idmap_get(&dc->by_host, rec->host_index);

	if (n) {
		n->rec = *rec; /* the name may have changed through del + add */
		return n;
	}
	n = calloc(1, sizeof(*n));
	if (!n)
		return NULL;
	n->rec = *rec;
	if (ntm_idmap_put(&dc->by_host, rec->host_index, n) < 0) {
		free(n);
		return NULL;
	}
	return n;
}

static void set_endpoint(struct dc_node *n, const struct ntm_udp_meta *m, int fd)
{
	memcpy(&n->ep, &m->src, m->srclen);
	n->eplen = m->srclen;
	n->via = *m;
	n->fd = fd;
}

static bool diag_allow(struct dc *dc, enum dc_diag_kind k, const struct ntm_udp_meta *m,
		       char *src, size_t cap)
{
	if (!dc_diag_log_allow(&dc->diag, k, (const struct sockaddr *)&m->src, ntm_loop_now_ms())) {
		dc->stats.diag_logs_suppressed++;
		return false;
	}
	ntm_sockaddr_str((const struct sockaddr *)&m->src, src, cap);
	return true;
}

/* A HANDSHAKE_INIT whose mac1 is not keyed by our public key: the node was
 * given another DC key (or it is not meant for us). Said, never answered. */
static void diag_bad_mac(struct dc *dc, const struct ntm_udp_meta *m)
{
	char src[64], key[NTM_KEY_B64_LEN + 1], line[256];

	if (!diag_allow(dc, DC_DIAG_BAD_MAC, m, src, sizeof(src)))
		return;
	ntm_key_to_base64(key, dc->id.pub);
	dc_diag_fmt_bad_mac(line, sizeof(line), src, key);
	log_warn("%s", line);
}

/* An authentic init (mac1 valid, the Noise read proved the sender holds
 * the key) from a key that is not enrolled: say which key and how to enrol
 * it, and unless [DC] RefuseUnenrolled = no answer with a HANDSHAKE_REFUSE
 * that only the key's holder can read (at most DC_DIAG_REFUSE_RATE a
 * second in all: never a reflector). */
static void unenrolled(struct dc *dc, struct ntm_hs_responder *r, int fd,
		       const struct ntm_udp_meta *m)
{
	char src[64], key[NTM_KEY_B64_LEN + 1], line[320];
	bool refuse = dc->cfg.refuse_unenrolled, limited = false;
	uint8_t out[NTM_HS_REFUSE_LEN];
	int len;

	if (refuse && !dc_diag_refuse_allow(&dc->diag, ntm_loop_now_ms()))
		refuse = false, limited = true;
	if (diag_allow(dc, DC_DIAG_UNENROLLED, m, src, sizeof(src))) {
		ntm_key_to_base64(key, r->info.initiator_pub);
		dc_diag_fmt_unenrolled(line, sizeof(line), src, key, refuse);
		log_warn("%s", line);
	}
	if (!refuse) {
		if (limited)
			dc->stats.drop_refuse_limit++;   /* one drop counter each */
		else
			dc->stats.drop_unenrolled++;
		return;
	}
	struct ntm_refuse why = { .reason = NTM_REFUSE_NOT_ENROLLED };
	ntm_tai64n_now(why.dc_time);
	len = ntm_hs_refuse(r, &why, out, sizeof(out));
	if (len < 0) {
		dc->stats.drop_unenrolled++;
		return;
	}
	dc->stats.hs_refused_unenrolled++;
	if (ntm_udp_send(fd, out, (size_t)len, (const struct sockaddr *)&m->src, m->srclen, m) >= 0)
		dc->stats.tx_packets++;
}

/* Handshake admission (lib/hsgate.h): true when the init may cost a
 * handshake; otherwise it was counted and perhaps answered with a cookie. */
static bool hs_admit(struct dc *dc, int fd, const uint8_t *buf, size_t len,
		     const struct ntm_udp_meta *m)
{
	const struct sockaddr *src = (const struct sockaddr *)&m->src;
	uint8_t out[NTM_COOKIE_REPLY_LEN];

	switch (ntm_hsgate_check(&dc->gate, buf, len, src, false, ntm_loop_now_ms())) {
	case NTM_HSG_PROCESS:
		return true;
	case NTM_HSG_COOKIE:
		if (ntm_hsgate_cookie_reply(&dc->gate, buf, src, out, sizeof(out)) == sizeof(out) &&
		    ntm_udp_send(fd, out, sizeof(out), src, m->srclen, m) >= 0) {
			dc->stats.cookies_sent++;
			dc->stats.tx_packets++;
		}
		return false;
	case NTM_HSG_BAD_MAC:
		dc->stats.drop_bad_mac++;
		diag_bad_mac(dc, m);
		return false;
	case NTM_HSG_RATELIMIT:
		dc->stats.drop_ratelimit++;
		return false;
	case NTM_HSG_OVERLOAD:
	default:
		dc->stats.drop_overload++;
		return false;
	}
}

/* An authentic init (mac1 and Noise checked, an enrolled key) the DC will
 * not accept for its timestamp: a HANDSHAKE_REFUSE only the init's author
 * can read, saying why, to where it came from. Nothing about the node
 * changes, so a replayed init cannot disturb its session; the refusals
 * (and log lines) per node are rate limited, so replays cannot make the
 * DC a reflector. */
static void refuse(struct dc *dc, struct dc_node *n, struct ntm_hs_responder *r,
		   enum ntm_ts_verdict v, const uint8_t now[12], int fd,
		   const struct ntm_udp_meta *m)
{
	uint64_t ms = ntm_loop_now_ms();
	struct ntm_refuse why = {
		.reason = v == NTM_TS_AHEAD ? NTM_REFUSE_TS_AHEAD : NTM_REFUSE_TS_OLD,
	};
	uint8_t out[NTM_HS_REFUSE_LEN];
	int64_t skew;
	int len;

	if (n->refuse_ms && ms - n->refuse_ms < DC_REFUSE_MIN_MS) {
		dc->stats.drop_replayed_hs++;
		return;
	}
	memcpy(why.dc_time, now, 12);
	memcpy(why.last_ts, n->last_ts, 12);
	if (!n->refuse_log_ms || ms - n->refuse_log_ms >= DC_REFUSE_LOG_MS) {
		char src[64], line[320];
		if (diag_allow(dc, DC_DIAG_SKEW, m, src, sizeof(src))) {
			if (v == NTM_TS_AHEAD)
				skew = ntm_tai64n_diff_s(r->info.timestamp, now);
			else
				skew = ntm_tai64n_diff_s(n->last_ts, r->info.timestamp);
			dc_diag_fmt_skew(line, sizeof(line), n->rec.name, src, skew,
					 v == NTM_TS_AHEAD);
			log_warn("%s", line);
		}
		n->refuse_log_ms = ms;
	}
	len = ntm_hs_refuse(r, &why, out, sizeof(out));
	if (len < 0) {
		log_debug_errno(-len, "building a refusal for %s", n->rec.name);
		return;
	}
	n->refuse_ms = ms;
	dc->stats.hs_refused++;
	ssize_t sent = ntm_udp_send(fd, out, (size_t)len, (const struct sockaddr *)&m->src,
				    m->srclen, m);
	if (sent >= 0)
		dc->stats.tx_packets++;
}

static void on_hs_init(struct dc *dc, int fd, const uint8_t *buf, size_t len,
		       const struct ntm_udp_meta *m)
{
	struct ntm_hs_responder r;
	struct ntm_node_rec rec;
	struct ntm_session s;
	uint8_t out[NTM_HS_RESP_LEN], now[12];
	static const uint8_t never[12];
	uint32_t host;
	int ret;

	if (!hs_admit(dc, fd, buf, len, m))
		return;
	if (ntm_hs_respond_begin(&r, &dc->id, buf, len) < 0) {
		dc->stats.drop_unauth++;
		return;
	}
	if (dc_fed_on_hs_init(dc, fd, &r, m))
		goto out;
	if (r.info.purpose != NTM_PURPOSE_DC) {
		dc->stats.drop_malformed++;
		goto out;
	}
	/* The in-memory set: an unknown key costs no database query. */
	host = dc_keyset_get(&dc->keys, r.info.initiator_pub);
	if (!host) {
		unenrolled(dc, &r, fd, m);
		goto out;
	}
	struct dc_node *n = ntm_idmap_get(&dc->by_host, host);
	ntm_tai64n_now(now);
	enum ntm_ts_verdict v = ntm_hs_ts_check(r.info.timestamp, n ? n->last_ts : never, now,
						DC_HS_MAX_AHEAD_S);
	if (v != NTM_TS_ACCEPT || !n) {
		/* the enrolment itself, for a node not seen since the start */
		ret = ntm_store_node_by_key(dc->store, r.info.initiator_pub, &rec);
		if (ret < 0) {
			if (ret != -ENOENT)
				log_err("registry lookup: %s", ntm_store_errmsg(dc->store));
			dc->stats.drop_unenrolled++;
			goto out;
		}
		n = node_for(dc, &rec);
		if (!n)
			goto out;
	}
	if (v != NTM_TS_ACCEPT) {
		refuse(dc, n, &r, v, now, fd, m);
		goto out;
	}
	uint32_t idx = new_index(dc);
	uint8_t ts[12];
	memcpy(ts, r.info.timestamp, sizeof(ts)); /* finish wipes r */
	ret = ntm_hs_respond_finish(&r, idx, out, sizeof(out), &s);
	if (ret < 0)
		goto out;
	if (ntm_idmap_put(&dc->by_index, idx, n) < 0) {
		ntm_session_clear(&s);
		goto out;
	}
	memcpy(n->last_ts, ts, sizeof(n->last_ts));
	/* The new session replaces the old one; the node registers again on it. */
	if (n->sess.valid)
		ntm_idmap_del(&dc->by_index, n->sess.local_index);
	ntm_session_clear(&n->sess);
	n->sess = s;
	set_endpoint(n, m, fd);
	dc->stats.handshakes++;
	ntm_hsgate_completed(&dc->gate, (const struct sockaddr *)&m->src, ntm_loop_now_ms());
	send_to_node(dc, n, out, sizeof(out));
	log_debug("handshake from %s", n->rec.name);
out:
	ntm_hs_responder_clear(&r);
}

int dc_observed(const struct dc_node *n, struct ntm_endpoint *ep)
{
	struct sockaddr_storage ss = n->ep;
	socklen_t len = n->eplen;

	ntm_sockaddr_unmap(&ss, &len);
	return ntm_endpoint_from_sockaddr(ep, (struct sockaddr *)&ss);
}

static void on_register(struct dc *dc, struct dc_node *n, const struct ntm_ctl_register *req)
{
	struct ntm_node_rec rec;
	struct ntm_conf_addr p4, p6;
	struct ntm_ctl ack = { .type = NTM_CTL_REGISTER_ACK };
	struct ntm_ctl_register_ack *a = &ack.u.reg_ack;
	char claimed[NTM_NAME_MAX + 1];
	int ret;

	/* Re-read the enrolment: ntm-dcctl may have deleted or changed it. */
	ret = ntm_store_node_by_key(dc->store, n->sess.remote_pub, &rec);
	if (ret < 0) {
		dc->stats.drop_unenrolled++;
		dc_node_forget(dc, n);
		return;
	}
	n->rec = rec;
	a->req_id = req->req_id;
	a->keepalive_s = (uint16_t)dc->cfg.keepalive_s;
	a->lifetime_s = (uint16_t)dc->cfg.lifetime_s;
	a->nzones = 1;
	ntm_name_set(&a->zones[0], dc->cfg.zone);
	/* the federated zones too: the node asks us for their names */
	for (size_t i = 0; i < dc->nfed && a->nzones < NTM_MAX_ZONES; i++)
		ntm_name_set(&a->zones[a->nzones++], dc->fed[i].conf->zone);
	if (dc_qualify_name(dc->cfg.zone, req->name.s, claimed) < 0 || strcmp(claimed, rec.name) != 0) {
		log_warn("%s: registration refused: key is enrolled as %s", req->name.s, rec.name);
		dc->stats.register_refused++;
		a->status = NTM_REG_NAME_MISMATCH;
		ntm_name_set(&a->fqdn, req->name.s);
		a->observed.family = 4;
		a->observed.port = 1;
		dc_send_ctl(dc, n, &ack);
		return;
	}
	ntm_store_prefixes(dc->store, &p4, &p6);
	memcpy(a->vip4, rec.vip4, 4);
	a->plen4 = p4.plen;
	memcpy(a->vip6, rec.vip6, 16);
	a->plen6 = p6.plen;
	dc_observed(n, &a->observed);
	ntm_name_set(&a->fqdn, rec.name);
	if (!n->registered_ms)
		log_notice("%s registered from %s", rec.name,
			   ntm_sockaddr_str((struct sockaddr *)&n->ep, (char[64]){ 0 }, 64));
	n->registered_ms = ntm_loop_now_ms();
	if (dc_nodeidx_put(&dc->registered, n, n->rec.name, n->rec.vip4, n->rec.vip6) < 0)
		log_debug("%s: not indexed in memory (out of memory): found through the registry",
			  n->rec.name);
	dc->stats.registrations++;
	dc_send_ctl(dc, n, &ack);
	dc_node_report(dc, n, req->incarnation, req->naddrs, req->addrs, req->nroutes, req->routes);
}

static void on_keepalive(struct dc *dc, struct dc_node *n, const struct ntm_ctl_keepalive *ka)
{
	struct ntm_ctl ack = { .type = NTM_CTL_KEEPALIVE_ACK };

	if (!n->registered_ms) {
		dc->stats.drop_bad_control++;
		return;
	}
	/* Still enrolled: asked of the keys in memory (dc_registry.c keeps
	 * them within one sweep of the database), not of the database, which
	 * at 100,000 nodes (5,000 keepalives/s) cost the DC more CPU than
	 * everything else it does for a keepalive. */
	if (dc_keyset_get(&dc->keys, n->sess.remote_pub) != n->rec.host_index) {
		/* deleted with ntm-dcctl node del: it gets no more answers */
		log_notice("%s is no longer enrolled; forgetting it", n->rec.name);
		dc->stats.drop_unenrolled++;
		dc_node_forget(dc, n);
		return;
	}
	ack.u.ka_ack.seq = ka->seq;
	dc_observed(n, &ack.u.ka_ack.observed);
	dc->stats.keepalives++;
	dc_send_ctl(dc, n, &ack);
	dc_node_report(dc, n, 0, ka->naddrs, ka->addrs, ka->nroutes, ka->routes);
}

/* NETCHECK_PROBE (doc/protocol.md 5.13): tell the node where the probe
 * came from, to where it came from, from the address it reached. The node
 * sends probes from a second socket and to our AltEndpoint, so the probe's
 * source does not move the node's endpoint. Authenticated and fresh (the
 * session's replay window), rate limited per node, and never answered with
 * more bytes than it has. */
static void on_netcheck(struct dc *dc, struct dc_node *n, int fd,
			const struct ntm_ctl_netcheck_probe *p, const struct ntm_udp_meta *m)
{
	struct ntm_ctl c = { .type = NTM_CTL_NETCHECK_ECHO };
	struct ntm_ctl_netcheck_echo *e = &c.u.nc_echo;
	struct sockaddr_storage ss = m->src;
	socklen_t sslen = m->srclen;
	uint8_t pkt[NTM_DATA_HDR_LEN + 128 + NTM_TAG_LEN];
	int len;

	if (!n->registered_ms) {
		dc->stats.drop_bad_control++;
		return;
	}
	if (!ntm_window_allow(&n->netcheck, DC_NETCHECK_MAX, DC_NETCHECK_WINDOW_MS,
			      ntm_loop_now_ms())) {
		dc->stats.drop_netcheck_rate++;
		return;
	}
	e->token = p->token;
	ntm_sockaddr_unmap(&ss, &sslen);
	if (ntm_endpoint_from_sockaddr(&e->observed, (struct sockaddr *)&ss) < 0) {
		dc->stats.drop_malformed++;
		return;
	}
	if (dc->cfg.has_alt &&
	    ntm_endpoint_from_sockaddr(&e->alt, (const struct sockaddr *)&dc->cfg.alt) == 0)
		e->has_alt = true;
	len = ntm_ctl_encode(&c, pkt + NTM_DATA_HDR_LEN, 128);
	if (len < 0)
		return;
	len = ntm_session_seal(&n->sess, pkt, (size_t)len);
	if (len < 0)
		return;
	if (ntm_udp_send(fd, pkt, (size_t)len, (const struct sockaddr *)&m->src, m->srclen, m) >= 0) {
		dc->stats.tx_packets++;
		dc->stats.netcheck_echoes++;
	}
}

/* NETCHECK_RELAYS_REQ (doc/protocol.md 5.16): the relays the node would
 * get, each with a probe token. Rate limited per node (its own window, so
 * that it does not eat the NETCHECK_PROBEs' budget), and the answer is
 * never larger than the (padded) request. */
static void on_netcheck_relays(struct dc *dc, struct dc_node *n,
			       const struct ntm_ctl_netcheck_relays_req *q)
{
	struct ntm_ctl c = { .type = NTM_CTL_NETCHECK_RELAYS };

	if (!n->registered_ms) {
		dc->stats.drop_bad_control++;
		return;
	}
	if (!ntm_window_allow(&n->nc_relays, DC_NC_RELAYS_MAX, DC_NETCHECK_WINDOW_MS,
			      ntm_loop_now_ms())) {
		dc->stats.drop_nc_relays_rate++;
		return;
	}
	c.u.nc_relays.token = q->token;
	c.u.nc_relays.count = (uint8_t)dc_relay_netcheck_list(dc, n, c.u.nc_relays.relay,
							      NTM_NC_RELAYS_MAX);
	dc->stats.netcheck_relays++;
	dc_send_ctl(dc, n, &c);
}

static void on_data(struct dc *dc, int fd, uint8_t *buf, size_t len, const struct ntm_udp_meta *m)
{
	struct ntm_data d;
	struct ntm_ctl c;
	size_t ptlen;
	int ret;

	if (ntm_data_decode(buf, len, &d) < 0) {
		dc->stats.drop_malformed++;
		return;
	}
	struct dc_node *n = ntm_idmap_get(&dc->by_index, d.receiver);
	if (!n && dc_fed_on_data(dc, buf, len, m, d.receiver))
		return;
	if (!n) {
		dc->stats.drop_unknown_index++;
		return;
	}
	ret = ntm_session_open(&n->sess, buf, len, &ptlen);
	if (ret == -EALREADY) {
		dc->stats.drop_data_replay++;
		return;
	}
	if (ret < 0) {
		dc->stats.drop_data_auth++;
		return;
	}
	/* Authenticated and fresh: only now may the endpoint move, unless
	 * this is a NETCHECK_PROBE (it comes from a test socket). */
	int dec = ptlen > 0 ? ntm_ctl_decode(buf + NTM_DATA_HDR_LEN, ptlen, &c) : 0;
	if (ptlen > 0 && dec == 0 && c.type == NTM_CTL_NETCHECK_PROBE) {
		on_netcheck(dc, n, fd, &c.u.nc_probe, m);
		return;
	}
	set_endpoint(n, m, fd);
	n->last_seen_ms = ntm_loop_now_ms();
	if (ptlen == 0)
		return; /* keepalive */
	if (dec < 0) {
		dc->stats.drop_bad_control++;
		return;
	}
	switch (c.type) {
	case NTM_CTL_REGISTER:
		on_register(dc, n, &c.u.reg);
		break;
	case NTM_CTL_KEEPALIVE:
		on_keepalive(dc, n, &c.u.ka);
		break;
	case NTM_CTL_DIRECTION_REQ:
		if (n->registered_ms)
			dc_on_direction_req(dc, n, &c.u.dir_req);
		else
			dc->stats.drop_bad_control++;
		break;
	case NTM_CTL_ROUTE_DIRECTION_ACK:
		break; /* informational: the node has the route */
	case NTM_CTL_NETCHECK_RELAYS_REQ:
		on_netcheck_relays(dc, n, &c.u.nc_relays_req);
		break;
	default:
		dc->stats.drop_bad_control++;
	}
}

static void on_datagram(struct dc *dc, int fd, uint8_t *buf, size_t len, struct ntm_udp_meta *m)
{
	dc->stats.rx_packets++;
	switch (ntm_wire_type(buf, len)) {
	case NTM_MSG_HS_INIT:
		on_hs_init(dc, fd, buf, len, m);
		break;
	case NTM_MSG_DATA:
		on_data(dc, fd, buf, len, m);
		break;
	case NTM_MSG_HS_RESP:
		dc_fed_on_hs_resp(dc, buf, len, m);
		break;
	default:
		dc->stats.drop_malformed++;
	}
}

void dc_on_readable(struct ntm_io *io, uint32_t events, void *arg)
{
	struct dc *dc = arg;
	struct ntm_udp_meta m;
	(void)events;

	for (int i = 0; i < DC_BATCH; i++) {
		ssize_t n = ntm_udp_recv(io->fd, dc->buf, sizeof(dc->buf), &m);
		if (n == -EAGAIN)
			return;
		if (n < 0) {
			if (n == -EMSGSIZE) {
				dc->stats.rx_packets++;
				dc->stats.drop_malformed++;
				continue;
			}
			log_debug_errno((int)-n, "recv");
			return;
		}
		on_datagram(dc, io->fd, dc->buf, (size_t)n, &m);
	}
}

void dc_sweep(struct ntm_timer *t, void *arg)
{
	struct dc *dc = arg;
	uint64_t now = ntm_loop_now_ms(), life = dc->cfg.lifetime_s * 1000;
	size_t pos = 0;
	struct dc_node *n;
	(void)t;

	dc_registry_sync(dc);  /* the backstop for a write without RELOAD */
	dc_mesh_tick(dc, now);
	dc_expire_routes(dc, now);
	size_t gone = relay_expire(&dc->relay, now);
	if (gone)
		log_debug("embedded relay: %zu allocation(s) expired", gone);
	while ((n = ntm_idmap_next(&dc->by_host, &pos, NULL))) {
		if (n->registered_ms && now - n->last_seen_ms > life) {
			log_notice("%s expired: no keepalive for %llu s", n->rec.name,
				   (unsigned long long)dc->cfg.lifetime_s);
			dc->stats.expired++;
			dc_node_forget(dc, n);
		}
	}
}

void dc_log_stats(const struct dc *dc)
{
#define X(name, text) log_notice("%-24s %llu  (%s)", #name, (unsigned long long)dc->stats.name, text);
	DC_STATS(X)
#undef X
	dc_ctl_log_stats(dc);
#define X(name, text) log_notice("relay_%-18s %llu  (%s)", #name, \
				 (unsigned long long)dc->relay.stats.name, text);
	RELAY_STATS(X)
#undef X
}
