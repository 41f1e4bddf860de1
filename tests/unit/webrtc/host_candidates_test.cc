// The answers' host candidates from a given interface list: what each listen_ip serves, in what
// order, and which addresses are never advertised.
#include "webrtc/host_candidates.h"

#include <gtest/gtest.h>

namespace xl::webrtc {
namespace {

using List = std::vector<std::string>;

// A host with IPv4 and IPv6 on lo and eth0, as uv_interface_addresses lists them.
const List kInterfaces = {"127.0.0.1",          "::1",         "192.0.2.2",      "fd00::2",
                          "fe80::fc:ff:fe00:1", "2001:db8::5", "::ffff:10.0.0.1"};

TEST(HostCandidates, Ipv4WildcardListsIpv4OnlyLoopbackLast) {
  EXPECT_EQ(hostCandidates("0.0.0.0", "", kInterfaces), (List{"192.0.2.2", "127.0.0.1"}));
}

TEST(HostCandidates, DualStackListsBothFamiliesIpv6FirstLoopbackLast) {
  // Link-local fe80:: and IPv4-mapped never appear; loopback of both families comes last.
  EXPECT_EQ(hostCandidates("::", "", kInterfaces),
            (List{"fd00::2", "2001:db8::5", "192.0.2.2", "::1", "127.0.0.1"}));
}

TEST(HostCandidates, SpecificAddressListsItselfAlone) {
  EXPECT_EQ(hostCandidates("::1", "", kInterfaces), (List{"::1"}));
  EXPECT_EQ(hostCandidates("192.0.2.2", "", kInterfaces), (List{"192.0.2.2"}));
  // Canonical text: what the browser compares with.
  EXPECT_EQ(hostCandidates("fd00:0:0::2", "", kInterfaces), (List{"fd00::2"}));
}

TEST(HostCandidates, PublicIpFirstOfEitherFamilyAndOnce) {
  EXPECT_EQ(hostCandidates("0.0.0.0", "203.0.113.9", kInterfaces),
            (List{"203.0.113.9", "192.0.2.2", "127.0.0.1"}));
  EXPECT_EQ(hostCandidates("::", "2001:db8::5", kInterfaces),
            (List{"2001:db8::5", "fd00::2", "192.0.2.2", "::1", "127.0.0.1"}));
  EXPECT_EQ(hostCandidates("::1", "2001:db8:0::9", {}), (List{"2001:db8::9", "::1"}));
}

TEST(HostCandidates, InterfacesTheSystemCouldNotListLeaveTheListEmptyButPublic) {
  EXPECT_TRUE(hostCandidates("::", "", {"fe80::1", "garbage", ""}).empty());
  EXPECT_EQ(hostCandidates("::", "198.51.100.1", {}), (List{"198.51.100.1"}));
}

TEST(HostCandidates, ChecksListenAndPublicAddresses) {
  EXPECT_EQ(*checkIpAddress("::", true), "::");
  EXPECT_EQ(*checkIpAddress("0.0.0.0", true), "0.0.0.0");
  EXPECT_EQ(*checkIpAddress("0:0:0:0:0:0:0:1", true), "::1");
  EXPECT_EQ(*checkIpAddress("2001:db8::1", false), "2001:db8::1");
  auto wildcard = checkIpAddress("::", false);
  ASSERT_FALSE(wildcard);
  EXPECT_NE(wildcard.message().find("no one's address"), std::string::npos);
  EXPECT_FALSE(checkIpAddress("0.0.0.0", false));
  auto linkLocal = checkIpAddress("fe80::1", true);
  ASSERT_FALSE(linkLocal);
  EXPECT_NE(linkLocal.message().find("link-local"), std::string::npos);
  auto mapped = checkIpAddress("::ffff:192.0.2.1", true);
  ASSERT_FALSE(mapped);
  EXPECT_NE(mapped.message().find("IPv4-mapped"), std::string::npos);
  EXPECT_FALSE(checkIpAddress("example.com", true));
  EXPECT_FALSE(checkIpAddress("[::1]", true));
  EXPECT_FALSE(checkIpAddress("", true));
}

TEST(HostCandidates, JoinsIpv6WithBrackets) {
  EXPECT_EQ(joinHostPort("::", 8189), "[::]:8189");
  EXPECT_EQ(joinHostPort("fd00::2", 0), "[fd00::2]:0");
  EXPECT_EQ(joinHostPort("0.0.0.0", 8189), "0.0.0.0:8189");
}

}  // namespace
}  // namespace xl::webrtc
