#include "http/http_server.h"
#include "xueliang/admin.h"

namespace xl::http {
namespace {

constexpr std::string_view kStreamsPrefix = "/api/v1/streams/";
constexpr std::string_view kJson = "application/json";
constexpr std::string_view kSourcesPrefix = "/api/v1/sources/";

std::string streamNameOf(std::string_view path) {
  return std::string(path.substr(kStreamsPrefix.size()));
}

}  // namespace

void addAdminRoutes(HttpModule& m) {
  m.addRoute(
      {"GET"}, [](std::string_view p) { return p == "/api/v1/streams"; },
      [](HttpExchange& ex) { ex.respond(200, kJson, admin::streamsJson(ex.context())); });

  m.addRoute(
      {"GET", "DELETE"},
      [](std::string_view p) {
        return p.starts_with(kStreamsPrefix) && p.size() > kStreamsPrefix.size();
      },
      [](HttpExchange& ex) {
        std::string name = streamNameOf(ex.request().path);
        if (ex.request().method == "DELETE") {
          if (admin::kickStream(ex.context(), name))
            ex.respond(200, kJson, "{\"kicked\":\"" + name + "\"}");
          else
            ex.respond(404, kJson, "{\"error\":\"stream not found\"}");
          return;
        }
        std::string body = admin::streamJson(ex.context(), name);
        if (body.empty())
          ex.respond(404, kJson, "{\"error\":\"stream not found\"}");
        else
          ex.respond(200, kJson, body);
      });

  m.addRoute(
      {"GET"}, [](std::string_view p) { return p == "/api/v1/sessions"; },
      [](HttpExchange& ex) {
        auto reply = ex.defer();
        admin::collectSessionsJson(ex.context(), ex.worker(), [reply](std::string body) {
          reply(200, std::string(kJson), std::move(body));
        });
      });

  // Pulled sources (cameras).
  m.addRoute(
      {"GET", "POST"}, [](std::string_view p) { return p == "/api/v1/sources"; },
      [](HttpExchange& ex) {
        if (ex.request().method == "POST") {
          auto [code, body] = admin::addSource(ex.context(), ex.request().body);
          ex.respond(code, kJson, body);
          return;
        }
        ex.respond(200, kJson, admin::sourcesJson(ex.context()));
      });
  m.addRoute(
      {"DELETE"},
      [](std::string_view p) {
        return p.starts_with(kSourcesPrefix) && p.size() > kSourcesPrefix.size();
      },
      [](HttpExchange& ex) {
        std::string name(ex.request().path.substr(kSourcesPrefix.size()));
        if (admin::removeSource(ex.context(), name))
          ex.respond(200, kJson, "{\"removed\":\"" + name + "\"}");
        else
          ex.respond(404, kJson, "{\"error\":\"source not found\"}");
      });

  m.addRoute(
      {"GET"}, [](std::string_view p) { return p == "/metrics"; },
      [](HttpExchange& ex) {
        ex.respond(200, "text/plain; version=0.0.4", admin::metricsText(ex.context()));
      });
}

}  // namespace xl::http
