#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

#include <spdlog/spdlog.h>

#include "socket_util.h"
#include "xueliang/connection.h"

namespace xl {
namespace {

// "1.2.3.4:5" or "[::1]:5". snprintf rather than string concatenation, which GCC 12 mis-warns
// about (-Wrestrict, GCC bug 105329).
std::string formatPeer(const sockaddr_storage& ss) {
  char host[INET6_ADDRSTRLEN] = "?";
  char out[INET6_ADDRSTRLEN + 10];
  if (ss.ss_family == AF_INET) {
    auto* a = reinterpret_cast<const sockaddr_in*>(&ss);
    inet_ntop(AF_INET, &a->sin_addr, host, sizeof host);
    std::snprintf(out, sizeof out, "%s:%u", host, unsigned(ntohs(a->sin_port)));
  } else {
    auto* a = reinterpret_cast<const sockaddr_in6*>(&ss);
    inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof host);
    std::snprintf(out, sizeof out, "[%s]:%u", host, unsigned(ntohs(a->sin6_port)));
  }
  return out;
}

}  // namespace

std::string peerHost(const std::string& peer) {
  if (!peer.empty() && peer[0] == '[') return peer.substr(1, peer.find(']') - 1);
  return peer.substr(0, peer.rfind(':'));
}

Result<std::pair<std::string, int>> parseHostPort(const std::string& address) {
  std::string host;
  std::string port;
  if (!address.empty() && address[0] == '[') {
    auto close = address.find(']');
    if (close == std::string::npos || close + 1 >= address.size() || address[close + 1] != ':')
      return Status::error("bad address '" + address + "', expected [v6]:port");
    host = address.substr(1, close - 1);
    port = address.substr(close + 2);
  } else {
    auto colon = address.rfind(':');
    if (colon == std::string::npos)
      return Status::error("bad address '" + address + "', expected host:port");
    host = address.substr(0, colon);
    port = address.substr(colon + 1);
  }
  if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos)
    return Status::error("bad port in '" + address + "'");
  int p = std::stoi(port);
  if (p > 65535) return Status::error("port out of range in '" + address + "'");
  return std::make_pair(host.empty() ? std::string("0.0.0.0") : host, p);
}

TcpListener::TcpListener(Worker& worker, AcceptFn onAccept)
    : worker_(worker), onAccept_(std::move(onAccept)) {}

TcpListener::~TcpListener() {
  poll_.reset();
  if (fd_ >= 0) ::close(fd_);
}

Status TcpListener::listen(const std::string& address) {
  auto hp = parseHostPort(address);
  if (!hp) return hp.status();
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICHOST | AI_PASSIVE;
  addrinfo* res = nullptr;
  std::string portStr = std::to_string(hp->second);
  if (int rc = getaddrinfo(hp->first.c_str(), portStr.c_str(), &hints, &res); rc != 0)
    return Status::error("cannot resolve '" + address + "': " + gai_strerror(rc));
  fd_ = ::socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd_ < 0) {
    freeaddrinfo(res);
    return Status::error(std::string("socket: ") + strerror(errno));
  }
  int one = 1;
  setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  setsockopt(fd_, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  net::setDualStack(fd_, res->ai_addr);
  int rc = ::bind(fd_, res->ai_addr, res->ai_addrlen);
  freeaddrinfo(res);
  if (rc != 0 || ::listen(fd_, 1024) != 0) {
    std::string err = strerror(errno);
    ::close(fd_);
    fd_ = -1;
    return Status::error("cannot listen on " + address + ": " + err);
  }
  port_ = net::localPort(fd_);
  uv_poll_init(worker_.loop(), poll_.make(), fd_);
  poll_.get()->data = this;
  uv_poll_start(poll_.get(), UV_READABLE, [](uv_poll_t* p, int status, int) {
    auto* self = static_cast<TcpListener*>(p->data);
    if (!self || status < 0) return;
    for (int i = 0; i < 64; ++i) {
      sockaddr_storage peer{};
      socklen_t plen = sizeof peer;
      int fd = ::accept4(self->fd_, reinterpret_cast<sockaddr*>(&peer), &plen,
                         SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) break;  // EAGAIN, or EMFILE: try again on the next wake-up
      int nodelay = 1;
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &nodelay, sizeof nodelay);
      self->worker_.stats().connectionsAccepted.add();
      self->onAccept_(fd, formatPeer(peer));
    }
  });
  return Status::ok();
}

namespace {

// SO_REUSEPORT lets every socket of the same user share a port, so a second server started on
// the same address would silently take half the connections. A plain bind of a throw-away socket
// tells whether anyone holds the address already.
Status checkAddressFree(const std::string& address) {
  auto hp = parseHostPort(address);
  if (!hp) return hp.status();
  if (hp->second == 0) return Status::ok();
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICHOST | AI_PASSIVE;
  addrinfo* res = nullptr;
  std::string port = std::to_string(hp->second);
  if (getaddrinfo(hp->first.c_str(), port.c_str(), &hints, &res) != 0) return Status::ok();
  int fd = ::socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  int rc = fd >= 0 ? ::bind(fd, res->ai_addr, res->ai_addrlen) : 0;
  int err = errno;
  freeaddrinfo(res);
  if (fd >= 0) ::close(fd);
  if (rc != 0 && err == EADDRINUSE)
    return Status::error("cannot listen on " + address + ": address already in use");
  return Status::ok();
}

}  // namespace

Status ListenerSet::open(Worker& w, const std::string& address, TcpListener::AcceptFn onAccept) {
  if (!port_) {
    if (Status s = checkAddressFree(address); !s) return s;
  }
  if (listeners_.size() <= static_cast<size_t>(w.index())) listeners_.resize(w.index() + 1);
  auto l = std::make_unique<TcpListener>(w, std::move(onAccept));
  std::string where = address;
  if (port_) {
    auto hp = parseHostPort(address);
    if (!hp) return hp.status();
    where = hp->first;
    if (where.find(':') != std::string::npos) {  // IPv6 literal
      where.insert(where.begin(), '[');
      where.push_back(']');
    }
    where.push_back(':');
    where.append(std::to_string(port_));
  }
  if (Status s = l->listen(where); !s) return s;
  if (!port_) {
    port_ = l->port();
    spdlog::info("{}: listening on {} (port {})", protocol_, address, port_);
  }
  listeners_[w.index()] = std::move(l);
  return Status::ok();
}

void ListenerSet::close(Worker& w) {
  if (static_cast<size_t>(w.index()) < listeners_.size()) listeners_[w.index()].reset();
}

}  // namespace xl
