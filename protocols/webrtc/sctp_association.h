// SCTP over DTLS (RFC 8261) for WebRTC data channels, on usrsctp in "conn" mode: usrsctp has no
// socket of its own here; the SCTP packets it wants to send are handed to the owner (which
// encrypts them with DTLS) and the DTLS application data received is fed back with feed().
//
// usrsctp's timers run on one thread of ours (it is started without threads or raw sockets of its
// own) and its C callbacks (packet output, received data and notifications) come from that
// thread as well as from inside our calls. An association therefore
// never runs its handlers from a callback: it copies what it got and hands a task to its
// Executor (the session's worker), and that task finds the association through a Link whose
// owner pointer is cleared, on the executor's thread, when the association goes away.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "xueliang/status.h"

struct socket;  // usrsctp's

namespace xl::webrtc {

// usrsctp's process-wide stack: usrsctp_init on the first acquire, usrsctp_finish after the last
// holder lets go. The library keeps one global state and one output callback per process, so
// the reference count and the table that maps usrsctp's opaque addresses to associations are
// necessarily process-wide too (guarded by mutexes); nothing else is.
class SctpStack {
 public:
  static std::shared_ptr<SctpStack> acquire();
  ~SctpStack();
  SctpStack(const SctpStack&) = delete;
  SctpStack& operator=(const SctpStack&) = delete;

 private:
  SctpStack() = default;
};

// Runs a task later on the thread that owns the association (Worker::post in the server).
using Executor = std::function<void(std::function<void()>)>;

class SctpAssociation {
 public:
  struct Handlers {
    std::function<void(std::span<const uint8_t>)> output;  // one SCTP packet, for DTLS
    // One whole message of stream `sid` with payload protocol `ppid` (RFC 8831 §8).
    std::function<void(uint16_t sid, uint32_t ppid, std::span<const uint8_t>)> message;
    std::function<void()> up;
    std::function<void(const std::string& why)> down;
    std::function<void(uint16_t sid)> incomingReset;  // the peer closed its side of `sid`
  };
  // Messages above this size (reassembled) are dropped; the SDP announces it.
  static constexpr size_t kMaxMessageSize = 65536;
  static constexpr uint16_t kPort = 5000;  // RFC 8841 default a=sctp-port

  struct Link;  // internal: how usrsctp's callbacks reach the association

  SctpAssociation(std::shared_ptr<SctpStack> stack, Executor executor, Handlers handlers);
  ~SctpAssociation();
  SctpAssociation(const SctpAssociation&) = delete;
  SctpAssociation& operator=(const SctpAssociation&) = delete;

  // Both WebRTC peers connect (RFC 8841 §9.3: SCTP handles the simultaneous INITs).
  Status connect(uint16_t localPort, uint16_t remotePort);
  // One SCTP packet from DTLS application data.
  void feed(std::span<const uint8_t> packet);
  // Reliable message on `sid`; fails when the send buffer is full or the association is down.
  Status send(uint16_t sid, uint32_t ppid, std::span<const uint8_t> data, bool ordered = true);
  // Outgoing stream reset (RFC 6525), how a data channel is closed (RFC 8831 §6.7).
  void resetStream(uint16_t sid);
  // DATA chunks sent and not yet acknowledged, plus those waiting to be sent: the channel's
  // buffered amount, in chunks.
  size_t pendingChunks() const;
  bool up() const { return up_; }
  uint64_t receivedMessages() const { return received_; }
  uint64_t droppedMessages() const { return droppedIn_; }

 private:
  friend struct SctpCallbacks;  // usrsctp's C callbacks, in the .cc
  void handleData(uint16_t sid, uint32_t ppid, bool end, std::vector<uint8_t>& data);
  void handleNotification(const std::vector<uint8_t>& n);

  std::shared_ptr<SctpStack> stack_;
  Handlers h_;
  std::shared_ptr<Link> link_;
  uintptr_t id_ = 0;  // the AF_CONN address usrsctp knows us by
  struct socket* sock_ = nullptr;
  bool up_ = false;
  bool down_ = false;
  std::vector<uint8_t> partial_;  // a message delivered in pieces (partial delivery)
  uint16_t partialSid_ = 0;
  bool partialTooBig_ = false;
  uint64_t received_ = 0, droppedIn_ = 0;
};

}  // namespace xl::webrtc
