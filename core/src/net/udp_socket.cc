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
  net::setDualStack(fd_, reinterpret_cast<const sockaddr*>(&a->addr));
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
  UdpBatchEntry e{&to, datagrams};
  sendMany({&e, 1});
  return e.sent;
}

void UdpSocket::sendMany(std::span<UdpBatchEntry> entries) {
  for (UdpBatchEntry& e : entries) e.sent = 0;
  if (fd_ < 0) return;
  constexpr size_t kControl = CMSG_SPACE(sizeof(uint16_t));
  mmsghdr msgs[kMaxMessages];
  iovec runs[kMaxMessages];
  alignas(cmsghdr) uint8_t control[kMaxMessages][kControl];
  struct Origin {
    uint32_t entry, first, count;  // which datagrams of which entry a message carries
  } origin[kMaxMessages];
  size_t e = 0, d = 0;  // the next datagram to send: entries[e].datagrams[d]
  auto skipEmpty = [&] {
    while (e < entries.size() && d >= entries[e].datagrams.size()) ++e, d = 0;
  };
  skipEmpty();
  while (e < entries.size()) {
    size_t n = 0;
    for (size_t ce = e, cd = d; ce < entries.size() && n < kMaxMessages; ++n) {
      const UdpBatchEntry& entry = entries[ce];
      std::span<const iovec> rest = entry.datagrams.subspan(cd);
      msghdr& h = msgs[n].msg_hdr;
      msgs[n] = {};
      h.msg_name = const_cast<sockaddr_storage*>(&entry.to->addr);
      h.msg_namelen = entry.to->len;
      h.msg_iovlen = 1;
      size_t bytes = 0;
      const size_t count = gso_ ? gsoRun(rest, bytes) : 1;
      origin[n] = {static_cast<uint32_t>(ce), static_cast<uint32_t>(cd),
                   static_cast<uint32_t>(count)};
      cd += count;
      if (cd >= entry.datagrams.size()) {
        ++ce;
        cd = 0;
        while (ce < entries.size() && entries[ce].datagrams.empty()) ++ce;
      }
      if (count == 1) {
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
      // The first message failed: the error is its own (or, once, one left from a message that
      // failed after others in the previous call).
      const Origin& o = origin[0];
      if (errno == EINTR) continue;
      if ((errno == EIO || errno == EINVAL) && o.count > 1) {
        // No GSO on this route (no checksum offload, IPsec, SO_NO_CHECK): the run is sent again
        // as single datagrams, and so is everything after it.
        spdlog::warn(
            "udp port {}: the kernel refused UDP GSO ({}); one datagram per message from now",
            port_, strerror(errno));
        gso_ = false;
        continue;
      }
      if (errno == ECONNREFUSED) {
        // An ICMP error from an earlier send, not about this message: skip it and go on.
        d = o.first + o.count;
      } else {
        // EAGAIN (socket buffer full), ENOBUFS, EPERM, unreachable: this destination's
        // datagrams end here; the next entry is tried still (a full buffer may have drained).
        e = o.entry + 1;
        d = 0;
      }
      skipEmpty();
      continue;
    }
    for (int i = 0; i < rc; ++i) {
      worker_.stats().bytesOut.add(msgs[i].msg_len);
      entries[origin[i].entry].sent += origin[i].count;
    }
    messages_ += static_cast<uint64_t>(rc);
    if (static_cast<size_t>(rc) < n) {
      // A short count: message rc failed and its error is not told; the next call starts with
      // it and reports it (or sends it, if the buffer drained meanwhile).
      e = origin[rc].entry;
      d = origin[rc].first;
    } else {
      e = origin[n - 1].entry;
      d = origin[n - 1].first + origin[n - 1].count;
      skipEmpty();
    }
  }
}

}  // namespace xl
