#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
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
  size_t sent = 0;
  while (sent < datagrams.size()) {
    mmsghdr msgs[kMaxBatch];
    size_t n = std::min(kMaxBatch, datagrams.size() - sent);
    for (size_t i = 0; i < n; ++i) {
      msgs[i] = {};
      msgs[i].msg_hdr.msg_name = const_cast<sockaddr_storage*>(&to.addr);
      msgs[i].msg_hdr.msg_namelen = to.len;
      msgs[i].msg_hdr.msg_iov = const_cast<iovec*>(&datagrams[sent + i]);
      msgs[i].msg_hdr.msg_iovlen = 1;
    }
    int rc = ::sendmmsg(fd_, msgs, static_cast<unsigned>(n), MSG_DONTWAIT);
    if (rc < 0) {
      if (errno == EINTR) continue;
      if (errno == ECONNREFUSED) {  // an ICMP error from an earlier send: skip one and go on
        ++sent;
        continue;
      }
      break;  // EAGAIN: the socket buffer is full; the rest is dropped
    }
    for (int i = 0; i < rc; ++i) worker_.stats().bytesOut.add(msgs[i].msg_len);
    sent += static_cast<size_t>(rc);
    if (static_cast<size_t>(rc) < n) break;
  }
  return sent;
}

}  // namespace xl
