// Incremental HTTP/1.1 request parsing, RFC 9112 (message syntax) and RFC 9110 (semantics).
#include "http/request_parser.h"

#include <algorithm>
#include <cstring>

namespace xl::http {
namespace {

constexpr size_t kMaxChunkLine = 4096;  // chunk-size plus chunk extensions
constexpr size_t kMaxLeadingEmptyLines = 16;

char lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (lower(a[i]) != lower(b[i])) return false;
  return true;
}

// tchar, RFC 9110 5.6.2.
bool isTchar(unsigned char c) {
  if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
  return c && std::strchr("!#$%&'*+-.^_`|~", c) != nullptr;
}

bool isToken(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return isTchar(c); });
}

std::string_view trimOws(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Calls f(element) for each comma-separated list element (RFC 9110 5.6.1), skipping empty ones.
template <typename F>
void forEachListElement(std::string_view list, F f) {
  while (!list.empty()) {
    size_t comma = list.find(',');
    std::string_view e = trimOws(list.substr(0, comma));
    if (!e.empty()) f(e);
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
}

}  // namespace

std::string_view Request::header(std::string_view name) const {
  for (const auto& h : headers)
    if (iequals(h.name, name)) return h.value;
  return {};
}

bool Request::hasHeader(std::string_view name) const {
  return std::any_of(headers.begin(), headers.end(),
                     [&](const Header& h) { return iequals(h.name, name); });
}

RequestParser::RequestParser(ParserLimits limits) : limits_(limits) {}

Status RequestParser::fail(int status, std::string message) {
  state_ = State::kError;
  errorStatus_ = status;
  return Status::error("http: " + std::move(message));
}

Result<size_t> RequestParser::feed(const char* data, size_t n) {
  if (state_ == State::kError) return Status::error("http: parser already failed");
  size_t pos = 0;
  while (pos < n && state_ != State::kDone && state_ != State::kError) {
    if (state_ == State::kBody || state_ == State::kChunkData) {
      size_t take = std::min(remaining_, n - pos);
      req_.body.append(data + pos, take);
      pos += take;
      remaining_ -= take;
      if (remaining_ == 0) state_ = state_ == State::kBody ? State::kDone : State::kChunkDataEnd;
      continue;
    }
    const char* start = data + pos;
    const char* lf = static_cast<const char*>(std::memchr(start, '\n', n - pos));
    size_t len = lf ? static_cast<size_t>(lf - start) : n - pos;
    // Enforce limits before buffering, so a peer cannot grow line_ without bound.
    size_t lineSize = line_.size() + len;
    switch (state_) {
      case State::kRequestLine:
        if (lineSize > limits_.maxRequestLine) return fail(414, "request line too long");
        break;
      case State::kHeaders:
      case State::kTrailers:
        if (headerBytes_ + lineSize > limits_.maxHeaderBytes)
          return fail(431, "header section too large");
        break;
      default:
        if (lineSize > kMaxChunkLine) return fail(400, "chunk line too long");
    }
    line_.append(start, len);
    pos += len;
    if (!lf) break;
    ++pos;  // the LF
    // RFC 9112 2.2: a bare LF may end a line; a CR before it is dropped.
    std::string_view line = line_;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.find('\r') != std::string_view::npos) return fail(400, "bare CR");
    Status s = onLine(line);
    line_.clear();
    if (!s) return s;
  }
  return pos;
}

Status RequestParser::onLine(std::string_view line) {
  switch (state_) {
    case State::kRequestLine:
      // RFC 9112 2.2: ignore empty lines before the request-line (e.g. after a POST body).
      if (line.empty()) {
        if (++emptyLinesSkipped_ > kMaxLeadingEmptyLines) return fail(400, "too many empty lines");
        return Status::ok();
      }
      return parseRequestLine(line);
    case State::kHeaders:
      headerBytes_ += line.size() + 2;
      if (line.empty()) return finishHeaders();
      return parseHeaderLine(line);
    case State::kChunkSize:
      return parseChunkSize(line);
    case State::kChunkDataEnd:
      if (!line.empty()) return fail(400, "chunk data longer than chunk size");
      state_ = State::kChunkSize;
      return Status::ok();
    case State::kTrailers: {
      // RFC 9112 7.1.2: trailer fields are parsed for syntax and discarded.
      headerBytes_ += line.size() + 2;
      if (line.empty()) {
        state_ = State::kDone;
        return Status::ok();
      }
      size_t headerCount = req_.headers.size();
      Status s = parseHeaderLine(line);
      req_.headers.resize(headerCount);
      return s;
    }
    default:
      return fail(400, "unexpected parser state");
  }
}

// RFC 9112 3: request-line = method SP request-target SP HTTP-version
Status RequestParser::parseRequestLine(std::string_view line) {
  size_t sp1 = line.find(' '), sp2 = line.rfind(' ');
  if (sp1 == std::string_view::npos || sp1 == sp2) return fail(400, "malformed request line");
  std::string_view method = line.substr(0, sp1);
  std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  std::string_view version = line.substr(sp2 + 1);
  if (!isToken(method)) return fail(400, "bad method");
  // RFC 9112 2.3: HTTP-version = "HTTP" "/" DIGIT "." DIGIT
  if (version.size() != 8 || version.substr(0, 5) != "HTTP/" || version[6] != '.' ||
      version[5] < '0' || version[5] > '9' || version[7] < '0' || version[7] > '9')
    return fail(400, "malformed HTTP version");
  if (version[5] != '1') return fail(505, "unsupported HTTP major version");
  req_.versionMinor = version[7] == '0' ? 0 : 1;  // 1.x with x > 1 is handled as 1.1
  if (target.empty()) return fail(400, "empty request-target");
  for (unsigned char c : target)
    if (c <= 0x20 || c == 0x7f || c == '#') return fail(400, "invalid character in target");

  std::string_view pathAndQuery = target;
  if (target == "*") {
    // RFC 9112 3.2.4: asterisk-form only for a server-wide OPTIONS.
    if (method != "OPTIONS") return fail(400, "asterisk-form outside OPTIONS");
  } else if (target[0] != '/') {
    // RFC 9112 3.2.2: servers must accept absolute-form; the authority is ignored here.
    size_t scheme = target.find("://");
    if (scheme == std::string_view::npos ||
        !(iequals(target.substr(0, scheme), "http") || iequals(target.substr(0, scheme), "https")))
      return fail(400, "unsupported request-target form");
    size_t slash = target.find('/', scheme + 3);
    pathAndQuery = slash == std::string_view::npos ? "/" : target.substr(slash);
    if (slash == std::string_view::npos) {
      size_t q = target.find('?', scheme + 3);
      if (q != std::string_view::npos) req_.query = std::string(target.substr(q + 1));
    }
  }
  size_t q = pathAndQuery.find('?');
  req_.path = std::string(pathAndQuery.substr(0, q));
  if (q != std::string_view::npos) req_.query = std::string(pathAndQuery.substr(q + 1));
  req_.method = std::string(method);
  req_.target = std::string(target);
  state_ = State::kHeaders;
  headerBytes_ = 0;
  return Status::ok();
}

// RFC 9112 5: field-line = field-name ":" OWS field-value OWS
Status RequestParser::parseHeaderLine(std::string_view line) {
  // RFC 9112 5.2: obsolete line folding is rejected with 400.
  if (line[0] == ' ' || line[0] == '\t') return fail(400, "obsolete line folding");
  size_t colon = line.find(':');
  if (colon == std::string_view::npos) return fail(400, "header line without colon");
  std::string_view name = line.substr(0, colon);
  // RFC 9112 5.1: no whitespace between name and colon; that check is part of isToken.
  if (!isToken(name)) return fail(400, "invalid header name");
  std::string_view value = trimOws(line.substr(colon + 1));
  for (unsigned char c : value)
    if ((c < 0x20 && c != '\t') || c == 0x7f) return fail(400, "invalid character in header");
  if (req_.headers.size() >= limits_.maxHeaders) return fail(431, "too many header fields");
  req_.headers.push_back({std::string(name), std::string(value)});
  return Status::ok();
}

Status RequestParser::finishHeaders() {
  const bool http11 = req_.versionMinor >= 1;
  // RFC 9112 3.2: exactly one Host in HTTP/1.1; at most one otherwise.
  size_t hosts = std::count_if(req_.headers.begin(), req_.headers.end(),
                               [](const Header& h) { return iequals(h.name, "host"); });
  if (hosts > 1 || (http11 && hosts == 0)) return fail(400, "missing or repeated Host");

  // RFC 9112 9.3: HTTP/1.1 persists unless "close"; HTTP/1.0 only with "keep-alive".
  bool close = false, keepAlive = false;
  bool transferEncoding = false, chunkedLast = false, contentLength = false;
  int chunkedCount = 0;
  uint64_t length = 0;
  for (const auto& h : req_.headers) {
    if (iequals(h.name, "connection")) {
      forEachListElement(h.value, [&](std::string_view t) {
        close |= iequals(t, "close");
        keepAlive |= iequals(t, "keep-alive");
      });
    } else if (iequals(h.name, "transfer-encoding")) {
      transferEncoding = true;
      bool unknown = false;
      forEachListElement(h.value, [&](std::string_view t) {
        bool isChunked = iequals(t, "chunked");
        unknown |= !isChunked;
        chunkedCount += isChunked;
        chunkedLast = isChunked;
      });
      // RFC 9112 6.1: a transfer coding we do not implement.
      if (unknown) return fail(501, "unsupported transfer coding");
    } else if (iequals(h.name, "content-length")) {
      // RFC 9110 8.6: a list of identical values may be accepted as one.
      bool bad = false;
      forEachListElement(h.value, [&](std::string_view v) {
        uint64_t n = 0;
        bad |= v.size() > 18;
        for (char c : v) {
          bad |= c < '0' || c > '9';
          n = n * 10 + static_cast<uint64_t>(c - '0');
        }
        bad |= contentLength && n != length;
        contentLength = true;
        length = n;
      });
      if (bad || h.value.empty()) return fail(400, "invalid Content-Length");
    }
  }
  req_.keepAlive = http11 ? !close : keepAlive && !close;

  if (transferEncoding) {
    // RFC 9112 6.1: Transfer-Encoding in HTTP/1.0 means faulty framing; 6.3: with
    // Content-Length it is a smuggling vector; chunked must be final and appear once.
    if (!http11) return fail(400, "Transfer-Encoding in HTTP/1.0");
    if (contentLength) return fail(400, "both Transfer-Encoding and Content-Length");
    if (chunkedCount != 1 || !chunkedLast) return fail(400, "chunked is not the final coding");
    req_.chunked = true;
    state_ = State::kChunkSize;
    return Status::ok();
  }
  if (length > limits_.maxBody) return fail(413, "body too large");
  remaining_ = static_cast<size_t>(length);
  req_.body.reserve(remaining_);
  state_ = remaining_ ? State::kBody : State::kDone;
  return Status::ok();
}

// RFC 9112 7.1: chunk-size [ chunk-ext ] CRLF, chunk-size = 1*HEXDIG.
Status RequestParser::parseChunkSize(std::string_view line) {
  size_t i = 0;
  uint64_t size = 0;
  for (; i < line.size(); ++i) {
    char c = lower(line[i]);
    int digit = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    if (digit < 0) break;
    if (i >= 15) return fail(400, "chunk size too long");
    size = size * 16 + static_cast<uint64_t>(digit);
  }
  if (i == 0) return fail(400, "missing chunk size");
  std::string_view rest = trimOws(line.substr(i));
  if (!rest.empty() && rest[0] != ';') return fail(400, "malformed chunk size line");
  if (size > limits_.maxBody - req_.body.size()) return fail(413, "body too large");
  if (size == 0) {
    state_ = State::kTrailers;
    headerBytes_ = 0;
    return Status::ok();
  }
  remaining_ = static_cast<size_t>(size);
  state_ = State::kChunkData;
  return Status::ok();
}

bool RequestParser::expectsContinue() const {
  bool awaitingBody = (state_ == State::kBody || state_ == State::kChunkSize) && req_.body.empty();
  return awaitingBody && req_.versionMinor >= 1 && iequals(req_.header("expect"), "100-continue");
}

Request RequestParser::take() {
  Request r = std::move(req_);
  req_ = Request();
  state_ = State::kRequestLine;
  line_.clear();
  headerBytes_ = 0;
  emptyLinesSkipped_ = 0;
  remaining_ = 0;
  return r;
}

}  // namespace xl::http
