// WhipPort: the WHIP publishers on one worker's media port. It is the port's guest (see
// media_port.h): STUN requests whose ufrag no WHEP session has and datagrams from addresses no
// WHEP session checked come here, and are routed by ufrag and checked address as MediaPort does
// for viewers. Every worker's port has one: a check whose ufrag names another worker, and what
// follows it from that address, reach the right one through the ports' hand-over (media_port.h).
// Owns the sessions; they send from the port's socket, or their ICE-TCP connection.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "webrtc/media_port.h"
#include "webrtc/session_table.h"
#include "webrtc/whip_session.h"

namespace xl::webrtc {

class WhipPort : public PortGuest {
 public:
  explicit WhipPort(MediaPort& port);  // registers itself as the port's guest
  ~WhipPort() override;

  Worker& worker() { return port_.worker(); }
  UdpSocket& socket() { return port_.socket(); }
  int port() const { return port_.port(); }

  // On the port's worker.
  void add(std::unique_ptr<WhipSession> s);
  WhipSession* find(const std::string& id);
  // The session that issued this ICE ufrag, or nullptr (ICE-TCP checks).
  WhipSession* findUfrag(std::string_view ufrag);
  bool close(const std::string& id, const std::string& why);
  void closeAll();
  // A session's peer address passed a check (or it moved): datagrams from there are its.
  void learn(WhipSession& s, const UdpAddress& from);
  // Unregisters the session and deletes it outside of the current callback.
  void release(WhipSession& s);

  // PortGuest
  bool onStun(ByteSpan data, const StunMessage& m, const UdpAddress& from) override;
  bool onDatagram(ByteSpan data, const UdpAddress& from) override;

 private:
  MediaPort& port_;
  SessionTable<WhipSession> sessions_;
};

}  // namespace xl::webrtc
