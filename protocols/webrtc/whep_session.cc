#include "webrtc/whep_session.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <spdlog/spdlog.h>

#include <cstring>
#include <random>

#include "rtp/rtp_packet.h"

namespace xl::webrtc {
namespace {

constexpr size_t kBytesPerTick = 64 * 1024;  // pacing of the joining GOP: ~13 MB/s
constexpr uint64_t kTickMs = 5;

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
    inet_ntop(AF_INET6, &s->sin6_addr, ip, sizeof ip);
    port = ntohs(s->sin6_port);
  }
  return "[" + std::string(ip) + "]:" + std::to_string(port);
}

bool sameAddress(const UdpAddress& a, const UdpAddress& b) {
  return a.len == b.len && std::memcmp(&a.addr, &b.addr, a.len) == 0;
}

// Our SSRC in every sender report and SDES chunk of a compound RTCP packet (RFC 3550 §6.4.1,
// §6.5): the shared packets carry the stream's SSRC.
void rewriteRtcpSsrc(uint8_t* p, size_t len, uint32_t ssrc) {
  size_t at = 0;
  while (at + 8 <= len) {
    size_t plen = (size_t(rtp::be16(p + at + 2)) + 1) * 4;
    if (plen > len - at) break;
    uint8_t type = p[at + 1];
    if (type == 200 || type == 202 || type == 203) rtp::putBe32(p + at + 4, ssrc);
    at += plen;
  }
}

}  // namespace

WhepSession::WhepSession(ServerContext& ctx, Worker& worker, WhepRouter& router,
                         WhepSessionParams params, std::shared_ptr<const DtlsIdentity> identity,
                         StreamPtr stream, int format)
    : ctx_(ctx),
      worker_(worker),
      router_(router),
      p_(std::move(params)),
      stream_(std::move(stream)),
      format_(format),
      sessionId_(ctx.sessionsOf(worker).nextId()),
      startMs_(worker.nowMs()),
      lastConsentMs_(worker.nowMs()),
      dtls_(std::move(identity),
            [this](std::span<const uint8_t> d) {
              if (!havePeer_) return;
              iovec v{const_cast<uint8_t*>(d.data()), d.size()};
              router_.socket().sendEach(peer_, std::span<const iovec>(&v, 1));
              bytesOut_ += d.size();
            }),
      limits_(ctx.viewerLimits()) {
  std::mt19937 rng(std::random_device{}());
  tracks_[0] = {p_.negotiated.videoPayloadType, p_.videoSsrc, static_cast<uint16_t>(rng())};
  tracks_[1] = {p_.negotiated.audioPayloadType, p_.audioSsrc, static_cast<uint16_t>(rng())};
  uv_timer_init(worker_.loop(), timer_.make());
  timer_.get()->data = this;
}

WhepSession::~WhepSession() = default;

void WhepSession::start() {
  ctx_.sessionsOf(worker_).add(this);
  spdlog::info("webrtc {}: WHEP viewer of {} from {} (video pt {}, audio pt {})", p_.id, p_.stream,
               p_.httpPeer, tracks_[0].payloadType, tracks_[1].payloadType);
}

void WhepSession::onBindingRequest(const StunMessage& m, const UdpAddress& from) {
  if (closed_) return;
  lastConsentMs_ = worker_.nowMs();
  auto reply =
      bindingSuccess(m.transactionId, reinterpret_cast<const sockaddr*>(&from.addr), p_.localPwd);
  iovec v{reply.data(), reply.size()};
  router_.socket().sendEach(from, std::span<const iovec>(&v, 1));
  // The controlling browser nominates the pair it will use (RFC 8445 §8.1.1); before that, the
  // first checked address is good enough to answer DTLS on.
  if (!havePeer_ || (m.useCandidate && !sameAddress(from, peer_))) {
    UdpAddress before = peer_;
    bool had = havePeer_;
    peer_ = from;
    havePeer_ = true;
    router_.peerChanged(*this, had ? &before : nullptr);
    spdlog::debug("webrtc {}: peer {}{}", p_.id, addressText(from),
                  m.useCandidate ? " (nominated)" : "");
  }
}

void WhepSession::onDtls(ByteSpan d, const UdpAddress& from) {
  if (closed_) return;
  bytesIn_ += d.size();
  // The browser runs DTLS on the pair it selected: answer (and later send media) there.
  if (!havePeer_ || !sameAddress(from, peer_)) {
    UdpAddress before = peer_;
    bool had = havePeer_;
    peer_ = from;
    havePeer_ = true;
    router_.peerChanged(*this, had ? &before : nullptr);
  }
  if (Status s = dtls_.feed(d); !s) return close(s.message());
  if (dtls_.connected() && !srtpOut_) onConnected();
}

void WhepSession::onConnected() {
  // RFC 8122 §5: the certificate must be the one the offer's a=fingerprint names.
  std::string fp = dtls_.peerFingerprint();
  if (fp.empty() || fp != p_.negotiated.remoteFingerprint)
    return close("DTLS certificate does not match the offer's fingerprint");
  auto keys = dtls_.srtpKeys();
  if (!keys) return close(keys.message());
  auto out = SrtpSession::create(keys->profile, keys->local, SrtpSession::Direction::kOutbound);
  auto in = SrtpSession::create(keys->profile, keys->remote, SrtpSession::Direction::kInbound);
  if (!out) return close(out.message());
  if (!in) return close(in.message());
  srtpOut_ = std::move(*out);
  srtpIn_ = std::move(*in);
  spdlog::info(
      "webrtc {}: DTLS connected with {} ({}), playing {}", p_.id, addressText(peer_),
      keys->profile == SrtpProfile::kAeadAes128Gcm ? "AEAD_AES_128_GCM" : "AES_CM_128_HMAC_SHA1_80",
      p_.stream);
  attached_ = true;
  stream_->attach(this, format_, worker_);
}

void WhepSession::onRtcp(ByteSpan packet) {
  if (closed_ || !srtpIn_) return;
  bytesIn_ += packet.size();
  if (packet.size() > WhepRouter::kSlotSize) return;
  rtcpIn_.assign(packet.begin(), packet.end());
  auto n = srtpIn_->unprotectRtcp(rtcpIn_.data(), rtcpIn_.size());
  if (!n) return;
  feedback_.nacked.clear();
  feedback_.nackSsrcs.clear();
  feedback_.keyframeSsrcs.clear();
  if (Status s = readFeedback(ByteSpan(rtcpIn_.data(), *n), feedback_); !s)
    spdlog::debug("webrtc {}: {}", p_.id, s.message());
  if (!feedback_.keyframeSsrcs.empty()) {
    plis_ += feedback_.keyframeSsrcs.size();
    spdlog::debug("webrtc {}: keyframe request (PLI/FIR); keyframes follow the stream's GOP",
                  p_.id);
  }
  if (!feedback_.nacked.empty()) {
    nacks_ += feedback_.nacked.size();
    retransmit(feedback_);
  }
}

void WhepSession::retransmit(const Feedback& fb) {
  if (!havePeer_ || tracks_[0].payloadType < 0) return;
  size_t slots = 0;
  uint8_t* scratch = router_.scratch(slots);
  rtpIov_.clear();
  for (size_t i = 0; i < fb.nacked.size(); ++i) {
    // Only video is resent: the answer offers nack on video only.
    if (fb.nackSsrcs[i] != tracks_[0].ssrc) continue;
    const uint16_t seq = fb.nacked[i];
    for (const SentFrame& f : sent_) {
      uint16_t k = static_cast<uint16_t>(seq - f.firstSeq);
      if (!f.bytes || k >= f.count) continue;
      if (rtpIov_.size() == slots) flush(rtpIov_, false);
      uint8_t* out = scratch + rtpIov_.size() * WhepRouter::kSlotSize;
      if (size_t len = rewriteRtp(f.bytes, 0, k, seq, out)) {
        rtpIov_.push_back(iovec{out, len});
        ++retransmits_;
      }
      break;
    }
  }
  flush(rtpIov_, false);
}

size_t WhepSession::rewriteRtp(const BufferRef& b, uint8_t channel, size_t k, uint16_t seq,
                               uint8_t* out) {
  const uint8_t* p = b.data();
  size_t left = b.size();
  while (left >= 4 && p[0] == '$') {
    size_t len = size_t(p[2]) << 8 | p[3];
    if (4 + len > left) break;
    const uint8_t* pkt = p + 4;
    const uint8_t ch = p[1];
    p += 4 + len;
    left -= 4 + len;
    if (ch != channel || k-- != 0) continue;
    if (len < rtp::kRtpHeaderSize || len + kSrtpMaxTrailer > WhepRouter::kSlotSize) return 0;
    const Track& t = tracks_[channel / 2];
    std::memcpy(out, pkt, len);
    out[1] = static_cast<uint8_t>((out[1] & 0x80) | t.payloadType);
    rtp::putBe16(out + 2, seq);
    rtp::putBe32(out + 8, t.ssrc);
    auto n = srtpOut_->protectRtp(out, len);
    return n ? *n : 0;
  }
  return 0;
}

void WhepSession::onJoin(const BufferRef&, const std::vector<MuxedBatch>& gop) {
  for (const MuxedBatch& b : gop) deliver(b);
}

void WhepSession::onBatch(const MuxedBatch& b) {
  deliver(b);
}

void WhepSession::onStreamEnd() {
  close("stream ended");
}

void WhepSession::deliver(const MuxedBatch& b) {
  if (closed_ || !srtpOut_) return;
  if (tracks_[b.kind == MediaKind::kVideo ? 0 : 1].payloadType < 0) return;
  // The back-pressure policy of DESIGN.md §4.6 for a datagram viewer: video starts and resumes
  // on a keyframe, nothing is queued beyond the byte watermark.
  if (!b.config && b.kind == MediaKind::kVideo) {
    if (waitKey_ && !b.key) {
      ++drops_;
      return;
    }
    if (queuedBytes_ > limits_.highWatermarkBytes) {
      waitKey_ = true;
      ++drops_;
      worker_.stats().viewerDrops.add();
      return;
    }
    waitKey_ = false;
  } else if (!b.config && queuedBytes_ > limits_.highWatermarkBytes) {
    ++drops_;
    worker_.stats().viewerDrops.add();
    return;
  }
  queue_.push_back(b);
  queuedBytes_ += b.bytes.size();
  if (!timerArmed_) drain();
}

void WhepSession::drain() {
  timerArmed_ = false;
  size_t budget = kBytesPerTick;
  while (!queue_.empty() && budget > 0 && !closed_) {
    MuxedBatch b = std::move(queue_.front());
    queue_.pop_front();
    queuedBytes_ -= b.bytes.size();
    budget -= std::min(budget, b.bytes.size());
    send(b);
  }
  if (queue_.empty() || closed_) return;
  timerArmed_ = true;
  uv_timer_start(
      timer_.get(),
      [](uv_timer_t* t) {
        if (t->data) static_cast<WhepSession*>(t->data)->drain();
      },
      kTickMs, 0);
}

void WhepSession::send(const MuxedBatch& b) {
  if (!havePeer_) return;
  size_t slots = 0;
  uint8_t* scratch = router_.scratch(slots);
  rtpIov_.clear();
  const uint16_t firstVideoSeq = tracks_[0].seq;
  const uint8_t* p = b.bytes.data();
  size_t left = b.bytes.size();
  // The shared bytes are RTSP-interleaved (RFC 2326 §10.12), as RtspMuxer writes them: channel
  // 2k is track k's RTP, 2k+1 its RTCP.
  while (left >= 4 && p[0] == '$') {
    size_t len = size_t(p[2]) << 8 | p[3];
    if (4 + len > left) break;
    const uint8_t channel = p[1];
    const uint8_t* pkt = p + 4;
    p += 4 + len;
    left -= 4 + len;
    if (channel > 3 || len < rtp::kRtpHeaderSize || len + kSrtpMaxTrailer > WhepRouter::kSlotSize)
      continue;
    Track& t = tracks_[channel / 2];
    if (t.payloadType < 0) continue;
    if (rtpIov_.size() == slots) flush(rtpIov_, b.kind == MediaKind::kVideo);
    uint8_t* out = scratch + rtpIov_.size() * WhepRouter::kSlotSize;
    std::memcpy(out, pkt, len);
    Result<size_t> n = size_t(0);
    if (channel & 1) {
      rewriteRtcpSsrc(out, len, t.ssrc);
      n = srtpOut_->protectRtcp(out, len);
    } else {
      out[1] = static_cast<uint8_t>((out[1] & 0x80) | t.payloadType);
      rtp::putBe16(out + 2, t.seq++);
      rtp::putBe32(out + 8, t.ssrc);
      n = srtpOut_->protectRtp(out, len);
    }
    if (!n) {
      spdlog::warn("webrtc {}: {}", p_.id, n.message());
      continue;
    }
    rtpIov_.push_back(iovec{out, *n});
  }
  flush(rtpIov_, b.kind == MediaKind::kVideo);
  if (tracks_[0].seq != firstVideoSeq) {
    sent_[sentNext_] = {b.bytes, firstVideoSeq,
                        static_cast<uint16_t>(tracks_[0].seq - firstVideoSeq)};
    sentNext_ = (sentNext_ + 1) % sent_.size();
  }
}

void WhepSession::flush(std::vector<iovec>& iov, bool video) {
  if (iov.empty()) return;
  size_t sent = router_.socket().sendEach(peer_, iov);
  for (size_t i = 0; i < sent; ++i) bytesOut_ += iov[i].iov_len;
  packetsOut_ += sent;
  if (sent < iov.size()) {  // the socket buffer is full: this frame is damaged
    ++drops_;
    worker_.stats().viewerDrops.add();
    if (video) waitKey_ = true;
  }
  iov.clear();
}

void WhepSession::tick(uint64_t now) {
  if (closed_) return;
  if (now - lastConsentMs_ > p_.consentTimeoutMs)
    return close("no ICE consent (STUN) for " + std::to_string((now - lastConsentMs_) / 1000) +
                 " s");
  dtls_.onTimer();
}

void WhepSession::close(const std::string& why) {
  if (closed_) return;
  closed_ = true;
  spdlog::info(
      "webrtc {}: closed ({}); {} packets, {} bytes out, {} drops, {} NACKed, {} resent, {} "
      "PLI/FIR",
      p_.id, why, packetsOut_, bytesOut_, drops_, nacks_, retransmits_, plis_);
  if (attached_) stream_->detach(this, format_, worker_);
  attached_ = false;
  timer_.reset();
  queue_.clear();
  for (SentFrame& f : sent_) f = {};
  queuedBytes_ = 0;
  ctx_.sessionsOf(worker_).remove(this);
  router_.release(*this);
}

SessionInfo WhepSession::info() const {
  SessionInfo i;
  i.id = sessionId_;
  i.protocol = "webrtc";
  i.role = "viewer";
  i.stream = p_.stream;
  i.peer = havePeer_ ? addressText(peer_) : p_.httpPeer;
  i.bytesIn = bytesIn_;
  i.bytesOut = bytesOut_;
  i.drops = drops_;
  i.ageSec = (worker_.nowMs() - startMs_) / 1000.0;
  return i;
}

}  // namespace xl::webrtc
