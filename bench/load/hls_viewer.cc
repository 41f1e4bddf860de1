// HLS player over one keep-alive HTTP/1.1 connection (RFC 8216; LL-HLS: RFC 8216bis §6.2.5.2):
// loads the media playlist (following a master playlist's first variant), fetches the newest
// segment, then reloads the playlist and fetches each new segment. When the server advertises
// CAN-BLOCK-RELOAD=YES the reload asks for the next segment with _HLS_msn and the server holds
// the answer until it exists; otherwise the playlist is polled every half target duration.
// Segment bytes are media; an MPEG-TS packet with random_access_indicator (ISO 13818-1
// §2.4.3.5) in a segment's first 8 KiB marks its keyframe (fMP4 segments: the first byte).
// LL-HLS mode (--ll-hls, when the playlist has EXT-X-PART-INF) fetches partial segments instead,
// starting at the newest INDEPENDENT part, and reloads with _HLS_msn and _HLS_part for the part
// after the last one listed. Part latency: the part's last byte received minus the wall-clock
// end of its media (EXT-X-PROGRAM-DATE-TIME plus the durations before it).
#include <sys/time.h>

#include <cstring>
#include <deque>
#include <string>

#include "hls_playlist.h"
#include "viewer.h"

namespace xlload {
namespace {

double wallMs() {
  timeval tv;
  gettimeofday(&tv, nullptr);
  return tv.tv_sec * 1e3 + tv.tv_usec / 1e3;
}

class HlsViewer final : public Viewer {
 public:
  HlsViewer(Loop& loop, Stats& stats, const Target& t, bool parts)
      : Viewer(loop, stats, t), wantParts_(parts) {}
  void tick(double nowMs) override {
    if (waitingPoll_ && nowMs >= pollAtMs_) {
      waitingPoll_ = false;
      requestPlaylist();
    }
  }

 private:
  // A segment every target duration is normal; a stall is a segment arriving a second late.
  double stallGapMs() const override { return (partMode_ ? partTargetMs_ : targetMs_) + 1000; }

  std::string stage() const override {
    return std::string("hls ") + (inSegment_ ? (partMode_ ? "part" : "segment") : "playlist");
  }

  void onConnected() override {
    playlistPath_ = target_.path;
    requestPlaylist();
  }

  void get(const std::string& path) {
    send("GET " + path + " HTTP/1.1\r\nHost: " + target_.host + ":" + std::to_string(target_.port) +
         "\r\nUser-Agent: xl-load\r\n\r\n");
    head_.clear();
    body_.clear();
    headerDone_ = false;
  }

  void requestPlaylist() {
    inSegment_ = false;
    std::string p = playlistPath_;
    if (blocking_ && nextMsn_ >= 0) {
      p.push_back(p.find('?') == std::string::npos ? '?' : '&');
      p.append("_HLS_msn=").append(std::to_string(nextMsn_));
      if (partMode_) p.append("&_HLS_part=").append(std::to_string(nextPart_));
    }
    get(p);
  }

  std::string resolve(const std::string& uri) const {
    if (uri.rfind("http://", 0) == 0) {
      size_t s = uri.find('/', 7);
      return s == std::string::npos ? "/" : uri.substr(s);
    }
    if (!uri.empty() && uri[0] == '/') return uri;
    std::string base = playlistPath_.substr(0, playlistPath_.find('?'));
    return base.substr(0, base.rfind('/') + 1) + uri;
  }

  bool onBytes(const uint8_t* data, size_t n) override {
    while (n && !done()) {
      if (!headerDone_) {
        size_t before = head_.size();
        head_.append(reinterpret_cast<const char*>(data), n);
        size_t end = head_.find("\r\n\r\n");
        if (end == std::string::npos) {
          if (head_.size() > 16384) fail("hls: response header too long");
          return !done();
        }
        int status = head_.compare(0, 5, "HTTP/") == 0 ? std::atoi(head_.c_str() + 9) : 0;
        if (status != 200) {
          fail("hls: status " + std::to_string(status) + (inSegment_ ? " (segment)" : ""));
          return false;
        }
        std::string lower = head_.substr(0, end);
        for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        size_t cl = lower.find("content-length:");
        if (cl == std::string::npos) {
          fail("hls: response without Content-Length");
          return false;
        }
        left_ = std::strtoull(lower.c_str() + cl + 15, nullptr, 10);
        headerDone_ = true;
        size_t used = end + 4 - before;
        data += used, n -= used;
        head_.clear();
        segHave_ = 0;
        if (left_ == 0 && !finishResponse()) return false;
        continue;
      }
      size_t k = std::min<uint64_t>(left_, n);
      if (inSegment_) {
        double t = now();
        media(t);
        if (!segKey_ && segHave_ < sizeof seg_) {
          size_t c = std::min(k, sizeof seg_ - segHave_);
          std::memcpy(seg_ + segHave_, data, c);
          segHave_ += c;
          if (scanKey()) segKey_ = true, keyframe(t);
        }
      } else {
        if (body_.size() + k > (4u << 20)) {
          fail("hls: playlist over 4 MiB");
          return false;
        }
        body_.append(reinterpret_cast<const char*>(data), k);
      }
      data += k, n -= k, left_ -= k;
      if (left_ == 0 && !finishResponse()) return false;
    }
    return !done();
  }

  bool scanKey() const {
    if (segHave_ && seg_[0] != 0x47) return segHave_ >= 8;  // not TS (fMP4): starts independent
    for (size_t p = 0; p + 6 <= segHave_; p += 188) {
      if (seg_[p] != 0x47) return false;
      int afc = (seg_[p + 3] >> 4) & 3;
      if ((afc == 2 || afc == 3) && seg_[p + 4] > 0 && (seg_[p + 5] & 0x40)) return true;
    }
    return false;
  }

  bool finishResponse() {
    headerDone_ = false;
    if (inSegment_) {
      playing();
      if (partMode_ && currentEndPdtMs_ > 0) stats_.partMs.push_back(wallMs() - currentEndPdtMs_);
      return nextRequest();
    }
    return onPlaylist();
  }

  bool onPlaylist() {
    HlsPlaylist pl;
    std::string err = parseHlsPlaylist(body_, pl);
    if (!err.empty()) {
      fail(err);
      return false;
    }
    if (!pl.variantUri.empty()) {  // master: first variant
      playlistPath_ = resolve(pl.variantUri);
      requestPlaylist();
      return true;
    }
    blocking_ = pl.canBlockReload;
    targetMs_ = pl.targetMs;
    if (wantParts_ && pl.partTargetMs > 0 && !pl.parts.empty()) {
      partMode_ = true;
      partTargetMs_ = pl.partTargetMs;
      return onParts(pl);
    }
    if (nextMsn_ < 0 && !pl.segments.empty())
      nextMsn_ = pl.segments.back().msn;  // start at the live edge
    for (const HlsSegment& seg : pl.segments) {
      if (seg.msn >= nextMsn_) {
        pending_.push_back({resolve(seg.uri), 0});
        nextMsn_ = seg.msn + 1;
      }
    }
    if (nextMsn_ < 0) nextMsn_ = pl.mediaSequence;  // empty playlist: wait for its first segment
    return nextRequest();
  }

  // LL-HLS: queue the parts after the last one fetched; the first time, from the newest
  // independent part (a player needs a keyframe to start).
  bool onParts(const HlsPlaylist& pl) {
    auto before = [](long long m1, int p1, long long m2, int p2) {
      return m1 < m2 || (m1 == m2 && p1 < p2);
    };
    if (nextMsn_ < 0) {
      const HlsPart* start = &pl.parts.back();
      for (const HlsPart& p : pl.parts)
        if (p.independent) start = &p;
      nextMsn_ = start->msn;
      nextPart_ = start->index;
    }
    // Latency is recorded for parts announced by a blocking reload, not for the start-up
    // backlog (parts that already existed when the player arrived).
    const bool live = partsStarted_;
    partsStarted_ = true;
    for (const HlsPart& p : pl.parts) {
      if (before(p.msn, p.index, nextMsn_, nextPart_)) continue;
      pending_.push_back({resolve(p.uri), live ? p.endPdtMs : 0});
    }
    if (before(nextMsn_, nextPart_, pl.nextMsn, pl.nextPart)) {
      nextMsn_ = pl.nextMsn;
      nextPart_ = pl.nextPart;
    }
    return nextRequest();
  }

  bool nextRequest() {
    if (!pending_.empty()) {
      inSegment_ = true;
      segKey_ = false;
      get(pending_.front().uri);
      currentEndPdtMs_ = pending_.front().endPdtMs;
      pending_.pop_front();
      return true;
    }
    if (blocking_) {
      requestPlaylist();
    } else {
      waitingPoll_ = true;
      pollAtMs_ = now() + targetMs_ / 2;
    }
    return true;
  }

  std::string playlistPath_, head_, body_;
  bool headerDone_ = false, inSegment_ = false, blocking_ = false, waitingPoll_ = false;
  bool segKey_ = false;
  uint64_t left_ = 0;
  long long nextMsn_ = -1;
  double targetMs_ = 2000, pollAtMs_ = 0;
  struct Pending {
    std::string uri;
    double endPdtMs = 0;  // parts: wall-clock end of the media, for the part latency
  };
  std::deque<Pending> pending_;
  const bool wantParts_;
  bool partMode_ = false, partsStarted_ = false;
  int nextPart_ = 0;
  double partTargetMs_ = 0, currentEndPdtMs_ = 0;
  uint8_t seg_[8192] = {};
  size_t segHave_ = 0;
};

}  // namespace

std::unique_ptr<Viewer> makeHlsViewer(Loop& loop, Stats& stats, const Target& t) {
  return std::make_unique<HlsViewer>(loop, stats, t, false);
}

std::unique_ptr<Viewer> makeLlHlsViewer(Loop& loop, Stats& stats, const Target& t) {
  return std::make_unique<HlsViewer>(loop, stats, t, true);
}

}  // namespace xlload
