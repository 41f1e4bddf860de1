// The HTTP side of WHIP (RFC 9725): POST /{app}/{stream}/whip takes an SDP offer, checks the
// publish with the plugin chain (action publish, protocol "webrtc"), takes the stream name (409
// when it is live) and answers 201 with the SDP answer, Location and ETag; DELETE on the
// Location ends the publish; PATCH on it is trickle ICE (trickle.h); GET /{app}/{stream}/publish
// is a page that publishes the camera and microphone. Each worker's media port has a WhipPort
// guest; a new publisher goes to the next worker in turn, whose index its ICE ufrag and resource
// id carry (worker_router.h), so that STUN, ICE-TCP connections, DELETE and PATCH find it there
// and its stream is published from that worker.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "http/http_server.h"
#include "webrtc/dtls.h"

namespace xl::webrtc {

class MediaPort;
class WhipPort;
class WhipSession;

struct WhipSettings {
  std::vector<std::string> candidates;  // host candidate addresses, as for WHEP
  uint64_t consentTimeoutMs = 30000;
  uint64_t keyframeIntervalMs = 2000;
  int tcpPort = 0;  // ICE-TCP passive candidates on this port (ice_tcp.h); 0: UDP only
};

class WhipEndpoint {
 public:
  WhipEndpoint();
  ~WhipEndpoint();

  // Main thread, before any worker runs: `workers` is the worker count.
  void configure(size_t workers, std::shared_ptr<const DtlsIdentity> identity, WhipSettings s);
  // Main thread, before `port`'s worker runs, once the port is bound: publishers on it too.
  void startWorker(MediaPort& port);
  // On worker `w` at shutdown: ends the publishes there (the port's guest stays until the
  // endpoint goes, for requests still on their way).
  void stopWorker(Worker& w);
  // On worker `worker`: its publisher that issued this ICE ufrag, or nullptr (ICE-TCP checks).
  WhipSession* findUfrag(int worker, std::string_view ufrag);

  void offer(http::HttpExchange& ex);
  void remove(http::HttpExchange& ex);
  void patch(http::HttpExchange& ex);
  void options(http::HttpExchange& ex);
  void page(http::HttpExchange& ex);

 private:
  void answer(http::HttpExchange& ex, const std::string& name);
  bool ready() const { return !whips_.empty() && whips_[0]; }
  WhipPort* nextPort();
  WhipPort* portOfId(const std::string& id);

  // One per worker, by worker index; filled on the main thread before the workers run.
  std::vector<std::unique_ptr<WhipPort>> whips_;
  std::atomic<size_t> next_{0};
  std::shared_ptr<const DtlsIdentity> identity_;
  WhipSettings settings_;
};

// PATCH /{app}/{stream}/whep/{id}: trickle ICE on a WHEP session of `port` (null: 404).
void patchWhep(http::HttpExchange& ex, MediaPort* port, const std::string& id);

// The worker a session resource id names (its first two hex digits), or -1.
int workerOfId(std::string_view id);

// "/{app}/{stream}/whip" and "/{app}/{stream}/whip/{id}", "/{app}/{stream}/publish".
bool isWhipPath(std::string_view p);
bool isWhipResource(std::string_view p);
bool isPublishPage(std::string_view p);

}  // namespace xl::webrtc
