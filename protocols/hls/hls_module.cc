// The HLS module: http://HOST:8080/{app}/{stream}/index.m3u8 and its segments (RFC 8216),
// served from memory by the HTTP server. One segmenter per stream and container, created by the
// first playlist request and released after idle_timeout_ms without requests.
#include <spdlog/spdlog.h>

#include <charconv>

#include "hls/channel.h"
#include "hls/hls_request.h"
#include "http/http_server.h"
#include "http/url.h"

namespace xl::hls {
namespace {

constexpr std::string_view kPlaylistType = "application/vnd.apple.mpegurl";

// "bytes=a-b" / "bytes=a-" / "bytes=-n" (RFC 9110 14.1.2), one range only. False when the
// header is absent or not understood (then the whole body is sent, as 14.2 allows); `bad`
// when the range cannot be satisfied.
bool parseRange(std::string_view h, size_t size, size_t& off, size_t& len, bool& bad) {
  bad = false;
  if (!h.starts_with("bytes=") || h.find(',') != std::string_view::npos) return false;
  h.remove_prefix(6);
  size_t dash = h.find('-');
  if (dash == std::string_view::npos) return false;
  auto num = [](std::string_view s, uint64_t& v) {
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    return !s.empty() && ec == std::errc() && p == s.data() + s.size();
  };
  uint64_t a = 0, b = 0;
  std::string_view first = h.substr(0, dash), last = h.substr(dash + 1);
  if (first.empty()) {
    if (!num(last, b)) return false;
    if (b == 0 || size == 0) return bad = true;
    off = size - std::min<uint64_t>(b, size);
    len = size - off;
    return true;
  }
  if (!num(first, a)) return false;
  if (!last.empty() && (!num(last, b) || b < a)) return false;
  if (a >= size) return bad = true;
  off = a;
  len = (last.empty() || b >= size ? size - 1 : b) - a + 1;
  return true;
}

class HlsModule : public ProtocolModule {
 public:
  std::string_view name() const override { return "hls"; }
  bool enabled() const override { return settings_.enabled; }

  void configure(ConfigSection& s, bool apply) override {
    HlsSettings next;
    next.enabled = s.boolean("enabled", true);
    next.segmentDurationMs = s.integer("segment_duration_ms", 2000, 500, 20000);
    next.window = static_cast<size_t>(s.integer("window", 6, 2, 60));
    next.partDurationMs = s.integer("part_duration_ms", 333, 100, 2000);
    next.idleTimeoutMs = static_cast<uint64_t>(s.integer("idle_timeout_ms", 30000, 1000, 3600000));
    std::string c = s.choice("container", "ts", {"ts", "fmp4"});
    next.container = c == "fmp4" ? Container::kFmp4 : Container::kTs;
    if (next.partDurationMs * 2 > next.segmentDurationMs)
      s.error("part_duration_ms", "must be at most half of segment_duration_ms");
    if (apply) settings_ = next;
  }

  Status startWorker(Worker& w, ServerContext& ctx) override {
    if (!channels_) channels_ = std::make_unique<ChannelMap>(ctx.workers, &settings_);
    if (w.index() == 0) w.addTicker([this, &w] { channels_->sweep(w.nowMs()); });
    return Status::ok();
  }

  void stopWorker(Worker& w) override {
    if (channels_) channels_->cancelWaiters(w);
  }

  void handle(http::HttpExchange& ex) {
    if (!settings_.enabled || !channels_) return ex.respond(404, "text/plain", "HLS is disabled\n");
    const http::Request& req = ex.request();
    auto r = parseHlsRequest(req.path, req.query);
    if (!r) return ex.respond(400, "text/plain", r.message() + "\n");
    Container c = r->container.value_or(settings_.container);
    if (c == Container::kFmp4)
      return ex.respond(404, "text/plain", "fMP4 HLS is not available yet; use container=ts\n");
    switch (r->kind) {
      case HlsRequest::Kind::kPlaylist:
        return servePlaylist(ex, *r, c);
      case HlsRequest::Kind::kSegment:
        return serveSegment(ex, *r, c);
      case HlsRequest::Kind::kInit:
        return ex.respond(404, "text/plain", "no init segment for MPEG-TS\n");
    }
  }

 private:
  void servePlaylist(http::HttpExchange& ex, const HlsRequest& r, Container c) {
    AccessRequest req;
    req.action = AccessRequest::Action::kPlay;
    req.stream = r.stream;
    req.protocol = "hls";
    req.peer = ex.peer();
    req.clientIp = peerHost(req.peer);
    if (auto q = http::parseQuery(ex.request().query))
      for (auto& p : *q) req.query[p.key] = p.value;
    // The chain answers on this worker, and only while the exchange is still alive.
    ex.context().plugins->check(req, ex.worker(), ex.aliveToken(),
                                [this, &ex, c, name = r.stream](const Decision& d) {
                                  if (d.verdict == Verdict::kDeny)
                                    return ex.respond(403, "text/plain", d.reason + "\n");
                                  afterAccess(ex, name, c);
                                });
  }

  void afterAccess(http::HttpExchange& ex, const std::string& name, Container c) {
    uint64_t now = ex.worker().nowMs();
    StreamPtr stream = ex.context().streams->find(name);
    ChannelPtr ch;
    if (stream) {
      ch = channels_->attach(stream, c, now);
    } else {
      // The source is gone: keep serving its last window for a while, so that a publisher
      // that reconnects continues the same playlist (with a discontinuity).
      ch = channels_->find(name, c);
      uint64_t grace = settings_.window * settings_.segmentDurationMs;
      if (!ch || ch->endedAtMs() == 0 || now - ch->endedAtMs() > grace || !ch->snapshot())
        return ex.respond(404, "text/plain", "stream " + name + " not found\n");
    }
    ch->touch(now);
    // The first request of a new stream waits (bounded) for the first segment.
    uint64_t timeout = 2 * settings_.segmentDurationMs + 1000;
    auto alive = ex.aliveToken();
    Waiter::park(
        ch, ex.worker(), timeout,
        [&ex, alive](const SnapshotPtr& s) {
          if (!*alive) return true;
          if (!s || s->segments.empty()) return false;
          sendPlaylist(ex, *s);
          return true;
        },
        [&ex, alive, name] {
          if (*alive)
            ex.respond(503, "text/plain", "stream " + name + " has no HLS segment yet; retry\n");
        });
  }

  static void sendPlaylist(http::HttpExchange& ex, const Snapshot& s) {
    http::ResponseHead head(200);
    head.contentType(kPlaylistType).header("Cache-Control", "no-cache");
    ex.respond(std::move(head), s.playlist, 0, s.playlist.size());
  }

  void serveSegment(http::HttpExchange& ex, const HlsRequest& r, Container c) {
    ChannelPtr ch = channels_->find(r.stream, c);
    if (!ch) return ex.respond(404, "text/plain", "stream " + r.stream + " has no HLS output\n");
    ch->touch(ex.worker().nowMs());
    SnapshotPtr snap = ch->snapshot();
    SegmentPtr seg = snap ? snap->find(r.msn) : nullptr;
    if (!seg)
      return ex.respond(
          404, "text/plain",
          "segment " + std::to_string(r.msn) + " of " + r.stream + " is not available\n");
    // Segments never change once published: caches may keep them for the window's length.
    std::string cache =
        "public, max-age=" + std::to_string(settings_.window * settings_.segmentDurationMs / 1000);
    const BufferRef& body = seg->data;
    size_t off = 0, len = body.size();
    bool bad = false;
    bool ranged = parseRange(ex.request().header("Range"), body.size(), off, len, bad);
    if (bad) {
      http::ResponseHead head(416);
      head.header("Content-Range", "bytes */" + std::to_string(body.size()));
      return ex.respond(std::move(head), BufferRef(), 0, 0);
    }
    http::ResponseHead head(ranged ? 206 : 200);
    head.contentType(segmentMimeType(c)).header("Cache-Control", cache);
    head.header("Accept-Ranges", "bytes");
    if (ranged)
      head.header("Content-Range", "bytes " + std::to_string(off) + "-" +
                                       std::to_string(off + len - 1) + "/" +
                                       std::to_string(body.size()));
    ex.respond(std::move(head), body, off, len);
  }

  HlsSettings settings_;
  std::unique_ptr<ChannelMap> channels_;
};

}  // namespace
}  // namespace xl::hls

namespace xl {

void registerHlsModule(ModuleRegistry& registry) {
  auto module = std::make_unique<hls::HlsModule>();
  hls::HlsModule* m = module.get();
  if (auto* http = registry.find<http::HttpModule>("http")) {
    http->addRoute(
        {"GET"}, [](std::string_view p) { return hls::isHlsPath(p); },
        [m](http::HttpExchange& ex) { m->handle(ex); });
  }
  registry.addProtocol(std::move(module));
}

}  // namespace xl
