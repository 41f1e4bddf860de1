#include "rtp/packetizer.h"

#include <algorithm>

namespace xl::rtp {
namespace {

// Splits a length-prefixed access unit into NAL units; stops at the first malformed length.
void splitNals(ByteSpan au, std::vector<ByteSpan>& nals) {
  nals.clear();
  NalIterator it(au, NalFormat::kLengthPrefixed, 4);
  ByteSpan nal;
  while (it.next(nal)) nals.push_back(nal);
}

bool containsType(const std::vector<ByteSpan>& nals, Codec codec, uint8_t type) {
  for (ByteSpan n : nals) {
    uint8_t t = codec == Codec::kH264 ? h264::nalType(n[0]) : h265::nalType(n[0]);
    if (t == type) return true;
  }
  return false;
}

// H.264 (RFC 6184) and H.265 (RFC 7798) share the structure: single NAL unit packets when the
// NAL fits, fragmentation units otherwise; the marker bit ends the access unit.
class NalPacketizer : public Packetizer {
 public:
  NalPacketizer(Codec codec, const PacketizerConfig& c) : Packetizer(c), codec_(codec) {}

  void setParameterSets(const ParameterSets& ps) override { ps_ = ps; }

  void packetize(const Frame& f, uint32_t ts, const PacketSink& out) override {
    if (f.flags.config) return;  // configuration travels in the SDP and before keyframes
    splitNals(f.data.span(), nals_);
    if (f.flags.key) prependParameterSets();
    for (size_t i = 0; i < nals_.size(); ++i) sendNal(nals_[i], i + 1 == nals_.size(), ts, out);
  }

 private:
  void prependParameterSets() {
    const bool h264 = codec_ == Codec::kH264;
    const uint8_t spsType = h264 ? uint8_t(h264::kNalSps) : uint8_t(h265::kNalSps);
    if (containsType(nals_, codec_, spsType)) return;
    std::vector<ByteSpan> ps;
    for (auto& v : ps_.vps) ps.emplace_back(v);
    for (auto& s : ps_.sps) ps.emplace_back(s);
    for (auto& p : ps_.pps) ps.emplace_back(p);
    nals_.insert(nals_.begin(), ps.begin(), ps.end());
  }

  void sendNal(ByteSpan nal, bool last, uint32_t ts, const PacketSink& out) {
    const size_t hdr = codec_ == Codec::kH264 ? 1 : 2;
    if (nal.size() < hdr) return;
    if (nal.size() <= maxPayload()) {  // RFC 6184 §5.6, RFC 7798 §4.4.1
      send(last, ts, {}, nal, out);
      return;
    }
    uint8_t fu[3];
    size_t fuSize;
    if (codec_ == Codec::kH264) {  // RFC 6184 §5.8: FU indicator (F, NRI, type 28), FU header
      fu[0] = static_cast<uint8_t>((nal[0] & 0xe0) | 28);
      fu[1] = h264::nalType(nal[0]);
      fuSize = 2;
    } else {  // RFC 7798 §4.4.3: PayloadHdr with type 49 (F, LayerId, TID kept), FU header
      fu[0] = static_cast<uint8_t>((nal[0] & 0x81) | (49 << 1));
      fu[1] = nal[1];
      fu[2] = h265::nalType(nal[0]);
      fuSize = 3;
    }
    uint8_t& fuHeader = fu[fuSize - 1];
    const uint8_t type = fuHeader;
    ByteSpan rest = nal.subspan(hdr);
    const size_t chunk = maxPayload() - fuSize;
    bool first = true;
    while (!rest.empty()) {
      size_t n = std::min(chunk, rest.size());
      bool end = n == rest.size();
      fuHeader = static_cast<uint8_t>((first ? 0x80 : 0) | (end ? 0x40 : 0) | type);
      send(last && end, ts, {fu, fuSize}, rest.first(n), out);
      rest = rest.subspan(n);
      first = false;
    }
  }

  Codec codec_;
  ParameterSets ps_;
  std::vector<ByteSpan> nals_;  // scratch, reused per frame
};

// RFC 3640 §3.2.1, mode AAC-hbr (§3.3.6): AU-headers-length (16 bits, in bits), then one 16-bit
// AU-header (13-bit AU-size, 3-bit AU-Index 0). An AU larger than a packet is fragmented
// (§3.2.3): every fragment repeats the AU-header with the whole AU's size; the marker bit is set
// on the packet that completes the AU.
class AacPacketizer : public Packetizer {
 public:
  using Packetizer::Packetizer;
  void packetize(const Frame& f, uint32_t ts, const PacketSink& out) override {
    if (f.flags.config) return;
    ByteSpan au = f.data.span();
    if (au.empty() || au.size() > 8191) return;  // AU-size has 13 bits
    uint8_t hdr[4] = {0x00, 0x10, static_cast<uint8_t>(au.size() >> 5),
                      static_cast<uint8_t>((au.size() & 0x1f) << 3)};
    const size_t chunk = maxPayload() - sizeof hdr;
    while (!au.empty()) {
      size_t n = std::min(chunk, au.size());
      send(n == au.size(), ts, {hdr, sizeof hdr}, au.first(n), out);
      au = au.subspan(n);
    }
  }
};

// One frame per packet (Opus, RFC 7587 §4.2); G.711 frames larger than a packet are split at
// sample boundaries (one byte per sample, RFC 3551 §4.5.14) with advancing timestamps.
class FramePacketizer : public Packetizer {
 public:
  FramePacketizer(const PacketizerConfig& c, bool splittable)
      : Packetizer(c), splittable_(splittable) {}
  void packetize(const Frame& f, uint32_t ts, const PacketSink& out) override {
    if (f.flags.config || f.data.size() == 0) return;
    ByteSpan data = f.data.span();
    if (!splittable_) {
      send(false, ts, {}, data, out);
      return;
    }
    while (!data.empty()) {
      size_t n = std::min(maxPayload(), data.size());
      send(false, ts, {}, data.first(n), out);
      ts += static_cast<uint32_t>(n);
      data = data.subspan(n);
    }
  }

 private:
  bool splittable_;
};

}  // namespace

Packetizer::Packetizer(const PacketizerConfig& c) : cfg_(c), seq_(c.firstSeq) {
  cfg_.maxPayload = std::max<size_t>(cfg_.maxPayload, 64);
}

void Packetizer::send(bool marker, uint32_t ts, ByteSpan payloadHeader, ByteSpan body,
                      const PacketSink& out) {
  uint8_t head[kRtpHeaderSize + 8];
  writeRtpHeader(head, marker, cfg_.payloadType, seq_++, ts, cfg_.ssrc);
  std::copy(payloadHeader.begin(), payloadHeader.end(), head + kRtpHeaderSize);
  ++packets_;
  octets_ += static_cast<uint32_t>(payloadHeader.size() + body.size());
  out({head, kRtpHeaderSize + payloadHeader.size()}, body);
}

std::unique_ptr<Packetizer> makePacketizer(Codec codec, const PacketizerConfig& c) {
  switch (codec) {
    case Codec::kH264:
    case Codec::kH265:
      return std::make_unique<NalPacketizer>(codec, c);
    case Codec::kAAC:
      return std::make_unique<AacPacketizer>(c);
    case Codec::kG711A:
    case Codec::kG711U:
      return std::make_unique<FramePacketizer>(c, true);
    case Codec::kOpus:
      return std::make_unique<FramePacketizer>(c, false);
    default:
      return nullptr;
  }
}

uint32_t clockRateFor(Codec codec, int sampleRate) {
  switch (codec) {
    case Codec::kH264:
    case Codec::kH265:
      return 90000;
    case Codec::kOpus:
      return 48000;
    case Codec::kG711A:
    case Codec::kG711U:
      return 8000;
    default:
      return sampleRate > 0 ? static_cast<uint32_t>(sampleRate) : 90000;
  }
}

}  // namespace xl::rtp
