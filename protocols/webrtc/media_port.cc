#include "webrtc/media_port.h"

#include <netinet/in.h>
#include <spdlog/spdlog.h>

#include "rtp/rtp_packet.h"

namespace xl::webrtc {
namespace {

// Datagrams in flight to other workers. A worker busy with a burst of joins (DTLS handshakes,
// GOP bursts) lags behind its own socket by thousands of datagrams without loss (4 MB receive
// buffer); the hop from another worker must absorb as much, or handshake flights are dropped
// and wait seconds for a DTLS retransmission. Slots are only touched as a backlog reaches them.
constexpr size_t kParcels = 2048;
// Other workers' addresses known here; past this, unverified ones are not taken (a flood of
// STUN from spoofed sources cannot grow the table).
constexpr size_t kMaxRemote = 64 * 1024;

}  // namespace

MediaPort::MediaPort(Worker& worker, const std::vector<MediaPort*>& ports)
    : worker_(worker),
      ports_(ports),
      socket_(worker, [this](const uint8_t* d, size_t n,
                             const UdpAddress& from) { onDatagram(d, n, from, false); }),
      queue_(socket_, worker.flushTimer()),
      parcels_(kParcels) {}

MediaPort::~MediaPort() {
  socket_.close();
}

Status MediaPort::bind(const std::string& address) {
  if (Status s = socket_.bind(address); !s) return s;
  // A viewer's packets of one frame leave as few GSO messages (packet_batch.h); the socket falls
  // back to one datagram per message by itself where the route has no GSO.
  socket_.setGso(true);
  return Status::ok();
}

void MediaPort::add(std::unique_ptr<WhepSession> s) {
  sessions_.add(std::move(s))->start();
}

bool MediaPort::close(const std::string& id, const std::string& why) {
  WhepSession* s = sessions_.find(id);
  if (!s) return false;
  s->close(why);
  return true;
}

void MediaPort::closeAll() {
  for (WhepSession* s : sessions_.all()) s->close("server shutdown");
  queue_.stop();
  closed_ = true;
  socket_.close();
  if (parcels_.forwarded() || parcels_.dropped())
    spdlog::info("webrtc worker {}: {} datagrams handed to other workers, {} dropped",
                 worker_.index(), parcels_.forwarded(), parcels_.dropped());
}

void MediaPort::publish(const std::string& key, bool owned) {
  const int me = worker_.index();
  for (MediaPort* p : ports_) {
    if (!p || p == this) continue;
    p->worker().post([p, key, me, owned] {
      if (owned) {
        p->remote_[key] = me;
        // A session here that had this address lost it: the browser (or a new client reusing
        // its port) passed a newer check elsewhere, and DTLS from it must go there, not here.
        p->disown(key, me);
      } else if (auto it = p->remote_.find(key); it != p->remote_.end() && it->second == me) {
        p->remote_.erase(it);
      }
    });
  }
}

void MediaPort::disown(const std::string& key, int to) {
  if (WhepSession* s = sessions_.unlearn(key))
    spdlog::info(
        "webrtc {}: its peer address passed a check of a session on worker {}: it moves there",
        s->params().id, to);
}

void MediaPort::learn(WhepSession& s, const UdpAddress& from) {
  std::string key = addressKey(from);
  if (!sessions_.learn(s, key, [this](const std::string& k) { publish(k, false); })) return;
  remote_.erase(key);
  publish(key, true);
}

void MediaPort::peerChanged(WhepSession& s, const UdpAddress*) {
  if (const UdpAddress* p = s.peer()) learn(s, *p);
}

void MediaPort::release(WhepSession& s) {
  queue_.forget(&s);
  auto owned = sessions_.release(s, [this](const std::string& k) { publish(k, false); });
  // Deleted on a later turn of the loop: the session may be inside its own callback now.
  if (owned) worker_.post([p = owned.release()] { delete p; });
}

void MediaPort::forward(int worker, ByteSpan data, const UdpAddress& from) {
  MediaPort* to = ports_[static_cast<size_t>(worker)];
  if (!to || to == this) return;
  if (!parcels_.forward(to->worker(), *to, data.data(), data.size(), from) &&
      parcels_.dropped() % 1000 == 1)
    spdlog::warn("webrtc worker {}: {} datagrams for other workers dropped (all {} parcels busy)",
                 worker_.index(), parcels_.dropped(), kParcels);
}

void MediaPort::onForwarded(const uint8_t* d, size_t n, const UdpAddress& from) {
  if (!closed_) onDatagram(d, n, from, true);
}

void MediaPort::onDatagram(const uint8_t* d, size_t n, const UdpAddress& from, bool forwarded) {
  if (n == 0) return;
  ByteSpan data(d, n);
  uint8_t b = d[0];
  if (b < 4) return onStun(data, from, forwarded);  // RFC 7983 §7
  if (!(b >= 20 && b <= 63) && !(b >= 128 && b <= 191)) return;
  std::string key = addressKey(from);
  WhepSession* s = sessions_.atAddress(key);
  if (!s) {
    if (guest_ && guest_->onDatagram(data, from)) return;
    // No connectivity check from there here: another worker's session, or nobody's.
    if (forwarded) return;
    if (auto r = remote_.find(key); r != remote_.end()) return forward(r->second, data, from);
    // Nobody's: a session that ended, or one whose check this port has not heard of.
    if (++unrouted_ % 100 == 1)
      spdlog::debug("webrtc worker {}: datagram from {} for no session ({} so far)",
                    worker_.index(), addressText(from), unrouted_);
    return;
  }
  if (b <= 63) {
    s->onDtls(data, from);
  } else if (rtp::looksLikeRtcp(data)) {
    s->onRtcp(data);
  }
}

void MediaPort::onStun(ByteSpan data, const UdpAddress& from, bool forwarded) {
  auto m = parseStun(data);
  if (!m) {
    if (++badStun_ % 1000 == 1) spdlog::debug("webrtc: {} ({} so far)", m.message(), badStun_);
    return;
  }
  if (m->type != kStunBindingRequest) return;  // indications and responses: nothing to do
  // RFC 8445 §7.2.2: USERNAME is "<our ufrag>:<their ufrag>".
  size_t colon = m->username.find(':');
  if (colon == std::string::npos) return;
  std::string_view ufrag(m->username.data(), colon);
  const int owner = workerOfUfrag(ufrag);
  if (owner != worker_.index()) {
    if (forwarded || owner < 0 || static_cast<size_t>(owner) >= ports_.size()) return;
    // What follows from this address (DTLS) goes there too, even before the owner has checked
    // it and published it: the owner verifies everything it is handed.
    // A newer check wins over an older one: a client may reuse the port of one whose session
    // on another worker has not timed out yet.
    std::string key = addressKey(from);
    if (remote_.size() < kMaxRemote || remote_.count(key)) remote_[key] = owner;
    return forward(owner, data, from);
  }
  WhepSession* s = sessions_.checkBinding(data, *m);
  if (!s) {
    if (guest_ && !sessions_.findUfrag(ufrag)) guest_->onStun(data, *m, from);
    return;
  }
  learn(*s, from);
  s->onBindingRequest(*m, from);
}

}  // namespace xl::webrtc
