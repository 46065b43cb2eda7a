/* dns_flood.c - send one DNS query many times, for the netns leak test.
 *
 *   dns_flood ADDR PORT FILE COUNT
 *
 * Sends the message in FILE (at most 512 bytes) COUNT times over UDP to
 * ADDR:PORT, each with the next ID, and waits for the reply to each one
 * before sending the next, so every query has been handled when it exits.
 * Prints "sent N replies R formerr F" (F: replies with RCODE FORMERR and
 * the query's ID). Exits 0 when every query was answered, 1 otherwise.
 * Loopback or the test's own namespaces only; libc only. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define PROG "dns_flood"
#define MSG_MAX 512
#define COUNT_MAX 1000000
#define REPLY_WAIT_MS 2000

static int load(const char *path, uint8_t *buf, size_t *len)
{
	FILE *f = fopen(path, "rbe");

	if (!f)
		return -1;
	*len = fread(buf, 1, MSG_MAX, f);
	int bad = ferror(f) || !feof(f) || *len < 12;
	fclose(f);
	return bad ? -1 : 0;
}

static int open_to(const char *addr, const char *port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	char *end;
	long p = strtol(port, &end, 10);

	if (*end || p <= 0 || p > 65535 || inet_pton(AF_INET, addr, &sa.sin_addr) != 1)
		return -1;
	sa.sin_port = htons((uint16_t)p);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Send q with id and wait for its reply: 1 FORMERR, 0 other reply, -1 none. */
static int ask(int fd, uint8_t *q, size_t len, uint16_t id)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	uint8_t r[MSG_MAX];

	q[0] = (uint8_t)(id >> 8);
	q[1] = (uint8_t)id;
	if (send(fd, q, len, 0) != (ssize_t)len)
		return -1;
	for (;;) {
		if (poll(&pfd, 1, REPLY_WAIT_MS) != 1)
			return -1;
		ssize_t n = recv(fd, r, sizeof(r), 0);
		if (n < 0)
			return -1;
		if (n < 12 || r[0] != q[0] || r[1] != q[1])
			continue;               /* a late reply to an earlier query */
		return (r[3] & 0x0f) == 1;
	}
}

int main(int argc, char **argv)
{
	uint8_t q[MSG_MAX];
	size_t len;
	unsigned long count, replies = 0, formerr = 0;
	char *end;

	if (argc != 5) {
		fprintf(stderr, "usage: %s ADDR PORT FILE COUNT\n", PROG);
		return 2;
	}
	count = strtoul(argv[4], &end, 10);
	if (*end || count == 0 || count > COUNT_MAX) {
		fprintf(stderr, "%s: bad count '%s' (1..%d)\n", PROG, argv[4], COUNT_MAX);
		return 2;
	}
	if (load(argv[3], q, &len) < 0) {
		fprintf(stderr, "%s: %s: not a DNS message of 12..%d bytes\n", PROG, argv[3], MSG_MAX);
		return 2;
	}
	int fd = open_to(argv[1], argv[2]);
	if (fd < 0) {
		fprintf(stderr, "%s: cannot reach %s port %s\n", PROG, argv[1], argv[2]);
		return 2;
	}
	for (unsigned long i = 0; i < count; i++) {
		int v = ask(fd, q, len, (uint16_t)i);
		replies += v >= 0;
		formerr += v == 1;
	}
	close(fd);
	printf("sent %lu replies %lu formerr %lu\n", count, replies, formerr);
	return replies == count ? 0 : 1;
}
