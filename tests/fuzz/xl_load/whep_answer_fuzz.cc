// Arbitrary text as a WHEP answer: parsing either fails with a reason or yields ICE credentials,
// a sha-256 fingerprint, an IPv4 or IPv6 UDP candidate and a payload type in 0..127.
#include <arpa/inet.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "whep_sdp.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace xlload;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  WhepAnswer a;
  std::string err = parseWhepAnswer(text, "127.0.0.1", a);
  if (!err.empty()) return 0;
  if (a.ufrag.empty() || a.pwd.empty() || a.fingerprint.empty()) abort();
  const auto& c = a.candidate;
  const bool v4 = c.ss_family == AF_INET && a.candidateLen == sizeof(sockaddr_in) &&
                  reinterpret_cast<const sockaddr_in&>(c).sin_port != 0;
  const bool v6 = c.ss_family == AF_INET6 && a.candidateLen == sizeof(sockaddr_in6) &&
                  reinterpret_cast<const sockaddr_in6&>(c).sin6_port != 0;
  if (!v4 && !v6) abort();
  if (a.videoPt < 0 && a.audioPt < 0) abort();
  if (a.videoPt > 127 || a.audioPt > 127) abort();
  return 0;
}
