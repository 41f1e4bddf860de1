#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <mutex>
#include <thread>
#include <utility>

#include "test_util.h"
#include "xueliang/plugin.h"
#include "xueliang/stream.h"

namespace xl {
namespace {

using namespace std::chrono_literals;
using test::runOn;

struct Log {
  std::mutex mu;
  std::vector<std::string> calls;
  void add(std::string s) {
    std::lock_guard lk(mu);
    calls.push_back(std::move(s));
  }
  std::vector<std::string> get() {
    std::lock_guard lk(mu);
    return calls;
  }
};

// Answers with a fixed verdict; a pending one keeps `resume` for the test to call.
class FixedPlugin : public Plugin {
 public:
  FixedPlugin(std::string name, Decision d, Log* log)
      : name_(std::move(name)), d_(std::move(d)), log_(log) {}
  std::string_view name() const override { return name_; }
  void configure(ConfigSection&) override {}
  Decision onPlay(const AccessRequest& req, Resume resume) override {
    log_->add(name_ + ":play:" + req.stream);
    if (d_.verdict == Verdict::kPending) resume_ = std::move(resume);
    return d_;
  }
  Decision onPublish(const AccessRequest& req, Resume resume) override {
    log_->add(name_ + ":publish:" + req.stream);
    if (d_.verdict == Verdict::kPending) resume_ = std::move(resume);
    return d_;
  }
  // The stored resume, handed over (a plugin drops it once it has answered).
  Resume take() { return std::exchange(resume_, nullptr); }
  Resume resume_;

 private:
  std::string name_;
  Decision d_;
  Log* log_;
};

struct Outcome {
  std::atomic<int> calls{0};
  std::atomic<bool> onWorker{false};
  Decision decision;
  std::promise<void> ready;
};

class PluginChainTest : public ::testing::Test {
 protected:
  void SetUp() override { w.start(); }
  void TearDown() override { w.stop(); }
  std::shared_ptr<FixedPlugin> add(const std::string& name, Decision d) {
    auto p = std::make_shared<FixedPlugin>(name, std::move(d), &log);
    chain.add(p);
    return p;
  }
  // Runs check() on the worker; returns whether `done` had run by the time check returned.
  bool check(AccessRequest::Action action, Outcome& o, std::shared_ptr<bool> alive = nullptr) {
    AccessRequest req;
    req.action = action;
    req.stream = "live/cam";
    req.protocol = "rtmp";
    req.clientIp = "10.0.0.1";
    req.peer = "10.0.0.1:5000";
    bool sync = false;
    runOn(w, [&] {
      chain.check(req, w, alive, [this, &o](const Decision& d) {
        o.decision = d;
        o.onWorker = w.inThisThread();
        if (++o.calls == 1) o.ready.set_value();
      });
      sync = o.calls > 0;
    });
    return sync;
  }

  Worker w{0};
  Log log;
  PluginChain chain;
};

TEST_F(PluginChainTest, EmptyChainAllowsAtOnce) {
  Outcome o;
  EXPECT_TRUE(check(AccessRequest::Action::kPlay, o));
  EXPECT_EQ(o.calls, 1);
  EXPECT_EQ(o.decision.verdict, Verdict::kContinue);
}

TEST_F(PluginChainTest, AllContinueRunsEveryPluginInOrder) {
  add("a", Decision::allow());
  add("b", Decision::allow());
  add("c", Decision::allow());
  Outcome o;
  EXPECT_TRUE(check(AccessRequest::Action::kPublish, o));
  EXPECT_EQ(o.calls, 1);
  EXPECT_EQ(o.decision.verdict, Verdict::kContinue);
  EXPECT_EQ(log.get(), (std::vector<std::string>{"a:publish:live/cam", "b:publish:live/cam",
                                                 "c:publish:live/cam"}));
}

TEST_F(PluginChainTest, DenyStopsTheChain) {
  add("a", Decision::allow());
  add("b", Decision::deny("not on the list"));
  add("c", Decision::allow());
  Outcome o;
  EXPECT_TRUE(check(AccessRequest::Action::kPlay, o));
  EXPECT_EQ(o.calls, 1);
  EXPECT_EQ(o.decision.verdict, Verdict::kDeny);
  EXPECT_EQ(o.decision.reason, "not on the list");
  EXPECT_EQ(log.get(), (std::vector<std::string>{"a:play:live/cam", "b:play:live/cam"}));
}

TEST_F(PluginChainTest, PendingResumedFromAnotherThreadFinishesOnWorker) {
  add("a", Decision::allow());
  auto p = add("b", Decision::pending());
  add("c", Decision::allow());
  Outcome o;
  EXPECT_FALSE(check(AccessRequest::Action::kPlay, o));
  // Pending: nothing after b ran, and no answer yet.
  EXPECT_EQ(log.get(), (std::vector<std::string>{"a:play:live/cam", "b:play:live/cam"}));
  EXPECT_EQ(o.calls, 0);
  ASSERT_TRUE(p->resume_);
  std::thread([r = p->take()] { r(Decision::allow()); }).join();
  ASSERT_EQ(o.ready.get_future().wait_for(2s), std::future_status::ready);
  runOn(w, [] {});
  EXPECT_EQ(o.calls, 1);
  EXPECT_TRUE(o.onWorker);
  EXPECT_EQ(o.decision.verdict, Verdict::kContinue);
  EXPECT_EQ(log.get(),
            (std::vector<std::string>{"a:play:live/cam", "b:play:live/cam", "c:play:live/cam"}));
}

TEST_F(PluginChainTest, PendingResumedWithDenySkipsTheRest) {
  auto p = add("a", Decision::pending());
  add("b", Decision::allow());
  Outcome o;
  EXPECT_FALSE(check(AccessRequest::Action::kPublish, o));
  std::thread([r = p->take()] { r(Decision::deny("platform said no")); }).join();
  ASSERT_EQ(o.ready.get_future().wait_for(2s), std::future_status::ready);
  runOn(w, [] {});
  EXPECT_EQ(o.calls, 1);
  EXPECT_TRUE(o.onWorker);
  EXPECT_EQ(o.decision.verdict, Verdict::kDeny);
  EXPECT_EQ(o.decision.reason, "platform said no");
  EXPECT_EQ(log.get(), std::vector<std::string>{"a:publish:live/cam"});
}

TEST_F(PluginChainTest, TwoPendingPluginsResumeInTurn) {
  auto p1 = add("a", Decision::pending());
  auto p2 = add("b", Decision::pending());
  Outcome o;
  EXPECT_FALSE(check(AccessRequest::Action::kPlay, o));
  std::thread([r = p1->take()] { r(Decision::allow()); }).join();
  runOn(w, [] {});
  EXPECT_EQ(o.calls, 0);
  ASSERT_EQ(log.get().size(), 2u);
  runOn(w, [] {});  // p2->resume_ was written on the worker
  std::thread([r = p2->take()] { r(Decision::allow()); }).join();
  ASSERT_EQ(o.ready.get_future().wait_for(2s), std::future_status::ready);
  EXPECT_EQ(o.decision.verdict, Verdict::kContinue);
  EXPECT_TRUE(o.onWorker);
}

TEST_F(PluginChainTest, DeadCallerIsNotCalledBack) {
  auto p = add("a", Decision::pending());
  Outcome o;
  auto alive = std::make_shared<bool>(true);
  EXPECT_FALSE(check(AccessRequest::Action::kPlay, o, alive));
  runOn(w, [&] { *alive = false; });  // the session went away meanwhile
  std::thread([r = p->take()] { r(Decision::allow()); }).join();
  runOn(w, [] {});
  runOn(w, [] {});
  EXPECT_EQ(o.calls, 0);
}

TEST_F(PluginChainTest, LiveCallerIsCalledBack) {
  auto p = add("a", Decision::pending());
  Outcome o;
  auto alive = std::make_shared<bool>(true);
  EXPECT_FALSE(check(AccessRequest::Action::kPlay, o, alive));
  std::thread([r = p->take()] { r(Decision::deny("x")); }).join();
  ASSERT_EQ(o.ready.get_future().wait_for(2s), std::future_status::ready);
  EXPECT_EQ(o.decision.verdict, Verdict::kDeny);
}

TEST_F(PluginChainTest, AttachFiltersAddsStreamFilters) {
  struct Counter : FrameSink {
    std::atomic<int>* n;
    void onFrame(const Frame&) override { ++*n; }
  };
  struct FilterPlugin : Plugin {
    std::atomic<int>* n;
    std::string_view name() const override { return "filter"; }
    void configure(ConfigSection&) override {}
    std::unique_ptr<FrameSink> createStreamFilter(Stream&) override {
      auto c = std::make_unique<Counter>();
      c->n = n;
      return c;
    }
  };
  std::atomic<int> frames{0};
  auto fp = std::make_shared<FilterPlugin>();
  fp->n = &frames;
  chain.add(fp);
  add("nofilter", Decision::allow());  // returns nullptr: nothing added
  std::vector<OutputFormat> formats;
  auto s = std::make_shared<Stream>("live/x", w, std::vector<Worker*>{&w}, formats,
                                    PublisherInfo{"t", "p"}, StreamLimits{});
  runOn(w, [&] {
    chain.attachFilters(*s);
    Frame f;
    f.data = BufferRef::copyOf("x");
    s->pushFrame(f);
    s->pushFrame(f);
  });
  EXPECT_EQ(frames, 2);
}

}  // namespace
}  // namespace xl
