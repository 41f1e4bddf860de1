// The RTMP module: RTMP publish and play on port 1935, and HTTP-FLV play on the HTTP server.

#include "http/http_server.h"
#include "rtmp/flv_session.h"
#include "rtmp/rtmp_muxer.h"
#include "rtmp/rtmp_session.h"

namespace xl::rtmp {
namespace {

class RtmpModule : public ProtocolModule {
 public:
  std::string_view name() const override { return "rtmp"; }
  bool enabled() const override { return settings_.enabled; }

  void configure(ConfigSection& s, bool apply) override {
    RtmpSettings next;
    next.enabled = s.boolean("enabled", true);
    next.listen = s.string("listen", next.listen);
    if (auto hp = parseHostPort(next.listen); !hp) s.error("listen", hp.message());
    next.chunkSize = static_cast<uint32_t>(s.integer("chunk_size", 4096, 128, 65536));
    next.idleTimeoutMs = static_cast<uint64_t>(s.integer("idle_timeout_ms", 30000, 1000, 3600000));
    next.maxMessageSize =
        static_cast<uint32_t>(s.integer("max_message_size", 8 << 20, 64 << 10, 64 << 20));
    bool flv = s.boolean("http_flv", true);
    if (apply) {
      settings_ = next;
      httpFlv_ = flv;
    }
  }

  Status startWorker(Worker& w, ServerContext& ctx) override {
    return listeners_.open(w, settings_.listen, [this, &w, &ctx](int fd, std::string peer) {
      (new RtmpSession(ctx, settings_, format_, w, fd, std::move(peer)))->start();
    });
  }

  void stopWorker(Worker& w) override { listeners_.close(w); }

  const RtmpSettings& settings() const { return settings_; }
  bool httpFlv() const { return httpFlv_; }
  void setFormat(int f) { format_ = f; }

 private:
  RtmpSettings settings_;
  bool httpFlv_ = true;
  int format_ = -1;
  ListenerSet listeners_{"rtmp"};
};

}  // namespace
}  // namespace xl::rtmp

namespace xl {

void registerRtmpModule(ModuleRegistry& registry) {
  auto module = std::make_unique<rtmp::RtmpModule>();
  rtmp::RtmpModule* m = module.get();
  // Both play all tracks as one byte stream: audio rides with video (OutputFormat).
  OutputFormat rtmpFormat, flvFormat;
  rtmpFormat.name = "rtmp";
  rtmpFormat.createMuxer = [m] {
    return std::make_unique<rtmp::RtmpMuxer>(m->settings().chunkSize);
  };
  rtmpFormat.coalesceAudio = true;
  flvFormat.name = "flv";
  flvFormat.createMuxer = [] { return std::make_unique<rtmp::FlvMuxer>(); };
  flvFormat.coalesceAudio = true;
  m->setFormat(registry.addOutputFormat(std::move(rtmpFormat)));
  int flv = registry.addOutputFormat(std::move(flvFormat));
  if (auto* http = registry.find<http::HttpModule>("http")) {
    http->addRoute(
        {"GET"}, [](std::string_view p) { return p.ends_with(".flv"); },
        [m, flv](http::HttpExchange& ex) {
          if (!m->httpFlv()) return ex.respond(404, "text/plain", "HTTP-FLV is disabled\n");
          rtmp::FlvSession::serve(ex, flv);
        });
  }
  registry.addProtocol(std::move(module));
}

}  // namespace xl
