// HTTP/1.1 response heads and chunked framing, RFC 9112 4 (status line), 7.1 (chunked).
#include "http/response.h"

#include <cstdio>

namespace xl::http {
namespace {

bool isTokenChar(unsigned char c) {
  if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
}

bool originAllowed(const CorsPolicy& p, std::string_view origin, bool& wildcard) {
  wildcard = false;
  for (const auto& o : p.allowOrigins) {
    if (o == "*") {
      wildcard = true;
      return true;
    }
    if (!origin.empty() && o == origin) return true;
  }
  return false;
}

}  // namespace

std::string_view statusText(int status) {
  switch (status) {
    case 100:
      return "Continue";
    case 101:
      return "Switching Protocols";
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 202:
      return "Accepted";
    case 204:
      return "No Content";
    case 206:
      return "Partial Content";
    case 301:
      return "Moved Permanently";
    case 302:
      return "Found";
    case 304:
      return "Not Modified";
    case 307:
      return "Temporary Redirect";
    case 308:
      return "Permanent Redirect";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 406:
      return "Not Acceptable";
    case 408:
      return "Request Timeout";
    case 409:
      return "Conflict";
    case 411:
      return "Length Required";
    case 412:
      return "Precondition Failed";
    case 413:
      return "Content Too Large";
    case 414:
      return "URI Too Long";
    case 415:
      return "Unsupported Media Type";
    case 416:
      return "Range Not Satisfiable";
    case 417:
      return "Expectation Failed";
    case 422:
      return "Unprocessable Content";
    case 428:
      return "Precondition Required";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return "Unknown";
  }
}

ResponseHead::ResponseHead(int status, std::string_view reason) : status_(status) {
  if (status < 100 || status > 999) status_ = 500;  // status-code = 3DIGIT (RFC 9112 4)
  head_ = "HTTP/1.1 " + std::to_string(status_) + " ";
  std::string_view text = reason.empty() ? statusText(status_) : reason;
  for (unsigned char c : text) head_.push_back(c < 0x20 || c == 0x7f ? ' ' : static_cast<char>(c));
  head_ += "\r\n";
}

ResponseHead& ResponseHead::header(std::string_view name, std::string_view value) {
  if (name.empty()) return *this;
  for (unsigned char c : name)
    if (!isTokenChar(c)) return *this;
  head_.append(name);
  head_ += ": ";
  for (unsigned char c : value)
    head_.push_back((c < 0x20 && c != '\t') || c == 0x7f ? ' ' : static_cast<char>(c));
  head_ += "\r\n";
  return *this;
}

ResponseHead& ResponseHead::contentLength(size_t n) {
  return header("Content-Length", std::to_string(n));
}

ResponseHead& ResponseHead::date(std::time_t now) {
  static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[40];
  std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d GMT", kDays[tm.tm_wday % 7],
                tm.tm_mday, kMonths[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
                tm.tm_sec);
  return header("Date", buf);
}

ResponseHead& ResponseHead::connection(const Request& req) {
  if (!req.keepAlive) return header("Connection", "close");
  if (req.versionMinor == 0) return header("Connection", "keep-alive");
  return *this;
}

void ResponseHead::writeTo(BufferWriter& w) const {
  w.append(head_);
  w.append(std::string_view("\r\n"));
}

void addCors(ResponseHead& head, const CorsPolicy& policy, const Request& req) {
  std::string_view origin = req.header("Origin");
  bool wildcard = false;
  if (!originAllowed(policy, origin, wildcard)) return;
  if (wildcard) {
    head.header("Access-Control-Allow-Origin", "*");
  } else {
    head.header("Access-Control-Allow-Origin", origin);
    head.header("Vary", "Origin");  // caches must not reuse this answer for other origins
  }
  if (!policy.exposeHeaders.empty())
    head.header("Access-Control-Expose-Headers", policy.exposeHeaders);
}

bool isPreflight(const Request& req) {
  return req.method == "OPTIONS" && req.hasHeader("Access-Control-Request-Method");
}

std::string preflightResponse(const CorsPolicy& policy, const Request& req) {
  ResponseHead head(204);
  addCors(head, policy, req);
  bool wildcard = false;
  if (isPreflight(req) && originAllowed(policy, req.header("Origin"), wildcard)) {
    head.header("Access-Control-Allow-Methods", policy.allowMethods);
    head.header("Access-Control-Allow-Headers", policy.allowHeaders);
    head.header("Access-Control-Max-Age", std::to_string(policy.maxAgeSeconds));
  }
  head.header("Allow", policy.allowMethods);
  head.connection(req);
  return head.str();  // 204 carries no Content-Length (RFC 9110 8.6)
}

std::string simpleResponse(int status, const Request& req, std::string_view contentType,
                           std::string_view body) {
  ResponseHead head(status);
  // RFC 9110 8.6: no Content-Length (and no body) on 1xx and 204.
  bool noBody = status < 200 || status == 204;
  if (noBody) body = {};
  if (!body.empty()) head.contentType(contentType);
  if (!noBody) head.contentLength(body.size());
  head.connection(req);
  std::string out = head.str();
  if (req.method != "HEAD") out.append(body);
  return out;
}

std::string chunkHeader(size_t size) {
  char buf[24];
  int n = std::snprintf(buf, sizeof buf, "%zx\r\n", size);
  return std::string(buf, static_cast<size_t>(n));
}

void appendChunk(std::string& out, std::string_view data) {
  if (data.empty()) return;
  out += chunkHeader(data.size());
  out.append(data);
  out.append(kChunkEnd);
}

void appendChunk(BufferWriter& w, std::span<const uint8_t> data) {
  if (data.empty()) return;
  w.append(chunkHeader(data.size()));
  w.append(data);
  w.append(kChunkEnd);
}

}  // namespace xl::http
