#include "hls/hls_sessions.h"

#include <chrono>
#include <vector>

namespace xl::hls {

uint64_t HlsSessionTable::nowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

SessionInfo HlsViewer::info() const {
  SessionInfo i;
  i.id = id_;
  i.protocol = "hls";
  i.role = "viewer";
  i.stream = stream_;
  i.peer = peer_;
  i.bytesOut = bytesOut_.load(std::memory_order_relaxed);
  i.ageSec = (HlsSessionTable::nowMs() - startMs_) / 1000.0;
  return i;
}

void HlsViewer::tick(uint64_t) {
  uint64_t now = HlsSessionTable::nowMs();
  if (now - lastSeenMs_.load(std::memory_order_relaxed) > table_->idleMs_.load())
    table_->expire(this);  // deletes this
}

HlsSessionTable::~HlsSessionTable() {
  std::lock_guard lk(mu_);
  for (auto& [_, v] : byId_)
    if (auto s = v->counted_.lock()) s->countViewer(format_, -1);
}

void HlsSessionTable::count(HlsViewer& v, const StreamPtr& source) {
  auto old = v.counted_.lock();
  if (old == source) return;
  if (old) old->countViewer(format_, -1);
  if (source) source->countViewer(format_, 1);
  v.counted_ = source;
}

std::string HlsSessionTable::touch(Worker& w, std::string_view id, const std::string& stream,
                                   const StreamPtr& source, const std::string& peer,
                                   std::string_view userAgent, uint64_t bytes) {
  uint64_t now = nowMs();
  std::string host = peer.substr(0, peer.rfind(':'));
  std::string client = host + "|" + std::string(userAgent) + "|" + stream;
  std::lock_guard lk(mu_);
  std::string key(id);
  if (key.empty()) {
    auto c = byClient_.find(client);
    if (c != byClient_.end() && byId_.count(c->second)) {
      key = c->second;
    } else {
      char buf[17];
      std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(rng_()));
      key = buf;
    }
  }
  auto it = byId_.find(key);
  if (it == byId_.end()) {
    auto v = std::make_unique<HlsViewer>();
    v->table_ = this;
    v->key_ = key;
    v->worker_ = w.index();
    v->id_ = ctx_.sessionsOf(w).nextId();
    v->stream_ = stream;
    v->peer_ = peer;
    v->client_ = client;
    v->startMs_ = now;
    v->lastSeenMs_ = now;
    // Listed on this worker: we are on it now, and it is the one that ticks and expires it.
    ctx_.sessionsOf(w).add(v.get());
    it = byId_.emplace(key, std::move(v)).first;
    byClient_[client] = key;
  }
  HlsViewer& v = *it->second;
  v.lastSeenMs_.store(now, std::memory_order_relaxed);
  v.bytesOut_.fetch_add(bytes, std::memory_order_relaxed);
  // The same id on another stream's URL: it counts for the stream it asks for now.
  if (v.stream_ == stream) count(v, source);
  return key;
}

void HlsSessionTable::expire(HlsViewer* v) {
  std::unique_ptr<HlsViewer> gone;
  {
    std::lock_guard lk(mu_);
    auto it = byId_.find(v->key_);
    if (it == byId_.end() || it->second.get() != v) return;
    if (auto s = v->counted_.lock()) s->countViewer(format_, -1);
    auto c = byClient_.find(v->client_);
    if (c != byClient_.end() && c->second == v->key_) byClient_.erase(c);
    gone = std::move(it->second);
    byId_.erase(it);
  }
  ctx_.sessionsOf(*ctx_.workers[gone->worker_]).remove(gone.get());
}

void HlsSessionTable::dropWorker(Worker& w) {
  std::vector<std::unique_ptr<HlsViewer>> gone;
  {
    std::lock_guard lk(mu_);
    for (auto it = byId_.begin(); it != byId_.end();) {
      if (it->second->worker_ != w.index()) {
        ++it;
        continue;
      }
      if (auto s = it->second->counted_.lock()) s->countViewer(format_, -1);
      byClient_.erase(it->second->client_);
      gone.push_back(std::move(it->second));
      it = byId_.erase(it);
    }
  }
  for (auto& v : gone) ctx_.sessionsOf(w).remove(v.get());
}

size_t HlsSessionTable::size() const {
  std::lock_guard lk(mu_);
  return byId_.size();
}

}  // namespace xl::hls
