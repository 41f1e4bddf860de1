// TcpConnection: a non-blocking socket driven by uv_poll, so that reads land in the worker's
// shared scratch buffer and queued output leaves with one writev per flush, with no per-write
// request allocation. The output queue holds refcounted, immutable buffers shared by viewers.
// With [limits] io_engine = "io_uring" a flush prepares one IORING_OP_WRITEV instead, which the
// worker submits with every other connection's before the loop polls (at most one in flight per
// connection; its buffers stay queued until it completes).
#pragma once

#include <sys/uio.h>
#include <uv.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "xueliang/buffer.h"
#include "xueliang/handle.h"
#include "xueliang/status.h"
#include "xueliang/worker.h"

namespace xl {

class TcpConnection;
class UringWriter;

class ConnectionHandler {
 public:
  virtual ~ConnectionHandler() = default;
  // Bytes read from the peer. They live in the worker's scratch buffer until return.
  virtual void onData(const uint8_t* data, size_t n) = 0;
  // The output queue emptied after a write had found the socket full.
  virtual void onDrained() {}
  // The connection is closed and its handle freed; the handler may delete itself (and the
  // connection) now. Never called from inside onData.
  virtual void onClosed() = 0;
};

class TcpConnection {
 public:
  TcpConnection(Worker& worker, int fd, std::string peer);
  ~TcpConnection();
  TcpConnection(const TcpConnection&) = delete;
  TcpConnection& operator=(const TcpConnection&) = delete;

  void start(ConnectionHandler* handler);
  // Hands the connection to another handler (an HTTP request upgraded to a media stream).
  void setHandler(ConnectionHandler* handler) { handler_ = handler; }

  // Queues bytes; `mediaDtsMs` is the media time of a media batch (or -1), which lets viewers
  // measure how much media is waiting. Nothing is written until flush().
  void queue(const BufferRef& buf, int64_t mediaDtsMs = -1);
  void queue(const BufferRef& buf, size_t offset, size_t len, int64_t mediaDtsMs);
  // Writes as much as the socket takes now (writev); arms write polling for the rest. With the
  // io_uring engine the write leaves at the worker's next submission, before the loop polls.
  void flush();
  void send(const BufferRef& buf) {
    queue(buf);
    flush();
  }

  // Input that needs no quick answer (a playing viewer's receiver reports): while on, the
  // connection's input does not wake the loop but is read in batches with other deferred
  // connections', within 50 ms (DeferredReads::kMaxDelayMs).
  void deferReads(bool on);

  // Flushes what it can, then closes. Idempotent; onClosed follows asynchronously.
  void close(const char* reason = nullptr);
  // Closes when the output queue is empty (graceful end of a response).
  void closeAfterFlush();
  bool closing() const { return state_ != State::kOpen; }

  size_t queuedBytes() const { return queuedBytes_; }
  // Media time waiting in the queue: newest queued dts minus oldest unsent dts.
  int64_t queuedMediaMs() const;
  // Loop time (ms) of the last successful write or of the first byte queued after an empty queue.
  uint64_t lastProgressMs() const { return lastProgressMs_; }
  const std::string& peer() const { return peer_; }
  Worker& worker() { return worker_; }
  uint64_t bytesIn() const { return bytesIn_; }
  uint64_t bytesOut() const { return bytesOut_; }
  // writev calls (or io_uring writes) made so far (write batching tests and benchmarks).
  uint64_t writeCalls() const { return writeCalls_; }
  // iovecs passed to those calls (one per queued buffer or slice written).
  uint64_t iovecsWritten() const { return iovecs_; }

 private:
  static constexpr size_t kRingKeep = 16;  // ring entries kept while the queue is empty
  struct Item {
    BufferRef buf;
    uint32_t offset;
    uint32_t len;
    int64_t dts;
  };
  friend class DeferredReads;
  void readDeferred() { readAll(); }
  void stopDeferring();
  void onPoll(int status, int events);
  void updatePoll();
  void readAll();
  void startPoll(int events);
  void finishClose();
  friend class UringWriter;
  // Fills `iov` with the first queued items (at most UringWriter::kMaxIov); returns the count.
  int fillIov(iovec* iov, size_t& want) const;
  // Drops `written` bytes from the head of the queue.
  void consume(size_t written);
  // After writing: progress time, ring shrink, graceful close, onDrained, poll interest.
  void afterWrite(bool wrote);
  bool flushUring(UringWriter& u);
  void onUringWrite(int res, int iovcnt);
  void releaseUringSlot();
  Item& at(size_t i) { return ring_[(head_ + i) & (ring_.size() - 1)]; }
  const Item& at(size_t i) const { return ring_[(head_ + i) & (ring_.size() - 1)]; }

  Worker& worker_;
  int fd_;
  std::string peer_;
  ConnectionHandler* handler_ = nullptr;
  UvHandle<uv_poll_t> poll_;
  uv_poll_t* closingPoll_ = nullptr;  // released to its close callback
  int pollEvents_ = 0;
  std::vector<Item> ring_;  // power-of-two ring of pending output
  size_t head_ = 0;
  size_t count_ = 0;
  size_t queuedBytes_ = 0;
  int64_t newestDts_ = -1;
  uint64_t lastProgressMs_ = 0;
  uint64_t bytesIn_ = 0;
  uint64_t bytesOut_ = 0;
  uint64_t writeCalls_ = 0;
  uint64_t iovecs_ = 0;
  bool blocked_ = false;  // a write was short: onDrained is due once the queue empties
  enum class State { kOpen, kDraining, kClosing };
  State state_ = State::kOpen;
  bool closedNotified_ = false;
  bool deferred_ = false;         // input read by the worker's DeferredReads, not by poll_
  UringWriter* uring_ = nullptr;  // holds uringSlot_, this connection's write in flight
  int uringSlot_ = -1;
};

// A listening socket with SO_REUSEPORT: each worker opens its own and the kernel spreads
// connections across them.
class TcpListener {
 public:
  using AcceptFn = std::function<void(int fd, std::string peer)>;
  TcpListener(Worker& worker, AcceptFn onAccept);
  // `address` is "host:port" ("0.0.0.0:1935", "[::]:1935", "127.0.0.1:0").
  Status listen(const std::string& address);
  int port() const { return port_; }
  void close() { poll_.reset(); }
  ~TcpListener();

 private:
  Worker& worker_;
  AcceptFn onAccept_;
  UvHandle<uv_poll_t> poll_;
  int fd_ = -1;
  int port_ = 0;
};

// A protocol's listeners, one per worker on the same address. With port 0 the first worker's
// port is reused by the others, so all workers share one port.
class ListenerSet {
 public:
  explicit ListenerSet(std::string protocol) : protocol_(std::move(protocol)) {}
  // Called on the main thread before `w` runs.
  Status open(Worker& w, const std::string& address, TcpListener::AcceptFn onAccept);
  // On `w`'s thread.
  void close(Worker& w);
  int port() const { return port_; }

 private:
  std::string protocol_;
  std::vector<std::unique_ptr<TcpListener>> listeners_;  // by worker index
  int port_ = 0;
};

// An outgoing TCP connection opened without blocking the loop: the name is resolved off the
// loop (uv_getaddrinfo), the socket connects non-blocking, and `done` runs on the worker with the
// connected fd (hand it to a TcpConnection) or the reason it failed. Destroying the connector
// cancels the attempt; `done` is never called after that.
class TcpConnector {
 public:
  using DoneFn = std::function<void(Result<int> fd, std::string peer)>;
  explicit TcpConnector(Worker& worker);
  ~TcpConnector();
  TcpConnector(const TcpConnector&) = delete;
  TcpConnector& operator=(const TcpConnector&) = delete;
  void connect(const std::string& host, int port, uint64_t timeoutMs, DoneFn done);
  struct Attempt;  // shared with in-flight libuv requests

 private:
  Worker& worker_;
  std::shared_ptr<Attempt> attempt_;
};

// The address part of a peer string ("1.2.3.4:5" -> "1.2.3.4", "[::1]:5" -> "::1").
std::string peerHost(const std::string& peer);

// Splits "host:port" / "[v6]:port".
Result<std::pair<std::string, int>> parseHostPort(const std::string& address);

}  // namespace xl
