#include "webrtc/whip_endpoint.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <optional>

#include "http/url.h"
#include "webrtc/http_helpers.h"
#include "webrtc/media_port.h"
#include "webrtc/publish_page.h"
#include "webrtc/trickle.h"
#include "webrtc/whip_port.h"
#include "webrtc/worker_router.h"

namespace xl::webrtc {
bool isWhipPath(std::string_view p) {
  return isEndpointPath(p, "whip");
}
bool isWhipResource(std::string_view p) {
  return isResourcePath(p, "whip");
}
bool isPublishPage(std::string_view p) {
  return p.ends_with("/publish") && std::count(p.begin(), p.end(), '/') == 3;
}

WhipEndpoint::WhipEndpoint() = default;
WhipEndpoint::~WhipEndpoint() = default;

void WhipEndpoint::start(MediaPort& port, std::shared_ptr<const DtlsIdentity> identity,
                         WhipSettings s) {
  identity_ = std::move(identity);
  settings_ = std::move(s);
  whip_ = std::make_unique<WhipPort>(port);
  port_ = &port;
}

void WhipEndpoint::stop() {
  if (whip_) whip_->closeAll();
  whip_.reset();
  port_ = nullptr;
}

// POST /{app}/{stream}/whip
void WhipEndpoint::offer(http::HttpExchange& ex) {
  if (!ready()) return ex.respond(404, "text/plain", "WebRTC is disabled\n");
  takeOffer(ex, "whip", "WHIP", AccessRequest::Action::kPublish,
            [this](http::HttpExchange& ex, const std::string& name) { answer(ex, name); });
}

void WhipEndpoint::answer(http::HttpExchange& ex, const std::string& name) {
  if (!ready()) return ex.respond(404, "text/plain", "WebRTC is disabled\n");
  const int worker = port_->worker().index();
  WhipSessionParams sp;
  static_cast<SessionBasics&>(sp) = newSession(worker, name, ex.peer(), settings_.consentTimeoutMs);
  sp.ssrc = randomSsrc();
  sp.keyframeIntervalMs = settings_.keyframeIntervalMs;
  AnswerParams ap = answerParamsFor(sp, *identity_, settings_.candidates, port_->port());
  ap.videoSsrc = sp.ssrc;
  ap.audioSsrc = sp.ssrc;
  OfferError err;
  auto n = answerWhipOffer(ex.request().body, ap, &err);
  if (!n) return ex.respond(err.status, "text/plain", err.reason + "\n");
  // The name is taken now, so a second publisher learns at once that it is live.
  auto stream =
      ex.context().streams->publish(name, port_->worker(), PublisherInfo{"webrtc", ex.peer()});
  if (!stream) {
    spdlog::info("webrtc: WHIP {} from {} refused: {}", name, ex.peer(), stream.message());
    return ex.respond(409, "text/plain", stream.message() + "\n");
  }
  sp.negotiated = std::move(*n);
  std::string sdp = sp.negotiated.sdp;
  std::string location = "/" + http::percentEncode(name, true) + "/whip/" + sp.id;
  std::string id = sp.id;
  WhipPort* whip = whip_.get();
  ServerContext* ctx = &ex.context();
  auto identity = identity_;
  port_->worker().run([whip, ctx, identity, sp = std::move(sp), s = *stream]() mutable {
    whip->add(std::make_unique<WhipSession>(*ctx, whip->worker(), *whip, std::move(sp), identity,
                                            std::move(s)));
  });
  respondAnswer(ex, sdp, location, id);
}

// DELETE /{app}/{stream}/whip/{id}
void WhipEndpoint::remove(http::HttpExchange& ex) {
  auto path = parseResourcePath(ex.request().path, "whip");
  if (!ready() || !path || path->id.empty())
    return ex.respond(404, "text/plain", "no such WHIP session\n");
  auto reply = ex.defer();
  WhipPort* whip = whip_.get();
  port_->worker().run([whip, reply, id = path->id] {
    if (whip->close(id, "DELETE by the client"))
      reply(200, "text/plain", "session " + id + " ended\n");
    else
      reply(404, "text/plain", "no WHIP session " + id + "\n");
  });
}

// PATCH /{app}/{stream}/whip/{id}
void WhipEndpoint::patch(http::HttpExchange& ex) {
  auto path = parseResourcePath(ex.request().path, "whip");
  if (!ready() || !path || path->id.empty())
    return ex.respond(404, "text/plain", "no such WHIP session\n");
  WhipPort* whip = whip_.get();
  patchSession(ex, port_->worker(), path->id, "WHIP",
               [whip](const std::string& id) { return whip->find(id); });
}

void WhipEndpoint::options(http::HttpExchange& ex) {
  http::ResponseHead head(204);
  head.header("Accept-Post", "application/sdp");
  head.header("Accept-Patch", kTrickleContentType);
  ex.respond(std::move(head), BufferRef(), 0, 0);
}

void WhipEndpoint::page(http::HttpExchange& ex) {
  servePage(ex, ready(), publishPage());
}

void patchWhep(http::HttpExchange& ex, MediaPort* port, const std::string& id) {
  if (!port) return ex.respond(404, "text/plain", "no such WHEP session\n");
  patchSession(ex, port->worker(), id, "WHEP",
               [port](const std::string& id) { return port->find(id); });
}

}  // namespace xl::webrtc
