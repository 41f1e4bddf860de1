#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "socket_util.h"
#include "xueliang/connection.h"
#include "xueliang/udp.h"

namespace xl {
namespace {
constexpr size_t kMaxBatch = 64;
constexpr int kReadsPerWakeup = 64;
constexpr size_t kMaxGsoSegments = 64;  // UDP_MAX_SEGMENTS before Linux 6.10 raised it
constexpr size_t kMaxGsoBytes = 65000;  // one IP packet's payload, room left for the headers

// The datagrams from d[0] on that form one GSO message: back to back in memory, each of d[0]'s
// size except a shorter last one (the kernel cuts every gso_size bytes). Returns their count and
// sets `bytes` to their total.
size_t gsoRun(std::span<const iovec> d, size_t& bytes) {
  const size_t size = d[0].iov_len;
  const auto* end = static_cast<const uint8_t*>(d[0].iov_base) + size;
  size_t n = 1;
  bytes = size;
  while (n < d.size() && n < kMaxGsoSegments) {
    const iovec& v = d[n];
    if (v.iov_base != end || v.iov_len == 0 || v.iov_len > size || bytes + v.iov_len > kMaxGsoBytes)
      break;
    bytes += v.iov_len;
    end += v.iov_len;
    ++n;
    if (v.iov_len < size) break;
  }
  return n;
}
}  // namespace

Result<UdpAddress> udpAddress(const std::string& host, int port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_DGRAM;
  hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
  addrinfo* res = nullptr;
  std::string portStr = std::to_string(port);
  if (int rc = getaddrinfo(host.c_str(), portStr.c_str(), &hints, &res); rc != 0)
    return Status::error("bad address '" + host + "': " + gai_strerror(rc));
  UdpAddress a;
  std::memcpy(&a.addr, res->ai_addr, res->ai_addrlen);
  a.len = res->ai_addrlen;
  freeaddrinfo(res);
  return a;
}

UdpSocket::UdpSocket(Worker& worker, ReceiveFn onReceive)
    : worker_(worker), onReceive_(std::move(onReceive)) {}

UdpSocket::~UdpSocket() {
  close();
}

void UdpSocket::close() {
  poll_.reset();
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

Status UdpSocket::bind(const std::string& address) {
  auto hp = parseHostPort(address);
  if (!hp) return hp.status();
  auto a = udpAddress(hp->first, hp->second);
  if (!a) return a.status();
  fd_ = ::socket(a->addr.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd_ < 0) return Status::error(std::string("socket: ") + strerror(errno));
  int one = 1;
  setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  setsockopt(fd_, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  int buf = 4 << 20;  // capped by net.core.wmem_max / rmem_max
  setsockopt(fd_, SOL_SOCKET, SO_SNDBUF, &buf, sizeof buf);
  setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
  if (::bind(fd_, reinterpret_cast<const sockaddr*>(&a->addr), a->len) != 0) {
    std::string err = strerror(errno);
    close();
    return Status::error("cannot bind UDP " + address + ": " + err);
  }
  port_ = net::localPort(fd_);
  uv_poll_init(worker_.loop(), poll_.make(), fd_);
  poll_.get()->data = this;
  uv_poll_start(poll_.get(), UV_READABLE, [](uv_poll_t* p, int status, int) {
    auto* self = static_cast<UdpSocket*>(p->data);
    if (self && status >= 0) self->readAll();
  });
  return Status::ok();
}

void UdpSocket::readAll() {
  uint8_t* buf = worker_.readScratch();
  for (int i = 0; i < kReadsPerWakeup && fd_ >= 0; ++i) {
    UdpAddress from;
    from.len = sizeof from.addr;
    ssize_t n = ::recvfrom(fd_, buf, Worker::kReadScratch, 0,
                           reinterpret_cast<sockaddr*>(&from.addr), &from.len);
    if (n < 0) break;  // EAGAIN, or an ICMP error from an earlier send: nothing to read
    worker_.stats().bytesIn.add(static_cast<uint64_t>(n));
    if (onReceive_) onReceive_(buf, static_cast<size_t>(n), from);
  }
}

size_t UdpSocket::sendEach(const UdpAddress& to, std::span<const iovec> datagrams) {
  if (fd_ < 0) return 0;
  constexpr size_t kControl = CMSG_SPACE(sizeof(uint16_t));
  size_t sent = 0;
  while (sent < datagrams.size()) {
    mmsghdr msgs[kMaxBatch];
    iovec runs[kMaxBatch];
    size_t counts[kMaxBatch];
    alignas(cmsghdr) uint8_t control[kMaxBatch][kControl];
    size_t n = 0;
    for (size_t at = sent; at < datagrams.size() && n < kMaxBatch; ++n) {
      std::span<const iovec> rest = datagrams.subspan(at);
      msghdr& h = msgs[n].msg_hdr;
      msgs[n] = {};
      h.msg_name = const_cast<sockaddr_storage*>(&to.addr);
      h.msg_namelen = to.len;
      h.msg_iovlen = 1;
      size_t bytes = 0;
      counts[n] = gso_ ? gsoRun(rest, bytes) : 1;
      at += counts[n];
      if (counts[n] == 1) {
        h.msg_iov = const_cast<iovec*>(&rest[0]);
        continue;
      }
      runs[n] = {rest[0].iov_base, bytes};
      h.msg_iov = &runs[n];
      h.msg_control = control[n];
      h.msg_controllen = kControl;
      cmsghdr* c = CMSG_FIRSTHDR(&h);
      c->cmsg_level = SOL_UDP;
      c->cmsg_type = UDP_SEGMENT;
      c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
      const auto segment = static_cast<uint16_t>(rest[0].iov_len);
      std::memcpy(CMSG_DATA(c), &segment, sizeof segment);
    }
    int rc = ::sendmmsg(fd_, msgs, static_cast<unsigned>(n), MSG_DONTWAIT);
    if (rc < 0) {
      if (errno == EINTR) continue;
      if (errno == ECONNREFUSED) {  // an ICMP error from an earlier send: skip one and go on
        sent += counts[0];
        continue;
      }
      if ((errno == EIO || errno == EINVAL) && counts[0] > 1) {
        // No GSO on this route (no checksum offload, IPsec, SO_NO_CHECK): the run is sent again
        // as single datagrams, and so is everything after it.
        spdlog::warn(
            "udp port {}: the kernel refused UDP GSO ({}); one datagram per message from now",
            port_, strerror(errno));
        gso_ = false;
        continue;
      }
      break;  // EAGAIN: the socket buffer is full; the rest is dropped
    }
    for (int i = 0; i < rc; ++i) {
      worker_.stats().bytesOut.add(msgs[i].msg_len);
      sent += counts[i];
    }
    messages_ += static_cast<uint64_t>(rc);
    // A short count: the next message failed. A single datagram failed for a full buffer; a GSO
    // run is tried again to tell that (EAGAIN) from a refusal (fall back and resend).
    if (static_cast<size_t>(rc) < n && counts[rc] == 1) break;
  }
  return sent;
}

}  // namespace xl
