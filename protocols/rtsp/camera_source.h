// CameraSource: the "rtsp" source driver. One instance is one attempt to pull a camera: the
// RtspClient does the signalling, RtpIngest turns the interleaved RTP into the stream's frames,
// and a once-a-second check sends RTCP receiver reports and gives up when no media arrived for
// no_media_timeout_ms (the SourceManager then retries with backoff). With transport "auto" it
// plays over UDP first and switches to TCP interleaved within the same attempt when the camera
// refuses UDP or no UDP media arrives within 2 s (NAT, firewalls).
#pragma once

#include <memory>

#include "rtsp/rtp_ingest.h"
#include "rtsp/rtsp_client.h"
#include "xueliang/protocol.h"
#include "xueliang/source.h"

namespace xl::rtsp {

class CameraSource : public SourceDriver, public RtspClientListener {
 public:
  CameraSource(const SourceSettings& settings, Worker& worker, SourceLink& link);
  ~CameraSource() override;

  void start() override;

  void onPlaying(const std::vector<ClientTrack>& tracks) override;
  void onInterleaved(uint8_t channel, const uint8_t* data, size_t n) override;
  void onBytesIn(size_t n) override { link_.sourceBytesIn(n); }
  void onClientError(const std::string& reason) override;

 private:
  void tick();
  void fail(const std::string& reason);
  void startClient(bool udp);

  SourceSettings settings_;
  Worker& worker_;
  SourceLink& link_;
  std::unique_ptr<RtspClient> client_;
  std::unique_ptr<RtspClient> retired_;  // a client replaced from inside its own callback
  std::unique_ptr<RtpIngest> ingest_;
  std::vector<int> trackOfChannel_;  // interleaved channel -> track index * 2 (+1 for RTCP)
  UvHandle<uv_timer_t> timer_;
  uint64_t startedMs_ = 0;
  uint64_t playingSinceMs_ = 0;
  std::string fallbackReason_;  // set: switch from UDP to TCP at the next check
  uint64_t lastReportMs_ = 0;
  uint64_t lastFrames_ = 0;
  bool live_ = false;
  bool failed_ = false;
};

}  // namespace xl::rtsp

namespace xl {
// Registers the "rtsp" source type (cmake: xl_module).
void registerRtspPull(ModuleRegistry& registry);
}  // namespace xl
