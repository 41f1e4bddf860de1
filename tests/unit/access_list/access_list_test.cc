#include "access_list.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "network.h"
#include "xueliang/config.h"

namespace xl::access {
namespace {

using ::testing::HasSubstr;

Network net(const std::string& cidr) {
  auto n = Network::parse(cidr);
  EXPECT_TRUE(n) << cidr << ": " << n.message();
  return n ? *n : Network{};
}

TEST(Network, Ipv4Prefixes) {
  Network n = net("10.20.0.0/16");
  EXPECT_TRUE(n.contains("10.20.0.0"));
  EXPECT_TRUE(n.contains("10.20.255.255"));
  EXPECT_FALSE(n.contains("10.21.0.1"));
  EXPECT_FALSE(n.contains("11.20.0.1"));

  Network odd = net("192.168.1.128/25");  // prefix not on a byte boundary
  EXPECT_TRUE(odd.contains("192.168.1.128"));
  EXPECT_TRUE(odd.contains("192.168.1.255"));
  EXPECT_FALSE(odd.contains("192.168.1.127"));

  Network nine = net("10.128.0.0/9");
  EXPECT_TRUE(nine.contains("10.200.1.1"));
  EXPECT_FALSE(nine.contains("10.127.1.1"));

  Network host = net("192.0.2.7");  // no prefix: one host
  EXPECT_TRUE(host.contains("192.0.2.7"));
  EXPECT_FALSE(host.contains("192.0.2.8"));
  Network host32 = net("192.0.2.7/32");
  EXPECT_TRUE(host32.contains("192.0.2.7"));
  EXPECT_FALSE(host32.contains("192.0.2.6"));

  Network any = net("0.0.0.0/0");
  EXPECT_TRUE(any.contains("1.2.3.4"));
  EXPECT_TRUE(any.contains("255.255.255.255"));
  EXPECT_FALSE(any.contains("::1"));  // an IPv4 network never holds a real IPv6 address

  // Host bits in the network address do not matter.
  Network loose = net("10.1.2.3/8");
  EXPECT_TRUE(loose.contains("10.99.99.99"));
}

TEST(Network, Ipv6Prefixes) {
  Network n = net("2001:db8::/32");
  EXPECT_TRUE(n.contains("2001:db8::1"));
  EXPECT_TRUE(n.contains("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff"));
  EXPECT_FALSE(n.contains("2001:db9::1"));
  EXPECT_FALSE(n.contains("10.0.0.1"));

  Network lo = net("::1/128");
  EXPECT_TRUE(lo.contains("::1"));
  EXPECT_FALSE(lo.contains("::2"));
  EXPECT_FALSE(lo.contains("127.0.0.1"));

  Network odd = net("fe80::/10");
  EXPECT_TRUE(odd.contains("fe80::1"));
  EXPECT_TRUE(odd.contains("febf::1"));
  EXPECT_FALSE(odd.contains("fec0::1"));

  Network all = net("::/0");
  EXPECT_TRUE(all.contains("2001:db8::1"));
  EXPECT_TRUE(all.contains("::"));
}

TEST(Network, Ipv4MappedAddressesMatchIpv4Networks) {
  Network n = net("127.0.0.0/8");
  EXPECT_TRUE(n.contains("::ffff:127.0.0.1"));  // a dual-stack listener's view of 127.0.0.1
  EXPECT_TRUE(n.contains("::FFFF:127.1.2.3"));
  EXPECT_FALSE(n.contains("::ffff:128.0.0.1"));
  // A network written in mapped form is the IPv4 network.
  Network mapped = net("::ffff:10.0.0.1");
  EXPECT_TRUE(mapped.contains("10.0.0.1"));
  EXPECT_TRUE(mapped.contains("::ffff:10.0.0.1"));
  EXPECT_FALSE(mapped.contains("10.0.0.2"));
  // Not mapped: ::10.0.0.1 (IPv4-compatible, deprecated) is an IPv6 address.
  EXPECT_FALSE(net("10.0.0.0/8").contains("::10.0.0.1"));
}

TEST(Network, UnparsableClientAddressNeverMatches) {
  Network any = net("0.0.0.0/0");
  EXPECT_FALSE(any.contains(""));
  EXPECT_FALSE(any.contains("localhost"));
  EXPECT_FALSE(any.contains("1.2.3.4:5000"));  // callers pass the address without port
  EXPECT_FALSE(net("::/0").contains("fe80::1%eth0"));
}

TEST(Network, BadCidrsAreErrors) {
  for (const char* bad : {"", "/8", "10.0.0.0/", "10.0.0.0/33", "10.0.0.0/-1", "10.0.0.0/x",
                          "10.0.0.0/8/8", "10.0.0/8", "300.0.0.0/8", "10.0.0.0 /8", "::1/129",
                          "2001:db8::/1000", "example.com/24", "10.0.0.0/99999999999"}) {
    auto n = Network::parse(bad);
    EXPECT_FALSE(n) << "'" << bad << "' was accepted";
    if (!n) {
      EXPECT_THAT(n.message(), HasSubstr(std::string("'") + bad + "'"));
    }
  }
  EXPECT_THAT(Network::parse("10.0.0.0/33").message(), HasSubstr("prefix"));
}

AccessRequest req(const std::string& ip, const std::string& stream) {
  AccessRequest r;
  r.clientIp = ip;
  r.stream = stream;
  return r;
}

TEST(Evaluate, EmptyRulesAllowEveryone) {
  Rules r;
  EXPECT_EQ(evaluate(r, req("203.0.113.5", "live/demo")), "");
}

TEST(Evaluate, DeniedNetworkWinsOverAllowList) {
  Rules r;
  r.allowNetworks = {net("10.0.0.0/8")};
  r.denyNetworks = {net("10.1.0.0/16")};
  EXPECT_EQ(evaluate(r, req("10.2.0.1", "live/a")), "");
  std::string why = evaluate(r, req("10.1.0.1", "live/a"));
  EXPECT_THAT(why, HasSubstr("10.1.0.1"));
  EXPECT_THAT(why, HasSubstr("denied network"));
}

TEST(Evaluate, AllowListRequiresMembership) {
  Rules r;
  r.allowNetworks = {net("10.0.0.0/8"), net("2001:db8::/32")};
  EXPECT_EQ(evaluate(r, req("10.9.9.9", "s")), "");
  EXPECT_EQ(evaluate(r, req("2001:db8::5", "s")), "");
  EXPECT_EQ(evaluate(r, req("::ffff:10.9.9.9", "s")), "");
  EXPECT_THAT(evaluate(r, req("192.0.2.1", "s")), HasSubstr("not in an allowed network"));
}

TEST(Evaluate, NetworkChecksComeBeforeStreamPatterns) {
  Rules r;
  r.denyNetworks = {net("192.0.2.0/24")};
  r.allowNetworks = {net("10.0.0.0/8")};
  r.denyStreams = {"private/*"};
  // Both a denied network and a denied stream: the network reason is given.
  EXPECT_THAT(evaluate(r, req("192.0.2.1", "private/x")), HasSubstr("denied network"));
  // Outside the allow list and a denied stream: the allow-list reason is given.
  EXPECT_THAT(evaluate(r, req("172.16.0.1", "private/x")), HasSubstr("allowed network"));
  // Allowed network, denied stream.
  EXPECT_THAT(evaluate(r, req("10.0.0.1", "private/x")), HasSubstr("stream private/x is denied"));
  EXPECT_EQ(evaluate(r, req("10.0.0.1", "public/x")), "");
}

TEST(Evaluate, StreamPatterns) {
  Rules r;
  r.denyStreams = {"live/secret", "town1/*"};
  EXPECT_NE(evaluate(r, req("1.1.1.1", "live/secret")), "");
  EXPECT_EQ(evaluate(r, req("1.1.1.1", "live/secret2")), "");
  EXPECT_EQ(evaluate(r, req("1.1.1.1", "live/secre")), "");
  EXPECT_NE(evaluate(r, req("1.1.1.1", "town1/gate")), "");
  EXPECT_EQ(evaluate(r, req("1.1.1.1", "town12/gate")), "");
  EXPECT_EQ(evaluate(r, req("1.1.1.1", "town1")), "");
  Rules all;
  all.denyStreams = {"*"};
  EXPECT_NE(evaluate(all, req("1.1.1.1", "anything/at-all")), "");
}

class PluginTest : public ::testing::Test {
 protected:
  void configure(const std::string& toml) {
    auto doc = ConfigDocument::parse(toml, "acl.toml");
    ASSERT_TRUE(doc) << doc.message();
    doc_ = *doc;
    ConfigSection root = doc_->root(&errors);
    ConfigSection s = root.section("access_list");
    plugin.configure(s);
    s.finish();
  }
  Decision publish(const std::string& ip, const std::string& stream) {
    AccessRequest r = req(ip, stream);
    r.action = AccessRequest::Action::kPublish;
    return plugin.onPublish(r, nullptr);
  }
  Decision play(const std::string& ip, const std::string& stream) {
    AccessRequest r = req(ip, stream);
    return plugin.onPlay(r, nullptr);
  }
  std::shared_ptr<ConfigDocument> doc_;
  ConfigErrors errors;
  AccessListPlugin plugin;
};

TEST_F(PluginTest, PublishAndPlayRulesAreSeparate) {
  configure(
      "[access_list]\n"
      "publish_allow_networks = [\"127.0.0.0/8\", \"10.20.0.0/16\"]\n"
      "play_deny_networks = [\"192.0.2.0/24\"]\n"
      "play_deny_streams = [\"private/*\"]\n");
  EXPECT_TRUE(errors.empty()) << errors.joined();
  EXPECT_EQ(plugin.name(), "access_list");
  EXPECT_EQ(publish("10.20.1.1", "live/cam").verdict, Verdict::kContinue);
  Decision d = publish("192.168.0.1", "live/cam");
  EXPECT_EQ(d.verdict, Verdict::kDeny);
  EXPECT_THAT(d.reason, HasSubstr("192.168.0.1"));
  EXPECT_EQ(play("192.168.0.1", "live/cam").verdict, Verdict::kContinue);
  EXPECT_EQ(play("192.0.2.9", "live/cam").verdict, Verdict::kDeny);
  EXPECT_EQ(play("10.20.1.1", "private/x").verdict, Verdict::kDeny);
  EXPECT_EQ(publish("10.20.1.1", "private/x").verdict, Verdict::kContinue);
}

TEST_F(PluginTest, BadCidrIsAConfigErrorWithLine) {
  configure(
      "[access_list]\n"
      "play_allow_networks = [\"10.0.0.0/8\"]\n"
      "publish_deny_networks = [\"10.0.0.0/8\", \"10.0.0.0/40\"]\n");
  ASSERT_EQ(errors.list().size(), 1u) << errors.joined();
  EXPECT_THAT(errors.list()[0], HasSubstr("acl.toml:3:"));
  EXPECT_THAT(errors.list()[0], HasSubstr("publish_deny_networks"));
  EXPECT_THAT(errors.list()[0], HasSubstr("10.0.0.0/40"));
  // The good entry still applies.
  EXPECT_EQ(publish("10.1.1.1", "a/b").verdict, Verdict::kDeny);
}

TEST_F(PluginTest, UnknownKeyIsReported) {
  configure(
      "[access_list]\n"
      "play_alow_networks = [\"10.0.0.0/8\"]\n");
  ASSERT_EQ(errors.list().size(), 1u) << errors.joined();
  EXPECT_THAT(errors.list()[0], HasSubstr("acl.toml:2:"));
  EXPECT_THAT(errors.list()[0], HasSubstr("play_alow_networks"));
}

TEST_F(PluginTest, ReconfigureReplacesRules) {
  configure("[access_list]\nplay_deny_networks = [\"10.0.0.0/8\"]\n");
  EXPECT_EQ(play("10.0.0.1", "a/b").verdict, Verdict::kDeny);
  configure("[access_list]\nplay_deny_networks = []\n");
  EXPECT_EQ(play("10.0.0.1", "a/b").verdict, Verdict::kContinue);
}

}  // namespace
}  // namespace xl::access
