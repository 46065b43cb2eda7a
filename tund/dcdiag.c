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
