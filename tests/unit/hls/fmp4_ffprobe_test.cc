// fMP4 writer against independent readers: real H.264+AAC (conf/demo/demo.mp4, with B-frames)
// and H.265+Opus (made here with ffmpeg) are demuxed with libavformat into core Frames, written
// as init segment + short fragments (LL-HLS part sized), and read back by ffprobe and ffmpeg,
// and by GStreamer's qtdemux.
#include <gtest/gtest.h>
#include <unistd.h>

extern "C" {
#include <libavformat/avformat.h>
}

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include "fmp4_reader.h"
#include "hls/fmp4_writer.h"
#include "xueliang/codec.h"

namespace xl::hls {
namespace {

namespace fs = std::filesystem;

struct Demuxed {
  MediaInfo info;
  std::vector<Frame> frames;  // in dts order, both kinds, timestamps from 0
  std::vector<bool> videoKeys;
  std::vector<int64_t> videoPts;  // ms
  size_t audioFrames = 0;
};

// Reads a file with libavformat into core Frames (ms timestamps; MP4 samples are already
// length-prefixed NAL units, the Frame form).
Demuxed demux(const std::string& path) {
  Demuxed d;
  AVFormatContext* raw = nullptr;
  if (avformat_open_input(&raw, path.c_str(), nullptr, nullptr) < 0) {
    ADD_FAILURE() << "cannot open " << path;
    return d;
  }
  std::unique_ptr<AVFormatContext, void (*)(AVFormatContext*)> fmt(
      raw, [](AVFormatContext* c) { avformat_close_input(&c); });
  avformat_find_stream_info(fmt.get(), nullptr);
  std::vector<Codec> codecs(fmt->nb_streams, Codec::kNone);
  for (unsigned i = 0; i < fmt->nb_streams; ++i) {
    const AVCodecParameters* p = fmt->streams[i]->codecpar;
    BufferRef extra = BufferRef::copyOf(p->extradata, static_cast<size_t>(p->extradata_size));
    Codec c = p->codec_id == AV_CODEC_ID_H264   ? Codec::kH264
              : p->codec_id == AV_CODEC_ID_HEVC ? Codec::kH265
              : p->codec_id == AV_CODEC_ID_AAC  ? Codec::kAAC
              : p->codec_id == AV_CODEC_ID_OPUS ? Codec::kOpus
                                                : Codec::kNone;
    if (isVideo(c) && !d.info.video) {
      auto t = videoTrackFromConfig(c, extra);
      EXPECT_TRUE(t.isOk()) << t.message();
      if (t) d.info.video = *t, codecs[i] = c;
    } else if ((c == Codec::kAAC || c == Codec::kOpus) && !d.info.audio) {
      auto t = audioTrackFromConfig(c, extra);
      EXPECT_TRUE(t.isOk()) << t.message();
      if (t) d.info.audio = *t, codecs[i] = c;
    }
  }
  std::unique_ptr<AVPacket, void (*)(AVPacket*)> pkt(av_packet_alloc(),
                                                     [](AVPacket* p) { av_packet_free(&p); });
  while (av_read_frame(fmt.get(), pkt.get()) >= 0) {
    Codec c = codecs[pkt->stream_index];
    if (c != Codec::kNone) {
      AVRational tb = fmt->streams[pkt->stream_index]->time_base;
      Frame f;
      f.codec = c;
      f.kind = isVideo(c) ? MediaKind::kVideo : MediaKind::kAudio;
      int64_t dts = pkt->dts == AV_NOPTS_VALUE ? pkt->pts : pkt->dts;
      f.dts = av_rescale_q(dts, tb, AVRational{1, 1000});
      f.pts = av_rescale_q(pkt->pts == AV_NOPTS_VALUE ? dts : pkt->pts, tb, AVRational{1, 1000});
      f.flags.key = isVideo(c) && (pkt->flags & AV_PKT_FLAG_KEY);
      f.data = BufferRef::copyOf(pkt->data, static_cast<size_t>(pkt->size));
      d.frames.push_back(std::move(f));
    }
    av_packet_unref(pkt.get());
  }
  std::stable_sort(d.frames.begin(), d.frames.end(),
                   [](const Frame& a, const Frame& b) { return a.dts < b.dts; });
  int64_t base = d.frames.empty() ? 0 : d.frames.front().dts;
  for (Frame& f : d.frames) {
    f.dts -= base;  // live sources start at 0 or later
    f.pts -= base;
    if (f.kind == MediaKind::kVideo) {
      d.videoKeys.push_back(f.flags.key);
      d.videoPts.push_back(f.pts);
    } else {
      ++d.audioFrames;
    }
  }
  return d;
}

std::string run(const std::string& cmd) {
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  pclose(p);
  return out;
}

struct TempDir {
  fs::path path = fs::temp_directory_path() / ("xl_fmp4_" + std::to_string(getpid()));
  TempDir() { fs::create_directories(path); }
  // XL_KEEP_TEST_FILES=1 keeps the written files for a look with other players.
  ~TempDir() {
    if (!std::getenv("XL_KEEP_TEST_FILES")) fs::remove_all(path);
  }
};

// Writes init + fragments (cut every ~330 ms, at any frame, like LL-HLS parts) and checks the
// decode timeline in our own boxes: video tfdt increases, audio runs on without gaps.
std::string writeFmp4(const Demuxed& d, const fs::path& out) {
  Fmp4Writer w;
  Status s = w.setMediaInfo(d.info);
  EXPECT_TRUE(s.isOk()) << s.message();
  std::ofstream f(out, std::ios::binary);
  BufferRef init = w.initSegment();
  f.write(init.view().data(), static_cast<std::streamsize>(init.size()));
  size_t begin = 0;
  uint32_t seq = 1;
  int64_t lastVideoTfdt = -1;
  uint64_t audioEnd = 0;
  bool haveAudio = false;
  auto flush = [&](size_t end) {
    std::span<const Frame> part(d.frames.data() + begin, end - begin);
    BufferRef frag = w.fragment(part, seq++);
    ASSERT_TRUE(frag);
    test::Mp4Reader r;
    r.d = frag.span();
    std::vector<test::Mp4Box> top;
    ASSERT_TRUE(r.parse(top)) << r.error;
    ASSERT_EQ(top.size(), 2u);
    for (const auto& traf : top[0].children) {
      if (traf.type != "traf") continue;
      uint64_t t = 0;
      ASSERT_TRUE(r.readTfdt(*traf.child("tfdt"), t));
      test::Mp4Reader::Trun trun;
      ASSERT_TRUE(r.readTrun(*traf.child("trun"), trun)) << r.error;
      if (r.u32(traf.child("tfhd")->body + 4) == kFmp4VideoTrackId) {
        EXPECT_GT(static_cast<int64_t>(t), lastVideoTfdt);
        lastVideoTfdt = static_cast<int64_t>(t);
      } else {
        if (haveAudio) {
          EXPECT_EQ(t, audioEnd) << "audio gap at fragment " << seq - 1;
        }
        audioEnd = t;
        for (const auto& smp : trun.samples) audioEnd += smp.duration;
        haveAudio = true;
      }
    }
    f.write(frag.view().data(), static_cast<std::streamsize>(frag.size()));
    begin = end;
  };
  for (size_t i = 1; i < d.frames.size(); ++i)
    if (d.frames[i].dts - d.frames[begin].dts >= 330) flush(i);
  flush(d.frames.size());
  return out.string();
}

struct Probe {
  std::string videoCodec, audioCodec;
  size_t videoPackets = 0, audioPackets = 0;
  double duration = 0;
  std::vector<bool> videoKeys;
  std::vector<int64_t> videoPts;  // ms, rounded
};

Probe probe(const std::string& file) {
  Probe p;
  std::istringstream streams(
      run("ffprobe -v error -show_entries stream=codec_type,codec_name "
          "-show_entries format=duration -of csv=p=0 '" +
          file + "'"));
  std::string line;
  while (std::getline(streams, line)) {
    if (line.find(",video") != std::string::npos) p.videoCodec = line.substr(0, line.find(','));
    if (line.find(",audio") != std::string::npos) p.audioCodec = line.substr(0, line.find(','));
    if (!line.empty() && line.find(',') == std::string::npos) p.duration = std::stod(line);
  }
  // noparse: keyframe flags as the container signals them (the H.264 parser would otherwise
  // re-derive them from the bitstream).
  std::istringstream pkts(
      run("ffprobe -v error -fflags +noparse -show_entries "
          "packet=codec_type,pts_time,flags -of csv=p=0 '" +
          file + "'"));
  while (std::getline(pkts, line)) {
    if (line.rfind("video,", 0) == 0) {  // video,<pts_time>,<flags>
      ++p.videoPackets;
      size_t comma = line.find(',', 6);
      p.videoPts.push_back(std::llround(std::stod(line.substr(6, comma - 6)) * 1000));
      p.videoKeys.push_back(line.find('K', comma) != std::string::npos);
    } else if (line.rfind("audio,", 0) == 0) {
      ++p.audioPackets;
    }
  }
  return p;
}

// GStreamer's qtdemux as a second reader: buffers of one track, and how many are keyframes (not
// flagged delta-unit).
struct GstCount {
  size_t buffers = 0, keys = 0;
};
GstCount gstCount(const std::string& file, const char* pad) {
  GstCount c;
  std::istringstream out(run("timeout 60 gst-launch-1.0 -v filesrc location='" + file +
                             "' ! qtdemux name=d d." + pad + " ! fakesink silent=false 2>&1"));
  std::string line;
  while (std::getline(out, line)) {
    if (line.find("last-message = chain") == std::string::npos) continue;
    ++c.buffers;
    c.keys += line.find("delta-unit") == std::string::npos;
  }
  return c;
}

// ffmpeg decodes every frame without an error message.
std::string decodeErrors(const std::string& file) {
  return run("ffmpeg -nostdin -v error -i '" + file + "' -f null - 2>&1");
}

TEST(Fmp4Ffprobe, H264AacDemoReadsBack) {
  Demuxed d = demux(XL_DEMO_MP4);
  ASSERT_TRUE(d.info.video && d.info.audio);
  ASSERT_GT(d.videoKeys.size(), 100u);
  ASSERT_GT(std::count(d.videoKeys.begin(), d.videoKeys.end(), true), 1);
  TempDir tmp;
  std::string file = writeFmp4(d, tmp.path / "demo_fmp4.mp4");
  Probe p = probe(file);
  EXPECT_EQ(p.videoCodec, "h264");
  EXPECT_EQ(p.audioCodec, "aac");
  EXPECT_EQ(p.videoPackets, d.videoKeys.size());
  EXPECT_EQ(p.audioPackets, d.audioFrames);
  EXPECT_EQ(p.videoKeys, d.videoKeys);  // same frames flagged as keyframes, in order
  EXPECT_EQ(p.videoPts, d.videoPts);    // B-frame composition offsets survive
  EXPECT_NEAR(p.duration, 10.0, 0.1);
  EXPECT_EQ(decodeErrors(file), "");
  GstCount gv = gstCount(file, "video_0"), ga = gstCount(file, "audio_0");
  EXPECT_EQ(gv.buffers, d.videoKeys.size());
  EXPECT_EQ(gv.keys, static_cast<size_t>(std::count(d.videoKeys.begin(), d.videoKeys.end(), true)));
  EXPECT_EQ(ga.buffers, d.audioFrames);
}

TEST(Fmp4Ffprobe, H265OpusReadsBack) {
  TempDir tmp;
  fs::path src = tmp.path / "src.mp4";
  std::string log =
      run("ffmpeg -nostdin -v error -f lavfi -i testsrc=size=320x240:rate=25 -f lavfi -i "
          "sine=r=48000 -t 2 -c:v libx265 -pix_fmt yuv420p -preset ultrafast -x265-params "
          "keyint=25:bframes=2:log-level=error -c:a libopus -b:a 48k -y '" +
          src.string() + "' 2>&1");
  ASSERT_TRUE(fs::exists(src)) << log;
  Demuxed d = demux(src.string());
  ASSERT_TRUE(d.info.video && d.info.audio);
  EXPECT_EQ(d.info.video->codec, Codec::kH265);
  EXPECT_EQ(d.info.audio->codec, Codec::kOpus);
  std::string file = writeFmp4(d, tmp.path / "hevc_opus_fmp4.mp4");
  Probe p = probe(file);
  EXPECT_EQ(p.videoCodec, "hevc");
  EXPECT_EQ(p.audioCodec, "opus");
  EXPECT_EQ(p.videoPackets, 50u);
  EXPECT_EQ(p.videoPackets, d.videoKeys.size());
  EXPECT_EQ(p.audioPackets, d.audioFrames);
  EXPECT_EQ(p.videoKeys, d.videoKeys);
  EXPECT_EQ(p.videoPts, d.videoPts);
  EXPECT_EQ(std::count(p.videoKeys.begin(), p.videoKeys.end(), true), 2);
  EXPECT_NEAR(p.duration, 2.0, 0.1);
  EXPECT_EQ(decodeErrors(file), "");
  GstCount gv = gstCount(file, "video_0"), ga = gstCount(file, "audio_0");
  EXPECT_EQ(gv.buffers, 50u);
  EXPECT_EQ(gv.keys, 2u);
  EXPECT_EQ(ga.buffers, d.audioFrames);
}

}  // namespace
}  // namespace xl::hls
