#include <arpa/inet.h>
#include <netinet/in.h>

#include "check.h"
#include "err.h"
#include "netaddr.h"

TEST(listen_addresses)
{
	struct sockaddr_storage ss;
	socklen_t len;
	CHECK_INT(netaddr_parse("127.0.0.1:53", NETADDR_LISTEN, &ss, &len), 0);
	CHECK_INT(ss.ss_family, AF_INET);
	CHECK_INT((int)netaddr_port(&ss), 53);
	CHECK_INT(len, sizeof(struct sockaddr_in));
	CHECK_INT(netaddr_parse("[::1]:5353", NETADDR_LISTEN, &ss, &len), 0);
	CHECK_INT(ss.ss_family, AF_INET6);
	CHECK_INT((int)netaddr_port(&ss), 5353);
	CHECK_INT(netaddr_parse(":8081", NETADDR_LISTEN, &ss, &len), 0); /* every IPv4 address */
	CHECK_INT(ss.ss_family, AF_INET);
	CHECK_INT(((struct sockaddr_in *)&ss)->sin_addr.s_addr, htonl(INADDR_ANY));
	CHECK_INT(netaddr_parse("127.0.0.1:0", NETADDR_LISTEN, &ss, &len), 0); /* any free port */
	CHECK_INT(netaddr_parse("127.0.0.1", NETADDR_LISTEN, &ss, &len), SKY_EINVAL);
	CHECK_INT(netaddr_parse("127.0.0.1:65536", NETADDR_LISTEN, &ss, &len), SKY_EINVAL);
	CHECK_INT(netaddr_parse("127.0.0.1:", NETADDR_LISTEN, &ss, &len), SKY_EINVAL);
	CHECK_INT(netaddr_parse("localhost:53", NETADDR_LISTEN, &ss, &len), SKY_EINVAL);
	CHECK_INT(netaddr_parse("tcp://10.0.0.1:9090", NETADDR_LISTEN, &ss, &len), SKY_EINVAL);
	CHECK_INT(netaddr_parse("[::1", NETADDR_LISTEN, &ss, &len), SKY_EINVAL);
	CHECK_INT(netaddr_parse("[::1]x", NETADDR_LISTEN, &ss, &len), SKY_EINVAL);
	CHECK_INT(netaddr_parse(NULL, NETADDR_LISTEN, &ss, &len), SKY_EINVAL);
}

TEST(peer_addresses)
{
	struct sockaddr_storage ss;
	socklen_t len;
	CHECK_INT(netaddr_parse("10.0.0.1", NETADDR_PEER, &ss, &len), 0);
	CHECK_INT((int)netaddr_port(&ss), 53);
	CHECK_INT(netaddr_parse("::1", NETADDR_PEER, &ss, &len), 0); /* bare IPv6: all host */
	CHECK_INT(ss.ss_family, AF_INET6);
	CHECK_INT((int)netaddr_port(&ss), 53);
	CHECK_INT(netaddr_parse("[fd00::1]", NETADDR_PEER, &ss, &len), 0);
	CHECK_INT(netaddr_parse("[fd00::1]:5300", NETADDR_PEER, &ss, &len), 0);
	CHECK_INT((int)netaddr_port(&ss), 5300);
	CHECK_INT(netaddr_parse(":53", NETADDR_PEER, &ss, &len), SKY_EINVAL);
	CHECK_INT(netaddr_parse("10.0.0.1:0", NETADDR_PEER, &ss, &len), SKY_EINVAL);
	CHECK_INT(netaddr_parse("10.0.0.1:99999", NETADDR_PEER, &ss, &len), SKY_EINVAL);
	CHECK_INT(netaddr_parse("example.com:53", NETADDR_PEER, &ss, &len), SKY_EINVAL);
}

int main(void)
{
	RUN(listen_addresses);
	RUN(peer_addresses);
	return CHECK_DONE();
}
