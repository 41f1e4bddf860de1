#include "webrtc/stream_events.h"

#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

namespace xl::webrtc {

StreamEvents::StreamEvents(std::shared_ptr<SctpStack> stack, Worker& worker, StreamPtr stream,
                           Params params, WriteFn write)
    : worker_(worker),
      stream_(std::move(stream)),
      p_(std::move(params)),
      write_(std::move(write)),
      sctp_(
          std::move(stack), [&worker](std::function<void()> fn) { worker.post(std::move(fn)); },
          SctpAssociation::Handlers{
              .output = [this](std::span<const uint8_t> packet) { write_(packet); },
              .message =
                  [this](uint16_t sid, uint32_t ppid, std::span<const uint8_t> data) {
                    channels_.onMessage(sid, ppid, data);
                  },
              .up =
                  [this] {
                    up_ = true;
                    upAtMs_ = nowMs_ = worker_.nowMs();
                    spdlog::debug("webrtc {}: SCTP association up", p_.id);
                  },
              .down =
                  [this](const std::string& why) {
                    up_ = false;
                    spdlog::info("webrtc {}: data channel SCTP {}", p_.id, why);
                  },
              .incomingReset = [this](uint16_t sid) { channels_.onIncomingReset(sid); },
          }),
      channels_(sctp_, true,
                DataChannels::Handlers{
                    .opened = [this](const DataChannels::Channel& c) { onOpened(c); },
                    .message = [this](const DataChannels::Channel& c, std::span<const uint8_t> d,
                                      bool binary) { onMessage(c, d, binary); },
                    .closed =
                        [this](uint16_t sid) {
                          if (sid == eventsSid_) eventsSid_ = -1;
                        },
                    .protocolError =
                        [this](const std::string& e) {
                          spdlog::debug("webrtc {}: data channel: {}", p_.id, e);
                        },
                }) {}

StreamEvents::~StreamEvents() {
  *alive_ = false;
  if (sent_ || dropped_ || received_)
    spdlog::info("webrtc {}: data channel: {} events sent, {} dropped, {} messages received", p_.id,
                 sent_, dropped_, received_);
}

Status StreamEvents::start(uint64_t nowMs) {
  nowMs_ = nowMs;
  return sctp_.connect(SctpAssociation::kPort, p_.remotePort);
}

void StreamEvents::feed(std::span<const uint8_t> packet) {
  sctp_.feed(packet);
}

int StreamEvents::viewerCount() const {
  int n = 0;
  for (int v : stream_->stats().viewers) n += v;
  return n;
}

bool StreamEvents::send(uint16_t sid, const std::string& json) {
  // The channel's buffered amount, bounded: a browser that stopped reading loses events rather
  // than growing our queue.
  if (sctp_.pendingChunks() > p_.maxPendingChunks) {
    ++dropped_;
    return false;
  }
  if (Status s = channels_.sendText(sid, json); !s) {
    ++dropped_;
    spdlog::debug("webrtc {}: data channel: {}", p_.id, s.message());
    return false;
  }
  ++sent_;
  return true;
}

void StreamEvents::onOpened(const DataChannels::Channel& c) {
  spdlog::info("webrtc {}: data channel \"{}\" opened by the browser (stream id {})", p_.id,
               c.label, c.sid);
  if (eventsSid_ >= 0) return;  // events already go on an earlier channel
  eventsSid_ = c.sid;
  hello();
}

void StreamEvents::hello() {
  lastViewers_ = viewerCount();
  seenSourceChanges_ = stream_->sourceChanges();
  reportedLive_ = stream_->sourceLive();
  nlohmann::json j = {{"type", "hello"}, {"stream", stream_->name()}, {"viewers", lastViewers_}};
  send(static_cast<uint16_t>(eventsSid_), j.dump());
  if (!reportedLive_) send(static_cast<uint16_t>(eventsSid_), R"({"type":"source_lost"})");
}

void StreamEvents::onMessage(const DataChannels::Channel& c, std::span<const uint8_t> data,
                             bool binary) {
  ++received_;
  std::string reason = "unknown command";
  if (binary) {
    reason = "binary messages are not supported";
  } else {
    auto j = nlohmann::json::parse(data.begin(), data.end(), nullptr, false);
    if (j.is_discarded() || !j.is_object()) {
      reason = "not a JSON object";
    } else if (auto t = j.find("type"); t != j.end() && t->is_string() && *t == "ping") {
      send(c.sid, R"({"type":"pong"})");
      return;
    }
  }
  send(c.sid, nlohmann::json{{"type", "error"}, {"reason", reason}}.dump());
}

void StreamEvents::tick(uint64_t nowMs) {
  nowMs_ = nowMs;
  if (!up_) return;
  if (eventsSid_ < 0) {
    if (channels_.count() > 0 || nowMs - upAtMs_ < p_.openDelayMs) return;
    // The browser opened no channel: open ours (negotiated=false, so DCEP OPEN from here).
    auto sid = channels_.open("events");
    if (!sid) {
      spdlog::debug("webrtc {}: data channel: {}", p_.id, sid.message());
      return;
    }
    spdlog::info("webrtc {}: data channel \"events\" opened by the server (stream id {})", p_.id,
                 *sid);
    eventsSid_ = *sid;
    hello();
    return;
  }
  const uint16_t sid = static_cast<uint16_t>(eventsSid_);
  // Checked once a second: at most one viewers event per second, whatever the churn.
  if (int n = viewerCount(); n != lastViewers_) {
    if (send(sid, nlohmann::json{{"type", "viewers"}, {"viewers", n}}.dump())) lastViewers_ = n;
  }
  if (uint64_t changes = stream_->sourceChanges(); changes != seenSourceChanges_) {
    seenSourceChanges_ = changes;
    const bool live = stream_->sourceLive();
    if (reportedLive_) {
      send(sid, R"({"type":"source_lost"})");
      reportedLive_ = false;
    }
    if (live) {
      send(sid, R"({"type":"source_resumed"})");
      reportedLive_ = true;
    }
  }
}

bool StreamEvents::streamEnded(std::function<void()> then) {
  if (!up_ || eventsSid_ < 0) return false;
  if (!send(static_cast<uint16_t>(eventsSid_), R"({"type":"stream_end"})")) return false;
  // usrsctp hands the packet to its output callback during the send, which posts it to this
  // worker; this task comes after it in the worker's queue.
  worker_.post([alive = alive_, then = std::move(then)] {
    if (*alive) then();
  });
  return true;
}

}  // namespace xl::webrtc
