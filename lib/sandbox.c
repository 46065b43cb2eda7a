/* sandbox.c - each daemon's seccomp allow-list; see sandbox.h.
 *
 * The lists hold what the daemons call after their set-up, found by
 * reading the code (lib/evloop.c, udp.c, stream.c, ctlserver.c, log.c,
 * tund/ netif.c, underlay.c, path.c, nssfile.c, dc/store.c with SQLite,
 * resolver/ upstream.c, tundq.c, resolverd.c) and checked by running the
 * netns tests in log mode. Anything else is refused: execve, fork, clone,
 * ptrace, process_vm_*, kill (other than raise/abort on oneself), ioctl
 * (but FIONREAD in ntm-tund, for glibc's resolver),
 * prctl, mount, unshare, setns, bpf, keyctl, module loading, setuid and
 * capability changes, listen, mkdir, chmod/chown, link/symlink. The
 * man page of each daemon (SANDBOX) documents the same table. */
#include "sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <seccomp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/netlink.h>

#include "log.h"
#include "util.h"

/* AddressSanitizer builds (tools/check.sh runs the netns tests with them):
 * its runtime makes calls of its own, mostly when it prints a report. */
#if defined(__SANITIZE_ADDRESS__)
#define NTM_SB_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define NTM_SB_ASAN 1
#endif
#endif
#ifndef NTM_SB_ASAN
#define NTM_SB_ASAN 0
#endif

#define T (1u << NTM_SANDBOX_TUND)
#define D (1u << NTM_SANDBOX_DCD)
#define R (1u << NTM_SANDBOX_RELAYD)
#define S (1u << NTM_SANDBOX_RESOLVERD)
#define P (1u << NTM_SANDBOX_DCD_PG) /* only what PostgreSQL adds to D: see who_of */
#define F (1u << NTM_SANDBOX_DCD_FED) /* only what federation adds to D */
#define ALL (T | D | R | S)

struct sb_call {
	int nr;
	unsigned who; /* the profiles (bits) that may make it */
};

/* Calls allowed whatever their arguments. */
static const struct sb_call plain[] = {
	/* the event loop (lib/evloop.c): epoll, the signalfd, whose mask is
	 * changed again when the loop is freed at exit */
	{ SCMP_SYS(epoll_wait), ALL }, { SCMP_SYS(epoll_pwait), ALL },
	{ SCMP_SYS(epoll_ctl), ALL }, { SCMP_SYS(signalfd4), ALL },
	{ SCMP_SYS(rt_sigprocmask), ALL },
	/* descriptors already open: datagrams, TUN packets, control and DNS
	 * streams, log lines on stderr, files read (config-like files
	 * re-read by resolverd, /proc/PID/status for the control socket's
	 * group check, tzdata on the first syslog line) */
	{ SCMP_SYS(read), ALL }, { SCMP_SYS(readv), ALL }, { SCMP_SYS(write), ALL },
	{ SCMP_SYS(writev), ALL }, { SCMP_SYS(close), ALL }, { SCMP_SYS(fcntl), ALL },
	{ SCMP_SYS(lseek), ALL }, { SCMP_SYS(fstat), ALL }, { SCMP_SYS(newfstatat), ALL },
	{ SCMP_SYS(stat), ALL }, { SCMP_SYS(lstat), ALL }, { SCMP_SYS(statx), ALL },
	/* sockets: the daemons' own, accepted control/DNS connections, and
	 * connect for syslog's reconnection, ntm-tund's route probe (a UDP
	 * connect sends nothing), ntm-resolverd's upstreams and ntm-tund's
	 * control socket. Which sockets may be created: see add_socket. */
	{ SCMP_SYS(recvfrom), ALL }, { SCMP_SYS(recvmsg), ALL }, { SCMP_SYS(recvmmsg), ALL },
	{ SCMP_SYS(sendto), ALL }, { SCMP_SYS(sendmsg), ALL }, { SCMP_SYS(sendmmsg), ALL },
	{ SCMP_SYS(accept), ALL }, { SCMP_SYS(accept4), ALL }, { SCMP_SYS(connect), ALL },
	{ SCMP_SYS(shutdown), ALL }, { SCMP_SYS(getsockname), ALL },
	{ SCMP_SYS(getpeername), ALL }, { SCMP_SYS(getsockopt), ALL },
	{ SCMP_SYS(setsockopt), ALL },
	/* ntm-tund binds the birthday search's sockets and libnl binds its
	 * netlink sockets (addresses, MTU, underlay scans) */
	{ SCMP_SYS(bind), T },
	/* ntm-tund resolves a host-name [DC] Endpoint again while the DC
	 * does not answer: getaddrinfo waits for the name server's UDP
	 * answer with poll (ppoll on some architectures); its files
	 * (/etc/hosts, resolv.conf, nsswitch.conf, gai.conf) are opened
	 * read-only (add_open) */
	{ SCMP_SYS(poll), T }, { SCMP_SYS(ppoll), T },
	/* ntm-tund's D-Bus connection to systemd-resolved (tund/resolvedlink.c,
	 * opened during set-up): sd-bus waits for a reply with ppoll (RevertLink
	 * at stop), allowed above */
	/* memory (malloc, SQLite's shared-memory index, ntm-resolverd's
	 * read-only mapping of ntm-tund's names map, remapped when the file
	 * is replaced: open read-only, fstat, mmap, munmap); mmap and mprotect
	 * are allowed only without PROT_EXEC (add_memory) */
	{ SCMP_SYS(brk), ALL }, { SCMP_SYS(munmap), ALL }, { SCMP_SYS(mremap), ALL },
	{ SCMP_SYS(madvise), ALL },
	/* time, randomness, who we are (SQLite asks geteuid; syslog getpid) */
	{ SCMP_SYS(clock_gettime), ALL }, { SCMP_SYS(gettimeofday), ALL },
	{ SCMP_SYS(time), ALL }, { SCMP_SYS(nanosleep), ALL },
	{ SCMP_SYS(clock_nanosleep), ALL }, { SCMP_SYS(getrandom), ALL },
	{ SCMP_SYS(getpid), ALL }, { SCMP_SYS(gettid), ALL }, { SCMP_SYS(getuid), ALL },
	{ SCMP_SYS(geteuid), ALL }, { SCMP_SYS(getgid), ALL }, { SCMP_SYS(getegid), ALL },
	{ SCMP_SYS(sysinfo), ALL }, { SCMP_SYS(futex), ALL },
	/* ntm-tund's worker threads, started just before the filter (which is
	 * synchronised to them): what a new thread's start makes in glibc,
	 * which may run after the filter is in place */
	{ SCMP_SYS(rseq), T }, { SCMP_SYS(set_robust_list), T },
	/* what counts the CPUs: glibc's malloc when a thread first needs
	 * an arena of its own, the sanitizers' runtime (a SIGSYS on syscall
	 * 204 killed ntm-tund with Workers = 2 under ASan once, when that
	 * happened after the filter); read-only */
	{ SCMP_SYS(sched_getaffinity), ALL },
	/* signals and the end: abort() (tgkill on ourselves: add_signals) */
	{ SCMP_SYS(rt_sigreturn), ALL }, { SCMP_SYS(rt_sigaction), ALL },
	{ SCMP_SYS(restart_syscall), ALL }, { SCMP_SYS(exit), ALL },
	{ SCMP_SYS(exit_group), ALL },
	/* files written: ntm-tund's nss file and the DC's allocation mark
	 * (temporary file, fsync, rename, the directory fsynced); the DC's
	 * SQLite database, its -wal and -shm (positioned I/O, fdatasync,
	 * truncation of the WAL, permissions of a new -wal matched to the
	 * database's, existence checks; flock: the writers' queue before
	 * SQLite's write lock, dc/store.c) */
	{ SCMP_SYS(fsync), T | D }, { SCMP_SYS(rename), T | D }, { SCMP_SYS(renameat), T | D },
	{ SCMP_SYS(renameat2), T | D }, { SCMP_SYS(fdatasync), D }, { SCMP_SYS(ftruncate), D },
	{ SCMP_SYS(pread64), D }, { SCMP_SYS(pwrite64), D }, { SCMP_SYS(fchmod), D },
	{ SCMP_SYS(access), D }, { SCMP_SYS(faccessat), D }, { SCMP_SYS(faccessat2), D },
	{ SCMP_SYS(flock), D },
	/* unlink: the control socket at exit (ntm-tund, ntm-dcd, ntm-relayd),
	 * the nss file (ntm-tund), SQLite's -wal and -shm at close */
	{ SCMP_SYS(unlink), T | D | R }, { SCMP_SYS(unlinkat), T | D | R },
	/* ntm-dcd's PostgreSQL registry (dc/store_pg.c): libpq waits for the
	 * server's answers with poll; its connection is reset (a new socket,
	 * add_socket) when the server went away (a federating ntm-dcd's DNS
	 * queries, dc/dc_fed.c, wait on the event loop: no poll) */
	{ SCMP_SYS(poll), P }, { SCMP_SYS(ppoll), P },
};

#if NTM_SB_ASAN
/* The sanitizer's runtime, when it reports (found by running a report
 * under the filter in log mode): readlink of /proc/self/exe, a pipe that
 * UBSan writes memory into to learn whether it may print it, and
 * isatty(2) for colours (add_asan). The in-process symbolizer
 * (libbacktrace, GCC) only opens and reads the binary. */
static const struct sb_call asan_calls[] = {
	{ SCMP_SYS(readlink), ALL }, { SCMP_SYS(readlinkat), ALL },
	{ SCMP_SYS(pipe), ALL }, { SCMP_SYS(pipe2), ALL },
	/* a thread's alternate signal stack, removed as it ends (ntm-tund's workers) */
	{ SCMP_SYS(sigaltstack), ALL },
};
#endif

/* One argument comparison: argument arg OP a (EQ), or arg & a == b
 * (MASKED_EQ). Spelled out: libseccomp's SCMP_An macros leave datum_b to
 * the compiler, which clang's -Wmissing-field-initializers refuses. */
static struct scmp_arg_cmp arg_cmp(unsigned arg, enum scmp_compare op, scmp_datum_t a,
				   scmp_datum_t b)
{
	return (struct scmp_arg_cmp){ .arg = arg, .op = op, .datum_a = a, .datum_b = b };
}

static int add(scmp_filter_ctx ctx, int nr, unsigned n, const struct scmp_arg_cmp *cmp)
{
	return seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, nr, n, cmp);
}

/* Which sockets each daemon may still create. Every daemon may open a
 * datagram socket to syslog again (glibc reconnects /dev/log when it
 * fails). ntm-tund: UDP for the birthday search, its route probe and
 * getaddrinfo (DNS queries, the address sort's probes), rtnetlink through
 * libnl and getaddrinfo, a stream to nscd's socket (getaddrinfo tries it
 * again every 100 s); ntm-resolverd: UDP and TCP to its upstreams,
 * a stream to ntm-tund's control socket. ntm-dcd and ntm-relayd opened
 * all theirs during set-up, but for a federating ntm-dcd's DNS queries
 * (UDP, ldns: dc/dc_fed.c) and ntm-dcd's PostgreSQL connection,
 * which libpq may have to make again (a stream to the server's Unix
 * socket or TCP port, after glibc's resolver looked a host name up over
 * UDP). */
static int add_socket(scmp_filter_ctx ctx, unsigned who)
{
	static const struct {
		int family, type, proto; /* proto -1: any */
		unsigned who;
	} allowed[] = {
		{ AF_UNIX, SOCK_DGRAM, -1, ALL },
		{ AF_UNIX, SOCK_STREAM, -1, T | S },
		{ AF_INET, SOCK_DGRAM, -1, T | S | P | F },
		{ AF_INET6, SOCK_DGRAM, -1, T | S | P | F },
		{ AF_INET, SOCK_STREAM, -1, S },
		{ AF_INET6, SOCK_STREAM, -1, S },
		{ AF_UNIX, SOCK_STREAM, -1, P },
		{ AF_INET, SOCK_STREAM, -1, P },
		{ AF_INET6, SOCK_STREAM, -1, P },
		{ AF_NETLINK, SOCK_RAW, NETLINK_ROUTE, T },
	};
	int ret;

	for (size_t i = 0; i < NTM_ARRAY_SIZE(allowed); i++) {
		if (!(allowed[i].who & who))
			continue;
		/* the type carries SOCK_NONBLOCK and SOCK_CLOEXEC: compare
		 * the low bits (the kernel's SOCK_TYPE_MASK) */
		struct scmp_arg_cmp cmp[3] = {
			arg_cmp(0, SCMP_CMP_EQ, (scmp_datum_t)allowed[i].family, 0),
			arg_cmp(1, SCMP_CMP_MASKED_EQ, 0xf, (scmp_datum_t)allowed[i].type),
			arg_cmp(2, SCMP_CMP_EQ, (scmp_datum_t)allowed[i].proto, 0),
		};
		ret = add(ctx, SCMP_SYS(socket), allowed[i].proto < 0 ? 2 : 3, cmp);
		if (ret < 0)
			return ret;
	}
	return 0;
}

/* ntm-tund and ntm-dcd write files (the nss file, the database); the
 * others open files only to read them. */
static int add_open(scmp_filter_ctx ctx, unsigned who)
{
	const scmp_datum_t wr = O_WRONLY | O_RDWR | O_CREAT | O_TRUNC | O_APPEND;
	struct scmp_arg_cmp o = arg_cmp(1, SCMP_CMP_MASKED_EQ, wr, 0);
	struct scmp_arg_cmp oat = arg_cmp(2, SCMP_CMP_MASKED_EQ, wr, 0);
	bool writes = who & (T | D);
	int ret;

	if ((ret = add(ctx, SCMP_SYS(open), writes ? 0 : 1, &o)) < 0)
		return ret;
	return add(ctx, SCMP_SYS(openat), writes ? 0 : 1, &oat);
}

/* No executable memory: code injected through a bug stays data. */
static int add_memory(scmp_filter_ctx ctx)
{
	struct scmp_arg_cmp noexec = arg_cmp(2, SCMP_CMP_MASKED_EQ, PROT_EXEC, 0);
	int ret;

	if ((ret = add(ctx, SCMP_SYS(mmap), 1, &noexec)) < 0)
		return ret;
	return add(ctx, SCMP_SYS(mprotect), 1, &noexec);
}

/* abort() and raise() signal this process only. */
static int add_signals(scmp_filter_ctx ctx)
{
	struct scmp_arg_cmp self = arg_cmp(0, SCMP_CMP_EQ, (scmp_datum_t)getpid(), 0);

	return add(ctx, SCMP_SYS(tgkill), 1, &self);
}

#if NTM_SB_ASAN
/* The sanitizer's extra calls; isatty(2) is ioctl(TCGETS). A runtime
 * without an in-process symbolizer (clang's) starts an external one: fork
 * and exec fail (EPERM) rather than kill, and the report keeps
 * module+offset frames for addr2line. */
static int add_asan(scmp_filter_ctx ctx)
{
	static const int refused[] = { SCMP_SYS(clone), SCMP_SYS(clone3), SCMP_SYS(fork),
				       SCMP_SYS(vfork), SCMP_SYS(execve) };
	struct scmp_arg_cmp tcgets = arg_cmp(1, SCMP_CMP_EQ, TCGETS, 0);
	int ret;

	for (size_t i = 0; i < NTM_ARRAY_SIZE(asan_calls); i++)
		if ((ret = add(ctx, asan_calls[i].nr, 0, NULL)) < 0)
			return ret;
	for (size_t i = 0; i < NTM_ARRAY_SIZE(refused); i++)
		if ((ret = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), refused[i], 0)) < 0)
			return ret;
	return add(ctx, SCMP_SYS(ioctl), 1, &tcgets);
}
#endif

/* ntm-tund's getaddrinfo (a host-name DC endpoint resolved again): glibc's
 * resolver sizes a UDP answer with ioctl(FIONREAD); no other ioctl. */
static int add_ioctl(scmp_filter_ctx ctx, unsigned who)
{
	struct scmp_arg_cmp fionread = arg_cmp(1, SCMP_CMP_EQ, (scmp_datum_t)FIONREAD, 0);

	if (!(who & T))
		return 0;
	return add(ctx, SCMP_SYS(ioctl), 1, &fionread);
}

static int add_rules(scmp_filter_ctx ctx, unsigned who, int *failed_nr)
{
	int ret;

	for (size_t i = 0; i < NTM_ARRAY_SIZE(plain); i++) {
		if (!(plain[i].who & who))
			continue;
		if ((ret = add(ctx, plain[i].nr, 0, NULL)) < 0) {
			*failed_nr = plain[i].nr;
			return ret;
		}
	}
	if ((ret = add_socket(ctx, who)) < 0 || (ret = add_open(ctx, who)) < 0 ||
	    (ret = add_memory(ctx)) < 0 || (ret = add_signals(ctx)) < 0 ||
	    (ret = add_ioctl(ctx, who)) < 0)
		return ret;
#if NTM_SB_ASAN
	if ((ret = add_asan(ctx)) < 0)
		return ret;
#endif
	return 0;
}

/* The profile bits a filter allows: DCD_PG and DCD_FED are DCD's list and
 * their own. */
static unsigned who_of(enum ntm_sandbox_profile p)
{
	if (p == NTM_SANDBOX_DCD_PG)
		return D | P;
	return p == NTM_SANDBOX_DCD_FED ? D | F : 1u << p;
}

int ntm_sandbox_apply(enum ntm_sandbox_profile p, enum ntm_sandbox_mode m, char *msg,
		      size_t msglen)
{
	scmp_filter_ctx ctx;
	int ret, nr = -1;

	if (m == NTM_SANDBOX_OFF)
		return 0;
	if ((unsigned)p >= NTM_SANDBOX_NPROFILES || (m != NTM_SANDBOX_ENFORCE && m != NTM_SANDBOX_LOG)) {
		snprintf(msg, msglen, "seccomp: no such profile or mode");
		return -EINVAL;
	}
	ctx = seccomp_init(m == NTM_SANDBOX_LOG ? SCMP_ACT_LOG : SCMP_ACT_KILL_PROCESS);
	if (!ctx) {
		snprintf(msg, msglen, "seccomp: cannot set up a filter (libseccomp %s, kernel "
			 "without SECCOMP_RET_KILL_PROCESS or SECCOMP_RET_LOG?)",
			 m == NTM_SANDBOX_LOG ? "log" : "kill-process");
		return -ENOSYS;
	}
	/* every thread of the process gets the filter: ntm-tund's workers are
	 * started before it (tund/worker.c) */
	ret = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
	if (ret < 0) {
		snprintf(msg, msglen, "seccomp: cannot ask for the filter on every thread: %s",
			 strerror(-ret));
		goto out;
	}
	ret = add_rules(ctx, who_of(p), &nr);
	if (ret < 0) {
		char *name = nr >= 0 ? seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr) : NULL;
		snprintf(msg, msglen, "seccomp: cannot add a rule%s%s: %s", name ? " for " : "",
			 name ? name : "", strerror(-ret));
		free(name);
		goto out;
	}
	ret = seccomp_load(ctx);
	if (ret < 0)
		snprintf(msg, msglen, "seccomp: cannot load the filter: %s", strerror(-ret));
out:
	seccomp_release(ctx);
	return ret;
}

int ntm_sandbox_enter(enum ntm_sandbox_profile p, enum ntm_sandbox_mode m)
{
	char msg[256];
	int ret = ntm_sandbox_apply(p, m, msg, sizeof(msg));

	if (ret < 0) {
		log_err("%s", msg);
		return ret;
	}
	if (m == NTM_SANDBOX_ENFORCE)
		log_info("seccomp allow-list: enforce (a call outside it kills the daemon; "
			 "the kernel log names it)");
	else if (m == NTM_SANDBOX_LOG)
		log_warn("seccomp allow-list: log only (Seccomp = log): calls outside it are "
			 "allowed and logged by the kernel");
	else
		log_warn("seccomp allow-list: off (Seccomp = off)");
	return 0;
}
