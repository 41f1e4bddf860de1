// NAL unit framing: Annex B start codes (ITU-T H.264 Annex B, H.265 Annex B) and the 4-byte
// length prefixes used in MP4/FLV (ISO/IEC 14496-15 5.3.2 / 8.3.2) and in xl::Frame payloads.
#include <algorithm>

#include "xueliang/codec.h"

namespace xl {
namespace {

// Position of the first byte after the next 00 00 01 at or after `from`, or npos.
size_t findStartCode(ByteSpan d, size_t from) {
  for (size_t i = from; i + 3 <= d.size(); ++i) {
    if (d[i + 2] > 1) {
      i += 2;  // none of d[i..i+2] can start a code ending at i+2 or earlier
      continue;
    }
    if (d[i] == 0 && d[i + 1] == 0 && d[i + 2] == 1) return i + 3;
  }
  return std::string_view::npos;
}

bool sameBytes(const Bytes& a, ByteSpan b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end());
}

void addUnique(std::vector<Bytes>& list, ByteSpan nal) {
  for (const auto& e : list)
    if (sameBytes(e, nal)) return;
  list.emplace_back(nal.begin(), nal.end());
}

}  // namespace

bool looksLikeAnnexB(ByteSpan d) {
  if (d.size() >= 3 && d[0] == 0 && d[1] == 0 && d[2] == 1) return true;
  return d.size() >= 4 && d[0] == 0 && d[1] == 0 && d[2] == 0 && d[3] == 1;
}

NalIterator::NalIterator(ByteSpan data, NalFormat format, int lengthSize)
    : data_(data), format_(format), lengthSize_(lengthSize) {
  if (format_ == NalFormat::kAnnexB) {
    pos_ = findStartCode(data_, 0);
    if (pos_ == std::string_view::npos) pos_ = data_.size();
  } else if (lengthSize_ != 1 && lengthSize_ != 2 && lengthSize_ != 4) {
    malformed_ = true;
    pos_ = data_.size();
  }
}

bool NalIterator::next(ByteSpan& nal) {
  while (pos_ < data_.size()) {
    if (format_ == NalFormat::kAnnexB) {
      size_t start = pos_;
      size_t nextStart = findStartCode(data_, start);
      size_t end = nextStart == std::string_view::npos ? data_.size() : nextStart - 3;
      pos_ = nextStart == std::string_view::npos ? data_.size() : nextStart;
      // trailing_zero_8bits and the leading zero of a 4-byte start code belong to the stream.
      while (end > start && data_[end - 1] == 0) --end;
      if (end == start) continue;
      nal = data_.subspan(start, end - start);
      return true;
    }
    if (data_.size() - pos_ < static_cast<size_t>(lengthSize_)) {
      malformed_ = true;
      pos_ = data_.size();
      return false;
    }
    size_t len = 0;
    for (int i = 0; i < lengthSize_; ++i) len = (len << 8) | data_[pos_ + i];
    pos_ += lengthSize_;
    if (len > data_.size() - pos_) {
      malformed_ = true;
      pos_ = data_.size();
      return false;
    }
    size_t start = pos_;
    pos_ += len;
    if (len == 0) continue;
    nal = data_.subspan(start, len);
    return true;
  }
  return false;
}

Result<BufferRef> annexBToLengthPrefixed(ByteSpan annexB) {
  if (!looksLikeAnnexB(annexB)) return Status::error("annex b: no leading start code");
  BufferWriter w(annexB.size() + 16);
  NalIterator it(annexB, NalFormat::kAnnexB);
  ByteSpan nal;
  while (it.next(nal)) {
    if (nal.size() > 0xffffffffu) return Status::error("annex b: NAL unit too large");
    w.be32(static_cast<uint32_t>(nal.size()));
    w.append(nal);
  }
  return w.freeze();
}

Result<BufferRef> lengthPrefixedToAnnexB(ByteSpan data, int lengthSize) {
  BufferWriter w(data.size() + 16);
  NalIterator it(data, NalFormat::kLengthPrefixed, lengthSize);
  ByteSpan nal;
  while (it.next(nal)) {
    w.be32(1);
    w.append(nal);
  }
  if (it.malformed()) return Status::error("length-prefixed: NAL length exceeds data");
  return w.freeze();
}

Result<ParameterSets> extractParameterSets(Codec codec, ByteSpan au, NalFormat format) {
  if (codec != Codec::kH264 && codec != Codec::kH265)
    return Status::error("parameter sets: not an H.264/H.265 codec");
  ParameterSets ps;
  NalIterator it(au, format);
  ByteSpan nal;
  while (it.next(nal)) {
    if (codec == Codec::kH264) {
      uint8_t t = h264::nalType(nal[0]);
      if (t == h264::kNalSps) addUnique(ps.sps, nal);
      if (t == h264::kNalPps) addUnique(ps.pps, nal);
    } else {
      if (nal.size() < 2) continue;
      uint8_t t = h265::nalType(nal[0]);
      if (t == h265::kNalVps) addUnique(ps.vps, nal);
      if (t == h265::kNalSps) addUnique(ps.sps, nal);
      if (t == h265::kNalPps) addUnique(ps.pps, nal);
    }
  }
  if (it.malformed()) return Status::error("parameter sets: malformed access unit");
  return ps;
}

namespace h264 {
bool isKeyframe(ByteSpan au) {
  NalIterator it(au, NalFormat::kLengthPrefixed);
  ByteSpan nal;
  while (it.next(nal))
    if (nalType(nal[0]) == kNalIdr) return true;
  return false;
}
}  // namespace h264

namespace h265 {
bool isKeyframe(ByteSpan au) {
  NalIterator it(au, NalFormat::kLengthPrefixed);
  ByteSpan nal;
  while (it.next(nal))
    if (isIrap(nalType(nal[0]))) return true;
  return false;
}
}  // namespace h265

bool isKeyframe(Codec codec, ByteSpan au) {
  if (codec == Codec::kH264) return h264::isKeyframe(au);
  if (codec == Codec::kH265) return h265::isKeyframe(au);
  return false;
}

}  // namespace xl
