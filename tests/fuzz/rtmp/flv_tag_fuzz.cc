// Parse arbitrary video and audio tag bodies; what parses as H.264/H.265/AAC coded data must
// survive a rebuild and re-parse with the same fields.
#include <cstddef>
#include <cstdint>

#include "rtmp/flv_tag.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const uint8_t> in(data, size);
  auto v = xl::rtmp::parseVideoTag(in);
  if (v && v->codec != xl::Codec::kNone) {
    if (v->data.data() && (v->data.data() < data || v->data.data() + v->data.size() > data + size))
      __builtin_trap();
    if (v->packet == xl::rtmp::FlvPacket::kCodedFrames) {
      xl::Frame f;
      f.codec = v->codec;
      f.dts = 1000;
      f.pts = 1000 + v->compositionTime;
      f.flags.key = v->keyframe;
      f.data = xl::BufferRef::copyOf(v->data.data(), v->data.size());
      for (auto form : {xl::rtmp::HevcTagForm::kEnhanced, xl::rtmp::HevcTagForm::kLegacy12}) {
        xl::BufferWriter w;
        if (!xl::rtmp::writeVideoTag(w, f, form)) __builtin_trap();
        xl::BufferRef b = w.freeze();
        auto again = xl::rtmp::parseVideoTag(b.span());
        if (!again || again->codec != v->codec || again->compositionTime != v->compositionTime ||
            again->keyframe != v->keyframe || again->data.size() != v->data.size()) {
          __builtin_trap();
        }
      }
    }
  }
  auto a = xl::rtmp::parseAudioTag(in);
  if (a && a->codec == xl::Codec::kAAC && a->packet == xl::rtmp::FlvPacket::kCodedFrames) {
    xl::Frame f;
    f.kind = xl::MediaKind::kAudio;
    f.codec = xl::Codec::kAAC;
    f.data = xl::BufferRef::copyOf(a->data.data(), a->data.size());
    xl::BufferWriter w;
    if (!xl::rtmp::writeAudioTag(w, f)) __builtin_trap();
    xl::BufferRef b = w.freeze();
    auto again = xl::rtmp::parseAudioTag(b.span());
    if (!again || again->data.size() != a->data.size()) __builtin_trap();
  }
  return 0;
}
