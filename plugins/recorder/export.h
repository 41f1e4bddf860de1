// Evidence export: one MP4 of exactly a time range, remuxed from the recorded files with
// libavformat (packets copied, never re-encoded). It starts at the last keyframe at or before
// `from` (so the clip decodes from its first frame) and ends before `to`.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "retention.h"
#include "xueliang/buffer.h"
#include "xueliang/status.h"

namespace xl::recorder {

// `segments`: the stream's files overlapping the range, oldest first.
Result<BufferRef> exportRange(const std::vector<SegmentFile>& segments, int64_t fromMs,
                              int64_t toMs);
// Lower-case hex SHA-256 (OpenSSL EVP).
std::string sha256Hex(const BufferRef& bytes);

}  // namespace xl::recorder
