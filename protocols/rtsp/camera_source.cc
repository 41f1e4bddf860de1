#include "rtsp/camera_source.h"

#include <spdlog/spdlog.h>

namespace xl::rtsp {
namespace {

constexpr uint64_t kReportIntervalMs = 5000;  // RTCP RR (RFC 3550 §6.2 minimum interval)
constexpr int64_t kResumeGapMs = 40;          // frame time between the last and the next connection
constexpr uint64_t kUdpGraceMs = 2000;        // "auto": no UDP media by then -> TCP

}  // namespace

CameraSource::CameraSource(const SourceSettings& settings, Worker& worker, SourceLink& link)
    : settings_(settings), worker_(worker), link_(link) {}

CameraSource::~CameraSource() {
  timer_.reset();
  // The source outlives its drivers: the next connection continues from the last frame.
  if (ingest_ && ingest_->lastFrameTime() > link_.resumeTimeMs())
    link_.setResumeTimeMs(ingest_->lastFrameTime() + kResumeGapMs);
  client_.reset();
  ingest_.reset();
}

void CameraSource::start() {
  auto url = parseCameraUrl(settings_.url);
  if (!url) return fail(url.message());
  uv_timer_init(worker_.loop(), timer_.make());
  timer_.get()->data = this;
  uv_timer_start(
      timer_.get(), [](uv_timer_t* t) { static_cast<CameraSource*>(t->data)->tick(); }, 500, 500);
  startClient(settings_.transport != "tcp");
}

void CameraSource::startClient(bool udp) {
  startedMs_ = worker_.nowMs();
  playingSinceMs_ = 0;
  ingest_.reset();
  retired_ = std::move(client_);
  client_ = std::make_unique<RtspClient>(worker_, *parseCameraUrl(settings_.url), udp, *this);
  client_->start();
}

void CameraSource::onPlaying(const std::vector<ClientTrack>& tracks) {
  std::vector<rtp::RtpTrackInfo> infos;
  trackOfChannel_.assign(256, -1);
  playingSinceMs_ = worker_.nowMs();
  for (size_t i = 0; i < tracks.size(); ++i) {
    infos.push_back(tracks[i].info);
    if (client_->udp() && i < 128) {
      trackOfChannel_[i * 2] = static_cast<int>(i) * 2;
      trackOfChannel_[i * 2 + 1] = static_cast<int>(i) * 2 + 1;
      continue;
    }
    if (tracks[i].rtpChannel >= 0 && tracks[i].rtpChannel < 256)
      trackOfChannel_[tracks[i].rtpChannel] = static_cast<int>(i) * 2;
    if (tracks[i].rtcpChannel >= 0 && tracks[i].rtcpChannel < 256)
      trackOfChannel_[tracks[i].rtcpChannel] = static_cast<int>(i) * 2 + 1;
  }
  RtpIngestOptions opts;
  opts.startMs = link_.resumeTimeMs();
  ingest_ = std::make_unique<RtpIngest>(std::move(infos), link_.stream(), opts);
  spdlog::info("source {}: playing {} track(s) over {}", settings_.name, tracks.size(),
               client_->udp() ? "UDP" : "TCP");
  link_.sourceTransport(client_->udp() ? "udp" : "tcp");
}

void CameraSource::onInterleaved(uint8_t channel, const uint8_t* data, size_t n) {
  if (!ingest_ || failed_) return;
  int t = trackOfChannel_[channel];
  if (t < 0) return;
  if (t % 2 == 0)
    ingest_->onRtp(t / 2, data, n);
  else
    ingest_->onRtcp(t / 2, data, n);
}

void CameraSource::tick() {
  if (failed_) return;
  retired_.reset();
  uint64_t now = worker_.nowMs();
  if (client_->udp() && settings_.transport == "auto") {
    if (fallbackReason_.empty() && playingSinceMs_ && ingest_ && ingest_->lastMediaTime() == 0 &&
        now - playingSinceMs_ >= kUdpGraceMs)
      fallbackReason_ = "no UDP media within " + std::to_string(kUdpGraceMs) + " ms";
    if (!fallbackReason_.empty()) {
      spdlog::info("source {}: {}; switching to TCP", settings_.name, fallbackReason_);
      fallbackReason_.clear();
      startClient(false);
      return;
    }
  }
  uint64_t lastMedia = ingest_ ? ingest_->lastMediaTime() : 0;
  uint64_t since = lastMedia ? lastMedia : startedMs_;
  if (now - since >= settings_.noMediaTimeoutMs) {
    if (lastMedia) return fail("no media for " + std::to_string(now - since) + " ms");
    // Played over UDP and nothing came: the usual cause is a firewall or NAT on the way.
    if (playingSinceMs_ && client_->udp())
      return fail("no UDP media within " + std::to_string(now - playingSinceMs_) +
                  " ms of PLAY (blocked on the way? transport \"tcp\" or \"auto\" may help)");
    return fail("no media within " + std::to_string(settings_.noMediaTimeoutMs) +
                " ms of connecting");
  }
  if (!ingest_) return;
  uint64_t frames = 0;
  for (size_t i = 0; i < ingest_->trackCount(); ++i)
    frames += ingest_->stats(static_cast<int>(i)).frames;
  for (uint64_t f = lastFrames_; f < frames; ++f) link_.sourceFrameIn();
  lastFrames_ = frames;
  if (ingest_->lastFrameTime() > link_.resumeTimeMs())
    link_.setResumeTimeMs(ingest_->lastFrameTime() + kResumeGapMs);
  if (!live_ && frames > 0) {
    live_ = true;
    link_.sourceLive();
  }
  if (now - lastReportMs_ >= kReportIntervalMs) {
    lastReportMs_ = now;
    for (size_t i = 0; i < ingest_->trackCount(); ++i) {
      BufferWriter w(128);
      int track = static_cast<int>(i);
      if (ingest_->writeReceiverReport(track, w)) client_->sendRtcp(i, w.freeze());
    }
  }
}

void CameraSource::onClientError(const std::string& reason) {
  // "auto": a camera that refuses UDP in SETUP, or drops the session before any UDP media, gets
  // a second chance over TCP (connection and login failures are not about the transport).
  bool noMedia = !ingest_ || ingest_->lastMediaTime() == 0;
  if (client_->udp() && settings_.transport == "auto" && client_->described() && noMedia) {
    fallbackReason_ = reason;
    return;
  }
  fail(reason);
}

void CameraSource::fail(const std::string& reason) {
  if (failed_) return;
  failed_ = true;
  timer_.reset();
  link_.sourceFailed(reason);  // destroys us later, from the worker's queue
}

}  // namespace xl::rtsp

namespace xl {

void registerRtspPull(ModuleRegistry& registry) {
  registry.addSourceType("rtsp",
                         [](const SourceSettings& s, ServerContext&, Worker& w,
                            SourceLink& link) -> std::unique_ptr<SourceDriver> {
                           return std::make_unique<rtsp::CameraSource>(s, w, link);
                         });
}

}  // namespace xl
