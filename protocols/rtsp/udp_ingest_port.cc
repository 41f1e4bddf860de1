#include "rtsp/udp_ingest_port.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <spdlog/spdlog.h>

#include <cstring>
#include <vector>

namespace xl::rtsp {
namespace {
constexpr uint64_t kLogEveryMs = 60000;
constexpr size_t kMaxLogged = 4096;     // sources remembered for the log limit
constexpr uint64_t kMoveEveryMs = 200;  // a track follows a new source at most this often

uint32_t be32(const uint8_t* p) {
  return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | p[3];
}

std::string describe(const UdpAddress& a) {
  char host[INET6_ADDRSTRLEN] = "?";
  int port = 0;
  if (a.addr.ss_family == AF_INET) {
    auto* s = reinterpret_cast<const sockaddr_in*>(&a.addr);
    inet_ntop(AF_INET, &s->sin_addr, host, sizeof host);
    port = ntohs(s->sin_port);
  } else if (a.addr.ss_family == AF_INET6) {
    auto* s = reinterpret_cast<const sockaddr_in6*>(&a.addr);
    inet_ntop(AF_INET6, &s->sin6_addr, host, sizeof host);
    port = ntohs(s->sin6_port);
  }
  return std::string(host) + ":" + std::to_string(port);
}
}  // namespace

UdpKey UdpKey::of(const UdpAddress& a) {
  UdpKey k;
  if (a.addr.ss_family == AF_INET) {
    auto* s = reinterpret_cast<const sockaddr_in*>(&a.addr);
    std::memcpy(k.ip, &s->sin_addr, 4);
    k.port = ntohs(s->sin_port);
  } else if (a.addr.ss_family == AF_INET6) {
    auto* s = reinterpret_cast<const sockaddr_in6*>(&a.addr);
    std::memcpy(k.ip, &s->sin6_addr, 16);
    k.port = ntohs(s->sin6_port);
    k.v6 = true;
  }
  return k;
}

size_t UdpKeyHash::operator()(const UdpKey& k) const {
  uint64_t h = 1469598103934665603ull;  // FNV-1a
  for (uint8_t b : k.ip) h = (h ^ b) * 1099511628211ull;
  h = (h ^ k.port) * 1099511628211ull;
  return static_cast<size_t>(h ^ k.v6);
}

bool ssrcOf(const uint8_t* d, size_t n, bool rtcp, uint32_t& ssrc) {
  if (rtcp) {
    if (n < 8 || (d[0] >> 6) != 2 || d[1] < 200 || d[1] > 206) return false;
    ssrc = be32(d + 4);
    return true;
  }
  if (n < 12 || (d[0] >> 6) != 2) return false;
  ssrc = be32(d + 8);
  return true;
}

uint64_t UdpIngestRouter::add(Worker& w, const UdpAddress& client, std::shared_ptr<bool> alive,
                              Relatch relatch) {
  std::lock_guard lock(mu_);
  uint64_t id = nextId_++;
  entries_.emplace(id,
                   Entry{&w, UdpKey::of(client).hostOnly(), std::move(alive), std::move(relatch)});
  return id;
}

void UdpIngestRouter::remove(uint64_t id) {
  std::lock_guard lock(mu_);
  entries_.erase(id);
}

void UdpIngestRouter::learnSsrc(uint64_t id, uint32_t ssrc) {
  std::lock_guard lock(mu_);
  if (auto it = entries_.find(id); it != entries_.end()) {
    it->second.haveSsrc = true;
    it->second.ssrc = ssrc;
  }
}

void UdpIngestRouter::onStray(Worker& w, int k, const uint8_t* d, size_t n,
                              const UdpAddress& from) {
  // A viewer's receiver report (RFC 3550 §6.4.2) to our RTCP port: liveness we do not need.
  if (k == 1 && n >= 2 && (d[0] >> 6) == 2 && d[1] == 201) return;
  const UdpKey key = UdpKey::of(from);
  uint32_t ssrc = 0;
  const bool haveSsrc = ssrcOf(d, n, k == 1, ssrc);
  const uint64_t now = w.nowMs();
  std::lock_guard lock(mu_);
  Entry* match = nullptr;
  if (haveSsrc) {
    const UdpKey host = key.hostOnly();
    for (auto& [id, e] : entries_) {  // a handful of publishers per IP: a short scan
      if (!(e.host == host)) continue;
      if (e.haveSsrc && e.ssrc == ssrc) {
        match = &e;
        break;
      }
      if (!e.haveSsrc && k == 0 && !match) match = &e;  // latch a silent track to its first RTP
    }
  }
  if (!match) return dropUnknown(w, key, from);
  if (now - match->lastMoveMs[k] < kMoveEveryMs && match->lastMoveMs[k] != 0) return;
  match->lastMoveMs[k] = now;
  if (!match->haveSsrc && k == 0) {
    match->haveSsrc = true;  // later tracks from this IP are not latched to the same source
    match->ssrc = ssrc;
  }
  spdlog::info("rtsp: UDP publisher track now receives {} from {} (SSRC {:08x})",
               k == 0 ? "RTP" : "RTCP", describe(from), ssrc);
  match->worker->post([alive = match->alive, relatch = match->relatch, k, from,
                       bytes = std::vector<uint8_t>(d, d + n)] {
    if (*alive) relatch(k, from, bytes.data(), bytes.size());
  });
}

void UdpIngestRouter::dropUnknown(Worker& w, const UdpKey& key, const UdpAddress& from) {
  uint64_t total = dropped_.fetch_add(1, std::memory_order_relaxed) + 1;
  uint64_t now = w.nowMs();
  auto it = lastLogMs_.find(key);
  if (it != lastLogMs_.end() && now - it->second < kLogEveryMs) return;
  if (it == lastLogMs_.end() && lastLogMs_.size() >= kMaxLogged) lastLogMs_.clear();
  lastLogMs_[key] = now;
  spdlog::warn("rtsp: dropping UDP datagrams from unknown source {} ({} dropped in all)",
               describe(from), total);
}

}  // namespace xl::rtsp
