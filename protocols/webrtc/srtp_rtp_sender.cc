// SHA1_Init/Update/Final are deprecated in OpenSSL 3.0 but kept (see HmacSha1 for why).
#define OPENSSL_SUPPRESS_DEPRECATED
#include "webrtc/srtp_rtp_sender.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/sha.h>

#include <cstring>
#include <string>

#include "rtp/rtp_packet.h"

namespace xl::webrtc {
namespace {

constexpr size_t kMasterKey = 16, kGcmTag = 16, kHmacTag = 10, kAuthKey = 20;
constexpr uint8_t kLabelCipher = 0x00, kLabelAuth = 0x01, kLabelSalt = 0x02;  // RFC 3711 §4.3.2
constexpr uint64_t kSeqMedian = 1 << 15;

// RFC 3711 §4.3.1 and §4.3.3 with a key derivation rate of 0: the AES-CM PRF keyed with the
// master key, IV = (master salt XOR label << 48) || 0x0000. GCM's 12-byte master salt is padded
// with zeros to the 14 bytes of that PRF (RFC 7714 §11, as libsrtp2 does).
bool deriveKey(const uint8_t* masterKey, std::span<const uint8_t> masterSalt, uint8_t label,
               uint8_t* out, size_t outLen) {
  uint8_t iv[16] = {};
  std::memcpy(iv, masterSalt.data(), masterSalt.size());
  iv[7] ^= label;
  std::memset(out, 0, outLen);
  EVP_CIPHER_CTX* c = EVP_CIPHER_CTX_new();
  int n = 0;
  bool ok = c && EVP_EncryptInit_ex(c, EVP_aes_128_ctr(), nullptr, masterKey, iv) == 1 &&
            EVP_EncryptUpdate(c, out, &n, out, static_cast<int>(outLen)) == 1;
  EVP_CIPHER_CTX_free(c);
  return ok;
}

Status failed(const char* what) {
  return Status::error(std::string("srtp: ") + what);
}

// RTP header length with CSRCs and the extension (RFC 3550 §5.1, §5.3.1), as libsrtp2 checks it.
Result<size_t> headerLength(const uint8_t* p, size_t len) {
  if (len < rtp::kRtpHeaderSize) return failed("packet shorter than an RTP header");
  if (len > 0xffff) return failed("packet longer than a UDP datagram");
  if ((p[0] >> 6) != 2) return failed("not RTP version 2");
  size_t h = rtp::kRtpHeaderSize + 4 * size_t(p[0] & 0x0f);
  if (p[0] & 0x10) {
    if (len < h + 4) return failed("RTP header extension past the packet end");
    h += 4 + 4 * size_t(rtp::be16(p + h + 2));
  }
  if (len < h) return failed("RTP header past the packet end");
  return h;
}

}  // namespace

// HMAC-SHA1 (RFC 2104) from the SHA-1 states after the key's inner and outer pad, computed once.
// OpenSSL 3.0's EVP digests and MACs free and allocate their provider context on every
// (re)initialisation, two allocations per packet; SHA_CTX copies allocate nothing and run the
// same SHA-NI block code, about a third faster.
struct SrtpRtpSender::HmacSha1 {
  SHA_CTX inner, outer;
  explicit HmacSha1(const uint8_t (&key)[kAuthKey]) {
    uint8_t ipad[SHA_CBLOCK], opad[SHA_CBLOCK];
    for (size_t i = 0; i < SHA_CBLOCK; ++i) {
      const uint8_t k = i < kAuthKey ? key[i] : 0;
      ipad[i] = k ^ 0x36;
      opad[i] = k ^ 0x5c;
    }
    SHA1_Init(&inner);
    SHA1_Update(&inner, ipad, sizeof ipad);
    SHA1_Init(&outer);
    SHA1_Update(&outer, opad, sizeof opad);
    OPENSSL_cleanse(ipad, sizeof ipad);
    OPENSSL_cleanse(opad, sizeof opad);
  }
  ~HmacSha1() {
    OPENSSL_cleanse(&inner, sizeof inner);
    OPENSSL_cleanse(&outer, sizeof outer);
  }
  // The MAC of `a` then `b` (the packet, then its ROC).
  void mac(const uint8_t* a, size_t aLen, const uint8_t* b, size_t bLen,
           uint8_t (&out)[SHA_DIGEST_LENGTH]) const {
    SHA_CTX c = inner;
    SHA1_Update(&c, a, aLen);
    SHA1_Update(&c, b, bLen);
    SHA1_Final(out, &c);
    c = outer;
    SHA1_Update(&c, out, SHA_DIGEST_LENGTH);
    SHA1_Final(out, &c);
  }
};

void SrtpRtpSender::Free::operator()(evp_cipher_ctx_st* c) const {
  EVP_CIPHER_CTX_free(c);
}

SrtpRtpSender::~SrtpRtpSender() = default;

Result<std::unique_ptr<SrtpRtpSender>> SrtpRtpSender::create(SrtpProfile profile,
                                                             std::span<const uint8_t> keyAndSalt) {
  if (profile == SrtpProfile::kNone) return failed("no protection profile");
  const bool gcm = profile == SrtpProfile::kAeadAes128Gcm;
  const size_t saltLen = gcm ? 12 : 14;
  if (keyAndSalt.size() != kMasterKey + saltLen)
    return Status::error("srtp: key and salt are " + std::to_string(keyAndSalt.size()) +
                         " bytes, the profile needs " + std::to_string(kMasterKey + saltLen));
  std::unique_ptr<SrtpRtpSender> s(new SrtpRtpSender());
  s->gcm_ = gcm;
  const uint8_t* master = keyAndSalt.data();
  auto masterSalt = keyAndSalt.subspan(kMasterKey);
  uint8_t key[kMasterKey] = {}, auth[kAuthKey] = {};
  const bool derived = deriveKey(master, masterSalt, kLabelCipher, key, sizeof key) &&
                       deriveKey(master, masterSalt, kLabelSalt, s->salt_, saltLen) &&
                       (gcm || deriveKey(master, masterSalt, kLabelAuth, auth, sizeof auth));
  // Fetched once here, not implicitly by name at every initialisation; the context keeps its
  // own reference.
  EVP_CIPHER* cipher = EVP_CIPHER_fetch(nullptr, gcm ? "AES-128-GCM" : "AES-128-CTR", nullptr);
  s->cipher_.reset(EVP_CIPHER_CTX_new());
  const bool keyed = derived && cipher && s->cipher_ &&
                     EVP_CipherInit_ex2(s->cipher_.get(), cipher, key, nullptr, 1, nullptr) == 1;
  EVP_CIPHER_free(cipher);
  if (keyed && !gcm) s->hmac_ = std::make_unique<HmacSha1>(auth);
  OPENSSL_cleanse(key, sizeof key);
  OPENSSL_cleanse(auth, sizeof auth);
  if (!derived) return failed("key derivation failed");
  if (!keyed) return failed("cannot set up the AES context");
  return s;
}

// The sender's index estimate of RFC 3711 §3.3.1 / Appendix A against the highest index sent on
// this SSRC, exactly as libsrtp2's rdbx does it (ROC 0 until the index passes 2^15), so a
// sequence number wrap bumps the ROC and a retransmitted old packet keeps its original index.
Result<uint64_t> SrtpRtpSender::packetIndex(uint32_t ssrc, uint16_t seq) {
  Ssrc* e = nullptr;
  for (size_t i = 0; i < nSsrcs_ && !e; ++i)
    if (ssrcs_[i].ssrc == ssrc) e = &ssrcs_[i];
  if (!e) {
    if (nSsrcs_ == kMaxSsrcs) return failed("too many SSRCs in one session");
    e = &ssrcs_[nSsrcs_++];
    *e = Ssrc{ssrc, 0};
  }
  uint64_t guess = seq;
  if (e->index > kSeqMedian) {
    uint32_t roc = static_cast<uint32_t>(e->index >> 16);
    const int local = static_cast<int>(e->index & 0xffff);
    if (local < int(kSeqMedian)) {
      if (seq - local > int(kSeqMedian)) --roc;  // a late packet from before the wrap
    } else if (local - int(kSeqMedian) > seq) {
      ++roc;  // the sequence number wrapped
    }
    guess = uint64_t(roc) << 16 | seq;
  }
  if (guess > e->index) e->index = guess;
  return guess;
}

Result<size_t> SrtpRtpSender::protect(const uint8_t* src, size_t len, uint8_t* dst,
                                      const RtpRewrite* rewrite) {
  Result<size_t> hl = headerLength(src, len);
  if (!hl) return hl;
  const size_t h = *hl;
  // The header goes first, so that the IV and the authenticated data are the rewritten ones.
  if (dst != src) std::memcpy(dst, src, h);
  if (rewrite) {
    dst[1] = static_cast<uint8_t>((dst[1] & 0x80) | rewrite->payloadType);
    rtp::putBe16(dst + 2, rewrite->seq);
    rtp::putBe32(dst + 8, rewrite->ssrc);
  }
  Result<uint64_t> index = packetIndex(rtp::be32(dst + 8), rtp::be16(dst + 2));
  if (!index) return index.status();
  const uint32_t roc = static_cast<uint32_t>(*index >> 16);
  EVP_CIPHER_CTX* c = cipher_.get();
  const int payload = static_cast<int>(len - h);
  int n = 0;
  if (gcm_) {
    // RFC 7714 §8.1: IV = (0x0000 || SSRC || ROC || SEQ) XOR salt; AAD = the header (§8.2).
    uint8_t iv[12] = {0, 0};
    std::memcpy(iv + 2, dst + 8, 4);
    rtp::putBe32(iv + 6, roc);
    std::memcpy(iv + 10, dst + 2, 2);
    for (size_t i = 0; i < sizeof iv; ++i) iv[i] ^= salt_[i];
    // The tag through a parameter array of our own: EVP_CIPHER_CTX_ctrl(GET_TAG) builds one
    // per call behind its generic ctrl dispatch.
    OSSL_PARAM tag[2] = {
        OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, dst + len, kGcmTag),
        OSSL_PARAM_construct_end()};
    if (EVP_CipherInit_ex2(c, nullptr, nullptr, iv, 1, nullptr) != 1 ||
        EVP_EncryptUpdate(c, nullptr, &n, dst, static_cast<int>(h)) != 1 ||
        EVP_EncryptUpdate(c, dst + h, &n, src + h, payload) != 1 ||
        EVP_EncryptFinal_ex(c, dst + len, &n) != 1 || EVP_CIPHER_CTX_get_params(c, tag) != 1)
      return failed("AES-GCM encryption failed");
    return len + kGcmTag;
  }
  // RFC 3711 §4.1.1: IV = (salt << 16) XOR (SSRC << 64) XOR (index << 16).
  uint8_t iv[16] = {};
  std::memcpy(iv, salt_, 14);
  for (int i = 0; i < 4; ++i) iv[4 + i] ^= dst[8 + i];
  for (int i = 0; i < 6; ++i) iv[8 + i] ^= static_cast<uint8_t>(*index >> (40 - 8 * i));
  if (EVP_CipherInit_ex2(c, nullptr, nullptr, iv, 1, nullptr) != 1 ||
      EVP_EncryptUpdate(c, dst + h, &n, src + h, payload) != 1)
    return failed("AES-CM encryption failed");
  // RFC 3711 §4.2: HMAC-SHA1 over the header, the encrypted payload and the ROC, 80 bits kept.
  uint8_t rocBytes[4], tag[SHA_DIGEST_LENGTH];
  rtp::putBe32(rocBytes, roc);
  hmac_->mac(dst, len, rocBytes, sizeof rocBytes, tag);
  std::memcpy(dst + len, tag, kHmacTag);
  return len + kHmacTag;
}

}  // namespace xl::webrtc
