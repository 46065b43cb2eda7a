/* notify_listen - the service manager's side of sd_notify, for
 * tests/unit/programs.sh: binds an AF_UNIX datagram socket at PATH (mode
 * 0666, so that a daemon that dropped to another user can send), prints
 * each message received on a line of its own (newlines inside a message
 * become spaces) and exits 0 after a message holding STOPPING=1, or 1 after
 * SECONDS without one.
 *
 * Usage: notify_listen PATH SECONDS */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	char buf[4096];
	int fd;

	if (argc != 3 || strlen(argv[1]) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "usage: notify_listen PATH SECONDS\n");
		return 2;
	}
	time_t end = time(NULL) + atoi(argv[2]);
	memcpy(sun.sun_path, argv[1], strlen(argv[1]) + 1);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 ||
	    chmod(argv[1], 0666) < 0) {
		perror(argv[1]);
		return 2;
	}
	while (time(NULL) < end) {
		struct pollfd p = { .fd = fd, .events = POLLIN };

		if (poll(&p, 1, 1000) <= 0)
			continue;
		ssize_t n = recv(fd, buf, sizeof(buf) - 1, 0);
		if (n < 0)
			continue;
		buf[n] = '\0';
		for (ssize_t i = 0; i < n; i++)
			if (buf[i] == '\n')
				buf[i] = ' ';
		printf("%s\n", buf);
		fflush(stdout);
		if (strstr(buf, "STOPPING=1"))
			return 0;
	}
	return 1;
}
