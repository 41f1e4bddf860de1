// AAC to Opus: the first second of the demo clip's audio (44.1 kHz stereo AAC-LC: 44 frames,
// 1.02 s) decoded, resampled to 48 kHz and encoded as 51 Opus packets of 20 ms. A stream pays this
// once, however many WebRTC viewers it has; 1.02 s divided by the CPU time per iteration is the
// number of streams one core could transcode.
#include <benchmark/benchmark.h>

extern "C" {
#include <libavformat/avformat.h>
}

#include <vector>

#include "webrtc/audio_transcoder.h"

namespace xl::bench {
namespace {

struct AacSecond {
  std::vector<uint8_t> asc;
  std::vector<std::vector<uint8_t>> frames;
  std::vector<int64_t> ms;
};

AacSecond readAacSecond() {
  AacSecond s;
  AVFormatContext* fmt = nullptr;
  if (avformat_open_input(&fmt, XL_DEMO_CLIP, nullptr, nullptr) < 0) return s;
  avformat_find_stream_info(fmt, nullptr);
  int a = av_find_best_stream(fmt, AVMEDIA_TYPE_AUDIO, -1, -1, nullptr, 0);
  if (a >= 0) {
    const AVCodecParameters* p = fmt->streams[a]->codecpar;
    s.asc.assign(p->extradata, p->extradata + p->extradata_size);
    AVPacket* pkt = av_packet_alloc();
    while (av_read_frame(fmt, pkt) >= 0) {
      int64_t ms = av_rescale_q(pkt->dts, fmt->streams[a]->time_base, AVRational{1, 1000});
      if (pkt->stream_index == a && ms >= 0 && ms < 1000) {
        s.frames.emplace_back(pkt->data, pkt->data + pkt->size);
        s.ms.push_back(ms);
      }
      av_packet_unref(pkt);
    }
    av_packet_free(&pkt);
  }
  avformat_close_input(&fmt);
  return s;
}

void BM_TranscodeAacToOpusOneSecond(benchmark::State& state) {
  static const AacSecond in = readAacSecond();
  if (in.frames.empty()) return state.SkipWithError("cannot read AAC from " XL_DEMO_CLIP);
  webrtc::AudioTranscoderConfig c;
  c.decoder = "aac";
  c.decoderConfig = in.asc;
  c.encoder = "libopus";
  c.encoderOptions = {{"frame_duration", "20"}};
  auto t = webrtc::AudioTranscoder::create(c);
  if (!t) return state.SkipWithError(t.message().c_str());
  size_t packets = 0, bytes = 0;
  int64_t base = 0;
  for (auto _ : state) {
    // The same second again and again, on a continuous clock, as a looping source would send.
    for (size_t i = 0; i < in.frames.size(); ++i) {
      (void)(*t)->push(in.frames[i], base + in.ms[i], [&](const webrtc::TranscodedPacket& p) {
        ++packets;
        bytes += p.data.size();
      });
    }
    base += static_cast<int64_t>(in.frames.size()) * 1024 * 1000 / 44100;
  }
  state.counters["opus_packets_per_s"] =
      benchmark::Counter(static_cast<double>(packets) / static_cast<double>(state.iterations()));
  state.counters["opus_kbps"] = benchmark::Counter(static_cast<double>(bytes) * 8 / 1000 /
                                                   static_cast<double>(state.iterations()));
}
BENCHMARK(BM_TranscodeAacToOpusOneSecond)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace xl::bench
