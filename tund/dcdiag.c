/* dcdiag.c - the words for a DC link that does not work (dcdiag.h). */
#include <stdio.h>

#include "dcdiag.h"
#include "session.h"

static enum dcdiag_kind refused(const struct dcdiag_in *in, char *info, size_t ic, char *hint,
				size_t hc)
{
	const struct ntm_refuse *w = &in->why;
	int64_t dc_skew = ntm_tai64n_diff_s(in->ours, w->dc_time);   /* > 0: ours ahead */
	int64_t behind = ntm_tai64n_diff_s(w->last_ts, in->ours);

	if (w->reason == NTM_REFUSE_NOT_ENROLLED) {
		snprintf(info, ic, "the DC refused us: this node's key is not enrolled");
		snprintf(hint, hc, "run on the DC: ntm-dcctl node add %s %s", in->name, in->key);
		return DCDIAG_NOT_ENROLLED;
	}
	if (w->reason == NTM_REFUSE_TS_AHEAD) {
		snprintf(info, ic, "the DC refused us: clock skew: our clock is ahead of the DC's "
			 "by %lld s", (long long)dc_skew);
		snprintf(hint, hc, "fix the clock (timedatectl), here or on the DC");
	} else if (dc_skew >= -60 && dc_skew <= 60) {
		/* our clock agrees with the DC's now: it was ahead when the DC
		 * last accepted us, and that stamp has to pass first */
		snprintf(info, ic, "the DC refused us: clock skew: it accepted a stamp of ours "
			 "ahead of now by %lld s", (long long)(behind > 0 ? behind : 0));
		snprintf(hint, hc, "wait that long, or restart ntm-dcd");
	} else {
		snprintf(info, ic, "the DC refused us: clock skew: our clock is behind the last "
			 "handshake it accepted from us by %lld s",
			 (long long)(behind > 0 ? behind : 0));
		snprintf(hint, hc, "fix the clock (timedatectl)");
	}
	return DCDIAG_CLOCK;
}

enum dcdiag_icmp dcdiag_icmp_kind(uint8_t origin, uint8_t type, uint8_t code)
{
	if (origin == 2 && type == 3) {          /* ICMP destination unreachable */
		switch (code) {
		case 3: return DCDIAG_ICMP_PORT;
		case 0: case 1: case 6: case 7: return DCDIAG_ICMP_HOST;
		case 9: case 10: case 13: return DCDIAG_ICMP_PROHIBITED;
		}
		return DCDIAG_ICMP_NONE;
	}
	if (origin == 3 && type == 1) {          /* ICMPv6 destination unreachable */
		switch (code) {
		case 4: return DCDIAG_ICMP_PORT;
		case 0: case 3: return DCDIAG_ICMP_HOST;
		case 1: case 5: case 6: return DCDIAG_ICMP_PROHIBITED;
		}
	}
	return DCDIAG_ICMP_NONE;
}

/* An ICMP error about our last attempts, newer than the DC's last answer. */
static enum dcdiag_kind icmp(const struct dcdiag_in *in, const char *ep, char *info, size_t ic,
			     char *hint, size_t hc)
{
	const char *from = in->icmp_from ? in->icmp_from : "a router";

	if (in->icmp == DCDIAG_ICMP_NONE || !in->icmp_ms || in->now_ms < in->icmp_ms ||
	    in->now_ms - in->icmp_ms >= DCDIAG_ICMP_FRESH_MS || in->icmp_ms < in->last_heard_ms)
		return DCDIAG_NONE;
	switch (in->icmp) {
	case DCDIAG_ICMP_PORT:
		snprintf(info, ic, "the DC's host answers that nothing listens on UDP port %u (%s)",
			 in->port, ep);
		snprintf(hint, hc, "is ntm-dcd running there?");
		return DCDIAG_NO_LISTENER;
	case DCDIAG_ICMP_HOST:
		snprintf(info, ic, "the DC's host %s is unreachable (ICMP from %s)", ep, from);
		snprintf(hint, hc, "is the DC's host up? is there a route to it?");
		return DCDIAG_UNREACHABLE;
	default:
		snprintf(info, ic, "UDP to the DC %s is rejected (ICMP administratively prohibited "
			 "from %s)", ep, from);
		snprintf(hint, hc, "a firewall rejects UDP %u: open it to the DC", in->port);
		return DCDIAG_PROHIBITED;
	}
}

enum dcdiag_kind dcdiag_describe(const struct dcdiag_in *in, char *info, size_t ic, char *hint,
				 size_t hc)
{
	char ep[160];

	info[0] = hint[0] = '\0';
	if (in->registered)
		return DCDIAG_NONE;
	if (in->refused)
		return refused(in, info, ic, hint, hc);
	if (in->failures < 2)
		return DCDIAG_NONE;
	if (in->host)
		snprintf(ep, sizeof(ep), "%s (%s)", in->host, in->endpoint);
	else
		snprintf(ep, sizeof(ep), "%s", in->endpoint);
	enum dcdiag_kind k = icmp(in, ep, info, ic, hint, hc);
	if (k != DCDIAG_NONE)
		return k;
	if (in->last_heard_ms && in->now_ms >= in->last_heard_ms) {
		uint64_t age = (in->now_ms - in->last_heard_ms) / 1000;
		time_t since = in->now_wall - (time_t)age;
		struct tm tm;
		char when[32] = "?";
		if (gmtime_r(&since, &tm))
			strftime(when, sizeof(when), "%H:%M:%S UTC", &tm);
		snprintf(info, ic, "no answer from %s since %s (%llu s ago) after earlier answers",
			 ep, when, (unsigned long long)age);
		snprintf(hint, hc, "the DC went down or the path to it broke: is the DC running? "
			 "is UDP %u reachable?", in->port);
		return DCDIAG_WENT_DOWN;
	}
	snprintf(info, ic, "no answer at all from %s", ep);
	snprintf(hint, hc, "is the DC running? is UDP %u reachable? is [DC] PublicKey right? a "
		 "wrong key gets no answer either", in->port);
	return DCDIAG_SILENT;
}
