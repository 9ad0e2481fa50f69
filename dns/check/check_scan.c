/* check_scan.c - one round of checks, all at once: a non-blocking TCP
 * connect per (address, port) and optionally an ICMP echo per address, in
 * one poll(2) loop bounded by the round's timeout. */
#include "checker.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <netinet/ip_icmp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "err.h"

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static socklen_t fill_sa(const struct check_target *t, uint16_t port, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof *ss);
	if (t->family == 4) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		memcpy(&s4->sin_addr, t->addr, 4);
		return sizeof *s4;
	}
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
	s6->sin6_family = AF_INET6;
	s6->sin6_port = htons(port);
	memcpy(&s6->sin6_addr, t->addr, 16);
	return sizeof *s6;
}

/* An ICMP echo over a datagram ICMP socket (the kernel sets the id and
 * checks replies belong to this socket). */
static int icmp_open(const struct check_target *t)
{
	int fam = t->family == 4 ? AF_INET : AF_INET6;
	int fd = socket(fam, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
			t->family == 4 ? IPPROTO_ICMP : IPPROTO_ICMPV6);
	if (fd < 0)
		return -1;
	struct sockaddr_storage ss;
	socklen_t sl = fill_sa(t, 0, &ss);
	unsigned char pkt[16] = { 0 };
	pkt[0] = t->family == 4 ? ICMP_ECHO : ICMP6_ECHO_REQUEST;
	pkt[6] = 0;
	pkt[7] = 1; /* sequence 1 */
	memcpy(pkt + 8, "skycheck", 8);
	if (sendto(fd, pkt, sizeof pkt, 0, (struct sockaddr *)&ss, sl) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

bool check_icmp_available(const char **why)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, IPPROTO_ICMP);
	if (fd >= 0) {
		close(fd);
		return true;
	}
	*why = errno == EACCES || errno == EPERM
		       ? "unprivileged ICMP sockets are not allowed for this group: widen "
			 "net.ipv4.ping_group_range (sysctl -w net.ipv4.ping_group_range='0 "
			 "2147483647') or drop -enable-icmp"
		       : "cannot open an ICMP socket";
	return false;
}

struct probe {
	int fd;
	size_t target;
	bool icmp;
};

static int run_batch(struct check_target *t, size_t n, const uint16_t *ports, int nports,
		     bool icmp, int timeout_ms)
{
	size_t per = (size_t)nports + (icmp ? 1 : 0);
	size_t cap = n * per;
	struct probe *pr = calloc(cap ? cap : 1, sizeof *pr);
	struct pollfd *pf = calloc(cap ? cap : 1, sizeof *pf);
	size_t *ix = calloc(cap ? cap : 1, sizeof *ix);
	if (!pr || !pf || !ix) {
		free(pr);
		free(pf);
		free(ix);
		return SKY_ENOMEM;
	}
	size_t np = 0;
	for (size_t i = 0; i < n; i++) {
		t[i].ok = false;
		for (int j = 0; j < nports; j++) {
			struct sockaddr_storage ss;
			socklen_t sl = fill_sa(&t[i], ports[j], &ss);
			int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
			if (fd < 0)
				continue; /* out of descriptors: counts as a failure this round */
			int rc = connect(fd, (struct sockaddr *)&ss, sl);
			if (rc == 0) {
				t[i].ok = true;
				close(fd);
				continue;
			}
			if (errno != EINPROGRESS) {
				close(fd);
				continue;
			}
			pr[np] = (struct probe){ fd, i, false };
			np++;
		}
		if (icmp && !t[i].ok) {
			int fd = icmp_open(&t[i]);
			if (fd >= 0) {
				pr[np] = (struct probe){ fd, i, true };
				np++;
			}
		}
	}
	int64_t end = now_ms() + timeout_ms;
	for (;;) {
		size_t k = 0;
		for (size_t i = 0; i < np; i++) {
			if (pr[i].fd < 0)
				continue;
			if (t[pr[i].target].ok) { /* another port already answered */
				close(pr[i].fd);
				pr[i].fd = -1;
				continue;
			}
			ix[k] = i;
			pf[k++] = (struct pollfd){ .fd = pr[i].fd, .events = pr[i].icmp ? POLLIN : POLLOUT };
		}
		int64_t left = end - now_ms();
		if (k == 0 || left <= 0)
			break;
		int rc = poll(pf, k, (int)left);
		if (rc < 0 && errno != EINTR)
			break;
		if (rc <= 0)
			continue;
		for (size_t a = 0; a < k; a++) {
			if (!pf[a].revents)
				continue;
			struct probe *p = &pr[ix[a]];
			bool ok = false;
			if (p->icmp) {
				unsigned char buf[256];
				ssize_t m = recv(p->fd, buf, sizeof buf, 0);
				unsigned reply = t[p->target].family == 4 ? ICMP_ECHOREPLY : ICMP6_ECHO_REPLY;
				if (m < 0 && (errno == EAGAIN || errno == EINTR))
					continue;
				ok = m >= 8 && buf[0] == reply;
			} else {
				int err = 0;
				socklen_t el = sizeof err;
				ok = getsockopt(p->fd, SOL_SOCKET, SO_ERROR, &err, &el) == 0 && err == 0;
			}
			if (ok)
				t[p->target].ok = true;
			close(p->fd);
			p->fd = -1;
		}
	}
	for (size_t i = 0; i < np; i++)
		if (pr[i].fd >= 0)
			close(pr[i].fd);
	free(pr);
	free(pf);
	free(ix);
	return 0;
}

/* Batches keep the descriptors in use bounded; each batch has the whole
 * timeout (a round takes at most ceil(n / CHECK_BATCH) timeouts). */
#define CHECK_BATCH 256

int check_run(struct check_target *t, size_t n, const uint16_t *ports, int nports, bool icmp,
	      int timeout_ms)
{
	for (size_t i = 0; i < n; i += CHECK_BATCH) {
		size_t m = n - i < CHECK_BATCH ? n - i : CHECK_BATCH;
		int rc = run_batch(t + i, m, ports, nports, icmp, timeout_ms);
		if (rc != 0)
			return rc;
	}
	return 0;
}

int check_parse_ports(const char *s, uint16_t *ports, int cap)
{
	int n = 0;
	const char *p = s;
	while (*p) {
		char *e;
		if (*p < '0' || *p > '9')
			return -1; /* no sign, no blanks ("22, 80" is a mistake) */
		errno = 0;
		long v = strtol(p, &e, 10);
		if (e == p || errno || v < 1 || v > 65535 || n >= cap || (*e && *e != ','))
			return -1;
		ports[n++] = (uint16_t)v;
		p = *e ? e + 1 : e;
		if (*e == ',' && !*p)
			return -1;
	}
	return n;
}
