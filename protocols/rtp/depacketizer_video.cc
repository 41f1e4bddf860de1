// H.264 (RFC 6184) and H.265 (RFC 7798) depacketization into length-prefixed access units.
#include "rtp/depacketizer.h"
#include "xueliang/codec.h"

namespace xl::rtp {

void Depacketizer::push(const RtpPacket& p, const FrameFn& out) {
  bool loss = false;
  if (started_) {
    int d = seqDistance(p.seq, expected_);
    if (d < 0 && d > -1000) {  // duplicate or late: no jitter buffer, so it is too late
      ++stats_.late;
      return;
    }
    if (d != 0) {  // forward gap (or a restart of the sender's numbering)
      loss = true;
      stats_.lost += d > 0 ? static_cast<uint64_t>(d) : 1;
    }
  }
  started_ = true;
  expected_ = static_cast<uint16_t>(p.seq + 1);
  ++stats_.packets;
  onPacket(p, loss, out);
}

namespace {

constexpr size_t kMaxAccessUnit = 16 << 20;

class NalDepacketizer : public Depacketizer {
 public:
  explicit NalDepacketizer(Codec codec) : h264_(codec == Codec::kH264) {}

 protected:
  void onPacket(const RtpPacket& p, bool loss, const FrameFn& out) override {
    // Missing packets may be the tail of the open access unit or the head of this one: both are
    // damaged.
    if (open_ && loss) broken_ = true;
    if (open_ && p.timestamp != ts_) finish(out);  // a new access unit without a marker first
    if (!open_) {
      open_ = true;
      ts_ = p.timestamp;
      broken_ = loss;
      key_ = false;
      fuStart_ = kNoFu;
      au_.clear();
    } else if (loss) {
      broken_ = true;
    }
    if (Status s = h264_ ? parse264(p.payload) : parse265(p.payload); !s) {
      ++stats_.malformed;
      broken_ = true;
    }
    if (p.marker) finish(out);
  }

 private:
  static constexpr size_t kNoFu = SIZE_MAX;

  void addNal(ByteSpan nal) {
    if (nal.empty()) return;
    if (au_.size() + 4 + nal.size() > kMaxAccessUnit) {
      broken_ = true;
      return;
    }
    au_.be32(static_cast<uint32_t>(nal.size()));
    au_.append(nal);
    noteType(nal[0]);
  }

  void noteType(uint8_t header0) {
    if (h264_ ? h264::nalType(header0) == h264::kNalIdr : h265::isIrap(h265::nalType(header0)))
      key_ = true;
  }

  // FU start/middle/end (RFC 6184 §5.8, RFC 7798 §4.4.3). `header` is the rebuilt NAL header.
  Status fragment(bool start, bool end, ByteSpan header, ByteSpan data) {
    if (start) {
      if (fuStart_ != kNoFu) broken_ = true;  // the previous FU never ended
      fuStart_ = au_.size();
      au_.be32(0);
      au_.append(header);
      noteType(header[0]);
    } else if (fuStart_ == kNoFu) {
      broken_ = true;  // its start was lost
      return Status::ok();
    }
    if (au_.size() + data.size() > kMaxAccessUnit) return Status::error("access unit too large");
    au_.append(data);
    if (end) {
      putBe32(au_.data() + fuStart_, static_cast<uint32_t>(au_.size() - fuStart_ - 4));
      fuStart_ = kNoFu;
    }
    return Status::ok();
  }

  // Aggregation packets: 16-bit NAL size + NAL, repeated (STAP-A §5.7.1, AP §4.4.2).
  Status aggregate(ByteSpan p) {
    while (!p.empty()) {
      if (p.size() < 2) return Status::error("aggregation packet: truncated size");
      size_t n = be16(p.data());
      if (n == 0 || 2 + n > p.size()) return Status::error("aggregation packet: bad NAL size");
      addNal(p.subspan(2, n));
      p = p.subspan(2 + n);
    }
    return Status::ok();
  }

  Status parse264(ByteSpan p) {
    if (p.empty()) return Status::error("empty H.264 payload");
    uint8_t type = h264::nalType(p[0]);
    if (type >= 1 && type <= 23) {
      addNal(p);
      return Status::ok();
    }
    if (type == 24) return aggregate(p.subspan(1));
    if (type == 28) {
      if (p.size() < 3) return Status::error("short FU-A");
      uint8_t header = static_cast<uint8_t>((p[0] & 0xe0) | (p[1] & 0x1f));
      return fragment(p[1] & 0x80, p[1] & 0x40, {&header, 1}, p.subspan(2));
    }
    return Status::error("unsupported H.264 payload type " + std::to_string(type));
  }

  Status parse265(ByteSpan p) {
    if (p.size() < 2) return Status::error("short H.265 payload");
    uint8_t type = h265::nalType(p[0]);
    if (type <= 47) {
      addNal(p);
      return Status::ok();
    }
    if (type == 48) return aggregate(p.subspan(2));
    if (type == 49) {
      if (p.size() < 4) return Status::error("short H.265 FU");
      uint8_t header[2] = {static_cast<uint8_t>((p[0] & 0x81) | ((p[2] & 0x3f) << 1)), p[1]};
      return fragment(p[2] & 0x80, p[2] & 0x40, {header, 2}, p.subspan(3));
    }
    if (type == 50) return Status::ok();  // PACI (§4.4.4): nothing we need
    return Status::error("unsupported H.265 payload type " + std::to_string(type));
  }

  void finish(const FrameFn& out) {
    open_ = false;
    if (fuStart_ != kNoFu) broken_ = true;  // the FU's end never came
    if (au_.size() == 0) return;
    if (broken_) {
      ++stats_.framesDropped;
      waitKey_ = true;
      return;
    }
    if (waitKey_ && !key_) {
      ++stats_.framesDropped;
      return;
    }
    waitKey_ = false;
    out(DepacketizedFrame{ts_, au_.freeze(), key_});
  }

  bool h264_;
  BufferWriter au_{64 * 1024};
  bool open_ = false;
  bool broken_ = false;
  bool key_ = false;
  bool waitKey_ = true;  // output starts on a keyframe
  uint32_t ts_ = 0;
  size_t fuStart_ = kNoFu;  // offset of the open FU's length field
};

}  // namespace

std::unique_ptr<Depacketizer> makeVideoDepacketizer(Codec codec) {
  return std::make_unique<NalDepacketizer>(codec);
}

}  // namespace xl::rtp
