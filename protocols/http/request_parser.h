// Incremental HTTP/1.1 request parser (RFC 9112). Socket-free: the connection feeds it bytes as
// they arrive and answers a failed parse with errorStatus(), then closes.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "xueliang/status.h"

namespace xl::http {

struct Header {
  std::string name;   // as received
  std::string value;  // surrounding whitespace removed
};

struct Request {
  std::string method;
  std::string target;    // request-target as received
  std::string path;      // path part of the target, still percent-encoded (see url.h)
  std::string query;     // after '?', without it; still encoded
  int versionMinor = 1;  // HTTP/1.<minor>
  std::vector<Header> headers;
  std::string body;       // de-chunked
  bool keepAlive = true;  // RFC 9112 9.3 persistence after this request
  bool chunked = false;   // the body arrived with Transfer-Encoding: chunked

  // First field line with this name (case-insensitive), or empty.
  std::string_view header(std::string_view name) const;
  bool hasHeader(std::string_view name) const;
};

struct ParserLimits {
  size_t maxRequestLine = 8 * 1024;   // longer: 414
  size_t maxHeaderBytes = 64 * 1024;  // header section (and chunked trailers): 431
  size_t maxHeaders = 100;            // field lines: 431
  size_t maxBody = 1024 * 1024;       // Content-Length or de-chunked total: 413
};

class RequestParser {
 public:
  explicit RequestParser(ParserLimits limits = {});

  // Consumes up to n bytes and returns how many were used. Parsing stops at the end of one
  // request: when done(), take() it and feed the unused bytes again (pipelining). After an
  // error every call fails; answer with errorStatus() and close the connection.
  Result<size_t> feed(const char* data, size_t n);
  bool done() const { return state_ == State::kDone; }
  // Moves out the completed request and resets for the next one.
  Request take();

  // The header section is complete and the client waits for "100 Continue" before the body
  // (RFC 9110 10.1.1).
  bool expectsContinue() const;
  bool failed() const { return state_ == State::kError; }
  // Status code to answer a failed request with: 400, 413, 414, 431, 501 or 505.
  int errorStatus() const { return errorStatus_; }

 private:
  enum class State {
    kRequestLine,
    kHeaders,
    kBody,
    kChunkSize,
    kChunkData,
    kChunkDataEnd,
    kTrailers,
    kDone,
    kError
  };

  Status fail(int status, std::string message);
  Status onLine(std::string_view line);
  Status parseRequestLine(std::string_view line);
  Status parseHeaderLine(std::string_view line);
  Status finishHeaders();
  Status parseChunkSize(std::string_view line);

  ParserLimits limits_;
  State state_ = State::kRequestLine;
  Request req_;
  std::string line_;        // partial line carried between feed() calls
  size_t headerBytes_ = 0;  // header section (or trailer section) bytes so far
  size_t emptyLinesSkipped_ = 0;
  size_t remaining_ = 0;  // body or chunk bytes still expected
  int errorStatus_ = 0;
};

}  // namespace xl::http
