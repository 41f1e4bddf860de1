#include <algorithm>

#include "xueliang/stream.h"

namespace xl {
namespace {
void erase(std::vector<Viewer*>& list, Viewer* v, bool delivering) {
  auto it = std::find(list.begin(), list.end(), v);
  if (it == list.end()) return;
  if (delivering)
    *it = nullptr;  // compacted after the delivery loop
  else
    list.erase(it);
}
}  // namespace

void StreamMirror::remove(Viewer* v, int format) {
  erase(active_[format], v, delivering_);
  erase(pending_[format], v, false);
}

void StreamMirror::join(int format, const BufferRef& header, const std::vector<MuxedBatch>& gop) {
  auto joining = std::move(pending_[format]);
  pending_[format].clear();
  for (Viewer* v : joining) {
    active_[format].push_back(v);
    v->onJoin(header, gop);
  }
}

void StreamMirror::deliver(int format, const MuxedBatch& batch) {
  auto& list = active_[format];
  delivering_ = true;
  // Index loop: a viewer may join (append) while we iterate.
  for (size_t i = 0; i < list.size(); ++i) {
    if (list[i]) list[i]->onBatch(batch);
  }
  delivering_ = false;
  list.erase(std::remove(list.begin(), list.end(), nullptr), list.end());
}

void StreamMirror::end() {
  if (ended_) return;
  ended_ = true;
  // Viewers detach themselves from inside onStreamEnd; work on copies.
  for (size_t f = 0; f < active_.size(); ++f) {
    auto viewers = active_[f];
    viewers.insert(viewers.end(), pending_[f].begin(), pending_[f].end());
    for (Viewer* v : viewers) v->onStreamEnd();
  }
}

}  // namespace xl
