// WebRTC per-viewer costs: SRTP protection of one 1200-byte RTP packet (AEAD_AES_128_GCM vs
// AES_CM_128_HMAC_SHA1_80; second argument 0: ours on OpenSSL EVP as SrtpSession sends RTP,
// 1: libsrtp2 for comparison), and the per-viewer send work of a WHEP session for one
// video frame: copy each shared RTP packet into a scratch slot, rewrite payload type, sequence
// number and SSRC, protect (the sendmmsg itself is not counted); and one viewer's packet copied
// and protected in place against protected out of place (BM_SrtpViewerPacket, as WHEP sends).
#include <benchmark/benchmark.h>
#include <netinet/in.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <vector>

#include "webrtc/packet_batch.h"
#include "webrtc/srtp.h"
#include "webrtc/srtp_libsrtp.h"
#include "xueliang/udp.h"

namespace {

using xl::webrtc::SrtpProfile;
using xl::webrtc::SrtpSession;

std::vector<uint8_t> benchKey(SrtpProfile p) {
  std::vector<uint8_t> key(p == SrtpProfile::kAeadAes128Gcm ? 28 : 30);
  for (size_t i = 0; i < key.size(); ++i) key[i] = static_cast<uint8_t>(i * 7 + 1);
  return key;
}

std::unique_ptr<SrtpSession> outbound(SrtpProfile p) {
  auto s = SrtpSession::create(p, benchKey(p), SrtpSession::Direction::kOutbound);
  return s ? std::move(*s) : nullptr;
}

// Outbound RTP protection: SrtpSession's (ours, OpenSSL EVP), or libsrtp2's when `libsrtp`.
struct Protector {
  std::unique_ptr<SrtpSession> ours;
  std::unique_ptr<xl::webrtc::LibSrtpSession> lib;
  xl::Result<size_t> protectRtp(uint8_t* p, size_t n) {
    return lib ? lib->protectRtp(p, n) : ours->protectRtp(p, n);
  }
  explicit operator bool() const { return ours || lib; }
};

Protector protector(SrtpProfile p, bool libsrtp) {
  Protector out;
  if (!libsrtp) {
    out.ours = outbound(p);
  } else if (auto s = xl::webrtc::LibSrtpSession::create(p, benchKey(p), true)) {
    out.lib = std::move(*s);
  }
  return out;
}

void label(benchmark::State& state) {
  const bool gcm = static_cast<SrtpProfile>(state.range(0)) == SrtpProfile::kAeadAes128Gcm;
  state.SetLabel(std::string(gcm ? "AEAD_AES_128_GCM" : "AES_CM_128_HMAC_SHA1_80") +
                 (state.range(1) ? " libsrtp2" : " openssl"));
}

// Both profiles, each with our protection and libsrtp2's, side by side in one run.
void profilesAndImplementations(benchmark::internal::Benchmark* b) {
  for (SrtpProfile p : {SrtpProfile::kAeadAes128Gcm, SrtpProfile::kAes128CmSha1_80})
    for (int lib : {0, 1}) b->Args({static_cast<int>(p), lib});
}

void rtpHeader(uint8_t* p, uint16_t seq, uint32_t ts, bool marker) {
  p[0] = 0x80;
  p[1] = static_cast<uint8_t>((marker ? 0x80 : 0) | 96);
  p[2] = static_cast<uint8_t>(seq >> 8);
  p[3] = static_cast<uint8_t>(seq);
  p[4] = static_cast<uint8_t>(ts >> 24);
  p[5] = static_cast<uint8_t>(ts >> 16);
  p[6] = static_cast<uint8_t>(ts >> 8);
  p[7] = static_cast<uint8_t>(ts);
  std::memset(p + 8, 0x11, 4);
}

void BM_SrtpProtect1200(benchmark::State& state) {
  auto profile = static_cast<SrtpProfile>(state.range(0));
  auto s = protector(profile, state.range(1) != 0);
  if (!s) return state.SkipWithError("srtp session");
  uint8_t pkt[1200 + xl::webrtc::kSrtpMaxTrailer];
  std::memset(pkt, 0x5a, sizeof pkt);
  uint16_t seq = 0;
  for (auto _ : state) {
    rtpHeader(pkt, seq++, 0, false);  // a new index per packet, as a live sender has
    auto n = s.protectRtp(pkt, 1200);
    benchmark::DoNotOptimize(n);
  }
  state.SetBytesProcessed(state.iterations() * 1200);
  label(state);
}
BENCHMARK(BM_SrtpProtect1200)->Apply(profilesAndImplementations);

// The same AEAD work straight on OpenSSL's EVP AES-128-GCM (12-byte IV, 12-byte header as AAD,
// 16-byte tag), the reference for what libsrtp2 (on Debian: its NSS crypto backend) adds. Arg 0:
// the cipher named by EVP_aes_128_gcm(), EVP_EncryptInit_ex per packet, the tag through
// EVP_CIPHER_CTX_ctrl(GET_TAG); 1: as SrtpRtpSender calls it, the cipher fetched once,
// EVP_CipherInit_ex2, the tag through EVP_CIPHER_CTX_get_params with our own parameter array.
void BM_OpenSslGcm1200(benchmark::State& state) {
  const bool fetched = state.range(0) != 0;
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  EVP_CIPHER* gcm = EVP_CIPHER_fetch(nullptr, "AES-128-GCM", nullptr);
  uint8_t key[16] = {1, 2, 3}, iv[12] = {}, pkt[1200 + 16], tag[16];
  std::memset(pkt, 0x5a, sizeof pkt);
  if (fetched)
    EVP_CipherInit_ex2(ctx, gcm, key, nullptr, 1, nullptr);
  else
    EVP_EncryptInit_ex(ctx, EVP_aes_128_gcm(), nullptr, key, nullptr);
  uint32_t seq = 0;
  for (auto _ : state) {
    std::memcpy(iv + 8, &seq, 4);
    ++seq;
    int n = 0;
    if (fetched)
      EVP_CipherInit_ex2(ctx, nullptr, nullptr, iv, 1, nullptr);
    else
      EVP_EncryptInit_ex(ctx, nullptr, nullptr, nullptr, iv);
    EVP_EncryptUpdate(ctx, nullptr, &n, pkt, 12);
    EVP_EncryptUpdate(ctx, pkt + 12, &n, pkt + 12, 1200 - 12);
    EVP_EncryptFinal_ex(ctx, pkt + 1200, &n);
    if (fetched) {
      OSSL_PARAM p[2] = {OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, tag, 16),
                         OSSL_PARAM_construct_end()};
      EVP_CIPHER_CTX_get_params(ctx, p);
    } else {
      EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, tag);
    }
    benchmark::DoNotOptimize(tag);
  }
  EVP_CIPHER_CTX_free(ctx);
  EVP_CIPHER_free(gcm);
  state.SetBytesProcessed(state.iterations() * 1200);
  state.SetLabel(fetched ? "fetched, CipherInit_ex2, get_params" : "EncryptInit_ex, ctrl");
}
BENCHMARK(BM_OpenSslGcm1200)->Arg(0)->Arg(1);

// One viewer's copy of a stream's shared 1200-byte RTP packet: its header rewritten (payload
// type, sequence number, SSRC) and SRTP-protected into a send slot. Args: profile, then 0 for
// copy, rewrite, protect in place; 1 for out of place (SrtpSession::protectRtp with an
// RtpRewrite: the payload read once, encrypted straight into the slot), as WHEP sends.
void BM_SrtpViewerPacket(benchmark::State& state) {
  const auto profile = static_cast<SrtpProfile>(state.range(0));
  const bool outOfPlace = state.range(1) != 0;
  auto s = outbound(profile);
  if (!s) return state.SkipWithError("srtp session");
  uint8_t shared[1200], slot[1200 + xl::webrtc::kSrtpMaxTrailer];
  std::memset(shared, 0x5a, sizeof shared);
  rtpHeader(shared, 7, 0, false);
  uint16_t seq = 0;
  for (auto _ : state) {
    xl::Result<size_t> n = size_t(0);
    if (outOfPlace) {
      n = s->protectRtp(shared, sizeof shared, slot, {102, seq++, 0x22222222});
    } else {
      std::memcpy(slot, shared, sizeof shared);
      slot[1] = static_cast<uint8_t>((slot[1] & 0x80) | 102);
      slot[2] = static_cast<uint8_t>(seq >> 8);
      slot[3] = static_cast<uint8_t>(seq++);
      std::memset(slot + 8, 0x22, 4);
      n = s->protectRtp(slot, sizeof shared);
    }
    benchmark::DoNotOptimize(n);
    benchmark::DoNotOptimize(slot);
  }
  state.SetBytesProcessed(state.iterations() * 1200);
  const bool gcm = profile == SrtpProfile::kAeadAes128Gcm;
  state.SetLabel(std::string(gcm ? "AEAD_AES_128_GCM" : "AES_CM_128_HMAC_SHA1_80") +
                 (outOfPlace ? " out of place" : " copy + in place"));
}
BENCHMARK(BM_SrtpViewerPacket)
    ->ArgsProduct({{static_cast<int>(SrtpProfile::kAeadAes128Gcm),
                    static_cast<int>(SrtpProfile::kAes128CmSha1_80)},
                   {0, 1}});

// A video frame's shared RTP packets as the packetizer cuts them: 1188-byte payloads, the last
// one shorter.
std::vector<std::vector<uint8_t>> framePackets(size_t frameBytes) {
  constexpr size_t kPayload = 1188;
  std::vector<std::vector<uint8_t>> out;
  for (size_t at = 0; at < frameBytes; at += kPayload) {
    std::vector<uint8_t> p(12 + std::min(kPayload, frameBytes - at), 0x5a);
    rtpHeader(p.data(), static_cast<uint16_t>(out.size()), 0, at + kPayload >= frameBytes);
    out.push_back(std::move(p));
  }
  return out;
}

// One 10 KB video frame (a 2 Mbit/s stream at 25 fps) as 9 shared RTP packets, sent to one viewer.
void BM_WhepViewerFrame(benchmark::State& state) {
  auto profile = static_cast<SrtpProfile>(state.range(0));
  auto s = protector(profile, state.range(1) != 0);
  if (!s) return state.SkipWithError("srtp session");
  constexpr size_t kFrame = 10000;
  const auto shared = framePackets(kFrame);
  static uint8_t scratch[16][1600];
  uint16_t seq = 0;
  for (auto _ : state) {
    for (size_t i = 0; i < shared.size(); ++i) {
      const auto& p = shared[i];
      uint8_t* out = scratch[i];
      std::memcpy(out, p.data(), p.size());
      out[1] = static_cast<uint8_t>((out[1] & 0x80) | 102);
      out[2] = static_cast<uint8_t>(seq >> 8);
      out[3] = static_cast<uint8_t>(seq++);
      std::memset(out + 8, 0x22, 4);
      auto n = s.protectRtp(out, p.size());
      benchmark::DoNotOptimize(n);
    }
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(kFrame));
  state.counters["packets/frame"] = static_cast<double>(shared.size());
  label(state);
}
BENCHMARK(BM_WhepViewerFrame)->Apply(profilesAndImplementations);

// The whole per-viewer send of one video frame as WhepSession does it, syscall included: the
// frame's shared RTP packets (all full-size but the last, as the packetizer cuts them) copied
// back to back into a PacketBatch, rewritten, protected with AEAD_AES_128_GCM and handed to
// UdpSocket::sendEach towards a loopback socket, with UDP GSO off (one datagram per sendmmsg
// entry) and on (one entry per run of equal-sized packets). Args: frame bytes, GSO. CPU time
// includes the kernel's loopback delivery, which runs in the sender's system call.
void BM_WhepViewerSend(benchmark::State& state) {
  const auto frameBytes = static_cast<size_t>(state.range(0));
  const bool gso = state.range(1) != 0;
  auto s = outbound(SrtpProfile::kAeadAes128Gcm);
  if (!s) return state.SkipWithError("srtp session");
  const auto shared = framePackets(frameBytes);
  // The reader: drained between timed stretches, so the kernel queues (not drops) every datagram.
  int rx = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t alen = sizeof a;
  int buf = 16 << 20;
  if (::setsockopt(rx, SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof buf) != 0)
    ::setsockopt(rx, SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
  ::bind(rx, reinterpret_cast<sockaddr*>(&a), sizeof a);
  ::getsockname(rx, reinterpret_cast<sockaddr*>(&a), &alen);
  auto to = xl::udpAddress("127.0.0.1", ntohs(a.sin_port));
  xl::Worker worker(0);  // not started: the socket only sends
  auto sock = std::make_unique<xl::UdpSocket>(worker, nullptr);
  if (!to || !sock->bind("127.0.0.1:0")) return state.SkipWithError("sockets");
  sock->setGso(gso);
  std::vector<uint8_t> area(64 * 1600);
  xl::webrtc::PacketBatch batch;
  uint8_t drain[2048];
  uint16_t seq = 0;
  size_t sent = 0, iterations = 0;
  for (auto _ : state) {
    batch.reset(area.data(), area.size());
    for (const auto& p : shared) {
      uint8_t* out = batch.next(p.size());
      std::memcpy(out, p.data(), p.size());
      out[1] = static_cast<uint8_t>((out[1] & 0x80) | 102);
      out[2] = static_cast<uint8_t>(seq >> 8);
      out[3] = static_cast<uint8_t>(seq++);
      std::memset(out + 8, 0x22, 4);
      if (auto n = s->protectRtp(out, p.size())) batch.add(*n);
    }
    sent += sock->sendEach(*to, batch.datagrams());
    if (++iterations % 32 == 0) {
      state.PauseTiming();
      while (::recv(rx, drain, sizeof drain, 0) > 0) {
      }
      state.ResumeTiming();
    }
  }
  if (sent != iterations * shared.size()) state.SkipWithError("datagrams not taken by the kernel");
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(frameBytes));
  state.counters["packets/frame"] = static_cast<double>(shared.size());
  state.counters["msgs/frame"] =
      static_cast<double>(sock->messages()) / static_cast<double>(std::max<size_t>(iterations, 1));
  state.SetLabel(gso ? "GSO" : "sendmmsg");
  sock.reset();
  ::close(rx);
}
BENCHMARK(BM_WhepViewerSend)->ArgsProduct({{10000, 60000}, {0, 1}});

}  // namespace
