// FlvSession: an HTTP-FLV viewer (GET /{app}/{stream}.flv). The HTTP server hands it the socket;
// it answers with a chunked video/x-flv response carrying the stream's shared muxed tags.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "http/http_server.h"
#include "xueliang/viewer_output.h"

namespace xl::rtmp {

class FlvSession : public ConnectionHandler, public Session, public Viewer {
 public:
  // Checks access, finds the stream and starts playing, or answers the error itself.
  static void serve(http::HttpExchange& ex, int format);

  void onData(const uint8_t*, size_t) override {}  // a viewer has nothing to say
  void onClosed() override;
  SessionInfo info() const override;
  void tick(uint64_t nowMs) override;
  void shutdown() override { conn_->close(); }
  void onJoin(const BufferRef& header, const std::vector<MuxedBatch>& gop) override;
  void onBatch(const MuxedBatch& batch) override { out_->deliver(batch); }
  void onStreamEnd() override;

 private:
  FlvSession(ServerContext& ctx, Worker& worker, std::unique_ptr<TcpConnection> conn,
             StreamPtr stream, int format, std::string responseHead);
  void leave();

  ServerContext& ctx_;
  Worker& worker_;
  std::unique_ptr<TcpConnection> conn_;
  StreamPtr stream_;
  int format_;
  std::optional<ViewerOutput> out_;
  uint64_t id_;
  uint64_t startMs_;
};

}  // namespace xl::rtmp
