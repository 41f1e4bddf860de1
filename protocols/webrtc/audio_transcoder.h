// AudioTranscoder: encoded audio of one codec in, encoded audio of another out, with libavcodec:
// decode, resample and remix (libswresample), regroup the samples into the encoder's frame size,
// encode. Any libavcodec audio decoder and encoder pair works, named as libavcodec names them:
// "aac" -> "libopus" for WebRTC viewers of camera streams, "libopus" -> "aac" for WHIP streams
// watched over RTMP/HLS.
//
// Timing: output timestamps stay on the input's clock. The input is treated as one continuous
// run of samples from the first frame's timestamp; a frame more than kMaxJitterMs away from
// where the previous one ended starts a new run at its own timestamp (a gap, a loop or a clock
// jump), so small millisecond rounding in source timestamps never makes the output jitter.
// Each output packet carries the time of its first sample including the encoder's delay
// (libopus looks 6.5 ms ahead), so the decoded audio lines up with the input's clock.
//
// Malformed input frames are counted and skipped (push() returns the decoder's error), never
// fatal. One instance serves one stream on one thread; it reuses its frames and packets.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "xueliang/status.h"

namespace xl::webrtc {

struct AudioTranscoderConfig {
  std::string decoder;                 // libavcodec decoder name: "aac", "libopus", "pcm_alaw"...
  std::vector<uint8_t> decoderConfig;  // codec extradata (AAC AudioSpecificConfig); may be empty
  int inputSampleRate = 0;             // for decoders that need them (G.711, raw Opus); else 0
  int inputChannels = 0;
  std::string encoder;  // libavcodec encoder name: "libopus", "aac"...
  int outputSampleRate = 48000;
  int outputChannels = 2;
  int64_t bitrate = 64000;  // bits/s
  // Encoder private options (AVOptions), e.g. {"frame_duration", "20"} for libopus.
  std::map<std::string, std::string> encoderOptions;
};

// One encoded output packet. `data` is valid until the callback returns.
struct TranscodedPacket {
  std::span<const uint8_t> data;
  int64_t time = 0;  // of its first sample, in 1/outputSampleRate units on the input's clock
  int samples = 0;   // duration in output samples
};

class AudioTranscoder {
 public:
  // A frame further than this from where the previous one ended starts a new run of samples.
  static constexpr int64_t kMaxJitterMs = 100;

  using Output = std::function<void(const TranscodedPacket&)>;

  static Result<std::unique_ptr<AudioTranscoder>> create(const AudioTranscoderConfig& config);
  ~AudioTranscoder();
  AudioTranscoder(const AudioTranscoder&) = delete;
  AudioTranscoder& operator=(const AudioTranscoder&) = delete;

  // Decodes one encoded frame whose first sample is at `timeMs` and hands every output packet
  // that became complete to `out`. An error means this frame was skipped; the next may work.
  Status push(std::span<const uint8_t> frame, int64_t timeMs, const Output& out);
  // Encodes what is still buffered (padded with silence to a full frame) and drains the encoder.
  void flush(const Output& out);

  // The encoder's codec extradata (for "aac": the AudioSpecificConfig an FLV/MP4 muxer needs).
  std::span<const uint8_t> encoderConfig() const;
  int outputSampleRate() const;
  int frameSamples() const;   // output samples per packet (960 for 20 ms Opus)
  int encoderDelay() const;   // output samples the encoder looks ahead (312 for libopus)
  uint64_t framesIn() const;  // input frames decoded
  uint64_t errors() const;    // input frames skipped as undecodable
  uint64_t packetsOut() const;

 private:
  struct State;
  explicit AudioTranscoder(std::unique_ptr<State> s);
  std::unique_ptr<State> s_;
};

}  // namespace xl::webrtc
