#include "rtsp/rtsp_message.h"

#include <algorithm>
#include <charconv>

#include "http/response.h"

namespace xl::rtsp {
namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

bool isToken(std::string_view s) {
  if (s.empty()) return false;
  for (unsigned char c : s) {
    if (c <= 32 || c >= 127 ||
        std::string_view("()<>@,;:\\\"/[]?={}").find(c) != std::string_view::npos)
      return false;
  }
  return true;
}

// "RTSP/1.0" (§6.1, §7.1).
bool parseVersion(std::string_view v, int& major, int& minor) {
  if (v.size() != 8 || v.substr(0, 5) != "RTSP/" || v[6] != '.') return false;
  if (v[5] < '0' || v[5] > '9' || v[7] < '0' || v[7] > '9') return false;
  major = v[5] - '0';
  minor = v[7] - '0';
  return true;
}

}  // namespace

std::string_view RtspMessage::header(std::string_view name) const {
  for (auto& [k, v] : headers) {
    if (iequals(k, name)) return v;
  }
  return {};
}

bool RtspMessage::hasHeader(std::string_view name) const {
  for (auto& [k, v] : headers) {
    if (iequals(k, name)) return true;
  }
  return false;
}

int64_t RtspMessage::cseq() const {
  std::string_view v = header("CSeq");
  int64_t n = -1;
  auto r = std::from_chars(v.data(), v.data() + v.size(), n);
  if (r.ec != std::errc() || r.ptr != v.data() + v.size() || n < 0) return -1;
  return n;
}

Status RtspParser::parseHead(std::string_view head, RtspMessage& m) {
  size_t lines = 0;
  bool first = true;
  while (!head.empty()) {
    auto nl = head.find('\n');
    std::string_view line = head.substr(0, nl);
    head.remove_prefix(nl == std::string_view::npos ? head.size() : nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (first) {
      first = false;
      // Request-Line (§6.1) or Status-Line (§7.1): three parts separated by single spaces.
      auto s1 = line.find(' ');
      auto s2 = s1 == std::string_view::npos ? s1 : line.find(' ', s1 + 1);
      if (s2 == std::string_view::npos) return Status::error("malformed start line");
      std::string_view a = line.substr(0, s1), b = line.substr(s1 + 1, s2 - s1 - 1),
                       c = line.substr(s2 + 1);
      if (a.starts_with("RTSP/")) {
        m.isRequest = false;
        if (!parseVersion(a, m.versionMajor, m.versionMinor))
          return Status::error("bad RTSP version");
        auto r = std::from_chars(b.data(), b.data() + b.size(), m.status);
        if (b.size() != 3 || r.ec != std::errc() || m.status < 100)
          return Status::error("bad status code");
        m.reason = std::string(c);
      } else {
        if (!isToken(a) || b.empty() || b.find_first_of(" \t") != std::string_view::npos)
          return Status::error("malformed request line");
        if (!parseVersion(c, m.versionMajor, m.versionMinor))
          return Status::error("bad RTSP version");
        m.method = std::string(a);
        m.uri = std::string(b);
      }
      continue;
    }
    if (line.empty()) continue;
    if (line[0] == ' ' || line[0] == '\t') {  // continuation of the previous header (§4.2)
      if (m.headers.empty()) return Status::error("continuation line without a header");
      m.headers.back().second += " ";
      m.headers.back().second += trim(line);
      continue;
    }
    auto colon = line.find(':');
    if (colon == std::string_view::npos || !isToken(line.substr(0, colon)))
      return Status::error("malformed header line");
    if (++lines > limits_.maxHeaders) return Status::error("too many headers");
    m.headers.emplace_back(std::string(line.substr(0, colon)),
                           std::string(trim(line.substr(colon + 1))));
  }
  if (first) return Status::error("empty message");
  return Status::ok();
}

Status RtspParser::feed(const uint8_t* data, size_t n, const MessageFn& onMessage,
                        const DataFn& onData) {
  if (failed_) return error_;
  auto fail = [this](Status s) {
    failed_ = true;
    error_ = s;
    return s;
  };
  buf_.append(reinterpret_cast<const char*>(data), n);
  while (pos_ < buf_.size()) {
    std::string_view rest(buf_.data() + pos_, buf_.size() - pos_);
    if (rest[0] == '$') {  // §10.12 interleaved binary data
      if (rest.size() < 4) break;
      size_t len = size_t(uint8_t(rest[2])) << 8 | uint8_t(rest[3]);
      if (rest.size() < 4 + len) break;
      pos_ += 4 + len;
      if (Status s =
              onData(uint8_t(rest[1]), reinterpret_cast<const uint8_t*>(rest.data()) + 4, len);
          !s)
        return fail(s);
      continue;
    }
    if (rest[0] == '\r' || rest[0] == '\n') {  // stray line ends between messages
      ++pos_;
      continue;
    }
    size_t end = rest.find("\r\n\r\n");
    size_t sep = 4;
    if (size_t lf = rest.find("\n\n"); lf != std::string_view::npos && lf < end) end = lf, sep = 2;
    if (end == std::string_view::npos) {
      if (rest.size() > limits_.maxHeaderBytes) return fail(Status::error("header too large"));
      break;
    }
    if (end > limits_.maxHeaderBytes) return fail(Status::error("header too large"));
    RtspMessage m;
    if (Status s = parseHead(rest.substr(0, end), m); !s) return fail(s);
    size_t bodyLen = 0;
    if (std::string_view cl = m.header("Content-Length"); !cl.empty()) {
      auto r = std::from_chars(cl.data(), cl.data() + cl.size(), bodyLen);
      if (r.ec != std::errc() || r.ptr != cl.data() + cl.size())
        return fail(Status::error("bad Content-Length"));
      if (bodyLen > limits_.maxBody) return fail(Status::error("body too large"));
    }
    if (rest.size() < end + sep + bodyLen) break;
    m.body = std::string(rest.substr(end + sep, bodyLen));
    pos_ += end + sep + bodyLen;
    if (Status s = onMessage(std::move(m)); !s) return fail(s);
  }
  if (pos_ == buf_.size()) {
    buf_.clear();
    pos_ = 0;
  } else if (pos_ > 64 * 1024) {
    buf_.erase(0, pos_);
    pos_ = 0;
  }
  return Status::ok();
}

std::string_view reasonPhrase(int status) {
  // RFC 2326 §7.1.1: RTSP shares HTTP's codes and adds its own in the 45x range.
  switch (status) {
    case 451:
      return "Parameter Not Understood";
    case 453:
      return "Not Enough Bandwidth";
    case 454:
      return "Session Not Found";
    case 455:
      return "Method Not Valid in This State";
    case 459:
      return "Aggregate Operation Not Allowed";
    case 461:
      return "Unsupported Transport";
    case 505:
      return "RTSP Version Not Supported";
    case 551:
      return "Option not supported";
    default:
      return http::statusText(status);
  }
}

std::string formatResponse(int status, int64_t cseq,
                           const std::vector<std::pair<std::string, std::string>>& headers,
                           std::string_view body) {
  std::string out = "RTSP/1.0 " + std::to_string(status) + " ";
  out += reasonPhrase(status);
  out += "\r\n";
  if (cseq >= 0) out += "CSeq: " + std::to_string(cseq) + "\r\n";
  for (auto& [k, v] : headers) out += k + ": " + v + "\r\n";
  if (!body.empty()) out += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  out += "\r\n";
  out += body;
  return out;
}

}  // namespace xl::rtsp
