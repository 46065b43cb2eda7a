/* bench_names.c - getaddrinfo latency in one process, for bench/names.sh:
 * bench_names NAME FAMILY N prints "p50_us p99_us mean_us" over N lookups
 * (FAMILY: inet, inet6 or unspec), after N/10 warm-up lookups. Each
 * lookup's result is checked (any failure: exit 1). */
#define _GNU_SOURCE
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res;
	double *t, sum = 0;
	long n;

	if (argc != 4 || (n = atol(argv[3])) < 10) {
		fprintf(stderr, "usage: bench_names NAME inet|inet6|unspec N\n");
		return 2;
	}
	hints.ai_family = strcmp(argv[2], "inet") == 0 ? AF_INET
			: strcmp(argv[2], "inet6") == 0 ? AF_INET6 : AF_UNSPEC;
	t = calloc((size_t)n, sizeof(*t));
	if (!t)
		return 1;
	for (long i = -n / 10; i < n; i++) {
		double t0 = now_us();
		int r = getaddrinfo(argv[1], NULL, &hints, &res);
		double dt = now_us() - t0;

		if (r != 0) {
			fprintf(stderr, "%s: %s\n", argv[1], gai_strerror(r));
			return 1;
		}
		freeaddrinfo(res);
		if (i >= 0) {
			t[i] = dt;
			sum += dt;
		}
	}
	qsort(t, (size_t)n, sizeof(*t), cmp);
	printf("%.1f %.1f %.1f\n", t[n / 2], t[n * 99 / 100], sum / n);
	return 0;
}
