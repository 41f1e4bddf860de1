// The recorder plugin and its HTTP API. The plugin depends on the http module's library for its
// routes (as the HLS module does): the core stays protocol-free, and a server built without the
// http module still records, only without the API.
//
//   POST /api/v1/recordings/start  {"stream":"app/name"}   record (now, or when published)
//   POST /api/v1/recordings/stop   {"stream":"app/name"}
//   POST /api/v1/recordings/event  {"stream":"app/name","pre_seconds":10,"post_seconds":20}
//   GET  /api/v1/recordings?stream=app/name&from=T&to=T      finished files and gaps (T: ISO-8601
//                                                            UTC or epoch seconds)
//   GET  /api/v1/recordings/export?stream=app/name&from=T&to=T  one MP4 of the range, with its
//                                                            SHA-256 in X-Content-SHA256
//   GET  /api/v1/recordings/status                         per-stream state and counters (JSON)
//   GET  /metrics/recorder                                 the same as Prometheus text
//   GET  /{app}/{stream}/playback.m3u8?from=T&to=T           HLS VOD (playback_routes.h)
#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>

#include "export.h"
#include "http/http_server.h"
#include "http/url.h"
#include "playback.h"
#include "playback_routes.h"
#include "recorder.h"
#include "time_range.h"
#include "xueliang/config.h"
#include "xueliang/protocol.h"
#include "xueliang/stream.h"

namespace xl::recorder {
namespace {

constexpr std::string_view kJson = "application/json";

// One instance per configuration (a reload validates on a fresh one); they all feed the same
// service, which the server owns through the registry.
class RecorderPlugin : public Plugin {
 public:
  explicit RecorderPlugin(std::shared_ptr<RecorderService> svc) : svc_(std::move(svc)) {}
  std::string_view name() const override { return "recorder"; }
  void configure(ConfigSection& section) override {
    size_t before = section.errors().list().size();
    auto cfg = std::make_shared<const RecorderConfig>(readConfig(section));
    if (section.errors().list().size() == before) svc_->setConfig(cfg);
  }
  std::unique_ptr<FrameSink> createStreamFilter(Stream& stream) override {
    return svc_->attach(stream.name());
  }

 private:
  std::shared_ptr<RecorderService> svc_;
};

bool validStreamName(const std::string& s) {
  return safeStreamName(s);
}

void addRoutes(http::HttpModule& m, std::shared_ptr<RecorderService> svc) {
  m.addRoute(
      {"POST"},
      [](std::string_view p) {
        return p == "/api/v1/recordings/start" || p == "/api/v1/recordings/stop";
      },
      [svc](http::HttpExchange& ex) {
        auto body = nlohmann::json::parse(ex.request().body, nullptr, false);
        if (body.is_discarded() || !body.is_object() || !body.contains("stream") ||
            !body["stream"].is_string()) {
          ex.respond(400, kJson, R"({"error":"expected a JSON body {\"stream\":\"app/name\"}"})");
          return;
        }
        std::string stream = body["stream"].get<std::string>();
        if (!validStreamName(stream)) {
          ex.respond(400, kJson, R"({"error":"stream must be app/name"})");
          return;
        }
        bool start = ex.request().path.ends_with("/start");
        nlohmann::json out{{"stream", stream}, {"recording", start}};
        if (start) {
          out["live"] = svc->start(stream);
        } else if (!svc->stop(stream)) {
          ex.respond(404, kJson, R"({"error":"stream is not being recorded"})");
          return;
        }
        ex.respond(200, kJson, out.dump());
      });
  m.addRoute(
      {"POST"}, [](std::string_view p) { return p == "/api/v1/recordings/event"; },
      [svc](http::HttpExchange& ex) {
        auto body = nlohmann::json::parse(ex.request().body, nullptr, false);
        if (body.is_discarded() || !body.is_object() || !body.contains("stream") ||
            !body["stream"].is_string() || !validStreamName(body["stream"].get<std::string>())) {
          ex.respond(400, kJson, R"({"error":"expected {\"stream\":\"app/name\",...}"})");
          return;
        }
        int maxPre = svc->config()->preEventSeconds;
        auto number = [&body](const char* key, int def, int lo, int hi) -> std::optional<int> {
          if (!body.contains(key)) return def;
          if (!body[key].is_number_integer()) return std::nullopt;
          int64_t v = body[key].get<int64_t>();
          if (v < lo || v > hi) return std::nullopt;
          return static_cast<int>(v);
        };
        auto pre = number("pre_seconds", maxPre, 0, maxPre);
        auto post = number("post_seconds", 20, 1, 3600);
        if (!pre || !post) {
          ex.respond(
              400, kJson,
              R"({"error":"pre_seconds must be 0..pre_event_seconds, post_seconds 1..3600"})");
          return;
        }
        std::string stream = body["stream"].get<std::string>();
        std::string path = svc->event(stream, *pre, *post);
        if (path.empty()) {
          ex.respond(404, kJson, R"({"error":"stream not live"})");
          return;
        }
        ex.respond(
            200, kJson,
            nlohmann::json{
                {"stream", stream}, {"path", path}, {"pre_seconds", *pre}, {"post_seconds", *post}}
                .dump());
      });
  m.addRoute(
      {"GET"}, [](std::string_view p) { return p == "/api/v1/recordings"; },
      [svc](http::HttpExchange& ex) {
        auto params = http::parseQuery(ex.request().query);
        if (!params) {
          ex.respond(400, kJson, R"({"error":"malformed query string"})");
          return;
        }
        std::string stream(http::queryValue(*params, "stream"));
        if (!validStreamName(stream)) {
          ex.respond(400, kJson, R"({"error":"stream=app/name is required"})");
          return;
        }
        int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
        std::optional<int64_t> from = int64_t(0), to = now;
        if (http::hasQueryKey(*params, "from")) from = parseTime(http::queryValue(*params, "from"));
        if (http::hasQueryKey(*params, "to")) to = parseTime(http::queryValue(*params, "to"));
        if (!from || !to || *from > *to) {
          ex.respond(400, kJson,
                     R"({"error":"from/to: ISO-8601 UTC or epoch seconds, from <= to"})");
          return;
        }
        auto reply = ex.defer();
        svc->list(stream, *from, *to,
                  [reply](std::string body) { reply(200, std::string(kJson), std::move(body)); });
      });
  m.addRoute(
      {"GET"}, [](std::string_view p) { return p == "/api/v1/recordings/export"; },
      [svc](http::HttpExchange& ex) {
        auto params = http::parseQuery(ex.request().query);
        std::string stream = params ? std::string(http::queryValue(*params, "stream")) : "";
        std::optional<int64_t> from, to;
        if (params && http::hasQueryKey(*params, "from"))
          from = parseTime(http::queryValue(*params, "from"));
        if (params && http::hasQueryKey(*params, "to"))
          to = parseTime(http::queryValue(*params, "to"));
        if (!validStreamName(stream) || !from || !to || *from >= *to ||
            *to - *from > int64_t(24) * 3600 * 1000) {
          ex.respond(400, kJson,
                     "{\"error\":\"stream=app/name&from=T&to=T: ISO-8601 UTC or epoch seconds, "
                     "from before to, at most 24 h apart\"}");
          return;
        }
        ex.defer();  // the session waits for the answer below
        auto alive = ex.aliveToken();
        http::HttpExchange* exp = &ex;
        Worker* w = &ex.worker();
        svc->exportClip(
            stream, *from, *to, [alive, exp, w](Result<BufferRef> clip, std::string hash) {
              if (!*alive) return;
              w->run([alive, exp, clip = std::move(clip), hash = std::move(hash)]() mutable {
                if (!*alive) return;
                if (!clip) {
                  nlohmann::json err{{"error", clip.message()}};
                  bool busy = clip.message().starts_with("too many exports");
                  exp->respond(busy ? 503 : 404, kJson, err.dump());
                  return;
                }
                http::ResponseHead head(200);
                head.contentType("video/mp4");
                head.header("X-Content-SHA256", hash);
                head.header("Content-Disposition", "attachment; filename=\"export.mp4\"");
                exp->respond(std::move(head), *clip, 0, clip->size());
              });
            });
      });
  m.addRoute(
      {"GET"}, [](std::string_view p) { return p == "/api/v1/recordings/status"; },
      [svc](http::HttpExchange& ex) { ex.respond(200, kJson, svc->statusJson()); });
  m.addRoute(
      {"GET"}, [](std::string_view p) { return p == "/metrics/recorder"; },
      [svc](http::HttpExchange& ex) {
        ex.respond(200, "text/plain; version=0.0.4", svc->metricsText());
      });
}

}  // namespace
}  // namespace xl::recorder

namespace xl {
void registerRecorderPlugin(ModuleRegistry& registry) {
  auto svc = std::make_shared<recorder::RecorderService>();
  if (auto* http = registry.find<http::HttpModule>("http")) {
    recorder::addRoutes(*http, svc);
    // HLS VOD of recordings: /{app}/{stream}/playback.m3u8 (see playback_routes.h).
    recorder::addPlaybackRoutes(*http, svc, std::make_shared<recorder::PlaybackService>());
  }
  registry.addPluginType("recorder",
                         [svc] { return std::make_shared<recorder::RecorderPlugin>(svc); });
}
}  // namespace xl
