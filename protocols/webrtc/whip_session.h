// WhipSession: one WHIP publisher (RFC 9725), a browser or phone sending H.264 or H.265 and Opus.
// ICE-lite and consent freshness as for WHEP viewers, DTLS-SRTP as the passive side; the SRTP it
// receives is unprotected and fed through the shared RtpIngest (reordering, timestamps, RFC 6184 /
// RFC 7798 depacketizing, in-band parameter sets) into the Stream it publishes, with Opus
// transcoded to AAC on the way (whip_audio.h). It sends SRTCP back: receiver reports once a
// second, Generic NACK for lost video, and PLI (RFC 4585 §6.3.1) to ask for keyframes (an IDR
// picture, for H.265 an IRAP one), because browsers send one only when asked: at start, whenever
// the last keyframe is older than the keyframe interval (so that the GOP cache stays short and
// segmenters can cut), and when a viewer comes or its decoder asks (Stream::requestKeyframe); at
// most one per 500 ms.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "rtsp/rtp_ingest.h"
#include "webrtc/ice_tcp.h"
#include "webrtc/peer_transport.h"
#include "webrtc/whip_answer.h"
#include "webrtc/whip_audio.h"
#include "webrtc/whip_nack.h"
#include "xueliang/handle.h"
#include "xueliang/protocol.h"
#include "xueliang/udp.h"

namespace xl::webrtc {

class WhipPort;

struct WhipSessionParams : SessionBasics {
  WhipNegotiated negotiated;
  uint32_t ssrc = 0;  // the sender SSRC of our RTCP
  uint64_t keyframeIntervalMs = 2000;
};

class WhipSession : public Session {
 public:
  // `stream` is published already (the POST answered 409 otherwise); the session ends it.
  WhipSession(ServerContext& ctx, Worker& worker, WhipPort& port, WhipSessionParams params,
              std::shared_ptr<const DtlsIdentity> identity, StreamPtr stream);
  ~WhipSession() override;

  void start();
  const WhipSessionParams& params() const { return p_; }
  const UdpAddress* peer() const { return transport_.peer(); }

  // A Binding request whose USERNAME named this session and whose MESSAGE-INTEGRITY verified.
  void onBindingRequest(const StunMessage& m, const UdpAddress& from);
  // DTLS, SRTP or SRTCP from an address that passed a connectivity check of this session.
  void onDatagram(ByteSpan d, const UdpAddress& from);
  void close(const std::string& why);
  // ICE-TCP: datagrams for `address` (the connection's peer) go through `path` from now on.
  void useTcp(TcpPath* path, const UdpAddress& address) { tcp_.add(path, address); }
  void tcpGone(TcpPath* path) { tcp_.remove(path); }

  // Session
  SessionInfo info() const override;
  void tick(uint64_t nowMs) override;
  void shutdown() override { close("server shutdown"); }

 private:
  struct KeyWatch;
  void onSrtp(ByteSpan d);
  void onTimer();
  void requestKeyframe(const char* why);
  void sendRtcp(const uint8_t* p, size_t len);
  // Over the ICE-TCP connection whose peer `to` is, else over UDP.
  size_t sendOut(const UdpAddress& to, std::span<const iovec> datagrams);

  ServerContext& ctx_;
  Worker& worker_;
  WhipPort& port_;
  WhipSessionParams p_;
  StreamPtr stream_;
  uint64_t sessionId_;
  uint64_t startMs_;
  PeerTransport transport_;            // ICE-lite, consent, DTLS-SRTP
  std::shared_ptr<Stream> staging_;    // what the ingest publishes into (whip_audio.h)
  WhipAudioBridge* bridge_ = nullptr;  // owned by staging_
  std::unique_ptr<rtsp::RtpIngest> ingest_;
  std::vector<uint32_t> ssrcs_;  // the publisher's SSRC per ingest track, 0 until seen
  int videoTrack_ = -1;
  std::shared_ptr<uint64_t> lastKeyMs_;  // written by the KeyWatch sink; 0 before the first
  KeyWatch* keyWatch_ = nullptr;         // owned by the stream
  NackTracker nack_;                     // video losses, asked for again once (RFC 4585 §6.2.1)
  std::vector<uint16_t> nacked_;         // scratch
  bool keyframeWanted_ = false;          // a viewer came or asked (PLI/FIR)
  uint64_t lastPliMs_ = 0;
  uint64_t lastReportMs_ = 0;
  UvHandle<uv_timer_t> timer_;
  std::vector<uint8_t> in_;   // scratch for unprotecting
  std::vector<uint8_t> out_;  // scratch for protecting
  TcpPaths tcp_;              // ICE-TCP connections, when the publisher checked over TCP
  bool closed_ = false;
  uint64_t bytesIn_ = 0, bytesOut_ = 0, packetsIn_ = 0, badPackets_ = 0, plis_ = 0;
};

}  // namespace xl::webrtc
