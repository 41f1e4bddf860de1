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
  if (!b.config && b.kind == MediaKind::kVideo) {
    if (waitKey_ && !b.key) return drop(b);
    if (queuedBytes_ > limits_.highWatermarkBytes) {
      waitKey_ = true;
      return drop(b);
    }
    waitKey_ = false;
  } else if (!b.config && queuedBytes_ > limits_.highWatermarkBytes) {
    return drop(b);
  }
  queue_.push_back(b);
  queuedBytes_ += b.bytes.size();
  if (!timerArmed_) drain();
}

void UdpOutput::drain() {
  timerArmed_ = false;
  size_t budget = kBytesPerTick;
  while (!queue_.empty() && budget > 0) {
    MuxedBatch b = std::move(queue_.front());
    queue_.pop_front();
    queuedBytes_ -= b.bytes.size();
    budget -= std::min(budget, b.bytes.size());
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
  rtpIov_.clear();
  rtcpIov_.clear();
  const uint8_t* p = b.bytes.data();
  size_t left = b.bytes.size();
  int track = -1;
  while (left >= 4 && p[0] == '$') {  // RFC 2326 §10.12 framing, written by RtspMuxer
    size_t len = size_t(p[2]) << 8 | p[3];
    if (4 + len > left) break;
    track = p[1] / 2;
    iovec v{const_cast<uint8_t*>(p + 4), len};
    (p[1] & 1 ? rtcpIov_ : rtpIov_).push_back(v);
    p += 4 + len;
    left -= 4 + len;
  }
  if (track < 0 || track > 1 || rtp_[track].len == 0) return;
  size_t sent = ports_.rtp->sendEach(rtp_[track], rtpIov_);
  if (!rtcpIov_.empty()) ports_.rtcp->sendEach(rtcp_[track], rtcpIov_);
  for (size_t i = 0; i < sent; ++i) bytesOut_ += rtpIov_[i].iov_len;
  if (sent < rtpIov_.size()) {  // the socket buffer is full: this frame is damaged
    drop(b);
    if (b.kind == MediaKind::kVideo) waitKey_ = true;
  }
}

}  // namespace xl::rtsp
