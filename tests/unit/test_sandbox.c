/* test_sandbox.c - the daemons' seccomp allow-lists (lib/sandbox.c): in a
 * forked child each profile's filter lets the daemon's calls through and
 * kills the process (SIGSYS) for execve and for what that daemon must not
 * do (write a file, open a socket of another family, map executable
 * memory); log mode lets a forbidden call through; the Seccomp setting. */
#include <check.h>
#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/netlink.h>

#include "conf.h"
#include "sandbox.h"

/* What a child does once its filter is in: returns 0 when every call
 * behaved as a daemon needs. Runs under the filter: no stdio, no asserts. */
typedef int (*child_fn)(void);

/* Fork; the child installs profile p in mode m, runs fn and exits with its
 * result (10 if the filter could not be installed). The wait status. */
static int run_sandboxed(enum ntm_sandbox_profile p, enum ntm_sandbox_mode m, child_fn fn)
{
	int status;
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		char msg[256];
		if (ntm_sandbox_apply(p, m, msg, sizeof(msg)) < 0)
			_exit(10);
		_exit(fn());
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	return status;
}

static void assert_exit0(int status)
{
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "child: exited %d, signal %d", WIFEXITED(status) ? WEXITSTATUS(status) : -1,
		      WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

static void assert_sigsys(int status)
{
	ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS,
		      "child: exited %d, signal %d (want SIGSYS)",
		      WIFEXITED(status) ? WEXITSTATUS(status) : -1,
		      WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

/* Not in any list: a daemon has no use for a new pair of sockets. */
static int socketpair_call(void)
{
	int sv[2];

	socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
	return 33;
}

/* What every daemon does in its loop: time, randomness, memory (mmap and
 * munmap), a datagram socket to syslog, a file opened for reading, a
 * write to stderr. */
static int common_calls(void)
{
	struct timespec ts;
	char buf[64];

	if (clock_gettime(CLOCK_MONOTONIC, &ts) < 0 || syscall(SYS_getrandom, buf, 16, 0) != 16)
		return 1;
	void *big = malloc(8 << 20);
	if (!big)
		return 2;
	memset(big, 1, 8 << 20);
	free(big);
	int s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return 3;
	close(s);
	int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 4;
	ssize_t n = read(fd, buf, sizeof(buf));
	close(fd);
	if (n <= 0)
		return 5;
	if (getpid() <= 0 || write(STDERR_FILENO, "", 0) < 0)
		return 6;
	/* counting the CPUs, as glibc's malloc does for a thread's first
	 * arena and the sanitizers' runtime at any time */
	cpu_set_t set;
	if (sched_getaffinity(0, sizeof(set), &set) != 0 || CPU_COUNT(&set) < 1)
		return 7;
	return 0;
}

static int exec_shell(void)
{
	char *argv[] = { "/bin/sh", "-c", "exit 0", NULL };
	char *envp[] = { NULL };

	execve(argv[0], argv, envp);
	return 20; /* execve failed instead of killing us */
}

static int fork_child(void)
{
	pid_t pid = (pid_t)syscall(SYS_fork);
	if (pid == 0)
		_exit(0);
	return 21;
}

static int ptrace_parent(void)
{
	syscall(SYS_ptrace, 16 /* PTRACE_ATTACH */, getppid(), 0, 0);
	return 22;
}

static int write_tmp_file(void)
{
	char path[] = "/tmp/ntm-test-sandbox-XXXXXX";
	int fd = open(path, O_WRONLY); /* does not exist: ENOENT if allowed */
	if (fd >= 0)
		close(fd);
	return 23;
}

static int inet_udp_socket(void)
{
	int s = socket(AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s < 0)
		return 24;
	close(s);
	return 0;
}

static int netlink_socket(void)
{
	int s = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (s < 0)
		return 25;
	close(s);
	return 0;
}

static int packet_socket(void)
{
	socket(AF_PACKET, SOCK_RAW, 0);
	return 26;
}

static int tcp_socket(void)
{
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return 27;
	close(s);
	return 0;
}

/* What getaddrinfo does after set-up, for ntm-tund's host-name DC
 * endpoint: wait with poll (ppoll elsewhere), try nscd's stream socket. */
static int resolver_calls(void)
{
	struct timespec zero = { 0, 0 };

#ifdef SYS_poll
	if (syscall(SYS_poll, NULL, 0, 0) != 0)
		return 34;
#endif
	if (syscall(SYS_ppoll, NULL, 0, &zero, NULL, 8) != 0)
		return 34;
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (s < 0)
		return 35;
	close(s);
	/* the size of a datagram waiting on a UDP socket */
	int n = -1;
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0 || ioctl(s, FIONREAD, &n) != 0 || n != 0)
		return 37;
	close(s);
	return 0;
}

/* Any other ioctl: still not (here: a terminal's attributes). */
static int other_ioctl(void)
{
	struct winsize w;

	ioctl(STDERR_FILENO, TIOCGWINSZ, &w);
	return 38;
}

static int poll_call(void)
{
	struct timespec zero = { 0, 0 };

	syscall(SYS_ppoll, NULL, 0, &zero, NULL, 8);
	return 36;
}

static int exec_memory(void)
{
	mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return 28;
}

static int make_exec(void)
{
	void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return 29;
	mprotect(p, 4096, PROT_READ | PROT_EXEC);
	return 30;
}

static int kill_parent(void)
{
	kill(getppid(), 0);
	return 31;
}

static int call_uname(void)
{
	struct utsname u;
	return uname(&u) == 0 ? 0 : 32;
}

static int abort_self(void)
{
	abort();
}

START_TEST(test_each_daemon_may_make_its_loops_calls)
{
	assert_exit0(run_sandboxed((enum ntm_sandbox_profile)_i, NTM_SANDBOX_ENFORCE, common_calls));
}
END_TEST

START_TEST(test_execve_fork_and_ptrace_kill_every_daemon)
{
	enum ntm_sandbox_profile p = (enum ntm_sandbox_profile)_i;

	assert_sigsys(run_sandboxed(p, NTM_SANDBOX_ENFORCE, exec_shell));
	assert_sigsys(run_sandboxed(p, NTM_SANDBOX_ENFORCE, fork_child));
	assert_sigsys(run_sandboxed(p, NTM_SANDBOX_ENFORCE, ptrace_parent));
	assert_sigsys(run_sandboxed(p, NTM_SANDBOX_ENFORCE, kill_parent));
	assert_sigsys(run_sandboxed(p, NTM_SANDBOX_ENFORCE, packet_socket));
	assert_sigsys(run_sandboxed(p, NTM_SANDBOX_ENFORCE, socketpair_call));
}
END_TEST

START_TEST(test_no_daemon_may_map_executable_memory)
{
	enum ntm_sandbox_profile p = (enum ntm_sandbox_profile)_i;

	assert_sigsys(run_sandboxed(p, NTM_SANDBOX_ENFORCE, exec_memory));
	assert_sigsys(run_sandboxed(p, NTM_SANDBOX_ENFORCE, make_exec));
}
END_TEST

START_TEST(test_abort_is_sigabrt_not_sigsys)
{
	int status = run_sandboxed((enum ntm_sandbox_profile)_i, NTM_SANDBOX_ENFORCE, abort_self);

	ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT, "signal %d",
		      WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}
END_TEST

START_TEST(test_only_tund_and_the_dc_open_files_for_writing)
{
	/* allowed: the open fails with ENOENT and the child returns 23 */
	int st = run_sandboxed(NTM_SANDBOX_TUND, NTM_SANDBOX_ENFORCE, write_tmp_file);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 23);
	st = run_sandboxed(NTM_SANDBOX_DCD, NTM_SANDBOX_ENFORCE, write_tmp_file);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 23);
	assert_sigsys(run_sandboxed(NTM_SANDBOX_RELAYD, NTM_SANDBOX_ENFORCE, write_tmp_file));
	assert_sigsys(run_sandboxed(NTM_SANDBOX_RESOLVERD, NTM_SANDBOX_ENFORCE, write_tmp_file));
}
END_TEST

static int call_poll(void)
{
	return poll(NULL, 0, 0) == 0 ? 0 : 1;
}

START_TEST(test_socket_families_per_daemon)
{
	assert_exit0(run_sandboxed(NTM_SANDBOX_TUND, NTM_SANDBOX_ENFORCE, inet_udp_socket));
	assert_exit0(run_sandboxed(NTM_SANDBOX_TUND, NTM_SANDBOX_ENFORCE, netlink_socket));
	assert_sigsys(run_sandboxed(NTM_SANDBOX_TUND, NTM_SANDBOX_ENFORCE, tcp_socket));
	assert_exit0(run_sandboxed(NTM_SANDBOX_TUND, NTM_SANDBOX_ENFORCE, resolver_calls));
	assert_sigsys(run_sandboxed(NTM_SANDBOX_TUND, NTM_SANDBOX_ENFORCE, other_ioctl));
	assert_sigsys(run_sandboxed(NTM_SANDBOX_DCD, NTM_SANDBOX_ENFORCE, poll_call));
	assert_sigsys(run_sandboxed(NTM_SANDBOX_RELAYD, NTM_SANDBOX_ENFORCE, poll_call));
	assert_exit0(run_sandboxed(NTM_SANDBOX_RESOLVERD, NTM_SANDBOX_ENFORCE, inet_udp_socket));
	assert_exit0(run_sandboxed(NTM_SANDBOX_RESOLVERD, NTM_SANDBOX_ENFORCE, tcp_socket));
	assert_sigsys(run_sandboxed(NTM_SANDBOX_RESOLVERD, NTM_SANDBOX_ENFORCE, netlink_socket));
	/* the DC and the relay opened all theirs during set-up */
	assert_sigsys(run_sandboxed(NTM_SANDBOX_DCD, NTM_SANDBOX_ENFORCE, inet_udp_socket));
	assert_sigsys(run_sandboxed(NTM_SANDBOX_RELAYD, NTM_SANDBOX_ENFORCE, inet_udp_socket));
	/* but a DC whose registry is in PostgreSQL may connect to it again
	 * (a stream after a DNS lookup over UDP, and poll), and still opens
	 * no netlink socket */
	assert_sigsys(run_sandboxed(NTM_SANDBOX_DCD, NTM_SANDBOX_ENFORCE, tcp_socket));
	assert_exit0(run_sandboxed(NTM_SANDBOX_DCD_PG, NTM_SANDBOX_ENFORCE, tcp_socket));
	assert_exit0(run_sandboxed(NTM_SANDBOX_DCD_PG, NTM_SANDBOX_ENFORCE, inet_udp_socket));
	assert_sigsys(run_sandboxed(NTM_SANDBOX_DCD_PG, NTM_SANDBOX_ENFORCE, netlink_socket));
	assert_sigsys(run_sandboxed(NTM_SANDBOX_DCD, NTM_SANDBOX_ENFORCE, call_poll));
	assert_exit0(run_sandboxed(NTM_SANDBOX_DCD_PG, NTM_SANDBOX_ENFORCE, call_poll));
	/* a federating DC asks DNS (UDP, on its event loop: no poll), and
	 * opens no stream */
	assert_exit0(run_sandboxed(NTM_SANDBOX_DCD_FED, NTM_SANDBOX_ENFORCE, inet_udp_socket));
	assert_sigsys(run_sandboxed(NTM_SANDBOX_DCD_FED, NTM_SANDBOX_ENFORCE, call_poll));
	assert_sigsys(run_sandboxed(NTM_SANDBOX_DCD_FED, NTM_SANDBOX_ENFORCE, tcp_socket));
	assert_sigsys(run_sandboxed(NTM_SANDBOX_DCD_FED, NTM_SANDBOX_ENFORCE, netlink_socket));
}
END_TEST

START_TEST(test_log_mode_lets_a_forbidden_call_through)
{
	assert_sigsys(run_sandboxed(NTM_SANDBOX_RELAYD, NTM_SANDBOX_ENFORCE, call_uname));
	assert_exit0(run_sandboxed(NTM_SANDBOX_RELAYD, NTM_SANDBOX_LOG, call_uname));
	assert_exit0(run_sandboxed(NTM_SANDBOX_RELAYD, NTM_SANDBOX_OFF, call_uname));
}
END_TEST

/* "Seccomp: 2" in /proc/self/status (what the netns tests check of each
 * running daemon) once a filter is in, "0" with Seccomp = off. */
static int seccomp_status(void)
{
	char buf[4096];
	int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);

	if (n <= 0)
		return 40;
	buf[n] = '\0';
	const char *s = strstr(buf, "\nSeccomp:");
	if (!s)
		return 41;
	s += strlen("\nSeccomp:");
	while (*s == ' ' || *s == '\t')
		s++;
	return *s - '0';
}

START_TEST(test_proc_status_shows_filter_mode)
{
	int st = run_sandboxed(NTM_SANDBOX_DCD, NTM_SANDBOX_ENFORCE, seccomp_status);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 2);
	st = run_sandboxed(NTM_SANDBOX_DCD, NTM_SANDBOX_OFF, seccomp_status);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}
END_TEST

START_TEST(test_the_seccomp_setting)
{
	enum ntm_sandbox_mode m;
	struct ntm_conf *c = NULL;
	struct ntm_conf_error err;
	char msg[256];
	static const char text[] = "[Relay]\n\nSeccomp = kill\n";

	ck_assert_int_eq(ntm_sandbox_mode_parse("enforce", &m), 0);
	ck_assert_int_eq(m, NTM_SANDBOX_ENFORCE);
	ck_assert_int_eq(ntm_sandbox_mode_parse("log", &m), 0);
	ck_assert_int_eq(m, NTM_SANDBOX_LOG);
	ck_assert_int_eq(ntm_sandbox_mode_parse("off", &m), 0);
	ck_assert_int_eq(m, NTM_SANDBOX_OFF);
	ck_assert_int_eq(ntm_sandbox_mode_parse("Enforce", &m), -EINVAL);
	ck_assert_int_eq(ntm_sandbox_mode_parse("", &m), -EINVAL);
	ck_assert_str_eq(ntm_sandbox_mode_name(NTM_SANDBOX_LOG), "log");

	ck_assert_int_eq(ntm_conf_parse_mem("r.conf", text, sizeof(text) - 1, &c, &err), 0);
	ck_assert_int_eq(ntm_sandbox_conf_mode(c, "r.conf", "Relay", "kill", &m, msg, sizeof(msg)),
			 -EINVAL);
	ck_assert_str_eq(msg, "r.conf:3: Seccomp: 'kill' is not enforce, log or off");
	ntm_conf_free(c);
}
END_TEST

/* Valgrind has no seccomp(2) (it says "unhandled syscall 317" and fails
 * it), so make check-valgrind runs only the setting's tests; a daemon run
 * under valgrind needs Seccomp = off. */
static bool under_valgrind(void)
{
	const char *p = getenv("LD_PRELOAD");

	return p && strstr(p, "vgpreload");
}

int main(void)
{
	Suite *s = suite_create("sandbox");
	TCase *conf = tcase_create("setting");

	tcase_add_test(conf, test_the_seccomp_setting);
	suite_add_tcase(s, conf);
	if (under_valgrind()) {
		printf("test_sandbox: under valgrind (no seccomp(2)): filter tests skipped\n");
	} else {
		TCase *tc = tcase_create("filter");
		tcase_add_loop_test(tc, test_each_daemon_may_make_its_loops_calls, 0,
				    NTM_SANDBOX_NPROFILES);
		tcase_add_loop_test(tc, test_execve_fork_and_ptrace_kill_every_daemon, 0,
				    NTM_SANDBOX_NPROFILES);
		tcase_add_loop_test(tc, test_no_daemon_may_map_executable_memory, 0,
				    NTM_SANDBOX_NPROFILES);
		tcase_add_loop_test(tc, test_abort_is_sigabrt_not_sigsys, 0, NTM_SANDBOX_NPROFILES);
		tcase_add_test(tc, test_only_tund_and_the_dc_open_files_for_writing);
		tcase_add_test(tc, test_socket_families_per_daemon);
		tcase_add_test(tc, test_log_mode_lets_a_forbidden_call_through);
		tcase_add_test(tc, test_proc_status_shows_filter_mode);
		suite_add_tcase(s, tc);
	}

	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
