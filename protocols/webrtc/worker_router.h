// Cross-worker routing for the WebRTC media port. Every worker owns a UDP socket on the same port
// (SO_REUSEPORT), and the kernel hashes a browser's 5-tuple to any of them, not necessarily to
// the worker its session lives on. The session's worker is named by the first two characters of
// the ICE ufrag the answer issued, so a STUN check finds its worker wherever it lands; DTLS and
// SRTCP carry no ufrag, so every port keeps a table of the peer addresses the other workers'
// sessions have checked (published to it by the owner with a cross-worker post) and hands such a
// datagram over as a copy in a pooled, bounded parcel. Replies leave from the owner's own socket:
// same port, so the browser sees one address.
#pragma once

#include <sys/socket.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "xueliang/udp.h"
#include "xueliang/worker.h"

namespace xl::webrtc {

// The ufrag prefix naming worker `index` (two ice-chars, up to 62 * 62 workers).
std::string ufragPrefix(int index);
// The worker a ufrag names, or -1 if it names none.
int workerOfUfrag(std::string_view ufrag);

// Family, port and address bytes of a socket address: a map key.
std::string addressKey(const UdpAddress& a);

// What a parcel is delivered to on its destination worker.
class ParcelSink {
 public:
  virtual ~ParcelSink() = default;
  virtual void onForwarded(const uint8_t* data, size_t n, const UdpAddress& from) = 0;
};

// A fixed set of datagram copies one worker posts to others. Taken on the owning worker only;
// a parcel goes back to the pool (from whichever thread ran it) when the destination worker
// deletes the task, so forwarding allocates nothing. When every parcel is in flight the datagram
// is dropped and counted: a busy worker cannot queue without bound on another. The pool must
// outlive the workers it posts to (their inboxes delete unrun tasks when they are destroyed).
// Slots are carved from the storage the first time they are needed, so a deep pool costs memory
// only as far as a backlog ever reached.
class ParcelPool {
 public:
  static constexpr size_t kMaxDatagram = 2048;  // DTLS flights and RTCP stay under the MTU
  explicit ParcelPool(size_t parcels);
  ~ParcelPool();
  ParcelPool(const ParcelPool&) = delete;
  ParcelPool& operator=(const ParcelPool&) = delete;

  // Owning worker only. Copies the datagram and posts it to `to`'s worker; false (counted in
  // dropped()) if it is too large or no parcel is free.
  bool forward(Worker& worker, ParcelSink& to, const uint8_t* data, size_t n,
               const UdpAddress& from);
  uint64_t forwarded() const { return forwarded_; }
  uint64_t dropped() const { return dropped_; }
  size_t inFlight() const { return size_ - free_; }

 private:
  struct Parcel;
  struct Slot;
  Slot* take();
  void giveBack(Slot* s);  // any thread

  size_t size_;
  std::unique_ptr<unsigned char[]> storage_;
  size_t carved_ = 0;                     // slots ever handed out; the rest are untouched
  Slot* local_ = nullptr;                 // free slots, owner only
  std::atomic<Slot*> returned_{nullptr};  // pushed by any thread, taken whole by the owner
  std::atomic<size_t> free_;
  uint64_t forwarded_ = 0;
  uint64_t dropped_ = 0;
};

}  // namespace xl::webrtc
