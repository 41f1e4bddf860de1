// StreamEvents: the data channel of one WebRTC viewer session, carrying the stream's events as
// JSON text messages:
//   {"type":"hello","stream":"live/x","viewers":N}   when the channel opens
//   {"type":"viewers","viewers":N}                   the stream's viewer count changed (≤ 1/s)
//   {"type":"source_lost"} / {"type":"source_resumed"}  the publisher or pulled camera went away
//                                                    or came back; the session stays
//   {"type":"stream_end"}                            the stream ended; the session closes
// Events go on the first channel the browser opens; if it opens none within a second of the SCTP
// association coming up, the server opens one labelled "events" (DCEP, RFC 8832). Messages from
// the browser are JSON commands: {"type":"ping"} is answered {"type":"pong"}, anything else
// {"type":"error","reason":...}. Events are dropped (and counted) while the channel's send
// buffer holds more than a bound, so a stalled browser cannot make the server queue without end.
//
// Lives on the session's worker; usrsctp's callbacks reach it through Worker::post.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>

#include "webrtc/data_channel.h"
#include "webrtc/sctp_association.h"
#include "xueliang/stream.h"

namespace xl::webrtc {

class StreamEvents {
 public:
  struct Params {
    std::string id;  // the session's, for logs
    uint16_t remotePort = SctpAssociation::kPort;
    size_t maxPendingChunks = 64;  // buffered DATA chunks beyond which events are dropped
    uint64_t openDelayMs = 1000;   // how long the browser has to open its own channel
  };
  using WriteFn = std::function<void(std::span<const uint8_t>)>;  // one SCTP packet into DTLS

  StreamEvents(std::shared_ptr<SctpStack> stack, Worker& worker, StreamPtr stream, Params params,
               WriteFn write);
  ~StreamEvents();

  // After the DTLS handshake (we are its server: odd stream ids).
  Status start(uint64_t nowMs);
  void feed(std::span<const uint8_t> packet);  // DTLS application data
  void tick(uint64_t nowMs);                   // once a second: viewers, source state
  // Sends stream_end, then runs `then` once the packets have been handed to DTLS. False (and
  // `then` is not kept) when there is no open channel to tell.
  bool streamEnded(std::function<void()> then);

  uint64_t sent() const { return sent_; }
  uint64_t dropped() const { return dropped_; }

 private:
  void onOpened(const DataChannels::Channel& c);
  void onMessage(const DataChannels::Channel& c, std::span<const uint8_t> data, bool binary);
  void hello();
  bool send(uint16_t sid, const std::string& json);
  int viewerCount() const;

  Worker& worker_;
  StreamPtr stream_;
  Params p_;
  WriteFn write_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  SctpAssociation sctp_;
  DataChannels channels_;
  int eventsSid_ = -1;  // the channel events go on
  uint64_t upAtMs_ = 0;
  uint64_t nowMs_ = 0;
  bool up_ = false;
  int lastViewers_ = -1;
  uint64_t seenSourceChanges_ = 0;
  bool reportedLive_ = true;
  uint64_t sent_ = 0, dropped_ = 0, received_ = 0;
};

}  // namespace xl::webrtc
