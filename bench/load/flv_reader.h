// The HTTP-FLV body as a player reads it, incrementally and bounded: HTTP/1.1 chunked transfer
// coding (RFC 9112 §7.1) if the response used it, then the FLV header and tags (FLV spec v10.1,
// Annex E). Tag bodies are skipped in place; a video tag's first two bytes tell keyframes (frame
// type 1, not an AVC/HEVC sequence header).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace xlload {

class FlvReader {
 public:
  struct Tag {
    uint8_t type = 0;  // 8 audio, 9 video, 18 script
    uint32_t size = 0;
  };
  class Sink {
   public:
    virtual ~Sink() = default;
    virtual void onTag(const Tag& t) = 0;  // at each tag header
    virtual void onKeyframe() = 0;         // a video tag holding a keyframe
  };

  FlvReader(Sink& sink, bool chunked) : sink_(sink), chunked_(chunked) {}
  // Bytes of the response body; returns "" or why the stream is broken (then stop feeding).
  std::string feed(const uint8_t* data, size_t n);

 private:
  std::string body(const uint8_t* p, size_t n);

  Sink& sink_;
  const bool chunked_;
  std::string line_;
  uint64_t chunkLeft_ = 0;
  bool headerDone_ = false;
  uint8_t hdr_[16] = {};
  size_t have_ = 0;
  uint64_t skip_ = 0;
  int peekLeft_ = 0;
  uint8_t vid_[2] = {};
  size_t vidHave_ = 0;
};

}  // namespace xlload
