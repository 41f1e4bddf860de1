// RtspSession: one RTSP control connection (RFC 2326) and the one RTSP session it carries. A
// viewer DESCRIBEs a live stream, SETUPs its tracks over TCP (interleaved) or UDP, and PLAYs:
// it then receives the stream's shared "rtsp" batches, as they are on TCP or unwrapped to UDP.
// A viewer may also SETUP "multicast": its stream's group (multicast_group.h) carries the packets.
// A publisher ANNOUNCEs an SDP, SETUPs its tracks in record mode (interleaved, or UDP to the
// shared server ports, udp_ingest_port.h) and RECORDs: its RTP goes through an RtpIngest into the
// Stream (rtsp_record.cc). Access goes through the plugin chain; a plugin's Unauthorized becomes a
// 401 with Digest and Basic challenges (rtsp_auth.h).
#pragma once

#include <list>
#include <memory>
#include <optional>
#include <string>

#include "rtp/sdp_media.h"
#include "rtsp/multicast_group.h"
#include "rtsp/rtp_ingest.h"
#include "rtsp/rtsp_headers.h"
#include "rtsp/rtsp_message.h"
#include "rtsp/udp_ingest_port.h"
#include "rtsp/udp_output.h"
#include "xueliang/connection.h"
#include "xueliang/protocol.h"
#include "xueliang/viewer_output.h"

namespace xl::rtsp {

struct RtspSettings {
  bool enabled = true;
  std::string listen = "0.0.0.0:8554";
  int udpRtpPort = 8000;
  int udpRtcpPort = 8001;
  uint64_t sessionTimeoutMs = 60000;
};

// What the sessions of one worker share with the module.
struct RtspShared {
  UdpPorts* udp = nullptr;
  std::string udpHost;                   // the shared ports' bind host ("0.0.0.0", "[::]")
  MulticastGroups* multicast = nullptr;  // null: RTSP is off; else see its enabled()
  UdpIngestRouter* router = nullptr;
};

struct TrackWaiterState;  // rtsp_describe.cc

// 16 random hex digits (session ids, Digest nonces).
std::string randomSessionId();

class RtspSession : public ConnectionHandler, public Session, public Viewer {
 public:
  RtspSession(ServerContext& ctx, const RtspSettings& settings, int format, Worker& worker,
              const RtspShared& shared, int fd, std::string peer);
  ~RtspSession() override;
  void start();

  void onData(const uint8_t* data, size_t n) override;
  void onClosed() override;

  SessionInfo info() const override;
  void tick(uint64_t nowMs) override;
  void shutdown() override { conn_.close(); }

  void onJoin(const BufferRef& header, const std::vector<MuxedBatch>& gop) override;
  void onBatch(const MuxedBatch& batch) override;
  void onStreamEnd() override;

 private:
  enum class Transport { kNone, kTcp, kUdp, kMulticast };
  using Headers = std::vector<std::pair<std::string, std::string>>;

  void next();
  void handle(const RtspMessage& req);
  void reply(const RtspMessage& req, int status, Headers headers = {}, std::string_view body = {});
  // Runs `then` once the plugins allow `target` (checked once per stream and action per
  // connection); answers 401 (with challenges) or 403 otherwise.
  void withAccess(const RtspMessage& req, const RtspTarget& target, AccessRequest::Action action,
                  std::function<void()> then);
  // The request's Authorization into `ar`; returns the scheme ("Basic", "Digest") or empty.
  std::string addCredentials(const RtspMessage& req, AccessRequest& ar);
  // rtsp_record.cc: ANNOUNCE / SETUP (record) / RECORD.
  void announce(const RtspMessage& req, const RtspTarget& target);
  void startPublish(const RtspMessage& req, const RtspTarget& target,
                    std::vector<rtp::RtpTrackInfo> tracks);
  void setupRecord(const RtspMessage& req);
  void record(const RtspMessage& req);
  void onInterleaved(uint8_t channel, const uint8_t* data, size_t n);
  int recordTrackFor(std::string_view uri) const;
  Status openUdpReceiver(int track, const std::string& host, const int clientPort[2]);
  void onUdpRecord(int track, int k, const uint8_t* d, size_t n, const UdpAddress& from);
  void relatch(int track, int k, const UdpAddress& from, const uint8_t* d, size_t n);
  void endPublish();
  // rtsp_describe.cc. A stream with no track yet (an on-demand camera being pulled) is waited
  // for, up to kTrackWaitMs: the wait counts as demand, so it starts the camera.
  void describe(const RtspMessage& req, const RtspTarget& target, bool mayWait = true);
  void waitForTracks(const RtspMessage& req, const RtspTarget& target, const StreamPtr& s);
  void stopWaitingForTracks();
  void setup(const RtspMessage& req, const RtspTarget& target);
  void play(const RtspMessage& req);
  void pause(const RtspMessage& req);
  bool sessionMatches(const RtspMessage& req);
  std::string sessionHeader() const;
  void leaveStream();
  void fail(const std::string& why);

  ServerContext& ctx_;
  const RtspSettings& settings_;
  int format_;
  Worker& worker_;
  UdpPorts* udp_;
  RtspShared shared_;
  TcpConnection conn_;
  RtspParser parser_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  uint64_t id_;
  uint64_t startMs_;
  uint64_t lastActivityMs_;

  // A list, not a deque: an idle deque still holds a 512-byte node, per viewer.
  std::list<RtspMessage> queue_;  // requests waiting while one is answered asynchronously
  bool busy_ = false;
  std::string allowedStream_;  // the stream the plugins allowed on this connection

  std::string sessionId_;
  std::string streamName_;
  Transport transport_ = Transport::kNone;
  bool setup_[2] = {false, false};
  std::string controlUrl_[2];
  StreamPtr stream_;
  bool playing_ = false;
  int64_t pendingPlayCseq_ = -1;  // PLAY answered when the stream's GOP arrives
  std::optional<ViewerOutput> out_;
  std::unique_ptr<UdpOutput> udpOut_;  // by pointer: TCP viewers do not carry its ~760 bytes
  std::unique_ptr<MulticastGroups::Lease> multicast_;  // the stream's group, while set up

  static constexpr uint64_t kTrackWaitMs = 10000;
  struct TrackWait {
    RtspMessage req;
    RtspTarget target;
    StreamPtr stream;
    std::shared_ptr<TrackWaiterState> state;  // shared with the waiter
    uint64_t deadlineMs = 0;
  };
  std::unique_ptr<TrackWait> trackWait_;  // by pointer: rare, and large

  std::string allowedPublish_;  // the stream the plugins allowed to publish
  std::string nonce_;           // Digest nonce of this connection (RFC 2617 §3.2.1)

  // Publishing (ANNOUNCE/RECORD).
  struct RecordTrack {
    rtp::RtpTrackInfo info;
    bool setup = false;
    int channel = -1;                   // interleaved RTP channel; RTCP is channel + 1
    std::unique_ptr<UdpSocket> udp[2];  // RTP, RTCP receivers, on the shared ports, connected
    UdpAddress peer[2];                 // the sources they receive from
    uint64_t route = 0;                 // UdpIngestRouter id
    bool haveSsrc = false;
  };
  std::string announceUri_;
  std::vector<RecordTrack> recordTracks_;
  StreamPtr publishing_;
  std::unique_ptr<RtpIngest> ingest_;
  bool recording_ = false;
};

}  // namespace xl::rtsp
