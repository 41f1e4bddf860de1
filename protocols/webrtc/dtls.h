// DTLS 1.2 (RFC 6347) with the use_srtp extension (RFC 5764), on OpenSSL. The server's ECDSA
// P-256 certificate is made once at start-up and shared by every session; its SHA-256 fingerprint
// goes into each SDP answer (RFC 8122). A DtlsTransport has no socket: the caller feeds it the
// datagrams that RFC 7983 demultiplexing classified as DTLS, and it hands back the datagrams to
// send, one BIO write per datagram, so a flight is never glued into one oversized packet.
//
// Lost flights (RFC 6347 §4.2.4): OpenSSL resends the last flight when its timer runs out
// (onTimer(), which the owner calls periodically). It drops a repeat of the peer's previous
// flight as stale, but a repeat means the peer never got our answer (a full socket buffer, a
// loaded path), so the transport keeps a copy of its last flight's datagrams and resends it at
// once, as browsers' stacks do. Byte-identical copies are safe: the peer's replay window drops
// the ones it already has (§4.1.2.6).
#pragma once

#include <openssl/ssl.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "xueliang/status.h"

namespace xl::webrtc {

struct SslDeleter {
  void operator()(SSL_CTX* p) const { SSL_CTX_free(p); }
  void operator()(SSL* p) const { SSL_free(p); }
  void operator()(X509* p) const { X509_free(p); }
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
  void operator()(BIO_METHOD* p) const { BIO_meth_free(p); }
};

// Handshake totals of every association made with one identity (the server's, for /metrics).
// Bumped on handshake events only, never per media packet.
struct DtlsCounters {
  std::atomic<uint64_t> handshakes{0};       // completed (SRTP keyed)
  std::atomic<uint64_t> timerResends{0};     // flights resent when the timer ran out
  std::atomic<uint64_t> repeatsIn{0};        // the peer repeated a flight we had answered
  std::atomic<uint64_t> answeredResends{0};  // our flight resent at once for such a repeat
  std::atomic<uint64_t> unsent{0};           // datagrams a full socket did not take
  std::atomic<uint64_t> unsentResends{0};    // flights resent on the next tick for that
  std::atomic<uint64_t> slow{0};      // checked, but no keys kSlowHandshakeMs after the offer
  std::atomic<uint64_t> timeouts{0};  // handshakes that gave up (no answer to any resend)
  std::atomic<uint64_t> failures{0};  // handshakes that failed otherwise (alerts, bad records)
  // Prometheus text of the counters above.
  std::string metricsText() const;
};

// A self-signed certificate and the SSL_CTX that serves it. Immutable after creation; SSL_CTX
// is safe to share between threads for SSL_new.
class DtlsIdentity {
 public:
  // `server` picks the role the context is set up for (the client side is used by tests).
  // `counters` (optional) receives the totals of every association using the identity.
  static Result<std::shared_ptr<const DtlsIdentity>> generate(
      bool server = true, std::shared_ptr<DtlsCounters> counters = nullptr);
  // "AB:CD:..." (upper-case hex, colon separated), the a=fingerprint:sha-256 value.
  const std::string& fingerprint() const { return fingerprint_; }
  SSL_CTX* context() const { return ctx_.get(); }
  bool server() const { return server_; }
  DtlsCounters* counters() const { return counters_.get(); }  // null: not counted

 private:
  std::unique_ptr<SSL_CTX, SslDeleter> ctx_;
  std::unique_ptr<X509, SslDeleter> cert_;
  std::unique_ptr<EVP_PKEY, SslDeleter> key_;
  std::string fingerprint_;
  bool server_ = true;
  std::shared_ptr<DtlsCounters> counters_;
};

// SRTP protection profiles (RFC 5764 §4.1.2, RFC 7714 §14.2).
enum class SrtpProfile { kNone, kAes128CmSha1_80, kAeadAes128Gcm };

// What a transport did about lost flights (for logs and /metrics).
struct DtlsEvents {
  uint64_t timerResends = 0;     // flights OpenSSL resent when its timer ran out
  uint64_t repeatsIn = 0;        // repeats of the peer's previous flight received
  uint64_t answeredResends = 0;  // our last flight resent at once for such a repeat
};

struct SrtpKeys {
  SrtpProfile profile = SrtpProfile::kNone;
  std::vector<uint8_t> local;   // master key then master salt, for what we send
  std::vector<uint8_t> remote;  // for what the peer sends
};

std::string sha256Fingerprint(X509* cert);

class DtlsTransport {
 public:
  using SendFn = std::function<void(std::span<const uint8_t>)>;

  DtlsTransport(std::shared_ptr<const DtlsIdentity> identity, SendFn send);
  ~DtlsTransport();
  DtlsTransport(const DtlsTransport&) = delete;
  DtlsTransport& operator=(const DtlsTransport&) = delete;

  // Client side only: sends the ClientHello.
  Status connect();
  // One received DTLS datagram. Fails once the handshake fails (alert, bad record, etc.).
  Status feed(std::span<const uint8_t> datagram);
  // Retransmits the last flight when its timer ran out (RFC 6347 §4.2.4); call periodically.
  // An error once the handshake gave up (the peer stayed silent through every retransmission).
  Status onTimer();
  // Milliseconds until onTimer() has a retransmission to make; -1 while no timer runs.
  int64_t timeoutMs() const;
  // The first retransmission timeout (RFC 6347 §4.2.4.1 suggests 1 s; tests use less). It
  // doubles with every retransmission, as OpenSSL's default does.
  void setInitialTimeoutMs(unsigned ms);
  const DtlsEvents& events() const { return events_; }
  // During the handshake: sends our last flight again (a datagram of it was not sent); false
  // when there is none.
  bool resendFlight();
  bool connected() const { return connected_; }
  bool closed() const { return closed_; }
  // After connected(): the negotiated profile and keys (RFC 5764 §4.2).
  Result<SrtpKeys> srtpKeys() const;
  // SHA-256 fingerprint of the peer's certificate, to check against its SDP; empty if none.
  std::string peerFingerprint() const;
  // Application data (SCTP packets of the data channel, RFC 8261): received records go to the
  // handler (without one they are read and dropped); write() sends one record.
  void setDataHandler(SendFn onData) { onData_ = std::move(onData); }
  Status write(std::span<const uint8_t> data);
  // The write BIO's callback: one datagram to send.
  void onBioWrite(std::span<const uint8_t> datagram);

 private:
  Status advance();
  static unsigned timerCallback(SSL* ssl, unsigned timerUs);

  std::shared_ptr<const DtlsIdentity> identity_;
  SendFn send_;
  std::unique_ptr<SSL, SslDeleter> ssl_;
  BIO* in_ = nullptr;  // owned by ssl_
  bool connected_ = false;
  bool closed_ = false;
  SendFn onData_;
  std::vector<uint8_t> readBuf_;  // a whole record: DTLS drops what does not fit SSL_read
  // The datagrams of our last handshake flight; the next write after newFlight_ starts a new one.
  std::vector<std::vector<uint8_t>> flight_;
  bool newFlight_ = true;
  uint64_t writes_ = 0;
  int nextPeerSeq_ = 0;   // one past the highest handshake message_seq the peer sent in clear
  int answeredSeq_ = -1;  // the peer's last message_seq when our last flight began
  unsigned initialTimeoutUs_ = 1000000;
  DtlsEvents events_;
};

// The highest message_seq of the plaintext (epoch 0) handshake records in a datagram, -1 if it
// has none (RFC 6347 §4.1, §4.2.2). Malformed records end the scan.
int highestHandshakeSeq(std::span<const uint8_t> datagram);

}  // namespace xl::webrtc
