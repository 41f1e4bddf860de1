// Response heads, CORS and chunk framing.
#include "http/response.h"

#include <gtest/gtest.h>

namespace xl::http {
namespace {

Request requestWith(std::string method, std::vector<Header> headers, int minor = 1) {
  Request r;
  r.method = std::move(method);
  r.versionMinor = minor;
  r.headers = std::move(headers);
  r.keepAlive = minor == 1;
  return r;
}

TEST(Response, HeadFormatting) {
  ResponseHead h(200);
  h.contentType("video/x-flv").chunked().header("X-Bad Name", "v").header("X-Inject", "a\r\nb");
  EXPECT_EQ(h.str(),
            "HTTP/1.1 200 OK\r\nContent-Type: video/x-flv\r\nTransfer-Encoding: chunked\r\n"
            "X-Inject: a  b\r\n\r\n");
  EXPECT_EQ(ResponseHead(431).str(), "HTTP/1.1 431 Request Header Fields Too Large\r\n\r\n");
  EXPECT_EQ(ResponseHead(299).str(), "HTTP/1.1 299 Unknown\r\n\r\n");
  BufferWriter w;
  ResponseHead(404).contentLength(0).writeTo(w);
  BufferRef b = w.freeze();
  EXPECT_EQ(b.view(), "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
}

TEST(Response, Date) {
  ResponseHead h(200);
  h.date(784111777);  // RFC 9110 5.6.7 example
  EXPECT_EQ(h.str(), "HTTP/1.1 200 OK\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\n\r\n");
}

TEST(Response, ConnectionHeader) {
  Request r11 = requestWith("GET", {});
  Request close = r11;
  close.keepAlive = false;
  Request r10 = requestWith("GET", {}, 0);
  r10.keepAlive = true;
  EXPECT_EQ(ResponseHead(200).connection(r11).str(), "HTTP/1.1 200 OK\r\n\r\n");
  EXPECT_EQ(ResponseHead(200).connection(close).str(),
            "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(ResponseHead(200).connection(r10).str(),
            "HTTP/1.1 200 OK\r\nConnection: keep-alive\r\n\r\n");
}

TEST(Response, SimpleResponse) {
  Request get = requestWith("GET", {});
  EXPECT_EQ(simpleResponse(404, get, "text/plain", "no"),
            "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nno");
  Request head = requestWith("HEAD", {});
  EXPECT_EQ(simpleResponse(200, head, "text/plain", "abc"),
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 3\r\n\r\n");
  EXPECT_EQ(simpleResponse(204, get, "text/plain", "x"), "HTTP/1.1 204 No Content\r\n\r\n");
}

TEST(Response, CorsWildcardAndPreflight) {
  CorsPolicy any;
  Request pre = requestWith(
      "OPTIONS", {{"Origin", "https://console.local"}, {"Access-Control-Request-Method", "POST"}});
  ASSERT_TRUE(isPreflight(pre));
  std::string out = preflightResponse(any, pre);
  EXPECT_NE(out.find("HTTP/1.1 204 No Content\r\n"), std::string::npos);
  EXPECT_NE(out.find("Access-Control-Allow-Origin: *\r\n"), std::string::npos);
  EXPECT_NE(out.find("Access-Control-Allow-Methods: GET, POST"), std::string::npos);
  EXPECT_NE(out.find("Access-Control-Max-Age: 86400\r\n"), std::string::npos);
  EXPECT_EQ(out.find("Content-Length"), std::string::npos);
}

TEST(Response, CorsSpecificOrigins) {
  CorsPolicy policy;
  policy.allowOrigins = {"https://a.example", "https://b.example"};
  Request fromB = requestWith("GET", {{"Origin", "https://b.example"}});
  ResponseHead ok(200);
  addCors(ok, policy, fromB);
  EXPECT_NE(ok.str().find("Access-Control-Allow-Origin: https://b.example\r\nVary: Origin\r\n"),
            std::string::npos);
  Request fromEvil = requestWith("GET", {{"Origin", "https://evil.example"}});
  ResponseHead denied(200);
  addCors(denied, policy, fromEvil);
  EXPECT_EQ(denied.str(), "HTTP/1.1 200 OK\r\n\r\n");
  CorsPolicy off;
  off.allowOrigins.clear();
  ResponseHead none(200);
  addCors(none, off, fromB);
  EXPECT_EQ(none.str(), "HTTP/1.1 200 OK\r\n\r\n");
}

TEST(Response, Chunks) {
  std::string out;
  appendChunk(out, "hello");
  appendChunk(out, std::string(300, 'x'));
  appendChunk(out, "");  // ignored: would terminate the body
  out.append(kLastChunk);
  EXPECT_EQ(out.substr(0, 10), "5\r\nhello\r\n");
  EXPECT_EQ(out.substr(10, 5), "12c\r\n");
  EXPECT_EQ(out.substr(out.size() - 7), "\r\n0\r\n\r\n");
  EXPECT_EQ(chunkHeader(0xabcdef), "abcdef\r\n");
  BufferWriter w;
  const uint8_t data[3] = {1, 2, 3};
  appendChunk(w, data);
  BufferRef b = w.freeze();
  EXPECT_EQ(b.view(), std::string_view("3\r\n\x01\x02\x03\r\n", 8));
}

}  // namespace
}  // namespace xl::http
