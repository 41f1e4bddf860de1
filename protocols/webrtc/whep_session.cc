#include "webrtc/whep_session.h"

#include <spdlog/spdlog.h>

#include <cstring>
#include <random>

#include "rtp/rtp_packet.h"

namespace xl::webrtc {
namespace {

constexpr size_t kBytesPerTick = 64 * 1024;  // pacing of the joining GOP: ~13 MB/s
constexpr uint64_t kTickMs = 5;

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
      transport_(
          p_.id, p_.localPwd, p_.negotiated.remoteFingerprint, std::move(identity), worker.nowMs(),
          [this](const UdpAddress& to, std::span<const iovec> d) { return sendOut(to, d); },
          [this](const UdpAddress* before) { router_.peerChanged(*this, before); }),
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
  transport_.dtls().setDataHandler([this](std::span<const uint8_t> d) {
    if (events_) events_->feed(d);
  });
  spdlog::info("webrtc {}: WHEP viewer of {} from {} (video pt {}, audio pt {})", p_.id, p_.stream,
               p_.httpPeer, tracks_[0].payloadType, tracks_[1].payloadType);
}

void WhepSession::onBindingRequest(const StunMessage& m, const UdpAddress& from) {
  if (closed_) return;
  transport_.onBindingRequest(m, from, worker_.nowMs());
}

void WhepSession::onDtls(ByteSpan d, const UdpAddress& from) {
  if (closed_) return;
  bytesIn_ += d.size();
  const bool keyed = transport_.keyed();
  if (Status s = transport_.onDtls(d, from); !s) return close(s.message());
  if (!keyed && transport_.keyed()) onConnected();
}

void WhepSession::onConnected() {
  spdlog::info("webrtc {}: DTLS connected with {} ({}), playing {}", p_.id,
               addressText(*transport_.peer()), transport_.profileName(), p_.stream);
  attached_ = true;
  congestion_.start(worker_.nowMs());
  stream_->attach(this, format_, worker_);
  if (p_.sctp && p_.negotiated.dataChannel) {
    StreamEvents::Params ep;
    ep.id = p_.id;
    ep.remotePort = static_cast<uint16_t>(p_.negotiated.sctpPort);
    events_ = std::make_unique<StreamEvents>(p_.sctp, worker_, stream_, ep,
                                             [this](std::span<const uint8_t> packet) {
                                               if (Status s = transport_.dtls().write(packet); !s)
                                                 spdlog::debug("webrtc {}: {}", p_.id, s.message());
                                             });
    if (Status s = events_->start(worker_.nowMs()); !s) {
      spdlog::warn("webrtc {}: data channel: {}", p_.id, s.message());
      events_.reset();
    }
  }
}

void WhepSession::onRtcp(ByteSpan packet) {
  if (closed_ || !transport_.keyed()) return;
  bytesIn_ += packet.size();
  if (packet.size() > WhepRouter::kSlotSize) return;
  rtcpIn_.assign(packet.begin(), packet.end());
  auto n = transport_.srtpIn()->unprotectRtcp(rtcpIn_.data(), rtcpIn_.size());
  if (!n) return;
  feedback_.clear();
  if (Status s = readFeedback(ByteSpan(rtcpIn_.data(), *n), feedback_); !s)
    spdlog::debug("webrtc {}: {}", p_.id, s.message());
  onCongestionFeedback(feedback_);
  if (!feedback_.nacked.empty()) {
    nacks_ += feedback_.nacked.size();
    retransmit(feedback_);
  }
}

size_t WhepSession::sendOut(const UdpAddress& to, std::span<const iovec> datagrams) {
  if (TcpPath* t = tcp_.find(to)) return t->send(datagrams);
  return router_.socket().sendEach(to, datagrams);
}

void WhepSession::onCongestionFeedback(const Feedback& fb) {
  const uint64_t now = worker_.nowMs();
  for (const rtp::ReportBlock& r : fb.reports) {
    // RTP clocks: 90 kHz video; Opus 48 kHz, G.711 (static types 0 and 8) 8 kHz.
    if (r.ssrc == tracks_[0].ssrc && tracks_[0].payloadType >= 0) {
      congestion_.onReport(0, r, 90000, now);
    } else if (r.ssrc == tracks_[1].ssrc && tracks_[1].payloadType >= 0) {
      const int pt = tracks_[1].payloadType;
      congestion_.onReport(1, r, pt == 0 || pt == 8 ? 8000 : 48000, now);
    }
  }
  if (fb.haveRemb) congestion_.onEstimate(fb.rembBps, now);
  if (fb.keyframeSsrcs.empty()) return;
  plis_ += fb.keyframeSsrcs.size();
  // The origin is asked too (rate-limited per stream); this viewer restarts at once.
  stream_->requestKeyframe();
  if (congestion_.onKeyframeRequest(now)) restart();
}

void WhepSession::restart() {
  if (!attached_ || closed_) return;
  // Rejoining hands the viewer the cached GOP from its keyframe (onJoin); what was queued from
  // the broken one is useless to a decoder that lost its reference.
  stream_->detach(this, format_, worker_);
  queue_.clear();
  queuedBytes_ = 0;
  waitKey_ = true;
  stream_->attach(this, format_, worker_);
  spdlog::debug("webrtc {}: keyframe request: restarted on the cached keyframe", p_.id);
}

void WhepSession::retransmit(const Feedback& fb) {
  const UdpAddress* peer = transport_.peer();
  if (!peer || tracks_[0].payloadType < 0) return;
  SendQueue& q = router_.sendQueue();
  q.begin(this, *peer, false, tcp_.find(*peer));
  for (size_t i = 0; i < fb.nacked.size(); ++i) {
    // Only video is resent: the answer offers nack on video only.
    if (fb.nackSsrcs[i] != tracks_[0].ssrc) continue;
    const uint16_t seq = fb.nacked[i];
    for (const SentFrame& f : sent_) {
      uint16_t k = static_cast<uint16_t>(seq - f.firstSeq);
      if (!f.bytes || k >= f.count) continue;
      uint8_t* out = q.next(WhepRouter::kSlotSize);
      if (size_t len = out ? rewriteRtp(f.bytes, 0, k, seq, out) : 0) {
        q.add(len);
        ++retransmits_;
      }
      break;
    }
  }
  q.end();
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
    auto n = protectRtp(pkt, len, t, seq, out);
    return n ? *n : 0;
  }
  return 0;
}

Result<size_t> WhepSession::protectRtp(const uint8_t* pkt, size_t len, const Track& t, uint16_t seq,
                                       uint8_t* out) {
  // Out of place: the shared packet is read once, encrypted straight into the queue's slot.
  const RtpRewrite rewrite{static_cast<uint8_t>(t.payloadType), seq, t.ssrc};
  return transport_.srtpOut()->protectRtp(pkt, len, out, rewrite);
}

void WhepSession::onJoin(const BufferRef&, const std::vector<MuxedBatch>& gop) {
  for (const MuxedBatch& b : gop) deliver(b);
}

void WhepSession::onBatch(const MuxedBatch& b) {
  deliver(b);
}

void WhepSession::onStreamEnd() {
  // With a data channel, the browser hears stream_end before the session closes.
  if (!closed_ && events_ && events_->streamEnded([this] { close("stream ended"); })) return;
  close("stream ended");
}

void WhepSession::deliver(const MuxedBatch& b) {
  if (closed_ || !transport_.keyed()) return;
  if (tracks_[b.kind == MediaKind::kVideo ? 0 : 1].payloadType < 0) return;
  // The back-pressure policy of DESIGN.md §4.6 for a datagram viewer: video starts and resumes
  // on a keyframe, nothing is queued beyond the byte watermark.
  if (!b.config && b.kind == MediaKind::kVideo) {
    if (waitKey_ && !b.key) {
      ++drops_;
      return;
    }
    if (!congestion_.admit(b.key, worker_.nowMs())) {  // the link cannot carry this GOP
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
  // Nothing waiting to be paced out (the usual case once joined): straight out, as drain() would
  // send it, without a trip through the queue.
  if (!timerArmed_ && queue_.empty()) return send(b);
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
  const UdpAddress* peer = transport_.peer();
  if (!peer) return;
  const bool video = b.kind == MediaKind::kVideo;
  SendQueue& q = router_.sendQueue();
  q.begin(this, *peer, video, tcp_.find(*peer));
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
    uint8_t* out = q.next(len);
    if (!out) continue;
    Result<size_t> n = size_t(0);
    if (channel & 1) {
      std::memcpy(out, pkt, len);
      rewriteRtcpSsrc(out, len, t.ssrc);
      // Its send time, for the round trip the receiver report echoing it gives (RFC 3550 §6.4.1).
      if (out[1] == 200 && len >= 28)
        congestion_.onSenderReportSent(rtp::be32(out + 10), worker_.nowMs());
      n = transport_.srtpOut()->protectRtcp(out, len);
    } else {
      n = protectRtp(pkt, len, t, t.seq++, out);
    }
    if (!n) {
      spdlog::warn("webrtc {}: {}", p_.id, n.message());
      continue;
    }
    q.add(*n);
  }
  q.end();
  if (tracks_[0].seq != firstVideoSeq) {
    sent_[sentNext_] = {b.bytes, firstVideoSeq,
                        static_cast<uint16_t>(tracks_[0].seq - firstVideoSeq)};
    sentNext_ = (sentNext_ + 1) % sent_.size();
  }
}

void WhepSession::onSent(const SendQueue::Outcome& o) {
  bytesOut_ += o.bytes;
  packetsOut_ += o.sent;
  if (o.sent < o.datagrams) {  // the socket buffer is full: this frame is damaged
    ++drops_;
    worker_.stats().viewerDrops.add();
    if (o.video) waitKey_ = true;
  }
}

void WhepSession::tick(uint64_t now) {
  if (closed_) return;
  if (Status s = transport_.tick(now, p_.consentTimeoutMs); !s) return close(s.message());
  if (attached_) congestion_.setStreamBitrate(uint64_t(stream_->stats().bitrateKbps * 1000));
  if (p_.feedbackCounters) congestion_.publish(*p_.feedbackCounters);
  if (events_) events_->tick(now);
}

void WhepSession::close(const std::string& why) {
  if (closed_) return;
  closed_ = true;
  spdlog::info(
      "webrtc {}: closed ({}); {} packets, {} bytes out, {} drops, {} NACKed, {} resent, {} "
      "PLI/FIR ({} restarts), {} frames skipped for the link's estimate",
      p_.id, why, packetsOut_, bytesOut_ + transport_.bytesOut(), drops_, nacks_, retransmits_,
      plis_, congestion_.restarts(), congestion_.skipped());
  if (p_.feedbackCounters) congestion_.publish(*p_.feedbackCounters);
  if (attached_) stream_->detach(this, format_, worker_);
  attached_ = false;
  events_.reset();
  tcp_.closeAll();
  timer_.reset();
  queue_.clear();
  for (SentFrame& f : sent_) f = {};
  queuedBytes_ = 0;
  ctx_.sessionsOf(worker_).remove(this);
  router_.release(*this);
}

SessionInfo WhepSession::info() const {
  SessionInfo i = sessionInfo(sessionId_, "viewer", p_, transport_, bytesIn_, bytesOut_, drops_,
                              (worker_.nowMs() - startMs_) / 1000.0);
  const UdpAddress* peer = transport_.peer();
  if (peer && tcp_.find(*peer)) i.peer = "tcp:" + i.peer;  // ICE-TCP
  congestion_.describe(i.extra);                           // receiver reports and feedback
  return i;
}

}  // namespace xl::webrtc
