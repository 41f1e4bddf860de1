// RTP carriage of core tracks in SDP: the m= sections a server offers for a MediaInfo, and the
// track a remote description (ANNOUNCE, a camera's DESCRIBE answer) carries.
//   H.264  RFC 6184 §8.1-8.2: profile-level-id, packetization-mode, sprop-parameter-sets
//   H.265  RFC 7798 §7.1: sprop-vps / sprop-sps / sprop-pps, profile-id, tier-flag, level-id
//   AAC    RFC 3640 §4.1: mpeg4-generic, mode=AAC-hbr, sizelength/indexlength, config=
//   G.711  RFC 3551 §6: PCMU (0) / PCMA (8);  Opus RFC 7587 §7: opus/48000/2
#pragma once

#include <optional>
#include <string>

#include "rtp/depacketizer.h"
#include "rtp/sdp.h"
#include "xueliang/track.h"

namespace xl::rtp {

inline constexpr uint8_t kVideoPayloadType = 96;
inline constexpr uint8_t kAudioPayloadType = 97;

// The static payload type of a codec (PCMU 0, PCMA 8), else `dynamic`.
uint8_t payloadTypeFor(Codec codec, uint8_t dynamic);

// m= sections with rtpmap, fmtp and a=control:<control>. Fails for codecs without RTP carriage
// or a configuration record that does not parse.
Result<SdpMedia> describeVideo(const VideoTrack& track, const std::string& control);
Result<SdpMedia> describeAudio(const AudioTrack& track, const std::string& control);

// One track of a remote description.
struct RtpTrackInfo {
  MediaKind kind = MediaKind::kVideo;
  Codec codec = Codec::kNone;
  uint8_t payloadType = 0;
  uint32_t clockRate = 0;
  int channels = 0;
  std::string control;  // a=control value (relative or absolute), may be empty
  // Parsed from the fmtp when it carries them; otherwise the track waits for in-band
  // parameter sets (video) and cannot be described yet.
  std::optional<VideoTrack> video;
  std::optional<AudioTrack> audio;
  AacRtpParams aac;
};

// Understands the codecs above; other media fail with a reason naming the encoding.
Result<RtpTrackInfo> trackFromMedia(const SdpMedia& m);

}  // namespace xl::rtp
