// Basic and Digest (RFC 2617 / 7616 MD5) on both sides: the RFC's own example vector, header
// parsing with malformed input, and a client answer checked by the server code.
#include "rtsp/rtsp_auth.h"

#include <gtest/gtest.h>

namespace xl::rtsp {
namespace {

TEST(RtspAuth, Md5OfKnownStrings) {
  EXPECT_EQ(md5Hex(""), "d41d8cd98f00b204e9800998ecf8427e");
  EXPECT_EQ(md5Hex("The quick brown fox jumps over the lazy dog"),
            "9e107d9d372bb6826bd81d3542a419d6");
}

// RFC 2617 §3.5: the worked example (qop=auth).
TEST(RtspAuth, Rfc2617ExampleResponse) {
  EXPECT_EQ(
      digestResponse("Mufasa", "testrealm@host.com", "Circle Of Life", "GET", "/dir/index.html",
                     "dcd98b7102dd2f0e8b11d0f600bfb0c093", "00000001", "0a4f113b", "auth"),
      "6629fae49393a05397450978507c4ef1");
}

TEST(RtspAuth, ParsesTheRfc2617ExampleAndVerifiesIt) {
  auto a = parseAuthorization(
      "Digest username=\"Mufasa\", realm=\"testrealm@host.com\", "
      "nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", uri=\"/dir/index.html\", qop=auth, "
      "nc=00000001, cnonce=\"0a4f113b\", response=\"6629fae49393a05397450978507c4ef1\", "
      "opaque=\"5ccc069c403ebaf9f0171e9517f40e41\"");
  ASSERT_TRUE(a) << a.message();
  EXPECT_EQ(a->scheme, Authorization::Scheme::kDigest);
  EXPECT_EQ(a->user, "Mufasa");
  EXPECT_EQ(a->opaque, "5ccc069c403ebaf9f0171e9517f40e41");
  EXPECT_TRUE(digestMatches(*a, "Circle Of Life", "GET"));
  EXPECT_FALSE(digestMatches(*a, "Circle of Life", "GET"));
  EXPECT_FALSE(digestMatches(*a, "Circle Of Life", "POST"));  // the method is covered
}

TEST(RtspAuth, ParsesBasic) {
  auto a = parseAuthorization("Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
  ASSERT_TRUE(a) << a.message();
  EXPECT_EQ(a->scheme, Authorization::Scheme::kBasic);
  EXPECT_EQ(a->user, "Aladdin");
  EXPECT_EQ(a->password, "open sesame");
  EXPECT_FALSE(digestMatches(*a, "open sesame", "DESCRIBE"));  // Basic is not Digest
}

TEST(RtspAuth, RejectsMalformedHeaders) {
  for (const char* bad :
       {"", "Bearer abc", "Basic !!!!", "Basic dXNlcg==" /* no colon */, "Digest username=\"a\"",
        "Digest username=\"a, realm=\"r\"",
        "Digest username=a, realm=r, nonce=n, uri=u, response=x, algorithm=SHA-256",
        "Digest username=a, realm=r, nonce=n, uri=u, response=x, qop=auth",
        "Digest =x, username=a"}) {
    EXPECT_FALSE(parseAuthorization(bad)) << bad;
  }
  EXPECT_FALSE(parseAuthorization("Basic " + std::string(5000, 'A')));
}

TEST(RtspAuth, ClientAnswersServerChallenge) {
  auto values = challenge("Cameras", "abc123");
  ASSERT_EQ(values.size(), 2u);
  EXPECT_EQ(values[0], "Digest realm=\"Cameras\", nonce=\"abc123\", algorithm=MD5");
  EXPECT_EQ(values[1], "Basic realm=\"Cameras\"");
  auto ch = parseChallenge(values);
  ASSERT_TRUE(ch) << ch.message();
  EXPECT_EQ(ch->scheme, Challenge::Scheme::kDigest);  // preferred over Basic
  std::string header = authorizationFor(*ch, "op", "pw", "DESCRIBE", "rtsp://h/live/x");
  auto a = parseAuthorization(header);
  ASSERT_TRUE(a) << header;
  EXPECT_EQ(a->nonce, "abc123");
  EXPECT_TRUE(digestMatches(*a, "pw", "DESCRIBE"));
  EXPECT_FALSE(digestMatches(*a, "pw2", "DESCRIBE"));
}

TEST(RtspAuth, ClientUsesQopAuthWhenOffered) {
  auto ch =
      parseChallenge({"Digest realm=\"r\", nonce=\"n1\", qop=\"auth,auth-int\", opaque=\"o\""});
  ASSERT_TRUE(ch);
  EXPECT_EQ(ch->qop, "auth");
  auto a = parseAuthorization(authorizationFor(*ch, "u", "p", "SETUP", "rtsp://h/a/b"));
  ASSERT_TRUE(a);
  EXPECT_EQ(a->qop, "auth");
  EXPECT_EQ(a->opaque, "o");
  EXPECT_TRUE(digestMatches(*a, "p", "SETUP"));
}

TEST(RtspAuth, ClientFallsBackToBasic) {
  auto ch = parseChallenge({"Basic realm=\"cam\""});
  ASSERT_TRUE(ch);
  EXPECT_EQ(ch->scheme, Challenge::Scheme::kBasic);
  EXPECT_EQ(authorizationFor(*ch, "Aladdin", "open sesame", "DESCRIBE", "x"),
            "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
  EXPECT_FALSE(parseChallenge({"Bearer x", "Digest realm=\"r\", nonce=\"n\", algorithm=SHA-256"}));
}

}  // namespace
}  // namespace xl::rtsp
