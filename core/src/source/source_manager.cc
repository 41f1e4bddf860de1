#include "xueliang/source_manager.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>

#include "managed_source.h"

namespace xl {

std::string urlScheme(const std::string& url) {
  auto colon = url.find("://");
  if (colon == std::string::npos || colon == 0) return {};
  std::string s = url.substr(0, colon);
  for (char& c : s) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '+' && c != '-' && c != '.') return {};
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return s;
}

std::string redactUrl(const std::string& url) {
  auto start = url.find("://");
  if (start == std::string::npos) return url;
  start += 3;
  auto end = url.find_first_of("/?#", start);
  if (end == std::string::npos) end = url.size();
  auto at = url.rfind('@', end);
  if (at == std::string::npos || at < start) return url;
  auto colon = url.find(':', start);
  if (colon == std::string::npos || colon > at) return url;  // user without password
  return url.substr(0, colon + 1) + "***" + url.substr(at);
}

uint64_t backoffDelayMs(int attempt, uint64_t minMs, uint64_t maxMs, double random01) {
  if (maxMs < minMs) maxMs = minMs;
  uint64_t d = minMs;
  for (int i = 0; i < attempt && d < maxMs; ++i) d *= 2;
  d = std::min(d, maxMs);
  random01 = std::clamp(random01, 0.0, 1.0);
  // Upper half: never below half the nominal delay, never above it.
  return d / 2 + static_cast<uint64_t>(static_cast<double>(d - d / 2) * random01);
}

SourceManager::SourceManager(ServerContext& ctx) : ctx_(ctx) {}

SourceManager::~SourceManager() = default;

void SourceManager::addType(std::string scheme, SourceFactory factory) {
  types_.emplace_back(std::move(scheme), std::move(factory));
}

bool SourceManager::hasType(const std::string& scheme) const {
  for (auto& [s, _] : types_) {
    if (s == scheme) return true;
  }
  return false;
}

std::pair<int, std::string> SourceManager::add(const SourceSettings& settings,
                                               SourceOrigin origin) {
  std::string scheme = urlScheme(settings.url);
  SourceFactory factory = factoryFor(scheme);
  if (!factory) return {400, "no source driver for URL scheme '" + scheme + "'"};
  std::lock_guard lk(mu_);
  if (sources_.count(settings.name)) return {409, "source '" + settings.name + "' exists already"};
  Worker& owner = *ctx_.workers[next_++ % ctx_.workers.size()];
  auto stream =
      ctx_.streams->publish(settings.name, owner, PublisherInfo{scheme, redactUrl(settings.url)});
  if (!stream) return {409, stream.message()};
  auto src = std::make_shared<ManagedSource>(settings, factory, ctx_, owner, *stream);
  sources_.emplace(settings.name, Entry{src, settings, origin});
  owner.run([src] { src->begin(); });
  spdlog::info("source {}: added ({}{}{})", settings.name, redactUrl(settings.url),
               settings.onDemand ? ", on demand" : "",
               origin == SourceOrigin::kConfig ? ", from the config" : "");
  return {201, "source '" + settings.name + "' added"};
}

SourceFactory SourceManager::factoryFor(const std::string& scheme) const {
  for (auto& [s, f] : types_) {
    if (s == scheme) return f;
  }
  return {};
}

void SourceManager::reconcile(const std::vector<SourceSettings>& declared) {
  std::vector<std::string> gone;
  std::vector<SourceSettings> added;
  std::vector<std::pair<std::shared_ptr<ManagedSource>, SourceSettings>> changed;
  {
    std::lock_guard lk(mu_);
    for (auto& [name, e] : sources_) {
      if (e.origin != SourceOrigin::kConfig) continue;
      bool kept = std::any_of(declared.begin(), declared.end(),
                              [&](const SourceSettings& d) { return d.name == name; });
      if (!kept) gone.push_back(name);
    }
    for (const SourceSettings& d : declared) {
      auto it = sources_.find(d.name);
      if (it == sources_.end()) {
        added.push_back(d);
      } else if (it->second.origin != SourceOrigin::kConfig) {
        spdlog::warn("reload: source {} was added through the API; the config's entry is ignored",
                     d.name);
      } else if (!(it->second.settings == d)) {
        it->second.settings = d;
        changed.emplace_back(it->second.source, d);
      }
    }
  }
  for (const std::string& name : gone) {
    spdlog::info("reload: source {} is no longer declared, removing it", name);
    remove(name);
  }
  for (auto& [src, settings] : changed) {
    spdlog::info("reload: source {} changed, restarting it ({})", settings.name,
                 redactUrl(settings.url));
    SourceFactory factory = factoryFor(urlScheme(settings.url));
    src->owner().run([src, settings, factory] { src->restart(settings, factory); });
  }
  for (const SourceSettings& d : added) {
    auto [code, message] = add(d, SourceOrigin::kConfig);
    if (code != 201) spdlog::error("reload: source {}: {}", d.name, message);
  }
}

bool SourceManager::remove(const std::string& name) {
  std::shared_ptr<ManagedSource> src;
  {
    std::lock_guard lk(mu_);
    auto it = sources_.find(name);
    if (it == sources_.end()) return false;
    src = std::move(it->second.source);
    sources_.erase(it);
  }
  src->owner().run([src] { src->finish(); });
  return true;
}

std::vector<SourceStatus> SourceManager::list() const {
  std::vector<SourceStatus> out;
  {
    std::lock_guard lk(mu_);
    for (auto& [_, e] : sources_) {
      out.push_back(e.source->status());
      out.back().origin = e.origin;
    }
  }
  std::sort(out.begin(), out.end(), [](const SourceStatus& a, const SourceStatus& b) {
    return a.settings.name < b.settings.name;
  });
  return out;
}

void SourceManager::stopAll() {
  std::unordered_map<std::string, Entry> all;
  {
    std::lock_guard lk(mu_);
    all.swap(sources_);
  }
  for (auto& [_, e] : all) e.source->owner().run([src = e.source] { src->finish(); });
}

}  // namespace xl
