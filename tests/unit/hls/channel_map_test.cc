// ChannelMap on real workers: a channel holds its stream, and the stream's segmenter holds the
// channel, so neither is freed until the map lets go: after the idle sweep, or at shutdown when
// each worker releases the streams it owns.
#include <gtest/gtest.h>

#include <memory>

#include "../core/test_util.h"
#include "../core/two_workers.h"
#include "hls/channel.h"
#include "xueliang/stream.h"

namespace xl::hls {
namespace {

class ChannelMapTest : public test::TwoWorkerTest {
 protected:
  // A live stream on worker `owner` with a segmenter attached, and weak views of both ends of
  // the cycle, with every other reference (the registry's, the test's) dropped.
  void attach(Worker& owner, const std::string& name) { attach(map, owner, name); }
  void attach(ChannelMap& m, Worker& owner, const std::string& name) {
    auto r = registry.publish(name, owner, PublisherInfo{"fake", "127.0.0.1:1"});
    ASSERT_TRUE(r);
    StreamPtr s = *r;
    ChannelPtr ch = m.attach(s, Container::kTs, 1);
    ASSERT_TRUE(ch);
    settle();  // the segmenter joins the stream on its owner worker
    test::runOn(owner, [&] { registry.remove(*s); });
    streams.push_back(s);
    channels.push_back(ch);
  }

  std::vector<OutputFormat> formats;
  StreamRegistry registry{{&a, &b}, formats};
  HlsSettings settings;
  ChannelMap map{{&a, &b}, &settings};
  std::vector<std::weak_ptr<Stream>> streams;
  std::vector<std::weak_ptr<Channel>> channels;
};

TEST_F(ChannelMapTest, EachWorkerReleasesTheStreamsItOwnsAndTheirChannels) {
  attach(a, "live/on-a");
  attach(b, "live/on-b");
  EXPECT_FALSE(streams[0].expired()) << "the channel holds its stream";
  EXPECT_FALSE(streams[1].expired());

  test::runOn(a, [&] { map.releaseStreamsOf(a); });
  EXPECT_TRUE(streams[0].expired()) << "worker a's stream outlived its release";
  EXPECT_FALSE(streams[1].expired()) << "worker b's stream went with worker a's";
  auto ch = channels[0].lock();
  ASSERT_TRUE(ch) << "the map still lists the channel";
  EXPECT_TRUE(ch->released());
  ch.reset();

  test::runOn(b, [&] { map.releaseStreamsOf(b); });
  EXPECT_TRUE(streams[1].expired());
}

TEST_F(ChannelMapTest, TheChannelGoesWithTheMapOnceItsStreamIsReleased) {
  {
    ChannelMap local({&a, &b}, &settings);
    attach(local, a, "live/local");
    test::runOn(a, [&] { local.releaseStreamsOf(a); });
  }
  EXPECT_TRUE(streams[0].expired());
  EXPECT_TRUE(channels[0].expired()) << "the segmenter kept its channel alive";
}

}  // namespace
}  // namespace xl::hls
