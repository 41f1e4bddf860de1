// AudioTranscoder: the demo clip's AAC (44.1 kHz stereo, 1024-sample frames) becomes Opus 48 kHz
// stereo in 20 ms packets with contiguous timestamps that start where the AAC started; the Opus
// decodes back to the clip's tone; garbage is skipped; a clock jump restarts the timeline; and
// the reverse direction (Opus to AAC, for WHIP streams) works with the same class.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <functional>

#include "audio_test_clip.h"
#include "webrtc/audio_transcoder.h"

namespace xl::webrtc {
namespace {

using test::Clip;
using test::readClip;

constexpr int64_t kStartMs = 5000;  // the AAC's first timestamp (not 0, to prove the mapping)

struct Collected {
  std::vector<TranscodedPacket> packets;  // data spans are dangling: only times and sizes
  std::vector<std::vector<uint8_t>> bytes;
  AudioTranscoder::Output sink() {
    return [this](const TranscodedPacket& p) {
      packets.push_back(p);
      bytes.emplace_back(p.data.begin(), p.data.end());
    };
  }
};

AudioTranscoderConfig aacToOpus(const Clip& c) {
  AudioTranscoderConfig cfg;
  cfg.decoder = "aac";
  cfg.decoderConfig = c.asc;
  cfg.encoder = "libopus";
  cfg.encoderOptions = {{"frame_duration", "20"}};
  return cfg;
}

class AudioTranscoderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    clip_ = readClip(XL_DEMO_CLIP, 4.0);
    for (auto& p : clip_.packets)
      if (!p.video) audio_.push_back(&p);
    ASSERT_GT(audio_.size(), 150u) << "could not read AAC frames from " << XL_DEMO_CLIP;
    ASSERT_EQ(clip_.sampleRate, 44100);
  }
  // Pushes the AAC frames [from, to), `shiftMs` added to their times; fails at the first refused.
  ::testing::AssertionResult push(AudioTranscoder& t, Collected& out, size_t from, size_t to,
                                  const std::function<int64_t(size_t)>& shiftMs = nullptr) {
    for (size_t i = from; i < to; ++i) {
      Status s = t.push(audio_[i]->data, audio_[i]->dtsMs + (shiftMs ? shiftMs(i) : 0), out.sink());
      if (!s) return ::testing::AssertionFailure() << "AAC frame " << i << ": " << s.message();
    }
    return ::testing::AssertionSuccess();
  }
  Clip clip_;
  std::vector<const test::ClipPacket*> audio_;
};

TEST_F(AudioTranscoderTest, AacBecomesContiguous20msOpusStartingWhereTheAacStarted) {
  auto t = AudioTranscoder::create(aacToOpus(clip_));
  ASSERT_TRUE(t) << t.message();
  AudioTranscoder& tr = **t;
  EXPECT_EQ(tr.outputSampleRate(), 48000);
  EXPECT_EQ(tr.frameSamples(), 960);
  const int delay = tr.encoderDelay();
  EXPECT_GE(delay, 0);
  EXPECT_LT(delay, 960);
  Collected out;
  const int64_t first = audio_.front()->dtsMs;
  for (auto* p : audio_) ASSERT_TRUE(tr.push(p->data, p->dtsMs - first + kStartMs, out.sink()));
  tr.flush(out.sink());
  EXPECT_EQ(tr.framesIn(), audio_.size());
  EXPECT_EQ(tr.errors(), 0u);

  // Input: N frames of 1024 samples at 44.1 kHz = this many 48 kHz samples (plus the encoder's
  // look-ahead, which the flush emits): one 20 ms packet per 960 of them, rounded up.
  const double inSamples48 = audio_.size() * 1024.0 * 48000 / 44100;
  const double expected = std::ceil((inSamples48 + delay) / 960.0);
  ASSERT_FALSE(out.packets.empty());
  EXPECT_NEAR(static_cast<double>(out.packets.size()), expected, 1.0)
      << audio_.size() << " AAC frames";
  EXPECT_EQ(tr.packetsOut(), out.packets.size());

  // The first packet's first sample is the AAC's first sample, less the encoder's look-ahead.
  EXPECT_EQ(out.packets.front().time, kStartMs * 48 - delay);
  for (size_t i = 0; i < out.packets.size(); ++i) {
    // Every packet holds 20 ms; the flushed last one says how much of it is real audio.
    if (i + 1 < out.packets.size()) {
      EXPECT_EQ(out.packets[i].samples, 960) << i;
    }
    EXPECT_GT(out.packets[i].samples, 0) << i;
    EXPECT_EQ(out.packets[i].time, out.packets.front().time + static_cast<int64_t>(i) * 960) << i;
    EXPECT_FALSE(out.bytes[i].empty()) << i;
    EXPECT_LT(out.bytes[i].size(), 1275u) << i;  // RFC 6716 §3.4 R2: at most 1275 bytes
  }
}

TEST_F(AudioTranscoderTest, TheOpusDecodesBackToTheClipsTone) {
  auto t = AudioTranscoder::create(aacToOpus(clip_));
  ASSERT_TRUE(t) << t.message();
  Collected opus;
  ASSERT_TRUE(push(**t, opus, 0, audio_.size()));
  // Opus back to PCM with the same class: signed 16-bit interleaved stereo at 48 kHz.
  AudioTranscoderConfig back;
  back.decoder = "libopus";
  back.inputSampleRate = 48000;
  back.inputChannels = 2;
  back.encoder = "pcm_s16le";
  auto d = AudioTranscoder::create(back);
  ASSERT_TRUE(d) << d.message();
  std::vector<int16_t> pcm;
  for (size_t i = 0; i < opus.packets.size(); ++i) {
    ASSERT_TRUE(
        (*d)->push(opus.bytes[i], opus.packets[i].time / 48, [&](const TranscodedPacket& p) {
          size_t n = p.data.size() / 2;
          size_t at = pcm.size();
          pcm.resize(at + n);
          std::memcpy(pcm.data() + at, p.data.data(), n * 2);
        }));
  }
  ASSERT_GT(pcm.size(), 48000u * 2 * 3) << "at least 3 s of stereo PCM";
  // The clip's audio is a 440 Hz sine with a short 1760 Hz beep every second: loud, and about
  // 880 sign changes per second on the left channel (a little more for the beeps).
  double energy = 0;
  size_t crossings = 0, loud = 0;
  for (size_t i = 2; i + 1 < pcm.size(); i += 2) {
    energy += double(pcm[i]) * pcm[i];
    if (std::abs(pcm[i]) > 2000) ++loud;
    if ((pcm[i] >= 0) != (pcm[i - 2] >= 0)) ++crossings;
  }
  const double seconds = pcm.size() / 2 / 48000.0;
  const double rms = std::sqrt(energy / (pcm.size() / 2));
  EXPECT_GT(rms, 1000.0) << "decoded Opus is (nearly) silent";
  EXPECT_GT(loud, pcm.size() / 2 / 4);
  EXPECT_GT(crossings / seconds, 820.0);
  EXPECT_LT(crossings / seconds, 1150.0);
}

TEST_F(AudioTranscoderTest, GarbageFramesAreSkippedAndCounted) {
  auto t = AudioTranscoder::create(aacToOpus(clip_));
  ASSERT_TRUE(t) << t.message();
  Collected out;
  ASSERT_TRUE(push(**t, out, 0, 20));
  const std::vector<uint8_t> junk(300, 0xff);
  Status s = (*t)->push(junk, audio_[20]->dtsMs, out.sink());
  EXPECT_FALSE(s);
  EXPECT_FALSE(s.message().empty());
  EXPECT_FALSE((*t)->push({}, audio_[20]->dtsMs, out.sink()));
  EXPECT_GE((*t)->errors(), 1u);
  const size_t before = out.packets.size();
  for (size_t i = 20; i < 60; ++i)
    EXPECT_TRUE((*t)->push(audio_[i]->data, audio_[i]->dtsMs, out.sink()));
  EXPECT_GT(out.packets.size(), before + 30) << "the stream goes on after a bad frame";
}

TEST_F(AudioTranscoderTest, AClockJumpStartsANewRunAtTheNewTime) {
  auto t = AudioTranscoder::create(aacToOpus(clip_));
  ASSERT_TRUE(t) << t.message();
  Collected out;
  ASSERT_TRUE(push(**t, out, 0, 50));
  // Small source jitter (a few ms) does not disturb the timeline.
  ASSERT_TRUE(push(**t, out, 50, 100, [](size_t i) { return int64_t(i % 3) - 1; }));
  const size_t beforeJump = out.packets.size();
  for (size_t i = 1; i < beforeJump; ++i)
    EXPECT_EQ(out.packets[i].time - out.packets[i - 1].time, 960);
  // The source loops: timestamps jump 60 s ahead.
  const int64_t jumpMs = audio_[100]->dtsMs + 60000;
  ASSERT_TRUE(push(**t, out, 100, 150, [](size_t) { return int64_t{60000}; }));
  ASSERT_GT(out.packets.size(), beforeJump + 40);
  const TranscodedPacket& last = out.packets.back();
  const int64_t lastInputEnd48 = (audio_[149]->dtsMs + 60000) * 48 + 1024 * 48000 / 44100;
  EXPECT_LE(last.time, lastInputEnd48);
  EXPECT_GE(last.time, jumpMs * 48);
  for (size_t i = 1; i < out.packets.size(); ++i)
    EXPECT_GT(out.packets[i].time, out.packets[i - 1].time) << "timestamps stay monotonic";
}

TEST_F(AudioTranscoderTest, OpusToAacForWhipStreams) {
  auto t = AudioTranscoder::create(aacToOpus(clip_));
  ASSERT_TRUE(t) << t.message();
  Collected opus;
  ASSERT_TRUE(push(**t, opus, 0, 100));
  AudioTranscoderConfig c;
  c.decoder = "libopus";
  c.inputSampleRate = 48000;
  c.inputChannels = 2;
  c.encoder = "aac";
  c.outputSampleRate = 48000;
  c.bitrate = 128000;
  auto back = AudioTranscoder::create(c);
  ASSERT_TRUE(back) << back.message();
  EXPECT_EQ((*back)->frameSamples(), 1024);
  EXPECT_GE((*back)->encoderConfig().size(), 2u) << "an AudioSpecificConfig for FLV/MP4";
  Collected aac;
  for (size_t i = 0; i < opus.packets.size(); ++i)
    ASSERT_TRUE((*back)->push(opus.bytes[i], opus.packets[i].time / 48, aac.sink()));
  EXPECT_GT(aac.packets.size(), 80u);
  for (size_t i = 1; i < aac.packets.size(); ++i)
    EXPECT_EQ(aac.packets[i].time - aac.packets[i - 1].time, 1024) << i;
}

TEST(AudioTranscoderCreate, UnknownCodecsAndBadConfigsAreErrors) {
  AudioTranscoderConfig c;
  c.decoder = "no-such-codec";
  c.encoder = "libopus";
  EXPECT_FALSE(AudioTranscoder::create(c));
  c.decoder = "h264";  // a video decoder
  EXPECT_FALSE(AudioTranscoder::create(c));
  c.decoder = "aac";
  c.encoder = "nope";
  EXPECT_FALSE(AudioTranscoder::create(c));
  c.encoder = "libopus";
  c.outputChannels = 0;
  EXPECT_FALSE(AudioTranscoder::create(c));
}

}  // namespace
}  // namespace xl::webrtc
