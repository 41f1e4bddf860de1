// The WebRTC module: WHEP playback at POST http://HOST:8080/{app}/{stream}/whep (offer in,
// 201 + answer + Location out; DELETE on the Location ends the session), a player page at
// GET /{app}/{stream}/, and the media port (UDP 8189) with ICE-lite, DTLS-SRTP and RTP.
// Media comes from the "rtsp" output format: its RTP packets are built once per stream.
// WHIP ingest (POST .../whip, the publish page) and trickle ICE PATCH: whip_endpoint.h.
#include <spdlog/spdlog.h>
#include <uv.h>

#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <cstring>

#include "http/http_server.h"
#include "http/url.h"
#include "webrtc/host_candidates.h"
#include "webrtc/http_helpers.h"
#include "webrtc/ice_tcp.h"
#include "webrtc/media_port.h"
#include "webrtc/player_page.h"
#include "webrtc/webrtc_muxer.h"
#include "webrtc/whip_endpoint.h"
#include "xueliang/codec.h"

namespace xl::webrtc {
namespace {

struct WebrtcSettings {
  bool enabled = true;
  std::string listenIp = "0.0.0.0";
  int udpPort = 8189;
  std::string publicIp;
  uint64_t consentTimeoutMs = 30000;
  bool iceTcp = true;  // ICE-TCP passive candidates on the TCP port of the media port's number
  uint64_t whipKeyframeMs = 2000;
  int opusFrameMs = 20;
};

// The local addresses, IPv4 and IPv6, as the system lists them (hostCandidates() picks).
std::vector<std::string> interfaceAddresses() {
  std::vector<std::string> out;
  uv_interface_address_t* list = nullptr;
  int count = 0;
  if (uv_interface_addresses(&list, &count) != 0) return {"127.0.0.1", "::1"};
  for (int i = 0; i < count; ++i) {
    char ip[INET6_ADDRSTRLEN] = "";
    if (list[i].address.address4.sin_family == AF_INET)
      uv_ip4_name(&list[i].address.address4, ip, sizeof ip);
    else if (list[i].address.address6.sin6_family == AF_INET6)
      uv_ip6_name(&list[i].address.address6, ip, sizeof ip);
    if (*ip) out.emplace_back(ip);
  }
  uv_free_interface_addresses(list, count);
  return out;
}

class WebrtcModule : public ProtocolModule {
 public:
  std::string_view name() const override { return "webrtc"; }
  bool enabled() const override { return settings_.enabled; }

  void configure(ConfigSection& s, bool apply) override {
    WebrtcSettings next;
    next.enabled = s.boolean("enabled", true);
    // Numeric IPv4 or IPv6: "::" is one dual-stack socket (IPv4 too), an IPv6 literal IPv6 only.
    if (auto ip = checkIpAddress(s.string("listen_ip", next.listenIp), true))
      next.listenIp = *ip;
    else
      s.error("listen_ip", ip.message());
    next.udpPort = static_cast<int>(s.integer("udp_port", 8189, 0, 65535));
    next.publicIp = s.string("public_ip", "");
    if (!next.publicIp.empty()) {
      if (auto ip = checkIpAddress(next.publicIp, false))
        next.publicIp = *ip;
      else
        s.error("public_ip", ip.message());
    }
    next.consentTimeoutMs =
        static_cast<uint64_t>(s.integer("consent_timeout_ms", 30000, 5000, 600000));
    next.iceTcp = s.boolean("ice_tcp", true);
    next.whipKeyframeMs =
        static_cast<uint64_t>(s.integer("whip_keyframe_interval_ms", 2000, 500, 60000));
    next.opusFrameMs = static_cast<int>(s.integer("opus_frame_ms", 20, 10, 60));
    if (next.opusFrameMs != 10 && next.opusFrameMs != 20 && next.opusFrameMs != 40 &&
        next.opusFrameMs != 60)
      s.error("opus_frame_ms", "must be 10, 20, 40 or 60 (an Opus frame duration)");
    if (apply) {
      settings_ = next;
      transcode_->opusFrameMs.store(next.opusFrameMs);
    }
  }

  Status startWorker(Worker& w, ServerContext& ctx) override {
    ctx_ = &ctx;
    // Every worker owns a media port on the same UDP port (see media_port.h); with port 0 the
    // others reuse the first one's.
    if (w.index() != 0) {
      if (!port_) return Status::ok();
      ports_[w.index()] = std::make_unique<MediaPort>(w, portList_);
      portList_[w.index()] = ports_[w.index()].get();
      if (Status s = ports_[w.index()]->bind(joinHostPort(bindIp_, port_->port())); !s) return s;
      openIceTcp(w);
      whip_.startWorker(*ports_[w.index()]);
      return Status::ok();
    }
    ports_.clear();
    ports_.resize(ctx.workers.size());
    portList_.assign(ctx.workers.size(), nullptr);
    format_ = ctx.formatIndex("webrtc");
    if (format_ < 0) return Status::error("webrtc: the webrtc output format is not registered");
    auto id = DtlsIdentity::generate(true, dtlsCounters_);
    if (!id) return id.status();
    identity_ = *id;
    sctp_ = SctpStack::acquire();  // usrsctp for the data channels, until the module goes
    ports_[0] = std::make_unique<MediaPort>(w, portList_);
    portList_[0] = ports_[0].get();
    port_ = ports_[0].get();
    bindIp_ = settings_.listenIp;
    if (bindIp_ == "::") {
      // A kernel without IPv6 (ipv6.disable=1) has no AF_INET6 sockets: IPv4 alone, as 0.0.0.0.
      int probe = ::socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
      if (probe < 0) {
        spdlog::warn("webrtc: listen_ip \"::\" but no IPv6 here ({}): IPv4 only (0.0.0.0)",
                     strerror(errno));
        bindIp_ = "0.0.0.0";
      } else {
        ::close(probe);
      }
    }
    if (Status s = port_->bind(joinHostPort(bindIp_, settings_.udpPort)); !s) return s;
    candidates_ = hostCandidates(bindIp_, settings_.publicIp, interfaceAddresses());
    std::string list;
    for (auto& c : candidates_) list += (list.empty() ? "" : ", ") + c;
    spdlog::info("webrtc: WHEP media on UDP port {} (host candidates {}), DTLS fingerprint {}",
                 port_->port(), list, identity_->fingerprint());
    if (settings_.iceTcp) {
      iceTcp_ = std::make_unique<IceTcp>(portList_);
      iceTcp_->setPublishers(
          [this](int worker, std::string_view ufrag) { return whip_.findUfrag(worker, ufrag); });
      iceTcpOn_ = true;
    }
    openIceTcp(w);
    // WHIP publishers on every worker's port, as WHEP viewers (whip_endpoint.h).
    whip_.configure(ctx.workers.size(), identity_,
                    WhipSettings{candidates_, settings_.consentTimeoutMs, settings_.whipKeyframeMs,
                                 iceTcpOn_ ? port_->port() : 0});
    whip_.startWorker(*port_);
    return Status::ok();
  }

  // ICE-TCP on the TCP port with the media port's number. A fallback: if that port is taken,
  // WebRTC runs on UDP alone.
  void openIceTcp(Worker& w) {
    if (!iceTcp_ || !iceTcpOn_) return;
    if (Status s = iceTcp_->open(w, joinHostPort(bindIp_, port_->port())); !s) {
      spdlog::warn("webrtc: no ICE-TCP (TCP port {}): {}", port_->port(), s.message());
      if (w.index() == 0) iceTcpOn_ = false;
      return;
    }
    if (w.index() == 0) spdlog::info("webrtc: ICE-TCP (passive) on TCP port {}", port_->port());
  }

  void stopWorker(Worker& w) override {
    whip_.stopWorker(w);
    if (iceTcp_) iceTcp_->close(w);
    if (size_t(w.index()) < ports_.size() && ports_[w.index()]) ports_[w.index()]->closeAll();
  }

  // POST /{app}/{stream}/whep
  void offer(http::HttpExchange& ex) {
    if (!ready()) return ex.respond(404, "text/plain", "WebRTC is disabled\n");
    takeOffer(ex, "whep", "WHEP", AccessRequest::Action::kPlay,
              [this](http::HttpExchange& ex, const std::string& name) { answer(ex, name); });
  }

  void answer(http::HttpExchange& ex, const std::string& name) {
    StreamPtr stream = ex.context().streams->find(name);
    if (!stream) return ex.respond(404, "text/plain", "stream " + name + " not found\n");
    MediaInfoPtr info = stream->mediaInfo();
    StreamCodecs codecs = streamCodecs(info.get());
    if (codecs.video == Codec::kNone && codecs.audio == Codec::kNone)
      return ex.respond(
          406, "text/plain",
          "stream " + name +
              " has no codec WebRTC can carry (H.264, H.265; Opus, G.711, AAC as Opus)\n");
    // Sessions are spread over the workers' media ports in turn; the ufrag and the resource id
    // name the worker (the id for DELETE, the ufrag for STUN: see worker_router.h).
    MediaPort* port = nextPort();
    const int worker = port->worker().index();
    WhepSessionParams sp;
    static_cast<SessionBasics&>(sp) =
        newSession(worker, name, ex.peer(), settings_.consentTimeoutMs);
    sp.videoSsrc = randomSsrc();
    sp.audioSsrc = randomSsrc();
    AnswerParams ap = answerParamsFor(sp, *identity_, candidates_, port_->port());
    ap.tcpPort = iceTcpOn_ ? port_->port() : 0;
    ap.videoSsrc = sp.videoSsrc;
    ap.audioSsrc = sp.audioSsrc;
    OfferError err;
    auto n = answerOffer(ex.request().body, codecs, ap, &err);
    if (!n)
      return ex.respond(err.status, "text/plain", "stream " + name + ": " + err.reason + "\n");
    sp.negotiated = *n;
    if (n->dataChannel) sp.sctp = sctp_;
    sp.feedbackCounters = feedback_;
    std::string sdp = n->sdp;
    std::string location =
        std::string("/").append(http::percentEncode(name, true)).append("/whep/").append(sp.id);
    std::string id = sp.id;
    // The session lives on its media port's worker; the browser's first STUN check retries
    // until it exists there.
    ServerContext* ctx = &ex.context();
    auto identity = identity_;
    int format = format_;
    port->worker().run([port, ctx, identity, format, sp = std::move(sp), stream]() mutable {
      port->add(std::make_unique<WhepSession>(*ctx, port->worker(), *port, std::move(sp), identity,
                                              stream, format));
    });
    respondAnswer(ex, sdp, location, id);
  }

  // DELETE /{app}/{stream}/whep/{id}
  void remove(http::HttpExchange& ex) {
    auto path = parseResourcePath(ex.request().path, "whep");
    if (!ready() || !path || path->id.empty())
      return ex.respond(404, "text/plain", "no such WHEP session\n");
    MediaPort* port = portOfId(path->id);
    if (!port) return ex.respond(404, "text/plain", "no such WHEP session\n");
    auto reply = ex.defer();
    port->worker().run([port, reply, id = path->id] {
      if (port->close(id, "DELETE by the client"))
        reply(200, "text/plain", "session " + id + " ended\n");
      else
        reply(404, "text/plain", "no WHEP session " + id + "\n");
    });
  }

  // OPTIONS without CORS preflight headers (those are answered by the HTTP server).
  void options(http::HttpExchange& ex) {
    http::ResponseHead head(204);
    head.header("Accept-Post", "application/sdp");
    ex.respond(std::move(head), BufferRef(), 0, 0);
  }

  WhipEndpoint& whip() { return whip_; }
  // PLI/FIR, REMB and receiver-report totals of every WHEP viewer (congestion_control.h).
  std::shared_ptr<FeedbackCounters> feedbackCounters() const { return feedback_; }
  // DTLS handshake totals of WHEP and WHIP sessions (lost flights, resends, timeouts).
  std::shared_ptr<DtlsCounters> dtlsCounters() const { return dtlsCounters_; }
  std::shared_ptr<const TranscodeSettings> transcodeSettings() const { return transcode_; }
  // PATCH /{app}/{stream}/whep/{id}: trickle ICE (trickle.h).
  void patchWhep(http::HttpExchange& ex) {
    auto path = parseResourcePath(ex.request().path, "whep");
    webrtc::patchWhep(ex, ready() && path && !path->id.empty() ? portOfId(path->id) : nullptr,
                      path ? path->id : std::string());
  }

  void page(http::HttpExchange& ex) { servePage(ex, ready(), playerPage()); }

 private:
  bool ready() const { return settings_.enabled && port_ && identity_; }

  MediaPort* nextPort() {
    size_t n = portList_.size();
    for (size_t i = 0; i < n; ++i) {
      MediaPort* p = portList_[nextPort_.fetch_add(1, std::memory_order_relaxed) % n];
      if (p) return p;
    }
    return port_;
  }
  // The port whose worker a resource id names (its first two hex digits), or null.
  MediaPort* portOfId(const std::string& id) {
    const int w = workerOfId(id);
    return w >= 0 && size_t(w) < portList_.size() ? portList_[size_t(w)] : nullptr;
  }

  WebrtcSettings settings_;
  std::shared_ptr<TranscodeSettings> transcode_ = std::make_shared<TranscodeSettings>();
  std::string bindIp_;  // listen_ip, or 0.0.0.0 where "::" could not be bound
  ServerContext* ctx_ = nullptr;
  int format_ = -1;
  std::shared_ptr<const DtlsIdentity> identity_;
  std::shared_ptr<SctpStack> sctp_;
  // One media port per worker, by worker index; port_ is the first (its number is the answer's).
  std::vector<std::unique_ptr<MediaPort>> ports_;
  std::vector<MediaPort*> portList_;
  MediaPort* port_ = nullptr;
  std::unique_ptr<IceTcp> iceTcp_;
  bool iceTcpOn_ = false;
  std::atomic<size_t> nextPort_{0};
  std::shared_ptr<FeedbackCounters> feedback_ = std::make_shared<FeedbackCounters>();
  std::shared_ptr<DtlsCounters> dtlsCounters_ = std::make_shared<DtlsCounters>();
  std::vector<std::string> candidates_;
  WhipEndpoint whip_;
};

bool isWhepPath(std::string_view p) {
  return isEndpointPath(p, "whep");
}
bool isWhepResource(std::string_view p) {
  return isResourcePath(p, "whep");
}
// "/{app}/{stream}/": exactly two non-empty segments and a trailing slash.
bool isPlayerPage(std::string_view p) {
  if (p.size() < 5 || p.front() != '/' || p.back() != '/') return false;
  size_t slashes = std::count(p.begin(), p.end(), '/');
  return slashes == 3 && p.find("//") == std::string_view::npos;
}

}  // namespace
}  // namespace xl::webrtc

namespace xl {

void registerWebrtcModule(ModuleRegistry& registry) {
  auto module = std::make_unique<webrtc::WebrtcModule>();
  webrtc::WebrtcModule* m = module.get();
  if (auto* http = registry.find<http::HttpModule>("http")) {
    http->addRoute({"POST"}, webrtc::isWhepPath, [m](http::HttpExchange& ex) { m->offer(ex); });
    http->addRoute({"OPTIONS"}, webrtc::isWhepPath,
                   [m](http::HttpExchange& ex) { m->options(ex); });
    http->addRoute({"DELETE"}, webrtc::isWhepResource,
                   [m](http::HttpExchange& ex) { m->remove(ex); });
    http->addRoute({"GET"}, webrtc::isPlayerPage, [m](http::HttpExchange& ex) { m->page(ex); });
    // WHIP ingest and trickle ICE (whip_endpoint.h).
    webrtc::WhipEndpoint* whip = &m->whip();
    http->addRoute({"POST"}, webrtc::isWhipPath,
                   [whip](http::HttpExchange& ex) { whip->offer(ex); });
    http->addRoute({"OPTIONS"}, webrtc::isWhipPath,
                   [whip](http::HttpExchange& ex) { whip->options(ex); });
    http->addRoute({"DELETE"}, webrtc::isWhipResource,
                   [whip](http::HttpExchange& ex) { whip->remove(ex); });
    http->addRoute({"PATCH"}, webrtc::isWhipResource,
                   [whip](http::HttpExchange& ex) { whip->patch(ex); });
    http->addRoute({"PATCH"}, webrtc::isWhepResource,
                   [m](http::HttpExchange& ex) { m->patchWhep(ex); });
    http->addRoute({"GET"}, webrtc::isPublishPage,
                   [whip](http::HttpExchange& ex) { whip->page(ex); });
  }
  // The "webrtc" output format: the rtsp format's RTP packets, with AAC transcoded to Opus.
  auto counters = std::make_shared<webrtc::TranscoderCounters>();
  auto feedback = m->feedbackCounters();
  auto dtls = m->dtlsCounters();
  registry.addOutputFormat(
      {"webrtc",
       [counters, transcode = m->transcodeSettings()] {
         return std::make_unique<webrtc::WebrtcMuxer>(counters, transcode);
       },
       [counters, feedback, dtls] {
         return feedback->metricsText() + dtls->metricsText() +
                "# HELP xueliang_webrtc_transcoders Streams whose AAC is being transcoded to "
                "Opus for WebRTC viewers (one per stream, however many viewers).\n"
                "# TYPE xueliang_webrtc_transcoders gauge\nxueliang_webrtc_transcoders " +
                std::to_string(counters->live.load()) +
                "\n# HELP xueliang_webrtc_transcoders_started_total AAC to Opus transcoders "
                "started.\n# TYPE xueliang_webrtc_transcoders_started_total counter\n"
                "xueliang_webrtc_transcoders_started_total " +
                std::to_string(counters->created.load()) +
                "\n# HELP xueliang_webrtc_transcode_errors_total AAC frames skipped as "
                "undecodable.\n# TYPE xueliang_webrtc_transcode_errors_total counter\n"
                "xueliang_webrtc_transcode_errors_total " +
                std::to_string(counters->errors.load()) + "\n";
       },
       /*coalesceAudio=*/false, /*releaseWhenIdle=*/true, /*alternateAudio=*/true});
  registry.addProtocol(std::move(module));
}

}  // namespace xl
