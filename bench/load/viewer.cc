#include "viewer.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <cstring>

namespace xlload {
namespace {
constexpr size_t kReadChunk = 256 * 1024;
uint8_t gScratch[kReadChunk];  // one thread reads into it; viewers never keep pointers into it
}  // namespace

std::string parseTarget(const std::string& url, Target& out) {
  out.url = url;
  size_t s = url.find("://");
  if (s == std::string::npos) return "missing scheme in " + url;
  out.scheme = url.substr(0, s);
  int defPort = 0;
  if (out.scheme == "rtmp")
    defPort = 1935;
  else if (out.scheme == "http")
    defPort = 80;
  else if (out.scheme == "rtsp")
    defPort = 554;
  else
    return "unsupported scheme " + out.scheme;
  size_t hostStart = s + 3;
  size_t slash = url.find('/', hostStart);
  std::string hostport =
      url.substr(hostStart, slash == std::string::npos ? std::string::npos : slash - hostStart);
  out.path = slash == std::string::npos ? "/" : url.substr(slash);
  size_t colon = hostport.rfind(':');
  out.host = colon == std::string::npos ? hostport : hostport.substr(0, colon);
  out.port = colon == std::string::npos ? defPort : std::atoi(hostport.c_str() + colon + 1);
  if (out.port <= 0 || out.port > 65535) return "bad port in " + url;
  addrinfo hints{};
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (getaddrinfo(out.host.c_str(), nullptr, &hints, &res) != 0 || !res)
    return "cannot resolve " + out.host;
  std::memcpy(&out.addr, res->ai_addr, sizeof(sockaddr_in));
  out.addr.sin_port = htons(static_cast<uint16_t>(out.port));
  freeaddrinfo(res);
  return "";
}

Viewer::Viewer(Loop& loop, Stats& stats, const Target& target)
    : loop_(loop), stats_(stats), target_(target) {}

Viewer::~Viewer() {
  closeFd();
}

void Viewer::closeFd() {
  if (fd_ < 0) return;
  loop_.remove(fd_);
  ::close(fd_);
  fd_ = -1;
}

void Viewer::start(double nowMs) {
  started_ = true;
  startMs_ = nowMs;
  ++stats_.started;
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd_ < 0) {
    fail(std::string("socket: ") + std::strerror(errno));
    return;
  }
  int one = 1;
  setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  int r = ::connect(fd_, reinterpret_cast<const sockaddr*>(&target_.addr), sizeof target_.addr);
  if (r < 0 && errno != EINPROGRESS) {
    fail(std::string("connect: ") + std::strerror(errno));
    return;
  }
  connecting_ = true;
  loop_.add(fd_, this, EPOLLOUT | EPOLLIN);
}

void Viewer::onEvent(uint32_t events) {
  if (fd_ < 0) return;
  if (connecting_) {
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err) {
      fail(std::string("connect: ") + std::strerror(err));
      return;
    }
    if (!(events & (EPOLLOUT | EPOLLIN))) return;
    connecting_ = false;
    loop_.modify(fd_, this, EPOLLIN);
    onConnected();
    if (fd_ < 0) return;
  }
  if (events & EPOLLOUT) flushOut();
  if (fd_ < 0) return;
  if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
    // A bounded number of reads per wake-up keeps one fast socket from starving the others.
    for (int i = 0; i < 4 && fd_ >= 0; ++i) {
      ssize_t n = ::recv(fd_, gScratch, kReadChunk, 0);
      if (n > 0) {
        stats_.bytes += static_cast<uint64_t>(n);
        if (!onBytes(gScratch, static_cast<size_t>(n))) return;
        if (static_cast<size_t>(n) < kReadChunk) break;
        continue;
      }
      if (n == 0) {
        fail("closed by server");
      } else if (errno != EAGAIN && errno != EINTR) {
        fail(std::string("recv: ") + std::strerror(errno));
      }
      break;
    }
  }
}

void Viewer::send(const void* data, size_t n) {
  if (fd_ < 0) return;
  if (out_.empty()) {
    ssize_t w = ::send(fd_, data, n, MSG_NOSIGNAL);
    if (w < 0 && errno != EAGAIN) {
      fail(std::string("send: ") + std::strerror(errno));
      return;
    }
    size_t done = w < 0 ? 0 : static_cast<size_t>(w);
    if (done == n) return;
    out_.append(static_cast<const char*>(data) + done, n - done);
  } else {
    out_.append(static_cast<const char*>(data), n);
  }
  if (!wantOut_) {
    wantOut_ = true;
    loop_.modify(fd_, this, EPOLLIN | EPOLLOUT);
  }
}

void Viewer::flushOut() {
  while (!out_.empty()) {
    ssize_t w = ::send(fd_, out_.data(), out_.size(), MSG_NOSIGNAL);
    if (w < 0) {
      if (errno == EAGAIN) return;
      fail(std::string("send: ") + std::strerror(errno));
      return;
    }
    out_.erase(0, static_cast<size_t>(w));
  }
  if (wantOut_) {
    wantOut_ = false;
    loop_.modify(fd_, this, EPOLLIN);
  }
}

void Viewer::playing() {
  if (playing_) return;
  playing_ = true;
  ++stats_.connected;
  ++stats_.everConnected;
}

void Viewer::media(double nowMs) {
  ++stats_.mediaMessages;
  if (!hadMedia_) {
    hadMedia_ = true;
    playing();
    stats_.ttfbMs.push_back(nowMs - startMs_);
  }
  lastMediaMs_ = nowMs;
  inStall_ = false;
}

void Viewer::keyframe(double nowMs) {
  ++stats_.keyframes;
  if (hadKey_) return;
  hadKey_ = true;
  stats_.ttfkMs.push_back(nowMs - startMs_);
}

void Viewer::checkStall(double nowMs) {
  if (finished_ || (fd_ < 0 && !detached_) || !hadMedia_ || inStall_) return;
  if (nowMs - lastMediaMs_ > stallGapMs()) {
    inStall_ = true;
    ++stats_.stalls;
  }
}

void Viewer::finishRun() {
  if (!started_ || finished_ || hadMedia_) return;
  fail(std::string("no media before the end of the run (") +
       (connecting_ ? "tcp connect" : stage()) + ")");
}

void Viewer::detachConnection() {
  detached_ = true;
  closeFd();
}

void Viewer::fail(const std::string& reason) {
  if (finished_) return;
  finished_ = true;
  closeFd();
  onEnd();
  connecting_ = false;
  if (playing_) --stats_.connected;
  stats_.fail(reason, hadMedia_);
}

}  // namespace xlload
