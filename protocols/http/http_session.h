// HttpSession: one HTTP/1.1 connection answering requests one at a time (keep-alive, pipelining
// kept in order), until a streaming route takes the socket over.
#pragma once

#include <memory>
#include <string>

#include "http/http_server.h"

namespace xl::http {

class HttpSession : public ConnectionHandler, public Session, public HttpExchange {
 public:
  HttpSession(HttpModule& module, ServerContext& ctx, Worker& worker, int fd, std::string peer);
  ~HttpSession() override;
  void start();

  void onData(const uint8_t* data, size_t n) override;
  void onClosed() override;

  SessionInfo info() const override;
  void tick(uint64_t nowMs) override;
  void shutdown() override;

  const Request& request() const override { return request_; }
  Worker& worker() override { return worker_; }
  const std::string& peer() const override { return peer_; }
  const CorsPolicy& cors() const override { return module_.settings().cors; }
  ServerContext& context() override { return ctx_; }
  std::shared_ptr<bool> aliveToken() const override { return alive_; }
  void respond(int status, std::string_view contentType, std::string_view body) override;
  void respond(ResponseHead head, const BufferRef& body, size_t offset, size_t len) override;
  std::function<void(int, std::string, std::string)> defer() override;
  std::unique_ptr<TcpConnection> takeOver() override;

 private:
  void process();
  void finishResponse();
  void destroyLater();

  HttpModule& module_;
  ServerContext& ctx_;
  Worker& worker_;
  std::string peer_;
  std::unique_ptr<TcpConnection> conn_;
  RequestParser parser_;
  Request request_;
  std::string pending_;  // bytes received while a response is outstanding
  bool answering_ = false;
  bool taken_ = false;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  uint64_t id_;
  uint64_t startMs_;
  uint64_t lastActivityMs_;
};

}  // namespace xl::http
