// UdpSocket: a non-blocking datagram socket on a worker's loop, bound with SO_REUSEPORT so that
// every worker can hold its own socket on one shared port (RTSP's RTP/RTCP ports, WebRTC's media
// port). Media over UDP never queues: sendmmsg hands the kernel what it takes now and the rest is
// dropped and counted, which is the drop policy of a datagram viewer.
#pragma once

#include <sys/socket.h>
#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>

#include "xueliang/handle.h"
#include "xueliang/status.h"
#include "xueliang/worker.h"

namespace xl {

struct UdpAddress {
  sockaddr_storage addr{};
  socklen_t len = 0;
};

// Numeric host ("1.2.3.4", "::1") and port into a socket address.
Result<UdpAddress> udpAddress(const std::string& host, int port);

// One destination's datagrams in UdpSocket::sendMany (a viewer's frame, say).
struct UdpBatchEntry {
  const UdpAddress* to = nullptr;
  std::span<const iovec> datagrams;
  size_t sent = 0;  // out: how many of them the kernel took
};

class UdpSocket {
 public:
  // Datagrams received; the bytes live in the worker's read scratch buffer until return.
  using ReceiveFn = std::function<void(const uint8_t* data, size_t n, const UdpAddress& from)>;

  UdpSocket(Worker& worker, ReceiveFn onReceive);
  ~UdpSocket();
  UdpSocket(const UdpSocket&) = delete;
  UdpSocket& operator=(const UdpSocket&) = delete;

  // `address` is "host:port"; port 0 picks one (see port()).
  Status bind(const std::string& address);
  int port() const { return port_; }
  // The descriptor after bind(), for options only a protocol knows (multicast, connect()); -1
  // before bind and after close. The socket stays owned by this object.
  int fd() const { return fd_; }
  // Sends each iovec as one datagram to `to`. Returns how many the kernel took; the rest did not
  // fit in the socket buffer and are dropped.
  size_t sendEach(const UdpAddress& to, std::span<const iovec> datagrams);
  // sendEach for many destinations at once: every entry's datagrams, in order, in as few
  // sendmmsg calls as it takes (kMaxMessages messages each; a GSO run is one message), instead
  // of one call per destination. A message the kernel refuses (socket buffer full, no buffer,
  // unreachable) ends its own entry there; the entries after it still go. Sets each entry's
  // `sent`. No allocation: the messages are built on the stack.
  void sendMany(std::span<UdpBatchEntry> entries);
  static constexpr size_t kMaxMessages = 128;
  // UDP GSO (UDP_SEGMENT, Linux >= 4.18), off by default. When on, sendEach() sends a run of
  // datagrams that lie back to back in memory, all of one size except a shorter last one, as one
  // message that the kernel splits into those datagrams again (up to 64 segments, 64 KB): one
  // pass through the UDP/IP stack instead of one per datagram. If the kernel refuses it (no GSO
  // on the route), the socket goes back to one message per datagram for good and logs it once.
  void setGso(bool on) { gso_ = on; }
  bool gso() const { return gso_; }
  // Messages the kernel took so far (a GSO run is one message, however many datagrams).
  uint64_t messages() const { return messages_; }
  void close();

 private:
  void readAll();

  Worker& worker_;
  ReceiveFn onReceive_;
  UvHandle<uv_poll_t> poll_;
  int fd_ = -1;
  int port_ = 0;
  bool gso_ = false;
  uint64_t messages_ = 0;
};

}  // namespace xl
