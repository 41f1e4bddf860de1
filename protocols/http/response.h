// HTTP/1.1 response heads, CORS and chunked framing (RFC 9112 4, 7.1; RFC 9110 15).
// Bodies are not copied here: the connection sends the head, then the body buffers (writev).
#pragma once

#include <ctime>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "http/request_parser.h"
#include "xueliang/buffer.h"

namespace xl::http {

// Reason phrase for common codes ("OK", "Not Found", ...); "Unknown" otherwise.
std::string_view statusText(int status);

// Builds "HTTP/1.1 <code> <reason>\r\n" + header lines + "\r\n".
class ResponseHead {
 public:
  explicit ResponseHead(int status, std::string_view reason = {});

  // Names that are not tokens are dropped; CR, LF and other controls in values become spaces,
  // so echoed request data cannot split the response.
  ResponseHead& header(std::string_view name, std::string_view value);
  ResponseHead& contentType(std::string_view type) { return header("Content-Type", type); }
  ResponseHead& contentLength(size_t n);
  ResponseHead& chunked() { return header("Transfer-Encoding", "chunked"); }
  // Date in IMF-fixdate form (RFC 9110 5.6.7).
  ResponseHead& date(std::time_t now);
  // "Connection: close" when not keeping alive; "keep-alive" for HTTP/1.0 clients that asked.
  ResponseHead& connection(const Request& req);

  int status() const { return status_; }
  std::string str() const { return head_ + "\r\n"; }
  void writeTo(BufferWriter& w) const;

 private:
  int status_;
  std::string head_;  // status line and header lines, without the final CRLF
};

// Cross-origin access for browser players and WHIP/WHEP clients (Fetch standard CORS).
struct CorsPolicy {
  // Allowed origins: {"*"} for any; empty disables CORS headers entirely.
  std::vector<std::string> allowOrigins = {"*"};
  std::string allowMethods = "GET, POST, PATCH, DELETE, OPTIONS";
  std::string allowHeaders = "Content-Type, Authorization, If-Match";
  // WHIP/WHEP clients read Location, Link and ETag (RFC 9725 4.2, 4.3).
  std::string exposeHeaders = "Location, Link, ETag";
  int maxAgeSeconds = 86400;
};

// Adds Access-Control-Allow-Origin (and Vary: Origin when echoing a specific origin) if the
// request's Origin is allowed.
void addCors(ResponseHead& head, const CorsPolicy& policy, const Request& req);
bool isPreflight(const Request& req);  // OPTIONS with Access-Control-Request-Method
// Complete 204 answer to an OPTIONS / preflight request.
std::string preflightResponse(const CorsPolicy& policy, const Request& req);

// A complete response with a small body (errors, JSON, playlists).
std::string simpleResponse(int status, const Request& req, std::string_view contentType,
                           std::string_view body);

// Chunked framing, RFC 9112 7.1. An empty chunk would end the body, so empty data writes
// nothing.
std::string chunkHeader(size_t size);  // "%x\r\n": send header, payload, kChunkEnd (writev)
inline constexpr std::string_view kChunkEnd = "\r\n";
inline constexpr std::string_view kLastChunk = "0\r\n\r\n";
void appendChunk(std::string& out, std::string_view data);
void appendChunk(BufferWriter& w, std::span<const uint8_t> data);

}  // namespace xl::http
