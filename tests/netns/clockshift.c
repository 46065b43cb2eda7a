/* clockshift.c - LD_PRELOAD shim for the netns tests: CLOCK_REALTIME (and
 * only it) as clock_gettime reports it, moved by NTM_TEST_CLOCK_SHIFT
 * seconds (signed). Lets registration.sh start a node whose clock is an
 * hour behind or ahead without touching the host's clock. Never installed. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <stdlib.h>
#include <time.h>

int clock_gettime(clockid_t id, struct timespec *ts)
{
	static int (*real)(clockid_t, struct timespec *);
	const char *shift = getenv("NTM_TEST_CLOCK_SHIFT");
	int ret;

	if (!real)
		real = (int (*)(clockid_t, struct timespec *))dlsym(RTLD_NEXT, "clock_gettime");
	ret = real(id, ts);
	if (ret == 0 && id == CLOCK_REALTIME && shift)
		ts->tv_sec += strtol(shift, NULL, 10);
	return ret;
}
