#include "flv_reader.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>

namespace xlload {

std::string FlvReader::feed(const uint8_t* data, size_t n) {
  if (!chunked_) return body(data, n);
  while (n) {
    if (chunkLeft_ == 0) {
      // Chunk-size line "HEX[;ext]\r\n", preceded by the CRLF ending the previous chunk.
      char c = static_cast<char>(*data++);
      --n;
      if (c == '\n') {
        if (line_.empty()) continue;  // the CRLF after a chunk's data
        char* end = nullptr;
        chunkLeft_ = std::strtoull(line_.c_str(), &end, 16);
        if (end == line_.c_str()) return "http: bad chunk size line";
        line_.clear();
        if (chunkLeft_ == 0) return "http: end of chunked body";
      } else if (c != '\r') {
        if (line_.size() > 64) return "http: bad chunk size line";
        line_.push_back(c);
      }
      continue;
    }
    size_t take = std::min<uint64_t>(chunkLeft_, n);
    if (std::string err = body(data, take); !err.empty()) return err;
    data += take;
    n -= take;
    chunkLeft_ -= take;
  }
  return "";
}

// FLV: 9-byte header (+ its DataOffset), then [PreviousTagSize u32][tag header 11][data].
std::string FlvReader::body(const uint8_t* p, size_t n) {
  while (n) {
    if (peekLeft_) {
      vid_[vidHave_++] = *p++;
      --n, --skip_, --peekLeft_;
      if (!peekLeft_) {
        uint8_t codec = vid_[0] & 0x0f;
        bool seq = (codec == 7 || codec == 12) && vid_[1] == 0;
        if ((vid_[0] >> 4) == 1 && !seq) sink_.onKeyframe();
      }
      continue;
    }
    if (skip_) {
      size_t k = std::min<uint64_t>(skip_, n);
      p += k, n -= k, skip_ -= k;
      continue;
    }
    size_t need = headerDone_ ? 15 : 9;  // prev size + tag header, or the file header
    size_t k = std::min(need - have_, n);
    std::memcpy(hdr_ + have_, p, k);
    have_ += k, p += k, n -= k;
    if (have_ < need) break;
    have_ = 0;
    if (!headerDone_) {
      if (std::memcmp(hdr_, "FLV", 3) != 0) return "flv: bad signature";
      uint32_t off = (uint32_t(hdr_[5]) << 24) | (hdr_[6] << 16) | (hdr_[7] << 8) | hdr_[8];
      skip_ = off > 9 ? off - 9 : 0;
      headerDone_ = true;
      continue;
    }
    Tag t;
    t.type = hdr_[4] & 0x1f;
    t.size = (uint32_t(hdr_[5]) << 16) | (hdr_[6] << 8) | hdr_[7];
    sink_.onTag(t);
    // A video tag's first two data bytes (frame type/codec, AVC packet type) tell keyframes.
    if (t.type == 9 && t.size >= 2) peekLeft_ = 2, vidHave_ = 0;
    skip_ = t.size;
  }
  return "";
}

}  // namespace xlload
