#include "rtsp/multicast_group.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <optional>

#include "rtsp/rtsp_muxer.h"
#include "rtsp/udp_output.h"
#include "xueliang/sink.h"

namespace xl::rtsp {

// The one viewer of a stream that sends to its group. Lives on the worker it was created on.
class MulticastSender : public Viewer {
 public:
  MulticastSender(Worker& w) : worker_(w) {}

  Status open(const MulticastSettings& s) {
    auto ignore = [](const uint8_t*, size_t, const UdpAddress&) {};
    ports_.rtp = std::make_unique<UdpSocket>(worker_, ignore);
    ports_.rtcp = std::make_unique<UdpSocket>(worker_, ignore);
    std::string from = (s.interface.empty() ? "0.0.0.0" : s.interface) + ":0";
    for (UdpSocket* u : {ports_.rtp.get(), ports_.rtcp.get()}) {
      if (Status st = u->bind(from); !st) return st;
      const int fd = u->fd();
      unsigned char ttl = static_cast<unsigned char>(s.ttl);
      unsigned char loop = 1;  // viewers on this host (and the tests) hear the group too
      if (setsockopt(fd, IPPROTO_IP, IP_MULTICAST_TTL, &ttl, sizeof ttl) != 0 ||
          setsockopt(fd, IPPROTO_IP, IP_MULTICAST_LOOP, &loop, sizeof loop) != 0)
        return Status::error(std::string("multicast socket options: ") + strerror(errno));
      if (!s.interface.empty()) {
        in_addr a{};
        if (inet_pton(AF_INET, s.interface.c_str(), &a) != 1 ||
            setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &a, sizeof a) != 0)
          return Status::error("multicast_interface " + s.interface + ": " + strerror(errno));
      }
    }
    return Status::ok();
  }

  void start(const std::string& group, int port, const ViewerLimits& limits) {
    out_.emplace(worker_, ports_, limits);
    for (int track = 0; track < 2; ++track) {
      auto rtp = udpAddress(group, port + 2 * track);
      auto rtcp = udpAddress(group, port + 2 * track + 1);
      if (rtp && rtcp) out_->setTrack(track, *rtp, *rtcp);
    }
  }

  void onJoin(const BufferRef&, const std::vector<MuxedBatch>& gop) override {
    for (const MuxedBatch& b : gop) out_->deliver(b);
  }
  void onBatch(const MuxedBatch& b) override { out_->deliver(b); }
  void onStreamEnd() override {}  // the viewers' sessions end and release the group

 private:
  Worker& worker_;
  UdpPorts ports_;
  std::optional<UdpOutput> out_;
};

struct MulticastGroups::Group {
  uint32_t address32 = 0;  // host order, the key of usedAddresses_
  std::string address;
  int port = 0;
  int refs = 0;
  std::shared_ptr<const MulticastSettings> settings;  // the ones it was started under
  StreamPtr stream;
  Worker* worker = nullptr;
  std::unique_ptr<MulticastSender> sender;  // touched on `worker` only
};

MulticastGroups::Lease::Lease(MulticastGroups& owner, std::shared_ptr<Group> g)
    : owner_(owner), group_(std::move(g)) {}

MulticastGroups::Lease::~Lease() {
  owner_.release(group_);
}

const std::string& MulticastGroups::Lease::address() const {
  return group_->address;
}

int MulticastGroups::Lease::rtpPort(int track) const {
  return group_->port + 2 * track;
}

int MulticastGroups::Lease::ttl() const {
  return group_->settings->ttl;
}

MulticastGroups::MulticastGroups(const MulticastSettings& settings, int format)
    : format_(format), settings_(std::make_shared<const MulticastSettings>(settings)) {}

MulticastGroups::~MulticastGroups() = default;

void MulticastGroups::reconfigure(const MulticastSettings& settings) {
  auto next = std::make_shared<const MulticastSettings>(settings);
  std::lock_guard lock(mu_);
  settings_ = std::move(next);
}

std::shared_ptr<const MulticastSettings> MulticastGroups::settings() const {
  std::lock_guard lock(mu_);
  return settings_;
}

Result<std::unique_ptr<MulticastGroups::Lease>> MulticastGroups::join(const StreamPtr& stream,
                                                                      Worker& w,
                                                                      const ViewerLimits& limits) {
  // The stream's group under `settings`, with one more lease; null if it has none. Under mu_.
  auto joinRunning = [&](const std::shared_ptr<const MulticastSettings>& settings) {
    for (auto& g : groups_) {
      if (g->stream == stream && g->settings == settings) {
        ++g->refs;
        return std::make_unique<Lease>(*this, g);
      }
    }
    return std::unique_ptr<Lease>();
  };
  std::shared_ptr<const MulticastSettings> settings;
  {
    std::lock_guard lock(mu_);
    settings = settings_;
    if (!settings->enabled) return Status::error("multicast is off");
    if (auto lease = joinRunning(settings)) return lease;
  }
  // The first viewer: open the sender's sockets outside the lock, then claim a group. Another
  // worker may have raced us to it; then this sender is simply discarded.
  auto sender = std::make_unique<MulticastSender>(w);
  if (Status s = sender->open(*settings); !s) return s;
  std::shared_ptr<Group> g;
  {
    std::lock_guard lock(mu_);
    if (auto lease = joinRunning(settings)) return lease;
    // Group i of the range sends to ports port + 4i ..; an address still used by a group of
    // earlier settings is skipped.
    uint32_t i = 0;
    while (i < settings->range.count && usedAddresses_.count(settings->range.first + i)) ++i;
    if (i == settings->range.count) return Status::error("every multicast group is in use");
    g = std::make_shared<Group>();
    g->address32 = settings->range.first + i;
    g->address = ipv4String(g->address32);
    g->port = settings->port + 4 * static_cast<int>(i);
    g->refs = 1;
    g->settings = settings;
    g->stream = stream;
    g->worker = &w;
    sender->start(g->address, g->port, limits);
    g->sender = std::move(sender);
    usedAddresses_.insert(g->address32);
    groups_.push_back(g);
  }
  spdlog::info("rtsp: multicast {} to {} ports {}-{}", stream->name(), g->address, g->port,
               g->port + 3);
  stream->attach(g->sender.get(), format_, w);
  return std::make_unique<Lease>(*this, g);
}

void MulticastGroups::release(const std::shared_ptr<Group>& g) {
  {
    std::lock_guard lock(mu_);
    if (--g->refs > 0) return;
    std::erase(groups_, g);
  }
  // Stop the sender on its own worker; the group's address is reused only once it is silent.
  g->worker->run([this, g] {
    if (g->sender) {
      g->stream->detach(g->sender.get(), format_, *g->worker);
      g->sender.reset();
      spdlog::info("rtsp: multicast {} to {} stopped", g->stream->name(), g->address);
    }
    std::lock_guard lock(mu_);
    usedAddresses_.erase(g->address32);
  });
}

void MulticastGroups::stopWorker(Worker& w) {
  std::vector<std::shared_ptr<Group>> mine;
  {
    std::lock_guard lock(mu_);
    for (auto& g : groups_) {
      if (g->worker == &w) mine.push_back(g);
    }
  }
  for (auto& g : mine) {  // `sender` is only touched on `w`, which is running this
    if (!g->sender) continue;
    g->stream->detach(g->sender.get(), format_, w);
    g->sender.reset();
  }
}

}  // namespace xl::rtsp
