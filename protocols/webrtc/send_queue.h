// SendQueue: the protected packets of every WHEP viewer on one media port, gathered over a loop
// iteration so that one sendmmsg carries many viewers' frames (UdpSocket::sendMany) instead of
// one system call per viewer and frame. A frame reaches all of a worker's viewers in one pass
// of the stream mirror; each viewer lays its packets out here back to back (contiguity is what
// lets UDP GSO send a run of equal-sized ones as one message, see UdpSocket::setGso), and at the
// end of the iteration (FlushTimer::scheduleSoon) they leave together. Bounded: kBytes of packets,
// kDatagrams packets, kEntries entries; when one of them fills up, what is queued leaves at once.
// Each entry's owner hears how much of it the kernel took (onSent), so a viewer whose frame was
// damaged (socket buffer full) still waits for a keyframe. No allocation after construction.
// Over ICE-TCP an entry leaves through its connection at end(), on its own.
#pragma once

#include <sys/uio.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "webrtc/srtp.h"
#include "xueliang/flush_timer.h"
#include "xueliang/udp.h"

namespace xl::webrtc {

// A framed TCP connection to the browser (ICE-TCP, ice_tcp.h), on the session's worker.
class TcpPath {
 public:
  virtual ~TcpPath() = default;
  // As UdpSocket::sendEach: how many datagrams were taken (0 when the connection is backed up).
  virtual size_t send(std::span<const iovec> datagrams) = 0;
  // The session ended: the connection closes.
  virtual void sessionGone() = 0;
};

class SendQueue : private FlushTimer::Entry {
 public:
  struct Outcome {
    size_t datagrams = 0;  // in the entry
    size_t sent = 0;       // taken by the kernel (or the TCP connection)
    size_t bytes = 0;      // of those
    bool video = false;
  };
  class Owner {
   public:
    virtual void onSent(const Outcome& o) = 0;

   protected:
    ~Owner() = default;
  };

  static constexpr size_t kBytes = 256 * 1024;  // stays in the L2 cache between fill and send
  static constexpr size_t kDatagrams = 1024;
  static constexpr size_t kEntries = 256;

  SendQueue(UdpSocket& socket, FlushTimer& timer);
  ~SendQueue() override;
  SendQueue(const SendQueue&) = delete;
  SendQueue& operator=(const SendQueue&) = delete;

  // Starts an entry: the packets added until end() go to `to` (over `tcp` if not null).
  void begin(Owner* owner, const UdpAddress& to, bool video, TcpPath* tcp = nullptr);
  // Where the entry's next packet of `len` bytes goes, with kSrtpMaxTrailer bytes of room after
  // it for protection in place. If the queue is full, what is queued leaves first and the entry
  // goes on in a new one. nullptr only for a packet larger than the whole area.
  uint8_t* next(size_t len);
  // The packet written at next() is `len` bytes long now (protected).
  void add(size_t len);
  // The entry is complete: it leaves with the others at the end of the loop iteration.
  void end();
  // Everything queued leaves now.
  void flush();
  // `owner` goes away: its queued packets are dropped and it hears nothing more.
  void forget(const Owner* owner);
  // No end-of-iteration flush is pending any more (the port closes).
  void stop() { cancel(); }

  size_t entries() const { return n_; }
  // Times the queue went out over UDP (each one sendMany of many entries).
  uint64_t flushes() const { return flushes_; }

 private:
  struct Item {
    Owner* owner = nullptr;
    TcpPath* tcp = nullptr;
    UdpAddress to;
    uint32_t first = 0;  // index of its first datagram in iov_
    uint32_t count = 0;
    bool video = false;
  };
  void onDue() override { flush(); }
  Outcome outcome(const Item& it, size_t sent) const;
  // The open entry (the last) leaves now over its TCP connection and is taken off the queue.
  void sendTcp();

  UdpSocket& socket_;
  FlushTimer& timer_;
  std::unique_ptr<uint8_t[]> area_;
  size_t used_ = 0;
  std::array<iovec, kDatagrams> iov_{};
  size_t datagrams_ = 0;
  std::array<Item, kEntries> items_{};
  std::array<UdpBatchEntry, kEntries> batch_{};
  std::array<uint16_t, kEntries> batchOf_{};  // the item of each batch_ entry
  size_t n_ = 0;
  bool open_ = false;  // items_[n_ - 1] is between begin() and end()
  uint64_t flushes_ = 0;
};

}  // namespace xl::webrtc
