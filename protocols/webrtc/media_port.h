// MediaPort: the WebRTC UDP port on one worker. Every worker owns one, bound to the same port
// with SO_REUSEPORT, and owns the sessions created on it. It demultiplexes datagrams per RFC 7983
// (STUN 0-3, DTLS 20-63, SRTP/SRTCP 128-191), finds the session of a STUN request by the ICE
// ufrag in its USERNAME (RFC 8445 §7.2.2) and of everything else by the source address that
// passed a connectivity check.
//
// The kernel may hash a browser's datagrams to another worker's socket: a STUN request goes to
// the worker its ufrag names (see worker_router.h), anything else to the worker whose session
// checked that source address (each port learns the other workers' checked addresses from them).
// Sessions always send from their own worker's socket.
#pragma once

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "webrtc/session_table.h"
#include "webrtc/whep_session.h"
#include "webrtc/worker_router.h"

namespace xl::webrtc {

// Another kind of session sharing the port (WHIP publishers): asked about the STUN requests and
// datagrams no WHEP session here claims; each returns false when they are not its own either.
class PortGuest {
 public:
  virtual ~PortGuest() = default;
  virtual bool onStun(ByteSpan data, const StunMessage& m, const UdpAddress& from) = 0;
  virtual bool onDatagram(ByteSpan data, const UdpAddress& from) = 0;
};

class MediaPort : public WhepRouter, public ParcelSink {
 public:
  // `ports` holds every worker's port by worker index; filled before any worker runs.
  MediaPort(Worker& worker, const std::vector<MediaPort*>& ports);
  ~MediaPort() override;

  Status bind(const std::string& address);
  int port() const { return socket_.port(); }
  Worker& worker() { return worker_; }

  // On this port's worker.
  void add(std::unique_ptr<WhepSession> s);
  // Ends the session with this resource id; false if there is none.
  bool close(const std::string& id, const std::string& why);
  void closeAll();
  size_t size() const { return sessions_.size(); }
  // The WHEP session with this resource id, or nullptr.
  WhepSession* find(const std::string& id) { return sessions_.find(id); }
  // The WHEP session that issued this ICE ufrag, or nullptr (ICE-TCP checks).
  WhepSession* findUfrag(std::string_view ufrag) { return sessions_.findUfrag(ufrag); }
  // On this port's worker; the guest must outlive its use here (unset it before it goes).
  void setGuest(PortGuest* g) { guest_ = g; }
  // For the guest's sessions (WHIP): datagrams from `key` (addressKey) belong to this worker, or
  // no longer do; the other ports hand them over accordingly.
  void claim(const std::string& key, bool owned) { publish(key, owned); }

  // WhepRouter
  UdpSocket& socket() override { return socket_; }
  SendQueue& sendQueue() override { return queue_; }
  void peerChanged(WhepSession& s, const UdpAddress* before) override;
  void release(WhepSession& s) override;
  // ParcelSink: a datagram another worker received for a session here.
  void onForwarded(const uint8_t* data, size_t n, const UdpAddress& from) override;

 private:
  void onDatagram(const uint8_t* data, size_t n, const UdpAddress& from, bool forwarded);
  void onStun(ByteSpan data, const UdpAddress& from, bool forwarded);
  void learn(WhepSession& s, const UdpAddress& from);
  // A session on worker `to` checked `key` since: no session here has it any more.
  void disown(const std::string& key, int to);
  // Tells the other ports that datagrams from `key` belong here (or no longer do).
  void publish(const std::string& key, bool owned);
  void forward(int worker, ByteSpan data, const UdpAddress& from);

  Worker& worker_;
  const std::vector<MediaPort*>& ports_;
  UdpSocket socket_;
  bool closed_ = false;
  SessionTable<WhepSession> sessions_;
  std::unordered_map<std::string, int> remote_;  // addresses of other workers' sessions
  SendQueue queue_;                              // after socket_: it sends through it
  ParcelPool parcels_;
  uint64_t badStun_ = 0;
  uint64_t unrouted_ = 0;  // DTLS/SRTCP datagrams no session here or elsewhere claimed
  PortGuest* guest_ = nullptr;
};

}  // namespace xl::webrtc
