#include "webrtc/whip_port.h"

#include <spdlog/spdlog.h>

namespace xl::webrtc {

WhipPort::WhipPort(MediaPort& port) : port_(port) {
  port_.setGuest(this);
}

WhipPort::~WhipPort() {
  port_.setGuest(nullptr);
}

void WhipPort::add(std::unique_ptr<WhipSession> s) {
  sessions_.add(std::move(s))->start();
}

WhipSession* WhipPort::find(const std::string& id) {
  return sessions_.find(id);
}

WhipSession* WhipPort::findUfrag(std::string_view ufrag) {
  return sessions_.findUfrag(ufrag);
}

bool WhipPort::close(const std::string& id, const std::string& why) {
  WhipSession* s = find(id);
  if (!s) return false;
  s->close(why);
  return true;
}

void WhipPort::closeAll() {
  for (WhipSession* s : sessions_.all()) s->close("server shutdown");
}

void WhipPort::learn(WhipSession& s, const UdpAddress& from) {
  std::string key = addressKey(from);
  // The other workers hand what they receive from there to this one (media_port.h).
  if (sessions_.learn(s, key, [this](const std::string& k) { port_.claim(k, false); }))
    port_.claim(key, true);
}

void WhipPort::release(WhipSession& s) {
  auto owned = sessions_.release(s, [this](const std::string& k) { port_.claim(k, false); });
  // Deleted on a later turn of the loop: the session may be inside its own callback now.
  if (owned) port_.worker().post([p = owned.release()] { delete p; });
}

bool WhipPort::onStun(ByteSpan data, const StunMessage& m, const UdpAddress& from) {
  WhipSession* s = sessions_.checkBinding(data, m);
  if (!s) return false;
  learn(*s, from);
  s->onBindingRequest(m, from);
  return true;
}

bool WhipPort::onDatagram(ByteSpan data, const UdpAddress& from) {
  WhipSession* s = sessions_.atAddress(addressKey(from));
  if (!s) return false;
  s->onDatagram(data, from);
  return true;
}

}  // namespace xl::webrtc
