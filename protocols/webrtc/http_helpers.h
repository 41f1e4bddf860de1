// The HTTP side both WebRTC endpoints share: WHEP (webrtc_module.cc) and WHIP (whip_endpoint.h)
// have the same resource layout "/{app}/{stream}/{kind}[/{id}]", the same access check input,
// the same 201 answer and the same trickle ICE PATCH (trickle.h).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "http/http_server.h"
#include "webrtc/dtls.h"
#include "webrtc/peer_transport.h"
#include "webrtc/sdp_answer.h"
#include "webrtc/trickle.h"
#include "xueliang/plugin.h"

namespace xl::webrtc {

// ICE ufrag/pwd characters (RFC 8839 §5.4: ice-char = ALPHA / DIGIT / "+" / "/").
inline constexpr std::string_view kIceChars =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

std::string randomToken(size_t n, std::string_view alphabet);
uint32_t randomSsrc();  // never 0

// A new session of `stream` for `httpPeer`: a resource id and local ICE credentials that name
// `worker` (worker_router.h).
SessionBasics newSession(int worker, const std::string& stream, const std::string& httpPeer,
                         uint64_t consentTimeoutMs);
// The answer's parameters for it: our certificate, host candidates on `port`, a fresh o= id.
AnswerParams answerParamsFor(const SessionBasics& local, const DtlsIdentity& identity,
                             const std::vector<std::string>& candidates, int port);

// The parts of "/{app}/{stream}/{kind}[/{id}]" (decoded), or nothing.
struct ResourcePath {
  std::string stream;
  std::string id;
};
std::optional<ResourcePath> parseResourcePath(std::string_view raw, std::string_view kind);
// Route matches: "/{app}/{stream}/{kind}" and "/{app}/{stream}/{kind}/{id}".
bool isEndpointPath(std::string_view path, std::string_view kind);
bool isResourcePath(std::string_view path, std::string_view kind);

// POST /{app}/{stream}/{kind} (`what` names it in errors: "WHEP"): 404 for another path, 415
// unless the body is SDP, then the plugin chain checks `action` on the stream (403 when it does
// not let it through), and `answer(ex, stream)` takes it from there.
void takeOffer(http::HttpExchange& ex, std::string_view kind, std::string_view what,
               AccessRequest::Action action,
               std::function<void(http::HttpExchange&, const std::string&)> answer);

// The access check of an offer: the peer, the URL query and a bearer token (RFC 9725 §4.5) as
// query "token".
AccessRequest accessRequestOf(http::HttpExchange& ex, AccessRequest::Action action,
                              const std::string& stream);
// 415 unless the request body is an SDP offer; `what` names it ("WHEP"). False when answered.
bool requireSdpOffer(http::HttpExchange& ex, std::string_view what);
// 201 with the SDP answer, the session's Location and its ETag.
void respondAnswer(http::HttpExchange& ex, const std::string& sdp, const std::string& location,
                   const std::string& id);

std::string etagOf(const std::string& id);

// GET of a page (player_page.h, publish_page.h): 404 while WebRTC is not `ready`.
void servePage(http::HttpExchange& ex, bool ready, std::string_view html);

// PATCH on a session resource: trickle ICE, answered on `worker`, where `find(id)` gives the
// session (null: 404). `what` names the kind of session in the error ("WHEP").
template <class Find>
void patchSession(http::HttpExchange& ex, Worker& worker, const std::string& id,
                  std::string_view what, Find find) {
  const http::Request& req = ex.request();
  auto reply = ex.defer();
  worker.run([find, reply, id, what = std::string(what),
              type = std::string(req.header("Content-Type")),
              ifMatch = std::string(req.header("If-Match")), body = req.body] {
    auto* s = find(id);
    if (!s) return reply(404, "text/plain", "no " + what + " session " + id + "\n");
    const auto& n = s->params().negotiated;
    TrickleReply r =
        answerTricklePatch(type, ifMatch, body, etagOf(id), n.remoteUfrag, n.remotePwd);
    reply(r.status, "text/plain", r.reason.empty() ? "" : r.reason + "\n");
  });
}

}  // namespace xl::webrtc
