/* test_dname.c - the name rules skydns applies to etcd keys and hosts and
 * kube2sky to what it writes: label and name lengths, empty labels,
 * escapes, hosts as addresses or names. */
#include "dname.h"
#include "err.h"
#include "check.h"

#include <string.h>

static char *repeat(char *buf, char c, int n)
{
	memset(buf, c, (size_t)n);
	buf[n] = '\0';
	return buf;
}

/* n one-byte labels "a.a.a...a." */
static char *labels(char *buf, int n)
{
	for (int i = 0; i < n; i++) {
		buf[2 * i] = 'a';
		buf[2 * i + 1] = '.';
	}
	buf[2 * n] = '\0';
	return buf;
}

TEST(good_names)
{
	CHECK_INT(dname_check("1.rails.east.skydns.local.", NULL), 0);
	CHECK_INT(dname_check("rails.local", NULL), 0); /* relative */
	CHECK_INT(dname_check(".", NULL), 0);
	CHECK_INT(dname_check("_http._tcp.web.default.svc.cluster.local.", NULL), 0);
	CHECK_INT(dname_check("*.skydns.local.", NULL), 0);
	CHECK_INT(dname_check("a\\.b.local.", NULL), 0); /* escaped dot inside a label */
	CHECK_INT(dname_check("a\\032b.local.", NULL), 0);
}

TEST(label_length)
{
	char l[80], n[100];
	snprintf(n, sizeof n, "%s.local.", repeat(l, 'x', 63));
	CHECK_INT(dname_check(n, NULL), 0);
	snprintf(n, sizeof n, "%s.local.", repeat(l, 'x', 64));
	const char *why = NULL;
	CHECK_INT(dname_check(n, &why), SKY_EPARSE);
	CHECK_STR(why, "label over 63 bytes");
	/* the 74-character ExternalName label of the issue */
	snprintf(n, sizeof n, "%s.example.com", repeat(l, 'e', 74));
	CHECK_INT(dname_check(n, NULL), SKY_EPARSE);
	/* an escape is one byte: 21 "\046" escapes plus 42 bytes is 63 */
	char e[200] = "";
	for (int i = 0; i < 21; i++)
		strcat(e, "\\046");
	strcat(e, repeat(l, 'y', 42));
	CHECK_INT(dname_check(e, NULL), 0);
	strcat(e, "y");
	CHECK_INT(dname_check(e, NULL), SKY_EPARSE);
}

TEST(empty_labels)
{
	const char *why = NULL;
	CHECK_INT(dname_check("a..b.local.", &why), SKY_EPARSE);
	CHECK_STR(why, "empty label");
	CHECK_INT(dname_check(".local.", NULL), SKY_EPARSE);
	CHECK_INT(dname_check("local..", NULL), SKY_EPARSE);
	CHECK_INT(dname_check("..", NULL), SKY_EPARSE);
	why = NULL;
	CHECK_INT(dname_check("", &why), SKY_EPARSE);
	CHECK_STR(why, "empty name");
	CHECK_INT(dname_check(NULL, NULL), SKY_EPARSE);
}

TEST(name_length)
{
	char n[600];
	/* 127 one-byte labels: 127 * 2 + 1 = 255 bytes on the wire */
	CHECK_INT(dname_check(labels(n, 127), NULL), 0);
	const char *why = NULL;
	CHECK_INT(dname_check(labels(n, 128), &why), SKY_EPARSE);
	CHECK_STR(why, "name over 255 bytes");
	/* relative names are measured with the root label too */
	n[2 * 128 - 1] = '\0';
	CHECK_INT(dname_check(n, NULL), SKY_EPARSE);
}

TEST(bad_escapes)
{
	const char *why = NULL;
	CHECK_INT(dname_check("a\\", &why), SKY_EPARSE);
	CHECK_STR(why, "bad escape");
	CHECK_INT(dname_check("a\\25.local.", NULL), SKY_EPARSE);
	CHECK_INT(dname_check("a\\256.local.", NULL), SKY_EPARSE);
}

TEST(hosts)
{
	CHECK_INT(dname_check_host("10.0.0.1", NULL), 0);
	CHECK_INT(dname_check_host("fd00::1", NULL), 0);
	CHECK_INT(dname_check_host("::ffff:10.0.0.1", NULL), 0);
	CHECK_INT(dname_check_host("db.example.com", NULL), 0);
	CHECK_INT(dname_check_host("db.example.com.", NULL), 0);
	char l[80], n[100];
	snprintf(n, sizeof n, "%s.example.com", repeat(l, 'h', 64));
	const char *why = NULL;
	CHECK_INT(dname_check_host(n, &why), SKY_EPARSE);
	CHECK_STR(why, "label over 63 bytes");
	CHECK_INT(dname_check_host("db..example.com", NULL), SKY_EPARSE);
	CHECK_INT(dname_check_host("", NULL), SKY_EPARSE);
}

int main(void)
{
	RUN(good_names);
	RUN(label_length);
	RUN(empty_labels);
	RUN(name_length);
	RUN(bad_escapes);
	RUN(hosts);
	return CHECK_DONE();
}
