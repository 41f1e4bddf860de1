#include "webrtc/dtls.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include <algorithm>
#include <cstring>
#include <mutex>

namespace xl::webrtc {
namespace {

// DTLS records we send stay under this size: IPv6 + UDP headers and TURN-free paths.
constexpr long kMtu = 1200;
// Repeated peer flights answered at once, per association; OpenSSL's timer goes on after that.
constexpr uint64_t kMaxAnsweredResends = 12;
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

// The write side of a transport: every BIO_write is one datagram, handed to the transport.
int bioWrite(BIO* b, const char* data, int len) {
  if (auto* t = static_cast<DtlsTransport*>(BIO_get_data(b)))
    t->onBioWrite(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(data), len));
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

std::string DtlsCounters::metricsText() const {
  struct Row {
    const char* name;
    const char* help;
    const std::atomic<uint64_t>& value;
  };
  const Row rows[] = {
      {"handshakes", "DTLS handshakes completed (SRTP keyed).", handshakes},
      {"timer_resends", "DTLS flights resent when the retransmission timer ran out.", timerResends},
      {"repeated_flights", "Repeats of a peer's DTLS flight that had been answered (ours lost).",
       repeatsIn},
      {"answered_resends", "DTLS flights resent at once for a repeated peer flight.",
       answeredResends},
      {"unsent_datagrams", "DTLS datagrams a full socket did not take.", unsent},
      {"unsent_resends", "DTLS flights resent on the next tick because a datagram was not sent.",
       unsentResends},
      {"slow_handshakes", "Checked peers without SRTP keys 5 s after the offer.", slow},
      {"handshake_timeouts", "DTLS handshakes that gave up after every retransmission.", timeouts},
      {"handshake_failures", "DTLS handshakes that failed (alert, bad record, wrong certificate).",
       failures},
  };
  std::string out;
  for (const Row& r : rows) {
    std::string name = std::string("xueliang_webrtc_dtls_") + r.name + "_total";
    out += "# HELP " + name + " " + r.help + "\n# TYPE " + name + " counter\n" + name + " " +
           std::to_string(r.value.load(std::memory_order_relaxed)) + "\n";
  }
  return out;
}

Result<std::shared_ptr<const DtlsIdentity>> DtlsIdentity::generate(
    bool server, std::shared_ptr<DtlsCounters> counters) {
  auto id = std::make_shared<DtlsIdentity>();
  id->server_ = server;
  id->counters_ = std::move(counters);
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
  BIO_set_data(out, this);
  SSL_set_bio(ssl_.get(), in_, out);
  SSL_set_mtu(ssl_.get(), kMtu);
  DTLS_set_link_mtu(ssl_.get(), kMtu);
  SSL_set_app_data(ssl_.get(), this);
  DTLS_set_timer_cb(ssl_.get(), &DtlsTransport::timerCallback);
  if (identity_->server())
    SSL_set_accept_state(ssl_.get());
  else
    SSL_set_connect_state(ssl_.get());
}

DtlsTransport::~DtlsTransport() = default;

Status DtlsTransport::connect() {
  newFlight_ = true;
  return advance();
}

unsigned DtlsTransport::timerCallback(SSL* ssl, unsigned timerUs) {
  auto* t = static_cast<DtlsTransport*>(SSL_get_app_data(ssl));
  // 0: the timer starts for a new flight. Else it ran out: double it, up to RFC 6347's 60 s.
  if (timerUs == 0) return t ? t->initialTimeoutUs_ : 1000000;
  return std::min(timerUs * 2, 60000000u);
}

void DtlsTransport::setInitialTimeoutMs(unsigned ms) {
  initialTimeoutUs_ = std::max(1u, ms) * 1000;
}

void DtlsTransport::onBioWrite(std::span<const uint8_t> d) {
  ++writes_;
  if (!connected_) {
    // Handshake records: the flight to resend when the peer repeats its own.
    if (newFlight_) {
      flight_.clear();
      answeredSeq_ = nextPeerSeq_ - 1;
    }
    newFlight_ = false;
    flight_.emplace_back(d.begin(), d.end());
  }
  if (send_) send_(d);
}

bool DtlsTransport::resendFlight() {
  if (connected_ || closed_ || flight_.empty()) return false;
  for (const auto& d : flight_)
    if (send_) send_(std::span<const uint8_t>(d));
  return true;
}

int highestHandshakeSeq(std::span<const uint8_t> d) {
  // RFC 6347 §4.1: type(1) version(2) epoch(2) sequence_number(6) length(2), then the fragment;
  // §4.2.2: a handshake fragment starts msg_type(1) length(3) message_seq(2).
  constexpr size_t kRecordHeader = 13;
  int highest = -1;
  size_t at = 0;
  while (d.size() - at >= kRecordHeader) {
    const uint8_t* r = d.data() + at;
    const size_t len = size_t(r[11]) << 8 | r[12];
    if (len > d.size() - at - kRecordHeader) break;
    const bool clear = r[3] == 0 && r[4] == 0;  // epoch 0: not encrypted
    if (r[0] == 22 && clear && len >= 6) highest = std::max(highest, int(r[17]) << 8 | r[18]);
    at += kRecordHeader + len;
  }
  return highest;
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
  const int seq = connected_ ? -1 : highestHandshakeSeq(d);
  // Our flight answered the peer's up to answeredSeq_: a datagram ending on that message again,
  // which moves nothing and gets no answer, is the peer repeating that flight (§4.2.4): ours
  // was lost. After the handshake OpenSSL answers a repeated Finished itself.
  const bool repeat = seq >= 0 && seq == answeredSeq_;
  nextPeerSeq_ = std::max(nextPeerSeq_, seq + 1);
  const uint64_t writesBefore = writes_;
  newFlight_ = true;
  BIO_write(in_, d.data(), static_cast<int>(d.size()));
  Status s = advance();
  // A record that could not be used stays unread; drop it so the next datagram starts clean.
  (void)BIO_reset(in_);
  if (!s) return s;
  if (repeat && !connected_) {
    ++events_.repeatsIn;
    if (writes_ != writesBefore) {
      ++events_.timerResends;  // OpenSSL resent on reading: its timer had run out already
    } else if (events_.answeredResends < kMaxAnsweredResends && resendFlight()) {
      // Bounded: a peer cannot make us send its address our flight without end.
      ++events_.answeredResends;
    }
  }
  if (connected_) flight_.clear();
  return s;
}

Status DtlsTransport::onTimer() {
  if (connected_ || closed_) return Status::ok();
  const uint64_t writesBefore = writes_;
  newFlight_ = true;
  int r = DTLSv1_handle_timeout(ssl_.get());
  if (r < 0) {
    closed_ = true;
    return Status::error(sslError("handshake timed out"));
  }
  if (writes_ != writesBefore) ++events_.timerResends;
  return Status::ok();
}

int64_t DtlsTransport::timeoutMs() const {
  timeval left{};
  if (connected_ || closed_ || DTLSv1_get_timeout(ssl_.get(), &left) != 1) return -1;
  return int64_t(left.tv_sec) * 1000 + (left.tv_usec + 999) / 1000;
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
