/* natclass.c - the netcheck verdict from the DC's echoes (natclass.h). */
#include <string.h>

#include "natclass.h"

static size_t alen(uint8_t family)
{
	return family == 4 ? 4 : 16;
}

static bool is_local(const struct nc_obs *o, const struct ntm_endpoint *ep)
{
	for (unsigned i = 0; i < o->nlocal; i++)
		if (memcmp(o->local[i], ep->addr, alen(o->family)) == 0)
			return true;
	return false;
}

static bool same_ep(const struct ntm_endpoint *a, const struct ntm_endpoint *b)
{
	return a->family == b->family && a->port == b->port &&
	       memcmp(a->addr, b->addr, alen(a->family)) == 0;
}

static uint8_t mapping(const struct nc_obs *o)
{
	bool pair = false;

	for (int s = 0; s < NC_NSOCK; s++) {
		if (!o->answered[s][NC_PRIMARY] || !o->answered[s][NC_ALT])
			continue;
		pair = true;
		if (!same_ep(&o->observed[s][NC_PRIMARY], &o->observed[s][NC_ALT]))
			return NTM_LCTL_MAP_EDM;
	}
	if (pair)
		return NTM_LCTL_MAP_EIM;
	return o->has_alt ? NTM_LCTL_MAP_ALT_SILENT : NTM_LCTL_MAP_ONE_ADDR;
}

void nc_classify(const struct nc_obs *o, struct ntm_lctl_nc_family *out)
{
	const struct ntm_endpoint *first = NULL;
	bool nat = false, moved_port = false;

	memset(out, 0, sizeof(*out));
	out->family = o->family;
	for (int s = 0; s < NC_NSOCK; s++)
		for (int d = 0; d < NC_NDEST; d++) {
			const struct ntm_endpoint *ep = &o->observed[s][d];
			if (!o->answered[s][d])
				continue;
			if (!first)
				first = ep;
			if (ep->port != o->local_port[s])
				moved_port = true;
			if (ep->port != o->local_port[s] || !is_local(o, ep))
				nat = true;
		}
	if (!first) {
		out->mapping = NTM_LCTL_MAP_NO_ANSWER;
		return;
	}
	out->answered = true;
	/* the main socket's mapping towards the DC's address in use, if seen */
	if (o->answered[NC_MAIN][NC_PRIMARY])
		first = &o->observed[NC_MAIN][NC_PRIMARY];
	out->observed.family = o->family;
	out->observed.port = first->port;
	memcpy(out->observed.addr, first->addr, alen(o->family));
	out->rtt_us = o->rtt_us;
	out->nat = nat ? NTM_LCTL_NC_YES : NTM_LCTL_NC_NO;
	out->port_preserved = moved_port ? NTM_LCTL_NC_NO : NTM_LCTL_NC_YES;
	out->mapping = nat ? mapping(o) : NTM_LCTL_MAP_NO_NAT;
}

uint32_t nc_median_us(uint32_t *v, unsigned n)
{
	if (n == 0)
		return 0;
	for (unsigned i = 1; i < n; i++)  /* a few values: insertion sort */
		for (unsigned j = i; j > 0 && v[j - 1] > v[j]; j--) {
			uint32_t x = v[j];
			v[j] = v[j - 1];
			v[j - 1] = x;
		}
	if (n % 2)
		return v[n / 2];
	return (uint32_t)(((uint64_t)v[n / 2 - 1] + v[n / 2]) / 2);
}
