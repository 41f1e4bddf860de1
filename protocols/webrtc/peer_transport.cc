#include "webrtc/peer_transport.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <spdlog/spdlog.h>

#include <cstring>

namespace xl::webrtc {

std::string addressText(const UdpAddress& a) {
  char ip[INET6_ADDRSTRLEN] = "?";
  int port = 0;
  if (a.addr.ss_family == AF_INET) {
    auto* s = reinterpret_cast<const sockaddr_in*>(&a.addr);
    inet_ntop(AF_INET, &s->sin_addr, ip, sizeof ip);
    port = ntohs(s->sin_port);
    return std::string(ip) + ":" + std::to_string(port);
  }
  if (a.addr.ss_family == AF_INET6) {
    auto* s = reinterpret_cast<const sockaddr_in6*>(&a.addr);
    port = ntohs(s->sin6_port);
    if (IN6_IS_ADDR_V4MAPPED(&s->sin6_addr)) {  // an IPv4 peer of a dual-stack socket
      inet_ntop(AF_INET, &s->sin6_addr.s6_addr[12], ip, sizeof ip);
      return std::string(ip) + ":" + std::to_string(port);
    }
    inet_ntop(AF_INET6, &s->sin6_addr, ip, sizeof ip);
  }
  return "[" + std::string(ip) + "]:" + std::to_string(port);
}

bool sameAddress(const UdpAddress& a, const UdpAddress& b) {
  return a.len == b.len && std::memcmp(&a.addr, &b.addr, a.len) == 0;
}

PeerTransport::PeerTransport(std::string id, std::string localPwd, std::string remoteFingerprint,
                             std::shared_ptr<const DtlsIdentity> identity, uint64_t nowMs,
                             Send send, PeerChanged peerChanged)
    : id_(std::move(id)),
      localPwd_(std::move(localPwd)),
      remoteFingerprint_(std::move(remoteFingerprint)),
      send_(std::move(send)),
      peerChanged_(std::move(peerChanged)),
      lastConsentMs_(nowMs),
      counters_(identity ? identity->counters() : nullptr),
      dtls_(std::move(identity),
            [this](std::span<const uint8_t> d) {
              if (!havePeer_) return;
              iovec v{const_cast<uint8_t*>(d.data()), d.size()};
              if (send_(peer_, std::span<const iovec>(&v, 1)) == 0) {
                // The socket is full: the next tick sends the flight again, not the DTLS timer
                // seconds later (the peer may be waiting for it).
                ++dtlsUnsent_;
                flightUnsent_ = true;
                count(&DtlsCounters::unsent);
                return;
              }
              ++dtlsOut_;
              bytesOut_ += d.size();
            }),
      createdMs_(nowMs) {}

PeerTransport::~PeerTransport() {
  // A session that passed a check but never keyed says once what its handshake saw.
  if (havePeer_ && !keyed()) {
    const DtlsEvents& e = dtls_.events();
    spdlog::info(
        "webrtc {}: ended without DTLS-SRTP keys: {} DTLS datagrams in, {} out, {} not sent; {} "
        "peer repeats, {} resends for them, {} on timeout",
        id_, dtlsIn_, dtlsOut_, dtlsUnsent_, e.repeatsIn, e.answeredResends, e.timerResends);
  }
}

void PeerTransport::count(std::atomic<uint64_t> DtlsCounters::*which, uint64_t n) {
  if (counters_ && n) (counters_->*which).fetch_add(n, std::memory_order_relaxed);
}

void PeerTransport::countDtlsEvents() {
  const DtlsEvents& e = dtls_.events();
  count(&DtlsCounters::timerResends, e.timerResends - counted_.timerResends);
  count(&DtlsCounters::repeatsIn, e.repeatsIn - counted_.repeatsIn);
  count(&DtlsCounters::answeredResends, e.answeredResends - counted_.answeredResends);
  counted_ = e;
}

void PeerTransport::setPeer(const UdpAddress& from) {
  UdpAddress before = peer_;
  bool had = havePeer_;
  peer_ = from;
  havePeer_ = true;
  peerChanged_(had ? &before : nullptr);
}

void PeerTransport::onBindingRequest(const StunMessage& m, const UdpAddress& from, uint64_t nowMs) {
  lastConsentMs_ = nowMs;
  auto reply =
      bindingSuccess(m.transactionId, reinterpret_cast<const sockaddr*>(&from.addr), localPwd_);
  iovec v{reply.data(), reply.size()};
  send_(from, std::span<const iovec>(&v, 1));
  // The controlling browser nominates the pair it will use (RFC 8445 §8.1.1); before that, the
  // first checked address is good enough to answer DTLS on.
  if (!havePeer_ || (m.useCandidate && !sameAddress(from, peer_))) {
    setPeer(from);
    spdlog::debug("webrtc {}: peer {}{}", id_, addressText(from),
                  m.useCandidate ? " (nominated)" : "");
  }
}

Status PeerTransport::onDtls(std::span<const uint8_t> d, const UdpAddress& from) {
  ++dtlsIn_;
  if (!havePeer_ || !sameAddress(from, peer_)) setPeer(from);
  Status s = dtls_.feed(d);
  countDtlsEvents();
  if (s && dtls_.connected() && !srtpOut_) s = onHandshakeDone();
  if (!s && !srtpOut_) count(&DtlsCounters::failures);
  return s;
}

Status PeerTransport::onHandshakeDone() {
  // RFC 8122 §5: the certificate must be the one the offer's a=fingerprint names.
  std::string fp = dtls_.peerFingerprint();
  if (fp.empty() || fp != remoteFingerprint_)
    return Status::error("DTLS certificate does not match the offer's fingerprint");
  auto keys = dtls_.srtpKeys();
  if (!keys) return keys.status();
  auto out = SrtpSession::create(keys->profile, keys->local, SrtpSession::Direction::kOutbound);
  auto in = SrtpSession::create(keys->profile, keys->remote, SrtpSession::Direction::kInbound);
  if (!out) return out.status();
  if (!in) return in.status();
  profile_ = keys->profile;
  srtpOut_ = std::move(*out);
  srtpIn_ = std::move(*in);
  count(&DtlsCounters::handshakes);
  if (dtlsOut_ > 0 &&
      (dtls_.events().timerResends || dtls_.events().answeredResends || dtlsUnsent_))
    spdlog::debug("webrtc {}: DTLS keyed after {} resends on timeout, {} for repeats, {} unsent",
                  id_, dtls_.events().timerResends, dtls_.events().answeredResends, dtlsUnsent_);
  return Status::ok();
}

Status PeerTransport::tick(uint64_t now, uint64_t consentTimeoutMs) {
  if (now - lastConsentMs_ > consentTimeoutMs)
    return Status::error("no ICE consent (STUN) for " +
                         std::to_string((now - lastConsentMs_) / 1000) + " s");
  if (keyed()) return Status::ok();
  Status s = dtls_.onTimer();
  countDtlsEvents();
  if (!s) {
    count(&DtlsCounters::timeouts);
    return s;
  }
  if (flightUnsent_) {
    flightUnsent_ = false;
    if (dtls_.resendFlight()) count(&DtlsCounters::unsentResends);
  }
  if (havePeer_ && !reportedSlow_ && now - createdMs_ > kSlowHandshakeMs) {
    reportedSlow_ = true;
    count(&DtlsCounters::slow);
    const DtlsEvents& e = dtls_.events();
    spdlog::info(
        "webrtc {}: no DTLS-SRTP keys {} ms after the offer: {} DTLS datagrams in, {} out, {} "
        "not sent (socket full); {} peer repeats, {} resends for them, {} on timeout",
        id_, now - createdMs_, dtlsIn_, dtlsOut_, dtlsUnsent_, e.repeatsIn, e.answeredResends,
        e.timerResends);
  }
  return Status::ok();
}

SessionInfo sessionInfo(uint64_t id, std::string role, const SessionBasics& basics,
                        const PeerTransport& transport, uint64_t bytesIn, uint64_t bytesOut,
                        uint64_t drops, double ageSec) {
  SessionInfo i;
  i.id = id;
  i.protocol = "webrtc";
  i.role = std::move(role);
  i.stream = basics.stream;
  i.peer = transport.peer() ? addressText(*transport.peer()) : basics.httpPeer;
  i.bytesIn = bytesIn;
  i.bytesOut = bytesOut + transport.bytesOut();
  i.drops = drops;
  i.ageSec = ageSec;
  return i;
}

const char* PeerTransport::profileName() const {
  return profile_ == SrtpProfile::kAeadAes128Gcm ? "AEAD_AES_128_GCM" : "AES_CM_128_HMAC_SHA1_80";
}

}  // namespace xl::webrtc
