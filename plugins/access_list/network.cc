#include "network.h"

#include <arpa/inet.h>

#include <cstring>

namespace xl::access {
namespace {

// Parses an address into 16 bytes; IPv4 (and IPv4-mapped IPv6) land in the first 4.
bool parseAddress(const std::string& s, bool& v6, std::array<uint8_t, 16>& out) {
  in_addr a4{};
  if (inet_pton(AF_INET, s.c_str(), &a4) == 1) {
    v6 = false;
    out.fill(0);
    std::memcpy(out.data(), &a4, 4);
    return true;
  }
  in6_addr a6{};
  if (inet_pton(AF_INET6, s.c_str(), &a6) != 1) return false;
  static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (std::memcmp(a6.s6_addr, mapped, 12) == 0) {
    v6 = false;
    out.fill(0);
    std::memcpy(out.data(), a6.s6_addr + 12, 4);
    return true;
  }
  v6 = true;
  std::memcpy(out.data(), a6.s6_addr, 16);
  return true;
}

}  // namespace

Result<Network> Network::parse(const std::string& cidr) {
  Network n;
  auto slash = cidr.find('/');
  std::string addr = cidr.substr(0, slash);
  if (!parseAddress(addr, n.v6_, n.addr_))
    return Status::error("'" + cidr + "' is not an IP network");
  // An IPv4-mapped network ("::ffff:10.0.0.0/104") is written with an IPv6 prefix length.
  const bool mapped = !n.v6_ && addr.find(':') != std::string::npos;
  int maxPrefix = n.v6_ || mapped ? 128 : 32;
  n.prefix_ = n.v6_ ? 128 : 32;
  if (slash != std::string::npos) {
    std::string p = cidr.substr(slash + 1);
    if (p.empty() || p.size() > 3 || p.find_first_not_of("0123456789") != std::string::npos ||
        std::stoi(p) > maxPrefix || (mapped && std::stoi(p) < 96))
      return Status::error("'" + cidr + "' has a bad prefix length");
    n.prefix_ = std::stoi(p) - (mapped ? 96 : 0);
  }
  return n;
}

bool Network::contains(const std::string& ip) const {
  bool v6 = false;
  std::array<uint8_t, 16> a{};
  if (!parseAddress(ip, v6, a) || v6 != v6_) return false;
  int bits = prefix_;
  for (int i = 0; bits > 0; ++i, bits -= 8) {
    uint8_t mask = bits >= 8 ? 0xff : static_cast<uint8_t>(0xff << (8 - bits));
    if ((a[i] & mask) != (addr_[i] & mask)) return false;
  }
  return true;
}

}  // namespace xl::access
