// Incremental RTMP chunk stream parser (Adobe RTMP 1.0 spec §5.3). Bytes in, complete messages
// out; no sockets. The session applies Set Chunk Size (§5.4.1) through setChunkSize() from
// inside the callback, before the next chunk is parsed.
#pragma once

#include <cstdint>
#include <memory>
#include <type_traits>
#include <utility>
#include <vector>

#include "xueliang/buffer.h"
#include "xueliang/status.h"

namespace xl::rtmp {

// Message type ids (§5.4 protocol control, §6.2 user control, §7.1 messages).
enum MessageType : uint8_t {
  kMsgSetChunkSize = 1,
  kMsgAbort = 2,
  kMsgAcknowledgement = 3,
  kMsgUserControl = 4,
  kMsgWindowAckSize = 5,
  kMsgSetPeerBandwidth = 6,
  kMsgAudio = 8,
  kMsgVideo = 9,
  kMsgDataAmf3 = 15,
  kMsgSharedObjectAmf3 = 16,
  kMsgCommandAmf3 = 17,
  kMsgDataAmf0 = 18,
  kMsgSharedObjectAmf0 = 19,
  kMsgCommandAmf0 = 20,
  kMsgAggregate = 22,
};

inline constexpr uint32_t kDefaultChunkSize = 128;  // §5.4.1
inline constexpr uint32_t kMaxChunkSizeSanity = 16 * 1024 * 1024;

struct RtmpMessage {
  uint8_t type = 0;
  uint32_t streamId = 0;
  uint32_t timestamp = 0;  // absolute, ms, wraps at 2^32
  BufferRef payload;
  uint32_t csid = 0;
};

struct ChunkReaderLimits {
  uint32_t maxMessageSize = 16 * 1024 * 1024;
  uint32_t maxChunkStreams = 64;
};

class ChunkReader {
 public:
  explicit ChunkReader(ChunkReaderLimits limits = {}) : limits_(limits) {}

  // Parses as much of `data` as possible; calls onMessage(RtmpMessage&&) per complete message.
  // onMessage may return void or Status; a failed Status stops parsing and is returned. After
  // an error the reader is unusable (the stream is out of sync).
  template <typename F>
  Status feed(const uint8_t* data, size_t n, F&& onMessage) {
    auto thunk = [](void* ctx, RtmpMessage&& m) -> Status {
      auto& f = *static_cast<std::remove_reference_t<F>*>(ctx);
      if constexpr (std::is_void_v<decltype(f(std::move(m)))>) {
        f(std::move(m));
        return Status::ok();
      } else {
        return f(std::move(m));
      }
    };
    // const_cast: the callable may be a const lvalue; the thunk restores its real type.
    return feedImpl(data, n, thunk, const_cast<void*>(static_cast<const void*>(&onMessage)));
  }

  // Inbound chunk size (§5.4.1): 1..0x7FFFFFFF is valid, above kMaxChunkSizeSanity is refused.
  Status setChunkSize(uint32_t size);
  uint32_t chunkSize() const { return chunkSize_; }
  // Abort Message (§5.4.2): drops the partial message on that chunk stream.
  void abortMessage(uint32_t csid);
  // Total bytes consumed, for Acknowledgement (§5.4.3); the caller wraps at 2^32.
  uint64_t bytesReceived() const { return bytesReceived_; }

 private:
  using Callback = Status (*)(void*, RtmpMessage&&);
  struct ChunkStream {
    uint32_t csid = 0;
    uint32_t timestamp = 0;  // absolute time of the current/last message
    uint32_t delta = 0;      // timestamp field of the last fmt 0/1/2 header, reused by fmt 3
    uint32_t length = 0;
    uint32_t streamId = 0;
    uint8_t type = 0;
    bool extended = false;  // last fmt 0/1/2 header used the extended timestamp
    uint32_t received = 0;  // payload bytes of the current message so far (== length: idle)
    std::unique_ptr<BufferWriter> body;
  };

  Status feedImpl(const uint8_t* data, size_t n, Callback cb, void* ctx);
  Status process(const uint8_t* data, size_t n, Callback cb, void* ctx);
  ChunkStream* find(uint32_t csid);
  size_t headerNeeded();
  Status parseHeader(bool& extRejected);
  Status deliver(ChunkStream& cs, Callback cb, void* ctx);

  ChunkReaderLimits limits_;
  uint32_t chunkSize_ = kDefaultChunkSize;
  uint64_t bytesReceived_ = 0;
  Status error_;  // sticky: once out of sync, every later feed fails the same way

  // Header bytes collected across reads: basic (<=3) + message (<=11) + extended (4).
  uint8_t hdr_[18] = {};
  size_t hdrLen_ = 0;
  ChunkStream* cur_ = nullptr;  // chunk stream whose payload is being read
  uint32_t chunkLeft_ = 0;      // payload bytes left in the current chunk
  bool inPayload_ = false;
  std::vector<ChunkStream> streams_;
};

}  // namespace xl::rtmp
