#include "webrtc/audio_transcoder.h"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavutil/audio_fifo.h>
#include <libavutil/channel_layout.h>
#include <libavutil/opt.h>
#include <libswresample/swresample.h>
}

#include <cstring>
#include <deque>

namespace xl::webrtc {
namespace {

std::string averr(int e) {
  char b[AV_ERROR_MAX_STRING_SIZE] = {};
  av_strerror(e, b, sizeof b);
  return b;
}

struct CodecCtxFree {
  void operator()(AVCodecContext* c) const { avcodec_free_context(&c); }
};
struct FrameFree {
  void operator()(AVFrame* f) const { av_frame_free(&f); }
};
struct PacketFree {
  void operator()(AVPacket* p) const { av_packet_free(&p); }
};
struct SwrFree {
  void operator()(SwrContext* s) const { swr_free(&s); }
};
struct FifoFree {
  void operator()(AVAudioFifo* f) const { av_audio_fifo_free(f); }
};

}  // namespace

struct AudioTranscoder::State {
  std::unique_ptr<AVCodecContext, CodecCtxFree> dec, enc;
  std::unique_ptr<AVFrame, FrameFree> decoded, encFrame;
  std::unique_ptr<AVPacket, PacketFree> inPkt, outPkt;
  std::unique_ptr<SwrContext, SwrFree> swr;
  std::unique_ptr<AVAudioFifo, FifoFree> fifo;
  // The resampler's input format; a decoder may change it mid-stream (HE-AAC, new config).
  int swrRate = 0;
  AVSampleFormat swrFmt = AV_SAMPLE_FMT_NONE;
  AVChannelLayout swrLayout{};
  // Resampled samples, grown to the largest frame seen, then reused.
  uint8_t** convBuf = nullptr;
  int convCapacity = 0;
  std::vector<uint8_t> inBuf;  // the input frame with the padding libavcodec reads past its end

  int outRate = 48000;
  int frameSize = 960;
  bool finished = false;
  // Encoder clock: output samples handed to the encoder so far (the pts of the next frame).
  int64_t encoded = 0;
  // Where runs of input start: encoder clock `e` is input time `t` (both in output samples).
  struct Anchor {
    int64_t e;
    int64_t t;
  };
  std::deque<Anchor> anchors;
  // The current run of input, to tell a continuation from a jump.
  bool inRun = false;
  int64_t runStartMs = 0;
  int64_t runInputSamples = 0;
  int runInputRate = 0;

  uint64_t framesIn = 0, errors = 0, packetsOut = 0;

  ~State() {
    if (convBuf) av_freep(&convBuf[0]);
    av_freep(&convBuf);
    av_channel_layout_uninit(&swrLayout);
  }

  int64_t fifoEnd() const { return encoded + av_audio_fifo_size(fifo.get()); }

  int64_t timeOf(int64_t e) const {
    const Anchor* a = &anchors.front();
    for (const Anchor& x : anchors) {
      if (x.e > e) break;
      a = &x;
    }
    return a->t + (e - a->e);
  }

  Status openResampler(const AVFrame& f) {
    if (swr) drainResampler();
    SwrContext* s = nullptr;
    // FFmpeg 5.1 declares the layouts non-const; it only reads them.
    int r = swr_alloc_set_opts2(&s, &enc->ch_layout, enc->sample_fmt, enc->sample_rate,
                                const_cast<AVChannelLayout*>(&f.ch_layout),
                                static_cast<AVSampleFormat>(f.format), f.sample_rate, 0, nullptr);
    if (r < 0 || !s) return Status::error("swr_alloc_set_opts2: " + averr(r));
    swr.reset(s);
    if ((r = swr_init(s)) < 0) {
      swr.reset();
      return Status::error("swr_init: " + averr(r));
    }
    swrRate = f.sample_rate;
    swrFmt = static_cast<AVSampleFormat>(f.format);
    av_channel_layout_uninit(&swrLayout);
    av_channel_layout_copy(&swrLayout, &f.ch_layout);
    return Status::ok();
  }

  // Resamples `in` (or, with nullptr, what the resampler still holds) into the FIFO.
  Status resample(const AVFrame* in) {
    int want = swr_get_out_samples(swr.get(), in ? in->nb_samples : 0);
    if (want < 0) return Status::error("swr_get_out_samples: " + averr(want));
    if (want > convCapacity) {
      if (convBuf) av_freep(&convBuf[0]);
      av_freep(&convBuf);
      int r = av_samples_alloc_array_and_samples(&convBuf, nullptr, enc->ch_layout.nb_channels,
                                                 want, enc->sample_fmt, 0);
      if (r < 0) return Status::error("av_samples_alloc: " + averr(r));
      convCapacity = want;
    }
    int n = swr_convert(swr.get(), convBuf, convCapacity,
                        in ? const_cast<const uint8_t**>(in->extended_data) : nullptr,
                        in ? in->nb_samples : 0);
    if (n < 0) return Status::error("swr_convert: " + averr(n));
    if (n > 0 && av_audio_fifo_write(fifo.get(), reinterpret_cast<void**>(convBuf), n) < n)
      return Status::error("av_audio_fifo_write failed");
    return Status::ok();
  }

  void drainResampler() {
    if (swr) (void)resample(nullptr);
  }

  void receivePackets(const Output& out) {
    while (avcodec_receive_packet(enc.get(), outPkt.get()) == 0) {
      TranscodedPacket p;
      p.data = {outPkt->data, static_cast<size_t>(outPkt->size)};
      p.time = timeOf(outPkt->pts);
      p.samples = outPkt->duration > 0 ? static_cast<int>(outPkt->duration) : frameSize;
      ++packetsOut;
      // Anchors before the one this packet maps through are no longer needed.
      while (anchors.size() > 1 && anchors[1].e <= outPkt->pts) anchors.pop_front();
      out(p);
      av_packet_unref(outPkt.get());
    }
  }

  Status encodeFrame(const Output& out) {
    int r = av_frame_make_writable(encFrame.get());  // the encoder may still hold the last one
    if (r < 0) return Status::error("av_frame_make_writable: " + averr(r));
    int n = av_audio_fifo_read(fifo.get(), reinterpret_cast<void**>(encFrame->data), frameSize);
    if (n < frameSize)
      av_samples_set_silence(encFrame->data, n, frameSize - n, enc->ch_layout.nb_channels,
                             enc->sample_fmt);
    encFrame->nb_samples = frameSize;
    encFrame->pts = encoded;
    encoded += frameSize;
    if ((r = avcodec_send_frame(enc.get(), encFrame.get())) < 0)
      return Status::error("encoder: " + averr(r));
    receivePackets(out);
    return Status::ok();
  }
};

AudioTranscoder::AudioTranscoder(std::unique_ptr<State> s) : s_(std::move(s)) {}
AudioTranscoder::~AudioTranscoder() = default;

Result<std::unique_ptr<AudioTranscoder>> AudioTranscoder::create(const AudioTranscoderConfig& c) {
  const AVCodec* dc = avcodec_find_decoder_by_name(c.decoder.c_str());
  if (!dc || dc->type != AVMEDIA_TYPE_AUDIO)
    return Status::error("no libavcodec audio decoder '" + c.decoder + "'");
  const AVCodec* ec = avcodec_find_encoder_by_name(c.encoder.c_str());
  if (!ec || ec->type != AVMEDIA_TYPE_AUDIO)
    return Status::error("no libavcodec audio encoder '" + c.encoder + "'");
  if (c.outputSampleRate <= 0 || c.outputChannels <= 0 || c.outputChannels > 8)
    return Status::error("bad output sample rate or channel count");
  auto s = std::make_unique<State>();

  s->dec.reset(avcodec_alloc_context3(dc));
  if (!s->dec) return Status::error("out of memory");
  if (!c.decoderConfig.empty()) {
    s->dec->extradata =
        static_cast<uint8_t*>(av_mallocz(c.decoderConfig.size() + AV_INPUT_BUFFER_PADDING_SIZE));
    if (!s->dec->extradata) return Status::error("out of memory");
    std::memcpy(s->dec->extradata, c.decoderConfig.data(), c.decoderConfig.size());
    s->dec->extradata_size = static_cast<int>(c.decoderConfig.size());
  }
  if (c.inputSampleRate > 0) s->dec->sample_rate = c.inputSampleRate;
  if (c.inputChannels > 0) av_channel_layout_default(&s->dec->ch_layout, c.inputChannels);
  if (int r = avcodec_open2(s->dec.get(), dc, nullptr); r < 0)
    return Status::error("cannot open decoder " + c.decoder + ": " + averr(r));

  s->enc.reset(avcodec_alloc_context3(ec));
  if (!s->enc) return Status::error("out of memory");
  AVCodecContext* e = s->enc.get();
  e->sample_rate = c.outputSampleRate;
  av_channel_layout_default(&e->ch_layout, c.outputChannels);
  e->sample_fmt = ec->sample_fmts ? ec->sample_fmts[0] : AV_SAMPLE_FMT_FLTP;
  e->bit_rate = c.bitrate;
  e->time_base = AVRational{1, c.outputSampleRate};
  AVDictionary* opts = nullptr;
  for (auto& [k, v] : c.encoderOptions) av_dict_set(&opts, k.c_str(), v.c_str(), 0);
  int r = avcodec_open2(e, ec, &opts);
  av_dict_free(&opts);
  if (r < 0) return Status::error("cannot open encoder " + c.encoder + ": " + averr(r));
  s->outRate = c.outputSampleRate;
  s->frameSize = e->frame_size > 0 ? e->frame_size : c.outputSampleRate / 50;

  s->decoded.reset(av_frame_alloc());
  s->encFrame.reset(av_frame_alloc());
  s->inPkt.reset(av_packet_alloc());
  s->outPkt.reset(av_packet_alloc());
  s->fifo.reset(av_audio_fifo_alloc(e->sample_fmt, e->ch_layout.nb_channels, 4 * s->frameSize));
  if (!s->decoded || !s->encFrame || !s->inPkt || !s->outPkt || !s->fifo)
    return Status::error("out of memory");
  AVFrame* f = s->encFrame.get();
  f->format = e->sample_fmt;
  f->sample_rate = e->sample_rate;
  f->nb_samples = s->frameSize;
  av_channel_layout_copy(&f->ch_layout, &e->ch_layout);
  if ((r = av_frame_get_buffer(f, 0)) < 0) return Status::error("av_frame_get_buffer: " + averr(r));
  return std::unique_ptr<AudioTranscoder>(new AudioTranscoder(std::move(s)));
}

Status AudioTranscoder::push(std::span<const uint8_t> frame, int64_t timeMs, const Output& out) {
  State& s = *s_;
  if (s.finished) return Status::error("transcoder already flushed");
  if (frame.empty()) return Status::error("empty audio frame");
  s.inBuf.resize(frame.size() + AV_INPUT_BUFFER_PADDING_SIZE);
  std::memcpy(s.inBuf.data(), frame.data(), frame.size());
  std::memset(s.inBuf.data() + frame.size(), 0, AV_INPUT_BUFFER_PADDING_SIZE);
  AVPacket* pkt = s.inPkt.get();
  pkt->data = s.inBuf.data();
  pkt->size = static_cast<int>(frame.size());
  int r = avcodec_send_packet(s.dec.get(), pkt);
  if (r < 0) {
    ++s.errors;
    return Status::error("decoder: " + averr(r));
  }
  Status result = Status::ok();
  AVFrame* d = s.decoded.get();
  while ((r = avcodec_receive_frame(s.dec.get(), d)) == 0) {
    ++s.framesIn;
    // A jump in the input clock starts a new run at the frame's own time (see the header).
    const int64_t expectedMs =
        s.inRun ? s.runStartMs + s.runInputSamples * 1000 / s.runInputRate : timeMs;
    if (!s.inRun || d->sample_rate != s.runInputRate ||
        std::abs(timeMs - expectedMs) > kMaxJitterMs) {
      s.drainResampler();
      s.anchors.push_back({s.fifoEnd(), timeMs * s.outRate / 1000});
      s.inRun = true;
      s.runStartMs = timeMs;
      s.runInputSamples = 0;
      s.runInputRate = d->sample_rate;
    }
    s.runInputSamples += d->nb_samples;
    if (!s.swr || d->sample_rate != s.swrRate || d->format != s.swrFmt ||
        av_channel_layout_compare(&d->ch_layout, &s.swrLayout) != 0) {
      if (Status st = s.openResampler(*d); !st) {
        av_frame_unref(d);
        ++s.errors;
        return st;
      }
    }
    Status st = s.resample(d);
    av_frame_unref(d);
    if (!st) {
      ++s.errors;
      return st;
    }
    while (av_audio_fifo_size(s.fifo.get()) >= s.frameSize) {
      if (Status e = s.encodeFrame(out); !e) result = e;
    }
  }
  if (r != AVERROR(EAGAIN) && r != AVERROR_EOF) {
    ++s.errors;
    return Status::error("decoder: " + averr(r));
  }
  return result;
}

void AudioTranscoder::flush(const Output& out) {
  State& s = *s_;
  if (s.finished) return;
  s.finished = true;
  if (s.anchors.empty()) return;  // nothing was ever decoded
  s.drainResampler();
  while (av_audio_fifo_size(s.fifo.get()) > 0) {
    if (!s.encodeFrame(out)) break;
  }
  avcodec_send_frame(s.enc.get(), nullptr);
  s.receivePackets(out);
}

std::span<const uint8_t> AudioTranscoder::encoderConfig() const {
  const AVCodecContext* e = s_->enc.get();
  return {e->extradata, static_cast<size_t>(e->extradata_size)};
}
int AudioTranscoder::outputSampleRate() const {
  return s_->outRate;
}
int AudioTranscoder::frameSamples() const {
  return s_->frameSize;
}
int AudioTranscoder::encoderDelay() const {
  return s_->enc->initial_padding;
}
uint64_t AudioTranscoder::framesIn() const {
  return s_->framesIn;
}
uint64_t AudioTranscoder::errors() const {
  return s_->errors;
}
uint64_t AudioTranscoder::packetsOut() const {
  return s_->packetsOut;
}

}  // namespace xl::webrtc
