#include "webrtc/whip_session.h"

#include <spdlog/spdlog.h>

#include <cstring>

#include "rtp/rtp_packet.h"
#include "webrtc/whip_port.h"
#include "xueliang/codec.h"
#include "xueliang/sink.h"

namespace xl::webrtc {
namespace {

constexpr uint64_t kTimerMs = 100;
constexpr uint64_t kMinPliGapMs = 500;  // keyframe requests at most this often
constexpr uint64_t kReportMs = 1000;    // receiver reports
constexpr size_t kMaxPacket = 1600;

}  // namespace

// Notes the time of each video keyframe the stream gets (read-only, on the owner worker).
struct WhipSession::KeyWatch : FrameSink {
  KeyWatch(Worker& w, std::shared_ptr<uint64_t> last) : worker(w), lastKeyMs(std::move(last)) {}
  void onFrame(const Frame& f) override {
    if (f.kind == MediaKind::kVideo && f.flags.key) *lastKeyMs = worker.nowMs();
  }
  Worker& worker;
  std::shared_ptr<uint64_t> lastKeyMs;
};

WhipSession::WhipSession(ServerContext& ctx, Worker& worker, WhipPort& port,
                         WhipSessionParams params, std::shared_ptr<const DtlsIdentity> identity,
                         StreamPtr stream)
    : ctx_(ctx),
      worker_(worker),
      port_(port),
      p_(std::move(params)),
      stream_(std::move(stream)),
      sessionId_(ctx.sessionsOf(worker).nextId()),
      startMs_(worker.nowMs()),
      transport_(
          p_.id, p_.localPwd, p_.negotiated.remoteFingerprint, std::move(identity), worker.nowMs(),
          [this](const UdpAddress& to, std::span<const iovec> d) { return sendOut(to, d); },
          [this](const UdpAddress*) { port_.learn(*this, *transport_.peer()); }),
      lastKeyMs_(std::make_shared<uint64_t>(0)),
      in_(kMaxPacket + kSrtpMaxTrailer),
      out_(kMaxPacket + kSrtpMaxTrailer) {
  const auto& tracks = p_.negotiated.tracks;
  ssrcs_.assign(tracks.size(), 0);
  for (size_t i = 0; i < tracks.size(); ++i)
    if (tracks[i].kind == MediaKind::kVideo && videoTrack_ < 0) videoTrack_ = static_cast<int>(i);
  uv_timer_init(worker_.loop(), timer_.make());
  timer_.get()->data = this;
}

WhipSession::~WhipSession() = default;

void WhipSession::start() {
  ctx_.sessionsOf(worker_).add(this);
  // Posted: the handler must not be reset from inside its own call.
  stream_->setKickHandler([port = &port_, w = &worker_, id = p_.id] {
    w->post([port, id] { port->close(id, "kicked by the API"); });
  });
  stream_->setDemandHook([this] { keyframeWanted_ = true; });    // a viewer came (or went)
  stream_->setKeyframeHook([this] { keyframeWanted_ = true; });  // a viewer's PLI/FIR
  auto watch = std::make_unique<KeyWatch>(worker_, lastKeyMs_);
  keyWatch_ = watch.get();
  stream_->addFrameSink(std::move(watch));
  ctx_.streamStarted(*stream_);
  staging_ = makeStagingStream(p_.stream, worker_);
  auto bridge = std::make_unique<WhipAudioBridge>(*stream_);
  bridge_ = bridge.get();
  staging_->addFrameSink(std::move(bridge));
  ingest_ = std::make_unique<rtsp::RtpIngest>(p_.negotiated.tracks, *staging_);
  uv_timer_start(
      timer_.get(),
      [](uv_timer_t* t) {
        if (t->data) static_cast<WhipSession*>(t->data)->onTimer();
      },
      kTimerMs, kTimerMs);
  std::string codecs;
  for (const auto& t : p_.negotiated.tracks)
    codecs += (codecs.empty() ? "" : ", ") + std::string(codecName(t.codec));
  spdlog::info("webrtc {}: WHIP publisher of {} from {} ({})", p_.id, p_.stream, p_.httpPeer,
               codecs);
}

void WhipSession::onBindingRequest(const StunMessage& m, const UdpAddress& from) {
  if (closed_) return;
  transport_.onBindingRequest(m, from, worker_.nowMs());
}

void WhipSession::onDatagram(ByteSpan d, const UdpAddress& from) {
  if (closed_ || d.empty()) return;
  bytesIn_ += d.size();
  const uint8_t b = d[0];
  if (b >= 20 && b <= 63) {  // RFC 7983: DTLS
    const bool keyed = transport_.keyed();
    if (Status s = transport_.onDtls(d, from); !s) return close(s.message());
    if (!keyed && transport_.keyed())
      spdlog::info("webrtc {}: DTLS connected with {} ({}), publishing {}", p_.id,
                   addressText(*transport_.peer()), transport_.profileName(), p_.stream);
  } else if (b >= 128 && b <= 191 && transport_.keyed()) {
    onSrtp(d);
  }
}

void WhipSession::onSrtp(ByteSpan d) {
  if (d.size() > kMaxPacket) return;
  std::memcpy(in_.data(), d.data(), d.size());
  if (rtp::looksLikeRtcp(d)) {
    auto n = transport_.srtpIn()->unprotectRtcp(in_.data(), d.size());
    if (!n || *n < 8) return;
    // Sender reports align the tracks' clocks: hand the compound to the track that sent it.
    const uint32_t sender = rtp::be32(in_.data() + 4);
    for (size_t i = 0; i < ssrcs_.size(); ++i)
      if (ssrcs_[i] == sender) ingest_->onRtcp(static_cast<int>(i), in_.data(), *n);
    return;
  }
  auto n = transport_.srtpIn()->unprotectRtp(in_.data(), d.size());
  if (!n || *n < rtp::kRtpHeaderSize) {
    ++badPackets_;
    return;
  }
  const uint8_t pt = in_[1] & 0x7f;
  const auto& tracks = p_.negotiated.tracks;
  for (size_t i = 0; i < tracks.size(); ++i) {
    if (tracks[i].payloadType != pt) continue;
    ssrcs_[i] = rtp::be32(in_.data() + 8);
    ++packetsIn_;
    if (static_cast<int>(i) == videoTrack_) {
      nacked_.clear();
      nack_.onPacket(rtp::be16(in_.data() + 2), nacked_);
      if (!nacked_.empty()) {
        uint8_t fb[kMaxPacket];
        if (size_t len = writeGenericNack(p_.ssrc, ssrcs_[i], nacked_, fb, sizeof fb))
          sendRtcp(fb, len);
      }
    }
    ingest_->onRtp(static_cast<int>(i), in_.data(), *n);
    return;
  }
}

void WhipSession::sendRtcp(const uint8_t* p, size_t len) {
  const UdpAddress* peer = transport_.peer();
  if (!transport_.keyed() || !peer || len > kMaxPacket) return;
  std::memcpy(out_.data(), p, len);
  auto n = transport_.srtpOut()->protectRtcp(out_.data(), len);
  if (!n) return;
  iovec v{out_.data(), *n};
  sendOut(*peer, std::span<const iovec>(&v, 1));
  bytesOut_ += *n;
}

size_t WhipSession::sendOut(const UdpAddress& to, std::span<const iovec> datagrams) {
  if (TcpPath* t = tcp_.find(to)) return t->send(datagrams);
  return port_.socket().sendEach(to, datagrams);
}

void WhipSession::requestKeyframe(const char* why) {
  if (videoTrack_ < 0 || ssrcs_[videoTrack_] == 0) return;  // its SSRC comes with its first packet
  // RFC 4585 §6.3.1: PSFB (206), FMT 1, no FCI; sender SSRC then media source SSRC.
  uint8_t pli[12] = {0x81, 206, 0, 2};
  rtp::putBe32(pli + 4, p_.ssrc);
  rtp::putBe32(pli + 8, ssrcs_[videoTrack_]);
  sendRtcp(pli, sizeof pli);
  lastPliMs_ = worker_.nowMs();
  ++plis_;
  spdlog::debug("webrtc {}: PLI ({})", p_.id, why);
}

void WhipSession::onTimer() {
  if (closed_ || !transport_.keyed()) return;
  const uint64_t now = worker_.nowMs();
  if (now - lastPliMs_ >= kMinPliGapMs) {
    const uint64_t lastKey = *lastKeyMs_;
    if (lastKey == 0)
      requestKeyframe("no keyframe yet");
    else if (now - lastKey >= p_.keyframeIntervalMs)
      requestKeyframe("keyframe interval");
    else if (keyframeWanted_ && now - lastKey >= kMinPliGapMs)
      requestKeyframe("a viewer asked");
    keyframeWanted_ = false;
  }
  if (now - lastReportMs_ >= kReportMs) {
    lastReportMs_ = now;
    BufferWriter w(128);
    for (size_t i = 0; i < ssrcs_.size(); ++i) {
      w.clear();
      if (ingest_->writeReceiverReport(static_cast<int>(i), w, p_.ssrc))
        sendRtcp(w.data(), w.size());
    }
  }
}

void WhipSession::tick(uint64_t now) {
  if (closed_) return;
  if (Status s = transport_.tick(now, p_.consentTimeoutMs); !s) return close(s.message());
}

void WhipSession::close(const std::string& why) {
  if (closed_) return;
  closed_ = true;
  timer_.reset();
  tcp_.closeAll();
  ingest_.reset();  // publishes what it holds into the still-live stream
  if (bridge_) bridge_->flush();
  bridge_ = nullptr;
  if (staging_) staging_->end();
  staging_.reset();
  stream_->setKickHandler(nullptr);
  stream_->setDemandHook(nullptr);
  stream_->setKeyframeHook(nullptr);
  if (keyWatch_) stream_->removeFrameSink(keyWatch_);
  keyWatch_ = nullptr;
  stream_->end();
  ctx_.streams->remove(*stream_);
  spdlog::info(
      "webrtc {}: WHIP publish of {} closed ({}); {} packets, {} bytes in, {} lost (NACKed), {} "
      "PLI sent",
      p_.id, p_.stream, why, packetsIn_, bytesIn_, nack_.lost(), plis_);
  ctx_.sessionsOf(worker_).remove(this);
  port_.release(*this);
}

SessionInfo WhipSession::info() const {
  SessionInfo i = sessionInfo(sessionId_, "publisher", p_, transport_, bytesIn_, bytesOut_,
                              badPackets_, (worker_.nowMs() - startMs_) / 1000.0);
  const UdpAddress* peer = transport_.peer();
  if (peer && tcp_.find(*peer)) i.peer = "tcp:" + i.peer;  // ICE-TCP
  return i;
}

}  // namespace xl::webrtc
