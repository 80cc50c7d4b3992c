/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The service manager notification protocol (sd_notify(3)), written natively:
 * one datagram of NEWLINE-separated VAR=VALUE to the unix socket named by
 * $NOTIFY_SOCKET (a path, or "@name" for the abstract namespace).  Without
 * $NOTIFY_SOCKET every call does nothing.  Loop thread only.
 */
#pragma once

/* Read and unset $NOTIFY_SOCKET, so probes and other children do not
 * inherit it and cannot speak for vaned.  Call once at start. */
void notify_init(void);

/* Started and serving: READY=1 with a STATUS= line. */
void notify_ready(const char *status);
/* A reload begins: RELOADING=1 and MONOTONIC_USEC= (systemd >= 253 wants
 * both for Type=notify-reload; older versions ignore what they don't know). */
void notify_reloading(void);
/* Shutting down: STOPPING=1. */
void notify_stopping(void);
/* Send `text` as is (e.g. "STATUS=..."); returns 0 or VANE_E*. */
int notify_send(const char *text);
