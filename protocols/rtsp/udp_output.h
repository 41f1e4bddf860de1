// UdpOutput: sends a viewer's share of the "rtsp" batches over UDP (RFC 2326 §12.39 unicast
// transport). The interleaved framing of the shared bytes tells each packet's track (a video batch
// may carry the audio since the previous video frame) and whether it is RTP (even channel, from
// the server's RTP port to the client's) or RTCP (odd channel, RTCP port to RTCP port). A joining
// viewer's cached GOP is paced out rather than sent as one burst that would overflow the player's
// socket buffer; above the byte watermark video waits for the next keyframe, as on TCP.
#pragma once

#include <sys/uio.h>

#include <cstdint>
#include <deque>
#include <memory>
#include <vector>

#include "xueliang/muxer.h"
#include "xueliang/udp.h"
#include "xueliang/viewer_output.h"

namespace xl::rtsp {

// The server's RTP and RTCP sockets on one worker (shared ports, SO_REUSEPORT).
struct UdpPorts {
  std::unique_ptr<UdpSocket> rtp;
  std::unique_ptr<UdpSocket> rtcp;
};

class UdpOutput {
 public:
  UdpOutput(Worker& worker, UdpPorts& ports, const ViewerLimits& limits);
  ~UdpOutput();
  UdpOutput(const UdpOutput&) = delete;
  UdpOutput& operator=(const UdpOutput&) = delete;

  void setTrack(int track, const UdpAddress& rtp, const UdpAddress& rtcp);
  void deliver(const MuxedBatch& batch);
  uint64_t drops() const { return drops_; }
  uint64_t bytesOut() const { return bytesOut_; }

 private:
  void enqueue(MuxedBatch batch);  // counts it against the watermark and sends what it can
  void drain();
  void send(const MuxedBatch& batch);
  void drop(const MuxedBatch& batch);
  // The bytes of the batch this viewer sends.
  static size_t sizeOf(const MuxedBatch& batch);

  Worker& worker_;
  UdpPorts& ports_;
  ViewerLimits limits_;
  UdpAddress rtp_[2];
  UdpAddress rtcp_[2];
  std::deque<MuxedBatch> queue_;
  size_t queuedBytes_ = 0;
  UvHandle<uv_timer_t> timer_;
  bool timerArmed_ = false;
  bool waitKey_ = true;
  uint64_t drops_ = 0;
  uint64_t bytesOut_ = 0;
  std::vector<iovec> rtpIov_[2], rtcpIov_[2];  // scratch, by track
};

}  // namespace xl::rtsp
