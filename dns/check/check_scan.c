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

/* RFC 1071 Internet checksum (raw IPv4 ICMP: the kernel leaves it to us;
 * datagram ICMP and raw ICMPv6 sockets fill it in themselves). */
static uint16_t inet_cksum(const unsigned char *p, size_t n)
{
	uint32_t sum = 0;
	for (size_t i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		sum += (uint32_t)p[n - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static int icmp_socket(int family, enum check_icmp mode)
{
	int fam = family == 4 ? AF_INET : AF_INET6;
	int type = mode == CHECK_ICMP_RAW ? SOCK_RAW : SOCK_DGRAM;
	return socket(fam, type | SOCK_NONBLOCK | SOCK_CLOEXEC,
		      family == 4 ? IPPROTO_ICMP : IPPROTO_ICMPV6);
}

/* An ICMP echo to one target. A datagram ICMP socket gets its id from the
 * kernel and only this socket's replies. A raw socket sees every ICMP
 * packet of the host: connect() narrows it to the target's packets (Linux
 * raw sockets match a connected peer), the id tells our echo from another
 * process's, and on IPv6 a filter passes echo replies only. */
static int icmp_open(const struct check_target *t, enum check_icmp mode, uint16_t id)
{
	int fd = icmp_socket(t->family, mode);
	if (fd < 0)
		return -1;
	struct sockaddr_storage ss;
	socklen_t sl = fill_sa(t, 0, &ss);
	if (mode == CHECK_ICMP_RAW) {
		if (t->family == 6) {
			struct icmp6_filter f;
			ICMP6_FILTER_SETBLOCKALL(&f);
			ICMP6_FILTER_SETPASS(ICMP6_ECHO_REPLY, &f);
			setsockopt(fd, IPPROTO_ICMPV6, ICMP6_FILTER, &f, sizeof f);
		}
		if (connect(fd, (struct sockaddr *)&ss, sl) != 0) {
			close(fd);
			return -1;
		}
	}
	unsigned char pkt[16] = { 0 };
	pkt[0] = t->family == 4 ? ICMP_ECHO : ICMP6_ECHO_REQUEST;
	pkt[4] = (unsigned char)(id >> 8);
	pkt[5] = (unsigned char)id;
	pkt[7] = 1; /* sequence 1 */
	memcpy(pkt + 8, "skycheck", 8);
	if (mode == CHECK_ICMP_RAW && t->family == 4) {
		uint16_t ck = inet_cksum(pkt, sizeof pkt);
		pkt[2] = (unsigned char)(ck >> 8);
		pkt[3] = (unsigned char)ck;
	}
	if (sendto(fd, pkt, sizeof pkt, 0, (struct sockaddr *)&ss, sl) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* 1: an echo reply to our echo; 0: another packet (a raw socket also sees
 * the host's other ICMP, our own request when pinging ourselves). */
static int icmp_is_reply(const unsigned char *buf, size_t m, int family, enum check_icmp mode,
			 uint16_t id)
{
	if (mode == CHECK_ICMP_RAW && family == 4) { /* raw IPv4 reads the IP header too */
		if (m < 20)
			return 0;
		size_t ihl = (size_t)(buf[0] & 0x0f) * 4;
		if (ihl < 20 || m < ihl)
			return 0;
		buf += ihl;
		m -= ihl;
	}
	unsigned reply = family == 4 ? ICMP_ECHOREPLY : ICMP6_ECHO_REPLY;
	if (m < 8 || buf[0] != reply)
		return 0;
	if (mode == CHECK_ICMP_RAW && ((uint16_t)(buf[4] << 8 | buf[5])) != id)
		return 0;
	return 1;
}

const char *check_icmp_name(enum check_icmp mode)
{
	switch (mode) {
	case CHECK_ICMP_DGRAM: return "dgram";
	case CHECK_ICMP_RAW: return "raw";
	default: return "off";
	}
}

int check_icmp_pick(const char *want, enum check_icmp *mode, const char **why)
{
	bool any = !strcmp(want, "auto");
	if (!any && strcmp(want, "dgram") && strcmp(want, "raw")) {
		*why = "want auto, dgram or raw";
		return SKY_EINVAL;
	}
	static const char no_dgram[] =
		"unprivileged ICMP sockets are not allowed for this group: widen "
		"net.ipv4.ping_group_range (sysctl -w net.ipv4.ping_group_range='0 2147483647')";
	static const char no_raw[] = "raw ICMP sockets need CAP_NET_RAW";
	if (any || !strcmp(want, "dgram")) {
		int fd = icmp_socket(4, CHECK_ICMP_DGRAM);
		if (fd >= 0) {
			close(fd);
			*mode = CHECK_ICMP_DGRAM;
			return 0;
		}
		if (!any) {
			*why = errno == EACCES || errno == EPERM ? no_dgram : "cannot open an ICMP socket";
			return SKY_EAUTH;
		}
	}
	int fd = icmp_socket(4, CHECK_ICMP_RAW);
	if (fd >= 0) {
		close(fd);
		*mode = CHECK_ICMP_RAW;
		return 0;
	}
	*why = errno != EACCES && errno != EPERM ? "cannot open an ICMP socket"
	       : any ? "no ICMP socket: unprivileged ones are not allowed for this group (widen "
		       "net.ipv4.ping_group_range, e.g. sysctl -w net.ipv4.ping_group_range='0 "
		       "2147483647') and raw ones need CAP_NET_RAW"
		     : no_raw;
	return SKY_EAUTH;
}

struct probe {
	int fd;
	size_t target;
	bool icmp;
	uint16_t id; /* raw ICMP: our echo's identifier */
};

static int run_batch(struct check_target *t, size_t n, const uint16_t *ports, int nports,
		     enum check_icmp icmp, int timeout_ms)
{
	static uint16_t next_id;
	size_t per = (size_t)nports + (icmp != CHECK_ICMP_OFF ? 1 : 0);
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
			pr[np] = (struct probe){ fd, i, false, 0 };
			np++;
		}
		if (icmp != CHECK_ICMP_OFF && !t[i].ok) {
			uint16_t id = (uint16_t)(getpid() ^ (unsigned)(++next_id * 40503u));
			int fd = icmp_open(&t[i], icmp, id);
			if (fd >= 0) {
				pr[np] = (struct probe){ fd, i, true, id };
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
				unsigned char buf[512];
				ssize_t m = recv(p->fd, buf, sizeof buf, 0);
				if (m < 0 && (errno == EAGAIN || errno == EINTR))
					continue;
				if (m >= 0 && !icmp_is_reply(buf, (size_t)m, t[p->target].family, icmp,
							      p->id))
					continue; /* not ours: keep waiting */
				ok = m >= 0;
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

int check_run(struct check_target *t, size_t n, const uint16_t *ports, int nports,
	      enum check_icmp icmp, int timeout_ms)
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
