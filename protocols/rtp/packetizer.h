// Packetizers: one core Frame in, RTP packets out, once per stream and track. Sequence numbers,
// timestamps and the SSRC are written into the packets here, so every viewer can send the same
// bytes. Each packet is handed over as two pieces (RTP header + payload header, then a slice of
// the frame) so the caller copies the frame bytes once, straight into its output buffer.
//   H.264  RFC 6184: single NAL unit packets (§5.6) and FU-A (§5.8), packetization-mode=1
//   H.265  RFC 7798: single NAL unit packets (§4.4.1) and FUs (§4.4.3)
//   AAC    RFC 3640 mpeg4-generic, mode AAC-hbr (§3.3.6): one AU per packet, fragmented if large
//   G.711 / Opus  RFC 3551 §4.5.14 / RFC 7587: the frame as payload
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "rtp/rtp_packet.h"
#include "xueliang/codec.h"
#include "xueliang/frame.h"

namespace xl::rtp {

struct PacketizerConfig {
  uint8_t payloadType = 96;
  uint32_t ssrc = 0;
  uint16_t firstSeq = 0;
  size_t maxPayload = kDefaultMaxPayload;  // RTP payload bytes per packet (>= 64)
};

// Receives one packet: head (RTP header and payload header) followed by body.
using PacketSink = std::function<void(ByteSpan head, ByteSpan body)>;

class Packetizer {
 public:
  explicit Packetizer(const PacketizerConfig& c);
  virtual ~Packetizer() = default;

  // Packetizes one frame (a 4-byte length-prefixed access unit for video, a raw frame for
  // audio). All packets carry `timestamp`. Malformed video payloads send what parses.
  virtual void packetize(const Frame& frame, uint32_t timestamp, const PacketSink& out) = 0;
  // H.264/H.265: parameter sets sent in-band before each keyframe that lacks them, so a player
  // that lost the SDP's (or a changed stream) can still decode.
  virtual void setParameterSets(const ParameterSets& ps) {}

  uint32_t ssrc() const { return cfg_.ssrc; }
  uint8_t payloadType() const { return cfg_.payloadType; }
  uint16_t nextSeq() const { return seq_; }
  // For sender reports (RFC 3550 §6.4.1): packets and payload octets sent so far.
  uint32_t packetCount() const { return packets_; }
  uint32_t octetCount() const { return octets_; }

 protected:
  void send(bool marker, uint32_t timestamp, ByteSpan payloadHeader, ByteSpan body,
            const PacketSink& out);
  size_t maxPayload() const { return cfg_.maxPayload; }

 private:
  PacketizerConfig cfg_;
  uint16_t seq_;
  uint32_t packets_ = 0;
  uint32_t octets_ = 0;
};

// nullptr for codecs RTP carriage is not implemented for.
std::unique_ptr<Packetizer> makePacketizer(Codec codec, const PacketizerConfig& c);

// RTP clock rate of a codec (RFC 6184 §8.2.1 / RFC 7798 §7.1: 90 kHz video; audio: its
// sampling rate; RFC 7587: Opus always 48 kHz).
uint32_t clockRateFor(Codec codec, int sampleRate);

}  // namespace xl::rtp
