#include "http/http_server.h"

#include <algorithm>

#include "http/http_session.h"

namespace xl::http {

void HttpModule::configure(ConfigSection& s, bool apply) {
  HttpSettings next;
  next.enabled = s.boolean("enabled", true);
  next.listen = s.string("listen", next.listen);
  if (auto hp = parseHostPort(next.listen); !hp) s.error("listen", hp.message());
  std::string origin = s.string("cors_origin", "*");
  next.cors.allowOrigins = {origin};
  next.idleTimeoutMs = static_cast<uint64_t>(s.integer("idle_timeout_ms", 30000, 1000, 3600000));
  if (apply) settings_ = next;
}

Status HttpModule::startWorker(Worker& w, ServerContext& ctx) {
  return listeners_.open(w, settings_.listen, [this, &w, &ctx](int fd, std::string peer) {
    (new HttpSession(*this, ctx, w, fd, std::move(peer)))->start();
  });
}

void HttpModule::stopWorker(Worker& w) {
  listeners_.close(w);
}

void HttpModule::addRoute(std::vector<std::string> methods, RouteMatch match,
                          RouteHandler handler) {
  routes_.push_back(Route{std::move(methods), std::move(match), std::move(handler)});
}

void HttpModule::dispatch(HttpExchange& ex) const {
  const Request& req = ex.request();
  bool pathMatched = false;
  for (const Route& r : routes_) {
    if (!r.match(req.path)) continue;
    pathMatched = true;
    bool methodOk = std::find(r.methods.begin(), r.methods.end(), req.method) != r.methods.end() ||
                    (req.method == "HEAD" &&
                     std::find(r.methods.begin(), r.methods.end(), "GET") != r.methods.end());
    if (!methodOk) continue;
    r.handler(ex);
    return;
  }
  if (pathMatched)
    ex.respond(405, "text/plain", "method not allowed\n");
  else
    ex.respond(404, "text/plain", "not found\n");
}

}  // namespace xl::http

namespace xl {
void registerHttpModule(ModuleRegistry& registry) {
  auto module = std::make_unique<http::HttpModule>();
  http::addAdminRoutes(*module);
  registry.addProtocol(std::move(module));
}
}  // namespace xl
