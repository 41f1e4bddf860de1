// Reads the demo clip's packets (H.264 AVCC access units and raw AAC frames) with libavformat,
// as the file source publishes them: millisecond timestamps and the codec configurations.
#pragma once

extern "C" {
#include <libavformat/avformat.h>
}

#include <cstdint>
#include <string>
#include <vector>

namespace xl::webrtc::test {

struct ClipPacket {
  bool video = false;
  bool key = false;
  int64_t dtsMs = 0;
  int64_t ptsMs = 0;
  std::vector<uint8_t> data;
};

struct Clip {
  std::vector<uint8_t> avcC;  // H.264 configuration record
  std::vector<uint8_t> asc;   // AAC AudioSpecificConfig
  int sampleRate = 0;
  int channels = 0;
  std::vector<ClipPacket> packets;  // in file (decode) order
};

// Empty packets on failure.
inline Clip readClip(const std::string& path, double seconds) {
  Clip c;
  AVFormatContext* fmt = nullptr;
  if (avformat_open_input(&fmt, path.c_str(), nullptr, nullptr) < 0) return c;
  if (avformat_find_stream_info(fmt, nullptr) < 0) {
    avformat_close_input(&fmt);
    return c;
  }
  int v = av_find_best_stream(fmt, AVMEDIA_TYPE_VIDEO, -1, -1, nullptr, 0);
  int a = av_find_best_stream(fmt, AVMEDIA_TYPE_AUDIO, -1, -1, nullptr, 0);
  auto extradata = [&](int i) {
    const AVCodecParameters* p = fmt->streams[i]->codecpar;
    return std::vector<uint8_t>(p->extradata, p->extradata + p->extradata_size);
  };
  if (v >= 0) c.avcC = extradata(v);
  if (a >= 0) {
    c.asc = extradata(a);
    c.sampleRate = fmt->streams[a]->codecpar->sample_rate;
    c.channels = fmt->streams[a]->codecpar->ch_layout.nb_channels;
  }
  AVPacket* pkt = av_packet_alloc();
  while (av_read_frame(fmt, pkt) >= 0) {
    if (pkt->stream_index == v || pkt->stream_index == a) {
      AVRational tb = fmt->streams[pkt->stream_index]->time_base;
      ClipPacket p;
      p.video = pkt->stream_index == v;
      p.key = (pkt->flags & AV_PKT_FLAG_KEY) != 0;
      p.dtsMs = av_rescale_q(pkt->dts, tb, AVRational{1, 1000});
      p.ptsMs = av_rescale_q(pkt->pts, tb, AVRational{1, 1000});
      p.data.assign(pkt->data, pkt->data + pkt->size);
      if (p.dtsMs < seconds * 1000) c.packets.push_back(std::move(p));
    }
    av_packet_unref(pkt);
  }
  av_packet_free(&pkt);
  avformat_close_input(&fmt);
  return c;
}

}  // namespace xl::webrtc::test
