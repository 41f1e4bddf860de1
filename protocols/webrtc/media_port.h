// MediaPort: the WebRTC UDP port on its worker. It demultiplexes datagrams per RFC 7983 (STUN
// 0-3, DTLS 20-63, SRTP/SRTCP 128-191), finds the session of a STUN request by the ICE ufrag in
// its USERNAME (RFC 8445 §7.2.2) and of everything else by the source address that passed a
// connectivity check, and owns the sessions.
//
// This version binds the single socket on one worker (the first) and runs every WebRTC session
// there: with SO_REUSEPORT on every worker the kernel would hash a browser's datagrams to any of
// them, which needs routing by ufrag across workers (a later step).
#pragma once

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "webrtc/whep_session.h"

namespace xl::webrtc {

class MediaPort : public WhepRouter {
 public:
  explicit MediaPort(Worker& worker);
  ~MediaPort() override;

  Status bind(const std::string& address);
  int port() const { return socket_.port(); }
  Worker& worker() { return worker_; }

  // On this port's worker.
  void add(std::unique_ptr<WhepSession> s);
  // Ends the session with this resource id; false if there is none.
  bool close(const std::string& id, const std::string& why);
  void closeAll();
  size_t size() const { return byId_.size(); }

  // WhepRouter
  UdpSocket& socket() override { return socket_; }
  uint8_t* scratch(size_t& slots) override;
  void peerChanged(WhepSession& s, const UdpAddress* before) override;
  void release(WhepSession& s) override;

 private:
  void onDatagram(const uint8_t* data, size_t n, const UdpAddress& from);
  void onStun(ByteSpan data, const UdpAddress& from);
  void learn(WhepSession& s, const UdpAddress& from);

  Worker& worker_;
  UdpSocket socket_;
  std::unordered_map<std::string, std::unique_ptr<WhepSession>> byId_;
  std::unordered_map<std::string, WhepSession*> byUfrag_;
  std::unordered_map<std::string, WhepSession*> byAddress_;  // checked source addresses
  std::unordered_map<WhepSession*, std::vector<std::string>> addressesOf_;
  std::vector<uint8_t> scratch_;
  uint64_t badStun_ = 0;
};

}  // namespace xl::webrtc
