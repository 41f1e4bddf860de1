// recorder_bench: the cost of recording N streams. Reads a clip's packets once (libavformat),
// then feeds `seconds` of media per stream into N recorder sinks as fast as the writer keeps up,
// and reports the worker-side cost per frame (the sink: ring push) and the process CPU time per
// second of media per stream (the writer thread: muxing and file writes).
//   recorder_bench CLIP.mp4 STREAMS SECONDS [ROOT]
#include <sys/resource.h>

extern "C" {
#include <libavformat/avformat.h>
}

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include <spdlog/spdlog.h>

#include "recorder.h"

using namespace xl;

namespace {

double cpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_utime.tv_sec + u.ru_stime.tv_sec + (u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: %s CLIP.mp4 STREAMS SECONDS [ROOT]\n", argv[0]);
    return 2;
  }
  spdlog::set_level(spdlog::level::warn);
  int streams = std::stoi(argv[2]);
  int seconds = std::stoi(argv[3]);
  std::string root = argc > 4 ? argv[4] : "/tmp/xl-recorder-bench";
  std::filesystem::remove_all(root);

  AVFormatContext* in = nullptr;
  if (avformat_open_input(&in, argv[1], nullptr, nullptr) < 0 ||
      avformat_find_stream_info(in, nullptr) < 0) {
    std::fprintf(stderr, "cannot read %s\n", argv[1]);
    return 1;
  }
  auto info = std::make_shared<MediaInfo>();
  int vi = -1, ai = -1;
  for (unsigned i = 0; i < in->nb_streams; ++i) {
    AVCodecParameters* p = in->streams[i]->codecpar;
    BufferRef extra = BufferRef::copyOf(p->extradata, p->extradata_size);
    if (p->codec_id == AV_CODEC_ID_H264 && vi < 0) {
      vi = i;
      info->video = VideoTrack{Codec::kH264, extra, p->width, p->height, "", 0, 0};
    } else if (p->codec_id == AV_CODEC_ID_AAC && ai < 0) {
      ai = i;
      info->audio = AudioTrack{Codec::kAAC, extra, p->sample_rate, p->ch_layout.nb_channels};
    }
  }
  std::vector<Frame> frames;
  int64_t clipMs = 0;
  AVPacket* pkt = av_packet_alloc();
  while (av_read_frame(in, pkt) >= 0) {
    if (pkt->stream_index == vi || pkt->stream_index == ai) {
      AVRational tb = in->streams[pkt->stream_index]->time_base;
      Frame f;
      f.kind = pkt->stream_index == vi ? MediaKind::kVideo : MediaKind::kAudio;
      f.codec = pkt->stream_index == vi ? Codec::kH264 : Codec::kAAC;
      f.dts = av_rescale_q(pkt->dts, tb, {1, 1000});
      f.pts = av_rescale_q(pkt->pts, tb, {1, 1000});
      f.flags.key = (pkt->flags & AV_PKT_FLAG_KEY) != 0;
      f.data = BufferRef::copyOf(pkt->data, pkt->size);
      clipMs = std::max(clipMs, f.dts + 40);
      frames.push_back(std::move(f));
    }
    av_packet_unref(pkt);
  }
  av_packet_free(&pkt);
  avformat_close_input(&in);

  auto svc = std::make_shared<recorder::RecorderService>();
  auto cfg = std::make_shared<recorder::RecorderConfig>();
  cfg->root = root;
  cfg->rules.push_back(recorder::Rule{{"*"}, true, 60, 0, 0});
  svc->setConfig(cfg);
  std::vector<std::unique_ptr<FrameSink>> sinks;
  for (int s = 0; s < streams; ++s) {
    sinks.push_back(svc->attach("bench/s" + std::to_string(s)));
    sinks.back()->onMediaInfo(info);
  }

  double cpu0 = cpuSeconds();
  auto t0 = std::chrono::steady_clock::now();
  double pushNs = 0;
  uint64_t pushes = 0;
  for (int64_t offset = 0; offset < int64_t(seconds) * 1000; offset += clipMs) {
    for (const Frame& src : frames) {
      Frame f = src;
      f.dts += offset;
      f.pts += offset;
      auto a = std::chrono::steady_clock::now();
      for (auto& sink : sinks) sink->onFrame(f);
      pushNs +=
          std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - a).count();
      pushes += sinks.size();
      // Feed no faster than ~50x real time so the rings (not the bench) set the pace.
      std::this_thread::sleep_for(std::chrono::microseconds(200 * streams / 10 + 100));
    }
  }
  std::string status = svc->statusJson();
  sinks.clear();  // streams end: the writer closes their files
  svc.reset();    // joins the writer
  double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  double cpu = cpuSeconds() - cpu0;
  uint64_t bytes = 0;
  for (auto& e : std::filesystem::recursive_directory_iterator(root))
    if (e.is_regular_file()) bytes += e.file_size();
  double media = double(seconds) * streams;
  std::printf("streams=%d media_seconds_per_stream=%d wall=%.2fs cpu=%.2fs bytes=%llu\n", streams,
              seconds, wall, cpu, static_cast<unsigned long long>(bytes));
  std::printf("sink push: %.0f ns per frame per stream (worker side)\n", pushNs / pushes);
  std::printf(
      "CPU per second of media per stream: %.3f ms -> %d real-time streams ~ %.1f%% of one "
      "core\n",
      cpu / media * 1000, streams, cpu / media * streams * 100);
  size_t clean = 0;
  for (size_t at = status.find("\"frames_dropped\":0,"); at != std::string::npos;
       at = status.find("\"frames_dropped\":0,", at + 1))
    ++clean;
  std::printf("streams without a dropped frame: %zu of %d\n", clean, streams);
  std::filesystem::remove_all(root);
  return 0;
}
