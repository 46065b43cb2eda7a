/* dns_burst.c - many questions in flight on one UDP socket, every reply
 * checked byte by byte: the stub's replies that leave as UDP_SEGMENT
 * trains (resolver/udptrain.c) must arrive as the same whole datagrams
 * sent apart would have been.
 *
 *   dns_burst ADDR PORT ROUNDS NAME...
 *
 * Each round sends an A query for every NAME (at most 64, IDs unique in
 * the round) with one sendmmsg, then reads until every query has its
 * reply or 2 s pass. A reply counts only when it is a whole DNS message
 * (lib/dnswalk.c: nothing missing, nothing after the last record), has QR
 * and RCODE NOERROR, the ID of a query of this round not answered yet, the
 * question of that query byte for byte, and at least one answer record.
 * Prints "sent N good G bad B" and exits 0 when G = N and B = 0.
 * Loopback or the test's own namespaces only. */
#define _GNU_SOURCE 1 /* sendmmsg */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "dnsname.h"
#include "dnswalk.h"

#define PROG "dns_burst"
#define NAMES_MAX 64
#define WAIT_MS 2000

struct q {
	uint8_t w[300];
	size_t len;
	bool answered;
};

/* An A query for name with id into q; 0, or -1 for a name that is no name. */
static int build(struct q *q, uint16_t id, const char *name)
{
	size_t o = 12, n;

	memset(q, 0, sizeof(*q));
	q->w[0] = (uint8_t)(id >> 8);
	q->w[1] = (uint8_t)id;
	q->w[2] = 0x01;         /* RD */
	q->w[5] = 1;            /* QDCOUNT */
	n = ntm_dnsname_to_wire(name, strlen(name), q->w + o, sizeof(q->w) - o - 4);
	if (n == 0)
		return -1;
	o += n;
	q->w[o++] = 0;
	q->w[o++] = 1;          /* A */
	q->w[o++] = 0;
	q->w[o++] = 1;          /* IN */
	q->len = o;
	return 0;
}

static long ms_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1000 + (t.tv_nsec - t0->tv_nsec) / 1000000;
}

int main(int argc, char **argv)
{
	static struct q qs[NAMES_MAX];
	struct sockaddr_in sa = { .sin_family = AF_INET };
	unsigned long sent = 0, good = 0, bad = 0;
	int nn = argc - 4, rounds, fd;

	if (argc < 5 || nn > NAMES_MAX || inet_pton(AF_INET, argv[1], &sa.sin_addr) != 1 ||
	    (rounds = atoi(argv[3])) <= 0) {
		fprintf(stderr, "usage: %s ADDR PORT ROUNDS NAME... (at most %d names)\n", PROG,
			NAMES_MAX);
		return 2;
	}
	sa.sin_port = htons((uint16_t)atoi(argv[2]));
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		perror(PROG ": socket");
		return 2;
	}
	for (int r = 0; r < rounds; r++) {
		struct mmsghdr mm[NAMES_MAX];
		struct iovec iov[NAMES_MAX];
		struct timespec t0;
		int left = nn;

		memset(mm, 0, sizeof(mm));
		for (int i = 0; i < nn; i++) {
			if (build(&qs[i], (uint16_t)(r * NAMES_MAX + i), argv[4 + i]) < 0) {
				fprintf(stderr, "%s: not a name: '%s'\n", PROG, argv[4 + i]);
				return 2;
			}
			iov[i] = (struct iovec){ .iov_base = qs[i].w, .iov_len = qs[i].len };
			mm[i].msg_hdr.msg_iov = &iov[i];
			mm[i].msg_hdr.msg_iovlen = 1;
		}
		for (int done = 0; done < nn;) {
			int s = sendmmsg(fd, mm + done, (unsigned)(nn - done), 0);
			if (s <= 0) {
				perror(PROG ": sendmmsg");
				return 2;
			}
			done += s;
		}
		sent += (unsigned long)nn;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		while (left > 0 && ms_since(&t0) < WAIT_MS) {
			struct pollfd p = { .fd = fd, .events = POLLIN };
			uint8_t buf[4096];
			struct dnswalk w;
			if (poll(&p, 1, (int)(WAIT_MS - ms_since(&t0))) <= 0)
				break;
			ssize_t len = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
			if (len < 0)
				continue;
			unsigned id = (unsigned)buf[0] << 8 | buf[1];
			int i = (int)id - r * NAMES_MAX;
			bool ok = len >= 12 && dnswalk(buf, (size_t)len, &w) == DNSWALK_OK &&
				  (buf[2] & 0x80) && (buf[3] & 0x0f) == 0 && i >= 0 && i < nn &&
				  !qs[i].answered && w.count[DNSWALK_QD] == 1 &&
				  w.count[DNSWALK_AN] >= 1 && w.question_end == qs[i].len &&
				  memcmp(buf + 12, qs[i].w + 12, qs[i].len - 12) == 0;
			if (!ok) {
				if (bad++ < 5)
					fprintf(stderr, "%s: round %d: a bad reply of %zd bytes (ID %u)\n",
						PROG, r, len, id);
				continue;
			}
			qs[i].answered = true;
			good++;
			left--;
		}
	}
	printf("sent %lu good %lu bad %lu\n", sent, good, bad);
	return good == sent && bad == 0 ? 0 : 1;
}
