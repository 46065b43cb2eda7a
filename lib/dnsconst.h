/* dnsconst.h - the DNS numbers ntm-resolverd's own code reads and writes
 * (RFC 1035 3.2.2-3.2.4 and 4.1.1, RFC 6891 for OPT and BADVERS, RFC 8945 for
 * TSIG), named once for every resolver file that works on raw bytes instead
 * of through ldns (where ldns is used, its LDNS_RR_TYPE_* and LDNS_RCODE_*
 * names are). Values are the wire values. */
#ifndef NTM_RESOLVER_DNSCONST_H
#define NTM_RESOLVER_DNSCONST_H

/* RR types (and the query-only types IXFR, AXFR, ANY). */
enum dns_type {
	DNS_T_A = 1,
	DNS_T_NS = 2,
	DNS_T_CNAME = 5,
	DNS_T_SOA = 6,
	DNS_T_PTR = 12,
	DNS_T_MX = 15,
	DNS_T_AAAA = 28,
	DNS_T_DNAME = 39,
	DNS_T_OPT = 41,
	DNS_T_DS = 43,
	DNS_T_DNSKEY = 48,
	DNS_T_TSIG = 250,
	DNS_T_IXFR = 251,
	DNS_T_AXFR = 252,
	DNS_T_ANY = 255,
};

/* Classes. */
enum dns_class {
	DNS_C_IN = 1,
};

/* Response codes: 0-15 in the header, 16 and up extended through OPT. */
enum dns_rcode {
	DNS_RC_NOERROR = 0,
	DNS_RC_FORMERR = 1,
	DNS_RC_SERVFAIL = 2,
	DNS_RC_NXDOMAIN = 3,
	DNS_RC_NOTIMP = 4,
	DNS_RC_REFUSED = 5,
	DNS_RC_BADVERS = 16,
};

#endif
