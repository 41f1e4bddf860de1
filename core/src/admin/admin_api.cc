#include "xueliang/admin.h"

#include <nlohmann/json.hpp>

#include <atomic>
#include <ctime>
#include <mutex>

#include "xueliang/source_manager.h"

namespace xl::admin {
namespace {

using nlohmann::json;

json streamToJson(const ServerContext& ctx, Stream& s) {
  StreamStats st = s.stats();
  json j;
  j["name"] = s.name();
  if (st.media && st.media->video) {
    const VideoTrack& v = *st.media->video;
    j["video"] = {{"codec", codecName(v.codec)}, {"width", v.width}, {"height", v.height},
                  {"profile", v.profile},        {"level", v.level}, {"fps", st.fps}};
  } else {
    j["video"] = nullptr;
  }
  if (st.media && st.media->audio) {
    const AudioTrack& a = *st.media->audio;
    j["audio"] = {
        {"codec", codecName(a.codec)}, {"sample_rate", a.sampleRate}, {"channels", a.channels}};
  } else {
    j["audio"] = nullptr;
  }
  json viewers = json::object();
  int total = 0;
  const auto& formats = ctx.streams->formats();
  for (size_t i = 0; i < formats.size(); ++i) {
    viewers[formats[i].name] = st.viewers[i];
    total += st.viewers[i];
  }
  j["viewers"] = viewers;
  j["viewers_total"] = total;
  j["publisher"] = {{"protocol", s.publisher().protocol}, {"peer", s.publisher().peer}};
  j["uptime_s"] = st.uptimeSec;
  j["bitrate_kbps"] = st.bitrateKbps;
  j["frames"] = st.frames;
  j["bytes_in"] = st.bytesIn;
  return j;
}

json sessionToJson(const SessionInfo& s) {
  json j = {
      {"id", s.id},       {"protocol", s.protocol}, {"role", s.role},          {"stream", s.stream},
      {"peer", s.peer},   {"bytes_in", s.bytesIn},  {"bytes_out", s.bytesOut}, {"drops", s.drops},
      {"age_s", s.ageSec}};
  for (const auto& [key, value] : s.extra) j[key] = value;
  return j;
}

}  // namespace

std::string streamsJson(const ServerContext& ctx) {
  json list = json::array();
  for (auto& s : ctx.streams->list()) list.push_back(streamToJson(ctx, *s));
  return json{{"streams", list}}.dump();
}

std::string streamJson(const ServerContext& ctx, const std::string& name) {
  auto s = ctx.streams->find(name);
  return s ? streamToJson(ctx, *s).dump() : std::string();
}

bool kickStream(const ServerContext& ctx, const std::string& name) {
  auto s = ctx.streams->find(name);
  if (!s) return false;
  s->kick();
  return true;
}

void collectSessionsJson(ServerContext& ctx, Worker& replyOn,
                         std::function<void(std::string)> done) {
  struct Gather {
    std::mutex mu;
    json list = json::array();
    std::atomic<size_t> left;
    std::function<void(std::string)> done;
    Worker* replyOn;
  };
  auto g = std::make_shared<Gather>();
  g->left = ctx.workers.size();
  g->done = std::move(done);
  g->replyOn = &replyOn;
  for (Worker* w : ctx.workers) {
    SessionSet* set = &ctx.sessionsOf(*w);
    w->run([g, set, index = w->index()] {
      json part = json::array();
      for (Session* s : set->all()) {
        part.push_back(sessionToJson(s->info()));
        part.back()["worker"] = index;  // the worker the session lives on
      }
      {
        std::lock_guard lk(g->mu);
        for (auto& p : part) g->list.push_back(std::move(p));
      }
      if (g->left.fetch_sub(1) == 1) {
        std::string body = json{{"sessions", g->list}}.dump();
        g->replyOn->run([g, body = std::move(body)] { g->done(body); });
      }
    });
  }
}

std::string metricsText(const ServerContext& ctx) {
  uint64_t in = 0, out = 0, accepted = 0, drops = 0, slow = 0, errors = 0;
  for (Worker* w : ctx.workers) {
    WorkerStats& s = w->stats();
    in += s.bytesIn.get();
    out += s.bytesOut.get();
    accepted += s.connectionsAccepted.get();
    drops += s.viewerDrops.get();
    slow += s.slowDisconnects.get();
    errors += s.protocolErrors.get();
  }
  auto streams = ctx.streams->list();
  const auto& formats = ctx.streams->formats();
  std::vector<long> viewers(formats.size(), 0);
  for (auto& s : streams) {
    StreamStats st = s->stats();
    for (size_t i = 0; i < formats.size(); ++i) viewers[i] += st.viewers[i];
  }
  std::string t;
  auto metric = [&t](const char* name, const char* type, const char* help) {
    t += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
  };
  metric("xueliang_streams", "gauge", "Live streams.");
  t += "xueliang_streams " + std::to_string(streams.size()) + "\n";
  metric("xueliang_viewers", "gauge", "Connected viewers by protocol.");
  for (size_t i = 0; i < formats.size(); ++i)
    t += "xueliang_viewers{protocol=\"" + formats[i].name + "\"} " + std::to_string(viewers[i]) +
         "\n";
  metric("xueliang_bytes_in_total", "counter", "Bytes received from clients.");
  t += "xueliang_bytes_in_total " + std::to_string(in) + "\n";
  metric("xueliang_bytes_out_total", "counter", "Bytes sent to clients.");
  t += "xueliang_bytes_out_total " + std::to_string(out) + "\n";
  metric("xueliang_connections_total", "counter", "Accepted TCP connections.");
  t += "xueliang_connections_total " + std::to_string(accepted) + "\n";
  metric("xueliang_viewer_drops_total", "counter", "Media frames skipped for slow viewers.");
  t += "xueliang_viewer_drops_total " + std::to_string(drops) + "\n";
  metric("xueliang_slow_disconnects_total", "counter", "Viewers closed for making no progress.");
  t += "xueliang_slow_disconnects_total " + std::to_string(slow) + "\n";
  metric("xueliang_protocol_errors_total", "counter", "Connections closed for malformed input.");
  t += "xueliang_protocol_errors_total " + std::to_string(errors) + "\n";
  metric("xueliang_io_engine_info", "gauge", "The engine writing TCP viewers' output.");
  t += "xueliang_io_engine_info{engine=\"" + ctx.ioEngine + "\"} 1\n";
  for (const OutputFormat& f : formats) {
    if (f.metrics) t += f.metrics();
  }
  return t;
}

namespace {

json isoTime(int64_t unixMs) {
  if (unixMs <= 0) return nullptr;
  time_t t = static_cast<time_t>(unixMs / 1000);
  tm parts{};
  gmtime_r(&t, &parts);
  char out[32];
  strftime(out, sizeof out, "%Y-%m-%dT%H:%M:%S", &parts);
  char ms[8];
  snprintf(ms, sizeof ms, ".%03dZ", static_cast<int>(unixMs % 1000));
  return std::string(out) + ms;
}

json error(const std::string& message) {
  return json{{"error", message}};
}

}  // namespace

std::string sourcesJson(const ServerContext& ctx) {
  json list = json::array();
  if (ctx.sources) {
    for (const SourceStatus& s : ctx.sources->list()) {
      list.push_back(
          {{"name", s.settings.name},
           {"url", redactUrl(s.settings.url)},
           {"transport", s.settings.transport},
           {"media_transport", s.mediaTransport.empty() ? json(nullptr) : json(s.mediaTransport)},
           {"origin", s.origin == SourceOrigin::kConfig ? "config" : "api"},
           {"connects", s.connects},
           {"on_demand", s.settings.onDemand},
           {"state", s.state},
           {"last_error", s.lastError.empty() ? json(nullptr) : json(s.lastError)},
           {"next_attempt", isoTime(s.nextAttemptUnixMs)},
           {"connected_since", isoTime(s.connectedSinceUnixMs)},
           {"attempts", s.attempts},
           {"bytes_in", s.bytesIn},
           {"frames_in", s.framesIn}});
    }
  }
  return json{{"sources", list}}.dump();
}

std::pair<int, std::string> addSource(const ServerContext& ctx, const std::string& body) {
  if (!ctx.sources) return {503, error("sources are not available").dump()};
  json j = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return {400, error("expected a JSON object").dump()};
  SourceSettings s;
  auto millis = [](const json& v, uint32_t& out) {
    if (!v.is_number_integer() || v.get<int64_t>() < 0 || v.get<int64_t>() > 86400000) return false;
    out = static_cast<uint32_t>(v.get<int64_t>());
    return true;
  };
  for (auto& [key, v] : j.items()) {
    bool ok = true;
    if (key == "name")
      ok = v.is_string() && (s.name = v.get<std::string>(), true);
    else if (key == "url")
      ok = v.is_string() && (s.url = v.get<std::string>(), true);
    else if (key == "transport")
      ok = v.is_string() && (s.transport = v.get<std::string>(), true);
    else if (key == "on_demand")
      ok = v.is_boolean() && (s.onDemand = v.get<bool>(), true);
    else if (key == "retry_min_ms")
      ok = millis(v, s.retryMinMs);
    else if (key == "retry_max_ms")
      ok = millis(v, s.retryMaxMs);
    else if (key == "no_media_timeout_ms")
      ok = millis(v, s.noMediaTimeoutMs);
    else if (key == "idle_timeout_ms")
      ok = millis(v, s.idleTimeoutMs);
    else
      return {400, error("unknown key '" + key + "'").dump()};
    if (!ok) return {400, error("bad value for '" + key + "'").dump()};
  }
  if (Status v = validateSourceSettings(s); !v) return {400, error(v.message()).dump()};
  auto [code, message] = ctx.sources->add(s);
  if (code != 201) return {code, error(message).dump()};
  return {201, json{{"added", s.name}, {"url", redactUrl(s.url)}}.dump()};
}

bool removeSource(const ServerContext& ctx, const std::string& name) {
  return ctx.sources && ctx.sources->remove(name);
}

}  // namespace xl::admin
