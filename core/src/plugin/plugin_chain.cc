#include <spdlog/spdlog.h>

#include "xueliang/plugin.h"
#include "xueliang/stream.h"
#include "xueliang/worker.h"

namespace xl {
namespace {

struct ChainRun : std::enable_shared_from_this<ChainRun> {
  std::vector<std::shared_ptr<Plugin>> plugins;
  AccessRequest req;
  Worker* worker;
  std::shared_ptr<bool> alive;
  std::function<void(const Decision&)> done;

  void from(size_t i) {
    for (; i < plugins.size(); ++i) {
      auto self = shared_from_this();
      Resume resume = [self, i](Decision d) {
        self->worker->run([self, i, d = std::move(d)] { self->resumed(i, d); });
      };
      Decision d = req.action == AccessRequest::Action::kPublish
                       ? plugins[i]->onPublish(req, std::move(resume))
                       : plugins[i]->onPlay(req, std::move(resume));
      if (d.verdict == Verdict::kPending) return;
      if (d.verdict == Verdict::kDeny || d.verdict == Verdict::kUnauthorized)
        return finish(d, plugins[i]->name());
    }
    finish(Decision::allow(), {});
  }
  void resumed(size_t i, const Decision& d) {
    if (d.verdict == Verdict::kDeny || d.verdict == Verdict::kUnauthorized)
      return finish(d, plugins[i]->name());
    if (d.verdict == Verdict::kPending) return;  // a plugin may not answer "pending" twice
    from(i + 1);
  }
  void finish(Decision d, std::string_view by) {
    // Protocols that cannot challenge (RTMP, HTTP-FLV, ...) simply refuse.
    if (d.verdict == Verdict::kUnauthorized && !req.canChallenge) d.verdict = Verdict::kDeny;
    if (d.verdict != Verdict::kContinue)
      spdlog::info("{} {} by {} from {} denied by {}: {}",
                   req.action == AccessRequest::Action::kPublish ? "publish" : "play", req.stream,
                   req.protocol, req.peer, by, d.reason);
    if (alive && !*alive) return;
    auto fn = std::move(done);
    done = nullptr;
    if (fn) fn(d);
  }
};

}  // namespace

void PluginChain::check(const AccessRequest& req, Worker& worker, std::shared_ptr<bool> alive,
                        std::function<void(const Decision&)> done) const {
  auto run = std::make_shared<ChainRun>();
  run->plugins = plugins_;
  run->req = req;
  run->worker = &worker;
  run->alive = std::move(alive);
  run->done = std::move(done);
  run->from(0);
}

void PluginChain::attachFilters(Stream& stream) const {
  for (auto& p : plugins_) {
    if (auto f = p->createStreamFilter(stream)) stream.addFrameSink(std::move(f));
  }
}

}  // namespace xl
