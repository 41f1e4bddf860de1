// RTSP player over TCP interleaved (RFC 2326 §10.12): DESCRIBE, SETUP per track, PLAY, then
// "$ channel length" frames. RTP (RFC 3550 §5.1) of the video track is peeked for IDR / IRAP NAL
// units: H.264 (RFC 6184 §5.6-5.8) and H.265 (RFC 7798 §4.4).
#include <cstring>
#include <string>
#include <vector>

#include "viewer.h"

namespace xlload {
namespace {

std::string lowerCopy(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Value of header `name` (lower case, with colon) in a response head, or "".
std::string headerValue(const std::string& head, const std::string& name) {
  std::string l = lowerCopy(head);
  size_t p = l.find("\r\n" + name);
  if (p == std::string::npos) return "";
  p += 2 + name.size();
  size_t e = head.find("\r\n", p);
  std::string v = head.substr(p, e - p);
  while (!v.empty() && v[0] == ' ') v.erase(0, 1);
  return v;
}

class RtspViewer final : public Viewer {
 public:
  using Viewer::Viewer;

 private:
  struct Track {
    std::string control;
    bool video = false;
    bool h265 = false;
  };

  void onConnected() override { request("DESCRIBE", target_.url, "Accept: application/sdp\r\n"); }

  void request(const char* method, const std::string& url, const std::string& extra) {
    std::string r = std::string(method) + " " + url +
                    " RTSP/1.0\r\nCSeq: " + std::to_string(++cseq_) +
                    "\r\nUser-Agent: xl-load\r\n" + extra;
    if (!session_.empty()) r += "Session: " + session_ + "\r\n";
    send(r + "\r\n");
  }

  std::string stage() const override { return "rtsp " + step_; }

  bool onBytes(const uint8_t* data, size_t n) override {
    double t = now();
    while (n && !done()) {
      if (inFrame_) {
        size_t used = frameBytes(data, n, t);
        data += used, n -= used;
        continue;
      }
      if (text_.empty() && data[0] == '$') {
        inFrame_ = true;
        frameHave_ = 0;
        continue;
      }
      // An RTSP response: collect the head and body.
      size_t before = text_.size();
      text_.append(reinterpret_cast<const char*>(data), n);
      size_t end = text_.find("\r\n\r\n");
      if (end == std::string::npos) {
        if (text_.size() > 65536) fail("rtsp: response too long");
        return !done();
      }
      size_t clen = std::strtoul(headerValue(text_.substr(0, end + 2), "content-length:").c_str(),
                                 nullptr, 10);
      if (text_.size() < end + 4 + clen) return !done();
      std::string head = text_.substr(0, end + 2), body = text_.substr(end + 4, clen);
      size_t used = end + 4 + clen - before;
      text_.clear();
      data += used, n -= used;
      onResponse(head, body);
    }
    return !done();
  }

  void onResponse(const std::string& head, const std::string& body) {
    if (head.compare(0, 9, "RTSP/1.0 ") != 0) return fail("rtsp: not an RTSP response");
    int status = std::atoi(head.c_str() + 9);
    if (status != 200) return fail("rtsp: status " + std::to_string(status) + " in " + step_);
    if (step_ == "DESCRIBE") {
      base_ = headerValue(head, "content-base:");
      if (base_.empty()) base_ = target_.url;
      parseSdp(body);
      if (tracks_.empty()) return fail("rtsp: no tracks in SDP");
      setupNext();
    } else if (step_ == "SETUP") {
      if (session_.empty()) {
        session_ = headerValue(head, "session:");
        session_ = session_.substr(0, session_.find(';'));
      }
      if (setupIndex_ < tracks_.size()) return setupNext();
      step_ = "PLAY";
      request("PLAY", base_, "Range: npt=0.000-\r\n");
    } else if (step_ == "PLAY") {
      playing();
    }
  }

  void parseSdp(const std::string& sdp) {
    size_t pos = 0;
    Track* cur = nullptr;
    while (pos < sdp.size()) {
      size_t e = sdp.find('\n', pos);
      std::string line = sdp.substr(pos, e == std::string::npos ? std::string::npos : e - pos);
      pos = e == std::string::npos ? sdp.size() : e + 1;
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line.rfind("m=", 0) == 0) {
        tracks_.push_back({});
        cur = &tracks_.back();
        cur->video = line.rfind("m=video", 0) == 0;
      } else if (cur && line.rfind("a=control:", 0) == 0) {
        cur->control = line.substr(10);
      } else if (cur && line.rfind("a=rtpmap:", 0) == 0) {
        std::string l = lowerCopy(line);
        cur->h265 = l.find("h265") != std::string::npos || l.find("hevc") != std::string::npos;
      }
    }
  }

  void setupNext() {
    step_ = "SETUP";
    const Track& tr = tracks_[setupIndex_];
    std::string url = tr.control;
    if (url.empty() || url == "*") {
      url = base_;
    } else if (url.rfind("rtsp://", 0) != 0) {
      url = base_ + (base_.back() == '/' ? "" : "/") + url;
    }
    int ch = static_cast<int>(setupIndex_) * 2;
    ++setupIndex_;
    request("SETUP", url,
            "Transport: RTP/AVP/TCP;unicast;interleaved=" + std::to_string(ch) + "-" +
                std::to_string(ch + 1) + "\r\n");
  }

  // "$" ch len16, then the packet; only the first bytes of RTP on a video channel are kept.
  size_t frameBytes(const uint8_t* p, size_t n, double t) {
    size_t used = 0;
    if (frameHave_ < 4) {
      size_t k = std::min<size_t>(4 - frameHave_, n);
      std::memcpy(frameHead_ + frameHave_, p, k);
      frameHave_ += k, used += k;
      if (frameHave_ < 4) return used;
      frameLeft_ = (size_t(frameHead_[2]) << 8) | frameHead_[3];
      peekHave_ = 0;
      uint8_t ch = frameHead_[1];
      size_t track = ch / 2;
      isRtp_ = ch % 2 == 0 && track < tracks_.size();
      isVideo_ = isRtp_ && tracks_[track].video;
      h265_ = isVideo_ && tracks_[track].h265;
      if (isRtp_) media(t);
      if (frameLeft_ == 0) inFrame_ = false;
    }
    size_t k = std::min(frameLeft_, n - used);
    if (isVideo_ && peekHave_ < sizeof peek_) {
      size_t c = std::min(k, sizeof peek_ - peekHave_);
      std::memcpy(peek_ + peekHave_, p + used, c);
      peekHave_ += c;
    }
    used += k;
    frameLeft_ -= k;
    if (frameLeft_ == 0 && frameHave_ == 4) {
      if (isVideo_) checkKey(t);
      inFrame_ = false;
    }
    return used;
  }

  void checkKey(double t) {
    if (peekHave_ < 12) return;
    size_t off = 12 + 4 * (peek_[0] & 0x0f);
    if (peek_[0] & 0x10) return;  // header extension: not used by our server; skip detection
    if (peekHave_ < off + 3) return;
    const uint8_t* nal = peek_ + off;
    bool key = false;
    if (!h265_) {
      uint8_t type = nal[0] & 0x1f;
      if (type == 5) key = true;
      if (type == 24) key = (nal[3] & 0x1f) == 5;                     // STAP-A
      if (type == 28) key = (nal[1] & 0x80) && (nal[1] & 0x1f) == 5;  // FU-A start of IDR
    } else {
      uint8_t type = (nal[0] >> 1) & 0x3f;
      if (type >= 16 && type <= 21) key = true;
      if (type == 49) key = (nal[2] & 0x80) && ((nal[2] & 0x3f) >= 16 && (nal[2] & 0x3f) <= 21);
    }
    if (key) keyframe(t);
  }

  int cseq_ = 0;
  std::string step_ = "DESCRIBE";
  std::string text_, base_, session_;
  std::vector<Track> tracks_;
  size_t setupIndex_ = 0;
  bool inFrame_ = false;
  uint8_t frameHead_[4] = {};
  size_t frameHave_ = 0, frameLeft_ = 0;
  bool isRtp_ = false, isVideo_ = false, h265_ = false;
  uint8_t peek_[24] = {};
  size_t peekHave_ = 0;
};

}  // namespace

std::unique_ptr<Viewer> makeRtspViewer(Loop& loop, Stats& stats, const Target& t) {
  return std::make_unique<RtspViewer>(loop, stats, t);
}

}  // namespace xlload
