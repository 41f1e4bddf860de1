#include "rtmp/chunk_writer.h"

#include <algorithm>

namespace xl::rtmp {
namespace {

constexpr uint32_t kExtendedMarker = 0xFFFFFF;

// §5.3.1.1 basic header: 1 byte for csid 2..63, 2 bytes for 64..319, 3 bytes up to 65599.
void writeBasicHeader(BufferWriter& w, uint8_t fmt, uint32_t csid) {
  if (csid >= 2 && csid <= 63) {
    w.u8(static_cast<uint8_t>(fmt << 6 | csid));
  } else if (csid >= 64 && csid <= 319) {
    w.u8(static_cast<uint8_t>(fmt << 6));
    w.u8(static_cast<uint8_t>(csid - 64));
  } else {
    // Out-of-range ids are clamped: the caller picks csids, this is a programming error.
    uint32_t v = std::clamp<uint32_t>(csid, 64, 65599) - 64;
    w.u8(static_cast<uint8_t>(fmt << 6 | 1));
    w.u8(static_cast<uint8_t>(v & 0xFF));
    w.u8(static_cast<uint8_t>(v >> 8));
  }
}

size_t basicHeaderSize(uint32_t csid) {
  if (csid >= 2 && csid <= 63) return 1;
  if (csid >= 64 && csid <= 319) return 2;
  return 3;
}

void writeControl(BufferWriter& w, uint8_t type, std::span<const uint8_t> payload) {
  writeMessage(w, ChunkTarget{kCsidControl, 0, kDefaultChunkSize}, type, 0, payload);
}

}  // namespace

size_t chunkedSize(const ChunkTarget& t, uint32_t timestamp, size_t payloadSize) {
  size_t chunkSize = std::max<uint32_t>(t.chunkSize, 1);
  size_t chunks = payloadSize == 0 ? 1 : (payloadSize + chunkSize - 1) / chunkSize;
  size_t ext = timestamp >= kExtendedMarker ? 4 : 0;
  size_t basic = basicHeaderSize(t.csid);
  return payloadSize + (basic + 11 + ext) + (chunks - 1) * (basic + ext);
}

void writeMessage(BufferWriter& w, const ChunkTarget& t, uint8_t type, uint32_t timestamp,
                  std::span<const uint8_t> payload) {
  // The length field is 24 bits; a larger payload is cut so the stream stays in sync.
  if (payload.size() > 0xFFFFFF) payload = payload.first(0xFFFFFF);
  w.reserve(chunkedSize(t, timestamp, payload.size()));
  bool ext = timestamp >= kExtendedMarker;
  // fmt 0 message header (§5.3.1.2.1): timestamp, length, type id, stream id (little-endian).
  writeBasicHeader(w, 0, t.csid);
  w.be24(ext ? kExtendedMarker : timestamp);
  w.be24(static_cast<uint32_t>(payload.size()));
  w.u8(type);
  w.le32(t.streamId);
  if (ext) w.be32(timestamp);
  size_t chunkSize = std::max<uint32_t>(t.chunkSize, 1);
  size_t off = 0;
  for (;;) {
    size_t k = std::min(chunkSize, payload.size() - off);
    if (k) w.append(payload.data() + off, k);  // memcpy must not see a null source
    off += k;
    if (off >= payload.size()) break;
    writeBasicHeader(w, 3, t.csid);  // §5.3.1.2.4 continuation
    if (ext) w.be32(timestamp);
  }
}

void writeSetChunkSize(BufferWriter& w, uint32_t size) {
  uint8_t p[4] = {uint8_t(size >> 24 & 0x7F), uint8_t(size >> 16), uint8_t(size >> 8),
                  uint8_t(size)};  // §5.4.1: the top bit must be zero
  writeControl(w, kMsgSetChunkSize, p);
}

void writeAcknowledgement(BufferWriter& w, uint32_t seq) {
  uint8_t p[4] = {uint8_t(seq >> 24), uint8_t(seq >> 16), uint8_t(seq >> 8), uint8_t(seq)};
  writeControl(w, kMsgAcknowledgement, p);
}

void writeWindowAckSize(BufferWriter& w, uint32_t size) {
  uint8_t p[4] = {uint8_t(size >> 24), uint8_t(size >> 16), uint8_t(size >> 8), uint8_t(size)};
  writeControl(w, kMsgWindowAckSize, p);
}

void writeSetPeerBandwidth(BufferWriter& w, uint32_t size, PeerBandwidthLimit limit) {
  uint8_t p[5] = {uint8_t(size >> 24), uint8_t(size >> 16), uint8_t(size >> 8), uint8_t(size),
                  static_cast<uint8_t>(limit)};
  writeControl(w, kMsgSetPeerBandwidth, p);
}

void writeUserControl(BufferWriter& w, UserControlEvent event, uint32_t value) {
  auto e = static_cast<uint16_t>(event);
  uint8_t p[6] = {uint8_t(e >> 8),      uint8_t(e),          uint8_t(value >> 24),
                  uint8_t(value >> 16), uint8_t(value >> 8), uint8_t(value)};
  writeControl(w, kMsgUserControl, p);
}

void writeAmf0Message(BufferWriter& w, const ChunkTarget& t, uint8_t type,
                      std::span<const Amf0Value> values, uint32_t timestamp) {
  BufferWriter body(256);
  for (const auto& v : values) amf0::encode(body, v);
  BufferRef b = body.freeze();
  writeMessage(w, t, type, timestamp, b.span());
}

void writeResult(BufferWriter& w, const ChunkTarget& t, double transactionId,
                 const Amf0Value& properties, const Amf0Value& information, std::string_view name) {
  BufferWriter body(256);
  amf0::writeString(body, name);
  amf0::writeNumber(body, transactionId);
  amf0::encode(body, properties);
  amf0::encode(body, information);
  BufferRef b = body.freeze();
  writeMessage(w, t, kMsgCommandAmf0, 0, b.span());
}

void writeOnStatus(BufferWriter& w, const ChunkTarget& t, std::string_view level,
                   std::string_view code, std::string_view description) {
  BufferWriter body(256);
  amf0::writeString(body, "onStatus");
  amf0::writeNumber(body, 0);
  amf0::writeNull(body);
  amf0::writeObjectBegin(body);
  amf0::writeKey(body, "level");
  amf0::writeString(body, level);
  amf0::writeKey(body, "code");
  amf0::writeString(body, code);
  amf0::writeKey(body, "description");
  amf0::writeString(body, description);
  amf0::writeObjectEnd(body);
  BufferRef b = body.freeze();
  writeMessage(w, t, kMsgCommandAmf0, 0, b.span());
}

void writeSampleAccess(BufferWriter& w, const ChunkTarget& t) {
  BufferWriter body(32);
  amf0::writeString(body, "|RtmpSampleAccess");
  amf0::writeBoolean(body, true);
  amf0::writeBoolean(body, true);
  BufferRef b = body.freeze();
  writeMessage(w, t, kMsgDataAmf0, 0, b.span());
}

void writeDataMessage(BufferWriter& w, const ChunkTarget& t, std::span<const uint8_t> body,
                      uint32_t timestamp) {
  writeMessage(w, t, kMsgDataAmf0, timestamp, body);
}

}  // namespace xl::rtmp
