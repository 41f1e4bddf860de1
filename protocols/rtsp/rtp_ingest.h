// RtpIngest: the RTP packets of a remote session (RTSP ANNOUNCE/RECORD, an RTSP camera pulled by
// the client) in, core frames published to a Stream out. Transport-neutral: the caller reads TCP
// interleaved channels or UDP sockets and hands over whole RTP / RTCP packets.
//
// Usage (everything on the Stream's owner worker):
//
//   std::vector<rtp::RtpTrackInfo> tracks;            // rtp::trackFromMedia() per SDP m= section
//   RtpIngest ingest(std::move(tracks), *stream);     // stream from StreamRegistry::publish()
//   ...
//   ingest.onRtp(i, data, size);    // an RTP packet of tracks[i] (interleaved channel 2i, UDP)
//   ingest.onRtcp(i, data, size);   // an RTCP compound packet for tracks[i] (channel 2i+1)
//   ...
//   if (worker.nowMs() - ingest.lastMediaTime() > noMediaTimeoutMs) reconnect();
//   ingest.writeReceiverReport(i, w);  // pull client: RTCP RR + SDES to send back, every ~5 s
//
// What it does per track: a small reorder buffer by sequence number (late packets are put back
// in order; a gap that outlives the window is a loss), the rtp/ depacketizers (a damaged video
// access unit is dropped and video resumes at the next keyframe), 32-bit timestamp unwrapping,
// RTP clock -> milliseconds (tracks aligned by their first RTCP sender report when the peer sends
// one, else by the arrival time of their first packet), decode timestamps rebuilt for video with
// B-frames (RTP carries presentation time only), and parameter sets that arrive in-band only
// (SDP without sprop-*): the Stream's MediaInfo is set as soon as SPS/PPS (VPS) are seen, before
// the first keyframe is published. Later in-band parameter sets that differ update it.
//
// The ingest never ends the Stream: the caller owns the publish (registry removal, end()).
// A pull client that reconnects creates a new RtpIngest on the same Stream with
// options.startMs = previous.lastFrameTime() + a small gap, so viewers see time continue.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <vector>

#include "rtp/sdp_media.h"
#include "xueliang/stream.h"

namespace xl::rtsp {

struct RtpIngestOptions {
  size_t reorderPackets = 32;    // packets held while waiting for a missing one, per track
  int64_t startMs = 0;           // frame time of the first media (timeline origin)
  uint64_t reorderWaitMs = 150;  // a gap older than this (at the next packet) is a loss
};

struct RtpIngestTrackStats {
  uint64_t packets = 0;    // RTP packets accepted
  uint64_t lost = 0;       // sequence numbers never received
  uint64_t reordered = 0;  // packets put back in order
  uint64_t late = 0;       // duplicates or packets later than the window, dropped
  uint64_t malformed = 0;  // packets or payloads that did not parse
  uint64_t frames = 0;     // frames published
  uint64_t framesDropped = 0;
};

class RtpIngest {
 public:
  // tracks: indexes are the ones onRtp/onRtcp take. Tracks whose codec has no depacketizer are
  // ignored (their packets are dropped). Tracks that carry their configuration in the SDP set
  // the Stream's MediaInfo at once.
  RtpIngest(std::vector<rtp::RtpTrackInfo> tracks, Stream& stream, RtpIngestOptions options = {});
  ~RtpIngest();
  RtpIngest(const RtpIngest&) = delete;
  RtpIngest& operator=(const RtpIngest&) = delete;

  // One RTP packet (RFC 3550 §5.1) of track `track`; bad packets and unknown tracks are counted
  // and dropped, never fatal.
  void onRtp(int track, const uint8_t* data, size_t size);
  // One RTCP compound packet (§6.1); sender reports align the tracks' clocks.
  void onRtcp(int track, const uint8_t* data, size_t size);

  // Publishes what is held: packets waiting for a missing one (the gap becomes a loss) and
  // video frames waiting for their decode time. The destructor calls it (unless the Stream has
  // ended); call it before the Stream ends, or when a camera stops sending.
  void flush();

  // Worker time (Worker::nowMs) of the last RTP packet accepted on any track; 0 before the first.
  uint64_t lastMediaTime() const { return lastMediaMs_; }
  // Frame time (ms) of the last frame published; options.startMs before the first.
  int64_t lastFrameTime() const { return lastFrameMs_; }
  // True once every video track has its parameter sets (the Stream is describable).
  bool ready() const;
  size_t trackCount() const { return tracks_.size(); }
  const rtp::RtpTrackInfo& trackInfo(int track) const;
  RtpIngestTrackStats stats(int track) const;

  // Appends an RTCP receiver report (§6.4.2) about `track` plus an SDES CNAME; false when the
  // track has received nothing yet.
  bool writeReceiverReport(int track, BufferWriter& w, uint32_t ourSsrc = 0x58554c31);

 private:
  struct Track;
  void deliver(Track& t, const uint8_t* data, size_t size);
  void releaseHeld(Track& t);
  void onFrame(Track& t, uint32_t timestamp, BufferRef data, bool key);
  void publishVideo(Track& t, int64_t pts, int64_t dts, BufferRef data, bool key);
  void emitVideo(Track& t, bool flush);
  int64_t toMs(Track& t, int64_t ticks) const;
  void updateMedia();
  // Audio waits for the video it goes with (video is held for B-frame decode times), so the
  // Stream gets frames in decode-time order; pushes audio up to `until` (everything if flushing).
  void drainAudio(int64_t until, bool all);

  Stream& stream_;
  RtpIngestOptions options_;
  std::vector<std::unique_ptr<Track>> tracks_;
  uint64_t lastMediaMs_ = 0;
  uint64_t firstArrivalMs_ = 0;
  int64_t lastFrameMs_ = 0;
  bool haveNtpBase_ = false;
  int64_t ntpBaseMs_ = 0;  // NTP time (ms) of frame time options.startMs
  MediaInfo media_;
  Track* video_ = nullptr;  // the video track feeding the Stream, if any
  std::deque<Frame> audioHeld_;
};

}  // namespace xl::rtsp
