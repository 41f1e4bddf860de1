#include "webrtc/host_candidates.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <optional>

namespace xl::webrtc {
namespace {

// A parsed numeric address: its family and canonical text.
struct Ip {
  bool v6 = false;
  in6_addr a6{};
  in_addr a4{};
  std::string text;
};

std::optional<Ip> parseIp(const std::string& s) {
  Ip ip;
  char buf[INET6_ADDRSTRLEN];
  if (inet_pton(AF_INET, s.c_str(), &ip.a4) == 1) {
    ip.text = inet_ntop(AF_INET, &ip.a4, buf, sizeof buf);
    return ip;
  }
  if (inet_pton(AF_INET6, s.c_str(), &ip.a6) == 1) {
    ip.v6 = true;
    ip.text = inet_ntop(AF_INET6, &ip.a6, buf, sizeof buf);
    return ip;
  }
  return std::nullopt;
}

bool unspecified(const Ip& ip) {
  return ip.v6 ? IN6_IS_ADDR_UNSPECIFIED(&ip.a6) : ip.a4.s_addr == htonl(INADDR_ANY);
}

bool loopback(const Ip& ip) {
  return ip.v6 ? IN6_IS_ADDR_LOOPBACK(&ip.a6) : (ntohl(ip.a4.s_addr) >> 24) == 127;
}

// Addresses a browser cannot reach us at, whatever the socket serves.
bool neverCandidate(const Ip& ip) {
  return unspecified(ip) ||
         (ip.v6 && (IN6_IS_ADDR_LINKLOCAL(&ip.a6) || IN6_IS_ADDR_V4MAPPED(&ip.a6)));
}

}  // namespace

Result<std::string> checkIpAddress(const std::string& s, bool wildcardOk) {
  auto ip = parseIp(s);
  if (!ip) return Status::error("'" + s + "' is not a numeric IPv4 or IPv6 address");
  if (ip->v6 && IN6_IS_ADDR_LINKLOCAL(&ip->a6))
    return Status::error("'" + s + "' is IPv6 link-local: browsers cannot use it");
  if (ip->v6 && IN6_IS_ADDR_V4MAPPED(&ip->a6))
    return Status::error("'" + s + "' is IPv4-mapped: write the IPv4 address");
  if (!wildcardOk && unspecified(*ip)) return Status::error("'" + s + "' is no one's address");
  return ip->text;
}

bool isIpv6(const std::string& ip) {
  return ip.find(':') != std::string::npos;
}

std::string joinHostPort(const std::string& ip, int port) {
  return (isIpv6(ip) ? "[" + ip + "]" : ip) + ":" + std::to_string(port);
}

std::vector<std::string> hostCandidates(const std::string& listenIp, const std::string& publicIp,
                                        const std::vector<std::string>& interfaces) {
  std::vector<std::string> out;
  auto add = [&out](const Ip& ip) {
    if (!neverCandidate(ip) && std::find(out.begin(), out.end(), ip.text) == out.end())
      out.push_back(ip.text);
  };
  if (auto p = parseIp(publicIp)) add(*p);
  auto listen = parseIp(listenIp);
  if (!listen) return out;
  if (!unspecified(*listen)) {
    add(*listen);
    return out;
  }
  std::vector<Ip> local;
  for (const std::string& s : interfaces)
    if (auto ip = parseIp(s); ip && (listen->v6 || !ip->v6)) local.push_back(*ip);
  // RFC 8421 §4 prefers IPv6; loopback last in either family (stable: the system's order
  // otherwise).
  std::stable_sort(local.begin(), local.end(), [](const Ip& a, const Ip& b) {
    return std::make_pair(loopback(a), !a.v6) < std::make_pair(loopback(b), !b.v6);
  });
  for (const Ip& ip : local) add(ip);
  return out;
}

}  // namespace xl::webrtc
