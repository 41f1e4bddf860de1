// WhepSession: one WebRTC viewer (WHEP). ICE-lite: it answers the browser's STUN Binding requests
// and takes the nominated address as the peer (RFC 8445 §7.3); consent freshness (RFC 7675):
// without a valid request for consent_timeout_ms the session ends. DTLS-SRTP as the passive
// side, then it plays the stream's "rtsp" output: the RTP packets are built once per stream;
// per viewer, each one is SRTP-protected out of place, from the shared bytes straight into the
// port's send queue with the viewer's payload type, SSRC and sequence number in its header, and
// leaves with the other viewers' packets in one sendmmsg at the end of the loop iteration (UDP
// GSO per viewer frame, send_queue.h). Sessions live on the media worker that owns the UDP
// socket (see WhepRouter). An offer with a data channel gets SCTP over the same DTLS and the
// stream's events on it (stream_events.h).
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "webrtc/congestion_control.h"
#include "webrtc/peer_transport.h"
#include "webrtc/rtcp_feedback.h"
#include "webrtc/sdp_answer.h"
#include "webrtc/send_queue.h"
#include "webrtc/stream_events.h"
#include "xueliang/protocol.h"
#include "xueliang/udp.h"

namespace xl::webrtc {

class WhepSession;

// The ICE-TCP connections of one session (a browser opens one per candidate pair it checks)
// with their peers; past kMax the oldest is closed (defined in ice_tcp.cc).
class TcpPaths {
 public:
  static constexpr size_t kMax = 8;
  void add(TcpPath* path, const UdpAddress& peer);
  void remove(TcpPath* path);
  // The connection whose peer `to` is, or nullptr (UDP).
  TcpPath* find(const UdpAddress& to) const;
  // The session ends: every connection is told and closes.
  void closeAll();

 private:
  std::vector<std::pair<TcpPath*, UdpAddress>> paths_;
};

// What sessions need from the module on their worker: the socket, the send queue shared by all
// its sessions and the routing tables (by ufrag, id and peer address).
class WhepRouter {
 public:
  virtual ~WhepRouter() = default;
  virtual UdpSocket& socket() = 0;
  // The largest packet a session sends, SRTP trailer included.
  static constexpr size_t kSlotSize = 1600;
  // Media packets leave through it, gathered with the other sessions' (send_queue.h).
  virtual SendQueue& sendQueue() = 0;
  virtual void peerChanged(WhepSession& s, const UdpAddress* before) = 0;
  // Unregisters the session and deletes it outside of the current callback.
  virtual void release(WhepSession& s) = 0;
};

struct WhepSessionParams : SessionBasics {
  Negotiated negotiated;
  uint32_t videoSsrc = 0;
  uint32_t audioSsrc = 0;
  // usrsctp, when the offer has a data channel (negotiated.dataChannel): stream events on it.
  std::shared_ptr<SctpStack> sctp;
  // The server's feedback totals for /metrics (null: not counted).
  std::shared_ptr<FeedbackCounters> feedbackCounters;
};

class WhepSession : public Viewer, public Session, public SendQueue::Owner {
 public:
  WhepSession(ServerContext& ctx, Worker& worker, WhepRouter& router, WhepSessionParams params,
              std::shared_ptr<const DtlsIdentity> identity, StreamPtr stream, int format);
  ~WhepSession() override;

  void start();
  const WhepSessionParams& params() const { return p_; }
  const UdpAddress* peer() const { return transport_.peer(); }

  // A Binding request whose USERNAME named this session and whose MESSAGE-INTEGRITY verified.
  void onBindingRequest(const StunMessage& m, const UdpAddress& from);
  // DTLS from an address that passed a connectivity check of this session.
  void onDtls(ByteSpan datagram, const UdpAddress& from);
  void onRtcp(ByteSpan packet);  // SRTCP from the browser (receiver reports, NACK, PLI)
  void close(const std::string& why);
  // ICE-TCP: datagrams for `address` (the connection's peer) go through `path` from now on.
  void useTcp(TcpPath* path, const UdpAddress& address) { tcp_.add(path, address); }
  void tcpGone(TcpPath* path) { tcp_.remove(path); }

  // Viewer
  void onJoin(const BufferRef& header, const std::vector<MuxedBatch>& gop) override;
  void onBatch(const MuxedBatch& batch) override;
  void onStreamEnd() override;
  // Session
  SessionInfo info() const override;
  void tick(uint64_t nowMs) override;
  void shutdown() override { close("server shutdown"); }

 private:
  struct Track {
    int payloadType = -1;
    uint32_t ssrc = 0;
    uint16_t seq = 0;
  };
  void onConnected();
  void deliver(const MuxedBatch& b);
  void drain();
  void send(const MuxedBatch& b);
  // SendQueue::Owner: how much of a queued frame left (a damaged video frame makes the viewer
  // wait for a keyframe).
  void onSent(const SendQueue::Outcome& o) override;
  void retransmit(const Feedback& fb);
  // Copies channel `channel`'s k-th RTP packet of `b` into `out`, rewritten for this viewer
  // with sequence number `seq`, and protects it; 0 if there is no such packet.
  size_t rewriteRtp(const BufferRef& b, uint8_t channel, size_t k, uint16_t seq, uint8_t* out);
  // The shared RTP packet `pkt` as track `t` sends it with sequence number `seq`, protected into
  // `out` (kSrtpMaxTrailer bytes of room after `len`).
  Result<size_t> protectRtp(const uint8_t* pkt, size_t len, const Track& t, uint16_t seq,
                            uint8_t* out);

  ServerContext& ctx_;
  Worker& worker_;
  WhepRouter& router_;
  WhepSessionParams p_;
  StreamPtr stream_;
  int format_;
  uint64_t sessionId_;
  uint64_t startMs_;
  PeerTransport transport_;  // ICE-lite, consent, DTLS-SRTP
  bool attached_ = false;
  bool closed_ = false;
  Track tracks_[2];  // video, audio: the rtsp output's track numbering
  ViewerLimits limits_;
  std::deque<MuxedBatch> queue_;  // waiting to be paced out (the joining GOP)
  size_t queuedBytes_ = 0;
  UvHandle<uv_timer_t> timer_;
  bool timerArmed_ = false;
  bool waitKey_ = true;
  // Video frames sent lately, for NACK (RFC 4585 §6.2.1): the shared batch and the sequence
  // numbers its packets got here. One reference per frame, no copy: about 2.5 s at 25 fps.
  struct SentFrame {
    BufferRef bytes;
    uint16_t firstSeq = 0;
    uint16_t count = 0;
  };
  std::array<SentFrame, 64> sent_;
  size_t sentNext_ = 0;
  Feedback feedback_;            // scratch
  std::vector<uint8_t> rtcpIn_;  // scratch for unprotecting received SRTCP
  uint64_t bytesIn_ = 0, bytesOut_ = 0, drops_ = 0, packetsOut_ = 0;
  uint64_t nacks_ = 0, retransmits_ = 0, plis_ = 0;
  // REMB and PLI/FIR handling (congestion_control.h); restart() rejoins on the cached keyframe.
  void onCongestionFeedback(const Feedback& fb);
  void restart();
  ViewerCongestion congestion_;
  // Sends to `to` over the ICE-TCP connection if it is that connection's peer, else over UDP.
  size_t sendOut(const UdpAddress& to, std::span<const iovec> datagrams);
  // ICE-TCP connections (a browser opens one per candidate pair it checks) and their peers.
  TcpPaths tcp_;                          // ICE-TCP connections, when the browser checked over TCP
  std::unique_ptr<StreamEvents> events_;  // the data channel, if negotiated
};

}  // namespace xl::webrtc
