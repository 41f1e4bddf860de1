// Arbitrary bytes as Authorization (server side) and WWW-Authenticate (client side) header
// values: parsing must fail cleanly, and whatever parses must survive the digest computations.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "rtsp/rtsp_auth.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace xl::rtsp;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  if (auto a = parseAuthorization(text)) {
    if (a->scheme == Authorization::Scheme::kDigest) {
      (void)digestMatches(*a, "password", "DESCRIBE");
    } else if (a->user.find(':') != std::string::npos) {
      __builtin_trap();  // Basic user names end at the first ':' (RFC 7617 §2)
    }
  }
  // Client side: one challenge per line.
  std::vector<std::string> values;
  size_t start = 0;
  while (start <= text.size() && values.size() < 8) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    values.emplace_back(text.substr(start, end - start));
    start = end + 1;
  }
  if (auto ch = parseChallenge(values)) {
    std::string header = authorizationFor(*ch, "user", "pw", "SETUP", "rtsp://h/a/b");
    auto back = parseAuthorization(header);
    // What our client writes, our server must read (realms and nonces with quotes included).
    if (!back && ch->scheme == Challenge::Scheme::kDigest && !ch->realm.empty()) __builtin_trap();
    if (back && back->scheme == Authorization::Scheme::kDigest &&
        !digestMatches(*back, "pw", "SETUP"))
      __builtin_trap();
  }
  return 0;
}
