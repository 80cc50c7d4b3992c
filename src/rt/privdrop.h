/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * `server.user`: give up root after the sockets are bound.  Files the
 * daemon keeps writing after the switch (the control socket, the state
 * directory and its files) are handed to the user first.
 */
#pragma once

/* Switch the whole process (every thread: glibc broadcasts set*id) to
 * `user` and its primary group, with no supplementary groups.  `control`
 * and `state_dir` (may be NULL) are chowned before.  Returns 0, or
 * VANE_ENOENT for an unknown user, -EPERM when not permitted, or
 * another VANE_E* code; the process is unchanged on failure before the
 * switch, and a failure after it is not possible to undo, so callers stop. */
int privdrop(const char *user, const char *control, const char *state_dir);
