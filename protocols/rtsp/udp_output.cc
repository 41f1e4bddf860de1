#include "rtsp/udp_output.h"

#include "rtsp/rtsp_muxer.h"

namespace xl::rtsp {
namespace {
constexpr size_t kBytesPerTick = 32 * 1024;  // ~6.5 MB/s while catching up
constexpr uint64_t kTickMs = 5;
}  // namespace

UdpOutput::UdpOutput(Worker& worker, UdpPorts& ports, const ViewerLimits& limits)
    : worker_(worker), ports_(ports), limits_(limits) {
  uv_timer_init(worker_.loop(), timer_.make());
  timer_.get()->data = this;
}

UdpOutput::~UdpOutput() = default;  // the handle closes itself; its data pointer is cleared

void UdpOutput::setTrack(int track, const UdpAddress& rtp, const UdpAddress& rtcp) {
  if (track < 0 || track > 1) return;
  rtp_[track] = rtp;
  rtcp_[track] = rtcp;
}

void UdpOutput::drop(const MuxedBatch& b) {
  ++drops_;
  worker_.stats().viewerDrops.add();
}

void UdpOutput::deliver(const MuxedBatch& b) {
  const bool full = queuedBytes_ > limits_.highWatermarkBytes;
  if (!b.config && b.kind == MediaKind::kVideo) {
    if (full) waitKey_ = true;
    if (waitKey_ && (full || !b.key)) {
      drop(b);
      // The audio riding with a skipped video frame still plays, as on TCP.
      if (b.audioBytes == 0 || full) return;
      MuxedBatch audio = b;
      audio.kind = MediaKind::kAudio;  // send() then stops after the first audioBytes
      audio.key = false;
      return enqueue(std::move(audio));
    }
    waitKey_ = false;
  } else if (!b.config && full) {
    return drop(b);
  }
  enqueue(MuxedBatch(b));
}

void UdpOutput::enqueue(MuxedBatch b) {
  queuedBytes_ += sizeOf(b);
  queue_.push_back(std::move(b));
  if (!timerArmed_) drain();
}

void UdpOutput::drain() {
  timerArmed_ = false;
  size_t budget = kBytesPerTick;
  while (!queue_.empty() && budget > 0) {
    MuxedBatch b = std::move(queue_.front());
    queue_.pop_front();
    queuedBytes_ -= sizeOf(b);
    budget -= std::min(budget, sizeOf(b));
    send(b);
  }
  if (queue_.empty()) return;
  timerArmed_ = true;
  uv_timer_start(
      timer_.get(),
      [](uv_timer_t* t) {
        if (t->data) static_cast<UdpOutput*>(t->data)->drain();
      },
      kTickMs, 0);
}

void UdpOutput::send(const MuxedBatch& b) {
  for (int t = 0; t < 2; ++t) {
    rtpIov_[t].clear();
    rtcpIov_[t].clear();
  }
  const uint8_t* p = b.bytes.data();
  size_t left = sizeOf(b);
  while (left >= 4 && p[0] == '$') {  // RFC 2326 §10.12 framing, written by RtspMuxer
    size_t len = size_t(p[2]) << 8 | p[3];
    int track = p[1] / 2;
    if (4 + len > left || track > 1) break;
    iovec v{const_cast<uint8_t*>(p + 4), len};
    (p[1] & 1 ? rtcpIov_ : rtpIov_)[track].push_back(v);
    p += 4 + len;
    left -= 4 + len;
  }
  // Audio first: in a video batch that carries coalesced audio, the audio came first.
  for (int track : {kAudioTrack, kVideoTrack}) {
    if (rtp_[track].len == 0 || (rtpIov_[track].empty() && rtcpIov_[track].empty())) continue;
    size_t sent = ports_.rtp->sendEach(rtp_[track], rtpIov_[track]);
    if (!rtcpIov_[track].empty()) ports_.rtcp->sendEach(rtcp_[track], rtcpIov_[track]);
    for (size_t i = 0; i < sent; ++i) bytesOut_ += rtpIov_[track][i].iov_len;
    if (sent < rtpIov_[track].size()) {  // the socket buffer is full: this frame is damaged
      drop(b);
      if (track == kVideoTrack) waitKey_ = true;
    }
  }
}

size_t UdpOutput::sizeOf(const MuxedBatch& b) {
  // The audio part of a video batch whose video was skipped (see deliver).
  return b.kind == MediaKind::kAudio && b.audioBytes ? b.audioBytes : b.bytes.size();
}

}  // namespace xl::rtsp
