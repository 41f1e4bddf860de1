// UDP GRO on xl-load's WHEP sockets (--whep-gro). With UDP_GRO set, the kernel hands a socket a
// GSO batch from the server (UDP_SEGMENT) as one buffer with the segment size in a control
// message, instead of cutting it into datagrams on the way in. On loopback that cutting, and the
// socket lookup, queueing and wake-up per datagram, runs in the sending server's system call
// and is billed to the server; with GRO it is one skb per batch, as a receiver on another
// machine behind a NIC would cost the server. GroReceiver splits each buffer back into its
// datagrams (every one segment-size bytes, the last possibly shorter), so what is counted and
// decrypted is exactly what arrived, datagram by datagram.
#pragma once

#include <sys/socket.h>
#include <sys/uio.h>

#include <cstddef>
#include <cstdint>

namespace xlload {

// Sets UDP_GRO on `fd`; false if the kernel does not know it (before Linux 5.0).
bool enableUdpGro(int fd);

class GroReceiver {
 public:
  static constexpr int kMessages = 8;
  static constexpr size_t kBuffer = 65536;  // the largest UDP payload GRO can hand over

  GroReceiver();
  GroReceiver(const GroReceiver&) = delete;
  GroReceiver& operator=(const GroReceiver&) = delete;

  // One recvmmsg of up to kMessages buffers from `fd`: how many were read (0: none waiting), or
  // -1 with errno set.
  int receive(int fd);
  // Calls fn(data, length) for every datagram of buffer `i` of the last receive(), in order.
  template <class Fn>
  void forEachDatagram(int i, Fn&& fn) {
    uint8_t* p = bufs_[i];
    size_t left = msgs_[i].msg_len;
    const size_t seg = segment(i);
    if (seg == 0 || seg >= left) return fn(p, left);
    for (; left > 0; p += seg, left -= seg < left ? seg : left) fn(p, seg < left ? seg : left);
  }

 private:
  // The UDP_GRO segment size of buffer `i`, 0 if it holds a single datagram.
  size_t segment(int i) const;

  uint8_t bufs_[kMessages][kBuffer];
  iovec iov_[kMessages];
  mmsghdr msgs_[kMessages];
  alignas(cmsghdr) uint8_t control_[kMessages][CMSG_SPACE(sizeof(int))];
};

}  // namespace xlload
