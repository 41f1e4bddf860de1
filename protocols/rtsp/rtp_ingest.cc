#include "rtsp/rtp_ingest.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <deque>
#include <functional>
#include <optional>
#include <queue>

#include "rtp/rtcp.h"
#include "rtp/rtp_packet.h"
#include "xueliang/codec.h"

namespace xl::rtsp {
namespace {

constexpr size_t kProbeFrames = 6;  // video frames looked at before the reorder depth is trusted
constexpr int kMaxReorderDepth = 4;
constexpr int64_t kDefaultFrameMs = 40;
constexpr int64_t kMaxSrAdjustMs = 10000;  // larger "corrections" are broken sender reports
// Media starts this far after options.startMs, so that decode times rebuilt before the first
// presentation time (B-frames) stay after it: RTMP and FLV cannot carry negative times.
constexpr int64_t kHeadroomMs = 200;

int64_t ntpToMs(uint64_t ntp) {
  return static_cast<int64_t>((ntp >> 32) * 1000 + (((ntp & 0xffffffffu) * 1000) >> 32));
}

}  // namespace

struct RtpIngest::Track {
  rtp::RtpTrackInfo info;
  int index = 0;
  bool used = false;  // the first video and first audio track feed the Stream
  std::unique_ptr<rtp::Depacketizer> depack;
  rtp::FrameFn frameFn;
  RtpIngestTrackStats stats;

  // Reorder buffer (RFC 3550 §A.1 sequence arithmetic): slot = seq % size.
  struct Slot {
    std::vector<uint8_t> bytes;
    bool full = false;
    uint16_t seq = 0;
  };
  std::vector<Slot> slots;
  size_t held = 0;
  uint64_t heldSinceMs = 0;  // arrival of the first packet held behind the current gap
  bool started = false;
  uint16_t next = 0;

  // RTP clock -> frame time.
  bool unwrapStarted = false;
  uint32_t lastTs = 0;
  int64_t lastTicks = 0;
  bool timed = false;
  int64_t firstTicks = 0;
  int64_t baseMs = 0;  // frame time of firstTicks
  bool srAligned = false;
  bool pendingSr = false;
  uint32_t srRtp = 0;
  int64_t srNtpMs = 0;

  // Receiver report state (§6.4.2, §A.3).
  uint32_t senderSsrc = 0;
  uint16_t baseSeq = 0, maxSeq = 0;
  uint32_t cycles = 0;
  uint64_t received = 0, expectedPrior = 0, receivedPrior = 0;
  uint32_t lastSrMiddle = 0;
  uint64_t lastSrArrivalMs = 0;

  // Video: configuration and decode-time reconstruction.
  BufferRef config;      // current avcC / hvcC
  bool sentKey = false;  // a keyframe arrived: later frames are decodable
  struct Pending {
    int64_t pts;
    BufferRef data;
    bool key;
    BufferRef newConfig;  // set on the frame whose in-band parameter sets changed the config
    std::optional<VideoTrack> track;
  };
  std::deque<Pending> pending;
  std::priority_queue<int64_t, std::vector<int64_t>, std::greater<>> ptsHeap;
  std::deque<int64_t> recentPts;
  int depth = 0;  // frames a presentation can precede its decoding (B-frames)
  bool probing = true;
  int64_t frameMs = kDefaultFrameMs;
  bool haveDts = false;
  int64_t lastDts = 0;
};

RtpIngest::RtpIngest(std::vector<rtp::RtpTrackInfo> tracks, Stream& stream,
                     RtpIngestOptions options)
    : stream_(stream), options_(options), lastFrameMs_(options.startMs) {
  if (options_.reorderPackets < 2) options_.reorderPackets = 2;
  bool haveVideo = false, haveAudio = false;
  for (size_t i = 0; i < tracks.size(); ++i) {
    auto t = std::make_unique<Track>();
    t->info = std::move(tracks[i]);
    t->index = static_cast<int>(i);
    t->depack = rtp::makeDepacketizer(t->info.codec, t->info.aac);
    bool& have = t->info.kind == MediaKind::kVideo ? haveVideo : haveAudio;
    if (t->depack && t->info.clockRate > 0 && !have) {
      have = true;
      t->used = true;
      t->slots.resize(options_.reorderPackets);
      Track* raw = t.get();
      t->frameFn = [this, raw](rtp::DepacketizedFrame&& f) {
        onFrame(*raw, f.timestamp, std::move(f.data), f.key);
      };
      if (t->info.kind == MediaKind::kVideo) video_ = t.get();
      if (t->info.kind == MediaKind::kVideo && t->info.video) {
        media_.video = *t->info.video;
        t->config = t->info.video->config;
      } else if (t->info.kind == MediaKind::kAudio) {
        if (t->info.audio)
          media_.audio = *t->info.audio;
        else if (t->info.codec != Codec::kAAC)
          if (auto a = audioTrackFromConfig(t->info.codec, {})) media_.audio = *a;
      }
    }
    tracks_.push_back(std::move(t));
  }
  if (media_.video || media_.audio) updateMedia();
}

RtpIngest::~RtpIngest() {
  if (!stream_.ended()) flush();
}

void RtpIngest::flush() {
  for (auto& t : tracks_) {
    if (!t->used) continue;
    releaseHeld(*t);
    if (t->info.kind == MediaKind::kVideo) emitVideo(*t, true);
  }
  drainAudio(0, true);
}

void RtpIngest::drainAudio(int64_t until, bool all) {
  // Bounded: a video track that stalls must not hold audio back for long.
  constexpr size_t kMaxHeldAudio = 64;
  while (!audioHeld_.empty() &&
         (all || audioHeld_.front().dts <= until || audioHeld_.size() > kMaxHeldAudio)) {
    stream_.pushFrame(audioHeld_.front());
    audioHeld_.pop_front();
  }
}

void RtpIngest::releaseHeld(Track& t) {
  // In sequence order; the gaps between become losses for the depacketizer.
  const size_t n = t.slots.size();
  const uint16_t from = t.next;
  for (size_t k = 0; k < n && t.held > 0; ++k) {
    const uint16_t seq = static_cast<uint16_t>(from + k);
    Track::Slot& s = t.slots[seq % n];
    if (s.full && s.seq == seq) {
      s.full = false;
      --t.held;
      deliver(t, s.bytes.data(), s.bytes.size());
      t.next = static_cast<uint16_t>(seq + 1);
    }
  }
  for (auto& s : t.slots) s.full = false;
  t.held = 0;
}

const rtp::RtpTrackInfo& RtpIngest::trackInfo(int track) const {
  return tracks_.at(static_cast<size_t>(track))->info;
}

bool RtpIngest::ready() const {
  for (auto& t : tracks_) {
    if (t->used && t->info.kind == MediaKind::kVideo && !t->config) return false;
  }
  return true;
}

RtpIngestTrackStats RtpIngest::stats(int track) const {
  const Track& t = *tracks_.at(static_cast<size_t>(track));
  RtpIngestTrackStats s = t.stats;
  if (t.depack) {
    const auto& d = t.depack->stats();
    s.lost = d.lost;
    s.late += d.late;
    s.malformed += d.malformed;
    s.framesDropped += d.framesDropped;
  }
  return s;
}

void RtpIngest::updateMedia() {
  stream_.setMediaInfo(std::make_shared<const MediaInfo>(media_));
}

void RtpIngest::onRtp(int index, const uint8_t* data, size_t size) {
  if (index < 0 || static_cast<size_t>(index) >= tracks_.size()) return;
  Track& t = *tracks_[index];
  if (!t.used) return;
  auto p = rtp::parseRtp({data, size});
  if (!p) {
    ++t.stats.malformed;
    return;
  }
  if (p->payloadType != t.info.payloadType) return;  // FEC, comfort noise, ...: not ours
  lastMediaMs_ = stream_.owner().nowMs();
  if (firstArrivalMs_ == 0) firstArrivalMs_ = lastMediaMs_;

  // Receiver statistics (§A.1).
  if (t.received == 0) {
    t.baseSeq = t.maxSeq = p->seq;
  } else if (rtp::seqDistance(p->seq, t.maxSeq) > 0) {
    if (p->seq < t.maxSeq) ++t.cycles;
    t.maxSeq = p->seq;
  }
  ++t.received;
  t.senderSsrc = p->ssrc;

  const size_t n = t.slots.size();
  if (!t.started) {
    t.started = true;
    t.next = p->seq;
  }
  int d = rtp::seqDistance(p->seq, t.next);
  if (d < 0 && d > -1000) {  // duplicate, or later than the window let us wait
    ++t.stats.late;
    return;
  }
  if (d < 0 || static_cast<size_t>(d) >= n || t.held + 1 >= n ||
      (t.held > 0 && lastMediaMs_ - t.heldSinceMs > options_.reorderWaitMs)) {
    // Out of the window, waited long enough, or a restarted sender: what is held goes out with
    // its gaps, as losses.
    releaseHeld(t);
    d = rtp::seqDistance(p->seq, t.next);
    if (d < 0) {
      if (d > -1000) {
        ++t.stats.late;
        return;
      }
      t.next = p->seq;  // a restart of the sender's numbering
      d = 0;
    }
  }
  if (d > 0 && static_cast<size_t>(d) >= n) {
    t.next = p->seq;  // far ahead: the depacketizer sees the gap
    d = 0;
  }
  if (d > 0) {
    Track::Slot& s = t.slots[p->seq % n];
    if (s.full && s.seq == p->seq) {
      ++t.stats.late;
      return;
    }
    s.bytes.assign(data, data + size);  // capacity is kept: no allocation once warm
    s.full = true;
    s.seq = p->seq;
    if (t.held++ == 0) t.heldSinceMs = lastMediaMs_;
    return;
  }
  deliver(t, data, size);
  t.next = static_cast<uint16_t>(p->seq + 1);
  while (t.held > 0) {
    Track::Slot& s = t.slots[t.next % n];
    if (!s.full || s.seq != t.next) break;
    s.full = false;
    --t.held;
    ++t.stats.reordered;
    deliver(t, s.bytes.data(), s.bytes.size());
    t.next = static_cast<uint16_t>(t.next + 1);
  }
}

void RtpIngest::deliver(Track& t, const uint8_t* data, size_t size) {
  auto p = rtp::parseRtp({data, size});
  if (!p) return;
  ++t.stats.packets;
  t.depack->push(*p, t.frameFn);
}

int64_t RtpIngest::toMs(Track& t, int64_t ticks) const {
  return t.baseMs + (ticks - t.firstTicks) * 1000 / static_cast<int64_t>(t.info.clockRate);
}

void RtpIngest::onFrame(Track& t, uint32_t timestamp, BufferRef data, bool key) {
  if (!t.unwrapStarted) {
    t.unwrapStarted = true;
    t.lastTicks = timestamp;
  } else {
    t.lastTicks += static_cast<int32_t>(timestamp - t.lastTs);
  }
  t.lastTs = timestamp;
  const int64_t ticks = t.lastTicks;
  if (!t.timed) {
    // First-packet alignment: a track starts at its arrival time on the session's timeline.
    t.timed = true;
    t.firstTicks = ticks;
    t.baseMs = options_.startMs + kHeadroomMs +
               static_cast<int64_t>(stream_.owner().nowMs() - firstArrivalMs_);
    if (t.pendingSr) {
      t.pendingSr = false;
      // The sender report came before any frame: align now that the track has a clock origin.
      int64_t srTicks = t.lastTicks + static_cast<int32_t>(t.srRtp - t.lastTs);
      int64_t at = toMs(t, srTicks);
      if (!haveNtpBase_) {
        haveNtpBase_ = true;
        ntpBaseMs_ = t.srNtpMs - at;
      } else if (std::abs(t.srNtpMs - ntpBaseMs_ - at) < kMaxSrAdjustMs) {
        t.baseMs += t.srNtpMs - ntpBaseMs_ - at;
      }
      t.srAligned = true;
    }
  }
  const int64_t ms = toMs(t, ticks);

  if (t.info.kind == MediaKind::kAudio) {
    if (!media_.audio) return;  // AAC without its config= cannot be described
    // Senders do step back (ffmpeg looping a file, RTCP-driven clock corrections): consumers
    // need increasing decode times, as an FLV muxer would enforce.
    int64_t at = std::max(ms, options_.startMs);
    if (t.haveDts && at <= t.lastDts) at = t.lastDts + 1;
    t.haveDts = true;
    t.lastDts = at;
    Frame f{MediaKind::kAudio, t.info.codec, at, at, {}, std::move(data)};
    ++t.stats.frames;
    lastFrameMs_ = std::max(lastFrameMs_, at);
    if (video_ && video_->sentKey) {
      audioHeld_.push_back(std::move(f));
      drainAudio(video_->haveDts ? video_->lastDts : 0, false);
    } else {
      stream_.pushFrame(f);
    }
    return;
  }

  // Video: parameter sets sent in-band describe (or re-describe) the track.
  Track::Pending pf{ms, std::move(data), key, {}, {}};
  if (auto ps = extractParameterSets(t.info.codec, pf.data.span(), NalFormat::kLengthPrefixed);
      ps && !ps->sps.empty() && !ps->pps.empty() &&
      (t.info.codec == Codec::kH264 || !ps->vps.empty())) {
    if (auto track = videoTrackFromParameterSets(t.info.codec, *ps)) {
      if (!t.config || track->config.view() != t.config.view()) {
        if (t.info.video) track->fps = t.info.video->fps;
        t.config = track->config;
        pf.newConfig = track->config;
        pf.track = std::move(*track);
      }
    }
  }
  if (!t.config) {  // nothing decodable before the first parameter sets
    ++t.stats.framesDropped;
    return;
  }
  if (!t.sentKey && !key) {  // undecodable before the first keyframe
    ++t.stats.framesDropped;
    if (pf.newConfig) {  // but the track is describable from now on
      media_.video = std::move(*pf.track);
      updateMedia();
    }
    return;
  }
  t.sentKey = true;

  // Reorder depth: how many frames already seen (in decode order) present after this one.
  int later = 0;
  for (int64_t p : t.recentPts) later += p > ms;
  t.depth = std::min(kMaxReorderDepth, std::max(t.depth, later));
  t.recentPts.push_back(ms);
  if (t.recentPts.size() > 16) t.recentPts.pop_front();
  t.pending.push_back(std::move(pf));
  t.ptsHeap.push(ms);
  emitVideo(t, false);
}

void RtpIngest::emitVideo(Track& t, bool flush) {
  if (t.probing) {
    if (!flush && t.pending.size() < kProbeFrames) return;
    t.probing = false;
    // Frame duration: the smallest step between presentation times seen so far.
    std::vector<int64_t> p;
    for (auto& f : t.pending) p.push_back(f.pts);
    std::sort(p.begin(), p.end());
    int64_t best = 0;
    for (size_t i = 1; i < p.size(); ++i) {
      int64_t step = p[i] - p[i - 1];
      if (step > 0 && (best == 0 || step < best)) best = step;
    }
    if (best > 0) t.frameMs = best;
  }
  // Frame n is decoded at the n-th smallest presentation time, shifted back by the reorder
  // depth so that no frame is decoded after it is presented (ISO/IEC 14496-12 §8.6.1 semantics).
  while (!t.pending.empty() && (flush || t.pending.size() > static_cast<size_t>(t.depth))) {
    Track::Pending f = std::move(t.pending.front());
    t.pending.pop_front();
    int64_t smallest = t.ptsHeap.top();
    t.ptsHeap.pop();
    int64_t dts = std::max(std::min(smallest - t.depth * t.frameMs, f.pts), options_.startMs);
    if (t.haveDts && dts <= t.lastDts) dts = t.lastDts + 1;
    t.haveDts = true;
    t.lastDts = dts;
    if (f.newConfig) {
      // The MediaInfo goes first (joining viewers and muxers describe the track from it), then
      // the configuration in-band for the viewers already watching, then the frame.
      media_.video = std::move(*f.track);
      updateMedia();
      stream_.pushFrame(
          Frame{MediaKind::kVideo, t.info.codec, dts, dts, {true, true, false}, f.newConfig});
    }
    publishVideo(t, f.pts, dts, std::move(f.data), f.key);
  }
}

void RtpIngest::publishVideo(Track& t, int64_t pts, int64_t dts, BufferRef data, bool key) {
  drainAudio(dts, false);
  Frame f{MediaKind::kVideo, t.info.codec, dts, pts, {key, false, false}, std::move(data)};
  ++t.stats.frames;
  lastFrameMs_ = std::max(lastFrameMs_, dts);
  stream_.pushFrame(f);
}

void RtpIngest::onRtcp(int index, const uint8_t* data, size_t size) {
  if (index < 0 || static_cast<size_t>(index) >= tracks_.size()) return;
  Track& t = *tracks_[index];
  if (!t.used) return;
  Status s = rtp::forEachRtcp({data, size}, [&](const rtp::RtcpHeader& h) {
    if (h.type != rtp::kRtcpSr) return true;
    auto sr = rtp::parseSenderReport(h.packet);
    if (!sr) return true;
    t.lastSrMiddle = rtp::ntpMiddle(sr->ntp);
    t.lastSrArrivalMs = stream_.owner().nowMs();
    if (t.srAligned) return true;
    const int64_t ntpMs = ntpToMs(sr->ntp);
    if (!t.timed) {  // aligned when the track's first frame sets its clock origin
      t.pendingSr = true;
      t.srRtp = sr->rtpTimestamp;
      t.srNtpMs = ntpMs;
      return true;
    }
    int64_t srTicks = t.lastTicks + static_cast<int32_t>(sr->rtpTimestamp - t.lastTs);
    int64_t at = toMs(t, srTicks);
    if (!haveNtpBase_) {
      haveNtpBase_ = true;
      ntpBaseMs_ = ntpMs - at;
    } else if (std::abs(ntpMs - ntpBaseMs_ - at) < kMaxSrAdjustMs) {
      t.baseMs += ntpMs - ntpBaseMs_ - at;
    }
    t.srAligned = true;
    return true;
  });
  if (!s) ++t.stats.malformed;
}

bool RtpIngest::writeReceiverReport(int index, BufferWriter& w, uint32_t ourSsrc) {
  if (index < 0 || static_cast<size_t>(index) >= tracks_.size()) return false;
  Track& t = *tracks_[index];
  if (t.received == 0) return false;
  rtp::ReceiverReport rr;
  rr.ssrc = ourSsrc;
  rtp::ReportBlock b;
  b.ssrc = t.senderSsrc;
  const uint64_t extMax = (uint64_t(t.cycles) << 16) | t.maxSeq;
  const uint64_t expected = extMax - t.baseSeq + 1;
  const int64_t lost = static_cast<int64_t>(expected) - static_cast<int64_t>(t.received);
  b.cumulativeLost = static_cast<int32_t>(std::clamp<int64_t>(lost, -0x800000, 0x7fffff));
  const uint64_t expInterval = expected - t.expectedPrior;
  const uint64_t recvInterval = t.received - t.receivedPrior;
  t.expectedPrior = expected;
  t.receivedPrior = t.received;
  if (expInterval > 0 && expInterval > recvInterval)
    b.fractionLost = static_cast<uint8_t>(((expInterval - recvInterval) << 8) / expInterval);
  b.highestSeq = static_cast<uint32_t>(extMax);
  b.lastSr = t.lastSrMiddle;
  if (t.lastSrArrivalMs)
    b.delaySinceLastSr =
        static_cast<uint32_t>((stream_.owner().nowMs() - t.lastSrArrivalMs) * 65536 / 1000);
  rr.reports.push_back(b);
  rtp::writeReceiverReport(w, rr);
  rtp::writeSdesCname(w, ourSsrc, "xueliang");
  return true;
}

}  // namespace xl::rtsp
