#include "rtmp/chunk_reader.h"

#include <algorithm>
#include <cstring>
#include <string>

namespace xl::rtmp {
namespace {

// Bytes per message header for fmt 0..3 (§5.3.1.2).
constexpr size_t kMessageHeaderSize[4] = {11, 7, 3, 0};
constexpr uint32_t kExtendedMarker = 0xFFFFFF;  // §5.3.1.3
// Eager reservation per message; bigger messages grow as their bytes arrive, so a peer that
// announces 64 x 16 MiB messages and sends nothing does not get 1 GiB allocated.
constexpr uint32_t kEagerReserve = 256 * 1024;

uint32_t be24(const uint8_t* p) {
  return uint32_t(p[0]) << 16 | uint32_t(p[1]) << 8 | p[2];
}
uint32_t be32(const uint8_t* p) {
  return uint32_t(p[0]) << 24 | be24(p + 1);
}
uint32_t le32(const uint8_t* p) {
  return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24;
}

size_t basicHeaderSize(uint8_t b0) {
  switch (b0 & 0x3F) {
    case 0:
      return 2;
    case 1:
      return 3;
    default:
      return 1;
  }
}

}  // namespace

Status ChunkReader::setChunkSize(uint32_t size) {
  // §5.4.1: 31-bit value, at least 1. Larger than any sane media message is refused.
  if (size == 0 || size > 0x7FFFFFFF) {
    return Status::error("rtmp: invalid chunk size " + std::to_string(size));
  }
  if (size > kMaxChunkSizeSanity) {
    return Status::error("rtmp: chunk size " + std::to_string(size) + " exceeds limit " +
                         std::to_string(kMaxChunkSizeSanity));
  }
  chunkSize_ = size;
  return Status::ok();
}

void ChunkReader::abortMessage(uint32_t csid) {
  ChunkStream* cs = find(csid);
  if (!cs || cs->received == cs->length) return;
  cs->length = cs->received = 0;
  if (cs->body) cs->body->freeze();  // drop the partial bytes
}

ChunkReader::ChunkStream* ChunkReader::find(uint32_t csid) {
  for (auto& cs : streams_) {
    if (cs.csid == csid) return &cs;
  }
  return nullptr;
}

// Header length known so far; grows as the first bytes reveal the form.
size_t ChunkReader::headerNeeded() {
  if (hdrLen_ == 0) return 1;
  size_t basic = basicHeaderSize(hdr_[0]);
  if (hdrLen_ < basic) return basic;
  uint8_t fmt = hdr_[0] >> 6;
  size_t need = basic + kMessageHeaderSize[fmt];
  if (hdrLen_ < need) return need;
  if (fmt < 3) return be24(hdr_ + basic) == kExtendedMarker ? need + 4 : need;
  uint32_t csid = hdr_[0] & 0x3F;
  if (csid == 0) csid = 64 + hdr_[1];
  if (csid == 1) csid = 64 + hdr_[1] + 256u * hdr_[2];
  // fmt 3 repeats the extended timestamp when the stream's last header had one
  // (ffmpeg, librtmp and OBS do; see parseHeader for peers that do not).
  ChunkStream* cs = find(csid);
  return cs && cs->extended ? need + 4 : need;
}

Status ChunkReader::parseHeader(bool& extRejected) {
  extRejected = false;
  uint8_t fmt = hdr_[0] >> 6;
  size_t basic = basicHeaderSize(hdr_[0]);
  // §5.3.1.1: 2-byte form carries csid-64 in one byte, 3-byte form in little-endian 16 bits.
  uint32_t csid = hdr_[0] & 0x3F;
  if (csid == 0) csid = 64 + hdr_[1];
  if (csid == 1) csid = 64 + hdr_[1] + 256u * hdr_[2];
  const uint8_t* mh = hdr_ + basic;

  ChunkStream* cs = find(csid);
  if (!cs) {
    // fmt 2/3 inherit a length we never saw; fmt 1 is tolerated with stream id 0 as ffmpeg does.
    if (fmt >= 2) {
      return Status::error("rtmp: chunk stream " + std::to_string(csid) + " starts with fmt " +
                           std::to_string(fmt) + " and no previous header");
    }
    if (streams_.size() >= limits_.maxChunkStreams) {
      return Status::error("rtmp: more than " + std::to_string(limits_.maxChunkStreams) +
                           " chunk streams");
    }
    streams_.emplace_back();
    cs = &streams_.back();
    cs->csid = csid;
    cs->body = std::make_unique<BufferWriter>(0);
  }

  bool idle = cs->received == cs->length;
  if (fmt < 3) {
    if (!idle) {
      return Status::error("rtmp: chunk stream " + std::to_string(csid) + " got a fmt " +
                           std::to_string(fmt) + " header with " +
                           std::to_string(cs->length - cs->received) + " bytes of message " +
                           "outstanding");
    }
    uint32_t field = be24(mh);
    cs->extended = field == kExtendedMarker;
    if (cs->extended) field = be32(mh + kMessageHeaderSize[fmt]);
    if (fmt <= 1) {
      cs->length = be24(mh + 3);
      cs->type = mh[6];
    }
    if (fmt == 0) cs->streamId = le32(mh + 7);
    // fmt 0 carries the absolute time, 1/2 a delta (§5.3.1.2.1-3). The field is kept as the
    // delta for later fmt 3 messages, as ffmpeg and SRS read it.
    cs->timestamp = fmt == 0 ? field : cs->timestamp + field;
    cs->delta = field;
  } else if (idle) {
    // fmt 3 starting a new message: same length/type/stream, timestamp advances by the delta.
    if (cs->extended) cs->delta = be32(mh);
    cs->timestamp += cs->delta;
  } else if (cs->extended && be32(mh) != cs->delta) {
    // Continuation chunk from a peer that does not repeat the extended timestamp: the four
    // bytes we looked at are payload. The caller replays them.
    extRejected = true;
  }

  if (idle) {
    if (cs->length > limits_.maxMessageSize) {
      return Status::error("rtmp: message length " + std::to_string(cs->length) +
                           " exceeds limit " + std::to_string(limits_.maxMessageSize));
    }
    cs->received = 0;
    cs->body->reserve(std::min(cs->length, kEagerReserve));
  }
  cur_ = cs;
  chunkLeft_ = std::min(chunkSize_, cs->length - cs->received);
  return Status::ok();
}

Status ChunkReader::deliver(ChunkStream& cs, Callback cb, void* ctx) {
  RtmpMessage m;
  m.type = cs.type;
  m.streamId = cs.streamId;
  m.timestamp = cs.timestamp;
  m.csid = cs.csid;
  m.payload = cs.body->freeze();
  return cb(ctx, std::move(m));
}

Status ChunkReader::feedImpl(const uint8_t* data, size_t n, Callback cb, void* ctx) {
  if (!error_) return error_;
  bytesReceived_ += n;
  Status s = process(data, n, cb, ctx);
  if (!s) error_ = s;
  return s;
}

Status ChunkReader::process(const uint8_t* data, size_t n, Callback cb, void* ctx) {
  for (;;) {
    if (!inPayload_) {
      size_t need;
      while ((need = headerNeeded()) > hdrLen_ && n > 0) {
        size_t k = std::min(need - hdrLen_, n);
        std::memcpy(hdr_ + hdrLen_, data, k);
        hdrLen_ += k;
        data += k;
        n -= k;
      }
      if (need > hdrLen_) return Status::ok();  // wait for more bytes
      bool extRejected = false;
      if (Status s = parseHeader(extRejected); !s) return s;
      uint8_t replay[4];
      size_t replayLen = 0;
      if (extRejected) {
        replayLen = 4;
        std::memcpy(replay, hdr_ + hdrLen_ - 4, 4);
      }
      hdrLen_ = 0;
      inPayload_ = true;
      if (replayLen) {
        if (Status s = process(replay, replayLen, cb, ctx); !s) return s;
        continue;
      }
    }
    if (chunkLeft_ > 0) {
      if (n == 0) return Status::ok();
      uint32_t k = static_cast<uint32_t>(std::min<size_t>(chunkLeft_, n));
      cur_->body->append(data, k);
      cur_->received += k;
      chunkLeft_ -= k;
      data += k;
      n -= k;
      if (chunkLeft_ > 0) continue;
    }
    inPayload_ = false;
    if (cur_->received == cur_->length) {
      if (Status s = deliver(*cur_, cb, ctx); !s) return s;
    }
  }
}

}  // namespace xl::rtmp
