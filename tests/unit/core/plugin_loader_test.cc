// PluginLoader against the example plugin built as a shared object: registration, the refusal
// of a plugin built for another API version, missing files and duplicate type names.
#include "plugin/plugin_loader.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "xueliang/config.h"
#include "xueliang/plugin_abi.h"
#include "xueliang/protocol.h"

namespace xl {
namespace {

using ::testing::HasSubstr;
namespace fs = std::filesystem;

bool hasType(const ModuleRegistry& r, const std::string& name) {
  for (auto& [n, _] : r.pluginTypes()) {
    if (n == name) return true;
  }
  return false;
}

class PluginLoaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("xl-plugin-loader-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_F(PluginLoaderTest, LoadsTheExamplePluginAndMakesItsType) {
  PluginLoader loader;
  ModuleRegistry registry;
  Status s = loader.load(XL_HELLO_PLUGIN, registry);
  ASSERT_TRUE(s) << s.message();
  ASSERT_TRUE(hasType(registry, "hello"));
  std::shared_ptr<Plugin> p = registry.pluginTypes().back().second();
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->name(), "hello");

  auto doc = ConfigDocument::parse("deny = \"live/secret\"\n", "hello.toml");
  ASSERT_TRUE(doc) << doc.message();
  ConfigErrors errors;
  ConfigSection section = (*doc)->root(&errors);
  p->configure(section);
  section.finish();
  EXPECT_TRUE(errors.empty()) << errors.joined();
  AccessRequest req;
  req.stream = "live/secret";
  EXPECT_EQ(p->onPlay(req, nullptr).verdict, Verdict::kDeny);
  req.stream = "live/demo";
  EXPECT_EQ(p->onPlay(req, nullptr).verdict, Verdict::kContinue);

  // Loading the same file again changes nothing.
  EXPECT_TRUE(loader.load(XL_HELLO_PLUGIN, registry));
  EXPECT_EQ(registry.pluginTypes().size(), 1u);
  EXPECT_EQ(loader.size(), 1u);
}

TEST_F(PluginLoaderTest, RefusesAPluginBuiltForAnotherApiVersion) {
  PluginLoader loader;
  ModuleRegistry registry;
  Status s = loader.load(XL_HELLO_PLUGIN_API999, registry);
  ASSERT_FALSE(s);
  EXPECT_THAT(s.message(), HasSubstr(fs::path(XL_HELLO_PLUGIN_API999).filename().string() +
                                     " was built for plugin API 999, this server has " +
                                     std::to_string(XUELIANG_PLUGIN_API_VERSION) +
                                     "; rebuild it against the installed headers"));
  EXPECT_TRUE(registry.pluginTypes().empty());
  EXPECT_EQ(loader.size(), 0u);
}

TEST_F(PluginLoaderTest, ReportsMissingAndInvalidFiles) {
  PluginLoader loader;
  ModuleRegistry registry;
  Status missing = loader.load((dir_ / "libnothere.so").string(), registry);
  ASSERT_FALSE(missing);
  EXPECT_THAT(missing.message(), HasSubstr("plugin libnothere.so: no such file"));

  fs::path text = dir_ / "libtext.so";
  std::ofstream(text) << "not an ELF file\n";
  Status invalid = loader.load(text.string(), registry);
  ASSERT_FALSE(invalid);
  EXPECT_THAT(invalid.message(), HasSubstr("plugin libtext.so cannot be loaded"));
  EXPECT_TRUE(registry.pluginTypes().empty());
}

TEST_F(PluginLoaderTest, RefusesATypeNameAlreadyTaken) {
  PluginLoader loader;
  ModuleRegistry registry;
  ASSERT_TRUE(loader.load(XL_HELLO_PLUGIN, registry));
  // A copy under another name is another file that registers "hello" again.
  fs::path copy = dir_ / "libhello_copy.so";
  fs::copy_file(XL_HELLO_PLUGIN, copy);
  Status s = loader.load(copy.string(), registry);
  ASSERT_FALSE(s);
  EXPECT_THAT(s.message(), HasSubstr("registers 'hello', a plugin type the server already has"));
  EXPECT_EQ(registry.pluginTypes().size(), 1u);
}

TEST_F(PluginLoaderTest, ConfigErrorsNameFileAndLine) {
  fs::path cfg = dir_ / "server.toml";
  std::string text = "[plugins]\nload = [\"libmissing.so\"]\n";
  auto doc = ConfigDocument::parse(text, cfg.string());
  ASSERT_TRUE(doc) << doc.message();
  ConfigErrors errors;
  ConfigSection plugins = (*doc)->root(&errors).section("plugins");
  PluginLoader loader;
  ModuleRegistry registry;
  loader.configure(plugins, dir_.string(), registry);
  ASSERT_EQ(errors.list().size(), 1u);
  // Relative paths are resolved against the config file's directory.
  EXPECT_THAT(errors.list()[0], HasSubstr(cfg.string() +
                                          ":2: plugins.load: plugin libmissing.so: "
                                          "no such file " +
                                          (dir_ / "libmissing.so").string()));
}

}  // namespace
}  // namespace xl
