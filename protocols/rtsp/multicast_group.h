// RTSP multicast play (RFC 2326 §12.39 "multicast"): a stream with multicast viewers gets one
// group address from [rtsp] multicast_range and one RTP/RTCP port pair per track. One sender per
// stream, a viewer of the shared "rtsp" batches on the worker of the stream's first multicast
// viewer, sends every packet once to the group, however many viewers have joined it; RTCP sender
// reports go to the group's RTCP ports. Each SETUP holds a lease; the sender stops and the group
// is freed when the last lease goes (TEARDOWN, connection closed, session timeout).
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "rtsp/rtsp_headers.h"
#include "xueliang/status.h"
#include "xueliang/stream.h"
#include "xueliang/viewer_output.h"
#include "xueliang/worker.h"

namespace xl::rtsp {

struct MulticastSettings {
  bool enabled = false;
  MulticastRange range{0xEFFF2A00u, 256};  // 239.255.42.0/24
  int port = 9000;  // group i: video RTP/RTCP on port + 4i, +1; audio on port + 4i + 2, +3
  int ttl = 16;
  std::string interface;  // IPv4 address to send from; empty: the routing table decides
};

class MulticastSender;

class MulticastGroups {
 public:
  MulticastGroups(const MulticastSettings& settings, int format);
  ~MulticastGroups();
  MulticastGroups(const MulticastGroups&) = delete;
  MulticastGroups& operator=(const MulticastGroups&) = delete;

  struct Group;
  // A viewer's hold on its stream's group; released on destruction (on any worker).
  class Lease {
   public:
    Lease(MulticastGroups& owner, std::shared_ptr<Group> g);
    ~Lease();
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    const std::string& address() const;
    int rtpPort(int track) const;

   private:
    MulticastGroups& owner_;
    std::shared_ptr<Group> group_;
  };

  const MulticastSettings& settings() const { return settings_; }
  // On the viewer's worker `w`: the stream's group, started now (on `w`) if it has none.
  Result<std::unique_ptr<Lease>> join(const StreamPtr& stream, Worker& w,
                                      const ViewerLimits& limits);
  // On `w` as it stops: its senders stop now, closing their sockets on their own loop, even
  // while viewers on other workers still hold leases (a task posted to a stopped worker never
  // runs).
  void stopWorker(Worker& w);

 private:
  void release(const std::shared_ptr<Group>& g);

  MulticastSettings settings_;
  int format_;
  std::mutex mu_;  // join/leave only (control path); senders never take it
  std::unordered_map<const Stream*, std::shared_ptr<Group>> byStream_;
  std::vector<bool> used_;  // group indexes in use, including senders still stopping
};

}  // namespace xl::rtsp
