/* notify.h - tell the service manager how a daemon is doing (sd_notify,
 * libsystemd): READY=1 once it serves, STATUS= lines a user sees in
 * `systemctl status`, STOPPING=1 on the way out. The units are Type=notify
 * (systemd/ in the source tree). Started any other way (no NOTIFY_SOCKET in
 * the environment) every call does nothing. A failure to notify is not the
 * daemon's business: it is ignored (systemd times the start out). Under the
 * seccomp allow-list: sd_notify opens an AF_UNIX datagram socket and sends
 * one message, which every profile allows (lib/sandbox.c). */
#ifndef NTM_NOTIFY_H
#define NTM_NOTIFY_H

/* READY=1 with STATUS=the formatted text. */
void ntm_notify_ready(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* STATUS=the formatted text. */
void ntm_notify_status(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* STOPPING=1 with STATUS=the formatted text. */
void ntm_notify_stopping(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
