#include "http/http_session.h"

#include <spdlog/spdlog.h>

namespace xl::http {

HttpSession::HttpSession(HttpModule& module, ServerContext& ctx, Worker& worker, int fd,
                         std::string peer)
    : module_(module),
      ctx_(ctx),
      worker_(worker),
      peer_(peer),
      conn_(std::make_unique<TcpConnection>(worker, fd, std::move(peer))),
      id_(ctx.sessionsOf(worker).nextId()),
      startMs_(worker.nowMs()),
      lastActivityMs_(startMs_) {}

HttpSession::~HttpSession() {
  *alive_ = false;
}

void HttpSession::start() {
  ctx_.sessionsOf(worker_).add(this);
  conn_->start(this);
}

void HttpSession::destroyLater() {
  ctx_.sessionsOf(worker_).remove(this);
  *alive_ = false;
  worker_.post([this] { delete this; });
}

void HttpSession::onClosed() {
  destroyLater();
}

void HttpSession::shutdown() {
  if (conn_) conn_->close();
}

void HttpSession::onData(const uint8_t* data, size_t n) {
  lastActivityMs_ = worker_.nowMs();
  pending_.append(reinterpret_cast<const char*>(data), n);
  process();
}

void HttpSession::process() {
  while (!answering_ && !taken_ && conn_ && !conn_->closing() && !pending_.empty()) {
    auto used = parser_.feed(pending_.data(), pending_.size());
    if (!used) {
      int status = parser_.errorStatus() ? parser_.errorStatus() : 400;
      spdlog::info("http {}: {} ({}); closing", peer_, used.message(), status);
      worker_.stats().protocolErrors.add();
      Request bare;
      bare.keepAlive = false;
      conn_->send(
          BufferRef::copyOf(simpleResponse(status, bare, "text/plain", used.message() + "\n")));
      conn_->closeAfterFlush();
      return;
    }
    pending_.erase(0, *used);
    if (!parser_.done()) return;
    request_ = parser_.take();
    answering_ = true;
    if (isPreflight(request_)) {
      conn_->send(BufferRef::copyOf(preflightResponse(cors(), request_)));
      finishResponse();
      continue;
    }
    module_.dispatch(*this);
  }
}

void HttpSession::respond(int status, std::string_view contentType, std::string_view body) {
  if (!answering_ || !conn_) return;
  ResponseHead head(status);
  head.contentType(contentType).contentLength(body.size()).connection(request_);
  addCors(head, cors(), request_);
  std::string out = head.str();
  if (request_.method != "HEAD") out.append(body);
  conn_->send(BufferRef::copyOf(out));
  finishResponse();
}

void HttpSession::respond(ResponseHead head, const BufferRef& body, size_t offset, size_t len) {
  if (!answering_ || !conn_) return;
  if (offset > body.size()) offset = body.size();
  if (len > body.size() - offset) len = body.size() - offset;
  head.contentLength(len).connection(request_);
  addCors(head, cors(), request_);
  conn_->queue(BufferRef::copyOf(head.str()));
  if (request_.method != "HEAD" && len > 0) conn_->queue(body, offset, len, -1);
  conn_->flush();
  finishResponse();
}

void HttpSession::finishResponse() {
  answering_ = false;
  if (!request_.keepAlive) {
    conn_->closeAfterFlush();
    return;
  }
  if (!pending_.empty())
    worker_.post([this, alive = alive_] {
      if (*alive) process();
    });
}

std::function<void(int, std::string, std::string)> HttpSession::defer() {
  auto alive = alive_;
  Worker* w = &worker_;
  return [this, alive, w](int status, std::string type, std::string body) {
    w->run([this, alive, status, type = std::move(type), body = std::move(body)] {
      if (*alive) respond(status, type, body);
    });
  };
}

std::unique_ptr<TcpConnection> HttpSession::takeOver() {
  taken_ = true;
  answering_ = false;
  auto c = std::move(conn_);
  destroyLater();
  return c;
}

void HttpSession::tick(uint64_t now) {
  if (!answering_ && conn_ && now - lastActivityMs_ > module_.settings().idleTimeoutMs)
    conn_->close();
}

SessionInfo HttpSession::info() const {
  SessionInfo i;
  i.id = id_;
  i.protocol = "http";
  i.role = "http";
  i.peer = peer_;
  if (conn_) {
    i.bytesIn = conn_->bytesIn();
    i.bytesOut = conn_->bytesOut();
  }
  i.ageSec = (worker_.nowMs() - startMs_) / 1000.0;
  return i;
}

}  // namespace xl::http
