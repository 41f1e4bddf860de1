#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/tcp.h>
#include <string.h>
#include <unistd.h>

#include <cstdio>

#include "xueliang/connection.h"

namespace xl {

// Shared by the connector and its in-flight libuv requests: a request that completes after the
// connector is gone finds `cancelled` set and only cleans up.
struct TcpConnector::Attempt {
  Worker* worker = nullptr;
  DoneFn done;
  bool cancelled = false;
  int port = 0;
  int fd = -1;
  std::string peer;
  UvHandle<uv_poll_t> poll;
  UvHandle<uv_timer_t> timer;

  void finish(Result<int> r) {
    poll.reset();
    timer.reset();
    if (!r && fd >= 0) {
      ::close(fd);
      fd = -1;
    }
    if (cancelled) {
      if (r) ::close(*r);
      return;
    }
    cancelled = true;
    fd = -1;
    auto cb = std::move(done);
    cb(std::move(r), peer);
  }
};

namespace {

struct Resolve {
  uv_getaddrinfo_t req{};
  std::shared_ptr<TcpConnector::Attempt>* owner = nullptr;
};

std::string formatAddress(const sockaddr* sa) {
  char host[INET6_ADDRSTRLEN] = "?";
  char out[INET6_ADDRSTRLEN + 10];
  if (sa->sa_family == AF_INET) {
    auto* a = reinterpret_cast<const sockaddr_in*>(sa);
    inet_ntop(AF_INET, &a->sin_addr, host, sizeof host);
    std::snprintf(out, sizeof out, "%s:%u", host, unsigned(ntohs(a->sin_port)));
  } else {
    auto* a = reinterpret_cast<const sockaddr_in6*>(sa);
    inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof host);
    std::snprintf(out, sizeof out, "[%s]:%u", host, unsigned(ntohs(a->sin6_port)));
  }
  return out;
}

}  // namespace

TcpConnector::TcpConnector(Worker& worker) : worker_(worker) {}

TcpConnector::~TcpConnector() {
  if (!attempt_) return;
  attempt_->cancelled = true;
  attempt_->done = nullptr;
  attempt_->poll.reset();
  attempt_->timer.reset();
  if (attempt_->fd >= 0) ::close(attempt_->fd);
  attempt_->fd = -1;
}

void TcpConnector::connect(const std::string& host, int port, uint64_t timeoutMs, DoneFn done) {
  if (attempt_) attempt_->cancelled = true;
  attempt_ = std::make_shared<Attempt>();
  attempt_->worker = &worker_;
  attempt_->done = std::move(done);
  attempt_->port = port;
  attempt_->peer = host + ":" + std::to_string(port);

  uv_timer_init(worker_.loop(), attempt_->timer.make());
  attempt_->timer.get()->data = attempt_.get();
  uv_timer_start(
      attempt_->timer.get(),
      [](uv_timer_t* t) {
        static_cast<Attempt*>(t->data)->finish(Status::error("connect timed out"));
      },
      timeoutMs, 0);

  auto* r = new Resolve;
  r->owner = new std::shared_ptr<Attempt>(attempt_);
  r->req.data = r;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  std::string h = host;
  if (h.size() > 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  int rc = uv_getaddrinfo(
      worker_.loop(), &r->req,
      [](uv_getaddrinfo_t* req, int status, addrinfo* res) {
        auto* r = static_cast<Resolve*>(req->data);
        std::shared_ptr<Attempt> a = std::move(*r->owner);
        delete r->owner;
        delete r;
        if (a->cancelled) {
          uv_freeaddrinfo(res);
          return;
        }
        if (status < 0 || !res) {
          uv_freeaddrinfo(res);
          a->finish(Status::error(std::string("cannot resolve host: ") + uv_strerror(status)));
          return;
        }
        a->peer = formatAddress(res->ai_addr);
        int fd = ::socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) {
          uv_freeaddrinfo(res);
          a->finish(Status::error(std::string("socket: ") + strerror(errno)));
          return;
        }
        a->fd = fd;
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        int c = ::connect(fd, res->ai_addr, res->ai_addrlen);
        uv_freeaddrinfo(res);
        if (c != 0 && errno != EINPROGRESS) {
          a->finish(Status::error(std::string("connect: ") + strerror(errno)));
          return;
        }
        uv_poll_init(a->worker->loop(), a->poll.make(), fd);
        a->poll.get()->data = a.get();
        uv_poll_start(a->poll.get(), UV_WRITABLE, [](uv_poll_t* p, int st, int) {
          auto* a = static_cast<Attempt*>(p->data);
          // libuv reports a failed connect (POLLERR) as UV_EBADF: the socket knows the reason.
          int err = 0;
          socklen_t len = sizeof err;
          if (getsockopt(a->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
          if (err == 0 && st < 0) err = -st;
          if (err != 0) {
            a->finish(Status::error(std::string("connect: ") + strerror(err)));
            return;
          }
          int fd = a->fd;
          a->fd = -1;  // handed over
          a->finish(fd);
        });
      },
      h.c_str(), std::to_string(port).c_str(), &hints);
  if (rc != 0) {
    delete r->owner;
    delete r;
    attempt_->finish(Status::error(std::string("cannot resolve host: ") + uv_strerror(rc)));
  }
}

}  // namespace xl
