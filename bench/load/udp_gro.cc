#include "udp_gro.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/udp.h>

#include <cstring>

#ifndef UDP_GRO
#define UDP_GRO 104  // linux/udp.h, Linux 5.0
#endif

namespace xlload {

bool enableUdpGro(int fd) {
  int one = 1;
  return ::setsockopt(fd, IPPROTO_UDP, UDP_GRO, &one, sizeof one) == 0;
}

GroReceiver::GroReceiver() {
  for (int i = 0; i < kMessages; ++i) {
    iov_[i] = {bufs_[i], kBuffer};
    msgs_[i] = {};
  }
}

int GroReceiver::receive(int fd) {
  // msg_controllen is an in/out field: every slot is reset before each call.
  for (int i = 0; i < kMessages; ++i) {
    msghdr& h = msgs_[i].msg_hdr;
    h = {};
    h.msg_iov = &iov_[i];
    h.msg_iovlen = 1;
    h.msg_control = control_[i];
    h.msg_controllen = sizeof control_[i];
  }
  int n = ::recvmmsg(fd, msgs_, kMessages, MSG_DONTWAIT, nullptr);
  if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
  return n;
}

size_t GroReceiver::segment(int i) const {
  const msghdr& h = msgs_[i].msg_hdr;
  for (cmsghdr* c = CMSG_FIRSTHDR(&h); c; c = CMSG_NXTHDR(const_cast<msghdr*>(&h), c)) {
    if (c->cmsg_level != SOL_UDP || c->cmsg_type != UDP_GRO) continue;
    int seg = 0;
    std::memcpy(&seg, CMSG_DATA(c), sizeof seg);
    return seg > 0 ? static_cast<size_t>(seg) : 0;
  }
  return 0;
}

}  // namespace xlload
