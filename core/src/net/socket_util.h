// Small helpers shared by the socket classes of core/src/net.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

namespace xl::net {

// The local port a socket is bound to (after binding to port 0, the one the kernel chose).
inline int localPort(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return 0;
  return ss.ss_family == AF_INET ? ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port)
                                 : ntohs(reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port);
}

// Before bind: an IPv6 socket bound to "::" is dual-stack (IPv4 peers arrive as
// ::ffff:a.b.c.d) whatever net.ipv6.bindv6only says; one bound to an IPv6 address serves IPv6
// alone. Nothing for IPv4.
inline void setDualStack(int fd, const sockaddr* bindTo) {
  if (bindTo->sa_family != AF_INET6) return;
  const auto* a6 = reinterpret_cast<const sockaddr_in6*>(bindTo);
  int v6only = IN6_IS_ADDR_UNSPECIFIED(&a6->sin6_addr) ? 0 : 1;
  setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof v6only);
}

}  // namespace xl::net
