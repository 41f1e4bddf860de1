#include "rtmp/flv_session.h"

#include <spdlog/spdlog.h>

#include "http/url.h"

namespace xl::rtmp {

void FlvSession::serve(http::HttpExchange& ex, int format) {
  auto path = http::parseStreamPath(ex.request().path);
  if (!path || path->extension != "flv") {
    ex.respond(400, "text/plain", "expected /{app}/{stream}.flv\n");
    return;
  }
  AccessRequest req;
  req.action = AccessRequest::Action::kPlay;
  req.stream = path->name();
  req.protocol = "flv";
  req.peer = ex.peer();
  req.clientIp = peerHost(req.peer);
  if (auto q = http::parseQuery(ex.request().query))
    for (auto& p : *q) req.query[p.key] = p.value;
  // The chain answers on this worker, and only while the exchange is still alive.
  ex.context().plugins->check(
      req, ex.worker(), ex.aliveToken(), [&ex, format, name = req.stream](const Decision& d) {
        if (d.verdict == Verdict::kDeny) return ex.respond(403, "text/plain", d.reason + "\n");
        ServerContext& ctx = ex.context();
        StreamPtr stream = ctx.streams->find(name);
        if (!stream) return ex.respond(404, "text/plain", "stream " + name + " not found\n");
        http::ResponseHead head(200);
        head.contentType("video/x-flv").chunked().header("Cache-Control", "no-cache");
        head.header("Connection", "close");
        http::addCors(head, ex.cors(), ex.request());
        // The session owns itself from here and frees itself when its connection closes.
        new FlvSession(ctx, ex.worker(), ex.takeOver(), std::move(stream), format, head.str());
      });
}

FlvSession::FlvSession(ServerContext& ctx, Worker& worker, std::unique_ptr<TcpConnection> conn,
                       StreamPtr stream, int format, std::string responseHead)
    : ctx_(ctx),
      worker_(worker),
      conn_(std::move(conn)),
      stream_(std::move(stream)),
      format_(format),
      id_(ctx.sessionsOf(worker).nextId()),
      startMs_(worker.nowMs()) {
  conn_->setHandler(this);
  ctx_.sessionsOf(worker_).add(this);
  out_.emplace(*conn_, ctx_.viewerLimits());
  conn_->send(BufferRef::copyOf(responseHead));
  spdlog::info("flv {}: playing {}", conn_->peer(), stream_->name());
  stream_->attach(this, format_, worker_);
}

void FlvSession::leave() {
  if (stream_) stream_->detach(this, format_, worker_);
  stream_.reset();
}

void FlvSession::onClosed() {
  leave();
  ctx_.sessionsOf(worker_).remove(this);
  delete this;
}

void FlvSession::onJoin(const BufferRef& header, const std::vector<MuxedBatch>& gop) {
  out_->join(header, gop);
}

void FlvSession::onStreamEnd() {
  leave();
  conn_->send(BufferRef::copyOf(http::kLastChunk));
  conn_->closeAfterFlush();
}

void FlvSession::tick(uint64_t now) {
  if (stream_ && out_->stalled(now)) {
    spdlog::warn("flv {}: viewer made no progress for {} ms; disconnecting", conn_->peer(),
                 ctx_.viewerLimits().stallTimeoutMs);
    worker_.stats().slowDisconnects.add();
    conn_->close();
  }
}

SessionInfo FlvSession::info() const {
  SessionInfo i;
  i.id = id_;
  i.protocol = "flv";
  i.role = "viewer";
  i.stream = stream_ ? stream_->name() : "";
  i.peer = conn_->peer();
  i.bytesIn = conn_->bytesIn();
  i.bytesOut = conn_->bytesOut();
  i.drops = out_->drops();
  i.ageSec = (worker_.nowMs() - startMs_) / 1000.0;
  return i;
}

}  // namespace xl::rtmp
