// DTLS 1.2 (RFC 6347) with the use_srtp extension (RFC 5764), on OpenSSL. The server's ECDSA
// P-256 certificate is made once at start-up and shared by every session; its SHA-256 fingerprint
// goes into each SDP answer (RFC 8122). A DtlsTransport has no socket: the caller feeds it the
// datagrams that RFC 7983 demultiplexing classified as DTLS, and it hands back the datagrams to
// send, one BIO write per datagram, so a flight is never glued into one oversized packet.
#pragma once

#include <openssl/ssl.h>

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

// A self-signed certificate and the SSL_CTX that serves it. Immutable after creation; SSL_CTX
// is safe to share between threads for SSL_new.
class DtlsIdentity {
 public:
  // `server` picks the role the context is set up for (the client side is used by tests).
  static Result<std::shared_ptr<const DtlsIdentity>> generate(bool server = true);
  // "AB:CD:..." (upper-case hex, colon separated), the a=fingerprint:sha-256 value.
  const std::string& fingerprint() const { return fingerprint_; }
  SSL_CTX* context() const { return ctx_.get(); }
  bool server() const { return server_; }

 private:
  std::unique_ptr<SSL_CTX, SslDeleter> ctx_;
  std::unique_ptr<X509, SslDeleter> cert_;
  std::unique_ptr<EVP_PKEY, SslDeleter> key_;
  std::string fingerprint_;
  bool server_ = true;
};

// SRTP protection profiles (RFC 5764 §4.1.2, RFC 7714 §14.2).
enum class SrtpProfile { kNone, kAes128CmSha1_80, kAeadAes128Gcm };

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
  void onTimer();
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

 private:
  Status advance();

  std::shared_ptr<const DtlsIdentity> identity_;
  SendFn send_;
  std::unique_ptr<SSL, SslDeleter> ssl_;
  BIO* in_ = nullptr;  // owned by ssl_
  bool connected_ = false;
  bool closed_ = false;
  SendFn onData_;
  std::vector<uint8_t> readBuf_;  // a whole record: DTLS drops what does not fit SSL_read
};

}  // namespace xl::webrtc
