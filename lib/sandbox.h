/* sandbox.h - a seccomp allow-list (libseccomp) that each daemon installs
 * once its set-up is done (files opened, sockets bound, privileges
 * dropped), so that a bug in a parser of untrusted input cannot become a
 * shell: no execve, no fork or clone, no ptrace or process_vm_*, no new
 * namespaces, no mount, no executable memory, no file opened for writing
 * by a daemon that writes none, and only the socket families the daemon
 * still opens. What each daemon may still call, and why, is the table in
 * sandbox.c and the SANDBOX section of its man page.
 *
 * The filter is for the native architecture only (other ABIs, e.g. i386
 * system calls from an x86-64 process, are refused) and is inherited by
 * nothing (the daemons never fork). Once installed it cannot be removed.
 *
 * Builds with AddressSanitizer (detected at compile time) allow what the
 * sanitizer's runtime needs to print a report (see sandbox.c); a forbidden
 * call still kills the process. */
#ifndef NTM_SANDBOX_H
#define NTM_SANDBOX_H

#include <stddef.h>

struct ntm_conf;

/* [Section] Seccomp = enforce | log | off (the daemons' configuration). */
enum ntm_sandbox_mode {
	NTM_SANDBOX_ENFORCE = 0, /* a call outside the list kills the process (SIGSYS) */
	NTM_SANDBOX_LOG,         /* it is allowed, and the kernel logs it (audit, dmesg) */
	NTM_SANDBOX_OFF,         /* no filter */
};

/* Whose allow-list. */
enum ntm_sandbox_profile {
	NTM_SANDBOX_TUND = 0,
	NTM_SANDBOX_DCD,
	NTM_SANDBOX_RELAYD,
	NTM_SANDBOX_RESOLVERD,
	NTM_SANDBOX_DCD_PG,      /* ntm-dcd with its registry in PostgreSQL: DCD's list,
				  * plus new stream connections (libpq's reset) and poll */
	NTM_SANDBOX_DCD_FED,     /* ntm-dcd with [Federation.ZONE] sections: DCD's list,
				  * plus UDP sockets (its DNS queries, on the event loop) */
	NTM_SANDBOX_NPROFILES
};

/* "enforce", "log", "off" -> mode. 0 or -EINVAL. */
int ntm_sandbox_mode_parse(const char *text, enum ntm_sandbox_mode *m);
const char *ntm_sandbox_mode_name(enum ntm_sandbox_mode m);

/* For a configuration loader: text is the value of [section] Seccomp (its
 * default "enforce" when absent), c the parsed file (for the line number).
 * 0, or -EINVAL with msg "PATH:LINE: Seccomp: 'x' is not enforce, log or
 * off". */
int ntm_sandbox_conf_mode(const struct ntm_conf *c, const char *path, const char *section,
			  const char *text, enum ntm_sandbox_mode *m, char *msg, size_t msglen);

/* Install profile p's filter on the calling process in mode m (nothing for
 * NTM_SANDBOX_OFF). 0, or -errno with msg saying what failed. */
int ntm_sandbox_apply(enum ntm_sandbox_profile p, enum ntm_sandbox_mode m, char *msg,
		      size_t msglen);

/* ntm_sandbox_apply, logged: "seccomp allow-list: enforce" (info), a
 * warning in log or off mode; a failure is logged as an error. For the
 * daemons' main(), after privileges are dropped and signals set up. */
int ntm_sandbox_enter(enum ntm_sandbox_profile p, enum ntm_sandbox_mode m);

#endif
