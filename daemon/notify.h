/*
 * notify: systemd readiness without libsystemd (sd_notify protocol:
 * one datagram to the AF_UNIX socket named by $NOTIFY_SOCKET).
 */
#ifndef SIPD_NOTIFY_H
#define SIPD_NOTIFY_H

/* Sends state (e.g. "READY=1"); silently does nothing without systemd. */
void	notify_send(const char *state);

#endif
