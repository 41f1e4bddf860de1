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

void WhipEndpoint::configure(size_t workers, std::shared_ptr<const DtlsIdentity> identity,
                             WhipSettings s) {
  identity_ = std::move(identity);
  settings_ = std::move(s);
  whips_.clear();
  whips_.resize(workers);
}

void WhipEndpoint::startWorker(MediaPort& port) {
  auto i = static_cast<size_t>(port.worker().index());
  if (i < whips_.size()) whips_[i] = std::make_unique<WhipPort>(port);
}

void WhipEndpoint::stopWorker(Worker& w) {
  auto i = static_cast<size_t>(w.index());
  if (i < whips_.size() && whips_[i]) whips_[i]->closeAll();
}

WhipSession* WhipEndpoint::findUfrag(int worker, std::string_view ufrag) {
  auto i = static_cast<size_t>(worker);
  return i < whips_.size() && whips_[i] ? whips_[i]->findUfrag(ufrag) : nullptr;
}

// As WHEP's sessions: each worker in turn.
WhipPort* WhipEndpoint::nextPort() {
  const size_t n = whips_.size();
  for (size_t i = 0; i < n; ++i) {
    if (WhipPort* p = whips_[next_.fetch_add(1, std::memory_order_relaxed) % n].get()) return p;
  }
  return whips_[0].get();
}

WhipPort* WhipEndpoint::portOfId(const std::string& id) {
  const int w = workerOfId(id);
  return w >= 0 && size_t(w) < whips_.size() ? whips_[size_t(w)].get() : nullptr;
}

int workerOfId(std::string_view id) {
  auto hex = [](char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  if (id.size() < 2 || hex(id[0]) < 0 || hex(id[1]) < 0) return -1;
  return hex(id[0]) * 16 + hex(id[1]);
}

// POST /{app}/{stream}/whip
void WhipEndpoint::offer(http::HttpExchange& ex) {
  if (!ready()) return ex.respond(404, "text/plain", "WebRTC is disabled\n");
  takeOffer(ex, "whip", "WHIP", AccessRequest::Action::kPublish,
            [this](http::HttpExchange& ex, const std::string& name) { answer(ex, name); });
}

void WhipEndpoint::answer(http::HttpExchange& ex, const std::string& name) {
  if (!ready()) return ex.respond(404, "text/plain", "WebRTC is disabled\n");
  WhipPort* whip = nextPort();
  const int worker = whip->worker().index();
  WhipSessionParams sp;
  static_cast<SessionBasics&>(sp) = newSession(worker, name, ex.peer(), settings_.consentTimeoutMs);
  sp.ssrc = randomSsrc();
  sp.keyframeIntervalMs = settings_.keyframeIntervalMs;
  AnswerParams ap = answerParamsFor(sp, *identity_, settings_.candidates, whip->port());
  ap.tcpPort = settings_.tcpPort;
  ap.videoSsrc = sp.ssrc;
  ap.audioSsrc = sp.ssrc;
  OfferError err;
  auto n = answerWhipOffer(ex.request().body, ap, &err);
  if (!n) return ex.respond(err.status, "text/plain", err.reason + "\n");
  // The name is taken now, so a second publisher learns at once that it is live.
  auto stream =
      ex.context().streams->publish(name, whip->worker(), PublisherInfo{"webrtc", ex.peer()});
  if (!stream) {
    spdlog::info("webrtc: WHIP {} from {} refused: {}", name, ex.peer(), stream.message());
    return ex.respond(409, "text/plain", stream.message() + "\n");
  }
  sp.negotiated = std::move(*n);
  std::string sdp = sp.negotiated.sdp;
  std::string location = "/";  // appended: GCC 12 misreads "/" + std::string (-Wrestrict)
  location += http::percentEncode(name, true) + "/whip/" + sp.id;
  std::string id = sp.id;
  ServerContext* ctx = &ex.context();
  auto identity = identity_;
  whip->worker().run([whip, ctx, identity, sp = std::move(sp), s = *stream]() mutable {
    whip->add(std::make_unique<WhipSession>(*ctx, whip->worker(), *whip, std::move(sp), identity,
                                            std::move(s)));
  });
  respondAnswer(ex, sdp, location, id);
}

// DELETE /{app}/{stream}/whip/{id}
void WhipEndpoint::remove(http::HttpExchange& ex) {
  auto path = parseResourcePath(ex.request().path, "whip");
  WhipPort* whip = ready() && path ? portOfId(path->id) : nullptr;
  if (!whip) return ex.respond(404, "text/plain", "no such WHIP session\n");
  auto reply = ex.defer();
  whip->worker().run([whip, reply, id = path->id] {
    if (whip->close(id, "DELETE by the client"))
      reply(200, "text/plain", "session " + id + " ended\n");
    else
      reply(404, "text/plain", "no WHIP session " + id + "\n");
  });
}

// PATCH /{app}/{stream}/whip/{id}
void WhipEndpoint::patch(http::HttpExchange& ex) {
  auto path = parseResourcePath(ex.request().path, "whip");
  WhipPort* whip = ready() && path ? portOfId(path->id) : nullptr;
  if (!whip) return ex.respond(404, "text/plain", "no such WHIP session\n");
  patchSession(ex, whip->worker(), path->id, "WHIP",
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
