// Alternate audio (Frame::flags.alternate, MediaInfo::alternateAudio): a WebRTC publisher's
// Opus travels next to the AAC transcoded from it. Only the output formats that ask for it
// (OutputFormat::alternateAudio) see those frames, live and in the GOP a late viewer joins on;
// other formats and frame sinks never do.
#include <gtest/gtest.h>

#include <mutex>
#include <string>
#include <vector>

#include "test_util.h"
#include "two_workers.h"
#include "xueliang/stream.h"

namespace xl {
namespace {

using test::runOn;

// What a muxer (or sink) was given, as "V", "aac" or "alt:opus" per frame.
struct Seen {
  std::mutex mu;
  std::vector<std::string> frames;
  void add(const Frame& f) {
    std::lock_guard lk(mu);
    frames.push_back(f.kind == MediaKind::kVideo
                         ? "V"
                         : (f.flags.alternate ? "alt:" : "") + std::string(codecName(f.codec)));
  }
  std::vector<std::string> get() {
    std::lock_guard lk(mu);
    return frames;
  }
};

class RecordingMuxer : public Muxer {
 public:
  explicit RecordingMuxer(std::shared_ptr<Seen> seen) : seen_(std::move(seen)) {}
  BufferRef header(const MediaInfo&) override { return {}; }
  BufferRef mux(const Frame& f, const MediaInfo&) override {
    seen_->add(f);
    return BufferRef::copyOf("x");
  }

 private:
  std::shared_ptr<Seen> seen_;
};

struct RecordingSink : FrameSink {
  explicit RecordingSink(std::shared_ptr<Seen> s) : seen(std::move(s)) {}
  void onFrame(const Frame& f) override { seen->add(f); }
  std::shared_ptr<Seen> seen;
};

struct NullViewer : Viewer {
  void onJoin(const BufferRef&, const std::vector<MuxedBatch>&) override {}
  void onBatch(const MuxedBatch&) override {}
  void onStreamEnd() override {}
};

Frame frame(MediaKind kind, Codec codec, int64_t ms, bool key = false, bool alternate = false) {
  Frame f;
  f.kind = kind;
  f.codec = codec;
  f.dts = f.pts = ms;
  f.flags.key = key;
  f.flags.alternate = alternate;
  f.data = BufferRef::copyOf("payload");
  return f;
}

class StreamAlternateTest : public test::TwoWorkerTest {
 protected:
  std::shared_ptr<Seen> plain = std::make_shared<Seen>();
  std::shared_ptr<Seen> preferring = std::make_shared<Seen>();
  std::vector<OutputFormat> formats{
      {"plain", [s = plain] { return std::make_unique<RecordingMuxer>(s); }},
      {"prefers-alternate", [s = preferring] { return std::make_unique<RecordingMuxer>(s); },
       nullptr, false, false, /*alternateAudio=*/true}};
  StreamRegistry registry{{&a, &b}, formats};

  // One GOP: a keyframe, the AAC frame and the Opus it was transcoded from.
  void pushGop(Stream& s, int64_t at) {
    s.pushFrame(frame(MediaKind::kVideo, Codec::kH264, at, true));
    s.pushFrame(frame(MediaKind::kAudio, Codec::kOpus, at + 1, false, true));
    s.pushFrame(frame(MediaKind::kAudio, Codec::kAAC, at + 2));
  }
};

TEST_F(StreamAlternateTest, OnlyFormatsThatAskGetAlternateAudio) {
  auto r = registry.publish("live/whip", a, PublisherInfo{"test", "peer"});
  ASSERT_TRUE(r) << r.message();
  StreamPtr s = *r;
  auto sinkSeen = std::make_shared<Seen>();
  runOn(a, [&] {
    auto info = std::make_shared<MediaInfo>();
    info->video.emplace().codec = Codec::kH264;
    info->audio = AudioTrack{Codec::kAAC, {}, 48000, 2};
    info->alternateAudio = AudioTrack{Codec::kOpus, {}, 48000, 2};
    s->setMediaInfo(info);
    pushGop(*s, 0);  // cached: the viewers below join on it
    s->addFrameSinkWithGop(std::make_unique<RecordingSink>(sinkSeen));
  });
  NullViewer v0, v1;
  runOn(b, [&] {
    s->attach(&v0, 0, b);
    s->attach(&v1, 1, b);
  });
  settle();
  runOn(a, [&] { pushGop(*s, 100); });
  settle();
  const std::vector<std::string> without{"V", "aac", "V", "aac"};
  const std::vector<std::string> with{"V", "alt:opus", "aac", "V", "alt:opus", "aac"};
  EXPECT_EQ(plain->get(), without);  // the joining GOP, then live
  EXPECT_EQ(preferring->get(), with);
  EXPECT_EQ(sinkSeen->get(), without);
  runOn(b, [&] {
    s->detach(&v0, 0, b);
    s->detach(&v1, 1, b);
  });
  runOn(a, [&] { s->end(); });
  settle();
}

TEST_F(StreamAlternateTest, AudioOnlyStreamStartsOnMainAudioNotAlternate) {
  auto r = registry.publish("live/voice", a, PublisherInfo{"test", "peer"});
  ASSERT_TRUE(r) << r.message();
  StreamPtr s = *r;
  runOn(a, [&] {
    auto info = std::make_shared<MediaInfo>();
    info->audio = AudioTrack{Codec::kAAC, {}, 48000, 2};
    info->alternateAudio = AudioTrack{Codec::kOpus, {}, 48000, 2};
    s->setMediaInfo(info);
    s->pushFrame(frame(MediaKind::kAudio, Codec::kAAC, 0));
    s->pushFrame(frame(MediaKind::kAudio, Codec::kOpus, 1, false, true));
  });
  NullViewer v;
  runOn(b, [&] { s->attach(&v, 1, b); });
  settle();
  // The cache starts at the AAC frame and keeps the Opus after it.
  EXPECT_EQ(preferring->get(), (std::vector<std::string>{"aac", "alt:opus"}));
  runOn(b, [&] { s->detach(&v, 1, b); });
  runOn(a, [&] { s->end(); });
  settle();
}

}  // namespace
}  // namespace xl
