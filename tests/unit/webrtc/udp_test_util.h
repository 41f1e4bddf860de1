// Loopback UDP helpers for the WebRTC send-path tests: a blocking receiver, the RTP packets of a
// video frame as the packetizer cuts them, an SRTP key.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <vector>

#include "rtp/rtp_packet.h"

namespace xl::test {

inline std::vector<uint8_t> key() {
  std::vector<uint8_t> k(28);
  for (size_t i = 0; i < k.size(); ++i) k[i] = static_cast<uint8_t>(3 + i * 5);
  return k;
}

// A blocking receiver on 127.0.0.1 in the test thread.
class Receiver {
 public:
  Receiver() {
    fd_ = ::socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    int buf = 8 << 20;  // a whole test's datagrams wait here
    if (::setsockopt(fd_, SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof buf) != 0)
      ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
    timeval tv{2, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  ~Receiver() { ::close(fd_); }
  int port() const { return port_; }
  // The next datagram, empty after the timeout.
  std::vector<uint8_t> next() {
    std::vector<uint8_t> d(70000);
    ssize_t n = ::recv(fd_, d.data(), d.size(), 0);
    d.resize(n > 0 ? static_cast<size_t>(n) : 0);
    return d;
  }

 private:
  int fd_ = -1;
  int port_ = 0;
};

// The RTP packets of one video frame as the packetizer cuts it: full-size fragments and a
// shorter last one, then a small packet (an SPS-sized NAL) of another size.
inline std::vector<std::vector<uint8_t>> frame(size_t full, size_t count, size_t last,
                                               size_t small) {
  std::vector<std::vector<uint8_t>> out;
  auto add = [&](size_t payload) {
    std::vector<uint8_t> p(rtp::kRtpHeaderSize + payload);
    const auto seq = static_cast<uint16_t>(out.size());
    rtp::writeRtpHeader(p.data(), false, 102, seq, 90000, 0x11223344);
    for (size_t i = rtp::kRtpHeaderSize; i < p.size(); ++i) p[i] = static_cast<uint8_t>(i + seq);
    out.push_back(std::move(p));
  };
  for (size_t i = 0; i < count; ++i) add(full);
  if (last) add(last);
  if (small) add(small);
  return out;
}

}  // namespace xl::test
