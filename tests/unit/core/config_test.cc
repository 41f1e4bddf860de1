#include "xueliang/config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

namespace xl {
namespace {

using ::testing::HasSubstr;

std::shared_ptr<ConfigDocument> parse(const std::string& text) {
  auto doc = ConfigDocument::parse(text, "test.toml");
  EXPECT_TRUE(doc) << doc.message();
  return doc ? *doc : nullptr;
}

// The one error that mentions `needle`, or "" (and a failure) if none or several do.
std::string errorWith(const ConfigErrors& errors, const std::string& needle) {
  std::string found;
  int n = 0;
  for (auto& e : errors.list()) {
    if (e.find(needle) != std::string::npos) found = e, ++n;
  }
  EXPECT_EQ(n, 1) << "errors mentioning '" << needle << "':\n" << errors.joined();
  return found;
}

TEST(Config, TypedReadsAndDefaults) {
  auto doc = parse(
      "name = \"xl\"\n"
      "workers = 4\n"
      "debug = true\n"
      "mode = \"fast\"\n"
      "hosts = [\"a\", \"b\"]\n");
  ConfigErrors errors;
  ConfigSection root = doc->root(&errors);
  EXPECT_TRUE(root.has("workers"));
  EXPECT_FALSE(root.has("absent"));
  EXPECT_EQ(root.string("name", "def"), "xl");
  EXPECT_EQ(root.integer("workers", 1, 0, 64), 4);
  EXPECT_TRUE(root.boolean("debug", false));
  EXPECT_EQ(root.choice("mode", "slow", {"slow", "fast"}), "fast");
  EXPECT_EQ(root.strings("hosts"), (std::vector<std::string>{"a", "b"}));
  // Absent keys give the defaults without errors.
  EXPECT_EQ(root.string("s", "dflt"), "dflt");
  EXPECT_EQ(root.integer("i", 42, 0, 100), 42);
  EXPECT_FALSE(root.boolean("b", false));
  EXPECT_TRUE(root.strings("list").empty());
  EXPECT_EQ(root.choice("c", "slow", {"slow", "fast"}), "slow");
  root.finish();
  EXPECT_TRUE(errors.empty()) << errors.joined();
}

TEST(Config, OutOfRangeReportsFileAndLine) {
  auto doc = parse(
      "# comment\n"
      "\n"
      "workers = 500\n");
  ConfigErrors errors;
  ConfigSection root = doc->root(&errors);
  EXPECT_EQ(root.integer("workers", 7, 1, 64), 7);  // default on error
  std::string e = errorWith(errors, "workers");
  EXPECT_THAT(e, HasSubstr("test.toml:3"));
  EXPECT_THAT(e, HasSubstr("500"));
  EXPECT_THAT(e, HasSubstr("range"));
}

TEST(Config, WrongTypesReportFileAndLine) {
  auto doc = parse(
      "a = \"text\"\n"
      "b = 3\n"
      "c = 1\n"
      "d = \"x\"\n"
      "e = 2.5\n"
      "f = [1, 2]\n"
      "g = 5\n"
      "h = \"nope\"\n");
  ConfigErrors errors;
  ConfigSection root = doc->root(&errors);
  EXPECT_EQ(root.integer("a", 9, 0, 100), 9);
  EXPECT_EQ(root.string("b", "def"), "def");
  EXPECT_EQ(root.boolean("c", false), false);
  EXPECT_EQ(root.boolean("d", true), true);
  EXPECT_EQ(root.integer("e", 1, 0, 100), 1);
  EXPECT_TRUE(root.strings("f").empty());
  EXPECT_TRUE(root.strings("g").empty());
  EXPECT_EQ(root.choice("h", "on", {"on", "off"}), "on");
  ASSERT_EQ(errors.list().size(), 8u) << errors.joined();
  const char* keys[] = {"a", "b", "c", "d", "e", "f", "g", "h"};
  for (int i = 0; i < 8; ++i) {
    const std::string& e = errors.list()[i];
    EXPECT_THAT(e, HasSubstr("test.toml:" + std::to_string(i + 1) + ":")) << e;
    EXPECT_THAT(e, HasSubstr(std::string(keys[i]) + ":")) << e;
  }
  EXPECT_THAT(errors.list()[7], HasSubstr("nope"));
  EXPECT_THAT(errors.list()[7], HasSubstr("on, off"));
}

TEST(Config, UnknownKeysReportedByFinish) {
  auto doc = parse(
      "known = 1\n"
      "typo_key = 2\n"
      "[server]\n"
      "port = 1\n"
      "prot = 2\n"
      "[other]\n"
      "x = 1\n"
      "[accepted]\n"
      "y = 1\n");
  ConfigErrors errors;
  ConfigSection root = doc->root(&errors);
  root.integer("known", 0, 0, 10);
  ConfigSection server = root.section("server");
  EXPECT_EQ(server.path(), "server");
  EXPECT_EQ(server.integer("port", 0, 0, 10), 1);
  server.finish();
  root.accept("accepted");
  root.finish();
  ASSERT_EQ(errors.list().size(), 3u) << errors.joined();
  EXPECT_THAT(errorWith(errors, "typo_key"), HasSubstr("test.toml:2:"));
  std::string prot = errorWith(errors, "server.prot");
  EXPECT_THAT(prot, HasSubstr("test.toml:5:"));
  EXPECT_THAT(prot, HasSubstr("unknown"));
  EXPECT_THAT(errorWith(errors, "other"), HasSubstr("test.toml:6:"));
}

TEST(Config, SectionsNestAndAbsentSectionsAreEmpty) {
  auto doc = parse(
      "[plugins.access_list]\n"
      "names = [\"x\"]\n"
      "level = 99\n");
  ConfigErrors errors;
  ConfigSection root = doc->root(&errors);
  ConfigSection plugins = root.section("plugins");
  ConfigSection acl = plugins.section("access_list");
  EXPECT_EQ(acl.path(), "plugins.access_list");
  EXPECT_EQ(acl.strings("names"), std::vector<std::string>{"x"});
  EXPECT_EQ(acl.integer("level", 0, 0, 10), 0);
  EXPECT_THAT(errorWith(errors, "plugins.access_list.level"), HasSubstr("test.toml:3:"));

  ConfigSection none = root.section("absent");
  EXPECT_FALSE(none.has("x"));
  EXPECT_EQ(none.integer("x", 5, 0, 10), 5);
  none.finish();  // nothing to report
  plugins.finish();
  acl.finish();
  root.finish();
  EXPECT_EQ(errors.list().size(), 1u) << errors.joined();
}

TEST(Config, SectionOfWrongTypeIsAnError) {
  auto doc = parse("server = 3\n");
  ConfigErrors errors;
  ConfigSection root = doc->root(&errors);
  ConfigSection s = root.section("server");
  EXPECT_FALSE(s.has("port"));
  EXPECT_THAT(errorWith(errors, "server"), HasSubstr("test.toml:1:"));
}

TEST(Config, ArraysOfTables) {
  auto doc = parse(
      "[[relay]]\n"
      "url = \"a\"\n"
      "\n"
      "[[relay]]\n"
      "url = \"b\"\n"
      "weight = 1000\n"
      "bogus = 1\n");
  ConfigErrors errors;
  ConfigSection root = doc->root(&errors);
  auto relays = root.tables("relay");
  ASSERT_EQ(relays.size(), 2u);
  EXPECT_EQ(relays[0].string("url", ""), "a");
  EXPECT_EQ(relays[1].string("url", ""), "b");
  EXPECT_EQ(relays[0].path(), "relay[0]");
  EXPECT_EQ(relays[1].path(), "relay[1]");
  EXPECT_EQ(relays[1].integer("weight", 1, 0, 100), 1);
  for (auto& r : relays) r.finish();
  root.finish();
  ASSERT_EQ(errors.list().size(), 2u) << errors.joined();
  EXPECT_THAT(errors.list()[0], HasSubstr("test.toml:6:"));
  EXPECT_THAT(errors.list()[0], HasSubstr("relay[1].weight"));
  EXPECT_THAT(errorWith(errors, "relay[1].bogus"), HasSubstr("test.toml:7:"));

  auto notTables = parse("relay = [1, 2]\n");
  ConfigErrors e2;
  ConfigSection r2 = notTables->root(&e2);
  EXPECT_TRUE(r2.tables("relay").empty());
  EXPECT_THAT(errorWith(e2, "relay"), HasSubstr("test.toml:1:"));
}

TEST(Config, ExplicitErrorLocatesKeyOrSection) {
  auto doc = parse(
      "a = 1\n"
      "[s]\n"
      "\n"
      "k = 2\n");
  ConfigErrors errors;
  ConfigSection root = doc->root(&errors);
  ConfigSection s = root.section("s");
  s.error("k", "bad k");
  s.error("missing", "needs a value");
  ASSERT_EQ(errors.list().size(), 2u);
  EXPECT_THAT(errors.list()[0], HasSubstr("test.toml:4: s.k: bad k"));
  // An absent key points at its section's header.
  EXPECT_THAT(errors.list()[1], HasSubstr("test.toml:2: s.missing: needs a value"));
}

TEST(Config, ParseErrorsCarryTheLine) {
  auto doc = ConfigDocument::parse("a = 1\nb = 2\nc = = 3\n", "broken.toml");
  ASSERT_FALSE(doc);
  EXPECT_THAT(doc.message(), HasSubstr("broken.toml:3"));
  auto dup = ConfigDocument::parse("a = 1\n\na = 2\n", "dup.toml");
  ASSERT_FALSE(dup);
  EXPECT_THAT(dup.message(), HasSubstr("dup.toml:3"));
}

TEST(Config, LoadReadsFilesAndNamesThem) {
  std::string path = ::testing::TempDir() + "xl_config_test.toml";
  {
    std::ofstream out(path);
    out << "x = 1\ny = 1000\n";
  }
  auto doc = ConfigDocument::load(path);
  ASSERT_TRUE(doc) << doc.message();
  ConfigErrors errors;
  ConfigSection root = (*doc)->root(&errors);
  EXPECT_EQ(root.integer("x", 0, 0, 10), 1);
  root.integer("y", 0, 0, 10);
  EXPECT_THAT(errorWith(errors, "y"), HasSubstr(path + ":2:"));
  std::remove(path.c_str());
  auto missing = ConfigDocument::load(path);
  ASSERT_FALSE(missing);
  EXPECT_THAT(missing.message(), HasSubstr(path));
}

}  // namespace
}  // namespace xl
