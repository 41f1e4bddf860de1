#include "webrtc/stun.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>

#include "test_data.h"

namespace xl::webrtc {
namespace {

using test::readBytes;

constexpr std::string_view kPassword = "VOkJxbRl1RmTxUk/WvJxBt";  // RFC 5769 §2
const TransactionId kId = {0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae};

sockaddr_in6 ipv6(const char* text, uint16_t port) {
  sockaddr_in6 a{};
  a.sin6_family = AF_INET6;
  a.sin6_port = htons(port);
  inet_pton(AF_INET6, text, &a.sin6_addr);
  return a;
}

// "a.b.c.d:port" of a message's IPv4 XOR-MAPPED-ADDRESS; "" if it has none or another family.
std::string ipv4MappedText(const StunMessage& m) {
  if (!m.xorMappedAddress || m.xorMappedAddress->ss_family != AF_INET) return "";
  auto* a = reinterpret_cast<const sockaddr_in*>(&*m.xorMappedAddress);
  char ip[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, &a->sin_addr, ip, sizeof ip);
  return std::string(ip) + ":" + std::to_string(ntohs(a->sin_port));
}

TEST(Stun, Rfc5769SampleRequest) {
  auto bytes = readBytes("stun_rfc5769_request.bin");
  ASSERT_EQ(bytes.size(), 108u);
  ASSERT_TRUE(looksLikeStun(bytes));
  auto m = parseStun(bytes);
  ASSERT_TRUE(m) << m.message();
  EXPECT_EQ(m->type, kStunBindingRequest);
  EXPECT_EQ(m->transactionId, kId);
  EXPECT_EQ(m->username, "evtj:h6vY");
  ASSERT_TRUE(m->priority);
  EXPECT_EQ(*m->priority, 0x6e0001ffu);
  ASSERT_TRUE(m->iceControlled);
  EXPECT_EQ(*m->iceControlled, 0x932ff9b151263b36ull);
  EXPECT_FALSE(m->iceControlling);
  EXPECT_FALSE(m->useCandidate);
  EXPECT_TRUE(m->hasFingerprint);
  EXPECT_TRUE(verifyIntegrity(bytes, *m, kPassword));
  EXPECT_FALSE(verifyIntegrity(bytes, *m, "wrong password"));
}

TEST(Stun, Rfc5769SampleIpv4Response) {
  auto bytes = readBytes("stun_rfc5769_response_ipv4.bin");
  auto m = parseStun(bytes);
  ASSERT_TRUE(m) << m.message();
  EXPECT_EQ(m->type, kStunBindingSuccess);
  EXPECT_EQ(ipv4MappedText(*m), "192.0.2.1:32853");
  EXPECT_TRUE(verifyIntegrity(bytes, *m, kPassword));
}

TEST(Stun, Rfc5769SampleIpv6Response) {
  auto bytes = readBytes("stun_rfc5769_response_ipv6.bin");
  auto m = parseStun(bytes);
  ASSERT_TRUE(m) << m.message();
  ASSERT_TRUE(m->xorMappedAddress);
  auto* a = reinterpret_cast<const sockaddr_in6*>(&*m->xorMappedAddress);
  ASSERT_EQ(a->sin6_family, AF_INET6);
  char ip[INET6_ADDRSTRLEN];
  inet_ntop(AF_INET6, &a->sin6_addr, ip, sizeof ip);
  EXPECT_STREQ(ip, "2001:db8:1234:5678:11:2233:4455:6677");
  EXPECT_EQ(ntohs(a->sin6_port), 32853);
  EXPECT_TRUE(verifyIntegrity(bytes, *m, kPassword));
}

TEST(Stun, BindingSuccessRoundTrip) {
  sockaddr_in6 from = ipv6("2001:db8::7", 50000);
  auto bytes = bindingSuccess(kId, reinterpret_cast<sockaddr*>(&from), "secretpwd");
  auto m = parseStun(bytes);
  ASSERT_TRUE(m) << m.message();
  EXPECT_EQ(m->type, kStunBindingSuccess);
  EXPECT_EQ(m->transactionId, kId);
  EXPECT_TRUE(m->hasFingerprint);
  EXPECT_TRUE(verifyIntegrity(bytes, *m, "secretpwd"));
  auto* a = reinterpret_cast<const sockaddr_in6*>(&*m->xorMappedAddress);
  EXPECT_EQ(ntohs(a->sin6_port), 50000);
  EXPECT_EQ(0, memcmp(&a->sin6_addr, &from.sin6_addr, 16));
}

// The XOR-MAPPED-ADDRESS attribute (header and value) of a message StunWriter builds for `from`.
std::vector<uint8_t> xorAttributeFor(const sockaddr* from) {
  StunWriter w(kStunBindingSuccess, kId);
  w.xorMappedAddress(from);
  return std::vector<uint8_t>(w.bytes().begin() + kStunHeaderSize, w.bytes().end());
}

// The attribute at `at` in an RFC 5769 sample, `n` bytes with its header.
std::vector<uint8_t> sampleBytes(const char* file, size_t at, size_t n) {
  auto bytes = readBytes(file);
  return std::vector<uint8_t>(bytes.begin() + at, bytes.begin() + at + n);
}

// RFC 5769 §2.3 encoded, not only parsed: family 0x02, port xor the cookie's top half, address
// xor cookie + transaction id gives the sample's bytes exactly.
TEST(Stun, Ipv6XorMappedAddressEncodesAsRfc5769) {
  sockaddr_in6 from = ipv6("2001:db8:1234:5678:11:2233:4455:6677", 32853);
  EXPECT_EQ(xorAttributeFor(reinterpret_cast<sockaddr*>(&from)),
            sampleBytes("stun_rfc5769_response_ipv6.bin", 36, 24));
}

// An IPv4 peer on a dual-stack socket (::ffff:192.0.2.1) is told its IPv4 form: the bytes of the
// RFC 5769 §2.2 IPv4 sample, family 0x01.
TEST(Stun, Ipv4MappedPeerGetsTheIpv4Form) {
  sockaddr_in6 from = ipv6("::ffff:192.0.2.1", 32853);
  auto attr = xorAttributeFor(reinterpret_cast<sockaddr*>(&from));
  // In the IPv4 sample the attribute follows SOFTWARE ("test vector", 4 + 12 bytes).
  EXPECT_EQ(attr, sampleBytes("stun_rfc5769_response_ipv4.bin", 36, 12));
  auto bytes = bindingSuccess(kId, reinterpret_cast<sockaddr*>(&from), "pw");
  auto m = parseStun(bytes);
  ASSERT_TRUE(m) << m.message();
  EXPECT_EQ(ipv4MappedText(*m), "192.0.2.1:32853");
}

// A real IPv6 peer whose address starts like a mapped one but is not (::fffe:...) stays IPv6,
// and round-trips through another transaction id (the xor key depends on it).
TEST(Stun, Ipv6RoundTripWithAnotherTransactionId) {
  const TransactionId id = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
  for (const char* text : {"::fffe:c000:201", "fd00::2", "::1"}) {
    sockaddr_in6 from = ipv6(text, 9);
    auto m = parseStun(bindingSuccess(id, reinterpret_cast<sockaddr*>(&from), "pw"));
    ASSERT_TRUE(m) << m.message();
    auto* a = reinterpret_cast<const sockaddr_in6*>(&*m->xorMappedAddress);
    ASSERT_EQ(a->sin6_family, AF_INET6) << text;
    EXPECT_EQ(0, memcmp(&a->sin6_addr, &from.sin6_addr, 16)) << text;
    EXPECT_EQ(ntohs(a->sin6_port), 9);
  }
}

TEST(Stun, RequestWithIceAttributesRoundTrip) {
  StunWriter w(kStunBindingRequest, kId);
  w.attribute(kAttrUsername, std::string_view("srv:cli"))
      .u32(kAttrPriority, 1845501695)
      .u64(kAttrIceControlling, 42)
      .attribute(kAttrUseCandidate, std::string_view())
      .integrity("pw")
      .fingerprint();
  auto m = parseStun(w.bytes());
  ASSERT_TRUE(m) << m.message();
  EXPECT_EQ(m->username, "srv:cli");
  EXPECT_EQ(*m->priority, 1845501695u);
  EXPECT_EQ(*m->iceControlling, 42u);
  EXPECT_TRUE(m->useCandidate);
  EXPECT_TRUE(verifyIntegrity(w.bytes(), *m, "pw"));
}

TEST(Stun, RejectsMalformed) {
  auto good = readBytes("stun_rfc5769_request.bin");
  EXPECT_FALSE(parseStun(std::vector<uint8_t>(good.begin(), good.begin() + 19)));
  auto flipped = good;
  flipped[30] ^= 1;  // inside SOFTWARE: the fingerprint no longer matches
  auto r = parseStun(flipped);
  ASSERT_FALSE(r);
  EXPECT_NE(r.message().find("FINGERPRINT"), std::string::npos) << r.message();
  auto longer = good;
  longer.push_back(0);  // datagram size disagrees with the header length
  EXPECT_FALSE(parseStun(longer));
  auto cookie = good;
  cookie[4] = 0;
  EXPECT_FALSE(parseStun(cookie));
  auto overrun = good;
  overrun[22] = 0x7f;  // SOFTWARE length runs past the end
  r = parseStun(overrun);
  ASSERT_FALSE(r);
  EXPECT_NE(r.message().find("overruns"), std::string::npos) << r.message();
  auto badPriority = good;
  badPriority[43] = 5;  // PRIORITY length 5
  EXPECT_FALSE(parseStun(badPriority));
}

TEST(Stun, Crc32MatchesKnownValue) {
  const char* s = "123456789";
  EXPECT_EQ(crc32(ByteSpan(reinterpret_cast<const uint8_t*>(s), 9)), 0xCBF43926u);
}

}  // namespace
}  // namespace xl::webrtc
