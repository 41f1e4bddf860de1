// The WebRTC module: WHEP playback at POST http://HOST:8080/{app}/{stream}/whep (offer in,
// 201 + answer + Location out; DELETE on the Location ends the session), a player page at
// GET /{app}/{stream}/, and the media port (UDP 8189) with ICE-lite, DTLS-SRTP and RTP.
// Media comes from the "rtsp" output format: its RTP packets are built once per stream.
#include <openssl/rand.h>
#include <spdlog/spdlog.h>
#include <uv.h>

#include "http/http_server.h"
#include "http/url.h"
#include "webrtc/media_port.h"
#include "webrtc/player_page.h"
#include "xueliang/codec.h"

namespace xl::webrtc {
namespace {

struct WebrtcSettings {
  bool enabled = true;
  std::string listenIp = "0.0.0.0";
  int udpPort = 8189;
  std::string publicIp;
  uint64_t consentTimeoutMs = 30000;
};

std::string randomToken(size_t n, std::string_view alphabet) {
  std::string s(n, '0');
  std::vector<uint8_t> r(n);
  RAND_bytes(r.data(), static_cast<int>(n));
  for (size_t i = 0; i < n; ++i) s[i] = alphabet[r[i] % alphabet.size()];
  return s;
}

uint32_t randomSsrc() {
  uint32_t v = 0;
  while (v == 0) RAND_bytes(reinterpret_cast<unsigned char*>(&v), sizeof v);
  return v;
}

// ICE ufrag/pwd characters (RFC 8839 §5.4: ice-char = ALPHA / DIGIT / "+" / "/").
constexpr std::string_view kIceChars =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

// The local IPv4 addresses a wildcard socket serves (loopback included, so that a browser on
// this host connects).
std::vector<std::string> interfaceAddresses() {
  std::vector<std::string> out;
  uv_interface_address_t* list = nullptr;
  int count = 0;
  if (uv_interface_addresses(&list, &count) != 0) return {"127.0.0.1"};
  for (int i = 0; i < count; ++i) {
    if (list[i].address.address4.sin_family != AF_INET) continue;
    char ip[INET_ADDRSTRLEN];
    uv_ip4_name(&list[i].address.address4, ip, sizeof ip);
    if (std::find(out.begin(), out.end(), ip) == out.end()) out.emplace_back(ip);
  }
  uv_free_interface_addresses(list, count);
  // Loopback last: a browser elsewhere must not try it first.
  std::stable_partition(out.begin(), out.end(),
                        [](const std::string& a) { return !a.starts_with("127."); });
  return out;
}

// The parts of "/{app}/{stream}/whep[/{id}]" (decoded), or nothing.
struct WhepPath {
  std::string stream;
  std::string id;
};
std::optional<WhepPath> parseWhepPath(std::string_view raw) {
  auto segs = http::decodePathSegments(raw);
  if (!segs || segs->size() < 3 || segs->size() > 4 || (*segs)[2] != "whep") return std::nullopt;
  WhepPath p;
  p.stream = (*segs)[0] + "/" + (*segs)[1];
  if (segs->size() == 4) p.id = (*segs)[3];
  return p;
}

StreamCodecs codecsOf(const MediaInfo* info) {
  StreamCodecs c;
  if (!info) return c;
  if (info->video && info->video->codec == Codec::kH264) {
    if (auto avc = h264::parseAvcC(info->video->config.span())) {
      c.video = Codec::kH264;
      c.profileIdc = avc->profileIdc;
    }
  }
  if (info->audio) {
    Codec a = info->audio->codec;
    if (a == Codec::kOpus || a == Codec::kG711A || a == Codec::kG711U) {
      c.audio = a;
      c.audioChannels = info->audio->channels;
    }
  }
  return c;
}

class WebrtcModule : public ProtocolModule {
 public:
  std::string_view name() const override { return "webrtc"; }
  bool enabled() const override { return settings_.enabled; }

  void configure(ConfigSection& s, bool apply) override {
    WebrtcSettings next;
    next.enabled = s.boolean("enabled", true);
    next.listenIp = s.string("listen_ip", next.listenIp);
    if (next.listenIp.find(':') != std::string::npos || !udpAddress(next.listenIp, 0))
      s.error("listen_ip", "must be a numeric IPv4 address");
    next.udpPort = static_cast<int>(s.integer("udp_port", 8189, 0, 65535));
    next.publicIp = s.string("public_ip", "");
    if (!next.publicIp.empty() && !udpAddress(next.publicIp, 0))
      s.error("public_ip", "must be a numeric IP address");
    next.consentTimeoutMs =
        static_cast<uint64_t>(s.integer("consent_timeout_ms", 30000, 5000, 600000));
    if (apply) settings_ = next;
  }

  Status startWorker(Worker& w, ServerContext& ctx) override {
    ctx_ = &ctx;
    if (w.index() != 0) return Status::ok();  // one media worker: see media_port.h
    format_ = ctx.formatIndex("rtsp");
    if (format_ < 0) return Status::error("webrtc: needs the rtsp module's RTP output");
    auto id = DtlsIdentity::generate(true);
    if (!id) return id.status();
    identity_ = *id;
    port_ = std::make_unique<MediaPort>(w);
    if (Status s = port_->bind(settings_.listenIp + ":" + std::to_string(settings_.udpPort)); !s)
      return s;
    if (!settings_.publicIp.empty()) candidates_.push_back(settings_.publicIp);
    if (settings_.listenIp == "0.0.0.0") {
      for (auto& a : interfaceAddresses()) candidates_.push_back(a);
    } else {
      candidates_.push_back(settings_.listenIp);
    }
    std::string list;
    for (auto& c : candidates_) list += (list.empty() ? "" : ", ") + c;
    spdlog::info("webrtc: WHEP media on UDP port {} (host candidates {}), DTLS fingerprint {}",
                 port_->port(), list, identity_->fingerprint());
    return Status::ok();
  }

  void stopWorker(Worker& w) override {
    if (port_ && &port_->worker() == &w) port_->closeAll();
  }

  // POST /{app}/{stream}/whep
  void offer(http::HttpExchange& ex) {
    if (!ready()) return ex.respond(404, "text/plain", "WebRTC is disabled\n");
    const http::Request& req = ex.request();
    auto path = parseWhepPath(req.path);
    if (!path || !path->id.empty())
      return ex.respond(404, "text/plain", "expected POST /{app}/{stream}/whep\n");
    if (!req.header("Content-Type").starts_with("application/sdp"))
      return ex.respond(415, "text/plain", "the WHEP offer must be Content-Type application/sdp\n");
    AccessRequest ar;
    ar.action = AccessRequest::Action::kPlay;
    ar.stream = path->stream;
    ar.protocol = "webrtc";
    ar.peer = ex.peer();
    ar.clientIp = peerHost(ar.peer);
    if (auto q = http::parseQuery(req.query))
      for (auto& p : *q) ar.query[p.key] = p.value;
    if (auto auth = req.header("Authorization"); auth.starts_with("Bearer "))
      ar.query.emplace("token", std::string(auth.substr(7)));
    ex.context().plugins->check(
        ar, ex.worker(), ex.aliveToken(), [this, &ex, name = path->stream](const Decision& d) {
          if (d.verdict != Verdict::kContinue)  // deny, or unauthorized (no challenge here)
            return ex.respond(403, "text/plain", d.reason + "\n");
          answer(ex, name);
        });
  }

  void answer(http::HttpExchange& ex, const std::string& name) {
    StreamPtr stream = ex.context().streams->find(name);
    if (!stream) return ex.respond(404, "text/plain", "stream " + name + " not found\n");
    MediaInfoPtr info = stream->mediaInfo();
    StreamCodecs codecs = codecsOf(info.get());
    if (codecs.video == Codec::kNone && codecs.audio == Codec::kNone)
      return ex.respond(406, "text/plain",
                        "stream " + name +
                            " has no codec WebRTC can carry yet (H.264, Opus, G.711); "
                            "AAC-only streams are not playable\n");
    WhepSessionParams sp;
    sp.id = randomToken(16, "0123456789abcdef");
    sp.stream = name;
    sp.httpPeer = ex.peer();
    sp.localUfrag = randomToken(8, kIceChars);
    sp.localPwd = randomToken(24, kIceChars);
    sp.videoSsrc = randomSsrc();
    sp.audioSsrc = randomSsrc();
    sp.consentTimeoutMs = settings_.consentTimeoutMs;
    AnswerParams ap;
    ap.ufrag = sp.localUfrag;
    ap.pwd = sp.localPwd;
    ap.fingerprint = identity_->fingerprint();
    ap.candidates = candidates_;
    ap.port = port_->port();
    ap.videoSsrc = sp.videoSsrc;
    ap.audioSsrc = sp.audioSsrc;
    ap.sessionId = randomSsrc();
    OfferError err;
    auto n = answerOffer(ex.request().body, codecs, ap, &err);
    if (!n) return ex.respond(err.status, "text/plain", err.reason + "\n");
    sp.negotiated = *n;
    std::string sdp = n->sdp;
    std::string location = "/" + http::percentEncode(name, true) + "/whep/" + sp.id;
    // The session lives on the media worker; the browser's first STUN check retries until
    // it exists there.
    MediaPort* port = port_.get();
    ServerContext* ctx = &ex.context();
    auto identity = identity_;
    int format = format_;
    port->worker().run([port, ctx, identity, format, sp = std::move(sp), stream]() mutable {
      port->add(std::make_unique<WhepSession>(*ctx, port->worker(), *port, std::move(sp), identity,
                                              stream, format));
    });
    http::ResponseHead head(201);
    head.contentType("application/sdp")
        .header("Location", location)
        .header("ETag", "\"" + location.substr(location.rfind('/') + 1) + "\"")
        .header("Cache-Control", "no-store");
    ex.respond(std::move(head), BufferRef::copyOf(sdp), 0, sdp.size());
  }

  // DELETE /{app}/{stream}/whep/{id}
  void remove(http::HttpExchange& ex) {
    auto path = parseWhepPath(ex.request().path);
    if (!ready() || !path || path->id.empty())
      return ex.respond(404, "text/plain", "no such WHEP session\n");
    auto reply = ex.defer();
    MediaPort* port = port_.get();
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

  void page(http::HttpExchange& ex) {
    if (!ready()) return ex.respond(404, "text/plain", "WebRTC is disabled\n");
    ex.respond(200, "text/html; charset=utf-8", playerPage());
  }

 private:
  bool ready() const { return settings_.enabled && port_ && identity_; }

  WebrtcSettings settings_;
  ServerContext* ctx_ = nullptr;
  int format_ = -1;
  std::shared_ptr<const DtlsIdentity> identity_;
  std::unique_ptr<MediaPort> port_;
  std::vector<std::string> candidates_;
};

bool isWhepPath(std::string_view p) {
  return p.ends_with("/whep");
}
bool isWhepResource(std::string_view p) {
  size_t at = p.rfind("/whep/");
  return at != std::string_view::npos && at > 0 && at + 6 < p.size();
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
  }
  registry.addProtocol(std::move(module));
}

}  // namespace xl
