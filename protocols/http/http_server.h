// The HTTP/1.1 server on port 8080, shared by every HTTP-based module (HTTP-FLV, HLS, WHEP/WHIP,
// the admin API): this module owns the listeners and sessions; others add routes.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "http/request_parser.h"
#include "http/response.h"
#include "xueliang/connection.h"
#include "xueliang/protocol.h"

namespace xl::http {

struct HttpSettings {
  bool enabled = true;
  std::string listen = "0.0.0.0:8080";
  CorsPolicy cors;
  uint64_t idleTimeoutMs = 30000;
};

// One request being answered, on the worker that received it.
class HttpExchange {
 public:
  virtual ~HttpExchange() = default;
  virtual const Request& request() const = 0;
  virtual Worker& worker() = 0;
  virtual const std::string& peer() const = 0;
  virtual const CorsPolicy& cors() const = 0;
  virtual ServerContext& context() = 0;
  // False once the exchange is gone (client left while an answer was pending).
  virtual std::shared_ptr<bool> aliveToken() const = 0;
  // Answers now with a complete body.
  virtual void respond(int status, std::string_view contentType, std::string_view body) = 0;
  // Answers now with a head the caller built (status line, Content-Type and its own fields;
  // Content-Length, Connection and CORS are added here) and `len` bytes of a shared, immutable
  // body from `offset`, queued without copying (HLS segments). HEAD sends the head only.
  virtual void respond(ResponseHead head, const BufferRef& body, size_t offset, size_t len) = 0;
  // For an answer that comes later (from any thread): the returned function answers once.
  virtual std::function<void(int, std::string, std::string)> defer() = 0;
  // Hands the socket to a streaming session that writes its own response (HTTP-FLV). The
  // caller must start() it with its own handler before returning.
  virtual std::unique_ptr<TcpConnection> takeOver() = 0;
};

using RouteHandler = std::function<void(HttpExchange&)>;
using RouteMatch = std::function<bool(std::string_view path)>;

class HttpModule : public ProtocolModule {
 public:
  std::string_view name() const override { return "http"; }
  void configure(ConfigSection& section, bool apply) override;
  bool enabled() const override { return settings_.enabled; }
  Status startWorker(Worker& w, ServerContext& ctx) override;
  void stopWorker(Worker& w) override;

  // Routes are tried in the order added. `methods` lists the accepted methods; a matching path
  // with another method gets 405.
  void addRoute(std::vector<std::string> methods, RouteMatch match, RouteHandler handler);
  // Dispatches a parsed request (used by sessions).
  void dispatch(HttpExchange& ex) const;
  const HttpSettings& settings() const { return settings_; }

 private:
  struct Route {
    std::vector<std::string> methods;
    RouteMatch match;
    RouteHandler handler;
  };
  HttpSettings settings_;
  std::vector<Route> routes_;
  ListenerSet listeners_{"http"};
};

// The admin API (/api/v1/..., /metrics), whose content comes from the core.
void addAdminRoutes(HttpModule& module);

}  // namespace xl::http
