#include "export.h"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
}
#include <openssl/evp.h>

#include <memory>

#include "mp4_file.h"

namespace xl::recorder {
namespace {

struct InputCloser {
  void operator()(AVFormatContext* c) const { avformat_close_input(&c); }
};
struct OutputCloser {
  void operator()(AVFormatContext* c) const {
    if (c->pb) {
      uint8_t* buf = nullptr;
      avio_close_dyn_buf(c->pb, &buf);
      av_free(buf);
      c->pb = nullptr;
    }
    avformat_free_context(c);
  }
};
struct PacketFree {
  void operator()(AVPacket* p) const { av_packet_free(&p); }
};

}  // namespace

Result<BufferRef> exportRange(const std::vector<SegmentFile>& segments, int64_t fromMs,
                              int64_t toMs) {
  if (segments.empty()) return Status::error("nothing recorded in that range");
  std::unique_ptr<AVFormatContext, OutputCloser> out;
  std::vector<int> map;  // input stream -> output stream, for the first file's layout
  std::vector<std::unique_ptr<AVPacket, PacketFree>> pending;  // the GOP before `from`
  int64_t base = INT64_MIN;  // absolute ms of the first packet written
  std::vector<int64_t> lastDts;
  std::unique_ptr<AVPacket, PacketFree> pkt(av_packet_alloc());

  auto write = [&](AVPacket* p, int64_t absMs, const AVRational& inTb) -> Status {
    if (base == INT64_MIN) base = absMs;
    AVStream* os = out->streams[p->stream_index];
    int64_t shift = av_rescale_q(base, AVRational{1, 1000}, inTb);
    p->dts -= shift;
    p->pts -= shift;
    av_packet_rescale_ts(p, inTb, os->time_base);
    if (p->dts <= lastDts[p->stream_index]) p->dts = lastDts[p->stream_index] + 1;
    if (p->pts < p->dts) p->pts = p->dts;
    lastDts[p->stream_index] = p->dts;
    p->pos = -1;
    int rc = av_write_frame(out.get(), p);
    return rc < 0 ? Status::error("export: " + avError(rc)) : Status::ok();
  };

  bool done = false;
  for (const SegmentFile& seg : segments) {
    if (done) break;
    AVFormatContext* raw = nullptr;
    if (avformat_open_input(&raw, seg.path.c_str(), nullptr, nullptr) < 0) continue;
    std::unique_ptr<AVFormatContext, InputCloser> in(raw);
    if (avformat_find_stream_info(in.get(), nullptr) < 0) continue;
    if (!out) {
      AVFormatContext* o = nullptr;
      if (avformat_alloc_output_context2(&o, nullptr, "mp4", nullptr) < 0 || !o)
        return Status::error("export: no mp4 muxer");
      out.reset(o);
      for (unsigned i = 0; i < in->nb_streams; ++i) {
        AVStream* os = avformat_new_stream(out.get(), nullptr);
        avcodec_parameters_copy(os->codecpar, in->streams[i]->codecpar);
        os->codecpar->codec_tag = 0;
        os->time_base = in->streams[i]->time_base;
      }
      lastDts.assign(in->nb_streams, INT64_MIN);
      if (avio_open_dyn_buf(&out->pb) < 0) return Status::error("export: out of memory");
      AVDictionary* opts = nullptr;
      // A non-seekable memory output: fragmented, as the recordings are.
      av_dict_set(&opts, "movflags", "+frag_keyframe+empty_moov+default_base_moof", 0);
      int rc = avformat_write_header(out.get(), &opts);
      av_dict_free(&opts);
      if (rc < 0) return Status::error("export: " + avError(rc));
    }
    if (in->nb_streams != out->nb_streams) continue;  // another layout: not this clip
    int videoIndex = av_find_best_stream(in.get(), AVMEDIA_TYPE_VIDEO, -1, -1, nullptr, 0);
    while (av_read_frame(in.get(), pkt.get()) >= 0) {
      AVRational tb = in->streams[pkt->stream_index]->time_base;
      int64_t ts = pkt->dts != AV_NOPTS_VALUE ? pkt->dts : pkt->pts;
      int64_t absMs = seg.startEpochMs + av_rescale_q(ts, tb, AVRational{1, 1000});
      bool key =
          (videoIndex < 0 || pkt->stream_index == videoIndex) && (pkt->flags & AV_PKT_FLAG_KEY);
      if (absMs >= toMs) {
        if (pkt->stream_index == videoIndex || videoIndex < 0) done = true;
        av_packet_unref(pkt.get());
        if (done) break;
        continue;
      }
      if (base == INT64_MIN && absMs < fromMs) {
        // Before the range: keep only the GOP the clip must start with.
        if (key) pending.clear();
        if (key || !pending.empty()) {
          pending.emplace_back(av_packet_clone(pkt.get()));
          pending.back()->opaque = reinterpret_cast<void*>(static_cast<intptr_t>(absMs));
        }
        av_packet_unref(pkt.get());
        continue;
      }
      if (base == INT64_MIN) {
        for (auto& p : pending) {
          int64_t pAbs = static_cast<int64_t>(reinterpret_cast<intptr_t>(p->opaque));
          p->opaque = nullptr;
          if (Status s = write(p.get(), pAbs, in->streams[p->stream_index]->time_base); !s)
            return s;
        }
        pending.clear();
        if (base == INT64_MIN && !key) {  // the range starts without a keyframe before it
          av_packet_unref(pkt.get());
          continue;
        }
      }
      if (Status s = write(pkt.get(), absMs, tb); !s) return s;
      av_packet_unref(pkt.get());
    }
  }
  if (!out || base == INT64_MIN) return Status::error("nothing recorded in that range");
  int rc = av_write_trailer(out.get());
  if (rc < 0) return Status::error("export: " + avError(rc));
  uint8_t* buf = nullptr;
  int size = avio_close_dyn_buf(out->pb, &buf);
  out->pb = nullptr;
  BufferRef bytes = BufferRef::copyOf(buf, size > 0 ? size : 0);
  av_free(buf);
  return bytes;
}

std::string sha256Hex(const BufferRef& bytes) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr);
  EVP_DigestUpdate(ctx.get(), bytes.data(), bytes.size());
  EVP_DigestFinal_ex(ctx.get(), md, &len);
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < len; ++i) {
    out += hex[md[i] >> 4];
    out += hex[md[i] & 15];
  }
  return out;
}

}  // namespace xl::recorder
