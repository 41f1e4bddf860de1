// The HTTP side of WHIP (RFC 9725): POST /{app}/{stream}/whip takes an SDP offer, checks the
// publish with the plugin chain (action publish, protocol "webrtc"), takes the stream name (409
// when it is live) and answers 201 with the SDP answer, Location and ETag; DELETE on the
// Location ends the publish; PATCH on it is trickle ICE (trickle.h); GET /{app}/{stream}/publish
// is a page that publishes the camera and microphone. Sessions live on the first worker's media
// port, as that port's guest.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "http/http_server.h"
#include "webrtc/dtls.h"

namespace xl::webrtc {

class MediaPort;
class WhipPort;

struct WhipSettings {
  std::vector<std::string> candidates;  // host candidate addresses, as for WHEP
  uint64_t consentTimeoutMs = 30000;
  uint64_t keyframeIntervalMs = 2000;
};

class WhipEndpoint {
 public:
  WhipEndpoint();
  ~WhipEndpoint();

  // On `port`'s worker, once it is bound.
  void start(MediaPort& port, std::shared_ptr<const DtlsIdentity> identity, WhipSettings s);
  // On the same worker: ends every publish and leaves the port.
  void stop();

  void offer(http::HttpExchange& ex);
  void remove(http::HttpExchange& ex);
  void patch(http::HttpExchange& ex);
  void options(http::HttpExchange& ex);
  void page(http::HttpExchange& ex);

 private:
  void answer(http::HttpExchange& ex, const std::string& name);
  bool ready() const { return port_ != nullptr; }

  MediaPort* port_ = nullptr;
  std::unique_ptr<WhipPort> whip_;
  std::shared_ptr<const DtlsIdentity> identity_;
  WhipSettings settings_;
};

// PATCH /{app}/{stream}/whep/{id}: trickle ICE on a WHEP session of `port` (null: 404).
void patchWhep(http::HttpExchange& ex, MediaPort* port, const std::string& id);

// "/{app}/{stream}/whip" and "/{app}/{stream}/whip/{id}", "/{app}/{stream}/publish".
bool isWhipPath(std::string_view p);
bool isWhipResource(std::string_view p);
bool isPublishPage(std::string_view p);

}  // namespace xl::webrtc
