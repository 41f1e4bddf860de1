#include "webrtc/http_helpers.h"

#include <openssl/rand.h>

#include <cstdio>
#include <vector>

#include "http/url.h"
#include "webrtc/worker_router.h"

namespace xl::webrtc {

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

// A session resource id: two hex digits naming the worker (worker_router.h), then random hex.
static std::string sessionResourceId(int worker) {
  char prefix[3];
  std::snprintf(prefix, sizeof prefix, "%02x", worker & 0xff);
  return prefix + randomToken(14, "0123456789abcdef");
}

SessionBasics newSession(int worker, const std::string& stream, const std::string& httpPeer,
                         uint64_t consentTimeoutMs) {
  SessionBasics s;
  s.id = sessionResourceId(worker);
  s.stream = stream;
  s.httpPeer = httpPeer;
  s.localUfrag = ufragPrefix(worker) + randomToken(6, kIceChars);
  s.localPwd = randomToken(24, kIceChars);
  s.consentTimeoutMs = consentTimeoutMs;
  return s;
}

AnswerParams answerParamsFor(const SessionBasics& local, const DtlsIdentity& identity,
                             const std::vector<std::string>& candidates, int port) {
  AnswerParams ap;
  ap.ufrag = local.localUfrag;
  ap.pwd = local.localPwd;
  ap.fingerprint = identity.fingerprint();
  ap.candidates = candidates;
  ap.port = port;
  ap.sessionId = randomSsrc();
  return ap;
}

std::optional<ResourcePath> parseResourcePath(std::string_view raw, std::string_view kind) {
  auto segs = http::decodePathSegments(raw);
  if (!segs || segs->size() < 3 || segs->size() > 4 || (*segs)[2] != kind) return std::nullopt;
  ResourcePath p;
  p.stream = (*segs)[0] + "/" + (*segs)[1];
  if (segs->size() == 4) p.id = (*segs)[3];
  return p;
}

bool isEndpointPath(std::string_view path, std::string_view kind) {
  return path.size() > kind.size() && path.ends_with(kind) &&
         path[path.size() - kind.size() - 1] == '/';
}

bool isResourcePath(std::string_view path, std::string_view kind) {
  const std::string marker = std::string("/").append(kind).append("/");
  size_t at = path.rfind(marker);
  return at != std::string_view::npos && at > 0 && at + marker.size() < path.size();
}

AccessRequest accessRequestOf(http::HttpExchange& ex, AccessRequest::Action action,
                              const std::string& stream) {
  const http::Request& req = ex.request();
  AccessRequest ar;
  ar.action = action;
  ar.stream = stream;
  ar.protocol = "webrtc";
  ar.peer = ex.peer();
  ar.clientIp = peerHost(ar.peer);
  if (auto q = http::parseQuery(req.query))
    for (auto& p : *q) ar.query[p.key] = p.value;
  if (auto auth = req.header("Authorization"); auth.starts_with("Bearer "))
    ar.query.emplace("token", std::string(auth.substr(7)));
  return ar;
}

bool requireSdpOffer(http::HttpExchange& ex, std::string_view what) {
  if (ex.request().header("Content-Type").starts_with("application/sdp")) return true;
  ex.respond(415, "text/plain",
             "the " + std::string(what) + " offer must be Content-Type application/sdp\n");
  return false;
}

void takeOffer(http::HttpExchange& ex, std::string_view kind, std::string_view what,
               AccessRequest::Action action,
               std::function<void(http::HttpExchange&, const std::string&)> answer) {
  auto path = parseResourcePath(ex.request().path, kind);
  if (!path || !path->id.empty())
    return ex.respond(404, "text/plain",
                      "expected POST /{app}/{stream}/" + std::string(kind) + "\n");
  if (!requireSdpOffer(ex, what)) return;
  AccessRequest ar = accessRequestOf(ex, action, path->stream);
  ex.context().plugins->check(ar, ex.worker(), ex.aliveToken(),
                              [&ex, name = path->stream, answer](const Decision& d) {
                                // deny, or unauthorized (no challenge here)
                                if (d.verdict != Verdict::kContinue)
                                  return ex.respond(403, "text/plain", d.reason + "\n");
                                answer(ex, name);
                              });
}

std::string etagOf(const std::string& id) {
  return "\"" + id + "\"";
}

void servePage(http::HttpExchange& ex, bool ready, std::string_view html) {
  if (!ready) return ex.respond(404, "text/plain", "WebRTC is disabled\n");
  ex.respond(200, "text/html; charset=utf-8", html);
}

void respondAnswer(http::HttpExchange& ex, const std::string& sdp, const std::string& location,
                   const std::string& id) {
  http::ResponseHead head(201);
  head.contentType("application/sdp")
      .header("Location", location)
      .header("ETag", etagOf(id))
      .header("Cache-Control", "no-store");
  ex.respond(std::move(head), BufferRef::copyOf(sdp), 0, sdp.size());
}

}  // namespace xl::webrtc
