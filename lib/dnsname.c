/* dnsname.c - see dnsname.h. */
#include "dnsname.h"

#include <string.h>

size_t ntm_dnsname_to_wire(const char *name, size_t len, uint8_t *out, size_t cap)
{
	size_t o = 0, start = 0;

	if (len + 2 > NTM_DNSNAME_WIRE_MAX || len + 2 > cap)
		return 0;
	for (size_t i = 0; i <= len; i++) {
		if (i < len && name[i] != '.')
			continue;
		size_t l = i - start;
		if (l == 0 || l > 63)
			return 0;
		out[o++] = (uint8_t)l;
		memcpy(out + o, name + start, l);
		o += l;
		start = i + 1;
	}
	out[o++] = 0;
	return o;
}
