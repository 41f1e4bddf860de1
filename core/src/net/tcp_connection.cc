#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>

#include "deferred_reads.h"
#include "uring_writer.h"
#include "xueliang/connection.h"

namespace xl {
namespace {
constexpr int kMaxIov = UringWriter::kMaxIov;
constexpr int kReadsPerWakeup = 4;  // fairness between connections of one worker
}  // namespace

TcpConnection::TcpConnection(Worker& worker, int fd, std::string peer)
    : worker_(worker), fd_(fd), peer_(std::move(peer)), ring_(kRingKeep) {}

TcpConnection::~TcpConnection() {
  if (closedNotified_) return;
  // Destroyed before its close completed (worker shutdown): the pending close callback must not
  // reach this object, and the socket is released now.
  handler_ = nullptr;
  stopDeferring();
  releaseUringSlot();
  if (closingPoll_) closingPoll_->data = nullptr;
  poll_.reset();
  if (fd_ >= 0) {
    if (UringWriter* u = worker_.uringWriter()) u->unregisterFd(fd_);
    ::close(fd_);
  }
}

void TcpConnection::start(ConnectionHandler* handler) {
  handler_ = handler;
  if (UringWriter* u = worker_.uringWriter()) u->registerFd(fd_);
  uv_poll_init(worker_.loop(), poll_.make(), fd_);
  poll_.get()->data = this;
  lastProgressMs_ = worker_.nowMs();
  updatePoll();
}

void TcpConnection::updatePoll() {
  if (state_ == State::kClosing || !poll_) return;
  // A write in the ring reports itself: polling for writability meanwhile would only spin.
  int want = count_ && uringSlot_ < 0 ? UV_WRITABLE : 0;
  if (state_ == State::kOpen && !deferred_) want |= UV_READABLE;
  if (want != pollEvents_) startPoll(want);
}

void TcpConnection::startPoll(int events) {
  pollEvents_ = events;
  if (events == 0) {
    uv_poll_stop(poll_.get());
    return;
  }
  uv_poll_start(poll_.get(), events, [](uv_poll_t* p, int status, int ev) {
    static_cast<TcpConnection*>(p->data)->onPoll(status, ev);
  });
}

void TcpConnection::onPoll(int status, int events) {
  if (status < 0) {
    close("socket error");
    return;
  }
  if (events & UV_WRITABLE) flush();
  if ((events & UV_READABLE) && state_ == State::kOpen) readAll();
}

void TcpConnection::deferReads(bool on) {
  if (on == deferred_ || state_ != State::kOpen || !poll_) return;
  if (on) {
    if (!worker_.deferredReads().add(this, fd_)) return;
    deferred_ = true;
  } else {
    stopDeferring();
  }
  updatePoll();
}

void TcpConnection::stopDeferring() {
  if (!deferred_) return;
  deferred_ = false;
  worker_.deferredReads().remove(this, fd_);
}

void TcpConnection::readAll() {
  uint8_t* buf = worker_.readScratch();
  for (int i = 0; i < kReadsPerWakeup && state_ == State::kOpen; ++i) {
    ssize_t n = ::recv(fd_, buf, Worker::kReadScratch, 0);
    if (n > 0) {
      bytesIn_ += n;
      worker_.stats().bytesIn.add(n);
      handler_->onData(buf, static_cast<size_t>(n));
      if (static_cast<size_t>(n) < Worker::kReadScratch) break;
      continue;
    }
    if (n == 0) {
      close(nullptr);
    } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
      close("read error");
    }
    break;
  }
}

void TcpConnection::queue(const BufferRef& buf, int64_t mediaDtsMs) {
  queue(buf, 0, buf.size(), mediaDtsMs);
}

void TcpConnection::queue(const BufferRef& buf, size_t offset, size_t len, int64_t mediaDtsMs) {
  if (state_ == State::kClosing || len == 0) return;
  if (count_ == ring_.size()) {
    std::vector<Item> bigger(ring_.size() * 2);
    for (size_t i = 0; i < count_; ++i) bigger[i] = std::move(at(i));
    ring_ = std::move(bigger);
    head_ = 0;
  }
  if (count_ == 0) lastProgressMs_ = worker_.nowMs();
  Item& it = ring_[(head_ + count_) & (ring_.size() - 1)];
  it.buf = buf;
  it.offset = static_cast<uint32_t>(offset);
  it.len = static_cast<uint32_t>(len);
  it.dts = mediaDtsMs;
  ++count_;
  queuedBytes_ += len;
  if (mediaDtsMs >= 0) newestDts_ = mediaDtsMs;
}

int TcpConnection::fillIov(iovec* iov, size_t& want) const {
  int n = static_cast<int>(std::min<size_t>(count_, kMaxIov));
  want = 0;
  for (int i = 0; i < n; ++i) {
    const Item& it = at(i);
    iov[i].iov_base = const_cast<uint8_t*>(it.buf.data() + it.offset);
    iov[i].iov_len = it.len;
    want += it.len;
  }
  return n;
}

void TcpConnection::consume(size_t left) {
  bytesOut_ += left;
  worker_.stats().bytesOut.add(left);
  queuedBytes_ -= left;
  while (left) {
    Item& it = at(0);
    if (left >= it.len) {
      left -= it.len;
      it.buf = BufferRef();
      head_ = (head_ + 1) & (ring_.size() - 1);
      --count_;
    } else {
      it.offset += static_cast<uint32_t>(left);
      it.len -= static_cast<uint32_t>(left);
      left = 0;
    }
  }
}

void TcpConnection::flush() {
  if (state_ == State::kClosing) return;
  if (UringWriter* u = worker_.uringWriter(); u && flushUring(*u)) return;
  bool wrote = false;
  while (count_) {
    iovec iov[kMaxIov];
    size_t want;
    int n = fillIov(iov, want);
    ssize_t w = ::writev(fd_, iov, n);
    ++writeCalls_;
    iovecs_ += static_cast<uint64_t>(n);
    if (w < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        blocked_ = true;
        break;
      }
      close("write error");
      return;
    }
    wrote = true;
    consume(static_cast<size_t>(w));
    // A short write means the socket buffer is full: asking again would only return EAGAIN.
    if (static_cast<size_t>(w) < want) {
      blocked_ = true;
      break;
    }
  }
  afterWrite(wrote);
}

void TcpConnection::afterWrite(bool wrote) {
  if (wrote) lastProgressMs_ = worker_.nowMs();
  if (count_ == 0) {
    newestDts_ = -1;
    // A join (header + cached GOP) grows the ring to hundreds of entries while steady output
    // needs a few: give that memory back, so each of thousands of viewers stays small.
    if (ring_.size() > kRingKeep) {
      ring_ = std::vector<Item>(kRingKeep);
      head_ = 0;
    }
    if (state_ == State::kDraining) {
      close(nullptr);
      return;
    }
    if (blocked_ && wrote && handler_) {
      blocked_ = false;
      handler_->onDrained();
    }
  }
  updatePoll();
}

// Returns false when the caller should write with writev (no slot free in the ring).
bool TcpConnection::flushUring(UringWriter& u) {
  if (uringSlot_ >= 0) {
    // Not submitted yet: the same write takes what was queued since, in order. Already in the
    // kernel: its completion writes the rest.
    if (u.unsubmitted(uringSlot_)) {
      size_t want;
      u.setIovCount(uringSlot_, fillIov(u.iov(uringSlot_), want));
    }
    return true;
  }
  if (count_ == 0) {
    afterWrite(false);
    return true;
  }
  int slot = u.acquire(this, fd_);
  if (slot < 0) return false;
  uring_ = &u;
  uringSlot_ = slot;
  if (state_ == State::kClosing) {  // closed by a completion delivered while acquiring
    releaseUringSlot();
    return true;
  }
  size_t want;
  u.setIovCount(slot, fillIov(u.iov(slot), want));
  updatePoll();
  return true;
}

void TcpConnection::onUringWrite(int res, int iovcnt) {
  uringSlot_ = -1;
  ++writeCalls_;
  iovecs_ += static_cast<uint64_t>(iovcnt);
  size_t want = 0;
  for (int i = 0; i < iovcnt; ++i) want += at(i).len;
  if (res >= 0) consume(static_cast<size_t>(res));
  if (state_ == State::kClosing) return;  // submitted by close(): the bytes left, nothing else
  if (res < 0) {
    if (res == -EINTR) {
      flush();
    } else if (res == -EAGAIN || res == -EWOULDBLOCK) {
      blocked_ = true;
      afterWrite(false);
    } else {
      close("write error");
    }
    return;
  }
  if (static_cast<size_t>(res) < want) {
    blocked_ = true;  // the socket is full, as with a short writev
  } else if (count_) {
    lastProgressMs_ = worker_.nowMs();
    flush();  // what was queued past this write (more than kMaxIov items) goes next
    return;
  }
  afterWrite(true);
}

void TcpConnection::releaseUringSlot() {
  if (uringSlot_ < 0) return;
  std::vector<BufferRef> inFlight;
  if (!uring_->unsubmitted(uringSlot_)) {
    int n = uring_->iovCount(uringSlot_);
    inFlight.reserve(n);
    for (int i = 0; i < n; ++i) inFlight.push_back(at(i).buf);
  }
  uring_->detach(uringSlot_, std::move(inFlight));
  uringSlot_ = -1;
}

int64_t TcpConnection::queuedMediaMs() const {
  if (newestDts_ < 0) return 0;
  for (size_t i = 0; i < count_; ++i) {
    if (at(i).dts >= 0) return newestDts_ - at(i).dts;
  }
  return 0;
}

void TcpConnection::closeAfterFlush() {
  if (state_ != State::kOpen) return;
  state_ = State::kDraining;  // no more reads; close once the queue is written
  stopDeferring();
  flush();
}

void TcpConnection::close(const char* reason) {
  if (state_ == State::kClosing) return;
  state_ = State::kClosing;
  stopDeferring();
  if (uringSlot_ >= 0) {
    // A flush before close leaves at once, as a writev would have; a write the kernel still
    // holds keeps its buffers alive in the ring until it completes.
    if (uring_->unsubmitted(uringSlot_)) uring_->submit();
    releaseUringSlot();
  }
  uv_poll_t* p = poll_.release();
  if (!p) {
    finishClose();
    return;
  }
  closingPoll_ = p;
  // The close callback frees the handle, then closes the socket and tells the handler.
  uv_poll_stop(p);
  uv_close(reinterpret_cast<uv_handle_t*>(p), [](uv_handle_t* h) {
    auto* self = static_cast<TcpConnection*>(h->data);
    delete reinterpret_cast<uv_poll_t*>(h);
    if (self) {
      self->closingPoll_ = nullptr;
      self->finishClose();
    }
  });
}

void TcpConnection::finishClose() {
  if (fd_ >= 0) {
    // A registered socket stays open while the ring holds it: release it first.
    if (UringWriter* u = worker_.uringWriter()) u->unregisterFd(fd_);
    ::close(fd_);
  }
  fd_ = -1;
  while (count_) {
    at(0).buf = BufferRef();
    head_ = (head_ + 1) & (ring_.size() - 1);
    --count_;
  }
  queuedBytes_ = 0;
  closedNotified_ = true;
  if (handler_) handler_->onClosed();
}

}  // namespace xl
