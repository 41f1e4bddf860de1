// DESCRIBE: the SDP of a live stream's tracks. A stream that exists without a track yet is an
// on-demand camera that nobody watches: a waiter (a frame sink, which the source counts as
// demand) starts it, and the answer goes out when the camera's media description arrives.
#include <spdlog/spdlog.h>

#include "rtp/sdp.h"
#include "rtsp/rtsp_muxer.h"
#include "rtsp/rtsp_session.h"

namespace xl::rtsp {

// Touched on the stream's owner worker only.
struct TrackWaiterState {
  FrameSink* sink = nullptr;
  bool done = false;  // the waiter has fired or was cancelled; it is (being) removed
};

namespace {

bool hasTrack(const MediaInfoPtr& info) {
  return info && (info->video || info->audio);
}

class TrackWaiter : public FrameSink {
 public:
  TrackWaiter(std::weak_ptr<Stream> stream, std::shared_ptr<TrackWaiterState> state,
              std::function<void()> wake)
      : stream_(std::move(stream)), state_(std::move(state)), wake_(std::move(wake)) {}
  void onMediaInfo(const MediaInfoPtr& info) override {
    if (hasTrack(info)) finish();
  }
  void onFrame(const Frame&) override {}
  void onStreamEnd() override { finish(); }

 private:
  void finish() {
    if (state_->done) return;
    state_->done = true;
    wake_();
    // Not from inside the stream's own callback loop: removal is posted.
    if (auto s = stream_.lock()) s->owner().run([s, this] { s->removeFrameSink(this); });
  }
  std::weak_ptr<Stream> stream_;
  std::shared_ptr<TrackWaiterState> state_;
  std::function<void()> wake_;
};

}  // namespace

void RtspSession::describe(const RtspMessage& req, const RtspTarget& target, bool mayWait) {
  StreamPtr s = ctx_.streams->find(target.name());
  if (!s) return reply(req, 404, {}, "stream not found\n");
  MediaInfoPtr info = s->mediaInfo();
  if (!hasTrack(info) && mayWait) return waitForTracks(req, target, s);
  rtp::SessionDescription sdp;
  sdp.origin = "- " + std::to_string(id_) + " 1 IN IP4 0.0.0.0";
  sdp.name = target.name();
  sdp.connection = "IN IP4 0.0.0.0";
  sdp.attributes = {{"tool", "Xueliang"}, {"range", "npt=0-"}, {"control", "*"}};
  if (info && info->video) {
    auto m = rtp::describeVideo(*info->video, "trackID=0");
    if (m)
      sdp.media.push_back(std::move(*m));
    else
      spdlog::warn("rtsp {}: {}: video not offered: {}", conn_.peer(), target.name(), m.message());
  }
  if (info && info->audio) {
    auto m = rtp::describeAudio(*info->audio, "trackID=1");
    if (m)
      sdp.media.push_back(std::move(*m));
    else
      spdlog::warn("rtsp {}: {}: audio not offered: {}", conn_.peer(), target.name(), m.message());
  }
  if (sdp.media.empty()) return reply(req, 503, {}, "the stream has no playable track yet\n");
  reply(req, 200, {{"Content-Base", target.base + "/"}, {"Content-Type", "application/sdp"}},
        rtp::writeSdp(sdp));
}

void RtspSession::waitForTracks(const RtspMessage& req, const RtspTarget& target,
                                const StreamPtr& s) {
  auto state = std::make_shared<TrackWaiterState>();
  auto wake = [this, alive = alive_, w = &worker_] {
    w->run([this, alive] {
      if (!*alive || !trackWait_) return;
      TrackWait t = std::move(*trackWait_);
      trackWait_.reset();
      busy_ = false;
      describe(t.req, t.target, false);
      next();
    });
  };
  auto sink = std::make_shared<std::unique_ptr<FrameSink>>(
      std::make_unique<TrackWaiter>(s, state, std::move(wake)));
  s->owner().run([s, state, sink] {
    state->sink = sink->get();
    s->addFrameSink(std::move(*sink));
  });
  trackWait_ = std::make_unique<TrackWait>(
      TrackWait{req, target, s, std::move(state), worker_.nowMs() + kTrackWaitMs});
  busy_ = true;  // later requests wait for this answer
}

void RtspSession::stopWaitingForTracks() {
  if (!trackWait_) return;
  StreamPtr s = std::move(trackWait_->stream);
  s->owner().run([s, state = std::move(trackWait_->state)] {
    if (state->done || !state->sink) return;
    state->done = true;
    s->removeFrameSink(state->sink);
  });
  trackWait_.reset();
}

}  // namespace xl::rtsp
