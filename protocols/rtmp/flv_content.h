// What RTMP and FLV viewers receive, as FLV tag bodies: shared by the RTMP and HTTP-FLV muxers.
#pragma once

#include <functional>
#include <span>

#include "rtmp/flv_tag.h"
#include "xueliang/track.h"

namespace xl::rtmp {

// Calls `emit(tagType, body)` for what starts a stream: onMetaData, then the video and audio
// sequence headers known so far.
void forEachHeaderTag(const MediaInfo& info,
                      const std::function<void(uint8_t, std::span<const uint8_t>)>& emit);

// The FLV tag body for a frame into `w`; false when FLV cannot carry it.
bool frameTagBody(BufferWriter& w, const Frame& f);

inline uint8_t tagTypeOf(const Frame& f) {
  return f.kind == MediaKind::kVideo ? kFlvTagVideo : kFlvTagAudio;
}

}  // namespace xl::rtmp
