#include "rtmp/rtmp_muxer.h"

#include "http/response.h"
#include "rtmp/chunk_writer.h"
#include "rtmp/flv_content.h"

namespace xl::rtmp {
namespace {

ChunkTarget targetFor(uint8_t tagType, uint32_t chunkSize) {
  uint32_t csid = tagType == kFlvTagVideo   ? kCsidVideo
                  : tagType == kFlvTagAudio ? kCsidAudio
                                            : kCsidData;
  return ChunkTarget{csid, kPlayStreamId, chunkSize};
}

// HTTP-FLV bytes are HTTP/1.1 chunks (RFC 9112 §7.1), the same for every viewer.
void beginHttpChunk(BufferWriter& w, size_t size) {
  w.append(http::chunkHeader(size));
}

}  // namespace

BufferRef RtmpMuxer::header(const MediaInfo& info) {
  BufferWriter w(1024);
  forEachHeaderTag(info, [&](uint8_t type, std::span<const uint8_t> body) {
    writeMessage(w, targetFor(type, chunkSize_), type, 0, body);
  });
  return w.freeze();
}

BufferRef RtmpMuxer::mux(const Frame& f, const MediaInfo&) {
  body_.clear();
  if (!frameTagBody(body_, f)) return {};
  uint8_t type = tagTypeOf(f);
  ChunkTarget t = targetFor(type, chunkSize_);
  uint32_t ts = static_cast<uint32_t>(f.dts);
  BufferWriter w(chunkedSize(t, ts, body_.size()));
  writeMessage(w, t, type, ts, {body_.data(), body_.size()});
  return w.freeze();
}

BufferRef FlvMuxer::header(const MediaInfo& info) {
  BufferWriter flv(1024);
  writeFlvFileHeader(flv, info.audio.has_value(), info.video.has_value());
  forEachHeaderTag(
      info, [&](uint8_t type, std::span<const uint8_t> body) { writeFlvTag(flv, type, 0, body); });
  BufferWriter w(flv.size() + 16);
  beginHttpChunk(w, flv.size());
  w.append(flv.data(), flv.size());
  w.append(http::kChunkEnd);
  return w.freeze();
}

BufferRef FlvMuxer::mux(const Frame& f, const MediaInfo&) {
  body_.clear();
  if (!frameTagBody(body_, f)) return {};
  size_t tagSize = kFlvTagHeaderSize + body_.size() + 4;
  BufferWriter w(tagSize + 16);
  beginHttpChunk(w, tagSize);
  writeFlvTag(w, tagTypeOf(f), static_cast<uint32_t>(f.dts), {body_.data(), body_.size()});
  w.append(http::kChunkEnd);
  return w.freeze();
}

}  // namespace xl::rtmp
