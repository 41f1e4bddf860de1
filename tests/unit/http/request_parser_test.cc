// RFC 9112 request parsing: framing, limits, keep-alive and pipelining.
#include "http/request_parser.h"

#include <gtest/gtest.h>

namespace xl::http {
namespace {

// Feeds all of `raw` (optionally in pieces of `step` bytes) and returns the parser.
struct Fed {
  RequestParser parser;
  std::vector<Request> requests;
  Status status;
};

Fed feedAll(std::string_view raw, size_t step = 0, ParserLimits limits = {}) {
  Fed f{RequestParser(limits), {}, Status::ok()};
  size_t pos = 0;
  while (pos < raw.size()) {
    size_t n = step ? std::min(step, raw.size() - pos) : raw.size() - pos;
    size_t off = 0;
    while (off < n) {
      Result<size_t> used = f.parser.feed(raw.data() + pos + off, n - off);
      if (!used) {
        f.status = used.status();
        return f;
      }
      off += *used;
      if (f.parser.done())
        f.requests.push_back(f.parser.take());
      else if (*used == 0)
        break;
    }
    pos += n;
  }
  return f;
}

int errorOf(std::string_view raw, ParserLimits limits = {}) {
  Fed f = feedAll(raw, 0, limits);
  return f.status ? 0 : f.parser.errorStatus();
}

TEST(RequestParser, SimpleGet) {
  Fed f = feedAll("GET /live/cam1.flv?token=abc&x=1 HTTP/1.1\r\nHost: a\r\nUser-Agent: t\r\n\r\n");
  ASSERT_TRUE(f.status) << f.status.message();
  ASSERT_EQ(f.requests.size(), 1u);
  const Request& r = f.requests[0];
  EXPECT_EQ(r.method, "GET");
  EXPECT_EQ(r.target, "/live/cam1.flv?token=abc&x=1");
  EXPECT_EQ(r.path, "/live/cam1.flv");
  EXPECT_EQ(r.query, "token=abc&x=1");
  EXPECT_EQ(r.versionMinor, 1);
  EXPECT_TRUE(r.keepAlive);
  EXPECT_EQ(r.header("user-agent"), "t");
  EXPECT_EQ(r.header("HOST"), "a");
  EXPECT_TRUE(r.body.empty());
}

TEST(RequestParser, ByteAtATimeWithBody) {
  std::string raw =
      "POST /live/cam/whip HTTP/1.1\r\nHost: h\r\nContent-Type: application/sdp\r\n"
      "Content-Length: 11\r\n\r\nv=0\r\no=- 1 ";
  for (size_t step : {1, 3, 7, 1000}) {
    Fed f = feedAll(raw, step);
    ASSERT_TRUE(f.status) << step;
    ASSERT_EQ(f.requests.size(), 1u) << step;
    EXPECT_EQ(f.requests[0].body, "v=0\r\no=- 1 ");
  }
}

TEST(RequestParser, ChunkedBodyWithExtensionsAndTrailers) {
  std::string raw =
      "POST /a/b/whip HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
      "4;ext=1\r\nv=0\n\r\nA\r\n0123456789\r\n0\r\nX-Trailer: 1\r\n\r\n";
  for (size_t step : {1, 5, 1000}) {
    Fed f = feedAll(raw, step);
    ASSERT_TRUE(f.status) << f.status.message();
    ASSERT_EQ(f.requests.size(), 1u);
    EXPECT_EQ(f.requests[0].body, "v=0\n0123456789");
    EXPECT_TRUE(f.requests[0].chunked);
    EXPECT_FALSE(f.requests[0].hasHeader("X-Trailer"));  // trailers are discarded
  }
}

TEST(RequestParser, PipelinedRequests) {
  Fed f = feedAll(
      "GET /1 HTTP/1.1\r\nHost: h\r\n\r\n"
      "POST /2 HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc"
      "\r\nGET /3 HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
  ASSERT_TRUE(f.status) << f.status.message();
  ASSERT_EQ(f.requests.size(), 3u);
  EXPECT_EQ(f.requests[0].path, "/1");
  EXPECT_EQ(f.requests[1].body, "abc");
  EXPECT_EQ(f.requests[2].path, "/3");
  EXPECT_FALSE(f.requests[2].keepAlive);
}

TEST(RequestParser, FeedStopsAtEndOfRequest) {
  RequestParser p;
  std::string raw = "GET /1 HTTP/1.1\r\nHost: h\r\n\r\nGET /2";
  Result<size_t> used = p.feed(raw.data(), raw.size());
  ASSERT_TRUE(used);
  EXPECT_EQ(*used, raw.size() - 6);
  EXPECT_TRUE(p.done());
  EXPECT_EQ(p.take().path, "/1");
  EXPECT_FALSE(p.done());
}

TEST(RequestParser, KeepAliveSemantics) {
  auto keep = [](std::string_view raw) {
    Fed f = feedAll(raw);
    return f.requests.size() == 1 && f.requests[0].keepAlive;
  };
  EXPECT_TRUE(keep("GET / HTTP/1.1\r\nHost: h\r\n\r\n"));
  EXPECT_FALSE(keep("GET / HTTP/1.1\r\nHost: h\r\nConnection: Upgrade, Close\r\n\r\n"));
  EXPECT_FALSE(keep("GET / HTTP/1.0\r\n\r\n"));
  EXPECT_TRUE(keep("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n"));
}

TEST(RequestParser, AbsoluteAndAsteriskForms) {
  Fed f = feedAll(
      "GET http://example.com:8080/live/a.flv?x=1 HTTP/1.1\r\nHost: e\r\n\r\n"
      "OPTIONS * HTTP/1.1\r\nHost: e\r\n\r\n");
  ASSERT_EQ(f.requests.size(), 2u);
  EXPECT_EQ(f.requests[0].path, "/live/a.flv");
  EXPECT_EQ(f.requests[0].query, "x=1");
  EXPECT_EQ(f.requests[1].path, "*");
  EXPECT_EQ(errorOf("GET * HTTP/1.1\r\nHost: e\r\n\r\n"), 400);
}

TEST(RequestParser, ExpectContinue) {
  RequestParser p;
  std::string head =
      "POST /x HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\n"
      "Content-Length: 2\r\n\r\n";
  ASSERT_TRUE(p.feed(head.data(), head.size()));
  EXPECT_TRUE(p.expectsContinue());
  ASSERT_TRUE(p.feed("ok", 2));
  EXPECT_TRUE(p.done());
}

TEST(RequestParser, ErrorsMapToStatusCodes) {
  EXPECT_EQ(errorOf("GET / HTTP/1.1\r\nHost: h\r\n folded\r\n\r\n"), 400);
  EXPECT_EQ(errorOf("GET / HTTP/1.1\r\nHost : h\r\n\r\n"), 400);  // space before colon
  EXPECT_EQ(errorOf("GET / HTTP/1.1\r\n\r\n"), 400);              // no Host
  EXPECT_EQ(errorOf("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"), 400);
  EXPECT_EQ(errorOf("GET /a b HTTP/1.1\r\nHost: h\r\n\r\n"), 400);
  EXPECT_EQ(errorOf("GET / HTTP/1.1\r\nHost: h\rX\r\n\r\n"), 400);  // bare CR
  const char withNul[] = "GET / HTTP/1.1\r\nHost: h\0\r\n\r\n";
  EXPECT_EQ(errorOf(std::string_view(withNul, sizeof withNul - 1)), 400);
  EXPECT_EQ(errorOf("GET / HTTP/2.0\r\n\r\n"), 505);
  EXPECT_EQ(errorOf("GET / HTTX/1.1\r\n\r\n"), 400);
  EXPECT_EQ(errorOf("GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 1x\r\n\r\n"), 400);
  EXPECT_EQ(errorOf("GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"),
            400);
  EXPECT_EQ(errorOf("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"), 501);
  EXPECT_EQ(errorOf("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n"
                    "Content-Length: 3\r\n\r\n"),
            400);
  EXPECT_EQ(errorOf("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n"), 400);
  EXPECT_EQ(errorOf("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"), 400);
  EXPECT_EQ(errorOf("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
                    "2\r\nabc\r\n"),
            400);  // chunk longer than its size
}

TEST(RequestParser, Limits) {
  std::string longLine = "GET /" + std::string(9000, 'a') + " HTTP/1.1\r\n";
  EXPECT_EQ(errorOf(longLine), 414);
  std::string bigHeaders = "GET / HTTP/1.1\r\nHost: h\r\n";
  for (int i = 0; i < 700; ++i)
    bigHeaders += "X-Pad-" + std::to_string(i) + ": " + std::string(100, 'v') + "\r\n";
  EXPECT_EQ(errorOf(bigHeaders), 431);
  std::string many = "GET / HTTP/1.1\r\nHost: h\r\n";
  for (int i = 0; i < 120; ++i) many += "X-" + std::to_string(i) + ": 1\r\n";
  EXPECT_EQ(errorOf(many + "\r\n"), 431);
  EXPECT_EQ(errorOf("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 2000000\r\n\r\n"), 413);
  ParserLimits small;
  small.maxBody = 8;
  EXPECT_EQ(errorOf("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
                    "5\r\nabcde\r\n5\r\nabcde\r\n0\r\n\r\n",
                    small),
            413);
  EXPECT_EQ(errorOf("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
                    "fffffffffffffffff\r\n"),
            400);
}

TEST(RequestParser, FailedParserStaysFailed) {
  RequestParser p;
  std::string bad = "GET / HTTP/3.0\r\n";
  EXPECT_FALSE(p.feed(bad.data(), bad.size()));
  EXPECT_TRUE(p.failed());
  EXPECT_EQ(p.errorStatus(), 505);
  std::string good = "GET / HTTP/1.1\r\nHost: h\r\n\r\n";
  EXPECT_FALSE(p.feed(good.data(), good.size()));
}

}  // namespace
}  // namespace xl::http
