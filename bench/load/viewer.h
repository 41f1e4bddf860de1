// Viewer: one non-blocking TCP connection playing one stream. The base class owns the socket,
// output buffering, timing (first media byte, first keyframe, stalls) and failure accounting;
// each protocol subclass speaks its request/response and finds media and keyframes in the bytes.
#pragma once

#include <netinet/in.h>

#include <cstdint>
#include <memory>
#include <string>

#include "loop.h"
#include "stats.h"

namespace xlload {

// A parsed play URL: rtmp://, http:// (HTTP-FLV), rtsp://.
struct Target {
  std::string scheme, host, path;  // path with leading '/', query kept
  int port = 0;
  sockaddr_in addr{};
  std::string url;
};
// Parses and resolves (IPv4) the URL; returns an error message or "".
std::string parseTarget(const std::string& url, Target& out);

class Viewer : public EventHandler {
 public:
  Viewer(Loop& loop, Stats& stats, const Target& target);
  ~Viewer() override;
  Viewer(const Viewer&) = delete;
  Viewer& operator=(const Viewer&) = delete;

  void start(double nowMs);
  // Called once per second: counts a stall when media stopped for more than 1 s.
  void checkStall(double nowMs);
  // Called every loop pass after start (timers of polling clients).
  virtual void tick(double) {}
  bool done() const { return finished_; }
  bool started() const { return started_; }
  // End of run: a viewer that never got media counts as failed, with the step it was stuck in.
  void finishRun();
  // End of run, after finishRun: leave politely (WHEP DELETEs its resource). pending() is true
  // while such a goodbye still waits for its answer.
  virtual void leave() {}
  virtual bool pending() const { return false; }
  void onEvent(uint32_t events) override;

 protected:
  // The TCP connection is up: send the first request.
  virtual void onConnected() = 0;
  // Bytes from the server; return false after fail() to stop.
  virtual bool onBytes(const uint8_t* data, size_t n) = 0;
  // Media gap counted as a stall: 1 s for streams; segment-based players get media in bursts.
  virtual double stallGapMs() const { return 1000; }
  // The protocol step the viewer is in, for failure reports.
  virtual std::string stage() const = 0;

  void send(const void* data, size_t n);
  void send(const std::string& s) { send(s.data(), s.size()); }
  // Media payload arrived (first media byte time, stall tracking).
  void media(double nowMs);
  void keyframe(double nowMs);
  // The play request succeeded: the viewer counts as connected.
  void playing();
  // Ends the viewer, counting it as failed (no media yet) or disconnected.
  void fail(const std::string& reason);
  // Closes the TCP connection while the viewer goes on playing over other sockets (WHEP after
  // the answer); stall accounting continues.
  void detachConnection();
  // The viewer ended (fail or end of run): release protocol sockets beyond the TCP one.
  virtual void onEnd() {}
  double now() const { return monoMs(); }

  Loop& loop_;
  Stats& stats_;
  const Target& target_;

 private:
  void flushOut();
  void closeFd();

  int fd_ = -1;
  bool started_ = false;
  bool finished_ = false;
  bool connecting_ = false;
  bool playing_ = false;
  bool hadMedia_ = false;
  bool hadKey_ = false;
  bool inStall_ = false;
  double startMs_ = 0;
  double lastMediaMs_ = 0;
  std::string out_;  // unsent request bytes (small: commands only)
  bool wantOut_ = false;
  bool detached_ = false;
};

std::unique_ptr<Viewer> makeRtmpViewer(Loop& loop, Stats& stats, const Target& t);
std::unique_ptr<Viewer> makeFlvViewer(Loop& loop, Stats& stats, const Target& t);
// RTSP over TCP (interleaved). Both RTSP viewers send a receiver report per track about every
// `reportIntervalMs` (randomized over [0.5, 1.5] of it; 0: none).
std::unique_ptr<Viewer> makeRtspViewer(Loop& loop, Stats& stats, const Target& t,
                                       double reportIntervalMs);
std::unique_ptr<Viewer> makeHlsViewer(Loop& loop, Stats& stats, const Target& t);
// LL-HLS: partial segments with blocking reload (_HLS_msn/_HLS_part); whole segments otherwise.
std::unique_ptr<Viewer> makeLlHlsViewer(Loop& loop, Stats& stats, const Target& t);
// RTSP with RTP/RTCP over UDP (SETUP with client_port; one socket pair per track).
std::unique_ptr<Viewer> makeRtspUdpViewer(Loop& loop, Stats& stats, const Target& t,
                                          double reportIntervalMs);

// WHEP options shared by every WHEP viewer of a run.
struct WhepClientConfig;
std::unique_ptr<Viewer> makeWhepViewer(Loop& loop, Stats& stats, const Target& t,
                                       const WhepClientConfig& cfg);

}  // namespace xlload
