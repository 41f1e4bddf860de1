// RTSP multicast play (RFC 2326 §12.39 "multicast"): a stream with multicast viewers gets one
// group address from [rtsp] multicast_range and one RTP/RTCP port pair per track. One sender per
// stream, a viewer of the shared "rtsp" batches on the worker of the stream's first multicast
// viewer, sends every packet once to the group, however many viewers have joined it; RTCP sender
// reports go to the group's RTCP ports. Each SETUP holds a lease; the sender stops and the group
// is freed when the last lease goes (TEARDOWN, connection closed, session timeout).
//
// A reload swaps the settings for groups started afterwards: a new SETUP gets a group under the
// new settings (or 461 when multicast is now off), while running groups keep their address,
// ports and TTL until their last viewer leaves.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_set>
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
  bool operator==(const MulticastSettings&) const = default;
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
    int ttl() const;

   private:
    MulticastGroups& owner_;
    std::shared_ptr<Group> group_;
  };

  // Settings for groups started from now on (main thread, on reload; any thread may join).
  void reconfigure(const MulticastSettings& settings);
  std::shared_ptr<const MulticastSettings> settings() const;
  bool enabled() const { return settings()->enabled; }
  // On the viewer's worker `w`: the stream's group under the current settings, started now (on
  // `w`) if it has none. An error when multicast is off or every group address is taken.
  Result<std::unique_ptr<Lease>> join(const StreamPtr& stream, Worker& w,
                                      const ViewerLimits& limits);
  // On `w` as it stops: its senders stop now, closing their sockets on their own loop, even
  // while viewers on other workers still hold leases (a task posted to a stopped worker never
  // runs).
  void stopWorker(Worker& w);

 private:
  void release(const std::shared_ptr<Group>& g);

  int format_;
  mutable std::mutex mu_;  // join/leave/reload only (control path); senders never take it
  std::shared_ptr<const MulticastSettings> settings_;
  // Groups with viewers: at most one per stream under the current settings, plus groups of
  // earlier settings still running for their viewers.
  std::vector<std::shared_ptr<Group>> groups_;
  std::unordered_set<uint32_t> usedAddresses_;  // including senders still stopping
};

}  // namespace xl::rtsp
