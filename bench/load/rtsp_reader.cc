#include "rtsp_reader.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <cstring>

namespace xlload {
namespace {

constexpr size_t kMaxResponse = 64 * 1024;
constexpr size_t kMaxTracks = 16;

std::string lowerCopy(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

std::string rtspHeader(const std::string& head, const std::string& name) {
  std::string l = lowerCopy(head);
  std::string key = "\r\n" + lowerCopy(name) + ":";
  size_t p = l.find(key);
  if (p == std::string::npos) return "";
  p += key.size();
  size_t e = head.find("\r\n", p);
  std::string v = head.substr(p, e == std::string::npos ? e : e - p);
  while (!v.empty() && v[0] == ' ') v.erase(0, 1);
  return v;
}

std::string RtspReader::feed(const uint8_t* data, size_t n) {
  while (n) {
    if (inFrame_) {
      size_t used = frameBytes(data, n);
      data += used, n -= used;
      continue;
    }
    if (text_.empty() && data[0] == '$') {
      inFrame_ = true;
      headHave_ = 0;
      continue;
    }
    size_t before = text_.size();
    // Bytes after the response (interleaved frames) are appended too and handed back below.
    text_.append(reinterpret_cast<const char*>(data), n);
    // Only the new bytes (and the three before them) can complete the head: linear, not
    // quadratic, in the response size however it is split.
    if (headEnd_ == std::string::npos) {
      headEnd_ = text_.find("\r\n\r\n", before < 3 ? 0 : before - 3);
      if (headEnd_ == std::string::npos) {
        if (text_.size() > kMaxResponse) return "rtsp: response too long";
        return "";
      }
      // The head is read once; later pieces only complete the body.
      if (text_.compare(0, 9, "RTSP/1.0 ") != 0) return "rtsp: not an RTSP response";
      status_ = std::atoi(text_.c_str() + 9);
      if (status_ < 100 || status_ > 999) return "rtsp: bad status line";
      std::string cl = rtspHeader(text_.substr(0, headEnd_ + 2), "content-length");
      char* endp = nullptr;
      bodyLen_ = cl.empty() ? 0 : std::strtoull(cl.c_str(), &endp, 10);
      if (!cl.empty() && endp == cl.c_str()) return "rtsp: bad Content-Length";
      if (bodyLen_ > kMaxResponse) return "rtsp: response body too long";
    }
    const size_t end = headEnd_, clen = bodyLen_;
    if (text_.size() < end + 4 + clen) return "";
    std::string head = text_.substr(0, end + 2);
    std::string body = text_.substr(end + 4, clen);
    size_t used = end + 4 + clen - before;
    text_.clear();
    headEnd_ = std::string::npos;
    data += used, n -= used;
    if (!sink_.onResponse(status_, head, body)) return "";
  }
  return "";
}

// "$" channel len16, then the packet; its first kPeek bytes are kept.
size_t RtspReader::frameBytes(const uint8_t* p, size_t n) {
  size_t used = 0;
  if (headHave_ < 4) {
    size_t k = std::min<size_t>(4 - headHave_, n);
    std::memcpy(head_ + headHave_, p, k);
    headHave_ += k, used += k;
    if (headHave_ < 4) return used;
    left_ = (size_t(head_[2]) << 8) | head_[3];
    peekHave_ = 0;
    sink_.onFrameStart(head_[1], left_);
  }
  size_t k = std::min(left_, n - used);
  if (peekHave_ < kPeek) {
    size_t c = std::min(k, kPeek - peekHave_);
    std::memcpy(peek_ + peekHave_, p + used, c);
    peekHave_ += c;
  }
  used += k;
  left_ -= k;
  if (left_ == 0) {
    inFrame_ = false;
    sink_.onFrameEnd(head_[1], peek_, peekHave_);
  }
  return used;
}

bool rtspTransportPorts(const std::string& transport, const std::string& key, int ports[2]) {
  const std::string t = lowerCopy(transport), k = lowerCopy(key) + "=";
  // The key starts the value or follows a ';' (client_port must not match "xclient_port").
  size_t p = 0;
  while ((p = t.find(k, p)) != std::string::npos && p != 0 && t[p - 1] != ';' && t[p - 1] != ' ')
    p += k.size();
  if (p == std::string::npos) return false;
  const char* s = t.c_str() + p + k.size();
  auto number = [](const char*& c) {
    long v = 0;
    int digits = 0;
    for (; *c >= '0' && *c <= '9' && digits < 6; ++c, ++digits) v = v * 10 + (*c - '0');
    return digits == 0 || v < 1 || v > 65535 ? -1L : v;
  };
  long rtp = number(s), rtcp = rtp + 1;
  if (*s == '-') rtcp = number(++s);
  if (rtp < 0 || rtcp < 1 || rtcp > 65535 || (*s != '\0' && *s != ';')) return false;
  ports[0] = static_cast<int>(rtp);
  ports[1] = static_cast<int>(rtcp);
  return true;
}

std::vector<RtspTrack> parseRtspTracks(const std::string& sdp) {
  std::vector<RtspTrack> tracks;
  size_t pos = 0;
  while (pos < sdp.size()) {
    size_t e = sdp.find('\n', pos);
    std::string line = sdp.substr(pos, e == std::string::npos ? std::string::npos : e - pos);
    pos = e == std::string::npos ? sdp.size() : e + 1;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.rfind("m=", 0) == 0) {
      if (tracks.size() == kMaxTracks) break;
      tracks.push_back({});
      tracks.back().video = line.rfind("m=video", 0) == 0;
    } else if (!tracks.empty() && line.rfind("a=control:", 0) == 0) {
      tracks.back().control = line.substr(10);
    } else if (!tracks.empty() && line.rfind("a=rtpmap:", 0) == 0) {
      std::string l = lowerCopy(line);
      tracks.back().h265 =
          l.find("h265") != std::string::npos || l.find("hevc") != std::string::npos;
      // "a=rtpmap:PT ENCODING/CLOCK[/CHANNELS]" (RFC 4566 §6): the clock for jitter.
      if (size_t slash = l.find('/'); slash != std::string::npos) {
        unsigned long rate = std::strtoul(l.c_str() + slash + 1, nullptr, 10);
        if (rate <= 1000000) tracks.back().clockRate = static_cast<uint32_t>(rate);
      }
    }
  }
  return tracks;
}

}  // namespace xlload
