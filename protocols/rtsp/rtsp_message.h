// RTSP/1.0 messages (RFC 2326 §4, §6, §7): an incremental parser for requests and responses as
// they arrive on a TCP connection, interleaved with binary data frames ("$", channel, 16-bit
// length; §10.12), and a response writer. Socket-free, bounded, never asserts on input.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "xueliang/status.h"

namespace xl::rtsp {

struct RtspMessage {
  bool isRequest = true;
  std::string method;  // request
  std::string uri;     // request
  int status = 0;      // response
  std::string reason;  // response
  int versionMajor = 1;
  int versionMinor = 0;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;

  // First header with this name (case-insensitive), or empty.
  std::string_view header(std::string_view name) const;
  bool hasHeader(std::string_view name) const;
  // CSeq (§12.17), or -1 when missing or not a number.
  int64_t cseq() const;
};

struct RtspLimits {
  size_t maxHeaderBytes = 16 * 1024;  // start line and headers
  size_t maxHeaders = 64;
  size_t maxBody = 64 * 1024;  // SDP of an ANNOUNCE, parameters
};

class RtspParser {
 public:
  using MessageFn = std::function<Status(RtspMessage&&)>;
  // Interleaved data (§10.12); the bytes are valid during the call only.
  using DataFn = std::function<Status(uint8_t channel, const uint8_t* data, size_t n)>;

  explicit RtspParser(RtspLimits limits = {}) : limits_(limits) {}

  // Consumes all n bytes, calling back for every complete message and data frame. The first
  // failure (malformed input, a limit, or a callback's error) is returned and sticks.
  Status feed(const uint8_t* data, size_t n, const MessageFn& onMessage, const DataFn& onData);
  // Bytes held for an incomplete message or frame.
  size_t buffered() const { return buf_.size() - pos_; }

 private:
  Status parseHead(std::string_view head, RtspMessage& m);

  RtspLimits limits_;
  std::string buf_;
  size_t pos_ = 0;
  bool failed_ = false;
  Status error_;
};

// Reason phrase for a status code (§7.1.1).
std::string_view reasonPhrase(int status);

// "RTSP/1.0 <status> <reason>\r\nCSeq: <cseq>\r\n<headers>Content-Length...\r\n\r\n<body>".
// `cseq` < 0 omits the CSeq header.
std::string formatResponse(int status, int64_t cseq,
                           const std::vector<std::pair<std::string, std::string>>& headers,
                           std::string_view body = {});

}  // namespace xl::rtsp
