/* fake_dns.c - a misbehaving upstream DNS server for the resolver tests.
 *
 *   fake_dns -a ADDR:PORT -m MODE [-l LOGFILE] [-t SECONDS]
 *
 * Listens on UDP and TCP (2-byte framing) at ADDR:PORT (IPv4, or [IPv6]
 * in brackets; port 0 picks a free port for both) and answers every query
 * according to MODE:
 *   ok              A 192.0.2.1 TTL 300 for any name, question echoed
 *   truncate        TC=1 with no answer over UDP, the full answer over TCP
 *   servfail        SERVFAIL
 *   refused         REFUSED
 *   formerr-edns    FORMERR when the query has OPT, ok otherwise
 *   stall           never answers
 *   wrong-id        ok, with the ID plus one
 *   wrong-question  ok, for "wrong.invalid." instead of the name asked
 *   garbage         the query's ID and QR=1, then bytes that are no DNS
 *   from-other-port ok, sent from another UDP socket (another port)
 *   zone            the records of ZONEFILE (-z, master file format, owner
 *                   names absolute) whose owner and type are the
 *                   question's, with AA=1; NXDOMAIN when the name owns
 *                   none, an empty answer when it owns others
 * Replies carry OPT (1232) when the query did. Once bound it prints
 * "ready PORT" on stdout. Each query's name (presentation form, as
 * received, lower case not forced) is appended as one line to LOGFILE, so
 * a test can prove a name was or was not forwarded. It exits after SECONDS
 * (default 60, 1 to 3600) or on SIGTERM. One process, poll(2), TCP
 * connections served one message at a time with a 2 s read timeout. */
#include <arpa/inet.h>
#include <errno.h>
#include <ldns/ldns.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

enum mode { M_OK, M_TRUNCATE, M_SERVFAIL, M_REFUSED, M_FORMERR_EDNS, M_STALL, M_WRONG_ID,
	    M_WRONG_QUESTION, M_GARBAGE, M_OTHER_PORT, M_ZONE };

static const char *const mode_names[] = {
	"ok", "truncate", "servfail", "refused", "formerr-edns", "stall", "wrong-id",
	"wrong-question", "garbage", "from-other-port", "zone",
};

static enum mode mode;
static FILE *qlog;
static ldns_zone *zone;    /* M_ZONE */

static int parse_mode(const char *s)
{
	for (size_t i = 0; i < sizeof(mode_names) / sizeof(mode_names[0]); i++)
		if (strcmp(s, mode_names[i]) == 0)
			return (int)i;
	return -1;
}

static int parse_addr(const char *s, struct sockaddr_storage *ss, socklen_t *len)
{
	char host[64];
	const char *colon = strrchr(s, ':');
	size_t hl;
	char *end;
	long port;

	if (!colon)
		return -1;
	hl = (size_t)(colon - s);
	if (s[0] == '[' && hl >= 2 && s[hl - 1] == ']') {
		s++;
		hl -= 2;
	}
	if (hl >= sizeof(host))
		return -1;
	memcpy(host, s, hl);
	host[hl] = 0;
	port = strtol(colon + 1, &end, 10);
	if (*end || port < 0 || port > 65535)
		return -1;
	memset(ss, 0, sizeof(*ss));
	struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
	if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons((uint16_t)port);
		*len = sizeof(*a4);
	} else if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((uint16_t)port);
		*len = sizeof(*a6);
	} else {
		return -1;
	}
	return 0;
}

static void set_port(struct sockaddr_storage *ss, uint16_t port)
{
	if (ss->ss_family == AF_INET)
		((struct sockaddr_in *)ss)->sin_port = htons(port);
	else
		((struct sockaddr_in6 *)ss)->sin6_port = htons(port);
}

static uint16_t get_port(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)ss)->sin_port);
	return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
}

static int open_bound(int type, const struct sockaddr_storage *ss, socklen_t len)
{
	int one = 1;
	int fd = socket(ss->ss_family, type | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)ss, len) < 0 ||
	    (type == SOCK_STREAM && listen(fd, 16) < 0)) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Binds UDP and TCP on the same port; with port 0 the kernel's pick for
 * UDP is tried on TCP too, a few times. */
static int bind_both(struct sockaddr_storage *ss, socklen_t len, int *udp, int *tcp)
{
	bool any = get_port(ss) == 0;

	for (int i = 0; i < 50; i++) {
		struct sockaddr_storage a = *ss;
		socklen_t al = len;

		*udp = open_bound(SOCK_DGRAM, &a, al);
		if (*udp < 0)
			return -1;
		if (getsockname(*udp, (struct sockaddr *)&a, &al) < 0)
			return -1;
		*tcp = open_bound(SOCK_STREAM, &a, al);
		if (*tcp >= 0) {
			*ss = a;
			return 0;
		}
		close(*udp);
		if (!any)
			return -1;
	}
	return -1;
}

static void log_query(const ldns_pkt *q)
{
	ldns_rr_list *qs = ldns_pkt_question(q);
	char *name;

	if (!qlog || !qs || ldns_rr_list_rr_count(qs) < 1)
		return;
	name = ldns_rdf2str(ldns_rr_owner(ldns_rr_list_rr(qs, 0)));
	if (name) {
		fprintf(qlog, "%s\n", name);
		fflush(qlog);
	}
	free(name);
}

static void add_answer(ldns_pkt *r, const ldns_rr *question)
{
	ldns_rr *a = ldns_rr_new_frm_type(LDNS_RR_TYPE_A);
	ldns_rdf *ip = ldns_rdf_new_frm_str(LDNS_RDF_TYPE_A, "192.0.2.1");

	ldns_rr_set_owner(a, ldns_rdf_clone(ldns_rr_owner(question)));
	ldns_rr_set_ttl(a, 300);
	ldns_rr_set_class(a, LDNS_RR_CLASS_IN);
	ldns_rr_set_rdf(a, ip, 0);
	ldns_pkt_push_rr(r, LDNS_SECTION_ANSWER, a);
}

/* M_ZONE: the zone's records for the question. */
static void add_zone_answer(ldns_pkt *r, const ldns_rr *question)
{
	ldns_rr_list *rrs = ldns_zone_rrs(zone);
	bool owned = false;

	ldns_pkt_set_aa(r, true);
	for (size_t i = 0; i < ldns_rr_list_rr_count(rrs); i++) {
		ldns_rr *rr = ldns_rr_list_rr(rrs, i);
		if (ldns_dname_compare(ldns_rr_owner(rr), ldns_rr_owner(question)) != 0)
			continue;
		owned = true;
		if (ldns_rr_get_type(rr) == ldns_rr_get_type(question))
			ldns_pkt_push_rr(r, LDNS_SECTION_ANSWER, ldns_rr_clone(rr));
	}
	if (!owned)
		ldns_pkt_set_rcode(r, LDNS_RCODE_NXDOMAIN);
}

/* The reply to q for this mode and transport, or NULL for none. */
static ldns_pkt *make_reply(const ldns_pkt *q, bool tcp)
{
	ldns_rr_list *qs = ldns_pkt_question(q);
	const ldns_rr *question;
	ldns_pkt *r;
	ldns_rr *qc;

	if (mode == M_STALL || !qs || ldns_rr_list_rr_count(qs) != 1)
		return NULL;
	question = ldns_rr_list_rr(qs, 0);
	r = ldns_pkt_new();
	ldns_pkt_set_id(r, ldns_pkt_id(q) + (mode == M_WRONG_ID));
	ldns_pkt_set_qr(r, true);
	ldns_pkt_set_rd(r, ldns_pkt_rd(q));
	ldns_pkt_set_cd(r, ldns_pkt_cd(q));
	ldns_pkt_set_ra(r, true);
	qc = ldns_rr_clone(question);
	if (mode == M_WRONG_QUESTION) {
		ldns_rdf *wrong = NULL;
		ldns_str2rdf_dname(&wrong, "wrong.invalid.");
		ldns_rdf_deep_free(ldns_rr_owner(qc));
		ldns_rr_set_owner(qc, wrong);
	}
	ldns_pkt_push_rr(r, LDNS_SECTION_QUESTION, qc);
	if (ldns_pkt_edns(q) && !(mode == M_FORMERR_EDNS))
		ldns_pkt_set_edns_udp_size(r, 1232);
	if (mode == M_SERVFAIL)
		ldns_pkt_set_rcode(r, LDNS_RCODE_SERVFAIL);
	else if (mode == M_REFUSED)
		ldns_pkt_set_rcode(r, LDNS_RCODE_REFUSED);
	else if (mode == M_FORMERR_EDNS && ldns_pkt_edns(q))
		ldns_pkt_set_rcode(r, LDNS_RCODE_FORMERR);
	else if (mode == M_TRUNCATE && !tcp)
		ldns_pkt_set_tc(r, true);
	else if (mode == M_ZONE)
		add_zone_answer(r, qc);
	else
		add_answer(r, qc);
	return r;
}

/* Wire reply for the query in buf, or 0 for none; *out is malloc'ed. */
static size_t answer(const uint8_t *buf, size_t len, bool tcp, uint8_t **out)
{
	ldns_pkt *q = NULL, *r;
	size_t olen = 0;

	*out = NULL;
	if (ldns_wire2pkt(&q, buf, len) != LDNS_STATUS_OK)
		return 0;
	log_query(q);
	if (mode == M_GARBAGE) {
		static const uint8_t junk[] = { 0x81, 0x80, 0xff, 0xff, 0xde, 0xad, 0xbe, 0xef,
						0x00, 0x07, 0xc0, 0x0c, 0xc0, 0x0c, 0x13, 0x37 };
		*out = malloc(2 + sizeof(junk));
		if (*out) {
			memcpy(*out, buf, 2);
			memcpy(*out + 2, junk, sizeof(junk));
			olen = 2 + sizeof(junk);
		}
		ldns_pkt_free(q);
		return olen;
	}
	r = make_reply(q, tcp);
	if (r && ldns_pkt2wire(out, r, &olen) != LDNS_STATUS_OK)
		olen = 0;
	ldns_pkt_free(r);
	ldns_pkt_free(q);
	return olen;
}

static void serve_udp(int fd, int other)
{
	uint8_t buf[65535], *out;
	struct sockaddr_storage from;
	socklen_t fl = sizeof(from);
	ssize_t n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);
	size_t olen;

	if (n <= 0)
		return;
	olen = answer(buf, (size_t)n, false, &out);
	if (olen)
		sendto(mode == M_OTHER_PORT ? other : fd, out, olen, 0, (struct sockaddr *)&from,
		       fl);
	free(out);
}

static bool read_full(int fd, uint8_t *buf, size_t len)
{
	size_t off = 0;

	while (off < len) {
		ssize_t n = read(fd, buf + off, len - off);
		if (n <= 0)
			return false;
		off += (size_t)n;
	}
	return true;
}

static void serve_tcp(int lfd)
{
	struct timeval tv = { .tv_sec = 2 };
	uint8_t hdr[2], buf[65535], *out;
	int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

	if (fd < 0)
		return;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	while (read_full(fd, hdr, 2)) {
		size_t len = (size_t)hdr[0] << 8 | hdr[1], olen;

		if (!read_full(fd, buf, len))
			break;
		olen = answer(buf, len, true, &out);
		if (olen) {
			uint8_t pre[2] = { (uint8_t)(olen >> 8), (uint8_t)olen };
			if (write(fd, pre, 2) != 2 || write(fd, out, olen) != (ssize_t)olen) {
				free(out);
				break;
			}
		}
		free(out);
	}
	close(fd);
}

static void usage(void)
{
	fprintf(stderr, "usage: fake_dns -a ADDR:PORT -m MODE [-z ZONEFILE] [-l LOGFILE] [-t SECONDS]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	struct sockaddr_storage ss, other_ss;
	socklen_t len = 0;
	const char *addr = NULL, *logpath = NULL, *zonepath = NULL;
	long secs = 60;
	int c, m = -1, udp, tcp, other;

	while ((c = getopt(argc, argv, "a:m:l:t:z:")) != -1) {
		switch (c) {
		case 'a': addr = optarg; break;
		case 'm': m = parse_mode(optarg); break;
		case 'l': logpath = optarg; break;
		case 't': secs = strtol(optarg, NULL, 10); break;
		case 'z': zonepath = optarg; break;
		default: usage();
		}
	}
	if (!addr || m < 0 || secs < 1 || secs > 3600 || parse_addr(addr, &ss, &len) < 0)
		usage();
	mode = (enum mode)m;
	if ((mode == M_ZONE) != (zonepath != NULL))
		usage();
	if (zonepath) {
		FILE *zf = fopen(zonepath, "re");
		int line = 0;
		if (!zf || ldns_zone_new_frm_fp_l(&zone, zf, NULL, 300, LDNS_RR_CLASS_IN, &line) !=
				   LDNS_STATUS_OK) {
			fprintf(stderr, "fake_dns: %s:%d: cannot read the zone\n", zonepath, line);
			return 1;
		}
		fclose(zf);
	}
	if (logpath && !(qlog = fopen(logpath, "ae"))) {
		perror(logpath);
		return 1;
	}
	if (bind_both(&ss, len, &udp, &tcp) < 0) {
		perror("bind");
		return 1;
	}
	other_ss = ss;
	set_port(&other_ss, 0);
	other = open_bound(SOCK_DGRAM, &other_ss, len);
	if (other < 0) {
		perror("bind other");
		return 1;
	}
	alarm((unsigned)secs);
	printf("ready %u\n", get_port(&ss));
	fflush(stdout);
	for (;;) {
		struct pollfd p[2] = { { .fd = udp, .events = POLLIN }, { .fd = tcp, .events = POLLIN } };

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return 1;
		}
		if (p[0].revents & POLLIN)
			serve_udp(udp, other);
		if (p[1].revents & POLLIN)
			serve_tcp(tcp);
	}
}
