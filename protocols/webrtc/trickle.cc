#include "webrtc/trickle.h"

#include <cctype>

namespace xl::webrtc {
namespace {

bool isIceChars(std::string_view s) {
  // RFC 8839 §5.4 ice-char: ALPHA / DIGIT / "+" / "/".
  for (char c : s)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '+' && c != '/') return false;
  return true;
}

std::vector<std::string_view> fields(std::string_view v) {
  std::vector<std::string_view> out;
  size_t at = 0;
  while (at < v.size() && out.size() < 32) {
    while (at < v.size() && v[at] == ' ') ++at;
    size_t end = v.find(' ', at);
    if (end == std::string_view::npos) end = v.size();
    if (end > at) out.push_back(v.substr(at, end - at));
    at = end;
  }
  return out;
}

bool allDigits(std::string_view s) {
  if (s.empty() || s.size() > 10) return false;
  for (char c : s)
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  return true;
}

// RFC 8839 §5.1: foundation component-id transport priority address port "typ" cand-type ...
Status checkCandidate(std::string_view v) {
  auto f = fields(v);
  if (f.size() < 8) return Status::error("a=candidate has fewer than 8 fields");
  if (f[0].size() > 32 || !isIceChars(f[0])) return Status::error("bad candidate foundation");
  if (!allDigits(f[1]) || f[1].size() > 3) return Status::error("bad candidate component-id");
  if (!allDigits(f[3])) return Status::error("bad candidate priority");
  if (f[4].empty() || f[4].size() > 255) return Status::error("bad candidate address");
  if (!allDigits(f[5]) || std::stoul(std::string(f[5])) > 65535)
    return Status::error("bad candidate port");
  if (f[6] != "typ") return Status::error("candidate lacks \"typ\"");
  return Status::ok();
}

}  // namespace

Result<TrickleFragment> parseTrickleFragment(std::string_view body, const TrickleLimits& limits) {
  if (body.size() > limits.maxBytes) return Status::error("sdpfrag is too large");
  TrickleFragment out;
  size_t lines = 0;
  size_t at = 0;
  while (at < body.size()) {
    size_t end = body.find('\n', at);
    std::string_view line = body.substr(at, end == std::string_view::npos ? body.npos : end - at);
    at = end == std::string_view::npos ? body.size() : end + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) continue;
    if (++lines > limits.maxLines) return Status::error("sdpfrag has too many lines");
    if (line.size() < 2 || line[1] != '=' || !std::islower(static_cast<unsigned char>(line[0])))
      return Status::error("sdpfrag line is not <type>=<value>: " +
                           std::string(line.substr(0, 40)));
    if (line[0] != 'a') continue;  // m= lines only group the candidates that follow
    std::string_view a = line.substr(2);
    size_t colon = a.find(':');
    std::string_view name = a.substr(0, colon);
    std::string_view value = colon == std::string_view::npos ? "" : a.substr(colon + 1);
    if (name == "ice-ufrag" || name == "ice-pwd") {
      if (value.empty() || value.size() > 256 || !isIceChars(value))
        return Status::error("bad a=" + std::string(name));
      (name == "ice-ufrag" ? out.ufrag : out.pwd) = std::string(value);
    } else if (name == "mid") {
      out.mids.emplace_back(value);
    } else if (name == "candidate") {
      if (Status s = checkCandidate(value); !s) return s;
      out.candidates.emplace_back(value);
    } else if (name == "end-of-candidates") {
      out.endOfCandidates = true;
    }
  }
  return out;
}

TrickleReply answerTricklePatch(std::string_view contentType, std::string_view ifMatch,
                                std::string_view body, std::string_view etag,
                                std::string_view remoteUfrag, std::string_view remotePwd) {
  std::string_view type = contentType.substr(0, contentType.find(';'));
  while (!type.empty() && type.back() == ' ') type.remove_suffix(1);
  if (type != kTrickleContentType)
    return {415, "PATCH needs Content-Type " + std::string(kTrickleContentType)};
  // RFC 9725 §4.3.1: trickle carries the resource's current ETag, an ICE restart "*". A client
  // that sends no If-Match is let through: the credentials below still tie it to the session.
  bool wildcard = ifMatch == "*";
  if (!ifMatch.empty() && !wildcard && ifMatch != etag)
    return {412, "If-Match does not name the current ETag " + std::string(etag)};
  auto frag = parseTrickleFragment(body);
  if (!frag) return {400, "bad sdpfrag: " + frag.message()};
  bool restart = (!frag->ufrag.empty() && frag->ufrag != remoteUfrag) ||
                 (!frag->pwd.empty() && frag->pwd != remotePwd);
  if (restart) return {501, "ICE restart is not supported: start a new session"};
  return {204, {}};
}

}  // namespace xl::webrtc
