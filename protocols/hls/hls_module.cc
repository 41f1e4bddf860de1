// The HLS module: http://HOST:8080/{app}/{stream}/index.m3u8 and its segments (RFC 8216),
// served from memory by the HTTP server. One segmenter per stream and container, created by the
// first playlist request and released after idle_timeout_ms without requests.
#include <spdlog/spdlog.h>

#include <charconv>

#include "hls/channel.h"
#include "hls/hls_request.h"
#include "hls/hls_sessions.h"
#include "hls/segment_writer.h"
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
  void setFormat(int f) { format_ = f; }

  void configure(ConfigSection& s, bool apply) override {
    HlsSettings next;
    next.enabled = s.boolean("enabled", true);
    next.segmentDurationMs = s.integer("segment_duration_ms", 2000, 500, 20000);
    next.window = static_cast<size_t>(s.integer("window", 6, 2, 60));
    next.partDurationMs = s.integer("part_duration_ms", 333, 100, 2000);
    next.idleTimeoutMs = static_cast<uint64_t>(s.integer("idle_timeout_ms", 30000, 1000, 3600000));
    next.sessionTimeoutMs =
        static_cast<uint64_t>(s.integer("session_timeout_ms", 20000, 2000, 3600000));
    std::string c = s.choice("container", "ts", {"ts", "fmp4"});
    next.container = c == "fmp4" ? Container::kFmp4 : Container::kTs;
    if (next.partDurationMs * 2 > next.segmentDurationMs)
      s.error("part_duration_ms", "must be at most half of segment_duration_ms");
    if (apply) settings_ = next;
  }

  Status startWorker(Worker& w, ServerContext& ctx) override {
    if (!channels_) channels_ = std::make_unique<ChannelMap>(ctx.workers, &settings_);
    if (!sessions_)
      sessions_ = std::make_unique<HlsSessionTable>(ctx, format_, settings_.sessionTimeoutMs);
    if (w.index() == 0) w.addTicker([this, &w] { channels_->sweep(w.nowMs()); });
    return Status::ok();
  }

  void stopWorker(Worker& w) override {
    if (channels_) {
      channels_->cancelWaiters(w);
      channels_->releaseStreamsOf(w);
    }
    if (sessions_) sessions_->dropWorker(w);
  }

  void handle(http::HttpExchange& ex) {
    if (!settings_.enabled || !channels_) return ex.respond(404, "text/plain", "HLS is disabled\n");
    const http::Request& req = ex.request();
    auto r = parseHlsRequest(req.path, req.query);
    if (!r) return ex.respond(400, "text/plain", r.message() + "\n");
    Container c = r->container.value_or(settings_.container);
    switch (r->kind) {
      case HlsRequest::Kind::kPlaylist:
        return servePlaylist(ex, std::move(*r), c);
      case HlsRequest::Kind::kSegment:
      case HlsRequest::Kind::kPart:
      case HlsRequest::Kind::kInit:
        return serveMedia(ex, *r, c);
    }
  }

 private:
  void servePlaylist(http::HttpExchange& ex, HlsRequest r, Container c) {
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
                                [this, &ex, c, r = std::move(r)](const Decision& d) {
                                  if (d.verdict == Verdict::kDeny)
                                    return ex.respond(403, "text/plain", d.reason + "\n");
                                  afterAccess(ex, r, c);
                                });
  }

  void afterAccess(http::HttpExchange& ex, const HlsRequest& r, Container c) {
    const std::string& name = r.stream;
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
    std::string sid = sessions_->touch(ex.worker(), r.session, name, stream, ex.peer(),
                                       ex.request().header("User-Agent"), 0);
    // The first request of a new stream waits (bounded) for the first segment; a blocking
    // reload (rfc8216bis 6.2.5.2) for the part or segment it names, at most three target
    // durations (then 503, as the draft suggests for a server that cannot satisfy it).
    bool blocking = r.hlsMsn.has_value();
    int64_t targetS = (settings_.segmentDurationMs + 999) / 1000;
    uint64_t timeout = blocking ? 3 * 1000 * targetS : 2 * settings_.segmentDurationMs + 1000;
    auto alive = ex.aliveToken();
    std::optional<uint64_t> msn = r.hlsMsn, part = r.hlsPart;
    bool skip = r.skip;
    Waiter::park(
        ch, ex.worker(), timeout,
        [&ex, alive, msn, part, skip, sid](const SnapshotPtr& s) {
          if (!*alive) return true;
          if (!s || s->segments.empty()) return false;
          if (msn) {
            // Too far ahead to be satisfied soon (rfc8216bis 6.2.5.2): at most two segments
            // past the last one, or three parts past the last part.
            uint64_t next = s->nextMsn();
            bool far =
                *msn > next + 1 || (part && *msn == next && *part >= s->openParts.size() + 3);
            if (far) {
              ex.respond(400, "text/plain", "_HLS_msn/_HLS_part too far ahead of the live edge\n");
              return true;
            }
            if (!s->satisfies(*msn, part ? &*part : nullptr)) return false;
          }
          sendPlaylist(ex, *s, skip, sid);
          return true;
        },
        [&ex, alive, name, blocking] {
          if (!*alive) return;
          if (blocking)
            ex.respond(503, "text/plain", "blocking reload of " + name + " timed out; retry\n");
          else
            ex.respond(503, "text/plain", "stream " + name + " has no HLS segment yet; retry\n");
        });
  }

  static void sendPlaylist(http::HttpExchange& ex, const Snapshot& s, bool skip,
                           const std::string& sid) {
    const RenderedPlaylist& p = skip && s.delta.text ? s.delta : s.playlist;
    BufferRef body = BufferRef::copyOf(p.withQuery("hls_session=" + sid));
    http::ResponseHead head(200);
    head.contentType(kPlaylistType).header("Cache-Control", "no-cache");
    ex.respond(std::move(head), body, 0, body.size());
  }

  // Segments, parts and the init segment. A part that is being produced (the preload hint)
  // is held until it exists, bounded; anything else missing is a 404.
  void serveMedia(http::HttpExchange& ex, const HlsRequest& r, Container c) {
    ChannelPtr ch = channels_->find(r.stream, c);
    if (!ch) return ex.respond(404, "text/plain", "stream " + r.stream + " has no HLS output\n");
    ch->touch(ex.worker().nowMs());
    auto alive = ex.aliveToken();
    HlsRequest req = r;
    auto answer = [this, &ex, alive, req, c](const SnapshotPtr& s, bool final) {
      if (!*alive) return true;
      BufferRef body;
      bool wait = false;
      if (s) {
        if (req.kind == HlsRequest::Kind::kInit) {
          body = s->initSegment;
        } else if (req.kind == HlsRequest::Kind::kSegment) {
          if (SegmentPtr seg = s->find(req.msn)) body = seg->data;
        } else if (PartPtr p = s->findPart(req.msn, req.part)) {
          body = p->data;
        } else {
          // The hinted part, or one a few parts ahead of it in the open segment.
          wait = req.msn == s->hintMsn() && req.part < s->hintIndex() + 3;
        }
      }
      if (!body && wait && !final) return false;
      if (!body) {
        std::string what = req.kind == HlsRequest::Kind::kInit ? std::string("init segment")
                           : req.kind == HlsRequest::Kind::kPart
                               ? "part " + std::to_string(req.msn) + "." + std::to_string(req.part)
                               : "segment " + std::to_string(req.msn);
        ex.respond(404, "text/plain", what + " of " + req.stream + " is not available\n");
        return true;
      }
      sendMedia(ex, req, c, body);
      return true;
    };
    if (r.kind != HlsRequest::Kind::kPart) {
      answer(ch->snapshot(), true);
      return;
    }
    Waiter::park(
        ch, ex.worker(), settings_.segmentDurationMs + 1000,
        [answer](const SnapshotPtr& s) { return answer(s, false); },
        [answer, ch] { answer(ch->snapshot(), true); });
  }

  void sendMedia(http::HttpExchange& ex, const HlsRequest& r, Container c, const BufferRef& body) {
    sessions_->touch(ex.worker(), r.session, r.stream, ex.context().streams->find(r.stream),
                     ex.peer(), ex.request().header("User-Agent"), body.size());
    // Segments and parts never change once published: caches may keep them for the window's
    // length.
    std::string cache =
        "public, max-age=" + std::to_string(settings_.window * settings_.segmentDurationMs / 1000);
    size_t off = 0, len = body.size();
    bool bad = false;
    bool ranged = parseRange(ex.request().header("Range"), body.size(), off, len, bad);
    if (bad) {
      http::ResponseHead head(416);
      head.header("Content-Range", "bytes */" + std::to_string(body.size()));
      return ex.respond(std::move(head), BufferRef(), 0, 0);
    }
    http::ResponseHead head(ranged ? 206 : 200);
    head.contentType(r.kind == HlsRequest::Kind::kInit ? "video/mp4" : segmentMimeType(c))
        .header("Cache-Control", cache);
    head.header("Accept-Ranges", "bytes");
    if (ranged)
      head.header("Content-Range", "bytes " + std::to_string(off) + "-" +
                                       std::to_string(off + len - 1) + "/" +
                                       std::to_string(body.size()));
    ex.respond(std::move(head), body, off, len);
  }

  HlsSettings settings_;
  int format_ = 0;
  std::unique_ptr<ChannelMap> channels_;
  std::unique_ptr<HlsSessionTable> sessions_;
};

}  // namespace
}  // namespace xl::hls

namespace xl {

void registerHlsModule(ModuleRegistry& registry) {
  auto module = std::make_unique<hls::HlsModule>();
  hls::HlsModule* m = module.get();
  // HLS viewers are request-based sessions, counted per stream under this format; it never
  // gets a muxer (nothing attaches to it).
  m->setFormat(registry.addOutputFormat(
      {.name = "hls", .createMuxer = [] { return std::unique_ptr<Muxer>(); }}));
  if (auto* http = registry.find<http::HttpModule>("http")) {
    http->addRoute(
        {"GET"}, [](std::string_view p) { return hls::isHlsPath(p); },
        [m](http::HttpExchange& ex) { m->handle(ex); });
  }
  registry.addProtocol(std::move(module));
}

}  // namespace xl
