#include "rtmp/chunk_writer.h"

#include <gtest/gtest.h>

#include <vector>

namespace xl::rtmp {
namespace {

using Bytes = std::vector<uint8_t>;

Bytes take(BufferWriter& w) {
  BufferRef b = w.freeze();
  return Bytes(b.data(), b.data() + b.size());
}

TEST(ChunkWriter, Fmt0HeaderBytes) {
  BufferWriter w;
  writeMessage(w, ChunkTarget{3, 0x01020304, 128}, kMsgCommandAmf0, 0x0A0B0C, Bytes{0xAA, 0xBB});
  EXPECT_EQ(take(w), (Bytes{0x03, 0x0A, 0x0B, 0x0C, 0x00, 0x00, 0x02, 20, 0x04, 0x03, 0x02, 0x01,
                            0xAA, 0xBB}));
}

TEST(ChunkWriter, ContinuationChunksUseFmt3) {
  BufferWriter w;
  Bytes payload(5, 0x11);
  writeMessage(w, ChunkTarget{70, 1, 2}, kMsgAudio, 9, payload);
  // csid 70: 2-byte basic header (0x00, 70 - 64).
  EXPECT_EQ(take(w), (Bytes{0x00, 6, 0,    0,    9,    0, 0,    5,    8,    1, 0,
                            0,    0, 0x11, 0x11, 0xC0, 6, 0x11, 0x11, 0xC0, 6, 0x11}));
}

TEST(ChunkWriter, ExtendedTimestampOnEveryChunk) {
  BufferWriter w;
  Bytes payload(3, 0x22);
  writeMessage(w, ChunkTarget{4, 1, 2}, kMsgAudio, 0x12345678, payload);
  EXPECT_EQ(take(w),
            (Bytes{0x04, 0xFF, 0xFF, 0xFF, 0,    0,    3,    8,    1,    0,    0,    0,
                   0x12, 0x34, 0x56, 0x78, 0x22, 0x22, 0xC4, 0x12, 0x34, 0x56, 0x78, 0x22}));
}

TEST(ChunkWriter, ThreeByteBasicHeader) {
  BufferWriter w;
  writeMessage(w, ChunkTarget{65599, 0, 128}, kMsgAudio, 0, {});
  Bytes b = take(w);
  ASSERT_EQ(b.size(), 3u + 11);
  EXPECT_EQ(b[0], 0x01);
  EXPECT_EQ(b[1], 0xFF);  // (65599 - 64) little-endian
  EXPECT_EQ(b[2], 0xFF);
}

TEST(ChunkWriter, ProtocolControlMessages) {
  BufferWriter w;
  writeSetChunkSize(w, 4096);
  EXPECT_EQ(take(w), (Bytes{0x02, 0, 0, 0, 0, 0, 4, 1, 0, 0, 0, 0, 0x00, 0x00, 0x10, 0x00}));
  BufferWriter w2;
  writeWindowAckSize(w2, 2500000);
  EXPECT_EQ(take(w2), (Bytes{0x02, 0, 0, 0, 0, 0, 4, 5, 0, 0, 0, 0, 0x00, 0x26, 0x25, 0xA0}));
  BufferWriter w3;
  writeSetPeerBandwidth(w3, 2500000, PeerBandwidthLimit::kDynamic);
  EXPECT_EQ(take(w3), (Bytes{0x02, 0, 0, 0, 0, 0, 5, 6, 0, 0, 0, 0, 0x00, 0x26, 0x25, 0xA0, 2}));
  BufferWriter w4;
  writeAcknowledgement(w4, 0xDEADBEEF);
  EXPECT_EQ(take(w4), (Bytes{0x02, 0, 0, 0, 0, 0, 4, 3, 0, 0, 0, 0, 0xDE, 0xAD, 0xBE, 0xEF}));
  BufferWriter w5;
  writeStreamBegin(w5, 1);
  EXPECT_EQ(take(w5), (Bytes{0x02, 0, 0, 0, 0, 0, 6, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}));
  BufferWriter w6;
  writeStreamEof(w6, 1);
  EXPECT_EQ(take(w6)[13], 1);
  BufferWriter w7;
  writePingResponse(w7, 0x01020304);
  EXPECT_EQ(take(w7), (Bytes{0x02, 0, 0, 0, 0, 0, 6, 4, 0, 0, 0, 0, 0, 7, 1, 2, 3, 4}));
}

// Parses what the writer produced, as a peer would.
std::vector<std::pair<RtmpMessage, std::vector<Amf0Value>>> readBack(BufferWriter& w,
                                                                     uint32_t chunk = 128) {
  BufferRef b = w.freeze();
  ChunkReader r;
  EXPECT_TRUE(r.setChunkSize(chunk));
  std::vector<std::pair<RtmpMessage, std::vector<Amf0Value>>> out;
  Status s = r.feed(b.data(), b.size(), [&](RtmpMessage&& m) {
    auto v = amf0::decodeAll(m.payload.span());
    EXPECT_TRUE(v) << v.message();
    out.emplace_back(std::move(m), v ? *v : std::vector<Amf0Value>{});
  });
  EXPECT_TRUE(s) << s.message();
  return out;
}

TEST(ChunkWriter, OnStatusCommand) {
  BufferWriter w;
  std::string longDesc(300, 'd');  // longer than a 128-byte chunk
  writeOnStatus(w, ChunkTarget{5, 1, 128}, "status", "NetStream.Play.Start", longDesc);
  auto msgs = readBack(w);
  ASSERT_EQ(msgs.size(), 1u);
  EXPECT_EQ(msgs[0].first.type, kMsgCommandAmf0);
  EXPECT_EQ(msgs[0].first.streamId, 1u);
  const auto& v = msgs[0].second;
  ASSERT_EQ(v.size(), 4u);
  EXPECT_EQ(v[0].asString(), "onStatus");
  EXPECT_EQ(v[1].asNumber(-1), 0);
  EXPECT_EQ(v[2].type, Amf0Type::kNull);
  EXPECT_EQ(v[3].get("level")->asString(), "status");
  EXPECT_EQ(v[3].get("code")->asString(), "NetStream.Play.Start");
  EXPECT_EQ(v[3].get("description")->asString(), longDesc);
}

TEST(ChunkWriter, ResultSampleAccessAndGenericMessages) {
  BufferWriter w;
  ChunkTarget t{3, 0, 4096};
  writeResult(w, t, 1, Amf0Value::object({{"fmsVer", Amf0Value::string("FMS/3,0,1,123")}}),
              Amf0Value::object({{"code", Amf0Value::string("NetConnection.Connect.Success")}}));
  writeResult(w, t, 4, Amf0Value::null(), Amf0Value::number(1));
  writeSampleAccess(w, ChunkTarget{5, 1, 4096});
  Amf0Value vals[] = {Amf0Value::string("onFCPublish")};
  writeAmf0Message(w, t, kMsgCommandAmf0, vals);
  auto msgs = readBack(w, 4096);
  ASSERT_EQ(msgs.size(), 4u);
  EXPECT_EQ(msgs[0].second[0].asString(), "_result");
  EXPECT_EQ(msgs[0].second[1].asNumber(), 1);
  EXPECT_EQ(msgs[0].second[3].get("code")->asString(), "NetConnection.Connect.Success");
  EXPECT_EQ(msgs[1].second[3].asNumber(), 1);
  EXPECT_EQ(msgs[2].first.type, kMsgDataAmf0);
  EXPECT_EQ(msgs[2].second,
            (std::vector<Amf0Value>{Amf0Value::string("|RtmpSampleAccess"),
                                    Amf0Value::boolean(true), Amf0Value::boolean(true)}));
  EXPECT_EQ(msgs[3].second[0].asString(), "onFCPublish");
}

TEST(ChunkWriter, ChunkedSizeMatchesOutput) {
  for (size_t n : {0u, 1u, 128u, 129u, 1000u}) {
    for (uint32_t ts : {0u, 0xFFFFFFu}) {
      ChunkTarget t{3, 1, 128};
      BufferWriter w;
      writeMessage(w, t, kMsgVideo, ts, Bytes(n, 1));
      EXPECT_EQ(w.size(), chunkedSize(t, ts, n));
    }
  }
}

}  // namespace
}  // namespace xl::rtmp
