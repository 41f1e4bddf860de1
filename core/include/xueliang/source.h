// Pulled sources: a stream the server fetches itself (an IP camera over RTSP, ...) instead of
// waiting for a publisher. The core knows no source protocol: a module registers a driver
// factory for a URL scheme (ModuleRegistry::addSourceType), and the SourceManager runs each
// configured source through it, reconnecting with backoff and starting on-demand sources when
// their first viewer arrives.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "xueliang/status.h"

namespace xl {

class ServerContext;
class Stream;
class Worker;

// One [[sources]] entry with a `url` (or a POST /api/v1/sources body), validated.
struct SourceSettings {
  std::string name;                // "{app}/{stream}"
  std::string url;                 // with credentials
  std::string transport = "auto";  // "tcp", "udp" or "auto" (drivers that have a choice)
  bool onDemand = false;
  uint32_t retryMinMs = 1000;
  uint32_t retryMaxMs = 30000;
  uint32_t noMediaTimeoutMs = 10000;
  uint32_t idleTimeoutMs = 30000;

  // A reload restarts a source whose settings differ in any field.
  bool operator==(const SourceSettings&) const = default;
};

// The scheme of a URL ("rtsp" for "rtsp://..."), lower case; empty if there is none.
std::string urlScheme(const std::string& url);
// The URL with the password of its user-info replaced by "***" (safe to show and log).
std::string redactUrl(const std::string& url);

// What a driver reports to the source that runs it. Owner worker only.
class SourceLink {
 public:
  virtual ~SourceLink() = default;
  // The stream the driver publishes into. It outlives every connection attempt: viewers stay
  // attached across reconnects and see the stream resume.
  virtual Stream& stream() = 0;
  // Media is flowing.
  virtual void sourceLive() = 0;
  // How the media reaches us in this attempt ("tcp", "udp"...), for the sources API.
  virtual void sourceTransport(const std::string& transport) { (void)transport; }
  // The attempt ended (could not connect, refused, no media, garbage). The driver makes no
  // further calls; the source destroys it later (never inside this call) and retries.
  virtual void sourceFailed(const std::string& reason) = 0;
  // Bytes received from the remote end, for the sources API.
  virtual void sourceBytesIn(uint64_t n) = 0;
  // A frame was pushed into the stream, for the sources API.
  virtual void sourceFrameIn() = 0;
  // Media time (ms) the stream has reached; kept across attempts so that the next connection
  // continues the timeline instead of starting it again (viewers see time move forward).
  virtual int64_t resumeTimeMs() const = 0;
  virtual void setResumeTimeMs(int64_t ms) = 0;
};

// One connection attempt. Created and destroyed on the owner worker; its destructor closes
// every handle and makes no callback.
class SourceDriver {
 public:
  virtual ~SourceDriver() = default;
  virtual void start() = 0;
};

using SourceFactory = std::function<std::unique_ptr<SourceDriver>(
    const SourceSettings&, ServerContext&, Worker&, SourceLink&)>;

// Exponential backoff with jitter for retry number `attempt` (0 for the first retry): the delay
// doubles from `minMs` up to `maxMs`, and is then drawn uniformly from its upper half (with
// `random01` in [0, 1)), so cameras that failed together do not retry in lockstep.
uint64_t backoffDelayMs(int attempt, uint64_t minMs, uint64_t maxMs, double random01);

}  // namespace xl

namespace xl {

// Checks what the config reader and the sources API both accept: a "{app}/{stream}" name, a
// URL with a scheme, a known transport and a sane retry range.
Status validateSourceSettings(const SourceSettings& s);

}  // namespace xl
