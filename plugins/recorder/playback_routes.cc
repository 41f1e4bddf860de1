#include "playback_routes.h"

#include <nlohmann/json.hpp>

#include "http/url.h"
#include "playback.h"
#include "recorder.h"
#include "time_range.h"
#include "xueliang/connection.h"
#include "xueliang/plugin.h"
#include "xueliang/protocol.h"

namespace xl::recorder {
namespace {

constexpr std::string_view kJson = "application/json";
constexpr int64_t kMaxRangeMs = int64_t(24) * 3600 * 1000;

std::string errorJson(const std::string& msg) {
  return nlohmann::json{{"error", msg}}.dump();
}

// The finished files of a listing (RecorderService::list's JSON).
std::vector<SegmentFile> filesOf(const std::string& listing) {
  std::vector<SegmentFile> out;
  auto j = nlohmann::json::parse(listing, nullptr, false);
  if (j.is_discarded() || !j.contains("segments") || !j["segments"].is_array()) return out;
  for (const auto& s : j["segments"]) {
    if (!s.is_object() || !s.contains("path") || !s["path"].is_string() ||
        !s.contains("start_ms") || !s["start_ms"].is_number_integer() || !s.contains("end_ms") ||
        !s["end_ms"].is_number_integer())
      continue;
    SegmentFile f;
    f.path = s["path"].get<std::string>();
    f.startEpochMs = s["start_ms"].get<int64_t>();
    f.endEpochMs = s["end_ms"].get<int64_t>();
    out.push_back(std::move(f));
  }
  return out;
}

void servePlaylist(http::HttpExchange& ex, const std::string& stream,
                   const std::shared_ptr<RecorderService>& svc,
                   const std::shared_ptr<PlaybackService>& pb) {
  auto params = http::parseQuery(ex.request().query);
  std::optional<int64_t> from, to;
  if (params && http::hasQueryKey(*params, "from"))
    from = parseTime(http::queryValue(*params, "from"));
  if (params && http::hasQueryKey(*params, "to")) to = parseTime(http::queryValue(*params, "to"));
  if (!from || !to || *from >= *to || *to - *from > kMaxRangeMs) {
    ex.respond(400, kJson,
               errorJson("from=T&to=T required: ISO-8601 UTC or epoch seconds, from before to, "
                         "at most 24 h apart"));
    return;
  }
  auto reply = ex.defer();
  // The writer thread owns the index of files; the IO thread reads them.
  svc->list(stream, *from, *to, [pb, reply, from = *from, to = *to](std::string listing) {
    bool queued = pb->playlist(filesOf(listing), from, to, [reply](Result<std::string> body) {
      if (!body)
        reply(404, std::string(kJson), errorJson(body.message()));
      else
        reply(200, "application/vnd.apple.mpegurl", std::move(*body));
    });
    if (!queued) reply(503, std::string(kJson), errorJson("too many playback requests"));
  });
}

void serveMedia(http::HttpExchange& ex, const std::string& path,
                const std::shared_ptr<PlaybackService>& pb) {
  auto alive = ex.aliveToken();
  http::HttpExchange* exp = &ex;
  Worker* w = &ex.worker();
  bool queued =
      pb->read(path, std::string(ex.request().header("Range")), [alive, exp, w](MediaRange r) {
        if (!*alive) return;
        w->run([alive, exp, r = std::move(r)] {
          if (!*alive) return;
          if (r.status == 404 || r.status == 413) {
            exp->respond(r.status, kJson, errorJson(r.error));
            return;
          }
          http::ResponseHead head(r.status);
          head.header("Accept-Ranges", "bytes");
          if (r.status == 416) {
            head.header("Content-Range", "bytes */" + std::to_string(r.fileSize));
            exp->respond(std::move(head), BufferRef(), 0, 0);
            return;
          }
          head.contentType("video/mp4");
          if (r.status == 206)
            head.header("Content-Range", "bytes " + std::to_string(r.offset) + "-" +
                                             std::to_string(r.offset + r.body.size() - 1) + "/" +
                                             std::to_string(r.fileSize));
          exp->respond(std::move(head), r.body, 0, r.body.size());
        });
      });
  if (!queued) ex.respond(503, kJson, errorJson("too many playback requests"));
}

// Playing a recording is playing the stream: the plugins' access hooks (access lists, tokens in
// the query) decide, as for live viewers. `then` runs on the exchange's worker if allowed.
void checkPlay(http::HttpExchange& ex, const std::string& stream, std::function<void()> then) {
  AccessRequest req;
  req.action = AccessRequest::Action::kPlay;
  req.stream = stream;
  req.protocol = "playback";
  req.peer = ex.peer();
  req.clientIp = peerHost(req.peer);
  if (auto q = http::parseQuery(ex.request().query))
    for (auto& p : *q) req.query[p.key] = p.value;
  ex.context().plugins->check(
      req, ex.worker(), ex.aliveToken(), [&ex, then = std::move(then)](const Decision& d) {
        if (d.verdict != Verdict::kDeny && d.verdict != Verdict::kUnauthorized) return then();
        ex.respond(d.verdict == Verdict::kUnauthorized ? 401 : 403, kJson, errorJson(d.reason));
      });
}

bool isPlaybackPath(std::string_view p) {
  if (p.ends_with("/playback.m3u8")) return true;
  size_t dir = p.rfind("/playback/");
  return dir != std::string_view::npos && p.ends_with(".mp4") &&
         p.find('/', dir + 10) == std::string_view::npos;
}

}  // namespace

void addPlaybackRoutes(http::HttpModule& m, std::shared_ptr<RecorderService> svc,
                       std::shared_ptr<PlaybackService> pb) {
  m.addRoute({"GET"}, isPlaybackPath, [svc, pb](http::HttpExchange& ex) {
    auto segs = http::decodePathSegments(ex.request().path);
    bool playlist = segs && segs->size() == 3 && (*segs)[2] == "playback.m3u8";
    bool media = segs && segs->size() == 4 && (*segs)[2] == "playback";
    std::string stream = segs && segs->size() >= 2 ? (*segs)[0] + "/" + (*segs)[1] : "";
    if ((!playlist && !media) || !safeStreamName(stream)) {
      ex.respond(400, kJson,
                 errorJson("expected /{app}/{stream}/playback.m3u8 or "
                           "/{app}/{stream}/playback/{file-id}.mp4"));
      return;
    }
    if (playlist)
      return checkPlay(ex, stream, [&ex, stream, svc, pb] { servePlaylist(ex, stream, svc, pb); });
    std::string_view name = (*segs)[3];
    auto path = name.ends_with(".mp4")
                    ? pathForId(svc->config()->root, stream, name.substr(0, name.size() - 4))
                    : std::nullopt;
    if (!path) {
      ex.respond(400, kJson, errorJson("bad file id: expected YYYYMMDD-HHMMSS[-N].mp4"));
      return;
    }
    checkPlay(ex, stream, [&ex, path = *path, pb] { serveMedia(ex, path, pb); });
  });
}

}  // namespace xl::recorder
