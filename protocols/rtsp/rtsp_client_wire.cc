#include "rtsp/rtsp_client_wire.h"

#include <cctype>
#include <charconv>

namespace xl::rtsp {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool parseInt(std::string_view s, int& out, int min, int max) {
  s = trim(s);
  int v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v < min || v > max) return false;
  out = v;
  return true;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  }
  return true;
}

Result<std::string> percentDecode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out += s[i];
      continue;
    }
    if (i + 2 >= s.size() || !std::isxdigit(static_cast<unsigned char>(s[i + 1])) ||
        !std::isxdigit(static_cast<unsigned char>(s[i + 2])))
      return Status::error("url: bad percent escape in credentials");
    out += static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16));
    i += 2;
  }
  return out;
}

// "a-b" port or channel pair; b defaults to a + 1.
bool parsePair(std::string_view v, int out[2], int max) {
  auto dash = v.find('-');
  if (!parseInt(v.substr(0, dash), out[0], 0, max)) return false;
  if (dash == std::string_view::npos) {
    out[1] = out[0] + 1;
    return true;
  }
  return parseInt(v.substr(dash + 1), out[1], 0, max);
}

}  // namespace

Result<CameraUrl> parseCameraUrl(std::string_view text) {
  constexpr std::string_view kScheme = "rtsp://";
  if (text.size() < kScheme.size() || !iequals(text.substr(0, kScheme.size()), kScheme))
    return Status::error("url: expected rtsp://[user:password@]host[:port]/path");
  if (text.size() > 4096) return Status::error("url: too long");
  std::string_view rest = text.substr(kScheme.size());
  size_t pathStart = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, pathStart);
  std::string_view path = pathStart == std::string_view::npos ? "/" : rest.substr(pathStart);
  CameraUrl u;
  if (auto at = authority.rfind('@'); at != std::string_view::npos) {
    std::string_view info = authority.substr(0, at);
    authority = authority.substr(at + 1);
    auto colon = info.find(':');
    auto user = percentDecode(info.substr(0, colon));
    if (!user) return user.status();
    u.user = *user;
    if (colon != std::string_view::npos) {
      auto pass = percentDecode(info.substr(colon + 1));
      if (!pass) return pass.status();
      u.password = *pass;
    }
  }
  std::string_view host = authority;
  std::string_view portText;
  if (!authority.empty() && authority.front() == '[') {
    auto close = authority.find(']');
    if (close == std::string_view::npos) return Status::error("url: unterminated IPv6 address");
    host = authority.substr(0, close + 1);
    if (close + 1 < authority.size()) {
      if (authority[close + 1] != ':') return Status::error("url: junk after IPv6 address");
      portText = authority.substr(close + 2);
    }
  } else if (auto colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    portText = authority.substr(colon + 1);
  }
  if (host.empty() || host == "[]") return Status::error("url: missing host");
  for (char c : host) {
    if (std::isspace(static_cast<unsigned char>(c)) || c == '@' || c == '/')
      return Status::error("url: bad host");
  }
  if (!portText.empty() && !parseInt(portText, u.port, 1, 65535))
    return Status::error("url: bad port");
  for (char c : path) {
    if (static_cast<unsigned char>(c) <= ' ') return Status::error("url: control or space in path");
  }
  u.host = std::string(host);
  u.url = "rtsp://" + u.host + ":" + std::to_string(u.port) + std::string(path);
  return u;
}

std::string formatRequest(std::string_view method, std::string_view uri, int64_t cseq,
                          const std::vector<std::pair<std::string, std::string>>& headers) {
  std::string out;
  out.reserve(256);
  out.append(method).append(" ").append(uri).append(" RTSP/1.0\r\nCSeq: ");
  out.append(std::to_string(cseq)).append("\r\nUser-Agent: Xueliang\r\n");
  for (auto& [k, v] : headers) out.append(k).append(": ").append(v).append("\r\n");
  out.append("\r\n");
  return out;
}

Result<SessionHeader> parseSessionHeader(std::string_view value) {
  SessionHeader h;
  auto semi = value.find(';');
  std::string_view id = trim(value.substr(0, semi));
  if (id.empty() || id.size() > 256) return Status::error("Session: missing or oversized id");
  for (char c : id) {
    if (static_cast<unsigned char>(c) <= ' ') return Status::error("Session: bad id");
  }
  h.id = std::string(id);
  while (semi != std::string_view::npos) {
    value = value.substr(semi + 1);
    semi = value.find(';');
    std::string_view param = trim(value.substr(0, semi));
    auto eq = param.find('=');
    if (eq != std::string_view::npos && iequals(trim(param.substr(0, eq)), "timeout")) {
      if (!parseInt(param.substr(eq + 1), h.timeoutSec, 1, 86400))
        return Status::error("Session: bad timeout");
    }
  }
  return h;
}

std::string resolveControl(std::string_view base, std::string_view control) {
  if (control.empty() || control == "*") return std::string(base);
  if (control.size() > 7 && iequals(control.substr(0, 7), "rtsp://")) return std::string(control);
  std::string out(base);
  if (control.front() == '/') {  // absolute path on the same server
    size_t hostStart = out.find("://");
    size_t pathStart =
        hostStart == std::string::npos ? std::string::npos : out.find('/', hostStart + 3);
    if (pathStart != std::string::npos) out.resize(pathStart);
    return out + std::string(control);
  }
  if (out.empty() || out.back() != '/') out += '/';
  return out + std::string(control);
}

Result<TransportReply> parseTransportReply(std::string_view value) {
  TransportReply t;
  value = value.substr(0, value.find(','));  // the server answers with one transport
  auto semi = value.find(';');
  std::string_view profile = trim(value.substr(0, semi));
  if (iequals(profile, "RTP/AVP/TCP"))
    t.tcp = true;
  else if (!iequals(profile, "RTP/AVP") && !iequals(profile, "RTP/AVP/UDP"))
    return Status::error("Transport: unsupported profile '" + std::string(profile) + "'");
  while (semi != std::string_view::npos) {
    value = value.substr(semi + 1);
    semi = value.find(';');
    std::string_view param = trim(value.substr(0, semi));
    auto eq = param.find('=');
    std::string_view key = trim(param.substr(0, eq));
    std::string_view v = eq == std::string_view::npos ? "" : trim(param.substr(eq + 1));
    if (iequals(key, "interleaved")) {
      if (!parsePair(v, t.interleaved, 255)) return Status::error("Transport: bad interleaved");
    } else if (iequals(key, "server_port")) {
      if (!parsePair(v, t.serverPort, 65535)) return Status::error("Transport: bad server_port");
    } else if (iequals(key, "ssrc")) {
      uint32_t s = 0;
      auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), s, 16);
      if (ec != std::errc() || p != v.data() + v.size())
        return Status::error("Transport: bad ssrc");
      t.ssrc = s;
      t.hasSsrc = true;
    }
  }
  return t;
}

}  // namespace xl::rtsp
