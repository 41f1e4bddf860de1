// Arbitrary datagrams into the STUN parser and MESSAGE-INTEGRITY check; a message that parses is
// answered as the media port would, and the answer must parse and verify again.
#include <netinet/in.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "webrtc/stun.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace xl::webrtc;
  ByteSpan in(data, size);
  (void)looksLikeStun(in);
  auto m = parseStun(in);
  if (!m) return 0;
  (void)verifyIntegrity(in, *m, "VOkJxbRl1RmTxUk/WvJxBt");
  sockaddr_in from{};
  from.sin_family = AF_INET;
  from.sin_port = htons(5000);
  auto reply = bindingSuccess(m->transactionId, reinterpret_cast<sockaddr*>(&from), "pw");
  auto r = parseStun(reply);
  if (!r || !verifyIntegrity(reply, *r, "pw") || r->transactionId != m->transactionId) abort();
  return 0;
}
