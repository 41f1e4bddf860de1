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
  uint32_t index = 0;
  std::string address;
  int port = 0;
  int refs = 0;
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

MulticastGroups::MulticastGroups(const MulticastSettings& settings, int format)
    : settings_(settings), format_(format), used_(settings.range.count, false) {}

MulticastGroups::~MulticastGroups() = default;

Result<std::unique_ptr<MulticastGroups::Lease>> MulticastGroups::join(const StreamPtr& stream,
                                                                      Worker& w,
                                                                      const ViewerLimits& limits) {
  {
    std::lock_guard lock(mu_);
    if (auto it = byStream_.find(stream.get()); it != byStream_.end()) {
      ++it->second->refs;
      return std::make_unique<Lease>(*this, it->second);
    }
  }
  // The first viewer: open the sender's sockets outside the lock, then claim a group. Another
  // worker may have raced us to it; then this sender is simply discarded.
  auto sender = std::make_unique<MulticastSender>(w);
  if (Status s = sender->open(settings_); !s) return s;
  std::shared_ptr<Group> g;
  {
    std::lock_guard lock(mu_);
    if (auto it = byStream_.find(stream.get()); it != byStream_.end()) {
      ++it->second->refs;
      return std::make_unique<Lease>(*this, it->second);
    }
    size_t i = 0;
    while (i < used_.size() && used_[i]) ++i;
    if (i == used_.size()) return Status::error("every multicast group is in use");
    used_[i] = true;
    g = std::make_shared<Group>();
    g->index = static_cast<uint32_t>(i);
    g->address = ipv4String(settings_.range.first + g->index);
    g->port = settings_.port + 4 * static_cast<int>(i);
    g->refs = 1;
    g->stream = stream;
    g->worker = &w;
    sender->start(g->address, g->port, limits);
    g->sender = std::move(sender);
    byStream_[stream.get()] = g;
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
    if (auto it = byStream_.find(g->stream.get()); it != byStream_.end() && it->second == g)
      byStream_.erase(it);
  }
  // Stop the sender on its own worker; the group's address is reused only once it is silent.
  g->worker->run([this, g] {
    if (g->sender) {
      g->stream->detach(g->sender.get(), format_, *g->worker);
      g->sender.reset();
      spdlog::info("rtsp: multicast {} to {} stopped", g->stream->name(), g->address);
    }
    std::lock_guard lock(mu_);
    used_[g->index] = false;
  });
}

void MulticastGroups::stopWorker(Worker& w) {
  std::vector<std::shared_ptr<Group>> mine;
  {
    std::lock_guard lock(mu_);
    for (auto& [stream, g] : byStream_) {
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
