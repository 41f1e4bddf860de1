// UringWriter: the io_uring write engine of one worker ([limits] io_engine = "io_uring").
// TcpConnection::flush() prepares one IORING_OP_WRITEV per connection instead of calling writev;
// the worker submits the prepared writes with one io_uring_enter per 64, and the rest from a
// uv_prepare right before the loop polls, so a fan-out pass costs one system call per 64 writes.
// The sockets are non-blocking, so the kernel completes each write (fully, short, or -EAGAIN)
// inside that io_uring_enter and the completions are reaped at once; an eventfd registered with the
// ring (silenced during our own submissions) wakes the loop for any completion that comes later.
//
// Connections' sockets are registered with the ring (a sparse table indexed by fd), so a write
// skips the per-call file lookup and reference count of a plain fd.
//
// Each write owns a slot: its iovec array and, if its connection closes while the kernel still
// holds the write, the buffers it points into, so nothing it reads is freed before it completes.
#pragma once

#include <sys/uio.h>
#include <uv.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "xueliang/buffer.h"
#include "xueliang/handle.h"
#include "xueliang/status.h"

struct io_uring;
struct io_uring_sqe;

namespace xl {

class TcpConnection;

class UringWriter {
 public:
  static constexpr int kMaxIov = 64;

  // Whether this build has io_uring support at all (liburing found at build time).
  static bool compiledIn();
  // Can this process create a ring (kernel support, seccomp, memlock)? An error says why not.
  static Status probe();
  // The worker's writer, on its loop thread; null (with a log line) when no ring can be made.
  static std::unique_ptr<UringWriter> create(uv_loop_t* loop, int workerIndex);
  ~UringWriter();
  UringWriter(const UringWriter&) = delete;
  UringWriter& operator=(const UringWriter&) = delete;

  // Registers a connection's socket with the ring; unregister before closing it (the ring holds
  // a reference to a registered socket). Sockets the table cannot hold are written unregistered.
  void registerFd(int fd);
  void unregisterFd(int fd);
  // A slot for one write of `owner` on `fd`, or -1 when none is free even after submitting
  // (the caller then writes itself). Fill iov(slot), then call setIovCount.
  int acquire(TcpConnection* owner, int fd);
  iovec* iov(int slot) { return slots_[slot].iov; }
  // Sets (or, while the write waits for submission, updates) the number of iovecs to write.
  void setIovCount(int slot, int n);
  int iovCount(int slot) const { return slots_[slot].iovcnt; }
  // True while the write is prepared but not yet handed to the kernel.
  bool unsubmitted(int slot) const { return !slots_[slot].submitted; }
  // The owner goes away: the completion will not reach it. A write the kernel holds keeps
  // `inFlight` (its buffers) alive until it completes; an unsubmitted one becomes a no-op.
  void detach(int slot, std::vector<BufferRef> inFlight);
  // Submits every prepared write now and delivers the completions.
  void submit();

  // Counters for tests and /metrics-like diagnostics.
  uint64_t submitCalls() const { return submitCalls_; }
  uint64_t lateCompletions() const { return lateCompletions_; }
  bool registered(int fd) const {
    return fd >= 0 && static_cast<size_t>(fd) < registered_.size() && registered_[fd];
  }

 private:
  struct Slot {
    TcpConnection* owner = nullptr;
    io_uring_sqe* sqe = nullptr;  // valid until submitted
    bool submitted = false;
    bool busy = false;
    int iovcnt = 0;
    std::vector<BufferRef> keep;  // buffers of a detached write still in the kernel
    iovec iov[kMaxIov];
  };
  UringWriter(uv_loop_t* loop, std::unique_ptr<io_uring> ring, unsigned entries, int eventFd);
  void reap(bool late);
  void onEventFd();

  uv_loop_t* loop_;
  std::unique_ptr<io_uring> ring_;
  std::vector<Slot> slots_;
  std::vector<int> free_;
  std::vector<int> prepared_;     // slots awaiting submission
  std::vector<bool> registered_;  // by fd: in the ring's file table
  int eventFd_ = -1;
  UvHandle<uv_prepare_t> prepare_;
  UvHandle<uv_poll_t> eventPoll_;
  uint64_t submitCalls_ = 0;
  uint64_t lateCompletions_ = 0;
  bool inReap_ = false;
};

}  // namespace xl
