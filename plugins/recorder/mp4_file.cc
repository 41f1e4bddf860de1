#include "mp4_file.h"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/opt.h>
}

#include <cstdlib>
#include <cstring>

namespace xl::recorder {
namespace {

AVCodecID codecId(Codec c) {
  switch (c) {
    case Codec::kH264:
      return AV_CODEC_ID_H264;
    case Codec::kH265:
      return AV_CODEC_ID_HEVC;
    case Codec::kAAC:
      return AV_CODEC_ID_AAC;
    case Codec::kOpus:
      return AV_CODEC_ID_OPUS;
    case Codec::kG711A:
      return AV_CODEC_ID_PCM_ALAW;
    case Codec::kG711U:
      return AV_CODEC_ID_PCM_MULAW;
    default:
      return AV_CODEC_ID_NONE;
  }
}

void setExtradata(AVCodecParameters* par, const BufferRef& config) {
  if (!config || config.size() == 0) return;
  par->extradata = static_cast<uint8_t*>(av_mallocz(config.size() + AV_INPUT_BUFFER_PADDING_SIZE));
  std::memcpy(par->extradata, config.data(), config.size());
  par->extradata_size = static_cast<int>(config.size());
}

}  // namespace

int64_t probeDurationMs(const std::string& path) {
  AVFormatContext* in = nullptr;
  if (avformat_open_input(&in, path.c_str(), nullptr, nullptr) < 0) return 0;
  int64_t ms = 0;
  if (avformat_find_stream_info(in, nullptr) >= 0 && in->duration > 0)
    ms = av_rescale(in->duration, 1000, AV_TIME_BASE);
  avformat_close_input(&in);
  return ms;
}

std::string avError(int code) {
  char buf[AV_ERROR_MAX_STRING_SIZE] = {};
  av_strerror(code, buf, sizeof buf);
  return buf;
}

Result<std::unique_ptr<Mp4File>> Mp4File::open(const std::string& path, const MediaInfo& info,
                                               std::string* note) {
  std::unique_ptr<Mp4File> f(new Mp4File());
  f->path_ = path;
  // ISO MP4 has no sample entry for G.711; QuickTime's ("alaw"/"ulaw") does, with the same
  // fragmented layout, so such streams keep their audio in a QuickTime-branded file.
  bool g711 =
      info.audio && (info.audio->codec == Codec::kG711A || info.audio->codec == Codec::kG711U);
  int rc = avformat_alloc_output_context2(&f->oc_, nullptr, g711 ? "mov" : "mp4", path.c_str());
  if (rc < 0 || !f->oc_) return Status::error("mp4 muxer: " + avError(rc));
  f->pkt_ = av_packet_alloc();
  // Opus in MP4 is marked experimental in some libavformat versions.
  f->oc_->strict_std_compliance = FF_COMPLIANCE_EXPERIMENTAL;
  if (info.video && codecId(info.video->codec) != AV_CODEC_ID_NONE) {
    AVStream* st = avformat_new_stream(f->oc_, nullptr);
    st->time_base = {1, 1000};
    AVCodecParameters* par = st->codecpar;
    par->codec_type = AVMEDIA_TYPE_VIDEO;
    par->codec_id = codecId(info.video->codec);
    par->width = info.video->width;
    par->height = info.video->height;
    setExtradata(par, info.video->config);
    f->videoIndex_ = st->index;
  }
  if (info.audio && codecId(info.audio->codec) != AV_CODEC_ID_NONE) {
    AVCodecID id = codecId(info.audio->codec);
    if (avformat_query_codec(f->oc_->oformat, id, FF_COMPLIANCE_EXPERIMENTAL) != 1) {
      if (note)
        *note = std::string("audio codec ") + std::string(codecName(info.audio->codec)) +
                " cannot be stored in the file: recording video only";
    } else {
      AVStream* st = avformat_new_stream(f->oc_, nullptr);
      st->time_base = {1, 1000};
      AVCodecParameters* par = st->codecpar;
      par->codec_type = AVMEDIA_TYPE_AUDIO;
      par->codec_id = id;
      par->sample_rate = info.audio->sampleRate;
      av_channel_layout_default(&par->ch_layout,
                                info.audio->channels > 0 ? info.audio->channels : 1);
      if (id == AV_CODEC_ID_AAC) par->frame_size = 1024;
      setExtradata(par, info.audio->config);
      f->audioIndex_ = st->index;
    }
  }
  if (f->videoIndex_ < 0 && f->audioIndex_ < 0) return Status::error("no track to record");

  rc = avio_open(&f->oc_->pb, path.c_str(), AVIO_FLAG_WRITE);
  if (rc < 0) return Status::error("cannot create " + path + ": " + avError(rc));
  // Every packet the muxer emits (a whole fragment) goes to the file at once.
  f->oc_->flags |= AVFMT_FLAG_FLUSH_PACKETS;
  AVDictionary* opts = nullptr;
  av_dict_set(&opts, "movflags", "+frag_keyframe+empty_moov+default_base_moof", 0);
  av_dict_set(&opts, "frag_duration", "1000000", 0);
  rc = avformat_write_header(f->oc_, &opts);
  av_dict_free(&opts);
  if (rc < 0) return Status::error("cannot write " + path + ": " + avError(rc));
  f->headerWritten_ = true;
  return f;
}

Mp4File::~Mp4File() {
  if (!closed_) close();
  if (oc_) {
    if (oc_->pb) avio_closep(&oc_->pb);
    avformat_free_context(oc_);
  }
  av_packet_free(&pkt_);
}

Status Mp4File::write(const Frame& fr) {
  int index = fr.kind == MediaKind::kVideo ? videoIndex_ : audioIndex_;
  if (index < 0 || fr.flags.config || !fr.data) return Status::ok();
  if (base_ == INT64_MIN) base_ = fr.dts;
  int64_t dts = fr.dts - base_;
  if (dts < 0) return Status::ok();  // audio from before the first keyframe
  // The MP4 muxer needs strictly increasing dts per track.
  int slot = fr.kind == MediaKind::kVideo ? 0 : 1;
  if (lastDtsOf_[slot] != INT64_MIN && dts <= lastDtsOf_[slot]) dts = lastDtsOf_[slot] + 1;
  lastDtsOf_[slot] = dts;
  int64_t pts = std::max(dts, fr.pts - base_);
  last_ = std::max(last_, fr.dts);

  AVPacket* pkt = pkt_;
  // Not reference-counted: the muxer copies the bytes into its fragment buffer.
  pkt->data = const_cast<uint8_t*>(fr.data.data());
  pkt->size = static_cast<int>(fr.data.size());
  pkt->stream_index = index;
  pkt->dts = dts;
  pkt->pts = pts;
  if (fr.kind == MediaKind::kAudio || fr.flags.key) pkt->flags |= AV_PKT_FLAG_KEY;
  AVCodecParameters* par = oc_->streams[index]->codecpar;
  // Exact AAC frame durations (the millisecond timestamps are rounded), so the muxer need not
  // estimate the last sample of a fragment.
  if (par->codec_id == AV_CODEC_ID_AAC && par->sample_rate > 0) {
    AVRational tb = oc_->streams[index]->time_base;
    int64_t frame = av_rescale_q(1024, AVRational{1, par->sample_rate}, tb);
    int64_t ticks = av_rescale_q(dts, AVRational{1, 1000}, tb);
    // Follow the running sample count (no rounding jitter from millisecond timestamps).
    // Never backwards (the muxer refuses that); a jump forward of a frame or more is kept.
    if (audioNext_ != INT64_MIN && ticks < audioNext_ + frame) ticks = audioNext_;
    audioNext_ = ticks + frame;
    pkt->dts = pkt->pts = ticks;
    pkt->duration = frame;
  } else {
    av_packet_rescale_ts(pkt, AVRational{1, 1000}, oc_->streams[index]->time_base);
  }
  int rc = av_write_frame(oc_, pkt);
  // Back to defaults: the muxer may have filled fields a later frame must not inherit.
  av_packet_unref(pkt);
  if (rc < 0) return Status::error("write " + path_ + ": " + avError(rc));
  if (oc_->pb->error < 0) return Status::error("write " + path_ + ": " + avError(oc_->pb->error));
  return Status::ok();
}

Status Mp4File::close() {
  if (closed_) return Status::ok();
  closed_ = true;
  if (!headerWritten_) return Status::ok();
  int rc = av_write_trailer(oc_);
  int err = oc_->pb ? oc_->pb->error : 0;
  int crc = oc_->pb ? avio_closep(&oc_->pb) : 0;
  if (rc < 0) return Status::error("finish " + path_ + ": " + avError(rc));
  if (err < 0) return Status::error("finish " + path_ + ": " + avError(err));
  if (crc < 0) return Status::error("close " + path_ + ": " + avError(crc));
  return Status::ok();
}

uint64_t Mp4File::bytes() const {
  return oc_ && oc_->pb ? static_cast<uint64_t>(avio_tell(oc_->pb)) : 0;
}

}  // namespace xl::recorder
