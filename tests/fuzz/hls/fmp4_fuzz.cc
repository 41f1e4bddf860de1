// fMP4: the test box reader on untrusted bytes (it must reject, never read out of bounds), then
// the writer on frames whose sizes, kinds, keyframe flags and timestamps come from the input:
// whatever the timing, its fragment must parse and carry every frame it was given.
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "../../unit/hls/fmp4_reader.h"
#include "hls/fmp4_writer.h"
#include "xueliang/codec.h"

namespace {

void readAll(xl::test::Mp4Reader& r, const std::vector<xl::test::Mp4Box>& boxes) {
  for (const auto& b : boxes) {
    if (b.type == "trun") {
      xl::test::Mp4Reader::Trun t;
      r.readTrun(b, t);
    } else if (b.type == "tfdt") {
      uint64_t v;
      r.readTfdt(b, v);
    }
    readAll(r, b.children);
  }
}

const xl::MediaInfo& info() {
  static const xl::MediaInfo m = [] {
    xl::ParameterSets ps;
    // libx264 -profile:v high 1280x720 (tests/unit/media/samples.h kH264HighSps).
    ps.sps.push_back({0x67, 0x64, 0x00, 0x1f, 0xac, 0xd9, 0x40, 0x50, 0x05,
                      0xbb, 0x01, 0x10, 0x00, 0x00, 0x03, 0x00, 0x10, 0x00,
                      0x00, 0x03, 0x03, 0x20, 0xf1, 0x83, 0x19, 0x60});
    ps.pps.push_back({0x68, 0xeb, 0xe3, 0xcb, 0x22, 0xc0});
    xl::MediaInfo i;
    auto v = xl::videoTrackFromParameterSets(xl::Codec::kH264, ps);
    if (v) i.video = *v;
    auto a = xl::audioTrackFromConfig(xl::Codec::kAAC, *xl::aac::buildAsc(2, 48000, 2));
    if (a) i.audio = *a;
    return i;
  }();
  return m;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  xl::test::Mp4Reader r;
  r.d = {data, size};
  std::vector<xl::test::Mp4Box> boxes;
  if (r.parse(boxes)) readAll(r, boxes);

  xl::hls::Fmp4Writer w;
  if (!w.setMediaInfo(info()).isOk() || !w.hasVideo() || !w.hasAudio()) abort();
  std::vector<xl::Frame> frames;
  int64_t dts = 0;
  size_t carried = 0;
  for (size_t i = 0; i + 4 <= size && frames.size() < 200; i += 4) {
    xl::Frame f;
    bool audio = data[i] & 1;
    f.kind = audio ? xl::MediaKind::kAudio : xl::MediaKind::kVideo;
    f.codec = audio ? xl::Codec::kAAC : xl::Codec::kH264;
    f.flags.key = data[i] & 2;
    f.flags.config = (data[i] & 0x1c) == 0x1c;
    dts += static_cast<int8_t>(data[i + 1]);  // also backwards
    f.dts = dts;
    f.pts = dts + static_cast<int8_t>(data[i + 2]);
    std::vector<uint8_t> payload(data[i + 3], uint8_t(i));
    f.data = xl::BufferRef::copyOf(payload.data(), payload.size());
    if (!f.flags.config && !payload.empty()) ++carried;
    frames.push_back(std::move(f));
  }
  xl::BufferRef frag = w.fragment(frames, 1);
  if (carried == 0) {
    if (frag) abort();
    return 0;
  }
  xl::test::Mp4Reader fr;
  fr.d = frag.span();
  std::vector<xl::test::Mp4Box> top;
  if (!fr.parse(top) || top.size() != 2 || top[0].type != "moof" || top[1].type != "mdat") abort();
  size_t samples = 0;
  for (const auto& traf : top[0].children) {
    if (traf.type != "traf") continue;
    const auto* trun = traf.child("trun");
    xl::test::Mp4Reader::Trun t;
    if (!trun || !fr.readTrun(*trun, t)) abort();
    samples += t.samples.size();
    if (top[0].offset + static_cast<size_t>(t.dataOffset) < top[1].body) abort();
  }
  if (samples != carried) abort();
  return 0;
}
