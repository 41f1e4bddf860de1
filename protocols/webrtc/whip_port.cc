#include "webrtc/whip_port.h"

#include <spdlog/spdlog.h>

namespace xl::webrtc {
namespace {
constexpr size_t kMaxAddressesPerSession = 8;  // candidate pairs a browser checks
}

WhipPort::WhipPort(MediaPort& port) : port_(port) {
  port_.setGuest(this);
}

WhipPort::~WhipPort() {
  port_.setGuest(nullptr);
  byUfrag_.clear();
  byAddress_.clear();
}

void WhipPort::add(std::unique_ptr<WhipSession> s) {
  WhipSession* raw = s.get();
  byUfrag_[s->params().localUfrag] = raw;
  byId_[s->params().id] = std::move(s);
  raw->start();
}

WhipSession* WhipPort::find(const std::string& id) {
  auto it = byId_.find(id);
  return it == byId_.end() ? nullptr : it->second.get();
}

WhipSession* WhipPort::findUfrag(std::string_view ufrag) {
  auto it = byUfrag_.find(std::string(ufrag));
  return it == byUfrag_.end() ? nullptr : it->second;
}

bool WhipPort::close(const std::string& id, const std::string& why) {
  WhipSession* s = find(id);
  if (!s) return false;
  s->close(why);
  return true;
}

void WhipPort::closeAll() {
  std::vector<WhipSession*> all;
  for (auto& [id, s] : byId_) all.push_back(s.get());
  for (WhipSession* s : all) s->close("server shutdown");
}

void WhipPort::learn(WhipSession& s, const UdpAddress& from) {
  std::string key = addressKey(from);
  auto it = byAddress_.find(key);
  if (it != byAddress_.end()) {
    if (it->second == &s) return;
    std::erase(addressesOf_[it->second], key);
  }
  auto& mine = addressesOf_[&s];
  if (mine.size() >= kMaxAddressesPerSession) {
    forget(mine.front());
    mine.erase(mine.begin());
  }
  mine.push_back(key);
  byAddress_[key] = &s;
  // The other workers hand what they receive from there to this one (media_port.h).
  port_.claim(key, true);
}

void WhipPort::forget(const std::string& key) {
  byAddress_.erase(key);
  port_.claim(key, false);
}

void WhipPort::release(WhipSession& s) {
  byUfrag_.erase(s.params().localUfrag);
  if (auto it = addressesOf_.find(&s); it != addressesOf_.end()) {
    for (const std::string& k : it->second) {
      auto a = byAddress_.find(k);
      if (a != byAddress_.end() && a->second == &s) forget(k);
    }
    addressesOf_.erase(it);
  }
  auto it = byId_.find(s.params().id);
  if (it == byId_.end()) return;
  // Deleted on a later turn of the loop: the session may be inside its own callback now.
  WhipSession* owned = it->second.release();
  byId_.erase(it);
  port_.worker().post([owned] { delete owned; });
}

bool WhipPort::onStun(ByteSpan data, const StunMessage& m, const UdpAddress& from) {
  // RFC 8445 §7.2.2: USERNAME is "<our ufrag>:<their ufrag>".
  size_t colon = m.username.find(':');
  if (colon == std::string::npos) return false;
  auto it = byUfrag_.find(m.username.substr(0, colon));
  if (it == byUfrag_.end()) return false;
  WhipSession* s = it->second;
  if (m.username.compare(colon + 1, std::string::npos, s->params().negotiated.remoteUfrag) != 0)
    return false;
  if (Status st = verifyIntegrity(data, m, s->params().localPwd); !st) {
    spdlog::debug("webrtc {}: {}", s->params().id, st.message());
    return false;
  }
  learn(*s, from);
  s->onBindingRequest(m, from);
  return true;
}

bool WhipPort::onDatagram(ByteSpan data, const UdpAddress& from) {
  auto it = byAddress_.find(addressKey(from));
  if (it == byAddress_.end()) return false;
  it->second->onDatagram(data, from);
  return true;
}

}  // namespace xl::webrtc
