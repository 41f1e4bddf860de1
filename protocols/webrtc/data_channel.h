// WebRTC data channels (RFC 8831) on an SCTP association, opened with the Data Channel
// Establishment Protocol (DCEP, RFC 8832): the side that opens a channel sends DATA_CHANNEL_OPEN
// on a stream of its parity (the DTLS client uses even stream ids, the server odd ones, §6) and
// the other side answers DATA_CHANNEL_ACK on the same stream. Channels are not negotiated out of
// band (negotiated=false): every channel here starts with DCEP.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "xueliang/status.h"

namespace xl::webrtc {

class SctpAssociation;

namespace dcep {

// SCTP payload protocol identifiers (RFC 8831 §8, RFC 8832 §8.1).
constexpr uint32_t kPpidDcep = 50;
constexpr uint32_t kPpidString = 51;
constexpr uint32_t kPpidBinary = 53;
constexpr uint32_t kPpidStringEmpty = 56;
constexpr uint32_t kPpidBinaryEmpty = 57;

constexpr uint8_t kMessageAck = 0x02;
constexpr uint8_t kMessageOpen = 0x03;

// Channel types (RFC 8832 §5.1): the high bit marks unordered delivery.
constexpr uint8_t kReliable = 0x00;
constexpr uint8_t kPartialRexmit = 0x01;
constexpr uint8_t kPartialTimed = 0x02;
constexpr uint8_t kUnorderedBit = 0x80;

struct Open {
  uint8_t channelType = kReliable;
  uint16_t priority = 0;
  uint32_t reliability = 0;
  std::string label;
  std::string protocol;
};

// A DATA_CHANNEL_OPEN message (RFC 8832 §5.1). Errors: short, wrong type, unknown channel type,
// label/protocol lengths beyond the message, or bytes after them.
Result<Open> parseOpen(std::span<const uint8_t> m);
std::vector<uint8_t> serializeOpen(const Open& o);
// True for a well-formed DATA_CHANNEL_ACK (exactly one byte, 0x02).
bool isAck(std::span<const uint8_t> m);

}  // namespace dcep

// The channels of one association. Single-threaded: all calls and handlers on the owner's thread.
class DataChannels {
 public:
  struct Channel {
    uint16_t sid = 0;
    std::string label;
    std::string protocol;
    bool ordered = true;
    bool local = false;  // opened by us
    bool acked = false;  // the peer answered our OPEN (remote channels: always true)
  };
  struct Handlers {
    std::function<void(const Channel&)> opened;
    // A whole message: `binary` for PPID 53/57, text (UTF-8) for 51/56.
    std::function<void(const Channel&, std::span<const uint8_t>, bool binary)> message;
    std::function<void(uint16_t sid)> closed;
    std::function<void(const std::string&)> protocolError;  // malformed DCEP and the like
  };

  // `dtlsServer`: which stream ids are ours (odd for the DTLS server).
  DataChannels(SctpAssociation& sctp, bool dtlsServer, Handlers handlers);

  // SctpAssociation handlers feed these.
  void onMessage(uint16_t sid, uint32_t ppid, std::span<const uint8_t> data);
  void onIncomingReset(uint16_t sid);

  // Opens a reliable ordered channel from our side (sends OPEN; messages may follow at once,
  // RFC 8832 §6). Fails when no stream id is free or the association is not up.
  Result<uint16_t> open(const std::string& label, const std::string& protocol = "");
  Status sendText(uint16_t sid, std::string_view text);
  void close(uint16_t sid);
  const Channel* find(uint16_t sid) const;
  size_t count() const { return channels_.size(); }
  uint64_t malformed() const { return malformed_; }

 private:
  SctpAssociation& sctp_;
  bool dtlsServer_;
  Handlers h_;
  std::map<uint16_t, Channel> channels_;
  uint16_t nextSid_;
  uint64_t malformed_ = 0;
};

}  // namespace xl::webrtc
