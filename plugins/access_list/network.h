// CIDR networks ("10.0.0.0/8", "::1/128", "192.168.1.7") and address matching.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "xueliang/status.h"

namespace xl::access {

class Network {
 public:
  static Result<Network> parse(const std::string& cidr);
  // `ip` without port; IPv4-mapped IPv6 addresses match IPv4 networks.
  bool contains(const std::string& ip) const;

 private:
  bool v6_ = false;
  std::array<uint8_t, 16> addr_{};
  int prefix_ = 0;
};

}  // namespace xl::access
