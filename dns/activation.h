/* activation.h - systemd socket activation (LISTEN_FDS protocol) and the
 * other process-level edges of the daemon: readiness notification and
 * dropping root.
 */
#ifndef SKYDNS_ACTIVATION_H
#define SKYDNS_ACTIVATION_H

#include <stdbool.h>

#define ACTIVATION_MAX_FDS 16

struct activated {
	int nfds;
	int fds[ACTIVATION_MAX_FDS];
	bool tcp[ACTIVATION_MAX_FDS]; /* SOCK_STREAM listener (else a UDP socket) */
};

/* Take the sockets systemd passed (LISTEN_PID must be this process;
 * LISTEN_FDS/LISTEN_FDNAMES/LISTEN_PID are unset afterwards). Sockets that
 * are neither UDP nor listening TCP are rejected. Returns the count (0 if
 * none were passed or LISTEN_PID names another process), or SKY_EINVAL with
 * `why` filled. */
int activation_sockets(struct activated *out, char *why, unsigned whycap);

/* sd_notify wrappers; no-ops when not run by systemd. */
void activation_ready(const char *status);
void activation_stopping(void);

/* Drop root: setgroups/setgid/setuid to `user` (a name). 0 on success,
 * SKY_ENOTFOUND for an unknown user, SKY_EAUTH if a step fails, SKY_OK
 * without doing anything when not root. */
int activation_drop_privileges(const char *user);

#endif
