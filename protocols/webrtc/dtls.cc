#include "webrtc/dtls.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include <cstring>
#include <mutex>

namespace xl::webrtc {
namespace {

// DTLS records we send stay under this size: IPv6 + UDP headers and TURN-free paths.
constexpr long kMtu = 1200;
constexpr const char* kSrtpProfiles = "SRTP_AEAD_AES_128_GCM:SRTP_AES128_CM_SHA1_80";

std::string sslError(const char* what) {
  std::string s = std::string("dtls: ") + what;
  unsigned long e;
  char buf[256];
  bool first = true;
  while ((e = ERR_get_error()) != 0) {
    ERR_error_string_n(e, buf, sizeof buf);
    s += first ? ": " : "; ";
    s += buf;
    first = false;
  }
  return s;
}

// The write side of a transport: every BIO_write is one datagram handed to SendFn.
int bioWrite(BIO* b, const char* data, int len) {
  auto* t = static_cast<DtlsTransport::SendFn*>(BIO_get_data(b));
  if (t && *t) (*t)(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(data), len));
  return len;
}

long bioCtrl(BIO*, int cmd, long, void*) {
  switch (cmd) {
    case BIO_CTRL_FLUSH:
      return 1;
    case BIO_CTRL_DGRAM_QUERY_MTU:
    case BIO_CTRL_DGRAM_GET_FALLBACK_MTU:
      return kMtu;
    case BIO_CTRL_WPENDING:
    case BIO_CTRL_PENDING:
      return 0;
    default:
      return 0;
  }
}

int bioCreate(BIO* b) {
  BIO_set_init(b, 1);
  return 1;
}

BIO_METHOD* writeMethod() {
  // Immutable after the first call; OpenSSL BIO_METHODs are shared read-only.
  static BIO_METHOD* m = [] {
    BIO_METHOD* x = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "xl-dtls-out");
    BIO_meth_set_write(x, bioWrite);
    BIO_meth_set_ctrl(x, bioCtrl);
    BIO_meth_set_create(x, bioCreate);
    return x;
  }();
  return m;
}

int acceptAnyCert(int, X509_STORE_CTX*) {
  return 1;  // self-signed by design: the SDP fingerprint authenticates the peer (RFC 8122)
}

}  // namespace

std::string sha256Fingerprint(X509* cert) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (!cert || !X509_digest(cert, EVP_sha256(), md, &n)) return {};
  static const char* hex = "0123456789ABCDEF";
  std::string s;
  for (unsigned i = 0; i < n; ++i) {
    if (i) s += ':';
    s += hex[md[i] >> 4];
    s += hex[md[i] & 15];
  }
  return s;
}

Result<std::shared_ptr<const DtlsIdentity>> DtlsIdentity::generate(bool server) {
  auto id = std::make_shared<DtlsIdentity>();
  id->server_ = server;
  id->key_.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  if (!id->key_) return Status::error(sslError("P-256 key generation failed"));
  id->cert_.reset(X509_new());
  X509* c = id->cert_.get();
  X509_set_version(c, 2);
  uint64_t serial = 0;
  RAND_bytes(reinterpret_cast<unsigned char*>(&serial), sizeof serial);
  ASN1_INTEGER_set_uint64(X509_get_serialNumber(c), serial >> 1);
  X509_gmtime_adj(X509_getm_notBefore(c), -24 * 3600);
  X509_gmtime_adj(X509_getm_notAfter(c), 30L * 24 * 3600);
  X509_NAME* name = X509_get_subject_name(c);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("xueliang"), -1, -1, 0);
  X509_set_issuer_name(c, name);
  X509_set_pubkey(c, id->key_.get());
  if (!X509_sign(c, id->key_.get(), EVP_sha256()))
    return Status::error(sslError("certificate signing failed"));
  id->fingerprint_ = sha256Fingerprint(c);

  id->ctx_.reset(SSL_CTX_new(server ? DTLS_server_method() : DTLS_client_method()));
  SSL_CTX* ctx = id->ctx_.get();
  if (!ctx) return Status::error(sslError("SSL_CTX_new failed"));
  SSL_CTX_set_min_proto_version(ctx, DTLS1_2_VERSION);
  SSL_CTX_set_max_proto_version(ctx, DTLS1_2_VERSION);
  if (SSL_CTX_use_certificate(ctx, c) != 1 || SSL_CTX_use_PrivateKey(ctx, id->key_.get()) != 1)
    return Status::error(sslError("loading the certificate failed"));
  // RFC 5764: SSL_CTX_set_tlsext_use_srtp returns 0 on success.
  if (SSL_CTX_set_tlsext_use_srtp(ctx, kSrtpProfiles) != 0)
    return Status::error(sslError("use_srtp profiles"));
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | (server ? SSL_VERIFY_CLIENT_ONCE : 0), acceptAnyCert);
  SSL_CTX_set_options(ctx, SSL_OP_NO_QUERY_MTU);
  SSL_CTX_set_read_ahead(ctx, 1);
  return std::shared_ptr<const DtlsIdentity>(std::move(id));
}

DtlsTransport::DtlsTransport(std::shared_ptr<const DtlsIdentity> identity, SendFn send)
    : identity_(std::move(identity)), send_(std::move(send)) {
  ssl_.reset(SSL_new(identity_->context()));
  in_ = BIO_new(BIO_s_mem());
  BIO_set_mem_eof_return(in_, -1);  // empty input means "retry", not EOF
  BIO* out = BIO_new(writeMethod());
  BIO_set_data(out, &send_);
  SSL_set_bio(ssl_.get(), in_, out);
  SSL_set_mtu(ssl_.get(), kMtu);
  DTLS_set_link_mtu(ssl_.get(), kMtu);
  if (identity_->server())
    SSL_set_accept_state(ssl_.get());
  else
    SSL_set_connect_state(ssl_.get());
}

DtlsTransport::~DtlsTransport() = default;

Status DtlsTransport::connect() {
  return advance();
}

Status DtlsTransport::advance() {
  if (connected_) {
    // Application data (the data channel's SCTP packets), and alerts such as close_notify.
    if (readBuf_.empty()) readBuf_.resize(1 << 14);
    for (;;) {
      int n = SSL_read(ssl_.get(), readBuf_.data(), static_cast<int>(readBuf_.size()));
      if (n > 0) {
        if (onData_) onData_(std::span<const uint8_t>(readBuf_.data(), size_t(n)));
        continue;
      }
      int err = SSL_get_error(ssl_.get(), n);
      if (err == SSL_ERROR_ZERO_RETURN) {
        closed_ = true;
        return Status::error("dtls: peer closed the association");
      }
      ERR_clear_error();
      return Status::ok();
    }
  }
  int r = SSL_do_handshake(ssl_.get());
  if (r == 1) {
    connected_ = true;
    return advance();  // records after the handshake in the same datagram
  }
  int err = SSL_get_error(ssl_.get(), r);
  if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) return Status::ok();
  closed_ = true;
  return Status::error(sslError("handshake failed"));
}

Status DtlsTransport::feed(std::span<const uint8_t> d) {
  if (closed_) return Status::error("dtls: association is closed");
  if (d.empty() || d.size() > 65535) return Status::error("dtls: bad datagram size");
  BIO_write(in_, d.data(), static_cast<int>(d.size()));
  Status s = advance();
  // A record that could not be used stays unread; drop it so the next datagram starts clean.
  (void)BIO_reset(in_);
  return s;
}

void DtlsTransport::onTimer() {
  if (!connected_ && !closed_) DTLSv1_handle_timeout(ssl_.get());
}

Result<SrtpKeys> DtlsTransport::srtpKeys() const {
  if (!connected_) return Status::error("dtls: handshake not complete");
  SRTP_PROTECTION_PROFILE* p = SSL_get_selected_srtp_profile(ssl_.get());
  if (!p) return Status::error("dtls: peer negotiated no SRTP profile");
  SrtpKeys k;
  size_t keyLen = 16, saltLen = 0;
  if (p->id == SRTP_AEAD_AES_128_GCM) {
    k.profile = SrtpProfile::kAeadAes128Gcm;
    saltLen = 12;
  } else if (p->id == SRTP_AES128_CM_SHA1_80) {
    k.profile = SrtpProfile::kAes128CmSha1_80;
    saltLen = 14;
  } else {
    return Status::error(std::string("dtls: unsupported SRTP profile ") + p->name);
  }
  // RFC 5764 §4.2: client key, server key, client salt, server salt.
  std::vector<uint8_t> m(2 * (keyLen + saltLen));
  static const char kLabel[] = "EXTRACTOR-dtls_srtp";
  if (SSL_export_keying_material(ssl_.get(), m.data(), m.size(), kLabel, sizeof kLabel - 1, nullptr,
                                 0, 0) != 1)
    return Status::error(sslError("keying material export failed"));
  auto piece = [&](size_t keyAt, size_t saltAt) {
    std::vector<uint8_t> v(m.begin() + keyAt, m.begin() + keyAt + keyLen);
    v.insert(v.end(), m.begin() + saltAt, m.begin() + saltAt + saltLen);
    return v;
  };
  auto client = piece(0, 2 * keyLen);
  auto server = piece(keyLen, 2 * keyLen + saltLen);
  k.local = identity_->server() ? server : client;
  k.remote = identity_->server() ? client : server;
  return k;
}

Status DtlsTransport::write(std::span<const uint8_t> data) {
  if (!connected_ || closed_) return Status::error("dtls: not connected");
  if (data.empty()) return Status::ok();
  int n = SSL_write(ssl_.get(), data.data(), static_cast<int>(data.size()));
  if (n <= 0) return Status::error(sslError("write failed"));
  return Status::ok();
}

std::string DtlsTransport::peerFingerprint() const {
  X509* c = SSL_get1_peer_certificate(ssl_.get());
  std::string f = sha256Fingerprint(c);
  X509_free(c);
  return f;
}

}  // namespace xl::webrtc
