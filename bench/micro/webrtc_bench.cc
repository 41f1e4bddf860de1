// WebRTC per-viewer costs: SRTP protection of one 1200-byte RTP packet (AEAD_AES_128_GCM vs
// AES_CM_128_HMAC_SHA1_80, libsrtp2), and the per-viewer send work of a WHEP session for one
// video frame: copy each shared RTP packet into a scratch slot, rewrite payload type, sequence
// number and SSRC, protect (as WhepSession::rewriteRtp does; the sendmmsg itself is not counted).
#include <benchmark/benchmark.h>
#include <openssl/evp.h>

#include <cstring>
#include <vector>

#include "webrtc/srtp.h"

namespace {

using xl::webrtc::SrtpProfile;
using xl::webrtc::SrtpSession;

std::unique_ptr<SrtpSession> outbound(SrtpProfile p) {
  std::vector<uint8_t> key(p == SrtpProfile::kAeadAes128Gcm ? 28 : 30);
  for (size_t i = 0; i < key.size(); ++i) key[i] = static_cast<uint8_t>(i * 7 + 1);
  auto s = SrtpSession::create(p, key, SrtpSession::Direction::kOutbound);
  return s ? std::move(*s) : nullptr;
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
  auto s = outbound(profile);
  if (!s) return state.SkipWithError("srtp session");
  uint8_t pkt[1200 + xl::webrtc::kSrtpMaxTrailer];
  std::memset(pkt, 0x5a, sizeof pkt);
  uint16_t seq = 0;
  for (auto _ : state) {
    rtpHeader(pkt, seq++, 0, false);  // a new index per packet, as a live sender has
    auto n = s->protectRtp(pkt, 1200);
    benchmark::DoNotOptimize(n);
  }
  state.SetBytesProcessed(state.iterations() * 1200);
  state.SetLabel(profile == SrtpProfile::kAeadAes128Gcm ? "AEAD_AES_128_GCM"
                                                        : "AES_CM_128_HMAC_SHA1_80");
}
BENCHMARK(BM_SrtpProtect1200)
    ->Arg(static_cast<int>(SrtpProfile::kAeadAes128Gcm))
    ->Arg(static_cast<int>(SrtpProfile::kAes128CmSha1_80));

// The same AEAD work straight on OpenSSL's EVP AES-128-GCM (12-byte IV, 12-byte header as AAD,
// 16-byte tag), the reference for what libsrtp2 (on Debian: its NSS crypto backend) adds.
void BM_OpenSslGcm1200(benchmark::State& state) {
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  uint8_t key[16] = {1, 2, 3}, iv[12] = {}, pkt[1200 + 16], tag[16];
  std::memset(pkt, 0x5a, sizeof pkt);
  EVP_EncryptInit_ex(ctx, EVP_aes_128_gcm(), nullptr, key, nullptr);
  uint32_t seq = 0;
  for (auto _ : state) {
    std::memcpy(iv + 8, &seq, 4);
    ++seq;
    int n = 0;
    EVP_EncryptInit_ex(ctx, nullptr, nullptr, nullptr, iv);
    EVP_EncryptUpdate(ctx, nullptr, &n, pkt, 12);
    EVP_EncryptUpdate(ctx, pkt + 12, &n, pkt + 12, 1200 - 12);
    EVP_EncryptFinal_ex(ctx, pkt + 1200, &n);
    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, tag);
    benchmark::DoNotOptimize(tag);
  }
  EVP_CIPHER_CTX_free(ctx);
  state.SetBytesProcessed(state.iterations() * 1200);
}
BENCHMARK(BM_OpenSslGcm1200);

// One 10 KB video frame (a 2 Mbit/s stream at 25 fps) as 9 shared RTP packets, sent to one viewer.
void BM_WhepViewerFrame(benchmark::State& state) {
  auto profile = static_cast<SrtpProfile>(state.range(0));
  auto s = outbound(profile);
  if (!s) return state.SkipWithError("srtp session");
  constexpr size_t kFrame = 10000, kPayload = 1188;
  std::vector<std::vector<uint8_t>> shared;
  for (size_t at = 0; at < kFrame; at += kPayload) {
    size_t len = 12 + std::min(kPayload, kFrame - at);
    std::vector<uint8_t> p(len, 0x5a);
    rtpHeader(p.data(), static_cast<uint16_t>(shared.size()), 0, at + kPayload >= kFrame);
    shared.push_back(std::move(p));
  }
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
      auto n = s->protectRtp(out, p.size());
      benchmark::DoNotOptimize(n);
    }
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(kFrame));
  state.counters["packets/frame"] = static_cast<double>(shared.size());
  state.SetLabel(profile == SrtpProfile::kAeadAes128Gcm ? "AEAD_AES_128_GCM"
                                                        : "AES_CM_128_HMAC_SHA1_80");
}
BENCHMARK(BM_WhepViewerFrame)
    ->Arg(static_cast<int>(SrtpProfile::kAeadAes128Gcm))
    ->Arg(static_cast<int>(SrtpProfile::kAes128CmSha1_80));

}  // namespace
