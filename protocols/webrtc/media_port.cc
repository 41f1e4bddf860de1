#include "webrtc/media_port.h"

#include <netinet/in.h>
#include <spdlog/spdlog.h>

#include "rtp/rtp_packet.h"

namespace xl::webrtc {
namespace {

constexpr size_t kScratchSlots = 64;           // packets per sendmmsg batch
constexpr size_t kMaxAddressesPerSession = 8;  // candidate pairs a browser checks

// Family, port and address bytes: a map key for a source address.
std::string addressKey(const UdpAddress& a) {
  std::string k;
  if (a.addr.ss_family == AF_INET) {
    auto* s = reinterpret_cast<const sockaddr_in*>(&a.addr);
    k.assign(1, '4');
    k.append(reinterpret_cast<const char*>(&s->sin_port), 2);
    k.append(reinterpret_cast<const char*>(&s->sin_addr), 4);
  } else if (a.addr.ss_family == AF_INET6) {
    auto* s = reinterpret_cast<const sockaddr_in6*>(&a.addr);
    k.assign(1, '6');
    k.append(reinterpret_cast<const char*>(&s->sin6_port), 2);
    k.append(reinterpret_cast<const char*>(&s->sin6_addr), 16);
  }
  return k;
}

}  // namespace

MediaPort::MediaPort(Worker& worker)
    : worker_(worker),
      socket_(worker, [this](const uint8_t* d, size_t n,
                             const UdpAddress& from) { onDatagram(d, n, from); }),
      scratch_(kScratchSlots * kSlotSize) {}

MediaPort::~MediaPort() {
  socket_.close();
  // Sessions still registered here end with the port (server shutdown).
  byUfrag_.clear();
  byAddress_.clear();
}

Status MediaPort::bind(const std::string& address) {
  return socket_.bind(address);
}

uint8_t* MediaPort::scratch(size_t& slots) {
  slots = kScratchSlots;
  return scratch_.data();
}

void MediaPort::add(std::unique_ptr<WhepSession> s) {
  WhepSession* raw = s.get();
  byUfrag_[s->params().localUfrag] = raw;
  byId_[s->params().id] = std::move(s);
  raw->start();
}

bool MediaPort::close(const std::string& id, const std::string& why) {
  auto it = byId_.find(id);
  if (it == byId_.end()) return false;
  it->second->close(why);
  return true;
}

void MediaPort::closeAll() {
  std::vector<WhepSession*> all;
  for (auto& [id, s] : byId_) all.push_back(s.get());
  for (WhepSession* s : all) s->close("server shutdown");
  socket_.close();
}

void MediaPort::learn(WhepSession& s, const UdpAddress& from) {
  std::string key = addressKey(from);
  auto it = byAddress_.find(key);
  if (it != byAddress_.end()) {
    if (it->second == &s) return;
    // The address moved to another session (a browser reusing a port): forget the old owner's.
    auto& old = addressesOf_[it->second];
    std::erase(old, key);
  }
  auto& mine = addressesOf_[&s];
  if (mine.size() >= kMaxAddressesPerSession) {
    byAddress_.erase(mine.front());
    mine.erase(mine.begin());
  }
  mine.push_back(key);
  byAddress_[key] = &s;
}

void MediaPort::peerChanged(WhepSession& s, const UdpAddress*) {
  if (const UdpAddress* p = s.peer()) learn(s, *p);
}

void MediaPort::release(WhepSession& s) {
  byUfrag_.erase(s.params().localUfrag);
  if (auto it = addressesOf_.find(&s); it != addressesOf_.end()) {
    for (const std::string& k : it->second) {
      auto a = byAddress_.find(k);
      if (a != byAddress_.end() && a->second == &s) byAddress_.erase(a);
    }
    addressesOf_.erase(it);
  }
  auto it = byId_.find(s.params().id);
  if (it == byId_.end()) return;
  // Deleted on a later turn of the loop: the session may be inside its own callback now.
  WhepSession* owned = it->second.release();
  byId_.erase(it);
  worker_.post([owned] { delete owned; });
}

void MediaPort::onDatagram(const uint8_t* d, size_t n, const UdpAddress& from) {
  if (n == 0) return;
  ByteSpan data(d, n);
  uint8_t b = d[0];
  if (b < 4) return onStun(data, from);  // RFC 7983 §7
  auto it = byAddress_.find(addressKey(from));
  if (it == byAddress_.end()) return;  // no connectivity check from there: ignored
  WhepSession* s = it->second;
  if (b >= 20 && b <= 63) {
    s->onDtls(data, from);
  } else if (b >= 128 && b <= 191) {
    if (rtp::looksLikeRtcp(data)) s->onRtcp(data);
  }
}

void MediaPort::onStun(ByteSpan data, const UdpAddress& from) {
  auto m = parseStun(data);
  if (!m) {
    if (++badStun_ % 1000 == 1) spdlog::debug("webrtc: {} ({} so far)", m.message(), badStun_);
    return;
  }
  if (m->type != kStunBindingRequest) return;  // indications and responses: nothing to do
  // RFC 8445 §7.2.2: USERNAME is "<our ufrag>:<their ufrag>".
  size_t colon = m->username.find(':');
  if (colon == std::string::npos) return;
  auto it = byUfrag_.find(m->username.substr(0, colon));
  if (it == byUfrag_.end()) return;
  WhepSession* s = it->second;
  if (m->username.compare(colon + 1, std::string::npos, s->params().negotiated.remoteUfrag) != 0)
    return;
  if (Status st = verifyIntegrity(data, *m, s->params().localPwd); !st) {
    spdlog::debug("webrtc {}: {}", s->params().id, st.message());
    return;
  }
  learn(*s, from);
  s->onBindingRequest(*m, from);
}

}  // namespace xl::webrtc
