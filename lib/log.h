/* log.h - the daemons' logging: stderr with a level prefix in the
 * foreground (-f), syslog (LOG_DAEMON, LOG_PID) otherwise.
 *
 * Only programs log. Library code returns -errno (or a struct ntm_conf_error)
 * and the caller at the top logs once, naming the thing and quoting the bad
 * value.
 *
 * Thread safety: call ntm_log_init (and ntm_log_set_level) before starting
 * threads. After that every log function may be called from any thread:
 * each message is formatted on the stack and emitted with one write(2) or
 * one syslog(3) call, so lines from different threads never interleave.
 * Not async-signal-safe: never log from a signal handler (ntm's event loop
 * delivers signals through signalfd, where logging is fine). The log
 * functions preserve errno. */
#ifndef NTM_LOG_H
#define NTM_LOG_H

#include <stdbool.h>

/* The values are syslog's priorities, so they pass through unchanged. */
enum ntm_log_level {
	NTM_LOG_ERR = 3,
	NTM_LOG_WARN = 4,
	NTM_LOG_NOTICE = 5,
	NTM_LOG_INFO = 6,
	NTM_LOG_DEBUG = 7,
};

#define NTM_LOG_MSG_MAX 1024   /* longer messages are cut short */

/* ident: the program name (syslog tag and stderr prefix), kept by pointer,
 * so pass a string that lives as long as the program (a literal or argv[0]).
 * level: messages above it (less severe) are dropped; values outside
 * ERR..DEBUG are clamped. Before ntm_log_init, messages go to stderr as
 * "ntm" at NTM_LOG_INFO. May be called again (e.g. after daemonizing). */
void ntm_log_init(const char *ident, bool foreground, int level);
void ntm_log_set_level(int level);

/* Parses "err", "warn"/"warning", "notice", "info" or "debug" into *level;
 * returns 0 or -EINVAL. For -v/-d options and a config key. */
int ntm_log_level_parse(const char *name, int *level);

/* Logs one message at level; a trailing newline in fmt is not needed. */
void ntm_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Like ntm_log, with ": <strerror(err)>" appended. err may be a negative
 * errno (as library functions return) or a positive one. */
void ntm_log_errno(int level, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define log_err(...) ntm_log(NTM_LOG_ERR, __VA_ARGS__)
#define log_warn(...) ntm_log(NTM_LOG_WARN, __VA_ARGS__)
#define log_notice(...) ntm_log(NTM_LOG_NOTICE, __VA_ARGS__)
#define log_info(...) ntm_log(NTM_LOG_INFO, __VA_ARGS__)
#define log_debug(...) ntm_log(NTM_LOG_DEBUG, __VA_ARGS__)

#define log_err_errno(err, ...) ntm_log_errno(NTM_LOG_ERR, (err), __VA_ARGS__)
#define log_warn_errno(err, ...) ntm_log_errno(NTM_LOG_WARN, (err), __VA_ARGS__)
#define log_notice_errno(err, ...) ntm_log_errno(NTM_LOG_NOTICE, (err), __VA_ARGS__)
#define log_info_errno(err, ...) ntm_log_errno(NTM_LOG_INFO, (err), __VA_ARGS__)
#define log_debug_errno(err, ...) ntm_log_errno(NTM_LOG_DEBUG, (err), __VA_ARGS__)

#endif
