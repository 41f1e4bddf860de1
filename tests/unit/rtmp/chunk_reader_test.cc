#include "rtmp/chunk_reader.h"

#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "rtmp/chunk_writer.h"

namespace xl::rtmp {
namespace {

using Bytes = std::vector<uint8_t>;

struct Msg {
  uint8_t type;
  uint32_t streamId;
  uint32_t timestamp;
  uint32_t csid;
  Bytes payload;
  bool operator==(const Msg&) const = default;
};

Msg toMsg(const RtmpMessage& m) {
  return {m.type, m.streamId, m.timestamp, m.csid,
          Bytes(m.payload.data(), m.payload.data() + m.payload.size())};
}

// Feeds `in` in pieces of the given sizes (cycled); applies Set Chunk Size like a session does.
Status feedAll(ChunkReader& r, const Bytes& in, std::vector<Msg>& out,
               std::vector<size_t> pieces = {}) {
  auto cb = [&](RtmpMessage&& m) -> Status {
    out.push_back(toMsg(m));
    if (m.type == kMsgSetChunkSize && m.payload.size() >= 4) {
      const uint8_t* p = m.payload.data();
      return r.setChunkSize(uint32_t(p[0]) << 24 | p[1] << 16 | p[2] << 8 | p[3]);
    }
    return Status::ok();
  };
  if (pieces.empty()) return r.feed(in.data(), in.size(), cb);
  size_t off = 0, i = 0;
  while (off < in.size()) {
    size_t k = std::min(pieces[i++ % pieces.size()], in.size() - off);
    if (Status s = r.feed(in.data() + off, k, cb); !s) return s;
    off += k;
  }
  return Status::ok();
}

void fmt0(Bytes& b, uint8_t csid, uint32_t ts, uint32_t len, uint8_t type, uint32_t sid) {
  b.push_back(csid);
  b.insert(b.end(), {uint8_t(ts >> 16), uint8_t(ts >> 8), uint8_t(ts), uint8_t(len >> 16),
                     uint8_t(len >> 8), uint8_t(len), type, uint8_t(sid), uint8_t(sid >> 8),
                     uint8_t(sid >> 16), uint8_t(sid >> 24)});
}
void be32(Bytes& b, uint32_t v) {
  b.insert(b.end(), {uint8_t(v >> 24), uint8_t(v >> 16), uint8_t(v >> 8), uint8_t(v)});
}
void fill(Bytes& b, size_t n, uint8_t seed) {
  for (size_t i = 0; i < n; ++i) b.push_back(uint8_t(seed + i));
}
Bytes pattern(size_t n, uint8_t seed) {
  Bytes b;
  fill(b, n, seed);
  return b;
}

TEST(ChunkReader, SingleChunkMessage) {
  Bytes in;
  fmt0(in, 0x03, 1234, 5, kMsgCommandAmf0, 1);
  fill(in, 5, 10);
  ChunkReader r;
  std::vector<Msg> out;
  ASSERT_TRUE(feedAll(r, in, out));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0], (Msg{kMsgCommandAmf0, 1, 1234, 3, pattern(5, 10)}));
  EXPECT_EQ(r.bytesReceived(), in.size());
}

TEST(ChunkReader, MessageSplitAcrossDefaultChunks) {
  Bytes in;
  fmt0(in, 0x06, 40, 300, kMsgVideo, 1);
  Bytes payload = pattern(300, 1);
  in.insert(in.end(), payload.begin(), payload.begin() + 128);
  in.push_back(0xC6);
  in.insert(in.end(), payload.begin() + 128, payload.begin() + 256);
  in.push_back(0xC6);
  in.insert(in.end(), payload.begin() + 256, payload.end());
  ChunkReader r;
  std::vector<Msg> out;
  ASSERT_TRUE(feedAll(r, in, out));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].payload, payload);
  EXPECT_EQ(out[0].timestamp, 40u);
}

// §5.3.2.1 example 1: fmt 0, fmt 2 (delta 20), then fmt 3 twice reusing the delta.
TEST(ChunkReader, SpecExampleAudioDeltas) {
  Bytes in;
  fmt0(in, 0x03, 1000, 32, kMsgAudio, 12345);
  fill(in, 32, 0);
  in.insert(in.end(), {0x83, 0, 0, 20});
  fill(in, 32, 1);
  in.push_back(0xC3);
  fill(in, 32, 2);
  in.push_back(0xC3);
  fill(in, 32, 3);
  ChunkReader r;
  std::vector<Msg> out;
  ASSERT_TRUE(feedAll(r, in, out));
  ASSERT_EQ(out.size(), 4u);
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(out[i].timestamp, 1000u + 20 * i);
    EXPECT_EQ(out[i].streamId, 12345u);
    EXPECT_EQ(out[i].payload, pattern(32, uint8_t(i)));
  }
}

TEST(ChunkReader, Fmt1ChangesLengthAndType) {
  Bytes in;
  fmt0(in, 0x04, 100, 2, kMsgAudio, 1);
  fill(in, 2, 0);
  in.insert(in.end(), {0x44, 0, 0, 33, 0, 0, 3, kMsgDataAmf0});
  fill(in, 3, 9);
  ChunkReader r;
  std::vector<Msg> out;
  ASSERT_TRUE(feedAll(r, in, out));
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[1], (Msg{kMsgDataAmf0, 1, 133, 4, pattern(3, 9)}));
}

TEST(ChunkReader, ExtendedTimestampRepeatedOnFmt3) {
  Bytes in;
  fmt0(in, 0x06, 0xFFFFFF, 200, kMsgVideo, 1);
  be32(in, 0x01020304);
  Bytes payload = pattern(200, 5);
  in.insert(in.end(), payload.begin(), payload.begin() + 128);
  in.push_back(0xC6);
  be32(in, 0x01020304);  // ffmpeg/librtmp/OBS repeat it
  in.insert(in.end(), payload.begin() + 128, payload.end());
  ChunkReader r;
  std::vector<Msg> out;
  ASSERT_TRUE(feedAll(r, in, out));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].timestamp, 0x01020304u);
  EXPECT_EQ(out[0].payload, payload);
}

TEST(ChunkReader, ExtendedTimestampNotRepeatedOnFmt3) {
  // Some peers omit the field on continuation chunks; those 4 bytes are payload.
  for (size_t total : {130u, 131u, 132u, 133u, 200u}) {
    Bytes in;
    fmt0(in, 0x06, 0xFFFFFF, uint32_t(total), kMsgVideo, 1);
    be32(in, 0x01020304);
    Bytes payload = pattern(total, 77);
    in.insert(in.end(), payload.begin(), payload.begin() + 128);
    in.push_back(0xC6);
    in.insert(in.end(), payload.begin() + 128, payload.end());
    fmt0(in, 0x03, 7, 1, kMsgCommandAmf0, 0);  // following message must still parse
    in.push_back(0xAA);
    for (auto pieces : {std::vector<size_t>{}, std::vector<size_t>{1}}) {
      ChunkReader r;
      std::vector<Msg> out;
      ASSERT_TRUE(feedAll(r, in, out, pieces));
      ASSERT_EQ(out.size(), 2u) << total;
      EXPECT_EQ(out[0].payload, payload) << total;
      EXPECT_EQ(out[1], (Msg{kMsgCommandAmf0, 0, 7, 3, Bytes{0xAA}}));
    }
  }
}

TEST(ChunkReader, ExtendedTimestampOnFmt3NewMessage) {
  Bytes in;
  in.push_back(0x04);  // fmt 0 on csid 4, delta-extended
  in.insert(in.end(), {0xFF, 0xFF, 0xFF, 0, 0, 1, kMsgAudio, 1, 0, 0, 0});
  be32(in, 0x01000000);
  in.push_back(0x11);
  in.insert(in.end(), {0x84, 0xFF, 0xFF, 0xFF});  // fmt 2, extended delta
  be32(in, 0x01000000);
  in.push_back(0x22);
  in.push_back(0xC4);  // fmt 3 new message: repeats the extended delta
  be32(in, 0x01000000);
  in.push_back(0x33);
  ChunkReader r;
  std::vector<Msg> out;
  ASSERT_TRUE(feedAll(r, in, out));
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].timestamp, 0x01000000u);
  EXPECT_EQ(out[1].timestamp, 0x02000000u);
  EXPECT_EQ(out[2].timestamp, 0x03000000u);
  EXPECT_EQ(out[2].payload, Bytes{0x33});
}

TEST(ChunkReader, TimestampWraps) {
  Bytes in;
  fmt0(in, 0x04, 0xFFFFFF, 1, kMsgAudio, 1);
  be32(in, 0xFFFFFFF0);
  in.push_back(1);
  in.insert(in.end(), {0x84, 0, 0, 0x20, 2});
  ChunkReader r;
  std::vector<Msg> out;
  ASSERT_TRUE(feedAll(r, in, out));
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].timestamp, 0xFFFFFFF0u);
  EXPECT_EQ(out[1].timestamp, 0x10u);
}

TEST(ChunkReader, InterleavedChunkStreams) {
  Bytes audio = pattern(200, 1), video = pattern(300, 100);
  Bytes in;
  fmt0(in, 0x04, 10, 200, kMsgAudio, 1);
  in.insert(in.end(), audio.begin(), audio.begin() + 128);
  fmt0(in, 0x06, 20, 300, kMsgVideo, 1);
  in.insert(in.end(), video.begin(), video.begin() + 128);
  in.push_back(0xC6);
  in.insert(in.end(), video.begin() + 128, video.begin() + 256);
  in.push_back(0xC4);
  in.insert(in.end(), audio.begin() + 128, audio.end());
  in.push_back(0xC6);
  in.insert(in.end(), video.begin() + 256, video.end());
  ChunkReader r;
  std::vector<Msg> out;
  ASSERT_TRUE(feedAll(r, in, out));
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0], (Msg{kMsgAudio, 1, 10, 4, audio}));
  EXPECT_EQ(out[1], (Msg{kMsgVideo, 1, 20, 6, video}));
}

TEST(ChunkReader, ChunkSizeChangeMidStream) {
  BufferWriter w;
  writeSetChunkSize(w, 4096);
  Bytes big = pattern(5000, 3);
  writeMessage(w, ChunkTarget{6, 1, 4096}, kMsgVideo, 66, big);
  writeSetChunkSize(w, 1);
  Bytes small = pattern(5, 9);
  writeMessage(w, ChunkTarget{6, 1, 1}, kMsgVideo, 67, small);
  BufferRef b = w.freeze();
  Bytes in(b.data(), b.data() + b.size());
  ChunkReader r;
  std::vector<Msg> out;
  ASSERT_TRUE(feedAll(r, in, out));
  ASSERT_EQ(out.size(), 4u);
  EXPECT_EQ(out[1].payload, big);
  EXPECT_EQ(out[3].payload, small);
  EXPECT_EQ(r.chunkSize(), 1u);
}

Bytes mixedStream() {
  BufferWriter w;
  writeWindowAckSize(w, 2500000);
  writeMessage(w, ChunkTarget{3, 0, 128}, kMsgCommandAmf0, 0, pattern(300, 1));
  writeSetChunkSize(w, 1000);
  for (uint32_t i = 0; i < 20; ++i) {
    writeMessage(w, ChunkTarget{4, 1, 1000}, kMsgAudio, i * 23, pattern(50 + i, uint8_t(i)));
    writeMessage(w, ChunkTarget{6, 1, 1000}, kMsgVideo, 0xFFFFF0 + i * 40,
                 pattern(2500 + 97 * i, 7));
    writeMessage(w, ChunkTarget{400, 1, 1000}, kMsgDataAmf0, i, pattern(i, 2));
  }
  BufferRef b = w.freeze();
  return Bytes(b.data(), b.data() + b.size());
}

TEST(ChunkReader, SplitPointsDoNotChangeMessages) {
  Bytes in = mixedStream();
  ChunkReader whole;
  std::vector<Msg> expected;
  ASSERT_TRUE(feedAll(whole, in, expected));
  ASSERT_EQ(expected.size(), 63u);
  std::mt19937 rng(42);
  for (auto pieces : {std::vector<size_t>{1}, std::vector<size_t>{2, 3, 5, 7},
                      std::vector<size_t>{1000, 1}, std::vector<size_t>{rng() % 50 + 1, 17, 4}}) {
    ChunkReader r;
    std::vector<Msg> got;
    ASSERT_TRUE(feedAll(r, in, got, pieces));
    EXPECT_EQ(got, expected);
    EXPECT_EQ(r.bytesReceived(), in.size());
  }
}

TEST(ChunkReader, WriterRoundTripAroundChunkBoundaries) {
  for (uint32_t chunk : {1u, 128u, 4096u}) {
    for (size_t size : {0u, 1u, 127u, 128u, 129u, 255u, 256u, 257u, 4095u, 4096u, 4097u, 100000u}) {
      for (uint32_t ts : {0u, 0xFFFFFEu, 0xFFFFFFu, 0xFFFFFFFFu}) {
        for (uint32_t csid : {2u, 63u, 64u, 319u, 320u, 65599u}) {
          if (chunk == 1 && size > 4097) continue;
          Bytes payload = pattern(size, uint8_t(size));
          BufferWriter w;
          ChunkTarget t{csid, 7, chunk};
          writeMessage(w, t, kMsgVideo, ts, payload);
          writeMessage(w, t, kMsgAudio, ts + 1, Bytes{1, 2});
          BufferRef b = w.freeze();
          ASSERT_EQ(chunkedSize(t, ts, size) + chunkedSize(t, ts + 1, 2), b.size());
          ChunkReader r;
          ASSERT_TRUE(r.setChunkSize(chunk));
          std::vector<Msg> out;
          Bytes in(b.data(), b.data() + b.size());
          ASSERT_TRUE(feedAll(r, in, out));
          ASSERT_EQ(out.size(), 2u) << chunk << " " << size << " " << ts << " " << csid;
          EXPECT_EQ(out[0], (Msg{kMsgVideo, 7, ts, csid, payload}));
          EXPECT_EQ(out[1], (Msg{kMsgAudio, 7, ts + 1, csid, Bytes{1, 2}}));
        }
      }
    }
  }
}

TEST(ChunkReader, ChunkSizeValidation) {
  ChunkReader r;
  EXPECT_FALSE(r.setChunkSize(0));
  EXPECT_FALSE(r.setChunkSize(0x80000000u));
  EXPECT_FALSE(r.setChunkSize(kMaxChunkSizeSanity + 1));
  EXPECT_EQ(r.chunkSize(), kDefaultChunkSize);
  EXPECT_TRUE(r.setChunkSize(kMaxChunkSizeSanity));
  EXPECT_TRUE(r.setChunkSize(1));
}

TEST(ChunkReader, MessageLengthLimit) {
  Bytes in;
  fmt0(in, 0x06, 0, 1001, kMsgVideo, 1);
  ChunkReader r(ChunkReaderLimits{1000, 64});
  std::vector<Msg> out;
  Status s = feedAll(r, in, out);
  ASSERT_FALSE(s);
  EXPECT_NE(s.message().find("message length 1001 exceeds limit 1000"), std::string::npos);
  // The error is sticky: the stream is out of sync.
  Bytes ok;
  fmt0(ok, 0x03, 0, 0, kMsgCommandAmf0, 0);
  EXPECT_FALSE(feedAll(r, ok, out));
  EXPECT_TRUE(out.empty());
}

TEST(ChunkReader, ChunkStreamLimit) {
  std::vector<Msg> out;
  ChunkReader r(ChunkReaderLimits{1000, 10});
  Bytes in;
  for (int csid = 2; csid < 2 + 10; ++csid) {
    fmt0(in, uint8_t(csid), 0, 1, kMsgAudio, 1);
    in.push_back(0);
  }
  ASSERT_TRUE(feedAll(r, in, out));
  EXPECT_EQ(out.size(), 10u);
  // Known chunk streams can be reused freely.
  fmt0(in, 0x05, 0, 1, kMsgAudio, 1);
  in.push_back(0);
  ChunkReader again(ChunkReaderLimits{1000, 10});
  ASSERT_TRUE(feedAll(again, in, out));
  Bytes more;
  more.insert(more.end(), {0x00, 10});  // 2-byte form, csid 74: the 11th stream
  more.insert(more.end(), {0, 0, 0, 0, 0, 1, kMsgAudio, 1, 0, 0, 0, 0});
  Status s = feedAll(r, more, out);
  ASSERT_FALSE(s);
  EXPECT_NE(s.message().find("more than 10 chunk streams"), std::string::npos);
}

TEST(ChunkReader, ProtocolViolationsRejected) {
  std::vector<Msg> out;
  {
    ChunkReader r;
    Bytes in = {0x83, 0, 0, 1};  // fmt 2 on a chunk stream never seen
    EXPECT_FALSE(feedAll(r, in, out));
  }
  {
    ChunkReader r;
    Bytes in = {0xC3};
    EXPECT_FALSE(feedAll(r, in, out));
  }
  {
    ChunkReader r;  // new fmt 0 header while a message is half received
    Bytes in;
    fmt0(in, 0x03, 0, 200, kMsgCommandAmf0, 0);
    fill(in, 128, 0);
    fmt0(in, 0x03, 0, 5, kMsgCommandAmf0, 0);
    Status s = feedAll(r, in, out);
    ASSERT_FALSE(s);
    EXPECT_NE(s.message().find("72 bytes of message outstanding"), std::string::npos);
  }
  {
    ChunkReader r;  // fmt 1 on a new chunk stream is tolerated (stream id 0), as ffmpeg does
    Bytes in = {0x43, 0, 0, 5, 0, 0, 1, kMsgAudio, 0xEE};
    out.clear();
    ASSERT_TRUE(feedAll(r, in, out));
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0], (Msg{kMsgAudio, 0, 5, 3, Bytes{0xEE}}));
  }
}

TEST(ChunkReader, CallbackErrorStopsParsing) {
  Bytes in;
  for (int i = 0; i < 3; ++i) {
    fmt0(in, 0x03, 0, 1, kMsgCommandAmf0, 0);
    in.push_back(uint8_t(i));
  }
  ChunkReader r;
  int calls = 0;
  Status s = r.feed(in.data(), in.size(), [&](RtmpMessage&&) -> Status {
    return ++calls == 2 ? Status::error("stop") : Status::ok();
  });
  EXPECT_FALSE(s);
  EXPECT_EQ(s.message(), "stop");
  EXPECT_EQ(calls, 2);
}

TEST(ChunkReader, AbortDropsPartialMessage) {
  Bytes first;
  fmt0(first, 0x06, 0, 200, kMsgVideo, 1);
  fill(first, 128, 0);
  ChunkReader r;
  std::vector<Msg> out;
  ASSERT_TRUE(feedAll(r, first, out));
  r.abortMessage(6);
  Bytes second;
  fmt0(second, 0x06, 9, 3, kMsgVideo, 1);  // would be a violation without the abort
  fill(second, 3, 50);
  ASSERT_TRUE(feedAll(r, second, out));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0], (Msg{kMsgVideo, 1, 9, 6, pattern(3, 50)}));
}

TEST(ChunkReader, VoidCallbackAndZeroLengthMessage) {
  Bytes in;
  fmt0(in, 0x03, 5, 0, kMsgCommandAmf0, 0);
  ChunkReader r;
  int n = 0;
  size_t size = 99;
  ASSERT_TRUE(r.feed(in.data(), in.size(), [&](RtmpMessage&& m) {
    ++n;
    size = m.payload.size();
  }));
  EXPECT_EQ(n, 1);
  EXPECT_EQ(size, 0u);
}

}  // namespace
}  // namespace xl::rtmp
