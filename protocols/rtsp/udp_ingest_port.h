// RTSP publishers over UDP (ANNOUNCE/RECORD, RFC 2326 §12.39) send to the server's shared
// RTP/RTCP ports, the ones UDP viewers get their media from. Each publisher track receives on a
// socket of its session's worker bound to the shared port (SO_REUSEPORT) and connect()ed to the
// client address of its SETUP (IP and client_port): the kernel hands a connected socket the
// datagrams of exactly its source, so demultiplexing costs no lookup and no thread hop.
//
// A datagram the kernel gives an unconnected socket comes from a source no track expects. The
// router looks for a publisher from the same IP whose stream has that SSRC (a NAT rewrote the
// source port), or whose track has had no packet yet, and moves that track's socket to the new
// source (RTP "latching"). Anything else is counted and dropped, logged once per source per
// minute. Viewers' RTCP receiver reports arrive on the same port and are ignored silently.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <unordered_map>

#include "xueliang/udp.h"
#include "xueliang/worker.h"

namespace xl::rtsp {

// An IPv4/IPv6 address and port as a hashable key (no allocation).
struct UdpKey {
  uint8_t ip[16] = {};
  uint16_t port = 0;
  bool v6 = false;
  static UdpKey of(const UdpAddress& a);
  UdpKey hostOnly() const {
    UdpKey k = *this;
    k.port = 0;
    return k;
  }
  bool operator==(const UdpKey&) const = default;
};
struct UdpKeyHash {
  size_t operator()(const UdpKey& k) const;
};

// First RTP packet's SSRC (RFC 3550 §5.1), or the sender SSRC of an RTCP compound (§6.4).
bool ssrcOf(const uint8_t* d, size_t n, bool rtcp, uint32_t& ssrc);

class UdpIngestRouter {
 public:
  // Moves a track's socket `k` (0 RTP, 1 RTCP) to `from` and delivers the datagram that came from
  // there. Runs on the publisher's worker.
  using Relatch = std::function<void(int k, const UdpAddress& from, const uint8_t* d, size_t n)>;

  // Registers a publisher track expecting RTP and RTCP from `client` host (ports from SETUP).
  uint64_t add(Worker& w, const UdpAddress& client, std::shared_ptr<bool> alive, Relatch relatch);
  void remove(uint64_t id);
  // The track's SSRC, from its first RTP packet (its session's worker).
  void learnSsrc(uint64_t id, uint32_t ssrc);
  // A datagram on a shared port that no connected socket claimed (any worker).
  void onStray(Worker& w, int k, const uint8_t* d, size_t n, const UdpAddress& from);
  uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }

 private:
  struct Entry {
    Worker* worker;
    UdpKey host;
    std::shared_ptr<bool> alive;
    Relatch relatch;
    bool haveSsrc = false;
    uint32_t ssrc = 0;
    uint64_t lastMoveMs[2] = {0, 0};
  };
  void dropUnknown(Worker& w, const UdpKey& from, const UdpAddress& a);

  std::mutex mu_;  // setup and stray datagrams only; matched media never takes it
  uint64_t nextId_ = 1;
  std::unordered_map<uint64_t, Entry> entries_;
  std::unordered_map<UdpKey, uint64_t, UdpKeyHash> lastLogMs_;  // bounded, see dropUnknown
  std::atomic<uint64_t> dropped_{0};
};

}  // namespace xl::rtsp
