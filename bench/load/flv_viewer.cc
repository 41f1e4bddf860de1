// HTTP-FLV player: GET, then an incremental walk over the body (chunked or not) and the FLV tags
// (FLV spec v10.1, Annex E). Tag bodies are skipped in place; only the first byte or two of a
// video tag are read, to spot keyframes.
#include <cstring>
#include <string>

#include "viewer.h"

namespace xlload {
namespace {

class FlvViewer final : public Viewer {
 public:
  using Viewer::Viewer;

 private:
  void onConnected() override {
    send("GET " + target_.path + " HTTP/1.1\r\nHost: " + target_.host + ":" +
         std::to_string(target_.port) + "\r\nUser-Agent: xl-load\r\nAccept: */*\r\n\r\n");
  }

  std::string stage() const override { return headerDone_ ? "http-flv body" : "http-flv request"; }

  bool onBytes(const uint8_t* data, size_t n) override {
    if (!headerDone_) {
      size_t before = head_.size();
      head_.append(reinterpret_cast<const char*>(data), n);
      size_t end = head_.find("\r\n\r\n");
      if (end == std::string::npos) {
        if (head_.size() > 16384) fail("http: response header too long");
        return !done();
      }
      if (head_.compare(0, 9, "HTTP/1.1 ") && head_.compare(0, 9, "HTTP/1.0 ")) {
        fail("http: not an HTTP response");
        return false;
      }
      int status = std::atoi(head_.c_str() + 9);
      if (status != 200) {
        fail("http: status " + std::to_string(status));
        return false;
      }
      std::string lower = head_.substr(0, end);
      for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      chunked_ = lower.find("transfer-encoding: chunked") != std::string::npos;
      headerDone_ = true;
      playing();
      size_t used = end + 4 - before;
      data += used;
      n -= used;
      head_.clear();
    }
    double t = now();
    if (!chunked_) return body(data, n, t);
    while (n && !done()) {
      if (chunkLeft_ == 0) {
        // Chunk-size line "HEX[;ext]\r\n", preceded by the CRLF ending the previous chunk.
        char c = static_cast<char>(*data++);
        --n;
        if (c == '\n') {
          if (line_.empty()) continue;  // the CRLF after a chunk's data
          chunkLeft_ = std::strtoull(line_.c_str(), nullptr, 16);
          line_.clear();
          if (chunkLeft_ == 0) {
            fail("http: end of chunked body");
            return false;
          }
        } else if (c != '\r') {
          if (line_.size() > 64) {
            fail("http: bad chunk size line");
            return false;
          }
          line_.push_back(c);
        }
        continue;
      }
      size_t take = std::min<uint64_t>(chunkLeft_, n);
      if (!body(data, take, t)) return false;
      data += take;
      n -= take;
      chunkLeft_ -= take;
    }
    return !done();
  }

  // FLV: 9-byte header (+ its DataOffset), then [PreviousTagSize u32][tag header 11][data].
  bool body(const uint8_t* p, size_t n, double t) {
    while (n) {
      if (peekLeft_) {
        vid_[vidHave_++] = *p++;
        --n, --skip_, --peekLeft_;
        if (!peekLeft_) videoTag(vid_[0], vid_[1], t);
        continue;
      }
      if (skip_) {
        size_t k = std::min<uint64_t>(skip_, n);
        p += k, n -= k, skip_ -= k;
        continue;
      }
      size_t need = state_ == State::kFileHeader ? 9 : 15;  // prev size + tag header
      size_t k = std::min(need - have_, n);
      std::memcpy(hdr_ + have_, p, k);
      have_ += k, p += k, n -= k;
      if (have_ < need) break;
      have_ = 0;
      if (state_ == State::kFileHeader) {
        if (std::memcmp(hdr_, "FLV", 3) != 0) {
          fail("flv: bad signature");
          return false;
        }
        uint32_t off = (uint32_t(hdr_[5]) << 24) | (hdr_[6] << 16) | (hdr_[7] << 8) | hdr_[8];
        skip_ = off > 9 ? off - 9 : 0;
        state_ = State::kTag;
        continue;
      }
      uint8_t type = hdr_[4] & 0x1f;
      uint32_t size = (uint32_t(hdr_[5]) << 16) | (hdr_[6] << 8) | hdr_[7];
      if (type == 8 || type == 9) media(t);
      // A video tag's first two data bytes (frame type/codec, AVC packet type) tell keyframes.
      if (type == 9 && size >= 2) peekLeft_ = 2, vidHave_ = 0;
      skip_ = size;
    }
    return !done();
  }

  void videoTag(uint8_t b0, uint8_t b1, double t) {
    uint8_t codec = b0 & 0x0f;
    bool seq = (codec == 7 || codec == 12) && b1 == 0;
    if ((b0 >> 4) == 1 && !seq) keyframe(t);
  }

  enum class State { kFileHeader, kTag };
  bool headerDone_ = false;
  bool chunked_ = false;
  std::string head_, line_;
  uint64_t chunkLeft_ = 0;
  State state_ = State::kFileHeader;
  uint8_t hdr_[16] = {};
  size_t have_ = 0;
  uint64_t skip_ = 0;
  int peekLeft_ = 0;
  uint8_t vid_[2] = {};
  size_t vidHave_ = 0;
};

}  // namespace

std::unique_ptr<Viewer> makeFlvViewer(Loop& loop, Stats& stats, const Target& t) {
  return std::make_unique<FlvViewer>(loop, stats, t);
}

}  // namespace xlload
