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
  // Everyone attached now, joined or still waiting, hears of the end once; the lists are emptied
  // first because viewers detach themselves from inside onStreamEnd. A viewer that attaches
  // after the end is told by another call.
  std::vector<Viewer*> viewers;
  for (size_t f = 0; f < active_.size(); ++f) {
    for (Viewer* v : active_[f])
      if (v) viewers.push_back(v);
    viewers.insert(viewers.end(), pending_[f].begin(), pending_[f].end());
    active_[f].clear();
    pending_[f].clear();
  }
  for (Viewer* v : viewers) v->onStreamEnd();
}

void StreamMirror::endPending(int format) {
  auto waiting = std::move(pending_[format]);
  pending_[format].clear();
  for (Viewer* v : waiting) v->onStreamEnd();
}

}  // namespace xl
