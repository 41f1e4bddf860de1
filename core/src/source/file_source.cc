#include "file_source.h"

extern "C" {
#include <libavformat/avformat.h>
}

#include <spdlog/spdlog.h>

#include <chrono>

#include "xueliang/codec.h"

namespace xl {

struct InputCloser {
  void operator()(AVFormatContext* c) const { avformat_close_input(&c); }
};

// The opened file and what it carries; moved onto the source's thread.
struct OpenedFile {
  std::unique_ptr<AVFormatContext, InputCloser> input;
  int video = -1;
  int audio = -1;
  MediaInfo info;
};

namespace {

using Clock = std::chrono::steady_clock;

struct PacketFree {
  void operator()(AVPacket* p) const { av_packet_free(&p); }
};

Result<OpenedFile> openFile(const std::string& path) {
  AVFormatContext* raw = nullptr;
  if (int rc = avformat_open_input(&raw, path.c_str(), nullptr, nullptr); rc < 0) {
    char err[128];
    av_strerror(rc, err, sizeof err);
    return Status::error(path + ": " + err);
  }
  OpenedFile o;
  o.input.reset(raw);
  if (avformat_find_stream_info(raw, nullptr) < 0) return Status::error(path + ": no stream info");
  for (unsigned i = 0; i < raw->nb_streams; ++i) {
    AVCodecParameters* p = raw->streams[i]->codecpar;
    BufferRef extra = BufferRef::copyOf(p->extradata, p->extradata_size);
    if (o.video < 0 && (p->codec_id == AV_CODEC_ID_H264 || p->codec_id == AV_CODEC_ID_HEVC)) {
      Codec c = p->codec_id == AV_CODEC_ID_H264 ? Codec::kH264 : Codec::kH265;
      auto track = videoTrackFromConfig(c, extra);
      if (!track) return Status::error(path + ": video config: " + track.message());
      o.info.video = *track;
      AVRational rate = raw->streams[i]->avg_frame_rate;
      if (rate.num > 0 && rate.den > 0) o.info.video->fps = av_q2d(rate);
      o.video = static_cast<int>(i);
    } else if (o.audio < 0 && p->codec_id == AV_CODEC_ID_AAC) {
      auto track = audioTrackFromConfig(Codec::kAAC, extra);
      if (!track) return Status::error(path + ": audio config: " + track.message());
      o.info.audio = *track;
      o.audio = static_cast<int>(i);
    }
  }
  if (o.video < 0 && o.audio < 0) return Status::error(path + ": no H.264/H.265/AAC track");
  return o;
}

struct FrameTask : Task {
  FrameTask(StreamPtr* s, Frame f) : stream(s), frame(std::move(f)) {}
  void run() override {
    if (*stream) (*stream)->pushFrame(frame);
  }
  StreamPtr* stream;
  Frame frame;
};

}  // namespace

FileSource::FileSource(FileSourceConfig cfg, ServerContext& ctx, Worker& owner)
    : cfg_(std::move(cfg)), ctx_(ctx), owner_(owner) {}

FileSource::~FileSource() {
  stop();
}

Status FileSource::start() {
  // Open once up front so a bad file fails start-up with a clear message.
  auto opened = openFile(cfg_.file);
  if (!opened) return opened.status();
  auto s = ctx_.streams->publish(cfg_.name, owner_, PublisherInfo{"file", cfg_.file});
  if (!s) return s.status();
  // Called before the owner worker runs (or on it), so touching the stream here is safe.
  stream_ = *s;
  stream_->setMediaInfo(std::make_shared<const MediaInfo>(opened->info));
  stream_->setKickHandler([] { spdlog::info("file sources cannot be kicked; ignoring"); });
  ctx_.streamStarted(*stream_);
  spdlog::info("source {}: publishing {}", cfg_.name, cfg_.file);
  thread_ = std::thread([this, o = std::move(*opened)]() mutable { run(std::move(o)); });
  return Status::ok();
}

void FileSource::stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

void FileSource::run(OpenedFile o) {
  std::unique_ptr<AVPacket, PacketFree> pkt(av_packet_alloc());
  const auto start = Clock::now();
  int64_t loopOffset = 0;  // ms added to every timestamp so loops keep time moving forward
  int64_t firstDts = INT64_MIN;
  int64_t lastDts = 0;
  while (!stop_) {
    int rc = av_read_frame(o.input.get(), pkt.get());
    if (rc < 0) {
      if (!cfg_.loop) break;
      av_seek_frame(o.input.get(), -1, 0, AVSEEK_FLAG_BACKWARD);
      loopOffset = lastDts + 40 - (firstDts == INT64_MIN ? 0 : firstDts) + loopOffset;
      firstDts = INT64_MIN;
      lastDts = 0;
      continue;
    }
    int idx = pkt->stream_index;
    if (idx != o.video && idx != o.audio) {
      av_packet_unref(pkt.get());
      continue;
    }
    AVRational tb = o.input->streams[idx]->time_base;
    int64_t dts = av_rescale_q(pkt->dts == AV_NOPTS_VALUE ? pkt->pts : pkt->dts, tb, {1, 1000});
    int64_t pts = av_rescale_q(pkt->pts == AV_NOPTS_VALUE ? pkt->dts : pkt->pts, tb, {1, 1000});
    if (firstDts == INT64_MIN) firstDts = dts;
    lastDts = std::max(lastDts, dts);
    Frame f;
    f.kind = idx == o.video ? MediaKind::kVideo : MediaKind::kAudio;
    f.codec = idx == o.video ? o.info.video->codec : Codec::kAAC;
    f.dts = dts - firstDts + loopOffset;
    f.pts = pts - firstDts + loopOffset;
    f.flags.key = f.kind == MediaKind::kVideo && (pkt->flags & AV_PKT_FLAG_KEY);
    f.data = BufferRef::copyOf(pkt->data, pkt->size);
    av_packet_unref(pkt.get());

    // Real-time pacing on the decoding timeline.
    auto due = start + std::chrono::milliseconds(f.dts);
    while (!stop_ && Clock::now() < due)
      std::this_thread::sleep_for(
          std::min<Clock::duration>(due - Clock::now(), std::chrono::milliseconds(50)));
    if (stop_) break;
    owner_.post(new FrameTask(&stream_, std::move(f)));
  }
  owner_.post([this] {
    if (!stream_) return;
    stream_->end();
    ctx_.streams->remove(*stream_);
    stream_.reset();
  });
}

}  // namespace xl
