/* notify.c - see notify.h. */
#include "notify.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include <systemd/sd-daemon.h>

/* One message: the fixed head ("READY=1\n" ...) and STATUS=text. The
 * status is cut at 200 bytes: it is one line in `systemctl status`. */
static void notify(const char *head, const char *fmt, va_list ap)
{
	char status[200], msg[256];

	if (!getenv("NOTIFY_SOCKET"))
		return;
	vsnprintf(status, sizeof(status), fmt, ap);
	snprintf(msg, sizeof(msg), "%sSTATUS=%s", head, status);
	(void)sd_notify(0, msg);
}

void ntm_notify_ready(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	notify("READY=1\n", fmt, ap);
	va_end(ap);
}

void ntm_notify_status(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	notify("", fmt, ap);
	va_end(ap);
}

void ntm_notify_stopping(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	notify("STOPPING=1\n", fmt, ap);
	va_end(ap);
}
