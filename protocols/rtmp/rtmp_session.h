// RtmpSession: one RTMP connection (Adobe RTMP 1.0 §7). It publishes into a Stream or plays one,
// driven by AMF0 commands; as a viewer it sends the stream's shared muxed chunks.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "rtmp/amf0.h"
#include "rtmp/chunk_reader.h"
#include "rtmp/handshake.h"
#include "xueliang/connection.h"
#include "xueliang/protocol.h"
#include "xueliang/viewer_output.h"

namespace xl::rtmp {

struct RtmpSettings {
  bool enabled = true;
  std::string listen = "0.0.0.0:1935";
  uint32_t chunkSize = 4096;          // outbound
  uint64_t idleTimeoutMs = 30000;     // no command, or a silent publisher
  uint32_t maxMessageSize = 8 << 20;  // inbound
};

class RtmpSession : public ConnectionHandler, public Session, public Viewer {
 public:
  RtmpSession(ServerContext& ctx, const RtmpSettings& settings, int format, Worker& worker, int fd,
              std::string peer);
  ~RtmpSession() override;
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
  enum class Role { kNone, kPublisher, kViewer };

  Status onMessage(RtmpMessage&& m);
  Status onCommand(const RtmpMessage& m);
  void onConnect(double txn, const Amf0Value* cmd);
  // publish/play: checks the name and the plugins, then starts (or refuses).
  void requestAccess(AccessRequest::Action action, const std::string& rawName);
  void startPublish(const std::string& name);
  void startPlay(const std::string& name);
  Status onVideo(const RtmpMessage& m);
  Status onAudio(const RtmpMessage& m);
  void onMetadata(const RtmpMessage& m);
  void updateMedia(MediaInfo next);
  int64_t extendTimestamp(uint32_t ts);
  void sendStatus(std::string_view level, std::string_view code, std::string_view description);
  void refuse(std::string_view code, const std::string& description);
  void fail(const std::string& why);
  void leaveStream();
  AccessRequest accessRequest(AccessRequest::Action action, const std::string& name) const;

  ServerContext& ctx_;
  const RtmpSettings& settings_;
  int format_;
  Worker& worker_;
  TcpConnection conn_;
  std::optional<HandshakeServer> handshake_;
  ChunkReader reader_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);

  uint64_t id_;
  uint64_t startMs_;
  uint64_t lastActivityMs_;
  std::string app_;
  std::string appQuery_;
  std::string streamName_;
  Role role_ = Role::kNone;
  bool busy_ = false;  // an access check is pending
  StreamPtr stream_;
  std::optional<ViewerOutput> out_;

  // Publisher state.
  MediaInfo media_;
  int64_t tsWrap_ = 0;
  uint32_t lastTs_ = 0;
  bool haveTs_ = false;
  double declaredFps_ = 0;
  uint32_t peerWindow_ = 0;
  uint64_t lastAck_ = 0;
};

}  // namespace xl::rtmp
