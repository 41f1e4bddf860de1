// Recorder configuration: rules, patterns, defaults and errors.
#include <gtest/gtest.h>


#include "recorder_config.h"
#include "xueliang/config.h"

namespace xl::recorder {
namespace {

struct Parsed {
  RecorderConfig cfg;
  ConfigErrors errors;
};

std::unique_ptr<Parsed> parse(const std::string& toml) {
  auto out = std::make_unique<Parsed>();
  auto doc = ConfigDocument::parse(toml, "rec.toml");
  EXPECT_TRUE(doc) << doc.message();
  ConfigSection root = (*doc)->root(&out->errors);
  ConfigSection s = root.section("recorder");
  out->cfg = readConfig(s);
  s.finish();
  return out;
}

TEST(RecorderConfig, ReadsRulesInOrder) {
  auto p = parse(R"(
[recorder]
root = "/var/rec"
segment_minutes = 5
max_bytes = 1000
[[recorder.rules]]
streams = ["town1/*"]
segment_seconds = 4
max_age_hours = 2
[[recorder.rules]]
streams = ["*"]
mode = "on_demand"
)");
  ASSERT_TRUE(p->errors.empty()) << p->errors.joined();
  EXPECT_EQ(p->cfg.root, "/var/rec");
  EXPECT_EQ(p->cfg.maxBytes, 1000);
  ASSERT_EQ(p->cfg.rules.size(), 2u);
  const Rule* r = findRule(p->cfg, "town1/gate");
  ASSERT_NE(r, nullptr);
  EXPECT_TRUE(r->always);
  EXPECT_EQ(r->segmentSeconds, 4);
  EXPECT_EQ(r->maxAgeSeconds, 7200);
  r = findRule(p->cfg, "live/demo");
  ASSERT_NE(r, nullptr);
  EXPECT_FALSE(r->always);
  EXPECT_EQ(r->segmentSeconds, 300);
}

TEST(RecorderConfig, RejectsBadValuesAndUnknownKeys) {
  EXPECT_FALSE(parse("[recorder]\nsegment_seconds = 0\n")->errors.empty());
  EXPECT_FALSE(parse("[recorder]\n[[recorder.rules]]\nstreams = []\n")->errors.empty());
  EXPECT_FALSE(parse("[recorder]\n[[recorder.rules]]\nstreams = [\"a/*\"]\nmode = \"sometimes\"\n")
                   ->errors.empty());
  EXPECT_FALSE(
      parse("[recorder]\n[[recorder.rules]]\nstreams = [\"a/*\"]\nsegmnt = 3\n")->errors.empty());
}

TEST(RecorderConfig, SafeStreamNamesOnly) {
  EXPECT_TRUE(safeStreamName("town1/gate"));
  for (const char* bad :
       {"", "a", "a/", "/b", "a/b/c", "../x", "a/..", "./b", "a\\b/c", "a/b\"c"}) {
    EXPECT_FALSE(safeStreamName(bad)) << bad;
  }
}

}  // namespace
}  // namespace xl::recorder
