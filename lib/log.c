/* log.c - stderr or syslog logging for the daemons (see log.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

/* Written by ntm_log_init/ntm_log_set_level before threads start, only read
 * afterwards (see the thread-safety note in log.h). */
static const char *log_ident = "ntm";
static bool log_foreground = true;
static int log_level = NTM_LOG_INFO;

static const struct {
	const char *name;
	int level;
} level_names[] = {
	{ "error", NTM_LOG_ERR }, { "warning", NTM_LOG_WARN }, { "notice", NTM_LOG_NOTICE },
	{ "info", NTM_LOG_INFO }, { "debug", NTM_LOG_DEBUG },
	/* accepted by ntm_log_level_parse only */
	{ "err", NTM_LOG_ERR }, { "warn", NTM_LOG_WARN },
};

static int clamp_level(int level)
{
	if (level < NTM_LOG_ERR)
		return NTM_LOG_ERR;
	if (level > NTM_LOG_DEBUG)
		return NTM_LOG_DEBUG;
	return level;
}

static const char *level_name(int level)
{
	for (size_t i = 0; i < NTM_ARRAY_SIZE(level_names); i++)
		if (level_names[i].level == level)
			return level_names[i].name;
	return "?";
}

void ntm_log_init(const char *ident, bool foreground, int level)
{
	log_ident = ident ? ident : "ntm";
	log_foreground = foreground;
	log_level = clamp_level(level);
	if (!foreground)
		openlog(log_ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void ntm_log_set_level(int level)
{
	log_level = clamp_level(level);
}

int ntm_log_level_parse(const char *name, int *level)
{
	for (size_t i = 0; i < NTM_ARRAY_SIZE(level_names); i++) {
		if (strcmp(name, level_names[i].name) == 0) {
			*level = level_names[i].level;
			return 0;
		}
	}
	return -EINVAL;
}

/* One write for the whole line, so concurrent lines do not interleave. */
static void write_stderr(const char *line, size_t len)
{
	while (len) {
		ssize_t w = write(STDERR_FILENO, line, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		line += w;
		len -= (size_t)w;
	}
}

static void emit(int level, const char *msg)
{
	char line[NTM_LOG_MSG_MAX + 128];
	int n;

	if (!log_foreground) {
		syslog(level, "%s", msg);
		return;
	}
	n = snprintf(line, sizeof(line), "%s: %s: %s\n", log_ident, level_name(level), msg);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line)) {
		n = (int)sizeof(line) - 1;
		line[n - 1] = '\n';
	}
	write_stderr(line, (size_t)n);
}

/* Formats into buf; marks a cut message with a trailing "...". */
static void format_msg(char *buf, size_t size, const char *fmt, va_list ap)
{
	int n = vsnprintf(buf, size, fmt, ap);

	if (n < 0)
		snprintf(buf, size, "(bad log format '%s')", fmt);
	else if ((size_t)n >= size)
		memcpy(buf + size - 4, "...", 4);
}

static void vlog(int level, const char *fmt, va_list ap)
{
	char msg[NTM_LOG_MSG_MAX];
	int saved = errno;

	level = clamp_level(level);
	if (level > log_level)
		return;
	format_msg(msg, sizeof(msg), fmt, ap);
	emit(level, msg);
	errno = saved;
}

void ntm_log(int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(level, fmt, ap);
	va_end(ap);
}

static void vlog_errno(int level, int err, const char *fmt, va_list ap)
{
	char msg[NTM_LOG_MSG_MAX], ebuf[128];
	int saved = errno;

	level = clamp_level(level);
	if (level > log_level)
		return;
	format_msg(msg, sizeof(msg), fmt, ap);
	ntm_log(level, "%s: %s", msg, strerror_r(err < 0 ? -err : err, ebuf, sizeof(ebuf)));
	errno = saved;
}

void ntm_log_errno(int level, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog_errno(level, err, fmt, ap);
	va_end(ap);
}
