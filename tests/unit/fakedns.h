/* fakedns.h - a scripted DNS server for unit tests: a thread in the test
 * process answering UDP and TCP on one 127.0.0.1 port. The first label of
 * the question picks the behaviour: "silent" (no reply), "servfail", "tc"
 * (UDP: truncated, empty), "wrongid" (a bad-ID copy, then the good reply),
 * "onlywrongid", "wrongq" (another question), "noedns" (FORMERR to a
 * query with OPT), "huge" (40 A records, ignoring the buffer size),
 * "poison" (plus an A record for "evil."), "garbage" (UDP: 7 junk bytes
 * and a QR=0 copy first), "late" (UDP reply after
 * 700 ms, blocking the fake meanwhile);
 * anything else gets
 * A 192.0.2.1 (UDP) / 192.0.2.2 (TCP), or AAAA 2001:db8::1 for AAAA.
 * It counts queries and keeps the IDs, source ports and the last query. */
#ifndef SKYDNS_TEST_FAKEDNS_H
#define SKYDNS_TEST_FAKEDNS_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "answer.h"
#include "pktwalk.h"

/* ---------------------------------------------------------------- server */

struct fake {
	int udp, tcp;
	unsigned port;
	pthread_t th;
	atomic_bool stop;
	atomic_int queries;
	uint16_t ids[64];
	unsigned ports[64];
	pthread_mutex_t mu;
	uint8_t last[4096];  /* the last query received, under mu */
	size_t last_len;
};

static void fake_note(struct fake *f, const uint8_t *q, size_t n)
{
	pthread_mutex_lock(&f->mu);
	f->last_len = n <= sizeof f->last ? n : 0;
	memcpy(f->last, q, f->last_len);
	pthread_mutex_unlock(&f->mu);
}

/* The behaviour is chosen by the first label of the question. */
static size_t fake_answer(const uint8_t *q, size_t n, bool tcp, uint8_t *out, int *extra)
{
	size_t qend;
	uint16_t qtype;
	if (pktwalk_question(q, n, &qend, &qtype, NULL) < 0)
		return 0;
	const char *l = (const char *)q + 13;
	size_t ll = q[12];
	memcpy(out, q, qend);
	out[2] = 0x80 | (q[2] & 0x01);
	out[3] = 0x80;
	pkt_put16(out + 6, 1);
	pkt_put16(out + 8, 0);
	pkt_put16(out + 10, 0);
	uint8_t *o = out + qend;
	o[0] = 0xc0, o[1] = 12;
	pkt_put16(o + 2, T_A);
	pkt_put16(o + 4, C_IN);
	pkt_put32(o + 6, 300);
	pkt_put16(o + 10, 4);
	o[12] = 192, o[13] = 0, o[14] = 2, o[15] = tcp ? 2 : 1;
	size_t len = qend + 16;
	if (qtype == T_AAAA) {
		static const uint8_t v6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1};
		pkt_put16(o + 2, T_AAAA);
		pkt_put16(o + 10, 16);
		memcpy(o + 12, v6, 16);
		len = qend + 28;
	}
	*extra = 0;
	if (ll == 6 && memcmp(l, "silent", 6) == 0)
		return 0;
	if (ll == 8 && memcmp(l, "servfail", 8) == 0) {
		out[3] = 0x82;
		pkt_put16(out + 6, 0);
		return qend;
	}
	if (ll == 2 && memcmp(l, "tc", 2) == 0 && !tcp) {
		out[2] |= 0x02;
		pkt_put16(out + 6, 0);
		return qend;
	}
	if (ll == 4 && memcmp(l, "huge", 4) == 0) {
		/* 40 A records, whatever the client's buffer size */
		for (int i = 1; i < 40; i++) {
			memcpy(out + len, o, 16);
			out[len + 15] = (uint8_t)(10 + i);
			len += 16;
		}
		pkt_put16(out + 6, 40);
		return len;
	}
	if (ll == 6 && memcmp(l, "poison", 6) == 0) {
		/* an extra record about another name ("evil.") */
		static const uint8_t evil[] = {4, 'e', 'v', 'i', 'l', 0, 0, 1, 0, 1, 0, 0, 1, 44,
					       0, 4, 203, 0, 113, 66};
		memcpy(out + len, evil, sizeof evil);
		len += sizeof evil;
		pkt_put16(out + 6, 2);
		return len;
	}
	struct pkt_rr opt;
	if (ll == 6 && memcmp(l, "noedns", 6) == 0 && pktwalk_find_opt(q, n, &opt) == 1) {
		out[3] = 0x81; /* FORMERR, no OPT: a pre-EDNS server (RFC 6891 §7) */
		pkt_put16(out + 6, 0);
		pkt_put16(out + 10, 0);
		return qend;
	}
	if (ll == 7 && memcmp(l, "wrongid", 7) == 0)
		*extra = 1; /* a bad-ID copy first, then the good one */
	if (ll == 11 && memcmp(l, "onlywrongid", 11) == 0)
		pkt_put16(out, (uint16_t)(pkt_get16(out) + 1));
	if (ll == 6 && memcmp(l, "wrongq", 6) == 0)
		out[13] = 'x'; /* a different name */
	return len;
}

static void fake_udp(struct fake *f)
{
	uint8_t q[4096], a[4096];
	struct sockaddr_in from;
	socklen_t fl = sizeof from;
	ssize_t n = recvfrom(f->udp, q, sizeof q, 0, (struct sockaddr *)&from, &fl);
	if (n < PKT_HDR)
		return;
	fake_note(f, q, (size_t)n);
	/* One thread serves both transports: the ID and port are written before
	 * the count that makes them visible to the test (its atomic load). */
	int i = atomic_load(&f->queries);
	if (i < 64) {
		f->ids[i] = pkt_get16(q);
		f->ports[i] = ntohs(from.sin_port);
	}
	atomic_store(&f->queries, i + 1);
	int extra;
	size_t len = fake_answer(q, (size_t)n, false, a, &extra);
	if (!len)
		return;
	if (q[12] == 4 && memcmp(q + 13, "late", 4) == 0)
		usleep(700000); /* slower than the client's attempt timeout */
	if (q[12] == 7 && memcmp(q + 13, "garbage", 7) == 0) {
		/* junk, then the reply with QR clear, then the real one */
		sendto(f->udp, "\x01\x02\x03\x04\x05\x06\x07", 7, 0, (struct sockaddr *)&from, fl);
		a[2] &= 0x7f;
		sendto(f->udp, a, len, 0, (struct sockaddr *)&from, fl);
		a[2] |= 0x80;
	}
	if (extra) {
		pkt_put16(a, (uint16_t)(pkt_get16(a) ^ 0x5555));
		sendto(f->udp, a, len, 0, (struct sockaddr *)&from, fl);
		pkt_put16(a, (uint16_t)(pkt_get16(a) ^ 0x5555));
	}
	sendto(f->udp, a, len, 0, (struct sockaddr *)&from, fl);
}

static void fake_tcp(struct fake *f)
{
	int c = accept(f->tcp, NULL, NULL);
	if (c < 0)
		return;
	struct timeval tv = {.tv_sec = 2};
	setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	uint8_t q[4096], a[4096 + 2];
	ssize_t n = recv(c, q, 2, MSG_WAITALL);
	size_t ql = n == 2 ? pkt_get16(q) : 0;
	if (ql && ql <= sizeof q && recv(c, q, ql, MSG_WAITALL) == (ssize_t)ql) {
		fake_note(f, q, ql);
		atomic_fetch_add(&f->queries, 1);
		int extra;
		size_t len = fake_answer(q, ql, true, a + 2, &extra);
		if (len) {
			pkt_put16(a, (uint16_t)len);
			/* two writes: the client must reassemble */
			send(c, a, 3, MSG_NOSIGNAL);
			usleep(20000);
			send(c, a + 3, len - 1, MSG_NOSIGNAL);
		}
	}
	close(c);
}

static void *fake_main(void *arg)
{
	struct fake *f = arg;
	while (!atomic_load(&f->stop)) {
		struct pollfd p[2] = {{.fd = f->udp, .events = POLLIN}, {.fd = f->tcp, .events = POLLIN}};
		if (poll(p, 2, 100) <= 0)
			continue;
		if (p[0].revents)
			fake_udp(f);
		if (p[1].revents)
			fake_tcp(f);
	}
	return NULL;
}

static inline int fake_start(struct fake *f)
{
	memset(f, 0, sizeof *f);
	pthread_mutex_init(&f->mu, NULL);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	for (int tries = 0; tries < 50; tries++) {
		f->tcp = socket(AF_INET, SOCK_STREAM, 0);
		int one = 1;
		setsockopt(f->tcp, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
		a.sin_port = 0;
		socklen_t al = sizeof a;
		if (bind(f->tcp, (struct sockaddr *)&a, sizeof a) < 0 ||
		    getsockname(f->tcp, (struct sockaddr *)&a, &al) < 0 || listen(f->tcp, 16) < 0) {
			close(f->tcp);
			continue;
		}
		f->udp = socket(AF_INET, SOCK_DGRAM, 0);
		if (bind(f->udp, (struct sockaddr *)&a, sizeof a) == 0) {
			f->port = ntohs(a.sin_port);
			return pthread_create(&f->th, NULL, fake_main, f);
		}
		close(f->udp);
		close(f->tcp);
	}
	return -1;
}

static inline void fake_stop(struct fake *f)
{
	if (!f->port)
		return;
	atomic_store(&f->stop, true);
	pthread_join(f->th, NULL);
	close(f->udp);
	close(f->tcp);
}

/* A port nobody listens on (bound then closed). */
static inline unsigned dead_port(void)
{
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t al = sizeof a;
	bind(s, (struct sockaddr *)&a, sizeof a);
	getsockname(s, (struct sockaddr *)&a, &al);
	close(s);
	return ntohs(a.sin_port);
}

#endif
