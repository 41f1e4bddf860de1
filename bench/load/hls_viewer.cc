// HLS player over one keep-alive HTTP/1.1 connection (RFC 8216; LL-HLS: RFC 8216bis §6.2.5.2):
// loads the media playlist (following a master playlist's first variant), fetches the newest
// segment, then reloads the playlist and fetches each new segment. When the server advertises
// CAN-BLOCK-RELOAD=YES the reload asks for the next segment with _HLS_msn and the server holds
// the answer until it exists; otherwise the playlist is polled every half target duration.
// Segment bytes are media; an MPEG-TS packet with random_access_indicator (ISO 13818-1
// §2.4.3.5) in a segment's first 8 KiB marks its keyframe (fMP4 segments: the first byte).
#include <cstring>
#include <deque>
#include <string>

#include "viewer.h"

namespace xlload {
namespace {

class HlsViewer final : public Viewer {
 public:
  using Viewer::Viewer;
  void tick(double nowMs) override {
    if (waitingPoll_ && nowMs >= pollAtMs_) {
      waitingPoll_ = false;
      requestPlaylist();
    }
  }

 private:
  // A segment every target duration is normal; a stall is a segment arriving a second late.
  double stallGapMs() const override { return targetMs_ + 1000; }

  std::string stage() const override {
    return std::string("hls ") + (inSegment_ ? "segment" : "playlist");
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
      return nextRequest();
    }
    return onPlaylist();
  }

  bool onPlaylist() {
    if (body_.rfind("#EXTM3U", 0) != 0) {
      fail("hls: not a playlist");
      return false;
    }
    if (body_.find("#EXT-X-STREAM-INF") != std::string::npos) {  // master: first variant
      size_t p = body_.find("#EXT-X-STREAM-INF");
      size_t l = body_.find('\n', p);
      size_t e = l == std::string::npos ? l : body_.find_first_of("\r\n", l + 1);
      std::string uri = l == std::string::npos ? "" : body_.substr(l + 1, e - l - 1);
      if (uri.empty()) {
        fail("hls: master playlist without a variant URI");
        return false;
      }
      playlistPath_ = resolve(uri);
      requestPlaylist();
      return true;
    }
    blocking_ = body_.find("CAN-BLOCK-RELOAD=YES") != std::string::npos;
    size_t ms = body_.find("#EXT-X-MEDIA-SEQUENCE:");
    long long seq = ms == std::string::npos ? 0 : std::atoll(body_.c_str() + ms + 22);
    size_t td = body_.find("#EXT-X-TARGETDURATION:");
    targetMs_ = td == std::string::npos ? 2000 : std::atof(body_.c_str() + td + 22) * 1000;
    // Segment URIs follow #EXTINF lines; their msn counts up from the media sequence.
    std::deque<std::pair<long long, std::string>> segs;
    size_t pos = 0;
    long long msn = seq;
    while ((pos = body_.find("#EXTINF", pos)) != std::string::npos) {
      size_t l = body_.find('\n', pos);
      if (l == std::string::npos) break;
      size_t e = body_.find_first_of("\r\n", l + 1);
      std::string uri = body_.substr(l + 1, e == std::string::npos ? e : e - l - 1);
      if (!uri.empty() && uri[0] != '#') segs.emplace_back(msn++, uri);
      pos = l;
    }
    if (nextMsn_ < 0 && !segs.empty()) nextMsn_ = segs.back().first;  // start at the live edge
    for (auto& [m, uri] : segs) {
      if (m >= nextMsn_) {
        pending_.push_back(resolve(uri));
        nextMsn_ = m + 1;
      }
    }
    if (nextMsn_ < 0) nextMsn_ = msn;  // empty playlist: wait for its first segment
    return nextRequest();
  }

  bool nextRequest() {
    if (!pending_.empty()) {
      inSegment_ = true;
      segKey_ = false;
      get(pending_.front());
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
  std::deque<std::string> pending_;
  uint8_t seg_[8192] = {};
  size_t segHave_ = 0;
};

}  // namespace

std::unique_ptr<Viewer> makeHlsViewer(Loop& loop, Stats& stats, const Target& t) {
  return std::make_unique<HlsViewer>(loop, stats, t);
}

}  // namespace xlload
