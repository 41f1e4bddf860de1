// HTTP request parser fed in pieces whose sizes come from the input, plus the URL helpers on
// whatever parses. Invariant: feed() never reports more bytes than it was given.
#include "http/request_parser.h"
#include "http/response.h"
#include "http/url.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  size_t step = data[0] % 64 + 1;
  const char* p = reinterpret_cast<const char*>(data + 1);
  size_t n = size - 1;
  xl::http::ParserLimits limits;
  limits.maxBody = 4096;
  xl::http::RequestParser parser(limits);
  while (n > 0) {
    size_t piece = step < n ? step : n;
    xl::Result<size_t> used = parser.feed(p, piece);
    if (!used) {
      int code = parser.errorStatus();
      if (code != 400 && code != 413 && code != 414 && code != 431 && code != 501 && code != 505)
        __builtin_trap();
      return 0;
    }
    if (*used > piece) __builtin_trap();
    if (parser.done()) {
      xl::http::Request r = parser.take();
      xl::http::parseStreamPath(r.path);
      xl::http::parseQuery(r.query);
      xl::http::preflightResponse({}, r);
    } else if (*used < piece) {
      __builtin_trap();  // an unfinished request must consume everything offered
    }
    p += *used;
    n -= *used;
  }
  return 0;
}
