#include "webrtc/data_channel.h"

#include <algorithm>

#include "webrtc/sctp_association.h"

namespace xl::webrtc {
namespace dcep {
namespace {

constexpr size_t kOpenHeader = 12;  // type, channel type, priority, reliability, two lengths

uint16_t be16(const uint8_t* p) {
  return static_cast<uint16_t>(p[0] << 8 | p[1]);
}
uint32_t be32(const uint8_t* p) {
  return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | p[3];
}

}  // namespace

Result<Open> parseOpen(std::span<const uint8_t> m) {
  if (m.size() < kOpenHeader)
    return Status::error("dcep: DATA_CHANNEL_OPEN of " + std::to_string(m.size()) +
                         " bytes, the header alone is 12");
  if (m[0] != kMessageOpen)
    return Status::error("dcep: message type " + std::to_string(m[0]) + " is not OPEN (3)");
  Open o;
  o.channelType = m[1];
  const uint8_t base = o.channelType & ~kUnorderedBit;
  if (base != kReliable && base != kPartialRexmit && base != kPartialTimed)
    return Status::error("dcep: unknown channel type " + std::to_string(o.channelType));
  o.priority = be16(&m[2]);
  o.reliability = be32(&m[4]);
  const size_t labelLen = be16(&m[8]);
  const size_t protocolLen = be16(&m[10]);
  if (kOpenHeader + labelLen + protocolLen != m.size())
    return Status::error("dcep: label (" + std::to_string(labelLen) + ") and protocol (" +
                         std::to_string(protocolLen) + ") lengths do not match the " +
                         std::to_string(m.size()) + "-byte message");
  o.label.assign(reinterpret_cast<const char*>(&m[kOpenHeader]), labelLen);
  o.protocol.assign(reinterpret_cast<const char*>(&m[kOpenHeader + labelLen]), protocolLen);
  return o;
}

std::vector<uint8_t> serializeOpen(const Open& o) {
  const size_t labelLen = std::min<size_t>(o.label.size(), 65535);
  const size_t protocolLen = std::min<size_t>(o.protocol.size(), 65535);
  std::vector<uint8_t> m(kOpenHeader + labelLen + protocolLen);
  m[0] = kMessageOpen;
  m[1] = o.channelType;
  m[2] = static_cast<uint8_t>(o.priority >> 8);
  m[3] = static_cast<uint8_t>(o.priority);
  for (int i = 0; i < 4; ++i) m[4 + i] = static_cast<uint8_t>(o.reliability >> (24 - 8 * i));
  m[8] = static_cast<uint8_t>(labelLen >> 8);
  m[9] = static_cast<uint8_t>(labelLen);
  m[10] = static_cast<uint8_t>(protocolLen >> 8);
  m[11] = static_cast<uint8_t>(protocolLen);
  std::copy_n(o.label.begin(), labelLen, m.begin() + kOpenHeader);
  std::copy_n(o.protocol.begin(), protocolLen, m.begin() + kOpenHeader + labelLen);
  return m;
}

bool isAck(std::span<const uint8_t> m) {
  return m.size() == 1 && m[0] == kMessageAck;
}

}  // namespace dcep

DataChannels::DataChannels(SctpAssociation& sctp, bool dtlsServer, Handlers handlers)
    : sctp_(sctp), dtlsServer_(dtlsServer), h_(std::move(handlers)), nextSid_(dtlsServer ? 1 : 0) {}

const DataChannels::Channel* DataChannels::find(uint16_t sid) const {
  auto it = channels_.find(sid);
  return it == channels_.end() ? nullptr : &it->second;
}

void DataChannels::onMessage(uint16_t sid, uint32_t ppid, std::span<const uint8_t> data) {
  auto fail = [&](const std::string& why) {
    ++malformed_;
    if (h_.protocolError) h_.protocolError(why);
  };
  if (ppid == dcep::kPpidDcep) {
    if (dcep::isAck(data)) {
      auto it = channels_.find(sid);
      if (it == channels_.end() || !it->second.local)
        return fail("dcep: ACK on stream " + std::to_string(sid) + " we did not open");
      it->second.acked = true;
      return;
    }
    auto open = dcep::parseOpen(data);
    if (!open) return fail(open.message());
    // §6: the peer opens streams of its own parity only.
    if ((sid & 1) == (dtlsServer_ ? 1 : 0))
      return fail("dcep: OPEN on stream " + std::to_string(sid) + ", which is ours to use");
    if (channels_.count(sid)) return fail("dcep: OPEN on stream " + std::to_string(sid) + " again");
    static const uint8_t ack[] = {dcep::kMessageAck};
    if (Status s = sctp_.send(sid, dcep::kPpidDcep, ack); !s) return fail(s.message());
    Channel c;
    c.sid = sid;
    c.label = std::move(open->label);
    c.protocol = std::move(open->protocol);
    c.ordered = !(open->channelType & dcep::kUnorderedBit);
    c.acked = true;
    const Channel& added = channels_.emplace(sid, std::move(c)).first->second;
    if (h_.opened) h_.opened(added);
    return;
  }
  auto it = channels_.find(sid);
  if (it == channels_.end())
    return fail("data on stream " + std::to_string(sid) + " without an open channel");
  // A message from the peer is an implicit ACK (RFC 8832 §6).
  it->second.acked = true;
  bool binary;
  switch (ppid) {
    case dcep::kPpidString:
      binary = false;
      break;
    case dcep::kPpidBinary:
      binary = true;
      break;
    case dcep::kPpidStringEmpty:
      binary = false;
      data = {};
      break;
    case dcep::kPpidBinaryEmpty:
      binary = true;
      data = {};
      break;
    default:
      return fail("unknown payload protocol " + std::to_string(ppid));
  }
  if (h_.message) h_.message(it->second, data, binary);
}

void DataChannels::onIncomingReset(uint16_t sid) {
  auto it = channels_.find(sid);
  if (it == channels_.end()) return;
  // RFC 8831 §6.7: the peer closed; reset our outgoing side too, and the stream id is free.
  sctp_.resetStream(sid);
  channels_.erase(it);
  if (h_.closed) h_.closed(sid);
}

Result<uint16_t> DataChannels::open(const std::string& label, const std::string& protocol) {
  if (!sctp_.up()) return Status::error("data channel: the SCTP association is not up");
  uint16_t sid = nextSid_;
  while (channels_.count(sid) && sid < 1022) sid = static_cast<uint16_t>(sid + 2);
  if (channels_.count(sid)) return Status::error("data channel: no free stream id");
  dcep::Open o;
  o.label = label;
  o.protocol = protocol;
  if (Status s = sctp_.send(sid, dcep::kPpidDcep, dcep::serializeOpen(o)); !s) return s;
  nextSid_ = static_cast<uint16_t>(sid + 2);
  Channel c;
  c.sid = sid;
  c.label = label;
  c.protocol = protocol;
  c.local = true;
  channels_.emplace(sid, std::move(c));
  return sid;
}

Status DataChannels::sendText(uint16_t sid, std::string_view text) {
  auto it = channels_.find(sid);
  if (it == channels_.end())
    return Status::error("data channel: no channel on stream " + std::to_string(sid));
  // An empty string goes as one byte with its own PPID (RFC 8831 §6.6).
  static const uint8_t zero[] = {0};
  std::span<const uint8_t> bytes(reinterpret_cast<const uint8_t*>(text.data()), text.size());
  if (text.empty()) return sctp_.send(sid, dcep::kPpidStringEmpty, zero, it->second.ordered);
  return sctp_.send(sid, dcep::kPpidString, bytes, it->second.ordered);
}

void DataChannels::close(uint16_t sid) {
  if (channels_.erase(sid)) sctp_.resetStream(sid);
}

}  // namespace xl::webrtc
