// Config: the TOML file, read through typed accessors that validate as they read. Every problem
// is reported as "file:line: reason"; keys nobody read are errors too (a typo must not be
// silently ignored). Deep code never reads keys: it gets a typed struct built here.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

#include "xueliang/status.h"

namespace xl {

class ConfigErrors {
 public:
  void add(std::string e) { list_.push_back(std::move(e)); }
  bool empty() const { return list_.empty(); }
  const std::vector<std::string>& list() const { return list_; }
  std::string joined() const;

 private:
  std::vector<std::string> list_;
};

class ConfigSection {
 public:
  // `table` is a toml::table owned by the ConfigDocument; kept opaque so headers stay light.
  ConfigSection(const void* table, std::string path, std::shared_ptr<const std::string> file,
                ConfigErrors* errors);

  bool has(const std::string& key) const;
  std::string string(const std::string& key, const std::string& def);
  // One of `allowed`.
  std::string choice(const std::string& key, const std::string& def,
                     const std::vector<std::string>& allowed);
  int64_t integer(const std::string& key, int64_t def, int64_t min, int64_t max);
  bool boolean(const std::string& key, bool def);
  std::vector<std::string> strings(const std::string& key);
  // A sub-table; an empty one when absent.
  ConfigSection section(const std::string& key);
  // An array of tables ([[key]]).
  std::vector<ConfigSection> tables(const std::string& key);
  // Marks a key as known without reading it (e.g. a section another component reads).
  void accept(const std::string& key) { used_.insert(key); }

  // Reports an error located at `key` (or at the section when the key is absent).
  void error(const std::string& key, const std::string& message);
  // Reports every key of this section that nothing read.
  void finish();
  const std::string& path() const { return path_; }
  ConfigErrors& errors() { return *errors_; }

 private:
  std::string where(const std::string& key) const;
  std::string qualified(const std::string& key) const;

  const void* table_;
  std::string path_;
  std::shared_ptr<const std::string> file_;
  ConfigErrors* errors_;
  std::unordered_set<std::string> used_;
};

// A parsed file. Keep it alive while sections are in use.
class ConfigDocument {
 public:
  static Result<std::shared_ptr<ConfigDocument>> load(const std::string& file);
  static Result<std::shared_ptr<ConfigDocument>> parse(const std::string& text,
                                                       const std::string& name);
  ~ConfigDocument();
  ConfigSection root(ConfigErrors* errors) const;

 private:
  ConfigDocument() = default;
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::shared_ptr<const std::string> file_;
};

}  // namespace xl
