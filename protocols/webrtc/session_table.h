// SessionTable: the sessions of one kind (WHEP viewers, WHIP publishers) on one worker's media
// port, found by resource id, by the ICE ufrag they issued and by the source addresses that
// passed their connectivity checks. MediaPort and WhipPort route with it; what they do when an
// address is gained or lost (tell the other workers) stays theirs.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <spdlog/spdlog.h>

#include "webrtc/stun.h"

namespace xl::webrtc {

template <class Session>
class SessionTable {
 public:
  static constexpr size_t kMaxAddressesPerSession = 8;  // candidate pairs a browser checks

  ~SessionTable() {
    // Sessions still registered end with the port (server shutdown).
    byUfrag_.clear();
    byAddress_.clear();
  }

  Session* add(std::unique_ptr<Session> s) {
    Session* raw = s.get();
    byUfrag_[s->params().localUfrag] = raw;
    byId_[s->params().id] = std::move(s);
    return raw;
  }
  size_t size() const { return byId_.size(); }
  Session* find(const std::string& id) const {
    auto it = byId_.find(id);
    return it == byId_.end() ? nullptr : it->second.get();
  }
  Session* findUfrag(std::string_view ufrag) const {
    auto it = byUfrag_.find(std::string(ufrag));
    return it == byUfrag_.end() ? nullptr : it->second;
  }
  Session* atAddress(const std::string& key) const {
    auto it = byAddress_.find(key);
    return it == byAddress_.end() ? nullptr : it->second;
  }
  std::vector<Session*> all() const {
    std::vector<Session*> out;
    for (auto& [id, s] : byId_) out.push_back(s.get());
    return out;
  }

  // The session whose ufrag a Binding request's USERNAME ("<ours>:<theirs>", RFC 8445 §7.2.2)
  // names, if the rest of the USERNAME and MESSAGE-INTEGRITY are that session's; else nullptr.
  Session* checkBinding(ByteSpan data, const StunMessage& m) const {
    size_t colon = m.username.find(':');
    if (colon == std::string::npos) return nullptr;
    Session* s = findUfrag(std::string_view(m.username.data(), colon));
    if (!s) return nullptr;
    if (m.username.compare(colon + 1, std::string::npos, s->params().negotiated.remoteUfrag) != 0)
      return nullptr;
    if (Status st = verifyIntegrity(data, m, s->params().localPwd); !st) {
      spdlog::debug("webrtc {}: {}", s->params().id, st.message());
      return nullptr;
    }
    return s;
  }

  // Datagrams from `key` are `s`'s now (an address another session had moves). False when they
  // already were. Past kMaxAddressesPerSession the session's oldest address is dropped and
  // passed to `dropped`.
  template <class Dropped>
  bool learn(Session& s, const std::string& key, Dropped&& dropped) {
    auto it = byAddress_.find(key);
    if (it != byAddress_.end()) {
      if (it->second == &s) return false;
      std::erase(addressesOf_[it->second], key);
    }
    auto& mine = addressesOf_[&s];
    if (mine.size() >= kMaxAddressesPerSession) {
      std::string oldest = std::move(mine.front());
      mine.erase(mine.begin());
      byAddress_.erase(oldest);
      dropped(oldest);
    }
    mine.push_back(key);
    byAddress_[key] = &s;
    return true;
  }

  // Forgets that `key` is a session's address (it moved to another worker); returns the
  // session it was, or nullptr.
  Session* unlearn(const std::string& key) {
    auto it = byAddress_.find(key);
    if (it == byAddress_.end()) return nullptr;
    Session* s = it->second;
    if (auto a = addressesOf_.find(s); a != addressesOf_.end()) std::erase(a->second, key);
    byAddress_.erase(it);
    return s;
  }

  // Unregisters `s`: each address still its own is passed to `dropped`; the session is handed
  // back (nullptr if it was not here) for the caller to delete when it is safe.
  template <class Dropped>
  std::unique_ptr<Session> release(Session& s, Dropped&& dropped) {
    byUfrag_.erase(s.params().localUfrag);
    if (auto it = addressesOf_.find(&s); it != addressesOf_.end()) {
      for (const std::string& k : it->second) {
        auto a = byAddress_.find(k);
        if (a != byAddress_.end() && a->second == &s) {
          byAddress_.erase(a);
          dropped(k);
        }
      }
      addressesOf_.erase(it);
    }
    auto it = byId_.find(s.params().id);
    if (it == byId_.end()) return nullptr;
    std::unique_ptr<Session> owned = std::move(it->second);
    byId_.erase(it);
    return owned;
  }

 private:
  std::unordered_map<std::string, std::unique_ptr<Session>> byId_;
  std::unordered_map<std::string, Session*> byUfrag_;
  std::unordered_map<std::string, Session*> byAddress_;  // checked source addresses
  std::unordered_map<Session*, std::vector<std::string>> addressesOf_;
};

}  // namespace xl::webrtc
