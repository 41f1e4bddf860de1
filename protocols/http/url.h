// Request-target helpers: percent-decoding (RFC 3986 2.1), query strings
// (application/x-www-form-urlencoded) and {app}/{stream} path splitting.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "xueliang/status.h"

namespace xl::http {

// Decodes %XX escapes (and '+' as space when asked, for query strings). Malformed escapes and
// a decoded NUL are errors.
Result<std::string> percentDecode(std::string_view s, bool plusAsSpace = false);
// Escapes everything but RFC 3986 unreserved characters (and '/' when keepSlash).
std::string percentEncode(std::string_view s, bool keepSlash = false);

// Splits an encoded origin-form path into decoded segments. Fails unless it starts with '/', or
// when a segment is "." or "..", or decodes to a '/' or NUL (so names cannot escape their
// directory or hide separators). Empty segments ("//") are dropped.
Result<std::vector<std::string>> decodePathSegments(std::string_view rawPath);
// The same segments joined with '/', with a leading '/'.
Result<std::string> decodePath(std::string_view rawPath);

struct QueryParam {
  std::string key;
  std::string value;
};
// "token=abc&x=1&flag" -> {token: abc}, {x: 1}, {flag: ""}; empty pairs are skipped.
Result<std::vector<QueryParam>> parseQuery(std::string_view query);
// First value for key, or empty.
std::string_view queryValue(const std::vector<QueryParam>& params, std::string_view key);
bool hasQueryKey(const std::vector<QueryParam>& params, std::string_view key);

// "/{app}/{stream}[.ext]" as used by HTTP-FLV (".flv"); also accepts "/{app}/{stream}" with no
// extension. The extension is split at the last '.' of the stream segment; names starting
// with '.' are rejected.
struct StreamPath {
  std::string app;
  std::string stream;
  std::string extension;                                   // without the dot; empty if none
  std::string name() const { return app + "/" + stream; }  // stream registry key
};
Result<StreamPath> parseStreamPath(std::string_view rawPath);

}  // namespace xl::http
