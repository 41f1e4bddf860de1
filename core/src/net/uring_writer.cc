#include "uring_writer.h"

#include <spdlog/spdlog.h>

#include "xueliang/connection.h"

#ifdef XL_WITH_LIBURING
#include <errno.h>
#include <liburing.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstring>
#else
struct io_uring {};  // never made without liburing: only the unique_ptr's deleter needs it
#endif

namespace xl {

#ifndef XL_WITH_LIBURING

bool UringWriter::compiledIn() {
  return false;
}
Status UringWriter::probe() {
  return Status::error("this build has no io_uring (no liburing)");
}
std::unique_ptr<UringWriter> UringWriter::create(uv_loop_t*, int) {
  return nullptr;
}
UringWriter::~UringWriter() = default;
int UringWriter::acquire(TcpConnection*, int) {
  return -1;
}
void UringWriter::setIovCount(int, int) {}
void UringWriter::registerFd(int) {}
void UringWriter::unregisterFd(int) {}
void UringWriter::detach(int, std::vector<BufferRef>) {}
void UringWriter::submit() {}

#else

namespace {
// Submission queue entries per worker: one per connection with a write waiting for the next
// submission. A fan-out pass over more connections than this submits each time the queue fills.
constexpr unsigned kEntries = 1024;
// Prepared writes are handed to the kernel in batches of this many: one system call still
// serves many writes, and the writes happen while the fan-out pass's slice runs (FlushTimer
// times them), so a joining viewer waits behind one slice, not behind the whole pass.
constexpr size_t kSubmitBatch = 64;
// Registered-file table size: sockets with a higher fd number are written unregistered.
constexpr unsigned kFiles = 65536;

int initRing(io_uring* ring, unsigned entries) {
  io_uring_params p{};
  // Without SUBMIT_ALL one failed submission (a closed fd) would stop the rest of the batch.
  p.flags = IORING_SETUP_SUBMIT_ALL | IORING_SETUP_CQSIZE;
  p.cq_entries = entries * 2;
  int rc = io_uring_queue_init_params(entries, ring, &p);
  if (rc == -EINVAL) {  // kernels before 5.18
    io_uring_params plain{};
    rc = io_uring_queue_init_params(entries, ring, &plain);
  }
  return rc;
}
}  // namespace

bool UringWriter::compiledIn() {
  return true;
}

Status UringWriter::probe() {
  io_uring ring{};
  if (int rc = initRing(&ring, 2); rc < 0)
    return Status::error(std::string("io_uring_queue_init: ") + std::strerror(-rc));
  io_uring_queue_exit(&ring);
  return Status::ok();
}

std::unique_ptr<UringWriter> UringWriter::create(uv_loop_t* loop, int workerIndex) {
  auto ring = std::make_unique<io_uring>();
  if (int rc = initRing(ring.get(), kEntries); rc < 0) {
    spdlog::warn("worker {}: io_uring_queue_init: {}; writing with writev", workerIndex,
                 std::strerror(-rc));
    return nullptr;
  }
  int efd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  // Only completions that did not happen inside our own io_uring_enter signal it.
  if (efd < 0 || io_uring_register_eventfd_async(ring.get(), efd) < 0) {
    spdlog::warn("worker {}: io_uring eventfd: {}; writing with writev", workerIndex,
                 std::strerror(errno));
    if (efd >= 0) ::close(efd);
    io_uring_queue_exit(ring.get());
    return nullptr;
  }
  return std::unique_ptr<UringWriter>(new UringWriter(loop, std::move(ring), kEntries, efd));
}

UringWriter::UringWriter(uv_loop_t* loop, std::unique_ptr<io_uring> ring, unsigned entries,
                         int eventFd)
    : loop_(loop), ring_(std::move(ring)), slots_(entries), eventFd_(eventFd) {
  // Sparse table (Linux 5.19): without it every write looks its socket up by fd.
  // The kernel caps the table at RLIMIT_NOFILE, which also bounds the fds to register.
  rlimit rl{};
  unsigned files = kFiles;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < files)
    files = static_cast<unsigned>(rl.rlim_cur);
  if (int rc = io_uring_register_files_sparse(ring_.get(), files); rc == 0)
    registered_.resize(files);
  else
    spdlog::debug("io_uring file table: {}; sockets written unregistered", std::strerror(-rc));
  free_.reserve(entries);
  prepared_.reserve(entries);
  for (int i = static_cast<int>(entries) - 1; i >= 0; --i) free_.push_back(i);
  // Right before the loop polls: what was prepared during the iteration and not yet handed over
  // (the last of the fan-out pass, replies from read callbacks, timers) leaves in one
  // io_uring_enter.
  uv_prepare_init(loop_, prepare_.make());
  prepare_.get()->data = this;
  uv_prepare_start(prepare_.get(), [](uv_prepare_t* p) {
    auto* self = static_cast<UringWriter*>(p->data);
    // A full completion with more queued prepares the next write at once: submit until no
    // connection has one waiting, so none waits across a blocking poll.
    while (!self->prepared_.empty()) self->submit();
  });
  uv_poll_init(loop_, eventPoll_.make(), eventFd_);
  eventPoll_.get()->data = this;
  uv_poll_start(eventPoll_.get(), UV_READABLE,
                [](uv_poll_t* p, int, int) { static_cast<UringWriter*>(p->data)->onEventFd(); });
  // Neither keeps the loop alive: pending writes belong to connections, which do.
  uv_unref(reinterpret_cast<uv_handle_t*>(prepare_.get()));
  uv_unref(reinterpret_cast<uv_handle_t*>(eventPoll_.get()));
}

UringWriter::~UringWriter() {
  prepare_.reset();
  eventPoll_.reset();
  // Exiting the ring cancels whatever the kernel still holds (only at worker shutdown, once the
  // loop has stopped: every write completes inside the submission otherwise).
  for (Slot& s : slots_)
    if (s.busy && s.owner) s.owner->uringSlot_ = -1;
  io_uring_queue_exit(ring_.get());
  ::close(eventFd_);
}

void UringWriter::registerFd(int fd) {
  if (fd < 0 || static_cast<size_t>(fd) >= registered_.size()) return;
  registered_[fd] = io_uring_register_files_update(ring_.get(), fd, &fd, 1) == 1;
}

void UringWriter::unregisterFd(int fd) {
  if (!registered(fd)) return;
  int none = -1;
  io_uring_register_files_update(ring_.get(), fd, &none, 1);
  registered_[fd] = false;
}

int UringWriter::acquire(TcpConnection* owner, int fd) {
  // Submitting completes (and frees) every write prepared so far.
  if (free_.empty() || prepared_.size() >= kSubmitBatch) submit();
  if (free_.empty()) return -1;
  io_uring_sqe* sqe = io_uring_get_sqe(ring_.get());
  if (!sqe) {
    submit();
    sqe = io_uring_get_sqe(ring_.get());
    if (!sqe) return -1;
  }
  int slot = free_.back();
  free_.pop_back();
  Slot& s = slots_[slot];
  s.owner = owner;
  s.sqe = sqe;
  s.submitted = false;
  s.busy = true;
  s.iovcnt = 0;
  io_uring_prep_writev(sqe, fd, s.iov, 0, 0);
  // The table is indexed by fd, so the index is the fd itself.
  if (registered(fd)) sqe->flags |= IOSQE_FIXED_FILE;
  io_uring_sqe_set_data64(sqe, static_cast<uint64_t>(slot));
  prepared_.push_back(slot);
  return slot;
}

void UringWriter::setIovCount(int slot, int n) {
  Slot& s = slots_[slot];
  s.iovcnt = n;
  if (s.sqe) s.sqe->len = static_cast<unsigned>(n);
}

void UringWriter::detach(int slot, std::vector<BufferRef> inFlight) {
  Slot& s = slots_[slot];
  s.owner = nullptr;
  if (!s.submitted) {
    // Not yet the kernel's: it becomes a no-op, and its completion frees the slot.
    uint64_t data = static_cast<uint64_t>(slot);
    io_uring_prep_nop(s.sqe);
    io_uring_sqe_set_data64(s.sqe, data);
    return;
  }
  s.keep = std::move(inFlight);
}

void UringWriter::submit() {
  if (prepared_.empty()) return;
  for (int slot : prepared_) {
    slots_[slot].submitted = true;
    slots_[slot].sqe = nullptr;
  }
  prepared_.clear();
  ++submitCalls_;
  int rc;
  do {
    rc = io_uring_submit(ring_.get());
  } while (rc == -EINTR);
  // On failure the entries stay in the submission queue and go with the next submission.
  if (rc < 0) spdlog::error("io_uring_submit: {}", std::strerror(-rc));
  reap(false);
}

void UringWriter::onEventFd() {
  uint64_t n;
  while (::read(eventFd_, &n, sizeof n) > 0) {
  }
  reap(true);
}

void UringWriter::reap(bool late) {
  io_uring_cqe* cqe;
  // One completion at a time: a callback may close connections or prepare and submit writes.
  while (io_uring_peek_cqe(ring_.get(), &cqe) == 0) {
    int slot = static_cast<int>(io_uring_cqe_get_data64(cqe));
    int res = cqe->res;
    io_uring_cqe_seen(ring_.get(), cqe);
    Slot& s = slots_[slot];
    TcpConnection* owner = s.owner;
    int iovcnt = s.iovcnt;
    s.owner = nullptr;
    s.busy = false;
    s.keep.clear();
    free_.push_back(slot);
    if (late) ++lateCompletions_;
    if (owner) owner->onUringWrite(res, iovcnt);
  }
}

#endif

}  // namespace xl
