// One video frame to many WHEP viewers on one media port, syscalls included: per viewer the
// frame's shared RTP packets are protected out of place, back to back, with the viewer's header
// (AEAD_AES_128_GCM, one SRTP context per viewer), then sent with UDP GSO either one sendEach per
// viewer (one sendmmsg each) or through the port's SendQueue (send_queue.h: every viewer's entry in
// one sendmmsg of up to 128 messages). Each viewer has its own loopback receiving socket, drained
// between timed stretches. Args: viewers; 0 = per viewer / 1 = across viewers; receivers with
// UDP_GRO (1: a GSO message reaches them whole, as behind a NIC with segmentation offload) or
// without (0: the kernel cuts it into datagrams). CPU time includes the kernel's loopback
// delivery, which runs in the sender's system call.
#include <benchmark/benchmark.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "webrtc/send_queue.h"
#include "webrtc/srtp.h"
#include "xueliang/udp.h"
#include "xueliang/worker.h"

namespace {

using xl::webrtc::SendQueue;
using xl::webrtc::SrtpProfile;
using xl::webrtc::SrtpSession;

// A 10 KB frame as the packetizer cuts it: 1200-byte packets and a shorter last one.
std::vector<std::vector<uint8_t>> frame10k() {
  std::vector<std::vector<uint8_t>> out;
  for (size_t at = 0; at < 10000; at += 1188) {
    std::vector<uint8_t> p(12 + std::min<size_t>(1188, 10000 - at), 0x5a);
    p[0] = 0x80;
    p[1] = 96;
    out.push_back(std::move(p));
  }
  return out;
}

struct Viewer : SendQueue::Owner {
  std::unique_ptr<SrtpSession> srtp;
  int rx = -1;
  xl::UdpAddress to;
  uint16_t seq = 0;
  uint32_t ssrc = 0;
  size_t sent = 0;
  void onSent(const SendQueue::Outcome& o) override { sent += o.sent; }
};

// Protects the frame for `v` out of place, its headers rewritten, into what `next(len)` returns.
template <class Next, class Add>
void layOut(Viewer& v, const std::vector<std::vector<uint8_t>>& shared, Next next, Add add) {
  for (const auto& p : shared) {
    uint8_t* out = next(p.size());
    if (auto n = v.srtp->protectRtp(p.data(), p.size(), out, {96, v.seq++, v.ssrc})) add(*n);
  }
}

void BM_WhepViewersSend(benchmark::State& state) {
  const auto viewers = static_cast<size_t>(state.range(0));
  const bool across = state.range(1) != 0;
  const int gro = state.range(2) != 0 ? 1 : 0;
  const auto shared = frame10k();
  xl::Worker worker(0);  // not started: the socket only sends, the queue is flushed by hand
  auto sock = std::make_unique<xl::UdpSocket>(worker, nullptr);
  if (!sock->bind("127.0.0.1:0")) return state.SkipWithError("socket");
  sock->setGso(true);
  std::vector<Viewer> vs(viewers);
  std::vector<uint8_t> key(28, 7);
  for (size_t i = 0; i < viewers; ++i) {
    Viewer& v = vs[i];
    auto s =
        SrtpSession::create(SrtpProfile::kAeadAes128Gcm, key, SrtpSession::Direction::kOutbound);
    if (!s) return state.SkipWithError("srtp");
    v.srtp = std::move(*s);
    v.ssrc = static_cast<uint32_t>(0x1000 + i);
    v.rx = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t alen = sizeof a;
    int buf = 4 << 20;
    if (::setsockopt(v.rx, SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof buf) != 0)
      ::setsockopt(v.rx, SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
    ::setsockopt(v.rx, IPPROTO_UDP, 104 /* UDP_GRO */, &gro, sizeof gro);
    ::bind(v.rx, reinterpret_cast<sockaddr*>(&a), sizeof a);
    ::getsockname(v.rx, reinterpret_cast<sockaddr*>(&a), &alen);
    v.to = *xl::udpAddress("127.0.0.1", ntohs(a.sin_port));
  }
  auto queue = std::make_unique<SendQueue>(*sock, worker.flushTimer());
  std::vector<uint8_t> area(64 * 1600);
  std::vector<iovec> iov;
  iov.reserve(64);
  static uint8_t drain[65536];
  size_t iterations = 0;
  for (auto _ : state) {
    for (Viewer& v : vs) {
      if (across) {
        queue->begin(&v, v.to, true);
        layOut(
            v, shared, [&](size_t len) { return queue->next(len); },
            [&](size_t n) { queue->add(n); });
        queue->end();
        continue;
      }
      iov.clear();
      size_t used = 0;
      layOut(
          v, shared, [&](size_t) { return area.data() + used; },
          [&](size_t n) {
            iov.push_back({area.data() + used, n});
            used += n;
          });
      v.sent += sock->sendEach(v.to, iov);
    }
    if (across) queue->flush();
    if (++iterations % 16 == 0) {
      state.PauseTiming();
      for (Viewer& v : vs)
        while (::recv(v.rx, drain, sizeof drain, 0) > 0) {
        }
      state.ResumeTiming();
    }
  }
  size_t sent = 0;
  for (Viewer& v : vs) sent += v.sent;
  if (sent != iterations * viewers * shared.size())
    state.SkipWithError("datagrams not taken by the kernel");
  state.SetItemsProcessed(static_cast<int64_t>(iterations * viewers));  // viewer-frames
  state.counters["sendmmsg/frame"] = across
                                         ? static_cast<double>(queue->flushes()) /
                                               static_cast<double>(std::max<size_t>(iterations, 1))
                                         : static_cast<double>(viewers);
  state.SetLabel(std::string(across ? "across viewers" : "per viewer") + (gro ? ", GRO" : ""));
  queue.reset();
  sock.reset();
  for (Viewer& v : vs) ::close(v.rx);
}
BENCHMARK(BM_WhepViewersSend)->ArgsProduct({{20, 100}, {0, 1}, {0, 1}});

}  // namespace
