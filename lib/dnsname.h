/* dnsname.h - a dotted DNS name in wire form (length-prefixed labels, then
 * the root's zero), for code that writes DNS messages byte by byte: the
 * stub's answers from the names map (resolver/mapq.c), the test and bench
 * clients. Pure, libc only. */
#ifndef NTM_DNSNAME_H
#define NTM_DNSNAME_H

#include <stddef.h>
#include <stdint.h>

#define NTM_DNSNAME_WIRE_MAX 255        /* a name in wire form, bytes */

/* name (len bytes, dotted, no trailing dot) in wire form into out (cap
 * bytes); its length, or 0 when it is no name (an empty label, a label
 * over 63 bytes, over NTM_DNSNAME_WIRE_MAX in all) or does not fit. */
size_t ntm_dnsname_to_wire(const char *name, size_t len, uint8_t *out, size_t cap);

#endif
