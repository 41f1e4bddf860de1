// Audio depacketization: AAC (RFC 3640), G.711 and Opus (one frame per payload).
#include "rtp/depacketizer.h"
#include "xueliang/codec.h"

namespace xl::rtp {

std::unique_ptr<Depacketizer> makeVideoDepacketizer(Codec codec);

namespace {

constexpr size_t kMaxAudioFrame = 64 * 1024;

// RFC 3640 §3.2: AU-headers-length (16 bits, counting bits), the AU-headers (AU-size, then
// AU-Index for the first and AU-Index-delta for the others), padding to a byte, then the AUs.
class AacDepacketizer : public Depacketizer {
 public:
  explicit AacDepacketizer(const AacRtpParams& p) : params_(p) {}

 protected:
  void onPacket(const RtpPacket& p, bool loss, const FrameFn& out) override {
    if (loss || (fragment_.size() && p.timestamp != fragTs_)) dropFragment();
    if (Status s = parse(p, out); !s) {
      ++stats_.malformed;
      dropFragment();
    }
  }

 private:
  void dropFragment() {
    if (fragment_.size() == 0 && fragExpected_ == 0) return;
    ++stats_.framesDropped;
    fragment_.clear();
    fragExpected_ = 0;
  }

  Status parse(const RtpPacket& p, const FrameFn& out) {
    ByteSpan d = p.payload;
    if (d.size() < 2) return Status::error("AAC payload without AU-headers-length");
    size_t headerBits = be16(d.data());
    size_t headerBytes = (headerBits + 7) / 8;
    if (2 + headerBytes > d.size()) return Status::error("AU-headers run past the payload");
    BitReader br(d.subspan(2, headerBytes));
    ByteSpan data = d.subspan(2 + headerBytes);
    const int first = params_.sizeLength + params_.indexLength;
    const int next = params_.sizeLength + params_.indexDeltaLength;
    if (params_.sizeLength <= 0 || params_.sizeLength > 32 || params_.indexLength < 0 ||
        params_.indexLength > 32 || params_.indexDeltaLength < 0 || params_.indexDeltaLength > 32)
      return Status::error("bad AU-header field sizes");
    size_t used = 0;
    uint32_t index = 0;
    bool firstAu = true;
    while (used + (firstAu ? first : next) <= headerBits) {
      uint32_t size = br.bits(params_.sizeLength);
      uint32_t idx = br.bits(firstAu ? params_.indexLength : params_.indexDeltaLength);
      used += firstAu ? first : next;
      index = firstAu ? 0 : index + idx + 1;  // §3.2.1.1: consecutive when the delta is 0
      firstAu = false;
      uint32_t ts = p.timestamp + index * params_.frameSamples;
      if (size <= data.size() && fragExpected_ == 0) {
        if (size > 0) out(DepacketizedFrame{ts, BufferRef::copyOf(data.data(), size), false});
        data = data.subspan(size);
        continue;
      }
      // §3.2.3: one AU spread over several packets, each repeating the AU-header.
      if (used != headerBits) return Status::error("fragmented AU among others");
      if (size > kMaxAudioFrame) return Status::error("AAC AU too large");
      if (fragExpected_ == 0) {
        fragExpected_ = size;
        fragTs_ = p.timestamp;
      } else if (fragExpected_ != size) {
        return Status::error("AU size changed between fragments");
      }
      if (fragment_.size() + data.size() > fragExpected_)
        return Status::error("AU fragments exceed the AU size");
      fragment_.append(data);
      data = {};
      if (p.marker) {
        bool complete = fragment_.size() == fragExpected_;
        fragExpected_ = 0;
        if (!complete) {
          fragment_.clear();
          return Status::error("AU fragments do not add up");
        }
        out(DepacketizedFrame{fragTs_, fragment_.freeze(), false});
      }
      return Status::ok();
    }
    return Status::ok();
  }

  AacRtpParams params_;
  BufferWriter fragment_{2048};
  size_t fragExpected_ = 0;
  uint32_t fragTs_ = 0;
};

class WholeFrameDepacketizer : public Depacketizer {
 protected:
  void onPacket(const RtpPacket& p, bool, const FrameFn& out) override {
    if (p.payload.empty()) return;
    out(DepacketizedFrame{p.timestamp, BufferRef::copyOf(p.payload.data(), p.payload.size()),
                          false});
  }
};

}  // namespace

std::unique_ptr<Depacketizer> makeDepacketizer(Codec codec, const AacRtpParams& aac) {
  switch (codec) {
    case Codec::kH264:
    case Codec::kH265:
      return makeVideoDepacketizer(codec);
    case Codec::kAAC:
      return std::make_unique<AacDepacketizer>(aac);
    case Codec::kG711A:
    case Codec::kG711U:
    case Codec::kOpus:
      return std::make_unique<WholeFrameDepacketizer>();
    default:
      return nullptr;
  }
}

}  // namespace xl::rtp
