#include "activation.h"

#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "err.h"

int activation_sockets(struct activated *out, char *why, unsigned whycap)
{
	out->nfds = 0;
	/* sd_listen_fds checks LISTEN_PID == getpid() and unsets the variables
	 * (unset_environment = 1), so a child we exec never inherits them. */
	int n = sd_listen_fds(1);
	if (n < 0) {
		snprintf(why, whycap, "sd_listen_fds: %s", strerror(-n));
		return SKY_EINVAL;
	}
	if (n > ACTIVATION_MAX_FDS) {
		snprintf(why, whycap, "%d sockets passed, at most %d supported", n, ACTIVATION_MAX_FDS);
		return SKY_EINVAL;
	}
	for (int i = 0; i < n; i++) {
		int fd = SD_LISTEN_FDS_START + i;
		if (sd_is_socket(fd, AF_UNSPEC, SOCK_DGRAM, -1) > 0) {
			out->tcp[i] = false;
		} else if (sd_is_socket(fd, AF_UNSPEC, SOCK_STREAM, 1) > 0) {
			out->tcp[i] = true;
		} else {
			snprintf(why, whycap, "fd %d is neither a UDP socket nor a listening TCP socket", fd);
			return SKY_EINVAL;
		}
		out->fds[i] = fd;
		out->nfds++;
	}
	return n;
}

void activation_ready(const char *status)
{
	sd_notifyf(0, "READY=1\nSTATUS=%s", status ? status : "serving");
}

void activation_stopping(void)
{
	sd_notify(0, "STOPPING=1");
}

int activation_drop_privileges(const char *user)
{
	if (!user || !user[0] || geteuid() != 0)
		return SKY_OK;
	struct passwd *pw = getpwnam(user);
	if (!pw)
		return SKY_ENOTFOUND;
	if (setgroups(0, NULL) < 0 || setgid(pw->pw_gid) < 0 || setuid(pw->pw_uid) < 0)
		return SKY_EAUTH;
	if (setuid(0) == 0) /* must not be able to regain root */
		return SKY_EAUTH;
	return SKY_OK;
}
