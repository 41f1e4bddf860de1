#include "rtmp/amf0.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace xl::rtmp {
namespace {

std::vector<uint8_t> encodeAll(const std::vector<Amf0Value>& values) {
  BufferWriter w;
  for (const auto& v : values) amf0::encode(w, v);
  BufferRef b = w.freeze();
  return {b.data(), b.data() + b.size()};
}

TEST(Amf0, KnownEncodings) {
  EXPECT_EQ(encodeAll({Amf0Value::number(1.0)}),
            (std::vector<uint8_t>{0x00, 0x3F, 0xF0, 0, 0, 0, 0, 0, 0}));
  EXPECT_EQ(encodeAll({Amf0Value::string("ab")}),
            (std::vector<uint8_t>{0x02, 0x00, 0x02, 'a', 'b'}));
  EXPECT_EQ(encodeAll({Amf0Value::boolean(true), Amf0Value::null()}),
            (std::vector<uint8_t>{0x01, 0x01, 0x05}));
  EXPECT_EQ(encodeAll({Amf0Value::object({{"a", Amf0Value::undefined()}})}),
            (std::vector<uint8_t>{0x03, 0x00, 0x01, 'a', 0x06, 0x00, 0x00, 0x09}));
  EXPECT_EQ(encodeAll({Amf0Value::ecmaArray({})}),
            (std::vector<uint8_t>{0x08, 0, 0, 0, 0, 0x00, 0x00, 0x09}));
}

TEST(Amf0, RoundTripAllTypes) {
  std::string big(70000, 'x');
  std::vector<Amf0Value> values = {
      Amf0Value::string("connect"),
      Amf0Value::number(1),
      Amf0Value::object({{"app", Amf0Value::string("live")},
                         {"tcUrl", Amf0Value::string("rtmp://h/live")},
                         {"fpad", Amf0Value::boolean(false)},
                         {"nested", Amf0Value::object({{"n", Amf0Value::number(-2.5)}})}}),
      Amf0Value::ecmaArray({{"width", Amf0Value::number(1920)}}),
      Amf0Value::strictArray({Amf0Value::number(1), Amf0Value::string("two"), Amf0Value::null()}),
      Amf0Value::date(1.7e12, 0),
      Amf0Value::string(big),
      Amf0Value::null(),
      Amf0Value::undefined(),
      Amf0Value::boolean(true),
  };
  EXPECT_EQ(values[6].type, Amf0Type::kLongString);
  auto bytes = encodeAll(values);
  auto decoded = amf0::decodeAll(bytes);
  ASSERT_TRUE(decoded) << decoded.message();
  EXPECT_EQ(*decoded, values);
  EXPECT_EQ((*decoded)[2].get("app")->asString(), "live");
  EXPECT_EQ((*decoded)[2].get("nested")->get("n")->asNumber(), -2.5);
  EXPECT_EQ((*decoded)[2].get("missing"), nullptr);
  EXPECT_EQ((*decoded)[6].asString().size(), 70000u);
}

TEST(Amf0, DecoderReadsOneValueAtATime) {
  auto bytes = encodeAll({Amf0Value::string("play"), Amf0Value::number(4)});
  Amf0Decoder d(bytes);
  auto a = d.next();
  ASSERT_TRUE(a);
  EXPECT_EQ(a->asString(), "play");
  EXPECT_EQ(d.offset(), 7u);
  EXPECT_FALSE(d.done());
  auto b = d.next();
  ASSERT_TRUE(b);
  EXPECT_EQ(b->asNumber(), 4);
  EXPECT_TRUE(d.done());
  EXPECT_FALSE(d.next());
}

TEST(Amf0, EveryTruncationOfAnObjectFails) {
  auto bytes = encodeAll({Amf0Value::object({{"k", Amf0Value::string("value")},
                                             {"d", Amf0Value::date(5)},
                                             {"n", Amf0Value::number(3)}})});
  for (size_t n = 1; n < bytes.size(); ++n) {
    auto r = amf0::decodeAll(std::span(bytes.data(), n));
    EXPECT_FALSE(r) << "prefix " << n;
  }
  EXPECT_TRUE(amf0::decodeAll(bytes));
}

TEST(Amf0, StringLengthBeyondInputHasClearError) {
  std::vector<uint8_t> bytes = {0x02, 0x11, 0x70};  // length 0x1170 = 4464
  bytes.resize(3 + 12, 'a');
  auto r = amf0::decodeAll(bytes);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.message(), "amf0: string length 4464 exceeds remaining 12 bytes");

  std::vector<uint8_t> longStr = {0x0C, 0x00, 0x01, 0x11, 0x70, 'a', 'b'};  // 70000
  auto r2 = amf0::decodeAll(longStr);
  ASSERT_FALSE(r2);
  EXPECT_EQ(r2.message(), "amf0: string length 70000 exceeds remaining 2 bytes");
}

TEST(Amf0, HugeCountsAreRejectedBeforeAllocating) {
  std::vector<uint8_t> arr = {0x0A, 0xFF, 0xFF, 0xFF, 0xFF, 0x05};
  auto r = amf0::decodeAll(arr);
  ASSERT_FALSE(r);
  EXPECT_NE(r.message().find("strict array count 4294967295"), std::string::npos) << r.message();
  std::vector<uint8_t> lstr = {0x0C, 0xFF, 0xFF, 0xFF, 0xFF};
  EXPECT_FALSE(amf0::decodeAll(lstr));
}

TEST(Amf0, UnsupportedMarkersFail) {
  for (uint8_t m : {0x04, 0x07, 0x0D, 0x0E, 0x0F, 0x10, 0x11, 0xFF}) {
    std::vector<uint8_t> bytes = {m, 0, 0, 0, 0};
    auto r = amf0::decodeAll(bytes);
    ASSERT_FALSE(r) << int(m);
    EXPECT_NE(r.message().find("unsupported type marker"), std::string::npos);
  }
}

TEST(Amf0, TruncatedScalarsFail) {
  EXPECT_FALSE(amf0::decodeAll(std::vector<uint8_t>{0x00, 1, 2, 3}));
  EXPECT_FALSE(amf0::decodeAll(std::vector<uint8_t>{0x01}));
  EXPECT_FALSE(amf0::decodeAll(std::vector<uint8_t>{0x0B, 0, 0, 0, 0, 0, 0, 0, 0, 0}));
  EXPECT_FALSE(amf0::decodeAll(std::vector<uint8_t>{0x02, 0x00}));
  EXPECT_FALSE(amf0::decodeAll(std::vector<uint8_t>{0x08, 0x00, 0x00}));
}

std::vector<uint8_t> nestedArrays(int levels) {
  std::vector<uint8_t> b;
  for (int i = 0; i < levels; ++i) b.insert(b.end(), {0x0A, 0, 0, 0, 1});
  b.push_back(0x05);
  return b;
}

TEST(Amf0, DepthLimit) {
  // The leaf sits at depth `levels`; depth 31 is the deepest allowed.
  EXPECT_TRUE(amf0::decodeAll(nestedArrays(Amf0Decoder::kMaxDepth - 1)));
  auto r = amf0::decodeAll(nestedArrays(Amf0Decoder::kMaxDepth));
  ASSERT_FALSE(r);
  EXPECT_NE(r.message().find("nesting"), std::string::npos);
  EXPECT_FALSE(amf0::decodeAll(nestedArrays(100000)));  // no stack overflow

  std::vector<uint8_t> objs;
  for (int i = 0; i < 5000; ++i) objs.insert(objs.end(), {0x03, 0x00, 0x01, 'a'});
  objs.push_back(0x05);
  EXPECT_FALSE(amf0::decodeAll(objs));
}

TEST(Amf0, EcmaArrayWithoutEndMarkerIsAccepted) {
  // Count hint says 5, one property, message ends without 00 00 09: seen from real encoders.
  std::vector<uint8_t> b = {0x08, 0, 0, 0, 5, 0x00, 0x01, 'w', 0x01, 0x01};
  auto r = amf0::decodeAll(b);
  ASSERT_TRUE(r) << r.message();
  ASSERT_EQ(r->size(), 1u);
  EXPECT_TRUE((*r)[0].get("w")->asBoolean());
  // An object must have its end marker.
  b[0] = 0x03;
  b.erase(b.begin() + 1, b.begin() + 5);
  EXPECT_FALSE(amf0::decodeAll(b));
}

TEST(Amf0, TypedAccessorsFallBack) {
  Amf0Value s = Amf0Value::string("x");
  EXPECT_EQ(s.asNumber(7), 7);
  EXPECT_FALSE(s.asBoolean());
  EXPECT_EQ(s.properties(), nullptr);
  EXPECT_EQ(s.items(), nullptr);
  EXPECT_TRUE(Amf0Value::undefined().isNull());
}

}  // namespace
}  // namespace xl::rtmp
