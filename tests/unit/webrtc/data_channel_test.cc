// Data channels: the DCEP codec, and two usrsctp associations in this process connected back to
// back through our DTLS transport (client and server identities, as a browser and the server),
// which open channels both ways (DCEP OPEN/ACK) and exchange messages.
#include "webrtc/data_channel.h"

#include <gtest/gtest.h>

#include <chrono>
#include <deque>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include "answer_params.h"
#include "test_data.h"
#include "webrtc/dtls.h"
#include "webrtc/sctp_association.h"
#include "webrtc/sdp_answer.h"

namespace xl::webrtc {
namespace {

using Bytes = std::vector<uint8_t>;

TEST(Dcep, OpenRoundTrip) {
  dcep::Open o;
  o.channelType = dcep::kPartialRexmit | dcep::kUnorderedBit;
  o.priority = 256;
  o.reliability = 3;
  o.label = "events";
  o.protocol = "json";
  Bytes m = dcep::serializeOpen(o);
  ASSERT_EQ(m.size(), 12u + 6 + 4);
  EXPECT_EQ(m[0], 0x03);
  auto p = dcep::parseOpen(m);
  ASSERT_TRUE(p) << p.message();
  EXPECT_EQ(p->channelType, 0x81);
  EXPECT_EQ(p->priority, 256);
  EXPECT_EQ(p->reliability, 3u);
  EXPECT_EQ(p->label, "events");
  EXPECT_EQ(p->protocol, "json");
}

TEST(Dcep, ParsesChromesOpen) {
  // Chromium's OPEN for createDataChannel("events"): reliable, ordered, priority 256.
  const Bytes m = {0x03, 0x00, 0x01, 0x00, 0,   0,   0,   0,   0x00,
                   0x06, 0x00, 0x00, 'e',  'v', 'e', 'n', 't', 's'};
  auto p = dcep::parseOpen(m);
  ASSERT_TRUE(p) << p.message();
  EXPECT_EQ(p->label, "events");
  EXPECT_TRUE(p->protocol.empty());
}

TEST(Dcep, RejectsMalformed) {
  EXPECT_FALSE(dcep::parseOpen(Bytes{0x03, 0x00}));                                // short
  EXPECT_FALSE(dcep::parseOpen(Bytes{0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}));     // ACK type
  EXPECT_FALSE(dcep::parseOpen(Bytes{0x03, 0x05, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}));  // bad type
  auto longLabel = dcep::parseOpen(Bytes{0x03, 0, 0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 'a'});
  ASSERT_FALSE(longLabel);
  EXPECT_NE(longLabel.message().find("lengths"), std::string::npos) << longLabel.message();
  EXPECT_FALSE(dcep::parseOpen(Bytes{0x03, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 'x'}));  // trailing
  EXPECT_TRUE(dcep::isAck(Bytes{0x02}));
  EXPECT_FALSE(dcep::isAck(Bytes{0x02, 0x00}));
  EXPECT_FALSE(dcep::isAck(Bytes{0x03}));
}

// Chrome's offer after createDataChannel(): a third, bundled m=application section.
std::string offerWithDataChannel(std::string_view sctpPort = "5000") {
  std::string o = test::readSample("offer_chrome.sdp");
  EXPECT_FALSE(o.empty());
  o.replace(o.find("a=group:BUNDLE 0 1"), 18, "a=group:BUNDLE 0 1 2");
  o += "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n"
       "c=IN IP4 0.0.0.0\r\n"
       "a=ice-ufrag:Dmz8\r\n"
       "a=ice-pwd:i+9KyHk9uZjAvuobJJgAF+yr\r\n"
       "a=fingerprint:sha-256 "
       "EC:9E:70:25:6F:C9:A2:33:89:4F:A9:82:86:2F:F2:98:0F:10:C6:BD:49:9E:A4:65:F8:58:80:E1:94:06:"
       "BB:80\r\n"
       "a=setup:actpass\r\n"
       "a=mid:2\r\n"
       "a=sctp-port:" +
       std::string(sctpPort) +
       "\r\n"
       "a=max-message-size:262144\r\n";
  return o;
}

using test::answerParams;

StreamCodecs h264High() {
  StreamCodecs c;
  c.video = Codec::kH264;
  c.profileIdc = 0x64;
  return c;
}

TEST(DataChannelSdp, AnswersTheApplicationSectionInTheBundle) {
  auto n = answerOffer(offerWithDataChannel("5001"), h264High(), answerParams());
  ASSERT_TRUE(n) << n.message();
  EXPECT_TRUE(n->dataChannel);
  EXPECT_EQ(n->sctpPort, 5001);
  EXPECT_GE(n->videoPayloadType, 0);
  const std::string& a = n->sdp;
  EXPECT_NE(a.find("a=group:BUNDLE 0 1 2\r\n"), std::string::npos) << a;
  size_t at = a.find("m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n");
  ASSERT_NE(at, std::string::npos) << a;
  std::string section = a.substr(at);
  EXPECT_NE(section.find("a=mid:2\r\n"), std::string::npos);
  EXPECT_NE(section.find("a=sctp-port:5000\r\n"), std::string::npos);
  EXPECT_NE(section.find("a=max-message-size:65536\r\n"), std::string::npos);
  EXPECT_NE(section.find("a=setup:passive\r\n"), std::string::npos);
  EXPECT_NE(section.find("a=ice-ufrag:srvufrag\r\n"), std::string::npos);
  EXPECT_NE(section.find(" 127.0.0.1 8189 typ host\r\n"), std::string::npos);
  // The answer parses, with the sections in the offer's order.
  auto parsed = rtp::parseSdp(a);
  ASSERT_TRUE(parsed) << parsed.message();
  ASSERT_EQ(parsed->media.size(), 3u);
  EXPECT_EQ(parsed->media[2].media, "application");
}

TEST(DataChannelSdp, WithoutADataChannelNothingChanges) {
  auto n = answerOffer(test::readSample("offer_chrome.sdp"), h264High(), answerParams());
  ASSERT_TRUE(n) << n.message();
  EXPECT_FALSE(n->dataChannel);
  EXPECT_EQ(n->sdp.find("m=application"), std::string::npos);
  EXPECT_EQ(n->sdp.find("sctp"), std::string::npos);
}

TEST(DataChannelSdp, RejectsABadSctpPortAndOldSyntax) {
  OfferError err;
  auto bad = answerOffer(offerWithDataChannel("70000"), h264High(), answerParams(), &err);
  ASSERT_FALSE(bad);
  EXPECT_EQ(err.status, 400);
  EXPECT_NE(bad.message().find("sctp-port"), std::string::npos) << bad.message();
  // The pre-RFC 8841 form (DTLS/SCTP 5000 with a=sctpmap) is refused with port 0, not answered.
  std::string old = offerWithDataChannel();
  old.replace(old.find("UDP/DTLS/SCTP webrtc-datachannel"), 32, "DTLS/SCTP 5000");
  auto n = answerOffer(old, h264High(), answerParams());
  ASSERT_TRUE(n) << n.message();
  EXPECT_FALSE(n->dataChannel);
  EXPECT_NE(n->sdp.find("m=application 0 DTLS/SCTP 5000"), std::string::npos) << n->sdp;
}

// One peer: DTLS transport, SCTP association, data channels, and the task queue its usrsctp
// callbacks post to (from usrsctp's thread too, hence the mutex).
struct Peer {
  std::mutex mu;
  std::deque<std::function<void()>> tasks;
  std::deque<Bytes>* wire = nullptr;  // datagrams to the other peer
  std::unique_ptr<DtlsTransport> dtls;
  std::unique_ptr<SctpAssociation> sctp;
  std::unique_ptr<DataChannels> channels;
  bool up = false;
  std::vector<std::string> opened;  // labels
  std::vector<std::string> texts;
  std::vector<std::string> errors;

  void make(std::shared_ptr<SctpStack> stack, std::shared_ptr<const DtlsIdentity> id,
            std::deque<Bytes>* out) {
    wire = out;
    dtls = std::make_unique<DtlsTransport>(
        id, [this](std::span<const uint8_t> d) { wire->emplace_back(d.begin(), d.end()); });
    dtls->setDataHandler([this](std::span<const uint8_t> d) { sctp->feed(d); });
    SctpAssociation::Handlers h;
    h.output = [this](std::span<const uint8_t> p) { EXPECT_TRUE(dtls->write(p)); };
    h.message = [this](uint16_t sid, uint32_t ppid, std::span<const uint8_t> d) {
      channels->onMessage(sid, ppid, d);
    };
    h.up = [this] { up = true; };
    h.incomingReset = [this](uint16_t sid) { channels->onIncomingReset(sid); };
    sctp = std::make_unique<SctpAssociation>(
        std::move(stack),
        [this](std::function<void()> fn) {
          std::lock_guard lk(mu);
          tasks.push_back(std::move(fn));
        },
        std::move(h));
    DataChannels::Handlers ch;
    ch.opened = [this](const DataChannels::Channel& c) { opened.push_back(c.label); };
    ch.message = [this](const DataChannels::Channel&, std::span<const uint8_t> d, bool binary) {
      EXPECT_FALSE(binary);
      texts.emplace_back(d.begin(), d.end());
    };
    ch.protocolError = [this](const std::string& e) { errors.push_back(e); };
    channels = std::make_unique<DataChannels>(*sctp, id->server(), std::move(ch));
  }

  bool runTasks() {
    std::deque<std::function<void()>> now;
    {
      std::lock_guard lk(mu);
      now.swap(tasks);
    }
    for (auto& t : now) t();
    return !now.empty();
  }
};

struct BackToBack {
  std::shared_ptr<SctpStack> stack = SctpStack::acquire();
  std::deque<Bytes> toServer, toClient;
  Peer server, client;

  BackToBack() {
    auto s = DtlsIdentity::generate(true);
    auto c = DtlsIdentity::generate(false);
    EXPECT_TRUE(s && c);
    server.make(stack, *s, &toClient);
    client.make(stack, *c, &toServer);
  }

  // Moves datagrams and runs tasks until `done` or 5 s pass.
  bool pumpUntil(const std::function<bool()>& done) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (!done()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      bool moved = server.runTasks() | client.runTasks();
      while (!toServer.empty()) {
        Bytes d = std::move(toServer.front());
        toServer.pop_front();
        EXPECT_TRUE(server.dtls->feed(d));
        moved = true;
      }
      while (!toClient.empty()) {
        Bytes d = std::move(toClient.front());
        toClient.pop_front();
        EXPECT_TRUE(client.dtls->feed(d));
        moved = true;
      }
      if (!moved) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return true;
  }

  // The DTLS handshake (the client, as a browser, starts it), then both SCTP associations up;
  // the failure names the step.
  ::testing::AssertionResult connect() {
    if (!client.dtls->connect()) return ::testing::AssertionFailure() << "DTLS connect";
    if (!pumpUntil([&] { return server.dtls->connected() && client.dtls->connected(); }))
      return ::testing::AssertionFailure() << "DTLS handshake";
    if (!server.sctp->connect(SctpAssociation::kPort, SctpAssociation::kPort) ||
        !client.sctp->connect(SctpAssociation::kPort, SctpAssociation::kPort))
      return ::testing::AssertionFailure() << "SCTP connect";
    if (!pumpUntil([&] { return server.up && client.up; }))
      return ::testing::AssertionFailure() << "SCTP associations up";
    return ::testing::AssertionSuccess();
  }
};

TEST(DataChannel, AssociationsOverDtlsOpenChannelsAndExchangeMessages) {
  BackToBack b;
  ASSERT_TRUE(b.connect());

  // The browser's side (DTLS client) opens a channel on an even stream; the server ACKs.
  auto sid = b.client.channels->open("events");
  ASSERT_TRUE(sid) << sid.message();
  EXPECT_EQ(*sid % 2, 0);
  ASSERT_TRUE(b.pumpUntil([&] { return b.server.opened.size() == 1; }));
  EXPECT_EQ(b.server.opened[0], "events");
  ASSERT_TRUE(b.pumpUntil([&] { return b.client.channels->find(*sid)->acked; }));
  ASSERT_TRUE(b.server.channels->sendText(*sid, R"({"type":"hello"})"));
  ASSERT_TRUE(b.client.channels->sendText(*sid, R"({"type":"ping"})"));
  ASSERT_TRUE(b.pumpUntil([&] { return !b.client.texts.empty() && !b.server.texts.empty(); }));
  EXPECT_EQ(b.client.texts[0], R"({"type":"hello"})");
  EXPECT_EQ(b.server.texts[0], R"({"type":"ping"})");

  // The server opens its own channel, on an odd stream.
  auto own = b.server.channels->open("server-events");
  ASSERT_TRUE(own) << own.message();
  EXPECT_EQ(*own % 2, 1);
  ASSERT_TRUE(b.pumpUntil([&] { return b.client.opened.size() == 1; }));
  EXPECT_EQ(b.client.opened[0], "server-events");
  ASSERT_TRUE(b.pumpUntil([&] { return b.server.channels->find(*own)->acked; }));

  // A message larger than one DTLS record is fragmented by SCTP and reassembled.
  std::string big(20000, 'x');
  ASSERT_TRUE(b.server.channels->sendText(*own, big));
  ASSERT_TRUE(b.pumpUntil([&] { return b.client.texts.size() == 2; }));
  EXPECT_EQ(b.client.texts[1], big);
  EXPECT_TRUE(b.server.errors.empty()) << b.server.errors[0];
  EXPECT_TRUE(b.client.errors.empty()) << b.client.errors[0];

  // Closing resets the stream: the other side drops the channel.
  b.client.channels->close(*sid);
  ASSERT_TRUE(b.pumpUntil([&] { return b.server.channels->find(*sid) == nullptr; }));
}

// usrsctp's timers run on the stack's timer thread: a lost packet is sent again when the
// retransmission timer (about 1 s after the handshake) fires, with no traffic to prompt it.
TEST(DataChannel, ALostPacketIsRetransmittedByTheTimers) {
  BackToBack b;
  ASSERT_TRUE(b.connect());
  auto sid = b.client.channels->open("events");
  ASSERT_TRUE(sid) << sid.message();
  ASSERT_TRUE(b.pumpUntil([&] { return b.client.channels->find(*sid)->acked; }));
  ASSERT_TRUE(b.server.channels->sendText(*sid, "once"));
  b.server.runTasks();  // usrsctp's output, posted by its callback
  ASSERT_FALSE(b.toClient.empty()) << "the message left at once";
  b.toClient.clear();  // lost on the way
  auto sent = std::chrono::steady_clock::now();
  ASSERT_TRUE(b.pumpUntil([&] { return !b.client.texts.empty(); }));
  EXPECT_EQ(b.client.texts[0], "once");
  EXPECT_GE(std::chrono::steady_clock::now() - sent, std::chrono::milliseconds(500))
      << "delivered without a retransmission: the packet was not the one dropped";
}

// Context switches of this process's "sctp timers" thread (every tick is one), -1 if none.
long timerThreadSwitches() {
  for (const auto& t : std::filesystem::directory_iterator("/proc/self/task")) {
    std::ifstream comm(t.path() / "comm");
    std::string name;
    std::getline(comm, name);
    if (name != "sctp timers") continue;
    std::ifstream status(t.path() / "status");
    for (std::string line; std::getline(status, line);)
      if (line.rfind("voluntary_ctxt_switches:", 0) == 0) return std::stol(line.substr(24));
  }
  return -1;
}

TEST(DataChannel, TheTimersSleepWhileNoAssociationExists) {
  std::shared_ptr<SctpStack> stack = SctpStack::acquire();
  // The thread's first wait (a switch or two at start-up, more on a loaded machine) is not a tick.
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  long before = timerThreadSwitches();
  ASSERT_GE(before, 0) << "no sctp timers thread";
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_LE(timerThreadSwitches() - before, 1) << "the timers ticked with nothing to time";

  Peer peer;
  std::deque<Bytes> wire;
  auto id = DtlsIdentity::generate(true);
  ASSERT_TRUE(id);
  peer.make(stack, *id, &wire);
  before = timerThreadSwitches();
  // 10 ms ticks: 10 of them take 100 ms on an idle machine, longer on a loaded one.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (timerThreadSwitches() - before < 10 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_GE(timerThreadSwitches() - before, 10) << "an association exists: 10 ms ticks";
}

TEST(DataChannel, MalformedDcepAndStrayDataAreReported) {
  BackToBack b;
  ASSERT_TRUE(b.connect());
  const Bytes bad = {0x03, 0x00};
  ASSERT_TRUE(b.client.sctp->send(0, dcep::kPpidDcep, bad));
  const Bytes text = {'h', 'i'};
  ASSERT_TRUE(b.client.sctp->send(2, dcep::kPpidString, text));
  // An OPEN on an odd stream (the server's parity) from the client.
  ASSERT_TRUE(b.client.sctp->send(3, dcep::kPpidDcep, dcep::serializeOpen(dcep::Open{})));
  ASSERT_TRUE(b.pumpUntil([&] { return b.server.errors.size() == 3; }));
  EXPECT_NE(b.server.errors[0].find("OPEN"), std::string::npos) << b.server.errors[0];
  EXPECT_NE(b.server.errors[1].find("without an open channel"), std::string::npos);
  EXPECT_NE(b.server.errors[2].find("ours"), std::string::npos) << b.server.errors[2];
  EXPECT_EQ(b.server.channels->count(), 0u);
  EXPECT_EQ(b.server.channels->malformed(), 3u);
}

}  // namespace
}  // namespace xl::webrtc
