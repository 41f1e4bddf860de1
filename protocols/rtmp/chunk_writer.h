// Outbound RTMP chunking (Adobe RTMP 1.0 spec §5.3) and builders for protocol control (§5.4),
// user control (§6.2, §7.1.7) and AMF0 command/data messages (§7.1.1, §7.1.2, §7.2).
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "rtmp/amf0.h"
#include "rtmp/chunk_reader.h"
#include "xueliang/buffer.h"

namespace xl::rtmp {

// Chunk stream ids we use: 2 is reserved for protocol control (§5.4), the rest is convention.
inline constexpr uint32_t kCsidControl = 2;
inline constexpr uint32_t kCsidCommand = 3;
inline constexpr uint32_t kCsidAudio = 4;
inline constexpr uint32_t kCsidVideo = 6;
inline constexpr uint32_t kCsidData = 5;

// Where an outbound message goes.
struct ChunkTarget {
  uint32_t csid = kCsidCommand;  // 2..65599
  uint32_t streamId = 0;
  uint32_t chunkSize = kDefaultChunkSize;  // our outbound chunk size
};

// Serialises one message. The first chunk has a fmt 0 header with the absolute timestamp, the
// others fmt 3; so the bytes do not depend on what was sent before and can be built once per
// stream and shared by every viewer. Timestamps >= 0xFFFFFF use the extended field, repeated
// on every fmt 3 chunk (§5.3.1.3, as ffmpeg and librtmp expect). Payloads are limited to
// 0xFFFFFF bytes by the 24-bit length field.
void writeMessage(BufferWriter& w, const ChunkTarget& t, uint8_t type, uint32_t timestamp,
                  std::span<const uint8_t> payload);

// Size of the chunked form of a `payloadSize`-byte message, for reserving.
size_t chunkedSize(const ChunkTarget& t, uint32_t timestamp, size_t payloadSize);

// Protocol control messages: csid 2, stream 0, timestamp 0, one chunk each (payload <= 10 bytes,
// which fits any outbound chunk size we set).
void writeSetChunkSize(BufferWriter& w, uint32_t size);    // §5.4.1
void writeAcknowledgement(BufferWriter& w, uint32_t seq);  // §5.4.3
void writeWindowAckSize(BufferWriter& w, uint32_t size);   // §5.4.4
enum class PeerBandwidthLimit : uint8_t { kHard = 0, kSoft = 1, kDynamic = 2 };
void writeSetPeerBandwidth(BufferWriter& w, uint32_t size, PeerBandwidthLimit limit);  // §5.4.5

// User control messages (§6.2, §7.1.7).
enum class UserControlEvent : uint16_t {
  kStreamBegin = 0,
  kStreamEof = 1,
  kStreamDry = 2,
  kSetBufferLength = 3,
  kStreamIsRecorded = 4,
  kPingRequest = 6,
  kPingResponse = 7,
};
void writeUserControl(BufferWriter& w, UserControlEvent event, uint32_t value);
inline void writeStreamBegin(BufferWriter& w, uint32_t streamId) {
  writeUserControl(w, UserControlEvent::kStreamBegin, streamId);
}
inline void writeStreamEof(BufferWriter& w, uint32_t streamId) {
  writeUserControl(w, UserControlEvent::kStreamEof, streamId);
}
inline void writePingResponse(BufferWriter& w, uint32_t timestamp) {
  writeUserControl(w, UserControlEvent::kPingResponse, timestamp);
}

// AMF0 command (type 20) or data (type 18) message from a list of values.
void writeAmf0Message(BufferWriter& w, const ChunkTarget& t, uint8_t type,
                      std::span<const Amf0Value> values, uint32_t timestamp = 0);

// "_result" (or "_error") answer to a command: name, transaction id, properties, information.
void writeResult(BufferWriter& w, const ChunkTarget& t, double transactionId,
                 const Amf0Value& properties, const Amf0Value& information,
                 std::string_view name = "_result");

// "onStatus" (§7.2.2): transaction 0, null command object, {level, code, description}.
void writeOnStatus(BufferWriter& w, const ChunkTarget& t, std::string_view level,
                   std::string_view code, std::string_view description);

// "|RtmpSampleAccess"(true, true) data message: lets Flash-era players read the samples.
void writeSampleAccess(BufferWriter& w, const ChunkTarget& t);

// Data message carrying a prepared script body (e.g. flv_tag's onMetaData body).
void writeDataMessage(BufferWriter& w, const ChunkTarget& t, std::span<const uint8_t> body,
                      uint32_t timestamp = 0);

}  // namespace xl::rtmp
