/* resolvedlink.c - ntm0's split DNS on systemd-resolved over D-Bus
 * (resolvedlink.h), the way Tailscale does it: ntm-tund itself calls
 * org.freedesktop.resolve1.Manager's SetLinkDNS, SetLinkDomains and
 * SetLinkDefaultRoute at every start, once the TUN exists, so the settings
 * come back after a restart without `ntmctl dns enable`; RevertLink at stop.
 *
 * Privileges: resolved lets root (or whom polkit allows) change a link. The
 * connection is opened and authenticated at start, before ntm-tund drops
 * root, and the bus knows it by the credentials it had then; under the
 * systemd unit (user ntm from the start) the polkit rule that ships with
 * ntm-tund grants the four actions to user ntm.
 *
 * The calls at start (before the loop runs) and at stop wait RL_TIMEOUT_US
 * at most each; the update after a registration is asynchronous, its reply
 * read on the event loop. A failure is one log line with the D-Bus error
 * name, and ntm-tund goes on without. */
#include <errno.h>
#include <inttypes.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <systemd/sd-bus.h>
#include <time.h>

#include "log.h"
#include "nss_ntm.h"
#include "tund.h"

#define RL_TIMEOUT_US 1000000ull
#define RL_DEST       "org.freedesktop.resolve1"
#define RL_PATH       "/org/freedesktop/resolve1"
#define RL_IFACE      "org.freedesktop.resolve1.Manager"

static bool wanted_loudly(const struct tund *t)
{
	return t->cfg.resolved == TUND_RESOLVED_YES;
}

/* One line: an error with Resolved = yes, else information. */
#define rl_log(t, ...) do {                                   \
		if (wanted_loudly(t))                         \
			log_err(__VA_ARGS__);                 \
		else                                          \
			log_info(__VA_ARGS__);                \
	} while (0)

static const char *err_name(const sd_bus_error *e, int r)
{
	if (e && sd_bus_error_is_set(e))
		return e->name;
	return strerror(r < 0 ? -r : r);
}

/* ---- building the calls ---------------------------------------------- */

static int msg_new(struct tund *t, sd_bus_message **m, const char *method)
{
	int r = sd_bus_message_new_method_call(t->rl.bus, m, RL_DEST, RL_PATH, RL_IFACE, method);

	if (r >= 0)
		r = sd_bus_message_append(*m, "i", (int32_t)t->rl.ifindex);
	if (r < 0)
		*m = sd_bus_message_unref(*m);
	return r;
}

static int msg_dns(struct tund *t, const struct rl_plan *p, sd_bus_message **m)
{
	int r = msg_new(t, m, "SetLinkDNS");

	if (r >= 0)
		r = sd_bus_message_open_container(*m, 'a', "(iay)");
	if (r >= 0)
		r = sd_bus_message_open_container(*m, 'r', "iay");
	if (r >= 0)
		r = sd_bus_message_append(*m, "i", (int32_t)p->server_af);
	if (r >= 0)
		r = sd_bus_message_append_array(*m, 'y', p->server, p->server_af == AF_INET ? 4 : 16);
	if (r >= 0)
		r = sd_bus_message_close_container(*m);
	if (r >= 0)
		r = sd_bus_message_close_container(*m);
	if (r < 0)
		*m = sd_bus_message_unref(*m);
	return r;
}

static int msg_domains(struct tund *t, const struct rl_plan *p, sd_bus_message **m)
{
	int r = msg_new(t, m, "SetLinkDomains");

	if (r >= 0)
		r = sd_bus_message_open_container(*m, 'a', "(sb)");
	for (size_t i = 0; r >= 0 && i < p->ndomains; i++)
		r = sd_bus_message_append(*m, "(sb)", p->domains[i].name,
					  (int)p->domains[i].routing_only);
	if (r >= 0)
		r = sd_bus_message_close_container(*m);
	if (r < 0)
		*m = sd_bus_message_unref(*m);
	return r;
}

static int msg_default_route(struct tund *t, const struct rl_plan *p, sd_bus_message **m)
{
	int r = msg_new(t, m, "SetLinkDefaultRoute");

	if (r >= 0)
		r = sd_bus_message_append(*m, "b", (int)p->default_route);
	if (r < 0)
		*m = sd_bus_message_unref(*m);
	return r;
}

/* Sends m and waits RL_TIMEOUT_US at most. 0, or -errno (logged). */
static int call_sync(struct tund *t, sd_bus_message *m, const char *method)
{
	sd_bus_error e = SD_BUS_ERROR_NULL;
	int r = sd_bus_call(t->rl.bus, m, RL_TIMEOUT_US, &e, NULL);

	if (r < 0)
		rl_log(t, "systemd-resolved: %s on %s failed: %s%s%s", method, t->ifname,
		       err_name(&e, r), sd_bus_error_is_set(&e) && e.message ? ": " : "",
		       sd_bus_error_is_set(&e) && e.message ? e.message : "");
	sd_bus_error_free(&e);
	sd_bus_message_unref(m);
	return r < 0 ? r : 0;
}

/* ---- the plan from what ntm-tund knows --------------------------------- */

static int plan_from(struct tund *t, const char *const *zones, size_t nzones,
		     const struct rl_prefix *pfx, size_t npfx, struct rl_plan *p)
{
	int r = resolvedlink_plan(p, t->cfg.dns_family, t->cfg.dns_server, zones, nzones, pfx,
				  npfx);

	if (r < 0)
		log_warn("systemd-resolved: the zones do not fit one SetLinkDomains (%s)",
			 strerror(-r));
	return r;
}

/* What the last run left in the nss file (kept when ntm-tund stops): the
 * zones are routed to the stub from the start, before the DC answers,
 * so an overlay name never goes to ordinary DNS. */
static int plan_from_nssfile(struct tund *t, struct rl_plan *p)
{
	static struct ntm_nss_conf c;
	const char *zones[NTM_NSS_MAX_ZONES];
	struct rl_prefix pfx[RL_MAX_PREFIXES];
	size_t npfx = 0;

	if (ntm_nss_conf_load(t->cfg.nss_file, &c) < 0)
		memset(&c, 0, sizeof(c));
	for (unsigned i = 0; i < c.n_zones; i++)
		zones[i] = c.zones[i];
	for (unsigned i = 0; i < c.n_p4 && npfx < RL_MAX_PREFIXES; i++, npfx++) {
		pfx[npfx] = (struct rl_prefix){ .af = AF_INET, .plen = c.p4[i].plen };
		memcpy(pfx[npfx].addr, c.p4[i].addr, 4);
	}
	for (unsigned i = 0; i < c.n_p6 && npfx < RL_MAX_PREFIXES; i++, npfx++) {
		pfx[npfx] = (struct rl_prefix){ .af = AF_INET6, .plen = c.p6[i].plen };
		memcpy(pfx[npfx].addr, c.p6[i].addr, 16);
	}
	return plan_from(t, zones, c.n_zones, pfx, npfx, p);
}

static int plan_from_registration(struct tund *t, struct rl_plan *p)
{
	const char *zones[NTM_MAX_ZONES];
	struct rl_prefix pfx[2];
	size_t npfx = 0;

	for (uint8_t i = 0; i < t->nzones; i++)
		zones[i] = t->zones[i];
	if (t->plen4) {
		pfx[npfx] = (struct rl_prefix){ .af = AF_INET, .plen = t->plen4 };
		memcpy(pfx[npfx++].addr, t->vip4, 4);
	}
	if (t->plen6) {
		pfx[npfx] = (struct rl_prefix){ .af = AF_INET6, .plen = t->plen6 };
		memcpy(pfx[npfx++].addr, t->vip6, 16);
	}
	return plan_from(t, zones, t->nzones, pfx, npfx, p);
}

/* ---- the connection on the event loop ---------------------------------- */

static void rl_close(struct tund *t)
{
	struct tund_rlink *rl = &t->rl;

	if (rl->io.added)
		ntm_io_remove(&rl->io);
	if (rl->timer.loop)
		ntm_timer_cancel(&rl->timer);
	if (rl->bus)
		sd_bus_flush_close_unref(rl->bus);
	rl->bus = NULL;
	rl->set = false;
}

static void rl_process(struct tund *t);

static void on_bus_io(struct ntm_io *io, uint32_t events, void *arg)
{
	(void)io;
	(void)events;
	rl_process(arg);
}

static void on_bus_timer(struct ntm_timer *tm, void *arg)
{
	(void)tm;
	rl_process(arg);
}

/* Runs what sd-bus has to do, then waits for what it asks next: the
 * descriptor's events and its next deadline. */
static void rl_process(struct tund *t)
{
	struct tund_rlink *rl = &t->rl;
	uint64_t until;
	int r;

	while ((r = sd_bus_process(rl->bus, NULL)) > 0)
		;
	if (r == 0)
		r = sd_bus_get_events(rl->bus);
	if (r < 0) {
		log_warn("systemd-resolved: the D-Bus connection failed (%s); %s keeps its "
			 "settings until it goes away", strerror(-r), t->ifname);
		rl_close(t);
		return;
	}
	ntm_io_modify(&rl->io, (uint32_t)r);
	if (sd_bus_get_timeout(rl->bus, &until) >= 0 && until != UINT64_MAX) {
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		uint64_t now = (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
		ntm_timer_arm(&rl->timer, until > now ? (until - now) / 1000u + 1 : 0, 0);
	} else {
		ntm_timer_cancel(&rl->timer);
	}
}

static int on_domains_reply(sd_bus_message *m, void *arg, sd_bus_error *ret_error)
{
	struct tund *t = arg;
	const sd_bus_error *e = sd_bus_message_get_error(m);
	(void)ret_error;

	if (e)
		rl_log(t, "systemd-resolved: SetLinkDomains on %s failed: %s%s%s", t->ifname,
		       e->name, e->message ? ": " : "", e->message ? e->message : "");
	else
		log_info("systemd-resolved: %s routes %zu zones to %s", t->ifname,
			 t->rl.last.ndomains, t->cfg.dns_server_text);
	return 0;
}

/* ---- start, update, stop ---------------------------------------------- */

/* Whether resolved is on the bus, and in our network namespace: a bus
 * shared with another namespace (a container, a test) must not get our
 * interface index, which names another link there. 1 yes, 0 no (logged). */
static int resolved_here(struct tund *t)
{
	sd_bus_error e = SD_BUS_ERROR_NULL;
	sd_bus_message *reply = NULL;
	int has = 0, r;
	uint32_t pid = 0;

	r = sd_bus_call_method(t->rl.bus, "org.freedesktop.DBus", "/org/freedesktop/DBus",
			       "org.freedesktop.DBus", "NameHasOwner", &e, &reply, "s", RL_DEST);
	if (r >= 0)
		r = sd_bus_message_read(reply, "b", &has);
	reply = sd_bus_message_unref(reply);
	if (r >= 0 && has)
		r = sd_bus_call_method(t->rl.bus, "org.freedesktop.DBus", "/org/freedesktop/DBus",
				       "org.freedesktop.DBus", "GetConnectionUnixProcessID", &e,
				       &reply, "s", RL_DEST);
	if (r >= 0 && has)
		r = sd_bus_message_read(reply, "u", &pid);
	sd_bus_message_unref(reply);
	if (r < 0) {
		rl_log(t, "systemd-resolved: asking the system bus failed: %s", err_name(&e, r));
		sd_bus_error_free(&e);
		return 0;
	}
	sd_bus_error_free(&e);
	if (!has) {
		rl_log(t, "systemd-resolved: not on the system bus; split DNS for %s only through "
		       "resolv.conf (ntmctl dns enable)", t->ifname);
		return 0;
	}
	char path[64];
	struct stat ours, theirs;
	snprintf(path, sizeof(path), "/proc/%" PRIu32 "/ns/net", pid);
	/* unreadable (another user, no /proc): the usual case of one
	 * namespace; readable and different: another namespace's resolved */
	if (stat("/proc/self/ns/net", &ours) == 0 && stat(path, &theirs) == 0 &&
	    (ours.st_ino != theirs.st_ino || ours.st_dev != theirs.st_dev)) {
		rl_log(t, "systemd-resolved (pid %" PRIu32 ") runs in another network namespace; "
		       "%s left alone", pid, t->ifname);
		return 0;
	}
	return 1;
}

void resolvedlink_start(struct tund *t)
{
	struct tund_rlink *rl = &t->rl;
	struct rl_plan p;
	sd_bus_message *m = NULL;
	int r;

	if (t->cfg.resolved == TUND_RESOLVED_NO)
		return;
	rl->ifindex = (int)if_nametoindex(t->ifname);
	if (rl->ifindex <= 0)
		return;
	r = sd_bus_open_system(&rl->bus);
	if (r < 0) {
		rl->bus = NULL;
		rl_log(t, "systemd-resolved: no system bus (%s); split DNS for %s only through "
		       "resolv.conf (ntmctl dns enable)", strerror(-r), t->ifname);
		return;
	}
	sd_bus_set_method_call_timeout(rl->bus, RL_TIMEOUT_US);
	if (resolved_here(t) <= 0 || plan_from_nssfile(t, &p) < 0)
		goto fail;
	/* the server last: a link with a server but neither routing domains
	 * nor DefaultRoute=false would take every name for a moment */
	if (msg_default_route(t, &p, &m) < 0 || call_sync(t, m, "SetLinkDefaultRoute") < 0)
		goto fail;
	rl->set = true;
	if (msg_domains(t, &p, &m) < 0 || call_sync(t, m, "SetLinkDomains") < 0 ||
	    msg_dns(t, &p, &m) < 0 || call_sync(t, m, "SetLinkDNS") < 0)
		goto fail;
	rl->last = p;
	ntm_io_init(&rl->io, t->loop, sd_bus_get_fd(rl->bus), on_bus_io, t);
	ntm_timer_init(&rl->timer, t->loop, on_bus_timer, t);
	if (ntm_io_add(&rl->io, EPOLLIN) < 0)
		goto fail;
	log_info("systemd-resolved: %s has DNS server %s for %zu routing-only zones, not the "
		 "default route", t->ifname, t->cfg.dns_server_text, p.ndomains);
	rl_process(t);
	return;
fail:
	resolvedlink_stop(t); /* RevertLink if something was set */
}

void resolvedlink_update(struct tund *t)
{
	struct tund_rlink *rl = &t->rl;
	struct rl_plan p;
	sd_bus_message *m = NULL;
	int r;

	if (!rl->bus || !rl->set || plan_from_registration(t, &p) < 0)
		return;
	if (p.ndomains == rl->last.ndomains &&
	    memcmp(p.domains, rl->last.domains, sizeof(p.domains[0]) * p.ndomains) == 0)
		return;
	rl->last = p;
	r = msg_domains(t, &p, &m);
	if (r >= 0)
		r = sd_bus_call_async(rl->bus, NULL, m, on_domains_reply, t, RL_TIMEOUT_US);
	sd_bus_message_unref(m);
	if (r < 0) {
		rl_log(t, "systemd-resolved: SetLinkDomains on %s: %s", t->ifname, strerror(-r));
		return;
	}
	rl_process(t);
}

void resolvedlink_stop(struct tund *t)
{
	struct tund_rlink *rl = &t->rl;
	sd_bus_message *m = NULL;

	if (!rl->bus)
		return;
	if (rl->set && msg_new(t, &m, "RevertLink") >= 0 && call_sync(t, m, "RevertLink") == 0)
		log_info("systemd-resolved: %s reverted", t->ifname);
	rl_close(t);
}
