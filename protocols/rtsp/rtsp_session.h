// RtspSession: one RTSP control connection (RFC 2326) and the one RTSP session it carries. A
// viewer DESCRIBEs a live stream, SETUPs its tracks over TCP (interleaved) or UDP, and PLAYs:
// it then receives the stream's shared "rtsp" batches, as they are on TCP or unwrapped to UDP.
#pragma once

#include <deque>
#include <memory>
#include <optional>
#include <string>

#include "rtsp/rtsp_headers.h"
#include "rtsp/rtsp_message.h"
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

class RtspSession : public ConnectionHandler, public Session, public Viewer {
 public:
  RtspSession(ServerContext& ctx, const RtspSettings& settings, int format, Worker& worker,
              UdpPorts* udp, int fd, std::string peer);
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
  enum class Transport { kNone, kTcp, kUdp };
  using Headers = std::vector<std::pair<std::string, std::string>>;

  void next();
  void handle(const RtspMessage& req);
  void reply(const RtspMessage& req, int status, Headers headers = {}, std::string_view body = {});
  // Runs `then` once the plugins allow `target` (checked once per stream per connection).
  void withAccess(const RtspMessage& req, const RtspTarget& target, std::function<void()> then);
  void describe(const RtspMessage& req, const RtspTarget& target);
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
  TcpConnection conn_;
  RtspParser parser_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  uint64_t id_;
  uint64_t startMs_;
  uint64_t lastActivityMs_;

  std::deque<RtspMessage> queue_;  // requests waiting while one is answered asynchronously
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
  std::optional<UdpOutput> udpOut_;
};

}  // namespace xl::rtsp
