// The auth plugin's decisions. (How the chain turns Unauthorized into a refusal for protocols
// that cannot challenge is covered by tests/integration/test_rtsp_auth.py over RTMP.)
#include "auth.h"

#include <gtest/gtest.h>


namespace xl::auth {
namespace {

AuthConfig config() {
  AuthConfig c;
  c.realm = "R";
  c.protectPublish = {"*"};
  c.protectPlay = {"secure/*"};
  c.users = {{"op", "pw", {"live/*"}, {"*"}}, {"viewer", "vpw", {}, {"secure/*"}}};
  return c;
}

AccessRequest request(AccessRequest::Action action, std::string stream, std::string user = {},
                      std::string password = {}) {
  AccessRequest r;
  r.action = action;
  r.stream = std::move(stream);
  r.user = std::move(user);
  if (!r.user.empty())
    r.checkPassword = [password](std::string_view secret) { return secret == password; };
  return r;
}

constexpr auto kPublish = AccessRequest::Action::kPublish;
constexpr auto kPlay = AccessRequest::Action::kPlay;

TEST(AuthPlugin, Decisions) {
  const AuthConfig c = config();
  EXPECT_EQ(decide(c, request(kPlay, "live/open")).verdict, Verdict::kContinue);
  Decision d = decide(c, request(kPlay, "secure/cam"));
  EXPECT_EQ(d.verdict, Verdict::kUnauthorized);
  EXPECT_EQ(d.realm, "R");
  EXPECT_EQ(decide(c, request(kPlay, "secure/cam", "viewer", "bad")).verdict,
            Verdict::kUnauthorized);
  EXPECT_EQ(decide(c, request(kPlay, "secure/cam", "nobody", "vpw")).verdict,
            Verdict::kUnauthorized);
  EXPECT_EQ(decide(c, request(kPlay, "secure/cam", "viewer", "vpw")).verdict, Verdict::kContinue);
  // Right password, but not allowed for this action: a plain refusal, no new challenge.
  EXPECT_EQ(decide(c, request(kPublish, "live/x", "viewer", "vpw")).verdict, Verdict::kDeny);
  EXPECT_EQ(decide(c, request(kPublish, "other/x", "op", "pw")).verdict, Verdict::kDeny);
  EXPECT_EQ(decide(c, request(kPublish, "live/x", "op", "pw")).verdict, Verdict::kContinue);
  // A user name without a way to check the password proves nothing.
  AccessRequest bare = request(kPublish, "live/x");
  bare.user = "op";
  EXPECT_EQ(decide(c, bare).verdict, Verdict::kUnauthorized);
}

}  // namespace
}  // namespace xl::auth
